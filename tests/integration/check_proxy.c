/*
 * check_proxy.c: skiff-proxy as a real process (root: it installs
 * nftables rules) against a real etcd, in both modes. Endpoints keys are
 * written by the test; the endpoints are small TCP servers of the test on
 * EP2 and EP3 (addresses on the test's sink bridge; loopback ones the
 * proxy refuses) that answer with their address. The service
 * CIDR used (10.0.0.0/24, checked to be unrouted first) is routed into a
 * sink bridge with no ports, so a packet the proxy failed to catch dies on
 * this machine. Everything (bridge, route, table, processes) is removed.
 * One test puts a slow stand-in for nft first on the proxy's PATH and
 * polls /healthz while it runs: the proxy's loop never waits for nft.
 * Another lists one endpoint in notReadyAddresses: it never gets a
 * connection. Services (written by the test too) make a headless service
 * get no rules, a selectorless one be served on its claim with its user's
 * endpoints, and ClientIP affinity keep this client on one endpoint.
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <ev.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "etcd_harness.h"
#include "etcd_testutil.h"
#include "th_podhttp.h"
#include "th_proc.h"
#include "th_proxy.h"

#define CIP "10.0.0.77"
#define EPNET "198.18.250." /* benchmarking range, on our sink bridge */
#define EP2 EPNET "2"
#define EP3 EPNET "3"

static struct th_etcd *E;
static struct etcd_sync *S;
static struct th_proc *P;
static char PFX[64], NODE[64], BR[16];
static int BPORT;
static int srv_fd[3]; /* EP2, EP3, and 127.0.0.2 (which the proxy must never use) */
static pthread_t srv_th[3];

/* An endpoint: accepts, says its address, then echoes until closed. */
static void *
serve(void *arg)
{
	int fd = *(int *)arg;

	for (;;) {
		int c = accept(fd, NULL, NULL);
		char buf[256], name[32];
		struct sockaddr_in sa;
		socklen_t len = sizeof(sa);
		ssize_t n;

		if (c < 0)
			return NULL;
		getsockname(c, (struct sockaddr *)&sa, &len);
		snprintf(name, sizeof(name), "%s\n", inet_ntoa(sa.sin_addr));
		if (write(c, name, strlen(name)) < 0) {
			close(c);
			continue;
		}
		while ((n = read(c, buf, sizeof(buf))) > 0)
			if (write(c, buf, (size_t)n) != n)
				break;
		close(c);
	}
}

static int
listen_on(const char *ip, int port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	inet_pton(AF_INET, ip, &sa.sin_addr);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 64) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int
sh(const char *cmd)
{
	return system(cmd);
}

static void
start_proxy(const char *mode)
{
	P = th_proxy_start(E, PFX, NODE, mode, NULL, NULL);
	ck_assert_ptr_nonnull(P);
}

/* Once, in Check's parent process, so that it is undone even when a test
 * fails: the sink bridge and its route, and etcd. */
static void
bed_up(void)
{
	char cmd[256];

	if (geteuid() != 0)
		return;
	/* Never take a range the machine routes already. */
	if (sh("ip route show | grep -q '^10\\.0\\.0\\.'") == 0) {
		fprintf(stderr, "check_proxy: 10.0.0.0/24 is routed on this machine; refusing to use it\n");
		exit(1);
	}
	if (sh("ip -4 addr show | grep -q ' " EPNET "'") == 0) {
		fprintf(stderr, "check_proxy: " EPNET "0/24 is in use on this machine; refusing to use it\n");
		exit(1);
	}
	snprintf(BR, sizeof(BR), "skiff-blk%d", (int)getpid() % 10000);
	snprintf(cmd, sizeof(cmd), "ip link add %s type bridge && ip link set %s up && ip route add 10.0.0.0/24 dev %s",
	         BR, BR, BR);
	if (sh(cmd) != 0) {
		fprintf(stderr, "check_proxy: cannot set up the test bed\n");
		exit(1);
	}
	snprintf(cmd, sizeof(cmd), "ip addr add " EP2 "/32 dev %s && ip addr add " EP3 "/32 dev %s", BR, BR);
	if (sh(cmd) != 0 || !(E = th_etcd_start(1, NULL))) {
		snprintf(cmd, sizeof(cmd), "ip link del %s", BR);
		sh(cmd);
		fprintf(stderr, "check_proxy: cannot set up the test bed\n");
		exit(1);
	}
	snprintf(NODE, sizeof(NODE), "proxytest%d", (int)getpid());
}

