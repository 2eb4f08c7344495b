/*
 * rc.h: skiff-replication-controller's private header. The controller
 * keeps, for every P/controllers/NAME, exactly spec.replicas pods that match
 * its selector, deletes the pods of controllers that are gone and reports
 * P/controllerstatus/NAME.
 *
 * "Never twice for one shortfall": each controller remembers the highest
 * revision of its own pod writes (expect_rev) and does not count its pods
 * again until the pods informer has applied every change up to it. One
 * pass sends creates for the whole shortfall it counted, never more.
 */
#ifndef SKIFF_RC_H
#define SKIFF_RC_H

#include <stdint.h>
#include <uthash.h>

#include "api.h"
#include "controller.h"
#include "daemon.h"
#include "events.h"
#include "informer.h"
#include "workqueue.h"

#define RC_BURST 500               /* most pod deletes of one controller in one pass */
#define RC_TXN_CREATES 64          /* most creates in one transaction (etcd allows 127 nested) */
#define RC_WINDOW_MAX 512          /* most creates of one controller in flight at once */
#define RC_TXN_BYTES (512L * 1024) /* pod JSON per txn (base64: 4/3; etcd takes 1.5 MiB) */
#define RC_MAX_REPLICAS 10000      /* --max-replicas default: pods kept for one controller */

/* What the controller knows of one controller name (kept while running). */
struct rc_state {
	char *name;
	int64_t expect_rev; /* own pod writes up to here must be in the pods cache */
	int unknown;        /* a write's outcome is unknown: learn the revision first */
	char *invalid;      /* why the key is invalid (from decoding), or NULL */
	char *reported;     /* the invalid message last reported by an event */
	char *last_error;   /* why the last pass could not create pods, or NULL */
	int capped;         /* spec.replicas last reported over --max-replicas, 0 = none */
	int window;         /* slow start: the create window the next pass starts with */
	UT_hash_handle hh;
};

/* One key NODE/POD about a pod: a binding (uid: its pod's uid) or a
 * status (uid, running, ready as the node says; for a ready one, since:
 * its Ready condition's lastTransitionTime, 0 without one, and seen: when
 * this process first saw it ready with that since, both wall-clock
 * seconds). */
struct rc_key {
	char *node, *uid;
	int running, ready;
	double since, seen;
	int terminal; /* phase Failed or Succeeded */
};

/* What the bindings and podstatus informers say about one pod name, and
 * what of it is believed (rc_index.c). */
struct rc_podinfo {
	char *pod;
	int bindings;                   /* binding keys naming it (normally 0 or 1) */
	const char *status_node;        /* the bound node when its status is believed, else NULL */
	const char *status_uid;         /* that status's uid (the binding's) */
	int running, ready;             /* from that status; 0 without one */
	int terminal;                   /* that status's phase is Failed or Succeeded */
	double ready_at;                /* when ready: since, but never after seen (rc_index.c) */
	struct rc_key *bound, *reports; /* bindings (the last is believed), statuses */
	size_t nbound, nreports;
	UT_hash_handle hh;
};

struct rc {
	struct skiff_daemon *d;
	const char *prefix;
	struct informer *controllers, *pods, *bindings, *podstatus, *cstatus;
	struct controller *ctl; /* informers, queue, leadership (runtime/controller.h) */
	struct wq *q;           /* the controller's queue; NULL once freed */
	struct recorder *rec;
	int passes; /* passes with writes in flight */
	struct rc_state *states;
	struct rc_podinfo *podinfo;
	int max_replicas; /* --max-replicas: pods kept for one controller at most */
	struct metric *m_creates, *m_deletes, *m_status, *m_failures;
	struct rc_expect *expect; /* pods just created (rc_expect.c) */
};

/* A pod as the pods cache holds it (main.c): what this controller reads
 * of one, moved out of the whole pod, which is freed. */
struct rc_pod {
	struct api_labels labels;  /* metadata.labels */
	int owned;                 /* it has an owner reference of kind ReplicationController */
	char *owner, *owner_uid;   /* the first such reference's name and uid (NULL when absent) */
	int64_t deletion_grace_p1; /* api_meta's: > 0 while the pod is being deleted */
};

/* rc_pod.c: a new struct rc_pod of p, whose labels and owner strings it
 * takes (p is then fit only to be freed); NULL when out of memory (p
 * untouched). */
struct rc_pod *rc_pod_new(struct api_pod *p);
/* A copy of rp, or NULL when out of memory. */
struct rc_pod *rc_pod_clone(const struct rc_pod *rp);
void rc_pod_free(void *pod);

/* rc_expect.c: pods just created, taken back by the pods cache without a
 * decode. Remember that pod was sent as json, which decodes to digest
 * (copied; nothing is kept when out of memory or full), at time now
 * (ev_now: seconds). */
void rc_expect_add(struct rc *rc, const char *pod, const char *json, const struct rc_pod *digest, double now);
/* The digest of pod when value (len bytes) is byte for byte the JSON
 * sent, new; else NULL. Either way the entry is gone. */
