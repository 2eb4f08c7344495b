/*
 * epc_trust.c: which pod status the endpoints controller believes. A pod's
 * node is the node of its binding for this incarnation (P/bindings/NODE/POD
 * whose pod uid is the pod's create revision), never whoever wrote a
 * status; P/podstatus/NODE/POD counts only from that node and with that
 * uid, and its podIP only when api_endpoint_ip_check accepts it and it lies
 * in the node's subnet (when the node has a subnet key), or, for a
 * hostNetwork pod, is the node's hostIP in that subnet key. A refused status
 * gets a Warning event UntrustedStatus on the pod. It does not decide
 * readiness (epc_sync.c) and does not allocate subnets or report invalid
 * ones (the node controller does): it believes the claims
 * api_subnets_judge accepts, as every consumer does.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>

#include "api_subnets.h"
#include "epc.h"

#define EPC_MAX_NODES 16 /* nodes looked at for one pod's keys */

/* A status already reported as untrusted, at the mod revision reported:
 * one log line and one event per write, not one per reconcile. */
struct epc_refusal {
	char *key; /* NODE/POD */
	int64_t rev;
	UT_hash_handle hh;
};

struct epc_subnet {
	char *node;
	struct api_cidr cidr; /* when valid */
	int valid;
	UT_hash_handle hh;
	char host_ip[16]; /* the node's registered address (the subnet's hostIP), "" when unknown */
};

void
epc_network(struct epc *e, struct api_network_config *out)
{
	const struct informer_obj *o = informer_get(e->network, "config");

	if (o && o->obj)
		*out = *(const struct api_network_config *)o->obj;
	else
		api_network_config_default(out);
}

/* ---- the nodes' subnets ----
 * The network informer keeps subnets undecoded (its objects are the
 * config); they are judged here, all together, with the rules every
 * consumer shares (api_subnets_judge), at the first use after any key
 * under P/network/ changed: rare, and O(nodes²). */

void
epc_subnets_free(struct epc *e)
{
	struct epc_subnet *s, *tmp;

	HASH_ITER(hh, e->subnets, s, tmp) {
		HASH_DEL(e->subnets, s);
		free(s->node);
		free(s);
	}
}

struct claims {
	struct api_subnet_claim *c;
	size_t n, cap;
};

static void
claim_add(const struct informer_obj *o, void *arg)
{
	struct claims *cl = arg;

	if (strncmp(o->name, "subnets/", 8) != 0 || !o->name[8] || !o->value || cl->n == cl->cap)
		return;
	cl->c[cl->n++] = (struct api_subnet_claim){o->name + 8, o->value, o->value_len, o->create_revision};
}

/* Remember claim c, valid or not; a valid one with its block. */
static void
subnet_add(struct epc *e, const struct api_subnet_claim *c, int valid)
{
	struct api_errors errs = {0};
	struct api_subnet *sn = valid ? api_subnet_parse(c->value, c->len, &errs) : NULL;
	struct epc_subnet *s = calloc(1, sizeof(*s));

	if (s && (s->node = strdup(c->node))) {
		s->valid = sn && sn->subnet && api_cidr_parse(sn->subnet, &s->cidr, NULL) == 0;
		if (s->valid && sn->host_ip)
			snprintf(s->host_ip, sizeof(s->host_ip), "%s", sn->host_ip);
		HASH_ADD_KEYPTR(hh, e->subnets, s->node, strlen(s->node), s);
	} else {
		free(s);
	}
	api_subnet_free(sn);
	api_errors_clear(&errs);
}

void
epc_subnets_changed(struct epc *e)
{
	e->subnets_stale = 1;
}

static void
subnets_refresh(struct epc *e)
{
	struct api_network_config nc;
	struct claims cl = {.cap = informer_count(e->network)};
	char(*why)[API_SUBNET_WHY] = calloc(cl.cap + 1, sizeof(*why));
	int *valid = calloc(cl.cap + 1, sizeof(*valid));

	epc_subnets_free(e);
	epc_network(e, &nc);
	if ((cl.c = calloc(cl.cap + 1, sizeof(*cl.c))) && why && valid) {
		informer_foreach(e->network, claim_add, &cl);
		api_subnets_judge(&nc, cl.c, cl.n, valid, why); /* out of memory: none valid */
		for (size_t i = 0; i < cl.n; i++)
			subnet_add(e, &cl.c[i], valid[i]);
	}
	free(cl.c);
	free(why);
	free(valid);
}

/* ---- the status of a pod ---- */

/* 0 when ip may be a pod IP on node (a hostNetwork pod's: the node's
 * registered address, nothing else outside its subnet); else -1 and why. */
