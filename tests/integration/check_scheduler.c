/*
 * check_scheduler.c: skiff-scheduler as a real process against a real
 * etcd. The test plays users and agents: it writes nodes, node statuses,
 * node leases (attached to leases it grants and revokes; version 1 by
 * existence, version 2 heartbeats) and pods with the client,
 * and checks bindings and events by reading keys. One etcd for the suite;
 * each test has its own --prefix. Every wait polls a condition against a
 * deadline.
 */
#include <check.h>
#include <inttypes.h>
#include <jansson.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "etcd_harness.h"
#include "etcd_testutil.h"
#include "th_proc.h"

/* SKIFF_SCHEDULER_BIN runs another build (e.g. build/san/bin/… under ASan). */
#define BIN (getenv("SKIFF_SCHEDULER_BIN") ? getenv("SKIFF_SCHEDULER_BIN") : "build/bin/skiff-scheduler")
#define MAXP 4

static struct th_etcd *E;   /* the suite's etcd (unchecked fixture) */
static struct etcd_sync *S; /* per test */
static struct th_proc *P[MAXP];
static char PFX[64];
static int passed;

/* ---- fixtures ---- */

static void
suite_setup(void)
{
	E = th_etcd_start(1, NULL);
	if (!E)
		abort();
}

static void
suite_teardown(void)
{
	th_etcd_free(E);
}

/* In the forked test process: show the schedulers' logs unless it passed. */
static void
at_exit(void)
{
	for (int i = 0; i < MAXP; i++)
		th_proc_free(P[i], !passed);
	if (S)
		etcd_sync_free(S);
}

static void
setup(void)
{
	struct etcd_config cfg;
	struct etcd_error err = {0};
	static int n;

	tu_config(E, &cfg);
	cfg.request_timeout_ms = 5000;
	S = etcd_sync_new(&cfg, &err);
	ck_assert_ptr_nonnull(S);
	snprintf(PFX, sizeof(PFX), "/t%d-%d", (int)getpid(), n++);
	passed = 0;
	atexit(at_exit);
}

/* Check _exits a failed test: show the schedulers' logs first. */
static void
dump_logs(void)
{
	for (int i = 0; i < MAXP; i++)
		if (P[i]) {
			char *log = th_proc_log(P[i]);

			fprintf(stderr, "---- scheduler %d ----\n%s---- end ----\n", i, log ? log : "");
			free(log);
		}
}

#define CK_MSG(c, ...)                             \
	do {                                       \
		if (!(c)) {                        \
			dump_logs();               \
			ck_abort_msg(__VA_ARGS__); \
		}                                  \
	} while (0)
