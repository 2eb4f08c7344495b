/*
 * check_etcd_failover.c: a client given every member of a 3-member cluster
 * keeps working when the member it uses is killed: unary calls move to
 * another member, and a watch resumes there with every event delivered
 * exactly once and in order. Each test starts its own cluster (they kill
 * members).
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

/* A write sent to a member while the others elect a new leader waits for
 * the election (about a second with --election-timeout 500). */
static void
tune(struct etcd_config *cfg)
{
	cfg->request_timeout_ms = 3000;
	cfg->connect_timeout_ms = 500;
	cfg->retry_budget_ms = 6000;
}

/* One call on tu_client, waited for; returns the taken result. */
static struct etcd_result *
call_put(const char *key, const char *val)
{
	struct tu_call call = {0, NULL};
	struct etcd_error err;
	ck_assert_int_eq(etcd_put(tu_client, key, val, strlen(val), NULL, tu_call_cb, &call, &err), 0);
	ck_assert_int_eq(th_wait(tu_loop, tu_call_done, &call, 15), 0);
	return call.res;
}

static struct etcd_result *
call_get(const char *key)
{
	struct tu_call call = {0, NULL};
	struct etcd_error err;
	ck_assert_int_eq(etcd_get(tu_client, key, tu_call_cb, &call, &err), 0);
	ck_assert_int_eq(th_wait(tu_loop, tu_call_done, &call, 15), 0);
	return call.res;
}

static int
current_member(void)
{
	int i = th_etcd_member_of(tu_etcd, etcd_client_endpoint(tu_client));
	ck_assert_msg(i >= 0, "client endpoint %s is no member", etcd_client_endpoint(tu_client));
	return i;
}

START_TEST(failover_unary_when_member_killed)
{
	struct etcd_result *r = call_put("/fo/u/k", "1");
	TU_OK(r);
	TU_FREE(r);
	int dead = current_member();
	ck_assert_int_eq(th_etcd_kill(tu_etcd, dead), 0);
	/* Read first: reads are retried until a new leader serves them. A
	 * write sent while the survivors still follow the dead leader can be
	 * lost by etcd and time out with an unknown outcome, which the client
	 * rightly does not retry (an unguarded put). */

	r = call_get("/fo/u/k");
	TU_OK(r);
	ck_assert_str_eq(r->kvs[0].value, "1");
	TU_FREE(r);
	r = call_put("/fo/u/k", "2");
	TU_OK(r);
	TU_FREE(r);
	ck_assert_int_ne(current_member(), dead);
	struct etcd_stats st;
	etcd_client_stats(tu_client, &st);
	ck_assert_uint_ge(st.failovers, 1);

	/* bring it back (two members down would lose quorum), then kill the
	 * member the client moved to */
	ck_assert_int_eq(th_etcd_restart(tu_etcd, dead), 0);
	int dead2 = current_member();
	ck_assert_int_eq(th_etcd_kill(tu_etcd, dead2), 0);
	r = call_get("/fo/u/k");
	TU_OK(r);
	ck_assert_str_eq(r->kvs[0].value, "2");
	TU_FREE(r);
	r = call_put("/fo/u/k", "3");
	TU_OK(r);
	TU_FREE(r);
	r = call_get("/fo/u/k");
	TU_OK(r);
	ck_assert_str_eq(r->kvs[0].value, "3");
	TU_FREE(r);
	ck_assert_int_ne(current_member(), dead2);
}
END_TEST

START_TEST(failover_watch_when_member_killed)
{
	const int N = 300;
	struct tu_wlog l = {0};
	struct etcd_error err;
	struct etcd_watch_opts o = {.prefix = 1};
	struct etcd_watch *w = etcd_watch_start(tu_client, "/fo/w/", &o, tu_wlog_cb, &l, &err);
	ck_assert_ptr_nonnull(w);
	ck_assert_int_eq(th_wait(tu_loop, tu_wlog_created, &l, 10), 0);
	struct tu_writer *wr = tu_writer_start(tu_client, "/fo/w/", N);

	struct tu_writer_at at = {wr, 100};
	ck_assert_int_eq(th_wait(tu_loop, tu_writer_reached, &at, 30), 0);
	int first = current_member(); /* the watch started there */
	ck_assert_int_eq(th_etcd_kill(tu_etcd, first), 0);
	at.n = 200;
	ck_assert_msg(th_wait(tu_loop, tu_writer_reached, &at, 30) == 0, "writer stuck at %d (errors %d)",
	              tu_writer_written(wr), tu_writer_errors(wr));
	/* bring it back, then kill the member the client moved to */
	ck_assert_int_eq(th_etcd_restart(tu_etcd, first), 0);
	int second = current_member();
	ck_assert_int_ne(second, first);
	ck_assert_int_eq(th_etcd_kill(tu_etcd, second), 0);
	ck_assert_msg(th_wait(tu_loop, tu_writer_done, wr, 40) == 0, "writer stuck at %d (errors %d)",
	              tu_writer_written(wr), tu_writer_errors(wr));
	struct tu_wcount wc = {&l, (size_t)N};
	ck_assert_msg(th_wait(tu_loop, tu_wlog_has, &wc, 20) == 0,
	              "watch got %zu events of %d (created %d, retrying %d, errors %d)", l.n, N, l.created, l.retrying,
	              l.errors);
	th_wait(tu_loop, NULL, NULL, 0.3);
	ck_assert_msg(l.n == (size_t)N, "%zu events for %d keys", l.n, N);
	ck_assert_int_eq(l.errors, 0);
	ck_assert_int_eq(l.out_of_order, 0);
	for (int i = 0; i < N; i++) {
		char key[32];
		snprintf(key, sizeof key, "/fo/w/%05d", i);
		ck_assert_msg(strcmp(l.ev[i].key, key) == 0, "event %d is %s, expected %s", i, l.ev[i].key, key);
		ck_assert_int_eq(l.ev[i].version, 1);
	}
	ck_assert_int_ge(l.retrying, 1);
	ck_assert_int_ge(l.created, 2);
	etcd_watch_cancel(w);
	tu_writer_free(wr);
	tu_wlog_free(&l);
}
END_TEST

START_TEST(failover_all_down_then_back)
{
	struct etcd_result *r = call_put("/fo/all/k", "1");
	TU_OK(r);
	TU_FREE(r);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(th_etcd_kill(tu_etcd, i), 0);
	r = call_get("/fo/all/k");
	TU_CODE(r, ETCD_ECONN);
	TU_FREE(r);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(th_etcd_spawn(tu_etcd, i), 0);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(th_etcd_wait_healthy(tu_etcd, i, 20), 0);
	r = call_get("/fo/all/k");
	TU_OK(r);
	ck_assert_str_eq(r->kvs[0].value, "1");
	TU_FREE(r);
}
END_TEST

static Suite *
failover_suite(void)
{
	Suite *s = suite_create("etcd_failover");
	TCase *tc = tcase_create("failover");
	tcase_add_checked_fixture(tc, tu_setup, tu_teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, failover_unary_when_member_killed);
	tcase_add_test(tc, failover_watch_when_member_killed);
	tcase_add_test(tc, failover_all_down_then_back);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	static const struct tu_fixture fx = {.members = 3, .per_test = 1, .async = 1, .tune = tune};

	return tu_suite_main(failover_suite(), &fx);
}
