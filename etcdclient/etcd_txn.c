/*
 * etcd_txn.c: building and committing transactions. A txn is a JSON body
 * in the making; builder calls append compares and operations, and commit
 * sends it. A txn with a compare is "guarded" and may be resent when its
 * outcome is unknown: if the first copy was applied, the second fails its
 * compare, and the caller reads the state to learn what happened. So is a
 * txn whose every operation is a guarded nested txn (etcd >= 3.3), which
 * lets one request carry several independent guarded writes.
 */
#include <stdlib.h>
#include <string.h>

#include "etcd_internal.h"

struct etcd_txn {
	json_t *cmp, *ops[2];
	size_t guarded_subs; /* nested txns that carry a compare */
	int oom;
};

static const char *const targets[] = {"VERSION", "CREATE", "MOD", "VALUE", "LEASE"};
static const char *const fields[] = {"version", "create_revision", "mod_revision", "value", "lease"};
static const char *const results[] = {"EQUAL", "GREATER", "LESS", "NOT_EQUAL"};

struct etcd_txn *
etcd_txn_new(void)
{
	struct etcd_txn *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->cmp = json_array();
	t->ops[0] = json_array();
	t->ops[1] = json_array();
	if (!t->cmp || !t->ops[0] || !t->ops[1]) {
		etcd_txn_free(t);
		return NULL;
	}
	return t;
}

void
etcd_txn_free(struct etcd_txn *t)
{
	if (!t)
		return;
	json_decref(t->cmp);
	json_decref(t->ops[0]);
	json_decref(t->ops[1]);
	free(t);
}

static int
add(struct etcd_txn *t, json_t *arr, json_t *item)
{
	if (!item || json_array_append_new(arr, item) < 0) {
		t->oom = 1;
		return -1;
	}
	return 0;
}

static int
cmp(struct etcd_txn *t, const char *key, int prefix, enum etcd_cmp_target target, enum etcd_cmp_result result,
    json_t *operand)
{
	json_t *c;

	if (!t || !key || (unsigned)target > ETCD_CMP_LEASE || (unsigned)result > ETCD_CMP_NOT_EQUAL) {
		json_decref(operand);
		if (t)
			t->oom = 1;
		return -1;
	}
	/* etcd reads the operand only from the field that matches target. */
	c = json_pack("{s:s, s:s, s:o, s:o}", "target", targets[target], "result", results[result], "key",
	              etcd_json_b64(key, strlen(key)), fields[target], operand);
	if (c && prefix) {
		size_t elen;
		char *end = etcd_prefix_end(key, strlen(key), &elen);

		if (!end || json_object_set_new(c, "range_end", etcd_json_b64(end, elen)) < 0) {
			json_decref(c);
			c = NULL;
		}
		free(end);
	}
	return add(t, t->cmp, c);
}

int
etcd_txn_cmp(struct etcd_txn *t, const char *key, enum etcd_cmp_target target, enum etcd_cmp_result result, int64_t n)
{
	if (target == ETCD_CMP_VALUE) {
		if (t)
			t->oom = 1;
		return -1;
	}
	return cmp(t, key, 0, target, result, etcd_json_i64(n));
}

int
etcd_txn_cmp_value(struct etcd_txn *t, const char *key, enum etcd_cmp_result result, const void *val, size_t len)
{
	return cmp(t, key, 0, ETCD_CMP_VALUE, result, etcd_json_b64(val ? val : "", val ? len : 0));
}

int
etcd_txn_cmp_prefix(struct etcd_txn *t, const char *prefix, enum etcd_cmp_target target, enum etcd_cmp_result result,
                    int64_t n)
{
	if (target == ETCD_CMP_VALUE) {
		if (t)
			t->oom = 1;
		return -1;
	}
	return cmp(t, prefix, 1, target, result, etcd_json_i64(n));
}

int
etcd_txn_put(struct etcd_txn *t, enum etcd_txn_branch b, const char *key, const void *val, size_t len, int64_t lease)
{
	json_t *p;

	if (!t || !key || !*key || (unsigned)b > 1) {
		if (t)
			t->oom = 1;
		return -1;
	}
	p = json_pack("{s:o, s:o}", "key", etcd_json_b64(key, strlen(key)), "value",
	              etcd_json_b64(val ? val : "", val ? len : 0));
	if (p && lease && json_object_set_new(p, "lease", etcd_json_i64(lease)) < 0) {
		json_decref(p);
		p = NULL;
	}
	return add(t, t->ops[b], p ? json_pack("{s:o}", "request_put", p) : NULL);
}

