/*
 * epc.h: skiff-endpoints-controller's private header. The controller gives
 * every service a cluster IP from the service CIDR (P/serviceips/IP,
 * claimed with create-if-absent) and keeps P/endpoints/SERVICE equal to the
 * pods its selector matches: the ready ones in addresses, the not-ready
 * ones with an IP in notReadyAddresses, none being deleted. A headless
 * service gets no IP; one without a selector gets no list (its user
 * writes it, and the controller never touches it).
 */
#ifndef SKIFF_EPC_H
#define SKIFF_EPC_H

#include "api.h"
#include "controller.h"
#include "daemon.h"
#include "events.h"
#include "informer.h"
#include "workqueue.h"

struct epc {
	struct skiff_daemon *d;
	const char *prefix;
	struct informer *services, *pods, *status, *bindings, *ips, *endpoints, *network;
	struct controller *ctl; /* informers, queue, leadership (runtime/controller.h) */
	struct wq *q;           /* the controller's queue */
	struct recorder *rec;
	struct podnode *bound;        /* pod name → nodes of its bindings (epc_index.c) */
	struct podnode *reported;     /* pod name → nodes holding a status of it */
	struct epc_subnet *subnets;   /* node → its subnet and whether it is valid (epc_trust.c) */
	int subnets_stale;            /* P/network/ changed since subnets was judged */
	struct epc_refusal *refusals; /* statuses reported as untrusted (epc_trust.c) */
	uint32_t next_ip;             /* where the allocator looks first */
	struct metric *writes, *allocs;
	struct epc_mode *modes;     /* service name → has a selector or not (epc_modes.c) */
	struct informer *nodeports; /* P/nodeports/PORT claims (epc_nodeport.c) */
	int np_lo, np_hi;           /* --node-port-range */
	unsigned np_seed;           /* where a free node port is looked for first */
};

/* epc_alloc.c: the cluster IP of a service. Returns 1 and the address in
 * ip when the service has one, 0 when the caller should wait (a claim is
 * in flight or impossible: an event says why). */
int epc_cluster_ip(struct epc *e, const char *name, const struct informer_obj *svc, char *ip, size_t len);
/* Release every claim of a service that no longer exists (or of older
 * incarnations). Returns the number of deletes sent. */
int epc_release(struct epc *e, const char *name, const char *keep_uid);
void epc_alloc_free(void);
/* The claim machinery both allocators share (cluster IPs, node ports).
 * epc_claims_send: one transaction creating every key of kv only if none
 * exists; until the cache shows it, epc_claims_pending(pkey, cache) is 1
 * (then 0, and forgotten). name is requeued when the write ends. -1 when
 * it cannot be sent (logged, name requeued after 1 s). */
struct epc_claim_kv {
	char key[300];
	char *val; /* borrowed */
};
int epc_claims_send(struct epc *e, const char *pkey, const char *name, const struct epc_claim_kv *kv, size_t n);
int epc_claims_pending(const char *pkey, struct informer *inf);
/* The claims sent under pkey are in the cache: forget them. */
void epc_claims_settled(const char *pkey);
/* Delete claim o (an entry of a claim cache) of service name if its mod
 * revision is still the one cached; 0 when sent, -1 when not. */
int epc_claim_delete(struct epc *e, const struct informer_obj *o, const char *name);

/* epc_nodeport.c: the node ports of a service (o NULL: deleted). Releases
 * the claims it no longer needs (its own of ports gone or of an earlier
 * incarnation) and claims what its ports lack. Returns 1 when every port
 * that can have one has it, 0 while claims are in flight or refused (a
 * Warning event says why: the caller writes the endpoints anyway). */
int epc_node_ports(struct epc *e, const char *name, const struct informer_obj *o);
/* The node port claimed for port sp of service name (as cached now), 0 if
 * none. O(claims). */
int epc_node_port_of(struct epc *e, const char *name, const struct api_service_port *sp);
/* Enqueue the service of every node-port claim (resync: a claim whose
 * service is gone is released then). */
void epc_node_ports_enqueue(struct epc *e);

/* epc_nodeport_calc.c, pure: "LO-HI" with 1 <= LO <= HI <= 65535; 0, or -1
 * with err set. */
