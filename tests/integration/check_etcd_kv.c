/*
 * check_etcd_kv.c: the KV calls of etcd.h / etcd_sync.h against a real
 * one-member etcd (started once for the whole file; every test works under
 * its own key prefix): put/get/range options, paging, delete, compaction,
 * size limits, status, client configuration errors.
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

static void
put3(const char *pfx)
{
	char k[128];
	for (int i = 0; i < 3; i++) {
		snprintf(k, sizeof k, "%s%c", pfx, 'a' + i);
		ck_assert_int_gt(tu_put(tu_sync, k, k + strlen(k) - 1), 0);
	}
}

/* ---- core ---- */

START_TEST(kv_put_then_get)
{
	int64_t rev = tu_put(tu_sync, "/kv/pg/a", "one");
	ck_assert_int_gt(rev, 0);
	struct etcd_result *r = etcd_sync_get(tu_sync, "/kv/pg/a");
	TU_OK(r);
	ck_assert_uint_eq(r->nkvs, 1);
	ck_assert_str_eq(r->kvs[0].key, "/kv/pg/a");
	ck_assert_uint_eq(r->kvs[0].key_len, 8);
	ck_assert_str_eq(r->kvs[0].value, "one");
	ck_assert_uint_eq(r->kvs[0].value_len, 3);
	ck_assert_int_eq(r->kvs[0].version, 1);
	ck_assert_int_eq(r->kvs[0].create_revision, rev);
	ck_assert_int_eq(r->kvs[0].mod_revision, rev);
	ck_assert_int_eq(r->kvs[0].lease, 0);
	ck_assert_int_ge(r->revision, rev);
	ck_assert_int_eq(r->count, 1);
	ck_assert_int_eq(r->more, 0);
	ck_assert_uint_ne(r->member_id, 0);
	TU_FREE(r);
	ck_assert_int_gt(tu_put(tu_sync, "/kv/pg/a", "two"), rev);
	r = etcd_sync_get(tu_sync, "/kv/pg/a");
	TU_OK(r);
	ck_assert_str_eq(r->kvs[0].value, "two");
	ck_assert_int_eq(r->kvs[0].version, 2);
	ck_assert_int_eq(r->kvs[0].create_revision, rev);
	TU_FREE(r);
}
END_TEST

START_TEST(kv_get_missing_key)
{
	struct etcd_result *r = etcd_sync_get(tu_sync, "/kv/missing/nothing-here");
	TU_OK(r);
	ck_assert_uint_eq(r->nkvs, 0);
	ck_assert_int_eq(r->count, 0);
	ck_assert_int_gt(r->revision, 0);
	TU_FREE(r);
}
END_TEST

START_TEST(kv_binary_and_empty_values)
{
	static const char bin[] = {'a', 0, (char)0xff, 0, 'z', (char)0x80};
	struct etcd_result *r = etcd_sync_put(tu_sync, "/kv/bin/v", bin, sizeof bin, NULL);
	TU_OK(r);
	TU_FREE(r);
	r = etcd_sync_get(tu_sync, "/kv/bin/v");
	TU_OK(r);
	ck_assert_uint_eq(r->nkvs, 1);
	ck_assert_uint_eq(r->kvs[0].value_len, sizeof bin);
	ck_assert(memcmp(r->kvs[0].value, bin, sizeof bin) == 0);
	ck_assert_int_eq(r->kvs[0].value[sizeof bin], 0);
	TU_FREE(r);

	r = etcd_sync_put(tu_sync, "/kv/bin/empty", "", 0, NULL);
	TU_OK(r);
	TU_FREE(r);
	r = etcd_sync_get(tu_sync, "/kv/bin/empty");
	TU_OK(r);
	ck_assert_uint_eq(r->nkvs, 1);
	ck_assert_uint_eq(r->kvs[0].value_len, 0);
	TU_FREE(r);
}
END_TEST

START_TEST(kv_key_with_odd_bytes)
{
	const char *key = "/kv/odd/sp ace/\xc3\xa9/\x01/+=?&";
	ck_assert_int_gt(tu_put(tu_sync, key, "v"), 0);
	struct etcd_result *r = etcd_sync_get(tu_sync, key);
	TU_OK(r);
	ck_assert_uint_eq(r->nkvs, 1);
	ck_assert_str_eq(r->kvs[0].key, key);
	TU_FREE(r);
}
END_TEST

START_TEST(kv_range_prefix)
{
	put3("/kv/rp/");
	ck_assert_int_gt(tu_put(tu_sync, "/kv/rp", "outside"), 0);
	ck_assert_int_gt(tu_put(tu_sync, "/kv/rpz", "outside"), 0);
	ck_assert_int_gt(tu_put(tu_sync, "/kv/rp0", "outside"), 0);
	struct etcd_range_opts o = {.prefix = 1};
	struct etcd_result *r = etcd_sync_range(tu_sync, "/kv/rp/", &o);
	TU_OK(r);
	ck_assert_uint_eq(r->nkvs, 3);
	ck_assert_str_eq(r->kvs[0].key, "/kv/rp/a");
	ck_assert_str_eq(r->kvs[1].key, "/kv/rp/b");
	ck_assert_str_eq(r->kvs[2].key, "/kv/rp/c");
	ck_assert_str_eq(r->kvs[2].value, "c");
	ck_assert_int_eq(r->count, 3);
	ck_assert_int_eq(r->more, 0);
	TU_FREE(r);

	r = etcd_sync_range(tu_sync, "/kv/rp/nothing/", &o);
	TU_OK(r);
	ck_assert_uint_eq(r->nkvs, 0);
	ck_assert_int_eq(r->count, 0);
	TU_FREE(r);
}
END_TEST