static void
bed_down(void)
{
	char cmd[256];

	if (geteuid() != 0)
		return;
	snprintf(cmd, sizeof(cmd), "nft delete table ip skiff_%s 2>/dev/null; ip link del %s", NODE, BR);
	sh(cmd);
	th_etcd_free(E);
}

static void
setup(void)
{
	struct etcd_config cfg;
	struct etcd_error err = {0};

	if (geteuid() != 0)
		return;
	tu_config(E, &cfg);
	S = etcd_sync_new(&cfg, &err);
	ck_assert_ptr_nonnull(S);
	snprintf(PFX, sizeof(PFX), "/t%d", (int)getpid());
	/* Two endpoints on one port, and a loopback server the proxy must
	 * not send anything to. */
	for (BPORT = 18000 + getpid() % 2000;; BPORT++) {
		const char *ips[3] = {EP2, EP3, "127.0.0.2"};
		int ok = 1;

		for (int i = 0; i < 3; i++)
			ok &= (srv_fd[i] = listen_on(ips[i], BPORT)) >= 0;
		if (ok)
			break;
		for (int i = 0; i < 3; i++)
			if (srv_fd[i] >= 0)
				close(srv_fd[i]);
	}
	for (int i = 0; i < 3; i++)
		pthread_create(&srv_th[i], NULL, serve, &srv_fd[i]);
}

static void
teardown(void)
{
	if (geteuid() != 0)
		return;
	th_proc_free(P, 0);
	etcd_sync_free(S);
	for (int i = 0; i < 3; i++)
		close(srv_fd[i]);
}

/* "ips" (comma-separated) as endpoint addresses, appended to buf. */
static void
addresses_json(char *buf, size_t len, const char *ips)
{
	const char *p = ips;

	while (p && *p) {
		const char *comma = strchr(p, ',');
		size_t n = comma ? (size_t)(comma - p) : strlen(p), l = strlen(buf);

		snprintf(buf + l, len - l, "%s{\"ip\":\"%.*s\",\"node\":\"n1\",\"pod\":\"p%zu\"}", l ? "," : "", (int)n,
		         p, l);
		p = comma ? comma + 1 : NULL;
	}
}

/* P/endpoints/NAME with addresses ips and, when not NULL, notReadyAddresses
 * not_ready (which the proxy must never use). */
static void
put_endpoints_split(const char *name, const char *ips, const char *not_ready)
{
	char key[128], val[1536], addrs[512] = "", nr[512] = "";

	addresses_json(addrs, sizeof(addrs), ips);
	addresses_json(nr, sizeof(nr), not_ready);
	snprintf(key, sizeof(key), "%s/endpoints/%s", PFX, name);
	snprintf(val, sizeof(val),
	         "{\"clusterIP\":\"" CIP "\",\"ports\":[{\"name\":\"http\",\"port\":80,\"targetPort\":%d,"
	         "\"protocol\":\"TCP\"}],\"addresses\":[%s],\"notReadyAddresses\":[%s]}",
	         BPORT, addrs, nr);
	ck_assert_int_gt(tu_put(S, key, val), 0);
}

static void
put_endpoints(const char *name, const char *ips)
{
	put_endpoints_split(name, ips, NULL);
}

/* Connect to CIP:80 and read the greeting ("" when refused or closed). */
static int
dial(char *who, size_t len)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(80)};
	struct timeval tv = {2, 0};
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	ssize_t n;

	who[0] = '\0';
	inet_pton(AF_INET, CIP, &sa.sin_addr);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	n = read(fd, who, len - 1);
	who[n > 0 ? n : 0] = '\0';
	if (n > 0 && who[n - 1] == '\n')
		who[n - 1] = '\0';
	return fd;
}

/* Dial until 6 answers in a row come from endpoints of want (e.g.
 * EP2 "," EP3) and cover all of them. */
static int
answers_are(const char *want, double secs)
{
	double end = ev_time() + secs;
	int run = 0, seen2 = 0, seen3 = 0;
	int w2 = strstr(want, EP2) != NULL, w3 = strstr(want, EP3) != NULL;

	while (ev_time() < end) {
		char who[64];
		int fd = dial(who, sizeof(who)), ok;

		if (fd >= 0)
			close(fd);
		ok = (w2 && strcmp(who, EP2) == 0) || (w3 && strcmp(who, EP3) == 0);
		if (!ok) {
			run = seen2 = seen3 = 0;
			usleep(10000); /* polling with a deadline */
			continue;
		}
		run++;
		seen2 |= strcmp(who, EP2) == 0;
		seen3 |= strcmp(who, EP3) == 0;
		if (run >= 6 && seen2 == w2 && seen3 == w3)
			return 0;
	}
	return -1;
}

