/*
 * nodectl_watch.c: the node controller's informers and its table of nodes.
 * Handlers only note what exists (node key, lease heartbeat, status,
 * subnet claim) in the table; every decision waits for the next tick
 * (nodectl_evict.c), which runs only while this process leads.
 */
#include <stdlib.h>
#include <string.h>

#include "nodectl.h"

struct nc_node *
nc_node_get(struct nodectl *nc, const char *name, int create)
{
	struct nc_node *n = NULL;

	HASH_FIND_STR(nc->table, name, n);
	if (n || !create)
		return n;
	if (!(n = calloc(1, sizeof(*n))) || !(n->name = strdup(name))) {
		free(n);
		return NULL;
	}
	n->gone_since = ev_now(nc->d->loop);
	HASH_ADD_KEYPTR(hh, nc->table, n->name, strlen(n->name), n);
	return n;
}

void
nc_node_gc(struct nodectl *nc, struct nc_node *n)
{
	if (nc_known(n) || n->has_subnet || n->inflight || n->registering || n->allocating)
		return;
	HASH_DEL(nc->table, n);
	free(n->name);
	free(n);
}

void
nc_free_table(struct nodectl *nc)
{
	struct nc_node *n, *tmp;

	HASH_ITER(hh, nc->table, n, tmp) {
		HASH_DEL(nc->table, n);
		free(n->name);
		free(n);
	}
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

/* The entry for an informer key, created; NULL for a bad name. */
static struct nc_node *
entry(const struct informer_obj *o)
{
	return valid_name(o->name) ? nc_node_get(&NC, o->name, 1) : NULL;
}

/* An outage starts (or a node is first known): count from now. */
static void
outage_start(struct nc_node *n)
{
	n->gone_since = ev_now(NC.d->loop);
	n->reported = n->evicting = n->deleted = 0;
}

static void
node_add(struct informer *inf, const struct informer_obj *o, void *arg)
{
	struct nc_node *n = entry(o);

	(void)inf;
	(void)arg;
	if (!n)
		return;
	if (!nc_known(n))
		outage_start(n);
	n->has_node = 1;
}

static void
node_del(struct informer *inf, const struct informer_obj *o, void *arg)
{
	struct nc_node *n = nc_node_get(&NC, o->name, 0);

	(void)inf;
	(void)arg;
	if (!n)
		return;
	n->has_node = 0;
	nc_node_gc(&NC, n);
}

static void
lease_add(struct informer *inf, const struct informer_obj *o, void *arg)
{
	struct nc_node *n = entry(o);

	double now = ev_now(NC.d->loop);
	int was;

	(void)inf;
	(void)arg;
	if (!n)
		return;
	was = liveness_ready(&n->beat, now);
	liveness_observe(&n->beat, o->value, o->value_len, o->mod_revision, now);
	if (was || !liveness_ready(&n->beat, now))
		return;
	if (n->reported && controller_leading(NC.ctl))
		log_kv(LL_INFO, KV("node", n->name), "node is Ready again (lease renewed)");
	n->reported = n->evicting = n->deleted = 0;
}

static void
lease_update(struct informer *inf, const struct informer_obj *old, const struct informer_obj *o, void *arg)
{
	(void)old;
	lease_add(inf, o, arg);
}

static void
lease_del(struct informer *inf, const struct informer_obj *o, void *arg)
{
	struct nc_node *n = nc_node_get(&NC, o->name, 0);

	(void)inf;
	(void)arg;
	if (!n)
		return;
	liveness_lost(&n->beat);
	outage_start(n);
	nc_node_gc(&NC, n);
}

static void
status_add(struct informer *inf, const struct informer_obj *o, void *arg)
{
	struct nc_node *n = entry(o);

	(void)inf;
	(void)arg;
	if (n && !nc_known(n))
		outage_start(n);
	if (n)
		n->has_status = 1;
	NC.subnets_dirty = 1; /* a hostIP may have changed */
}

static void
status_update(struct informer *inf, const struct informer_obj *old, const struct informer_obj *o, void *arg)
{
	(void)old;
	status_add(inf, o, arg);
}

static void
status_del(struct informer *inf, const struct informer_obj *o, void *arg)
{
	struct nc_node *n = nc_node_get(&NC, o->name, 0);

	(void)inf;
	(void)arg;
	if (!n)
		return;
	n->has_status = 0;
	nc_node_gc(&NC, n);
}

/* P/network/: "config" and "subnets/NODE". */
static void
net_add(struct informer *inf, const struct informer_obj *o, void *arg)
{
	struct nc_node *n;

	(void)inf;
	(void)arg;
	NC.subnets_dirty = 1;
	if (strncmp(o->name, "subnets/", 8) == 0 && valid_name(o->name + 8) && (n = nc_node_get(&NC, o->name + 8, 1)))
		n->has_subnet = 1;
}

static void
net_update(struct informer *inf, const struct informer_obj *old, const struct informer_obj *o, void *arg)
{
	(void)old;
	net_add(inf, o, arg);
}

static void
net_del(struct informer *inf, const struct informer_obj *o, void *arg)
{
	struct nc_node *n;

	(void)inf;
	(void)arg;
	NC.subnets_dirty = 1;
	if (strncmp(o->name, "subnets/", 8) != 0 || !(n = nc_node_get(&NC, o->name + 8, 0)))
		return;
	n->has_subnet = 0;
	n->subnet_judged = 0;
	nc_node_gc(&NC, n);
}

static void *
dec_status(const char *name, const char *value, size_t len, void *arg)
{
	struct api_errors errs = {0};
	struct api_node *s = api_node_parse(value, len, &errs);

	(void)arg;
	if (s && api_meta_check_name(&s->meta, name, &errs) < 0) {
		api_node_free(s);
		s = NULL;
	}
	api_errors_clear(&errs);
	return s;
}

static void
free_status(void *obj)
{
	api_node_free(obj);
}

const struct controller_watch nc_watches[] = {
	{"bindings", NULL, NULL, {NULL, NULL, NULL, NULL, NULL}, 0, &NC.bindings},
	{"podstatus", NULL, NULL, {NULL, NULL, NULL, NULL, NULL}, 0, &NC.podstatus},
	{"nodeleases", NULL, NULL, {lease_add, lease_update, lease_del, NULL, NULL}, 0, &NC.leases},
	{"nodes", NULL, NULL, {node_add, NULL, node_del, NULL, NULL}, 0, &NC.nodes},
	{"nodestatus", dec_status, free_status, {status_add, status_update, status_del, NULL, NULL}, 0, &NC.nodestatus},
	{"network", NULL, NULL, {net_add, net_update, net_del, NULL, NULL}, 0, &NC.network},
	{0},
};
