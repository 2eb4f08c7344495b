/*
 * etcd_txn.c: building and committing transactions. A txn is its JSON
 * body in the making, kept as text (three comma-separated lists:
 * compares, success and failure operations); builder calls append to
 * them, with keys and values base64-encoded straight into the text, and
 * commit wraps and sends it. The text is what json_dumps(JSON_COMPACT)
 * gave for the same calls when this was built with jansson, byte for byte
 * (bench/etcd_txn.lua relies on it); nothing is parsed or escaped again.
 *
 * A txn with a compare is "guarded" and may be resent when its outcome is
 * unknown: if the first copy was applied, the second fails its compare,
 * and the caller reads the state to learn what happened. So is a txn whose
 * every operation is a guarded nested txn (etcd >= 3.3), which lets one
 * request carry several independent guarded writes.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "etcd_internal.h"

/* One list of a txn: items, each a JSON object, separated by commas. */
struct tlist {
	char *s;
	size_t len, cap;
	size_t n; /* items */
};

struct etcd_txn {
	struct tlist cmp, ops[2];
	size_t guarded_subs; /* nested txns that carry a compare */
	int oom;
};

static const char *const targets[] = {"VERSION", "CREATE", "MOD", "VALUE", "LEASE"};
static const char *const fields[] = {"version", "create_revision", "mod_revision", "value", "lease"};
static const char *const results[] = {"EQUAL", "GREATER", "LESS", "NOT_EQUAL"};

struct etcd_txn *
etcd_txn_new(void)
{
	return calloc(1, sizeof(struct etcd_txn));
}

void
etcd_txn_free(struct etcd_txn *t)
{
	if (!t)
		return;
	free(t->cmp.s);
	free(t->ops[0].s);
	free(t->ops[1].s);
	free(t);
}

/* Room for n more bytes and a NUL in l; else t->oom and -1. */
static int
reserve(struct etcd_txn *t, struct tlist *l, size_t n)
{
	size_t cap = l->cap ? l->cap : 256;
	char *s;

	if (t->oom || n > SIZE_MAX / 4 - l->len) {
		t->oom = 1;
		return -1;
	}
	if (l->len + n + 1 <= l->cap)
		return 0;
	while (cap < l->len + n + 1)
		cap *= 2;
	if (!(s = realloc(l->s, cap))) {
		t->oom = 1;
		return -1;
	}
	l->s = s;
	l->cap = cap;
	return 0;
}

static void
put_raw(struct etcd_txn *t, struct tlist *l, const char *s, size_t n)
{
	if (reserve(t, l, n) < 0)
		return;
	memcpy(l->s + l->len, s, n);
	l->len += n;
	l->s[l->len] = '\0';
}

static void
put_str(struct etcd_txn *t, struct tlist *l, const char *s)
{
	put_raw(t, l, s, strlen(s));
}

/* "B64" of p[0..n). */
static void
put_b64(struct etcd_txn *t, struct tlist *l, const void *p, size_t n)
{
	if (n > SIZE_MAX / 2 || reserve(t, l, (n + 2) / 3 * 4 + 2) < 0) {
		t->oom = 1;
		return;
	}
	l->s[l->len++] = '"';
	l->len += etcd_b64_encode_to(l->s + l->len, p, n);
	l->s[l->len++] = '"';
	l->s[l->len] = '\0';
}

/* "N", as etcd's JSON gives int64s. */
static void
put_i64(struct etcd_txn *t, struct tlist *l, int64_t v)
{
	char buf[32];

	put_raw(t, l, buf, (size_t)snprintf(buf, sizeof(buf), "\"%" PRId64 "\"", v));
}

/* Start the next item of l (a comma after the first). */
static void
item(struct etcd_txn *t, struct tlist *l)
{
	if (l->n++ > 0)
		put_raw(t, l, ",", 1);
}

