/*
 * network_bench.c: the pod network between two minions of tests/cluster
 * (root), for the host-gw and the vxlan backend in one run, each next to
 * the same transfer between the two minions' own addresses: TCP throughput
 * (one connection, 256 MiB) and connection latency (p50 of 200 connects),
 * the median of 5 interleaved rounds each.
 * Prints
 *   network host-gw: ratio=… vxlan: ratio=… (vs node to node) added p50=… µs
 * (ratio: pod-to-pod throughput over node-to-node; added p50: what the
 * vxlan path adds to a connect, pod to pod minus node to node). Targets:
 * host-gw >= 0.95, vxlan >= 0.8.
 *
 * A "pod" here is a network namespace on the minion's Docker bridge skiff0
 * with an address of the minion's subnet (as the agent's pods have, same
 * bridge, routes, firewall and MTU), not a container: the bench measures
 * the network, not Docker. Each bed is made and removed by the bench.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "e2e_bed.h"
#include "th_netns.h"

#define XFER ((size_t)256 << 20)
#define CONNS 200
#define PORT 5201
#define ROUNDS 5

struct result {
	double mbps;  /* MB/s */
	double p50us; /* connect p50, µs */
};

static int
enter_path(const char *path)
{
	int fd = open(path, O_RDONLY);

	if (fd < 0 || setns(fd, CLONE_NEWNET) < 0)
		return -1;
	close(fd);
	return 0;
}

static int
cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Server in ns srv: one transfer, then CONNS connections; writes the
 * transfer's seconds to fd. */
static void
server(const char *srv, int fd)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(PORT)};
	static char buf[1 << 16];
	int l, c, one = 1;
	size_t got = 0;
	ssize_t n;
	double t0 = 0;

	if (enter_path(srv) < 0 || (l = socket(AF_INET, SOCK_STREAM, 0)) < 0)
		_exit(1);
	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(l, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(l, 256) < 0)
		_exit(1);
	(void)!write(fd, "r", 1);
	if ((c = accept(l, NULL, NULL)) < 0)
		_exit(1);
	while ((n = read(c, buf, sizeof(buf))) > 0) {
		if (!got)
			t0 = bed_now();
		got += (size_t)n;
	}
	t0 = bed_now() - t0;
	close(c);
	(void)!write(fd, &t0, sizeof(t0));
	for (int i = 0; i < CONNS; i++)
		close(accept(l, NULL, NULL));
	_exit(got == XFER ? 0 : 1);
}

/* Client in ns cli to ip: the transfer, then CONNS connects, their p50 to fd. */
static void
client(const char *cli, const char *ip, int fd)
{
	struct sockaddr_in d = {.sin_family = AF_INET, .sin_port = htons(PORT)};
	static char buf[1 << 16];
	double lat[CONNS];
	size_t sent = 0;
	int s;

	inet_pton(AF_INET, ip, &d.sin_addr);
	if (enter_path(cli) < 0 || (s = socket(AF_INET, SOCK_STREAM, 0)) < 0 ||
	    connect(s, (struct sockaddr *)&d, sizeof(d)) < 0)
		_exit(1);
	memset(buf, 'n', sizeof(buf));
	while (sent < XFER) {
		ssize_t n = write(s, buf, sizeof(buf) < XFER - sent ? sizeof(buf) : XFER - sent);

		if (n <= 0)
			_exit(1);
		sent += (size_t)n;
	}
	close(s);
	for (int i = 0; i < CONNS; i++) {
		double t = bed_now();

		if ((s = socket(AF_INET, SOCK_STREAM, 0)) < 0 || connect(s, (struct sockaddr *)&d, sizeof(d)) < 0)
			_exit(1);
		lat[i] = (bed_now() - t) * 1e6;
		close(s);
	}
	qsort(lat, CONNS, sizeof(lat[0]), cmp_d);
	(void)!write(fd, &lat[CONNS / 2], sizeof(double));
	_exit(0);
}

/* One measurement: server in srv, client in cli connecting to ip. */
static int
measure(const char *srv, const char *cli, const char *ip, struct result *r)
{
	int ps[2], pc[2], st1, st2;
	double secs = 0;
	char c;
	pid_t a, b;

	if (pipe(ps) < 0 || pipe(pc) < 0)
		return -1;
	if ((a = fork()) == 0)
		server(srv, ps[1]);
	if (read(ps[0], &c, 1) != 1)
		return -1;
	if ((b = fork()) == 0)
		client(cli, ip, pc[1]);
	if (read(ps[0], &secs, sizeof(secs)) != sizeof(secs) ||
	    read(pc[0], &r->p50us, sizeof(double)) != sizeof(double))
		return -1;
	waitpid(a, &st1, 0);
	waitpid(b, &st2, 0);
	close(ps[0]), close(ps[1]), close(pc[0]), close(pc[1]);
	r->mbps = (double)XFER / 1e6 / secs;
	return WIFEXITED(st1) && !WEXITSTATUS(st1) && WIFEXITED(st2) && !WEXITSTATUS(st2) ? 0 : -1;
}

static double
median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_d);
	return v[n / 2];
}

/* ROUNDS pairs of measurements, pod to pod then node to node (the machine
 * is shared: interleaving spreads the noise over both), medians. */
