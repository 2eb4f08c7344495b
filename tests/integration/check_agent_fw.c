/*
 * check_agent_fw.c: the agent's host-gw firewall (node-agent/agent_fw.c)
 * with the real iptables programs, each test in a network namespace of
 * its own (unshare in Check's forked child: nothing outside it changes):
 * what SKIFF-FWD, SKIFF-IN and SKIFF-NAT hold, that a second set-up adds
 * nothing, that a changed set of peers or allowMetadata replaces the
 * chains' content whole (an older agent's "-d SUBNET -j ACCEPT" goes),
 * and that forwarded packets obey them: a peer node reaches a pod, a
 * stranger does not, and a pod reaches 169.254.169.254 only with
 * allowMetadata. fw_rules (pure) is checked without root as well.
 */
#include <arpa/inet.h>
#include <check.h>
#include <ev.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "node-agent/agent_fw.h"
#include "th_netns.h"

#define POD "10.219.0.0/16"
#define SN "10.219.1.0/24"

struct done {
	int called, ok;
	char why[512];
};

static void
on_done(void *arg, int ok, const char *why)
{
	struct done *d = arg;

	d->called = 1;
	d->ok = ok;
	snprintf(d->why, sizeof(d->why), "%s", why ? why : "");
}

/* The cluster DNS address of the next set-ups (NULL: none). */
static const char *ensure_dns;

/* Run one set-up to its end (the loop stops when done is called). */
static void
ensure(const char *const *peers, size_t n, int allow)
{
	struct fw_net net = {POD, SN, peers, n, allow, 0, ensure_dns};
	struct done d = {0};
	char why[512];
	struct fw_job *j = fw_ensure_async(ev_default_loop(0), &net, on_done, &d, why, sizeof(why));
	double end = ev_time() + 30;

	ck_assert_msg(j, "fw_ensure_async: %s", why);
	while (!d.called && ev_time() < end)
		ev_run(ev_default_loop(0), EVRUN_ONCE);
	ck_assert_msg(d.called, "the set-up did not end within 30 s");
	ck_assert_msg(d.ok, "the set-up failed: %s", d.why);
}

/* `iptables -S chain` of table, as a new string. */
static char *
rules(const char *table, const char *chain)
{
	char cmd[160], *out = calloc(1, 65536);
	size_t got = 0, n;
	FILE *f;

	snprintf(cmd, sizeof(cmd), "iptables -w -t %s -S %s 2>&1", table, chain);
	ck_assert_ptr_nonnull(f = popen(cmd, "r"));
	while ((n = fread(out + got, 1, 65535 - got, f)) > 0)
		got += n;
	pclose(f);
	return out;
}

static int
count(const char *table, const char *chain, const char *needle)
{
	char *out = rules(table, chain);
	int n = 0;

	for (const char *p = out; (p = strstr(p, needle)); p++)
		n++;
	free(out);
	return n;
}

static void
assert_chain(const char *table, const char *chain, const char *want)
{
	char *out = rules(table, chain);

	ck_assert_msg(strcmp(out, want) == 0, "%s %s:\n%s\nwanted:\n%s", table, chain, out, want);
	free(out);
}

/* A network namespace of this (forked) test's own; 0 when not root. */
static int
own_netns(void)
{
	if (geteuid() != 0)
		return 0;
	ck_assert_int_eq(unshare(CLONE_NEWNET), 0);
	ck_assert_int_eq(system("ip link set lo up"), 0);
	return 1;
}

static const char FWD_STRICT[] = "-N SKIFF-FWD\n"
				 "-A SKIFF-FWD -s 10.219.0.0/16 -m conntrack --ctorigdst 169.254.169.254 -j DROP\n"
				 "-A SKIFF-FWD -d 10.219.1.0/24 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n"
				 "-A SKIFF-FWD -m connmark --mark 0x10000/0x10000 -j ACCEPT\n"
				 "-A SKIFF-FWD -s 10.219.0.0/16 -d 10.219.1.0/24 -j ACCEPT\n"
				 "-A SKIFF-FWD -s 10.217.99.3/32 -d 10.219.1.0/24 -j ACCEPT\n"
				 "-A SKIFF-FWD -s 10.217.99.4/32 -d 10.219.1.0/24 -j ACCEPT\n"
				 "-A SKIFF-FWD -d 10.219.1.0/24 -m conntrack --ctstate DNAT -j RETURN\n"
				 "-A SKIFF-FWD -d 10.219.1.0/24 -j DROP\n"
				 "-A SKIFF-FWD -s 10.219.1.0/24 -d 10.219.0.0/16 -j ACCEPT\n";

