/*
 * etcd.h: Skiff's etcd v3 client (HTTP/JSON gateway) on libcurl + libev.
 *
 * One client per process, driven by the caller's libev loop. Every call is
 * asynchronous and ends in exactly one callback carrying a typed result;
 * etcd_sync.h wraps the same calls for command-line tools. The library never
 * logs, exits or aborts: failures come back as struct etcd_error.
 *
 * Ownership, in jansson's words: strings passed in are borrowed (copied if
 * kept); a result handed to a callback is borrowed for the duration of the
 * callback, unless the callback calls etcd_result_take(), which makes it the
 * callback's own (free it with etcd_result_free()).
 */
#ifndef SKIFF_ETCD_H
#define SKIFF_ETCD_H

#include <stddef.h>
#include <stdint.h>

struct ev_loop;
struct etcd_client;
struct etcd_txn;
struct etcd_watch;
struct etcd_keeper;

/* Error codes. ETCD_OK is 0; everything else is a failure of the call. */
enum etcd_code {
	ETCD_OK = 0,
	ETCD_ECONN,      /* no endpoint could be reached / connection lost */
	ETCD_ETIMEOUT,   /* the request timed out */
	ETCD_EUNAVAIL,   /* every endpoint answered "unavailable" (no leader, …) */
	ETCD_ECOMPACTED, /* the revision asked for has been compacted */
	ETCD_EFUTURE,    /* the revision asked for is in the future */
	ETCD_EAUTH,      /* authentication failed (bad user/password) */
	ETCD_EPERM,      /* permission denied by etcd's RBAC */
	ETCD_ENOLEASE,   /* the lease does not exist (expired or revoked) */
	ETCD_ENOTFOUND,  /* a key the request needed does not exist */
	ETCD_ETOOLARGE,  /* request or response over the size limit */
	ETCD_ENOSPACE,   /* etcd's backend quota is exhausted (NOSPACE alarm) */
	ETCD_EINVAL,     /* etcd rejected the request as invalid */
	ETCD_ETLS,       /* TLS handshake or certificate problem */
	ETCD_EBADRESP,   /* the response was not what the protocol promises */
	ETCD_ESERVER,    /* any other server-side error */
	ETCD_ECANCELED,  /* the client was closed before the call finished */
	ETCD_ENOMEM,
	ETCD_ECODE_MAX
};

struct etcd_error {
	enum etcd_code code;
	int grpc_code;    /* gRPC status from the body, 0 if none */
	long http_status; /* 0 if no HTTP response was read */
	/* 1 when a write may or may not have been applied (timeout or connection
	 * lost after the request was sent). Such writes are never retried by the
	 * library unless they are guarded transactions. */
	int outcome_unknown;
	char endpoint[128]; /* endpoint of the last attempt */
	char msg[256];      /* what happened, for a person */
};

/* Name of a code, e.g. "compacted". Static string. */
const char *etcd_code_name(enum etcd_code code);

/* ------------------------------------------------------------------------
 * Client
 */
struct etcd_config {
	const char *endpoints;  /* "http://a:2379,https://b:2379"; NULL = http://127.0.0.1:2379 */
	const char *cacert;     /* PEM CA bundle for https endpoints, or NULL */
	const char *cert, *key; /* client certificate and key, or NULL */
	const char *user;       /* enables auth when non-NULL */
	const char *password;
	long request_timeout_ms; /* per attempt of a unary call; 0 = 5000 */
	long connect_timeout_ms; /* 0 = 2000 */
	long retry_budget_ms;    /* total time a call may spend failing over; 0 = 2 × request timeout */
	size_t max_response;     /* bytes; 0 = 256 MiB */
};

/* Create a client on loop. Returns NULL and fills err on bad configuration
 * (no endpoints, a malformed URL, unreadable TLS files). Makes no request. */
struct etcd_client *etcd_client_new(struct ev_loop *loop, const struct etcd_config *cfg, struct etcd_error *err);
/* Cancel everything in flight (their callbacks run with ETCD_ECANCELED,
 * watches and keepers are freed) and free the client. */
void etcd_client_free(struct etcd_client *c);
struct ev_loop *etcd_client_loop(struct etcd_client *c);
/* The endpoint the client currently prefers. Borrowed. */
const char *etcd_client_endpoint(struct etcd_client *c);

