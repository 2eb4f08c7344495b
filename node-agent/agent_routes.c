/*
 * agent_routes.c: host-gw. Watches P/network/subnets/ with an informer
 * and keeps, for every other node's subnet, `SUBNET via HOSTIP proto 95`
 * in the main table (agent_rtnl.c); routes of proto 95 nobody wants any
 * more are deleted, which at start also removes the stale ones. A sync
 * runs 50 ms after changes (a burst makes one sync) and at every resync,
 * which also repairs routes someone removed by hand. Entries that are
 * unusable (bad JSON, a subnet outside podCIDR) get a log line and a
 * Warning event when they appear, and no route. Routes stay when the
 * agent stops.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "agent_rtnl.h"

struct want_ctx {
	struct agent *a;
	uint32_t self;
	struct netcalc_route *r;
	size_t n;
};

/* This node's claimed subnet in *c, or NULL before the claim. */
static const struct api_cidr *
own_subnet(const struct agent *a, struct api_cidr *c)
{
	return a->pod_subnet[0] && api_cidr_parse(a->pod_subnet, c, NULL) == 0 ? c : NULL;
}

static void
want_one(const struct informer_obj *o, void *arg)
{
	struct want_ctx *w = arg;
	const struct api_subnet *s = o->obj;
	struct api_cidr own;
	char why[256];

	if (!s || strcmp(o->name, w->a->o.node_name) == 0)
		return;
	if (netcalc_want_route(&w->a->netcfg, s->subnet, s->host_ip, w->self, own_subnet(w->a, &own), &w->r[w->n], why,
	                       sizeof(why)) == 0)
		w->n++;
}

static void
apply(struct agent *a, const struct netcalc_route *add, size_t nadd, const struct netcalc_route *del, size_t ndel)
{
	char dst[24], gw[16], why[256];
	size_t i;

	for (i = 0; i < nadd + ndel; i++) {
		const struct netcalc_route *r = i < nadd ? &add[i] : &del[i - nadd];
		int rc = i < nadd ? rtnl_replace(r, SKIFF_RTPROT, why, sizeof(why))
		                  : rtnl_delete(r, SKIFF_RTPROT, why, sizeof(why));

		api_cidr_format(&r->dst, dst, sizeof(dst));
		api_ipv4_format(r->gw, gw, sizeof(gw));
		if (rc < 0)
			net_warn(a, LL_ERROR, "RouteFailed",
			         "cannot %s the route %s via %s: %s; retrying at the next sync",
			         i < nadd ? "add" : "delete", dst, gw, why);
		else
			log_kv(LL_INFO, KV("node", a->o.node_name, "subnet", dst, "via", gw), "%s",
			       i < nadd ? "route set" : "route deleted: no node has this subnet any more");
	}
}

static void
routes_sync(struct agent *a)
{
	struct want_ctx w = {a, 0, NULL, 0};
	struct netcalc_route *have = NULL, *add = NULL, *del = NULL;
	size_t nh = 0, nadd = 0, ndel = 0;
	char why[256];

	if (!informer_synced(a->subnets))
		return;
	api_ipv4_parse(a->host_ip, &w.self, NULL);
	w.r = calloc(informer_count(a->subnets) + 1, sizeof(*w.r));
	if (!w.r)
		goto out;
	informer_foreach(a->subnets, want_one, &w);
	if (rtnl_list(SKIFF_RTPROT, &have, &nh, why, sizeof(why)) < 0) {
		net_warn(a, LL_ERROR, "RouteFailed", "cannot read the routing table: %s; retrying at the next sync",
		         why);
		goto out;
	}
	add = calloc(w.n + 1, sizeof(*add));
	del = calloc(nh + 1, sizeof(*del));
	if (!add || !del)
		goto out;
	netcalc_route_diff(w.r, w.n, have, nh, add, &nadd, del, &ndel);
	apply(a, add, nadd, del, ndel);
	log_kv(LL_DEBUG, KV("node", a->o.node_name), "routes synced: %zu wanted, %zu set, %zu deleted", w.n, nadd,
	       ndel);
out:
	free(w.r);
	free(have);
	free(add);
	free(del);
}

