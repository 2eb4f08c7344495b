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
/* Current store revision (a get of a missing key); -1 on error. */
int64_t tu_revision(struct etcd_sync *s);

/* Capture of one asynchronous call: calls counts callbacks, res is taken
 * (free with tu_call_reset or etcd_result_free). */
struct tu_call {
	int calls;
	struct etcd_result *res;
};
void tu_call_cb(struct etcd_result *res, void *arg);
int tu_call_done(void *arg);     /* cond for th_wait: calls > 0 */
void tu_call_reset(struct tu_call *c);

/* Assertions for the suites (need <check.h> included first). */
#define TU_OK(r)                                                                   \
	ck_assert_msg((r) && (r)->err.code == ETCD_OK, "expected ok, got %s",          \
	              (r) ? tu_err(&(r)->err) : "NULL result")
#define TU_CODE(r, c)                                                              \
	ck_assert_msg((r) && (r)->err.code == (c), "expected %s, got %s",              \
	              etcd_code_name(c), (r) ? tu_err(&(r)->err) : "NULL result")
#define TU_FREE(r)                                                                 \
	do {                                                                       \
		if (r)                                                             \
			etcd_result_free(r);                                       \
		(r) = NULL;                                                        \
	} while (0)

/* A free loopback port nobody listens on (bound, then closed). */
int tu_closed_port(void);

#endif
