/*
 * events.c: see events.h. Each distinct event is an entry that remembers
 * the count and mod revision it last wrote. Writing is one compare-and-swap
 * loop: "if the key's mod revision is still the one I know, put count+n;
 * else give me the key", then merge what came back and try again (at most
 * three times). A missing key has mod revision 0, so the first write is a
 * create-if-absent by the same rule.
 *
 * Rate limit: an entry is written at most once per interval (10 s by
 * default); repeats in between wait on the "later" list and go out merged
 * in one write when their time comes, so a pod failing every second costs
 * one etcd write per 10 s, not one per failure. The first occurrence of an
 * event is written at once.
 */
#include <ev.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uthash.h>
#include <utlist.h>

#include "events.h"
#include "hash.h"

#define MAX_INFLIGHT 32
#define MAX_ENTRIES 4096
#define LEASE_TTL 3600
#define LEASE_ROTATE 600.0

struct entry {
	char *key;
	char *type, *reason, *message;
	char first[32], last[32];
	int64_t count, pending, mod_rev;
	int inflight, dirty, tries;
	double sent_at; /* loop time of the last write started, 0: never */
	struct recorder *r;
	struct entry *next, *prev; /* dirty list, or the later list while dirty == 2 */
	UT_hash_handle hh;
};

struct recorder {
	struct etcd_client *c;
	char *root, *source; /* root: "P/events" or "P/nodeevents/NODE" */
	struct entry *entries;
	struct entry *dirty;
	int inflight;
	int64_t lease;
	double lease_at;
	int granting;
	int *alive;          /* cleared when freed, for late callbacks */
	struct entry *later; /* dirty entries written less than interval ago */
	double interval;     /* seconds between two writes of one entry */
	int flushing;        /* recorder_flush: no more waiting */
	ev_timer later_timer;
};

static void pump(struct recorder *r);

static void
now_iso(char *buf, size_t len)
{
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static uint64_t
fnv1a(uint64_t h, const char *s)
{
	return fnv1a64(h, s, strlen(s)) * FNV64_PRIME; /* the NUL separates fields */
}

static int
name_ok(const char *n)
{
	size_t len = strlen(n);

	return len > 0 && len <= 253 && !strchr(n, '/') && strcmp(n, ".") != 0 && strcmp(n, "..") != 0 &&
	       !strpbrk(n, " \t\r\n");
}

static int
kind_ok(const char *k)
{
	return strcmp(k, "pods") == 0 || strcmp(k, "controllers") == 0 || strcmp(k, "services") == 0 ||
	       strcmp(k, "nodes") == 0 || strcmp(k, "deployments") == 0;
}

void
recorder_event_key(const struct recorder *r, const char *kind, const char *name, const char *reason,
                   const char *message, char *buf, size_t len)
{
	uint64_t h = fnv1a(fnv1a(fnv1a(FNV64_BASIS, r->source), reason), message);

	if (name_ok(name))
		snprintf(buf, len, "%s/%s/%s/%016" PRIx64, r->root, kind, name, h);
	else
		snprintf(buf, len, "%s/%s/invalid-%08" PRIx64 "/%016" PRIx64, r->root, kind,
		         fnv1a(FNV64_BASIS, name) & 0xffffffffu, h);
}

static void
entry_free(struct entry *e)
{
	free(e->key);
	free(e->type);
	free(e->reason);
	free(e->message);
	free(e);
}

/* Drop idle entries when there are too many (the oldest by last update). */
static void
trim(struct recorder *r)
{
	struct entry *e, *tmp;

	if (HASH_COUNT(r->entries) < MAX_ENTRIES)
		return;
	HASH_ITER(hh, r->entries, e, tmp) {
		if (HASH_COUNT(r->entries) < MAX_ENTRIES / 2)
			break;
		if (!e->inflight && !e->dirty) {
			HASH_DEL(r->entries, e);
			entry_free(e);
		}
	}
}

static char *
event_json(struct recorder *r, struct entry *e, int64_t count)
{
	json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:I}", "type", e->type, "reason", e->reason, "message",
	                      e->message, "source", r->source, "firstTimestamp", e->first, "lastTimestamp", e->last,
	                      "count", (json_int_t)count);
	char *s = j ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS) : NULL;

	json_decref(j);
	return s;
}

/* Merge what etcd holds (after a failed compare) into e. */
static void
merge_existing(struct entry *e, const struct etcd_kv *kv)
{
	json_t *j = json_loadb(kv->value, kv->value_len, 0, NULL);
	json_t *cnt = json_object_get(j, "count"), *first = json_object_get(j, "firstTimestamp");

	e->mod_rev = kv->mod_revision;
	e->count = json_is_integer(cnt) && json_integer_value(cnt) > 0 ? json_integer_value(cnt) : 0;
	if (json_is_string(first) && json_string_length(first) < sizeof(e->first))
		snprintf(e->first, sizeof(e->first), "%s", json_string_value(first));
	json_decref(j);
}

