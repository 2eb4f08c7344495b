/*
 * check_etcd_txn.c: transactions against a real one-member etcd (started
 * once for the file): compares on version, create, mod, value and lease,
 * prefix compares, both branches (etcd omits "succeeded" when false),
 * create-if-absent, several operations at one revision, nested txns that
 * fail one by one, limits and errors.
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

/* Run a txn: compare (built by the caller) then put key=val on success,
 * get key on failure. Returns the result (new). */
static struct etcd_result *
cas(struct etcd_txn *t, const char *key, const char *val)
{
	ck_assert_int_eq(etcd_txn_put(t, ETCD_TXN_SUCCESS, key, val, strlen(val), 0), 0);
	ck_assert_int_eq(etcd_txn_get(t, ETCD_TXN_FAILURE, key, NULL), 0);
	struct etcd_result *r = etcd_sync_txn(tu_sync, t);
	TU_OK(r);
	ck_assert_uint_eq(r->nresponses, 1);
	ck_assert_int_eq(r->responses[0].op, r->succeeded ? ETCD_OP_PUT : ETCD_OP_RANGE);
	return r;
}

static int
cas_version(const char *key, enum etcd_cmp_result res, int64_t n)
{
	struct etcd_txn *t = etcd_txn_new();
	ck_assert_int_eq(etcd_txn_cmp(t, key, ETCD_CMP_VERSION, res, n), 0);
	struct etcd_result *r = cas(t, key, "cas");
	int ok = r->succeeded;
	TU_FREE(r);
	return ok;
}

START_TEST(txn_create_if_absent)
{
	const char *k = "/txn/cia/lock";
	struct etcd_txn *t = etcd_txn_new();
	ck_assert_int_eq(etcd_txn_cmp(t, k, ETCD_CMP_CREATE, ETCD_CMP_EQUAL, 0), 0);
	struct etcd_result *r = cas(t, k, "me");
	ck_assert_int_eq(r->succeeded, 1);
	int64_t rev = r->revision;
	ck_assert_int_eq(r->responses[0].revision, rev);
	TU_FREE(r);

	t = etcd_txn_new();
	ck_assert_int_eq(etcd_txn_cmp(t, k, ETCD_CMP_CREATE, ETCD_CMP_EQUAL, 0), 0);
	r = cas(t, k, "you");
	ck_assert_int_eq(r->succeeded, 0); /* no "succeeded" key on the wire */
	ck_assert_uint_eq(r->responses[0].nkvs, 1);
	ck_assert_str_eq(r->responses[0].kvs[0].value, "me");
	ck_assert_int_eq(r->responses[0].kvs[0].create_revision, rev);
	ck_assert_int_eq(r->revision, rev); /* a failed txn writes nothing */
	TU_FREE(r);
}
END_TEST

START_TEST(txn_compare_version)
{
	const char *k = "/txn/ver/k";
	ck_assert_int_gt(tu_put(tu_sync, k, "1"), 0);
	ck_assert_int_gt(tu_put(tu_sync, k, "2"), 0);           /* version 2 */
	ck_assert_int_eq(cas_version(k, ETCD_CMP_EQUAL, 2), 1); /* now 3 */
	ck_assert_int_eq(cas_version(k, ETCD_CMP_EQUAL, 2), 0);
	ck_assert_int_eq(cas_version(k, ETCD_CMP_GREATER, 5), 0);
	ck_assert_int_eq(cas_version(k, ETCD_CMP_GREATER, 2), 1); /* now 4 */
	ck_assert_int_eq(cas_version(k, ETCD_CMP_LESS, 4), 0);
	ck_assert_int_eq(cas_version(k, ETCD_CMP_LESS, 5), 1); /* now 5 */
	ck_assert_int_eq(cas_version(k, ETCD_CMP_NOT_EQUAL, 5), 0);
	ck_assert_int_eq(cas_version(k, ETCD_CMP_NOT_EQUAL, 1), 1);
	/* a missing key has version 0 */
	ck_assert_int_eq(cas_version("/txn/ver/missing", ETCD_CMP_EQUAL, 0), 1);
}
END_TEST