START_TEST(test_rules_pure)
{
	const char *peers[] = {"10.217.99.3", "1.2.3.4 -j ACCEPT", NULL, "010.1.1.1"};
	struct fw_net net = {POD, SN, peers, 4, 0, 0, NULL};
	char why[256], *r = fw_rules(&net, why, sizeof(why));

	ck_assert_ptr_nonnull(r);
	ck_assert_ptr_nonnull(strstr(r, "-A SKIFF-FWD -s 10.217.99.3/32 -d 10.219.1.0/24 -j ACCEPT\n"));
	ck_assert_ptr_null(strstr(r, "1.2.3.4")); /* not an address: left out, never spliced in */
	ck_assert_ptr_null(strstr(r, "10.1.1.1"));
	ck_assert_ptr_nonnull(strstr(r, "-A SKIFF-IN -s 10.219.0.0/16 -m conntrack --ctorigdst 169.254.169.254/32"));
	ck_assert_ptr_nonnull(strstr(r, "-A SKIFF-NAT -s 10.219.1.0/24 ! -d 10.219.0.0/16 -j MASQUERADE\n"));
	free(r);
	net.allow_metadata = 1;
	ck_assert_ptr_nonnull(r = fw_rules(&net, why, sizeof(why)));
	ck_assert_ptr_null(strstr(r, "169.254"));
	free(r);
	net.subnet = "10.219.1.0/24\n-A SKIFF-FWD -j ACCEPT";
	ck_assert_ptr_null(fw_rules(&net, why, sizeof(why)));
	ck_assert_ptr_nonnull(strstr(why, "the pod subnet"));
}
END_TEST

/* vxlan: SKIFF-IN lets the VXLAN port in only from the peers, in that
 * order; nothing of it without a port. */
START_TEST(test_rules_vxlan)
{
	const char *peers[] = {"10.217.99.3", "not an address"};
	struct fw_net net = {POD, SN, peers, 2, 1, 8472, NULL};
	char why[256], *r = fw_rules(&net, why, sizeof(why)), *acc, *drop;

	ck_assert_ptr_nonnull(r);
	acc = strstr(r, "-A SKIFF-IN -s 10.217.99.3/32 -p udp -m udp --dport 8472 -j ACCEPT\n");
	drop = strstr(r, "-A SKIFF-IN -p udp -m udp --dport 8472 -j DROP\n");
	ck_assert_ptr_nonnull(acc);
	ck_assert_ptr_nonnull(drop);
	ck_assert(acc < drop);
	ck_assert_ptr_null(strstr(r, "not an address"));
	free(r);
	net.vxlan_port = 0;
	ck_assert_ptr_nonnull(r = fw_rules(&net, why, sizeof(why)));
	ck_assert_ptr_null(strstr(r, "udp"));
	free(r);
}
END_TEST

/* The cluster DNS address: pods reach it on UDP and TCP 53 through
 * SKIFF-IN, ahead of the metadata rule (which names only its own
 * address); an address that is not one is left out. */
START_TEST(test_rules_dns)
{
	const char *peers[] = {"10.217.99.3"};
	struct fw_net net = {POD, SN, peers, 1, 0, 0, "169.254.20.10"};
	char why[256], *r = fw_rules(&net, why, sizeof(why)), *udp, *tcp, *meta;

	ck_assert_ptr_nonnull(r);
	udp = strstr(r, "-A SKIFF-IN -s 10.219.0.0/16 -d 169.254.20.10/32 -p udp -m udp --dport 53 -j ACCEPT\n");
	tcp = strstr(r, "-A SKIFF-IN -s 10.219.0.0/16 -d 169.254.20.10/32 -p tcp -m tcp --dport 53 -j ACCEPT\n");
	meta = strstr(r, "-A SKIFF-IN -s 10.219.0.0/16 -m conntrack --ctorigdst 169.254.169.254/32 -j DROP\n");
	ck_assert_ptr_nonnull(udp);
	ck_assert_ptr_nonnull(tcp);
	ck_assert_ptr_nonnull(meta);
	ck_assert(udp < meta && tcp < meta);
	free(r);
	net.dns_ip = "169.254.20.10 -j DROP";
	ck_assert_ptr_nonnull(r = fw_rules(&net, why, sizeof(why)));
	ck_assert_ptr_null(strstr(r, "--dport 53"));
	free(r);
}
END_TEST

