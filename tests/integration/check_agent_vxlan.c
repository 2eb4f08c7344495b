/*
 * check_agent_vxlan.c: the agent's vxlan backend on the kernel
 * (node-agent/agent_vxlan_nl.c with the pure agent_vxlan_calc.c and
 * agent_rtnl.c's routes), in throwaway network namespaces: two "nodes"
 * joined by a veth pair (their underlay), each with a "pod" namespace
 * behind a veth on the pod subnet, as Docker's bridge would give. Each
 * namespace belongs to a child process killed with the test, so nothing
 * outlives a failure. What it shows:
 *   - the device (skiff.VNI, nolearning, local address, port, MTU link-50,
 *     SUBNET.0/32) is made once, and found again unchanged; one of another
 *     VNI is replaced, an address of an older subnet removed;
 *   - with each node's three entries for the other, a pod pings the other
 *     node's pod and a TCP transfer between them arrives whole;
 *   - a second sync (an agent restarted) adds and deletes nothing, and
 *     each entry is there once;
 *   - a stale entry (from before a restart) goes;
 *   - the other node removed: its route, neighbour and forwarding entries
 *     are all gone.
 * It does not run the agent or etcd (check_cluster does, with the bed's
 * --backend vxlan).
 */
#include <arpa/inet.h>
#include <check.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "node-agent/agent_rtnl.h"
#include "node-agent/agent_vxlan_nl.h"
#include "th_netns.h"

#define VNI 7
#define PORT 4789
#define XFER (4 << 20)

/* What the children in the namespaces report back. */
struct shared {
	unsigned char mac[2][6];
	int ifindex[2];
	int made;
	struct vxnl_result r;
	size_t routes_set, routes_deleted;
	size_t n_routes, n_neigh, n_fdb;
	long received;
	char why[256];
};

static struct shared *S;
static pid_t node[2], pod[2];
static const char *const node_ip[2] = {"192.0.2.1", "192.0.2.2"};
static const char *const subnet[2] = {"10.219.1.0/24", "10.219.2.0/24"};

#define sh(...) ck_assert_msg(th_sh(__VA_ARGS__) == 0, "failed: %s", th_sh_last())

/* fn(i) in pid's namespace, in a child; fails the test with S->why when
 * it returns non-zero. */
static void
in_ns(pid_t pid, int (*fn)(int), int i)
{
	pid_t c = fork();
	int st;

	if (c == 0) {
		th_netns_enter(pid);
		_exit(fn(i));
	}
	ck_assert_int_eq(waitpid(c, &st, 0), c);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "in namespace %d: status %d: %s", (int)pid, st, S->why);
}

static uint32_t
ip4(const char *s)
{
	struct in_addr a;

	inet_pton(AF_INET, s, &a);
	return ntohl(a.s_addr);
}

/* Node i's subnet address (SUBNET.0). */
static uint32_t
sn_addr(int i)
{
	struct api_cidr c;

	api_cidr_parse(subnet[i], &c, NULL);
	return c.addr;
}

/* --------------------------------------------------- in a node namespace */

/* The device as the agent makes it. */
static int
node_up(int i)
{
	struct vx_link want = {.vni = VNI, .port = PORT}, found;
	struct api_cidr *nets;
	size_t nn;
	int mtu;

	vxcalc_name(VNI, want.name, sizeof(want.name));
	want.local = ip4(node_ip[i]);
	if (vxnl_host_link(want.local, &want.link, &mtu, &nets, &nn, S->why, sizeof(S->why)) != 0)
		return 1;
	free(nets);
	want.mtu = vxcalc_mtu(mtu);
	if (vxnl_ensure(&want, sn_addr(i), &found, &S->made, S->why, sizeof(S->why)) < 0)
		return 1;
	memcpy(S->mac[i], found.mac, 6);
	S->ifindex[i] = found.ifindex;
	if (found.mtu != mtu - 50)
		return snprintf(S->why, sizeof(S->why), "MTU %d, link %d", found.mtu, mtu), 1;
	return 0;
}