/* ,"range_end":"B64" for the keys under prefix key. */
static void
put_prefix_end(struct etcd_txn *t, struct tlist *l, const char *key)
{
	size_t elen;
	char *end = etcd_prefix_end(key, strlen(key), &elen);

	if (!end) {
		t->oom = 1;
		return;
	}
	put_str(t, l, ",\"range_end\":");
	put_b64(t, l, end, elen);
	free(end);
}

/* A compare whose operand is an int64 (val NULL) or the bytes val[0..len). */
static int
cmp(struct etcd_txn *t, const char *key, int prefix, enum etcd_cmp_target target, enum etcd_cmp_result result,
    int64_t n, const void *val, size_t len)
{
	struct tlist *l;

	if (!t || !key || (unsigned)target > ETCD_CMP_LEASE || (unsigned)result > ETCD_CMP_NOT_EQUAL ||
	    (target == ETCD_CMP_VALUE) != (val != NULL)) {
		if (t)
			t->oom = 1;
		return -1;
	}
	l = &t->cmp;
	item(t, l);
	put_str(t, l, "{\"target\":\"");
	put_str(t, l, targets[target]);
	put_str(t, l, "\",\"result\":\"");
	put_str(t, l, results[result]);
	put_str(t, l, "\",\"key\":");
	put_b64(t, l, key, strlen(key));
	put_str(t, l, ",\"");
	put_str(t, l, fields[target]);
	put_str(t, l, "\":");
	if (val)
		put_b64(t, l, val, len);
	else
		put_i64(t, l, n);
	if (prefix)
		put_prefix_end(t, l, key);
	put_raw(t, l, "}", 1);
	return t->oom ? -1 : 0;
}

int
etcd_txn_cmp(struct etcd_txn *t, const char *key, enum etcd_cmp_target target, enum etcd_cmp_result result, int64_t n)
{
	return cmp(t, key, 0, target, result, n, NULL, 0);
}

int
etcd_txn_cmp_value(struct etcd_txn *t, const char *key, enum etcd_cmp_result result, const void *val, size_t len)
{
	return cmp(t, key, 0, ETCD_CMP_VALUE, result, 0, val ? val : "", val ? len : 0);
}

int
etcd_txn_cmp_prefix(struct etcd_txn *t, const char *prefix, enum etcd_cmp_target target, enum etcd_cmp_result result,
                    int64_t n)
{
	return cmp(t, prefix, 1, target, result, n, NULL, 0);
}

/* Checks common to the operations; the list of branch b, or NULL. */
static struct tlist *
op_list(struct etcd_txn *t, enum etcd_txn_branch b, const char *key)
{
	if (!t || !key || (unsigned)b > 1) {
		if (t)
			t->oom = 1;
		return NULL;
	}
	item(t, &t->ops[b]);
	return &t->ops[b];
}

int
etcd_txn_put(struct etcd_txn *t, enum etcd_txn_branch b, const char *key, const void *val, size_t len, int64_t lease)
{
	struct tlist *l = key && *key ? op_list(t, b, key) : op_list(t, b, NULL);

	if (!l)
		return -1;
	put_str(t, l, "{\"request_put\":{\"key\":");
	put_b64(t, l, key, strlen(key));
	put_str(t, l, ",\"value\":");
	put_b64(t, l, val ? val : "", val ? len : 0);
	if (lease) {
		put_str(t, l, ",\"lease\":");
		put_i64(t, l, lease);
	}
	put_raw(t, l, "}}", 2);
	return t->oom ? -1 : 0;
}

int
etcd_txn_delete(struct etcd_txn *t, enum etcd_txn_branch b, const char *key, int prefix)
{
	struct tlist *l = op_list(t, b, key);

	if (!l)
		return -1;
	put_str(t, l, "{\"request_delete_range\":{\"key\":");
	put_b64(t, l, key, strlen(key));
	if (prefix)
		put_prefix_end(t, l, key);
	put_raw(t, l, "}}", 2);
	return t->oom ? -1 : 0;
}