static void
run_mode(const char *mode)
{
	char who[64], buf[64], cmd[160];
	int keep;
	ssize_t n;

	put_endpoints("web", EP2 "," EP3);
	start_proxy(mode);
	if (answers_are(EP2 "," EP3, 10) != 0) {
		th_proc_free(P, 1);
		P = NULL;
		ck_abort_msg("both endpoints did not answer");
	}

	/* A long-lived connection survives an endpoint change. */
	keep = dial(who, sizeof(who));
	ck_assert_int_ge(keep, 0);
	ck_assert(who[0]);
	put_endpoints("web", strcmp(who, EP2) == 0 ? EP2 : EP3);
	put_endpoints("web", strcmp(who, EP2) == 0 ? EP3 : EP2);
	ck_assert_msg(answers_are(strcmp(who, EP2) == 0 ? EP3 : EP2, 10) == 0,
	              "new connections did not move to the other endpoint");
	ck_assert_int_eq(write(keep, "ping", 4), 4);
	n = read(keep, buf, sizeof(buf));
	ck_assert_int_eq(n, 4);
	close(keep);

	/* No endpoints: refused or closed at once, never a hang. */
	put_endpoints("web", "");
	{
		double end = ev_time() + 10, t0;
		int ok = 0;

		while (!ok && ev_time() < end) {
			int fd;

			t0 = ev_time();
			fd = dial(who, sizeof(who));
			if (fd >= 0)
				close(fd);
			ok = who[0] == '\0' && ev_time() - t0 < 1.0;
			if (!ok)
				usleep(10000);
		}
		ck_assert_msg(ok, "a service without endpoints did not refuse at once");
	}

	/* SIGTERM removes our table. */
	ck_assert_int_eq(th_proc_signal(P, SIGTERM), 0);
	ck_assert_int_eq(th_proc_wait(P, 10), 0);
	snprintf(cmd, sizeof(cmd), "nft list table ip skiff_%s >/dev/null 2>&1", NODE);
	ck_assert_msg(sh(cmd) != 0, "table skiff_%s still there after exit", NODE);
}

START_TEST(test_userspace)
{
	if (geteuid() != 0)
		return;
	run_mode("userspace");
}
END_TEST

START_TEST(test_nftables)
{
	if (geteuid() != 0)
		return;
	run_mode("nftables");
}
END_TEST

START_TEST(test_stale_rules_replaced)
{
	char cmd[300];

	if (geteuid() != 0)
		return;
	/* A crashed run left a rule sending the service to a dead port. */
	snprintf(cmd, sizeof(cmd),
	         "nft 'add table ip skiff_%s; add chain ip skiff_%s output { type nat hook output priority -100; }; "
	         "add rule ip skiff_%s output ip daddr " CIP " tcp dport 80 redirect to :1'",
	         NODE, NODE, NODE);
	ck_assert_int_eq(sh(cmd), 0);
	put_endpoints("web", EP2);
	start_proxy("userspace");
	ck_assert_msg(answers_are(EP2, 10) == 0, "stale rules were not replaced");
	snprintf(cmd, sizeof(cmd), "test $(nft list table ip skiff_%s | grep -c 'redirect to :1$') -eq 0", NODE);
	ck_assert_int_eq(sh(cmd), 0);
}
END_TEST

/* A stand-in for nft, first on the proxy's PATH: it marks that it runs
 * (dir/running), sleeps 2 s, then runs the real nft on the same arguments
 * and stdin and adds its status to dir/runs, so the proxy's rules are
 * real and the test's own checks still mean something. */
static void
slow_nft(const char *dir)
{
	char path[300];
	FILE *f;

	snprintf(path, sizeof(path), "%s/nft", dir);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	fprintf(f,
	        "#!/bin/sh\n"
	        "touch %s/running\n"
	        "sleep 2\n"
	        "rm -f %s/running\n"
	        "PATH=/usr/sbin:/usr/bin:/sbin:/bin nft \"$@\"; rc=$?\n"
	        "echo $rc >> %s/runs\n"
	        "exit $rc\n",
	        dir, dir, dir);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(chmod(path, 0755), 0);
}