/* Counters, for /metrics and benchmarks. */
struct etcd_stats {
	uint64_t requests, failures, retries, failovers, auths;
	uint64_t watch_events, watch_restarts;
};
void etcd_client_stats(struct etcd_client *c, struct etcd_stats *out);
/* Free the idle HTTP handles kept for reuse (about 32 kB each): for a
 * daemon gone idle after a burst. Open connections stay. */
void etcd_client_trim(struct etcd_client *c);

/* etcd out of space: the client notes it when a call ends in
 * ETCD_ENOSPACE (etcd's NOSPACE alarm refuses writes) and calls fn once
 * at that moment; whoever installed fn finds out when the alarm is gone
 * (an etcd_status with alarm_nospace 0) and clears the note. Writers of
 * what is not needed (events) skip writes while it is set. */
int etcd_client_nospace(const struct etcd_client *c);
void etcd_client_nospace_clear(struct etcd_client *c);
void etcd_client_on_nospace(struct etcd_client *c, void (*fn)(void *arg), void *arg);

/* ------------------------------------------------------------------------
 * Results
 */
struct etcd_kv {
	char *key; /* NUL-terminated; key_len excludes the NUL */
	size_t key_len;
	char *value; /* NUL-terminated (may contain NULs itself) */
	size_t value_len;
	int64_t create_revision, mod_revision, version, lease;
};

enum etcd_op_type { ETCD_OP_RANGE = 1, ETCD_OP_PUT, ETCD_OP_DELETE, ETCD_OP_TXN };

struct etcd_result {
	struct etcd_error err; /* err.code == ETCD_OK on success */
	int64_t revision;      /* header.revision */
	uint64_t member_id;
	enum etcd_op_type op; /* which response this is (for txn responses) */
	/* range */
	struct etcd_kv *kvs;
	size_t nkvs;
	int more;
	int64_t count;
	/* put (prev_kv) and delete (prev_kvs) */
	struct etcd_kv *prev_kvs;
	size_t nprev;
	int64_t deleted;
	/* txn: succeeded, and one result per operation of the branch taken */
	int succeeded;
	struct etcd_result *responses;
	size_t nresponses;
	/* leases */
	int64_t lease_id;
	int64_t ttl, granted_ttl;
	/* status / authenticate */
	char *version_str;
	uint64_t leader_id;
	int64_t db_size;
	int alarm_nospace; /* status: the cluster has a NOSPACE alarm raised */
};

typedef void (*etcd_cb)(struct etcd_result *res, void *arg);

/* Keep res past the callback; returns res. Free with etcd_result_free. */
struct etcd_result *etcd_result_take(struct etcd_result *res);
void etcd_result_free(struct etcd_result *res);

/* ------------------------------------------------------------------------
 * KV. Keys are NUL-terminated strings; values are (pointer, length).
 * Each call returns 0 when queued (the callback will run exactly once,
 * never before the call returns) or -1 with err filled (no callback).
 */
enum etcd_sort_target { ETCD_SORT_KEY = 0, ETCD_SORT_VERSION, ETCD_SORT_CREATE, ETCD_SORT_MOD, ETCD_SORT_VALUE };
enum etcd_sort_order { ETCD_SORT_NONE = 0, ETCD_SORT_ASCEND, ETCD_SORT_DESCEND };

struct etcd_range_opts {
	int prefix;            /* range over every key starting with key */
	const char *range_end; /* explicit range end (overrides prefix); "\0" is written as "" with from_key */
	int from_key;          /* all keys >= key */
	int64_t limit;         /* 0 = no limit */
	int64_t revision;      /* 0 = latest */
	int keys_only, count_only, serializable;
	enum etcd_sort_target sort_target;
	enum etcd_sort_order sort_order;
	int64_t min_create_revision, max_create_revision;
	int64_t min_mod_revision, max_mod_revision;
	/* Paging: when > 0, the range is read in pages of this many keys, all
	 * at the revision of the first page, and delivered as one result. */
	int64_t page_size;
	/* With paging: each page but the last goes to page_cb (with the same
	 * arg) as it comes, after the next page was asked for, so that etcd
	 * reads the next while the caller works through this one: the page's
	 * kvs (freed when page_cb returns), the range's revision and count,
	 * more = 1. The callback still runs exactly once, at the end, with the
	 * last page's kvs only, or with an error: then page_cb saw part of the
	 * range. NULL: every key in the one result. */
	etcd_cb page_cb;
};

