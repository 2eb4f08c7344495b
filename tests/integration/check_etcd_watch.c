/*
 * check_etcd_watch.c: watches against real etcd. Most tests share one
 * one-member etcd started for the file (each under its own prefix); the
 * restart test starts its own. Covers events and their fields, history from
 * a start revision (and what "from now" means), prev_kv, filters, cancel
 * (also inside the callback), compaction reported to a watcher, large
 * events, and resuming across an etcd restart with every event delivered
 * exactly once and in order.
 */
#include <check.h>
#include <ev.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "etcd.h"
#include "etcd_sync.h"
#include "tests/harness/etcd_fixture.h"
#include "tests/harness/etcd_harness.h"
#include "tests/harness/etcd_testutil.h"

static struct etcd_watch *
start(const char *key, const struct etcd_watch_opts *o, struct tu_wlog *l)
{
	struct etcd_error err;
	struct etcd_watch *w = etcd_watch_start(tu_client, key, o, tu_wlog_cb, l, &err);
	ck_assert_msg(w != NULL, "etcd_watch_start: %s", tu_err(&err));
	ck_assert_int_eq(th_wait(tu_loop, tu_wlog_created, l, 10), 0);
	return w;
}

static void
wait_events(struct tu_wlog *l, size_t n)
{
	struct tu_wcount wc = {l, n};
	ck_assert_msg(th_wait(tu_loop, tu_wlog_has, &wc, 15) == 0, "got %zu events of %zu (errors %d, retrying %d)",
	              l->n, n, l->errors, l->retrying);
}

static int64_t
del(const char *key)
{
	struct etcd_result *r = etcd_sync_delete(tu_sync, key, NULL);
	TU_OK(r);
	int64_t rev = r->revision;
	TU_FREE(r);
	return rev;
}

START_TEST(watch_put_and_delete_events)
{
	struct tu_wlog l = {0};
	struct etcd_watch_opts o = {.prefix = 1};
	struct etcd_watch *w = start("/w/pd/", &o, &l);
	ck_assert_int_eq(l.created, 1);
	int64_t r1 = tu_put(tu_sync, "/w/pd/a", "1");
	int64_t r2 = tu_put(tu_sync, "/w/pd/b", "2");
	int64_t r3 = tu_put(tu_sync, "/w/pd/a", "3");
	ck_assert_int_gt(tu_put(tu_sync, "/w/pdz", "outside"), 0);
	int64_t r4 = del("/w/pd/a");
	wait_events(&l, 4);
	th_wait(tu_loop, NULL, NULL, 0.2); /* nothing more may come */
	ck_assert_uint_eq(l.n, 4);
	ck_assert_int_eq(l.ev[0].type, ETCD_EVENT_PUT);
	ck_assert_str_eq(l.ev[0].key, "/w/pd/a");
	ck_assert_str_eq(l.ev[0].value, "1");
	ck_assert_int_eq(l.ev[0].mod_revision, r1);
	ck_assert_int_eq(l.ev[0].create_revision, r1);
	ck_assert_int_eq(l.ev[0].version, 1);
	ck_assert_str_eq(l.ev[1].key, "/w/pd/b");
	ck_assert_int_eq(l.ev[1].mod_revision, r2);
	ck_assert_str_eq(l.ev[2].value, "3");
	ck_assert_int_eq(l.ev[2].mod_revision, r3);
	ck_assert_int_eq(l.ev[2].create_revision, r1);
	ck_assert_int_eq(l.ev[2].version, 2);
	ck_assert_int_eq(l.ev[3].type, ETCD_EVENT_DELETE);
	ck_assert_str_eq(l.ev[3].key, "/w/pd/a");
	ck_assert_int_eq(l.ev[3].mod_revision, r4);
	ck_assert_int_eq(l.ev[3].has_prev, 0);
	ck_assert_int_eq(l.out_of_order, 0);
	ck_assert_int_eq(l.errors, 0);
	ck_assert_int_eq(etcd_watch_next_revision(w), r4 + 1);
	etcd_watch_cancel(w);
	tu_wlog_free(&l);
}
END_TEST

