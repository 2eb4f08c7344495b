/*
 * check_dc_math.c: the deployment controller's rollout arithmetic
 * (controllers/deployment/dc_math.c) as tables of cases worked out by
 * Kubernetes' rules (maxSurge rounds up, maxUnavailable down, both 0 make
 * maxUnavailable 1; the scale-up and scale-down steps of
 * rolling.go), a whole rollout stepped through for many shapes with the
 * bounds checked at every step, and the status conditions
 * (dc_status.c).
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "controllers/deployment/dc.h"

#define PCT(v)       \
	{            \
		v, 1 \
	}
#define NUM(v)       \
	{            \
		v, 0 \
	}

static const struct {
	int replicas;
	struct api_int_or_percent surge, unav;
	int recreate;
	int want_surge, want_unav;
} fence[] = {
	{10, PCT(25), PCT(25), 0, 3, 2},                                 /* 2.5 up, 2.5 down */
	{4, PCT(25), PCT(25), 0, 1, 1},  {3, PCT(25), PCT(25), 0, 1, 0}, /* 0.75: surge 1, unavailable 0 */
	{1, PCT(25), PCT(25), 0, 1, 0},  {3, NUM(0), PCT(25), 0, 0, 1},  /* both 0 after rounding: 1 unavailable */
	{5, PCT(0), PCT(10), 0, 0, 1},   {5, NUM(2), NUM(10), 0, 2, 5},  /* unavailable at most replicas */
	{0, PCT(25), PCT(25), 0, 0, 0},                                  /* nothing to keep available */
	{8, PCT(100), NUM(0), 0, 8, 0},  {8, PCT(30), PCT(30), 0, 3, 2}, /* 2.4 up, 2.4 down */
	{8, PCT(25), PCT(25), 1, 0, 0},                                  /* Recreate has no fenceposts */
};

START_TEST(test_fenceposts)
{
	struct api_deployment_spec s = {.replicas = fence[_i].replicas,
	                                .strategy = fence[_i].recreate ? API_RECREATE : API_ROLLING_UPDATE,
	                                .max_surge = fence[_i].surge,
	                                .max_unavailable = fence[_i].unav};
	int surge, unav;

	dc_fenceposts(&s, &surge, &unav);
	ck_assert_int_eq(surge, fence[_i].want_surge);
	ck_assert_int_eq(unav, fence[_i].want_unav);
}
END_TEST

/* replicas, surge, every controller's spec summed, the new one's spec. */
static const struct {
	int replicas, surge, total, cur, want;
} up[] = {
	{10, 3, 10, 0, 3}, /* first step: the whole surge */
	{10, 3, 13, 3, 3}, /* at replicas + surge: wait */
	{10, 3, 11, 3, 5}, /* old ones came down by 2 */
	{10, 0, 10, 0, 0}, /* no surge: old ones go first */
	{3, 1, 3, 2, 3},   /* never above replicas in the new one */
	{3, 1, 2, 0, 2},   /* fewer pods than replicas: fill up to the bound */
	{4, 1, 6, 5, 4},   /* above replicas (scaled down): back to replicas */
	{5, 2, 0, 0, 5},   /* a new deployment: replicas at once */
	{0, 0, 3, 0, 0},   /* scaled to 0 */
};

START_TEST(test_scale_up)
{
	ck_assert_int_eq(dc_new_replicas(up[_i].replicas, up[_i].surge, up[_i].total, up[_i].cur), up[_i].want);
}
END_TEST