START_TEST(kv_list_shorthand)
{
	put3("/kv/list/");
	struct tu_call call = {0, NULL};
	struct etcd_error err;
	struct etcd_client *c = etcd_sync_client(tu_sync);
	ck_assert_int_eq(etcd_list(c, "/kv/list/", tu_call_cb, &call, &err), 0);
	ck_assert_int_eq(call.calls, 0); /* never before the call returns */
	ck_assert_int_eq(th_wait(etcd_client_loop(c), tu_call_done, &call, 10), 0);
	TU_OK(call.res);
	ck_assert_uint_eq(call.res->nkvs, 3);
	tu_call_reset(&call);

	ck_assert_int_eq(etcd_get(c, "/kv/list/b", tu_call_cb, &call, &err), 0);
	ck_assert_int_eq(th_wait(etcd_client_loop(c), tu_call_done, &call, 10), 0);
	TU_OK(call.res);
	ck_assert_uint_eq(call.res->nkvs, 1);
	ck_assert_str_eq(call.res->kvs[0].value, "b");
	/* exactly one callback, even if the loop keeps running */
	th_wait(etcd_client_loop(c), NULL, NULL, 0.2);
	ck_assert_int_eq(call.calls, 1);
	tu_call_reset(&call);
}
END_TEST

START_TEST(kv_range_limit)
{
	put3("/kv/lim/");
	struct etcd_range_opts o = {.prefix = 1, .limit = 2};
	struct etcd_result *r = etcd_sync_range(tu_sync, "/kv/lim/", &o);
	TU_OK(r);
	ck_assert_uint_eq(r->nkvs, 2);
	ck_assert_int_eq(r->more, 1);
	ck_assert_int_eq(r->count, 3);
	ck_assert_str_eq(r->kvs[1].key, "/kv/lim/b");
	TU_FREE(r);
}
END_TEST

START_TEST(kv_range_at_revision)
{
	int64_t r1 = tu_put(tu_sync, "/kv/rev/k", "v1");
	int64_t r2 = tu_put(tu_sync, "/kv/rev/k", "v2");
	ck_assert_int_gt(r1, 0);
	ck_assert_int_gt(r2, r1);
	struct etcd_range_opts o = {.revision = r1};
	struct etcd_result *r = etcd_sync_range(tu_sync, "/kv/rev/k", &o);
	TU_OK(r);
	ck_assert_uint_eq(r->nkvs, 1);
	ck_assert_str_eq(r->kvs[0].value, "v1");
	ck_assert_int_eq(r->kvs[0].mod_revision, r1);
	TU_FREE(r);
	o.revision = r1 - 1;
	r = etcd_sync_range(tu_sync, "/kv/rev/k", &o);
	TU_OK(r);
	ck_assert_uint_eq(r->nkvs, 0);
	TU_FREE(r);
	o.revision = 0;
	r = etcd_sync_range(tu_sync, "/kv/rev/k", &o);
	TU_OK(r);
	ck_assert_str_eq(r->kvs[0].value, "v2");
	TU_FREE(r);
}
END_TEST

START_TEST(kv_range_future_revision)
{
	int64_t now = tu_revision(tu_sync);
	ck_assert_int_gt(now, 0);
	struct etcd_range_opts o = {.revision = now + 1000};
	struct etcd_result *r = etcd_sync_range(tu_sync, "/kv/future", &o);
	TU_CODE(r, ETCD_EFUTURE);
	ck_assert_int_eq(r->err.grpc_code, 11);
	TU_FREE(r);
}
END_TEST

START_TEST(kv_range_keys_only_and_count_only)
{
	put3("/kv/ko/");
	struct etcd_range_opts o = {.prefix = 1, .keys_only = 1};
	struct etcd_result *r = etcd_sync_range(tu_sync, "/kv/ko/", &o);
	TU_OK(r);
	ck_assert_uint_eq(r->nkvs, 3);
	for (size_t i = 0; i < r->nkvs; i++) {
		ck_assert_uint_eq(r->kvs[i].value_len, 0);
		ck_assert_int_gt(r->kvs[i].mod_revision, 0);
	}
	ck_assert_str_eq(r->kvs[0].key, "/kv/ko/a");
	TU_FREE(r);

	struct etcd_range_opts oc = {.prefix = 1, .count_only = 1};
	r = etcd_sync_range(tu_sync, "/kv/ko/", &oc);
	TU_OK(r);
	ck_assert_uint_eq(r->nkvs, 0);
	ck_assert_int_eq(r->count, 3);
	TU_FREE(r);
}
END_TEST

