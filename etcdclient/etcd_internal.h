/*
 * etcd_internal.h: what the files of etcdclient/ share and nobody else sees.
 *
 * Layers, bottom up: the HTTP transport (transport/tp.h: every libcurl
 * call), etcd_http.c (a request of the client on it), etcd_req.c (a unary call: send,
 * classify the answer, fail over, re-authenticate, complete exactly once),
 * etcd_json.c (wire encoding: base64 keys, int64 strings, result parsing),
 * and the services on top (etcd_kv.c, etcd_txn.c, etcd_lease.c,
 * etcd_watch.c, etcd_auth.c).
 */
#ifndef SKIFF_ETCD_INTERNAL_H
#define SKIFF_ETCD_INTERNAL_H

#include <ev.h>
#include <jansson.h>
#include <stdarg.h>

#include "etcd.h"
#include "tp.h"

#define ETCD_CONTAINER_OF(p, type, member) ((type *)((char *)(p)-offsetof(type, member)))

/* Fill err (code and printf-style message). Returns -1 for convenience. */
int etcd_seterr(struct etcd_error *err, enum etcd_code code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* ---- etcd_http.c: the client's requests on the HTTP transport ---- */
/* One POST: body and token are copied. stream: a watch (no total timeout,
 * TCP keep-alive, its own connection); else timeout_ms bounds it. */
struct etcd_post {
	const char *url;
	const char *body;
	size_t len;
	long timeout_ms;
	int stream;
	const char *token;
	tp_line_fn on_line; /* streams: one JSON message per line */
	tp_done_fn done;
	void *arg;
};

int etcd_http_init(struct etcd_client *c, struct etcd_error *err);
void etcd_http_cleanup(struct etcd_client *c);
/* Start p; the transfer, or NULL with err. */
struct tp_xfer *etcd_http_post(struct etcd_client *c, const struct etcd_post *p, struct etcd_error *err);

/* ---- etcd_auth.c ---- */
struct etcd_auth_waiter {
	void (*ready)(struct etcd_auth_waiter *w, const struct etcd_error *err);
	struct etcd_auth_waiter *next;
	int waiting;
};
/* Returns 1 when the caller may send now (token known or auth off), 0 when
 * w was queued and w->ready will run once authentication ends. */
int etcd_auth_ready(struct etcd_client *c, struct etcd_auth_waiter *w);
/* Forget the token if it is still tok (the server rejected it). */
void etcd_auth_invalidate(struct etcd_client *c, const char *tok);
void etcd_auth_unqueue(struct etcd_client *c, struct etcd_auth_waiter *w);
void etcd_auth_cancel_all(struct etcd_client *c);
/* Is this server error one that a fresh token cures? */
int etcd_auth_token_error(int grpc_code, const char *msg);

/* ---- etcd_req.c: unary calls ---- */
struct etcd_req;
/* Parse a 200 answer into res. Return 0 done, 1 to send r->body again (paging), -1 bad response (err set in res). */
typedef int (*etcd_parse_fn)(struct etcd_req *r, json_t *root, struct etcd_result *res);

enum etcd_req_flags {
	ETCD_REQ_SAFE = 1,    /* may be sent again when the outcome is unknown (reads, guarded txns) */
	ETCD_REQ_NO_AUTH = 2, /* authenticate itself */
	ETCD_REQ_STREAM = 4   /* answer is {"result":…} lines (lease keepalive) */
};

struct etcd_req {
	struct tp_xfer *x; /* the running transfer, NULL between attempts */
	struct etcd_auth_waiter aw;
	struct etcd_client *c;
	const char *path;
	char *body;
	size_t body_len;
	const char *resp; /* the answer's body, borrowed while it is read */
	size_t resp_len;
	int flags;
	int attempts;
	int ep; /* endpoint index of the current attempt */
	double started;
	long timeout_ms; /* per attempt; 0 = client default */
	ev_timer backoff;
	etcd_parse_fn parse;
	void *ctx; /* owned by the service that built the request */
	void (*ctx_free)(void *ctx);
	/* After parse asked for another page (returned 1) and that page's
	 * request went out: hand the caller what the service kept of the page
	 * just read. Must not touch the request (or ctx) after calling back:
	 * the caller may cancel everything there. */
	void (*page_out)(void *ctx);
	struct etcd_result *res;
	etcd_cb cb;
	void *arg;
	char *token_used;
	struct etcd_req *next, *prev;
};

/* Make a request for path with a JSON body (stolen: freed by the request).
 * Returns NULL with err filled. */
struct etcd_req *etcd_req_new(struct etcd_client *c, const char *path, json_t *body, int flags, etcd_parse_fn parse,
                              etcd_cb cb, void *arg, struct etcd_error *err);
/* The same with a body already encoded (stolen: freed by the request,
 * also on failure). */
struct etcd_req *etcd_req_new_text(struct etcd_client *c, const char *path, char *body, size_t len, int flags,
                                   etcd_parse_fn parse, etcd_cb cb, void *arg, struct etcd_error *err);
/* Queue r (it will call back exactly once). Returns 0, or -1 with err and r freed. */
int etcd_req_submit(struct etcd_req *r, struct etcd_error *err);
/* Replace the body (for paging). Steals body. */
int etcd_req_set_body(struct etcd_req *r, json_t *body);
void etcd_req_cancel_all(struct etcd_client *c);

/* ---- etcd_json.c ---- */
char *etcd_b64_encode(const void *p, size_t n); /* new string */
/* Encode into out, which has room for (n + 2) / 3 * 4 + 1 bytes; the length
 * written (a NUL follows). */
size_t etcd_b64_encode_to(char *out, const void *p, size_t n);
int etcd_b64_decode(const char *s, size_t slen, char **out, size_t *outlen); /* 0/-1; *out new, NUL-terminated */
json_t *etcd_json_b64(const void *p, size_t n);                              /* new json string */
json_t *etcd_json_i64(int64_t v);                                            /* new json string "v" */
/* Read an int64 field (string or number; absent = 0). 0 ok, -1 wrong type. */
int etcd_json_get_i64(json_t *obj, const char *name, int64_t *out);
int etcd_json_get_u64(json_t *obj, const char *name, uint64_t *out);
int etcd_json_get_bool(json_t *obj, const char *name, int *out);
/* Bytes field (base64): *out new (NUL-terminated) or NULL when absent. */
int etcd_json_get_bytes(json_t *obj, const char *name, char **out, size_t *len);
int etcd_parse_header(json_t *root, struct etcd_result *res);
int etcd_parse_kv(json_t *o, struct etcd_kv *kv);
int etcd_parse_kvs(json_t *arr, struct etcd_kv **out, size_t *n);
void etcd_kv_clear(struct etcd_kv *kv);
/* Parse the body of a gRPC error into code/message. Returns 0 if body is an error body. */
int etcd_parse_error_body(json_t *root, int *grpc_code, const char **msg);
/* Map a gRPC code and message to a code. */
enum etcd_code etcd_classify(int grpc_code, const char *msg);
void etcd_result_clear(struct etcd_result *res);
/* A new, empty top-level result (freed with etcd_result_free). */
struct etcd_result *etcd_result_new(void);
/* Response parsers shared by several services. */
int etcd_parse_range_resp(json_t *o, struct etcd_result *res);
int etcd_parse_put_resp(json_t *o, struct etcd_result *res);
int etcd_parse_delete_resp(json_t *o, struct etcd_result *res);
int etcd_parse_txn_resp(json_t *o, struct etcd_result *res);
/* One event of a watch response into ev: 0, or -1 (ev left empty) when o
 * is not an event or memory ran out. */
int etcd_parse_event(json_t *o, struct etcd_event *ev);
/* Free n events and the array. */
void etcd_events_free(struct etcd_event *ev, size_t n);
json_t *etcd_range_body(const char *key, size_t klen, const struct etcd_range_opts *o);
/* The body etcd_txn_commit sends for t (new string, *len its length), or
 * NULL when a builder call failed or memory ran out. O(size of t). */
char *etcd_txn_text(struct etcd_txn *t, size_t *len);

/* ---- the client ---- */
struct etcd_endpoint {
	char *url;
	int tls;
};

struct etcd_client {
	struct ev_loop *loop;
	struct tp *tp; /* the HTTP transport on loop */

	struct etcd_endpoint *eps;
	int neps, cur;
	char *cacert, *cert, *key;
	char *user, *password;
	char *token;
	int auth_off; /* user given but the server has auth disabled */
	int authenticating;
	struct etcd_auth_waiter *auth_waiters;
	long timeout_ms, connect_timeout_ms, retry_budget_ms;
	size_t max_response;

	struct etcd_stats stats;
	struct etcd_req *reqs;
	struct etcd_watch *watches;
	struct etcd_keeper *keepers;
	int freeing;
	int nospace; /* a call ended in ETCD_ENOSPACE; cleared by the owner */
	void (*nospace_fn)(void *arg);
	void *nospace_arg;
};

/* Move the preferred endpoint past ep (if it still is ep). */
void etcd_client_failover(struct etcd_client *c, int ep);
/* Backoff (seconds) before attempt n (0-based) after full sweeps. */
double etcd_backoff(int sweep, double base, double cap);
void etcd_watch_free_all(struct etcd_client *c);
void etcd_keeper_free_all(struct etcd_client *c);

#endif
