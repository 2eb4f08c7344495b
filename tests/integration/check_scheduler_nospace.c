/*
 * check_scheduler_nospace.c: a component meets etcd out of space and
 * recovers by itself (issue 22 item 2). A real etcd with a small
 * --quota-backend-bytes is filled until its NOSPACE alarm refuses writes;
 * a real skiff-scheduler then fails to bind a pod: it says so once (not
 * once per failed write), keeps running, and binds the pod without a
 * restart once the operator has deleted data, compacted, defragmented and
 * disarmed the alarm, saying that too.
 */
#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "etcd_harness.h"
#include "etcd_testutil.h"
#include "th_proc.h"

#define BIN (getenv("SKIFF_SCHEDULER_BIN") ? getenv("SKIFF_SCHEDULER_BIN") : "build/bin/skiff-scheduler")
#define PFX "/nospace"
#define WARN_TEXT "etcd refuses writes"

static struct th_etcd *E;
static struct etcd_sync *S;
static struct th_proc *P;

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
put(const char *key, const char *val)
{
	struct etcd_result *r = etcd_sync_put(S, key, val, strlen(val), NULL);

	TU_OK(r);
	TU_FREE(r);
}

/* Put big values until etcd refuses one for lack of space: 1 when it did. */
static int
fill(void)
{
	static char big[256 * 1024 + 1];
	char key[64];

	memset(big, 'x', sizeof(big) - 1);
	for (int i = 0; i < 200; i++) {
		struct etcd_result *r;
		int full;

		snprintf(key, sizeof(key), "/fill/%03d", i);
		r = etcd_sync_put(S, key, big, sizeof(big) - 1, NULL);
		full = r && r->err.code == ETCD_ENOSPACE;
		etcd_result_free(r);
		if (full)
			return 1;
	}
	return 0;
}

/* How many times the scheduler's log has needle. */
static int
log_count(const char *needle)
{
	char *log = th_proc_log(P), *at = log;
	int n = 0;

	while (at && (at = strstr(at, needle))) {
		n++;
		at += strlen(needle);
	}
	free(log);
	return n;
}

static int
wait_log(const char *needle, double timeout)
{
	double end = now() + timeout;

	while (now() < end) {
		if (log_count(needle) > 0)
			return 0;
		usleep(50 * 1000);
	}
	return -1;
}

static int
bound(void)
{
	struct etcd_range_opts o = {.prefix = 1, .count_only = 1};
	struct etcd_result *r = etcd_sync_range(S, PFX "/bindings/", &o);
	int n = r && r->err.code == ETCD_OK ? (int)r->count : -1;

	etcd_result_free(r);
	return n;
}

/* What an operator does (docs/troubleshooting.md): delete, compact,
 * defragment, disarm. */
static void
make_room(void)
{
	struct etcd_delete_opts d = {.prefix = 1};
	struct etcd_result *r = etcd_sync_delete(S, "/fill/", &d);
	char body[256], *resp = NULL;
	json_t *j, *a;
	size_t i;

	TU_OK(r);
	snprintf(body, sizeof(body), "{\"revision\": %lld, \"physical\": true}", (long long)r->revision);
	TU_FREE(r);
	ck_assert_int_eq(th_etcd_post(E, 0, "/v3/kv/compaction", body, NULL), 200);
	ck_assert_int_eq(th_etcd_post(E, 0, "/v3/maintenance/defragment", "{}", NULL), 200);
	ck_assert_int_eq(th_etcd_post(E, 0, "/v3/maintenance/alarm", "{\"action\": \"GET\"}", &resp), 200);
	j = json_loads(resp, 0, NULL);
	free(resp);
	json_array_foreach(json_object_get(j, "alarms"), i, a) {
		snprintf(body, sizeof(body),
		         "{\"action\": \"DEACTIVATE\", \"memberID\": \"%s\", \"alarm\": \"NOSPACE\"}",
		         json_string_value(json_object_get(a, "memberID")));
		ck_assert_int_eq(th_etcd_post(E, 0, "/v3/maintenance/alarm", body, NULL), 200);
	}
	json_decref(j);
}

START_TEST(scheduler_rides_out_nospace)
{
	char ep[512];
	char *argv[] = {"skiff-scheduler", ep, "--prefix=" PFX, "--leader-elect=false", NULL};
	struct etcd_result *r = etcd_sync_lease_grant(S, 600, 0);
	struct etcd_put_opts lo = {0};
	const char *lease = "{\"metadata\":{\"name\":\"a\"},\"spec\":{\"holderIdentity\":\"a\"}}";

	TU_OK(r);
	lo.lease = r->lease_id;
	TU_FREE(r);
	put(PFX "/nodes/a", "{\"metadata\":{\"name\":\"a\"},\"status\":{\"capacity\":{\"cpu\":\"8\",\"memory\":\"8Gi\","
	                    "\"pods\":\"110\"}}}");
	r = etcd_sync_put(S, PFX "/nodeleases/a", lease, strlen(lease), &lo);
	TU_OK(r);
	TU_FREE(r);
	put(PFX "/pods/web", "{\"metadata\":{\"name\":\"web\"},\"spec\":{\"containers\":[{\"name\":\"c\","
	                     "\"image\":\"busybox\"}]}}");
	ck_assert_msg(fill(), "etcd never ran out of space");

	snprintf(ep, sizeof(ep), "--etcd-endpoints=%s", th_etcd_endpoints(E));
	P = th_proc_start(BIN, argv, NULL);
	ck_assert_ptr_nonnull(P);
	ck_assert_msg(wait_log(WARN_TEXT, 20) == 0, "the scheduler never said etcd is out of space");
	ck_assert_int_eq(bound(), 0);
	/* Binds keep failing; the warning is not repeated within the minute. */
	ck_assert_int_ne(wait_log("accepts writes again", 3), 0);
	ck_assert_int_eq(log_count(WARN_TEXT), 1);
	ck_assert(th_proc_running(P));

	make_room();
	ck_assert_msg(wait_log("accepts writes again", 20) == 0, "the scheduler never saw the alarm go");
	for (double end = now() + 20; bound() < 1 && now() < end;)
		usleep(50 * 1000);
	ck_assert_int_eq(bound(), 1);
	ck_assert(th_proc_running(P));
}
END_TEST

static void
setup(void)
{
	static const char *const extra[] = {"--quota-backend-bytes=4194304", NULL};
	struct th_etcd_opts o = {.extra_args = extra};
	struct etcd_config cfg;
	struct etcd_error err = {0};

	E = th_etcd_start(1, &o);
	ck_assert_ptr_nonnull(E);
	tu_config(E, &cfg);
	S = etcd_sync_new(&cfg, &err);
	ck_assert_ptr_nonnull(S);
}

static void
teardown(void)
{
	if (P) {
		char *log = th_proc_log(P);

		if (getenv("SKIFF_TEST_VERBOSE"))
			fprintf(stderr, "%s", log ? log : "");
		free(log);
		th_proc_free(P, 0);
		P = NULL;
	}
	etcd_sync_free(S);
	th_etcd_free(E);
}

int
main(void)
{
	Suite *s = suite_create("nospace");
	TCase *t = tcase_create("nospace");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(t, setup, teardown);
	tcase_set_timeout(t, 120);
	tcase_add_test(t, scheduler_rides_out_nospace);
	suite_add_tcase(s, t);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
