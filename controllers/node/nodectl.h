/*
 * nodectl.h: skiff-node-controller's private header. A node is Ready
 * exactly while P/nodeleases/NODE exists. When that key has been gone for
 * --eviction-timeout, the controller deletes the node's bindings and pod
 * status keys (so the scheduler places those pods again), at most
 * --eviction-rate nodes per second, and not at all while every node has
 * lost its lease at once (a control-plane or etcd problem, not the nodes).
 */
#ifndef SKIFF_NODECTL_H
#define SKIFF_NODECTL_H

#include <uthash.h>

#include "api.h"
#include "controller.h"
#include "daemon.h"
#include "events.h"
#include "informer.h"

struct nc_node {
	char *name;
	int has_node, has_lease;
	double gone_since; /* ev_now() when the lease was first seen absent */
	int reported;      /* NodeNotReady reported for this outage */
	int evicting;      /* granted by the rate limiter for this outage */
	int inflight;      /* deletes in flight */
	int deleted;       /* keys deleted in this outage */
	UT_hash_handle hh;
};

struct nodectl {
	struct skiff_daemon *d;
	const char *prefix;
	struct informer *nodes, *leases, *bindings, *podstatus;
	struct controller *ctl; /* informers, leadership, resync, stop (runtime/controller.h) */
	struct recorder *rec;
	struct nc_node *table;
	int full_disruption;
	int inflight;   /* deletes in flight, all nodes */
	double timeout; /* seconds */
	double rate;    /* nodes per second */
	double tokens, refilled;
	ev_timer tick;
	struct metric *m_evicted_nodes, *m_deletes;
};

/* nodectl_evict.c */
/* Called from the tick timer and at each resync while ready (leading,
 * synced): reports, rate-limits and sweeps. */
void nc_check(struct nodectl *nc);
/* Number of nodes known / Ready. */
void nc_count(const struct nodectl *nc, int *total, int *ready);
/* A delete finished (a stop waits for the last). */
void nc_delete_ended(struct nodectl *nc);

#endif
