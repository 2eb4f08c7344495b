/*
 * check_etcd_lease.c: leases against real etcd: grant (server-chosen and
 * chosen ids), time-to-live with keys, keep-alive, revoke, expiry deleting
 * attached keys, and the keeper: it keeps a short lease alive, reports
 * ETCD_LEASE_LOST when the lease is revoked behind its back, and
 * ETCD_LEASE_DOUBT (then ALIVE) when etcd is stopped for longer than the
 * TTL. The DOUBT test starts its own etcd; the others share one.
 */
#include <check.h>
#include <ev.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "etcd.h"
#include "etcd_sync.h"
#include "tests/harness/etcd_fixture.h"
#include "tests/harness/etcd_harness.h"
#include "tests/harness/etcd_testutil.h"

static double
now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int64_t
grant(int64_t ttl)
{
	struct etcd_result *r = etcd_sync_lease_grant(tu_sync, ttl, 0);
	TU_OK(r);
	int64_t id = r->lease_id;
	ck_assert_int_ne(id, 0);
	ck_assert_int_eq(r->ttl, ttl);
	TU_FREE(r);
	return id;
}

START_TEST(lease_grant_ttl_revoke)
{
	int64_t id = grant(30);
	struct etcd_result *r = etcd_sync_lease_ttl(tu_sync, id, 0);
	TU_OK(r);
	ck_assert_int_eq(r->lease_id, id);
	ck_assert_int_eq(r->granted_ttl, 30);
	ck_assert_int_gt(r->ttl, 0);
	ck_assert_int_le(r->ttl, 30);
	TU_FREE(r);
	r = etcd_sync_lease_revoke(tu_sync, id);
	TU_OK(r);
	ck_assert_int_gt(r->revision, 0);
	TU_FREE(r);
	r = etcd_sync_lease_ttl(tu_sync, id, 0);
	TU_OK(r);
	ck_assert_int_eq(r->ttl, -1); /* unknown lease */
	TU_FREE(r);
	r = etcd_sync_lease_revoke(tu_sync, id);
	TU_CODE(r, ETCD_ENOLEASE);
	TU_FREE(r);
}
END_TEST

START_TEST(lease_grant_chosen_id)
{
	int64_t id = 0x5e11f00d0001LL;
	struct etcd_result *r = etcd_sync_lease_grant(tu_sync, 20, id);
	TU_OK(r);
	ck_assert_int_eq(r->lease_id, id);
	TU_FREE(r);
	/* a second grant of the same id fails ("lease already exists") */
	r = etcd_sync_lease_grant(tu_sync, 20, id);
	ck_assert_ptr_nonnull(r);
	ck_assert_msg(r->err.code != ETCD_OK, "granted the same id twice");
	ck_assert(r->err.msg[0] != 0);
	TU_FREE(r);
	r = etcd_sync_lease_revoke(tu_sync, id);
	TU_OK(r);
	TU_FREE(r);
}
END_TEST

START_TEST(lease_ttl_lists_keys)
{
	int64_t id = grant(30);
	struct etcd_put_opts po = {.lease = id};
	struct etcd_result *r = etcd_sync_put(tu_sync, "/lease/keys/a", "1", 1, &po);
	TU_OK(r);
	TU_FREE(r);
	r = etcd_sync_put(tu_sync, "/lease/keys/b", "2", 1, &po);
	TU_OK(r);
	TU_FREE(r);
	r = etcd_sync_lease_ttl(tu_sync, id, 1);
	TU_OK(r);
	ck_assert_uint_eq(r->nkvs, 2);
	int a = 0, b = 0;
	for (size_t i = 0; i < r->nkvs; i++) {
		a += strcmp(r->kvs[i].key, "/lease/keys/a") == 0;
		b += strcmp(r->kvs[i].key, "/lease/keys/b") == 0;
	}
	ck_assert(a == 1 && b == 1);
	TU_FREE(r);
	r = etcd_sync_lease_revoke(tu_sync, id);
	TU_OK(r);
	TU_FREE(r);
	struct etcd_range_opts o = {.prefix = 1};
	r = etcd_sync_range(tu_sync, "/lease/keys/", &o);
	TU_OK(r);
	ck_assert_uint_eq(r->nkvs, 0);
	TU_FREE(r);
}
END_TEST

START_TEST(lease_keepalive_once)
{
	int64_t id = grant(20);
	struct etcd_result *r = etcd_sync_lease_keepalive(tu_sync, id);
	TU_OK(r);
	ck_assert_int_eq(r->lease_id, id);
	ck_assert_int_eq(r->ttl, 20); /* the full granted TTL */
	TU_FREE(r);
	r = etcd_sync_lease_revoke(tu_sync, id);
	TU_FREE(r);
	r = etcd_sync_lease_keepalive(tu_sync, id);
	TU_CODE(r, ETCD_ENOLEASE);
	ck_assert_int_eq(r->ttl, 0);
	TU_FREE(r);
}
END_TEST

