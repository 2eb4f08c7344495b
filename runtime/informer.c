/*
 * informer.c: list + watch of one prefix into a cache (see informer.h).
 *
 * States: listing (a paged range in flight) → watching (from the list's
 * revision + 1) → on a terminal watch error, listing again. Each page is
 * applied as it comes, while etcd reads the next (etcd_range's page_cb),
 * so decoding overlaps etcd's work and only a page of raw values is held
 * at a time. A list after the first compares itself with the cache and
 * delivers only differences, including the deletes that happened while
 * the watch was down (known once its last page is in); a list that fails
 * half-way leaves what its pages brought, and the next one completes it.
 * Failed lists are retried with back-off; the watch reconnects by itself.
 * A value over the informer's size limit is neither kept nor decoded.
 */
#include <ev.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "informer.h"
#include "probe.h"

/* o.value is the entry's own copy (freed with it) when owns_value. No
 * hash handle (the informer's slots point at entries) and no padding
 * before the key: a daemon caching thousands of objects pays about 50
 * bytes less for each. */
struct entry {
	struct informer_obj o;
	struct entry *prev, *next; /* in the order they came (informer_foreach) */
	unsigned gen : 31;         /* list generation that last saw it (wraps) */
	unsigned owns_value : 1;
	char key[]; /* in the same allocation: one fewer per cached object */
};

struct informer {
	struct etcd_client *c;
	char *prefix;
	size_t plen;
	informer_decode_fn decode;
	informer_free_fn free_obj;
	struct informer_handlers h;
	void *arg;
	struct entry **slots; /* by name, open addressing (probe.h) */
	size_t n_slots, count;
	struct entry *head, *tail; /* in the order they came */
	int64_t rev;
	int synced, started;
	int drop_values;           /* see informer_drop_values */
	size_t max_value;          /* see informer_max_value */
	struct list_call *listing; /* the list in flight, if any */
	unsigned gen;
	struct etcd_watch *watch;
	ev_timer retry;
	int failures;
	struct informer_stats st;
	int deletes_only;   /* see informer_deletes_only */
	int64_t change_rev; /* see informer_change_revision */
};

/* Keys per page of a list: a page's raw values are what a list holds at
 * once beyond the cache. */
#define INFORMER_PAGE 500

/* A list in flight points back through this, so that freeing the
 * informer can disown the call instead of leaving it a dangling pointer. */
struct list_call {
	struct informer *inf;
};

static void list(struct informer *inf);

/* ---- the cache: names in open addressing, entries in a list ---- */

static uint32_t
name_hash(const char *name)
{
	return (uint32_t)fnv1a64(FNV64_BASIS, name, strlen(name));
}

/* The slot of name, or the empty slot where it would go. n_slots > 0.
 * Entries keep no hash (4 bytes each): names are compared. */
static size_t
slot_of(const struct informer *inf, const char *name)
{
	size_t mask = inf->n_slots - 1, i = name_hash(name) & mask;
	const struct entry *e;

	while ((e = inf->slots[i]) && strcmp(e->o.name, name) != 0)
		i = (i + 1) & mask;
	return i;
}

static struct entry *
table_find(const struct informer *inf, const char *name)
{
	return inf->n_slots ? inf->slots[slot_of(inf, name)] : NULL;
}

/* Room for one more entry. 0, or -1 out of memory (nothing changed). */
static int
table_reserve(struct informer *inf)
{
	size_t n = probe_size(inf->n_slots, inf->count, 16);
	struct entry **grown;

	if (n == inf->n_slots)
		return 0;
	if (!(grown = calloc(n, sizeof(*grown))))
		return -1;
	free(inf->slots);
	inf->slots = grown;
	inf->n_slots = n;
	for (struct entry *e = inf->head; e; e = e->next)
		inf->slots[slot_of(inf, e->o.name)] = e;
	return 0;
}

/* e goes in, last in order; table_reserve made room. */
static void
table_add(struct informer *inf, struct entry *e)
{
	inf->slots[slot_of(inf, e->o.name)] = e;
	e->next = NULL;
	e->prev = inf->tail;
	*(inf->tail ? &inf->tail->next : &inf->head) = e;
	inf->tail = e;
	inf->count++;
}

static int64_t
slot_hash(void *arg, size_t j)
{
	const struct informer *inf = arg;

	return inf->slots[j] ? (int64_t)name_hash(inf->slots[j]->o.name) : -1;
}