int etcd_range(struct etcd_client *c, const char *key, const struct etcd_range_opts *o, etcd_cb cb, void *arg,
               struct etcd_error *err);
/* Shorthands. */
int etcd_get(struct etcd_client *c, const char *key, etcd_cb cb, void *arg, struct etcd_error *err);
int etcd_list(struct etcd_client *c, const char *prefix, etcd_cb cb, void *arg, struct etcd_error *err);

struct etcd_put_opts {
	int64_t lease;
	int prev_kv;
	int ignore_value, ignore_lease;
};
int etcd_put(struct etcd_client *c, const char *key, const void *val, size_t len, const struct etcd_put_opts *o,
             etcd_cb cb, void *arg, struct etcd_error *err);

struct etcd_delete_opts {
	int prefix;
	const char *range_end;
	int prev_kv;
};
int etcd_delete(struct etcd_client *c, const char *key, const struct etcd_delete_opts *o, etcd_cb cb, void *arg,
                struct etcd_error *err);

/* Compact the whole cluster's history up to rev (irreversible). */
int etcd_compact(struct etcd_client *c, int64_t rev, int physical, etcd_cb cb, void *arg, struct etcd_error *err);

/* ------------------------------------------------------------------------
 * Transactions. Build with etcd_txn_new, add compares and operations, then
 * etcd_txn_commit, which consumes the txn (also on failure). A txn with at
 * least one compare is "guarded": when its outcome is unknown the library
 * may send it again, since a second application would fail the compare.
 * Builder calls return 0, or -1 when out of memory (the txn remembers the
 * failure and commit reports it).
 */
enum etcd_cmp_target { ETCD_CMP_VERSION = 0, ETCD_CMP_CREATE, ETCD_CMP_MOD, ETCD_CMP_VALUE, ETCD_CMP_LEASE };
enum etcd_cmp_result { ETCD_CMP_EQUAL = 0, ETCD_CMP_GREATER, ETCD_CMP_LESS, ETCD_CMP_NOT_EQUAL };
enum etcd_txn_branch { ETCD_TXN_SUCCESS = 0, ETCD_TXN_FAILURE = 1 };

struct etcd_txn *etcd_txn_new(void);
void etcd_txn_free(struct etcd_txn *t);
/* Compare a revision-like field (version, create, mod, lease) with n. */
int etcd_txn_cmp(struct etcd_txn *t, const char *key, enum etcd_cmp_target target, enum etcd_cmp_result result,
                 int64_t n);
int etcd_txn_cmp_value(struct etcd_txn *t, const char *key, enum etcd_cmp_result result, const void *val, size_t len);
/* Same compare over every key of a prefix. */
int etcd_txn_cmp_prefix(struct etcd_txn *t, const char *prefix, enum etcd_cmp_target target,
                        enum etcd_cmp_result result, int64_t n);
int etcd_txn_put(struct etcd_txn *t, enum etcd_txn_branch b, const char *key, const void *val, size_t len,
                 int64_t lease);
int etcd_txn_delete(struct etcd_txn *t, enum etcd_txn_branch b, const char *key, int prefix);
int etcd_txn_get(struct etcd_txn *t, enum etcd_txn_branch b, const char *key, const struct etcd_range_opts *o);
/* Append inner as one operation of branch b: a nested txn (etcd >= 3.3),
 * judged by its own compares; consumes inner (also on failure). Its result
 * is one entry of responses[] with op ETCD_OP_TXN, its own succeeded and
 * responses. etcd refuses two nested txns that write the same key. A txn
 * without compares whose operations are all guarded nested txns is itself
 * guarded. */
int etcd_txn_txn(struct etcd_txn *t, enum etcd_txn_branch b, struct etcd_txn *inner);
size_t etcd_txn_ops(const struct etcd_txn *t); /* largest of compares/success/failure */
int etcd_txn_commit(struct etcd_client *c, struct etcd_txn *t, etcd_cb cb, void *arg, struct etcd_error *err);

/* ------------------------------------------------------------------------
 * Leases
 */
