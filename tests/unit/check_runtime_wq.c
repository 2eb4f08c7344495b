/*
 * check_runtime_wq.c: the work queue on a private libev loop, no etcd:
 * coalescing, dirty re-runs, never two passes of one name at once,
 * back-off growth, the in-flight limit, pause and resume, and which runs
 * a timer alone started.
 */
#include <check.h>
#include <ev.h>
#include <string.h>

#include "workqueue.h"

struct rec {
	struct wq *q;
	struct ev_loop *loop;
	int runs[8];
	int active[8];
	int timer[8]; /* wq_by_timer at the name's last run */
	int overlap;
	int max_inflight;
	int inflight;
	double times[16];
	int ntimes;
	enum wq_result result;
	int async; /* leave calls open; test finishes them */
	char open[8][8];
	int nopen;
};

static int
idx(const char *name)
{
	return name[0] - 'a';
}

static void
process(struct wq *q, const char *name, void *arg)
{
	struct rec *r = arg;
	int i = idx(name);

	r->runs[i]++;
	r->timer[i] = wq_by_timer(q);
	if (r->active[i])
		r->overlap = 1;
	r->active[i] = 1;
	if (++r->inflight > r->max_inflight)
		r->max_inflight = r->inflight;
	if (r->ntimes < 16)
		r->times[r->ntimes++] = ev_now(r->loop);
	if (r->async) {
		strcpy(r->open[r->nopen++], name);
		return;
	}
	r->active[i] = 0;
	r->inflight--;
	wq_done(q, name, r->result, 0.0);
}

static void
finish_open(struct rec *r, enum wq_result res)
{
	int n = r->nopen;

	r->nopen = 0;
	for (int i = 0; i < n; i++) {
		r->active[idx(r->open[i])] = 0;
		r->inflight--;
		wq_done(r->q, r->open[i], res, 0.0);
	}
}

static void
spin(struct ev_loop *loop, double secs)
{
	double end = ev_time() + secs;

	while (ev_time() < end)
		ev_run(loop, EVRUN_NOWAIT);
}

static struct rec *
setup_rec(int max)
{
	static struct rec r;

	memset(&r, 0, sizeof(r));
	r.loop = ev_loop_new(EVFLAG_AUTO);
	r.q = wq_new(r.loop, process, &r, max);
	wq_set_backoff(r.q, 0.01, 0.1);
	return &r;
}

static void
teardown_rec(struct rec *r)
{
	wq_free(r->q);
	ev_loop_destroy(r->loop);
}

START_TEST(test_coalesce)
{
	struct rec *r = setup_rec(4);

	for (int i = 0; i < 100; i++)
		wq_add(r->q, "a");
	wq_add(r->q, "b");
	ck_assert_int_eq(wq_len(r->q), 2);
	spin(r->loop, 0.05);
	ck_assert_int_eq(r->runs[0], 1);
	ck_assert_int_eq(r->runs[1], 1);
	ck_assert_int_eq(wq_len(r->q), 0);
	teardown_rec(r);
}
END_TEST

START_TEST(test_dirty_reruns_once_never_overlaps)
{
	struct rec *r = setup_rec(4);

	r->async = 1;
	wq_add(r->q, "a");
	spin(r->loop, 0.02);
	ck_assert_int_eq(r->runs[0], 1);
	/* Events while processing: one more pass afterwards, not three. */
	wq_add(r->q, "a");
	wq_add(r->q, "a");
	wq_add(r->q, "a");
	spin(r->loop, 0.02);
	ck_assert_int_eq(r->runs[0], 1);
	finish_open(r, WQ_OK);
	spin(r->loop, 0.02);
	ck_assert_int_eq(r->runs[0], 2);
	finish_open(r, WQ_OK);
	spin(r->loop, 0.02);
	ck_assert_int_eq(r->runs[0], 2);
	ck_assert_int_eq(r->overlap, 0);
	teardown_rec(r);
}
END_TEST

