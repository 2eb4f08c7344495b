/*
 * proxy_bench.c: skiff-proxy against a direct connection to the same
 * endpoint, in the same run. Needs root (nftables) and $ETCD_ENDPOINT (a
 * throwaway etcd from scripts/run-bench.sh). Prints, per mode:
 *
 *   proxy userspace: throughput ratio=… added p50=… µs p99=… µs
 *   proxy nftables: throughput ratio=… added p50=… µs p99=… µs
 *   proxy userspace idle 10000 conns: rss=… MB
 *
 * The endpoint is a forked server on 127.0.0.2 (a sink port and an echo
 * port). The service CIDR 10.0.0.0/24 is routed into a sink bridge while
 * the bench runs, so nothing the proxy misses leaves the machine.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ev.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "etcd_sync.h"

#define SINK_PORT 19001
#define ECHO_PORT 19002
#define IDLE 10000

static char BR[32];
/* Each mode has its own cluster IP, so that no connection of one mode can
 * meet a conntrack entry (and its NAT) left by the other. */
static char CIP[20];
static int ip_base;                 /* per run: conntrack remembers old runs */
static pid_t server_pid, proxy_pid;

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
cleanup(void)
{
	char cmd[128];

	if (proxy_pid > 0)
		kill(proxy_pid, SIGTERM), waitpid(proxy_pid, NULL, 0);
	if (server_pid > 0)
		kill(server_pid, SIGKILL), waitpid(server_pid, NULL, 0);
	snprintf(cmd, sizeof(cmd), "ip link del %s 2>/dev/null", BR);
	if (system(cmd) != 0) {
		/* already gone */
	}
}

/* ---- the endpoint: sink and echo, in a child process ---- */

static void
srv_read(struct ev_loop *loop, ev_io *w, int revents)
{
	char buf[65536];
	ssize_t n = read(w->fd, buf, sizeof(buf));

	(void)revents;
	if (n > 0 && w->data && write(w->fd, buf, (size_t)n) < 0)
		n = -1;
	if (n == 0 || (n < 0 && errno != EAGAIN)) {
		ev_io_stop(loop, w);
		close(w->fd);
		free(w);
	}
}

static void
srv_accept(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)revents;
	for (;;) {
		int fd = accept4(w->fd, NULL, NULL, SOCK_NONBLOCK);
		ev_io *c;

		if (fd < 0)
			return;
		c = malloc(sizeof(*c));
		ev_io_init(c, srv_read, fd, EV_READ);
		c->data = w->data;
		ev_io_start(loop, c);
	}
}

static int
listen_on(const char *ip, int port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), one = 1;

	inet_pton(AF_INET, ip, &sa.sin_addr);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 4096) < 0) {
		perror("bench: listen");
		exit(1);
	}
	return fd;
}

static void
run_server(void)
{
	struct ev_loop *loop = ev_default_loop(0);
	ev_io sink, echo;

	ev_io_init(&sink, srv_accept, listen_on("127.0.0.2", SINK_PORT), EV_READ);
	ev_io_init(&echo, srv_accept, listen_on("127.0.0.2", ECHO_PORT), EV_READ);
	sink.data = NULL;
	echo.data = &echo;
	ev_io_start(loop, &sink);
	ev_io_start(loop, &echo);
	ev_run(loop, 0);
	_exit(0);
}

/* ---- client side ---- */

