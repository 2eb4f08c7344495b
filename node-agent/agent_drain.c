/*
 * agent_drain.c: the drain gate of agent_drain.h. Three caches: P/endpoints/
 * (which pod IPs a proxy may pick for a new connection: `addresses` only,
 * since no proxy sends anything to notReadyAddresses), P/proxystatus/ (the
 * endpoints revision each node's skiff-proxy has in force) and
 * P/nodeleases/ watched for deletions only (informer_deletes_only): a
 * node's heartbeat rewrites its lease key every few seconds, and were the
 * puts watched, every heartbeat of the cluster would reach every agent.
 * A node is waited for while its lease is known (found by the last list,
 * not seen deleted since) or, once its lease was seen gone, when its proxy
 * has written a report since (drain_node_live): that is how a node that
 * came back shows. A node whose proxy never reported is not waited for.
 * The verdict is agent_drain_calc.c's. Every cache change recomputes, on
 * the next loop turn, the verdict of each pod IP asked about and kicks
 * those whose verdict changed.
 *
 * "The highest endpoints revision seen" is the highest mod revision of an
 * endpoints value the cache took, or, after a deletion the watch reported,
 * the cache's revision then (a change's revision, which every proxy's
 * watch reaches too). A deletion found by listing again (after a
 * compaction) has no revision to go by: then only the values count.
 *
 * It does not bound the wait (the planner does, by the grace period), nor
 * decide which pods to stop, nor map an IP to a pod (the kick's owner does).
 */
#include <stdlib.h>
#include <string.h>
#include <uthash.h>

#include "agent.h"
#include "agent_drain.h"
#include "agent_drain_calc.h"

/* A node whose lease was seen gone, and the revision then. */
struct drain_gone {
	int64_t rev;
	UT_hash_handle hh;
	char name[];
};

struct drain_ip {
	char ip[20];
	uint32_t addr;
	struct drain_mem m;
	int last; /* the verdict given last */
	UT_hash_handle hh;
};

struct drain {
	struct ev_loop *loop;
	struct informer *eps, *proxies, *leases;
	drain_kick_fn kick;
	void *arg;
	struct recorder *rec; /* Warning events on node, when set (drain_new) */
	const char *node;
	void (*eps_synced)(void *); /* drain_on_synced */
	void *eps_synced_arg;
	struct drain_ip *ips;
	ev_timer soon; /* recompute on the next loop turn */
	int64_t highest;
	int deleted;         /* an endpoints deletion since the last recompute */
	uint64_t lists_seen; /* the endpoints cache's list count then */
	int eps_dirty;       /* the listed IPs must be built again */
	uint32_t *listed;    /* drain_listed */
	size_t n_listed;
	struct drain_gone *gone; /* nodes whose lease was seen deleted */
	int64_t lease_base;      /* the first lease list's revision: what it did not find was gone then */
};

static void
changed(struct drain *d)
{
	if (!ev_is_active(&d->soon))
		ev_timer_start(d->loop, &d->soon);
}

static void
gone_clear(struct drain *d, const char *node)
{
	struct drain_gone *g = NULL;

	HASH_FIND_STR(d->gone, node, g);
	if (g) {
		HASH_DEL(d->gone, g);
		free(g);
	}
}

/* Out of memory, the node counts as gone at the lease list's revision:
 * a later report keeps it waited for (the safe side). */
static void
gone_set(struct drain *d, const char *node, int64_t rev)
{
	size_t n = strlen(node) + 1;
	struct drain_gone *g = NULL;

	HASH_FIND_STR(d->gone, node, g);
	if (!g && (g = calloc(1, sizeof(*g) + n))) {
		memcpy(g->name, node, n);
		HASH_ADD_STR(d->gone, name, g);
	}
	if (g)
		g->rev = rev;
}

static void
ep_put(struct drain *d, const struct informer_obj *o)
{
	if (o->mod_revision > d->highest)
		d->highest = o->mod_revision;
	d->eps_dirty = 1;
	changed(d);
}

static void
on_add(struct informer *inf, const struct informer_obj *o, void *arg)
{
	struct drain *d = arg;

	if (inf == d->eps)
		ep_put(d, o);
	else if (inf == d->leases) /* found by a list */
		gone_clear(d, o->name);
	changed(d);
}

static void
on_update(struct informer *inf, const struct informer_obj *old, const struct informer_obj *o, void *arg)
{
	(void)old;
	on_add(inf, o, arg);
}

static void
on_del(struct informer *inf, const struct informer_obj *old, void *arg)
{
	struct drain *d = arg;

	if (inf == d->eps) {
		d->deleted = 1;
		d->eps_dirty = 1;
	} else if (inf == d->leases) {
		gone_set(d, old->name, informer_change_revision(inf));
	} else {
		gone_clear(d, old->name); /* the proxy stopped cleanly; a new report is a running proxy */
	}
	changed(d);
}

