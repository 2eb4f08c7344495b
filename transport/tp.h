/*
 * tp.h: Skiff's HTTP transport. Every libcurl transfer of the daemons runs
 * here, on the caller's libev loop, through curl's multi-socket API (the
 * shape of curl's evhiperfifo.c). The etcd client (etcdclient/) and the
 * agent's Docker client (node-agent/agent_docker.c) are its users.
 *
 * A transfer started with tp_start ends in exactly one call of its done
 * callback, outside any curl callback and never before tp_start returned,
 * unless tp_abort stopped it first: then there is no callback at all. The
 * body is collected whole or split into lines, both bounded. It knows
 * nothing of what it carries: no retries, no JSON, no logging.
 */
#ifndef SKIFF_TP_H
#define SKIFF_TP_H

#include <curl/curl.h> /* CURLcode, for telling transport failures apart */
#include <ev.h>
#include <stddef.h>

#define TP_MAX_BODY ((size_t)64 << 20) /* default bound on a body or a line */

struct tp;      /* one per user and loop: the multi handle and its watchers */
struct tp_xfer; /* a running transfer; owned by the transport */

/* What a transfer ended with; borrowed for the done callback. */
struct tp_result {
	CURLcode rc;      /* CURLE_OK when a whole response came (any HTTP status), or
	                   * on_line asked to stop; CURLE_FILESIZE_EXCEEDED when the
	                   * body or one line passed max_body; else curl's error */
	long status;      /* HTTP status, 0 when none came */
	int sent;         /* request bytes went out: the server may have acted */
	const char *err;  /* "" when rc is CURLE_OK, else a message for a person */
	const char *body; /* the whole body, NUL-terminated; "" for line streams */
	size_t len;
};

/* Called once when a transfer ends. The tp_xfer is gone already: the
 * callback may start transfers (the same owner may start its next one) and
 * free arg. */
typedef void (*tp_done_fn)(void *arg, const struct tp_result *res);
/* One non-empty line of the body, without its '\n'. Runs inside curl; it
 * may start transfers and abort any (its own included). Return non-zero
 * to end the transfer (reported as CURLE_OK). */
typedef int (*tp_line_fn)(void *arg, const char *line, size_t len);

struct tp_opts {
	const char *url;
	const char *method; /* NULL: POST when body is set, else GET */
	const void *body;   /* copied; len bytes */
	size_t len;
	const char *const *headers; /* "Name: value" each, NULL-terminated; copied */
	const char *unix_socket;    /* connect here instead of the URL's host */
	const char *cacert;         /* TLS: CA bundle, client certificate and key files */
	const char *cert;
	const char *key;
	long connect_timeout_ms; /* 0: curl's default */
	long timeout_ms;         /* the whole transfer; 0: none */
	long idle_s;             /* end when under 1 byte/s for this long; 0: never */
	long keepalive_s;        /* TCP keep-alive probes after this idle time; 0: off */
	int own_connection;      /* closed after, never handed to another transfer */
	size_t max_body;         /* bound on the body, or on one line; 0: TP_MAX_BODY */
	tp_line_fn on_line;      /* non-NULL: hand the body out as lines */
	tp_done_fn done;         /* required */
	void *arg;
	int insecure; /* TLS: accept any server certificate (the agent's HTTPS probes, as the kubelet's) */
	int raw;      /* with on_line: hand out each chunk of the body as it came (binary, no
	               * splitting, nothing kept), e.g. Docker's multiplexed log stream */
};

/* A transport on loop. NULL when curl cannot start (out of memory). */
struct tp *tp_new(struct ev_loop *loop);
/* Drop every transfer still running, without callbacks, and free t. Not
 * from inside a callback of t. */
void tp_free(struct tp *t);
/* Free the idle transfers kept for reuse with their curl handles (each
 * holds curl's 16 kB receive buffer and its own state, about 32 kB): for a
 * daemon gone idle after a burst. Connections stay in curl's cache. Not
 * from inside curl (a no-op there). */
void tp_trim(struct tp *t);

/* Start the transfer o describes (o and what it points to are copied).
 * Returns the transfer, valid until its done callback starts or tp_abort;
 * NULL when out of memory or curl refuses it. Started inside a curl
 * callback, it is added to curl from a zero timer. Never calls back. */
struct tp_xfer *tp_start(struct tp *t, const struct tp_opts *o);
/* Let curl start what was added since it last ran (tp_start only adds:
 * the request goes out on the next loop turn), now: for a caller about to
 * work a while before it returns to the loop. Completions are reported on
 * the next loop turn, as always. A no-op inside curl. */
void tp_kick(struct tp *t);
/* Stop x without a callback; from then on nothing of its owner is touched,
 * so arg may be freed at once. Safe anywhere, inside x's own on_line too;
 * NULL is fine. Not after x's done callback started (x is gone). */
void tp_abort(struct tp_xfer *x);

/* URL-escape s (RFC 3986: all but letters, digits and -._~) into buf.
 * Returns buf, "" when it does not fit. */
const char *tp_escape(const char *s, char *buf, size_t len);

#endif