static int
ip_check(struct epc *e, const char *node, const char *ip, int host_network, char *why, size_t len)
{
	struct api_network_config nc;
	struct epc_subnet *s = NULL;
	char sub[24];
	uint32_t a;

	epc_network(e, &nc);
	if (api_endpoint_ip_check(ip, &nc.service_cidr, why, len) < 0)
		return -1;
	if (e->subnets_stale) {
		subnets_refresh(e);
		e->subnets_stale = 0;
	}
	HASH_FIND_STR(e->subnets, node, s);
	if (!s)
		return 0; /* no pod network for this node: single-host mode */
	if (!s->valid) {
		snprintf(why, len, "node %s has no valid subnet", node);
		return -1;
	}
	if (host_network && s->host_ip[0] && strcmp(ip, s->host_ip) == 0)
		return 0;
	api_cidr_format(&s->cidr, sub, sizeof(sub));
	if (api_ipv4_parse(ip, &a, NULL) < 0 || !api_cidr_contains(&s->cidr, a)) {
		snprintf(why, len, "%s is outside node %s's subnet %s%s", ip, node, sub,
		         host_network ? " and is not its hostIP" : "");
		return -1;
	}
	return 0;
}

void
epc_refusal_forget(struct epc *e, const char *key)
{
	struct epc_refusal *r = NULL;

	HASH_FIND_STR(e->refusals, key, r);
	if (r) {
		HASH_DEL(e->refusals, r);
		free(r->key);
		free(r);
	}
}

void
epc_refusals_free(struct epc *e)
{
	struct epc_refusal *r, *tmp;

	HASH_ITER(hh, e->refusals, r, tmp)
		epc_refusal_forget(e, r->key);
}

/* Report the status so (the key NODE/POD of pod) as refused, once per write. */
static void
untrusted(struct epc *e, const struct informer_obj *so, const char *pod, const char *node, const char *why)
{
	struct epc_refusal *r = NULL;

	HASH_FIND_STR(e->refusals, so->name, r);
	if (r && r->rev == so->mod_revision)
		return;
	if (!r && (r = calloc(1, sizeof(*r)))) {
		if ((r->key = strdup(so->name)))
			HASH_ADD_KEYPTR(hh, e->refusals, r->key, strlen(r->key), r);
		else
			free(r), r = NULL;
	}
	if (r)
		r->rev = so->mod_revision;
	log_kv(LL_WARN, KV("pod", pod, "node", node), "ignoring pod status: %s", why);
	recorder_eventf(e->rec, "pods", pod, "Warning", "UntrustedStatus", "status from node %s ignored: %s", node,
	                why);
}

/* The node bound to this incarnation of pod (the newest such binding). */
static const char *
bound_node(struct epc *e, const char *pod, const char *uid)
{
	const char *nodes[EPC_MAX_NODES], *best = NULL;
	int64_t revs[EPC_MAX_NODES], best_rev = 0;
	size_t n = epc_index_nodes(e->bound, pod, nodes, revs, EPC_MAX_NODES);
	char key[600];

	for (size_t i = 0; i < n && i < EPC_MAX_NODES; i++) {
		const struct informer_obj *b;

		snprintf(key, sizeof(key), "%s/%s", nodes[i], pod);
		if ((b = informer_get(e->bindings, key)) && b->obj && strcmp(b->obj, uid) == 0 &&
		    (!best || revs[i] > best_rev)) {
			best = nodes[i];
			best_rev = revs[i];
		}
	}
	return best;
}

/* Statuses claiming this incarnation from nodes it is not bound to. Other
 * uids there are old incarnations whose agent has not cleaned up yet. */
static void
report_strangers(struct epc *e, const char *pod, const char *uid, const char *node)
{
	const char *nodes[EPC_MAX_NODES];
	int64_t revs[EPC_MAX_NODES];
	size_t n = epc_index_nodes(e->reported, pod, nodes, revs, EPC_MAX_NODES);
	char key[600], why[128];

	for (size_t i = 0; i < n && i < EPC_MAX_NODES; i++) {
		const struct informer_obj *so;
		const struct api_pod_status *st;

		if (strcmp(nodes[i], node) == 0)
			continue;
		snprintf(key, sizeof(key), "%s/%s", nodes[i], pod);
		if ((so = informer_get(e->status, key)) && (st = so->obj) && st->uid && strcmp(st->uid, uid) == 0) {
			snprintf(why, sizeof(why), "the pod is bound to node %s", node);
			untrusted(e, so, pod, nodes[i], why);
		}
	}
}

const struct api_pod_status *
epc_trusted_status(struct epc *e, const struct informer_obj *pod, const char **nodep)
{
	const struct informer_obj *so;
	const struct api_pod_status *st;
	const char *node;
	char uid[32], key[600], why[200];

	snprintf(uid, sizeof(uid), "%" PRId64, pod->create_revision);
	if (!(node = bound_node(e, pod->name, uid)))
		return NULL; /* not scheduled (yet), or bound for an older incarnation */
	report_strangers(e, pod->name, uid, node);
	snprintf(key, sizeof(key), "%s/%s", node, pod->name);
	if (!(so = informer_get(e->status, key)) || !(st = so->obj) || !st->uid || strcmp(st->uid, uid) != 0)
		return NULL; /* no status of this incarnation yet */
	if (st->pod_ip && *st->pod_ip &&
	    ip_check(e, node, st->pod_ip, pod->obj && ((const struct epc_pod *)pod->obj)->host_network, why,
	             sizeof(why)) < 0) {
		untrusted(e, so, pod->name, node, why);
		return NULL;
	}
	*nodep = node;
	return st;
}
