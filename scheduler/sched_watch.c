/*
 * sched_watch.c: the informers (pods, nodes, node statuses, node leases,
 * bindings, and services for spreading) as a table for
 * runtime/controller.c, their decoders and handlers. Handlers only update the bookkeeping of
 * sched_cache.c, mark pods pending, kick a pass and queue binding upkeep;
 * deciding and writing happen in sched_bind.c. Invalid pods and nodes are reported here
 * (log line and Warning event "Invalid") and otherwise ignored.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "sched.h"

/* ---- decoders ---- */

static void
report_invalid(const char *kind, const char *dir, const char *name, struct api_errors *errs)
{
	char *why = api_errors_join(errs, "; ");

	log_kv(LL_WARN, KV(kind, name), "ignoring invalid %s: %s; fix the key's JSON", kind,
	       why ? why : "out of memory");
	if (dir)
		recorder_eventf(S.rec, dir, name, "Warning", "Invalid", "%s", why ? why : "out of memory");
	free(why);
}

/* sp of pod and its copy for bindings (made first: the digest moves
 * parts out of pod). 0, or -1 out of memory (sp cleared). */
static int
digest_pod(struct api_pod *pod, const char *name, struct sched_pod *sp)
{
	size_t uid_at;
	char *copy = sched_pod_copy(pod, name, &uid_at);

	if (!copy || sched_pod_digest(pod, sp) < 0) {
		free(copy);
		return -1;
	}
	sp->copy = copy;
	sp->uid_at = uid_at;
	return 0;
}

/* A struct sched_pod (new) of the whole pod, which is freed. */
static void *
dec_pod(const char *name, const char *value, size_t len, void *arg)
{
	struct api_errors errs = {0};
	struct api_error e;
	struct api_pod *pod = NULL;
	struct sched_pod *sp = NULL;

	(void)arg;
	if (api_check_dns_label(name, &e) < 0)
		api_errors_add(&errs, "metadata.name", "%s", e.msg);
	else if ((pod = api_pod_parse(value, len, &errs)) && api_meta_check_name(&pod->meta, name, &errs) < 0) {
		api_pod_free(pod);
		pod = NULL;
	}
	if (pod && (!(sp = malloc(sizeof(*sp))) || digest_pod(pod, name, sp) < 0)) {
		free(sp); /* out of memory: reported as such */
		sp = NULL;
	}
	if (!sp)
		report_invalid("pod", "pods", name, &errs);
	api_pod_free(pod);
	api_errors_clear(&errs);
	return sp;
}

static void
free_pod(void *obj)
{
	struct sched_pod *sp = obj;

	if (sp) {
		sched_pod_clear(sp);
		free(sp);
	}
}

static void *
dec_node(const char *name, const char *value, size_t len, void *arg)
{
	struct api_errors errs = {0};
	struct api_error e;
	struct api_node *node = NULL;

	(void)arg;
	if (api_check_dns_subdomain(name, &e) < 0)
		api_errors_add(&errs, "metadata.name", "%s", e.msg);
	else if ((node = api_node_parse(value, len, &errs)) && api_meta_check_name(&node->meta, name, &errs) < 0) {
		api_node_free(node);
		node = NULL;
	}
	if (!node)
		report_invalid("node", "nodes", name, &errs);
	api_errors_clear(&errs);
	return node;
}

static void
free_node(void *obj)
{
	api_node_free(obj);
}

/* Bindings are decoded in their handler and not kept, nor is their raw
 * value: the placement keeps the few numbers the scheduler needs and a
 * hash of the value (upkeep compares it). New binding, or NULL (reported). */
static struct api_binding *
parse_binding(const struct informer_obj *o)
{
	struct api_errors errs = {0};
	struct api_binding *b;

	if (!(b = api_binding_parse(o->value, o->value_len, &errs)))
		report_invalid("binding", NULL, o->name, &errs);
	api_errors_clear(&errs);
	return b;
}

/* Services are only read for spreading; the endpoints controller reports
 * invalid ones, so only a log line here. */