/* A free port on 127.0.0.1 (free when asked). */
static int
free_port(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

/* GET /healthz on 127.0.0.1:port: the seconds it took to read a whole
 * 200 answer, or -1 (refused, not 200, or no answer within 1 s). */
static double
healthz(int port)
{
	static const char req[] = "GET /healthz HTTP/1.0\r\n\r\n";
	char buf[1024];
	size_t got = 0;
	ssize_t n;
	double t0 = ev_time();
	int fd = th_http_dial("127.0.0.1", port, 1);

	if (fd < 0 || write(fd, req, strlen(req)) != (ssize_t)strlen(req)) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	while (got < sizeof(buf) - 1 && (n = read(fd, buf + got, sizeof(buf) - 1 - got)) > 0)
		got += (size_t)n;
	close(fd);
	buf[got] = '\0';
	return strncmp(buf, "HTTP/1.", 7) == 0 && strncmp(buf + 8, " 200", 4) == 0 ? ev_time() - t0 : -1;
}

static int
lines_in(const char *path)
{
	FILE *f = fopen(path, "r");
	int n = 0, c;

	while (f && (c = fgetc(f)) != EOF)
		n += c == '\n';
	if (f)
		fclose(f);
	return n;
}

/* Poll /healthz until the stand-in nft has run `runs` times; every answer
 * must come within 50 ms. Returns how many polls began and ended while
 * the stand-in was running. */
static int
poll_while_nft(const char *dir, int port, int runs)
{
	char running[300], done[300];
	double end = ev_time() + 20, took;
	int during = 0, before;

	snprintf(running, sizeof(running), "%s/running", dir);
	snprintf(done, sizeof(done), "%s/runs", dir);
	while (lines_in(done) < runs && ev_time() < end) {
		before = access(running, F_OK) == 0;
		took = healthz(port);
		ck_assert_msg(took >= 0 && took < 0.050, "/healthz took %.3fs (-1: no answer) while nft %s", took,
		              before ? "ran" : "did not run");
		during += before && access(running, F_OK) == 0;
		usleep(5000); /* pacing the polls; the deadline bounds the wait */
	}
	ck_assert_msg(lines_in(done) >= runs, "the stand-in nft ran %d times, not %d", lines_in(done), runs);
	return during;
}

START_TEST(test_loop_answers_while_nft_runs)
{
	char dir[] = "/tmp/skiff-slownft-XXXXXX", ep[512], pfx[80], node[80], health[64], path[300], cmd[400];
	char *argv[] = {"skiff-proxy", ep, pfx, node, health, NULL}, *env[2] = {path, NULL};
	int port = free_port(), during;
	double end;

	if (geteuid() != 0)
		return;
	ck_assert_ptr_nonnull(mkdtemp(dir));
	slow_nft(dir);
	snprintf(path, sizeof(path), "PATH=%s:%s", dir, getenv("PATH") ? getenv("PATH") : "/usr/sbin:/usr/bin");
	snprintf(ep, sizeof(ep), "--etcd-endpoints=%s", th_etcd_endpoints(E));
	snprintf(pfx, sizeof(pfx), "--prefix=%s", PFX);
	snprintf(node, sizeof(node), "--node-name=%s", NODE);
	snprintf(health, sizeof(health), "--health-addr=127.0.0.1:%d", port);
	put_endpoints("web", EP2);
	ck_assert_ptr_nonnull(P = th_proc_start("build/bin/skiff-proxy", argv, env));
	/* Up: the health server answers (it listens before the loop runs). */
	for (end = ev_time() + 10; healthz(port) < 0 && ev_time() < end;)
		usleep(10000);
	/* Two slow nft runs in a row: the stale table at start, then the
	 * service's rules; the loop answers throughout. */
	during = poll_while_nft(dir, port, 2);
	ck_assert_msg(during >= 10, "only %d polls fell while the stand-in nft ran", during);
	snprintf(cmd, sizeof(cmd), "test \"$(cat %s/runs)\" = \"$(printf '0\\n0')\"", dir);
	ck_assert_msg(sh(cmd) == 0, "the real nft behind the stand-in failed");
	ck_assert_msg(answers_are(EP2, 10) == 0, "the rules applied through the stand-in do not work");
	/* The stop waits for its own (slow) nft and removes the table. */
	ck_assert_int_eq(th_proc_signal(P, SIGTERM), 0);
	ck_assert_int_eq(th_proc_wait(P, 10), 0);
	snprintf(cmd, sizeof(cmd), "nft list table ip skiff_%s >/dev/null 2>&1", NODE);
	ck_assert_msg(sh(cmd) != 0, "table skiff_%s still there after exit", NODE);
	ck_assert_int_eq(lines_in(strcat(strcpy(path, dir), "/runs")), 3);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	sh(cmd);
}
END_TEST

/* How many times needle is in the proxy's log. */
static int
log_count(const char *needle)
{
	char *log = th_proc_log(P);
	int n = 0;

	for (const char *c = log; c && (c = strstr(c, needle)); c++)
		n++;
	free(log);
	return n;
}

/* Wait up to secs for a Warning InvalidEndpoint event on service web. */
static int
invalid_endpoint_event(double secs)
{
	char prefix[128];
	struct etcd_range_opts o = {.prefix = 1};
	double end = ev_time() + secs;

	snprintf(prefix, sizeof(prefix), "%s/nodeevents/%s/services/web/", PFX, NODE); /* the node's own events */
	while (ev_time() < end) {
		struct etcd_result *r = etcd_sync_range(S, prefix, &o);
		int found = 0;

		for (size_t i = 0; r && r->err.code == ETCD_OK && i < r->nkvs; i++)
			found |= strstr(r->kvs[i].value, "\"InvalidEndpoint\"") && strstr(r->kvs[i].value, "Warning");
		if (r)
			etcd_result_free(r);
		if (found)
			return 1;
		usleep(20000); /* polling with a deadline */
	}
	return 0;
}

/* Loopback and link-local endpoints are never used, in either mode; the
 * refusal is logged and recorded once per revision of the key. */
static void
run_invalid(const char *mode)
{
	char key[128];

	put_endpoints("web", "127.0.0.2," EP3 ",169.254.169.254");
	start_proxy(mode);
	ck_assert_msg(answers_are(EP3, 10) == 0, "a refused endpoint still got connections");
	ck_assert_msg(invalid_endpoint_event(10), "no InvalidEndpoint event on service web");
	ck_assert_int_eq(log_count("refusing 2 endpoint addresses, first 127.0.0.2"), 1);
	/* Another service's change syncs again: web is not reported again. */
	snprintf(key, sizeof(key), "%s/endpoints/other", PFX);
	ck_assert_int_gt(tu_put(S, key,
	                        "{\"clusterIP\":\"10.0.0.78\",\"ports\":[{\"port\":81,\"protocol\":\"TCP\"}],"
	                        "\"addresses\":[{\"ip\":\"" EP2 "\",\"node\":\"n1\",\"pod\":\"o\"}]}"),
	                 0);
	for (double end = ev_time() + 10; !th_proc_log_has(P, "service=other") && ev_time() < end;)
		usleep(10000);
	ck_assert_int_eq(log_count("refusing 2 endpoint addresses"), 1);
	/* A new revision of web is reported again. */
	put_endpoints("web", "127.0.0.2," EP3 ",169.254.169.254");
	for (double end = ev_time() + 10; log_count("refusing 2 endpoint addresses") < 2 && ev_time() < end;)
		usleep(10000);
	ck_assert_int_eq(log_count("refusing 2 endpoint addresses"), 2);
	ck_assert_msg(answers_are(EP3, 5) == 0, "a refused endpoint got connections after a change");
}

/* Loop test: _i picks the mode. */
START_TEST(test_invalid_endpoints)
{
	static const char *modes[] = {"userspace", "nftables"};

	if (geteuid() != 0)
		return;
	run_invalid(modes[_i]);
}
END_TEST

/* Userspace mode: a connection straight to a listener's port (not
 * redirected by the proxy's rules) is closed before any backend byte. */
START_TEST(test_direct_connect_closed)
{
	char who[64], *log, *at;
	int port = 0, fd;
	ssize_t n;
	struct timeval tv = {2, 0};

	if (geteuid() != 0)
		return;
	put_endpoints("web", EP2);
	start_proxy("userspace");
	ck_assert_msg(answers_are(EP2, 10) == 0, "the service does not answer");
	log = th_proc_log(P);
	ck_assert_ptr_nonnull(at = strstr(log, "on local port "));
	port = atoi(at + strlen("on local port "));
	free(log);
	ck_assert_int_gt(port, 0);
	for (int i = 0; i < 2; i++) {
		fd = th_http_dial(i ? EP2 : "127.0.0.1", port, 2);
		ck_assert_int_ge(fd, 0);
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		n = read(fd, who, sizeof(who));
		close(fd);
		ck_assert_msg(n <= 0, "a direct connection to port %d got %zd bytes from the backend", port, n);
		ck_assert_msg(n == 0 || errno == ECONNRESET, "a direct connection was not closed (errno %d)", errno);
	}
	ck_assert_msg(answers_are(EP2, 10) == 0, "redirected connections stopped working");
}
END_TEST

/* The etcd password given in the environment is gone from the running
 * proxy's /proc/PID/environ (so also from its nft children). */
START_TEST(test_password_not_in_environ)
{
	char ep[512], pfx[80], node[80], path[64], buf[65536];
	char *argv[] = {"skiff-proxy", ep, pfx, node, NULL}, *env[] = {"SKIFF_ETCD_PASSWORD=hunter2-proxy", NULL};
	size_t got = 0;
	ssize_t n;
	FILE *f;

	if (geteuid() != 0)
		return;
	snprintf(ep, sizeof(ep), "--etcd-endpoints=%s", th_etcd_endpoints(E));
	snprintf(pfx, sizeof(pfx), "--prefix=%s", PFX);
	snprintf(node, sizeof(node), "--node-name=%s", NODE);
	put_endpoints("web", EP2);
	ck_assert_ptr_nonnull(P = th_proc_start("build/bin/skiff-proxy", argv, env));
	ck_assert_msg(answers_are(EP2, 10) == 0, "the proxy does not serve");
	snprintf(path, sizeof(path), "/proc/%d/environ", (int)th_proc_pid(P));
	ck_assert_ptr_nonnull(f = fopen(path, "r"));
	while ((n = (ssize_t)fread(buf + got, 1, sizeof(buf) - got, f)) > 0)
		got += (size_t)n;
	fclose(f);
	ck_assert_int_gt(got, 0);
	ck_assert_msg(!memmem(buf, got, "hunter2", 7), "the password is still in %s", path);
	ck_assert_msg(!memmem(buf, got, "SKIFF_ETCD_PASSWORD", 19), "SKIFF_ETCD_PASSWORD is still in %s", path);
}
END_TEST

/* Only addresses get connections: notReadyAddresses (pods not ready,
 * contract version 2) never do, in either mode, also after the two swap
 * lists. */
START_TEST(test_not_ready_unused)
{
	static const char *modes[] = {"userspace", "nftables"};
	const char *ready[] = {EP2, EP3}, *other[] = {EP3, EP2};
	char who[64];

	if (geteuid() != 0)
		return;
	put_endpoints_split("web", EP2, EP3);
	start_proxy(modes[_i]);
	for (int k = 0; k < 2; k++) {
		put_endpoints_split("web", ready[k], other[k]);
		ck_assert_msg(answers_are(ready[k], 10) == 0, "%s (ready) does not answer", ready[k]);
		for (int i = 0; i < 20; i++) {
			int fd = dial(who, sizeof(who));

			if (fd >= 0)
				close(fd);
			ck_assert_msg(strcmp(who, other[k]) != 0, "the not-ready address %s got a connection",
			              other[k]);
		}
	}
}
END_TEST

/* P/DIR/NAME = val, under the test's prefix; the revision. */
static int64_t
put_key(const char *dir, const char *name, const char *val)
{
	char key[128];
	int64_t rev;

	snprintf(key, sizeof(key), "%s/%s/%s", PFX, dir, name);
	ck_assert_int_gt(rev = tu_put(S, key, val), 0);
	return rev;
}

/* Headless: no rules, even for endpoints that carry a cluster IP. Without
 * a selector: the user's endpoints (Kubernetes' subsets shape, no cluster
 * IP) are served on the service's claim in P/serviceips/, on the
 * service's port of the same name. Both modes. */
START_TEST(test_headless_and_selectorless)
{
	static const char *modes[] = {"userspace", "nftables"};
	char val[512], cmd[200];
	int64_t uid;

	if (geteuid() != 0)
		return;
	put_key("services", "hl",
	        "{\"metadata\":{\"name\":\"hl\"},\"spec\":{\"selector\":{\"app\":\"hl\"},\"clusterIP\":\"None\","
	        "\"ports\":[{\"name\":\"http\",\"port\":80}]}}");
	snprintf(val, sizeof(val),
	         "{\"clusterIP\":\"10.0.0.78\",\"ports\":[{\"name\":\"http\",\"port\":80,\"targetPort\":%d}],"
	         "\"addresses\":[{\"ip\":\"" EP2 "\"}]}",
	         BPORT);
	put_key("endpoints", "hl", val);
	uid = put_key("services", "ext",
	              "{\"metadata\":{\"name\":\"ext\"},\"spec\":{\"ports\":[{\"name\":\"http\","
	              "\"port\":80,\"targetPort\":5432}]}}");
	snprintf(val, sizeof(val), "{\"service\":\"ext\",\"uid\":\"%lld\"}", (long long)uid);
	put_key("serviceips", CIP, val);
	snprintf(val, sizeof(val),
	         "{\"subsets\":[{\"addresses\":[{\"ip\":\"" EP2 "\"},{\"ip\":\"" EP3 "\"}],"
	         "\"ports\":[{\"name\":\"http\",\"port\":%d}]}]}",
	         BPORT);
	put_key("endpoints", "ext", val);
	start_proxy(modes[_i]);
	ck_assert_msg(answers_are(EP2 "," EP3, 10) == 0, "the selectorless service does not answer on its claim");
	/* The same sync saw hl: nothing of it in our table. */
	snprintf(cmd, sizeof(cmd), "nft list table ip skiff_%s | grep -q '10\\.0\\.0\\.78\\|hl/'", NODE);
	ck_assert_msg(sh(cmd) != 0, "the headless service got rules");
}
END_TEST

/* The endpoint of one dial ("" when none answered). */
static void
dial_who(char *who, size_t len)
{
	int fd = dial(who, len);

	if (fd >= 0)
		close(fd);
}

/* sessionAffinity ClientIP (timeout 2 s): this client's 20 connections
 * reach one endpoint; 2 s after its last one it is picked anew (the other
 * endpoint, round-robin moved on); None spreads again. Both modes. */
START_TEST(test_session_affinity)
{
	static const char *modes[] = {"userspace", "nftables"};
	const char *svc = "{\"metadata\":{\"name\":\"web\"},\"spec\":{\"selector\":{\"app\":\"web\"},"
			  "\"ports\":[{\"name\":\"http\",\"port\":80}],\"sessionAffinity\":\"ClientIP\","
			  "\"sessionAffinityConfig\":{\"clientIP\":{\"timeoutSeconds\":2}}}}";
	char first[64] = "", who[64];
	double last = 0, end;
	int moved = 0;

	if (geteuid() != 0)
		return;
	put_key("services", "web", svc);
	put_endpoints("web", EP2 "," EP3);
	start_proxy(modes[_i]);
	for (end = ev_time() + 10; !first[0] && ev_time() < end;)
		dial_who(first, sizeof(first));
	ck_assert_msg(first[0], "the service does not answer");
	for (int i = 0; i < 20; i++) {
		for (int tries = 0; tries < 5 && (dial_who(who, sizeof(who)), !who[0]); tries++)
			usleep(20000); /* no answer at all (a loaded machine): dial again, bounded */
		ck_assert_msg(strcmp(who, first) == 0, "connection %d went to %s, not %s", i, who, first);
		last = ev_time();
	}
	/* The timeout passes without a connection: a new pick. */
	for (end = ev_time() + 10; !moved && ev_time() < end; last = ev_time()) {
		while (ev_time() < last + 2.3)
			usleep(50000); /* the affinity's own time must pass */
		dial_who(who, sizeof(who));
		moved = who[0] && strcmp(who, first) != 0;
	}
	ck_assert_msg(moved, "still on %s after the timeout", first);
	dial_who(first, sizeof(first)); /* and it sticks again */
	ck_assert_str_eq(first, who);

	put_key("services", "web",
	        "{\"metadata\":{\"name\":\"web\"},\"spec\":{\"selector\":{\"app\":\"web\"},"
	        "\"ports\":[{\"name\":\"http\",\"port\":80}]}}");
	ck_assert_msg(answers_are(EP2 "," EP3, 10) == 0, "sessionAffinity None does not spread");
}
END_TEST

/* ---- UDP ---- */

#define CIP_UDP "10.0.0.78"

/* A UDP endpoint: answers every datagram with its address. */
static void *
serve_udp(void *arg)
{
	int fd = *(int *)arg;

	for (;;) {
		struct sockaddr_in from, me;
		socklen_t flen = sizeof(from), mlen = sizeof(me);
		char buf[256], name[32];

		if (recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &flen) <= 0)
			return NULL; /* shut down: the test is over */
		getsockname(fd, (struct sockaddr *)&me, &mlen);
		snprintf(name, sizeof(name), "%s", inet_ntoa(me.sin_addr));
		sendto(fd, name, strlen(name), 0, (struct sockaddr *)&from, flen);
	}
}

