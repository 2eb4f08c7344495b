/*
 * check_nodectl.c: skiff-node-controller (the real binary) against a real
 * etcd, with --eviction-timeout 2s. The test plays the agents: it writes
 * nodes, node statuses, node leases (version 1: by existence; version 2:
 * heartbeats), subnets, bindings and pod status, and deletes a lease or
 * stops renewing it to make a node NotReady. One etcd for the suite; each
 * test has its own --prefix.
 */
#include <check.h>
#include <ev.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "etcd_harness.h"
#include "etcd_testutil.h"
#include "th_proc.h"

#define NC_BIN "build/bin/skiff-node-controller"

static struct th_etcd *E;
static struct ev_loop *L;
static struct etcd_sync *S;
static struct th_proc *CUR;
static char P[64];

#define WAIT(cond, arg, t)                                                                      \
	do {                                                                                    \
		if (th_wait(L, (cond), (arg), (t)) != 0) {                                      \
			th_proc_free(CUR, 1);                                                   \
			ck_abort_msg("timed out after %gs waiting for %s", (double)(t), #cond); \
		}                                                                               \
	} while (0)

static void
setup_suite(void)
{
	E = th_etcd_start(1, NULL);
	ck_assert_ptr_nonnull(E);
}

static void
teardown_suite(void)
{
	th_etcd_free(E);
}

static void
setup(void)
{
	struct etcd_config cfg;
	struct etcd_error err = {0};

	snprintf(P, sizeof(P), "/n%d", (int)getpid());
	L = ev_loop_new(EVFLAG_AUTO);
	tu_config(E, &cfg);
	S = etcd_sync_new(&cfg, &err);
	ck_assert_msg(S != NULL, "%s", err.msg);
}

static void
teardown(void)
{
	etcd_sync_free(S);
	ev_loop_destroy(L);
}

static struct th_proc *
start_nc(void)
{
	char ep[512], pfx[96];
	char *argv[] = {"skiff-node-controller", ep,  pfx, "--eviction-timeout=2s", "--eviction-rate=10",
	                "--log-level=debug",     NULL};

	snprintf(ep, sizeof(ep), "--etcd-endpoints=%s", th_etcd_endpoints(E));
	snprintf(pfx, sizeof(pfx), "--prefix=%s", P);
	CUR = th_proc_start(NC_BIN, argv, NULL);
	ck_assert_ptr_nonnull(CUR);
	return CUR;
}

static void
put(const char *rest, const char *json)
{
	char key[256];

	snprintf(key, sizeof(key), "%s/%s", P, rest);
	ck_assert_int_gt(tu_put(S, key, json), 0);
}

static void
del(const char *rest)
{
	char key[256];
	struct etcd_result *r;

	snprintf(key, sizeof(key), "%s/%s", P, rest);
	r = etcd_sync_delete(S, key, NULL);
	TU_OK(r);
	etcd_result_free(r);
}

static int
count(const char *dir)
{
	char key[256];
	struct etcd_range_opts o = {.prefix = 1, .count_only = 1};
	struct etcd_result *r;
	int n;

	snprintf(key, sizeof(key), "%s/%s", P, dir);
	r = etcd_sync_range(S, key, &o);
	TU_OK(r);
	n = (int)r->count;
	etcd_result_free(r);
	return n;
}

/* A node with its lease and `pods` bindings and statuses. */
static void
add_node(const char *node, int pods)
{
	char k[128], v[512];

	snprintf(k, sizeof(k), "nodes/%s", node);
	snprintf(
		v, sizeof(v),
		"{\"metadata\":{\"name\":\"%s\"},\"status\":{\"capacity\":{\"cpu\":\"2\",\"memory\":\"4Gi\",\"pods\":\"110\"}}}",
		node);
	put(k, v);
	snprintf(k, sizeof(k), "nodeleases/%s", node);
	snprintf(v, sizeof(v), "{\"metadata\":{\"name\":\"%s\"},\"spec\":{\"holderIdentity\":\"%s\"}}", node, node);
	put(k, v);
	for (int i = 0; i < pods; i++) {
		char pod[64];

		snprintf(pod, sizeof(pod), "%s-pod%d", node, i);
		snprintf(k, sizeof(k), "bindings/%s/%s", node, pod);
		snprintf(v, sizeof(v),
		         "{\"node\":\"%s\",\"pod\":{\"metadata\":{\"name\":\"%s\",\"uid\":\"%d\"},"
		         "\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"x\"}]}}}",
		         node, pod, 10 + i);
		put(k, v);
		snprintf(k, sizeof(k), "podstatus/%s/%s", node, pod);
		snprintf(v, sizeof(v), "{\"uid\":\"%d\",\"phase\":\"Running\"}", 10 + i);
		put(k, v);
	}
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
log_has(void *arg)
{
	return th_proc_log_has(CUR, arg);
}

static int
evicted(void *arg)
{
	const char *node = arg;
	char b[128], s[128];

	snprintf(b, sizeof(b), "bindings/%s/", node);
	snprintf(s, sizeof(s), "podstatus/%s/", node);
	return count(b) == 0 && count(s) == 0;
}

static int
has_event(void *arg)
{
	char dir[128];

	snprintf(dir, sizeof(dir), "events/nodes/%s/", (const char *)arg);
	return count(dir) > 0;
}

START_TEST(test_evicts_after_timeout)
{
	double t0, took;

	add_node("m1", 3);
	add_node("m2", 2);
	start_nc();
	WAIT(log_has, "became leader", 10);
	t0 = now();
	del("nodeleases/m1");
	/* NotReady is reported at once; nothing is deleted before 2 s. */
	WAIT(has_event, "m1", 5);
	ck_assert_int_eq(count("bindings/m1/"), 3);
	WAIT(evicted, "m1", 10);
	took = now() - t0;
	ck_assert_msg(took >= 1.9, "evicted after %.2fs, before the 2s timeout", took);
	ck_assert_int_eq(count("bindings/m2/"), 2);
	ck_assert_int_eq(count("podstatus/m2/"), 2);
	ck_assert(th_proc_log_has(CUR, "evicting its pods"));
	th_proc_signal(CUR, SIGTERM);
	ck_assert_int_eq(th_proc_wait(CUR, 15), 0);
	th_proc_free(CUR, 0);
}
END_TEST

START_TEST(test_lease_back_in_time)
{
	add_node("m1", 2);
	add_node("m2", 1);
	start_nc();
	WAIT(log_has, "became leader", 10);
	del("nodeleases/m1");
	WAIT(has_event, "m1", 5);
	/* The agent comes back before the timeout: nothing is evicted. */
	put("nodeleases/m1", "{\"metadata\":{\"name\":\"m1\"}}");
	WAIT(log_has, "Ready again", 5);
	th_wait(L, NULL, NULL, 2.5); /* past the timeout: a time window, not a sync */
	ck_assert_int_eq(count("bindings/m1/"), 2);
	th_proc_free(CUR, 0);
}
END_TEST

START_TEST(test_full_disruption_evicts_nothing)
{
	add_node("m1", 2);
	add_node("m2", 2);
	start_nc();
	WAIT(log_has, "became leader", 10);
	del("nodeleases/m1");
	del("nodeleases/m2");
	WAIT(log_has, "full disruption", 5);
	th_wait(L, NULL, NULL, 3.0); /* past the timeout: a time window, not a sync */
	ck_assert_int_eq(count("bindings/"), 4);
	ck_assert_int_eq(count("podstatus/"), 4);
	/* One node back: the other is evicted. */
	put("nodeleases/m2", "{\"metadata\":{\"name\":\"m2\"}}");
	WAIT(evicted, "m1", 10);
	ck_assert_int_eq(count("bindings/m2/"), 2);
	th_proc_free(CUR, 0);
}
END_TEST

START_TEST(test_restart_counts_from_start)
{
	double t0, took;

	add_node("m1", 2);
	add_node("m2", 1);
	del("nodeleases/m1"); /* gone before the controller starts */
	t0 = now();
	start_nc();
	WAIT(evicted, "m1", 15);
	took = now() - t0;
	ck_assert_msg(took >= 1.9, "evicted after %.2fs, before the 2s timeout", took);
	ck_assert_int_eq(count("bindings/m2/"), 1);
	th_proc_free(CUR, 0);
}
END_TEST

/* The value of P/<rest>, new (free()), or NULL when absent. */
static char *
get(const char *rest)
{
	char key[256], *v = NULL;
	struct etcd_result *r;

	snprintf(key, sizeof(key), "%s/%s", P, rest);
	r = etcd_sync_get(S, key);
	TU_OK(r);
	if (r->nkvs == 1)
		v = strdup(r->kvs[0].value);
	etcd_result_free(r);
	return v;
}

static int
exists(void *arg)
{
	char *v = get(arg);

	free(v);
	return v != NULL;
}

/* "NODE/REASON": an event of that reason on node NODE. */
static int
event_reason(void *arg)
{
	char node[64], dir[128], *slash;
	struct etcd_range_opts o = {.prefix = 1};
	struct etcd_result *r;
	int found = 0;

	snprintf(node, sizeof(node), "%s", (const char *)arg);
	slash = strchr(node, '/');
	*slash = '\0';
	snprintf(dir, sizeof(dir), "%s/events/nodes/%s/", P, node);
	r = etcd_sync_range(S, dir, &o);
	TU_OK(r);
	for (size_t i = 0; i < r->nkvs && !found; i++)
		found = strstr(r->kvs[i].value, slash + 1) != NULL;
	etcd_result_free(r);
	return found;
}

static void
put_status(const char *node, const char *ip, const char *labels)
{
	char k[128], v[512];

	snprintf(k, sizeof(k), "nodestatus/%s", node);
	snprintf(v, sizeof(v),
	         "{\"metadata\":{\"name\":\"%s\",\"labels\":{%s}},\"status\":{\"capacity\":{\"cpu\":\"2\"},"
	         "\"addresses\":[{\"type\":\"InternalIP\",\"address\":\"%s\"}],\"agentVersion\":\"test\"}}",
	         node, labels, ip);
	put(k, v);
}

/* An agent's status makes the node key (without the restricted label,
 * reported) and an aligned /24 subnet with the node's address appear. */
START_TEST(test_registers_and_allocates)
{
	char *v;

	put_status("m1", "192.168.50.11", "\"tier\":\"web\",\"node-restriction.skiff.io/pci\":\"true\"");
	start_nc();
	WAIT(exists, "nodes/m1", 10);
	v = get("nodes/m1");
	ck_assert_ptr_nonnull(strstr(v, "\"tier\":\"web\""));
	ck_assert_ptr_null(strstr(v, "node-restriction"));
	ck_assert_ptr_nonnull(strstr(v, "\"unschedulable\":false"));
	free(v);
	WAIT(event_reason, "m1/RestrictedLabel", 5);
	WAIT(exists, "network/subnets/m1", 10);
	v = get("network/subnets/m1");
	ck_assert_str_eq(v, "{\"hostIP\":\"192.168.50.11\",\"subnet\":\"10.244.1.0/24\"}");
	free(v);
	/* a second node gets the next block; an admin's node key is kept */
	put("nodes/m2", "{\"metadata\":{\"name\":\"m2\",\"labels\":{\"node-restriction.skiff.io/pci\":\"true\"}}}");
	put_status("m2", "192.168.50.12", "\"tier\":\"db\"");
	WAIT(exists, "network/subnets/m2", 10);
	v = get("network/subnets/m2");
	ck_assert_str_eq(v, "{\"hostIP\":\"192.168.50.12\",\"subnet\":\"10.244.2.0/24\"}");
	free(v);
	v = get("nodes/m2");
	ck_assert_ptr_nonnull(strstr(v, "node-restriction.skiff.io/pci"));
	ck_assert_ptr_null(strstr(v, "tier"));
	free(v);
	th_proc_signal(CUR, SIGTERM);
	ck_assert_int_eq(th_proc_wait(CUR, 15), 0);
	th_proc_free(CUR, 0);
}
END_TEST

/* "KEY|NEEDLE": P/KEY exists and holds NEEDLE. */
static int
holds(void *arg)
{
	char key[128], *bar, *v;
	int found;

	snprintf(key, sizeof(key), "%s", (const char *)arg);
	bar = strchr(key, '|');
	*bar = '\0';
	v = get(key);
	found = v && strstr(v, bar + 1);
	free(v);
	return found;
}

/* vxlan: the subnet entry gets the node's publicIP at once and its VTEP
 * MAC once the agent reports it (and again when it changes); nothing else
 * of the entry changes. */
START_TEST(test_vxlan_backend_data)
{
	char *v;

	put("network/config", "{\"backend\":{\"type\":\"vxlan\"}}");
	put_status("m1", "192.168.50.11", "");
	start_nc();
	WAIT(exists, "network/subnets/m1", 10);
	v = get("network/subnets/m1");
	ck_assert_str_eq(v,
	                 "{\"hostIP\":\"192.168.50.11\",\"publicIP\":\"192.168.50.11\",\"subnet\":\"10.244.1.0/24\"}");
	free(v);
	put("nodestatus/m1", "{\"metadata\":{\"name\":\"m1\"},\"status\":{\"addresses\":[{\"type\":\"InternalIP\","
	                     "\"address\":\"192.168.50.11\"}],\"backendData\":{\"vtepMAC\":\"0a:58:0a:f4:01:00\"}}}");
	WAIT(holds, "network/subnets/m1|\"vtepMAC\":\"0a:58:0a:f4:01:00\"", 10);
	put("nodestatus/m1", "{\"metadata\":{\"name\":\"m1\"},\"status\":{\"addresses\":[{\"type\":\"InternalIP\","
	                     "\"address\":\"192.168.50.11\"}],\"backendData\":{\"vtepMAC\":\"0a:58:0a:f4:01:01\"}}}");
	WAIT(holds, "network/subnets/m1|\"vtepMAC\":\"0a:58:0a:f4:01:01\"", 10);
	v = get("network/subnets/m1");
	ck_assert_str_eq(v, "{\"backendData\":{\"vtepMAC\":\"0a:58:0a:f4:01:01\"},\"hostIP\":\"192.168.50.11\","
	                    "\"publicIP\":\"192.168.50.11\",\"subnet\":\"10.244.1.0/24\"}");
	free(v);
	th_proc_signal(CUR, SIGTERM);
	ck_assert_int_eq(th_proc_wait(CUR, 15), 0);
	th_proc_free(CUR, 0);
}
END_TEST

/* Two version-1 claims of one subnet: the older keeps it, the younger is
 * reported, and both keys stay as they are. */
START_TEST(test_overlapping_subnets_oldest_wins)
{
	put("network/subnets/zz", "{\"subnet\":\"10.244.3.0/24\",\"hostIP\":\"192.168.50.21\"}");
	put("network/subnets/aa", "{\"subnet\":\"10.244.3.0/24\",\"hostIP\":\"192.168.50.22\"}");
	put("network/subnets/bb", "{\"subnet\":\"10.244.4.7/32\",\"hostIP\":\"192.168.50.23\"}");
	start_nc();
	WAIT(event_reason, "aa/SubnetConflict", 10);
	WAIT(event_reason, "bb/InvalidSubnet", 5);
	ck_assert(!event_reason("zz/Subnet"));
	ck_assert_int_eq(count("network/subnets/"), 3);
	th_proc_signal(CUR, SIGTERM);
	ck_assert_int_eq(th_proc_wait(CUR, 15), 0);
	th_proc_free(CUR, 0);
}
END_TEST

static int
subnets_are(void *arg)
{
	return count("network/subnets/") == *(const int *)arg;
}

/* More nodes waiting for a subnet at once than one transaction may hold
 * (etcd's --max-txn-ops, 128): every one gets its subnet, in batches. */
START_TEST(test_many_nodes_at_once)
{
	static const int n = 200; /* the default podCIDR, a /16, has 255 /24s */
	char node[32], ip[32];

	for (int i = 0; i < n; i++) {
		snprintf(node, sizeof(node), "m%d", i);
		snprintf(ip, sizeof(ip), "192.168.50.%d", 10 + i);
		put_status(node, ip, "");
	}
	start_nc();
	WAIT(subnets_are, (void *)&n, 30);
	ck_assert(!th_proc_log_has(CUR, "more than 128 operations"));
	th_proc_free(CUR, 0);
}
END_TEST

/* A node whose InternalIP is loopback: registered, no subnet, a Warning. */
START_TEST(test_invalid_hostip_no_subnet)
{
	put_status("m1", "127.0.0.1", "");
	put_status("m2", "10.0.0.7", ""); /* inside the default serviceCIDR */
	start_nc();
	WAIT(event_reason, "m1/InvalidHostIP", 10);
	WAIT(event_reason, "m2/InvalidHostIP", 5);
	WAIT(exists, "nodes/m1", 5);
	ck_assert_int_eq(count("network/subnets/"), 0);
	th_proc_free(CUR, 0);
}
END_TEST

/* Heartbeats: m2's agent renews its lease key every 0.25 s; m1's key stays
 * (its etcd lease kept alive by someone else) but is not renewed. */
struct beats {
	int64_t lease; /* m1's etcd lease */
	double next_renew, next_keepalive;
	int n;
};

static void
put_beat(const char *node, int n, int64_t lease)
{
	char key[128], v[256];
	struct etcd_put_opts o = {.lease = lease};
	struct etcd_result *r;

	snprintf(key, sizeof(key), "%s/nodeleases/%s", P, node);
	snprintf(v, sizeof(v),
	         "{\"metadata\":{\"name\":\"%s\"},\"spec\":{\"holderIdentity\":\"%s\",\"leaseDurationSeconds\":1,"
	         "\"renewTime\":\"2026-12-06T12:00:%02d.000000Z\"}}",
	         node, node, n % 60);
	r = etcd_sync_put(S, key, v, strlen(v), &o);
	TU_OK(r);
	etcd_result_free(r);
}

static void
beat(struct beats *b)
{
	struct etcd_result *r;

	if (now() >= b->next_renew) {
		put_beat("m2", ++b->n, 0);
		b->next_renew = now() + 0.25;
	}
	if (now() >= b->next_keepalive) {
		r = etcd_sync_lease_keepalive(S, b->lease);
		TU_OK(r);
		etcd_result_free(r);
		b->next_keepalive = now() + 1.0;
	}
}

static int
beat_until_evicted(void *arg)
{
	beat(arg);
	return evicted("m1");
}

static int
beat_until_log(void *arg)
{
	beat(arg);
	return th_proc_log_has(CUR, "became leader");
}

START_TEST(test_kept_alive_but_stale_is_evicted)
{
	struct beats b = {0};
	struct etcd_result *r;
	double t0, took;

	add_node("m1", 2);
	add_node("m2", 1);
	r = etcd_sync_lease_grant(S, 30, 0);
	TU_OK(r);
	b.lease = r->lease_id;
	etcd_result_free(r);
	put_beat("m1", 0, b.lease);
	put_beat("m2", 0, 0);
	start_nc();
	if (th_wait(L, beat_until_log, &b, 10) != 0)
		ck_abort_msg("no leadership");
	t0 = now();
	/* m1 counts as renewed at the start: stale after 1 s + 1 s slack,
	 * evicted 2 s later. */
	if (th_wait(L, beat_until_evicted, &b, 10) != 0) {
		th_proc_free(CUR, 1);
		ck_abort_msg("m1 not evicted within 10 s");
	}
	took = now() - t0;
	ck_assert_msg(took >= 1.9, "evicted after %.2fs, before the timeout", took);
	ck_assert(exists("nodeleases/m1")); /* the key is still there: its lease was kept alive */
	ck_assert_int_eq(count("bindings/m2/"), 1);
	ck_assert(th_proc_log_has(CUR, "not renewed"));
	th_proc_free(CUR, 0);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("nodectl");
	TCase *core = tcase_create("core"), *limits = tcase_create("limits");

	tcase_add_unchecked_fixture(core, setup_suite, teardown_suite);
	tcase_add_unchecked_fixture(limits, setup_suite, teardown_suite);
	tcase_add_checked_fixture(core, setup, teardown);
	tcase_add_checked_fixture(limits, setup, teardown);
	tcase_set_timeout(core, 60);
	tcase_set_timeout(limits, 60);
	tcase_add_test(core, test_evicts_after_timeout);
	tcase_add_test(core, test_lease_back_in_time);
	tcase_add_test(core, test_restart_counts_from_start);
	tcase_add_test(core, test_registers_and_allocates);
	tcase_add_test(core, test_vxlan_backend_data);
	tcase_add_test(core, test_kept_alive_but_stale_is_evicted);
	tcase_add_test(limits, test_full_disruption_evicts_nothing);
	tcase_add_test(limits, test_overlapping_subnets_oldest_wins);
	tcase_add_test(limits, test_invalid_hostip_no_subnet);
	tcase_add_test(limits, test_many_nodes_at_once);
	suite_add_tcase(s, core);
	suite_add_tcase(s, limits);
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
