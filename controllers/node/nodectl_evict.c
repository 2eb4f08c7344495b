/*
 * nodectl_evict.c: the tick, and what the node controller does about nodes
 * that are not Ready (runtime/liveness.h: lease key gone, or not renewed
 * on our clock): a Warning event (NodeNotReady) at once; after the
 * eviction timeout, when the rate limiter (a token bucket of one token
 * refilled at --eviction-rate per second) grants it, delete every
 * P/bindings/NODE/… and P/podstatus/NODE/… key, each in a transaction that
 * compares the key's mod revision and that the lease key is still absent,
 * or still at the revision judged stale. While every known node is not
 * Ready it evicts nothing ("full disruption"). It does not watch etcd:
 * nodectl_watch.c fills the table.
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

int
nc_known(const struct nc_node *n)
{
	return n->has_node || n->has_status || n->beat.present;
}

void
nc_count(const struct nodectl *nc, double now, int *total, int *ready)
{
	const struct nc_node *n, *tmp;

	*total = *ready = 0;
	HASH_ITER(hh, nc->table, n, tmp) {
		if (!nc_known(n))
			continue;
		(*total)++;
		*ready += liveness_ready(&n->beat, now);
	}
}

void
nc_write_ended(struct nodectl *nc)
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
		       "cannot delete key of a node that is not Ready: %s (%s); trying again shortly", res->err.msg,
		       etcd_code_name(res->err.code));
	else if (res->err.code == ETCD_OK && res->succeeded) {
		metric_inc(nc->m_deletes);
		if (n)
			n->deleted++;
	}
	if (n && --n->inflight == 0 && n->deleted > 0 && !liveness_ready(&n->beat, ev_now(nc->d->loop)))
		log_kv(LL_INFO, KV("node", n->name),
		       "evicted: %d binding and status keys deleted so far; the scheduler places those pods again",
		       n->deleted);
	free(dl);
	nc_write_ended(nc);
}

struct sweep {
	struct nodectl *nc;
	struct nc_node *n;
	char lease_key[API_KEY_MAX];
	int64_t lease_rev; /* 0: the lease key must be absent */
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
	if (s->lease_rev)
		etcd_txn_cmp(t, s->lease_key, ETCD_CMP_MOD, ETCD_CMP_EQUAL, s->lease_rev);
	else
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
	struct sweep s = {.nc = nc, .n = n, .nlen = strlen(n->name), .lease_rev = n->beat.present ? n->beat.rev : 0};
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

/* When n stopped being Ready (n is not Ready now). */
static double
down_since(const struct nc_node *n)
{
	return n->beat.present ? liveness_expires(&n->beat) : n->gone_since;
}

/* A Warning for each node newly not Ready. */
static void
report(struct nodectl *nc, double now)
{
	struct nc_node *n, *tmp;

	HASH_ITER(hh, nc->table, n, tmp) {
		if (!nc_known(n) || n->reported || liveness_ready(&n->beat, now))
			continue;
		n->reported = 1;
		log_kv(LL_WARN, KV("node", n->name),
		       "node is not ready: its lease key is %s; check the agent on it. Its pods are evicted after %.0fs",
		       n->beat.present ? "not renewed" : "gone", nc->timeout);
		recorder_eventf(nc->rec, "nodes", n->name, "Warning", "NodeNotReady",
		                "node lease %s (agent stopped or unreachable); pods are evicted after %.0fs",
		                n->beat.present ? "not renewed" : "gone", nc->timeout);
	}
}

/* 1 while every known node is not Ready (then nothing is evicted). */
static int
full_disruption(struct nodectl *nc, double now)
{
	int total, ready;

	nc_count(nc, now, &total, &ready);
	if (total > 0 && ready == 0) {
		if (!nc->full_disruption)
			log_errorx(
				"full disruption: all %d nodes are not Ready at once; suspecting a control-plane or etcd problem (check etcd and the agents' connectivity to it), evicting nothing until a node is Ready again",
				total);
		nc->full_disruption = 1;
		return 1;
	}
	if (nc->full_disruption) {
		log_info("full disruption over: %d of %d nodes Ready; evictions resume", ready, total);
		nc->full_disruption = 0;
	}
	return 0;
}

/* Start (rate-limited) or continue the eviction of n. */
static void
evict(struct nodectl *nc, struct nc_node *n, double now)
{
	if (!n->evicting) {
		if (nc->tokens < 1.0)
			return; /* rate-limited: a later tick */
		nc->tokens -= 1.0;
		n->evicting = 1;
		metric_inc(nc->m_evicted_nodes);
		log_kv(LL_WARN, KV("node", n->name), "not Ready for %.1fs (timeout %.0fs): evicting its pods",
		       now - down_since(n), nc->timeout);
		recorder_eventf(
			nc->rec, "nodes", n->name, "Warning", "EvictingPods",
			"node not Ready for longer than %.0fs: deleting its bindings so its pods are placed elsewhere",
			nc->timeout);
	}
	if (n->inflight == 0)
		sweep(nc, n);
}

void
nc_check(struct nodectl *nc)
{
	double now = ev_now(nc->d->loop);
	struct nc_node *n, *tmp;

	nc_register(nc);
	nc_subnets(nc);
	refill(nc);
	report(nc, now);
	if (full_disruption(nc, now))
		return;
	HASH_ITER(hh, nc->table, n, tmp) {
		if (!nc_known(n) || liveness_ready(&n->beat, now) || now - down_since(n) < nc->timeout)
			continue;
		evict(nc, n, now);
	}
}
