/*
 * check_dns.c: skiff-dns as a real process against a real etcd, asked
 * real queries (a small ldns client of the test's, over UDP and TCP) on
 * 127.0.0.1 and a free port. Services and endpoints are written by the
 * test. Names that are not the cluster's go to a fake upstream of the
 * test's (an ldns-built answerer on 127.0.0.X:53, named by the
 * resolv.conf the test gives skiff-dns): it answers up.example. with
 * 192.0.2.1 and never answers slow.example. One skiff-dns serves the
 * whole suite; each test uses names of its own.
 */
#include <arpa/inet.h>
#include <check.h>
#include <ldns/ldns.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "etcd_harness.h"
#include "etcd_testutil.h"
#include "th_proc.h"

static struct th_etcd *E;
static struct th_proc *P;
static struct etcd_sync *S;
static char PFX[64], UPIP[32], RESOLV[128];
static int PORT, HPORT, up_fd = -1;
static volatile int up_queries;
static pthread_t up_th;

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The fake upstream: up.example. A 192.0.2.1 (TTL 60), NXDOMAIN for
 * other names, nothing at all for slow.example. */
static void *
upstream(void *arg)
{
	uint8_t buf[4096];

	(void)arg;
	for (;;) {
		struct sockaddr_in from;
		socklen_t alen = sizeof(from);
		ssize_t n = recvfrom(up_fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &alen);
		ldns_pkt *q = NULL, *a;
		ldns_rr *rr = NULL;
		uint8_t *w = NULL;
		size_t wl;
		char *name;

		if (n < 0)
			return NULL;
		if (ldns_wire2pkt(&q, buf, (size_t)n) != LDNS_STATUS_OK)
			continue;
		__sync_fetch_and_add(&up_queries, 1);
		name = ldns_rdf2str(ldns_rr_owner(ldns_rr_list_rr(ldns_pkt_question(q), 0)));
		a = ldns_pkt_clone(q);
		ldns_pkt_set_qr(a, 1);
		if (strcmp(name, "up.example.") == 0) {
			ldns_rr_new_frm_str(&rr, "up.example. 60 IN A 192.0.2.1", 0, NULL, NULL);
			ldns_pkt_push_rr(a, LDNS_SECTION_ANSWER, rr);
		} else
			ldns_pkt_set_rcode(a, LDNS_RCODE_NXDOMAIN);
		if (strcmp(name, "slow.example.") != 0 && ldns_pkt2wire(&w, a, &wl) == LDNS_STATUS_OK)
			sendto(up_fd, w, wl, 0, (struct sockaddr *)&from, alen);
		free(w);
		free(name);
		ldns_pkt_free(a);
		ldns_pkt_free(q);
	}
}

/* A query's wire form (id 0x4242), with EDNS0 size edns unless 0. */
static uint8_t *
query_wire(const char *name, ldns_rr_type type, int edns, size_t *len)
{
	ldns_pkt *q = ldns_pkt_query_new(ldns_dname_new_frm_str(name), type, LDNS_RR_CLASS_IN, LDNS_RD);
	uint8_t *w = NULL;

	ldns_pkt_set_id(q, 0x4242);
	if (edns)
		ldns_pkt_set_edns_udp_size(q, (uint16_t)edns);
	ck_assert_int_eq(ldns_pkt2wire(&w, q, len), LDNS_STATUS_OK);
	ldns_pkt_free(q);
	return w;
}

/* Send msg over UDP; the answer (NULL: none within timeout_s). */
static ldns_pkt *
udp_raw(const uint8_t *msg, size_t len, double timeout_s, size_t *alen)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)PORT)};
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	uint8_t buf[65535];
	ldns_pkt *p = NULL;
	ssize_t n;

	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	ck_assert_int_ge(sendto(fd, msg, len, 0, (struct sockaddr *)&sa, sizeof(sa)), 0);
	if (poll(&pfd, 1, (int)(timeout_s * 1000)) == 1 && (n = recv(fd, buf, sizeof(buf), 0)) > 0) {
		ck_assert_int_eq(ldns_wire2pkt(&p, buf, (size_t)n), LDNS_STATUS_OK);
		if (alen)
			*alen = (size_t)n;
	}
	close(fd);
	return p;
}

