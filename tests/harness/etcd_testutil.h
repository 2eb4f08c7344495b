/*
 * etcd_testutil.h: small helpers the etcd client suites share: a client
 * configuration for a harness cluster, error formatting, and a capture for
 * asynchronous results. They use the client library (link it) but do not
 * assert: the suites do.
 */
#ifndef SKIFF_TESTS_ETCD_TESTUTIL_H
#define SKIFF_TESTS_ETCD_TESTUTIL_H

#include <stdint.h>

#include "etcd.h"
#include "etcd_sync.h"

struct th_etcd;

/* Fill cfg (zeroed first) with e's endpoints and, for TLS clusters, its CA
 * and client certificate. Short timeouts suited to tests. */
void tu_config(const struct th_etcd *e, struct etcd_config *cfg);
/* "code=compacted http=400 grpc=11 ep=… msg=…" in a static buffer. */
const char *tu_err(const struct etcd_error *err);
/* Put a string value with the sync client; returns the revision or -1. */
int64_t tu_put(struct etcd_sync *s, const char *key, const char *val);
/* Put PREFIX/bindings/NODE/POD as the scheduler writes it (a minimal copy
 * of the pod, with uid as its metadata.uid); the revision or -1. */
int64_t tu_put_binding(struct etcd_sync *s, const char *prefix, const char *node, const char *pod, int64_t uid);
/* Current store revision (a get of a missing key); -1 on error. */
int64_t tu_revision(struct etcd_sync *s);

/* Capture of one asynchronous call: calls counts callbacks, res is taken
 * (free with tu_call_reset or etcd_result_free). */
struct tu_call {
	int calls;
	struct etcd_result *res;
};
void tu_call_cb(struct etcd_result *res, void *arg);
int tu_call_done(void *arg); /* cond for th_wait: calls > 0 */
void tu_call_reset(struct tu_call *c);

/* A watch log: tu_wlog_cb copies every message it gets. */
struct tu_wev {
	enum etcd_event_type type;
	char *key, *value;
	size_t value_len;
	int64_t mod_revision, create_revision, version;
	int has_prev;
	char *prev_value;
};
struct tu_wlog {
	struct tu_wev *ev;
	size_t n, cap;
	int calls, created, progress, retrying, errors;
	enum etcd_code last_err;  /* of the last RETRYING or ERROR */
	int64_t compact_revision; /* of the last ERROR */
	int64_t last_rev;
	int out_of_order;    /* events whose mod_revision did not increase */
	int cancel_on_error; /* cancel the watch inside the ERROR callback */
	int cancel_after;    /* > 0: cancel inside the callback once n >= this */
	int canceled;
	int calls_after_cancel;
	int events_with_revision_0;
};
void tu_wlog_cb(struct etcd_watch *w, const struct etcd_watch_msg *m, void *arg);
void tu_wlog_free(struct tu_wlog *l);
int tu_wlog_created(void *arg); /* conds for th_wait */
int tu_wlog_errored(void *arg);
int tu_wlog_retrying(void *arg);
/* The cond of th_wait for "n events" takes this. */
struct tu_wcount {
	struct tu_wlog *l;
	size_t n;
};
int tu_wlog_has(void *arg);

/* A writer that creates PREFIX%05d = "v%d" for i in [0, n) one after the
 * other on c's loop, each with a create-if-absent txn (so a retry can never
 * apply twice), retrying every 50 ms after any error until stopped. */
struct tu_writer;
struct tu_writer *tu_writer_start(struct etcd_client *c, const char *prefix, int n);
int tu_writer_written(const struct tu_writer *w);
int tu_writer_errors(const struct tu_writer *w);
int tu_writer_done(void *arg); /* cond: all n written */
struct tu_writer_at {
	struct tu_writer *w;
	int n;
};
int tu_writer_reached(void *arg); /* cond: written >= n */
void tu_writer_free(struct tu_writer *w);

/* Assertions for the suites (need <check.h> included first). */
#define TU_OK(r) \
	ck_assert_msg((r) && (r)->err.code == ETCD_OK, "expected ok, got %s", (r) ? tu_err(&(r)->err) : "NULL result")
#define TU_CODE(r, c)                                                                        \
	ck_assert_msg((r) && (r)->err.code == (c), "expected %s, got %s", etcd_code_name(c), \
	              (r) ? tu_err(&(r)->err) : "NULL result")
#define TU_FREE(r)                           \
	do {                                 \
		if (r)                       \
			etcd_result_free(r); \
		(r) = NULL;                  \
	} while (0)

/* How many keys start with prefix, as s sees them; -1 when the read
 * fails (refused, say). */
long tu_count(struct etcd_sync *s, const char *prefix);

/* A free loopback port nobody listens on (bound, then closed). */
int tu_closed_port(void);
/* HTTP status of HEAD /healthz on 127.0.0.1:port (0: no answer in 3 s). */
long tu_healthz(int port);
/* A synchronous client whose one endpoint is such a port (every connection
 * refused), with these timeouts; NULL on failure. */
struct etcd_sync *tu_refused_sync(long request_timeout_ms, long retry_budget_ms);

#endif
