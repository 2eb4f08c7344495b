/*
 * sched_cache.c: the scheduler's bookkeeping, kept incrementally from the
 * informers' handlers: each node name with what is placed on it (sums of
 * requests, pod count, host ports in use, pods per spread key: owner or
 * service), each pod's
 * placement (bound per P/bindings/, or assumed while our bind transaction
 * is in flight), and the set of pods still waiting for a node. It does not
 * decide anything and writes nothing to etcd.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sched.h"

struct sched_node *
sched_node_get(const char *name, int create)
{
	struct sched_node *n = NULL;

	HASH_FIND_STR(S.nodetab, name, n);
	if (n || !create)
		return n;
	if (!(n = calloc(1, sizeof(*n))) || !(n->name = strdup(name))) {
		free(n);
		return NULL;
	}
	n->v.name = n->name;
	n->v.cap_cpu = n->v.cap_mem = n->v.cap_pods = SCHED_UNLIMITED;
	HASH_ADD_KEYPTR(hh, S.nodetab, n->name, strlen(n->name), n);
	return n;
}

static void
owner_free(struct sched_node *n, struct sched_owner *o)
{
	struct sched_group *g = o->group;

	HASH_DEL(n->owners, o); /* first: o->key is the group's */
	if (g) {
		g->members[o->gidx] = g->members[--g->n];
		g->members[o->gidx]->gidx = o->gidx;
		if (g->n == 0) {
			HASH_DEL(S.groups, g);
			free(g->members);
			free(g->key);
			free(g);
		}
	}
	free(o);
}

/* Put o in the group of key (made if needed); o->key borrows the group's
 * copy. -1 when out of memory (o is then in no group). */
static int
group_join(struct sched_owner *o, const char *key)
{
	struct sched_group *g = NULL;
	struct sched_owner **m;

	HASH_FIND_STR(S.groups, key, g);
	if (!g) {
		if (!(g = calloc(1, sizeof(*g))) || !(g->key = strdup(key))) {
			free(g);
			return -1;
		}
		HASH_ADD_KEYPTR(hh, S.groups, g->key, strlen(g->key), g);
	}
	if (g->n == g->cap) {
		size_t cap = g->cap ? 2 * g->cap : 8;

		if (!(m = realloc(g->members, cap * sizeof(*m))))
			return -1; /* g may stay empty; it is freed with the next leaver or at exit */
		g->members = m;
		g->cap = cap;
	}
	o->group = g;
	o->key = g->key;
	o->gidx = g->n;
	g->members[g->n++] = o;
	return 0;
}

static void
node_free(struct sched_node *n)
{
	struct sched_owner *o, *tmp;

	HASH_ITER(hh, n->owners, o, tmp)
		owner_free(n, o);
	free(n->ports);
	free(n->name);
	free(n);
}

/* Forget n once nothing refers to it: no node key, no status, no lease,
 * no placement. */
void
sched_node_gc(struct sched_node *n)
{
	if (!n || n->has_key || n->has_status || n->beat.present || n->refs > 0)
		return;
	HASH_DEL(S.nodetab, n);
	node_free(n);
}

static int64_t
cap_of(const struct api_quantity *q)
{
	return q->text ? q->value : SCHED_UNLIMITED;
}

/* Capacity from the agent's status, else from the node key's (version 1). */
static void
capacity_set(struct sched_node *n)
{
	const struct api_node *src = n->has_status ? n->status : n->node;

	n->v.cap_cpu = src ? cap_of(&src->status.capacity.cpu) : SCHED_UNLIMITED;
	n->v.cap_mem = src ? cap_of(&src->status.capacity.memory) : SCHED_UNLIMITED;
	n->v.cap_pods = src ? cap_of(&src->status.capacity.pods) : SCHED_UNLIMITED;
	n->v.policy = n->has_status && n->status && n->status->status.policy ? &n->status->status : NULL;
}

