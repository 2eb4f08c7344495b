/*
 * daemon_stop.c: stopping. SIGTERM and SIGINT arrive as ev_signal events
 * (never in signal context); the stop hooks then run one at a time, last
 * registered first, each possibly waiting for its own callbacks; then the
 * loop breaks. A second signal, or twice --etcd-timeout, cuts this short.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "daemon_internal.h"

struct daemon_hook {
	struct daemon_hook *next;
	char *name;
	daemon_stop_fn fn;
	void *arg;
};

int
daemon_on_stop(struct skiff_daemon *d, const char *name, daemon_stop_fn fn, void *arg)
{
	struct daemon_hook *h = calloc(1, sizeof(*h));

	if (!h || !(h->name = strdup(name))) {
		free(h);
		return -1;
	}
	h->fn = fn;
	h->arg = arg;
	h->next = d->hooks;
	d->hooks = h;
	if (!d->stopping)
		d->next_hook = d->hooks;
	return 0;
}

static void
finish(struct skiff_daemon *d)
{
	ev_timer_stop(d->loop, &d->stop_timer);
	d->stopped = 1;
	ev_break(d->loop, EVBREAK_ALL);
}

/* Run hooks until one is pending or none is left. */
static void
run_hooks(struct skiff_daemon *d)
{
	while (d->next_hook) {
		struct daemon_hook *h = d->next_hook;

		d->next_hook = h->next;
		d->waiting = 1;
		d->in_hook = 1;
		d->current_hook = h->name;
		log_kv(LL_DEBUG, KV("hook", h->name), "running stop hook");
		if (h->fn(d, h->arg) == DAEMON_DONE)
			d->waiting = 0;
		d->in_hook = 0;
		if (d->waiting)
			return;
	}
	finish(d);
}

void
daemon_stop_done(struct skiff_daemon *d)
{
	if (!d->waiting)
		return;
	d->waiting = 0;
	if (!d->in_hook)
		run_hooks(d);
}

static void
on_stop_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct skiff_daemon *d = w->data;

	(void)loop, (void)revents;
	log_kv(LL_WARN, KV("hook", d->waiting ? d->current_hook : NULL),
	       "stop hooks did not finish within %.1fs (twice --etcd-timeout); stopping anyway",
	       2.0 * (double)d->opts.etcd_timeout_ms / 1000.0);
	d->next_hook = NULL;
	d->waiting = 0;
	finish(d);
}

void
daemon_stop(struct skiff_daemon *d, int code)
{
	double grace = 2.0 * (double)d->opts.etcd_timeout_ms / 1000.0;

	if (d->stopping)
		return;
	d->stopping = 1;
	d->exit_code = code;
	ev_timer_init(&d->stop_timer, on_stop_timeout, grace, 0.);
	d->stop_timer.data = d;
	ev_timer_start(d->loop, &d->stop_timer);
	run_hooks(d);
}

static void
on_signal(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct skiff_daemon *d = w->data;
	const char *sig = w->signum == SIGTERM ? "SIGTERM" : "SIGINT";

	(void)loop, (void)revents;
	if (d->stopping) {
		log_kv(LL_WARN, KV("signal", sig), "second signal: stopping now, skipping the remaining stop hooks");
		d->next_hook = NULL;
		d->waiting = 0;
		finish(d);
		return;
	}
	log_kv(LL_INFO, KV("signal", sig), "stopping");
	daemon_stop(d, 0);
}

void
daemon_signals_start(struct skiff_daemon *d)
{
	ev_signal_init(&d->sigterm, on_signal, SIGTERM);
	ev_signal_init(&d->sigint, on_signal, SIGINT);
	d->sigterm.data = d->sigint.data = d;
	ev_signal_start(d->loop, &d->sigterm);
	ev_signal_start(d->loop, &d->sigint);
}

void
daemon_stop_cleanup(struct skiff_daemon *d)
{
	struct daemon_hook *h, *next;

	ev_signal_stop(d->loop, &d->sigterm);
	ev_signal_stop(d->loop, &d->sigint);
	ev_timer_stop(d->loop, &d->stop_timer);
	for (h = d->hooks; h; h = next) {
		next = h->next;
		free(h->name);
		free(h);
	}
	d->hooks = d->next_hook = NULL;
}