static int
rounds(const char *p1, const char *p2, unsigned n2, struct result *pods, struct result *nodes)
{
	double pm[ROUNDS], pl[ROUNDS], nm[ROUNDS], nl[ROUNDS];
	char pip[32], nip[32];
	struct result r;

	snprintf(pip, sizeof(pip), "10.244.%u.200", n2);
	bed_minion_ip(2, nip, sizeof(nip));
	for (int k = 0; k < ROUNDS; k++) {
		if (measure(p2, p1, pip, &r) < 0)
			return -1;
		pm[k] = r.mbps, pl[k] = r.p50us;
		if (measure("/run/netns/skiff-m2", "/run/netns/skiff-m1", nip, &r) < 0)
			return -1;
		nm[k] = r.mbps, nl[k] = r.p50us;
	}
	*pods = (struct result){median(pm, ROUNDS), median(pl, ROUNDS)};
	*nodes = (struct result){median(nm, ROUNDS), median(nl, ROUNDS)};
	return 0;
}

/* "10.244.N.0/24" of minion i, when the node controller allocated it. */
static int
subnet_of(int i, unsigned *n)
{
	char rest[64];
	json_t *sn;
	int ok;

	snprintf(rest, sizeof(rest), "network/subnets/m%d", i);
	if (!(sn = bed_get(rest, NULL)))
		return 0;
	ok = sscanf(json_string_value(json_object_get(sn, "subnet")) ?: "", "10.244.%u.0/24", n) == 1;
	json_decref(sn);
	return ok;
}

/* A pod namespace on minion i's skiff0 with 10.244.N.200: its pid. */
static pid_t
pod(int i, unsigned n)
{
	pid_t p = th_netns_child();
	char ns[64];

	snprintf(ns, sizeof(ns), "nsenter --net=/run/netns/skiff-m%d", i);
	if (p < 0 ||
	    th_sh("%s ip -o link show skiff0 | sed -n 's/.* mtu \\([0-9]*\\).*/\\1/p' > /tmp/skiff-nb-mtu", ns) != 0 ||
	    th_sh("%s ip link add pv%d type veth peer name eth0 netns %d && "
	          "%s ip link set pv%d mtu $(cat /tmp/skiff-nb-mtu) master skiff0 up",
	          ns, i, (int)p, ns, i) != 0 ||
	    th_sh("nsenter -t %d -n sh -c 'ip link set lo up && ip link set eth0 mtu $(cat /tmp/skiff-nb-mtu) up && "
	          "ip addr add 10.244.%u.200/24 dev eth0 && ip route add default via 10.244.%u.1'",
	          (int)p, n, n) != 0) {
		fprintf(stderr, "network: cannot make a pod on m%d: %s\n", i, th_sh_last());
		return -1;
	}
	return p;
}

/* One backend: pod to pod and node to node on a fresh two-minion bed. */
static int
run(const char *args, struct result *pods, struct result *nodes)
{
	unsigned n1 = 0, n2 = 0;
	char p1[64], p2[64];
	double end = bed_now() + 60;
	int rc = -1;

	if (bed_up(2, args) < 0)
		return -1;
	while ((!subnet_of(1, &n1) || !subnet_of(2, &n2) ||
	        th_sh("nsenter --net=/run/netns/skiff-m1 ip route show proto 95 | grep -q . && "
	              "nsenter --net=/run/netns/skiff-m2 ip route show proto 95 | grep -q . && "
	              "nsenter --net=/run/netns/skiff-m1 ip link show skiff0 >/dev/null 2>&1 && "
	              "nsenter --net=/run/netns/skiff-m2 ip link show skiff0 >/dev/null 2>&1") != 0) &&
	       bed_now() < end)
		usleep(200 * 1000);
	pid_t a = pod(1, n1), b = a > 0 ? pod(2, n2) : -1;

	if (b > 0) {
		snprintf(p1, sizeof(p1), "/proc/%d/ns/net", (int)a);
		snprintf(p2, sizeof(p2), "/proc/%d/ns/net", (int)b);
		rc = rounds(p1, p2, n2, pods, nodes);
	}
	if (a > 0)
		kill(a, SIGKILL);
	if (b > 0)
		kill(b, SIGKILL);
	bed_down(rc < 0);
	return rc;
}

int
main(void)
{
	struct result hp, hn, vp, vn;

	if (geteuid() != 0) {
		printf("network: skipped (not root: needs network namespaces and a dockerd per minion)\n");
		return 0;
	}
	if (run("", &hp, &hn) < 0 || run("--backend vxlan", &vp, &vn) < 0) {
		fprintf(stderr, "network: a measurement failed\n");
		return 1;
	}
	fprintf(stderr,
	        "network: host-gw pods %.0f MB/s p50 %.0f µs, nodes %.0f MB/s p50 %.0f µs; vxlan pods %.0f MB/s p50 %.0f "
	        "µs, nodes %.0f MB/s p50 %.0f µs\n",
	        hp.mbps, hp.p50us, hn.mbps, hn.p50us, vp.mbps, vp.p50us, vn.mbps, vn.p50us);
	printf("network host-gw: ratio=%.2f vxlan: ratio=%.2f (vs node to node) added p50=%.0f µs\n", hp.mbps / hn.mbps,
	       vp.mbps / vn.mbps, vp.p50us - vn.p50us);
	return 0;
}
