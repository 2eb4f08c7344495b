/*
 * check_agent_dns.c: pods' name resolution and service variables with the
 * real skiff-agent, a real etcd and the real dockerd, seen from inside
 * the containers: /etc/resolv.conf per dnsPolicy (ClusterFirst, Default,
 * None with dnsConfig, ClusterFirstWithHostNet on the host network, and
 * a hostNetwork pod that keeps the node's), read-only; the cluster DNS
 * address on the bridge skiff-dns0; the service variables of the services
 * that existed when the container was made (not of one made after, nor of
 * a headless one), the pod's own variable winning, and none with
 * enableServiceLinks false.
 *
 * What the containers saw comes out through an allowed hostPath. Name
 * resolution end to end is the guestbook's test (tests/e2e); the rules on
 * their own are check_dnsconf and check_svcenv.
 */
#include <check.h>
#include <ev.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "docker_harness.h"
#include "etcd_harness.h"
#include "etcd_testutil.h"
#include "th_agentpod.h"
#include "th_proc.h"

#ifndef SKIFF_AGENT
#define SKIFF_AGENT "build/bin/skiff-agent"
#endif

#define NODE_RESOLV "nameserver 10.0.0.2\nsearch corp.example\noptions edns0\n"

static struct th_etcd *E;
static struct etcd_sync *S;
static char RUN[32], DIR_[64], PODS[96], SHARE[96], RESOLV[96];
static int bridge_was_there;

static void
suite_setup(void)
{
	FILE *f;

	snprintf(RUN, sizeof(RUN), "d%d", (int)getpid());
	snprintf(DIR_, sizeof(DIR_), "/tmp/skiff-dns-XXXXXX");
	if (!mkdtemp(DIR_) || dh_ensure_dockerd(60) < 0 || dh_ensure_test_image() < 0) {
		fprintf(stderr, "check_agent_dns: Docker or /tmp is not usable\n");
		abort();
	}
	snprintf(PODS, sizeof(PODS), "%s/pods", DIR_);
	snprintf(SHARE, sizeof(SHARE), "%s/share", DIR_);
	snprintf(RESOLV, sizeof(RESOLV), "%s/node-resolv.conf", DIR_);
	if (mkdir(SHARE, 0777) < 0 || chmod(SHARE, 0777) < 0 || !(f = fopen(RESOLV, "w")))
		abort();
	fputs(NODE_RESOLV, f);
	fclose(f);
	bridge_was_there = system("ip link show skiff-dns0 >/dev/null 2>&1") == 0;
	E = th_etcd_start(1, NULL);
	if (!E)
		abort();
}

static void
suite_teardown(void)
{
	char cmd[128];

	dh_remove_where("skiff.node", RUN);
	th_etcd_free(E);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", DIR_);
	if (system(cmd) != 0)
		fprintf(stderr, "check_agent_dns: could not remove %s\n", DIR_);
	if (!bridge_was_there && system("ip link del skiff-dns0 2>/dev/null") != 0)
		fprintf(stderr, "check_agent_dns: could not remove skiff-dns0\n");
}

static void
setup(void)
{
	struct etcd_config cfg;
	struct etcd_error err = {0};

	tu_config(E, &cfg);
	S = etcd_sync_new(&cfg, &err);
	ck_assert_msg(S != NULL, "sync client: %s", err.msg);
}

static void
teardown(void)
{
	etcd_sync_free(S);
}

/* The agent for node RUN-name on prefix /RUN-name. */
static struct th_proc *
agent_for(const char *name, char *prefix, size_t plen, char *node, size_t nlen)
{
	const char *argv[] = {SKIFF_AGENT,
	                      "--etcd-endpoints",
	                      th_etcd_endpoints(E),
	                      "--prefix",
	                      prefix,
	                      "--node-name",
	                      node,
	                      "--pod-dir",
	                      PODS,
	                      "--allow-host-path",
	                      SHARE,
	                      "--resolv-conf",
	                      RESOLV,
	                      "--allow-privileged",
	                      "--resync-interval",
	                      "2s",
	                      NULL};
	struct th_proc *p;

	snprintf(prefix, plen, "/%s-%s", RUN, name);
	snprintf(node, nlen, "%s-%s", RUN, name);
	p = th_proc_start(SKIFF_AGENT, (char *const *)argv, NULL);
	ck_assert_ptr_nonnull(p);
	return p;
}

/* The whole of a file the pod wrote (new), "" when absent. */
static char *
slurp(const char *name)
{
	char path[256], *b = calloc(1, 8192);
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "%s/%s", SHARE, name);
	if (b && (f = fopen(path, "r"))) {
		n = fread(b, 1, 8191, f);
		b[n] = '\0';
		fclose(f);
	}
	return b;
}

/* Wait for the pod's NAME.done ("ok\n", written last), then its file
 * NAME.WHAT. */
static char *
pod_file(struct th_proc *agent, const char *pod, const char *what)
{
	char path[256], name[128];

	snprintf(path, sizeof(path), "%s/%s.done", SHARE, pod);
	TH_WAIT_FILE(agent, path, "ok\n");
	snprintf(name, sizeof(name), "%s.%s", pod, what);
	return slurp(name);
}