static void
slot_move(void *arg, size_t from, size_t to)
{
	struct informer *inf = arg;

	inf->slots[to] = inf->slots[from];
	inf->slots[from] = NULL;
}

/* e goes out (not freed). */
static void
table_del(struct informer *inf, struct entry *e)
{
	size_t i = slot_of(inf, e->o.name);

	inf->slots[i] = NULL;
	probe_close(inf->n_slots, i, slot_hash, slot_move, inf);
	*(e->prev ? &e->prev->next : &inf->head) = e->next;
	*(e->next ? &e->next->prev : &inf->tail) = e->prev;
	inf->count--;
}

static void
entry_free(struct informer *inf, struct entry *e)
{
	if (!e)
		return;
	if (e->o.obj && inf->free_obj)
		inf->free_obj(e->o.obj);
	if (e->owns_value)
		free((char *)(uintptr_t)e->o.value);
	free(e);
}

static void report(struct informer *inf, enum etcd_code code, const char *fmt, const char *detail);

/* A value over the limit is kept as "" and never decoded, like one that
 * does not decode (obj NULL); the error handler hears of it. */
static int
oversize(struct informer *inf, const struct etcd_kv *kv)
{
	char why[600];

	if (kv->value_len <= inf->max_value)
		return 0;
	inf->st.decode_errors++;
	inf->st.oversize++;
	snprintf(why, sizeof(why), "%.400s is %zu bytes, over the limit of %zu (--max-value-bytes); ignored", kv->key,
	         kv->value_len, inf->max_value);
	report(inf, ETCD_ETOOLARGE, "informer %s: %s", why);
	return 1;
}

static struct entry *
entry_new(struct informer *inf, const struct etcd_kv *kv)
{
	struct entry *e = calloc(1, offsetof(struct entry, key) + kv->key_len + 1);
	int big = oversize(inf, kv);
	size_t vlen = big ? 0 : kv->value_len;
	char *value = NULL;

	if (!e || (!inf->drop_values && !(value = malloc(vlen + 1)))) {
		free(e);
		return NULL;
	}
	memcpy(e->key, kv->key, kv->key_len + 1);
	if (value)
		memcpy(value, big ? "" : kv->value, vlen + 1);
	e->owns_value = value != NULL;
	e->o.key = e->key;
	e->o.name = e->key + inf->plen;
	e->o.value = value ? value : big ? "" : kv->value; /* borrowed until apply_put ends */
	e->o.value_len = vlen;
	e->o.create_revision = kv->create_revision;
	e->o.mod_revision = kv->mod_revision;
	e->o.version = kv->version;
	e->o.lease = kv->lease;
	if (inf->decode && !big) {
		e->o.obj = inf->decode(e->o.name, e->o.value, kv->value_len, inf->arg);
		if (!e->o.obj)
			inf->st.decode_errors++;
	}
	return e;
}

static void
report(struct informer *inf, enum etcd_code code, const char *fmt, const char *detail)
{
	struct etcd_error err = {0};

	if (!inf->h.error)
		return;
	err.code = code;
	snprintf(err.msg, sizeof(err.msg), fmt, inf->prefix, detail);
	inf->h.error(inf, &err, inf->arg);
}

static void
remove_entry(struct informer *inf, struct entry *old)
{
	table_del(inf, old);
	if (inf->h.del)
		inf->h.del(inf, &old->o, inf->arg);
	entry_free(inf, old);
}

/* Put kv into the cache and tell the handlers what changed. */
static void
apply_put(struct informer *inf, const struct etcd_kv *kv)
{
	struct entry *old = NULL, *e;
	const char *name = kv->key + inf->plen;

	if (kv->key_len <= inf->plen || memcmp(kv->key, inf->prefix, inf->plen) != 0)
		return; /* not ours (cannot happen with a prefix range) */
	old = table_find(inf, name);
	if (old && old->o.mod_revision == kv->mod_revision) {
		old->gen = inf->gen;
		return; /* unchanged */
	}
	if (table_reserve(inf) < 0 || !(e = entry_new(inf, kv))) {
		report(inf, ETCD_ENOMEM, "informer %s: out of memory caching %s", name);
		return;
	}
	e->gen = inf->gen;
	if (old && old->o.create_revision != kv->create_revision) {
		remove_entry(inf, old); /* a new incarnation: delete, then add */
		old = NULL;
	}
	if (old) {
		table_del(inf, old);
		table_add(inf, e);
		if (inf->h.update)
			inf->h.update(inf, &old->o, &e->o, inf->arg);
		entry_free(inf, old);
	} else {
		table_add(inf, e);
		if (inf->h.add)
			inf->h.add(inf, &e->o, inf->arg);
	}
	if (!e->owns_value) { /* kv's value is not ours to keep */
		e->o.value = NULL;
		e->o.value_len = 0;
	}
}

