/*
 * epc_nodeport.c: the node-port allocator. Every port of a NodePort or
 * LoadBalancer service gets a node port, the key P/nodeports/PORT whose
 * value names the service, its incarnation (uid, its create revision) and
 * which of its ports holds it ({"service","uid","port","protocol"}).
 * Claims are created only if absent, all of a pass in one transaction, and
 * while they are in flight the service claims nothing more (epc_alloc.c's
 * machinery), so a restarted or second controller adopts what it finds and
 * never hands out a port twice. A requested nodePort is honoured when it
 * is free and inside --node-port-range; otherwise a Warning event
 * (NodePortTaken, NodePortOutOfRange) and no port. Claims the service no
 * longer needs (deleted, back to ClusterIP, port gone, recreated) are
 * deleted with a compare on their revision.
 *
 * It does not program anything on nodes (skiff-proxy reads the claims and
 * the endpoints) and does not check that a port is free on the hosts.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "epc.h"

/* One pass over one service. */
struct np_pass {
	struct epc *e;
	const char *name;
	const struct api_service *svc; /* NULL: deleted, or without node ports */
	char uid[32];
	int *have;   /* per service port: the node port claimed, or 0 */
	int *chosen; /* ports picked in this pass, n_chosen of them */
	size_t n_chosen;
};

/* The service port of svc that claim sip (for node port np) serves, or -1. */
static int
port_index(const struct np_pass *p, const struct api_service_ip *sip, int np)
{
	for (size_t i = 0; p->svc && i < p->svc->spec.n_ports; i++) {
		const struct api_service_port *sp = &p->svc->spec.ports[i];

		if (sp->port == sip->port && sp->protocol == sip->protocol && (!sp->node_port || sp->node_port == np))
			return (int)i;
	}
	return -1;
}

static void
sort_claim(const struct informer_obj *o, void *arg)
{
	struct np_pass *p = arg;
	const struct api_service_ip *sip = o->obj;
	int np = atoi(o->name), i = -1;

	if (!sip || !sip->service || strcmp(sip->service, p->name) != 0)
		return;
	if (sip->uid && strcmp(sip->uid, p->uid) == 0)
		i = port_index(p, sip, np);
	if (i >= 0 && !p->have[i]) {
		p->have[i] = np; /* ours, adopted after a restart too */
		return;
	}
	if (epc_claim_delete(p->e, o, p->name) == 0)
		log_kv(LL_INFO, KV("service", p->name, "nodePort", o->name), "releasing node port");
}

static int
np_taken(int port, void *arg)
{
	struct np_pass *p = arg;
	char s[8];

	for (size_t i = 0; i < p->n_chosen; i++)
		if (p->chosen[i] == port)
			return 1;
	snprintf(s, sizeof(s), "%d", port);
	return informer_get(p->e->nodeports, s) != NULL;
}

/* The node port service port i should claim now: > 0, 0 to wait, -1
 * refused (event sent). */
static int
np_want(struct np_pass *p, size_t i)
{
	const struct api_service_port *sp = &p->svc->spec.ports[i];
	static const struct api_service_ip invalid = {.service = "(an invalid claim)"};
	const struct informer_obj *held;
	const struct api_service_ip *by;
	char s[8];
	int np;

	if (!sp->node_port) {
		if ((np = epc_node_port_pick(p->e->np_lo, p->e->np_hi, (unsigned)random(), np_taken, p)))
			return np;
		recorder_eventf(p->e->rec, "services", p->name, "Warning", "NodePortsExhausted",
		                "no free node port left in %d-%d for port %d/%s; delete unused services or widen "
		                "--node-port-range",
		                p->e->np_lo, p->e->np_hi, sp->port, api_protocol_name(sp->protocol));
		return -1;
	}
	snprintf(s, sizeof(s), "%d", sp->node_port);
	held = informer_get(p->e->nodeports, s);
	by = held ? held->obj : NULL;
	if (held && !by)
		by = &invalid;
	switch (epc_node_port_judge(sp->node_port, p->e->np_lo, p->e->np_hi, by, p->name, p->uid, sp->port,
	                            sp->protocol)) {
	case EPC_NP_FREE: return np_taken(sp->node_port, p) ? -1 : sp->node_port;
	case EPC_NP_MINE:
	case EPC_NP_RELEASING: return 0;
	case EPC_NP_TAKEN:
		log_kv(LL_WARN, KV("service", p->name, "nodePort", s), "node port taken by service %s", by->service);
		recorder_eventf(p->e->rec, "services", p->name, "Warning", "NodePortTaken",
		                "nodePort %d of port %d/%s is already allocated to service %s (port %d); pick "
		                "another or leave it out",
		                sp->node_port, sp->port, api_protocol_name(sp->protocol), by->service, by->port);
		return -1;
	case EPC_NP_OUT_OF_RANGE: break;
	}
	log_kv(LL_WARN, KV("service", p->name, "nodePort", s), "node port outside %d-%d", p->e->np_lo, p->e->np_hi);
	recorder_eventf(p->e->rec, "services", p->name, "Warning", "NodePortOutOfRange",
	                "nodePort %d of port %d/%s is outside the node port range %d-%d; pick one inside it or "
	                "leave it out",
	                sp->node_port, sp->port, api_protocol_name(sp->protocol), p->e->np_lo, p->e->np_hi);
	return -1;
}