static void
on_synced(struct informer *inf, void *arg)
{
	struct drain *d = arg;

	if (inf == d->leases)
		d->lease_base = informer_revision(inf);
	else if (inf == d->eps && d->eps_synced)
		d->eps_synced(d->eps_synced_arg);
	changed(d);
}

/* Decode a value of kind k (API_ENDPOINTS or API_PROXYSTATUS); a bad one
 * is logged and left out (obj NULL): invalid endpoints list nobody, and
 * the node of an invalid proxy status is not waited for. A proxy status
 * whose node is not its key's is bad too: a node reports for itself only. */
static void *
decode_kind(struct drain *d, enum api_kind k, const char *name, const char *value, size_t len)
{
	struct api_errors errs = {0};
	void *obj = api_parse(k, value, len, &errs);
	char *why;

	if (obj && k == API_PROXYSTATUS && api_proxy_status_check_key(obj, name, &errs) < 0) {
		api_free(k, obj);
		obj = NULL;
	}
	if (!obj) {
		why = api_errors_join(&errs, "; ");
		log_kv(LL_WARN, KV(k == API_ENDPOINTS ? "service" : "node", name), "drain: ignoring invalid %s: %s",
		       k == API_ENDPOINTS ? "endpoints" : "proxy status", why ? why : "out of memory");
		recorder_eventf(d->rec, "nodes", d->node, "Warning",
		                k == API_ENDPOINTS ? "InvalidEndpoints" : "InvalidProxyStatus",
		                "%s %s ignored by the drain gate: %s",
		                k == API_ENDPOINTS ? "endpoints" : "proxy status", name, why ? why : "out of memory");
		free(why);
	}
	api_errors_clear(&errs);
	return obj;
}

static void *
decode_endpoints(const char *name, const char *value, size_t len, void *arg)
{
	return decode_kind(arg, API_ENDPOINTS, name, value, len);
}

static void *
decode_proxy(const char *name, const char *value, size_t len, void *arg)
{
	return decode_kind(arg, API_PROXYSTATUS, name, value, len);
}

static void
free_endpoints(void *obj)
{
	api_endpoints_free(obj);
}

static void
free_proxy(void *obj)
{
	api_proxy_status_free(obj);
}

struct live_walk {
	struct drain *d;
	struct drain_proxy *p;
	size_t n;
};

static void
live_one(const struct informer_obj *o, void *arg)
{
	struct live_walk *w = arg;
	const struct api_proxy_status *s = o->obj;
	struct drain_gone *g = NULL;

	if (!s)
		return;
	HASH_FIND_STR(w->d->gone, o->name, g);
	w->p[w->n].rev = s->endpoints_revision;
	w->p[w->n].live = drain_node_live(informer_get(w->d->leases, o->name) != NULL, o->mod_revision,
	                                  g ? g->rev : w->d->lease_base);
	w->n++;
}

struct ep_walk {
	const struct api_endpoints **v;
	size_t n;
};

static void
ep_one(const struct informer_obj *o, void *arg)
{
	struct ep_walk *w = arg;

	w->v[w->n++] = o->obj;
}

/* Build the listed IPs again when the endpoints changed: 0, or -1 when
 * out of memory (the old ones stay, and it is tried again later). */
static int
relist(struct drain *d)
{
	struct ep_walk w = {NULL, 0};
	uint32_t *ips;
	size_t n;

	if (!d->eps_dirty)
		return 0;
	if (!(w.v = calloc(informer_count(d->eps) + 1, sizeof(*w.v))))
		return -1;
	informer_foreach(d->eps, ep_one, &w);
	if (drain_listed(w.v, w.n, &ips, &n) < 0) {
		free(w.v);
		return -1;
	}
	free(w.v);
	free(d->listed);
	d->listed = ips;
	d->n_listed = n;
	d->eps_dirty = 0;
	return 0;
}

/* The view of the caches now. 0, or -1 when out of memory. */
static int
view(struct drain *d, struct drain_view *v)
{
	struct live_walk w = {d, calloc(informer_count(d->proxies) + 1, sizeof(*w.p)), 0};
	struct informer_stats st;

	informer_stats(d->eps, &st);
	if (d->deleted && st.lists == d->lists_seen && informer_revision(d->eps) > d->highest)
		d->highest = informer_revision(d->eps);
	d->deleted = 0;
	d->lists_seen = st.lists;
	if (!w.p || relist(d) < 0) {
		free(w.p);
		return -1;
	}
	informer_foreach(d->proxies, live_one, &w);
	v->synced = informer_synced(d->eps) && informer_synced(d->proxies) && informer_synced(d->leases);
	v->highest = d->highest;
	v->min_live = drain_min_live(w.p, w.n);
	free(w.p);
	v->ips = d->listed;
	v->n_ips = d->n_listed;
	return 0;
}

