/*
 * controller.c: see controller.h. Each informer gets the controller's own
 * handlers, which pass events on to the program's and add the gating: the
 * queue runs only while leading, synced and not stopping, and becoming so
 * enqueues everything. The resync timer runs always and acts only while
 * ready.
 *
 * It does not decide what a key means, nor which keys an event concerns:
 * that is the program's handlers and reconcile function.
 */
#include <ev.h>
#include <stdio.h>
#include <stdlib.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "controller.h"

struct ctl_watch {
	struct controller *c;
	const struct controller_watch *w;
	struct informer *inf;
};

struct controller {
	struct ev_loop *loop;
	struct controller_config cfg;
	struct ctl_watch *watches;
	size_t nwatches;
	struct wq *q;
	int leading, stopping, running; /* running: the queue is resumed */
	ev_timer trim;                  /* twice, after the first lists (trim_cb) */
	int trimmed;                    /* 0: not started, then 1 + trims done */
	ev_timer resync;
	void (*done)(void *);
	void *done_arg;
};

static void
w_add(struct informer *inf, const struct informer_obj *o, void *arg)
{
	struct ctl_watch *cw = arg;

	if (cw->w->h.add)
		cw->w->h.add(inf, o, cw->c->cfg.arg);
}

static void
w_update(struct informer *inf, const struct informer_obj *old, const struct informer_obj *o, void *arg)
{
	struct ctl_watch *cw = arg;

	if (cw->w->h.update)
		cw->w->h.update(inf, old, o, cw->c->cfg.arg);
}

static void
w_del(struct informer *inf, const struct informer_obj *old, void *arg)
{
	struct ctl_watch *cw = arg;

	if (cw->w->h.del)
		cw->w->h.del(inf, old, cw->c->cfg.arg);
}

static void
w_error(struct informer *inf, const struct etcd_error *err, void *arg)
{
	struct ctl_watch *cw = arg;

	if (cw->w->h.error)
		cw->w->h.error(inf, err, cw->c->cfg.arg);
	else if (cw->c->cfg.error)
		cw->c->cfg.error(inf, err, cw->c->cfg.arg);
}

static void
add_name(const struct informer_obj *o, void *arg)
{
	wq_add(arg, o->name);
}

static void
enqueue_all(struct controller *c)
{
	if (c->cfg.enqueue_all)
		c->cfg.enqueue_all(c, c->cfg.arg);
	else if (c->q && c->nwatches > 0)
		informer_foreach(c->watches[0].inf, add_name, c->q);
}

/* Start or stop the queue as readiness changed; becoming ready enqueues
 * everything (a new leader, or a cache that just filled). */
static void
update(struct controller *c)
{
	int ready = controller_ready(c);

	if (ready == c->running)
		return;
	c->running = ready;
	if (!ready) {
		if (c->q)
			wq_pause(c->q);
		return;
	}
	if (c->q)
		wq_resume(c->q);
	enqueue_all(c);
}

/* Every first list has been applied. Each held its whole prefix's values
 * at once (etcd_list delivers one result); they are free now, once the
 * lists' results and the first passes are done, but malloc keeps such
 * pages in the middle of the heap: about 1 kB a pod in the replication
 * controller. Give them back 1 s after, and again 10 s after (first
 * passes that waited for their own writes, a loaded machine). */
static void
trim_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct controller *c = t->data;

	(void)revents;
#ifdef __GLIBC__
	malloc_trim(0);
#endif
	if (++c->trimmed > 2)
		ev_timer_stop(loop, t);
}

static void
w_synced(struct informer *inf, void *arg)
{
	struct ctl_watch *cw = arg;

	if (cw->w->h.synced)
		cw->w->h.synced(inf, cw->c->cfg.arg);
	update(cw->c);
	if (controller_synced(cw->c) && !cw->c->trimmed) {
		cw->c->trimmed = 1;
		ev_timer_start(cw->c->loop, &cw->c->trim);
	}
}

static void
resync_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct controller *c = t->data;

	(void)loop;
	(void)revents;
	if (c->running)
		enqueue_all(c);
}

