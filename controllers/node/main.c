/*
 * skiff-node-controller: registers nodes (P/nodes/NODE from the agent's
 * P/nodestatus/NODE), allocates and judges pod subnets, and evicts pods
 * from nodes that are not Ready. This file holds the flags and the start;
 * the informers are nodectl_watch.c's, and a timer set by the program
 * itself runs nc_check (nodectl_evict.c) while it leads. On start, a node
 * whose lease is absent counts from the start time, and a lease key
 * present counts as just renewed. The informers, leadership, resync and
 * stop are runtime/controller.c's; there is no work queue: each tick (and
 * each resync) looks at every node.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <limits.h>

#include "daemon_ctl.h"
#include "nodectl.h"

struct nodectl NC;

static long eviction_timeout_ms;
static const char *eviction_rate = "0.1";

static int
check_rate(const struct flag *f, char *err, size_t len)
{
	const char *s = *(const char **)f->dest;
	char *end;
	double v = strtod(s, &end);

	if (end == s || *end || !(v > 0) || v > 1e6) {
		snprintf(err, len, "want nodes per second, a number above 0 (like 0.1), got \"%s\"", s);
		return -1;
	}
	return 0;
}

FLAG_BOUNDS(check_timeout, 1, LONG_MAX)

static const struct flag nc_flags[] = {
	{"eviction-timeout", FLAG_DURATION, &eviction_timeout_ms, "40s", NULL,
         "how long a node may be not Ready (lease gone or not renewed) before its pods are evicted", NULL,
         check_timeout},
	{"eviction-rate", FLAG_STRING, &eviction_rate, "0.1", NULL, "nodes evicted per second at most", "RATE",
         check_rate},
	{0},
};

static const struct skiff_prog prog = {
	.name = "skiff-node-controller",
	.summary = "Registers nodes, allocates their pod subnets and evicts the pods of nodes that are not Ready.",
	.health_addr = "",
	.elects = 1,
	.resyncs = 1,
	.flags = nc_flags,
};

static void
tick_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)loop;
	(void)t;
	(void)revents;
	if (controller_ready(NC.ctl) && !NC.d->stopping)
		nc_check(&NC);
}

static void
resync(struct controller *c, void *arg)
{
	(void)c;
	(void)arg;
	nc_check(&NC);
}

static void
stopping(void *arg)
{
	(void)arg;
	ev_timer_stop(NC.d->loop, &NC.tick);
}

static int
busy(void *arg)
{
	(void)arg;
	return NC.inflight;
}

static void
free_all(void)
{
	controller_free(NC.ctl);
	NC.ctl = NULL;
	recorder_free(NC.rec);
	nc_free_table(&NC);
}

int
main(int argc, char **argv)
{
	static struct skiff_daemon d;
	static const struct controller_config cfg = {
		.watches = nc_watches,
		.enqueue_all = resync,
		.stopping = stopping,
		.busy = busy,
		.arg = &NC,
	};
	double every;
	int rc;

	daemon_init(&d, &prog, argc, argv);
	NC.d = &d;
	NC.prefix = d.opts.prefix;
	NC.timeout = (double)eviction_timeout_ms / 1000.0;
	NC.rate = strtod(eviction_rate, NULL);
	NC.tokens = 1.0;
	NC.refilled = ev_now(d.loop);
	if (!(NC.rec = recorder_new(d.etcd, NC.prefix, "node-controller")))
		fatalx("out of memory");
	NC.m_evicted_nodes = metrics_add(d.metrics, "skiff_node_evictions_total", NULL, METRIC_COUNTER,
	                                 "nodes whose pods were evicted");
	NC.m_deletes = metrics_add(d.metrics, "skiff_node_eviction_deletes_total", NULL, METRIC_COUNTER,
	                           "binding and status keys deleted by evictions");
	NC.m_registered = metrics_add(d.metrics, "skiff_node_registrations_total", NULL, METRIC_COUNTER,
	                              "node keys created from a node's status");
	NC.m_subnets = metrics_add(d.metrics, "skiff_node_subnets_allocated_total", NULL, METRIC_COUNTER,
	                           "pod subnets allocated to nodes");
	NC.ctl = daemon_controller(&d, &cfg);
	every = NC.timeout / 4 < 0.5 ? NC.timeout / 4 : 0.5;
	ev_timer_init(&NC.tick, tick_cb, every, every);
	ev_timer_start(d.loop, &NC.tick);
	log_info("watching node leases under %s/nodeleases/ (eviction timeout %.1fs, at most %s nodes/s)", NC.prefix,
	         NC.timeout, eviction_rate);
	rc = daemon_controller_run(&d, NC.ctl, "node-controller", NULL);
	ev_timer_stop(d.loop, &NC.tick);
	free_all();
	daemon_free(&d);
	return rc;
}
