/*
 * check_proxy_nodeport.c: skiff-proxy serving a node port, as a real
 * process (root: nftables rules) against a real etcd, in both modes. The
 * test writes the endpoints (with a nodePort) and the claim
 * P/nodeports/PORT as the endpoints controller would. The endpoint is a
 * small TCP server of the test on EPA (an address on a sink bridge) that
 * answers with its address (and a UDP one on the same port, for a UDP
 * service port). A client in a network namespace of its own,
 * joined to this machine by a veth pair, dials the node's address on that
 * link (NODEIP) at the node port (the prerouting path); the test also
 * dials NODEIP from the node itself (the output path). When the claim goes
 * the node port is no longer served. Everything (links, table, processes,
 * the namespace) is removed.
 */
#include <arpa/inet.h>
#include <check.h>
#include <ev.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "etcd_harness.h"
#include "etcd_testutil.h"
#include "th_netns.h"
#include "th_proc.h"
#include "th_proxy.h"

#define EPA "198.18.248.2"    /* the endpoint, on the sink bridge */
#define NODEIP "198.18.249.1" /* this machine's end of the veth pair */
#define CLIENT "198.18.249.2" /* the namespace's end */

static struct th_etcd *E;
static struct etcd_sync *S;
static struct th_proc *P;
static char PFX[64], NODE[64], BR[16], VETH[16];
static int BPORT, NPORT, srv_fd = -1, udp_fd = -1;
static pid_t NS = -1;
static pthread_t srv_th, udp_th;
static int UDP; /* this test's service port is UDP */

/* The endpoint: accepts, says its address, closes. */
static void *
serve(void *arg)
{
	int fd = *(int *)arg;

	for (;;) {
		int c = accept(fd, NULL, NULL);
		const char *hello = EPA "\n";

		if (c < 0)
			return NULL;
		(void)!write(c, hello, strlen(hello));
		close(c);
	}
}

/* The UDP endpoint: answers every datagram with its address. */
static void *
serve_udp(void *arg)
{
	int fd = *(int *)arg;

	for (;;) {
		struct sockaddr_in from;
		socklen_t flen = sizeof(from);
		char buf[64];
		const char *hello = EPA "\n";

		if (recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &flen) <= 0)
			return NULL; /* shut down: the test is over */
		sendto(fd, hello, strlen(hello), 0, (struct sockaddr *)&from, flen);
	}
}

/* Once, in Check's parent process, so that it is undone even when a test
 * fails. */
static void
bed_up(void)
{
	if (geteuid() != 0)
		return;
	if (th_sh("ip -4 addr show | grep -q ' 198\\.18\\.24[89]\\.'") == 0) {
		fprintf(stderr, "check_proxy_nodeport: 198.18.248.0/23 is in use here; refusing to use it\n");
		exit(1);
	}
	snprintf(BR, sizeof(BR), "skiff-npb%d", (int)getpid() % 10000);
	snprintf(VETH, sizeof(VETH), "skiff-npv%d", (int)getpid() % 10000);
	if ((NS = th_netns_child()) < 0 ||
	    th_sh("ip link add %s type bridge && ip link set %s up && ip addr add " EPA "/32 dev %s", BR, BR, BR) !=
	            0 ||
	    th_sh("ip link add %s type veth peer name np0 netns %d && ip addr add " NODEIP "/30 dev %s && "
	          "ip link set %s up",
	          VETH, (int)NS, VETH, VETH) != 0 ||
	    th_sh("nsenter -t %d -n sh -c 'ip addr add " CLIENT "/30 dev np0 && ip link set np0 up && "
	          "ip link set lo up'",
	          (int)NS) != 0 ||
	    !(E = th_etcd_start(1, NULL))) {
		fprintf(stderr, "check_proxy_nodeport: cannot set up the test bed: %s\n", th_sh_last());
		th_sh("ip link del %s 2>/dev/null; ip link del %s 2>/dev/null", BR, VETH);
		exit(1);
	}
	snprintf(NODE, sizeof(NODE), "nptest%d", (int)getpid());
}

static void
bed_down(void)
{
	if (geteuid() != 0)
		return;
	th_sh("nft delete table ip skiff_%s 2>/dev/null; ip link del %s; ip link del %s", NODE, BR, VETH);
	if (NS > 0) {
		kill(NS, SIGKILL);
		waitpid(NS, NULL, 0);
	}
	th_etcd_free(E);
}

/* A port nothing listens on, from start upward. */
static int
unused_port(int start)
{
	for (int port = start;; port++) {
		struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
		int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1, ok;

		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		ok = bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
		close(fd);
		if (ok)
			return port;
	}
}