START_TEST(kv_range_sort)
{
	ck_assert_int_gt(tu_put(tu_sync, "/kv/sort/b", "1"), 0);
	ck_assert_int_gt(tu_put(tu_sync, "/kv/sort/c", "3"), 0);
	ck_assert_int_gt(tu_put(tu_sync, "/kv/sort/a", "2"), 0);
	struct etcd_range_opts o = {.prefix = 1, .sort_target = ETCD_SORT_KEY, .sort_order = ETCD_SORT_DESCEND};
	struct etcd_result *r = etcd_sync_range(tu_sync, "/kv/sort/", &o);
	TU_OK(r);
	ck_assert_uint_eq(r->nkvs, 3);
	ck_assert_str_eq(r->kvs[0].key, "/kv/sort/c");
	ck_assert_str_eq(r->kvs[2].key, "/kv/sort/a");
	TU_FREE(r);

	o.sort_target = ETCD_SORT_MOD;
	o.sort_order = ETCD_SORT_ASCEND;
	r = etcd_sync_range(tu_sync, "/kv/sort/", &o);
	TU_OK(r);
	ck_assert_str_eq(r->kvs[0].key, "/kv/sort/b");
	ck_assert_str_eq(r->kvs[1].key, "/kv/sort/c");
	ck_assert_str_eq(r->kvs[2].key, "/kv/sort/a");
	TU_FREE(r);

	o.sort_target = ETCD_SORT_VALUE;
	o.sort_order = ETCD_SORT_DESCEND;
	r = etcd_sync_range(tu_sync, "/kv/sort/", &o);
	TU_OK(r);
	ck_assert_str_eq(r->kvs[0].value, "3");
	ck_assert_str_eq(r->kvs[2].value, "1");
	TU_FREE(r);

	/* the newest key: create revision descending, limit 1 */
	struct etcd_range_opts on = {
		.prefix = 1, .sort_target = ETCD_SORT_CREATE, .sort_order = ETCD_SORT_DESCEND, .limit = 1};
	r = etcd_sync_range(tu_sync, "/kv/sort/", &on);
	TU_OK(r);
	ck_assert_uint_eq(r->nkvs, 1);
	ck_assert_str_eq(r->kvs[0].key, "/kv/sort/a");
	TU_FREE(r);
}
END_TEST

START_TEST(kv_range_end_and_from_key)
{
	put3("/kv/re/");
	struct etcd_range_opts o = {.range_end = "/kv/re/c"};
	struct etcd_result *r = etcd_sync_range(tu_sync, "/kv/re/a", &o);
	TU_OK(r);
	ck_assert_uint_eq(r->nkvs, 2);
	ck_assert_str_eq(r->kvs[1].key, "/kv/re/b");
	TU_FREE(r);

	/* from_key: every key >= /kv/re/b (counting only this suite's /kv/re/ keys) */
	struct etcd_range_opts of = {.from_key = 1, .keys_only = 1};
	r = etcd_sync_range(tu_sync, "/kv/re/b", &of);
	TU_OK(r);
	ck_assert_uint_ge(r->nkvs, 2);
	ck_assert_str_eq(r->kvs[0].key, "/kv/re/b");
	ck_assert_str_eq(r->kvs[1].key, "/kv/re/c");
	for (size_t i = 0; i < r->nkvs; i++)
		ck_assert(strcmp(r->kvs[i].key, "/kv/re/b") >= 0);
	TU_FREE(r);
}
END_TEST

START_TEST(kv_range_revision_filters)
{
	int64_t ra = tu_put(tu_sync, "/kv/flt/a", "1");
	int64_t rb = tu_put(tu_sync, "/kv/flt/b", "1");
	int64_t rc = tu_put(tu_sync, "/kv/flt/c", "1");
	ck_assert_int_gt(ra, 0);
	struct etcd_range_opts o = {.prefix = 1, .min_mod_revision = rb};
	struct etcd_result *r = etcd_sync_range(tu_sync, "/kv/flt/", &o);
	TU_OK(r);
	ck_assert_uint_eq(r->nkvs, 2);
	ck_assert_str_eq(r->kvs[0].key, "/kv/flt/b");
	TU_FREE(r);
	struct etcd_range_opts o2 = {.prefix = 1, .max_create_revision = rc - 1};
	r = etcd_sync_range(tu_sync, "/kv/flt/", &o2);
	TU_OK(r);
	ck_assert_uint_eq(r->nkvs, 2);
	ck_assert_str_eq(r->kvs[1].key, "/kv/flt/b");
	TU_FREE(r);
}
END_TEST

START_TEST(kv_range_serializable)
{
	ck_assert_int_gt(tu_put(tu_sync, "/kv/ser/a", "x"), 0);
	struct etcd_range_opts o = {.serializable = 1};
	struct etcd_result *r = etcd_sync_range(tu_sync, "/kv/ser/a", &o);
	TU_OK(r);
	ck_assert_uint_eq(r->nkvs, 1);
	TU_FREE(r);
}
END_TEST

/* Paging: 2500 keys read in pages of 1000 while other writes race with the
 * pages; the result must be exactly the range at one revision. */
#define NPAGEKEYS 2500

struct race {
	int pending;
	int failed;
};

static void
race_cb(struct etcd_result *res, void *arg)
{
	struct race *rc = arg;
	rc->pending--;
	if (res->err.code != ETCD_OK)
		rc->failed++;
}

static int
race_done(void *arg)
{
	struct race *rc = arg;
	return rc->pending == 0;
}

