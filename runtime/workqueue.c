/*
 * workqueue.c: see workqueue.h. Each name has one item (hash table) that
 * is in at most one of: the FIFO of ready names, processing, or waiting on
 * its own timer. Items with nothing to do and no back-off are freed.
 * Dispatch runs from a zero-delay timer so that wq_add never re-enters the
 * caller, and hands out at most 64 names per loop turn.
 */
#include <ev.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>
#include <utlist.h>

#include "workqueue.h"

struct item {
	char *name;
	int queued, processing, dirty, failures;
	int added; /* a wq_add since the item was last taken */
	ev_timer delay;
	struct wq *q;
	struct item *next, *prev; /* FIFO of ready items */
	UT_hash_handle hh;
};

struct wq {
	struct ev_loop *loop;
	wq_process_fn fn;
	void *arg;
	int max_inflight, inflight, paused;
	int by_timer; /* of the name being handed to fn (wq_by_timer) */
	size_t queued;
	double base, cap;
	struct item *items; /* by name */
	struct item *fifo;
	ev_timer kick;
};

static void
kick(struct wq *q)
{
	if (!q->paused && q->fifo && q->inflight < q->max_inflight && !ev_is_active(&q->kick)) {
		ev_timer_set(&q->kick, 0.0, 0.0);
		ev_timer_start(q->loop, &q->kick);
	}
}

static void
item_maybe_free(struct wq *q, struct item *it)
{
	if (it->queued || it->processing || it->failures || ev_is_active(&it->delay))
		return;
	HASH_DEL(q->items, it);
	free(it->name);
	free(it);
}

static void
enqueue(struct wq *q, struct item *it)
{
	if (it->queued)
		return;
	if (it->processing) {
		it->dirty = 1;
		return;
	}
	ev_timer_stop(q->loop, &it->delay);
	it->queued = 1;
	q->queued++;
	DL_APPEND(q->fifo, it);
	kick(q);
}

static void
delay_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct item *it = (struct item *)((char *)t - offsetof(struct item, delay));

	(void)loop;
	(void)revents;
	enqueue(it->q, it);
}

static struct item *
get_item(struct wq *q, const char *name)
{
	struct item *it = NULL;

	HASH_FIND_STR(q->items, name, it);
	if (it)
		return it;
	if (!(it = calloc(1, sizeof(*it))) || !(it->name = strdup(name))) {
		free(it);
		return NULL;
	}
	it->q = q;
	ev_timer_init(&it->delay, delay_cb, 0.0, 0.0);
	HASH_ADD_KEYPTR(hh, q->items, it->name, strlen(it->name), it);
	return it;
}

static void
dispatch_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct wq *q = (struct wq *)((char *)t - offsetof(struct wq, kick));
	int n = 0;

	(void)loop;
	(void)revents;
	while (!q->paused && q->fifo && q->inflight < q->max_inflight && n++ < 64) {
		struct item *it = q->fifo;

		DL_DELETE(q->fifo, it);
		it->queued = 0;
		q->queued--;
		it->processing = 1;
		it->dirty = 0;
		q->by_timer = !it->added;
		it->added = 0;
		q->inflight++;
		q->fn(q, it->name, q->arg);
		q->by_timer = 0;
	}
	kick(q);
}

struct wq *
wq_new(struct ev_loop *loop, wq_process_fn fn, void *arg, int max_inflight)
{
	struct wq *q = calloc(1, sizeof(*q));

	if (!q)
		return NULL;
	q->loop = loop;
	q->fn = fn;
	q->arg = arg;
	q->max_inflight = max_inflight > 0 ? max_inflight : 1;
	q->base = 0.05;
	q->cap = 60.0;
	ev_timer_init(&q->kick, dispatch_cb, 0.0, 0.0);
	return q;
}

void
wq_free(struct wq *q)
{
	struct item *it, *tmp;

	if (!q)
		return;
	ev_timer_stop(q->loop, &q->kick);
	HASH_ITER(hh, q->items, it, tmp) {
		ev_timer_stop(q->loop, &it->delay);
		HASH_DEL(q->items, it);
		free(it->name);
		free(it);
	}
	free(q);
}

void
wq_set_backoff(struct wq *q, double base, double cap)
{
	q->base = base;
	q->cap = cap;
}

void
wq_add(struct wq *q, const char *name)
{
	struct item *it = get_item(q, name);

	if (it) {
		it->added = 1;
		enqueue(q, it);
	}
}

void
wq_add_after(struct wq *q, const char *name, double delay)
{
	struct item *it;

	if (delay <= 0) {
		wq_add(q, name);
		return;
	}
	if (!(it = get_item(q, name)) || it->queued)
		return;
	/* An earlier deadline wins over a later one. */
	if (ev_is_active(&it->delay) && ev_timer_remaining(q->loop, &it->delay) <= delay)
		return;
	ev_timer_stop(q->loop, &it->delay);
	ev_timer_set(&it->delay, delay, 0.0);
	ev_timer_start(q->loop, &it->delay);
}

void
wq_done(struct wq *q, const char *name, enum wq_result r, double after)
{
	struct item *it = NULL;
	double d;

	HASH_FIND_STR(q->items, name, it);
	if (!it || !it->processing)
		return;
	it->processing = 0;
	q->inflight--;
	switch (r) {
	case WQ_OK:
		it->failures = 0;
		if (it->dirty)
			enqueue(q, it);
		break;
	case WQ_RETRY:
		d = q->base;
		for (int i = 0; i < it->failures && d < q->cap; i++)
			d *= 2;
		if (d > q->cap)
			d = q->cap;
		if (it->failures < 1000)
			it->failures++;
		if (it->dirty)
			enqueue(q, it); /* something changed: try now */
		else
			wq_add_after(q, name, d);
		break;
	case WQ_REQUEUE_AFTER:
		if (it->dirty)
			enqueue(q, it);
		else
			wq_add_after(q, name, after);
		break;
	}
	it->dirty = 0;
	item_maybe_free(q, it);
	kick(q);
}

void
wq_pause(struct wq *q)
{
	q->paused = 1;
	ev_timer_stop(q->loop, &q->kick);
}

void
wq_resume(struct wq *q)
{
	q->paused = 0;
	kick(q);
}

size_t
wq_len(const struct wq *q)
{
	return q->queued;
}

size_t
wq_inflight(const struct wq *q)
{
	return (size_t)q->inflight;
}

int
wq_by_timer(const struct wq *q)
{
	return q->by_timer;
}

int
wq_failures(const struct wq *q, const char *name)
{
	struct item *it = NULL;

	HASH_FIND_STR(q->items, name, it);
	return it ? it->failures : 0;
}
