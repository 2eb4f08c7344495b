/*
 * skiff-node-controller: evicts pods from nodes whose lease is gone.
 * Watches nodes and node leases (which nodes exist and which are Ready)
 * and bindings and pod status (what an eviction deletes); a timer set by
 * the program itself checks, while it leads, which nodes have been
 * without lease for longer than the eviction timeout (nodectl_evict.c).
 * On start, a node whose lease is absent counts from the start time.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "elect.h"
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
		snprintf(err, len, "--%s: want nodes per second, a number above 0 (like 0.1), got \"%s\"", f->name, s);
		return -1;
	}
	return 0;
}

static int
check_timeout(const struct flag *f, char *err, size_t len)
{
	if (*(long *)f->dest <= 0) {
		snprintf(err, len, "--%s: must be above 0", f->name);
		return -1;
	}
	return 0;
}

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
	if (n->reported && NC.leading)
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
watch_error(struct informer *inf, const struct etcd_error *err, void *arg)
{
	(void)arg;
	log_kv(LL_WARN, KV("prefix", informer_prefix(inf)), "%s", err->msg);
}

static void
tick_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)loop;
	(void)t;
	(void)revents;
	if (!NC.leading || NC.d->stopping || !informer_synced(NC.nodes) || !informer_synced(NC.leases) ||
	    !informer_synced(NC.bindings) || !informer_synced(NC.podstatus))
		return;
	nc_check(&NC);
}

static void
lead(void *arg)
{
	(void)arg;
	NC.leading = 1;
}

static void
follow(void *arg)
{
	(void)arg;
	NC.leading = 0;
}

static int
stop_hook(struct skiff_daemon *d, void *arg)
{
	(void)d;
	(void)arg;
	ev_timer_stop(NC.d->loop, &NC.tick);
	if (NC.inflight == 0)
		return DAEMON_DONE;
	NC.stop_waiting = 1;
	return DAEMON_PENDING;
}

static struct informer *
watch(const char *dir, const struct informer_handlers *h)
{
	char prefix[API_PREFIX_MAX + 32];
	struct informer *inf;

	snprintf(prefix, sizeof(prefix), "%s/%s/", NC.prefix, dir);
	if (!(inf = informer_new(NC.d->etcd, prefix, NULL, NULL, h, NULL)))
		fatalx("out of memory");
	informer_start(inf);
	return inf;
}

static void
free_all(void)
{
	struct nc_node *n, *tmp;

	informer_free(NC.nodes);
	informer_free(NC.leases);
	informer_free(NC.bindings);
	informer_free(NC.podstatus);
	recorder_free(NC.rec);
	HASH_ITER(hh, NC.table, n, tmp) {
		HASH_DEL(NC.table, n);
		free(n->name);
		free(n);
	}
}

int
main(int argc, char **argv)
{
	static struct skiff_daemon d;
	static const struct informer_handlers h_node = {node_add, node_update, node_del, NULL, watch_error};
	static const struct informer_handlers h_lease = {lease_add, NULL, lease_del, NULL, watch_error};
	static const struct informer_handlers h_keys = {NULL, NULL, NULL, NULL, watch_error};
	struct daemon_elect *el;
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
	NC.bindings = watch("bindings", &h_keys);
	NC.podstatus = watch("podstatus", &h_keys);
	NC.leases = watch("nodeleases", &h_lease);
	NC.nodes = watch("nodes", &h_node);
	every = NC.timeout / 4 < 0.5 ? NC.timeout / 4 : 0.5;
	ev_timer_init(&NC.tick, tick_cb, every, every);
	ev_timer_start(d.loop, &NC.tick);
	if (daemon_on_stop(&d, "evictions", stop_hook, NULL) < 0)
		fatalx("out of memory");
	el = daemon_elect(&d, "node-controller", lead, follow, NULL);
	log_info("watching node leases under %s/nodeleases/ (eviction timeout %.1fs, at most %s nodes/s)", NC.prefix,
	         NC.timeout, eviction_rate);
	rc = daemon_run(&d);
	ev_timer_stop(d.loop, &NC.tick);
	daemon_elect_free(el);
	free_all();
	daemon_free(&d);
	return rc;
}
