/*
 * rc.h: skiff-replication-controller's private header. The controller
 * keeps, for every P/controllers/NAME, exactly spec.replicas pods that match
 * its selector, deletes the pods of controllers that are gone and reports
 * P/controllerstatus/NAME.
 *
 * "Never twice for one shortfall": each controller remembers the highest
 * revision of its own pod writes (expect_rev) and does not count its pods
 * again until the pods informer has applied every change up to it.
 */
#ifndef SKIFF_RC_H
#define SKIFF_RC_H

#include <stdint.h>
#include <uthash.h>

#include "api.h"
#include "daemon.h"
#include "events.h"
#include "informer.h"
#include "workqueue.h"

#define RC_BURST 500     /* most pod writes of one controller in one pass */
#define RC_BATCH_MAX 128 /* most creates of one batch (in flight at once) */

/* What the controller knows of one controller name (kept while running). */
struct rc_state {
	char *name;
	int64_t expect_rev; /* own pod writes up to here must be in the pods cache */
	int unknown;        /* a write's outcome is unknown: learn the revision first */
	char *invalid;      /* why the key is invalid (from decoding), or NULL */
	char *reported;     /* the invalid message last reported by an event */
	char *last_error;   /* why the last pass could not create pods, or NULL */
	int batch;          /* slow start: the first create batch of the next pass */
	UT_hash_handle hh;
};

/* What the bindings and podstatus informers say about one pod name. */
struct rc_podinfo {
	char *pod;
	int bindings;      /* binding keys naming it (normally 0 or 1) */
	char *status_node; /* node of the status last seen, or NULL */
	char *status_uid;
	int running, ready;
	UT_hash_handle hh;
};

struct rc {
	struct skiff_daemon *d;
	const char *prefix;
	struct informer *controllers, *pods, *bindings, *podstatus, *cstatus;
	struct wq *q;
	struct recorder *rec;
	int leading;
	int passes;        /* passes with writes in flight */
	int stopping_hook; /* the stop hook waits for passes */
	struct rc_state *states;
	struct rc_podinfo *podinfo;
	struct metric *m_creates, *m_deletes, *m_status, *m_failures;
};

/* main.c */
extern struct rc RC;
/* The state of name, created when create is set (NULL when out of memory
 * or absent). Owned by RC. */
struct rc_state *rc_state_get(struct rc *rc, const char *name, int create);
/* Enqueue the controller owning pod, or every controller selecting it. */
void rc_enqueue_for_pod(struct rc *rc, const struct api_pod *pod);
/* A pass ended (its writes are all done). */
void rc_pass_ended(struct rc *rc);

/* rc_index.c: the pod → binding/status index. */
void rc_index_binding(struct rc *rc, const char *name, int add);
void rc_index_status(struct rc *rc, const char *name, const struct api_pod_status *st, int add);
const struct rc_podinfo *rc_podinfo(const struct rc *rc, const char *pod);
void rc_index_free(struct rc *rc);

/* One reconcile pass of one controller with writes in flight. Freed in
 * exactly one place, rc_pass_finish. */
struct rc_pass {
	struct rc *rc;
	char name[API_LABEL_MAX + 1];
	char uid[24];
	struct api_controller *ctl; /* own copy, for creates */
	int want;                   /* creates still to send */
	int batch;                  /* size of the next create batch */
	int pending;                /* writes in flight */
	int failed, unknown;
	double requeue; /* > 0: run again after this many seconds */
	int created, deleted;
	int64_t max_rev; /* highest revision of a pod write that applied */
};

/* rc_sync.c: the work queue's process function. */
void rc_reconcile(struct wq *q, const char *name, void *arg);

/* rc_create.c: send the next slow-start batch of creates (1, 2, 4, …). */
void rc_create_batch(struct rc_pass *p);
/* rc_delete.c: delete pod (guarded by its mod revision). */
void rc_delete_pod(struct rc_pass *p, const struct informer_obj *pod);
/* Order pods for scale-down: unbound, not running, not ready, youngest. */
void rc_rank_for_delete(const struct rc *rc, const struct informer_obj **pods, size_t n);

/* rc_status.c: write P/controllerstatus/NAME when its bytes change (or
 * delete it, st NULL). */
void rc_status_write(struct rc_pass *p, const struct api_controller_status *st);

/* rc_sync.c: commit t (consumed) as one write of pass p; kind says what
 * it does (for logs, metrics and expectations: creates and deletes of pods
 * move expect_rev). pod may be NULL. */
enum rc_op_kind { RC_OP_CREATE, RC_OP_DELETE, RC_OP_STATUS };
void rc_op_commit(struct rc_pass *p, enum rc_op_kind kind, const char *pod, struct etcd_txn *t);
/* main.c: all five informers have listed once. */
int rc_synced(void);

#endif
