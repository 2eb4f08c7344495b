/*
 * check_cluster_routed.c: host-gw where it cannot work fails loudly. Two
 * minions on the routed bed (tests/cluster up 2 --routed: each behind the
 * router namespace, sharing no link) with the default host-gw backend:
 * each agent must say, with a Warning event NextHopNotOnLink on its node,
 * that the other minion's address is not on a link it shares, instead of
 * leaving pods silently unreachable. It does not run pods (check_cluster
 * does, on the same bed with the vxlan backend).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "e2e_bed.h"

#define NMIN 2

static int ROOT;

/* Whether minion i's agent recorded an event of reason why on its node
 * (P/nodeevents/mI/nodes/mI/ID). */
static int
has_event(int i, const char *why)
{
	char dir[64], names[64][128], rest[256];
	int n, found = 0;

	snprintf(dir, sizeof(dir), "nodeevents/m%d/nodes/m%d/", i, i);
	n = bed_list(dir, names, 64);
	for (int k = 0; k < n && k < 64 && !found; k++) {
		json_t *e;

		snprintf(rest, sizeof(rest), "%s%s", dir, names[k]);
		e = bed_get(rest, NULL);
		found = e && strcmp(json_string_value(json_object_get(e, "reason")) ?: "", why) == 0;
		json_decref(e);
	}
	return found;
}

START_TEST(test_host_gw_across_a_router_is_loud)
{
	if (!ROOT)
		return;
	for (int i = 1; i <= NMIN; i++) {
		double end = bed_now() + 60;

		while (!has_event(i, "NextHopNotOnLink") && bed_now() < end)
			usleep(200 * 1000);
		ck_assert_msg(has_event(i, "NextHopNotOnLink"), "m%d: no NextHopNotOnLink event within 60 s", i);
	}
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("cluster_routed");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, 90);
	tcase_add_test(tc, test_host_gw_across_a_router_is_loud);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	ROOT = geteuid() == 0;
	if (!ROOT)
		fprintf(stderr, "check_cluster_routed: not root: needs network namespaces and dockerd; skipped\n");
	else if (bed_up(NMIN, "--routed") < 0) {
		bed_down(1);
		return 1;
	}
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	if (ROOT)
		bed_down(failed > 0 || getenv("SKIFF_E2E_LOGS"));
	return failed ? 1 : 0;
}