int epc_node_port_range_parse(const char *s, int *lo, int *hi, char *err, size_t len);
/* A port of [lo, hi] that taken(port, arg) says is free, looking from
 * lo + start % size upward and wrapping: 0 when all are taken. O(size). */
int epc_node_port_pick(int lo, int hi, unsigned start, int (*taken)(int port, void *arg), void *arg);
enum epc_np_verdict {
	EPC_NP_FREE,
	EPC_NP_MINE,         /* held for this very port */
	EPC_NP_RELEASING,    /* held by this service for another port or incarnation */
	EPC_NP_TAKEN,        /* held by another service */
	EPC_NP_OUT_OF_RANGE, /* outside [lo, hi] */
};
/* Whether a requested node port want may be claimed by service name
 * (incarnation uid, service port port/proto): holder is the claim of want
 * in the cache or NULL. */
enum epc_np_verdict epc_node_port_judge(int want, int lo, int hi, const struct api_service_ip *holder, const char *name,
                                        const char *uid, int port, enum api_protocol proto);

/* epc_pod.c: a pod as the pods cache holds it: what this controller
 * reads of one. */
struct epc_pod {
	struct api_labels labels;         /* metadata.labels */
	int64_t deletion_grace_p1;        /* api_meta's: > 0 while the pod is being deleted */
	int host_network;                 /* spec.hostNetwork (epc_trust.c) */
	struct api_container_port *named; /* the containers' named ports, in order */
	size_t n_named;
};
/* A new struct epc_pod of p, whose labels and port names it takes (p is
 * then fit only to be freed); NULL when out of memory (p untouched). */
struct epc_pod *epc_pod_new(struct api_pod *p);
void epc_pod_free(void *pod);
/* What api_service_port_target answers on the whole pod. O(named ports). */
int epc_pod_target(const struct api_service_port *sp, const struct epc_pod *pod);

/* epc_sync.c */
void epc_reconcile(struct wq *q, const char *name, void *arg);
/* Enqueue every service whose selector matches pod (by name in P/pods/),
 * or these labels. */
void epc_enqueue_for_pod(struct epc *e, const char *pod);
void epc_enqueue_for_labels(struct epc *e, const struct api_labels *labels);

/* epc_index.c: pod name → nodes, from the names NODE/POD of an informer's
 * keys. o was written (present) or deleted. */
void epc_index_set(struct podnode **idx, const struct informer_obj *o, int present);
/* The nodes holding a key for pod (borrowed) and their mod revisions, up to
 * max of them; returns how many there are. */
size_t epc_index_nodes(struct podnode *idx, const char *pod, const char **nodes, int64_t *revs, size_t max);
void epc_index_free(struct podnode **idx);

/* epc_trust.c: the status of this incarnation of pod (an entry of the pods
 * informer) that may be published, from the node it is bound to; *node is
 * set to that node. NULL when there is none to believe (a refused one gets
 * a Warning event UntrustedStatus on the pod). Borrowed from the caches. */
const struct api_pod_status *epc_trusted_status(struct epc *e, const struct informer_obj *pod, const char **node);
/* The network config, or the defaults when P/network/config is absent. */
void epc_network(struct epc *e, struct api_network_config *out);
/* P/network/ changed: judge P/network/subnets/ again before the next use
 * (once for a burst of changes, such as the first list). */
void epc_subnets_changed(struct epc *e);
void epc_subnets_free(struct epc *e);
/* A status key NODE/POD is gone: report it again if it comes back. */
void epc_refusal_forget(struct epc *e, const char *key);
void epc_refusals_free(struct epc *e);

/* epc_modes.c: service name was seen with or without a selector. */
void epc_mode_seen(struct epc *e, const char *name, int selectorless);
/* Service name is gone: 1 when its endpoints are this controller's to
 * delete (it was last seen with a selector), 0 when they are its user's
 * or unknown. Forgets the name. */
int epc_mode_gone(struct epc *e, const char *name);
void epc_modes_free(struct epc *e);

/* A guarded write finished: requeue name on failure. */
struct epc_write {
	struct epc *e;
	char name[256];
};
struct epc_write *epc_write_new(struct epc *e, const char *name);
void epc_write_done(struct etcd_result *res, void *arg);

#endif