START_TEST(txn_compare_mod_revision)
{
	const char *k = "/txn/mod/k";
	int64_t m = tu_put(tu_sync, k, "v1");
	ck_assert_int_gt(m, 0);
	struct etcd_txn *t = etcd_txn_new();
	etcd_txn_cmp(t, k, ETCD_CMP_MOD, ETCD_CMP_EQUAL, m);
	struct etcd_result *r = cas(t, k, "v2");
	ck_assert_int_eq(r->succeeded, 1);
	int64_t m2 = r->revision;
	TU_FREE(r);
	/* the same CAS again loses: mod_revision moved on */
	t = etcd_txn_new();
	etcd_txn_cmp(t, k, ETCD_CMP_MOD, ETCD_CMP_EQUAL, m);
	r = cas(t, k, "v3");
	ck_assert_int_eq(r->succeeded, 0);
	ck_assert_str_eq(r->responses[0].kvs[0].value, "v2");
	ck_assert_int_eq(r->responses[0].kvs[0].mod_revision, m2);
	TU_FREE(r);
	t = etcd_txn_new();
	etcd_txn_cmp(t, k, ETCD_CMP_MOD, ETCD_CMP_LESS, m2 + 1);
	r = cas(t, k, "v4");
	ck_assert_int_eq(r->succeeded, 1);
	TU_FREE(r);
}
END_TEST

START_TEST(txn_compare_create_revision)
{
	const char *k = "/txn/create/k";
	int64_t c = tu_put(tu_sync, k, "a");
	ck_assert_int_gt(tu_put(tu_sync, k, "b"), c);
	struct etcd_txn *t = etcd_txn_new();
	etcd_txn_cmp(t, k, ETCD_CMP_CREATE, ETCD_CMP_EQUAL, c); /* ownership fence */
	struct etcd_result *r = cas(t, k, "fenced");
	ck_assert_int_eq(r->succeeded, 1);
	TU_FREE(r);
	t = etcd_txn_new();
	etcd_txn_cmp(t, k, ETCD_CMP_CREATE, ETCD_CMP_GREATER, c);
	r = cas(t, k, "no");
	ck_assert_int_eq(r->succeeded, 0);
	TU_FREE(r);
}
END_TEST

START_TEST(txn_compare_value)
{
	const char *k = "/txn/val/k";
	static const char bin[] = {'x', 0, 'y'};
	ck_assert_int_gt(tu_put(tu_sync, k, "hello"), 0);
	struct etcd_txn *t = etcd_txn_new();
	etcd_txn_cmp_value(t, k, ETCD_CMP_EQUAL, "hello", 5);
	struct etcd_result *r = cas(t, k, "world");
	ck_assert_int_eq(r->succeeded, 1);
	TU_FREE(r);
	t = etcd_txn_new();
	etcd_txn_cmp_value(t, k, ETCD_CMP_EQUAL, "hello", 5);
	r = cas(t, k, "again");
	ck_assert_int_eq(r->succeeded, 0);
	ck_assert_str_eq(r->responses[0].kvs[0].value, "world");
	TU_FREE(r);
	t = etcd_txn_new();
	etcd_txn_cmp_value(t, k, ETCD_CMP_NOT_EQUAL, "hello", 5);
	r = cas(t, k, "neq");
	ck_assert_int_eq(r->succeeded, 1);
	TU_FREE(r);
	t = etcd_txn_new();
	etcd_txn_cmp_value(t, k, ETCD_CMP_GREATER, "aaa", 3); /* "neq" > "aaa" */
	r = cas(t, k, "gt");
	ck_assert_int_eq(r->succeeded, 1);
	TU_FREE(r);
	/* binary value with a NUL */
	struct etcd_result *p = etcd_sync_put(tu_sync, k, bin, sizeof bin, NULL);
	TU_FREE(p);
	t = etcd_txn_new();
	etcd_txn_cmp_value(t, k, ETCD_CMP_EQUAL, bin, sizeof bin);
	r = cas(t, k, "bin-ok");
	ck_assert_int_eq(r->succeeded, 1);
	TU_FREE(r);
	/* a value compare on a missing key is always false */
	t = etcd_txn_new();
	etcd_txn_cmp_value(t, "/txn/val/missing", ETCD_CMP_NOT_EQUAL, "x", 1);
	r = cas(t, "/txn/val/missing", "created");
	ck_assert_int_eq(r->succeeded, 0);
	ck_assert_uint_eq(r->responses[0].nkvs, 0);
	TU_FREE(r);
}
END_TEST

