/*
 * daemon_ctl.c: the glue of daemon_ctl.h between a controller and a
 * daemon: defaults from the common flags, a log line per informer error,
 * leadership from elect.c, and a stop hook that waits for the
 * controller's work in flight. What the controller does is its own.
 */
#include <stdlib.h>

#include "daemon_ctl.h"

static void
watch_error(struct informer *inf, const struct etcd_error *err, void *arg)
{
	(void)arg;
	log_kv(LL_WARN, KV("prefix", informer_prefix(inf)), "%s; retrying", err->msg);
}

struct controller *
daemon_controller(struct skiff_daemon *d, const struct controller_config *cfg)
{
	struct controller_config c = *cfg;
	struct controller *ctl;

	if (!c.prefix)
		c.prefix = d->opts.prefix;
	if (c.resync == 0)
		c.resync = (double)d->opts.resync_ms / 1000.0;
	if (!c.error)
		c.error = watch_error;
	informer_default_max_value((size_t)d->opts.max_value_bytes);
	if (!(ctl = controller_new(d->loop, d->etcd, &c)))
		fatalx("out of memory");
	return ctl;
}

static void
lead(void *arg)
{
	controller_lead(arg);
}

static void
follow(void *arg)
{
	controller_follow(arg);
}

static void
stopped(void *arg)
{
	daemon_stop_done(arg);
}

static int
stop_hook(struct skiff_daemon *d, void *arg)
{
	return controller_stop(arg, stopped, d) ? DAEMON_DONE : DAEMON_PENDING;
}

int
daemon_controller_run(struct skiff_daemon *d, struct controller *c, const char *component, struct daemon_elect **elect)
{
	struct daemon_elect *e = NULL;
	int rc;

	if (d->prog->elects)
		e = daemon_elect(d, component, lead, follow, c);
	else
		controller_lead(c);
	/* Registered last, run first: finish the writes in flight while
	 * still leading, then resign. */
	if (daemon_on_stop(d, component, stop_hook, c) < 0)
		fatalx("out of memory");
	if (elect)
		*elect = e;
	controller_start(c);
	rc = daemon_run(d);
	if (elect)
		*elect = NULL;
	daemon_elect_free(e);
	return rc;
}
