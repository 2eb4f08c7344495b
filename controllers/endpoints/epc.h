/*
 * epc.h: skiff-endpoints-controller's private header. The controller gives
 * every service a cluster IP from the service CIDR (P/serviceips/IP,
 * claimed with create-if-absent) and keeps P/endpoints/SERVICE equal to the
 * Running, ready pods its selector matches.
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
	struct podnode *podnodes; /* pod name → the nodes reporting its status (main.c) */
	uint32_t next_ip;         /* where the allocator looks first */
	struct metric *writes, *allocs;
};

/* epc_alloc.c: the cluster IP of a service. Returns 1 and the address in
 * ip when the service has one, 0 when the caller should wait (a claim is
 * in flight or impossible: an event says why). */
int epc_cluster_ip(struct epc *e, const char *name, const struct informer_obj *svc, char *ip, size_t len);
/* Release every claim of a service that no longer exists (or of older
 * incarnations). Returns the number of deletes sent. */
int epc_release(struct epc *e, const char *name, const char *keep_uid);
void epc_alloc_free(void);

/* epc_sync.c */
void epc_reconcile(struct wq *q, const char *name, void *arg);
/* Enqueue every service whose selector matches pod (by name in P/pods/),
 * or these labels. */
void epc_enqueue_for_pod(struct epc *e, const char *pod);
void epc_enqueue_for_labels(struct epc *e, const struct api_labels *labels);

/* main.c: the node whose agent reports pod's status (index kept from the
 * P/podstatus/NODE/POD informer), or NULL. Borrowed. */
const char *epc_pod_node(struct epc *e, const char *pod);

/* A guarded write finished: requeue name on failure. */
struct epc_write {
	struct epc *e;
	char name[256];
};
struct epc_write *epc_write_new(struct epc *e, const char *name);
void epc_write_done(struct etcd_result *res, void *arg);

#endif
