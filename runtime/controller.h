/*
 * controller.h: the skeleton every Skiff controller shares, in the manner
 * of Kubernetes' sample-controller. A controller owns
 *
 *   - a table of informers over P/<dir>/, whose handlers only enqueue keys;
 *   - a work queue whose process function reconciles one key (optional: a
 *     controller without one does its work from enqueue_all);
 *   - synced gating: nothing is reconciled before every cache holds a
 *     full list;
 *   - leadership: while following the queue is paused (names are still
 *     collected); on becoming ready (leading and synced) everything is
 *     enqueued;
 *   - a resync timer that enqueues everything again while ready;
 *   - a clean stop: pause, then wait until no reconcile and no write the
 *     program reports as busy is in flight.
 *
 * It knows no daemon and never logs, exits or aborts: daemon/daemon_ctl.h
 * runs one under a skiff_daemon (election, stop hook, logs).
 */
#ifndef SKIFF_CONTROLLER_H
#define SKIFF_CONTROLLER_H

#include "informer.h"
#include "workqueue.h"

struct ev_loop;
struct controller;

struct controller_watch {
	const char *dir;           /* watch P/<dir>/; NULL ends the table */
	informer_decode_fn decode; /* may be NULL (objects stay NULL) */
	informer_free_fn free_obj;
	/* Any may be NULL; they get the config's arg. synced runs before the
	 * controller's own gating; error defaults to the config's. */
	struct informer_handlers h;
	int drop_values;       /* informer_drop_values */
	struct informer **out; /* where the informer goes (set by controller_new), or NULL */
};

struct controller_config {
	const char *prefix;                     /* P, e.g. "/skiff" */
	const struct controller_watch *watches; /* created together, started in table order */
	wq_process_fn reconcile;                /* NULL: no work queue */
	int workers;                            /* reconciles at once; 0 = 1 */
	double backoff_base, backoff_cap;       /* 0 = the queue's defaults */
	double resync;                          /* seconds between resyncs; 0 = none */
	/* Enqueue everything, on becoming ready and at each resync while
	 * ready. NULL: every name of the first watch. */
	void (*enqueue_all)(struct controller *c, void *arg);
	/* The stop began: stop starting work (timers of the program's own). */
	void (*stopping)(void *arg);
	/* Work in flight besides the queue's (writes a stop waits for). */
	int (*busy)(void *arg);
	void (*error)(struct informer *inf, const struct etcd_error *err, void *arg); /* for logs */
	void *arg;
};

/* Creates the queue (paused) and the informers (not started); cfg is
 * copied, its watch table borrowed. NULL when out of memory. */
struct controller *controller_new(struct ev_loop *loop, struct etcd_client *etcd, const struct controller_config *cfg);
/* Start every informer, in table order. */
void controller_start(struct controller *c);
/* Leadership: lead resumes the queue (once synced) and enqueues
 * everything; follow pauses it at once. */
void controller_lead(struct controller *c);
void controller_follow(struct controller *c);

int controller_leading(const struct controller *c);
int controller_synced(const struct controller *c); /* every informer has listed once */
int controller_ready(const struct controller *c);  /* leading, synced and not stopping */
/* The queue (NULL without reconcile). Borrowed. */
struct wq *controller_queue(const struct controller *c);
/* wq_add on the queue; nothing without one. */
void controller_add(struct controller *c, const char *name);
/* The informer of watch i (table order). Borrowed. */
struct informer *controller_informer(const struct controller *c, size_t i);

/* Begin stopping: pause the queue and the resync, call cfg->stopping.
 * Returns 1 when nothing is in flight, else 0 and calls done(arg) once,
 * from controller_settled, when the last work ends. */
int controller_stop(struct controller *c, void (*done)(void *arg), void *arg);
/* The program's work in flight ended (after wq_done or a write's
 * callback): finishes a stop that waits. Cheap; safe to call any time. */
void controller_settled(struct controller *c);

/* Frees the informers (their objects) and the queue. Not inside a handler
 * or a reconcile. */
void controller_free(struct controller *c);

#endif
