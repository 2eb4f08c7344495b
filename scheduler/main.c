/*
 * skiff-scheduler: binds pods to nodes. Watches P/pods/, P/nodes/,
 * P/nodeleases/ and P/bindings/; while this process leads (daemon/elect.h,
 * component "scheduler") it binds every unbound pod to a fitting node with
 * one guarded transaction and keeps bindings true as pods change or go.
 */
#include <stdlib.h>

#include "elect.h"
#include "sched.h"

struct sched S;

static long max_inflight = 256;

static const struct flag sched_flags[] = {
	{"max-binds-in-flight", FLAG_INT, &max_inflight, "256", NULL, "binds (pods) in flight at once (1..100000)",
         "N", NULL},
	{0},
};

static const struct skiff_prog prog = {
	.name = "skiff-scheduler",
	.summary = "Binds pods to nodes.",
	.health_addr = "",
	.elects = 1,
	.flags = sched_flags,
};

static void
lead(void *arg)
{
	(void)arg;
	S.leading = 1;
	wq_resume(S.q);
	sched_kick();
}

static void
follow(void *arg)
{
	(void)arg;
	S.leading = 0;
	wq_pause(S.q);
}

static double
pending_count(void *arg)
{
	(void)arg;
	return (double)HASH_COUNT(S.pending);
}

static void
metrics_init(struct metrics *m)
{
	S.m_binds = metrics_add(m, "skiff_scheduler_bindings_total", NULL, METRIC_COUNTER, "Pods bound to a node.");
	S.m_conflicts = metrics_add(m, "skiff_scheduler_bind_conflicts_total", NULL, METRIC_COUNTER,
	                            "Bind transactions whose compare failed.");
	S.m_unsched = metrics_add(m, "skiff_scheduler_unschedulable_total", NULL, METRIC_COUNTER,
	                          "Attempts that found no fitting node.");
	S.m_refresh = metrics_add(m, "skiff_scheduler_binding_refreshes_total", NULL, METRIC_COUNTER,
	                          "Binding copies refreshed after a pod change.");
	S.m_unbind = metrics_add(m, "skiff_scheduler_binding_deletes_total", NULL, METRIC_COUNTER,
	                         "Bindings deleted because their pod went away.");
	metrics_add_fn(m, "skiff_scheduler_pending_pods", NULL, METRIC_GAUGE, "Pods waiting for a node.", pending_count,
	               NULL);
}

int
main(int argc, char **argv)
{
	static struct skiff_daemon d;
	struct daemon_elect *el;
	int rc;

	daemon_init(&d, &prog, argc, argv);
	if (max_inflight < 1 || max_inflight > 100000) {
		log_errorx("--max-binds-in-flight must be between 1 and 100000, got %ld", max_inflight);
		daemon_free(&d);
		return 2;
	}
	S.d = &d;
	S.prefix = d.opts.prefix;
	S.max_inflight = max_inflight;
	if (!(S.rec = recorder_new(d.etcd, S.prefix, "scheduler")) || !(S.q = wq_new(d.loop, sched_upkeep, NULL, 32)))
		fatalx("out of memory");
	wq_pause(S.q);
	sched_init_bind();
	metrics_init(d.metrics);
	sched_watch_start();
	el = daemon_elect(&d, "scheduler", lead, follow, NULL);
	S.elect = el;
	if (daemon_on_stop(&d, "scheduler", sched_stop_hook, NULL) < 0)
		fatalx("out of memory");
	log_info("scheduling pods under %s/pods/", S.prefix);
	rc = daemon_run(&d);
	daemon_elect_free(el);
	sched_bind_free();
	sched_watch_free();
	wq_free(S.q);
	recorder_free(S.rec);
	sched_cache_free();
	daemon_free(&d);
	return rc;
}