START_TEST(txn_compare_lease)
{
	const char *k = "/txn/lease/k";
	struct etcd_result *g = etcd_sync_lease_grant(tu_sync, 60, 0);
	TU_OK(g);
	int64_t id = g->lease_id;
	TU_FREE(g);
	struct etcd_put_opts po = {.lease = id};
	struct etcd_result *p = etcd_sync_put(tu_sync, k, "v", 1, &po);
	TU_OK(p);
	TU_FREE(p);
	struct etcd_txn *t = etcd_txn_new();
	etcd_txn_cmp(t, k, ETCD_CMP_LEASE, ETCD_CMP_EQUAL, id);
	ck_assert_int_eq(etcd_txn_put(t, ETCD_TXN_SUCCESS, k, "w", 1, id), 0);
	struct etcd_result *r = etcd_sync_txn(tu_sync, t);
	TU_OK(r);
	ck_assert_int_eq(r->succeeded, 1);
	TU_FREE(r);
	r = etcd_sync_get(tu_sync, k);
	TU_OK(r);
	ck_assert_int_eq(r->kvs[0].lease, id);
	ck_assert_str_eq(r->kvs[0].value, "w");
	TU_FREE(r);
	t = etcd_txn_new();
	etcd_txn_cmp(t, k, ETCD_CMP_LEASE, ETCD_CMP_EQUAL, 0);
	r = cas(t, k, "x");
	ck_assert_int_eq(r->succeeded, 0);
	TU_FREE(r);
	r = etcd_sync_lease_revoke(tu_sync, id);
	TU_FREE(r);
}
END_TEST

START_TEST(txn_compare_prefix)
{
	ck_assert_int_gt(tu_put(tu_sync, "/txn/pfx/a", "1"), 0);
	ck_assert_int_gt(tu_put(tu_sync, "/txn/pfx/b", "1"), 0);
	struct etcd_txn *t = etcd_txn_new();
	etcd_txn_cmp_prefix(t, "/txn/pfx/", ETCD_CMP_VERSION, ETCD_CMP_EQUAL, 1);
	struct etcd_result *r = cas(t, "/txn/pfx/c", "1");
	ck_assert_int_eq(r->succeeded, 1); /* every existing key is at version 1 */
	TU_FREE(r);
	t = etcd_txn_new();
	etcd_txn_cmp_prefix(t, "/txn/pfx/", ETCD_CMP_CREATE, ETCD_CMP_GREATER, 0);
	r = cas(t, "/txn/pfx/a", "2");
	ck_assert_int_eq(r->succeeded, 1);
	TU_FREE(r);
	t = etcd_txn_new();
	etcd_txn_cmp_prefix(t, "/txn/pfx/", ETCD_CMP_VERSION, ETCD_CMP_EQUAL, 1);
	r = cas(t, "/txn/pfx/b", "2");
	ck_assert_int_eq(r->succeeded, 0); /* a is at version 2 now */
	TU_FREE(r);
	/* an empty prefix is judged against a zero key: CREATE == 0 holds */
	t = etcd_txn_new();
	etcd_txn_cmp_prefix(t, "/txn/pfx-empty/", ETCD_CMP_CREATE, ETCD_CMP_EQUAL, 0);
	r = cas(t, "/txn/pfx-empty/first", "1");
	ck_assert_int_eq(r->succeeded, 1);
	TU_FREE(r);
}
END_TEST

