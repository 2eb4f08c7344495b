/*
 * network_bench.c: the pod network between two minions of tests/cluster
 * (root), for the host-gw and the vxlan backend in one run, each next to
 * the same transfer between the two minions' own addresses: TCP throughput
 * (one connection for DUR seconds) and connection latency (p50 of 200
 * connects). Both sides of a comparison use the same code, duration, one
 * stream, the same CPUs (client on CPU 0, server on the last CPU) and the
 * same bed link (skiff-cbr0); ROUNDS rounds in ABBA order (pods first in
 * even rounds, nodes first in odd ones) after an unmeasured warm-up of
 * each; the ratio is the median of the rounds' ratios, with their range.
 * Prints
 *   network host-gw: ratio=… vxlan: ratio=… (vs node to node) added p50=… µs
 *   network rounds: host-gw ratio LO-HI vxlan ratio LO-HI over N rounds …
 *   network cpu: host-gw ratio=… (LO-HI) vxlan ratio=… (LO-HI) …
 * (ratio: pod-to-pod throughput over node-to-node; added p50: what the
 * vxlan path adds to a connect, pod to pod minus node to node; cpu ratio:
 * node-to-node CPU per byte over pod-to-pod, the throughput ratio the
 * paths would have if the CPU were theirs alone). Targets: host-gw >=
 * 0.95, vxlan >= 0.8. The machine's load average is printed with the
 * numbers: on a shared machine it moves the throughput, less the CPU.
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

#include "bench_stats.h"
#include "e2e_bed.h"
#include "th_netns.h"

#define DUR 2.0 /* seconds of one transfer */
#define CONNS 200
#define PORT 5201
#define ROUNDS 6

struct result {
	double mbps;  /* MB/s */
	double p50us; /* connect p50, µs */
	double cpu;   /* CPU of client and server per MB moved, µs */
};

/* Both measurements of a round, and the round's ratio. */
struct side {
	double pm[ROUNDS], pl[ROUNDS], nm[ROUNDS], nl[ROUNDS], ratio[ROUNDS];
	double pc[ROUNDS], nc[ROUNDS], cratio[ROUNDS];
	struct result pods, nodes;
	double lo, hi, ratio_med, clo, chi, cratio_med;
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

/* This process on CPU 0, or with last on the last CPU: the same placement
 * for every transfer, so that pods and nodes compete for the same CPUs. */
static void
pin(int last)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(last && n > 1 ? (int)n - 1 : 0, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

/* CPU seconds this process has run, softirq work done in its context
 * included (without IRQ time accounting, the kernel's default here): with
 * veth links a packet's whole path is such work, so the CPU per byte of
 * client and server is the cost of the path, which the machine's load
 * does not change as it changes the throughput. */
static double
cpu_now(void)
{
	unsigned long long ns = 0;
	FILE *f = fopen("/proc/thread-self/schedstat", "r");

	if (f) {
		if (fscanf(f, "%llu", &ns) != 1)
			ns = 0;
		fclose(f);
	}
	return (double)ns / 1e9;
}

/* Server in ns srv: one transfer, then CONNS connections; writes the
 * transfer's bytes per second, bytes and CPU seconds to fd. */
static void
server(const char *srv, int fd)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(PORT)};
	static char buf[1 << 16];
	int l, c, one = 1;
	size_t got = 0;
	ssize_t n;
	double t0 = 0, out[3], c0 = 0;

	pin(1);
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
			t0 = bed_now(), c0 = cpu_now();
		got += (size_t)n;
	}
	out[0] = (double)got / (bed_now() - t0);
	out[1] = (double)got;
	out[2] = cpu_now() - c0;
	close(c);
	(void)!write(fd, out, sizeof(out));
	for (int i = 0; i < CONNS; i++)
		close(accept(l, NULL, NULL));
	_exit(got > 0 ? 0 : 1);
}

/* Client in ns cli to ip: the transfer (DUR seconds), then CONNS
 * connects; the connects' p50 and the transfer's CPU seconds to fd. */