static ldns_pkt *
ask(const char *name, ldns_rr_type type)
{
	size_t len;
	uint8_t *w = query_wire(name, type, 0, &len);
	ldns_pkt *p = udp_raw(w, len, 3, NULL);

	free(w);
	ck_assert_msg(p != NULL, "no answer to %s", name);
	ck_assert_int_eq(ldns_pkt_id(p), 0x4242);
	return p;
}

static int
read_full(int fd, uint8_t *buf, size_t n)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = read(fd, buf + got, n - got);

		if (r <= 0)
			return -1;
		got += (size_t)r;
	}
	return 0;
}

/* Ask each of names (n) over one TCP connection; answers in out. */
static void
ask_tcp(const char *const *names, size_t n, ldns_rr_type type, ldns_pkt **out)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)PORT)};
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct timeval tv = {5, 0};

	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	for (size_t i = 0; i < n; i++) {
		size_t len;
		uint8_t *w = query_wire(names[i], type, 0, &len), hdr[2] = {(uint8_t)(len >> 8), (uint8_t)len};

		ck_assert_int_eq(write(fd, hdr, 2), 2);
		ck_assert_int_eq(write(fd, w, len), (ssize_t)len);
		free(w);
	}
	for (size_t i = 0; i < n; i++) {
		uint8_t hdr[2], *buf;
		size_t len;

		ck_assert_int_eq(read_full(fd, hdr, 2), 0);
		len = (size_t)hdr[0] << 8 | hdr[1];
		buf = malloc(len);
		ck_assert_int_eq(read_full(fd, buf, len), 0);
		out[i] = NULL;
		ck_assert_int_eq(ldns_wire2pkt(&out[i], buf, len), LDNS_STATUS_OK);
		free(buf);
	}
	close(fd);
}

/* The answer's records of type, as text "rdata" lines sorted, in buf. */
static int
rdatas(const ldns_pkt *p, ldns_rr_type type, char *buf, size_t len)
{
	const ldns_rr_list *l = ldns_pkt_answer(p);
	int n = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < ldns_rr_list_rr_count(l); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(l, i);
		char *s;

		if (ldns_rr_get_type(rr) != type)
			continue;
		for (size_t j = 0; j < ldns_rr_rd_count(rr); j++) {
			s = ldns_rdf2str(ldns_rr_rdf(rr, j));
			snprintf(buf + strlen(buf), len - strlen(buf), "%s%s", j ? " " : (n ? "," : ""), s);
			free(s);
		}
		n++;
	}
	return n;
}

/* Put P/dir/name; its revision. */
static int64_t
put(const char *dir, const char *name, const char *json)
{
	char key[256];
	int64_t rev;

	snprintf(key, sizeof(key), "%s/%s/%s", PFX, dir, name);
	ck_assert_int_gt(rev = tu_put(S, key, json), 0);
	return rev;
}

static int64_t
put_service(const char *name, const char *cluster_ip)
{
	char json[1024];

	snprintf(json, sizeof(json),
	         "{\"metadata\":{\"name\":\"%s\"},\"spec\":{\"selector\":{\"app\":\"%s\"},%s%s%s"
	         "\"ports\":[{\"name\":\"http\",\"port\":80,\"targetPort\":8080},{\"name\":\"dns\",\"port\":53,"
	         "\"protocol\":\"UDP\"}]}}",
	         name, name, cluster_ip ? "\"clusterIP\":\"" : "", cluster_ip ? cluster_ip : "",
	         cluster_ip ? "\"," : "");
	return put("services", name, json);
}

/* Endpoints of name: n ready pods 10.244.(i/200).(i%200+1). */
static void
put_endpoints(const char *name, const char *cluster_ip, int n)
{
	size_t cap = 200 + (size_t)n * 80;
	char *json = malloc(cap);

	snprintf(json, cap, "{%s%s%s\"ports\":[{\"name\":\"http\",\"port\":80,\"targetPort\":8080}],\"addresses\":[",
	         cluster_ip ? "\"clusterIP\":\"" : "", cluster_ip ? cluster_ip : "", cluster_ip ? "\"," : "");
	for (int i = 0; i < n; i++)
		snprintf(json + strlen(json), cap - strlen(json),
		         "%s{\"ip\":\"10.244.%d.%d\",\"nodeName\":\"n1\",\"pod\":\"%s-%d\"}", i ? "," : "", i / 200,
		         i % 200 + 1, name, i);
	snprintf(json + strlen(json), cap - strlen(json),
	         "],\"notReadyAddresses\":[{\"ip\":\"10.244.9.9\",\"nodeName\":\"n1\",\"pod\":\"%s-nr\"}]}", name);
	put("endpoints", name, json);
	free(json);
}