/* id 0 lets the server choose. Result: lease_id, ttl. */
int etcd_lease_grant(struct etcd_client *c, int64_t ttl, int64_t id, etcd_cb cb, void *arg, struct etcd_error *err);
int etcd_lease_revoke(struct etcd_client *c, int64_t id, etcd_cb cb, void *arg, struct etcd_error *err);
/* One keep-alive. Result ttl 0 (and ETCD_ENOLEASE) when the lease is gone. */
int etcd_lease_keepalive(struct etcd_client *c, int64_t id, etcd_cb cb, void *arg, struct etcd_error *err);
/* Result: ttl (-1 when unknown lease), granted_ttl, kvs holds the attached keys (keys only). */
int etcd_lease_ttl(struct etcd_client *c, int64_t id, int keys, etcd_cb cb, void *arg, struct etcd_error *err);

enum etcd_lease_state {
	ETCD_LEASE_ALIVE, /* a keep-alive succeeded again after a doubt */
	ETCD_LEASE_DOUBT, /* no keep-alive sent in the last 3/4 TTL succeeded: act as if lost */
	ETCD_LEASE_LOST   /* etcd says the lease no longer exists; the keeper stops */
};
typedef void (*etcd_lease_cb)(struct etcd_keeper *k, enum etcd_lease_state st, const struct etcd_error *err, void *arg);
/* Keep lease id (granted with ttl seconds, just now) alive with a
 * keep-alive every ttl/3, and call cb when its state changes. Free with etcd_keeper_stop
 * (safe inside cb); the lease itself is left to expire or be revoked. */
struct etcd_keeper *etcd_keeper_start(struct etcd_client *c, int64_t id, int64_t ttl, etcd_lease_cb cb, void *arg);
void etcd_keeper_stop(struct etcd_keeper *k);

/* ------------------------------------------------------------------------
 * Watches: one streaming HTTP request each. A watch survives disconnects
 * and endpoint failover by resuming from the last delivered revision + 1,
 * so no event is lost or delivered twice. It ends only when cancelled or on
 * a terminal error (ETCD_ECOMPACTED: re-list; ETCD_EPERM/EAUTH/EINVAL).
 */
enum etcd_event_type { ETCD_EVENT_PUT = 0, ETCD_EVENT_DELETE = 1 };

struct etcd_event {
	enum etcd_event_type type;
	struct etcd_kv kv;       /* on DELETE only key and mod_revision are set */
	struct etcd_kv *prev_kv; /* NULL unless prev_kv was asked and is known */
};

enum etcd_watch_kind {
	ETCD_WATCH_CREATED,  /* the server accepted the watch (first time and after each resume) */
	ETCD_WATCH_EVENTS,   /* events, in revision order */
	ETCD_WATCH_PROGRESS, /* no events; revision is a point every event before has been sent */
	ETCD_WATCH_RETRYING, /* err says why the stream broke; it will resume by itself */
	ETCD_WATCH_ERROR     /* terminal: err says why; the watch is stopped; cancel it to free */
};

struct etcd_watch_msg {
	enum etcd_watch_kind kind;
	int64_t revision;         /* header.revision (0 if absent) */
	int64_t compact_revision; /* for ETCD_ECOMPACTED */
	struct etcd_event *events;
	size_t nevents;
	const struct etcd_error *err;
};

typedef void (*etcd_watch_cb)(struct etcd_watch *w, const struct etcd_watch_msg *m, void *arg);

struct etcd_watch_opts {
	int prefix;
	const char *range_end;
	int64_t start_revision; /* 0: from when etcd registers the watch (CREATED), not from this call */
	int prev_kv;
	int progress_notify;
	int no_put, no_delete; /* filters */
};

/* Start a watch. Returns NULL and fills err on bad arguments. */
struct etcd_watch *etcd_watch_start(struct etcd_client *c, const char *key, const struct etcd_watch_opts *o,
                                    etcd_watch_cb cb, void *arg, struct etcd_error *err);
/* Stop and free (safe inside the watch's own callback). */
void etcd_watch_cancel(struct etcd_watch *w);
/* The revision the watch will resume from. */
int64_t etcd_watch_next_revision(const struct etcd_watch *w);

/* ------------------------------------------------------------------------
 * Maintenance and auth
 */
/* Result: version_str, leader_id, member_id, db_size, revision. */
int etcd_status(struct etcd_client *c, etcd_cb cb, void *arg, struct etcd_error *err);

/* Helpers shared with callers. */
/* The range end for prefix p (p with its last non-0xff byte incremented),
 * newly allocated; "\0"-keyed all-keys is returned as "" when p is empty. */
char *etcd_prefix_end(const char *p, size_t len, size_t *out_len);

#endif