int
etcd_txn_get(struct etcd_txn *t, enum etcd_txn_branch b, const char *key, const struct etcd_range_opts *o)
{
	struct tlist *l = op_list(t, b, key);
	json_t *g;
	char *s;

	if (!l)
		return -1;
	put_str(t, l, "{\"request_range\":");
	if (!o) { /* what etcd_range_body gives without options */
		put_str(t, l, "{\"key\":");
		put_b64(t, l, key, strlen(key));
		put_raw(t, l, "}", 1);
	} else if ((g = etcd_range_body(key, strlen(key), o)) && (s = json_dumps(g, JSON_COMPACT))) {
		put_str(t, l, s);
		free(s);
	} else {
		t->oom = 1;
	}
	if (o)
		json_decref(g);
	put_raw(t, l, "}", 1);
	return t->oom ? -1 : 0;
}

/* {"compare":[…],"success":[…],"failure":[…]} of t into l. */
static void
put_body(struct etcd_txn *t, struct tlist *l, const struct etcd_txn *from)
{
	put_str(t, l, "{\"compare\":[");
	put_raw(t, l, from->cmp.s ? from->cmp.s : "", from->cmp.len);
	put_str(t, l, "],\"success\":[");
	put_raw(t, l, from->ops[0].s ? from->ops[0].s : "", from->ops[0].len);
	put_str(t, l, "],\"failure\":[");
	put_raw(t, l, from->ops[1].s ? from->ops[1].s : "", from->ops[1].len);
	put_raw(t, l, "]}", 2);
}

/* Consumes inner. Its operations count against etcd's limit on their own. */
int
etcd_txn_txn(struct etcd_txn *t, enum etcd_txn_branch b, struct etcd_txn *inner)
{
	struct tlist *l;

	if (!t || !inner || inner->oom || (unsigned)b > 1 || etcd_txn_ops(inner) > 128) {
		if (t)
			t->oom = 1;
		etcd_txn_free(inner);
		return -1;
	}
	l = op_list(t, b, "");
	put_str(t, l, "{\"request_txn\":");
	put_body(t, l, inner);
	put_raw(t, l, "}", 1);
	t->guarded_subs += inner->cmp.n > 0;
	etcd_txn_free(inner);
	return t->oom ? -1 : 0;
}

/* Sending t twice is harmless: it compares something, or every operation
 * is a nested txn that does. */
static int
guarded(const struct etcd_txn *t)
{
	size_t nops = t->ops[0].n + t->ops[1].n;

	return t->cmp.n > 0 || (nops > 0 && t->guarded_subs == nops);
}

size_t
etcd_txn_ops(const struct etcd_txn *t)
{
	size_t n = t->cmp.n;

	if (t->ops[0].n > n)
		n = t->ops[0].n;
	if (t->ops[1].n > n)
		n = t->ops[1].n;
	return n;
}

static int
parse_txn(struct etcd_req *r, json_t *root, struct etcd_result *res)
{
	(void)r;
	return etcd_parse_txn_resp(root, res);
}

char *
etcd_txn_text(struct etcd_txn *t, size_t *len)
{
	struct tlist body = {0};

	if (t->oom || reserve(t, &body, t->cmp.len + t->ops[0].len + t->ops[1].len + 48) < 0)
		return NULL;
	put_body(t, &body, t);
	if (t->oom) {
		free(body.s);
		return NULL;
	}
	*len = body.len;
	return body.s;
}

int
etcd_txn_commit(struct etcd_client *c, struct etcd_txn *t, etcd_cb cb, void *arg, struct etcd_error *err)
{
	struct etcd_req *r;
	size_t len = 0;
	char *body;
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
	body = etcd_txn_text(t, &len);
	etcd_txn_free(t);
	if (!body)
		return etcd_seterr(err, ETCD_ENOMEM, "txn: out of memory");
	r = etcd_req_new_text(c, "/v3/kv/txn", body, len, safe ? ETCD_REQ_SAFE : 0, parse_txn, cb, arg, err);
	return r ? etcd_req_submit(r, err) : -1;
}