static int
udp_on(const char *ip, int port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	inet_pton(AF_INET, ip, &sa.sin_addr);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* P/endpoints/dns: one UDP port 53 -> BPORT on ips, at CIP_UDP. */
static void
put_endpoints_udp(const char *ips)
{
	char key[128], val[1024], addrs[512] = "";

	addresses_json(addrs, sizeof(addrs), ips);
	snprintf(key, sizeof(key), "%s/endpoints/dns", PFX);
	snprintf(val, sizeof(val),
	         "{\"clusterIP\":\"" CIP_UDP "\",\"ports\":[{\"name\":\"dns\",\"port\":53,\"targetPort\":%d,"
	         "\"protocol\":\"UDP\"}],\"addresses\":[%s]}",
	         BPORT, addrs);
	ck_assert_int_gt(tu_put(S, key, val), 0);
}

/* A UDP socket connected to CIP_UDP:53 (its source port stays). */
static int
udp_client(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(53)};
	struct timeval tv = {0, 300000};
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	inet_pton(AF_INET, CIP_UDP, &sa.sin_addr);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

/* Send one datagram on fd and read the answer into who ("" when none;
 * then *err is the errno of the receive). */
static void
udp_ask(int fd, char *who, size_t len, int *err)
{
	ssize_t n;

	who[0] = '\0';
	*err = 0;
	if (send(fd, "q", 1, 0) < 0) {
		*err = errno;
		return;
	}
	n = recv(fd, who, len - 1, 0);
	if (n < 0)
		*err = errno;
	who[n > 0 ? n : 0] = '\0';
}

/* Fresh sockets until both endpoints of want have answered (bounded). */
static int
udp_both_answer(double secs)
{
	int seen2 = 0, seen3 = 0, err;
	char who[64];

	for (double end = ev_time() + secs; !(seen2 && seen3) && ev_time() < end;) {
		int fd = udp_client();

		udp_ask(fd, who, sizeof(who), &err);
		close(fd);
		seen2 |= strcmp(who, EP2) == 0;
		seen3 |= strcmp(who, EP3) == 0;
	}
	return seen2 && seen3 ? 0 : -1;
}

/* A UDP service in both modes: datagrams reach both endpoints; a client
 * that keeps its source port moves to the other endpoint when its own
 * leaves the endpoints (its conntrack flow is deleted; the gone endpoint
 * still answers, so only the delete can move it); without endpoints a
 * datagram is refused at once (ICMP port unreachable), never lost. */
START_TEST(test_udp)
{
	static const char *modes[] = {"userspace", "nftables"};
	int ufd[2], keep, err = 0, moved = 0;
	pthread_t th[2];
	char who[64] = "", other[64];

	if (geteuid() != 0)
		return;
	ck_assert_int_ge(ufd[0] = udp_on(EP2, BPORT), 0);
	ck_assert_int_ge(ufd[1] = udp_on(EP3, BPORT), 0);
	for (int i = 0; i < 2; i++)
		pthread_create(&th[i], NULL, serve_udp, &ufd[i]);
	put_endpoints_udp(EP2 "," EP3);
	start_proxy(modes[_i]);
	ck_assert_msg(udp_both_answer(10) == 0, "both UDP endpoints did not answer");

	keep = udp_client();
	for (double end = ev_time() + 5; !who[0] && ev_time() < end;)
		udp_ask(keep, who, sizeof(who), &err);
	ck_assert_msg(who[0], "no answer on a kept socket");
	snprintf(other, sizeof(other), "%s", strcmp(who, EP2) == 0 ? EP3 : EP2);
	put_endpoints_udp(other);
	for (double end = ev_time() + 10; !moved && ev_time() < end;) {
		udp_ask(keep, who, sizeof(who), &err);
		moved = strcmp(who, other) == 0;
	}
	ck_assert_msg(moved, "a client kept its source port and still reached %s, gone from the endpoints", who);

	put_endpoints_udp("");
	moved = 0;
	for (double end = ev_time() + 10; !moved && ev_time() < end;) {
		udp_ask(keep, who, sizeof(who), &err);
		moved = !who[0] && err == ECONNREFUSED;
	}
	ck_assert_msg(moved, "a UDP service without endpoints did not refuse (last: \"%s\", %s)", who, strerror(err));
	close(keep);
	for (int i = 0; i < 2; i++) {
		shutdown(ufd[i], SHUT_RDWR);
		pthread_join(th[i], NULL);
		close(ufd[i]);
	}
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("proxy");
	TCase *tc = tcase_create("core");

	tcase_add_unchecked_fixture(tc, bed_up, bed_down);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_userspace);
	tcase_add_test(tc, test_nftables);
	tcase_add_test(tc, test_stale_rules_replaced);
	tcase_add_test(tc, test_loop_answers_while_nft_runs);
	tcase_add_loop_test(tc, test_invalid_endpoints, 0, 2);
	tcase_add_test(tc, test_direct_connect_closed);
	tcase_add_test(tc, test_password_not_in_environ);
	tcase_add_loop_test(tc, test_not_ready_unused, 0, 2);
	tcase_add_loop_test(tc, test_headless_and_selectorless, 0, 2);
	tcase_add_loop_test(tc, test_session_affinity, 0, 2);
	tcase_add_loop_test(tc, test_udp, 0, 2);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(suite());
	int failed;

	if (geteuid() != 0)
		fprintf(stderr, "check_proxy: not root: the proxy tests need nftables and are skipped\n");
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
