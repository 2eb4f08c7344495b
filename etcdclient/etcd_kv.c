/*
 * etcd_kv.c: the KV service (range, put, delete, compaction) and the
 * maintenance status call. Builds request bodies, parses answers, and pages
 * through ranges larger than one response at one pinned revision.
 */
#include <stdlib.h>
#include <string.h>

#include "etcd_internal.h"

static const char *const sort_targets[] = {"KEY", "VERSION", "CREATE", "MOD", "VALUE"};
static const char *const sort_orders[] = {"NONE", "ASCEND", "DESCEND"};

/* Set range_end on body from the options. 0 or -1 (out of memory). */
static int
set_range_end(json_t *body, const char *key, size_t klen, int prefix, const char *range_end, int from_key)
{
	size_t elen;
	char *end;
	int rc;

	if (range_end)
		return json_object_set_new(body, "range_end", etcd_json_b64(range_end, strlen(range_end)));
	if (from_key)
		return json_object_set_new(body, "range_end", etcd_json_b64("", 1));
	if (!prefix)
		return 0;
	if (!(end = etcd_prefix_end(key, klen, &elen)))
		return -1;
	rc = json_object_set_new(body, "range_end", etcd_json_b64(end, elen));
	free(end);
	return rc;
}

static int
set_i64(json_t *o, const char *name, int64_t v)
{
	return v ? json_object_set_new(o, name, etcd_json_i64(v)) : 0;
}

static int
set_true(json_t *o, const char *name, int v)
{
	return v ? json_object_set_new(o, name, json_true()) : 0;
}

json_t *
etcd_range_body(const char *key, size_t klen, const struct etcd_range_opts *o)
{
	static const struct etcd_range_opts none;
	json_t *b = json_object();
	int bad = 0;

	if (!o)
		o = &none;
	if (!b)
		return NULL;
	bad |= json_object_set_new(b, "key", etcd_json_b64(key, klen));
	bad |= set_range_end(b, key, klen, o->prefix, o->range_end, o->from_key);
	bad |= set_i64(b, "limit", o->limit);
	bad |= set_i64(b, "revision", o->revision);
	bad |= set_true(b, "keys_only", o->keys_only);
	bad |= set_true(b, "count_only", o->count_only);
	bad |= set_true(b, "serializable", o->serializable);
	if (o->sort_target > ETCD_SORT_KEY && o->sort_target <= ETCD_SORT_VALUE)
		bad |= json_object_set_new(b, "sort_target", json_string(sort_targets[o->sort_target]));
	if (o->sort_order > ETCD_SORT_NONE && o->sort_order <= ETCD_SORT_DESCEND)
		bad |= json_object_set_new(b, "sort_order", json_string(sort_orders[o->sort_order]));
	bad |= set_i64(b, "min_create_revision", o->min_create_revision);
	bad |= set_i64(b, "max_create_revision", o->max_create_revision);
	bad |= set_i64(b, "min_mod_revision", o->min_mod_revision);
	bad |= set_i64(b, "max_mod_revision", o->max_mod_revision);
	if (bad) {
		json_decref(b);
		return NULL;
	}
	return b;
}

static int
parse_range(struct etcd_req *r, json_t *root, struct etcd_result *res)
{
	(void)r;
	return etcd_parse_range_resp(root, res);
}

/* ---- paging: pages of page_size keys at the first page's revision ---- */

struct pager {
	char *key; /* the original start key and options */
	struct etcd_range_opts o;
	void *arg; /* the callback's, for o.page_cb */
	char *range_end;
	int64_t rev;
	int64_t remaining; /* of the caller's limit, or -1 */
	int64_t count;     /* keys in the whole range, from the first page */
	int count_set;
	int64_t seen;            /* keys read so far */
	char *last;              /* the last key read */
	size_t last_len;         /* its length */
	struct etcd_kv *acc;     /* without page_cb: every page's keys */
	size_t n, cap;           /* of acc */
	struct etcd_result page; /* with page_cb: the page read, until handed out */
};

static void
pager_free(void *p)
{
	struct pager *pg = p;

	for (size_t i = 0; i < pg->n; i++)
		etcd_kv_clear(&pg->acc[i]);
	free(pg->acc);
	etcd_result_clear(&pg->page);
	free(pg->key);
	free(pg->last);
	free(pg->range_end);
	free(pg);
}