/* The chains hold exactly the rules; a second set-up changes nothing; an
 * older agent's open rule goes; new peers and allowMetadata replace the
 * content whole. */
START_TEST(test_rules_in_kernel)
{
	const char *two[] = {"10.217.99.3", "10.217.99.4"}, *one[] = {"10.217.99.4"};

	if (!own_netns())
		return;
	/* What an older agent left: anyone may reach the subnet. */
	ck_assert_int_eq(system("iptables -w -N SKIFF-FWD && iptables -w -A SKIFF-FWD -d " SN " -j ACCEPT"), 0);
	for (int i = 0; i < 2; i++) {
		ensure(two, 2, 0);
		assert_chain("filter", "SKIFF-FWD", FWD_STRICT);
		assert_chain(
			"filter", "SKIFF-IN",
			"-N SKIFF-IN\n-A SKIFF-IN -s 10.219.0.0/16 -m conntrack --ctorigdst 169.254.169.254 -j DROP\n");
		assert_chain("nat", "SKIFF-NAT",
		             "-N SKIFF-NAT\n-A SKIFF-NAT -s 10.219.1.0/24 ! -d 10.219.0.0/16 -j MASQUERADE\n");
		ck_assert_int_eq(count("filter", "DOCKER-USER", "-j SKIFF-FWD"), 1);
		ck_assert_int_eq(count("filter", "INPUT", "-j SKIFF-IN"), 1);
		ck_assert_int_eq(count("nat", "POSTROUTING", "-j SKIFF-NAT"), 1);
	}
	ensure(one, 1, 1);
	ck_assert_int_eq(count("filter", "SKIFF-FWD", "10.217.99.3"), 0);
	ck_assert_int_eq(count("filter", "SKIFF-FWD", "-s 10.217.99.4/32 -d 10.219.1.0/24 -j ACCEPT"), 1);
	ck_assert_int_eq(count("filter", "SKIFF-FWD", "169.254"), 0);
	assert_chain("filter", "SKIFF-IN", "-N SKIFF-IN\n");
	ck_assert_int_eq(count("filter", "SKIFF-FWD", "-j ACCEPT"), 5); /* with the node-port mark's */
	ck_assert_int_eq(count("filter", "DOCKER-USER", "-j SKIFF-FWD"), 1);
	ensure_dns = "169.254.20.10"; /* iptables takes the cluster DNS rules as written */
	ensure(one, 1, 0);
	ensure_dns = NULL;
	assert_chain(
		"filter", "SKIFF-IN",
		"-N SKIFF-IN\n-A SKIFF-IN -s 10.219.0.0/16 -d 169.254.20.10/32 -p udp -m udp --dport 53 -j ACCEPT\n"
		"-A SKIFF-IN -s 10.219.0.0/16 -d 169.254.20.10/32 -p tcp -m tcp --dport 53 -j ACCEPT\n"
		"-A SKIFF-IN -s 10.219.0.0/16 -m conntrack --ctorigdst 169.254.169.254 -j DROP\n");
}
END_TEST

/* ---- a forwarded packet: two hosts around this namespace (the node) ---- */

#define sh(...) ck_assert_msg(th_sh(__VA_ARGS__) == 0, "failed: %s", th_sh_last())

/* In pid's namespace, from src, connect to dst:port within 1 s: 1 when
 * the connection is made. */
static int
reaches(pid_t pid, const char *src, const char *dst, int port)
{
	pid_t c = fork();
	int st;

	if (c == 0) {
		struct sockaddr_in s = {.sin_family = AF_INET}, d = {.sin_family = AF_INET, .sin_port = htons(port)};
		int fd;

		th_netns_enter(pid);
		fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		inet_pton(AF_INET, src, &s.sin_addr);
		inet_pton(AF_INET, dst, &d.sin_addr);
		if (bind(fd, (struct sockaddr *)&s, sizeof(s)) < 0)
			_exit(3);
		connect(fd, (struct sockaddr *)&d, sizeof(d));
		if (poll(&(struct pollfd){.fd = fd, .events = POLLOUT}, 1, 1000) != 1)
			_exit(4);
		_exit(getsockopt(fd, SOL_SOCKET, SO_ERROR, &st, &(socklen_t){sizeof(st)}) == 0 && st == 0 ? 0 : 5);
	}
	ck_assert_int_eq(waitpid(c, &st, 0), c);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) != 2 && WEXITSTATUS(st) != 3, "connect helper: %d", st);
	return WEXITSTATUS(st) == 0;
}