struct rc_pod *rc_expect_take(struct rc *rc, const char *pod, const char *value, size_t len);
void rc_expect_free(struct rc *rc);

/* main.c */
extern struct rc RC;
/* The state of name, created when create is set (NULL when out of memory
 * or absent). Owned by RC. */
struct rc_state *rc_state_get(struct rc *rc, const char *name, int create);
/* Enqueue the controller owning pod, or every controller selecting it. */
void rc_enqueue_for_pod(struct rc *rc, const struct rc_pod *pod);

/* rc_index.c: the pod → binding/status index. name is NODE/POD; uid is
 * the binding's pod uid (NULL: it binds no incarnation). */
void rc_index_binding(struct rc *rc, const char *name, const char *uid, int add);
void rc_index_status(struct rc *rc, const char *name, const struct api_pod_status *st, int add);
const struct rc_podinfo *rc_podinfo(const struct rc *rc, const char *pod);
/* When the status NODE/POD (name) claims uid, the incarnation POD is bound
 * to, from a node it is not bound to: the bound node (borrowed), for an
 * UntrustedStatus event. NULL otherwise (believed, another uid, unbound). */
const char *rc_index_stranger(const struct rc *rc, const char *name, const char *uid);
void rc_index_free(struct rc *rc);

/* A pod name a pass has used (so two creates never share one). */
struct rc_name {
	char name[API_LABEL_MAX + 1];
	UT_hash_handle hh;
};

/* One reconcile pass of one controller with writes in flight. Freed in
 * exactly one place, pass_finish (rc_sync.c). */
struct rc_pass {
	struct rc *rc;
	char name[API_LABEL_MAX + 1];
	char uid[24];
	struct api_controller *ctl; /* own copy, for creates */
	int64_t ctl_mod;            /* the controller's mod revision the pass counted for */
	int want;                   /* creates still to send (the rest of the shortfall) */
	int window;                 /* slow start: most creates in flight */
	int creating;               /* creates in flight */
	struct rc_name *names;      /* names used by this pass's creates */
	int pending;                /* writes in flight */
	int failed, unknown;
	double requeue; /* > 0: run again after this many seconds */
	int created, deleted, collided;
	int64_t max_rev; /* highest revision a pod write of the pass returned */
	/* The pass's pod JSON cut around the pod's name (rc_create.c): made
	 * once, then each create joins head, name and tail. NULL: not made
	 * yet, or not possible (tpl_tried), and each pod is serialised. */
	char *tpl_head, *tpl_tail;
	int tpl_tried;
	struct rc_pod *tpl_digest; /* what the cache keeps of the pass's pods (with a template) */
};

/* rc_sync.c: the work queue's process function. */
void rc_reconcile(struct wq *q, const char *name, void *arg);

/* rc_create.c: pod creates under a slow-start window (it starts at 1 and
 * grows by every create that succeeds, up to RC_WINDOW_MAX), in
 * transactions of up to RC_TXN_CREATES creates and about RC_TXN_BYTES of
 * pod JSON. It builds transactions; rc_sync.c commits them. */
/* How many creates the next transaction may carry now: 0 when the
 * shortfall is sent, the pass failed or the window is full. */
int rc_create_next(const struct rc_pass *p);
/* A transaction of up to *n creates (fewer when their JSON passes
 * RC_TXN_BYTES; *n is set to how many), the first pod's name in first;
 * new, or NULL when a pod could not be built (out of memory). The names
 * are remembered in p. */
struct etcd_txn *rc_create_txn(struct rc_pass *p, int *n, char *first, size_t len);
/* A create transaction of n creates returned: created of them succeeded. */
void rc_create_done(struct rc_pass *p, int n, int created);
/* The JSON of the pass's pod named pod, byte for byte what serialising
 * the pod gives: from the pass's template (made at the first call) when
 * there is one. New, or NULL. */
char *rc_create_json(struct rc_pass *p, const char *pod);
/* Free what the pass's creates kept (names used, the JSON template). */
void rc_create_free(struct rc_pass *p);

/* rc_batch.c: add a create-if-absent of key (a nested txn guarded by
 * create_revision == 0) to t. 0, or -1 (t remembers it; commit fails). */
int rc_batch_add(struct etcd_txn *t, const char *key, const char *json);
/* Count what a committed batch of n creates did: 0, or -1 when the answer
 * does not have one nested result per create. */
int rc_batch_tally(const struct etcd_result *res, int n, int *created, int *collided);
/* rc_delete.c: the delete of pod, guarded by its mod revision: new, or
 * NULL when out of memory. */
struct etcd_txn *rc_delete_txn(const struct informer_obj *pod);
/* Order pods for scale-down: unbound, not running, not ready, youngest. */
void rc_rank_for_delete(const struct rc *rc, const struct informer_obj **pods, size_t n);

/* rc_status.c: the write of P/controllerstatus/NAME when its bytes
 * change (or its delete, st NULL). 0 with *out new, or NULL when there is
 * nothing to write; -1 when out of memory. */
int rc_status_txn(const struct rc *rc, const char *name, const struct api_controller_status *st, struct etcd_txn **out);

#endif