START_TEST(kv_range_paging_one_revision)
{
	char key[64], val[64];
	for (int b = 0; b < NPAGEKEYS / 100; b++) {
		struct etcd_txn *t = etcd_txn_new();
		for (int i = b * 100; i < (b + 1) * 100; i++) {
			snprintf(key, sizeof key, "/kv/page/%05d", i);
			snprintf(val, sizeof val, "value-%d", i);
			ck_assert_int_eq(etcd_txn_put(t, ETCD_TXN_SUCCESS, key, val, strlen(val), 0), 0);
		}
		struct etcd_result *r = etcd_sync_txn(tu_sync, t);
		TU_OK(r);
		TU_FREE(r);
	}

	struct etcd_client *c = etcd_sync_client(tu_sync);
	struct ev_loop *loop = etcd_client_loop(c);
	struct etcd_error err;
	struct tu_call call = {0, NULL};
	struct race race = {0, 0};
	struct etcd_range_opts o = {.prefix = 1, .page_size = 1000};
	ck_assert_int_eq(etcd_range(c, "/kv/page/", &o, tu_call_cb, &call, &err), 0);
	/* racing writes: new keys inside the range and updates of old ones */
	for (int i = 0; i < 20; i++) {
		if (i % 2)
			snprintf(key, sizeof key, "/kv/page/%05d", i * 100 + 50);
		else
			snprintf(key, sizeof key, "/kv/page/%05d-new", i * 120);
		ck_assert_int_eq(etcd_put(c, key, "raced", 5, NULL, race_cb, &race, &err), 0);
		race.pending++;
	}
	ck_assert_int_eq(th_wait(loop, tu_call_done, &call, 30), 0);
	ck_assert_int_eq(th_wait(loop, race_done, &race, 30), 0);
	ck_assert_int_eq(race.failed, 0);
	TU_OK(call.res);
	struct etcd_result *p = call.res;
	ck_assert_int_ge(p->nkvs, NPAGEKEYS);
	ck_assert_int_eq(p->more, 0);
	ck_assert_int_eq(p->count, (int64_t)p->nkvs);
	for (size_t i = 0; i < p->nkvs; i++) {
		ck_assert_int_le(p->kvs[i].mod_revision, p->revision);
		if (i > 0)
			ck_assert_msg(strcmp(p->kvs[i - 1].key, p->kvs[i].key) < 0,
			              "keys out of order or repeated at %zu: %s, %s", i, p->kvs[i - 1].key,
			              p->kvs[i].key);
	}
	/* the same range in one request at the same revision must be identical */
	struct etcd_range_opts one = {.prefix = 1, .revision = p->revision};
	struct etcd_result *r = etcd_sync_range(tu_sync, "/kv/page/", &one);
	TU_OK(r);
	ck_assert_uint_eq(r->nkvs, p->nkvs);
	for (size_t i = 0; i < p->nkvs; i++) {
		ck_assert_str_eq(r->kvs[i].key, p->kvs[i].key);
		ck_assert_str_eq(r->kvs[i].value, p->kvs[i].value);
		ck_assert_int_eq(r->kvs[i].mod_revision, p->kvs[i].mod_revision);
	}
	TU_FREE(r);
	tu_call_reset(&call);

	/* and with a limit smaller than a page and keys_only */
	struct etcd_range_opts ko = {.prefix = 1, .page_size = 700, .keys_only = 1};
	r = etcd_sync_range(tu_sync, "/kv/page/", &ko);
	TU_OK(r);
	ck_assert_uint_eq(r->nkvs, NPAGEKEYS + 20 / 2);
	ck_assert_uint_eq(r->kvs[0].value_len, 0);
	TU_FREE(r);
}
END_TEST

/* Paging with page_cb: each page but the last handed out as it comes, the
 * last in the one final callback; together exactly the range, in order,
 * at one revision. */
struct pages {
	int pages, finals;
	size_t n, in_pages;
	int64_t rev;
	int bad;
	char keys[NPAGEKEYS][32];
};

static void
take_keys(struct pages *pg, const struct etcd_result *res)
{
	for (size_t i = 0; i < res->nkvs; i++) {
		if (pg->n >= NPAGEKEYS || (pg->n > 0 && strcmp(pg->keys[pg->n - 1], res->kvs[i].key) >= 0) ||
		    res->kvs[i].mod_revision > res->revision) {
			pg->bad++;
			return;
		}
		snprintf(pg->keys[pg->n++], sizeof(pg->keys[0]), "%s", res->kvs[i].key);
	}
}

static void
page_cb(struct etcd_result *res, void *arg)
{
	struct pages *pg = arg;

	pg->pages++;
	if (res->err.code != ETCD_OK || !res->more || (pg->rev && res->revision != pg->rev) || pg->finals)
		pg->bad++;
	pg->rev = res->revision;
	pg->in_pages += res->nkvs;
	take_keys(pg, res);
}

static void
final_cb(struct etcd_result *res, void *arg)
{
	struct pages *pg = arg;

	pg->finals++;
	if (res->err.code != ETCD_OK || res->more || res->revision != pg->rev || res->count != NPAGEKEYS)
		pg->bad++;
	take_keys(pg, res);
}

static int
pages_done(void *arg)
{
	return ((struct pages *)arg)->finals > 0;
}

START_TEST(kv_range_page_cb)
{
	char key[64];
	for (int b = 0; b < NPAGEKEYS / 100; b++) {
		struct etcd_txn *t = etcd_txn_new();
		for (int i = b * 100; i < (b + 1) * 100; i++) {
			snprintf(key, sizeof key, "/kv/pcb/%05d", i);
			ck_assert_int_eq(etcd_txn_put(t, ETCD_TXN_SUCCESS, key, "v", 1, 0), 0);
		}
		struct etcd_result *r = etcd_sync_txn(tu_sync, t);
		TU_OK(r);
		TU_FREE(r);
	}
	struct etcd_client *c = etcd_sync_client(tu_sync);
	struct etcd_error err;
	struct pages *pg = calloc(1, sizeof(*pg));
	struct etcd_range_opts o = {.prefix = 1, .page_size = 1000, .page_cb = page_cb};
	ck_assert_ptr_nonnull(pg);
	ck_assert_int_eq(etcd_range(c, "/kv/pcb/", &o, final_cb, pg, &err), 0);
	ck_assert_int_eq(th_wait(etcd_client_loop(c), pages_done, pg, 30), 0);
	ck_assert_int_eq(pg->bad, 0);
	ck_assert_int_eq(pg->pages, 2);
	ck_assert_int_eq(pg->finals, 1);
	ck_assert_uint_eq(pg->in_pages, 2000);
	ck_assert_uint_eq(pg->n, NPAGEKEYS);
	ck_assert_str_eq(pg->keys[0], "/kv/pcb/00000");
	ck_assert_str_eq(pg->keys[NPAGEKEYS - 1], "/kv/pcb/02499");
	free(pg);
}
END_TEST