static void *
dec_service(const char *name, const char *value, size_t len, void *arg)
{
	struct api_errors errs = {0};
	struct api_service *svc;
	char *why;

	(void)arg;
	if (!(svc = api_service_parse(value, len, &errs))) {
		why = api_errors_join(&errs, "; ");
		log_kv(LL_DEBUG, KV("service", name), "invalid service not used for spreading: %s",
		       why ? why : "out of memory");
		free(why);
	}
	api_errors_clear(&errs);
	return svc;
}

static void
free_service(void *obj)
{
	api_service_free(obj);
}

/* ---- pods ---- */

/* Level-triggered: where does pod o stand now? */
static void
pod_seen(const struct informer_obj *o)
{
	struct sched_place *pl = sched_place_find(o->name);

	if (!o->obj) {
		sched_pending_del(o->name); /* invalid: reported by the decoder, left alone */
		return;
	}
	if (pl) {
		sched_pending_del(o->name);
		if (!pl->assumed)
			wq_add(S.q, o->name); /* refresh the copy, or drop an old incarnation's binding */
		return;
	}
	sched_pending_add(o->name, o->create_revision);
	sched_kick();
}

static void
pod_added(struct informer *inf, const struct informer_obj *o, void *arg)
{
	(void)inf;
	(void)arg;
	pod_seen(o);
}

static void
pod_updated(struct informer *inf, const struct informer_obj *old, const struct informer_obj *o, void *arg)
{
	(void)inf;
	(void)old;
	(void)arg;
	pod_seen(o);
}

static void
pod_deleted(struct informer *inf, const struct informer_obj *old, void *arg)
{
	struct sched_place *pl = sched_place_find(old->name);

	(void)inf;
	(void)arg;
	sched_pending_del(old->name);
	if (pl && !pl->assumed)
		wq_add(S.q, old->name);
}

/* ---- nodes and leases ---- */

static void
room_changed(void)
{
	S.gen++;
	sched_kick();
}

static void
node_added(struct informer *inf, const struct informer_obj *o, void *arg)
{
	struct sched_node *n = sched_node_get(o->name, 1);

	(void)inf;
	(void)arg;
	if (!n)
		return;
	sched_node_set(n, o->obj, 1);
	room_changed();
}

static void
node_updated(struct informer *inf, const struct informer_obj *old, const struct informer_obj *o, void *arg)
{
	(void)old;
	node_added(inf, o, arg);
}

static void
node_deleted(struct informer *inf, const struct informer_obj *old, void *arg)
{
	struct sched_node *n = sched_node_get(old->name, 0);

	(void)inf;
	(void)arg;
	if (n) {
		sched_node_set(n, NULL, 0);
		sched_node_gc(n);
	}
}

/* What a node allows pods changed: look at every binding there again
 * (upkeep gives up those the node's agent refuses). O(placements). */
static void
policy_changed(const struct sched_node *n)
{
	struct sched_place *p, *tmp;

	HASH_ITER(hh, S.places, p, tmp) {
		if (p->node == n && !p->assumed)
			wq_add(S.q, p->pod);
	}
}

/* Do two node statuses allow pods the same things? */
static int
same_policy(const struct api_node *a, const struct api_node *b)
{
	const struct api_node_status *x = &a->status, *y = &b->status;

	if (x->policy != y->policy || x->allow_privileged != y->allow_privileged ||
	    x->host_port_lo != y->host_port_lo || x->host_port_hi != y->host_port_hi ||
	    x->n_allowed_host_paths != y->n_allowed_host_paths)
		return 0;
	for (size_t i = 0; i < x->n_allowed_host_paths; i++)
		if (strcmp(x->allowed_host_paths[i], y->allowed_host_paths[i]) != 0)
			return 0;
	return 1;
}

static void
status_set(const struct informer_obj *o, int policy_news)
{
	struct sched_node *n = sched_node_get(o->name, 1);

	if (!n)
		return;
	sched_node_set_status(n, o->obj, 1);
	if (policy_news && n->v.policy)
		policy_changed(n);
	room_changed();
}

static void
status_added(struct informer *inf, const struct informer_obj *o, void *arg)
{
	(void)inf;
	(void)arg;
	status_set(o, 1);
}