#define BB "\"/bin/busybox\""
#define SH(script) "\"command\":[" BB ",\"sh\",\"-c\",\"" script "\"]"
#define OUT_MOUNT "\"volumeMounts\":[{\"name\":\"out\",\"mountPath\":\"/out\"}]"
#define OUT_VOLUME "\"volumes\":[{\"name\":\"out\",\"hostPath\":{\"path\":\"%s\",\"type\":\"Directory\"}}]"

/* A pod (spec members extra) that copies its resolv.conf out, tries to
 * write it, and stays. */
#define RESOLV_SPEC(extra, pod)                                                                                       \
	"{\"terminationGracePeriodSeconds\":1," extra "\"containers\":[{\"name\":\"c\",\"image\":\"" DH_TEST_IMAGE    \
	"\"," SH("/bin/busybox cat /etc/resolv.conf > /out/" pod ".resolv; if echo x >> /etc/resolv.conf; then echo " \
	         "rw; else echo ro; fi > /out/" pod ".ro; echo ok > /out/" pod                                        \
	         ".done; exec /bin/busybox sleep 3600") "," OUT_MOUNT "}]," OUT_VOLUME "}"

#define CLUSTER_FILE                                                                                                \
	"nameserver 169.254.20.10\nsearch default.svc.cluster.local svc.cluster.local cluster.local corp.example\n" \
	"options ndots:5\n"

static void
bind(const char *prefix, const char *node, const char *pod, const char *uid, const char *fmt)
{
	char spec[4096];

	snprintf(spec, sizeof(spec), fmt, SHARE);
	TH_BIND_POD(prefix, node, pod, uid, spec);
}

static void
want_file(struct th_proc *agent, const char *pod, const char *what, const char *want)
{
	char *got = pod_file(agent, pod, what);

	ck_assert_msg(strcmp(got, want) == 0, "%s.%s:\n--- got\n%s--- want\n%s", pod, what, got, want);
	free(got);
}

START_TEST(test_resolv_per_policy)
{
	char prefix[96], node[96], *got;
	struct th_proc *agent = agent_for("resolv", prefix, sizeof(prefix), node, sizeof(node));

	bind(prefix, node, "cf", "801", RESOLV_SPEC("", "cf"));
	bind(prefix, node, "def", "802", RESOLV_SPEC("\"dnsPolicy\":\"Default\",", "def"));
	bind(prefix, node, "none", "803",
	     RESOLV_SPEC("\"dnsPolicy\":\"None\",\"dnsConfig\":{\"nameservers\":[\"192.0.2.1\"],\"searches\":[\"my.dns."
	                 "search.suffix\"],\"options\":[{\"name\":\"ndots\",\"value\":\"2\"},{\"name\":\"edns0\"}]},",
	                 "none"));
	bind(prefix, node, "hn", "804",
	     RESOLV_SPEC("\"hostNetwork\":true,\"dnsPolicy\":\"ClusterFirstWithHostNet\",", "hn"));
	bind(prefix, node, "hd", "805", RESOLV_SPEC("\"hostNetwork\":true,", "hd"));
	want_file(agent, "cf", "resolv", CLUSTER_FILE);
	want_file(agent, "cf", "ro", "ro\n");
	want_file(agent, "def", "resolv", NODE_RESOLV);
	want_file(agent, "none", "resolv",
	          "nameserver 192.0.2.1\nsearch my.dns.search.suffix\noptions ndots:2 edns0\n");
	want_file(agent, "hn", "resolv", CLUSTER_FILE);
	got = pod_file(agent, "hd", "resolv"); /* the node's own, as Docker copies it: not ours */
	ck_assert_msg(!strstr(got, "169.254.20.10") && !strstr(got, "corp.example"), "hd: got\n%s", got);
	free(got);
	ck_assert_msg(system("ip -4 -o addr show dev skiff-dns0 | grep -q ' 169.254.20.10/32 '") == 0,
	              "skiff-dns0 does not have 169.254.20.10/32");
	th_proc_free(agent, 0);
	dh_remove_where("skiff.node", node);
}
END_TEST

/* A pod that writes the service variables it sees (sorted), with env
 * entries extra of its own. */
#define ENV_SPEC(extra, pod)                                                                                           \
	"{\"terminationGracePeriodSeconds\":1," extra "\"containers\":[{\"name\":\"c\",\"image\":\"" DH_TEST_IMAGE     \
	"\",\"env\":[{\"name\":\"PORT_SEEN\",\"value\":\"$(EARLY_SERVICE_PORT)\"},{\"name\":\"FROM_EP_SERVICE_HOST\"," \
	"\"value\":\"mine\"}]," SH(                                                                                    \
		"/bin/busybox env | /bin/busybox grep -E '^(EARLY|LATE|HEADLESS|FROM_EP|PORT_SEEN)' "                  \
		"| /bin/busybox sort > /out/" pod ".env; echo ok > /out/" pod ".done; exec "                           \
		"/bin/busybox sleep 3600") "," OUT_MOUNT "}]," OUT_VOLUME "}"