static int
dial(const char *ip, int port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	inet_pton(AF_INET, ip, &sa.sin_addr);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Bytes per second pushed through one connection for secs. */
static double
throughput(const char *ip, int port, double secs)
{
	static char buf[1 << 16];
	int fd = dial(ip, port);
	double t0 = now(), total = 0;
	char c;

	if (fd < 0)
		return 0;
	while (now() - t0 < secs) {
		ssize_t n = write(fd, buf, sizeof(buf));

		if (n <= 0)
			break;
		total += (double)n;
	}
	shutdown(fd, SHUT_WR);
	while (read(fd, &c, 1) > 0)
		;               /* the sink closes after it read everything */
	total /= now() - t0;
	close(fd);
	return total;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* p50 and p99 of n short connections (connect, 1 byte each way, close). */
static int
latency(const char *ip, int port, int n, double *p50, double *p99)
{
	double *t = calloc((size_t)n, sizeof(*t));
	int ok = 0;

	for (int i = 0; i < n; i++) {
		double t0 = now();
		int fd = dial(ip, port);
		char c = 'x';

		if (fd < 0 || write(fd, &c, 1) != 1 || read(fd, &c, 1) != 1) {
			if (fd >= 0)
				close(fd);
			continue;
		}
		close(fd);
		t[ok++] = now() - t0;
	}
	qsort(t, (size_t)ok, sizeof(*t), cmp_double);
	*p50 = ok ? t[ok / 2] : 0;
	*p99 = ok ? t[(ok * 99) / 100] : 0;
	free(t);
	return ok;
}

static long
rss_kb(pid_t pid)
{
	char path[64], line[256];
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if (!(f = fopen(path, "r")))
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

static pid_t
start_proxy(const char *ep, const char *mode)
{
	pid_t pid = fork();

	if (pid == 0) {
		char a1[256], a2[64];
		int null = open("/dev/null", 1);

		snprintf(a1, sizeof(a1), "--etcd-endpoints=%s", ep);
		snprintf(a2, sizeof(a2), "--mode=%s", mode);
		dup2(null, 2);
		execl("build/bin/skiff-proxy", "skiff-proxy", a1, "--prefix=/bench", "--node-name=bench", a2,
		      "--log-level=warn", (char *)NULL);
		_exit(127);
	}
	return pid;
}

/* Wait until the proxy forwards (an echo through the cluster IP works). */
static int
wait_ready(void)
{
	double end = now() + 10;

	while (now() < end) {
		int fd = dial(CIP, 82);
		char c = 'x';

		if (fd >= 0 && write(fd, &c, 1) == 1 && read(fd, &c, 1) == 1) {
			close(fd);
			return 0;
		}
		if (fd >= 0)
			close(fd);
		usleep(20000);
	}
	return -1;
}

static void
idle_conns(void)
{
	static int fds[IDLE];
	int n = 0, want = IDLE;
	long kb0 = rss_kb(proxy_pid), kb;
	struct rlimit rl;

	/* The proxy holds two descriptors per connection. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_max != RLIM_INFINITY && (long)rl.rlim_max / 2 - 64 < want) {
		want = (int)(rl.rlim_max / 2) - 64;
		printf("proxy: the descriptor limit (%ld) allows %d idle connections, not %d\n", (long)rl.rlim_max, want,
		       IDLE);
	}
	for (; n < want; n++) {
		char c = 'x';

		if ((fds[n] = dial(CIP, 82)) < 0 || write(fds[n], &c, 1) != 1 || read(fds[n], &c, 1) != 1) {
			fprintf(stderr, "bench: idle connection %d failed: %s\n", n, strerror(errno));
			if (fds[n] >= 0)
				close(fds[n]);
			break;
		}
	}
	kb = rss_kb(proxy_pid);
	printf("proxy userspace idle %d conns: rss=%.1f MB (%.1f MB before)\n", n, (double)kb / 1024.0,
	       (double)kb0 / 1024.0);
	while (n > 0)
		close(fds[--n]);
}

static void
run_mode(const char *ep, const char *mode)
{
	double direct, proxied, d50, d99, p50, p99;

	snprintf(CIP, sizeof(CIP), "10.0.0.%d", ip_base + (strcmp(mode, "userspace") == 0 ? 0 : 1));
	proxy_pid = start_proxy(ep, mode);
	if (wait_ready() < 0) {
		fprintf(stderr, "bench: the proxy (%s) never forwarded\n", mode);
		exit(1);
	}
	direct = throughput("127.0.0.2", SINK_PORT, 2.0);
	proxied = throughput(CIP, 80, 2.0);
	latency("127.0.0.2", ECHO_PORT, 2000, &d50, &d99);
	latency(CIP, 81, 2000, &p50, &p99);
	printf("proxy %s: throughput ratio=%.2f (%.0f vs %.0f MB/s direct) added p50=%.0f µs p99=%.0f µs\n", mode,
	       proxied / direct, proxied / 1e6, direct / 1e6, (p50 - d50) * 1e6, (p99 - d99) * 1e6);
	if (strcmp(mode, "userspace") == 0)
		idle_conns();
	kill(proxy_pid, SIGTERM);
	waitpid(proxy_pid, NULL, 0);
	proxy_pid = 0;
}

int
main(void)
{
	const char *ep = getenv("ETCD_ENDPOINT");
	struct etcd_config cfg = {.endpoints = ep};
	struct etcd_error err = {0};
	struct rlimit rl;
	struct etcd_sync *s;
	struct etcd_result *r;
	char cmd[256], val[512];

	if (!ep || geteuid() != 0) {
		printf("proxy: skipped (needs root and $ETCD_ENDPOINT)\n");
		return 0;
	}
	if (system("ip route show | grep -q '^10\\.0\\.0\\.'") == 0) {
		printf("proxy: skipped (10.0.0.0/24 is routed on this machine)\n");
		return 0;
	}
	/* Room for 10,000 connections each side, as far as the limit goes. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	snprintf(BR, sizeof(BR), "skiff-blkb%d", (int)getpid() % 1000);
	snprintf(cmd, sizeof(cmd), "ip link add %s type bridge && ip link set %s up && ip route add 10.0.0.0/24 dev %s",
	         BR, BR, BR);
	atexit(cleanup);
	if (system(cmd) != 0)
		return 1;
	ip_base = 10 + (int)((getpid() + time(NULL)) % 120) * 2;
	if ((server_pid = fork()) == 0)
		run_server();
	if (!(s = etcd_sync_new(&cfg, &err)))
		return 1;
	for (int i = 0; i < 2; i++) {
		char key[64];

		snprintf(val, sizeof(val),
		         "{\"clusterIP\":\"10.0.0.%d\",\"ports\":[{\"name\":\"sink\",\"port\":80,\"targetPort\":%d,"
		         "\"protocol\":\"TCP\"},{\"name\":\"echo\",\"port\":81,\"targetPort\":%d,\"protocol\":\"TCP\"},"
		         "{\"name\":\"idle\",\"port\":82,\"targetPort\":%d,\"protocol\":\"TCP\"}],"
		         "\"addresses\":[{\"ip\":\"127.0.0.2\",\"node\":\"bench\",\"pod\":\"b\"}]}",
		         ip_base + i, SINK_PORT, ECHO_PORT, ECHO_PORT);
		snprintf(key, sizeof(key), "/bench/endpoints/b%d", i);
		r = etcd_sync_put(s, key, val, strlen(val), NULL);
		if (!r || r->err.code != ETCD_OK)
			return 1;
		etcd_result_free(r);
	}
	etcd_sync_free(s);
	run_mode(ep, "userspace");
	run_mode(ep, "nftables");
	return 0;
}
