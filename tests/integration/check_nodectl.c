/*
 * check_nodectl.c: skiff-node-controller (the real binary) against a real
 * etcd, with --eviction-timeout 2s. The test plays the agents: it writes
 * nodes, node leases, bindings and pod status, and deletes a lease to make
 * a node NotReady. One etcd for the suite; each test has its own --prefix.
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
	tcase_add_test(limits, test_full_disruption_evicts_nothing);
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
