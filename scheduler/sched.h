/*
 * sched.h: skiff-scheduler's private header. Two tiers:
 *
 *  - pure logic (sched_filter.c, sched_score.c): a node seen as numbers
 *    (struct sched_nodeview) and a pod's needs (struct sched_podreq); no
 *    etcd, no globals, unit-tested on their own;
 *  - the daemon (sched_cache.c bookkeeping, sched_watch.c informers,
 *    sched_bind.c scheduling passes and binding transactions, main.c) on
 *    one libev loop, sharing the one struct sched S.
 */
#ifndef SKIFF_SCHED_H
#define SKIFF_SCHED_H

#include <ev.h>
#include <stddef.h>
#include <stdint.h>
#include <uthash.h>

#include "api.h"
#include "controller.h"
#include "daemon.h"
#include "events.h"
#include "informer.h"
#include "liveness.h"
#include "workqueue.h"

#define SCHED_UNLIMITED (-1) /* a capacity the node does not state */

/* a + b, held at INT64_MAX / INT64_MIN instead of overflowing: requests
 * of exabytes are valid quantities, and a node they fill looks full. */
static inline int64_t
sched_add_sat(int64_t a, int64_t b)
{
	int64_t r;

	if (__builtin_add_overflow(a, b, &r))
		return b > 0 ? INT64_MAX : INT64_MIN;
	return r;
}

/* ---- pure logic ---- */

struct sched_hostport {
	int port;
	int proto; /* enum api_protocol */
};

struct sched_portuse {
	int port, proto, count;
};

/* What a pod asks for. Everything borrowed. */
struct sched_podreq {
	int64_t cpu, mem; /* milli-cpu, bytes */
	const struct sched_hostport *ports;
	size_t nports;
	const struct api_labels *selector; /* spec.nodeSelector */
	const char *owner;                 /* non-NULL when the pod has spread keys */
	int privileged;                    /* a privileged container, hostPID, hostIPC or hostNetwork */
	const struct api_volume *volumes;  /* spec.volumes (hostPath ones are judged) */
	size_t nvolumes;
};

/* A node as the filters and scores see it. */
struct sched_nodeview {
	const char *name;
	int ready, unschedulable;
	int disk_pressure; /* the agent's status says DiskPressure True */
	const struct api_labels *labels;
	int64_t cap_cpu, cap_mem, cap_pods; /* SCHED_UNLIMITED when not stated */
	int64_t used_cpu, used_mem, used_pods;
	const struct sched_portuse *ports; /* host ports taken */
	size_t nports;
	int same_owner; /* most pods there sharing a spread key with the pod */
	/* what the node's agent allows (its P/nodestatus/NODE), NULL when it
	 * publishes nothing (an older agent): then nothing is filtered on it */
	const struct api_node_status *policy;
};

/* Why a node does not fit (bits; a node may fail several). */
enum {
	SF_NOT_READY = 1u << 0,
	SF_UNSCHEDULABLE = 1u << 1,
	SF_SELECTOR = 1u << 2,
	SF_CPU = 1u << 3,
	SF_MEMORY = 1u << 4,
	SF_PODS = 1u << 5,
	SF_PORTS = 1u << 6,
	SF_PRIVILEGED = 1u << 7,     /* the node's agent runs without --allow-privileged */
	SF_HOST_PATH = 1u << 8,      /* a hostPath outside the node's --allow-host-path */
	SF_PORT_RANGE = 1u << 9,     /* a hostPort outside the node's --host-port-range */
	SF_DISK_PRESSURE = 1u << 10, /* the agent reports DiskPressure */
};
#define SF_COUNT 11

/* 0 when pod fits on n, else the SF_* bits of every failing filter. O(ports). */
unsigned sched_filter(const struct sched_nodeview *n, const struct sched_podreq *p);
/* The bits of sched_filter that node status st (NULL: publishes nothing)
 * forbids: SF_PRIVILEGED, SF_HOST_PATH, SF_PORT_RANGE, what the node's
 * agent would refuse (agent_plan.c) if the pod got there. O(volumes × paths + ports). */
unsigned sched_filter_policy(const struct api_node_status *st, const struct sched_podreq *p);
/* Kubernetes' summary, e.g. "0/3 nodes are available: 2 Insufficient
 * memory, 1 node(s) didn't match node selector." from the per-reason node
 * counts (index = bit number). snprintf-style. */
size_t sched_filter_summary(const unsigned counts[SF_COUNT], size_t nnodes, char *buf, size_t len);
/* Text of one reason bit ("Insufficient cpu"). Static. */
const char *sched_filter_reason(unsigned bit);

/* Scores 0..10 each, compared in this order (higher is better). */
struct sched_score {
	int spread;   /* fewer pods of the same owner */
	int least;    /* most free cpu and memory after placing the pod */
	int balanced; /* cpu and memory used in like proportion */
};

/* The spread part of sched_score alone (it compares first): a node whose
 * spread is below the best so far cannot win. */
