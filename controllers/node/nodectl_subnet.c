/*
 * nodectl_subnet.c: pod subnets. Judges every P/network/subnets/NODE claim
 * with api_subnets_judge (the same rules every consumer applies) and
 * reports each invalid one once per key revision (Warning InvalidSubnet,
 * or SubnetConflict when an older claim wins); then gives each node that
 * has a status and no claim the lowest free block, hostIP = the status's
 * InternalIP (refused with a Warning InvalidHostIP when api_hostip_check
 * or another node's claim says so). All allocations of a tick go in one
 * transaction, guarded like the agent's claim: each key still absent, no
 * key under P/network/subnets/ changed since the informer's revision, and
 * the config unchanged. It never deletes an existing claim, and rewrites
 * one only with the vxlan backend, and then only its publicIP and
 * backendData.vtepMAC, copied from the node's status (InternalIP, and the
 * VTEP MAC the node's agent reports), guarded by the key's mod revision.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nodectl.h"

#define SUBNETS "subnets/"

/* Every claim in the network informer, with the key's mod revision. */
struct claims {
	struct api_subnet_claim *c;
	int64_t *mod;
	int *valid;
	char (*why)[API_SUBNET_WHY];
	char **own; /* values of this tick's allocations, appended as valid claims */
	size_t n, cap, nown;
};

static void
claims_free(struct claims *cl)
{
	free(cl->c);
	free(cl->mod);
	free(cl->valid);
	free(cl->why);
	for (size_t i = 0; i < cl->nown; i++)
		free(cl->own[i]);
	free(cl->own);
}

static void
collect_cb(const struct informer_obj *o, void *arg)
{
	struct claims *cl = arg;

	if (strncmp(o->name, SUBNETS, strlen(SUBNETS)) != 0 || cl->n == cl->cap)
		return;
	cl->c[cl->n] = (struct api_subnet_claim){o->name + strlen(SUBNETS), o->value, o->value_len, o->create_revision};
	cl->mod[cl->n++] = o->mod_revision;
}

/* Collect and judge, with room for extra claims appended later. 0, or -1
 * when out of memory. */
static int
claims_judge(struct nodectl *nc, const struct api_network_config *cfg, struct claims *cl, size_t extra)
{
	memset(cl, 0, sizeof(*cl));
	cl->cap = informer_count(nc->network) + extra;
	cl->c = calloc(cl->cap + 1, sizeof(*cl->c));
	cl->mod = calloc(cl->cap + 1, sizeof(*cl->mod));
	cl->valid = calloc(cl->cap + 1, sizeof(*cl->valid));
	cl->why = calloc(cl->cap + 1, sizeof(*cl->why));
	cl->own = calloc(extra + 1, sizeof(*cl->own));
	if (!cl->c || !cl->mod || !cl->valid || !cl->why || !cl->own)
		return -1;
	informer_foreach(nc->network, collect_cb, cl);
	return api_subnets_judge(cfg, cl->c, cl->n, cl->valid, cl->why) < 0 ? -1 : 0;
}

/* Report each invalid claim once per revision. */
static void
claims_report(struct nodectl *nc, const struct claims *cl)
{
	struct nc_node *n;
	const char *why;
	int conflict;

	for (size_t i = 0; i < cl->n; i++) {
		if (!(n = nc_node_get(nc, cl->c[i].node, 0)))
			continue; /* a key whose name is not a node name: logged by the informer handler */
		if (cl->valid[i]) {
			n->subnet_judged = 0;
			continue;
		}
		if (n->subnet_judged == cl->mod[i])
			continue;
		n->subnet_judged = cl->mod[i];
		conflict = api_subnets_is_conflict(cl->why[i]);
		why = cl->why[i] + (conflict ? strlen("conflict: ") : 0);
		log_kv(LL_WARN, KV("node", n->name), "ignoring the node's pod subnet: %s", why);
		recorder_eventf(nc->rec, "nodes", n->name, "Warning", conflict ? "SubnetConflict" : "InvalidSubnet",
		                "pod subnet ignored by every node: %s", why);
	}
}

