/*
 * agent_routes.c: host-gw. Keeps, for every other node's subnet that
 * api_subnets_judge marks valid (agent_subnets.c's view of P/network/),
 * `SUBNET via HOSTIP proto 95` in the main table (agent_rtnl.c); routes of
 * proto 95 nobody wants any more are deleted, which at start also removes
 * the stale ones. A sync runs 50 ms after changes (a burst makes one sync)
 * and at every resync, which also repairs routes someone removed by hand.
 * An ignored entry (bad JSON, a subnet of the wrong length or outside
 * podCIDR, a loopback or link-local gateway, one losing to an older claim)
 * gets one log line and a Warning event per revision of its key, and no
 * route. Routes stay when the agent stops. A route that cannot be made
 * because its next hop is on no link of this node says so (Warning
 * NextHopNotOnLink: host-gw needs one layer-2 network).
 *
 * With the vxlan backend the same sync keeps, per other node, the route
 * `SUBNET via SUBNET.0 dev skiff.VNI onlink` here and its neighbour and
 * forwarding entries through agent_vxlan.c, which also says which nodes
 * get a plain host-gw route instead (directRouting).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "agent_rtnl.h"
#include "agent_vxlan_calc.h"

/* An entry reported as ignored: its key and the revision reported. */
struct routes_ignored {
	char *key;
	int64_t rev;
};

struct want_ctx {
	struct agent *a;
	uint32_t self;
	struct netcalc_route *r;
	size_t n;
	struct routes_ignored *ign; /* this sync's ignored entries */
	size_t nign;
	struct vx_peer *peers; /* vxlan: the other nodes' endpoints (agent_vxlan.c) */
	size_t npeers;
};

/* This node's subnet in *c, or NULL before it has one. */
static const struct api_cidr *
own_subnet(const struct agent *a, struct api_cidr *c)
{
	return a->pod_subnet[0] && api_cidr_parse(a->pod_subnet, c, NULL) == 0 ? c : NULL;
}

static int
reported(const struct agent *a, const struct informer_obj *o)
{
	size_t i;

	for (i = 0; i < a->n_ignored; i++)
		if (a->ignored[i].rev == o->mod_revision && strcmp(a->ignored[i].key, o->key) == 0)
			return 1;
	return 0;
}

/* Entry o gets no route: say so, once per revision of its key. */
static void
ignore(struct want_ctx *w, const struct informer_obj *o, const char *why)
{
	struct agent *a = w->a;

	if (!reported(a, o)) {
		log_kv(LL_WARN, KV("key", o->key), "no route for this subnet entry: %s; fix or delete the key", why);
		recorder_eventf(a->rec, "nodes", a->o.node_name, "Warning", "Invalid", "%s: %s", o->key, why);
	}
	if ((w->ign[w->nign].key = strdup(o->key)))
		w->ign[w->nign++].rev = o->mod_revision;
}

static void
ignored_free(struct routes_ignored *r, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(r[i].key);
	free(r);
}

/* vxlan: entry i's peer into w->peers (agent_vxlan.c), or ignored. */
static void
want_peer(struct want_ctx *w, const struct subnets_view *v, size_t i)
{
	struct api_cidr own;
	char why[256];
	int rc = vxlan_peer(w->a, v, i, w->self, own_subnet(w->a, &own), &w->peers[w->npeers], why, sizeof(why));

	if (rc == 0)
		w->npeers++;
	else if (rc < 0)
		ignore(w, v->o[i], why);
}

/* One valid entry i of v: its route into w->r, unless it is our own
 * address or overlaps our subnet (netcalc_want_route says why). */
static void
want_one(struct want_ctx *w, const struct subnets_view *v, size_t i)
{
	struct api_subnet *s;
	struct api_cidr own;
	char why[256];
	int rc;

	if (w->peers) {
		want_peer(w, v, i);
		return;
	}
	if (!(s = subnets_claim(v, i)))
		return; /* the judge decoded it: only out of memory */
	rc = netcalc_want_route(&v->cfg, s->subnet, s->host_ip, w->self, own_subnet(w->a, &own), &w->r[w->n], why,
	                        sizeof(why));
	if (rc == 0)
		w->n++;
	else if (rc < 0)
		ignore(w, v->o[i], why);
	api_subnet_free(s);
}

/* The routes wanted from v into w->r, the ignored entries into w->ign
 * (both sized for v->n). */
