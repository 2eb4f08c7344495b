/*
 * leader.h: leader election on an etcd lease, etcd's own recipe
 * (clientv3/concurrency): each candidate puts ELECTION/<lease id in hex>
 * on its lease; the key with the lowest create revision leads; the others
 * wait for the deletion of the key just before theirs.
 *
 * A leader stops acting (stopped callback) as soon as its lease is in
 * doubt: no keep-alive sent in the last 3/4 TTL succeeded. Since etcd
 * cannot expire the lease before a full TTL after the last successful
 * keep-alive was sent, the old leader has stopped before a new one can
 * start. Writes a leader makes may also be fenced with
 * etcd_txn_cmp(key, CREATE, EQUAL, leader_revision()).
 *
 * Any etcd user can keep any lease alive, so a lease alone does not prove
 * its holder lives. Every candidate rewrites its key every TTL/4 (a put
 * guarded by its create revision) and stops leading when that has not
 * succeeded for 3/4 TTL; a candidate waiting for a predecessor deletes the
 * predecessor's key (guarded by the mod revision it saw) when it has not
 * seen it change for TTL + 1 s on its own clock, then goes on as if it had
 * gone (stale callback). All candidates of one election should use the
 * same TTL. A version-1 candidate, which does not rewrite its key, is
 * pushed to the back of the line after TTL + 1 s.
 */
#ifndef SKIFF_LEADER_H
#define SKIFF_LEADER_H

#include <stdint.h>

#include "etcd.h"

struct leader;

struct leader_callbacks {
	void (*started)(struct leader *l, void *arg); /* now the leader: start acting */
	void (*stopped)(struct leader *l, void *arg); /* no longer the leader: stop at once */
	void (*error)(struct leader *l, const struct etcd_error *err, void *arg); /* for logs; it retries */
	/* The predecessor's key (borrowed) was unchanged for age seconds and has
	 * been deleted; for a warning in the logs. May be NULL. */
	void (*stale)(struct leader *l, const char *key, double age, void *arg);
};

/* election is a key prefix without the trailing '/', e.g. "/skiff/leaders/scheduler".
 * identity is stored as the value (e.g. "host-1234"). ttl in seconds (>= 2). */
struct leader *leader_new(struct etcd_client *c, const char *election, const char *identity, int64_t ttl,
                          const struct leader_callbacks *cb, void *arg);
void leader_start(struct leader *l);
int leader_is_leader(const struct leader *l);
const char *leader_key(const struct leader *l);  /* NULL before campaigning */
int64_t leader_revision(const struct leader *l); /* create revision of leader_key */
/* Step down: stop acting, delete the key, revoke the lease; done runs once
 * (also on failure: the lease then expires by itself). */
void leader_resign(struct leader *l, void (*done)(void *arg), void *arg);
/* Frees without resigning (the lease expires by itself). */
void leader_free(struct leader *l);

#endif