/* The NetworkConfig in force into cfg; -1 (reported once) when invalid.
 * *mod gets the config key's mod revision, 0 when absent. */
static int
config_of(struct nodectl *nc, struct api_network_config *cfg, int64_t *mod)
{
	const struct informer_obj *o = informer_get(nc->network, "config");
	struct api_errors e = {0};
	struct api_network_config *p;
	char *msg;

	api_network_config_default(cfg);
	*mod = o ? o->mod_revision : 0;
	if (!o)
		return 0;
	if ((p = api_network_config_parse(o->value, o->value_len, &e))) {
		*cfg = *p;
		api_network_config_free(p);
		api_errors_clear(&e);
		return 0;
	}
	if (nc->config_judged != o->mod_revision) {
		nc->config_judged = o->mod_revision;
		msg = api_errors_join(&e, "; ");
		log_kv(LL_ERROR, KV("key", o->key), "invalid network config, allocating no subnet until fixed: %s",
		       msg ? msg : "out of memory");
		free(msg);
	}
	api_errors_clear(&e);
	return -1;
}

/* One batch of allocations in flight. */
struct nc_alloc {
	struct nodectl *nc;
	size_t n;
	char node[][API_SUBDOMAIN_MAX + 1];
};

static void
alloc_done(struct etcd_result *res, void *arg)
{
	struct nc_alloc *a = arg;
	struct nodectl *nc = a->nc;
	struct nc_node *n;

	if (res->err.code == ETCD_OK) {
		/* Our own write is under P/network/: wait until the informer has
		 * it. A lost guard says only that some key there changed: its
		 * event comes and judges again. Waiting for the store's revision
		 * then could last until the next write under P/network/ or the
		 * next progress notification (minutes): a node went that long
		 * without a subnet. */
		if (res->succeeded && res->revision > nc->net_wait_rev)
			nc->net_wait_rev = res->revision;
		if (res->succeeded)
			metric_add(nc->m_subnets, (double)a->n);
		else
			log_debug("subnet allocation raced with another writer; judging again");
	} else if (res->err.code != ETCD_ECANCELED)
		log_warnx("cannot allocate pod subnets: %s (%s); trying again shortly", res->err.msg,
		          etcd_code_name(res->err.code));
	for (size_t i = 0; nc->table && i < a->n; i++)
		if ((n = nc_node_get(nc, a->node[i], 0))) {
			n->allocating = 0;
			nc_node_gc(nc, n);
		}
	nc->subnets_dirty = 1;
	free(a);
	nc_write_ended(nc);
}

/* Why n gets no subnet, once per status revision. */
static void
refuse(struct nodectl *nc, struct nc_node *n, int64_t rev, int bad_ip, const char *why)
{
	if (n->hostip_judged == rev)
		return;
	n->hostip_judged = rev;
	log_kv(LL_WARN, KV("node", n->name), "no pod subnet for the node: %s", why);
	if (bad_ip)
		recorder_eventf(nc->rec, "nodes", n->name, "Warning", "InvalidHostIP",
		                "no pod subnet: the node's InternalIP is refused as a hostIP: %s", why);
}

/* Add n's allocation to t and to the claims (so the next one avoids it).
 * Returns 1 when added. */
static int
alloc_one(struct nodectl *nc, const struct api_network_config *cfg, struct claims *cl, struct nc_node *n,
          struct etcd_txn *t)
{
	const struct informer_obj *o = informer_get(nc->nodestatus, n->name);
	struct api_subnet s = {0};
	char why[API_SUBNET_WHY], block[24], key[API_KEY_MAX];
	struct api_cidr pick;
	struct api_error e;
	char *val;
	int rc;