/* A TCP listener on ip:port in pid's namespace, killed with us. */
static void
listener(pid_t pid, const char *ip, int port)
{
	int p[2];
	char c;

	ck_assert_int_eq(pipe(p), 0);
	if (fork() == 0) {
		struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
		int fd, one = 1;

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		th_netns_enter(pid);
		fd = socket(AF_INET, SOCK_STREAM, 0);
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		inet_pton(AF_INET, ip, &a.sin_addr);
		if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 16) < 0)
			_exit(1);
		(void)!write(p[1], "x", 1);
		for (;;)
			close(accept(fd, NULL, NULL));
	}
	close(p[1]);
	ck_assert_int_eq(read(p[0], &c, 1), 1);
	close(p[0]);
}

/* Our namespace is the node: a "pod" host on 10.219.1.2 (its subnet) and
 * an outside host with a peer's address, a stranger's and the metadata
 * address. Docker's FORWARD → DOCKER-USER jump is made by hand. */
START_TEST(test_forwarded_packets)
{
	const char *peers[] = {"10.217.99.3"};
	pid_t pod, out;

	if (!own_netns())
		return;
	ck_assert_int_gt(pod = th_netns_child(), 0);
	ck_assert_int_gt(out = th_netns_child(), 0);
	sh("ip link add fwp type veth peer name eth0 netns %d && ip addr add 10.219.1.1/24 dev fwp && ip link set fwp up",
	   (int)pod);
	sh("ip link add fwo type veth peer name eth0 netns %d && ip addr add 10.217.99.1/24 dev fwo && "
	   "ip link set fwo up && ip route add 169.254.169.254/32 dev fwo",
	   (int)out);
	sh("nsenter -t %d -n sh -c 'ip link set lo up && ip link set eth0 up && ip addr add 10.219.1.2/24 dev eth0 && "
	   "ip route add default via 10.219.1.1'",
	   (int)pod);
	sh("nsenter -t %d -n sh -c 'ip link set lo up && ip link set eth0 up && ip addr add 10.217.99.3/24 dev eth0 && "
	   "ip addr add 10.217.99.9/24 dev eth0 && ip addr add 169.254.169.254/32 dev eth0 && "
	   "ip route add 10.219.0.0/16 via 10.217.99.1'",
	   (int)out);
	sh("iptables -w -N DOCKER-USER && iptables -w -A FORWARD -j DOCKER-USER");
	listener(pod, "10.219.1.2", 8080);
	listener(out, "169.254.169.254", 80);
	ensure(peers, 1, 0);
	ck_assert_msg(reaches(out, "10.217.99.3", "10.219.1.2", 8080), "a peer node cannot reach the pod");
	ck_assert_msg(!reaches(out, "10.217.99.9", "10.219.1.2", 8080), "a stranger reaches the pod");
	ck_assert_msg(!reaches(pod, "10.219.1.2", "169.254.169.254", 80), "the pod reaches the metadata address");
	ensure(peers, 1, 1); /* allowMetadata */
	ck_assert_msg(reaches(pod, "10.219.1.2", "169.254.169.254", 80), "allowMetadata did not let the pod through");
	ck_assert_msg(!reaches(out, "10.217.99.9", "10.219.1.2", 8080), "a stranger reaches the pod");
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("agent_fw");
	TCase *tc = tcase_create("core");
	SRunner *sr = srunner_create(s);
	int failed;

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_rules_pure);
	tcase_add_test(tc, test_rules_vxlan);
	tcase_add_test(tc, test_rules_dns);
	tcase_add_test(tc, test_rules_in_kernel);
	tcase_add_test(tc, test_forwarded_packets);
	suite_add_tcase(s, tc);
	if (geteuid() != 0)
		fprintf(stderr, "check_agent_fw: not root: the iptables tests are skipped\n");
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