static void
apply_delete(struct informer *inf, const struct etcd_kv *kv)
{
	struct entry *old = NULL;

	if (kv->key_len <= inf->plen)
		return;
	if ((old = table_find(inf, kv->key + inf->plen)))
		remove_entry(inf, old);
}

static void
retry_later(struct informer *inf)
{
	double d = 0.1;

	for (int i = 0; i < inf->failures && d < 5.0; i++)
		d *= 2;
	if (d > 5.0)
		d = 5.0;
	inf->failures++;
	ev_timer_set(&inf->retry, d, 0.0);
	ev_timer_start(etcd_client_loop(inf->c), &inf->retry);
}

static void
watch_cb(struct etcd_watch *w, const struct etcd_watch_msg *m, void *arg)
{
	struct informer *inf = arg;

	switch (m->kind) {
	case ETCD_WATCH_EVENTS:
		for (size_t i = 0; i < m->nevents; i++) {
			const struct etcd_event *ev = &m->events[i];

			inf->st.events++;
			inf->change_rev = ev->kv.mod_revision;
			if (ev->type == ETCD_EVENT_PUT)
				apply_put(inf, &ev->kv);
			else
				apply_delete(inf, &ev->kv);
			if (ev->kv.mod_revision > inf->rev)
				inf->rev = ev->kv.mod_revision;
		}
		break;
	case ETCD_WATCH_PROGRESS:
		if (m->revision > inf->rev)
			inf->rev = m->revision;
		break;
	case ETCD_WATCH_CREATED: inf->failures = 0; break;
	case ETCD_WATCH_RETRYING:
		report(inf, m->err->code, "informer %s: watch interrupted, resuming: %s", m->err->msg);
		break;
	case ETCD_WATCH_ERROR:
		report(inf, m->err->code, "informer %s: watch ended, listing again: %s", m->err->msg);
		etcd_watch_cancel(w);
		inf->watch = NULL;
		inf->st.relists++;
		if (m->err->code == ETCD_ECOMPACTED)
			list(inf);
		else
			retry_later(inf);
		break;
	}
}

static void
start_watch(struct informer *inf)
{
	struct etcd_watch_opts o = {.prefix = 1, .start_revision = inf->rev + 1, .no_put = inf->deletes_only};
	struct etcd_error err = {0};

	inf->watch = etcd_watch_start(inf->c, inf->prefix, &o, watch_cb, inf, &err);
	if (!inf->watch) {
		report(inf, err.code, "informer %s: cannot watch: %s", err.msg);
		retry_later(inf);
	}
}

/* A page of the list (or its last): into the cache, as it comes, while
 * etcd reads the next. */
static void
apply_page(struct informer *inf, const struct etcd_result *res)
{
	inf->change_rev = res->revision;
	for (size_t i = 0; i < res->nkvs; i++)
		apply_put(inf, &res->kvs[i]);
}

static void
list_page(struct etcd_result *res, void *arg)
{
	struct list_call *lc = arg;

	if (lc->inf)
		apply_page(lc->inf, res);
}

static void
list_done(struct etcd_result *res, void *arg)
{
	struct list_call *lc = arg;
	struct informer *inf = lc->inf;
	struct entry *e, *tmp;

	free(lc);
	if (!inf)
		return; /* the informer was freed meanwhile */
	inf->listing = NULL;
	if (res->err.code == ETCD_ECANCELED)
		return;
	if (res->err.code != ETCD_OK) {
		report(inf, res->err.code, "informer %s: list failed, retrying: %s", res->err.msg);
		retry_later(inf);
		return;
	}
	inf->st.lists++;
	apply_page(inf, res);
	/* Whatever this list did not see was deleted while we were away. */
	for (e = inf->head; e; e = tmp) {
		tmp = e->next;
		if (e->gen != inf->gen)
			remove_entry(inf, e);
	}
	inf->rev = res->revision;
	start_watch(inf);
	if (!inf->synced) {
		inf->synced = 1;
		if (inf->h.synced)
			inf->h.synced(inf, inf->arg);
	}
}