#define EARLY_VARS                                                                                                        \
	"EARLY_PORT=tcp://10.0.0.11:6379\nEARLY_PORT_6379_TCP=tcp://10.0.0.11:6379\nEARLY_PORT_6379_TCP_ADDR=10.0.0.11\n" \
	"EARLY_PORT_6379_TCP_PORT=6379\nEARLY_PORT_6379_TCP_PROTO=tcp\nEARLY_SERVICE_HOST=10.0.0.11\n"                    \
	"EARLY_SERVICE_PORT=6379\nEARLY_SERVICE_PORT_REDIS=6379\n"
#define FROM_EP_VARS                                                                                                    \
	"FROM_EP_PORT=tcp://10.0.0.12:80\nFROM_EP_PORT_80_TCP=tcp://10.0.0.12:80\nFROM_EP_PORT_80_TCP_ADDR=10.0.0.12\n" \
	"FROM_EP_PORT_80_TCP_PORT=80\nFROM_EP_PORT_80_TCP_PROTO=tcp\nFROM_EP_SERVICE_HOST=mine\n"                       \
	"FROM_EP_SERVICE_PORT=80\n"

static void
put(const char *prefix, const char *dir, const char *name, const char *value)
{
	char key[256];

	snprintf(key, sizeof(key), "%s/%s/%s", prefix, dir, name);
	ck_assert_msg(tu_put(S, key, value) > 0, "put %s failed", key);
}

/* Services that exist when the agent starts give their variables (the
 * cluster IP from the spec or from the endpoints; none for a headless
 * one); one made while the agent is down shows in a pod made after, not
 * in the earlier pod; enableServiceLinks false gives none. */
START_TEST(test_service_links)
{
	char prefix[96], node[96];
	struct th_proc *agent;

	snprintf(prefix, sizeof(prefix), "/%s-links", RUN); /* as agent_for names it */
	put(prefix, "services", "early",
	    "{\"metadata\":{\"name\":\"early\"},\"spec\":{\"selector\":{\"app\":\"r\"},\"clusterIP\":\"10.0.0.11\","
	    "\"ports\":[{\"name\":\"redis\",\"port\":6379}]}}");
	put(prefix, "services", "from-ep",
	    "{\"metadata\":{\"name\":\"from-ep\"},\"spec\":{\"selector\":{\"app\":\"w\"},\"ports\":[{\"port\":80}]}}");
	put(prefix, "endpoints", "from-ep",
	    "{\"clusterIP\":\"10.0.0.12\",\"ports\":[{\"port\":80,\"targetPort\":80}]}");
	put(prefix, "services", "headless",
	    "{\"metadata\":{\"name\":\"headless\"},\"spec\":{\"clusterIP\":\"None\",\"ports\":[{\"port\":80}]}}");
	agent = agent_for("links", prefix, sizeof(prefix), node, sizeof(node));
	bind(prefix, node, "first", "811", ENV_SPEC("", "first"));
	want_file(agent, "first", "env", EARLY_VARS FROM_EP_VARS "PORT_SEEN=6379\n");
	th_proc_free(agent, 0);

	/* made while the agent is down; the next one waits for the services
	 * before it makes any container */
	put(prefix, "services", "late",
	    "{\"metadata\":{\"name\":\"late\"},\"spec\":{\"selector\":{\"app\":\"l\"},\"clusterIP\":\"10.0.0.13\","
	    "\"ports\":[{\"port\":8080}]}}");
	agent = agent_for("links", prefix, sizeof(prefix), node, sizeof(node));
	bind(prefix, node, "second", "812", ENV_SPEC("", "second"));
	bind(prefix, node, "off", "813", ENV_SPEC("\"enableServiceLinks\":false,", "off"));
	want_file(agent, "second", "env",
	          EARLY_VARS FROM_EP_VARS "LATE_PORT=tcp://10.0.0.13:8080\nLATE_PORT_8080_TCP=tcp://10.0.0.13:8080\n"
	                                  "LATE_PORT_8080_TCP_ADDR=10.0.0.13\nLATE_PORT_8080_TCP_PORT=8080\n"
	                                  "LATE_PORT_8080_TCP_PROTO=tcp\nLATE_SERVICE_HOST=10.0.0.13\n"
	                                  "LATE_SERVICE_PORT=8080\nPORT_SEEN=6379\n");
	/* the agent is past its start now: the bridge was there already, no error */
	ck_assert(th_proc_log_has(agent, "cluster DNS address in place"));
	ck_assert(!th_proc_log_has(agent, "cannot put the cluster DNS address"));
	want_file(agent, "off", "env", "FROM_EP_SERVICE_HOST=mine\nPORT_SEEN=$(EARLY_SERVICE_PORT)\n");
	th_proc_free(agent, 0);
	dh_remove_where("skiff.node", node);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("agent_dns");
	TCase *tc = tcase_create("core");

	tcase_add_unchecked_fixture(tc, suite_setup, suite_teardown);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 150);
	tcase_add_test(tc, test_resolv_per_policy);
	tcase_add_test(tc, test_service_links);
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
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