	if (!o || !o->obj)
		return 0;
	s.host_ip = (char *)api_node_address(o->obj, "InternalIP");
	if (cfg->backend.type == API_BACKEND_VXLAN) { /* what the other agents' VXLAN entries need */
		s.public_ip = s.host_ip;
		s.vtep_mac = ((const struct api_node *)o->obj)->status.vtep_mac;
	}
	rc = api_subnets_allocate(cfg, cl->c, cl->n, cl->valid, s.host_ip, &pick, why, sizeof(why));
	if (rc != 0) {
		refuse(nc, n, o->mod_revision, rc < 0, why);
		return 0;
	}
	api_cidr_format(&pick, block, sizeof(block));
	s.subnet = block;
	if (api_key_object(key, sizeof(key), nc->prefix, API_SUBNET, n->name, &e) < 0 ||
	    !(val = api_subnet_serialize(&s)))
		return 0;
	etcd_txn_cmp(t, key, ETCD_CMP_CREATE, ETCD_CMP_EQUAL, 0);
	etcd_txn_put(t, ETCD_TXN_SUCCESS, key, val, strlen(val), 0);
	cl->own[cl->nown++] = val;
	cl->c[cl->n] = (struct api_subnet_claim){n->name, val, strlen(val), INT64_MAX};
	cl->valid[cl->n++] = 1;
	log_kv(LL_INFO, KV("node", n->name), "allocating pod subnet %s (hostIP %s)", block, s.host_ip);
	return 1;
}

/* The guards every batch shares: nothing under P/network/subnets/ changed
 * since the informer's revision, the config as judged. */
static void
guard(struct nodectl *nc, struct etcd_txn *t, int64_t cfg_mod)
{
	char dir[API_KEY_MAX], cfg[API_KEY_MAX];

	snprintf(dir, sizeof(dir), "%s/network/" SUBNETS, nc->prefix);
	snprintf(cfg, sizeof(cfg), "%s/network/config", nc->prefix);
	etcd_txn_cmp_prefix(t, dir, ETCD_CMP_MOD, ETCD_CMP_LESS, informer_revision(nc->network) + 1);
	if (cfg_mod)
		etcd_txn_cmp(t, cfg, ETCD_CMP_MOD, ETCD_CMP_EQUAL, cfg_mod);
	else
		etcd_txn_cmp(t, cfg, ETCD_CMP_CREATE, ETCD_CMP_EQUAL, 0);
}

/* Nodes in one allocation: one compare each, the guards' two more, under
 * etcd's --max-txn-ops (128 per list). The rest wait for the next pass,
 * which the batch's completion brings (subnets_dirty). */
#define NC_ALLOC_BATCH 100

/* Allocate to the nodes that need a subnet, at most NC_ALLOC_BATCH of
 * them, in one transaction. */
static void
allocate(struct nodectl *nc, const struct api_network_config *cfg, int64_t cfg_mod, struct claims *cl, size_t need)
{
	struct etcd_error err = {0};
	struct nc_node *n, *tmp;
	struct nc_alloc *a;
	struct etcd_txn *t = etcd_txn_new();

	if (need > NC_ALLOC_BATCH)
		need = NC_ALLOC_BATCH;
	a = calloc(1, sizeof(*a) + need * sizeof(a->node[0]));

	if (!a || !t)
		goto fail;
	a->nc = nc;
	HASH_ITER(hh, nc->table, n, tmp) {
		if (a->n < need && n->has_status && !n->has_subnet && !n->allocating && alloc_one(nc, cfg, cl, n, t))
			snprintf(a->node[a->n++], sizeof(a->node[0]), "%s", n->name);
	}
	if (a->n == 0)
		goto fail;
	guard(nc, t, cfg_mod);
	if (etcd_txn_commit(nc->d->etcd, t, alloc_done, a, &err) < 0) { /* t consumed */
		log_warnx("cannot allocate pod subnets: %s", err.msg);
		free(a);
		return;
	}
	for (size_t i = 0; i < a->n; i++)
		if ((n = nc_node_get(nc, a->node[i], 0)))
			n->allocating = 1;
	nc->inflight++;
	return;
fail:
	etcd_txn_free(t);
	free(a);
}