/* The routes of proto 95 made exactly want (as agent_routes.c does). */
static int
routes_sync(const struct netcalc_route *want, size_t nw)
{
	struct netcalc_route *have, add[4], del[8];
	size_t nh, nadd, ndel;

	if (rtnl_list(SKIFF_RTPROT, &have, &nh, S->why, sizeof(S->why)) < 0 || nh > 8)
		return 1;
	netcalc_route_diff(want, nw, have, nh, add, &nadd, del, &ndel);
	free(have);
	for (size_t k = 0; k < nadd; k++)
		if (rtnl_replace(&add[k], SKIFF_RTPROT, S->why, sizeof(S->why)) < 0)
			return 1;
	for (size_t k = 0; k < ndel; k++)
		if (rtnl_delete(&del[k], SKIFF_RTPROT, S->why, sizeof(S->why)) < 0)
			return 1;
	S->routes_set = nadd;
	S->routes_deleted = ndel;
	return 0;
}

/* Node i's entries for the other node (i + 2: for nobody), as the agent
 * computes them from the other's subnet entry. */
static int
node_sync(int i)
{
	int me = i % 2, other = 1 - me, with = i < 2;
	char mac[18];
	struct api_network_config nc;
	struct api_subnet s = {(char *)subnet[other], (char *)node_ip[other], (char *)node_ip[other], mac};
	struct api_cidr own;
	struct vx_peer p;
	struct netcalc_route r[1];
	struct vx_neigh ne[1];
	struct vx_fdb f[1];
	size_t nr = 0, nn = 0, nf = 0;

	api_network_config_default(&nc);
	api_cidr_parse("10.219.0.0/16", &nc.pod_cidr, NULL);
	api_cidr_parse(subnet[me], &own, NULL);
	snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", S->mac[other][0], S->mac[other][1],
	         S->mac[other][2], S->mac[other][3], S->mac[other][4], S->mac[other][5]);
	if (with && vxcalc_peer(&nc, &s, ip4(node_ip[me]), &own, NULL, 0, 0, &p, S->why, sizeof(S->why)) != 0)
		return 1;
	vxcalc_want(&p, with, S->ifindex[me], r, &nr, ne, &nn, f, &nf);
	if (vxnl_sync(S->ifindex[me], ne, nn, f, nf, &S->r) < 0 || S->r.failed)
		return snprintf(S->why, sizeof(S->why), "%s", S->r.why), 1;
	return routes_sync(r, nr);
}

/* How many entries node i has: routes of proto 95, neighbours, forwarding. */
static int
node_count(int i)
{
	struct netcalc_route *rt;
	struct vx_neigh *ne;
	struct vx_fdb *f;

	if (rtnl_list(SKIFF_RTPROT, &rt, &S->n_routes, S->why, sizeof(S->why)) < 0 ||
	    vxnl_entries(S->ifindex[i], &ne, &S->n_neigh, &f, &S->n_fdb, S->why, sizeof(S->why)) < 0)
		return 1;
	free(rt);
	free(ne);
	free(f);
	return 0;
}

/* ---------------------------------------------------- in a pod namespace */

static uint16_t
csum(const void *p, size_t n)
{
	const uint16_t *w = p;
	uint32_t s = 0;

	for (; n > 1; n -= 2)
		s += *w++;
	s = (s >> 16) + (s & 0xffff);
	return (uint16_t) ~(s + (s >> 16));
}

/* An ICMP echo from pod i to the other pod, answered within 5 s (asked
 * again every 200 ms: the first may meet an unresolved bridge). */
