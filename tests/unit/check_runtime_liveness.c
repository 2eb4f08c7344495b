/*
 * check_runtime_liveness.c: the heartbeat judge (runtime/liveness.c): a key
 * that keeps changing stays Ready, one whose revision stops changing stops
 * being Ready after leaseDurationSeconds + 1 s of the judge's clock, a key
 * first seen counts as just changed, version-1 values are judged by
 * existence, and odd values fall back to the defaults.
 */
#include <check.h>
#include <string.h>

#include "runtime/liveness.h"

#define BEAT(d, t) "{\"spec\":{\"leaseDurationSeconds\":" #d ",\"renewTime\":\"" t "\"}}"
#define V1 "{\"metadata\":{\"name\":\"m1\"},\"spec\":{\"holderIdentity\":\"m1\",\"leaseDurationSeconds\":10}}"

static void
see(struct liveness_beat *b, const char *v, int64_t rev, double now)
{
	liveness_observe(b, v, strlen(v), rev, now);
}

START_TEST(test_renewals_keep_ready)
{
	struct liveness_beat b = {0};

	ck_assert(!liveness_ready(&b, 0));
	see(&b, BEAT(4, "2026-12-06T12:00:00Z"), 5, 100.0);
	ck_assert(liveness_ready(&b, 100.0));
	ck_assert(liveness_ready(&b, 105.0)); /* 4 s + 1 s slack */
	ck_assert(!liveness_ready(&b, 105.1));
	ck_assert(liveness_expires(&b) == 105.0);
	see(&b, BEAT(4, "2026-12-06T12:00:01Z"), 9, 104.0);
	ck_assert(liveness_ready(&b, 108.9));
	ck_assert(!liveness_ready(&b, 109.5));
}
END_TEST

/* Seen again at the same revision (a relist): the clock does not restart,
 * so a key kept only by someone's keep-alive goes stale. */
START_TEST(test_same_revision_goes_stale)
{
	struct liveness_beat b = {0};

	see(&b, BEAT(10, "2026-12-06T12:00:00Z"), 5, 0.0);
	see(&b, BEAT(10, "2026-12-06T12:00:00Z"), 5, 8.0);
	see(&b, BEAT(10, "2026-12-06T12:00:00Z"), 5, 10.5);
	ck_assert(liveness_ready(&b, 11.0));
	ck_assert(!liveness_ready(&b, 11.5));
}
END_TEST

/* Gone means not Ready at once; back (even at an old revision) counts as
 * just seen. */
START_TEST(test_lost_and_back)
{
	struct liveness_beat b = {0};

	see(&b, BEAT(10, "2026-12-06T12:00:00Z"), 5, 0.0);
	liveness_lost(&b);
	ck_assert(!liveness_ready(&b, 0.5));
	see(&b, BEAT(10, "2026-12-06T12:00:00Z"), 5, 50.0);
	ck_assert(liveness_ready(&b, 60.0));
	ck_assert(!liveness_ready(&b, 61.5));
}
END_TEST

/* Version 1 (no renewTime) or a value that is not even JSON: existence. */
START_TEST(test_v1_by_existence)
{
	struct liveness_beat b = {0};

	see(&b, V1, 5, 0.0);
	ck_assert(liveness_ready(&b, 1e6));
	liveness_lost(&b);
	ck_assert(!liveness_ready(&b, 1e6));
	see(&b, "not json", 7, 0.0);
	ck_assert(liveness_ready(&b, 1e6));
	see(&b, "", 8, 0.0);
	ck_assert(liveness_ready(&b, 1e6));
	liveness_observe(&b, NULL, 0, 9, 0.0);
	ck_assert(liveness_ready(&b, 1e6));
	/* a v1 agent upgraded: from its first renewal on, judged by changes */
	see(&b, BEAT(10, "2026-12-06T12:00:00Z"), 10, 100.0);
	ck_assert(!liveness_ready(&b, 112.0));
}
END_TEST

/* No duration, or one out of range: the default of 10 s. */
START_TEST(test_duration_defaults)
{
	static const char *const vals[] = {
		"{\"spec\":{\"renewTime\":\"2026-12-06T12:00:00Z\"}}",
		BEAT(0, "2026-12-06T12:00:00Z"),
		BEAT(-5, "2026-12-06T12:00:00Z"),
		BEAT(99999999, "2026-12-06T12:00:00Z"),
		BEAT("7", "2026-12-06T12:00:00Z"),
	};
	struct liveness_beat b = {0};

	for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		liveness_lost(&b);
		see(&b, vals[i], 3, 0.0);
		ck_assert_msg(b.heartbeat, "%s", vals[i]);
		ck_assert_msg(liveness_ready(&b, 11.0) && !liveness_ready(&b, 11.01), "%s", vals[i]);
	}
}
END_TEST

static Suite *
liveness_suite(void)
{
	Suite *s = suite_create("runtime_liveness");
	TCase *core = tcase_create("core"), *errors = tcase_create("errors"), *limits = tcase_create("limits");

	tcase_add_test(core, test_renewals_keep_ready);
	tcase_add_test(core, test_same_revision_goes_stale);
	tcase_add_test(core, test_lost_and_back);
	tcase_add_test(errors, test_v1_by_existence);
	tcase_add_test(limits, test_duration_defaults);
	suite_add_tcase(s, core);
	suite_add_tcase(s, errors);
	suite_add_tcase(s, limits);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(liveness_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