#define CK(c) CK_MSG(c, "%s", #c)
#define CK_CMP(a, op, b)                                                         \
	do {                                                                     \
		long long a_ = (long long)(a), b_ = (long long)(b);              \
		CK_MSG(a_ op b_, "%s %s %s: %lld vs %lld", #a, #op, #b, a_, b_); \
	} while (0)
#define CK_EQ(a, b) CK_CMP(a, ==, b)
#define CK_LE(a, b) CK_CMP(a, <=, b)

/* Every scheduler still running stops cleanly on SIGTERM (exit 0; under
 * ASan also no leak). */
static void
teardown(void)
{
	for (int i = 0; i < MAXP; i++) {
		if (!P[i] || !th_proc_running(P[i]))
			continue;
		th_proc_signal(P[i], SIGTERM);
		CK_MSG(th_proc_wait(P[i], 15) == 0, "scheduler %d did not exit 0 on SIGTERM", i);
	}
	passed = 1;
}

/* Start scheduler i with extra flags (NULL-ended). */
static void
start(int i, ...)
{
	char ep[512], pfx[96];
	char *argv[16] = {"skiff-scheduler", ep, pfx, "--log-level=debug"};
	int n = 4;
	va_list ap;
	char *a;

	snprintf(ep, sizeof(ep), "--etcd-endpoints=%s", th_etcd_endpoints(E));
	snprintf(pfx, sizeof(pfx), "--prefix=%s", PFX);
	va_start(ap, i);
	while ((a = va_arg(ap, char *)) && n < 15)
		argv[n++] = a;
	va_end(ap);
	argv[n] = NULL;
	P[i] = th_proc_start(BIN, argv, NULL);
	ck_assert_ptr_nonnull(P[i]);
}

/* ---- writing ---- */

static void
key(char *buf, size_t len, const char *dir, const char *name)
{
	snprintf(buf, len, "%s/%s/%s", PFX, dir, name);
}

static int64_t
put(const char *dir, const char *name, const char *val)
{
	char k[256];
	int64_t rev;

	key(k, sizeof(k), dir, name);
	rev = tu_put(S, k, val);
	CK_MSG(rev > 0, "put %s failed", k);
	return rev;
}

static void
del(const char *dir, const char *name)
{
	char k[256];
	struct etcd_result *r;

	key(k, sizeof(k), dir, name);
	r = etcd_sync_delete(S, k, NULL);
	TU_OK(r);
	TU_FREE(r);
}

/* A node with capacity; labels is a JSON object text or NULL. */
static void
node(const char *name, const char *cpu, const char *mem, const char *pods, const char *labels, int unsched)
{
	char v[1024];

	snprintf(v, sizeof(v),
	         "{\"metadata\":{\"name\":\"%s\",\"labels\":%s},\"spec\":{\"unschedulable\":%s},"
	         "\"status\":{\"capacity\":{\"cpu\":\"%s\",\"memory\":\"%s\",\"pods\":\"%s\"}}}",
	         name, labels ? labels : "{}", unsched ? "true" : "false", cpu, mem, pods);
	put("nodes", name, v);
}

/* The node's lease key on a fresh lease (TTL 60 s); returns the lease. */
static int64_t
ready(const char *name)
{
	struct etcd_result *r = etcd_sync_lease_grant(S, 60, 0);
	struct etcd_put_opts o = {0};
	char k[256], v[256];
	int64_t id;

	TU_OK(r);
	id = r->lease_id;
	TU_FREE(r);
	key(k, sizeof(k), "nodeleases", name);
	snprintf(v, sizeof(v), "{\"metadata\":{\"name\":\"%s\"},\"spec\":{\"holderIdentity\":\"%s\"}}", name, name);
	o.lease = id;
	r = etcd_sync_put(S, k, v, strlen(v), &o);
	TU_OK(r);
	TU_FREE(r);
	return id;
}

static void
drop_lease(int64_t lease)
{
	struct etcd_result *r = etcd_sync_lease_revoke(S, lease);

	TU_OK(r);
	TU_FREE(r);
}

/* A pod: cpu/mem requests (NULL = none), hostPort (0 = none), extra
 * metadata members (",\"ownerReferences\":[…]") and spec members. */
static int64_t
pod(const char *name, const char *cpu, const char *mem, int hostport, const char *meta, const char *spec)
{
	char v[2048], req[256] = "", port[128] = "";

	if (cpu || mem)
		snprintf(req, sizeof(req), ",\"resources\":{\"requests\":{%s%s%s%s%s%s%s}}", cpu ? "\"cpu\":\"" : "",
		         cpu ? cpu : "", cpu ? "\"" : "", cpu && mem ? "," : "", mem ? "\"memory\":\"" : "",
		         mem ? mem : "", mem ? "\"" : "");
	if (hostport)
		snprintf(port, sizeof(port), ",\"ports\":[{\"containerPort\":80,\"hostPort\":%d}]", hostport);
	snprintf(v, sizeof(v),
	         "{\"metadata\":{\"name\":\"%s\",\"labels\":{\"app\":\"t\"}%s},"
	         "\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"busybox\"%s%s}]%s}}",
	         name, meta ? meta : "", req, port, spec ? spec : "");
	return put("pods", name, v);
}

/* ---- reading ---- */

struct binding {
	char node[128];
	int64_t uid;
	char *value;
};

/* Every binding of pod (by scanning P/bindings/); returns how many, the
 * first in *b (value newly allocated, or NULL). */
static int
bindings_of(const char *podname, struct binding *b)
{
	char pfx[256];
	struct etcd_range_opts o = {.prefix = 1};
	struct etcd_result *r;
	int n = 0;
	size_t plen;

	snprintf(pfx, sizeof(pfx), "%s/bindings/", PFX);
	plen = strlen(pfx);
	r = etcd_sync_range(S, pfx, &o);
	TU_OK(r);
	if (b)
		memset(b, 0, sizeof(*b));
	for (size_t i = 0; i < r->nkvs; i++) {
		const char *k = r->kvs[i].key + plen, *slash = strchr(k, '/');

		if (!slash || strcmp(slash + 1, podname) != 0)
			continue;
		if (n++ == 0 && b) {
			json_t *j = json_loads(r->kvs[i].value, 0, NULL);
			const char *uid = json_string_value(
				json_object_get(json_object_get(json_object_get(j, "pod"), "metadata"), "uid"));

			snprintf(b->node, sizeof(b->node), "%.*s", (int)(slash - k), k);
			b->uid = uid ? strtoll(uid, NULL, 10) : 0;
			b->value = strdup(r->kvs[i].value);
			json_decref(j);
		}
	}
	TU_FREE(r);
	return n;
}

/* Count of every key under P/DIR/. */
static int
count(const char *dir)
{
	char pfx[256];
	struct etcd_range_opts o = {.prefix = 1, .count_only = 1};
	struct etcd_result *r;
	int n;

	snprintf(pfx, sizeof(pfx), "%s/%s/", PFX, dir);
	r = etcd_sync_range(S, pfx, &o);
	TU_OK(r);
	n = (int)r->count;
	TU_FREE(r);
	return n;
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
pause_20ms(void)
{
	struct timespec ts = {0, 20 * 1000 * 1000};

	nanosleep(&ts, NULL);
}

/* The node pod is bound to, waiting up to t seconds; "" when none. */
static const char *
wait_bound(const char *podname, double t)
{
	static struct binding b;
	double end = now() + t;

	for (;;) {
		free(b.value);
		b.value = NULL;
		if (bindings_of(podname, &b) > 0)
			return b.node;
		if (now() > end)
			return "";
		pause_20ms();
	}
}

static int
wait_unbound(const char *podname, double t)
{
	double end = now() + t;

	while (bindings_of(podname, NULL) > 0) {
		if (now() > end)
			return -1;
		pause_20ms();
	}
	return 0;
}

static int
wait_count(const char *dir, int n, double t)
{
	double end = now() + t;

	while (count(dir) < n) {
		if (now() > end)
			return -1;
		pause_20ms();
	}
	return 0;
}

/* The message of the event of reason on pod, waiting up to t seconds
 * (new string), or NULL. */
static char *
wait_event(const char *podname, const char *reason, double t)
{
	char pfx[256];
	struct etcd_range_opts o = {.prefix = 1};
	double end = now() + t;

	snprintf(pfx, sizeof(pfx), "%s/events/pods/%s/", PFX, podname);
	for (;;) {
		struct etcd_result *r = etcd_sync_range(S, pfx, &o);
		char *msg = NULL;

		TU_OK(r);
		for (size_t i = 0; i < r->nkvs && !msg; i++) {
			json_t *j = json_loads(r->kvs[i].value, 0, NULL);
			const char *rs = json_string_value(json_object_get(j, "reason"));
			const char *m = json_string_value(json_object_get(j, "message"));

			if (rs && m && strcmp(rs, reason) == 0)
				msg = strdup(m);
			json_decref(j);
		}
		TU_FREE(r);
		if (msg || now() > end)
			return msg;
		pause_20ms();
	}
}

static void
assert_bound(const char *podname, const char *nodename)
{
	const char *n = wait_bound(podname, 10);

	CK_MSG(*n, "pod %s was never bound", podname);
	if (nodename)
		CK_MSG(strcmp(n, nodename) == 0, "pod %s bound to %s, expected %s", podname, n, nodename);
}

static void
assert_event(const char *podname, const char *reason, const char *needle)
{
	char *m = wait_event(podname, reason, 10);

	CK_MSG(m, "no %s event for pod %s", reason, podname);
	CK_MSG(strstr(m, needle), "event for %s says \"%s\", expected \"%s\"", podname, m, needle);
	free(m);
}

/* ---- filters ---- */

START_TEST(fits_nowhere)
{
	node("a", "4", "1Gi", "110", "{\"disk\":\"ssd\"}", 0);
	node("b", "4", "1Gi", "110", "{\"disk\":\"ssd\"}", 0);
	node("c", "4", "8Gi", "110", "{\"disk\":\"hdd\"}", 0);
	ready("a");
	ready("b");
	ready("c");
	start(0, NULL);
	pod("big", NULL, "2Gi", 0, NULL, ",\"nodeSelector\":{\"disk\":\"ssd\"}");
	assert_event("big", "FailedScheduling",
	             "0/3 nodes are available: 2 Insufficient memory, 1 node(s) didn't match node selector.");
	CK_EQ(bindings_of("big", NULL), 0);
	/* A node that fits appears: the pod goes there, without polling. */
	node("d", "4", "4Gi", "110", "{\"disk\":\"ssd\"}", 0);
	CK_EQ(bindings_of("big", NULL), 0); /* not ready yet */
	ready("d");
	assert_bound("big", "d");
}
END_TEST

START_TEST(node_selector)
{
	node("hdd1", "4", "4Gi", "110", "{\"disk\":\"hdd\"}", 0);
	node("ssd1", "4", "4Gi", "110", "{\"disk\":\"ssd\",\"zone\":\"z1\"}", 0);
	node("hdd2", "4", "4Gi", "110", "{\"disk\":\"hdd\"}", 0);
	ready("hdd1");
	ready("ssd1");
	ready("hdd2");
	start(0, NULL);
	for (int i = 0; i < 5; i++) {
		char name[16];

		snprintf(name, sizeof(name), "p%d", i);
		pod(name, NULL, NULL, 0, NULL, ",\"nodeSelector\":{\"disk\":\"ssd\"}");
	}
	for (int i = 0; i < 5; i++) {
		char name[16];

		snprintf(name, sizeof(name), "p%d", i);
		assert_bound(name, "ssd1");
	}
}
END_TEST

START_TEST(host_ports)
{
	char other[128];

	node("a", "4", "4Gi", "110", NULL, 0);
	node("b", "4", "4Gi", "110", NULL, 0);
	ready("a");
	ready("b");
	start(0, NULL);
	pod("w1", NULL, NULL, 8080, NULL, NULL);
	snprintf(other, sizeof(other), "%s", wait_bound("w1", 10));
	CK_MSG(*other, "w1 never bound");
	pod("w2", NULL, NULL, 8080, NULL, NULL);
	assert_bound("w2", strcmp(other, "a") == 0 ? "b" : "a");
	pod("w3", NULL, NULL, 8080, NULL, NULL);
	assert_event("w3", "FailedScheduling",
	             "0/2 nodes are available: 2 node(s) didn't have free ports for the requested pod ports.");
	CK_EQ(bindings_of("w3", NULL), 0);
	/* Another port is free on both. */
	pod("w4", NULL, NULL, 9090, NULL, NULL);
	assert_bound("w4", NULL);
	/* Deleting w1 frees its port: w3 follows, no polling. */
	del("pods", "w1");
	assert_bound("w3", other);
}
END_TEST

START_TEST(capacity_pods)
{
	node("small", "4", "4Gi", "2", NULL, 0);
	ready("small");
	start(0, NULL);
	pod("p1", NULL, NULL, 0, NULL, NULL);
	pod("p2", NULL, NULL, 0, NULL, NULL);
	pod("p3", NULL, NULL, 0, NULL, NULL);
	assert_bound("p1", "small");
	assert_bound("p2", "small");
	assert_event("p3", "FailedScheduling", "0/1 nodes are available: 1 Too many pods.");
	CK_EQ(bindings_of("p3", NULL), 0);
	/* Deleting a pod deletes its binding, which makes room for p3. */
	del("pods", "p1");
	CK_EQ(wait_unbound("p1", 10), 0);
	assert_bound("p3", "small");
}
END_TEST

START_TEST(capacity_cpu_memory)
{
	node("n", "1", "1Gi", "110", NULL, 0);
	ready("n");
	start(0, NULL);
	pod("c1", "600m", "100Mi", 0, NULL, NULL);
	assert_bound("c1", "n");
	pod("c2", "600m", "100Mi", 0, NULL, NULL);
	assert_event("c2", "FailedScheduling", "0/1 nodes are available: 1 Insufficient cpu.");
	pod("m1", "100m", "2Gi", 0, NULL, NULL);
	assert_event("m1", "FailedScheduling", "0/1 nodes are available: 1 Insufficient memory.");
	pod("ok", "400m", "900Mi", 0, NULL, NULL); /* exactly fills the node */
	assert_bound("ok", "n");
	CK_EQ(bindings_of("c2", NULL), 0);
	CK_EQ(bindings_of("m1", NULL), 0);
}
END_TEST

START_TEST(unschedulable_node)
{
	node("cordoned", "64", "64Gi", "110", NULL, 1);
	node("open", "1", "1Gi", "110", NULL, 0);
	ready("cordoned");
	ready("open");
	start(0, NULL);
	for (int i = 0; i < 4; i++) {
		char name[16];

		snprintf(name, sizeof(name), "u%d", i);
		pod(name, NULL, NULL, 0, NULL, NULL);
		assert_bound(name, "open");
	}
}
END_TEST

START_TEST(node_change_wakes_pod)
{
	node("only", "4", "4Gi", "110", "{\"disk\":\"hdd\"}", 1);
	ready("only");
	start(0, NULL);
	pod("waiter", NULL, NULL, 0, NULL, ",\"nodeSelector\":{\"disk\":\"ssd\"}");
	assert_event("waiter", "FailedScheduling",
	             "0/1 nodes are available: 1 node(s) didn't match node selector, 1 node(s) were unschedulable.");
	/* An admin uncordons and relabels the node: the pod is tried again. */
	node("only", "4", "4Gi", "110", "{\"disk\":\"ssd\"}", 0);
	assert_bound("waiter", "only");
}
END_TEST

/* Past 100 nodes a decision looks at a share of them (sched_nodes_to_find)
 * from where the last one stopped: a pod that fits one node of 150 still
 * finds it, every pod is bound once, and one that fits none is told about
 * all 150. */
START_TEST(sampled_nodes)
{
	enum { NODES = 150, PODS = 30 };
	char name[32];

	for (int i = 0; i < NODES; i++) {
		snprintf(name, sizeof(name), "n%03d", i);
		node(name, "4", "4Gi", "110", i == 77 ? "{\"disk\":\"ssd\"}" : NULL, 0);
		ready(name);
	}
	start(0, "--percentage-of-nodes-to-score=1", NULL);
	for (int i = 0; i < PODS; i++) {
		snprintf(name, sizeof(name), "p%d", i);
		pod(name, NULL, NULL, 0, NULL, i % 3 ? NULL : ",\"nodeSelector\":{\"disk\":\"ssd\"}");
	}
	pod("none", NULL, NULL, 0, NULL, ",\"nodeSelector\":{\"disk\":\"nvme\"}");
	for (int i = 0; i < PODS; i++) {
		snprintf(name, sizeof(name), "p%d", i);
		assert_bound(name, i % 3 ? NULL : "n077");
		CK_EQ(bindings_of(name, NULL), 1);
	}
	assert_event("none", "FailedScheduling", "0/150 nodes are available: 150 node(s) didn't match node selector.");
	CK_EQ(bindings_of("none", NULL), 0);
}
END_TEST

/* ---- scores ---- */

START_TEST(spread_owner)
{
	const char *own = ",\"ownerReferences\":[{\"kind\":\"ReplicationController\",\"name\":\"web\",\"uid\":\"7\","
			  "\"controller\":true}]";
	int per[3] = {0};

	/* a is far larger: least-requested alone would pile everything there. */
	node("a", "64", "64Gi", "110", NULL, 0);
	node("b", "2", "2Gi", "110", NULL, 0);
	node("c", "2", "2Gi", "110", NULL, 0);
	ready("a");
	ready("b");
	ready("c");
	start(0, NULL);
	for (int i = 0; i < 6; i++) {
		char name[16];

		snprintf(name, sizeof(name), "web-%d", i);
		pod(name, "300m", "300Mi", 0, own, NULL);
	}
	for (int i = 0; i < 6; i++) {
		char name[16];
		const char *n;

		snprintf(name, sizeof(name), "web-%d", i);
		n = wait_bound(name, 10);
		CK_MSG(*n, "%s never bound", name);
		per[n[0] - 'a']++;
	}
	CK_MSG(per[0] == 2 && per[1] == 2 && per[2] == 2, "spread %d/%d/%d, expected 2/2/2", per[0], per[1], per[2]);
}
END_TEST

START_TEST(spread_service)
{
	int per[3] = {0};

	/* No owner: the pods are spread because one service selects them. */
	put("services", "db", "{\"spec\":{\"selector\":{\"app\":\"t\"},\"ports\":[{\"port\":5432}]}}");
	node("a", "64", "64Gi", "110", NULL, 0);
	node("b", "2", "2Gi", "110", NULL, 0);
	node("c", "2", "2Gi", "110", NULL, 0);
	ready("a");
	ready("b");
	ready("c");
	start(0, NULL);
	for (int i = 0; i < 6; i++) {
		char name[16];

		snprintf(name, sizeof(name), "db-%d", i);
		pod(name, "300m", "300Mi", 0, NULL, NULL);
	}
	for (int i = 0; i < 6; i++) {
		char name[16];
		const char *n;

		snprintf(name, sizeof(name), "db-%d", i);
		n = wait_bound(name, 10);
		CK_MSG(*n, "%s never bound", name);
		per[n[0] - 'a']++;
	}
	CK_MSG(per[0] == 2 && per[1] == 2 && per[2] == 2, "spread %d/%d/%d, expected 2/2/2", per[0], per[1], per[2]);
}
END_TEST

START_TEST(least_requested)
{
	char first[128];

	node("a", "4", "4Gi", "110", NULL, 0);
	node("b", "4", "4Gi", "110", NULL, 0);
	ready("a");
	ready("b");
	start(0, NULL);
	pod("big", "3", "3Gi", 0, NULL, NULL);
	snprintf(first, sizeof(first), "%s", wait_bound("big", 10));
	CK_MSG(*first, "big never bound");
	for (int i = 0; i < 3; i++) {
		char name[16];

		snprintf(name, sizeof(name), "small%d", i);
		pod(name, "200m", "200Mi", 0, NULL, NULL);
		assert_bound(name, strcmp(first, "a") == 0 ? "b" : "a");
	}
}
END_TEST

/* ---- keeping bindings true ---- */

START_TEST(delete_and_recreate)
{
	struct binding b;
	int64_t rev1, rev2;

	node("n", "4", "4Gi", "110", NULL, 0);
	ready("n");
	start(0, NULL);
	rev1 = pod("x", NULL, NULL, 0, NULL, NULL);
	assert_bound("x", "n");
	CK_EQ(bindings_of("x", &b), 1);
	CK_EQ(b.uid, rev1);
	free(b.value);
	/* A change of the pod refreshes the copy in the binding. */
	pod("x", NULL, NULL, 0, ",\"annotations\":{\"v\":\"2\"}", NULL);
	for (double end = now() + 10;; pause_20ms()) {
		CK_EQ(bindings_of("x", &b), 1);
		if (strstr(b.value, "\"v\":\"2\"") || now() > end)
			break;
		free(b.value);
	}
	CK_MSG(strstr(b.value, "\"v\":\"2\""), "binding not refreshed: %s", b.value);
	CK_EQ(b.uid, rev1);
	free(b.value);
	/* Deleted: its binding goes. */
	del("pods", "x");
	CK_EQ(wait_unbound("x", 10), 0);
	/* Written again under the same name: a new pod with a new binding. */
	rev2 = pod("x", NULL, NULL, 0, NULL, NULL);
	assert_bound("x", "n");
	CK_EQ(bindings_of("x", &b), 1);
	CK_EQ(b.uid, rev2);
	free(b.value);
}
END_TEST

START_TEST(replaced_incarnation)
{
	struct binding b;
	int64_t rev2 = 0;

	node("n", "4", "4Gi", "110", NULL, 0);
	ready("n");
	start(0, NULL);
	pod("y", NULL, NULL, 0, NULL, NULL);
	assert_bound("y", "n");
	/* While the scheduler is down the pod is deleted and written again:
	 * after the restart it must see a new incarnation behind the old
	 * binding, drop that binding and bind the new pod. */
	th_proc_signal(P[0], SIGTERM);
	CK_EQ(th_proc_wait(P[0], 15), 0);
	del("pods", "y");
	rev2 = put("pods", "y", "{\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"busybox:2\"}]}}");
	CK_EQ(bindings_of("y", NULL), 1);
	start(1, NULL);
	for (double end = now() + 10;; pause_20ms()) {
		int n = bindings_of("y", &b);

		CK_LE(n, 1);
		if ((n == 1 && b.uid == rev2) || now() > end)
			break;
		free(b.value);
	}
	CK_EQ(b.uid, rev2);
	CK_MSG(strstr(b.value, "busybox:2"), "old copy: %s", b.value);
	free(b.value);
}
END_TEST

START_TEST(lease_gone)
{
	int64_t la;

	node("a", "4", "4Gi", "110", NULL, 0);
	node("b", "4", "4Gi", "110", NULL, 0);
	la = ready("a");
	ready("b");
	start(0, NULL);
	pod("first", NULL, NULL, 0, NULL, NULL);
	assert_bound("first", NULL);
	drop_lease(la);
	/* Leases and pods come on different watch streams: wait until the
	 * scheduler has seen the lease go. */
	for (double end = now() + 10; !th_proc_log_has(P[0], "node lease gone"); pause_20ms())
		CK_MSG(now() < end, "the scheduler never saw the lease go");
	for (int i = 0; i < 8; i++) {
		char name[16];

		snprintf(name, sizeof(name), "after%d", i);
		pod(name, NULL, NULL, 0, NULL, NULL);
	}
	for (int i = 0; i < 8; i++) {
		char name[16];

		snprintf(name, sizeof(name), "after%d", i);
		assert_bound(name, "b");
	}
	/* b not ready either: the event says why. */
	pod("none", NULL, NULL, 0, NULL, ",\"nodeSelector\":{\"x\":\"y\"}");
	assert_event("none", "FailedScheduling",
	             "0/2 nodes are available: 2 node(s) didn't match node selector, "
	             "1 node(s) were not ready.");
}
END_TEST

/* A heartbeat lease key (version 2: renewTime, leaseDurationSeconds 1) on
 * lease id; seq makes each write a renewal. */
static void
beat(const char *name, int64_t id, int seq)
{
	struct etcd_put_opts o = {.lease = id};
	struct etcd_result *r;
	char k[256], v[256];

	key(k, sizeof(k), "nodeleases", name);
	snprintf(v, sizeof(v),
	         "{\"metadata\":{\"name\":\"%s\"},\"spec\":{\"holderIdentity\":\"%s\",\"leaseDurationSeconds\":1,"
	         "\"renewTime\":\"2026-12-06T12:00:%02d.000000Z\"}}",
	         name, name, seq % 60);
	r = etcd_sync_put(S, k, v, strlen(v), &o);
	TU_OK(r);
	TU_FREE(r);
}

/* Node a's lease key stays (its etcd lease kept alive by someone) but is
 * no longer renewed: after 1 s + 1 s slack no pod goes there; a renewal
 * brings it back. */
START_TEST(heartbeat_stale)
{
	struct etcd_result *r;
	int64_t la;
	char k[256];

	node("a", "4", "4Gi", "110", "{\"name\":\"a\"}", 0);
	node("b", "4", "4Gi", "110", NULL, 0);
	r = etcd_sync_lease_grant(S, 60, 0);
	TU_OK(r);
	la = r->lease_id;
	TU_FREE(r);
	beat("a", la, 0);
	ready("b"); /* version 1: Ready while the key exists */
	start(0, NULL);
	for (double end = now() + 10; !th_proc_log_has(P[0], "node lease not renewed"); pause_20ms())
		CK_MSG(now() < end, "the scheduler never judged a's heartbeat stale");
	r = etcd_sync_lease_keepalive(S, la);
	TU_OK(r);
	TU_FREE(r);
	for (int i = 0; i < 6; i++) {
		char name[16];

		snprintf(name, sizeof(name), "after%d", i);
		pod(name, NULL, NULL, 0, NULL, NULL);
		assert_bound(name, "b");
	}
	pod("toa", NULL, NULL, 0, NULL, ",\"nodeSelector\":{\"name\":\"a\"}");
	assert_event("toa", "FailedScheduling", "1 node(s) were not ready");
	key(k, sizeof(k), "nodeleases", "a");
	r = etcd_sync_get(S, k);
	TU_OK(r);
	CK_EQ((int)r->nkvs, 1); /* the key is still there */
	TU_FREE(r);
	beat("a", la, 1);
	assert_bound("toa", "a");
}
END_TEST

/* Capacity comes from the agent's P/nodestatus/NODE when there is one,
 * not from P/nodes/NODE's status (version-1 data). */
START_TEST(nodestatus_capacity)
{
	node("n", "100", "100Gi", "110", NULL, 0);
	put("nodestatus", "n",
	    "{\"metadata\":{\"name\":\"n\"},\"status\":{\"capacity\":{\"cpu\":\"1\",\"memory\":\"1Gi\",\"pods\":\"110\"}}}");
	ready("n");
	start(0, NULL);
	pod("c1", "600m", NULL, 0, NULL, NULL);
	assert_bound("c1", "n");
	pod("c2", "600m", NULL, 0, NULL, NULL);
	assert_event("c2", "FailedScheduling", "0/1 nodes are available: 1 Insufficient cpu.");
	/* the status gone: the node key's capacity again */
	del("nodestatus", "n");
	assert_bound("c2", "n");
}
END_TEST

/* P/nodestatus/NODE as an agent writes it: what the node allows. */
static void
policy(const char *name, int privileged, const char *paths, const char *range)
{
	char v[512];

	snprintf(v, sizeof(v),
	         "{\"metadata\":{\"name\":\"%s\"},\"status\":{\"allowPrivileged\":%s,"
	         "\"allowedHostPaths\":%s,\"hostPortRange\":\"%s\"}}",
	         name, privileged ? "true" : "false", paths, range);
	put("nodestatus", name, v);
}

/* A pod goes only where the node's agent would run it (its published
 * --allow-privileged, --allow-host-path and --host-port-range); when no
 * node allows it the event names why, and a node that starts allowing it
 * takes it. */
START_TEST(node_policy)
{
	node("strict", "4", "4Gi", "110", NULL, 0);
	node("open", "4", "4Gi", "110", NULL, 0);
	node("old", "4", "4Gi", "110", NULL, 0); /* publishes nothing: not filtered */
	policy("strict", 0, "[]", "30000-32767");
	policy("open", 1, "[\"/srv\"]", "1-65535");
	ready("strict");
	ready("open");
	ready("old");
	start(0, NULL);
	for (int i = 0; i < 3; i++) {
		char name[16];

		snprintf(name, sizeof(name), "priv%d", i);
		pod(name, NULL, NULL, 0, NULL, ",\"hostPID\":true,\"nodeSelector\":{}");
		assert_bound(name, NULL);
		CK_MSG(strcmp(wait_bound(name, 1), "strict") != 0, "privileged pod %s bound to strict", name);
		snprintf(name, sizeof(name), "port%d", i);
		pod(name, NULL, NULL, 8080 + i, NULL, NULL);
		assert_bound(name, NULL);
		CK_MSG(strcmp(wait_bound(name, 1), "strict") != 0, "host port pod %s bound to strict", name);
	}
	node("old", "4", "4Gi", "110", NULL, 1);
	pod("etc", NULL, NULL, 0, NULL, ",\"volumes\":[{\"name\":\"h\",\"hostPath\":{\"path\":\"/etc\"}}]");
	pod("srv", NULL, NULL, 0, NULL,
	    ",\"volumes\":[{\"name\":\"h\",\"hostPath\":{\"path\":\"/srv/www\"}}],\"hostPID\":true");
	assert_bound("srv", NULL);
	CK_MSG(strcmp(wait_bound("srv", 1), "open") == 0, "hostPath pod not bound to open");
	assert_event("etc", "FailedScheduling",
	             "0/3 nodes are available: 2 node(s) didn't allow the pod's hostPath volumes (skiff-agent "
	             "--allow-host-path), 1 node(s) were unschedulable.");
	CK_EQ(bindings_of("etc", NULL), 0);
	policy("strict", 0, "[\"/\"]", "30000-32767");
	assert_bound("etc", "strict");
}
END_TEST

/* A pod bound before its node published what it allows: once the node
 * says it refuses the pod, the binding is given up and the pod placed on
 * a node that allows it. */
START_TEST(node_policy_moves_bound)
{
	node("first", "4", "4Gi", "110", NULL, 0);
	ready("first");
	start(0, NULL);
	pod("hp", NULL, NULL, 0, NULL, ",\"hostPID\":true");
	pod("plain", NULL, NULL, 0, NULL, NULL);
	assert_bound("hp", "first");
	assert_bound("plain", "first");
	node("second", "4", "4Gi", "110", NULL, 0);
	policy("second", 1, "[]", "1-65535");
	ready("second");
	policy("first", 0, "[]", "1-65535");
	for (double end = now() + 10; strcmp(wait_bound("hp", 0), "second") != 0; pause_20ms())
		CK_MSG(now() < end, "hp still bound to %s", wait_bound("hp", 0));
	CK_EQ(bindings_of("hp", NULL), 1);
	CK(th_proc_log_has(P[0], "the node's agent does not allow this pod"));
	CK_MSG(strcmp(wait_bound("plain", 0), "first") == 0, "plain moved to %s", wait_bound("plain", 0));
}
END_TEST

/* A node whose agent reports DiskPressure gets nothing new, as
 * Kubernetes' disk-pressure taint; when it clears the pod goes there. */
START_TEST(disk_pressure)
{
	const char *full = "{\"metadata\":{\"name\":\"n\"},\"status\":{\"capacity\":{\"cpu\":\"4\",\"memory\":"
			   "\"4Gi\",\"pods\":\"110\"},\"conditions\":[{\"type\":\"DiskPressure\",\"status\":"
			   "\"True\"}]}}";

	node("n", "4", "4Gi", "110", NULL, 0);
	put("nodestatus", "n", full);
	ready("n");
	start(0, NULL);
	pod("p", NULL, NULL, 0, NULL, NULL);
	assert_event("p", "FailedScheduling",
	             "0/1 nodes are available: 1 node(s) had untolerated taint {node.kubernetes.io/disk-pressure: }.");
	CK_EQ(bindings_of("p", NULL), 0);
	put("nodestatus", "n",
	    "{\"metadata\":{\"name\":\"n\"},\"status\":{\"capacity\":{\"cpu\":\"4\",\"memory\":\"4Gi\",\"pods\":"
	    "\"110\"},\"conditions\":[{\"type\":\"DiskPressure\",\"status\":\"False\"}]}}");
	assert_bound("p", "n");
}
END_TEST

START_TEST(invalid_pod)
{
	char k[256];
	struct etcd_result *r;

	node("n", "4", "4Gi", "110", NULL, 0);
	ready("n");
	start(0, NULL);
	key(k, sizeof(k), "pods", "bad");
	r = etcd_sync_put(S, k, "{\"spec\":{\"containers\":[{\"name\":\"c\"}]}}", 38, NULL);
	TU_OK(r);
	TU_FREE(r);
	put("pods", "junk", "{not json");
	pod("good", NULL, NULL, 0, NULL, NULL);
	assert_bound("good", "n");
	assert_event("bad", "Invalid", "image");
	assert_event("junk", "Invalid", "");
	CK_EQ(bindings_of("bad", NULL), 0);
	CK_EQ(bindings_of("junk", NULL), 0);
	CK(th_proc_running(P[0]));
	CK(th_proc_log_has(P[0], "pod=bad"));
}
END_TEST

/* ---- leadership and restarts ---- */

static int
bound_once(int n, const char *fmt)
{
	int total = 0;

	for (int i = 0; i < n; i++) {
		char name[32];
		int c;

		snprintf(name, sizeof(name), fmt, i);
		c = bindings_of(name, NULL);
		CK_MSG(c <= 1, "pod %s has %d bindings", name, c);
		total += c;
	}
	return total;
}

START_TEST(two_schedulers)
{
	node("a", "8", "8Gi", "110", NULL, 0);
	node("b", "8", "8Gi", "110", NULL, 0);
	ready("a");
	ready("b");
	start(0, NULL);
	start(1, NULL);
	for (int i = 0; i < 40; i++) {
		char name[32];

		snprintf(name, sizeof(name), "le-%d", i);
		pod(name, "10m", NULL, 0, NULL, NULL);
	}
	CK_EQ(wait_count("bindings", 40, 15), 0);
	CK_EQ(bound_once(40, "le-%d"), 40);
	CK_EQ(count("bindings"), 40);
	/* Exactly one leads; stopping it hands over at once (it resigns). */
	int l0 = th_proc_log_has(P[0], "became leader"), l1 = th_proc_log_has(P[1], "became leader");
	CK_MSG(l0 + l1 == 1, "leaders: %d + %d", l0, l1);
	th_proc_signal(P[l0 ? 0 : 1], SIGTERM);
	CK_EQ(th_proc_wait(P[l0 ? 0 : 1], 15), 0);
	for (int i = 40; i < 60; i++) {
		char name[32];

		snprintf(name, sizeof(name), "le-%d", i);
		pod(name, "10m", NULL, 0, NULL, NULL);
	}
	CK_EQ(wait_count("bindings", 60, 20), 0);
	CK_EQ(bound_once(60, "le-%d"), 60);
	CK_EQ(count("bindings"), 60);
}
END_TEST

START_TEST(kill_mid_burst)
{
	enum { N = 200 };
	int seen;

	node("a", "100", "100Gi", "1000", NULL, 0);
	node("b", "100", "100Gi", "1000", NULL, 0);
	node("c", "100", "100Gi", "1000", NULL, 0);
	ready("a");
	ready("b");
	ready("c");
	for (int i = 0; i < N; i++) {
		char name[32];

		snprintf(name, sizeof(name), "burst-%d", i);
		pod(name, "100m", "10Mi", 0, NULL, NULL);
	}
	/* Few binds in flight so that the kill lands mid-burst. */
	start(0, "--leader-elect=false", "--max-binds-in-flight=4", NULL);
	CK_EQ(wait_count("bindings", 20, 15), 0);
	th_proc_kill(P[0]);
	seen = count("bindings");
	CK_MSG(seen < N, "the burst was over before the kill (%d)", seen);
	start(1, "--leader-elect=false", NULL);
	CK_EQ(wait_count("bindings", N, 20), 0);
	CK_EQ(bound_once(N, "burst-%d"), N);
	CK_EQ(count("bindings"), N);
	/* Clean stop. */
	th_proc_signal(P[1], SIGTERM);
	CK_EQ(th_proc_wait(P[1], 15), 0);
}
END_TEST

/* A line "batched bind of N pods: B bound, C conflicts" with B and C > 0:
 * one request bound some pods while a stale one failed. */
static int
batch_split(const struct th_proc *p)
{
	char *log = th_proc_log(p), *at = log;
	unsigned n, b, c;
	int yes = 0;

	while (at && (at = strstr(at, "batched bind of ")) && !yes) {
		if (sscanf(at, "batched bind of %u pods: %u bound, %u conflicts", &n, &b, &c) == 3 && b > 0 && c > 0)
			yes = 1;
		at++;
	}
	free(log);
	return yes;
}

/* A child that rewrites pod name as fast as etcd takes it (each put is a
 * new mod revision), with a client of its own, until it is killed. */
static pid_t
rewriter(const char *name)
{
	struct etcd_config cfg;
	struct etcd_error err = {0};
	struct etcd_sync *s;
	char k[256], v[512];
	pid_t pid = fork();

	if (pid != 0)
		return pid;
	tu_config(E, &cfg);
	if (!(s = etcd_sync_new(&cfg, &err)))
		_exit(1);
	key(k, sizeof(k), "pods", name);
	snprintf(v, sizeof(v),
	         "{\"metadata\":{\"name\":\"%s\",\"labels\":{\"app\":\"t\"}},"
	         "\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"busybox\"}]}}",
	         name);
	for (;;)
		etcd_result_free(etcd_sync_put(s, k, v, strlen(v), NULL));
}

/* One round: hot-R is rewritten without pause by a child from before a
 * fresh scheduler starts until the N-1 cold-R-I pods are bound, so the
 * scheduler's copy of hot is stale when its first batch goes out. Returns
 * whether a batch was split (some bound, hot's conflict); a round whose
 * batch happened to read hot's latest revision binds all N, and the
 * caller tries again with new pods. */
static int
stale_round(int r, int n)
{
	char hot[32], fmt[32];
	double end;
	int split = 0;
	pid_t child;

	snprintf(hot, sizeof(hot), "hot-%d", r);
	snprintf(fmt, sizeof(fmt), "cold-%d-%%d", r);
	pod(hot, NULL, NULL, 0, NULL, NULL);
	for (int i = 0; i < n - 1; i++) {
		char name[32];

		snprintf(name, sizeof(name), "cold-%d-%d", r, i);
		pod(name, NULL, NULL, 0, NULL, NULL);
	}
	child = rewriter(hot);
	CK_MSG(child > 0, "fork failed");
	start(0, "--leader-elect=false", NULL);
	for (end = now() + 20; now() < end; pause_20ms())
		if ((split = batch_split(P[0])) || bound_once(n - 1, fmt) == n - 1)
			break;
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	/* Left alone, hot is bound too, once. */
	assert_bound(hot, "a");
	CK_EQ(bindings_of(hot, NULL), 1);
	th_proc_signal(P[0], SIGTERM);
	CK_EQ(th_proc_wait(P[0], 15), 0);
	th_proc_free(P[0], !split);
	P[0] = NULL;
	return split;
}

/* A burst goes out as batched binds; the pod "hot", rewritten all the
 * time, is stale in its batch: it fails alone and the others are bound. */
START_TEST(batch_stale_pod)
{
	enum { N = 32, ROUNDS = 5 };
	int r, ok = 0;

	node("a", "100", "100Gi", "1000", NULL, 0);
	ready("a");
	for (r = 0; r < ROUNDS && !ok; r++)
		ok = stale_round(r, N);
	CK_MSG(ok, "in %d rounds no batch bound its pods while a stale one failed", ROUNDS);
	for (int i = 0; i < r; i++) {
		char fmt[32];

		snprintf(fmt, sizeof(fmt), "cold-%d-%%d", i);
		CK_EQ(bound_once(N - 1, fmt), N - 1);
	}
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("scheduler");
	TCase *f = tcase_create("filters"), *sc = tcase_create("scores"), *k = tcase_create("bindings"),
	      *l = tcase_create("leadership");
	TCase *all[] = {f, sc, k, l};

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		tcase_add_unchecked_fixture(all[i], suite_setup, suite_teardown);
		tcase_add_checked_fixture(all[i], setup, teardown);
		tcase_set_timeout(all[i], 60);
		suite_add_tcase(s, all[i]);
	}
	tcase_add_test(f, fits_nowhere);
	tcase_add_test(f, node_selector);
	tcase_add_test(f, host_ports);
	tcase_add_test(f, capacity_pods);
	tcase_add_test(f, capacity_cpu_memory);
	tcase_add_test(f, unschedulable_node);
	tcase_add_test(f, node_change_wakes_pod);
	tcase_add_test(f, nodestatus_capacity);
	tcase_add_test(f, node_policy);
	tcase_add_test(f, node_policy_moves_bound);
	tcase_add_test(f, disk_pressure);
	tcase_add_test(f, sampled_nodes);
	tcase_add_test(sc, spread_owner);
	tcase_add_test(sc, spread_service);
	tcase_add_test(sc, least_requested);
	tcase_add_test(k, delete_and_recreate);
	tcase_add_test(k, replaced_incarnation);
	tcase_add_test(k, lease_gone);
	tcase_add_test(k, heartbeat_stale);
	tcase_add_test(k, invalid_pod);
	tcase_add_test(k, batch_stale_pod);
	tcase_add_test(l, two_schedulers);
	tcase_add_test(l, kill_mid_burst);
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