static void
status_updated(struct informer *inf, const struct informer_obj *old, const struct informer_obj *o, void *arg)
{
	(void)inf;
	(void)arg;
	status_set(o, !old->obj || !o->obj || !same_policy(old->obj, o->obj));
}

static void
status_deleted(struct informer *inf, const struct informer_obj *old, void *arg)
{
	struct sched_node *n = sched_node_get(old->name, 0);

	(void)inf;
	(void)arg;
	if (n) {
		sched_node_set_status(n, NULL, 0);
		room_changed(); /* capacity falls back to the node key's */
		sched_node_gc(n);
	}
}

/* A lease key written: a heartbeat (runtime/liveness.h). */
static void
lease_added(struct informer *inf, const struct informer_obj *o, void *arg)
{
	struct sched_node *n = sched_node_get(o->name, 1);
	double now = ev_now(S.d->loop);

	(void)inf;
	(void)arg;
	if (!n)
		return;
	liveness_observe(&n->beat, o->value, o->value_len, o->mod_revision, now);
	if (sched_node_judge(n, now))
		room_changed();
}

static void
lease_updated(struct informer *inf, const struct informer_obj *old, const struct informer_obj *o, void *arg)
{
	(void)old;
	lease_added(inf, o, arg);
}

static void
lease_deleted(struct informer *inf, const struct informer_obj *old, void *arg)
{
	struct sched_node *n = sched_node_get(old->name, 0);

	(void)inf;
	(void)arg;
	if (n) {
		liveness_lost(&n->beat);
		n->v.ready = 0;
		log_kv(LL_INFO, KV("node", old->name), "node lease gone: node not ready, no new pods go there");
		sched_node_gc(n);
	}
}

/* ---- bindings: NAME is "NODE/POD" ---- */

static int
split(const char *name, char *node, size_t len, const char **pod)
{
	const char *slash = strchr(name, '/');

	if (!slash || (size_t)(slash - name) >= len || !slash[1] || strchr(slash + 1, '/'))
		return -1;
	memcpy(node, name, (size_t)(slash - name));
	node[slash - name] = '\0';
	*pod = slash + 1;
	return 0;
}

/* Could sched_upkeep have anything to do for binding o of pl? Not when
 * it holds the current incarnation's latest copy (it was written after the
 * pod's last change), the case of every binding we just made, and the
 * node's agent allows the pod. That is asked again here because a policy
 * that arrives while the binding is only assumed (its transaction sent,
 * its watch event not yet seen: the two watches are not ordered) passes
 * the placement over (policy_changed). */
static int
upkeep_needed(const struct sched_place *pl, const struct informer_obj *o)
{
	const struct informer_obj *po = informer_get(S.pods, pl->pod);

	return !po || po->create_revision != pl->uid ||
	       (po->obj && (po->mod_revision >= o->mod_revision || sched_refused(pl->node, po->obj)));
}

/* Is o the binding our own transaction wrote, byte for byte as sent (the
 * placement assumed on that node holds the hash of what was sent)? Then
 * the placement is confirmed without decoding the pod copy again: it
 * would give what the cached pod gave when the placement was counted. */
static int
binding_ours(const struct informer_obj *o, const char *node, const char *pod)
{
	struct sched_place *pl = sched_place_find(pod);

	if (!pl || !pl->assumed || strcmp(pl->node->name, node) != 0 ||
	    pl->bhash != fnv1a64(FNV64_BASIS, o->value, o->value_len))
		return 0;
	pl->assumed = 0;
	pl->bmod = o->mod_revision;
	sched_pending_del(pod);
	if (upkeep_needed(pl, o))
		wq_add(S.q, pod);
	return 1;
}