static void
client(const char *cli, const char *ip, int fd)
{
	struct sockaddr_in d = {.sin_family = AF_INET, .sin_port = htons(PORT)};
	static char buf[1 << 16];
	double lat[CONNS], end, out[2];
	int s;

	pin(0);
	inet_pton(AF_INET, ip, &d.sin_addr);
	if (enter_path(cli) < 0 || (s = socket(AF_INET, SOCK_STREAM, 0)) < 0 ||
	    connect(s, (struct sockaddr *)&d, sizeof(d)) < 0)
		_exit(1);
	memset(buf, 'n', sizeof(buf));
	out[1] = cpu_now();
	for (end = bed_now() + DUR; bed_now() < end;)
		if (write(s, buf, sizeof(buf)) <= 0)
			_exit(1);
	close(s);
	out[1] = cpu_now() - out[1];
	for (int i = 0; i < CONNS; i++) {
		double t = bed_now();

		if ((s = socket(AF_INET, SOCK_STREAM, 0)) < 0 || connect(s, (struct sockaddr *)&d, sizeof(d)) < 0)
			_exit(1);
		lat[i] = (bed_now() - t) * 1e6;
		close(s);
	}
	bench_sort(lat, CONNS);
	out[0] = lat[CONNS / 2];
	(void)!write(fd, out, sizeof(out));
	_exit(0);
}

/* One measurement: server in srv, client in cli connecting to ip. */
static int
measure(const char *srv, const char *cli, const char *ip, struct result *r)
{
	int ps[2], pc[2], st1, st2;
	double so[3], co[2];
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
	if (read(ps[0], so, sizeof(so)) != sizeof(so) || read(pc[0], co, sizeof(co)) != sizeof(co))
		return -1;
	waitpid(a, &st1, 0);
	waitpid(b, &st2, 0);
	close(ps[0]), close(ps[1]), close(pc[0]), close(pc[1]);
	r->mbps = so[0] / 1e6;
	r->p50us = co[0];
	r->cpu = (so[2] + co[1]) * 1e6 / (so[1] / 1e6);
	return WIFEXITED(st1) && !WEXITSTATUS(st1) && WIFEXITED(st2) && !WEXITSTATUS(st2) ? 0 : -1;
}

/* Round k's two measurements in ABBA order (pods first in even rounds):
 * the machine is shared, and its load drifts; alternating the order
 * spreads the drift over both sides. */
static int
round_ab(struct side *s, int k, const char *p1, const char *p2, const char *pip, const char *nip)
{
	struct result r;

	for (int i = 0; i < 2; i++) {
		int pods = (i + k) % 2 == 0;

		if (pods ? measure(p2, p1, pip, &r) : measure("/run/netns/skiff-m2", "/run/netns/skiff-m1", nip, &r))
			return -1;
		if (pods)
			s->pm[k] = r.mbps, s->pl[k] = r.p50us, s->pc[k] = r.cpu;
		else
			s->nm[k] = r.mbps, s->nl[k] = r.p50us, s->nc[k] = r.cpu;
	}
	s->ratio[k] = s->pm[k] / s->nm[k];
	s->cratio[k] = s->nc[k] / s->pc[k];
	return 0;
}

/* ROUNDS rounds of pods to pods (p1 to p2's 10.244.n2.200) and node to
 * node, after an unmeasured warm-up of each; medians and the ratio's range. */