struct write {
	struct recorder *r;
	int *alive;
	struct entry *e;
	int64_t n; /* repeats this write carries */
};

static void
mark_dirty(struct recorder *r, struct entry *e)
{
	if (!e->dirty) {
		e->dirty = 1;
		DL_APPEND(r->dirty, e);
	}
}

static void
write_done(struct etcd_result *res, void *arg)
{
	struct write *w = arg;
	struct recorder *r = w->r;
	struct entry *e = w->e;

	if (!*w->alive) {
		/* The recorder is gone; the last callback frees the flag. */
		if (--w->alive[1] == 0)
			free(w->alive);
		free(w);
		return;
	}
	w->alive[1]--;
	r->inflight--;
	e->inflight = 0;
	if (res->err.code == ETCD_OK && res->succeeded) {
		e->count += w->n;
		e->mod_rev = res->revision;
		e->tries = 0;
	} else {
		if (res->err.code == ETCD_OK && res->nresponses == 1 && res->responses[0].nkvs == 1)
			merge_existing(e, &res->responses[0].kvs[0]);
		else if (res->err.code == ETCD_OK)
			e->mod_rev = 0, e->count = 0; /* gone (expired): create again */
		else if (res->err.code == ETCD_ENOLEASE)
			r->lease = 0;
		/* Put the repeats back and try again, a few times at most. */
		if (++e->tries <= 3) {
			e->pending += w->n;
			mark_dirty(r, e);
		} else {
			e->tries = 0;
		}
	}
	free(w);
	if (e->pending > 0)
		mark_dirty(r, e);
	pump(r);
}

static void
send_entry(struct recorder *r, struct entry *e)
{
	struct etcd_error err = {0};
	struct etcd_txn *t = etcd_txn_new();
	struct write *w = calloc(1, sizeof(*w));
	char *val;

	if (!t || !w) {
		etcd_txn_free(t);
		free(w);
		return;
	}
	w->r = r;
	w->alive = r->alive;
	w->e = e;
	w->n = e->pending;
	e->pending = 0;
	val = event_json(r, e, e->count + w->n);
	etcd_txn_cmp(t, e->key, ETCD_CMP_MOD, ETCD_CMP_EQUAL, e->mod_rev);
	etcd_txn_put(t, ETCD_TXN_SUCCESS, e->key, val, val ? strlen(val) : 0, r->lease);
	etcd_txn_get(t, ETCD_TXN_FAILURE, e->key, NULL);
	free(val);
	if (!val || etcd_txn_commit(r->c, t, write_done, w, &err) < 0) {
		if (!val)
			etcd_txn_free(t);
		free(w);
		return;
	}
	e->inflight = 1;
	e->sent_at = ev_now(etcd_client_loop(r->c));
	r->inflight++;
	r->alive[1]++;
}

static void
granted(struct etcd_result *res, void *arg)
{
	struct write *w = arg;
	struct recorder *r = w->r;

	if (!*w->alive) {
		if (--w->alive[1] == 0)
			free(w->alive);
		free(w);
		return;
	}
	w->alive[1]--;
	free(w);
	r->granting = 0;
	if (res->err.code == ETCD_OK) {
		r->lease = res->lease_id;
		r->lease_at = ev_now(etcd_client_loop(r->c));
		pump(r);
	}
	/* On failure the next event tries again. */
}

/* Make sure a young enough lease exists; returns 1 when writes may go. */
static int
ensure_lease(struct recorder *r)
{
	struct etcd_error err = {0};
	struct write *w;

	if (r->lease && ev_now(etcd_client_loop(r->c)) - r->lease_at < LEASE_ROTATE)
		return 1;
	if (r->granting)
		return 0;
	if (!(w = calloc(1, sizeof(*w))))
		return 0;
	w->r = r;
	w->alive = r->alive;
	if (etcd_lease_grant(r->c, LEASE_TTL, 0, granted, w, &err) < 0) {
		free(w);
		return r->lease != 0;
	}
	r->granting = 1;
	r->alive[1]++;
	/* Keep writing on the old lease while a new one is granted. */
	return r->lease != 0;
}

/* Park e on the later list and make sure the timer fires when the first
 * parked entry may be written. */
static void
defer(struct recorder *r, struct entry *e, double now)
{
	double wait = e->sent_at + r->interval - now;

	e->dirty = 2;
	DL_APPEND(r->later, e);
	if (!ev_is_active(&r->later_timer) || ev_timer_remaining(etcd_client_loop(r->c), &r->later_timer) > wait) {
		ev_timer_stop(etcd_client_loop(r->c), &r->later_timer);
		ev_timer_set(&r->later_timer, wait > 0 ? wait : 0, 0);
		ev_timer_start(etcd_client_loop(r->c), &r->later_timer);
	}
}