static void
binding_seen(const struct informer_obj *o)
{
	char node[API_SUBDOMAIN_MAX + 1];
	const char *pod;
	struct api_binding *b;
	struct sched_pod copy = {0}; /* of the binding's pod */
	struct sched_place *pl;
	int64_t uid = 0;

	if (split(o->name, node, sizeof(node), &pod) < 0)
		return;
	if (binding_ours(o, node, pod))
		return;
	b = parse_binding(o);
	if (b && b->pod.meta.uid)
		uid = strtoll(b->pod.meta.uid, NULL, 10);
	pl = sched_place_find(pod);
	if (pl && !pl->assumed && strcmp(pl->node->name, node) != 0) {
		log_kv(LL_ERROR, KV("pod", pod, "node", node, "other", pl->node->name),
		       "pod has bindings on two nodes; delete the wrong one with etcdctl");
		api_binding_free(b);
		return;
	}
	pl = b && sched_pod_digest(&b->pod, &copy) < 0 ? NULL : sched_place_add(pod, node, uid, b ? &copy : NULL, 0);
	sched_pod_clear(&copy);
	api_binding_free(b);
	if (!pl) {
		log_kv(LL_ERROR, KV("pod", pod, "node", node), "out of memory recording a binding");
		return;
	}
	pl->bmod = o->mod_revision;
	pl->bhash = fnv1a64(FNV64_BASIS, o->value, o->value_len);
	sched_pending_del(pod);
	if (upkeep_needed(pl, o))
		wq_add(S.q, pod);
}

static void
binding_added(struct informer *inf, const struct informer_obj *o, void *arg)
{
	(void)inf;
	(void)arg;
	binding_seen(o);
}

static void
binding_updated(struct informer *inf, const struct informer_obj *old, const struct informer_obj *o, void *arg)
{
	(void)inf;
	(void)old;
	(void)arg;
	binding_seen(o);
}

static void
binding_deleted(struct informer *inf, const struct informer_obj *old, void *arg)
{
	char node[API_SUBDOMAIN_MAX + 1];
	const char *pod;
	struct sched_place *pl;
	const struct informer_obj *po;

	(void)inf;
	(void)arg;
	if (split(old->name, node, sizeof(node), &pod) < 0)
		return;
	if (!(pl = sched_place_find(pod)) || pl->assumed || strcmp(pl->node->name, node) != 0)
		return;
	sched_place_del(pl);
	S.gen++;
	if ((po = informer_get(S.pods, pod)) && po->obj)
		sched_pending_add(pod, po->create_revision);
	sched_kick();
}

/* ---- services: they change which pods spread together ---- */

static void
service_changed(struct informer *inf, const struct informer_obj *o, void *arg)
{
	(void)inf;
	(void)o;
	(void)arg;
	if (informer_synced(S.services))
		sched_places_rekey();
}

static void
service_updated(struct informer *inf, const struct informer_obj *old, const struct informer_obj *o, void *arg)
{
	(void)old;
	service_changed(inf, o, arg);
}

/* ---- life ---- */

static void
synced(struct informer *inf, void *arg)
{
	(void)arg;
	if (inf == S.services)
		sched_places_rekey();
	if (controller_synced(S.ctl))
		log_info("caches synced: %zu pods, %zu nodes, %zu bindings", informer_count(S.pods),
		         informer_count(S.nodes), informer_count(S.bindings));
	sched_kick();
}

void
sched_resync(struct controller *c, void *arg)
{
	struct sched_place *p, *tmp;

	(void)c;
	(void)arg;
	HASH_ITER(hh, S.places, p, tmp) {
		if (!p->assumed)
			wq_add(S.q, p->pod);
	}
	sched_kick();
}

/* Started in this order; pods and bindings are the many: the pods cache
 * keeps a digest (struct sched_pod, with the copy a binding is written
 * from) and not the raw value, the bindings cache neither object nor
 * value. */
const struct controller_watch sched_watches[] = {
	{"services",
         dec_service,
         free_service,
         {service_changed, service_updated, service_changed, synced, NULL},
         0,
         &S.services},
	{"nodes", dec_node, free_node, {node_added, node_updated, node_deleted, synced, NULL}, 0, &S.nodes},
	{"nodestatus",
         dec_node,
         free_node,
         {status_added, status_updated, status_deleted, synced, NULL},
         0,
         &S.nodestatus},
	{"nodeleases", NULL, NULL, {lease_added, lease_updated, lease_deleted, synced, NULL}, 0, &S.leases},
	{"bindings", NULL, NULL, {binding_added, binding_updated, binding_deleted, synced, NULL}, 1, &S.bindings},
	{"pods", dec_pod, free_pod, {pod_added, pod_updated, pod_deleted, synced, NULL}, 1, &S.pods},
	{0},
};
