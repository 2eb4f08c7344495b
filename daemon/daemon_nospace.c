/*
 * daemon_nospace.c: what every program does while etcd is out of space.
 *
 * When a call ends in NOSPACE (etcd's database is over its quota and the
 * alarm refuses writes), the etcd client tells us once. From then on: one
 * warning now and one per minute while it lasts (not one per failed
 * write), the gauge skiff_etcd_nospace at 1, and a status call every 5 s
 * to see whether the alarm is gone; when it is, one line saying so, the
 * gauge back to 0 and the client's note cleared, so that writers that
 * held back (the event recorder) write again. Nothing restarts.
 *
 * What it does not do: compact, defragment or disarm etcd; that is the
 * operator's decision (docs/troubleshooting.md gives the commands).
 */
#include "daemon_internal.h"

#define POLL_S 5.0
#define REPEAT_S 60.0

static void
said(struct skiff_daemon *d, int first)
{
	log_kv(LL_WARN, KV("endpoint", etcd_client_endpoint(d->etcd)),
	       "%setcd refuses writes: its database is over its space quota (NOSPACE alarm); statuses may go stale "
	       "and events are dropped until an operator compacts, defragments and disarms it "
	       "(docs/troubleshooting.md, \"etcd itself\")",
	       first ? "" : "still: ");
	d->nospace_said = ev_now(d->loop);
}

static void
on_status(struct etcd_result *res, void *arg)
{
	struct skiff_daemon *d = arg;

	d->nospace_polling = 0;
	if (res->err.code == ETCD_ECANCELED || !d->etcd)
		return;
	if (res->err.code != ETCD_OK || res->alarm_nospace) {
		if (ev_now(d->loop) - d->nospace_said >= REPEAT_S)
			said(d, 0);
		return;
	}
	ev_timer_stop(d->loop, &d->nospace_timer);
	etcd_client_nospace_clear(d->etcd);
	metric_set(d->m_nospace, 0);
	log_kv(LL_INFO, KV("endpoint", etcd_client_endpoint(d->etcd)), "etcd accepts writes again (no NOSPACE alarm)");
}

static void
poll_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct skiff_daemon *d = w->data;
	struct etcd_error err = {0};

	(void)loop, (void)revents;
	if (d->nospace_polling || !d->etcd)
		return;
	if (etcd_status(d->etcd, on_status, d, &err) == 0)
		d->nospace_polling = 1;
}

static void
on_nospace(void *arg)
{
	struct skiff_daemon *d = arg;

	metric_set(d->m_nospace, 1);
	said(d, 1);
	if (!ev_is_active(&d->nospace_timer)) {
		ev_timer_set(&d->nospace_timer, POLL_S, POLL_S);
		ev_timer_start(d->loop, &d->nospace_timer);
	}
}

void
daemon_nospace_start(struct skiff_daemon *d)
{
	d->m_nospace = metrics_add(d->metrics, "skiff_etcd_nospace", NULL, METRIC_GAUGE,
	                           "1 while etcd refuses writes for lack of space (NOSPACE alarm).");
	ev_timer_init(&d->nospace_timer, poll_cb, POLL_S, POLL_S);
	d->nospace_timer.data = d;
	etcd_client_on_nospace(d->etcd, on_nospace, d);
}

void
daemon_nospace_stop(struct skiff_daemon *d)
{
	if (d->loop)
		ev_timer_stop(d->loop, &d->nospace_timer);
}