START_TEST(txn_several_ops_one_revision)
{
	ck_assert_int_gt(tu_put(tu_sync, "/txn/multi/old", "gone soon"), 0);
	struct etcd_txn *t = etcd_txn_new();
	etcd_txn_cmp(t, "/txn/multi/a", ETCD_CMP_CREATE, ETCD_CMP_EQUAL, 0);
	etcd_txn_put(t, ETCD_TXN_SUCCESS, "/txn/multi/a", "A", 1, 0);
	etcd_txn_put(t, ETCD_TXN_SUCCESS, "/txn/multi/b", "B", 1, 0);
	etcd_txn_delete(t, ETCD_TXN_SUCCESS, "/txn/multi/old", 0);
	struct etcd_range_opts ro = {.prefix = 1};
	etcd_txn_get(t, ETCD_TXN_SUCCESS, "/txn/multi/", &ro);
	etcd_txn_delete(t, ETCD_TXN_FAILURE, "/txn/multi/", 1);
	ck_assert_uint_eq(etcd_txn_ops(t), 4);
	struct etcd_result *r = etcd_sync_txn(tu_sync, t);
	TU_OK(r);
	ck_assert_int_eq(r->succeeded, 1);
	ck_assert_uint_eq(r->nresponses, 4);
	ck_assert_int_eq(r->responses[0].op, ETCD_OP_PUT);
	ck_assert_int_eq(r->responses[1].op, ETCD_OP_PUT);
	ck_assert_int_eq(r->responses[2].op, ETCD_OP_DELETE);
	ck_assert_int_eq(r->responses[2].deleted, 1);
	ck_assert_int_eq(r->responses[3].op, ETCD_OP_RANGE);
	/* the range inside the txn sees the txn's own writes */
	ck_assert_uint_eq(r->responses[3].nkvs, 2);
	ck_assert_str_eq(r->responses[3].kvs[0].key, "/txn/multi/a");
	ck_assert_int_eq(r->responses[3].kvs[0].mod_revision, r->revision);
	ck_assert_int_eq(r->responses[3].kvs[1].mod_revision, r->revision);
	int64_t rev = r->revision;
	TU_FREE(r);
	/* the whole txn was one revision */
	r = etcd_sync_get(tu_sync, "/txn/multi/b");
	TU_OK(r);
	ck_assert_int_eq(r->kvs[0].mod_revision, rev);
	TU_FREE(r);

	/* second time: failure branch deletes the prefix */
	t = etcd_txn_new();
	etcd_txn_cmp(t, "/txn/multi/a", ETCD_CMP_CREATE, ETCD_CMP_EQUAL, 0);
	etcd_txn_put(t, ETCD_TXN_SUCCESS, "/txn/multi/a", "A", 1, 0);
	etcd_txn_delete(t, ETCD_TXN_FAILURE, "/txn/multi/", 1);
	r = etcd_sync_txn(tu_sync, t);
	TU_OK(r);
	ck_assert_int_eq(r->succeeded, 0);
	ck_assert_uint_eq(r->nresponses, 1);
	ck_assert_int_eq(r->responses[0].op, ETCD_OP_DELETE);
	ck_assert_int_eq(r->responses[0].deleted, 2);
	TU_FREE(r);
}
END_TEST