static int
pager_take(struct pager *pg, struct etcd_result *page)
{
	if (page->nkvs == 0)
		return 0;
	if (pg->n + page->nkvs > pg->cap) {
		size_t cap = pg->cap ? pg->cap * 2 : 1024;
		struct etcd_kv *a;

		while (cap < pg->n + page->nkvs)
			cap *= 2;
		if (!(a = realloc(pg->acc, cap * sizeof(*a))))
			return -1;
		pg->acc = a;
		pg->cap = cap;
	}
	memcpy(pg->acc + pg->n, page->kvs, page->nkvs * sizeof(*page->kvs));
	pg->n += page->nkvs;
	free(page->kvs);
	page->kvs = NULL;
	page->nkvs = 0;
	return 0;
}

/* The page read goes to page_cb (etcd_req's page_out: the next page's
 * request is already out). Nothing of pg is touched after the call. */
static void
pager_out(void *ctx)
{
	struct pager *pg = ctx;
	struct etcd_result page = pg->page;
	etcd_cb cb = pg->o.page_cb;
	void *arg = pg->arg;

	memset(&pg->page, 0, sizeof(pg->page));
	cb(&page, arg);
	etcd_result_clear(&page);
}

/* The body of the page that starts at key (len bytes). */
static json_t *
pager_body(struct pager *pg, const char *key, size_t len)
{
	struct etcd_range_opts o = pg->o;
	json_t *b;

	o.limit = pg->o.page_size;
	if (pg->remaining >= 0 && pg->remaining < o.limit)
		o.limit = pg->remaining;
	o.revision = pg->rev;
	o.prefix = 0;
	o.range_end = NULL;
	o.from_key = 0;
	o.page_size = 0;
	o.page_cb = NULL;
	b = etcd_range_body(key, len, &o);
	if (b && pg->range_end && json_object_set_new(b, "range_end", json_string(pg->range_end)) < 0) {
		json_decref(b);
		return NULL;
	}
	return b;
}

/* Does the page that starts with kv start after the last key read? Each
 * must, or a broken server could keep us paging forever. */
static int
after_last(const struct pager *pg, const struct etcd_kv *kv)
{
	size_t m = pg->last_len < kv->key_len ? pg->last_len : kv->key_len;
	int cmp;

	if (!pg->last)
		return 1;
	cmp = memcmp(kv->key, pg->last, m);
	return cmp > 0 || (cmp == 0 && kv->key_len > pg->last_len);
}

/* Remember the page's last key, and ask for the page after it (last +
 * "\0"). 0, or -1 out of memory. */
static int
ask_next(struct etcd_req *r, struct pager *pg, const struct etcd_kv *last)
{
	char *next = malloc(last->key_len + 1);
	json_t *b;

	if (!next)
		return -1;
	memcpy(next, last->key, last->key_len);
	next[last->key_len] = '\0';
	free(pg->last);
	pg->last = next;
	pg->last_len = last->key_len;
	b = pager_body(pg, next, last->key_len + 1);
	return b && etcd_req_set_body(r, b) == 0 ? 0 : -1;
}

/* A page came: keep it (in acc, or for page_cb) and ask for the next (1),
 * or put the whole range (or the last page) into res (0); -1 on error. */
static int
parse_page(struct etcd_req *r, json_t *root, struct etcd_result *res)
{
	struct pager *pg = r->ctx;
	struct etcd_result page = {0};
	size_t got;
	int more;

	if (etcd_parse_range_resp(root, &page) < 0) {
		etcd_result_clear(&page);
		return -1;
	}
	got = page.nkvs;
	if (got > 0 && pg->last && !after_last(pg, &page.kvs[0])) {
		etcd_result_clear(&page);
		return etcd_seterr(&res->err, ETCD_EBADRESP, "paging %s: a page did not start after the last one",
		                   pg->key);
	}
	if (!pg->rev)
		pg->rev = page.revision;
	if (!pg->count_set) { /* later pages count only what is left */
		pg->count = page.count;
		pg->count_set = 1;
	}
	pg->seen += (int64_t)got;
	if (pg->o.limit > 0)
		pg->remaining = pg->o.limit - pg->seen;
	more = page.more && got > 0 && pg->remaining != 0;
	if (more && ask_next(r, pg, &page.kvs[got - 1]) < 0) {
		etcd_result_clear(&page);
		return etcd_seterr(&res->err, ETCD_ENOMEM, "out of memory paging a range");
	}
	if (more && pg->o.page_cb) {
		page.revision = pg->rev;
		page.count = pg->count;
		pg->page = page;
		return 1;
	}
	if (!pg->o.page_cb && pager_take(pg, &page) < 0) {
		etcd_result_clear(&page);
		return etcd_seterr(&res->err, ETCD_ENOMEM, "out of memory paging a range");
	}
	if (more)
		return 1;
	res->op = ETCD_OP_RANGE;
	res->revision = pg->rev;
	res->member_id = page.member_id;
	res->count = pg->count;
	res->more = page.more;
	if (pg->o.page_cb) {
		res->kvs = page.kvs;
		res->nkvs = page.nkvs;
		page.kvs = NULL;
		page.nkvs = 0;
	} else {
		res->kvs = pg->acc;
		res->nkvs = pg->n;
		pg->acc = NULL;
		pg->n = pg->cap = 0;
	}
	etcd_result_clear(&page);
	return 0;
}

