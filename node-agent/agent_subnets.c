/*
 * agent_subnets.c: the watch on P/network/ (the NetworkConfig and every
 * node's P/network/subnets/NODE, raw values in one informer) and the view
 * both agent_net.c (this node's own subnet) and agent_routes.c (the other
 * nodes' routes) take of it: each subnet judged by api_subnets_judge
 * against the config in force, so that every consumer believes the same
 * claims (oldest valid claim wins, gateways never loopback, link-local or
 * inside the pod or service networks).
 *
 * It never writes a subnet: the node controller allocates them. It does
 * not log; its users do.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"

#define SUBNETS_DIR "subnets/"

static void
collect_one(const struct informer_obj *o, void *arg)
{
	struct subnets_view *v = arg;
	size_t dl = strlen(SUBNETS_DIR);

	if (strncmp(o->name, SUBNETS_DIR, dl) != 0 || !o->name[dl] || strchr(o->name + dl, '/'))
		return;
	v->o[v->n] = o;
	v->c[v->n] =
		(struct api_subnet_claim){o->name + dl, o->value ? o->value : "", o->value_len, o->create_revision};
	v->n++;
}

int
subnets_view(const struct agent *a, struct subnets_view *v)
{
	const struct informer_obj *cfg = informer_get(a->network, "config");
	size_t max = informer_count(a->network) + 1;

	memset(v, 0, sizeof(*v));
	v->cfg_rev = cfg ? cfg->mod_revision : 0;
	v->cfg_ok = netcalc_config(cfg ? cfg->value : NULL, cfg ? cfg->value_len : 0, &v->cfg, v->cfg_why,
	                           sizeof(v->cfg_why)) == 0;
	v->o = calloc(max, sizeof(*v->o));
	v->c = calloc(max, sizeof(*v->c));
	v->valid = calloc(max, sizeof(*v->valid));
	v->why = calloc(max, sizeof(*v->why));
	if (!v->o || !v->c || !v->valid || !v->why) {
		subnets_view_free(v);
		return -1;
	}
	informer_foreach(a->network, collect_one, v);
	if (v->cfg_ok && api_subnets_judge(&v->cfg, v->c, v->n, v->valid, v->why) < 0) {
		subnets_view_free(v);
		return -1;
	}
	return 0;
}

long
subnets_find(const struct subnets_view *v, const char *node)
{
	size_t i;

	for (i = 0; i < v->n; i++)
		if (strcmp(v->c[i].node, node) == 0)
			return (long)i;
	return -1;
}

struct api_subnet *
subnets_claim(const struct subnets_view *v, size_t i)
{
	struct api_errors e = {0};
	struct api_subnet *s = api_subnet_parse(v->c[i].value, v->c[i].len, &e);

	api_errors_clear(&e);
	return s;
}

void
subnets_view_free(struct subnets_view *v)
{
	free(v->o);
	free(v->c);
	free(v->valid);
	free(v->why);
	memset(v, 0, sizeof(*v));
}

/* ---------------------------------------------------------------- watch */

static void
changed(struct agent *a)
{
	net_changed(a);
	routes_soon(a);
}

static void
w_add(struct informer *inf, const struct informer_obj *o, void *arg)
{
	(void)inf;
	(void)o;
	changed(arg);
}

static void
w_update(struct informer *inf, const struct informer_obj *old, const struct informer_obj *o, void *arg)
{
	(void)old;
	w_add(inf, o, arg);
}

static void
w_del(struct informer *inf, const struct informer_obj *old, void *arg)
{
	w_add(inf, old, arg);
}

static void
w_synced(struct informer *inf, void *arg)
{
	(void)inf;
	changed(arg);
}

static void
w_error(struct informer *inf, const struct etcd_error *err, void *arg)
{
	(void)arg;
	log_kv(LL_WARN, KV("prefix", informer_prefix(inf)), "watch trouble: %s; recovering by itself", err->msg);
}

int
subnets_start(struct agent *a)
{
	static const struct informer_handlers h = {w_add, w_update, w_del, w_synced, w_error};
	char dir[API_KEY_MAX];

	if (a->network)
		return 0;
	snprintf(dir, sizeof(dir), "%s/network/", a->prefix);
	a->network = informer_new(a->d->etcd, dir, NULL, NULL, &h, a);
	if (!a->network)
		return -1;
	informer_start(a->network);
	return 0;
}

void
subnets_stop(struct agent *a)
{
	if (!a->network)
		return;
	informer_free(a->network);
	a->network = NULL;
}
