/*
 * epc_sync.c: reconcile one service. Reads only the caches: the service,
 * its cluster IP claim, the pods its selector matches and the status
 * epc_trust.c believes for each (ready ones in addresses, the others with
 * an IP in notReadyAddresses, pods being deleted in neither). A headless
 * service gets no cluster IP (its list has none); a service without a
 * selector gets a cluster IP and no list: its user writes
 * P/endpoints/NAME, which is never written nor deleted here (epc_modes.c).
 * Writes P/endpoints/NAME only when the bytes differ, with a
 * transaction that compares the revision it read; releases the claims of
 * deleted services. A failed compare is not an error: the watch brings the
 * news and the name comes back.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "epc.h"

struct epc_write *
epc_write_new(struct epc *e, const char *name)
{
	struct epc_write *w = calloc(1, sizeof(*w));

	if (w) {
		w->e = e;
		snprintf(w->name, sizeof(w->name), "%s", name);
	}
	return w;
}

void
epc_write_done(struct etcd_result *res, void *arg)
{
	struct epc_write *w = arg;

	if (res->err.code != ETCD_OK && res->err.code != ETCD_ECANCELED) {
		log_kv(LL_WARN, KV("service", w->name), "write failed: %s; will retry", res->err.msg);
		wq_add_after(w->e->q, w->name, 1.0);
	} else if (res->err.code == ETCD_OK && !res->succeeded) {
		wq_add(w->e->q, w->name); /* someone else moved first: look again */
	}
	free(w);
}

/* ---- the endpoint lists ---- */

struct addr_list {
	struct api_endpoint_address *v;
	size_t n, cap;
};

struct collect {
	struct epc *e;
	const struct api_service *svc;
	struct addr_list ready, not_ready;
	const struct epc_pod *first; /* to resolve named target ports */
};

/* Append a copy of (ip, node, pod); out of memory leaves it out. */
static void
list_push(struct addr_list *l, const char *ip, const char *node, const char *pod)
{
	struct api_endpoint_address *a;

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 8;
		struct api_endpoint_address *na = realloc(l->v, cap * sizeof(*na));

		if (!na)
			return;
		l->v = na;
		l->cap = cap;
	}
	a = &l->v[l->n];
	a->ip = strdup(ip);
	a->node = strdup(node);
	a->pod = strdup(pod);
	if (!a->ip || !a->node || !a->pod) {
		free(a->ip);
		free(a->node);
		free(a->pod);
		return;
	}
	l->n++;
}

static void
list_free(struct addr_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].ip);
		free(l->v[i].node);
		free(l->v[i].pod);
	}
	free(l->v);
}

/* A pod the selector matches goes to addresses when its believed status
 * is ready, to notReadyAddresses when that status has a podIP and the
 * pod is Pending or Running but not ready, nowhere when it is being
 * deleted (it must leave before its containers are stopped), has no
 * believed status or IP, or has finished. */
static void
add_pod(const struct informer_obj *o, void *arg)
{
	struct collect *c = arg;
	const struct epc_pod *pod = o->obj;
	const struct api_pod_status *st;
	const char *node = NULL;

	if (!pod || !api_selector_matches(&c->svc->spec.selector, &pod->labels))
		return;
	if (pod->deletion_grace_p1 > 0)
		return;
	/* The status of this incarnation, from the node it is bound to. */
	if (!(st = epc_trusted_status(c->e, o, &node)) || !st->pod_ip || !*st->pod_ip)
		return;
	if (api_pod_status_ready(st))
		list_push(&c->ready, st->pod_ip, node, o->name);
	else if (st->phase == API_PHASE_RUNNING || st->phase == API_PHASE_PENDING)
		list_push(&c->not_ready, st->pod_ip, node, o->name);
	else
		return;
	if (!c->first)
		c->first = pod;
}

static char *
endpoints_json(struct epc *e, const struct api_service *svc, const char *ip)
{
	struct collect c = {.e = e, .svc = svc};
	struct api_endpoints ep = {0};
	struct api_service_port *ports = calloc(svc->spec.n_ports, sizeof(*ports));
	char *out = NULL;

	informer_foreach(e->pods, add_pod, &c);
	if (ports || svc->spec.n_ports == 0) {
		for (size_t i = 0; i < svc->spec.n_ports; i++) {
			ports[i] = svc->spec.ports[i];
			ports[i].target_port_name = NULL;
			if (svc->spec.ports[i].target_port_name)
				ports[i].target_port = c.first ? epc_pod_target(&svc->spec.ports[i], c.first) : 0;
			if (ports[i].target_port == 0)
				ports[i].target_port = ports[i].port;
			ports[i].node_port = epc_node_port_of(e, svc->meta.name, &svc->spec.ports[i]);
		}
		ep.cluster_ip = (char *)ip;
		ep.ports = ports;
		ep.n_ports = svc->spec.n_ports;
		ep.addresses = c.ready.v;
		ep.n_addresses = c.ready.n;
		ep.not_ready = c.not_ready.v;
		ep.n_not_ready = c.not_ready.n;
		out = api_endpoints_serialize(&ep);
	}
	list_free(&c.ready);
	list_free(&c.not_ready);
	free(ports);
	return out;
}