static int
range_paged(struct etcd_client *c, const char *key, const struct etcd_range_opts *o, etcd_cb cb, void *arg,
            struct etcd_error *err)
{
	struct pager *pg = calloc(1, sizeof(*pg));
	struct etcd_req *r;
	json_t *tmp = json_object(), *end;

	if (!pg || !tmp || !(pg->key = strdup(key)) ||
	    set_range_end(tmp, key, strlen(key), o->prefix, o->range_end, o->from_key) < 0)
		goto oom;
	/* The range end (base64) of the whole range, the same on every page. */
	end = json_object_get(tmp, "range_end");
	if (end && !(pg->range_end = strdup(json_string_value(end))))
		goto oom;
	json_decref(tmp);
	pg->o = *o;
	pg->rev = o->revision;
	pg->remaining = o->limit > 0 ? o->limit : -1;
	r = etcd_req_new(c, "/v3/kv/range", pager_body(pg, key, strlen(key)), ETCD_REQ_SAFE, parse_page, cb, arg, err);
	if (!r) {
		pager_free(pg);
		return -1;
	}
	pg->arg = arg;
	r->ctx = pg;
	r->ctx_free = pager_free;
	r->page_out = o->page_cb ? pager_out : NULL;
	return etcd_req_submit(r, err);
oom:
	json_decref(tmp);
	if (pg)
		pager_free(pg);
	return etcd_seterr(err, ETCD_ENOMEM, "out of memory");
}

int
etcd_range(struct etcd_client *c, const char *key, const struct etcd_range_opts *o, etcd_cb cb, void *arg,
           struct etcd_error *err)
{
	struct etcd_req *r;

	if (!key)
		return etcd_seterr(err, ETCD_EINVAL, "range: no key given");
	if (o && o->page_size > 0 && !o->count_only)
		return range_paged(c, key, o, cb, arg, err);
	r = etcd_req_new(c, "/v3/kv/range", etcd_range_body(key, strlen(key), o), ETCD_REQ_SAFE, parse_range, cb, arg,
	                 err);
	return r ? etcd_req_submit(r, err) : -1;
}

int
etcd_get(struct etcd_client *c, const char *key, etcd_cb cb, void *arg, struct etcd_error *err)
{
	return etcd_range(c, key, NULL, cb, arg, err);
}

int
etcd_list(struct etcd_client *c, const char *prefix, etcd_cb cb, void *arg, struct etcd_error *err)
{
	struct etcd_range_opts o = {.prefix = 1, .page_size = 1000};

	return etcd_range(c, prefix, &o, cb, arg, err);
}

static int
parse_put(struct etcd_req *r, json_t *root, struct etcd_result *res)
{
	(void)r;
	return etcd_parse_put_resp(root, res);
}