START_TEST(lease_async_calls)
{
	struct etcd_client *c = etcd_sync_client(tu_sync);
	struct ev_loop *loop = etcd_client_loop(c);
	struct etcd_error err;
	struct tu_call g = {0, NULL}, k = {0, NULL}, t = {0, NULL}, v = {0, NULL};
	ck_assert_int_eq(etcd_lease_grant(c, 15, 0, tu_call_cb, &g, &err), 0);
	ck_assert_int_eq(th_wait(loop, tu_call_done, &g, 10), 0);
	TU_OK(g.res);
	int64_t id = g.res->lease_id;
	ck_assert_int_eq(etcd_lease_keepalive(c, id, tu_call_cb, &k, &err), 0);
	ck_assert_int_eq(etcd_lease_ttl(c, id, 1, tu_call_cb, &t, &err), 0);
	ck_assert_int_eq(th_wait(loop, tu_call_done, &k, 10), 0);
	ck_assert_int_eq(th_wait(loop, tu_call_done, &t, 10), 0);
	TU_OK(k.res);
	ck_assert_int_eq(k.res->ttl, 15);
	TU_OK(t.res);
	ck_assert_int_eq(t.res->granted_ttl, 15);
	ck_assert_int_eq(etcd_lease_revoke(c, id, tu_call_cb, &v, &err), 0);
	ck_assert_int_eq(th_wait(loop, tu_call_done, &v, 10), 0);
	TU_OK(v.res);
	tu_call_reset(&g);
	tu_call_reset(&k);
	tu_call_reset(&t);
	tu_call_reset(&v);
}
END_TEST

START_TEST(lease_expiry_deletes_keys)
{
	int64_t id = grant(1); /* raised to etcd's minimum TTL if below it */
	struct etcd_put_opts po = {.lease = id};
	struct etcd_result *r = etcd_sync_put(tu_sync, "/lease/exp/k", "v", 1, &po);
	TU_OK(r);
	int64_t rev = r->revision;
	TU_FREE(r);
	/* wait for the DELETE event, not for a fixed time */
	struct etcd_config cfg;
	struct etcd_error err;
	tu_config(tu_etcd, &cfg);
	struct ev_loop *loop = ev_loop_new(0);
	struct etcd_client *c = etcd_client_new(loop, &cfg, &err);
	ck_assert_ptr_nonnull(c);
	struct tu_wlog l = {0};
	struct etcd_watch_opts o = {.no_put = 1, .start_revision = rev};
	ck_assert_ptr_nonnull(etcd_watch_start(c, "/lease/exp/k", &o, tu_wlog_cb, &l, &err));
	double t0 = now_s();
	struct tu_wcount wc = {&l, 1};
	ck_assert_int_eq(th_wait(loop, tu_wlog_has, &wc, 10), 0);
	ck_assert_int_eq(l.ev[0].type, ETCD_EVENT_DELETE);
	ck_assert_msg(now_s() - t0 < 8, "expired after %.1f s", now_s() - t0);
	r = etcd_sync_lease_keepalive(tu_sync, id);
	TU_CODE(r, ETCD_ENOLEASE);
	TU_FREE(r);
	etcd_client_free(c);
	ev_loop_destroy(loop);
	tu_wlog_free(&l);
}
END_TEST

/* Keeper state changes, recorded. */
struct kstate {
	int alive, doubt, lost, calls;
	enum etcd_lease_state last;
	enum etcd_code lost_code;
	double doubt_at, alive_at, lost_at;
	int stop_in_cb;
	struct etcd_keeper *k;
};

static void
keeper_cb(struct etcd_keeper *k, enum etcd_lease_state st, const struct etcd_error *err, void *arg)
{
	struct kstate *s = arg;
	s->calls++;
	s->last = st;
	if (st == ETCD_LEASE_ALIVE) {
		s->alive++;
		s->alive_at = now_s();
	} else if (st == ETCD_LEASE_DOUBT) {
		s->doubt++;
		s->doubt_at = now_s();
	} else {
		s->lost++;
		s->lost_at = now_s();
		s->lost_code = err ? err->code : ETCD_OK;
		if (s->stop_in_cb) {
			etcd_keeper_stop(k);
			s->k = NULL;
		}
	}
}

static int
k_lost(void *arg)
{
	return ((struct kstate *)arg)->lost > 0;
}
static int
k_doubt(void *arg)
{
	return ((struct kstate *)arg)->doubt > 0;
}
static int
k_alive(void *arg)
{
	return ((struct kstate *)arg)->alive > 0;
}

