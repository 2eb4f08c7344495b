/*
 * workqueue.h: a queue of object names to reconcile, in the manner of
 * client-go's workqueue, on one libev loop. Adding a name that is already
 * queued does nothing; adding one that is being processed marks it dirty,
 * so it runs once more after the current pass (a burst of events collapses
 * into one extra pass); a name is never processed twice at once. Failures
 * come back with per-name exponential back-off.
 *
 * Processing may be asynchronous: the process function starts the work and
 * someone calls wq_done(name, …) later, once. At most max_inflight names
 * are processed at a time.
 */
#ifndef SKIFF_WORKQUEUE_H
#define SKIFF_WORKQUEUE_H

#include <stddef.h>

struct ev_loop;
struct wq;

enum wq_result {
	WQ_OK,           /* done; forget the name's back-off */
	WQ_RETRY,        /* failed; run again after the name's back-off (base × 2^failures, capped) */
	WQ_REQUEUE_AFTER /* run again after the given delay, no back-off growth */
};

/* name is borrowed for the call; copy it to keep it. */
typedef void (*wq_process_fn)(struct wq *q, const char *name, void *arg);

struct wq *wq_new(struct ev_loop *loop, wq_process_fn fn, void *arg, int max_inflight);
/* Frees every pending name. Not inside a process call. */
void wq_free(struct wq *q);
void wq_set_backoff(struct wq *q, double base, double cap); /* default 0.05 s, 60 s */

void wq_add(struct wq *q, const char *name);
void wq_add_after(struct wq *q, const char *name, double delay);
/* Finish processing name. after is used with WQ_REQUEUE_AFTER. */
void wq_done(struct wq *q, const char *name, enum wq_result r, double after);

/* While paused (e.g. not the leader) names are collected but not processed. */
void wq_pause(struct wq *q);
void wq_resume(struct wq *q);

size_t wq_len(const struct wq *q); /* queued, not yet processing */
size_t wq_inflight(const struct wq *q);
int wq_failures(const struct wq *q, const char *name);
/* Inside the process function only: 1 when the name runs because a delay
 * it was given ran out (wq_add_after, a back-off, a requeue) and nobody
 * called wq_add for it since it was last handed out; 0 otherwise. Lets a
 * periodic pass tell itself apart from one that an event asked for. */
int wq_by_timer(const struct wq *q);

#endif