static void
route_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct agent *a = (struct agent *)((char *)w - offsetof(struct agent, route_timer));

	(void)loop;
	(void)revents;
	routes_sync(a);
	net_fw_peers_check(a);
	ev_timer_set(w, (double)a->o.resync_ms / 1000.0, 0.0);
	ev_timer_start(a->d->loop, w);
}

static void
soon(struct agent *a)
{
	ev_timer_stop(a->d->loop, &a->route_timer);
	ev_timer_set(&a->route_timer, 0.05, 0.0);
	ev_timer_start(a->d->loop, &a->route_timer);
}

static void *
decode_subnet(const char *name, const char *value, size_t len, void *arg)
{
	struct api_errors e = {0};
	struct api_subnet *s;

	(void)arg;
	if (api_check_dns_subdomain(name, NULL) < 0)
		return NULL;
	s = api_subnet_parse(value, len, &e);
	api_errors_clear(&e);
	return s;
}

static void
free_subnet(void *obj)
{
	api_subnet_free(obj);
}

/* Say once, when an entry appears or changes, why it gets no route. */
static void
check_entry(struct agent *a, const struct informer_obj *o)
{
	const struct api_subnet *s = o->obj;
	struct netcalc_route r;
	struct api_cidr own;
	uint32_t self = 0;
	char why[256], q[128];

	if (strcmp(o->name, a->o.node_name) == 0)
		return;
	api_ipv4_parse(a->host_ip, &self, NULL);
	if (!s)
		snprintf(why, sizeof(why), "not a valid Subnet object (name %s)", api_quote(q, sizeof(q), o->name));
	else if (netcalc_want_route(&a->netcfg, s->subnet, s->host_ip, self, own_subnet(a, &own), &r, why,
	                            sizeof(why)) >= 0)
		return;
	log_kv(LL_WARN, KV("key", o->key), "no route for this subnet entry: %s; fix or delete the key", why);
	recorder_eventf(a->rec, "nodes", a->o.node_name, "Warning", "Invalid", "%s: %s", o->key, why);
}

static void
s_add(struct informer *inf, const struct informer_obj *o, void *arg)
{
	(void)inf;
	check_entry(arg, o);
	soon(arg);
}

static void
s_update(struct informer *inf, const struct informer_obj *old, const struct informer_obj *o, void *arg)
{
	(void)old;
	s_add(inf, o, arg);
}

static void
s_del(struct informer *inf, const struct informer_obj *old, void *arg)
{
	(void)inf;
	(void)old;
	soon(arg);
}

static void
s_synced(struct informer *inf, void *arg)
{
	(void)inf;
	soon(arg);
}

static void
s_error(struct informer *inf, const struct etcd_error *err, void *arg)
{
	(void)arg;
	log_kv(LL_WARN, KV("prefix", informer_prefix(inf)), "watch trouble: %s; recovering by itself", err->msg);
}

void
routes_start(struct agent *a)
{
	static const struct informer_handlers h = {s_add, s_update, s_del, s_synced, s_error};
	char dir[API_KEY_MAX];

	if (a->subnets || api_key_dir(dir, sizeof(dir), a->prefix, API_SUBNET, NULL, NULL) < 0)
		return;
	ev_timer_init(&a->route_timer, route_timer_cb, 0.0, 0.0);
	a->subnets = informer_new(a->d->etcd, dir, decode_subnet, free_subnet, &h, a);
	if (!a->subnets) {
		net_warn(a, LL_ERROR, "RouteFailed", "out of memory: no host-gw routes; restart the agent");
		return;
	}
	informer_start(a->subnets);
}

void
routes_stop(struct agent *a)
{
	if (!a->subnets)
		return;
	ev_timer_stop(a->d->loop, &a->route_timer);
	informer_free(a->subnets);
	a->subnets = NULL;
}