void
sched_node_set(struct sched_node *n, const struct api_node *node, int has_key)
{
	n->node = node;
	n->has_key = has_key;
	n->v.labels = node ? &node->meta.labels : NULL;
	n->v.unschedulable = node ? node->spec.unschedulable : 0;
	capacity_set(n);
}

void
sched_node_set_status(struct sched_node *n, const struct api_node *status, int has_status)
{
	n->status = status;
	n->has_status = has_status;
	n->v.disk_pressure = status && has_status ? status->status.disk_pressure : 0;
	capacity_set(n);
}

int
sched_node_judge(struct sched_node *n, double now)
{
	int ready = liveness_ready(&n->beat, now);

	if (ready == n->v.ready)
		return 0;
	n->v.ready = ready;
	return 1;
}

int
sched_nodes_judge(double now)
{
	struct sched_node *n, *tmp;
	int up = 0;

	HASH_ITER(hh, S.nodetab, n, tmp) {
		if (!sched_node_judge(n, now))
			continue;
		if (n->v.ready)
			up = 1;
		else if (n->beat.present)
			log_kv(LL_INFO, KV("node", n->name),
			       "node lease not renewed for %.0fs: node not ready, no new pods go there",
			       n->beat.duration + LIVENESS_SLACK);
	}
	return up;
}

void
sched_spread_free(struct sched_spread *sp)
{
	for (size_t i = 0; i < sp->n; i++)
		free(sp->keys[i].key);
	free(sp->keys);
	sp->keys = NULL;
	sp->n = 0;
}

struct svc_match {
	const struct api_labels *labels;
	struct sched_spread *sp;
	size_t cap;
	int oom;
};

static int
spread_add(struct sched_spread *sp, size_t *cap, const char *kind, const char *name)
{
	size_t len = strlen(kind) + strlen(name) + 1;
	struct sched_skey *k;

	if (sp->n == *cap) {
		*cap = *cap ? 2 * *cap : 4;
		if (!(k = realloc(sp->keys, *cap * sizeof(*k))))
			return -1;
		sp->keys = k;
	}
	k = &sp->keys[sp->n];
	if (!(k->key = malloc(len)))
		return -1;
	snprintf(k->key, len, "%s%s", kind, name);
	k->len = len - 1;
	HASH_VALUE(k->key, k->len, k->hv);
	sp->n++;
	return 0;
}

static void
svc_match(const struct informer_obj *o, void *arg)
{
	struct svc_match *m = arg;
	const struct api_service *svc = o->obj;

	if (svc && !api_selector_empty(&svc->spec.selector) && api_selector_matches(&svc->spec.selector, m->labels) &&
	    spread_add(m->sp, &m->cap, "Service/", o->name) < 0)
		m->oom = 1;
}

int
sched_spread_keys(const struct api_labels *labels, const char *owner, struct sched_spread *sp)
{
	struct svc_match m = {labels, sp, 0, 0};

	memset(sp, 0, sizeof(*sp));
	if (owner && spread_add(sp, &m.cap, "", owner) < 0)
		m.oom = 1;
	if (S.services && !m.oom)
		informer_foreach(S.services, svc_match, &m);
	if (m.oom) {
		sched_spread_free(sp);
		return -1;
	}
	return 0;
}

void
sched_spread_apply(const struct sched_spread *sp)
{
	for (size_t i = 0; i < sp->n; i++) {
		struct sched_group *g = NULL;

		HASH_FIND_BYHASHVALUE(hh, S.groups, sp->keys[i].key, sp->keys[i].len, sp->keys[i].hv, g);
		for (size_t j = 0; g && j < g->n; j++) {
			struct sched_owner *o = g->members[j];

			if (o->count > o->node->v.same_owner)
				o->node->v.same_owner = o->count;
		}
	}
}