/* Claim what the ports lack, in one transaction. 1 when nothing is
 * missing. */
static int
claim_missing(struct np_pass *p, const char *pkey)
{
	size_t n = p->svc->spec.n_ports, nkv = 0;
	struct epc_claim_kv *kv = calloc(n, sizeof(*kv));
	int done = 1, np;

	if (!kv || !(p->chosen = calloc(n, sizeof(*p->chosen)))) {
		free(kv);
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		const struct api_service_port *sp = &p->svc->spec.ports[i];
		struct api_service_ip sip = {(char *)p->name, p->uid, sp->port, sp->protocol};

		if (p->have[i])
			continue;
		done = 0;
		if ((np = np_want(p, i)) <= 0)
			continue;
		p->chosen[p->n_chosen++] = np;
		snprintf(kv[nkv].key, sizeof(kv[nkv].key), "%s/nodeports/%d", p->e->prefix, np);
		if ((kv[nkv].val = api_service_ip_serialize(&sip)))
			nkv++;
		log_kv(LL_INFO, KV("service", p->name), "claiming node port %d for port %d/%s", np, sp->port,
		       api_protocol_name(sp->protocol));
	}
	if (nkv && epc_claims_send(p->e, pkey, p->name, kv, nkv) == 0)
		metric_inc(p->e->allocs);
	for (size_t i = 0; i < nkv; i++)
		free(kv[i].val);
	free(kv);
	return done;
}

int
epc_node_ports(struct epc *e, const char *name, const struct informer_obj *o)
{
	struct np_pass p = {.e = e, .name = name};
	char pkey[300];
	int done = 1;

	if (o && !o->obj)
		return 1; /* invalid: the decoder reported it; keep what it has */
	if (o && api_service_has_node_ports(o->obj))
		p.svc = o->obj;
	if (o)
		snprintf(p.uid, sizeof(p.uid), "%" PRId64, o->create_revision);
	snprintf(pkey, sizeof(pkey), "nodeports:%s", name);
	if (p.svc && !(p.have = calloc(p.svc->spec.n_ports, sizeof(*p.have))))
		return 0;
	informer_foreach(e->nodeports, sort_claim, &p);
	if (!p.svc)
		epc_claims_settled(pkey);
	else if (epc_claims_pending(pkey, e->nodeports))
		done = 0;
	else
		done = claim_missing(&p, pkey);
	free(p.have);
	free(p.chosen);
	return done;
}

struct np_find {
	const char *name, *uid;
	const struct api_service_port *sp;
	int found;
};

static void
find_port(const struct informer_obj *o, void *arg)
{
	struct np_find *f = arg;
	const struct api_service_ip *sip = o->obj;
	int np = atoi(o->name);

	if (!f->found && sip && sip->service && strcmp(sip->service, f->name) == 0 && sip->uid &&
	    strcmp(sip->uid, f->uid) == 0 && sip->port == f->sp->port && sip->protocol == f->sp->protocol &&
	    (!f->sp->node_port || f->sp->node_port == np))
		f->found = np;
}

int
epc_node_port_of(struct epc *e, const char *name, const struct api_service_port *sp)
{
	const struct informer_obj *o = informer_get(e->services, name);
	char uid[32];
	struct np_find f = {name, uid, sp, 0};

	if (!o || !o->obj || !api_service_has_node_ports(o->obj))
		return 0;
	snprintf(uid, sizeof(uid), "%" PRId64, o->create_revision);
	informer_foreach(e->nodeports, find_port, &f);
	return f.found;
}

static void
enqueue_claim(const struct informer_obj *o, void *arg)
{
	struct epc *e = arg;
	const struct api_service_ip *sip = o->obj;

	if (sip && sip->service)
		wq_add(e->q, sip->service);
}

void
epc_node_ports_enqueue(struct epc *e)
{
	informer_foreach(e->nodeports, enqueue_claim, e);
}