static void
setup(void)
{
	struct etcd_config cfg;
	struct etcd_error err = {0};
	struct sockaddr_in sa = {.sin_family = AF_INET};
	int one = 1;

	if (geteuid() != 0)
		return;
	tu_config(E, &cfg);
	ck_assert_ptr_nonnull(S = etcd_sync_new(&cfg, &err));
	snprintf(PFX, sizeof(PFX), "/np%d", (int)getpid());
	BPORT = unused_port(19000 + getpid() % 1000);
	NPORT = unused_port(30000 + getpid() % 2000);
	inet_pton(AF_INET, EPA, &sa.sin_addr);
	sa.sin_port = htons((uint16_t)BPORT);
	srv_fd = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(srv_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	ck_assert_int_eq(bind(srv_fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(srv_fd, 64), 0);
	pthread_create(&srv_th, NULL, serve, &srv_fd);
	udp_fd = socket(AF_INET, SOCK_DGRAM, 0);
	ck_assert_int_eq(bind(udp_fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	pthread_create(&udp_th, NULL, serve_udp, &udp_fd);
}

static void
teardown(void)
{
	if (geteuid() != 0)
		return;
	th_proc_free(P, 0);
	etcd_sync_free(S);
	close(srv_fd);
	shutdown(udp_fd, SHUT_RDWR);
	pthread_join(udp_th, NULL);
	close(udp_fd);
}

/* Connect to ip:port, from the namespace when in_ns, and read the
 * greeting into who ("" when refused, closed or silent). */
static void
dial_once(int in_ns, const char *ip, int port, char *who, size_t len)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	struct timeval tv = {1, 0};
	int p[2], fd;
	ssize_t n;
	pid_t pid = -1;

	who[0] = '\0';
	if (pipe(p) < 0)
		return;
	if (in_ns && (pid = fork()) < 0)
		goto out;
	if (pid <= 0) {
		if (pid == 0)
			th_netns_enter(NS);
		inet_pton(AF_INET, ip, &sa.sin_addr);
		fd = socket(AF_INET, UDP ? SOCK_DGRAM : SOCK_STREAM, 0);
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 && (!UDP || send(fd, "q", 1, 0) == 1) &&
		    (n = read(fd, who, len - 1)) > 0)
			(void)!write(p[1], who, (size_t)n);
		close(fd);
		if (pid == 0)
			_exit(0);
	}
	close(p[1]);
	p[1] = -1;
	n = read(p[0], who, len - 1);
	who[n > 0 ? n : 0] = '\0';
	if (pid > 0)
		waitpid(pid, NULL, 0);
out:
	close(p[0]);
	if (p[1] >= 0)
		close(p[1]);
}

/* Dial until the answer is want ("" for none) three times in a row. */
static int
answers(int in_ns, const char *want, double secs, char *who, size_t len)
{
	double end = ev_time() + secs;
	int run = 0;

	while (ev_time() < end) {
		dial_once(in_ns, NODEIP, NPORT, who, len);
		if (strcmp(who, want) == 0 && ++run >= 3)
			return 0;
		if (strcmp(who, want) != 0) {
			run = 0;
			usleep(20000); /* polling with a deadline */
		}
	}
	return -1;
}

static void
put_claim_and_endpoints(void)
{
	char key[128], val[512];

	snprintf(key, sizeof(key), "%s/nodeports/%d", PFX, NPORT);
	snprintf(val, sizeof(val), "{\"service\":\"web\",\"uid\":\"1\",\"port\":80,\"protocol\":\"%s\"}",
	         UDP ? "UDP" : "TCP");
	ck_assert_int_gt(tu_put(S, key, val), 0);
	snprintf(key, sizeof(key), "%s/endpoints/web", PFX);
	snprintf(val, sizeof(val),
	         "{\"clusterIP\":\"10.0.0.77\",\"ports\":[{\"name\":\"http\",\"port\":80,\"targetPort\":%d,"
	         "\"protocol\":\"%s\",\"nodePort\":%d}],\"addresses\":[{\"ip\":\"" EPA
	         "\",\"node\":\"n1\",\"pod\":\"web-1\"}]}",
	         BPORT, UDP ? "UDP" : "TCP", NPORT);
	ck_assert_int_gt(tu_put(S, key, val), 0);
}

static void
run_mode(const char *mode)
{
	char who[64], key[128];
	struct etcd_result *r;

	if (geteuid() != 0)
		return; /* needs root: nftables, namespaces */
	put_claim_and_endpoints();
	ck_assert_ptr_nonnull(P = th_proxy_start(E, PFX, NODE, mode, NULL, NULL));
	ck_assert_msg(answers(1, EPA "\n", 10, who, sizeof(who)) == 0, "%s: a client dialling " NODEIP ":%d got \"%s\"",
	              mode, NPORT, who);
	ck_assert_msg(answers(0, EPA "\n", 10, who, sizeof(who)) == 0, "%s: the node dialling " NODEIP ":%d got \"%s\"",
	              mode, NPORT, who);

	/* The claim goes (the service dropped its node port): not served. */
	snprintf(key, sizeof(key), "%s/nodeports/%d", PFX, NPORT);
	r = etcd_sync_delete(S, key, NULL);
	TU_OK(r);
	etcd_result_free(r);
	ck_assert_msg(answers(1, "", 10, who, sizeof(who)) == 0, "%s: still served after the claim went: \"%s\"", mode,
	              who);
	ck_assert(th_proc_running(P));
}

START_TEST(test_userspace)
{
	run_mode("userspace");
}
END_TEST

START_TEST(test_nftables)
{
	run_mode("nftables");
}
END_TEST

/* A UDP service port's node port: kernel rules in both modes. */
START_TEST(test_udp)
{
	static const char *modes[] = {"userspace", "nftables"};

	UDP = 1;
	run_mode(modes[_i]);
	UDP = 0;
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("proxy_nodeport");
	TCase *tc = tcase_create("core");

	tcase_add_unchecked_fixture(tc, bed_up, bed_down);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_userspace);
	tcase_add_test(tc, test_nftables);
	tcase_add_loop_test(tc, test_udp, 0, 2);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
