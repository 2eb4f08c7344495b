/*
 * elect.c: leader election glue for daemons (elect.h): the campaign, the
 * logs a person needs ("became leader", "lost leadership: …"), a
 * skiff_leader gauge, and a stop hook that resigns before the program
 * exits.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "elect.h"
#include "leader.h"

#define ELECT_TTL 10

struct daemon_elect {
	struct skiff_daemon *d;
	struct leader *l;
	void (*lead)(void *);
	void (*follow)(void *);
	void *arg;
	int leading;
	struct metric *gauge;
	ev_timer start; /* lead() without election, from the loop */
	char component[64];
};

static void
set_leading(struct daemon_elect *e, int on)
{
	e->leading = on;
	metric_set(e->gauge, on);
	if (on)
		e->lead(e->arg);
	else
		e->follow(e->arg);
}

static void
started(struct leader *l, void *arg)
{
	struct daemon_elect *e = arg;

	log_kv(LL_INFO, KV("election", leader_key(l)), "became leader of %s; starting work", e->component);
	set_leading(e, 1);
}

static void
stopped(struct leader *l, void *arg)
{
	struct daemon_elect *e = arg;

	(void)l;
	log_kv(LL_WARN, KV("election", e->component),
	       "lost leadership (lease in doubt, lost, or resigned); stopped acting, campaigning again");
	set_leading(e, 0);
}

static void
failed(struct leader *l, const struct etcd_error *err, void *arg)
{
	struct daemon_elect *e = arg;

	(void)l;
	log_kv(LL_WARN, KV("election", e->component), "leader election: %s; retrying", err->msg);
}

static void
stale(struct leader *l, const char *key, double age, void *arg)
{
	struct daemon_elect *e = arg;

	(void)l;
	log_kv(LL_WARN, KV("election", e->component, "key", key),
	       "the candidate before us did not rewrite its election key for %.1fs (dead, with its lease kept alive "
	       "by someone); deleted the key and going on",
	       age);
}

static void
start_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct daemon_elect *e = (struct daemon_elect *)((char *)t - offsetof(struct daemon_elect, start));

	(void)loop;
	(void)revents;
	set_leading(e, 1);
}

static void
resigned(void *arg)
{
	daemon_stop_done(arg);
}

static int
stop_hook(struct skiff_daemon *d, void *arg)
{
	struct daemon_elect *e = arg;

	if (!e->l) {
		if (e->leading)
			set_leading(e, 0);
		return DAEMON_DONE;
	}
	log_kv(LL_INFO, KV("election", e->component), "resigning leadership before exit");
	leader_resign(e->l, resigned, d);
	return DAEMON_PENDING;
}

struct daemon_elect *
daemon_elect(struct skiff_daemon *d, const char *component, void (*lead)(void *), void (*follow)(void *), void *arg)
{
	static const struct leader_callbacks cb = {started, stopped, failed, stale};
	struct daemon_elect *e = calloc(1, sizeof(*e));
	char election[300], id[256], host[64] = "unknown";

	if (!e)
		fatalx("out of memory");
	e->d = d;
	e->lead = lead;
	e->follow = follow;
	e->arg = arg;
	snprintf(e->component, sizeof(e->component), "%s", component);
	e->gauge = metrics_add(d->metrics, "skiff_leader", NULL, METRIC_GAUGE, "1 while this process leads");
	if (!d->opts.leader_elect) {
		ev_timer_init(&e->start, start_cb, 0.0, 0.0);
		ev_timer_start(d->loop, &e->start);
	} else {
		gethostname(host, sizeof(host) - 1);
		snprintf(id, sizeof(id), "%s-%ld %s %s", host, (long)getpid(), d->prog->name, SKIFF_VERSION_TEXT);
		snprintf(election, sizeof(election), "%s/leaders/%s", d->opts.prefix, component);
		if (!(e->l = leader_new(d->etcd, election, id, ELECT_TTL, &cb, e)))
			fatalx("out of memory");
		leader_start(e->l);
	}
	daemon_on_stop(d, "leader election", stop_hook, e);
	return e;
}

int
daemon_elect_leading(const struct daemon_elect *e)
{
	return e->leading;
}

int
daemon_elect_fence(const struct daemon_elect *e, const char **key, int64_t *rev)
{
	if (!e->l)
		return 0;
	if (!e->leading || !leader_key(e->l))
		return -1;
	*key = leader_key(e->l);
	*rev = leader_revision(e->l);
	return 1;
}

void
daemon_elect_free(struct daemon_elect *e)
{
	if (!e)
		return;
	ev_timer_stop(e->d->loop, &e->start);
	leader_free(e->l);
	free(e);
}
