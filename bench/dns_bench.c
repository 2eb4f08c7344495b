/*
 * dns_bench.c: skiff-dns against NSD serving the same records from a zone
 * file, in the same run, on the same core. Needs $ETCD_ENDPOINT (a
 * throwaway etcd from scripts/run-bench.sh), dnsperf and nsd (Debian).
 * Prints:
 *
 *   dns: skiff=… qps baseline=… qps ratio=… (LO-HI over N rounds) p99=… µs
 *   dns propagation: service put -> resolvable p50=… p99=… ms
 *   dns rss with 1000 services: … MB
 *
 * with the targets beside the values (ratio >= 0.8, p99 <= 100 ms, RSS <=
 * 10 MB); a missed target is printed, not asserted. Exit 1 only when
 * something cannot be measured (a server does not start or never answers).
 *
 * Data: 1,000 services svcN under /bench-dns, each with its endpoints (one
 * ready address, clusterIP) and its cluster IP claim, written as JSON
 * straight into etcd as the endpoints controller would (no controller
 * runs); the zone file holds the same A (and SRV) records. Both servers
 * run at once, pinned to the last CPU; dnsperf and this process run on
 * the first (on one CPU, all share it). Rounds alternate ABBA: skiff first
 * in even rounds, NSD first in odd ones, each a fixed time of dnsperf over
 * the 1,000 names (100 queries outstanding, one socket). qps is dnsperf's
 * "Queries per second"; p99 is the nearest-rank 99th percentile of the
 * per-query latencies dnsperf -v prints, the median over the rounds.
 *
 * Propagation: a new service and its endpoints in one transaction, then a
 * query every millisecond (our own, through ldns) until skiff-dns answers
 * with the new address; the time from before the transaction.
 *
 * Deliberately not measured here: forwarding (no query leaves the cluster
 * domain; --resolv-conf names a loopback address nothing listens on), TCP,
 * PTR, and headless services. Every process started is killed and the
 * temporary directory removed on every way out but SIGKILL (then the
 * servers die with us through PR_SET_PDEATHSIG; the directory stays).
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ldns/ldns.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_stats.h"
#include "etcd_sync.h"
#include "proc_mem.h"

#define NSVC 1000
#define PREFIX "/bench-dns"
#define DOMAIN "cluster.local"
#define TTL 5
#define BATCH 100 /* puts per transaction (etcd allows 128) */
#define PROP_TRIES 100
#define PROP_DEADLINE 5.0 /* s a new name may take before the try fails */

static char tmpdir[64];
static pid_t dns_pid, nsd_pid, perf_pid;
static int srv_core, cli_core, verbose;

static void
svc_ip(int i, char *buf, size_t len)
{
	snprintf(buf, len, "10.96.%d.%d", 1 + i / 200, 10 + i % 200);
}

static void
pod_ip(int i, char *buf, size_t len)
{
	snprintf(buf, len, "10.244.%d.%d", 1 + i / 200, 10 + i % 200);
}

/* ---- processes and cleanup ---- */

static void
stop_child(pid_t *pid)
{
	double end = bench_now() + 5;

	if (*pid <= 0)
		return;
	kill(*pid, SIGTERM);
	while (waitpid(*pid, NULL, WNOHANG) == 0)
		if (bench_now() > end) {
			kill(*pid, SIGKILL);
			waitpid(*pid, NULL, 0);
			break;
		} else
			usleep(10000);
	*pid = 0;
}

static void
remove_tmpdir(void)
{
	pid_t pid;

	if (!tmpdir[0])
		return;
	if ((pid = fork()) == 0) {
		execl("/bin/rm", "rm", "-rf", tmpdir, (char *)NULL);
		_exit(127);
	}
	if (pid > 0)
		waitpid(pid, NULL, 0);
	tmpdir[0] = '\0';
}

static void
cleanup(void)
{
	stop_child(&perf_pid);
	stop_child(&dns_pid);
	stop_child(&nsd_pid);
	remove_tmpdir();
}

/* Only async-signal-safe calls (kill, waitpid, fork, execl, _exit). */
static void
on_signal(int sig)
{
	pid_t pids[] = {perf_pid, dns_pid, nsd_pid};

	for (int i = 0; i < 3; i++)
		if (pids[i] > 0)
			kill(pids[i], SIGKILL), waitpid(pids[i], NULL, 0);
	perf_pid = dns_pid = nsd_pid = 0;
	remove_tmpdir();
	_exit(128 + sig);
}