static void
write_endpoints(struct epc *e, const char *name, const char *val)
{
	const struct informer_obj *cur = informer_get(e->endpoints, name);
	struct etcd_error err = {0};
	struct etcd_txn *t;
	struct epc_write *w;
	char key[300];

	if (cur && cur->value_len == strlen(val) && memcmp(cur->value, val, cur->value_len) == 0)
		return; /* written only when it changes */
	snprintf(key, sizeof(key), "%s/endpoints/%s", e->prefix, name);
	t = etcd_txn_new();
	etcd_txn_cmp(t, key, ETCD_CMP_MOD, ETCD_CMP_EQUAL, cur ? cur->mod_revision : 0);
	etcd_txn_put(t, ETCD_TXN_SUCCESS, key, val, strlen(val), 0);
	if (!(w = epc_write_new(e, name)) || etcd_txn_commit(e->d->etcd, t, epc_write_done, w, &err) < 0) {
		free(w);
		log_kv(LL_WARN, KV("service", name), "cannot write endpoints: %s; will retry", err.msg);
		wq_add_after(e->q, name, 1.0);
		return;
	}
	metric_inc(e->writes);
	log_kv(LL_DEBUG, KV("service", name), "endpoints updated");
}

static void
delete_endpoints(struct epc *e, const char *name)
{
	const struct informer_obj *cur = informer_get(e->endpoints, name);
	struct etcd_error err = {0};
	struct etcd_txn *t;
	struct epc_write *w;

	if (!cur)
		return;
	t = etcd_txn_new();
	etcd_txn_cmp(t, cur->key, ETCD_CMP_MOD, ETCD_CMP_EQUAL, cur->mod_revision);
	etcd_txn_delete(t, ETCD_TXN_SUCCESS, cur->key, 0);
	if (!(w = epc_write_new(e, name)) || etcd_txn_commit(e->d->etcd, t, epc_write_done, w, &err) < 0)
		free(w);
}

void
epc_reconcile(struct wq *q, const char *name, void *arg)
{
	struct epc *e = arg;
	const struct informer_obj *o = informer_get(e->services, name);
	const struct api_service *svc;
	char ip[20], uid[32];
	char *val;
	int selectorless;

	if (!o) {
		/* Deleted: give the address back, drop the list if it is ours. */
		epc_release(e, name, NULL);
		epc_node_ports(e, name, NULL);
		if (epc_mode_gone(e, name))
			delete_endpoints(e, name);
		wq_done(q, name, WQ_OK, 0);
		return;
	}
	if (!(svc = o->obj)) {
		wq_done(q, name, WQ_OK, 0); /* invalid: the decoder reported it */
		return;
	}
	selectorless = api_selector_empty(&svc->spec.selector);
	epc_mode_seen(e, name, selectorless);
	snprintf(uid, sizeof(uid), "%" PRId64, o->create_revision);
	/* Headless: no address at all (one it had before is given back);
	 * otherwise the claims of older incarnations go. */
	if (epc_release(e, name, svc->spec.headless ? NULL : uid) > 0 && svc->spec.headless)
		recorder_eventf(e->rec, "services", name, "Warning", "ClusterIPReleased",
		                "clusterIP became None (headless): its cluster IP was released and no longer reaches "
		                "the service; a Kubernetes service cannot change its clusterIP, recreate it instead");
	epc_node_ports(e, name, o); /* the endpoints show them as they come */
	if (!svc->spec.headless && !epc_cluster_ip(e, name, o, ip, sizeof(ip))) {
		wq_done(q, name, WQ_OK, 0); /* a claim is in flight, or impossible */
		return;
	}
	if (selectorless) {
		wq_done(q, name, WQ_OK, 0); /* the endpoints are the user's */
		return;
	}
	if (!(val = endpoints_json(e, svc, svc->spec.headless ? NULL : ip))) {
		wq_done(q, name, WQ_RETRY, 0);
		return;
	}
	write_endpoints(e, name, val);
	free(val);
	wq_done(q, name, WQ_OK, 0);
}

struct pod_services {
	struct epc *e;
	const struct api_labels *labels;
};

static void
enqueue_if_selects(const struct informer_obj *o, void *arg)
{
	struct pod_services *p = arg;
	const struct api_service *svc = o->obj;

	if (svc && !api_selector_empty(&svc->spec.selector) && api_selector_matches(&svc->spec.selector, p->labels))
		wq_add(p->e->q, o->name);
}

void
epc_enqueue_for_labels(struct epc *e, const struct api_labels *labels)
{
	struct pod_services p = {e, labels};

	informer_foreach(e->services, enqueue_if_selects, &p);
}

void
epc_enqueue_for_pod(struct epc *e, const char *pod)
{
	const struct informer_obj *o = informer_get(e->pods, pod);

	if (o && o->obj)
		epc_enqueue_for_labels(e, &((const struct epc_pod *)o->obj)->labels);
}