START_TEST(txn_get_with_options)
{
	for (int i = 0; i < 5; i++) {
		char k[32];
		snprintf(k, sizeof k, "/txn/opt/%d", i);
		ck_assert_int_gt(tu_put(tu_sync, k, "v"), 0);
	}
	struct etcd_txn *t = etcd_txn_new();
	struct etcd_range_opts lim = {.prefix = 1, .limit = 2, .sort_order = ETCD_SORT_DESCEND};
	struct etcd_range_opts cnt = {.prefix = 1, .count_only = 1};
	etcd_txn_get(t, ETCD_TXN_SUCCESS, "/txn/opt/", &lim);
	etcd_txn_get(t, ETCD_TXN_SUCCESS, "/txn/opt/", &cnt);
	struct etcd_result *r = etcd_sync_txn(tu_sync, t);
	TU_OK(r);
	ck_assert_int_eq(r->succeeded, 1); /* no compares: success */
	ck_assert_uint_eq(r->nresponses, 2);
	ck_assert_uint_eq(r->responses[0].nkvs, 2);
	ck_assert_int_eq(r->responses[0].more, 1);
	ck_assert_str_eq(r->responses[0].kvs[0].key, "/txn/opt/4");
	ck_assert_uint_eq(r->responses[1].nkvs, 0);
	ck_assert_int_eq(r->responses[1].count, 5);
	TU_FREE(r);
}
END_TEST

START_TEST(txn_empty)
{
	struct etcd_txn *t = etcd_txn_new();
	ck_assert_uint_eq(etcd_txn_ops(t), 0);
	struct etcd_result *r = etcd_sync_txn(tu_sync, t);
	TU_OK(r);
	ck_assert_int_eq(r->succeeded, 1);
	ck_assert_uint_eq(r->nresponses, 0);
	TU_FREE(r);
}
END_TEST

START_TEST(txn_async_commit)
{
	struct etcd_client *c = etcd_sync_client(tu_sync);
	struct etcd_error err;
	struct tu_call call = {0, NULL};
	struct etcd_txn *t = etcd_txn_new();
	etcd_txn_cmp(t, "/txn/async/k", ETCD_CMP_CREATE, ETCD_CMP_EQUAL, 0);
	etcd_txn_put(t, ETCD_TXN_SUCCESS, "/txn/async/k", "v", 1, 0);
	ck_assert_int_eq(etcd_txn_commit(c, t, tu_call_cb, &call, &err), 0);
	ck_assert_int_eq(call.calls, 0);
	ck_assert_int_eq(th_wait(etcd_client_loop(c), tu_call_done, &call, 10), 0);
	TU_OK(call.res);
	ck_assert_int_eq(call.res->succeeded, 1);
	ck_assert_uint_eq(call.res->nresponses, 1);
	tu_call_reset(&call);
}
END_TEST

START_TEST(txn_too_many_ops)
{
	struct etcd_txn *t = etcd_txn_new();
	char k[32];
	for (int i = 0; i < 129; i++) {
		snprintf(k, sizeof k, "/txn/many/%03d", i);
		ck_assert_int_eq(etcd_txn_put(t, ETCD_TXN_SUCCESS, k, "v", 1, 0), 0);
	}
	ck_assert_uint_eq(etcd_txn_ops(t), 129);
	struct etcd_result *r = etcd_sync_txn(tu_sync, t);
	/* etcd answers code 3 "too many operations in txn request"; a client
	 * that checks first may call it too large */
	ck_assert_msg(r && (r->err.code == ETCD_EINVAL || r->err.code == ETCD_ETOOLARGE),
	              "expected invalid or too large, got %s", r ? tu_err(&r->err) : "NULL");
	ck_assert(r->err.msg[0] != 0);
	TU_FREE(r);
	/* 128 is fine */
	t = etcd_txn_new();
	for (int i = 0; i < 128; i++) {
		snprintf(k, sizeof k, "/txn/many/%03d", i);
		etcd_txn_put(t, ETCD_TXN_SUCCESS, k, "v", 1, 0);
	}
	r = etcd_sync_txn(tu_sync, t);
	TU_OK(r);
	ck_assert_uint_eq(r->nresponses, 128);
	TU_FREE(r);
}
END_TEST