void
sched_spread_reset(const struct sched_spread *sp)
{
	for (size_t i = 0; i < sp->n; i++) {
		struct sched_group *g = NULL;

		HASH_FIND_BYHASHVALUE(hh, S.groups, sp->keys[i].key, sp->keys[i].len, sp->keys[i].hv, g);
		for (size_t j = 0; g && j < g->n; j++)
			g->members[j]->node->v.same_owner = 0;
	}
}

int
sched_pod_req(const struct sched_pod *pod, struct sched_podreq *req, struct sched_hostport **ports,
              struct sched_spread *sp)
{
	memset(req, 0, sizeof(*req));
	memset(sp, 0, sizeof(*sp));
	*ports = NULL;
	req->cpu = pod->cpu;
	req->mem = pod->mem;
	req->selector = &pod->node_selector;
	req->privileged = pod->privileged;
	req->volumes = pod->host_paths;
	req->nvolumes = pod->n_host_paths;
	if (pod->nports && !(*ports = malloc(pod->nports * sizeof(**ports))))
		return -1;
	if (pod->nports)
		memcpy(*ports, pod->ports, pod->nports * sizeof(**ports));
	req->ports = *ports;
	req->nports = pod->nports;
	if (sched_spread_keys(&pod->labels, pod->owner, sp) < 0) {
		free(*ports);
		*ports = NULL;
		return -1;
	}
	req->owner = sp->n ? sp->keys[0].key : NULL;
	return 0;
}

static void
port_use(struct sched_node *n, const struct sched_hostport *hp, int delta)
{
	struct sched_portuse *pu;

	for (size_t i = 0; i < n->nports; i++)
		if (n->ports[i].port == hp->port && n->ports[i].proto == hp->proto) {
			n->ports[i].count += delta;
			if (n->ports[i].count <= 0)
				n->ports[i] = n->ports[--n->nports];
			goto out;
		}
	if (delta <= 0)
		goto out;
	if (n->nports == n->capports) {
		size_t cap = n->capports ? 2 * n->capports : 4;

		if (!(pu = realloc(n->ports, cap * sizeof(*pu))))
			goto out; /* the port goes unrecorded; txn compares still hold */
		n->ports = pu;
		n->capports = cap;
	}
	n->ports[n->nports++] = (struct sched_portuse){hp->port, hp->proto, delta};
out:
	n->v.ports = n->ports;
	n->v.nports = n->nports;
}

static void
owner_use(struct sched_node *n, const char *key, int delta)
{
	struct sched_owner *o = NULL;

	if (!key)
		return;
	HASH_FIND_STR(n->owners, key, o);
	if (!o && delta > 0) {
		if (!(o = calloc(1, sizeof(*o))))
			return;
		if (group_join(o, key) < 0) {
			free(o); /* spreading ignores it: a worse score, nothing wrong */
			return;
		}
		o->node = n;
		HASH_ADD_KEYPTR(hh, n->owners, o->key, strlen(o->key), o);
	}
	if (!o)
		return;
	o->count += delta;
	if (o->count <= 0)
		owner_free(n, o);
}

static void
account_spread(struct sched_place *p, int delta)
{
	for (size_t i = 0; i < p->spread.n; i++)
		owner_use(p->node, p->spread.keys[i].key, delta);
}

static void
account(struct sched_place *p, int delta)
{
	struct sched_node *n = p->node;

	n->v.used_cpu = sched_add_sat(n->v.used_cpu, delta * p->cpu);
	n->v.used_mem = sched_add_sat(n->v.used_mem, delta * p->mem);
	n->v.used_pods += delta;
	n->refs += delta;
	for (size_t i = 0; i < p->nports; i++)
		port_use(n, &p->ports[i], delta);
	account_spread(p, delta);
}

struct sched_place *
sched_place_find(const char *pod)
{
	struct sched_place *p = NULL;

	HASH_FIND_STR(S.places, pod, p);
	return p;
}