static void
want_all(struct want_ctx *w, const struct subnets_view *v)
{
	size_t i;

	for (i = 0; i < v->n; i++) {
		if (strcmp(v->c[i].node, w->a->o.node_name) == 0)
			continue;
		if (v->valid[i])
			want_one(w, v, i);
		else
			ignore(w, v->o[i], v->why[i]);
	}
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
		if (rc < 0 && i < nadd && !r->oif && vxlan_on_link(a, r->gw) == 0)
			net_warn(a, LL_ERROR, "NextHopNotOnLink",
			         "cannot add the host-gw route %s via %s: the next hop is not on a link this node "
			         "shares (%s); host-gw needs every node on one layer-2 network: set the vxlan backend "
			         "in P/network/config",
			         dst, gw, why);
		else if (rc < 0)
			net_warn(a, LL_ERROR, "RouteFailed",
			         "cannot %s the route %s via %s: %s; retrying at the next sync",
			         i < nadd ? "add" : "delete", dst, gw, why);
		else
			log_kv(LL_INFO, KV("node", a->o.node_name, "subnet", dst, "via", gw), "%s",
			       i < nadd ? "route set" : "route deleted: no node has this subnet any more");
	}
}

/* The routes present, the diff against w's and its application. */
static void
sync_table(struct agent *a, const struct want_ctx *w)
{
	struct netcalc_route *have = NULL, *add = NULL, *del = NULL;
	size_t nh = 0, nadd = 0, ndel = 0;
	char why[256];

	if (rtnl_list(SKIFF_RTPROT, &have, &nh, why, sizeof(why)) < 0) {
		net_warn(a, LL_ERROR, "RouteFailed", "cannot read the routing table: %s; retrying at the next sync",
		         why);
		return;
	}
	add = calloc(w->n + 1, sizeof(*add));
	del = calloc(nh + 1, sizeof(*del));
	if (add && del) {
		netcalc_route_diff(w->r, w->n, have, nh, add, &nadd, del, &ndel);
		apply(a, add, nadd, del, ndel);
		log_kv(LL_DEBUG, KV("node", a->o.node_name), "routes synced: %zu wanted, %zu set, %zu deleted", w->n,
		       nadd, ndel);
	}
	free(have);
	free(add);
	free(del);
}

static void
routes_sync(struct agent *a)
{
	struct want_ctx w = {a, 0, NULL, 0, NULL, 0, NULL, 0};
	struct subnets_view v;

	if (!a->network || !informer_synced(a->network) || (vxlan_on(a) && !a->vx_ifindex) || subnets_view(a, &v) < 0)
		return;  /* vxlan: nothing before the device (agent_net.c makes it before the routes start) */
	if (!v.cfg_ok) { /* agent_net.c reports it; keep the routes we have */
		subnets_view_free(&v);
		return;
	}
	api_ipv4_parse(a->host_ip, &w.self, NULL);
	w.r = calloc(v.n + 1, sizeof(*w.r));
	w.ign = calloc(v.n + 1, sizeof(*w.ign));
	if (vxlan_on(a))
		w.peers = calloc(v.n + 1, sizeof(*w.peers));
	if (w.r && w.ign && (w.peers || !vxlan_on(a))) {
		want_all(&w, &v);
		if (w.peers)
			vxlan_sync(a, w.peers, w.npeers, w.r, &w.n);
		sync_table(a, &w);
		ignored_free(a->ignored, a->n_ignored);
		a->ignored = w.ign;
		a->n_ignored = w.nign;
		w.ign = NULL;
	}
	free(w.r);
	free(w.ign);
	free(w.peers);
	subnets_view_free(&v);
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

void
routes_soon(struct agent *a)
{
	if (!a->routes_on)
		return;
	ev_timer_stop(a->d->loop, &a->route_timer);
	ev_timer_set(&a->route_timer, 0.05, 0.0);
	ev_timer_start(a->d->loop, &a->route_timer);
}

void
routes_start(struct agent *a)
{
	if (a->routes_on)
		return;
	ev_timer_init(&a->route_timer, route_timer_cb, 0.0, 0.0);
	a->routes_on = 1;
	routes_soon(a);
}

void
routes_stop(struct agent *a)
{
	if (!a->routes_on)
		return;
	ev_timer_stop(a->d->loop, &a->route_timer);
	a->routes_on = 0;
	ignored_free(a->ignored, a->n_ignored);
	a->ignored = NULL;
	a->n_ignored = 0;
}