START_TEST(watch_from_start_revision)
{
	int64_t r1 = tu_put(tu_sync, "/w/hist/a", "1");
	ck_assert_int_gt(tu_put(tu_sync, "/w/hist/b", "2"), r1);
	int64_t r3 = tu_put(tu_sync, "/w/hist/c", "3");
	struct tu_wlog l = {0};
	struct etcd_watch_opts o = {.prefix = 1, .start_revision = r1};
	struct etcd_error err;
	struct etcd_watch *w = etcd_watch_start(tu_client, "/w/hist/", &o, tu_wlog_cb, &l, &err);
	ck_assert_ptr_nonnull(w);
	wait_events(&l, 3);
	ck_assert_int_ge(l.created, 1);
	ck_assert_str_eq(l.ev[0].key, "/w/hist/a");
	ck_assert_str_eq(l.ev[2].key, "/w/hist/c");
	ck_assert_int_eq(l.ev[2].mod_revision, r3);
	ck_assert_int_eq(l.out_of_order, 0);
	ck_assert_int_eq(etcd_watch_next_revision(w), r3 + 1);
	/* later events keep coming on the same watch */
	int64_t r4 = tu_put(tu_sync, "/w/hist/d", "4");
	wait_events(&l, 4);
	ck_assert_int_eq(l.ev[3].mod_revision, r4);
	etcd_watch_cancel(w);
	tu_wlog_free(&l);
}
END_TEST

/* What bench/scale's status watch did: start a watch on a loop that is not
 * running, then write through another client (an etcd_sync, its own loop).
 * "From now" is when etcd registers the watch, after the write, so that
 * write is never delivered; a watch from the revision read before the
 * write delivers it. */
START_TEST(watch_from_now_starts_when_registered)
{
	struct tu_wlog now = {0}, from = {0};
	struct etcd_watch_opts o = {.prefix = 1};
	struct etcd_error err;
	int64_t before = tu_revision(tu_sync);
	ck_assert_int_gt(before, 0);
	struct etcd_watch *wn = etcd_watch_start(tu_client, "/w/late/", &o, tu_wlog_cb, &now, &err);
	ck_assert_ptr_nonnull(wn);
	o.start_revision = before + 1;
	struct etcd_watch *wf = etcd_watch_start(tu_client, "/w/late/", &o, tu_wlog_cb, &from, &err);
	ck_assert_ptr_nonnull(wf);
	int64_t r1 = tu_put(tu_sync, "/w/late/early", "1"); /* tu_loop has not run */
	ck_assert_int_eq(th_wait(tu_loop, tu_wlog_created, &now, 10), 0);
	int64_t r2 = tu_put(tu_sync, "/w/late/after", "2");
	wait_events(&from, 2);
	wait_events(&now, 1);
	th_wait(tu_loop, NULL, NULL, 0.2);
	ck_assert_uint_eq(from.n, 2);
	ck_assert_int_eq(from.ev[0].mod_revision, r1);
	ck_assert_int_eq(from.ev[1].mod_revision, r2);
	ck_assert_uint_eq(now.n, 1); /* the early write is lost to it */
	ck_assert_str_eq(now.ev[0].key, "/w/late/after");
	etcd_watch_cancel(wn);
	etcd_watch_cancel(wf);
	tu_wlog_free(&now);
	tu_wlog_free(&from);
}
END_TEST

START_TEST(watch_prev_kv)
{
	struct tu_wlog l = {0};
	struct etcd_watch_opts o = {.prev_kv = 1};
	struct etcd_watch *w = start("/w/prev/k", &o, &l);
	ck_assert_int_gt(tu_put(tu_sync, "/w/prev/k", "v1"), 0);
	ck_assert_int_gt(tu_put(tu_sync, "/w/prev/k", "v2"), 0);
	del("/w/prev/k");
	wait_events(&l, 3);
	ck_assert_int_eq(l.ev[0].has_prev, 0); /* a create has no previous value */
	ck_assert_int_eq(l.ev[1].has_prev, 1);
	ck_assert_str_eq(l.ev[1].prev_value, "v1");
	ck_assert_int_eq(l.ev[2].type, ETCD_EVENT_DELETE);
	ck_assert_int_eq(l.ev[2].has_prev, 1);
	ck_assert_str_eq(l.ev[2].prev_value, "v2");
	etcd_watch_cancel(w);
	tu_wlog_free(&l);
}
END_TEST

