/*
 * liveness.h: is a node Ready? The heartbeat judge shared by the node
 * controller and the scheduler (runtime/liveness.c).
 *
 * A node is Ready while its P/nodeleases/NODE key exists and the key's
 * mod_revision changed within leaseDurationSeconds (+1 s slack) on the
 * judge's own clock (the caller's ev_now): an etcd lease that someone else
 * keeps alive keeps the key, but not its renewals. When the judge first
 * sees a key (its start, or a new key) the key counts as just changed. A
 * value without spec.renewTime (an agent of version 1) is judged by the
 * key's existence alone, as in version 1.
 *
 * Pure: the caller embeds one struct liveness_beat per node and passes
 * "now" in; nothing here allocates, logs or reads a clock.
 */
#ifndef SKIFF_LIVENESS_H
#define SKIFF_LIVENESS_H

#include <stddef.h>
#include <stdint.h>

#define LIVENESS_DEFAULT_DURATION 10.0 /* seconds, when the value does not say */
#define LIVENESS_SLACK 1.0

struct liveness_beat {
	int present;     /* the lease key exists */
	int heartbeat;   /* its value has spec.renewTime: judged by changes */
	int64_t rev;     /* its mod_revision when last seen */
	double changed;  /* now when rev last changed (or was first seen) */
	double duration; /* spec.leaseDurationSeconds, else the default */
};

/* The lease key was listed or written: value (len bytes, any content; a
 * value that is not JSON counts as version 1) at mod_rev, seen at now.
 * O(len). */
void liveness_observe(struct liveness_beat *b, const char *value, size_t len, int64_t mod_rev, double now);
/* The lease key was deleted (or expired). */
void liveness_lost(struct liveness_beat *b);
/* 1 when the node is Ready at now. */
int liveness_ready(const struct liveness_beat *b, double now);
/* When a Ready node stops being Ready unless the key changes again: an
 * absolute time on the caller's clock; a large value (1e300) for a key
 * judged by existence; undefined when the key is absent. */
double liveness_expires(const struct liveness_beat *b);

#endif