/* Ask name until it has an answer record (deadline 5 s); the answer. */
static ldns_pkt *
ask_until(const char *name, ldns_rr_type type)
{
	double end = now() + 5;

	for (;;) {
		ldns_pkt *p = ask(name, type);

		if (ldns_pkt_ancount(p) > 0 || now() > end)
			return p;
		ldns_pkt_free(p);
		usleep(2000); /* a poll interval, not a synchronisation */
	}
}

static void
bed_up(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(53)};
	char ep[512], pfx[128], listen[64], resolv[160], health[64];
	FILE *f;

	if (!(E = th_etcd_start(1, NULL))) {
		fprintf(stderr, "check_dns: cannot start etcd\n");
		exit(1);
	}
	/* The fake upstream on port 53 (resolv.conf has no ports) of a
	 * loopback address of our own. */
	for (int i = 0; i < 50 && up_fd < 0; i++) {
		snprintf(UPIP, sizeof(UPIP), "127.0.%d.%d", 100 + (getpid() + i) % 100, 2 + (getpid() / 100 + i) % 250);
		inet_pton(AF_INET, UPIP, &sa.sin_addr);
		up_fd = socket(AF_INET, SOCK_DGRAM, 0);
		if (bind(up_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
			close(up_fd);
			up_fd = -1;
		}
	}
	if (up_fd < 0) {
		fprintf(stderr, "check_dns: cannot bind a fake upstream on a loopback port 53\n");
		exit(1);
	}
	pthread_create(&up_th, NULL, upstream, NULL);
	snprintf(RESOLV, sizeof(RESOLV), "%s/resolv.conf", th_etcd_dir(E));
	f = fopen(RESOLV, "w");
	fprintf(f, "search example\nnameserver 2001:db8::1\nnameserver %s\noptions ndots:5\n", UPIP);
	fclose(f);
	snprintf(PFX, sizeof(PFX), "/dns%d", (int)getpid());
	PORT = tu_closed_port();
	HPORT = tu_closed_port();
	snprintf(ep, sizeof(ep), "--etcd-endpoints=%s", th_etcd_endpoints(E));
	snprintf(pfx, sizeof(pfx), "--prefix=%s", PFX);
	snprintf(listen, sizeof(listen), "--listen=127.0.0.1:%d", PORT);
	snprintf(resolv, sizeof(resolv), "--resolv-conf=%s", RESOLV);
	snprintf(health, sizeof(health), "--health-addr=127.0.0.1:%d", HPORT);
	{
		char *argv[] = {"skiff-dns", ep, pfx, listen, resolv, health, "--forward-timeout=300ms", NULL};

		P = th_proc_start("build/bin/skiff-dns", argv, NULL);
	}
	for (double end = now() + 10; tu_healthz(HPORT) != 200; usleep(20000))
		if (now() > end || !th_proc_running(P)) {
			th_proc_free(P, 1);
			fprintf(stderr, "check_dns: skiff-dns did not become healthy\n");
			exit(1);
		}
}

static void
bed_down(void)
{
	th_proc_free(P, 0);
	th_etcd_free(E);
	if (up_fd >= 0)
		shutdown(up_fd, SHUT_RDWR);
}

static void
setup(void)
{
	struct etcd_config cfg;
	struct etcd_error err = {0};

	tu_config(E, &cfg);
	S = etcd_sync_new(&cfg, &err);
	ck_assert_ptr_nonnull(S);
}

static void
teardown(void)
{
	etcd_sync_free(S);
	if (!th_proc_running(P)) {
		char *log = th_proc_log(P);

		fprintf(stderr, "skiff-dns died:\n%s\n", log ? log : "");
		free(log);
	}
}