START_TEST(test_backoff_grows)
{
	struct rec *r = setup_rec(1);

	r->result = WQ_RETRY;
	wq_add(r->q, "a");
	spin(r->loop, 0.5);
	/* 10, 20, 40, 80, 100, 100 ms … : about 6 runs in 0.5 s, not hundreds. */
	ck_assert_int_ge(r->runs[0], 4);
	ck_assert_int_le(r->runs[0], 9);
	ck_assert_int_ge(wq_failures(r->q, "a"), 4);
	/* Each wait is at least the doubled back-off (timers never fire early;
	 * a busy machine only makes them later, so no upper bound here). */
	for (int i = 1; i < r->ntimes && i < 4; i++)
		ck_assert_msg(r->times[i] - r->times[i - 1] >= 0.009 * (1 << (i - 1)), "wait %d was %.4f s", i,
		              r->times[i] - r->times[i - 1]);
	/* Success forgets the failures. */
	r->result = WQ_OK;
	spin(r->loop, 0.2);
	ck_assert_int_eq(wq_failures(r->q, "a"), 0);
	teardown_rec(r);
}
END_TEST

START_TEST(test_inflight_limit)
{
	struct rec *r = setup_rec(3);
	const char *names[] = {"a", "b", "c", "d", "e", "f"};

	r->async = 1;
	for (int i = 0; i < 6; i++)
		wq_add(r->q, names[i]);
	spin(r->loop, 0.02);
	ck_assert_int_eq(r->max_inflight, 3);
	ck_assert_int_eq(wq_inflight(r->q), 3);
	finish_open(r, WQ_OK);
	spin(r->loop, 0.02);
	finish_open(r, WQ_OK);
	spin(r->loop, 0.02);
	for (int i = 0; i < 6; i++)
		ck_assert_int_eq(r->runs[i], 1);
	ck_assert_int_eq(r->max_inflight, 3);
	teardown_rec(r);
}
END_TEST

START_TEST(test_pause_resume_and_after)
{
	struct rec *r = setup_rec(2);

	wq_pause(r->q);
	wq_add(r->q, "a");
	spin(r->loop, 0.03);
	ck_assert_int_eq(r->runs[0], 0);
	wq_resume(r->q);
	spin(r->loop, 0.03);
	ck_assert_int_eq(r->runs[0], 1);
	wq_add_after(r->q, "b", 0.1);
	spin(r->loop, 0.05);
	ck_assert_int_eq(r->runs[1], 0);
	spin(r->loop, 0.1);
	ck_assert_int_eq(r->runs[1], 1);
	teardown_rec(r);
}
END_TEST

/* A run is "by timer" only when its own delay started it and nothing
 * added the name since it was last handed out. */
START_TEST(test_by_timer)
{
	struct rec *r = setup_rec(4);

	wq_add(r->q, "a");
	wq_add_after(r->q, "b", 0.02);
	wq_add_after(r->q, "c", 0.02);
	wq_add(r->q, "c"); /* an event before the timer: runs now, not by timer */
	spin(r->loop, 0.06);
	ck_assert_int_eq(r->runs[0], 1);
	ck_assert_int_eq(r->timer[0], 0);
	ck_assert_int_eq(r->runs[1], 1);
	ck_assert_int_eq(r->timer[1], 1);
	ck_assert_int_eq(r->runs[2], 1);
	ck_assert_int_eq(r->timer[2], 0);
	ck_assert_int_eq(wq_by_timer(r->q), 0); /* outside a run */
	/* Added while its timed run is open: the re-run is not by timer. */
	r->async = 1;
	wq_add_after(r->q, "d", 0.01);
	spin(r->loop, 0.04);
	ck_assert_int_eq(r->runs[3], 1);
	ck_assert_int_eq(r->timer[3], 1);
	wq_add(r->q, "d");
	finish_open(r, WQ_OK);
	spin(r->loop, 0.02);
	ck_assert_int_eq(r->runs[3], 2);
	ck_assert_int_eq(r->timer[3], 0);
	/* A requeue after that run is by timer again. */
	r->nopen = 0;
	r->active[3] = 0;
	r->inflight--;
	wq_done(r->q, "d", WQ_REQUEUE_AFTER, 0.01);
	spin(r->loop, 0.04);
	ck_assert_int_eq(r->runs[3], 3);
	ck_assert_int_eq(r->timer[3], 1);
	finish_open(r, WQ_OK);
	teardown_rec(r);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("workqueue");
	TCase *core = tcase_create("core");

	tcase_add_test(core, test_coalesce);
	tcase_add_test(core, test_dirty_reruns_once_never_overlaps);
	tcase_add_test(core, test_backoff_grows);
	tcase_add_test(core, test_inflight_limit);
	tcase_add_test(core, test_pause_resume_and_after);
	tcase_add_test(core, test_by_timer);
	suite_add_tcase(s, core);
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