#define MAX_OLD 3
static const struct {
	int replicas, unav;
	struct dc_rs cur;
	struct dc_rs old[MAX_OLD];
	size_t n_old;
	int want[MAX_OLD], want_down;
} down[] = {
	/* 13 pods, 8 must stay available, 3 new ones not ready: 2 go. */
	{10, 2, {3, 0}, {{10, 10}}, 1, {8}, 2},
	/* maxUnavailable 0: nothing goes before a new pod is available... */
	{10, 0, {1, 0}, {{10, 10}}, 1, {10}, 0},
	/* ...and one goes once it is. */
	{10, 0, {1, 1}, {{10, 10}}, 1, {9}, 1},
	/* Unavailable old pods go first, and then no more. */
	{10, 2, {2, 2}, {{10, 6}}, 1, {6}, 4},
	/* Oldest first. */
	{4, 1, {2, 2}, {{1, 1}, {3, 3}}, 2, {0, 1}, 3},
	/* Nothing available anywhere and nothing may be unavailable. */
	{3, 0, {1, 0}, {{3, 0}}, 1, {3}, 0},
	/* One may be: an unavailable old pod goes. */
	{3, 1, {1, 0}, {{3, 0}}, 1, {2}, 1},
	/* Old ones already at 0. */
	{3, 1, {3, 3}, {{0, 0}}, 1, {0}, 0},
	/* Rollout almost done: the last old pods go. */
	{4, 1, {4, 4}, {{0, 0}, {1, 1}}, 2, {0, 0}, 1},
};

START_TEST(test_scale_down)
{
	int out[MAX_OLD] = {0};

	ck_assert_int_eq(
		dc_scale_down_old(down[_i].replicas, down[_i].unav, &down[_i].cur, down[_i].old, down[_i].n_old, out),
		down[_i].want_down);
	for (size_t i = 0; i < down[_i].n_old; i++)
		ck_assert_int_eq(out[i], down[_i].want[i]);
}
END_TEST

/* A whole rollout of replicas pods from one controller to another, pods
 * becoming available one step after they are asked for (when ready is
 * set) or never: at every step no more than replicas + surge pods and no
 * fewer than replicas - unavailable available ones; it ends with every
 * pod in the new controller when pods become ready. */
static int
rollout(int replicas, struct api_int_or_percent s, struct api_int_or_percent u, int ready)
{
	struct api_deployment_spec sp = {.replicas = replicas, .max_surge = s, .max_unavailable = u};
	struct dc_rs cur = {0, 0}, old = {replicas, replicas};
	int surge, unav, to, out, steps;

	dc_fenceposts(&sp, &surge, &unav);
	for (steps = 0; steps < 4 * replicas + 4; steps++) {
		if (ready)
			cur.available = cur.spec; /* what was asked for last step is up now */
		ck_assert_int_le(cur.spec + old.spec, replicas + surge);
		ck_assert_int_ge(cur.available + old.available, replicas - unav);
		if (cur.spec == replicas && old.spec == 0 && (!ready || cur.available == replicas))
			return steps;
		to = dc_new_replicas(replicas, surge, cur.spec + old.spec, cur.spec);
		if (to != cur.spec) {
			cur.spec = to;
			continue;
		}
		if (dc_scale_down_old(replicas, unav, &cur, &old, 1, &out) == 0 && !ready)
			return -1; /* stuck, as it must be when nothing becomes ready */
		old.spec = out;
		if (old.available > out)
			old.available = out;
	}
	return -2;
}

START_TEST(test_rollout_bounds)
{
	static const struct api_int_or_percent vals[] = {NUM(0), NUM(1), NUM(2), PCT(25), PCT(50), PCT(100)};
	size_t a, b;

	for (int replicas = 1; replicas <= 10; replicas++)
		for (a = 0; a < 6; a++)
			for (b = 0; b < 6; b++) {
				ck_assert_int_ge(rollout(replicas, vals[a], vals[b], 1), 1);
				rollout(replicas, vals[a], vals[b], 0); /* bounds hold while stuck too */
			}
}
END_TEST

/* ---- status ---- */

static struct api_deployment *
dep(int replicas, int paused)
{
	struct api_deployment *d = calloc(1, sizeof(*d));

	d->meta.name = strdup("web");
	d->spec.replicas = replicas;
	d->spec.max_surge = d->spec.max_unavailable = (struct api_int_or_percent)PCT(25);
	d->spec.progress_deadline_seconds = 600;
	d->spec.paused = paused;
	return d;
}

static const char *
reason(const struct api_deployment_status *st, const char *type)
{
	const struct api_deployment_condition *c = api_deployment_condition(st, type);

	return c ? c->reason : "";
}