START_TEST(txn_duplicate_key)
{
	struct etcd_txn *t = etcd_txn_new();
	etcd_txn_put(t, ETCD_TXN_SUCCESS, "/txn/dup/k", "1", 1, 0);
	etcd_txn_put(t, ETCD_TXN_SUCCESS, "/txn/dup/k", "2", 1, 0);
	struct etcd_result *r = etcd_sync_txn(tu_sync, t);
	TU_CODE(r, ETCD_EINVAL);
	ck_assert_int_eq(r->err.grpc_code, 3);
	TU_FREE(r);
}
END_TEST

START_TEST(txn_unknown_lease_in_put)
{
	struct etcd_txn *t = etcd_txn_new();
	etcd_txn_put(t, ETCD_TXN_SUCCESS, "/txn/nolease/k", "1", 1, 0x7eadbeef01LL);
	struct etcd_result *r = etcd_sync_txn(tu_sync, t);
	TU_CODE(r, ETCD_ENOLEASE);
	TU_FREE(r);
}
END_TEST

START_TEST(txn_free_without_commit)
{
	struct etcd_txn *t = etcd_txn_new();
	etcd_txn_cmp(t, "/txn/free/a", ETCD_CMP_VERSION, ETCD_CMP_EQUAL, 0);
	etcd_txn_cmp_value(t, "/txn/free/a", ETCD_CMP_EQUAL, "x", 1);
	etcd_txn_put(t, ETCD_TXN_SUCCESS, "/txn/free/a", "v", 1, 0);
	etcd_txn_delete(t, ETCD_TXN_FAILURE, "/txn/free/", 1);
	etcd_txn_get(t, ETCD_TXN_FAILURE, "/txn/free/a", NULL);
	etcd_txn_free(t);
	etcd_txn_free(NULL);
}
END_TEST

START_TEST(txn_commit_error_consumes)
{
	/* a closed endpoint: commit fails, the txn is consumed either way */
	struct etcd_sync *s = tu_refused_sync(500, 800);
	ck_assert_ptr_nonnull(s);
	struct etcd_txn *t = etcd_txn_new();
	etcd_txn_cmp(t, "/txn/x", ETCD_CMP_CREATE, ETCD_CMP_EQUAL, 0);
	etcd_txn_put(t, ETCD_TXN_SUCCESS, "/txn/x", "v", 1, 0);
	struct etcd_result *r = etcd_sync_txn(s, t);
	TU_CODE(r, ETCD_ECONN);
	TU_FREE(r);
	etcd_sync_free(s);
}
END_TEST

/* The scheduler's batched bind: one request, an outer txn without compares
 * whose success branch holds one guarded create per pod. A pod that changed
 * since it was read (stale mod revision) fails alone; the others bind. */
static struct etcd_txn *
bind_one(const char *pod, int64_t podmod, const char *binding)
{
	struct etcd_txn *in = etcd_txn_new();

	ck_assert_int_eq(etcd_txn_cmp(in, pod, ETCD_CMP_MOD, ETCD_CMP_EQUAL, podmod), 0);
	ck_assert_int_eq(etcd_txn_cmp(in, binding, ETCD_CMP_CREATE, ETCD_CMP_EQUAL, 0), 0);
	ck_assert_int_eq(etcd_txn_put(in, ETCD_TXN_SUCCESS, binding, pod, strlen(pod), 0), 0);
	ck_assert_int_eq(etcd_txn_get(in, ETCD_TXN_FAILURE, binding, NULL), 0);
	return in;
}

static int64_t
count_prefix(const char *prefix)
{
	struct etcd_range_opts o = {.prefix = 1, .count_only = 1};
	struct etcd_result *r = etcd_sync_range(tu_sync, prefix, &o);
	int64_t n;

	TU_OK(r);
	n = r->count;
	TU_FREE(r);
	return n;
}

