/*
 * nodectl.h: skiff-node-controller's private header. Four jobs, each in
 * its own file, all driven by one tick while this process leads:
 *
 *  - liveness (nodectl_evict.c): a node is Ready while runtime/liveness.h
 *    says so (its P/nodeleases/NODE key keeps changing on our clock; a
 *    version-1 key without renewTime by existence). When a node has not
 *    been Ready for --eviction-timeout, delete its bindings and pod status
 *    keys (so the scheduler places those pods again), at most
 *    --eviction-rate nodes per second, and not at all while every node is
 *    not Ready at once (a control-plane or etcd problem, not the nodes);
 *  - registration (nodectl_register.c): create P/nodes/NODE from
 *    P/nodestatus/NODE when absent, without node-restriction labels;
 *  - subnets (nodectl_subnet.c): judge every P/network/subnets/ claim
 *    (api/api_subnets.h), report the invalid ones, and allocate a subnet
 *    to each registered node that has none;
 *  - the informers and the node table (nodectl_watch.c).
 */
#ifndef SKIFF_NODECTL_H
#define SKIFF_NODECTL_H

#include <uthash.h>

#include "api.h"
#include "api_subnets.h"
#include "controller.h"
#include "daemon.h"
#include "events.h"
#include "informer.h"
#include "liveness.h"

#define NC_RESTRICTED_PREFIX "node-restriction.skiff.io/"

struct nc_node {
	char *name;
	int has_node, has_status, has_subnet;
	struct liveness_beat beat; /* P/nodeleases/NODE */
	double gone_since;         /* ev_now() when the lease was last seen absent (or first heard of) */
	int reported;              /* NodeNotReady reported for this outage */
	int evicting;              /* granted by the rate limiter for this outage */
	int inflight;              /* deletes in flight */
	int deleted;               /* keys deleted in this outage */
	int registering;           /* create of P/nodes/NODE in flight */
	int allocating;            /* subnet create in flight */
	int64_t reg_judged;        /* P/nodestatus/NODE mod revision last refused for registration */
	int64_t hostip_judged;     /* P/nodestatus/NODE mod revision last refused a subnet */
	int64_t subnet_judged;     /* P/network/subnets/NODE mod revision last reported invalid */
	UT_hash_handle hh;
};

struct nodectl {
	struct skiff_daemon *d;
	const char *prefix;
	struct informer *nodes, *leases, *bindings, *podstatus, *nodestatus, *network;
	struct controller *ctl; /* informers, leadership, resync, stop (runtime/controller.h) */
	struct recorder *rec;
	struct nc_node *table;
	int full_disruption;
	int inflight;   /* writes in flight, all nodes */
	double timeout; /* seconds */
	double rate;    /* nodes per second */
	double tokens, refilled;
	int subnets_dirty;     /* P/network/ or a status changed since the last judging */
	int64_t net_wait_rev;  /* allocate again once the network informer has seen this revision */
	int64_t config_judged; /* P/network/config mod revision last reported invalid */
	ev_timer tick;
	struct metric *m_evicted_nodes, *m_deletes, *m_registered, *m_subnets;
};

extern struct nodectl NC;

/* nodectl_watch.c */
extern const struct controller_watch nc_watches[];
/* The entry of name (created when create), NULL when absent or out of memory. */
struct nc_node *nc_node_get(struct nodectl *nc, const char *name, int create);
/* Forget n once nothing refers to it. */
void nc_node_gc(struct nodectl *nc, struct nc_node *n);
void nc_free_table(struct nodectl *nc);

/* nodectl_evict.c */
/* Called from the tick timer and at each resync while ready (leading,
 * synced): registers, judges subnets, reports, rate-limits and sweeps. */
void nc_check(struct nodectl *nc);
/* Number of nodes known / Ready at now. */
void nc_count(const struct nodectl *nc, double now, int *total, int *ready);
/* A write finished (a stop waits for the last). */
void nc_write_ended(struct nodectl *nc);
/* 1 when n is a node (a node key, a lease or a status), not just a subnet key. */
int nc_known(const struct nc_node *n);

/* nodectl_register.c */
/* Create P/nodes/NODE for every node with a status and no node key. */
void nc_register(struct nodectl *nc);

/* nodectl_subnet.c */
/* Report invalid subnet claims (once per key revision) and allocate one
 * to every registered node without a claim. */
void nc_subnets(struct nodectl *nc);

#endif
