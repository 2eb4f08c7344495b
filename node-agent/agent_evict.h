/*
 * agent_evict.h: emptyDir sizeLimit on the node's disk (agent_evict.c):
 * usage measured in a child, and the pods whose volume went over their
 * limit evicted as the kubelet evicts them.
 */
#ifndef SKIFF_AGENT_EVICT_H
#define SKIFF_AGENT_EVICT_H

#include "api/api.h"

#define EVICT_PERIOD 10.0 /* seconds between measurements, as the kubelet's eviction manager */

struct agent;

/* Measure every EVICT_PERIOD seconds from now on (idempotent). */
void evict_start(struct agent *a);
/* Stop measuring (a running du is killed) and forget every eviction. */
void evict_stop(struct agent *a);
/* Has pod been evicted from this node (this session, or as its status
 * written earlier says)? 1 with reason "Evicted", the container to name in
 * the event and the message (borrowed until the next call or evict_stop),
 * else 0. O(volumes), plus a parse of the pod's status once. */
int evict_reason(struct agent *a, const struct api_pod *pod, const char **reason, const char **cname, const char **msg);
/* The status value val (steals it) of pod, with phase Failed, reason
 * Evicted and the message when pod was evicted; new string, or NULL when
 * out of memory. */
char *evict_status(struct agent *a, const struct api_pod *pod, char *val);
/* Kubernetes' message for volume name over limit (its text as written). */
void evict_message(char *buf, size_t len, const char *name, const char *limit);

#endif
