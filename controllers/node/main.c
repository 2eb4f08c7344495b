/*
 * skiff-node-controller: evicts pods from nodes whose lease is gone.
 * Watches nodes and node leases (which nodes exist and which are Ready)
 * and bindings and pod status (what an eviction deletes); a timer set by
 * the program itself checks, while it leads, which nodes have been
 * without lease for longer than the eviction timeout (nodectl_evict.c).
 * On start, a node whose lease is absent counts from the start time.
 * The informers, leadership, resync and stop are runtime/controller.c's;
 * there is no work queue: each tick (and each resync) looks at every node.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <limits.h>

#include "daemon_ctl.h"
#include "nodectl.h"

static struct nodectl NC;

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
         "how long a node's lease may be gone before its pods are evicted", NULL, check_timeout},
	{"eviction-rate", FLAG_STRING, &eviction_rate, "0.1", NULL, "nodes evicted per second at most", "RATE",
         check_rate},
	{0},
};

static const struct skiff_prog prog = {
	.name = "skiff-node-controller",
	.summary = "Evicts the pods of nodes whose lease is gone.",
	.health_addr = "",
	.elects = 1,
	.resyncs = 1,
	.flags = nc_flags,
};

static struct nc_node *
node_get(const char *name, int create)
{
	struct nc_node *n = NULL;

	HASH_FIND_STR(NC.table, name, n);
	if (n || !create)
		return n;
	if (!(n = calloc(1, sizeof(*n))) || !(n->name = strdup(name))) {
		free(n);
		return NULL;
	}
	HASH_ADD_KEYPTR(hh, NC.table, n->name, strlen(n->name), n);
	return n;
}

static void
node_maybe_free(struct nc_node *n)
{
	if (n->has_node || n->has_lease || n->inflight)
		return;
	HASH_DEL(NC.table, n);
	free(n->name);
	free(n);
}

static int
valid_name(const char *name)
{
	struct api_error e;

	if (api_check_dns_subdomain(name, &e) == 0)
		return 1;
	log_kv(LL_WARN, KV("node", name), "ignoring key with an invalid node name: %s", e.msg);
	return 0;
}

static void
lease_lost(struct nc_node *n)
{
	n->gone_since = ev_now(NC.d->loop);
	n->reported = n->evicting = n->deleted = 0;
}

static void
node_add(struct informer *inf, const struct informer_obj *o, void *arg)
{
	struct nc_node *n;

	(void)inf;
	(void)arg;
	if (!valid_name(o->name) || !(n = node_get(o->name, 1)))
		return;
	if (!n->has_node && !n->has_lease)
		lease_lost(n);
	n->has_node = 1;
}

static void
node_update(struct informer *inf, const struct informer_obj *old, const struct informer_obj *o, void *arg)
{
	(void)inf;
	(void)old;
	(void)o;
	(void)arg;
}

static void
node_del(struct informer *inf, const struct informer_obj *o, void *arg)
{
	struct nc_node *n = node_get(o->name, 0);

	(void)inf;
	(void)arg;
	if (!n)
		return;
	n->has_node = 0;
	node_maybe_free(n);
}

static void
lease_add(struct informer *inf, const struct informer_obj *o, void *arg)
{
	struct nc_node *n;

	(void)inf;
	(void)arg;
	if (!valid_name(o->name) || !(n = node_get(o->name, 1)))
		return;
	if (n->reported && controller_leading(NC.ctl))
		log_kv(LL_INFO, KV("node", n->name), "node is Ready again (lease back)");
	n->has_lease = 1;
	n->reported = n->evicting = 0;
}

static void
lease_del(struct informer *inf, const struct informer_obj *o, void *arg)
{
	struct nc_node *n = node_get(o->name, 0);

	(void)inf;
	(void)arg;
	if (!n)
		return;
	n->has_lease = 0;
	lease_lost(n);
	node_maybe_free(n);
}

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
	struct nc_node *n, *tmp;

	controller_free(NC.ctl);
	NC.ctl = NULL;
	recorder_free(NC.rec);
	HASH_ITER(hh, NC.table, n, tmp) {
		HASH_DEL(NC.table, n);
		free(n->name);
		free(n);
	}
}

static const struct controller_watch watches[] = {
	{"bindings", NULL, NULL, {NULL, NULL, NULL, NULL, NULL}, 0, &NC.bindings},
	{"podstatus", NULL, NULL, {NULL, NULL, NULL, NULL, NULL}, 0, &NC.podstatus},
	{"nodeleases", NULL, NULL, {lease_add, NULL, lease_del, NULL, NULL}, 0, &NC.leases},
	{"nodes", NULL, NULL, {node_add, node_update, node_del, NULL, NULL}, 0, &NC.nodes},
	{0},
};

int
main(int argc, char **argv)
{
	static struct skiff_daemon d;
	static const struct controller_config cfg = {
		.watches = watches,
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