START_TEST(keeper_keeps_short_lease_alive)
{
	struct etcd_client *c = etcd_sync_client(tu_sync);
	int64_t id = grant(2);
	struct etcd_put_opts po = {.lease = id};
	struct etcd_result *r = etcd_sync_put(tu_sync, "/lease/keep/k", "v", 1, &po);
	TU_OK(r);
	TU_FREE(r);
	struct kstate ks = {0};
	ks.k = etcd_keeper_start(c, id, 2, keeper_cb, &ks);
	ck_assert_ptr_nonnull(ks.k);
	/* run for twice the TTL: the lease must outlive it */
	th_wait(etcd_client_loop(c), NULL, NULL, 4.5);
	ck_assert_int_eq(ks.doubt, 0);
	ck_assert_int_eq(ks.lost, 0);
	r = etcd_sync_get(tu_sync, "/lease/keep/k");
	TU_OK(r);
	ck_assert_uint_eq(r->nkvs, 1);
	TU_FREE(r);
	r = etcd_sync_lease_ttl(tu_sync, id, 0);
	TU_OK(r);
	ck_assert_int_gt(r->ttl, 0);
	TU_FREE(r);
	etcd_keeper_stop(ks.k);
	/* stopped: the lease now expires by itself */
	r = etcd_sync_lease_revoke(tu_sync, id);
	TU_OK(r);
	TU_FREE(r);
}
END_TEST

START_TEST(keeper_lost_when_revoked)
{
	struct etcd_client *c = etcd_sync_client(tu_sync);
	int64_t id = grant(3);
	struct kstate ks = {0};
	ks.k = etcd_keeper_start(c, id, 3, keeper_cb, &ks);
	ck_assert_ptr_nonnull(ks.k);
	th_wait(etcd_client_loop(c), NULL, NULL, 0.3);
	/* revoke behind its back, with another client */
	struct etcd_config cfg;
	struct etcd_error err;
	tu_config(tu_etcd, &cfg);
	struct etcd_sync *other = etcd_sync_new(&cfg, &err);
	ck_assert_ptr_nonnull(other);
	struct etcd_result *r = etcd_sync_lease_revoke(other, id);
	TU_OK(r);
	TU_FREE(r);
	etcd_sync_free(other);
	double t0 = now_s();
	ck_assert_msg(th_wait(etcd_client_loop(c), k_lost, &ks, 6) == 0, "no LOST (calls %d, last %d)", ks.calls,
	              ks.last);
	ck_assert_msg(ks.lost_at - t0 < 3.5, "LOST after %.2f s, keep-alives are every ttl/3", ks.lost_at - t0);
	ck_assert_int_eq(ks.lost, 1);
	ck_assert_int_eq(ks.doubt, 0);
	/* the keeper stopped: no more callbacks */
	th_wait(etcd_client_loop(c), NULL, NULL, 1.2);
	ck_assert_int_eq(ks.calls, 1);
	etcd_keeper_stop(ks.k);
}
END_TEST

START_TEST(keeper_stop_inside_lost_callback)
{
	struct etcd_client *c = etcd_sync_client(tu_sync);
	int64_t id = grant(3);
	struct kstate ks = {0};
	ks.stop_in_cb = 1;
	ks.k = etcd_keeper_start(c, id, 3, keeper_cb, &ks);
	ck_assert_ptr_nonnull(ks.k);
	struct etcd_result *r = etcd_sync_lease_revoke(tu_sync, id);
	TU_OK(r);
	TU_FREE(r);
	ck_assert_int_eq(th_wait(etcd_client_loop(c), k_lost, &ks, 6), 0);
	ck_assert_ptr_null(ks.k);
	th_wait(etcd_client_loop(c), NULL, NULL, 1.2);
	ck_assert_int_eq(ks.calls, 1);
}
END_TEST

START_TEST(keeper_of_unknown_lease_is_lost)
{
	struct etcd_client *c = etcd_sync_client(tu_sync);
	struct kstate ks = {0};
	ks.k = etcd_keeper_start(c, 0x7e57000000000abcLL, 3, keeper_cb, &ks);
	ck_assert_ptr_nonnull(ks.k);
	ck_assert_int_eq(th_wait(etcd_client_loop(c), k_lost, &ks, 6), 0);
	ck_assert_int_eq(ks.lost, 1);
	etcd_keeper_stop(ks.k);
}
END_TEST