START_TEST(kv_put_prev_kv)
{
	struct etcd_put_opts po = {.prev_kv = 1};
	struct etcd_result *r = etcd_sync_put(tu_sync, "/kv/prev/k", "v1", 2, &po);
	TU_OK(r);
	ck_assert_uint_eq(r->nprev, 0); /* a new key has no previous value */
	int64_t r1 = r->revision;
	TU_FREE(r);
	r = etcd_sync_put(tu_sync, "/kv/prev/k", "v2", 2, &po);
	TU_OK(r);
	ck_assert_uint_eq(r->nprev, 1);
	ck_assert_str_eq(r->prev_kvs[0].key, "/kv/prev/k");
	ck_assert_str_eq(r->prev_kvs[0].value, "v1");
	ck_assert_int_eq(r->prev_kvs[0].mod_revision, r1);
	ck_assert_int_gt(r->revision, r1);
	TU_FREE(r);
}
END_TEST

START_TEST(kv_put_with_lease)
{
	struct etcd_result *g = etcd_sync_lease_grant(tu_sync, 60, 0);
	TU_OK(g);
	int64_t id = g->lease_id;
	ck_assert_int_ne(id, 0);
	TU_FREE(g);
	struct etcd_put_opts po = {.lease = id};
	struct etcd_result *r = etcd_sync_put(tu_sync, "/kv/lease/k", "v", 1, &po);
	TU_OK(r);
	TU_FREE(r);
	r = etcd_sync_get(tu_sync, "/kv/lease/k");
	TU_OK(r);
	ck_assert_uint_eq(r->nkvs, 1);
	ck_assert_int_eq(r->kvs[0].lease, id);
	TU_FREE(r);

	/* ignore_lease keeps the lease while changing the value */
	struct etcd_put_opts il = {.ignore_lease = 1};
	r = etcd_sync_put(tu_sync, "/kv/lease/k", "w", 1, &il);
	TU_OK(r);
	TU_FREE(r);
	r = etcd_sync_get(tu_sync, "/kv/lease/k");
	TU_OK(r);
	ck_assert_str_eq(r->kvs[0].value, "w");
	ck_assert_int_eq(r->kvs[0].lease, id);
	TU_FREE(r);

	r = etcd_sync_lease_revoke(tu_sync, id);
	TU_OK(r);
	TU_FREE(r);
	r = etcd_sync_get(tu_sync, "/kv/lease/k");
	TU_OK(r);
	ck_assert_uint_eq(r->nkvs, 0);
	TU_FREE(r);
}
END_TEST

START_TEST(kv_put_ignore_value)
{
	ck_assert_int_gt(tu_put(tu_sync, "/kv/iv/k", "keep"), 0);
	struct etcd_result *g = etcd_sync_lease_grant(tu_sync, 60, 0);
	TU_OK(g);
	struct etcd_put_opts po = {.ignore_value = 1, .lease = g->lease_id};
	struct etcd_result *r = etcd_sync_put(tu_sync, "/kv/iv/k", NULL, 0, &po);
	TU_OK(r);
	TU_FREE(r);
	r = etcd_sync_get(tu_sync, "/kv/iv/k");
	TU_OK(r);
	ck_assert_str_eq(r->kvs[0].value, "keep");
	ck_assert_int_eq(r->kvs[0].lease, g->lease_id);
	TU_FREE(r);
	/* on a missing key etcd answers "key not found" */
	r = etcd_sync_put(tu_sync, "/kv/iv/missing", NULL, 0, &po);
	TU_CODE(r, ETCD_ENOTFOUND);
	TU_FREE(r);
	r = etcd_sync_lease_revoke(tu_sync, g->lease_id);
	TU_FREE(r);
	TU_FREE(g);
}
END_TEST

START_TEST(kv_put_unknown_lease)
{
	struct etcd_put_opts po = {.lease = 0x7ead12345678LL};
	struct etcd_result *r = etcd_sync_put(tu_sync, "/kv/nolease/k", "v", 1, &po);
	TU_CODE(r, ETCD_ENOLEASE);
	ck_assert_int_eq(r->err.grpc_code, 5);
	ck_assert_int_eq(r->err.outcome_unknown, 0);
	ck_assert(r->err.msg[0] != 0);
	TU_FREE(r);
}
END_TEST

START_TEST(kv_put_empty_key)
{
	struct etcd_result *r = etcd_sync_put(tu_sync, "", "v", 1, NULL);
	TU_CODE(r, ETCD_EINVAL);
	TU_FREE(r);
}
END_TEST

