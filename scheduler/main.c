/*
 * skiff-scheduler: binds pods to nodes. Watches P/pods/, P/nodes/,
 * P/nodeleases/, P/bindings/ and P/services/; while this process leads
 * (daemon/elect.h, component "scheduler") it binds every unbound pod to a
 * fitting node with one guarded transaction and keeps bindings true as
 * pods change or go. The informers, the upkeep queue, leadership, resync
 * and stop are runtime/controller.c's.
 */
#include <limits.h>
#include <stdlib.h>

#include "daemon_ctl.h"
#include "sched.h"

struct sched S;

static long max_inflight = 256;
FLAG_BOUNDS(check_inflight, 1, 100000)
static long score_pct = 0;
FLAG_BOUNDS(check_score_pct, 0, 100)

static const struct flag sched_flags[] = {
	{"max-binds-in-flight", FLAG_INT, &max_inflight, "256", NULL, "binds (pods) in flight at once (1..100000)", "N",
         check_inflight},
	{"percentage-of-nodes-to-score", FLAG_INT, &score_pct, "0", NULL,
         "feasible nodes a decision looks for, in % of the nodes, before scoring (0: adaptive, "
         "50 % - nodes/125, at least 5 %; 100: all; never fewer than 100 nodes)",
         "PCT", check_score_pct},
	{0},
};

static const struct skiff_prog prog = {
	.name = "skiff-scheduler",
	.summary = "Binds pods to nodes.",
	.health_addr = "",
	.elects = 1,
	.resyncs = 1,
	.flags = sched_flags,
};

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
	static const struct controller_config cfg = {
		.watches = sched_watches,
		.reconcile = sched_upkeep,
		.workers = 32,
		.enqueue_all = sched_resync,
		.stopping = sched_stopping,
		.busy = sched_busy,
	};
	int rc;

	daemon_init(&d, &prog, argc, argv);
	S.d = &d;
	S.prefix = d.opts.prefix;
	S.max_inflight = max_inflight;
	S.score_pct = (int)score_pct;
	if (!(S.rec = recorder_new(d.etcd, S.prefix, "scheduler")))
		fatalx("out of memory");
	sched_init_bind();
	metrics_init(d.metrics);
	S.ctl = daemon_controller(&d, &cfg);
	S.q = controller_queue(S.ctl);
	log_info("scheduling pods under %s/pods/", S.prefix);
	rc = daemon_controller_run(&d, S.ctl, "scheduler", &S.elect);
	sched_bind_free();
	controller_free(S.ctl);
	S.ctl = NULL;
	S.q = NULL;
	recorder_free(S.rec);
	sched_cache_free();
	daemon_free(&d);
	return rc;
}