/* One backendData rewrite in flight. */
static void
backend_done(struct etcd_result *res, void *arg)
{
	struct nodectl *nc = arg;

	if (res->err.code != ETCD_OK && res->err.code != ETCD_ECANCELED)
		log_warnx("cannot copy a node's vtepMAC into its subnet entry: %s; trying again shortly", res->err.msg);
	nc->subnets_dirty = 1;
	nc_write_ended(nc);
}

static int
differs(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "") != 0;
}

/* vxlan: claim i's publicIP and backendData.vtepMAC as its node's status
 * says (the MAC only once reported; nothing else of the claim changes),
 * written when they differ, guarded by the key's mod revision. */
static void
backend_copy(struct nodectl *nc, const struct claims *cl, size_t i)
{
	const struct informer_obj *o = informer_get(nc->nodestatus, cl->c[i].node);
	struct api_errors e = {0};
	struct api_subnet *s = api_subnet_parse(cl->c[i].value, cl->c[i].len, &e);
	const struct api_node *n = o ? o->obj : NULL;
	const char *ip = n ? api_node_address(n, "InternalIP") : NULL, *mac = n ? n->status.vtep_mac : NULL;
	char key[API_KEY_MAX], *val = NULL, *pi, *pm;
	struct etcd_error err = {0};
	struct etcd_txn *t;

	api_errors_clear(&e);
	if (!s || !ip || (!differs(s->public_ip, ip) && (!mac || !differs(s->vtep_mac, mac))) ||
	    api_key_object(key, sizeof(key), nc->prefix, API_SUBNET, cl->c[i].node, NULL) < 0)
		goto done;
	pi = s->public_ip;
	pm = s->vtep_mac;
	s->public_ip = (char *)ip;
	s->vtep_mac = mac ? (char *)mac : pm;
	val = api_subnet_serialize(s);
	s->public_ip = pi;
	s->vtep_mac = pm;
	if (!val || !(t = etcd_txn_new()))
		goto done;
	etcd_txn_cmp(t, key, ETCD_CMP_MOD, ETCD_CMP_EQUAL, cl->mod[i]);
	etcd_txn_put(t, ETCD_TXN_SUCCESS, key, val, strlen(val), 0);
	log_kv(LL_INFO, KV("node", cl->c[i].node), "copying publicIP %s and vtepMAC %s into the subnet entry", ip,
	       mac ? mac : "(not reported yet)");
	if (etcd_txn_commit(nc->d->etcd, t, backend_done, nc, &err) == 0)
		nc->inflight++;
	else
		log_warnx("cannot copy a node's vtepMAC into its subnet entry: %s", err.msg);
done:
	free(val);
	api_subnet_free(s);
}

/* Nodes with a status and no claim. */
static size_t
needing(const struct nodectl *nc)
{
	const struct nc_node *n, *tmp;
	size_t k = 0;

	HASH_ITER(hh, nc->table, n, tmp) {
		k += n->has_status && !n->has_subnet && !n->allocating;
	}
	return k;
}

void
nc_subnets(struct nodectl *nc)
{
	struct api_network_config cfg;
	struct claims cl;
	size_t need = needing(nc);
	int64_t cfg_mod;

	if (!nc->subnets_dirty && need == 0)
		return;
	if (config_of(nc, &cfg, &cfg_mod) < 0)
		return;
	if (claims_judge(nc, &cfg, &cl, need) < 0) {
		claims_free(&cl);
		return;
	}
	nc->subnets_dirty = 0;
	claims_report(nc, &cl);
	for (size_t i = 0; cfg.backend.type == API_BACKEND_VXLAN && nc->allocate && i < cl.n; i++)
		if (cl.valid[i])
			backend_copy(nc, &cl, i);
	if (need && nc->allocate && informer_revision(nc->network) >= nc->net_wait_rev)
		allocate(nc, &cfg, cfg_mod, &cl, need);
	claims_free(&cl);
}