START_TEST(watch_filters)
{
	struct tu_wlog lp = {0}, ld = {0};
	struct etcd_watch_opts np = {.prefix = 1, .no_put = 1};
	struct etcd_watch_opts nd = {.prefix = 1, .no_delete = 1};
	struct etcd_watch *wp = start("/w/flt/", &np, &lp);
	struct etcd_watch *wd = start("/w/flt/", &nd, &ld);
	ck_assert_int_gt(tu_put(tu_sync, "/w/flt/a", "1"), 0);
	ck_assert_int_gt(tu_put(tu_sync, "/w/flt/a", "2"), 0);
	int64_t rd = del("/w/flt/a");
	int64_t rl = tu_put(tu_sync, "/w/flt/b", "3");
	wait_events(&lp, 1);
	wait_events(&ld, 3);
	ck_assert_int_eq(ld.ev[2].mod_revision, rl);
	th_wait(tu_loop, NULL, NULL, 0.2);
	ck_assert_uint_eq(lp.n, 1);
	ck_assert_int_eq(lp.ev[0].type, ETCD_EVENT_DELETE);
	ck_assert_int_eq(lp.ev[0].mod_revision, rd);
	ck_assert_uint_eq(ld.n, 3);
	for (size_t i = 0; i < ld.n; i++)
		ck_assert_int_eq(ld.ev[i].type, ETCD_EVENT_PUT);
	etcd_watch_cancel(wp);
	etcd_watch_cancel(wd);
	tu_wlog_free(&lp);
	tu_wlog_free(&ld);
}
END_TEST

START_TEST(watch_single_key_and_range_end)
{
	struct tu_wlog l1 = {0}, l2 = {0};
	struct etcd_watch *w1 = start("/w/one/k", NULL, &l1);
	struct etcd_watch_opts re = {.range_end = "/w/one/m"};
	struct etcd_watch *w2 = start("/w/one/b", &re, &l2);
	ck_assert_int_gt(tu_put(tu_sync, "/w/one/k2", "no"), 0);
	ck_assert_int_gt(tu_put(tu_sync, "/w/one/a", "no"), 0);
	ck_assert_int_gt(tu_put(tu_sync, "/w/one/z", "no"), 0);
	ck_assert_int_gt(tu_put(tu_sync, "/w/one/k", "yes"), 0);
	wait_events(&l1, 1);
	wait_events(&l2, 2);
	ck_assert_uint_eq(l1.n, 1);
	ck_assert_str_eq(l1.ev[0].key, "/w/one/k");
	ck_assert_str_eq(l2.ev[0].key, "/w/one/k2");
	ck_assert_str_eq(l2.ev[1].key, "/w/one/k");
	ck_assert_uint_eq(l2.n, 2);
	etcd_watch_cancel(w1);
	etcd_watch_cancel(w2);
	tu_wlog_free(&l1);
	tu_wlog_free(&l2);
}
END_TEST

START_TEST(watch_cancel_inside_callback)
{
	struct tu_wlog l = {0}, marker = {0};
	struct etcd_watch_opts o = {.prefix = 1};
	l.cancel_after = 1;
	start("/w/cancel/", &o, &l);
	struct etcd_watch *wm = start("/w/cancel/", &o, &marker);
	ck_assert_int_gt(tu_put(tu_sync, "/w/cancel/a", "1"), 0);
	ck_assert_int_gt(tu_put(tu_sync, "/w/cancel/b", "2"), 0);
	ck_assert_int_gt(tu_put(tu_sync, "/w/cancel/c", "3"), 0);
	wait_events(&marker, 3);
	th_wait(tu_loop, NULL, NULL, 0.2);
	ck_assert_int_eq(l.canceled, 1);
	ck_assert_int_eq(l.calls_after_cancel, 0);
	ck_assert_uint_ge(l.n, 1);
	etcd_watch_cancel(wm);
	tu_wlog_free(&l);
	tu_wlog_free(&marker);
}
END_TEST

START_TEST(watch_cancel_before_created)
{
	struct tu_wlog l = {0};
	struct etcd_error err;
	struct etcd_watch_opts o = {.prefix = 1};
	struct etcd_watch *w = etcd_watch_start(tu_client, "/w/early/", &o, tu_wlog_cb, &l, &err);
	ck_assert_ptr_nonnull(w);
	etcd_watch_cancel(w); /* before the loop ever ran */
	ck_assert_int_gt(tu_put(tu_sync, "/w/early/a", "1"), 0);
	th_wait(tu_loop, NULL, NULL, 0.3);
	ck_assert_int_eq(l.calls, 0);
	tu_wlog_free(&l);
}
END_TEST