START_TEST(txn_nested_stale_one_fails_alone)
{
	const char *pods[3] = {"/txn/nest/pods/a", "/txn/nest/pods/b", "/txn/nest/pods/c"};
	const char *binds[3] = {"/txn/nest/bindings/n1/a", "/txn/nest/bindings/n2/b", "/txn/nest/bindings/n1/c"};
	int64_t mod[3];
	struct etcd_txn *t;
	struct etcd_result *r;

	for (int i = 0; i < 3; i++)
		ck_assert_int_gt(mod[i] = tu_put(tu_sync, pods[i], "{}"), 0);
	ck_assert_int_gt(tu_put(tu_sync, pods[1], "{\"changed\":1}"), 0); /* b is stale now */
	t = etcd_txn_new();
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(etcd_txn_txn(t, ETCD_TXN_SUCCESS, bind_one(pods[i], mod[i], binds[i])), 0);
	r = etcd_sync_txn(tu_sync, t);
	TU_OK(r);
	ck_assert_int_eq(r->succeeded, 1);
	ck_assert_uint_eq(r->nresponses, 3);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(r->responses[i].op, ETCD_OP_TXN);
	ck_assert_int_eq(r->responses[0].succeeded, 1);
	ck_assert_int_eq(r->responses[1].succeeded, 0);
	ck_assert_int_eq(r->responses[2].succeeded, 1);
	ck_assert_uint_eq(r->responses[1].nresponses, 1);
	ck_assert_uint_eq(r->responses[1].responses[0].nkvs, 0); /* b has no binding */
	TU_FREE(r);
	ck_assert_int_eq(count_prefix("/txn/nest/bindings/"), 2);

	/* The same batch again: every create fails alone, nothing is written
	 * twice, and the failure branches show the bindings already there. */
	t = etcd_txn_new();
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(etcd_txn_txn(t, ETCD_TXN_SUCCESS, bind_one(pods[i], mod[i], binds[i])), 0);
	r = etcd_sync_txn(tu_sync, t);
	TU_OK(r);
	ck_assert_int_eq(r->responses[0].succeeded, 0);
	ck_assert_uint_eq(r->responses[0].responses[0].nkvs, 1);
	ck_assert_str_eq(r->responses[0].responses[0].kvs[0].value, pods[0]);
	ck_assert_int_eq(r->responses[2].succeeded, 0);
	TU_FREE(r);
	ck_assert_int_eq(count_prefix("/txn/nest/bindings/"), 2);
}
END_TEST

static Suite *
txn_suite(void)
{
	Suite *s = suite_create("etcd_txn");
	TCase *core = tcase_create("core");
	tcase_add_checked_fixture(core, tu_setup, tu_teardown);
	tcase_set_timeout(core, 60);
	tcase_add_test(core, txn_create_if_absent);
	tcase_add_test(core, txn_compare_version);
	tcase_add_test(core, txn_compare_mod_revision);
	tcase_add_test(core, txn_compare_create_revision);
	tcase_add_test(core, txn_compare_value);
	tcase_add_test(core, txn_compare_lease);
	tcase_add_test(core, txn_compare_prefix);
	tcase_add_test(core, txn_several_ops_one_revision);
	tcase_add_test(core, txn_get_with_options);
	tcase_add_test(core, txn_empty);
	tcase_add_test(core, txn_async_commit);
	tcase_add_test(core, txn_free_without_commit);
	tcase_add_test(core, txn_nested_stale_one_fails_alone);
	suite_add_tcase(s, core);

	TCase *errs = tcase_create("errors");
	tcase_add_checked_fixture(errs, tu_setup, tu_teardown);
	tcase_set_timeout(errs, 60);
	tcase_add_test(errs, txn_too_many_ops);
	tcase_add_test(errs, txn_duplicate_key);
	tcase_add_test(errs, txn_unknown_lease_in_put);
	tcase_add_test(errs, txn_commit_error_consumes);
	suite_add_tcase(s, errs);
	return s;
}

int
main(void)
{
	static const struct tu_fixture fx = {.sync = 1};

	return tu_suite_main(txn_suite(), &fx);
}