static int
make_watches(struct controller *c, struct etcd_client *etcd)
{
	static const struct informer_handlers h = {w_add, w_update, w_del, w_synced, w_error};
	const struct controller_watch *w = c->cfg.watches;
	char prefix[512];
	size_t n = 0;

	while (w && w[n].dir)
		n++;
	if (n && !(c->watches = calloc(n, sizeof(*c->watches))))
		return -1;
	c->nwatches = n;
	for (size_t i = 0; i < c->nwatches; i++) {
		struct ctl_watch *cw = &c->watches[i];

		cw->c = c;
		cw->w = &w[i];
		if ((size_t)snprintf(prefix, sizeof(prefix), "%s/%s/", c->cfg.prefix, w[i].dir) >= sizeof(prefix) ||
		    !(cw->inf = informer_new(etcd, prefix, w[i].decode, w[i].free_obj, &h, cw)))
			return -1;
		if (w[i].drop_values)
			informer_drop_values(cw->inf);
		if (w[i].out)
			*w[i].out = cw->inf;
	}
	return 0;
}

struct controller *
controller_new(struct ev_loop *loop, struct etcd_client *etcd, const struct controller_config *cfg)
{
	struct controller *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->loop = loop;
	c->cfg = *cfg;
	ev_timer_init(&c->resync, resync_cb, cfg->resync, cfg->resync);
	c->resync.data = c;
	ev_timer_init(&c->trim, trim_cb, 1.0, 9.0);
	c->trim.data = c;
	if (cfg->reconcile) {
		if (!(c->q = wq_new(loop, cfg->reconcile, cfg->arg, cfg->workers > 0 ? cfg->workers : 1)))
			goto fail;
		if (cfg->backoff_base > 0)
			wq_set_backoff(c->q, cfg->backoff_base, cfg->backoff_cap);
		wq_pause(c->q);
	}
	if (make_watches(c, etcd) < 0)
		goto fail;
	return c;
fail:
	controller_free(c);
	return NULL;
}

void
controller_start(struct controller *c)
{
	for (size_t i = 0; i < c->nwatches; i++)
		informer_start(c->watches[i].inf);
	if (c->cfg.resync > 0)
		ev_timer_start(c->loop, &c->resync);
	update(c);
}

void
controller_lead(struct controller *c)
{
	c->leading = 1;
	update(c);
}

void
controller_follow(struct controller *c)
{
	c->leading = 0;
	update(c);
}

int
controller_leading(const struct controller *c)
{
	return c->leading;
}

int
controller_synced(const struct controller *c)
{
	for (size_t i = 0; i < c->nwatches; i++)
		if (!c->watches[i].inf || !informer_synced(c->watches[i].inf))
			return 0;
	return 1;
}

int
controller_ready(const struct controller *c)
{
	return c->leading && !c->stopping && controller_synced(c);
}

struct wq *
controller_queue(const struct controller *c)
{
	return c->q;
}

void
controller_add(struct controller *c, const char *name)
{
	if (c->q)
		wq_add(c->q, name);
}

struct informer *
controller_informer(const struct controller *c, size_t i)
{
	return i < c->nwatches ? c->watches[i].inf : NULL;
}

static int
idle(const struct controller *c)
{
	return (!c->q || wq_inflight(c->q) == 0) && (!c->cfg.busy || c->cfg.busy(c->cfg.arg) == 0);
}

int
controller_stop(struct controller *c, void (*done)(void *), void *arg)
{
	c->stopping = 1;
	ev_timer_stop(c->loop, &c->resync);
	ev_timer_stop(c->loop, &c->trim);
	update(c);
	if (c->cfg.stopping)
		c->cfg.stopping(c->cfg.arg);
	if (idle(c))
		return 1;
	c->done = done;
	c->done_arg = arg;
	return 0;
}

void
controller_settled(struct controller *c)
{
	void (*done)(void *) = c->done;

	if (!c->stopping || !done || !idle(c))
		return;
	c->done = NULL;
	done(c->done_arg);
}

void
controller_free(struct controller *c)
{
	if (!c)
		return;
	ev_timer_stop(c->loop, &c->resync);
	ev_timer_stop(c->loop, &c->trim);
	for (size_t i = c->nwatches; i-- > 0;) {
		informer_free(c->watches[i].inf);
		if (c->watches[i].w->out)
			*c->watches[i].w->out = NULL;
	}
	free(c->watches);
	if (c->q)
		wq_free(c->q);
	free(c);
}