START_TEST(kv_delete_single)
{
	int64_t r1 = tu_put(tu_sync, "/kv/del/a", "x");
	ck_assert_int_gt(r1, 0);
	struct etcd_result *r = etcd_sync_delete(tu_sync, "/kv/del/a", NULL);
	TU_OK(r);
	ck_assert_int_eq(r->deleted, 1);
	ck_assert_int_gt(r->revision, r1);
	TU_FREE(r);
	r = etcd_sync_delete(tu_sync, "/kv/del/a", NULL);
	TU_OK(r);
	ck_assert_int_eq(r->deleted, 0);
	ck_assert_uint_eq(r->nprev, 0);
	TU_FREE(r);
}
END_TEST

START_TEST(kv_delete_prefix_prev_kv)
{
	put3("/kv/dp/");
	ck_assert_int_gt(tu_put(tu_sync, "/kv/dp0", "stays"), 0);
	struct etcd_delete_opts o = {.prefix = 1, .prev_kv = 1};
	struct etcd_result *r = etcd_sync_delete(tu_sync, "/kv/dp/", &o);
	TU_OK(r);
	ck_assert_int_eq(r->deleted, 3);
	ck_assert_uint_eq(r->nprev, 3);
	int seen = 0;
	for (size_t i = 0; i < r->nprev; i++) {
		ck_assert_uint_eq(r->prev_kvs[i].key_len, 8);
		ck_assert_uint_eq(r->prev_kvs[i].value_len, 1);
		ck_assert_int_eq(r->prev_kvs[i].value[0], r->prev_kvs[i].key[7]);
		seen |= 1 << (r->prev_kvs[i].key[7] - 'a');
	}
	ck_assert_int_eq(seen, 7);
	TU_FREE(r);
	struct etcd_range_opts ro = {.prefix = 1};
	r = etcd_sync_range(tu_sync, "/kv/dp/", &ro);
	TU_OK(r);
	ck_assert_uint_eq(r->nkvs, 0);
	TU_FREE(r);
	r = etcd_sync_get(tu_sync, "/kv/dp0");
	TU_OK(r);
	ck_assert_uint_eq(r->nkvs, 1);
	TU_FREE(r);
}
END_TEST

START_TEST(kv_delete_range_end)
{
	put3("/kv/dr/");
	struct etcd_delete_opts o = {.range_end = "/kv/dr/c"};
	struct etcd_result *r = etcd_sync_delete(tu_sync, "/kv/dr/a", &o);
	TU_OK(r);
	ck_assert_int_eq(r->deleted, 2);
	ck_assert_uint_eq(r->nprev, 0); /* not asked */
	TU_FREE(r);
	r = etcd_sync_get(tu_sync, "/kv/dr/c");
	TU_OK(r);
	ck_assert_uint_eq(r->nkvs, 1);
	TU_FREE(r);
}
END_TEST

START_TEST(kv_compact_then_old_revision)
{
	int64_t r1 = tu_put(tu_sync, "/kv/cmp/k", "v1");
	int64_t r2 = tu_put(tu_sync, "/kv/cmp/k", "v2");
	int64_t r3 = tu_put(tu_sync, "/kv/cmp/k", "v3");
	ck_assert_int_gt(r1, 0);
	ck_assert_int_gt(r3, r2);
	struct etcd_result *r = etcd_sync_compact(tu_sync, r2, 1);
	TU_OK(r);
	TU_FREE(r);

	struct etcd_range_opts o = {.revision = r1};
	r = etcd_sync_range(tu_sync, "/kv/cmp/k", &o);
	TU_CODE(r, ETCD_ECOMPACTED);
	ck_assert_int_eq(r->err.grpc_code, 11);
	TU_FREE(r);
	o.revision = r2; /* the compaction revision itself stays readable */
	r = etcd_sync_range(tu_sync, "/kv/cmp/k", &o);
	TU_OK(r);
	ck_assert_str_eq(r->kvs[0].value, "v2");
	TU_FREE(r);
	/* compacting again at or below the compacted revision */
	r = etcd_sync_compact(tu_sync, r1, 0);
	TU_CODE(r, ETCD_ECOMPACTED);
	TU_FREE(r);
	/* compacting in the future */
	r = etcd_sync_compact(tu_sync, r3 + 1000, 0);
	TU_CODE(r, ETCD_EFUTURE);
	TU_FREE(r);
}
END_TEST

START_TEST(kv_compact_async)
{
	int64_t r1 = tu_put(tu_sync, "/kv/cmpa/k", "v1");
	ck_assert_int_gt(tu_put(tu_sync, "/kv/cmpa/k", "v2"), r1);
	struct etcd_client *c = etcd_sync_client(tu_sync);
	struct tu_call call = {0, NULL};
	struct etcd_error err;
	ck_assert_int_eq(etcd_compact(c, r1 + 1, 0, tu_call_cb, &call, &err), 0);
	ck_assert_int_eq(th_wait(etcd_client_loop(c), tu_call_done, &call, 10), 0);
	TU_OK(call.res);
	ck_assert_int_gt(call.res->revision, r1);
	tu_call_reset(&call);
}
END_TEST

START_TEST(kv_status)
{
	int64_t rev = tu_put(tu_sync, "/kv/status", "x");
	struct etcd_result *r = etcd_sync_status(tu_sync);
	TU_OK(r);
	ck_assert_ptr_nonnull(r->version_str);
	ck_assert_msg(strncmp(r->version_str, "3.", 2) == 0, "version %s", r->version_str);
	ck_assert_uint_ne(r->member_id, 0);
	ck_assert_uint_eq(r->leader_id, r->member_id); /* one member: it leads */
	ck_assert_int_gt(r->db_size, 0);
	ck_assert_int_ge(r->revision, rev);
	TU_FREE(r);
}
END_TEST