static int
pod_ping(int i)
{
	struct sockaddr_in to = {.sin_family = AF_INET};
	struct icmphdr q = {.type = ICMP_ECHO, .un.echo.id = htons(0x5157)};
	char buf[256];
	int fd = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
	time_t end = time(NULL) + 5;

	to.sin_addr.s_addr = htonl(sn_addr(1 - i) + 2);
	while (fd >= 0 && time(NULL) < end) {
		q.un.echo.sequence = htons(q.un.echo.sequence + 1);
		q.checksum = 0;
		q.checksum = csum(&q, sizeof(q));
		sendto(fd, &q, sizeof(q), 0, (struct sockaddr *)&to, sizeof(to));
		while (poll(&(struct pollfd){.fd = fd, .events = POLLIN}, 1, 200) == 1) {
			ssize_t n = recv(fd, buf, sizeof(buf), 0);
			struct icmphdr *a = (struct icmphdr *)(buf + (buf[0] & 0xf) * 4);

			if (n >= 28 && a->type == ICMP_ECHOREPLY && a->un.echo.id == q.un.echo.id)
				return 0;
		}
	}
	snprintf(S->why, sizeof(S->why), "no echo reply from the other pod within 5 s");
	return 1;
}

/* Pod 1 accepts one connection on :5001 and counts its bytes into
 * S->received; it writes "x" to fd ready once listening. */
static void
pod_listen(int ready)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(5001)};
	int fd = socket(AF_INET, SOCK_STREAM, 0), c, one = 1;
	char buf[65536];
	ssize_t n;

	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 1) < 0)
		_exit(1);
	(void)!write(ready, "x", 1);
	if ((c = accept(fd, NULL, NULL)) < 0)
		_exit(1);
	while ((n = read(c, buf, sizeof(buf))) > 0)
		S->received += n;
	_exit(0);
}

static int
pod_send(int i)
{
	struct sockaddr_in d = {.sin_family = AF_INET, .sin_port = htons(5001)};
	static char buf[XFER];
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	size_t off = 0;
	ssize_t n;

	d.sin_addr.s_addr = htonl(sn_addr(1 - i) + 2);
	if (connect(fd, (struct sockaddr *)&d, sizeof(d)) < 0)
		return snprintf(S->why, sizeof(S->why), "connect to the other pod: %m"), 1;
	memset(buf, 'v', sizeof(buf));
	while (off < sizeof(buf) && (n = write(fd, buf + off, sizeof(buf) - off)) > 0)
		off += (size_t)n;
	close(fd);
	return off == sizeof(buf) ? 0 : (snprintf(S->why, sizeof(S->why), "sent %zu bytes", off), 1);
}

/* ---------------------------------------------------------------- bed */

