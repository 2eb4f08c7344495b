/*
 * check_agent_steady.c: plan_status_started (agent_plan_status.c), which
 * lets a periodic pass of a pod at rest take its containers' start times
 * from the status the agent wrote instead of inspecting them: all or
 * nothing, only for running containers under the IDs the status names as
 * running, and the round trip through the status value gives back the
 * same bytes.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "node-agent/agent_plan.h"

#define APP_ID "aaaa000000000000000000000000000000000000000000000000000000000001"
#define POD_ID "bbbb000000000000000000000000000000000000000000000000000000000002"

static const char STATUS[] =
	"{\"uid\":\"7\",\"phase\":\"Running\",\"podIP\":\"10.1.0.5\",\"startTime\":\"2026-12-07T10:00:00Z\","
	"\"containerStatuses\":[{\"name\":\"web\",\"ready\":true,\"restartCount\":2,\"image\":\"x\","
	"\"containerID\":\"docker://" APP_ID "\",\"state\":{\"running\":{\"startedAt\":\"2026-12-07T10:00:03Z\"}}}]}";

static const char WAITING[] =
	"{\"uid\":\"7\",\"phase\":\"Running\",\"podIP\":\"10.1.0.5\",\"startTime\":\"2026-12-07T10:00:00Z\","
	"\"containerStatuses\":[{\"name\":\"web\",\"ready\":false,\"restartCount\":2,\"image\":\"x\","
	"\"containerID\":\"docker://" APP_ID "\",\"state\":{\"waiting\":{\"reason\":\"CrashLoopBackOff\"}}}]}";

static struct api_pod_status *
status_of(const char *json)
{
	struct api_errors errs = {0};
	struct api_pod_status *st = api_pod_status_parse(json, strlen(json), &errs);

	ck_assert_msg(st != NULL, "%s: %s", errs.n ? errs.items[0].field : "", errs.n ? errs.items[0].msg : "");
	api_errors_clear(&errs);
	return st;
}

/* Snapshots as a list makes them: the sandbox (with ip, or none) and the app. */
static void
snaps(struct snap s[2], const char *app_id, int app_running, const char *ip)
{
	memset(s, 0, 2 * sizeof(*s));
	s[0].id = strdup(POD_ID);
	s[0].ctr = strdup(INFRA_NAME);
	s[0].running = 1;
	s[0].ip = ip ? strdup(ip) : NULL;
	s[1].id = strdup(app_id);
	s[1].ctr = strdup("web");
	s[1].running = app_running;
}

static void
clear(struct snap s[2])
{
	snap_clear(&s[0]);
	snap_clear(&s[1]);
}

START_TEST(test_fills_all)
{
	struct api_pod_status *st = status_of(STATUS);
	struct snap s[2];

	snaps(s, APP_ID, 1, NULL);
	ck_assert_int_eq(plan_status_started(s, 2, st), 1);
	ck_assert_str_eq(s[0].started_at, "2026-12-07T10:00:00Z");
	ck_assert_str_eq(s[0].ip, "10.1.0.5"); /* the list had none: the status's podIP */
	ck_assert_str_eq(s[1].started_at, "2026-12-07T10:00:03Z");
	ck_assert_ptr_null(s[1].ip);
	clear(s);
	snaps(s, APP_ID, 1, "10.1.0.9"); /* the list's IP stands */
	ck_assert_int_eq(plan_status_started(s, 2, st), 1);
	ck_assert_str_eq(s[0].ip, "10.1.0.9");
	clear(s);
	api_pod_status_free(st);
}
END_TEST

/* Another ID, a container not running, no row, a row not running: the
 * pass inspects, and nothing was filled in. */
START_TEST(test_all_or_nothing)
{
	struct api_pod_status *st = status_of(STATUS), *waiting = status_of(WAITING);
	struct snap s[2];

	snaps(s, "cccc000000000000000000000000000000000000000000000000000000000003", 1, NULL);
	ck_assert_int_eq(plan_status_started(s, 2, st), 0);
	ck_assert_ptr_null(s[0].started_at);
	ck_assert_ptr_null(s[0].ip);
	clear(s);
	snaps(s, APP_ID, 0, NULL);
	ck_assert_int_eq(plan_status_started(s, 2, st), 0);
	ck_assert_ptr_null(s[0].started_at);
	clear(s);
	snaps(s, APP_ID, 1, NULL);
	free(s[1].ctr);
	s[1].ctr = strdup("sidecar");
	ck_assert_int_eq(plan_status_started(s, 2, st), 0);
	clear(s);
	snaps(s, APP_ID, 1, NULL);
	ck_assert_int_eq(plan_status_started(s, 2, waiting), 0);
	ck_assert_ptr_null(s[1].started_at);
	clear(s);
	snaps(s, APP_ID, 1, NULL);
	ck_assert_int_eq(plan_status_started(s, 2, NULL), 0);
	clear(s);
	api_pod_status_free(waiting);
	api_pod_status_free(st);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("agent_steady");
	TCase *core = tcase_create("core");

	tcase_add_test(core, test_fills_all);
	tcase_add_test(core, test_all_or_nothing);
	suite_add_tcase(s, core);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(suite());
	int nf;

	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? 0 : 1;
}