struct sched_place *
sched_place_add(const char *pod, const char *node, int64_t uid, const struct sched_pod *obj, int assumed)
{
	struct sched_place *p, *old;
	struct sched_podreq req = {0};

	if ((old = sched_place_find(pod)))
		sched_place_del(old); /* first: it may hold the last reference to node */
	if (!(p = calloc(1, sizeof(*p))) || !(p->pod = strdup(pod)) || !(p->node = sched_node_get(node, 1)))
		goto fail;
	if (obj && sched_pod_req(obj, &req, &p->ports, &p->spread) < 0)
		goto fail;
	p->uid = uid;
	p->cpu = req.cpu;
	p->mem = req.mem;
	p->nports = req.nports;
	p->assumed = assumed;
	HASH_ADD_KEYPTR(hh, S.places, p->pod, strlen(p->pod), p);
	account(p, 1);
	return p;
fail:
	if (p) {
		free(p->pod);
		free(p->ports);
		sched_spread_free(&p->spread);
		sched_node_gc(p->node);
	}
	free(p);
	return NULL;
}

void
sched_place_del(struct sched_place *p)
{
	struct sched_node *n = p->node;

	account(p, -1);
	HASH_DEL(S.places, p);
	free(p->pod);
	free(p->ports);
	sched_spread_free(&p->spread);
	free(p);
	sched_node_gc(n);
}

/* The labels and owner come from the pod as cached now (the placement
 * keeps no copy); a placement whose pod is gone or replaced keeps its keys
 * until upkeep deletes its binding. */
void
sched_places_rekey(void)
{
	struct sched_place *p, *tmp;
	const struct informer_obj *po;
	const struct sched_pod *pod;
	struct sched_spread sp;

	HASH_ITER(hh, S.places, p, tmp) {
		if (!(po = informer_get(S.pods, p->pod)) || !(pod = po->obj) || po->create_revision != p->uid)
			continue;
		if (sched_spread_keys(&pod->labels, pod->owner, &sp) < 0)
			continue; /* out of memory: keep the old keys */
		account_spread(p, -1);
		sched_spread_free(&p->spread);
		p->spread = sp;
		account_spread(p, 1);
	}
}

struct sched_pending *
sched_pending_find(const char *pod)
{
	struct sched_pending *w = NULL;

	HASH_FIND_STR(S.pending, pod, w);
	return w;
}

/* Add pod, or make it worth trying again now. The caller kicks a pass. */
void
sched_pending_add(const char *pod, int64_t create_rev)
{
	struct sched_pending *w = sched_pending_find(pod);

	if (!w) {
		if (!(w = calloc(1, sizeof(*w))) || !(w->pod = strdup(pod))) {
			free(w);
			log_kv(LL_ERROR, KV("pod", pod), "out of memory; the pod is scheduled after a restart");
			return;
		}
		HASH_ADD_KEYPTR(hh, S.pending, w->pod, strlen(w->pod), w);
	}
	w->create_rev = create_rev;
	w->state = SP_READY;
	w->not_before = 0;
	S.order_dirty = 1;
}

void
sched_pending_del(const char *pod)
{
	struct sched_pending *w = sched_pending_find(pod);

	if (w) {
		HASH_DEL(S.pending, w);
		free(w->pod);
		free(w);
	}
}

void
sched_cache_free(void)
{
	struct sched_pending *w, *wt;
	struct sched_place *p, *pt;
	struct sched_node *n, *nt;

	HASH_ITER(hh, S.pending, w, wt)
		sched_pending_del(w->pod);
	HASH_ITER(hh, S.places, p, pt)
		sched_place_del(p);
	HASH_ITER(hh, S.nodetab, n, nt) {
		HASH_DEL(S.nodetab, n);
		node_free(n);
	}
	/* Groups left empty by a failed join. */
	struct sched_group *g, *gt;
	HASH_ITER(hh, S.groups, g, gt) {
		HASH_DEL(S.groups, g);
		free(g->members);
		free(g->key);
		free(g);
	}
}