static void
pump(struct recorder *r)
{
	double now = ev_now(etcd_client_loop(r->c));

	if (!r->dirty || !ensure_lease(r))
		return;
	while (r->dirty && r->inflight < MAX_INFLIGHT) {
		struct entry *e = r->dirty;

		DL_DELETE(r->dirty, e);
		e->dirty = 0;
		if (e->inflight || e->pending <= 0)
			continue;
		if (etcd_client_nospace(r->c)) {
			e->pending = 0; /* etcd is out of space: events are the first thing to give up */
			continue;
		}
		if (!r->flushing && e->sent_at > 0 && now - e->sent_at < r->interval)
			defer(r, e, now);
		else
			send_entry(r, e);
	}
}

/* The later list's time has come for some: move them all back (pump parks
 * again those still too young). */
static void
later_due(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct recorder *r = w->data;
	struct entry *e, *tmp;

	(void)loop;
	(void)revents;
	DL_FOREACH_SAFE(r->later, e, tmp) {
		DL_DELETE(r->later, e);
		e->dirty = 1;
		DL_APPEND(r->dirty, e);
	}
	pump(r);
}

void
recorder_set_interval(struct recorder *r, double seconds)
{
	if (r)
		r->interval = seconds >= 0 ? seconds : 0;
}

void
recorder_flush(struct recorder *r)
{
	if (!r)
		return;
	r->flushing = 1;
	later_due(etcd_client_loop(r->c), &r->later_timer, 0);
}

void
recorder_eventf(struct recorder *r, const char *kind, const char *name, const char *type, const char *reason,
                const char *fmt, ...)
{
	char msg[1024], key[512];
	struct entry *e = NULL;
	va_list ap;

	if (!r || !kind_ok(kind) || !name || !type || !reason)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	recorder_event_key(r, kind, name, reason, msg, key, sizeof(key));
	HASH_FIND_STR(r->entries, key, e);
	if (!e) {
		trim(r);
		if (!(e = calloc(1, sizeof(*e))) || !(e->key = strdup(key)) || !(e->type = strdup(type)) ||
		    !(e->reason = strdup(reason)) || !(e->message = strdup(msg))) {
			if (e)
				entry_free(e);
			return;
		}
		e->r = r;
		now_iso(e->first, sizeof(e->first));
		HASH_ADD_KEYPTR(hh, r->entries, e->key, strlen(e->key), e);
	}
	now_iso(e->last, sizeof(e->last));
	e->pending++;
	mark_dirty(r, e);
	pump(r);
}

static struct recorder *
recorder_alloc(struct etcd_client *c, const char *root, const char *source)
{
	struct recorder *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->c = c;
	/* alive[0]: the recorder exists; alive[1]: callbacks still to come. */
	r->alive = calloc(2, sizeof(int));
	r->root = strdup(root);
	r->source = strdup(source);
	if (!r->alive || !r->root || !r->source) {
		free(r->alive);
		free(r->root);
		free(r->source);
		free(r);
		return NULL;
	}
	r->alive[0] = 1;
	r->interval = 10.0;
	ev_timer_init(&r->later_timer, later_due, 0, 0);
	r->later_timer.data = r;
	return r;
}

struct recorder *
recorder_new(struct etcd_client *c, const char *prefix, const char *source)
{
	char root[512];

	if ((size_t)snprintf(root, sizeof(root), "%s/events", prefix) >= sizeof(root))
		return NULL;
	return recorder_alloc(c, root, source);
}

struct recorder *
recorder_new_node(struct etcd_client *c, const char *prefix, const char *node, const char *source)
{
	char root[512];

	if ((size_t)snprintf(root, sizeof(root), "%s/nodeevents/%s", prefix, node) >= sizeof(root))
		return NULL;
	return recorder_alloc(c, root, source);
}

void
recorder_free(struct recorder *r)
{
	struct entry *e, *tmp;

	if (!r)
		return;
	ev_timer_stop(etcd_client_loop(r->c), &r->later_timer);
	HASH_ITER(hh, r->entries, e, tmp) {
		HASH_DEL(r->entries, e);
		entry_free(e);
	}
	r->alive[0] = 0;
	if (r->alive[1] == 0)
		free(r->alive);
	free(r->root);
	free(r->source);
	free(r);
}

int
recorder_pending(const struct recorder *r)
{
	int n = r->inflight;
	struct entry *e;

	DL_FOREACH(r->dirty, e)
		n++;
	DL_FOREACH(r->later, e)
		n++;
	return n;
}