START_TEST(watch_compacted_start_revision)
{
	int64_t r1 = tu_put(tu_sync, "/w/cmp/k", "1");
	ck_assert_int_gt(tu_put(tu_sync, "/w/cmp/k", "2"), r1);
	int64_t r3 = tu_put(tu_sync, "/w/cmp/k", "3");
	struct etcd_result *r = etcd_sync_compact(tu_sync, r3, 1);
	TU_OK(r);
	TU_FREE(r);
	struct tu_wlog l = {0};
	struct etcd_watch_opts o = {.start_revision = r1};
	struct etcd_error err;
	struct etcd_watch *w = etcd_watch_start(tu_client, "/w/cmp/k", &o, tu_wlog_cb, &l, &err);
	ck_assert_ptr_nonnull(w);
	ck_assert_msg(th_wait(tu_loop, tu_wlog_errored, &l, 10) == 0, "no ERROR (events %zu, retrying %d)", l.n,
	              l.retrying);
	ck_assert_int_eq(l.last_err, ETCD_ECOMPACTED);
	ck_assert_int_eq(l.compact_revision, r3);
	ck_assert_uint_eq(l.n, 0);
	/* terminal: nothing more, even when the key changes */
	ck_assert_int_gt(tu_put(tu_sync, "/w/cmp/k", "4"), 0);
	th_wait(tu_loop, NULL, NULL, 0.3);
	ck_assert_int_eq(l.errors, 1);
	ck_assert_uint_eq(l.n, 0);
	etcd_watch_cancel(w);
	tu_wlog_free(&l);
}
END_TEST

START_TEST(watch_compacted_cancel_in_callback)
{
	int64_t r1 = tu_put(tu_sync, "/w/cmp2/k", "1");
	int64_t r2 = tu_put(tu_sync, "/w/cmp2/k", "2");
	struct etcd_result *r = etcd_sync_compact(tu_sync, r2, 0);
	TU_OK(r);
	TU_FREE(r);
	struct tu_wlog l = {0};
	l.cancel_on_error = 1;
	struct etcd_watch_opts o = {.start_revision = r1};
	struct etcd_error err;
	ck_assert_ptr_nonnull(etcd_watch_start(tu_client, "/w/cmp2/k", &o, tu_wlog_cb, &l, &err));
	ck_assert_int_eq(th_wait(tu_loop, tu_wlog_errored, &l, 10), 0);
	ck_assert_int_eq(l.last_err, ETCD_ECOMPACTED);
	th_wait(tu_loop, NULL, NULL, 0.2);
	ck_assert_int_eq(l.calls_after_cancel, 0);
	tu_wlog_free(&l);
}
END_TEST

START_TEST(watch_large_events)
{
	/* 4 values of 1.2 MiB, replayed from history: etcd batches them into
	 * one multi-megabyte line. */
	size_t n = 1258291;
	char *v = malloc(n + 1);
	ck_assert_ptr_nonnull(v);
	int64_t first = 0;
	for (int k = 0; k < 4; k++) {
		char key[32];
		memset(v, 'a' + k, n);
		snprintf(key, sizeof key, "/w/big/%d", k);
		struct etcd_result *r = etcd_sync_put(tu_sync, key, v, n, NULL);
		TU_OK(r);
		if (!first)
			first = r->revision;
		TU_FREE(r);
	}
	struct tu_wlog l = {0};
	struct etcd_watch_opts o = {.prefix = 1, .start_revision = first};
	struct etcd_error err;
	struct etcd_watch *w = etcd_watch_start(tu_client, "/w/big/", &o, tu_wlog_cb, &l, &err);
	ck_assert_ptr_nonnull(w);
	wait_events(&l, 4);
	for (int k = 0; k < 4; k++) {
		ck_assert_uint_eq(l.ev[k].value_len, n);
		ck_assert_int_eq(l.ev[k].value[0], 'a' + k);
		ck_assert_int_eq(l.ev[k].value[n - 1], 'a' + k);
	}
	ck_assert_int_eq(l.out_of_order, 0);
	etcd_watch_cancel(w);
	tu_wlog_free(&l);
	free(v);
}
END_TEST

