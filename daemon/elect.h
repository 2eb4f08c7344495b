/*
 * elect.h: run a component's work only while it leads. With --leader-elect
 * (the default for programs that elect) it campaigns on
 * P/leaders/COMPONENT/ (runtime/leader.c) and calls lead() when it wins and
 * follow() as soon as it must stop acting; on SIGTERM it resigns so that
 * the standby takes over at once. With --leader-elect=false it calls lead()
 * once the loop runs. Link libskiffruntime.a after libskiffdaemon.a.
 */
#ifndef SKIFF_ELECT_H
#define SKIFF_ELECT_H

#include <stdint.h>

struct skiff_daemon;
struct daemon_elect;

struct daemon_elect *daemon_elect(struct skiff_daemon *d, const char *component, void (*lead)(void *arg),
                                  void (*follow)(void *arg), void *arg);
int daemon_elect_leading(const struct daemon_elect *e);
/* Fencing for a leader's writes: add etcd_txn_cmp(t, *key, ETCD_CMP_CREATE,
 * ETCD_CMP_EQUAL, *rev) to a transaction so that it fails once this
 * process no longer holds the election. Returns 1 and fills key and rev
 * while leading an election, 0 when there is no election
 * (--leader-elect=false: nothing to add), -1 when not leading. */
int daemon_elect_fence(const struct daemon_elect *e, const char **key, int64_t *rev);
/* After daemon_run: frees (the lease, if any, was revoked by the stop hook). */
void daemon_elect_free(struct daemon_elect *e);

#endif