START_TEST(kv_stats_count_requests)
{
	struct etcd_stats a, b;
	struct etcd_client *c = etcd_sync_client(tu_sync);
	etcd_client_stats(c, &a);
	ck_assert_int_gt(tu_put(tu_sync, "/kv/stats", "x"), 0);
	struct etcd_result *r = etcd_sync_get(tu_sync, "/kv/stats");
	TU_FREE(r);
	etcd_client_stats(c, &b);
	ck_assert_uint_ge(b.requests, a.requests + 2);
	ck_assert_uint_eq(b.failures, a.failures);
	ck_assert_ptr_nonnull(etcd_client_endpoint(c));
	ck_assert_int_eq(th_etcd_member_of(tu_etcd, etcd_client_endpoint(c)), 0);
}
END_TEST

START_TEST(kv_prefix_end)
{
	size_t n = 99;
	char *e = etcd_prefix_end("/a/", 3, &n);
	ck_assert_ptr_nonnull(e);
	ck_assert_uint_eq(n, 3);
	ck_assert(memcmp(e, "/a0", 3) == 0);
	free(e);
	e = etcd_prefix_end("a\xff", 2, &n);
	ck_assert_ptr_nonnull(e);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(e[0], 'b');
	free(e);
	e = etcd_prefix_end("ab\xff\xff", 4, &n);
	ck_assert_uint_eq(n, 2);
	ck_assert(memcmp(e, "ac", 2) == 0);
	free(e);
}
END_TEST

START_TEST(kv_code_names)
{
	for (int c = 0; c < ETCD_ECODE_MAX; c++) {
		const char *s = etcd_code_name((enum etcd_code)c);
		ck_assert_ptr_nonnull(s);
		ck_assert_int_gt((int)strlen(s), 0);
		for (int d = 0; d < c; d++)
			ck_assert_str_ne(s, etcd_code_name((enum etcd_code)d));
	}
	ck_assert_ptr_nonnull(etcd_code_name(ETCD_ECODE_MAX));
}
END_TEST

START_TEST(kv_async_delete_and_status)
{
	ck_assert_int_gt(tu_put(tu_sync, "/kv/adel/a", "1"), 0);
	ck_assert_int_gt(tu_put(tu_sync, "/kv/adel/b", "2"), 0);
	struct etcd_client *c = etcd_sync_client(tu_sync);
	struct etcd_error err;
	struct tu_call d = {0, NULL}, st = {0, NULL};
	struct etcd_delete_opts o = {.prefix = 1, .prev_kv = 1};
	ck_assert_int_eq(etcd_delete(c, "/kv/adel/", &o, tu_call_cb, &d, &err), 0);
	ck_assert_int_eq(etcd_status(c, tu_call_cb, &st, &err), 0);
	ck_assert_int_eq(d.calls + st.calls, 0);
	ck_assert_int_eq(th_wait(etcd_client_loop(c), tu_call_done, &d, 10), 0);
	ck_assert_int_eq(th_wait(etcd_client_loop(c), tu_call_done, &st, 10), 0);
	TU_OK(d.res);
	ck_assert_int_eq(d.res->deleted, 2);
	ck_assert_uint_eq(d.res->nprev, 2);
	TU_OK(st.res);
	ck_assert_ptr_nonnull(st.res->version_str);
	tu_call_reset(&d);
	tu_call_reset(&st);
}
END_TEST

/* ---- limits ---- */

START_TEST(kv_value_1_4_mib_accepted)
{
	size_t n = 1468006; /* 1.4 MiB; the default request limit is 1.5 MiB */
	char *v = malloc(n);
	ck_assert_ptr_nonnull(v);
	for (size_t i = 0; i < n; i++)
		v[i] = (char)(i * 7 + (i >> 11));
	struct etcd_result *r = etcd_sync_put(tu_sync, "/kv/big/ok", v, n, NULL);
	TU_OK(r);
	TU_FREE(r);
	r = etcd_sync_get(tu_sync, "/kv/big/ok");
	TU_OK(r);
	ck_assert_uint_eq(r->kvs[0].value_len, n);
	ck_assert(memcmp(r->kvs[0].value, v, n) == 0);
	TU_FREE(r);
	free(v);
}
END_TEST

START_TEST(kv_value_over_limit_rejected)
{
	/* 1.6 MiB: etcd's "request is too large" (code 3); 2 MiB: gRPC's
	 * "received message larger than max" (code 8, HTTP 429). */
	static const size_t sizes[] = {1677722, 2 * 1048576, 3 * 1048576};
	for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
		char *v = malloc(sizes[k]);
		ck_assert_ptr_nonnull(v);
		memset(v, 'x', sizes[k]);
		struct etcd_result *r = etcd_sync_put(tu_sync, "/kv/big/no", v, sizes[k], NULL);
		ck_assert_msg(r && r->err.code == ETCD_ETOOLARGE, "%zu bytes: expected too large, got %s", sizes[k],
		              r ? tu_err(&r->err) : "NULL");
		ck_assert_int_eq(r->err.outcome_unknown, 0);
		TU_FREE(r);
		free(v);
	}
	struct etcd_result *r = etcd_sync_get(tu_sync, "/kv/big/no");
	TU_OK(r);
	ck_assert_uint_eq(r->nkvs, 0);
	TU_FREE(r);
}
END_TEST

/* ---- errors ---- */