int sched_score_spread(const struct sched_nodeview *n, const struct sched_podreq *p, int max_same);
/* Score pod on n; max_same is the largest same_owner among the feasible nodes. */
void sched_score(const struct sched_nodeview *n, const struct sched_podreq *p, int max_same, struct sched_score *out);
/* <0, 0, >0 as a is worse than, like, better than b. */
int sched_score_cmp(const struct sched_score *a, const struct sched_score *b);

/* How many feasible nodes a decision looks for before it scores them
 * (Kubernetes' percentageOfNodesToScore): every node below
 * SCHED_MIN_NODES_TO_FIND; else percentage % of nnodes (1..99), or with
 * percentage 0 the adaptive share 50 % - nnodes / 125 (42 % of 1,000, 10 %
 * of 5,000, at least 5 %), never fewer than SCHED_MIN_NODES_TO_FIND; 100:
 * every node. */
#define SCHED_MIN_NODES_TO_FIND 100
size_t sched_nodes_to_find(size_t nnodes, int percentage);

/* ---- what is kept of a pod (sched_pod.c, pure) ---- */

/* A pod as the scheduler caches it: what it asks of a node and what it
 * is spread and filtered by, taken from the whole pod, which is not kept,
 * nor is its raw value: a binding is written from copy (sched_copy.c). */
struct sched_pod {
	int64_t cpu, mem; /* api_pod_requests */
	int privileged;   /* api_sec_privileged */
	struct sched_hostport *ports;
	size_t nports;
	struct api_labels labels;        /* metadata.labels */
	char *owner;                     /* sched_owner_key, NULL: none */
	struct api_labels node_selector; /* spec.nodeSelector */
	struct api_volume *host_paths;   /* spec.volumes of hostPath: source and path only */
	size_t n_host_paths;
	char *copy;    /* the pod as its bindings hold it, less the uid (sched_pod_copy); NULL: none */
	size_t uid_at; /* where in copy the uid's digits go */
};
/* Fill sp from the whole pod, moving its labels, nodeSelector and
 * hostPath volumes' paths out of it (pod is then fit only to be freed).
 * 0, or -1 out of memory (pod untouched). sched_pod_clear frees sp's. */
int sched_pod_digest(struct api_pod *pod, struct sched_pod *sp);
void sched_pod_clear(struct sched_pod *sp);
/* The controller owner's key of m ("ReplicationController/web"), new, or NULL. */
char *sched_owner_key(const struct api_meta *m);

/* ---- the pod copy in a binding (sched_copy.c, pure) ---- */

/* The pod as api_binding_serialize writes a binding's pod: pod with
 * metadata.name = name and metadata.uid = the incarnation's create
 * revision, which the caller does not know yet: it is left out, and
 * *uid_at is where its digits go. New string, or NULL out of memory; pod
 * is as it was. One encode of the pod. */
char *sched_pod_copy(struct api_pod *pod, const char *name, size_t *uid_at);
/* The binding of sp's pod (its copy, NULL: none) to node, as uid: byte
 * for byte what api_binding_serialize writes, without decoding the pod.
 * New string, or NULL (out of memory, no copy, node not UTF-8). O(copy). */
char *sched_binding_value(const char *node, const struct sched_pod *sp, int64_t uid);

/* ---- the daemon's bookkeeping (sched_cache.c) ---- */

struct sched_group;

/* Pods of one spread key on one node. */
struct sched_owner {
	const char *key; /* borrowed from group */
	int count;
	struct sched_node *node;
	struct sched_group *group;
	size_t gidx; /* index in group->members */
	UT_hash_handle hh;
};

/* Every node holding pods of one spread key, so that a decision touches
 * only those nodes. */
struct sched_group {
	char *key;
	struct sched_owner **members;
	size_t n, cap;
	UT_hash_handle hh;
};

/* A node name known from P/nodes/, P/nodestatus/, P/nodeleases/ or a
 * binding. Labels and spec come from P/nodes/NODE, capacity from
 * P/nodestatus/NODE (the agent's), else from P/nodes/NODE's status
 * (version-1 data); Ready from the lease heartbeat (runtime/liveness.h),
 * judged again at each pass. */
struct sched_node {
	char *name;
	struct sched_nodeview v;       /* v.name = name; usage kept incrementally */
	const struct api_node *node;   /* borrowed from the nodes informer, NULL if absent/invalid */
	const struct api_node *status; /* borrowed from the nodestatus informer, NULL if absent/invalid */
	int has_key;                   /* P/nodes/NODE exists */
	int has_status;                /* P/nodestatus/NODE exists */
	struct liveness_beat beat;     /* P/nodeleases/NODE */
	struct sched_portuse *ports;
	size_t nports, capports;
	struct sched_owner *owners;
	int refs; /* placements counted here */
	UT_hash_handle hh;
};

/* What a pod is spread by: "Kind/name" of its controller owner, then
 * "Service/NAME" of each service selecting it. */
struct sched_skey {
	char *key;
	size_t len;
	unsigned hv; /* uthash hash of key, computed once */
};

struct sched_spread {
	struct sched_skey *keys;
	size_t n;
};