int
etcd_put(struct etcd_client *c, const char *key, const void *val, size_t len, const struct etcd_put_opts *o, etcd_cb cb,
         void *arg, struct etcd_error *err)
{
	static const struct etcd_put_opts none;
	struct etcd_req *r;
	json_t *b;
	int bad = 0;

	if (!key || !*key)
		return etcd_seterr(err, ETCD_EINVAL, "put: empty key");
	if (!o)
		o = &none;
	if (!(b = json_object()))
		return etcd_seterr(err, ETCD_ENOMEM, "out of memory");
	bad |= json_object_set_new(b, "key", etcd_json_b64(key, strlen(key)));
	if (!o->ignore_value)
		bad |= json_object_set_new(b, "value", etcd_json_b64(val ? val : "", val ? len : 0));
	bad |= set_i64(b, "lease", o->lease);
	bad |= set_true(b, "prev_kv", o->prev_kv);
	bad |= set_true(b, "ignore_value", o->ignore_value);
	bad |= set_true(b, "ignore_lease", o->ignore_lease);
	if (bad) {
		json_decref(b);
		return etcd_seterr(err, ETCD_ENOMEM, "out of memory");
	}
	r = etcd_req_new(c, "/v3/kv/put", b, 0, parse_put, cb, arg, err);
	return r ? etcd_req_submit(r, err) : -1;
}

static int
parse_delete(struct etcd_req *r, json_t *root, struct etcd_result *res)
{
	(void)r;
	return etcd_parse_delete_resp(root, res);
}

int
etcd_delete(struct etcd_client *c, const char *key, const struct etcd_delete_opts *o, etcd_cb cb, void *arg,
            struct etcd_error *err)
{
	static const struct etcd_delete_opts none;
	struct etcd_req *r;
	json_t *b;
	int bad = 0;

	if (!key)
		return etcd_seterr(err, ETCD_EINVAL, "delete: no key given");
	if (!o)
		o = &none;
	if (!(b = json_object()))
		return etcd_seterr(err, ETCD_ENOMEM, "out of memory");
	bad |= json_object_set_new(b, "key", etcd_json_b64(key, strlen(key)));
	bad |= set_range_end(b, key, strlen(key), o->prefix, o->range_end, 0);
	bad |= set_true(b, "prev_kv", o->prev_kv);
	if (bad) {
		json_decref(b);
		return etcd_seterr(err, ETCD_ENOMEM, "out of memory");
	}
	r = etcd_req_new(c, "/v3/kv/deleterange", b, 0, parse_delete, cb, arg, err);
	return r ? etcd_req_submit(r, err) : -1;
}

static int
parse_header_only(struct etcd_req *r, json_t *root, struct etcd_result *res)
{
	(void)r;
	return etcd_parse_header(root, res);
}

int
etcd_compact(struct etcd_client *c, int64_t rev, int physical, etcd_cb cb, void *arg, struct etcd_error *err)
{
	struct etcd_req *r;
	json_t *b = json_object();

	if (!b || json_object_set_new(b, "revision", etcd_json_i64(rev)) < 0 || set_true(b, "physical", physical) < 0) {
		json_decref(b);
		return etcd_seterr(err, ETCD_ENOMEM, "out of memory");
	}
	/* Compacting twice at one revision fails harmlessly: safe to resend. */
	r = etcd_req_new(c, "/v3/kv/compaction", b, ETCD_REQ_SAFE, parse_header_only, cb, arg, err);
	return r ? etcd_req_submit(r, err) : -1;
}

/* StatusResponse.errors lists the raised alarms ("memberID:… alarm:NOSPACE"). */
static int
status_has_nospace(const json_t *errors)
{
	size_t i;
	json_t *e;

	json_array_foreach(errors, i, e) {
		if (json_is_string(e) && strstr(json_string_value(e), "NOSPACE"))
			return 1;
	}
	return 0;
}

static int
parse_status(struct etcd_req *r, json_t *root, struct etcd_result *res)
{
	json_t *v = json_object_get(root, "version");

	(void)r;
	if (etcd_parse_header(root, res) < 0 || etcd_json_get_u64(root, "leader", &res->leader_id) < 0 ||
	    etcd_json_get_i64(root, "dbSize", &res->db_size) < 0 || (v && !json_is_string(v)))
		return -1;
	if (v && !(res->version_str = strdup(json_string_value(v))))
		return -1;
	res->alarm_nospace = status_has_nospace(json_object_get(root, "errors"));
	return 0;
}

int
etcd_status(struct etcd_client *c, etcd_cb cb, void *arg, struct etcd_error *err)
{
	struct etcd_req *r =
		etcd_req_new(c, "/v3/maintenance/status", json_object(), ETCD_REQ_SAFE, parse_status, cb, arg, err);

	return r ? etcd_req_submit(r, err) : -1;
}
