/*
 * proxy_bench.c: skiff-proxy against a direct connection to the same
 * endpoint, in the same run. Needs root (nftables) and $ETCD_ENDPOINT (a
 * throwaway etcd from scripts/run-bench.sh). Prints, per mode:
 *
 *   proxy userspace: throughput ratio=… added p50=… µs p99=… µs
 *   proxy userspace idle: conns=… rss=… MB
 *   proxy nftables: throughput ratio=… added p50=… µs p99=… µs
 *
 * The endpoint is a forked server on EP_IP (a sink port and an echo
 * port), an address of the sink bridge: the proxy refuses loopback
 * endpoints, and a local address is reached over lo all the same. The service CIDR 10.0.0.0/24 is routed into a sink bridge while
 * the bench runs, so nothing the proxy misses leaves the machine; the
 * route carries loopback's MTU, so that a connection to a cluster IP
 * (which really travels over lo) gets the same MSS as the direct one
 * (with the bridge's 1500 it was 1448 bytes against 65483).
 *
 * Fairness: direct and proxied bulk transfers alternate (ABBA) over ROUNDS
 * rounds, each on a fresh connection with an unmeasured warm-up and the
 * same socket options; the ratio printed is the median of the rounds'
 * ratios, with their range. Latency samples are taken in alternating
 * batches. "proxy CPU" is the proxy process's user + system time per GB
 * it moved in the bulk runs (steadier than the ratio when other work
 * shares the CPUs; in nftables mode the kernel's work is charged to the
 * client and the sink); "all CPU" is the median CPU per GB of client,
 * sink and proxy together, proxied vs direct. -v prints each round on
 * stderr; PROXY_BENCH_MODE=userspace|nftables runs one mode.
 *
 * No dial reaches a cluster IP before the proxy's rules for it exist: a
 * SYN sent earlier leaves an un-NATed conntrack entry (SYN_SENT, 120 s)
 * that a later connection reusing the source port follows into the sink
 * bridge ("No route to host" in the idle run).
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <ev.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "etcd_sync.h"

#define EP_IP "10.254.0.2" /* on the sink bridge; 10.254.0.0/16 unrouted here */
#define SINK_PORT 19001
#define ECHO_PORT 19002
#define IDLE 10000
#define ROUNDS 7       /* bulk transfers, each way */
#define WARM 0.2       /* s of unmeasured transfer before each */
#define SECS 0.8       /* s measured per transfer */
#define LAT_CONNS 2000 /* short connections, each way */
#define LAT_BATCHES 10

static char BR[32];
/* Each mode has its own cluster IP, so that no connection of one mode can
 * meet a conntrack entry (and its NAT) left by the other. */
static char CIP[20];
static int ip_base; /* per run: conntrack remembers old runs */
static pid_t server_pid, proxy_pid;
static int verbose;
static char nofile_why[160]; /* why the proxy has too few descriptors */

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

	ev_io_init(&sink, srv_accept, listen_on(EP_IP, SINK_PORT), EV_READ);
	ev_io_init(&echo, srv_accept, listen_on(EP_IP, ECHO_PORT), EV_READ);
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

/* Bytes per second pushed through one connection: warm seconds unmeasured
 * (slow start, first faults), then secs measured, up to the sink having
 * read everything (it closes after EOF). *moved: all bytes sent. */
static double
throughput(const char *ip, int port, double warm, double secs, double *moved)
{
	static char buf[1 << 16];
	int fd = dial(ip, port);
	double t0 = now(), total = 0;
	char c;

	*moved = 0;
	if (fd < 0)
		return 0;
	while (now() - t0 < warm) {
		ssize_t n = write(fd, buf, sizeof(buf));

		if (n <= 0)
			break;
		*moved += (double)n;
	}
	t0 = now();
	while (now() - t0 < secs) {
		ssize_t n = write(fd, buf, sizeof(buf));

		if (n <= 0)
			break;
		total += (double)n;
	}
	shutdown(fd, SHUT_WR);
	while (read(fd, &c, 1) > 0)
		;
	*moved += total;
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

/* The median of v[0..n) (sorts v). */
static double
median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n ? (n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2) : 0;
}

/* Appends to t the times of n short connections (connect, 1 byte each
 * way, close); returns how many worked. */