/* A, SRV and PTR of a service with a cluster IP, under each of its names,
 * authoritative with the default TTL; the cluster IP also comes from the
 * endpoints or the P/serviceips/ claim when the service has none. */
START_TEST(test_records)
{
	const char *names[] = {"web", "web.default", "web.default.svc.cluster.local", "WEB.Default.SVC.cluster.local."};
	char buf[1024], claim[128];
	ldns_pkt *p;
	int64_t rev;

	put_service("web", "10.96.0.10");
	for (size_t i = 0; i < 4; i++) {
		p = ask_until(names[i], LDNS_RR_TYPE_A);
		ck_assert_int_eq(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
		ck_assert(ldns_pkt_aa(p));
		ck_assert_int_eq(rdatas(p, LDNS_RR_TYPE_A, buf, sizeof(buf)), 1);
		ck_assert_str_eq(buf, "10.96.0.10");
		ck_assert_int_eq(ldns_rr_ttl(ldns_rr_list_rr(ldns_pkt_answer(p), 0)), 5);
		ldns_pkt_free(p);
	}
	p = ask("_http._tcp.web.default.svc.cluster.local", LDNS_RR_TYPE_SRV);
	ck_assert_int_eq(rdatas(p, LDNS_RR_TYPE_SRV, buf, sizeof(buf)), 1);
	ck_assert_str_eq(buf, "0 100 80 web.default.svc.cluster.local.");
	ldns_pkt_free(p);
	p = ask("_dns._udp.web.default.svc.cluster.local", LDNS_RR_TYPE_SRV);
	ck_assert_int_eq(rdatas(p, LDNS_RR_TYPE_SRV, buf, sizeof(buf)), 1);
	ck_assert_str_eq(buf, "0 100 53 web.default.svc.cluster.local.");
	ldns_pkt_free(p);
	p = ask("10.0.96.10.in-addr.arpa", LDNS_RR_TYPE_PTR);
	ck_assert_int_eq(rdatas(p, LDNS_RR_TYPE_PTR, buf, sizeof(buf)), 1);
	ck_assert_str_eq(buf, "web.default.svc.cluster.local.");
	ck_assert(ldns_pkt_aa(p));
	ldns_pkt_free(p);

	/* No clusterIP in the service: the endpoints' one, else the claim. */
	put_service("web2", NULL);
	put_endpoints("web2", "10.96.0.11", 1);
	p = ask_until("web2.default.svc.cluster.local", LDNS_RR_TYPE_A);
	ck_assert_int_eq(rdatas(p, LDNS_RR_TYPE_A, buf, sizeof(buf)), 1);
	ck_assert_str_eq(buf, "10.96.0.11");
	ldns_pkt_free(p);
	rev = put_service("web3", NULL); /* its uid: the create revision */
	snprintf(claim, sizeof(claim), "{\"service\":\"web3\",\"uid\":\"%lld\"}", (long long)rev);
	put("serviceips", "10.96.0.12", claim);
	p = ask_until("web3.default.svc.cluster.local", LDNS_RR_TYPE_A);
	ck_assert_int_eq(rdatas(p, LDNS_RR_TYPE_A, buf, sizeof(buf)), 1);
	ck_assert_str_eq(buf, "10.96.0.12");
	ldns_pkt_free(p);
}
END_TEST

/* Headless: the ready pods (never the not-ready one), each with a name
 * of its own that resolves, and an SRV record per pod at its port. */
START_TEST(test_headless)
{
	char buf[4096];
	ldns_pkt *p, *q;
	const ldns_rr_list *l;

	put_service("hl", "None");
	put_endpoints("hl", NULL, 3);
	p = ask_until("hl.default.svc.cluster.local", LDNS_RR_TYPE_A);
	for (int i = 0; i < 100 && ldns_pkt_ancount(p) < 3; i++) {
		ldns_pkt_free(p);
		usleep(10000);
		p = ask("hl.default.svc.cluster.local", LDNS_RR_TYPE_A);
	}
	ck_assert_int_eq(rdatas(p, LDNS_RR_TYPE_A, buf, sizeof(buf)), 3);
	ck_assert_ptr_null(strstr(buf, "10.244.9.9"));
	ck_assert_ptr_nonnull(strstr(buf, "10.244.0.1"));
	ck_assert_ptr_nonnull(strstr(buf, "10.244.0.3"));
	ldns_pkt_free(p);
	p = ask("_http._tcp.hl.default.svc.cluster.local", LDNS_RR_TYPE_SRV);
	ck_assert_int_eq(rdatas(p, LDNS_RR_TYPE_SRV, buf, sizeof(buf)), 3);
	ck_assert_ptr_nonnull(strstr(buf, "0 100 8080 10-244-0-2.hl.default.svc.cluster.local."));
	l = ldns_pkt_answer(p);
	for (size_t i = 0; i < ldns_rr_list_rr_count(l); i++) {
		char *target = ldns_rdf2str(ldns_rr_rdf(ldns_rr_list_rr(l, i), 3));

		q = ask(target, LDNS_RR_TYPE_A);
		ck_assert_int_eq(rdatas(q, LDNS_RR_TYPE_A, buf, sizeof(buf)), 1);
		ck_assert_int_eq(strncmp(buf, "10.244.0.", 9), 0);
		ldns_pkt_free(q);
		free(target);
	}
	ldns_pkt_free(p);
}
END_TEST

static void
assert_soa(const ldns_pkt *p)
{
	const ldns_rr *soa;
	char *owner;

	ck_assert(ldns_pkt_aa(p));
	ck_assert_int_eq(ldns_pkt_ancount(p), 0);
	ck_assert_int_eq(ldns_pkt_nscount(p), 1);
	soa = ldns_rr_list_rr(ldns_pkt_authority(p), 0);
	ck_assert_int_eq(ldns_rr_get_type(soa), LDNS_RR_TYPE_SOA);
	owner = ldns_rdf2str(ldns_rr_owner(soa));
	ck_assert_str_eq(owner, "cluster.local.");
	free(owner);
}

/* NXDOMAIN + SOA for a name of the zone that does not exist; NODATA +
 * SOA for one that does, asked a type it lacks, and for the empty
 * names between the domain and the services. */
START_TEST(test_nxdomain)
{
	const char *nodata[] = {"default.svc.cluster.local", "svc.cluster.local", "cluster.local",
	                        "_tcp.nx.default.svc.cluster.local"};
	ldns_pkt *p;

	put_service("nx", "10.96.0.20");
	ldns_pkt_free(ask_until("nx.default.svc.cluster.local", LDNS_RR_TYPE_A));
	p = ask("nope.default.svc.cluster.local", LDNS_RR_TYPE_A);
	ck_assert_int_eq(ldns_pkt_get_rcode(p), LDNS_RCODE_NXDOMAIN);
	assert_soa(p);
	ldns_pkt_free(p);
	p = ask("a.b.nope.svc.cluster.local", LDNS_RR_TYPE_SRV);
	ck_assert_int_eq(ldns_pkt_get_rcode(p), LDNS_RCODE_NXDOMAIN);
	assert_soa(p);
	ldns_pkt_free(p);
	p = ask("nx.default.svc.cluster.local", LDNS_RR_TYPE_AAAA);
	ck_assert_int_eq(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	assert_soa(p);
	ldns_pkt_free(p);
	for (size_t i = 0; i < 4; i++) {
		p = ask(nodata[i], LDNS_RR_TYPE_A);
		ck_assert_msg(ldns_pkt_get_rcode(p) == LDNS_RCODE_NOERROR, "%s: rcode %d", nodata[i],
		              ldns_pkt_get_rcode(p));
		assert_soa(p);
		ldns_pkt_free(p);
	}
}
END_TEST

/* 100 pods: too big for 512 bytes of UDP (TC, no records), whole over
 * TCP, several queries on one connection; EDNS0 4096 takes it over UDP. */
START_TEST(test_truncation)
{
	const char *names[] = {"big.default.svc.cluster.local", "big", "nope.default.svc.cluster.local"};
	ldns_pkt *p, *t[3];
	uint8_t *w;
	size_t len, alen = 0;

	put_service("big", "None");
	put_endpoints("big", NULL, 100);
	ask_tcp(names, 1, LDNS_RR_TYPE_A, t);
	for (double end = now() + 5; ldns_pkt_ancount(t[0]) < 100 && now() < end; usleep(5000)) {
		ldns_pkt_free(t[0]);
		ask_tcp(names, 1, LDNS_RR_TYPE_A, t);
	}
	ldns_pkt_free(t[0]);
	p = ask("big.default.svc.cluster.local", LDNS_RR_TYPE_A);
	ck_assert(ldns_pkt_tc(p));
	ck_assert_int_eq(ldns_pkt_ancount(p), 0);
	ldns_pkt_free(p);
	w = query_wire("big.default.svc.cluster.local", LDNS_RR_TYPE_A, 4096, &len);
	p = udp_raw(w, len, 3, &alen);
	free(w);
	ck_assert_ptr_nonnull(p);
	ck_assert(!ldns_pkt_tc(p));
	ck_assert_int_eq(ldns_pkt_ancount(p), 100);
	ck_assert_int_gt(alen, 512);
	ldns_pkt_free(p);
	ask_tcp(names, 3, LDNS_RR_TYPE_A, t);
	ck_assert(!ldns_pkt_tc(t[0]));
	ck_assert_int_eq(ldns_pkt_ancount(t[0]), 100);
	ck_assert_int_eq(ldns_pkt_ancount(t[1]), 100);
	ck_assert_int_eq(ldns_pkt_get_rcode(t[2]), LDNS_RCODE_NXDOMAIN);
	for (int i = 0; i < 3; i++)
		ldns_pkt_free(t[i]);
}
END_TEST

/* The value of a series of skiff-dns's /metrics (-1 when absent). */
static double
metric(const char *name)
{
	char cmd[256], line[512];
	double v = -1;
	FILE *f;

	snprintf(cmd, sizeof(cmd), "curl -s http://127.0.0.1:%d/metrics", HPORT);
	f = popen(cmd, "r");
	while (f && fgets(line, sizeof(line), f))
		if (strncmp(line, name, strlen(name)) == 0 && line[strlen(name)] == ' ')
			v = atof(line + strlen(name) + 1);
	if (f)
		pclose(f);
	return v;
}

/* Garbage gets FORMERR (or nothing) and is counted; the server goes on. */
START_TEST(test_malformed)
{
	uint8_t short_msg[5] = {1, 2, 3, 4, 5};
	uint8_t two_q[12] = {0x12, 0x34, 0x01, 0x00, 0x00, 0x02, 0, 0, 0, 0, 0, 0};
	uint8_t cut[20] = {0x12, 0x35, 0x01, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 7, 'e', 'x', 'a'};
	uint8_t loop[29] = {0x12, 0x36, 0x01, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1};
	uint8_t noise[300];
	double before = metric("skiff_dns_malformed_total");
	ldns_pkt *p;

	ck_assert_double_ge(before, 0);
	srand(7);
	for (size_t i = 0; i < sizeof(noise); i++)
		noise[i] = (uint8_t)rand();
	noise[2] &= 0x7f; /* a query, not a response */
	ck_assert_ptr_null(udp_raw(short_msg, sizeof(short_msg), 0.3, NULL));
	p = udp_raw(two_q, sizeof(two_q), 3, NULL);
	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(ldns_pkt_get_rcode(p), LDNS_RCODE_FORMERR);
	ck_assert_int_eq(ldns_pkt_id(p), 0x1234);
	ldns_pkt_free(p);
	p = udp_raw(cut, 16, 3, NULL);
	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(ldns_pkt_get_rcode(p), LDNS_RCODE_FORMERR);
	ldns_pkt_free(p);
	p = udp_raw(loop, 18, 3, NULL);
	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(ldns_pkt_get_rcode(p), LDNS_RCODE_FORMERR);
	ldns_pkt_free(p);
	ldns_pkt_free(udp_raw(noise, sizeof(noise), 0.3, NULL));
	put_service("alive", "10.96.0.30");
	p = ask_until("alive.default.svc.cluster.local", LDNS_RR_TYPE_A);
	ck_assert_int_eq(ldns_pkt_ancount(p), 1);
	ldns_pkt_free(p);
	ck_assert_double_ge(metric("skiff_dns_malformed_total"), before + 4);
	ck_assert(th_proc_running(P));
}
END_TEST

/* Other names go to resolv.conf's nameserver with the client's id
 * restored, are cached (the upstream is not asked again), and a name the
 * upstream never answers gets SERVFAIL after the deadline. */
START_TEST(test_forward)
{
	char buf[256];
	int asked;
	double t0;
	ldns_pkt *p;

	p = ask("up.example", LDNS_RR_TYPE_A);
	ck_assert_int_eq(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	ck_assert(!ldns_pkt_aa(p));
	ck_assert_int_eq(rdatas(p, LDNS_RR_TYPE_A, buf, sizeof(buf)), 1);
	ck_assert_str_eq(buf, "192.0.2.1");
	ldns_pkt_free(p);
	asked = up_queries;
	p = ask("UP.example", LDNS_RR_TYPE_A);
	ck_assert_int_eq(rdatas(p, LDNS_RR_TYPE_A, buf, sizeof(buf)), 1);
	ldns_pkt_free(p);
	ck_assert_int_eq(up_queries, asked);
	ck_assert_double_ge(metric("skiff_dns_cache_hits_total"), 1);
	p = ask("other.example", LDNS_RR_TYPE_A);
	ck_assert_int_eq(ldns_pkt_get_rcode(p), LDNS_RCODE_NXDOMAIN);
	ldns_pkt_free(p);
	t0 = now();
	p = ask("slow.example", LDNS_RR_TYPE_A);
	ck_assert_int_eq(ldns_pkt_get_rcode(p), LDNS_RCODE_SERVFAIL);
	ck_assert_double_lt(now() - t0, 2.0);
	ldns_pkt_free(p);
	/* Over TCP too. */
	{
		const char *names[] = {"up.example"};
		ldns_pkt *t[1];

		ask_tcp(names, 1, LDNS_RR_TYPE_A, t);
		ck_assert_int_eq(rdatas(t[0], LDNS_RR_TYPE_A, buf, sizeof(buf)), 1);
		ldns_pkt_free(t[0]);
	}
}
END_TEST

/* From the service's put to an answer: measured, well under a second. */
START_TEST(test_propagation)
{
	double t0, dt;
	ldns_pkt *p;
	char buf[64];

	p = ask("fresh.default.svc.cluster.local", LDNS_RR_TYPE_A);
	ck_assert_int_eq(ldns_pkt_get_rcode(p), LDNS_RCODE_NXDOMAIN);
	ldns_pkt_free(p);
	t0 = now();
	put_service("fresh", "10.96.0.40");
	for (;;) {
		p = ask("fresh.default.svc.cluster.local", LDNS_RR_TYPE_A);
		dt = now() - t0;
		if (ldns_pkt_ancount(p) > 0 || dt > 1.0)
			break;
		ldns_pkt_free(p);
	}
	ck_assert_int_eq(rdatas(p, LDNS_RR_TYPE_A, buf, sizeof(buf)), 1);
	ck_assert_str_eq(buf, "10.96.0.40");
	ldns_pkt_free(p);
	fprintf(stderr, "check_dns: service put -> resolvable in %.1f ms\n", dt * 1000);
	ck_assert_double_lt(dt, 1.0);
	/* And gone once deleted. */
	{
		char key[128];
		struct etcd_result *r;

		snprintf(key, sizeof(key), "%s/services/fresh", PFX);
		r = etcd_sync_delete(S, key, NULL);
		TU_OK(r);
		TU_FREE(r);
	}
	for (double end = now() + 1;; usleep(2000)) {
		p = ask("fresh.default.svc.cluster.local", LDNS_RR_TYPE_A);
		if (ldns_pkt_get_rcode(p) == LDNS_RCODE_NXDOMAIN || now() > end)
			break;
		ldns_pkt_free(p);
	}
	ck_assert_int_eq(ldns_pkt_get_rcode(p), LDNS_RCODE_NXDOMAIN);
	ldns_pkt_free(p);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("dns");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_unchecked_fixture(tc, bed_up, bed_down);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_records);
	tcase_add_test(tc, test_headless);
	tcase_add_test(tc, test_nxdomain);
	tcase_add_test(tc, test_truncation);
	tcase_add_test(tc, test_malformed);
	tcase_add_test(tc, test_forward);
	tcase_add_test(tc, test_propagation);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
