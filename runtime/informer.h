/*
 * informer.h: a watch cache over one etcd prefix. Lists the prefix, then
 * watches from the list's revision + 1; keeps name → object (decoded by the
 * caller's function) with create and mod revisions; calls add / update /
 * delete handlers; lists again after compaction or a broken watch and then
 * delivers only the differences. It tells the revision it has seen, so a
 * controller can wait until its own writes are visible.
 *
 * The cache owns its objects. Handlers and readers borrow them until control
 * returns to the loop and must not change them.
 */
#ifndef SKIFF_INFORMER_H
#define SKIFF_INFORMER_H

#include <stddef.h>
#include <stdint.h>

#include "etcd.h"

struct informer;

struct informer_obj {
	const char *name;  /* key without the prefix */
	const char *key;   /* the whole key */
	void *obj;         /* decoded object; NULL if the value did not decode */
	const char *value; /* raw value, NUL-terminated */
	size_t value_len;
	int64_t create_revision, mod_revision, version, lease;
};

/* Decode a value into an object (new), or NULL: the entry is kept with
 * obj NULL and the handlers still run, so a controller can report it. */
typedef void *(*informer_decode_fn)(const char *name, const char *value, size_t len, void *arg);
typedef void (*informer_free_fn)(void *obj);

struct informer_handlers {
	void (*add)(struct informer *inf, const struct informer_obj *o, void *arg);
	/* old and o share the name; a new incarnation (create revision changed)
	 * is a delete of old followed by an add of o, never an update. */
	void (*update)(struct informer *inf, const struct informer_obj *old, const struct informer_obj *o, void *arg);
	void (*del)(struct informer *inf, const struct informer_obj *old, void *arg);
	/* The first list has been applied (once). */
	void (*synced)(struct informer *inf, void *arg);
	/* Something went wrong and the informer is recovering (for logs). */
	void (*error)(struct informer *inf, const struct etcd_error *err, void *arg);
};

/* prefix must end in '/'. decode and free may be NULL (obj stays NULL). */
struct informer *informer_new(struct etcd_client *c, const char *prefix, informer_decode_fn decode,
                              informer_free_fn free_obj, const struct informer_handlers *h, void *arg);
/* Before informer_start: keep only decoded objects, not raw values. The
 * new object's value is then readable by the decoder and the add/update
 * handlers only; cached entries (what informer_get returns, the old
 * object of update and del) have value NULL and value_len 0. */
void informer_drop_values(struct informer *inf);
/* Values larger than this are not decoded nor kept: their entry holds ""
 * with obj NULL, like a value that does not decode, and the error handler
 * is told (ETCD_ETOOLARGE). The default, for informers created after
 * informer_default_max_value (the daemons' --max-value-bytes), is
 * INFORMER_MAX_VALUE, a little under etcd's 1.5 MiB request limit; the
 * directories of statuses and events (a prefix holding "/podstatus/",
 * "/controllerstatus/", "/nodestatus/" or "/events/") get at most
 * INFORMER_MAX_STATUS. */
#define INFORMER_MAX_VALUE (1400 * 1024)
#define INFORMER_MAX_STATUS (256 * 1024)
void informer_max_value(struct informer *inf, size_t bytes);
void informer_default_max_value(size_t bytes);
void informer_start(struct informer *inf);
/* Stops the watch and frees every object. Not inside the informer's own handlers. */
void informer_free(struct informer *inf);

int informer_synced(const struct informer *inf);
/* Every change up to this revision has been applied to the cache. */
int64_t informer_revision(const struct informer *inf);
const char *informer_prefix(const struct informer *inf);
/* Borrowed; NULL when absent. O(1). */
const struct informer_obj *informer_get(const struct informer *inf, const char *name);
size_t informer_count(const struct informer *inf);
/* Visit every entry (in no particular order). Don't add or delete inside. */
void informer_foreach(const struct informer *inf, void (*fn)(const struct informer_obj *o, void *arg), void *arg);

/* Counters for /metrics. */
struct informer_stats {
	uint64_t lists, events, relists, decode_errors; /* decode_errors counts oversize too */
	uint64_t oversize;
};
void informer_stats(const struct informer *inf, struct informer_stats *out);

/* Before informer_start: the watch carries etcd's NOPUT filter, so etcd
 * sends this informer deletions only. The cache then holds what the last
 * list found, less what was deleted since: a key created or rewritten
 * after a list is not seen (no add, no update) until the next list. For
 * a reader that needs to know only when keys go, over a prefix whose keys
 * are rewritten often (heartbeats): etcd drops the puts before they cost
 * the gateway or this process anything. */
void informer_deletes_only(struct informer *inf);
/* Inside a handler: the etcd revision of the change being delivered (a
 * put's or a deletion's); for a change found by a list, the list's
 * revision (the change happened at or before it). 0 before the first
 * list. */
int64_t informer_change_revision(const struct informer *inf);

#endif