static void
soon_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct drain *d = t->data;
	struct drain_ip *e, *tmp;
	struct drain_view v;
	char ip[sizeof(e->ip)];

	(void)loop, (void)revents;
	ev_timer_set(&d->soon, 0.0, 0.0);
	if (view(d, &v) < 0) {
		ev_timer_set(&d->soon, 1.0, 0.0); /* out of memory: later */
		ev_timer_start(d->loop, &d->soon);
		return;
	}
	HASH_ITER(hh, d->ips, e, tmp) {
		int r = drain_decide(&v, e->addr, &e->m);

		if (r == e->last)
			continue;
		e->last = r;
		memcpy(ip, e->ip, sizeof(ip));
		d->kick(d->arg, ip);
	}
}

struct drain *
drain_open(struct etcd_client *c, const char *prefix, drain_kick_fn kick, void *arg)
{
	static const struct informer_handlers h = {on_add, on_update, on_del, on_synced, NULL};
	struct drain *d = calloc(1, sizeof(*d));
	char dir[3][API_KEY_MAX];
	struct api_error err;

	if (!d)
		return NULL;
	d->loop = etcd_client_loop(c);
	d->kick = kick;
	d->arg = arg;
	d->eps_dirty = 1;
	ev_timer_init(&d->soon, soon_cb, 0.0, 0.0);
	d->soon.data = d;
	if (api_key_dir(dir[0], sizeof(dir[0]), prefix, API_ENDPOINTS, NULL, &err) < 0 ||
	    api_key_dir(dir[1], sizeof(dir[1]), prefix, API_PROXYSTATUS, NULL, &err) < 0 ||
	    api_key_dir(dir[2], sizeof(dir[2]), prefix, API_NODELEASE, NULL, &err) < 0 ||
	    !(d->eps = informer_new(c, dir[0], decode_endpoints, free_endpoints, &h, d)) ||
	    !(d->proxies = informer_new(c, dir[1], decode_proxy, free_proxy, &h, d)) ||
	    !(d->leases = informer_new(c, dir[2], NULL, NULL, &h, d))) {
		drain_free(d);
		return NULL;
	}
	informer_drop_values(d->eps);
	informer_drop_values(d->proxies);
	informer_drop_values(d->leases);
	informer_deletes_only(d->leases);
	informer_start(d->eps);
	informer_start(d->proxies);
	informer_start(d->leases);
	return d;
}

struct drain *
drain_new(struct agent *a, drain_kick_fn kick, void *arg)
{
	struct drain *d = drain_open(a->d->etcd, a->prefix, kick, arg);

	if (d) { /* set before the first value can arrive: the loop has not run */
		d->rec = a->rec;
		d->node = a->o.node_name;
	}
	return d;
}

struct informer *
drain_endpoints(struct drain *d)
{
	return d ? d->eps : NULL;
}

void
drain_on_synced(struct drain *d, void (*fn)(void *arg), void *arg)
{
	d->eps_synced = fn;
	d->eps_synced_arg = arg;
}

int
drain_busy(struct drain *d, const char *pod_ip)
{
	struct drain_ip *e = NULL;
	struct drain_view v;
	struct api_error err;
	uint32_t addr;

	if (!d || !pod_ip || !*pod_ip || api_ipv4_parse(pod_ip, &addr, &err) < 0)
		return 0;
	HASH_FIND_STR(d->ips, pod_ip, e);
	if (!e) {
		if (!(e = calloc(1, sizeof(*e))))
			return 1; /* out of memory: the grace period still bounds it */
		snprintf(e->ip, sizeof(e->ip), "%s", pod_ip);
		e->addr = addr;
		HASH_ADD_STR(d->ips, ip, e);
	}
	if (view(d, &v) < 0)
		return 1;
	e->last = drain_decide(&v, addr, &e->m);
	return e->last;
}

long long
drain_revision(const struct drain *d)
{
	return d ? d->highest : 0;
}

void
drain_forget(struct drain *d, const char *pod_ip)
{
	struct drain_ip *e = NULL;

	if (!d || !pod_ip)
		return;
	HASH_FIND_STR(d->ips, pod_ip, e);
	if (e) {
		HASH_DEL(d->ips, e);
		free(e);
	}
}

void
drain_free(struct drain *d)
{
	struct drain_ip *e, *tmp;
	struct drain_gone *g, *gtmp;

	if (!d)
		return;
	ev_timer_stop(d->loop, &d->soon);
	informer_free(d->eps);
	informer_free(d->proxies);
	informer_free(d->leases);
	HASH_ITER(hh, d->ips, e, tmp) {
		HASH_DEL(d->ips, e);
		free(e);
	}
	HASH_ITER(hh, d->gone, g, gtmp) {
		HASH_DEL(d->gone, g);
		free(g);
	}
	free(d->listed);
	free(d);
}