static int
latency(const char *ip, int port, int n, double *t)
{
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

/* CPU seconds (user + system) pid has used so far. */
static double
cpu_s(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long ut = 0, st = 0;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (!(f = fopen(path, "r")))
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* After the command's ")": state is field 3, utime 14, stime 15. */
	if (!(p = strrchr(buf, ')')) ||
	    sscanf(p + 2, "%*c %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %lu %lu", &ut, &st) != 2)
		return 0;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
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

/* Wait until our table mentions the cluster IP, then until an echo
 * through it works. Nothing is sent to the cluster IP before the rules
 * exist (see the top of the file). */
static int
wait_ready(void)
{
	double end = now() + 10;
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "nft list table ip skiff_bench 2>/dev/null | grep -qF '%s '", CIP);
	while (system(cmd) != 0)
		if (now() > end)
			return -1;
		else
			usleep(20000);
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

static int
count_fds(pid_t pid)
{
	char path[64];
	struct dirent *e;
	DIR *d;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	if (!(d = opendir(path)))
		return -1;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

/* As many idle connections through the proxy as it has descriptors for
 * (two each), up to IDLE; the proxy's RSS before and after. */
static void
idle_conns(void)
{
	static int fds[IDLE];
	int n = 0, want = IDLE, base = count_fds(proxy_pid);
	long kb0 = rss_kb(proxy_pid), kb;
	struct rlimit rl;
	struct timeval tv = {5, 0};

	if (prlimit(proxy_pid, RLIMIT_NOFILE, NULL, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && base >= 0 &&
	    ((long)rl.rlim_cur - base) / 2 < want) {
		want = (int)(((long)rl.rlim_cur - base) / 2);
		printf("proxy: RLIMIT_NOFILE: %s; with %ld descriptors, %d in use before and two per "
		       "connection, the proxy can hold %d idle connections, not %d\n",
		       nofile_why[0] ? nofile_why : "too low", (long)rl.rlim_cur, base, want, IDLE);
	}
	for (; n < want; n++) {
		char c = 'x';

		if ((fds[n] = dial(CIP, 82)) >= 0)
			setsockopt(fds[n], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		if (fds[n] < 0 || write(fds[n], &c, 1) != 1 || read(fds[n], &c, 1) != 1) {
			fprintf(stderr, "bench: idle connection %d failed: %s\n", n, strerror(errno));
			if (fds[n] >= 0)
				close(fds[n]);
			break;
		}
	}
	kb = rss_kb(proxy_pid);
	printf("proxy userspace idle: conns=%d rss=%.1f MB (%.1f MB before, %.2f KB per connection; fds=%d)\n", n,
	       (double)kb / 1024.0, (double)kb0 / 1024.0, n ? (double)(kb - kb0) / n : 0.0, count_fds(proxy_pid));
	while (n > 0)
		close(fds[--n]);
}

/* CPU seconds each process used during one bulk transfer, and its bytes. */
struct cost {
	double client, sink, proxy, bytes;
};

static double
measure(const char *ip, int port, struct cost *c)
{
	double c0 = cpu_s(getpid()), s0 = cpu_s(server_pid), p0 = cpu_s(proxy_pid), bps;

	bps = throughput(ip, port, WARM, SECS, &c->bytes);
	c->client = cpu_s(getpid()) - c0;
	c->sink = cpu_s(server_pid) - s0;
	c->proxy = cpu_s(proxy_pid) - p0;
	if (c->bytes <= 0)
		c->bytes = 1;
	return bps;
}

/* ROUNDS rounds of direct and proxied bulk transfer, alternating which
 * goes first; LAT_BATCHES alternating batches of short connections. */
static void
run_mode(const char *ep, const char *mode)
{
	double ratio[ROUNDS], dir[ROUNDS], prx[ROUNDS], cdir[ROUNDS], cprx[ROUNDS];
	double *dl, *pl, lo, hi, cpu = 0, bytes = 0;
	int nd = 0, np = 0, per = LAT_CONNS / LAT_BATCHES;

	snprintf(CIP, sizeof(CIP), "10.0.0.%d", ip_base + (strcmp(mode, "userspace") == 0 ? 0 : 1));
	proxy_pid = start_proxy(ep, mode);
	if (wait_ready() < 0) {
		fprintf(stderr, "bench: the proxy (%s) never forwarded\n", mode);
		exit(1);
	}
	if (verbose)
		fprintf(stderr, "# %s: proxy pid %d, cluster IP %s\n", mode, (int)proxy_pid, CIP);
	for (int r = 0; r < ROUNDS; r++) {
		struct cost d, x;

		/* ABBA: direct first in even rounds, proxied first in odd ones. */
		for (int i = 0; i < 2; i++)
			if ((i + r) % 2 == 0)
				dir[r] = measure(EP_IP, SINK_PORT, &d);
			else
				prx[r] = measure(CIP, 80, &x);
		cpu += x.proxy;
		bytes += x.bytes;
		ratio[r] = dir[r] > 0 ? prx[r] / dir[r] : 0;
		cdir[r] = (d.client + d.sink) / (d.bytes / 1e9);
		cprx[r] = (x.client + x.sink + x.proxy) / (x.bytes / 1e9);
		if (verbose)
			fprintf(stderr,
			        "# %s round %d: direct %.0f MB/s proxied %.0f MB/s ratio %.3f; CPU s/GB direct: "
			        "client %.3f sink %.3f, proxied: client %.3f sink %.3f proxy %.3f\n",
			        mode, r, dir[r] / 1e6, prx[r] / 1e6, ratio[r], d.client / (d.bytes / 1e9),
			        d.sink / (d.bytes / 1e9), x.client / (x.bytes / 1e9), x.sink / (x.bytes / 1e9),
			        x.proxy / (x.bytes / 1e9));
	}
	dl = calloc(LAT_CONNS, sizeof(*dl));
	pl = calloc(LAT_CONNS, sizeof(*pl));
	for (int b = 0; b < LAT_BATCHES; b++) {
		if (b % 2 == 0) {
			nd += latency(EP_IP, ECHO_PORT, per, dl + nd);
			np += latency(CIP, 81, per, pl + np);
		} else {
			np += latency(CIP, 81, per, pl + np);
			nd += latency(EP_IP, ECHO_PORT, per, dl + nd);
		}
	}
	qsort(dl, (size_t)nd, sizeof(*dl), cmp_double);
	qsort(pl, (size_t)np, sizeof(*pl), cmp_double);
	lo = hi = ratio[0];
	for (int r = 1; r < ROUNDS; r++)
		lo = ratio[r] < lo ? ratio[r] : lo, hi = ratio[r] > hi ? ratio[r] : hi;
	printf("proxy %s: throughput ratio=%.2f (%.2f–%.2f over %d rounds; %.0f vs %.0f MB/s direct; proxy CPU %.2f s/GB; "
	       "all CPU %.2f vs %.2f s/GB direct) added p50=%.0f µs p99=%.0f µs\n",
	       mode, median(ratio, ROUNDS), lo, hi, ROUNDS, median(prx, ROUNDS) / 1e6, median(dir, ROUNDS) / 1e6,
	       bytes > 0 ? cpu / (bytes / 1e9) : 0, median(cprx, ROUNDS), median(cdir, ROUNDS),
	       nd && np ? (pl[np / 2] - dl[nd / 2]) * 1e6 : 0,
	       nd && np ? (pl[np * 99 / 100] - dl[nd * 99 / 100]) * 1e6 : 0);
	if (nd < LAT_CONNS || np < LAT_CONNS)
		fprintf(stderr, "bench: %d direct and %d proxied short connections of %d failed\n", LAT_CONNS - nd,
		        LAT_CONNS - np, LAT_CONNS);
	free(dl);
	free(pl);
	if (strcmp(mode, "userspace") == 0)
		idle_conns();
	kill(proxy_pid, SIGTERM);
	waitpid(proxy_pid, NULL, 0);
	proxy_pid = 0;
}

int
main(int argc, char **argv)
{
	const char *ep = getenv("ETCD_ENDPOINT"), *only = getenv("PROXY_BENCH_MODE");
	struct etcd_config cfg = {.endpoints = ep};
	struct etcd_error err = {0};
	struct rlimit rl;
	struct etcd_sync *s;
	struct etcd_result *r;
	char cmd[256], val[512];

	verbose = argc > 1 && strcmp(argv[1], "-v") == 0;
	if (!ep || geteuid() != 0) {
		printf("proxy: skipped (needs root and $ETCD_ENDPOINT)\n");
		return 0;
	}
	if (system("ip route show | grep -q '^10\\.0\\.0\\.'") == 0) {
		printf("proxy: skipped (10.0.0.0/24 is routed on this machine)\n");
		return 0;
	}
	/* Room for IDLE connections each side: the proxy (which inherits our
	 * limits) holds two descriptors per connection. Raising the hard limit
	 * needs CAP_SYS_RESOURCE; without it, as far as the limit goes. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		struct rlimit want = {(rlim_t)IDLE * 2 + 256, (rlim_t)IDLE * 2 + 256};

		if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < want.rlim_max && setrlimit(RLIMIT_NOFILE, &want) < 0)
			snprintf(nofile_why, sizeof(nofile_why), "the hard limit %ld cannot be raised to %ld: %s",
			         (long)rl.rlim_max, (long)want.rlim_max, strerror(errno));
		getrlimit(RLIMIT_NOFILE, &rl);
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	snprintf(BR, sizeof(BR), "skiff-blkb%d", (int)getpid() % 1000);
	/* loopback's MTU: see the top of the file. */
	snprintf(cmd, sizeof(cmd),
	         "ip link add %s type bridge && ip link set %s up && ip addr add " EP_IP "/32 dev %s && "
	         "ip route add 10.0.0.0/24 dev %s mtu $(cat /sys/class/net/lo/mtu)",
	         BR, BR, BR, BR);
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
		         "\"addresses\":[{\"ip\":\"" EP_IP "\",\"node\":\"bench\",\"pod\":\"b\"}]}",
		         ip_base + i, SINK_PORT, ECHO_PORT, ECHO_PORT);
		snprintf(key, sizeof(key), "/bench/endpoints/b%d", i);
		r = etcd_sync_put(s, key, val, strlen(val), NULL);
		if (!r || r->err.code != ETCD_OK)
			return 1;
		etcd_result_free(r);
	}
	etcd_sync_free(s);
	if (!only || strcmp(only, "nftables") != 0)
		run_mode(ep, "userspace");
	if (!only || strcmp(only, "userspace") != 0)
		run_mode(ep, "nftables");
	return 0;
}