START_TEST(keeper_freed_with_client)
{
	struct etcd_config cfg;
	struct etcd_error err;
	tu_config(tu_etcd, &cfg);
	struct ev_loop *loop = ev_loop_new(0);
	struct etcd_client *c = etcd_client_new(loop, &cfg, &err);
	ck_assert_ptr_nonnull(c);
	int64_t id = grant(5);
	struct kstate ks = {0};
	ks.k = etcd_keeper_start(c, id, 5, keeper_cb, &ks);
	ck_assert_ptr_nonnull(ks.k);
	th_wait(loop, NULL, NULL, 0.2);
	etcd_client_free(c); /* frees the keeper too */
	ev_loop_destroy(loop);
	struct etcd_result *r = etcd_sync_lease_revoke(tu_sync, id);
	TU_FREE(r);
}
END_TEST

/* Own etcd: stop it for longer than the TTL, then start it again. */
START_TEST(keeper_doubt_when_etcd_down)
{
	struct th_etcd *e = th_etcd_start(1, NULL);
	ck_assert_ptr_nonnull(e);
	struct etcd_config cfg;
	struct etcd_error err;
	tu_config(e, &cfg);
	cfg.request_timeout_ms = 500;
	cfg.connect_timeout_ms = 300;
	cfg.retry_budget_ms = 600;
	struct ev_loop *loop = ev_loop_new(0);
	struct etcd_client *c = etcd_client_new(loop, &cfg, &err);
	ck_assert_ptr_nonnull(c);
	struct tu_call g = {0, NULL};
	ck_assert_int_eq(etcd_lease_grant(c, 2, 0, tu_call_cb, &g, &err), 0);
	ck_assert_int_eq(th_wait(loop, tu_call_done, &g, 10), 0);
	TU_OK(g.res);
	int64_t id = g.res->lease_id;
	struct kstate ks = {0};
	ks.k = etcd_keeper_start(c, id, 2, keeper_cb, &ks);
	ck_assert_ptr_nonnull(ks.k);
	th_wait(loop, NULL, NULL, 1.0); /* at least one keep-alive went through */
	ck_assert_int_eq(ks.calls, 0);

	ck_assert_int_eq(th_etcd_stop(e, 0), 0);
	double t0 = now_s();
	ck_assert_msg(th_wait(loop, k_doubt, &ks, 8) == 0, "no DOUBT with etcd down (calls %d)", ks.calls);
	double after = ks.doubt_at - t0;
	ck_assert_msg(after > 0.5 && after < 3.5, "DOUBT %.2f s after etcd stopped (TTL 2 s)", after);
	ck_assert_int_eq(ks.lost, 0);
	ck_assert_int_eq(ks.last, ETCD_LEASE_DOUBT);

	/* etcd back: a leader restart extends leases, so the next keep-alive
	 * succeeds and the keeper reports ALIVE */
	ck_assert_int_eq(th_etcd_spawn(e, 0), 0);
	ck_assert_msg(th_wait(loop, k_alive, &ks, 20) == 0, "no ALIVE after etcd came back (calls %d, last %d)",
	              ks.calls, ks.last);
	ck_assert_int_eq(ks.last, ETCD_LEASE_ALIVE);
	ck_assert_int_eq(ks.doubt, 1);
	ck_assert_int_eq(ks.lost, 0);

	etcd_keeper_stop(ks.k);
	tu_call_reset(&g);
	etcd_client_free(c);
	ev_loop_destroy(loop);
	th_etcd_free(e);
}
END_TEST

static Suite *
lease_suite(void)
{
	Suite *s = suite_create("etcd_lease");
	TCase *core = tcase_create("core");
	tcase_add_checked_fixture(core, tu_setup, tu_teardown);
	tcase_set_timeout(core, 60);
	tcase_add_test(core, lease_grant_ttl_revoke);
	tcase_add_test(core, lease_grant_chosen_id);
	tcase_add_test(core, lease_ttl_lists_keys);
	tcase_add_test(core, lease_keepalive_once);
	tcase_add_test(core, lease_async_calls);
	tcase_add_test(core, lease_expiry_deletes_keys);
	suite_add_tcase(s, core);

	TCase *kp = tcase_create("keeper");
	tcase_add_checked_fixture(kp, tu_setup, tu_teardown);
	tcase_set_timeout(kp, 60);
	tcase_add_test(kp, keeper_keeps_short_lease_alive);
	tcase_add_test(kp, keeper_lost_when_revoked);
	tcase_add_test(kp, keeper_stop_inside_lost_callback);
	tcase_add_test(kp, keeper_of_unknown_lease_is_lost);
	tcase_add_test(kp, keeper_freed_with_client);
	tcase_add_test(kp, keeper_doubt_when_etcd_down);
	suite_add_tcase(s, kp);
	return s;
}

int
main(void)
{
	static const struct tu_fixture fx = {.sync = 1};

	return tu_suite_main(lease_suite(), &fx);
}