START_TEST(watch_many_events_in_order)
{
	struct tu_wlog l = {0};
	struct etcd_watch_opts o = {.prefix = 1};
	struct etcd_watch *w = start("/w/many/", &o, &l);
	struct tu_writer *wr = tu_writer_start(tu_client, "/w/many/", 300);
	ck_assert_int_eq(th_wait(tu_loop, tu_writer_done, wr, 30), 0);
	wait_events(&l, 300);
	th_wait(tu_loop, NULL, NULL, 0.1);
	ck_assert_uint_eq(l.n, 300);
	for (int i = 0; i < 300; i++) {
		char key[32], val[16];
		snprintf(key, sizeof key, "/w/many/%05d", i);
		snprintf(val, sizeof val, "v%d", i);
		ck_assert_str_eq(l.ev[i].key, key);
		ck_assert_str_eq(l.ev[i].value, val);
	}
	ck_assert_int_eq(l.out_of_order, 0);
	ck_assert_int_eq(tu_writer_errors(wr), 0);
	tu_writer_free(wr);
	etcd_watch_cancel(w);
	tu_wlog_free(&l);
}
END_TEST

START_TEST(watch_freed_with_client)
{
	/* live watches are freed by etcd_client_free (leak-checked under ASan) */
	struct tu_wlog l1 = {0}, l2 = {0};
	struct etcd_watch_opts o = {.prefix = 1};
	start("/w/free/", &o, &l1);
	start("/w/free2/", &o, &l2);
	ck_assert_int_gt(tu_put(tu_sync, "/w/free/a", "1"), 0);
	wait_events(&l1, 1);
	etcd_client_free(tu_client);
	tu_client = NULL;
	ck_assert_int_eq(l1.errors, 0);
	tu_wlog_free(&l1);
	tu_wlog_free(&l2);
}
END_TEST

static void
count_cb(struct etcd_watch *w, const struct etcd_watch_msg *m, void *arg)
{
	(void)w;
	if (m->kind == ETCD_WATCH_EVENTS)
		*(int *)arg += (int)m->nevents;
}

START_TEST(watch_driven_by_sync_run)
{
	/* a watch on the sync client's own loop, run with etcd_sync_run */
	struct etcd_error err;
	struct etcd_watch_opts o = {.prefix = 1, .start_revision = tu_revision(tu_sync) + 1};
	int events = 0, done = 0;
	struct etcd_watch *w = etcd_watch_start(etcd_sync_client(tu_sync), "/w/sr/", &o, count_cb, &events, &err);
	ck_assert_ptr_nonnull(w);
	ck_assert_int_gt(tu_put(tu_sync, "/w/sr/a", "1"), 0);
	ck_assert_int_gt(tu_put(tu_sync, "/w/sr/b", "2"), 0);
	for (int i = 0; i < 100 && events < 2; i++)
		etcd_sync_run(tu_sync, &done, 100); /* done stays 0: each run times out after 100 ms */
	ck_assert_int_eq(events, 2);
	ck_assert_int_eq(etcd_sync_run(tu_sync, &done, 10), -1);
	done = 1;
	ck_assert_int_eq(etcd_sync_run(tu_sync, &done, 1000), 0);
	etcd_watch_cancel(w);
}
END_TEST

/* The restart test: its own etcd, a writer creating 400 keys while the
 * member is restarted gracefully (th_etcd_restart) and later SIGKILLed and
 * started again without waiting; the watch must deliver each key exactly
 * once, in order. */