START_TEST(kv_client_bad_config)
{
	struct etcd_error err;
	struct etcd_config cfg;
	struct ev_loop *loop = ev_loop_new(0);
	static const char *const bad[] = {"", "ftp://127.0.0.1:2379", "http://", ",,,"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		memset(&cfg, 0, sizeof cfg);
		memset(&err, 0, sizeof err);
		cfg.endpoints = bad[i];
		struct etcd_client *c = etcd_client_new(loop, &cfg, &err);
		ck_assert_msg(c == NULL, "endpoints \"%s\" accepted", bad[i]);
		ck_assert_int_ne(err.code, ETCD_OK);
		ck_assert_msg(err.msg[0] != 0, "no message for \"%s\"", bad[i]);
	}
	memset(&cfg, 0, sizeof cfg);
	cfg.endpoints = "https://127.0.0.1:2379";
	cfg.cacert = "/nonexistent/ca.pem";
	ck_assert_ptr_null(etcd_client_new(loop, &cfg, &err));
	ck_assert_int_ne(err.code, ETCD_OK);
	ev_loop_destroy(loop);
}
END_TEST

START_TEST(kv_connection_refused)
{
	struct etcd_sync *s = tu_refused_sync(500, 1000);
	ck_assert_ptr_nonnull(s);
	struct etcd_result *r = etcd_sync_get(s, "/kv/x");
	TU_CODE(r, ETCD_ECONN);
	ck_assert_msg(strstr(r->err.endpoint, "127.0.0.1") != NULL, "endpoint %s", r->err.endpoint);
	TU_FREE(r);
	/* a write that never reached a server is known not to be applied */
	r = etcd_sync_put(s, "/kv/x", "v", 1, NULL);
	TU_CODE(r, ETCD_ECONN);
	ck_assert_int_eq(r->err.outcome_unknown, 0);
	TU_FREE(r);
	etcd_sync_free(s);
}
END_TEST

START_TEST(kv_second_endpoint_used_when_first_down)
{
	char eps[256];
	struct etcd_config cfg;
	struct etcd_error err;
	snprintf(eps, sizeof eps, "http://127.0.0.1:%d,%s", tu_closed_port(), th_etcd_endpoint(tu_etcd, 0));
	tu_config(tu_etcd, &cfg);
	cfg.endpoints = eps;
	struct etcd_sync *s = etcd_sync_new(&cfg, &err);
	ck_assert_ptr_nonnull(s);
	ck_assert_int_gt(tu_put(s, "/kv/2ep/k", "v"), 0);
	ck_assert_str_eq(etcd_client_endpoint(etcd_sync_client(s)), th_etcd_endpoint(tu_etcd, 0));
	etcd_sync_free(s);
}
END_TEST

static Suite *
kv_suite(void)
{
	Suite *s = suite_create("etcd_kv");
	TCase *core = tcase_create("core");
	tcase_add_checked_fixture(core, tu_setup, tu_teardown);
	tcase_set_timeout(core, 60);
	tcase_add_test(core, kv_put_then_get);
	tcase_add_test(core, kv_get_missing_key);
	tcase_add_test(core, kv_binary_and_empty_values);
	tcase_add_test(core, kv_key_with_odd_bytes);
	tcase_add_test(core, kv_range_prefix);
	tcase_add_test(core, kv_list_shorthand);
	tcase_add_test(core, kv_range_limit);
	tcase_add_test(core, kv_range_at_revision);
	tcase_add_test(core, kv_range_keys_only_and_count_only);
	tcase_add_test(core, kv_range_sort);
	tcase_add_test(core, kv_range_end_and_from_key);
	tcase_add_test(core, kv_range_revision_filters);
	tcase_add_test(core, kv_range_serializable);
	tcase_add_test(core, kv_range_paging_one_revision);
	tcase_add_test(core, kv_range_page_cb);
	tcase_add_test(core, kv_put_prev_kv);
	tcase_add_test(core, kv_put_with_lease);
	tcase_add_test(core, kv_put_ignore_value);
	tcase_add_test(core, kv_delete_single);
	tcase_add_test(core, kv_delete_prefix_prev_kv);
	tcase_add_test(core, kv_delete_range_end);
	tcase_add_test(core, kv_compact_then_old_revision);
	tcase_add_test(core, kv_compact_async);
	tcase_add_test(core, kv_status);
	tcase_add_test(core, kv_async_delete_and_status);
	tcase_add_test(core, kv_stats_count_requests);
	tcase_add_test(core, kv_prefix_end);
	tcase_add_test(core, kv_code_names);
	suite_add_tcase(s, core);

	TCase *lim = tcase_create("limits");
	tcase_add_checked_fixture(lim, tu_setup, tu_teardown);
	tcase_set_timeout(lim, 60);
	tcase_add_test(lim, kv_value_1_4_mib_accepted);
	tcase_add_test(lim, kv_value_over_limit_rejected);
	suite_add_tcase(s, lim);

	TCase *errs = tcase_create("errors");
	tcase_add_checked_fixture(errs, tu_setup, tu_teardown);
	tcase_set_timeout(errs, 60);
	tcase_add_test(errs, kv_range_future_revision);
	tcase_add_test(errs, kv_put_unknown_lease);
	tcase_add_test(errs, kv_put_empty_key);
	tcase_add_test(errs, kv_client_bad_config);
	tcase_add_test(errs, kv_connection_refused);
	tcase_add_test(errs, kv_second_endpoint_used_when_first_down);
	suite_add_tcase(s, errs);
	return s;
}

int
main(void)
{
	static const struct tu_fixture fx = {.sync = 1};

	return tu_suite_main(kv_suite(), &fx);
}