static int
rounds(const char *p1, const char *p2, unsigned n2, struct side *s)
{
	char pip[32], nip[32];
	struct result w;

	snprintf(pip, sizeof(pip), "10.244.%u.200", n2);
	bed_minion_ip(2, nip, sizeof(nip));
	if (measure(p2, p1, pip, &w) < 0 || measure("/run/netns/skiff-m2", "/run/netns/skiff-m1", nip, &w) < 0)
		return -1;
	for (int k = 0; k < ROUNDS; k++)
		if (round_ab(s, k, p1, p2, pip, nip) < 0)
			return -1;
	bench_range(s->ratio, ROUNDS, &s->lo, &s->hi);
	bench_range(s->cratio, ROUNDS, &s->clo, &s->chi);
	s->ratio_med = bench_median(s->ratio, ROUNDS);
	s->cratio_med = bench_median(s->cratio, ROUNDS);
	s->pods =
		(struct result){bench_median(s->pm, ROUNDS), bench_median(s->pl, ROUNDS), bench_median(s->pc, ROUNDS)};
	s->nodes =
		(struct result){bench_median(s->nm, ROUNDS), bench_median(s->nl, ROUNDS), bench_median(s->nc, ROUNDS)};
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

/* A pod namespace on minion i's skiff0 with 10.244.N.200: its pid. Its
 * MTU is the one Docker gives a pod's eth0: the network's MTU option (the
 * vxlan device's), else the bridge's. (The bridge itself keeps 1500 until
 * a port with a smaller MTU joins it: with vxlan, a pod of the bridge's
 * MTU would send what the device cannot carry.) */
static pid_t
pod(int i, unsigned n)
{
	pid_t p = th_netns_child();
	char ns[64];

	snprintf(ns, sizeof(ns), "nsenter --net=/run/netns/skiff-m%d", i);
	if (p < 0 ||
	    th_sh("m=$(curl -sf -m 10 --unix-socket %s http://d/networks/skiff0 | "
	          "sed -n 's/.*\"com.docker.network.driver.mtu\":\"\\([0-9]*\\)\".*/\\1/p'); "
	          "[ -n \"$m\" ] || m=$(%s ip -o link show skiff0 | sed -n 's/.* mtu \\([0-9]*\\).*/\\1/p'); "
	          "echo $m > /tmp/skiff-nb-mtu",
	          bed_docker(i), ns) != 0 ||
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
run(const char *args, struct side *s)
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
		char who[64];

		/* what ran before (the cluster bench, the bed's start) is over */
		snprintf(who, sizeof(who), "network %s", *args ? args : "host-gw");
		bench_settle(0.85, 30, who);
		snprintf(p1, sizeof(p1), "/proc/%d/ns/net", (int)a);
		snprintf(p2, sizeof(p2), "/proc/%d/ns/net", (int)b);
		rc = rounds(p1, p2, n2, s);
	}
	if (a > 0)
		kill(a, SIGKILL);
	if (b > 0)
		kill(b, SIGKILL);
	bed_down(rc < 0);
	return rc;
}

/* The 1-minute load average, as uptime prints it. */
static double
load1(void)
{
	double l = -1;
	FILE *f = fopen("/proc/loadavg", "r");

	if (f) {
		if (fscanf(f, "%lf", &l) != 1)
			l = -1;
		fclose(f);
	}
	return l;
}

int
main(void)
{
	static struct side h, v;
	double l0 = load1();

	if (geteuid() != 0) {
		printf("network: skipped (not root: needs network namespaces and a dockerd per minion)\n");
		return 0;
	}
	if (run("", &h) < 0 || run("--backend vxlan", &v) < 0) {
		fprintf(stderr, "network: a measurement failed\n");
		return 1;
	}
	fprintf(stderr,
	        "network: host-gw pods %.0f MB/s p50 %.0f µs, nodes %.0f MB/s p50 %.0f µs; vxlan pods %.0f MB/s p50 %.0f "
	        "µs, nodes %.0f MB/s p50 %.0f µs\n",
	        h.pods.mbps, h.pods.p50us, h.nodes.mbps, h.nodes.p50us, v.pods.mbps, v.pods.p50us, v.nodes.mbps,
	        v.nodes.p50us);
	printf("network host-gw: ratio=%.2f vxlan: ratio=%.2f (vs node to node) added p50=%.0f µs\n", h.ratio_med,
	       v.ratio_med, v.pods.p50us - v.nodes.p50us);
	printf("network rounds: host-gw ratio %.2f-%.2f vxlan ratio %.2f-%.2f over %d rounds (ABBA, %.0f s, 1 stream, "
	       "same CPUs; load %.2f before, %.2f after)\n",
	       h.lo, h.hi, v.lo, v.hi, ROUNDS, DUR, l0, load1());
	printf("network cpu: host-gw ratio=%.2f (%.2f-%.2f) vxlan ratio=%.2f (%.2f-%.2f) (node-to-node CPU per byte over "
	       "pod-to-pod; pods %.0f/%.0f µs per MB, nodes %.0f/%.0f)\n",
	       h.cratio_med, h.clo, h.chi, v.cratio_med, v.clo, v.chi, h.pods.cpu, v.pods.cpu, h.nodes.cpu,
	       v.nodes.cpu);
	return 0;
}