/* Where a pod is, or is assumed to be, bound. One per pod name. */
struct sched_place {
	char *pod;
	struct sched_node *node;
	int64_t uid; /* create revision of the pod incarnation bound */
	int64_t cpu, mem;
	struct sched_hostport *ports;
	size_t nports;
	struct sched_spread spread;
	int assumed;    /* our bind txn, not yet seen in P/bindings/ */
	int64_t bmod;   /* binding key mod revision when confirmed */
	uint64_t bhash; /* fnv1a64 of the binding's value then; while assumed,
	                 * of the value our bind txn sends */
	UT_hash_handle hh;
};

enum { SP_READY, SP_UNSCHED };

/* A pod without a binding. */
struct sched_pending {
	char *pod;
	int64_t create_rev;
	int state;
	uint64_t gen;      /* S.gen when found unschedulable */
	double not_before; /* ev_now time before which not to try */
	UT_hash_handle hh;
};

struct sched {
	struct skiff_daemon *d;
	const char *prefix;
	struct recorder *rec;
	struct informer *pods, *nodes, *nodestatus, *leases, *bindings, *services;
	struct controller *ctl; /* informers, queue, leadership (runtime/controller.h) */
	struct wq *q;           /* the controller's queue: binding upkeep, by pod name */
	struct sched_node *nodetab;
	struct sched_place *places;
	struct sched_group *groups;
	struct sched_pending *pending;
	uint64_t gen; /* bumped when room may have appeared */
	char **order; /* pending pod names, oldest first, consumed from order_at */
	size_t order_n, order_at;
	int order_dirty; /* pending set changed: sort again */
	uint64_t order_gen;
	unsigned rr; /* round-robin offset for ties */
	int stopping, dead;
	struct daemon_elect *elect; /* for fencing binds with the leader key */
	int inflight;               /* bind txns in flight */
	long max_inflight;
	ev_timer kick, later, live;
	struct metric *m_binds, *m_conflicts, *m_unsched, *m_refresh, *m_unbind;
	int score_pct;     /* --percentage-of-nodes-to-score (0: adaptive) */
	size_t next_start; /* where the next decision starts looking among the nodes */
};

extern struct sched S;

struct sched_node *sched_node_get(const char *name, int create);
void sched_node_gc(struct sched_node *n);
void sched_node_set(struct sched_node *n, const struct api_node *node, int has_key);
/* P/nodestatus/NODE changed (status NULL: absent or invalid). */
void sched_node_set_status(struct sched_node *n, const struct api_node *status, int has_status);
/* Judge n's readiness at now (v.ready); 1 when it changed. */
int sched_node_judge(struct sched_node *n, double now);
/* Judge every node, logging those whose heartbeat stopped; 1 when one
 * became Ready. O(nodes). */
int sched_nodes_judge(double now);
/* Fill req from pod. *ports (new array or NULL) and sp are the caller's to
 * free (free, sched_spread_free); req borrows them. 0, or -1 out of memory. */
int sched_pod_req(const struct sched_pod *pod, struct sched_podreq *req, struct sched_hostport **ports,
                  struct sched_spread *sp);
/* sp = owner (if any) + every service whose selector matches labels. O(services). */
int sched_spread_keys(const struct api_labels *labels, const char *owner, struct sched_spread *sp);
void sched_spread_free(struct sched_spread *sp);
/* Raise v.same_owner of every node holding pods of a key of sp to the
 * largest such count; sched_spread_reset sets them back to 0 (every
 * node's same_owner is 0 between decisions). O(nodes holding them). */
void sched_spread_apply(const struct sched_spread *sp);
void sched_spread_reset(const struct sched_spread *sp);
/* Services changed: recompute every placement's spread keys from its pod
 * in the pods cache. O(pods × services). */
void sched_places_rekey(void);
struct sched_place *sched_place_find(const char *pod);
/* Record pod on node (replacing any earlier placement of the name). NULL when out of memory. */
struct sched_place *sched_place_add(const char *pod, const char *node, int64_t uid, const struct sched_pod *obj,
                                    int assumed);
void sched_place_del(struct sched_place *p);
void sched_pending_add(const char *pod, int64_t create_rev);
void sched_pending_del(const char *pod);
struct sched_pending *sched_pending_find(const char *pod);
void sched_cache_free(void);

/* ---- scheduling and binding (sched_bind.c) ---- */
void sched_kick(void); /* run a pass soon */
void sched_init_bind(void);
void sched_upkeep(struct wq *q, const char *pod, void *arg);
/* The SF_* bits of what n's agent would refuse of pod (its published
 * policy), 0 when it allows it or publishes none. */
unsigned sched_refused(const struct sched_node *n, const struct sched_pod *pod);
/* The controller's stop: stop starting binds, give up those waiting to
 * retry; sched_busy counts the bind transactions still in flight. */
void sched_stopping(void *arg);
int sched_busy(void *arg);
void sched_bind_free(void);

/* ---- informers (sched_watch.c) ---- */
/* The watch table, in start order (runtime/controller.h). */
extern const struct controller_watch sched_watches[];
/* Everything again (a new leader, a full cache, a resync): upkeep of
 * every confirmed binding, and a scheduling pass. */
void sched_resync(struct controller *c, void *arg);

#endif
