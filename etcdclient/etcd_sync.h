/*
 * etcd_sync.h: a blocking wrapper over etcd.h for command-line tools and
 * tests. Each etcd_sync owns a private libev loop and runs it until the one
 * call finishes. Do not use inside a daemon's event loop.
 *
 * Every call returns a new result (free with etcd_result_free) whose
 * err.code tells success; NULL only when memory ran out.
 */
#ifndef SKIFF_ETCD_SYNC_H
#define SKIFF_ETCD_SYNC_H

#include "etcd.h"

struct etcd_sync;

struct etcd_sync *etcd_sync_new(const struct etcd_config *cfg, struct etcd_error *err);
void etcd_sync_free(struct etcd_sync *s);
/* The underlying asynchronous client (borrowed), for watches and keepers
 * driven with etcd_sync_run. */
struct etcd_client *etcd_sync_client(struct etcd_sync *s);
/* Run the private loop until *done becomes non-zero or timeout_ms passes.
 * Returns 0 when done, -1 on timeout. */
int etcd_sync_run(struct etcd_sync *s, const int *done, long timeout_ms);

struct etcd_result *etcd_sync_range(struct etcd_sync *s, const char *key, const struct etcd_range_opts *o);
struct etcd_result *etcd_sync_get(struct etcd_sync *s, const char *key);
struct etcd_result *etcd_sync_put(struct etcd_sync *s, const char *key, const void *val, size_t len,
                                  const struct etcd_put_opts *o);
struct etcd_result *etcd_sync_delete(struct etcd_sync *s, const char *key, const struct etcd_delete_opts *o);
/* Consumes t. */
struct etcd_result *etcd_sync_txn(struct etcd_sync *s, struct etcd_txn *t);
struct etcd_result *etcd_sync_compact(struct etcd_sync *s, int64_t rev, int physical);
struct etcd_result *etcd_sync_lease_grant(struct etcd_sync *s, int64_t ttl, int64_t id);
struct etcd_result *etcd_sync_lease_revoke(struct etcd_sync *s, int64_t id);
struct etcd_result *etcd_sync_lease_keepalive(struct etcd_sync *s, int64_t id);
struct etcd_result *etcd_sync_lease_ttl(struct etcd_sync *s, int64_t id, int keys);
struct etcd_result *etcd_sync_status(struct etcd_sync *s);

#endif