START_TEST(test_status)
{
	struct api_deployment *d = dep(4, 0);
	struct dc_view v = {.dep = d,
	                    .uid = "7",
	                    .dep_mod = 9,
	                    .observed = 1,
	                    .newrc = "web-abc",
	                    .replicas = 4,
	                    .updated = 4,
	                    .ready = 4,
	                    .available = 4,
	                    .now = 1000000};
	struct api_deployment_status *a, *b, *c;
	double recheck;

	a = dc_status_build(&v, NULL, &recheck);
	ck_assert_str_eq(reason(a, "Progressing"), "NewReplicaSetAvailable");
	ck_assert_str_eq(reason(a, "Available"), "MinimumReplicasAvailable");
	ck_assert_int_eq(a->observed_revision, 9);
	ck_assert(recheck == 0);
	/* The same later: the same bytes (times kept). */
	v.now += 100;
	b = dc_status_build(&v, a, &recheck);
	ck_assert_str_eq(api_deployment_condition(b, "Progressing")->last_update_time,
	                 api_deployment_condition(a, "Progressing")->last_update_time);
	/* A rollout starts: progressing, deadline watched; statuses behind:
	 * observedRevision stays. */
	v.updated = 1;
	v.old_pods = 3;
	v.available = 3;
	v.dep_mod = 12;
	v.observed = 0;
	v.action = "NewReplicaSetCreated";
	c = dc_status_build(&v, b, &recheck);
	ck_assert_str_eq(reason(c, "Progressing"), "NewReplicaSetCreated");
	ck_assert_str_eq(reason(c, "Available"), "MinimumReplicasAvailable"); /* 3 >= 4 - 1 */
	ck_assert_int_eq(c->observed_revision, 9);
	ck_assert_int_eq(c->unavailable_replicas, 1);
	ck_assert(recheck > 599 && recheck < 602);
	api_deployment_status_free(a);
	api_deployment_status_free(b);
	/* Nothing moves for longer than the deadline. */
	v.action = NULL;
	v.now += 601;
	a = dc_status_build(&v, c, &recheck);
	ck_assert_str_eq(reason(a, "Progressing"), "ProgressDeadlineExceeded");
	ck_assert_int_eq(api_deployment_condition(a, "Progressing")->status, API_COND_FALSE);
	/* It stays so until the rollout moves. */
	v.now += 5;
	b = dc_status_build(&v, a, &recheck);
	ck_assert_str_eq(reason(b, "Progressing"), "ProgressDeadlineExceeded");
	api_deployment_status_free(a);
	v.available = 4;
	a = dc_status_build(&v, b, &recheck);
	ck_assert_str_eq(reason(a, "Progressing"), "ReplicaSetUpdated");
	ck_assert_int_eq(api_deployment_condition(a, "Progressing")->status, API_COND_TRUE);
	api_deployment_status_free(a);
	api_deployment_status_free(b);
	api_deployment_status_free(c);
	api_deployment_free(d);
}
END_TEST

START_TEST(test_status_paused_unavailable)
{
	struct api_deployment *d = dep(4, 1);
	struct dc_view v = {.dep = d,
	                    .uid = "7",
	                    .dep_mod = 9,
	                    .observed = 1,
	                    .newrc = "web-abc",
	                    .replicas = 4,
	                    .updated = 2,
	                    .ready = 2,
	                    .available = 2,
	                    .old_pods = 2,
	                    .now = 1000000};
	struct api_deployment_status *a;
	double recheck;

	a = dc_status_build(&v, NULL, &recheck);
	ck_assert_str_eq(reason(a, "Progressing"), "DeploymentPaused");
	ck_assert_int_eq(api_deployment_condition(a, "Progressing")->status, API_COND_UNKNOWN);
	ck_assert_str_eq(reason(a, "Available"), "MinimumReplicasUnavailable"); /* 2 < 4 - 1 */
	ck_assert(recheck == 0);
	api_deployment_status_free(a);
	api_deployment_free(d);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("deployment");
	TCase *core = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_loop_test(core, test_fenceposts, 0, sizeof(fence) / sizeof(fence[0]));
	tcase_add_loop_test(core, test_scale_up, 0, sizeof(up) / sizeof(up[0]));
	tcase_add_loop_test(core, test_scale_down, 0, sizeof(down) / sizeof(down[0]));
	tcase_add_test(core, test_rollout_bounds);
	tcase_add_test(core, test_status);
	tcase_add_test(core, test_status_paused_unavailable);
	suite_add_tcase(s, core);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