int
etcd_txn_delete(struct etcd_txn *t, enum etcd_txn_branch b, const char *key, int prefix)
{
	json_t *d;

	if (!t || !key || (unsigned)b > 1) {
		if (t)
			t->oom = 1;
		return -1;
	}
	d = json_pack("{s:o}", "key", etcd_json_b64(key, strlen(key)));
	if (d && prefix) {
		size_t elen;
		char *end = etcd_prefix_end(key, strlen(key), &elen);

		if (!end || json_object_set_new(d, "range_end", etcd_json_b64(end, elen)) < 0) {
			json_decref(d);
			d = NULL;
		}
		free(end);
	}
	return add(t, t->ops[b], d ? json_pack("{s:o}", "request_delete_range", d) : NULL);
}

int
etcd_txn_get(struct etcd_txn *t, enum etcd_txn_branch b, const char *key, const struct etcd_range_opts *o)
{
	json_t *g;

	if (!t || !key || (unsigned)b > 1) {
		if (t)
			t->oom = 1;
		return -1;
	}
	g = etcd_range_body(key, strlen(key), o);
	return add(t, t->ops[b], g ? json_pack("{s:o}", "request_range", g) : NULL);
}

/* Consumes inner. Its operations count against etcd's limit on their own. */
int
etcd_txn_txn(struct etcd_txn *t, enum etcd_txn_branch b, struct etcd_txn *inner)
{
	json_t *x = NULL;
	int guarded;

	if (!t || !inner || inner->oom || (unsigned)b > 1 || etcd_txn_ops(inner) > 128) {
		if (t)
			t->oom = 1;
		etcd_txn_free(inner);
		return -1;
	}
	guarded = json_array_size(inner->cmp) > 0;
	x = json_pack("{s:O, s:O, s:O}", "compare", inner->cmp, "success", inner->ops[0], "failure", inner->ops[1]);
	etcd_txn_free(inner);
	if (add(t, t->ops[b], x ? json_pack("{s:o}", "request_txn", x) : NULL) < 0)
		return -1;
	t->guarded_subs += guarded;
	return 0;
}

/* Sending t twice is harmless: it compares something, or every operation
 * is a nested txn that does. */
static int
guarded(const struct etcd_txn *t)
{
	size_t nops = json_array_size(t->ops[0]) + json_array_size(t->ops[1]);

	return json_array_size(t->cmp) > 0 || (nops > 0 && t->guarded_subs == nops);
}

size_t
etcd_txn_ops(const struct etcd_txn *t)
{
	size_t n = json_array_size(t->cmp);

	if (json_array_size(t->ops[0]) > n)
		n = json_array_size(t->ops[0]);
	if (json_array_size(t->ops[1]) > n)
		n = json_array_size(t->ops[1]);
	return n;
}

static int
parse_txn(struct etcd_req *r, json_t *root, struct etcd_result *res)
{
	(void)r;
	return etcd_parse_txn_resp(root, res);
}

int
etcd_txn_commit(struct etcd_client *c, struct etcd_txn *t, etcd_cb cb, void *arg, struct etcd_error *err)
{
	struct etcd_req *r;
	json_t *b;
	int safe;

	if (!t)
		return etcd_seterr(err, ETCD_ENOMEM, "txn: out of memory");
	if (t->oom) {
		etcd_txn_free(t);
		return etcd_seterr(err, ETCD_EINVAL, "txn: a builder call failed (bad argument or out of memory)");
	}
	if (etcd_txn_ops(t) > 128) {
		etcd_txn_free(t);
		return etcd_seterr(err, ETCD_ETOOLARGE,
		                   "txn: more than 128 operations in one list (etcd's --max-txn-ops)");
	}
	safe = guarded(t);
	b = json_pack("{s:O, s:O, s:O}", "compare", t->cmp, "success", t->ops[0], "failure", t->ops[1]);
	etcd_txn_free(t);
	r = etcd_req_new(c, "/v3/kv/txn", b, safe ? ETCD_REQ_SAFE : 0, parse_txn, cb, arg, err);
	return r ? etcd_req_submit(r, err) : -1;
}