static void
pin(pid_t pid, int core)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(core, &set);
	if (sched_setaffinity(pid, sizeof(set), &set) < 0)
		fprintf(stderr, "dns bench: cannot pin to CPU %d: %s\n", core, strerror(errno));
}

/* Start argv[0] on core with stdin from /dev/null, stdout to out_fd (-1:
 * /dev/null) and stderr to log (a file name in tmpdir; NULL: /dev/null). The
 * child dies with us (PR_SET_PDEATHSIG). */
static pid_t
spawn(char *const argv[], int core, int out_fd, const char *log)
{
	char path[128];
	pid_t pid;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, log ? log : "");
	if ((pid = fork()) == 0) {
		int null = open("/dev/null", O_RDWR),
		    err = log ? open(path, O_WRONLY | O_CREAT | O_APPEND, 0644) : null;

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		pin(0, core);
		dup2(null, 0);
		dup2(out_fd >= 0 ? out_fd : null, 1);
		dup2(err >= 0 ? err : null, 2);
		execv(argv[0], argv);
		fprintf(stderr, "dns bench: %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	return pid;
}

/* 1 while pid runs; 0 (and *pid = 0) once it has exited. */
static int
alive(pid_t *pid)
{
	if (*pid <= 0)
		return 0;
	if (waitpid(*pid, NULL, WNOHANG) == 0)
		return 1;
	*pid = 0;
	return 0;
}

/* A loopback port free for UDP and TCP at the time of asking. */
static int
free_port(void)
{
	for (int tries = 0; tries < 20; tries++) {
		struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
		socklen_t len = sizeof(sa);
		int u = socket(AF_INET, SOCK_DGRAM, 0), t = socket(AF_INET, SOCK_STREAM, 0), port = -1;

		if (bind(u, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
		    getsockname(u, (struct sockaddr *)&sa, &len) == 0 &&
		    bind(t, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			port = ntohs(sa.sin_port);
		close(u);
		close(t);
		if (port > 0)
			return port;
	}
	return -1;
}

static void
show_log(const char *name)
{
	char path[128], line[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	if (!(f = fopen(path, "r")))
		return;
	fprintf(stderr, "---- %s\n", path);
	while (fgets(line, sizeof(line), f))
		fputs(line, stderr);
	fclose(f);
}

/* ---- the records: in etcd, and as a zone file ---- */

/* Commit the puts keys[i] = vals[i], i < n, as one transaction; returns its
 * revision, or -1 with a message on stderr. */
static int64_t
put_all(struct etcd_sync *s, char keys[][96], char vals[][512], int n)
{
	struct etcd_txn *t = etcd_txn_new();
	struct etcd_result *r;
	int64_t rev = -1;

	for (int i = 0; i < n; i++)
		etcd_txn_put(t, ETCD_TXN_SUCCESS, keys[i], vals[i], strlen(vals[i]), 0);
	r = etcd_sync_txn(s, t);
	if (r && r->err.code == ETCD_OK)
		rev = r->revision;
	else
		fprintf(stderr, "dns bench: etcd txn: %s\n", r ? r->err.msg : "out of memory");
	etcd_result_free(r);
	return rev;
}

static void
service_json(const char *name, char *key, char *val)
{
	snprintf(key, 96, PREFIX "/services/%s", name);
	snprintf(val, 512,
	         "{\"metadata\":{\"name\":\"%s\"},\"spec\":{\"selector\":{\"app\":\"%s\"},"
	         "\"ports\":[{\"name\":\"http\",\"port\":80,\"targetPort\":8080,\"protocol\":\"TCP\"}]}}",
	         name, name);
}

static void
endpoints_json(const char *name, const char *ip, const char *pod, char *key, char *val)
{
	snprintf(key, 96, PREFIX "/endpoints/%s", name);
	snprintf(val, 512,
	         "{\"clusterIP\":\"%s\",\"ports\":[{\"name\":\"http\",\"port\":80,\"targetPort\":8080,"
	         "\"protocol\":\"TCP\"}],\"addresses\":[{\"ip\":\"%s\",\"nodeName\":\"bench\",\"node\":\"bench\","
	         "\"pod\":\"%s-0\"}],\"notReadyAddresses\":[]}",
	         ip, pod, name);
}

/* The network config (a /16 of cluster IPs: 1,000 do not fit the default
 * /24), then NSVC services in transactions of BATCH, then their claims
 * (uid = the services' create revision) and endpoints. */
static int
write_services(struct etcd_sync *s)
{
	static char keys[BATCH][96], vals[BATCH][512];
	char name[32], ip[20], pod[20];
	int64_t rev;

	snprintf(keys[0], sizeof(keys[0]), PREFIX "/network/config");
	snprintf(vals[0], sizeof(vals[0]),
	         "{\"podCIDR\":\"10.244.0.0/16\",\"subnetLength\":24,\"serviceCIDR\":\"10.96.0.0/16\","
	         "\"clusterDomain\":\"" DOMAIN "\"}");
	if (put_all(s, keys, vals, 1) < 0)
		return -1;
	for (int b = 0; b < NSVC; b += BATCH) {
		for (int i = 0; i < BATCH; i++) {
			snprintf(name, sizeof(name), "svc%d", b + i);
			service_json(name, keys[i], vals[i]);
		}
		if ((rev = put_all(s, keys, vals, BATCH)) < 0)
			return -1;
		for (int i = 0; i < BATCH; i++) {
			svc_ip(b + i, ip, sizeof(ip));
			snprintf(keys[i], sizeof(keys[i]), PREFIX "/serviceips/%s", ip);
			snprintf(vals[i], sizeof(vals[i]), "{\"service\":\"svc%d\",\"uid\":\"%lld\"}", b + i,
			         (long long)rev);
		}
		if (put_all(s, keys, vals, BATCH) < 0)
			return -1;
		for (int i = 0; i < BATCH; i++) {
			snprintf(name, sizeof(name), "svc%d", b + i);
			svc_ip(b + i, ip, sizeof(ip));
			pod_ip(b + i, pod, sizeof(pod));
			endpoints_json(name, ip, pod, keys[i], vals[i]);
		}
		if (put_all(s, keys, vals, BATCH) < 0)
			return -1;
	}
	return 0;
}

static FILE *
tmpfile_open(const char *name)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	if (!(f = fopen(path, "w")))
		fprintf(stderr, "dns bench: %s: %s\n", path, strerror(errno));
	return f;
}

/* The zone (the same A and SRV records skiff-dns serves), NSD's config,
 * dnsperf's query file and skiff-dns's resolv.conf. */
static int
write_files(int nsd_port)
{
	FILE *z = tmpfile_open("cluster.local.zone"), *c = tmpfile_open("nsd.conf"), *q = tmpfile_open("queries"),
	     *r = tmpfile_open("resolv.conf");
	char ip[20];
	int ok = z && c && q && r;

	if (ok) {
		fprintf(z,
		        "$ORIGIN " DOMAIN ".\n$TTL %d\n@ IN SOA ns.dns." DOMAIN ". hostmaster." DOMAIN
		        ". 1 3600 600 86400 %d\n@ IN NS ns.dns." DOMAIN ".\nns.dns IN A 127.0.0.1\n",
		        TTL, TTL);
		for (int i = 0; i < NSVC; i++) {
			svc_ip(i, ip, sizeof(ip));
			fprintf(z, "svc%d.default.svc IN A %s\n", i, ip);
			fprintf(z, "_http._tcp.svc%d.default.svc IN SRV 0 100 80 svc%d.default.svc\n", i, i);
			fprintf(q, "svc%d.default.svc." DOMAIN " A\n", i);
		}
		/* One server process, no privilege drop, every file in tmpdir,
		 * response rate limiting off (it throttles a benchmark). */
		fprintf(c,
		        "server:\n  ip-address: 127.0.0.1@%d\n  do-ip6: no\n  server-count: 1\n  username: \"\"\n"
		        "  chroot: \"\"\n  database: \"\"\n  zonesdir: \"%s\"\n  zonelistfile: \"%s/zone.list\"\n"
		        "  xfrdfile: \"%s/xfrd.state\"\n  xfrdir: \"%s\"\n  pidfile: \"%s/nsd.pid\"\n"
		        "  logfile: \"%s/nsd.log\"\n  verbosity: 0\n  hide-version: yes\n  rrl-ratelimit: 0\n"
		        "  rrl-whitelist-ratelimit: 0\nremote-control:\n  control-enable: no\n"
		        "zone:\n  name: \"" DOMAIN "\"\n  zonefile: \"%s/cluster.local.zone\"\n",
		        nsd_port, tmpdir, tmpdir, tmpdir, tmpdir, tmpdir, tmpdir, tmpdir);
		/* Nothing listens there: a forwarded query would get SERVFAIL. */
		fprintf(r, "nameserver 127.0.0.9\n");
	}
	ok = (z ? fclose(z) == 0 : 0) & ok;
	ok = (c ? fclose(c) == 0 : 0) & ok;
	ok = (q ? fclose(q) == 0 : 0) & ok;
	ok = (r ? fclose(r) == 0 : 0) & ok;
	return ok ? 0 : -1;
}

/* ---- our own queries (ldns for the wire format) ---- */

struct query {
	uint8_t *wire; /* an A query for name, RD set; id patched per send */
	size_t len;
	struct in_addr want;
	int any; /* any answer counts (NXDOMAIN too), not only the address */
};

static int
query_init(struct query *q, const char *name, const char *ip)
{
	ldns_pkt *p = NULL;

	q->wire = NULL;
	q->any = 0;
	inet_pton(AF_INET, ip, &q->want);
	if (ldns_pkt_query_new_frm_str(&p, name, LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN, LDNS_RD) != LDNS_STATUS_OK)
		return -1;
	if (ldns_pkt2wire(&q->wire, p, &q->len) != LDNS_STATUS_OK)
		q->wire = NULL;
	ldns_pkt_free(p);
	return q->wire ? 0 : -1;
}

/* 1: an answer to id holding an A record with the wanted address; 0: an
 * answer to id without it (NXDOMAIN, another address); -1: not an answer
 * to id. */
static int
answer_is(const uint8_t *buf, size_t n, uint16_t id, const struct in_addr *want)
{
	ldns_pkt *p = NULL;
	ldns_rr_list *an;
	int found = 0;

	if (ldns_wire2pkt(&p, buf, n) != LDNS_STATUS_OK)
		return -1;
	if (ldns_pkt_id(p) != id) {
		ldns_pkt_free(p);
		return -1;
	}
	an = ldns_pkt_answer(p);
	for (size_t i = 0; ldns_pkt_get_rcode(p) == LDNS_RCODE_NOERROR && an && i < ldns_rr_list_rr_count(an); i++) {
		ldns_rr *rr = ldns_rr_list_rr(an, i);
		ldns_rdf *a = ldns_rr_get_type(rr) == LDNS_RR_TYPE_A ? ldns_rr_rdf(rr, 0) : NULL;

		found |= a && ldns_rdf_size(a) == 4 && memcmp(ldns_rdf_data(a), want, 4) == 0;
	}
	ldns_pkt_free(p);
	return found;
}

static int
udp_to(int port)
{
	struct sockaddr_in sa = {
		.sin_family = AF_INET, .sin_port = htons((uint16_t)port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);

	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Send q every `every` seconds (a new id each time) until one of the
 * answers carries the wanted address or until deadline (absolute).
 * Returns the time of that answer, or -1. */
static double
resolve_until(int fd, struct query *q, double every, double deadline)
{
	static uint16_t next_id = 1;
	uint16_t first = next_id;
	double next = bench_now();
	uint8_t buf[4096];

	while (bench_now() < deadline) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		double t = bench_now();
		struct timespec ts;
		double wait;
		ssize_t n;

		if (t >= next) {
			q->wire[0] = (uint8_t)(next_id >> 8), q->wire[1] = (uint8_t)next_id;
			next_id++;
			if (send(fd, q->wire, q->len, 0) < 0 && errno != ECONNREFUSED)
				return -1;
			next = t + every;
		}
		wait = next - bench_now();
		wait = wait > 0 ? wait : 0;
		ts.tv_sec = (time_t)wait;
		ts.tv_nsec = (long)((wait - (double)ts.tv_sec) * 1e9);
		if (ppoll(&pfd, 1, &ts, NULL) <= 0)
			continue;
		while ((n = recv(fd, buf, sizeof(buf), 0)) >= 2) {
			uint16_t id = (uint16_t)(buf[0] << 8 | buf[1]);

			int a;

			/* Any of our queries for this name counts, not only the last. */
			if ((uint16_t)(id - first) >= (uint16_t)(next_id - first))
				continue;
			a = answer_is(buf, (size_t)n, id, &q->want);
			if (a == 1 || (q->any && a == 0))
				return bench_now();
		}
	}
	return -1;
}

/* How many of the NSVC names port answers with their own address (one
 * query each, 1 s each at most). */
static int
count_correct(int port)
{
	int fd = udp_to(port), ok = 0;

	for (int i = 0; fd >= 0 && i < NSVC; i++) {
		char name[96], ip[20];
		struct query q;

		snprintf(name, sizeof(name), "svc%d.default.svc." DOMAIN ".", i);
		svc_ip(i, ip, sizeof(ip));
		if (query_init(&q, name, ip) < 0)
			continue;
		ok += resolve_until(fd, &q, 1.0, bench_now() + 1.0) > 0;
		free(q.wire);
	}
	if (fd >= 0)
		close(fd);
	return ok;
}

/* Wait (timeout s) until port answers the last service's name with its
 * address while *pid runs; 0, or -1. */
static int
wait_serving(pid_t *pid, int port, double timeout)
{
	double end = bench_now() + timeout;
	char name[96], ip[20];
	struct query q;
	int fd = udp_to(port), ok = -1;

	snprintf(name, sizeof(name), "svc%d.default.svc." DOMAIN ".", NSVC - 1);
	svc_ip(NSVC - 1, ip, sizeof(ip));
	if (fd < 0 || query_init(&q, name, ip) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	while (ok < 0 && alive(pid) && bench_now() < end)
		ok = resolve_until(fd, &q, 0.02, bench_now() + 0.2) > 0 ? 0 : -1;
	free(q.wire);
	close(fd);
	return ok;
}

/* ---- dnsperf ---- */

/* CPU seconds of pid and of its descendants (NSD's server, reload and
 * xfrd processes; skiff-dns has none), found by their parent in
 * /proc/N/stat. One pass over /proc per generation. */
static double
tree_cpu(pid_t pid)
{
	double total = proc_cpu_seconds(pid);
	struct dirent *e;
	DIR *d = opendir("/proc");

	while (d && (e = readdir(d))) {
		char path[64], buf[512], *p;
		int n = atoi(e->d_name), ppid = 0;
		FILE *f;

		snprintf(path, sizeof(path), "/proc/%d/stat", n);
		if (n <= 0 || n == pid || !(f = fopen(path, "r")))
			continue;
		buf[fread(buf, 1, sizeof(buf) - 1, f)] = '\0';
		fclose(f);
		if ((p = strrchr(buf, ')')) && sscanf(p + 2, "%*c %d", &ppid) == 1 && ppid == pid)
			total += tree_cpu(n);
	}
	if (d)
		closedir(d);
	return total;
}

struct perf_run {
	double qps, p99_us, lost;
	double cpu_us;     /* the server's CPU per answer */
	double client_cpu; /* dnsperf's CPU seconds over the run */
	double resp_bytes; /* dnsperf's average response size */
	long answers, other_rcodes;
};

static int
parse_perf_line(const char *line, struct perf_run *r, double **lat, long *cap)
{
	char rcode[32];
	const char *sp;

	if (sscanf(line, "> %31s", rcode) == 1 && (sp = strrchr(line, ' '))) {
		if (strcmp(rcode, "NOERROR") != 0)
			r->other_rcodes++;
		if (r->answers == *cap) {
			*cap = *cap ? *cap * 2 : 65536;
			*lat = realloc(*lat, (size_t)*cap * sizeof(**lat));
		}
		(*lat)[r->answers++] = strtod(sp + 1, NULL);
		return 1;
	}
	if (sscanf(line, " Queries per second: %lf", &r->qps) == 1 ||
	    sscanf(line, " Average packet size: request %*d, response %lf", &r->resp_bytes) == 1)
		return 1;
	return sscanf(line, " Queries lost: %lf", &r->lost) == 1;
}

/* dnsperf over the query file against port (served by pid) for secs,
 * pinned to the client core; -v prints each answer's latency. 0, or -1
 * when it did not run. */
static int
run_dnsperf(int port, pid_t pid, double secs, struct perf_run *r)
{
	char p[16], l[16], d[128], line[512];
	char *argv[] = {"/usr/bin/dnsperf",
	                "-s",
	                "127.0.0.1",
	                "-p",
	                p,
	                "-d",
	                d,
	                "-l",
	                l,
	                "-c",
	                "1",
	                "-T",
	                "1",
	                "-q",
	                "100",
	                "-t",
	                "1",
	                "-v",
	                NULL};
	double *lat = NULL, cpu0 = tree_cpu(pid);
	long cap = 0;
	int fds[2], st = 0;
	struct rusage ru;
	FILE *f;

	memset(r, 0, sizeof(*r));
	snprintf(p, sizeof(p), "%d", port);
	snprintf(l, sizeof(l), "%g", secs);
	snprintf(d, sizeof(d), "%s/queries", tmpdir);
	if (pipe(fds) < 0)
		return -1;
	perf_pid = spawn(argv, cli_core, fds[1], "dnsperf.log");
	close(fds[1]);
	f = fdopen(fds[0], "r");
	while (f && fgets(line, sizeof(line), f))
		parse_perf_line(line, r, &lat, &cap);
	if (f)
		fclose(f);
	if (perf_pid > 0 && wait4(perf_pid, &st, 0, &ru) > 0)
		r->client_cpu = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
		                (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
	perf_pid = 0;
	if (r->answers > 0) {
		r->cpu_us = (tree_cpu(pid) - cpu0) / (double)r->answers * 1e6;
		bench_sort(lat, (int)r->answers);
		r->p99_us = bench_percentile(lat, (int)r->answers, 99) * 1e6;
	}
	free(lat);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0 || r->qps <= 0) {
		fprintf(stderr, "dns bench: dnsperf against port %d failed\n", port);
		show_log("dnsperf.log");
		return -1;
	}
	return 0;
}

/* ---- the servers ---- */

static const char *
skiff_dns_bin(void)
{
	const char *b = getenv("SKIFF_DNS");

	return b && *b ? b : "build/bin/skiff-dns";
}

/* skiff-dns on the server core, on 127.0.0.1:port, for prefix. */
static pid_t
spawn_skiff_dns(const char *ep, const char *prefix, int port)
{
	char a_ep[256], a_prefix[64], a_listen[64], a_rc[128];
	char *argv[] = {(char *)skiff_dns_bin(), a_ep, a_prefix, a_listen, "--ttl=5", a_rc, "--log-level=warn",
	                "--health-addr=",        NULL};

	snprintf(a_ep, sizeof(a_ep), "--etcd-endpoints=%s", ep);
	snprintf(a_prefix, sizeof(a_prefix), "--prefix=%s", prefix);
	snprintf(a_listen, sizeof(a_listen), "--listen=127.0.0.1:%d", port);
	snprintf(a_rc, sizeof(a_rc), "--resolv-conf=%s/resolv.conf", tmpdir);
	return spawn(argv, srv_core, -1, "skiff-dns.log");
}

static int
start_servers(const char *ep, int dns_port, int nsd_port)
{
	char conf[128];
	char *nsd_argv[] = {"/usr/sbin/nsd", "-d", "-c", conf, NULL};
	double t0 = bench_now();

	snprintf(conf, sizeof(conf), "%s/nsd.conf", tmpdir);
	nsd_pid = spawn(nsd_argv, srv_core, -1, "nsd.out");
	dns_pid = spawn_skiff_dns(ep, PREFIX, dns_port);
	if (wait_serving(&dns_pid, dns_port, 20) < 0) {
		fprintf(stderr, "dns bench: %s did not answer for svc%d within 20 s%s\n", skiff_dns_bin(), NSVC - 1,
		        dns_pid ? "" : " (it exited)");
		show_log("skiff-dns.log");
		return -1;
	}
	if (verbose)
		fprintf(stderr, "# skiff-dns (pid %d, port %d) answered for svc%d %.0f ms after its start\n",
		        (int)dns_pid, dns_port, NSVC - 1, (bench_now() - t0) * 1e3);
	if (wait_serving(&nsd_pid, nsd_port, 20) < 0) {
		fprintf(stderr, "dns bench: nsd did not answer within 20 s%s\n", nsd_pid ? "" : " (it exited)");
		show_log("nsd.out");
		show_log("nsd.log");
		return -1;
	}
	return 0;
}

/* Both must give every name its address before anything is timed. */
static int
check_answers(int dns_port, int nsd_port)
{
	int a = count_correct(dns_port), b = count_correct(nsd_port);

	if (a != NSVC || b != NSVC)
		printf("dns: answers differ: skiff-dns gave %d of %d names their address, nsd %d\n", a, NSVC, b);
	return a > 0 && b > 0 ? 0 : -1;
}

/* ---- the measurements ---- */

/* One run on stderr: busy is the share of a CPU the server used, dnsperf
 * the share the client used (near 100%: the client was the limit). */
static void
print_run(const char *who, const struct perf_run *r, double secs)
{
	fprintf(stderr,
	        "#   %-5s %6.0f qps p99 %6.0f µs cpu %5.1f µs/query busy %3.0f%% dnsperf %3.0f%% lost %.0f "
	        "non-NOERROR %ld answer %.0f bytes\n",
	        who, r->qps, r->p99_us, r->cpu_us, r->qps * r->cpu_us / 1e4, r->client_cpu / secs * 100, r->lost,
	        r->other_rcodes, r->resp_bytes);
}

/* The median over n runs of the double at offset off in each. */
static double
median_of(const struct perf_run *runs, size_t off, int n)
{
	double v[64];

	for (int i = 0; i < n; i++)
		memcpy(&v[i], (const char *)&runs[i] + off, sizeof(double));
	return bench_median(v, n);
}

/* ABBA rounds of dnsperf (skiff first in even rounds); prints the "dns:"
 * line. cpu/query is steadier than qps when other work shares the core:
 * qps follows the share of the core a server gets, CPU per answer not. */
static int
compare(int dns_port, int nsd_port, int rounds, double secs)
{
	struct perf_run w, s[64], b[64];
	double ratio[64], lo, hi, sc, bc;

	/* Unmeasured warm-up of both: first faults, caches, the socket. */
	if (run_dnsperf(dns_port, dns_pid, 1, &w) < 0 || run_dnsperf(nsd_port, nsd_pid, 1, &w) < 0)
		return -1;
	for (int r = 0; r < rounds; r++) {
		for (int i = 0; i < 2; i++)
			if ((i + r) % 2 == 0 ? run_dnsperf(dns_port, dns_pid, secs, &s[r])
			                     : run_dnsperf(nsd_port, nsd_pid, secs, &b[r]))
				return -1;
		ratio[r] = s[r].qps / b[r].qps;
		if (verbose || s[r].lost > 0 || b[r].lost > 0 || s[r].other_rcodes || b[r].other_rcodes) {
			fprintf(stderr, "# round %d (%s first): ratio %.3f\n", r, r % 2 ? "nsd" : "skiff", ratio[r]);
			print_run("skiff", &s[r], secs);
			print_run("nsd", &b[r], secs);
		}
	}
	bench_range(ratio, rounds, &lo, &hi);
	sc = median_of(s, offsetof(struct perf_run, cpu_us), rounds);
	bc = median_of(b, offsetof(struct perf_run, cpu_us), rounds);
	printf("dns: skiff=%.0f qps baseline=%.0f qps ratio=%.2f (%.2f-%.2f over %d rounds) p99=%.0f µs "
	       "(baseline p99=%.0f µs; cpu/query skiff=%.1f µs baseline=%.1f µs, ratio %.2f; target ratio >= 0.8)\n",
	       median_of(s, offsetof(struct perf_run, qps), rounds),
	       median_of(b, offsetof(struct perf_run, qps), rounds), bench_median(ratio, rounds), lo, hi, rounds,
	       median_of(s, offsetof(struct perf_run, p99_us), rounds),
	       median_of(b, offsetof(struct perf_run, p99_us), rounds), sc, bc, sc > 0 ? bc / sc : 0);
	return 0;
}

/* The memory of a second skiff-dns with no services (a prefix with
 * nothing under it), once it answers: what the services cost is the
 * difference. 0, or -1 (e is zeroed). */
static int
empty_mem(const char *ep, struct proc_mem *e)
{
	struct query q;
	pid_t pid;
	int port = free_port(), fd = udp_to(port), rc = -1;
	double end = bench_now() + 20;

	memset(e, 0, sizeof(*e));
	if (fd < 0 || query_init(&q, "svc0.default.svc." DOMAIN ".", "10.96.1.10") < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	q.any = 1;
	pid = spawn_skiff_dns(ep, PREFIX "-empty", port);
	while (alive(&pid) && bench_now() < end)
		if (resolve_until(fd, &q, 0.02, bench_now() + 0.2) > 0) {
			rc = proc_mem_read(pid, e);
			break;
		}
	stop_child(&pid);
	free(q.wire);
	close(fd);
	return rc;
}

static void
print_rss(const char *ep)
{
	struct proc_mem m, e;

	if (proc_mem_read(dns_pid, &m) < 0) {
		printf("dns rss with %d services: unreadable\n", NSVC);
		return;
	}
	empty_mem(ep, &e);
	printf("dns rss with %d services: %.1f MB (pss %.1f MB, anon %.1f MB; with none: rss %.1f MB, anon %.1f MB; "
	       "target <= 10 MB)\n",
	       NSVC, (double)m.rss_kb / 1024.0, (double)m.pss_kb / 1024.0, (double)m.anon_kb / 1024.0,
	       (double)e.rss_kb / 1024.0, (double)e.anon_kb / 1024.0);
}

/* One try: a new service and its endpoints in one transaction, then a
 * query every millisecond until skiff-dns answers with its address.
 * Returns the seconds from before the put, or -1; *put: the put's. */
static double
propagate_once(struct etcd_sync *s, int fd, int k, double *put)
{
	static char keys[2][96], vals[2][512];
	char name[32], ip[20], pod[20], fqdn[96];
	struct query q;
	double t0, t;

	snprintf(name, sizeof(name), "new%d", k);
	snprintf(ip, sizeof(ip), "10.96.100.%d", 1 + k % 250);
	snprintf(pod, sizeof(pod), "10.244.100.%d", 1 + k % 250);
	snprintf(fqdn, sizeof(fqdn), "%s.default.svc." DOMAIN ".", name);
	if (query_init(&q, fqdn, ip) < 0)
		return -1;
	service_json(name, keys[0], vals[0]);
	endpoints_json(name, ip, pod, keys[1], vals[1]);
	t0 = bench_now();
	if (put_all(s, keys, vals, 2) < 0) {
		free(q.wire);
		return -1;
	}
	*put = bench_now() - t0;
	t = resolve_until(fd, &q, 0.001, bench_now() + PROP_DEADLINE);
	free(q.wire);
	return t < 0 ? -1 : t - t0;
}

static int
propagation(struct etcd_sync *s, int dns_port)
{
	static double lat[PROP_TRIES], put[PROP_TRIES];
	int fd = udp_to(dns_port), n = 0, failed = 0;

	for (int k = 0; fd >= 0 && k < PROP_TRIES; k++) {
		double l = propagate_once(s, fd, k, &put[n]);

		if (l < 0) {
			failed++;
			if (!alive(&dns_pid) || failed >= 3)
				break;
			continue;
		}
		lat[n++] = l;
	}
	if (fd >= 0)
		close(fd);
	if (n == 0 || failed) {
		printf("dns propagation: %d of %d new services never resolvable within %.0f s\n", failed, n + failed,
		       PROP_DEADLINE);
		if (n == 0)
			return -1;
	}
	bench_sort(lat, n);
	bench_sort(put, n);
	printf("dns propagation: service put -> resolvable p50=%.1f ms p99=%.1f ms (%d tries; etcd put p50=%.1f ms; "
	       "target p99 <= 100 ms)\n",
	       bench_percentile(lat, n, 50) * 1e3, bench_percentile(lat, n, 99) * 1e3, n,
	       bench_percentile(put, n, 50) * 1e3);
	return 0;
}

static int
env_int(const char *name, int def, int min, int max)
{
	const char *v = getenv(name);
	int n = v && *v ? atoi(v) : def;

	return n < min ? min : n > max ? max : n;
}

static int
setup(const char *ep, int *dns_port, int *nsd_port)
{
	struct etcd_config cfg = {.endpoints = ep};
	struct etcd_error err = {0};
	struct etcd_sync *s;
	int rc;

	snprintf(tmpdir, sizeof(tmpdir), "/tmp/skiff-dnsbench.XXXXXX");
	if (!mkdtemp(tmpdir)) {
		tmpdir[0] = '\0';
		perror("dns bench: mkdtemp");
		return -1;
	}
	*dns_port = free_port();
	*nsd_port = free_port();
	if (*dns_port < 0 || *nsd_port < 0 || *dns_port == *nsd_port || write_files(*nsd_port) < 0)
		return -1;
	if (!(s = etcd_sync_new(&cfg, &err))) {
		fprintf(stderr, "dns bench: etcd: %s\n", err.msg);
		return -1;
	}
	rc = write_services(s);
	etcd_sync_free(s);
	return rc;
}

int
main(int argc, char **argv)
{
	const char *ep = getenv("ETCD_ENDPOINT");
	int rounds = env_int("DNS_BENCH_ROUNDS", 4, 3, 64), dns_port, nsd_port, rc = 1;
	double secs = env_int("DNS_BENCH_SECONDS", 5, 1, 600);
	struct etcd_config cfg = {.endpoints = ep};
	struct etcd_error err = {0};
	struct etcd_sync *s = NULL;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

	verbose = argc > 1 && strcmp(argv[1], "-v") == 0;
	setvbuf(stdout, NULL, _IOLBF, 0); /* in order with stderr in a log */
	if (!ep) {
		printf("dns: skipped (needs $ETCD_ENDPOINT)\n");
		return 0;
	}
	srv_core = ncpu > 1 ? (int)ncpu - 1 : 0;
	cli_core = 0;
	pin(0, cli_core);
	atexit(cleanup);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);
	signal(SIGPIPE, SIG_IGN);
	if (setup(ep, &dns_port, &nsd_port) < 0 || start_servers(ep, dns_port, nsd_port) < 0 ||
	    check_answers(dns_port, nsd_port) < 0 || compare(dns_port, nsd_port, rounds, secs) < 0)
		return 1;
	print_rss(ep);
	if ((s = etcd_sync_new(&cfg, &err)) && propagation(s, dns_port) == 0)
		rc = 0;
	etcd_sync_free(s);
	if (!alive(&dns_pid))
		fprintf(stderr, "dns bench: skiff-dns exited during the run\n"), rc = 1;
	if (verbose)
		show_log("skiff-dns.log");
	return rc;
}