static void
bed(void)
{
	int i;

	S = mmap(NULL, sizeof(*S), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ck_assert_ptr_ne(S, MAP_FAILED);
	memset(S, 0, sizeof(*S));
	for (i = 0; i < 2; i++) {
		ck_assert_int_gt(node[i] = th_netns_child(), 0);
		ck_assert_int_gt(pod[i] = th_netns_child(), 0);
	}
	sh("ip link add ul0 netns %d type veth peer name ul0 netns %d", (int)node[0], (int)node[1]);
	for (i = 0; i < 2; i++) {
		uint32_t gw = sn_addr(i) + 1;

		sh("ip link add pod0 netns %d type veth peer name eth0 netns %d", (int)node[i], (int)pod[i]);
		sh("nsenter -t %d -n sh -c 'ip link set lo up && ip addr add %s/24 dev ul0 && ip link set ul0 up && "
		   "ip addr add %u.%u.%u.%u/24 dev pod0 && ip link set pod0 up && echo 1 > /proc/sys/net/ipv4/ip_forward'",
		   (int)node[i], node_ip[i], gw >> 24, (gw >> 16) & 255, (gw >> 8) & 255, gw & 255);
		sh("nsenter -t %d -n sh -c 'ip link set lo up && ip link set eth0 mtu 1450 up && "
		   "ip addr add %u.%u.%u.%u/24 dev eth0 && ip route add default via %u.%u.%u.%u'",
		   (int)pod[i], gw >> 24, (gw >> 16) & 255, (gw >> 8) & 255, (gw & 255) + 1, gw >> 24, (gw >> 16) & 255,
		   (gw >> 8) & 255, gw & 255);
	}
}

static void
counts(int i, size_t routes, size_t neigh, size_t fdb)
{
	in_ns(node[i], node_count, i);
	ck_assert_msg(S->n_routes == routes && S->n_neigh == neigh && S->n_fdb == fdb,
	              "node %d has %zu routes, %zu neighbour and %zu forwarding entries; want %zu, %zu, %zu", i,
	              S->n_routes, S->n_neigh, S->n_fdb, routes, neigh, fdb);
}

START_TEST(test_two_nodes)
{
	int p[2], st;
	pid_t l;
	char c;

	if (geteuid() != 0)
		return;
	ck_assert_int_eq(unshare(CLONE_NEWNET), 0);
	bed();
	for (int i = 0; i < 2; i++) {
		in_ns(node[i], node_up, i);
		ck_assert_int_eq(S->made, 1);
		in_ns(node[i], node_up, i); /* found again as it is */
		ck_assert_int_eq(S->made, 0);
	}
	for (int i = 0; i < 2; i++)
		in_ns(node[i], node_sync, i);
	ck_assert_uint_eq(S->r.set, 2);
	in_ns(pod[0], pod_ping, 0);
	ck_assert_int_eq(pipe(p), 0);
	if ((l = fork()) == 0) {
		th_netns_enter(pod[1]);
		pod_listen(p[1]);
	}
	close(p[1]);
	ck_assert_int_eq(read(p[0], &c, 1), 1);
	in_ns(pod[0], pod_send, 0);
	ck_assert_int_eq(waitpid(l, &st, 0), l);
	ck_assert_int_eq((int)S->received, XFER);

	/* An agent restarted: nothing added, nothing deleted, each entry once. */
	in_ns(node[0], node_sync, 0);
	ck_assert_msg(S->r.set == 0 && S->r.deleted == 0 && S->routes_set == 0 && S->routes_deleted == 0,
	              "a second sync changed %zu/%zu entries, %zu/%zu routes", S->r.set, S->r.deleted, S->routes_set,
	              S->routes_deleted);
	counts(0, 1, 1, 1);

	/* A stale entry from before a restart goes; the wanted ones stay. */
	sh("nsenter -t %d -n sh -c 'ip neigh add 10.219.9.0 lladdr 0a:00:00:00:00:09 dev skiff.%d nud permanent && "
	   "bridge fdb append 0a:00:00:00:00:09 dev skiff.%d dst 192.0.2.9 self permanent'",
	   (int)node[0], VNI, VNI);
	counts(0, 1, 2, 2);
	in_ns(node[0], node_sync, 0);
	ck_assert_uint_eq(S->r.deleted, 2);
	counts(0, 1, 1, 1);

	/* Node 1 removed: node 0's three entries for it are gone. */
	in_ns(node[0], node_sync, 2);
	ck_assert_uint_eq(S->routes_deleted, 1);
	counts(0, 0, 0, 0);
}
END_TEST

/* A device of our name with another VNI is replaced; an old address on
 * ours goes. */
START_TEST(test_mismatched_device)
{
	if (geteuid() != 0)
		return;
	ck_assert_int_eq(unshare(CLONE_NEWNET), 0);
	bed();
	sh("nsenter -t %d -n ip link add skiff.%d type vxlan id 99 dstport %d dev ul0", (int)node[0], VNI, PORT);
	in_ns(node[0], node_up, 0);
	ck_assert_int_eq(S->made, 2);
	in_ns(node[0], node_up, 0);
	ck_assert_int_eq(S->made, 0);
	/* the address of a subnet the node had before a restart goes */
	sh("nsenter -t %d -n ip addr add 10.219.7.0/32 dev skiff.%d", (int)node[0], VNI);
	in_ns(node[0], node_up, 0);
	sh("nsenter -t %d -n sh -c '[ $(ip -4 -o addr show dev skiff.%d | wc -l) = 1 ] && "
	   "ip -4 -o addr show dev skiff.%d | grep -q \" 10.219.1.0/32 \"'",
	   (int)node[0], VNI, VNI);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("agent_vxlan");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_two_nodes);
	tcase_add_test(tc, test_mismatched_device);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