START_TEST(watch_survives_etcd_restart)
{
	const int N = 400;
	struct th_etcd *e = th_etcd_start(1, NULL);
	ck_assert_ptr_nonnull(e);
	struct etcd_config cfg;
	struct etcd_error err;
	tu_config(e, &cfg);
	cfg.request_timeout_ms = 1000;
	cfg.retry_budget_ms = 1500;
	struct ev_loop *loop = ev_loop_new(0);
	struct etcd_client *c = etcd_client_new(loop, &cfg, &err);
	ck_assert_ptr_nonnull(c);

	struct tu_wlog l = {0};
	struct etcd_watch_opts o = {.prefix = 1};
	struct etcd_watch *w = etcd_watch_start(c, "/w/rs/", &o, tu_wlog_cb, &l, &err);
	ck_assert_ptr_nonnull(w);
	ck_assert_int_eq(th_wait(loop, tu_wlog_created, &l, 10), 0);
	struct tu_writer *wr = tu_writer_start(c, "/w/rs/", N);

	struct tu_writer_at at = {wr, 100};
	ck_assert_int_eq(th_wait(loop, tu_writer_reached, &at, 30), 0);
	ck_assert_int_eq(th_etcd_restart(e, 0), 0); /* blocks: the loop is paused */
	at.n = 200;
	ck_assert_msg(th_wait(loop, tu_writer_reached, &at, 30) == 0, "writer stuck at %d (errors %d)",
	              tu_writer_written(wr), tu_writer_errors(wr));
	ck_assert_int_eq(th_etcd_kill(e, 0), 0);
	ck_assert_int_eq(th_etcd_spawn(e, 0), 0); /* writes fail until it is up */
	ck_assert_msg(th_wait(loop, tu_writer_done, wr, 40) == 0, "writer stuck at %d (errors %d)",
	              tu_writer_written(wr), tu_writer_errors(wr));
	struct tu_wcount wc = {&l, (size_t)N};
	ck_assert_msg(th_wait(loop, tu_wlog_has, &wc, 20) == 0,
	              "watch got %zu events of %d (created %d, retrying %d, errors %d, next %lld)", l.n, N, l.created,
	              l.retrying, l.errors, (long long)etcd_watch_next_revision(w));
	th_wait(loop, NULL, NULL, 0.3); /* duplicates would show up now */
	ck_assert_msg(l.n == (size_t)N, "%zu events for %d keys: some delivered twice", l.n, N);
	ck_assert_int_eq(l.errors, 0);
	ck_assert_int_eq(l.out_of_order, 0);
	for (int i = 0; i < N; i++) {
		char key[32], val[16];
		snprintf(key, sizeof key, "/w/rs/%05d", i);
		snprintf(val, sizeof val, "v%d", i);
		ck_assert_msg(strcmp(l.ev[i].key, key) == 0, "event %d is %s, expected %s", i, l.ev[i].key, key);
		ck_assert_str_eq(l.ev[i].value, val);
		ck_assert_int_eq(l.ev[i].type, ETCD_EVENT_PUT);
		ck_assert_int_eq(l.ev[i].version, 1);
	}
	ck_assert_int_ge(l.retrying, 1); /* it noticed the restarts */
	ck_assert_int_ge(l.created, 2);  /* and re-created the watch */
	struct etcd_stats st;
	etcd_client_stats(c, &st);
	ck_assert_uint_ge(st.watch_restarts, 1);
	ck_assert_uint_ge(st.watch_events, (uint64_t)N);

	etcd_watch_cancel(w);
	etcd_client_free(c);
	tu_writer_free(wr);
	ev_loop_destroy(loop);
	tu_wlog_free(&l);
	th_etcd_free(e);
}
END_TEST

static Suite *
watch_suite(void)
{
	Suite *s = suite_create("etcd_watch");
	TCase *core = tcase_create("core");
	tcase_add_checked_fixture(core, tu_setup, tu_teardown);
	tcase_set_timeout(core, 60);
	tcase_add_test(core, watch_put_and_delete_events);
	tcase_add_test(core, watch_from_start_revision);
	tcase_add_test(core, watch_from_now_starts_when_registered);
	tcase_add_test(core, watch_prev_kv);
	tcase_add_test(core, watch_filters);
	tcase_add_test(core, watch_single_key_and_range_end);
	tcase_add_test(core, watch_cancel_inside_callback);
	tcase_add_test(core, watch_cancel_before_created);
	tcase_add_test(core, watch_compacted_start_revision);
	tcase_add_test(core, watch_compacted_cancel_in_callback);
	tcase_add_test(core, watch_freed_with_client);
	tcase_add_test(core, watch_driven_by_sync_run);
	suite_add_tcase(s, core);

	TCase *lim = tcase_create("limits");
	tcase_add_checked_fixture(lim, tu_setup, tu_teardown);
	tcase_set_timeout(lim, 60);
	tcase_add_test(lim, watch_large_events);
	tcase_add_test(lim, watch_many_events_in_order);
	suite_add_tcase(s, lim);

	TCase *res = tcase_create("resume");
	tcase_set_timeout(res, 120);
	tcase_add_test(res, watch_survives_etcd_restart);
	suite_add_tcase(s, res);
	return s;
}

int
main(void)
{
	static const struct tu_fixture fx = {.sync = 1, .async = 1};

	return tu_suite_main(watch_suite(), &fx);
}