static void
list(struct informer *inf)
{
	struct etcd_range_opts o = {.prefix = 1, .page_size = INFORMER_PAGE, .page_cb = list_page};
	struct etcd_error err = {0};
	struct list_call *lc;

	if (inf->listing)
		return;
	if (!(lc = calloc(1, sizeof(*lc)))) {
		report(inf, ETCD_ENOMEM, "informer %s: %s", "out of memory");
		retry_later(inf);
		return;
	}
	lc->inf = inf;
	inf->listing = lc;
	/* A new generation: what the list's pages bring is marked with it, so
	 * that its end can tell what it did not see (no watch runs meanwhile). */
	inf->gen = (inf->gen + 1) & 0x7fffffffu; /* as wide as an entry's */
	if (etcd_range(inf->c, inf->prefix, &o, list_done, lc, &err) < 0) {
		inf->listing = NULL;
		free(lc);
		report(inf, err.code, "informer %s: cannot list: %s", err.msg);
		retry_later(inf);
	}
}

static void
retry_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct informer *inf = (struct informer *)((char *)t - offsetof(struct informer, retry));

	(void)loop;
	(void)revents;
	list(inf);
}

static size_t max_value_default = INFORMER_MAX_VALUE;

/* The limit of a new informer: statuses and events are small, so their
 * directories get the smaller of the default and INFORMER_MAX_STATUS. */
static size_t
default_max(const char *prefix)
{
	static const char *const small[] = {"/podstatus/", "/controllerstatus/", "/nodestatus/", "/events/"};

	for (size_t i = 0; i < sizeof(small) / sizeof(small[0]); i++)
		if (strstr(prefix, small[i]))
			return max_value_default < INFORMER_MAX_STATUS ? max_value_default : INFORMER_MAX_STATUS;
	return max_value_default;
}

struct informer *
informer_new(struct etcd_client *c, const char *prefix, informer_decode_fn decode, informer_free_fn free_obj,
             const struct informer_handlers *h, void *arg)
{
	struct informer *inf;
	size_t n = prefix ? strlen(prefix) : 0;

	if (n == 0 || prefix[n - 1] != '/' || !(inf = calloc(1, sizeof(*inf))))
		return NULL;
	if (!(inf->prefix = strdup(prefix))) {
		free(inf);
		return NULL;
	}
	inf->c = c;
	inf->plen = n;
	inf->decode = decode;
	inf->free_obj = free_obj;
	if (h)
		inf->h = *h;
	inf->arg = arg;
	inf->max_value = default_max(prefix);
	ev_timer_init(&inf->retry, retry_cb, 0.0, 0.0);
	return inf;
}

void
informer_drop_values(struct informer *inf)
{
	inf->drop_values = 1;
}

void
informer_max_value(struct informer *inf, size_t bytes)
{
	inf->max_value = bytes;
}

void
informer_default_max_value(size_t bytes)
{
	max_value_default = bytes;
}

void
informer_start(struct informer *inf)
{
	if (inf->started)
		return;
	inf->started = 1;
	list(inf);
}

void
informer_free(struct informer *inf)
{
	struct entry *e, *tmp;

	if (!inf)
		return;
	ev_timer_stop(etcd_client_loop(inf->c), &inf->retry);
	etcd_watch_cancel(inf->watch);
	if (inf->listing)
		inf->listing->inf = NULL; /* list_done frees the call */
	for (e = inf->head; e; e = tmp) {
		tmp = e->next;
		entry_free(inf, e);
	}
	free(inf->slots);
	free(inf->prefix);
	free(inf);
}

int
informer_synced(const struct informer *inf)
{
	return inf->synced;
}

int64_t
informer_revision(const struct informer *inf)
{
	return inf->rev;
}

const char *
informer_prefix(const struct informer *inf)
{
	return inf->prefix;
}

const struct informer_obj *
informer_get(const struct informer *inf, const char *name)
{
	struct entry *e = table_find(inf, name);

	return e ? &e->o : NULL;
}

size_t
informer_count(const struct informer *inf)
{
	return inf->count;
}

void
informer_foreach(const struct informer *inf, void (*fn)(const struct informer_obj *o, void *arg), void *arg)
{
	for (struct entry *e = inf->head, *tmp; e; e = tmp) {
		tmp = e->next;
		fn(&e->o, arg);
	}
}

void
informer_stats(const struct informer *inf, struct informer_stats *out)
{
	*out = inf->st;
}

void
informer_deletes_only(struct informer *inf)
{
	inf->deletes_only = 1;
}

int64_t
informer_change_revision(const struct informer *inf)
{
	return inf->change_rev;
}
