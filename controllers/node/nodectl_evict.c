/*
 * nodectl_evict.c: what the node controller does about nodes without a
 * lease: a Warning event (NodeNotReady) at once; after the eviction
 * timeout, when the rate limiter (a token bucket of one token refilled at
 * --eviction-rate per second) grants it, delete every P/bindings/NODE/…
 * and P/podstatus/NODE/… key, each in a transaction that compares the
 * key's mod revision and that the lease key is still absent. While every
 * known node is without a lease it evicts nothing ("full disruption").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nodectl.h"

struct nc_del {
	struct nodectl *nc;
	char node[API_SUBDOMAIN_MAX + 1];
	char key[API_KEY_MAX];
};

void
nc_count(const struct nodectl *nc, int *total, int *ready)
{
	const struct nc_node *n, *tmp;

	*total = *ready = 0;
	HASH_ITER(hh, nc->table, n, tmp) {
		(*total)++;
		*ready += n->has_lease;
	}
}

void
nc_delete_ended(struct nodectl *nc)
{
	if (--nc->inflight == 0 && nc->ctl)
		controller_settled(nc->ctl);
}

static void
del_done(struct etcd_result *res, void *arg)
{
	struct nc_del *dl = arg;
	struct nodectl *nc = dl->nc;
	struct nc_node *n = NULL;

	if (nc->table)
		HASH_FIND_STR(nc->table, dl->node, n);
	if (res->err.code != ETCD_OK && res->err.code != ETCD_ECANCELED)
		log_kv(LL_WARN, KV("node", dl->node, "key", dl->key),
		       "cannot delete key of a node without lease: %s (%s); trying again shortly", res->err.msg,
		       etcd_code_name(res->err.code));
	else if (res->err.code == ETCD_OK && res->succeeded) {
		metric_inc(nc->m_deletes);
		if (n)
			n->deleted++;
	}
	if (n && --n->inflight == 0 && n->deleted > 0 && !n->has_lease)
		log_kv(LL_INFO, KV("node", n->name),
		       "evicted: %d binding and status keys deleted so far; the scheduler places those pods again",
		       n->deleted);
	free(dl);
	nc_delete_ended(nc);
}

struct sweep {
	struct nodectl *nc;
	struct nc_node *n;
	char lease_key[API_KEY_MAX];
	size_t nlen;
	int sent;
};

static void
sweep_cb(const struct informer_obj *o, void *arg)
{
	struct sweep *s = arg;
	struct etcd_error err = {0};
	struct etcd_txn *t;
	struct nc_del *dl;

	if (strncmp(o->name, s->n->name, s->nlen) != 0 || o->name[s->nlen] != '/')
		return;
	if (!(dl = calloc(1, sizeof(*dl))) || !(t = etcd_txn_new())) {
		free(dl);
		return;
	}
	dl->nc = s->nc;
	snprintf(dl->node, sizeof(dl->node), "%s", s->n->name);
	snprintf(dl->key, sizeof(dl->key), "%s", o->key);
	etcd_txn_cmp(t, s->lease_key, ETCD_CMP_CREATE, ETCD_CMP_EQUAL, 0);
	etcd_txn_cmp(t, o->key, ETCD_CMP_MOD, ETCD_CMP_EQUAL, o->mod_revision);
	etcd_txn_delete(t, ETCD_TXN_SUCCESS, o->key, 0);
	if (etcd_txn_commit(s->nc->d->etcd, t, del_done, dl, &err) < 0) {
		log_kv(LL_WARN, KV("node", s->n->name, "key", o->key), "cannot delete: %s", err.msg);
		free(dl);
		return;
	}
	s->n->inflight++;
	s->nc->inflight++;
	s->sent++;
}

/* Delete what is left of n's bindings and status keys. */
static void
sweep(struct nodectl *nc, struct nc_node *n)
{
	struct sweep s = {.nc = nc, .n = n, .nlen = strlen(n->name)};
	struct api_error err;

	if (api_key_object(s.lease_key, sizeof(s.lease_key), nc->prefix, API_NODELEASE, n->name, &err) < 0)
		return;
	informer_foreach(nc->bindings, sweep_cb, &s);
	informer_foreach(nc->podstatus, sweep_cb, &s);
	if (s.sent)
		log_kv(LL_DEBUG, KV("node", n->name), "deleting %d binding and status keys", s.sent);
}

static void
refill(struct nodectl *nc)
{
	double now = ev_now(nc->d->loop);

	nc->tokens += (now - nc->refilled) * nc->rate;
	if (nc->tokens > 1.0)
		nc->tokens = 1.0;
	nc->refilled = now;
}

void
nc_check(struct nodectl *nc)
{
	double now = ev_now(nc->d->loop);
	struct nc_node *n, *tmp;
	int total, ready;

	nc_count(nc, &total, &ready);
	refill(nc);
	HASH_ITER(hh, nc->table, n, tmp) {
		if (n->has_lease || n->reported)
			continue;
		n->reported = 1;
		log_kv(LL_WARN, KV("node", n->name),
		       "node is not ready: its lease key is gone; check the agent on it. Its pods are evicted after %.0fs",
		       nc->timeout);
		recorder_eventf(nc->rec, "nodes", n->name, "Warning", "NodeNotReady",
		                "node has no lease (agent stopped or unreachable); pods are evicted after %.0fs",
		                nc->timeout);
	}
	if (total > 0 && ready == 0) {
		if (!nc->full_disruption)
			log_errorx(
				"full disruption: all %d nodes are without lease at once; suspecting a control-plane or etcd problem (check etcd and the agents' connectivity to it), evicting nothing until a node is Ready again",
				total);
		nc->full_disruption = 1;
		return;
	}
	if (nc->full_disruption) {
		log_info("full disruption over: %d of %d nodes Ready; evictions resume", ready, total);
		nc->full_disruption = 0;
	}
	HASH_ITER(hh, nc->table, n, tmp) {
		if (n->has_lease || now - n->gone_since < nc->timeout)
			continue;
		if (!n->evicting) {
			if (nc->tokens < 1.0)
				continue; /* rate-limited: a later tick */
			nc->tokens -= 1.0;
			n->evicting = 1;
			metric_inc(nc->m_evicted_nodes);
			log_kv(LL_WARN, KV("node", n->name), "no lease for %.1fs (timeout %.0fs): evicting its pods",
			       now - n->gone_since, nc->timeout);
			recorder_eventf(
				nc->rec, "nodes", n->name, "Warning", "EvictingPods",
				"node without lease for longer than %.0fs: deleting its bindings so its pods are placed elsewhere",
				nc->timeout);
		}
		if (n->inflight == 0)
			sweep(nc, n);
	}
}
