/*
 * cfgc_sync.c: reconcile one node. Reads only the caches: the node's
 * bindings (what their pods refer to), the ConfigMaps and Secrets, and the
 * copies under P/nodeconfig/NODE/. Writes a copy only when its bytes
 * differ from the original, and deletes a copy that no pod on the node
 * refers to or whose original is gone or invalid, each in a transaction
 * comparing the revision it read. It never copies anything to a node no
 * binding names, and never reads a pod's values.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfgc.h"

struct write {
	struct cfgc *c;
	char node[API_SUBDOMAIN_MAX + 1];
};

static size_t inflight;
static int64_t written_rev; /* the newest revision of our own writes */

static void
write_done(struct etcd_result *res, void *arg)
{
	struct write *w = arg;

	if (res->err.code != ETCD_OK && res->err.code != ETCD_ECANCELED) {
		log_kv(LL_WARN, KV("node", w->node), "config copy write failed: %s; will retry", res->err.msg);
		wq_add_after(w->c->q, w->node, 1.0);
	} else if (res->err.code == ETCD_OK) {
		/* Look again only once the cache has seen this revision. */
		if (res->revision > written_rev)
			written_rev = res->revision;
		if (!res->succeeded)
			wq_add(w->c->q, w->node); /* the copy moved meanwhile */
	}
	inflight--;
	controller_settled(w->c->ctl);
	free(w);
}

int
cfgc_busy(void *arg)
{
	(void)arg;
	return inflight > 0;
}

/* Send t (a put or delete guarded by a compare); requeue node on failure. */
static void
commit(struct cfgc *c, const char *node, struct etcd_txn *t)
{
	struct etcd_error err = {0};
	struct write *w = calloc(1, sizeof(*w));

	if (w) {
		w->c = c;
		snprintf(w->node, sizeof(w->node), "%s", node);
	}
	if (!w || etcd_txn_commit(c->d->etcd, t, write_done, w, &err) < 0) {
		free(w);
		log_kv(LL_WARN, KV("node", node), "cannot write config copies: %s; will retry",
		       err.msg[0] ? err.msg : "out of memory");
		wq_add_after(c->q, node, 1.0);
		return;
	}
	inflight++;
}

/* ---- what the node needs ---- */

struct wanted {
	const char *node;
	size_t node_len;
	const char **refs; /* borrowed from the bindings' cache */
	size_t n, cap;
	int oom;
};

/* o's name is NODE/REST and NODE is w's node: REST, else NULL. */
static const char *
under_node(const struct wanted *w, const char *name)
{
	return strncmp(name, w->node, w->node_len) == 0 && name[w->node_len] == '/' ? name + w->node_len + 1 : NULL;
}

static int
wanted_has(const struct wanted *w, const char *ref)
{
	for (size_t i = 0; i < w->n; i++)
		if (strcmp(w->refs[i], ref) == 0)
			return 1;
	return 0;
}

static void
want_binding(const struct informer_obj *o, void *arg)
{
	struct wanted *w = arg;
	const struct cfgc_refs *r = o->obj;
	const char **nv;

	if (!r || !under_node(w, o->name))
		return;
	for (size_t i = 0; i < r->n; i++) {
		if (wanted_has(w, r->refs[i]))
			continue;
		if (w->n == w->cap) {
			w->cap = w->cap ? 2 * w->cap : 8;
			if (!(nv = realloc(w->refs, w->cap * sizeof(*nv)))) {
				w->oom = 1;
				return;
			}
			w->refs = nv;
		}
		w->refs[w->n++] = r->refs[i];
	}
}

/* The valid original of ref ("configmaps/NAME"), or NULL. */
static const struct informer_obj *
original(struct cfgc *c, const char *ref)
{
	const struct informer_obj *o = NULL;

	if (strncmp(ref, "configmaps/", 11) == 0)
		o = informer_get(c->configmaps, ref + 11);
	else if (strncmp(ref, "secrets/", 8) == 0)
		o = informer_get(c->secrets, ref + 8);
	return o && o->obj ? o : NULL;
}

static void
put_copy(struct cfgc *c, const char *node, const char *ref)
{
	const struct informer_obj *src = original(c, ref), *cur;
	int secret = strncmp(ref, "secrets/", 8) == 0;
	struct api_error err;
	struct etcd_txn *t;
	char name[600], key[API_KEY_MAX + 1];

	if (!src)
		return; /* missing: the pod waits (or goes on, when optional) */
	/* Built by api/: a name that is no valid key part never makes a key. */
	if (api_key_nodeconfig(key, sizeof(key), c->prefix, node, secret ? API_SECRET : API_CONFIGMAP,
	                       strchr(ref, '/') + 1, &err) < 0)
		return;
	snprintf(name, sizeof(name), "%s/%s", node, ref);
	cur = informer_get(c->copies, name);
	if (cur && cur->value_len == src->value_len && memcmp(cur->value, src->value, src->value_len) == 0)
		return;
	t = etcd_txn_new();
	etcd_txn_cmp(t, key, ETCD_CMP_MOD, ETCD_CMP_EQUAL, cur ? cur->mod_revision : 0);
	etcd_txn_put(t, ETCD_TXN_SUCCESS, key, src->value, src->value_len, 0);
	commit(c, node, t);
	metric_inc(c->writes);
	log_kv(LL_DEBUG, KV("node", node, "copy", ref), "config copy written");
}

struct stale {
	struct cfgc *c;
	struct wanted *w;
};

static void
drop_stale(const struct informer_obj *o, void *arg)
{
	struct stale *s = arg;
	const char *ref = under_node(s->w, o->name);
	struct etcd_txn *t;

	if (!ref || (wanted_has(s->w, ref) && original(s->c, ref)))
		return;
	t = etcd_txn_new();
	etcd_txn_cmp(t, o->key, ETCD_CMP_MOD, ETCD_CMP_EQUAL, o->mod_revision);
	etcd_txn_delete(t, ETCD_TXN_SUCCESS, o->key, 0);
	commit(s->c, s->w->node, t);
	metric_inc(s->c->deletes);
	log_kv(LL_DEBUG, KV("node", s->w->node, "copy", ref), "config copy removed");
}

void
cfgc_reconcile(struct wq *q, const char *node, void *arg)
{
	struct cfgc *c = arg;
	struct wanted w = {.node = node, .node_len = strlen(node)};
	struct stale s = {c, &w};

	if (api_check_dns_subdomain(node, NULL) < 0) {
		wq_done(q, node, WQ_OK, 0); /* not a node name: nothing may be copied there */
		return;
	}
	if (informer_revision(c->copies) < written_rev) {
		wq_done(q, node, WQ_REQUEUE_AFTER, 0.05); /* our last writes are not in the cache yet */
		return;
	}
	informer_foreach(c->bindings, want_binding, &w);
	if (w.oom) {
		free(w.refs);
		wq_done(q, node, WQ_RETRY, 0);
		return;
	}
	for (size_t i = 0; i < w.n; i++)
		put_copy(c, node, w.refs[i]);
	informer_foreach(c->copies, drop_stale, &s);
	free(w.refs);
	wq_done(q, node, WQ_OK, 0);
}

/* ---- who to look at again ---- */

struct enq {
	struct cfgc *c;
	const char *ref;
};

void
cfgc_enqueue_node_of(struct cfgc *c, const char *name)
{
	const char *slash = strchr(name, '/');
	char node[API_SUBDOMAIN_MAX + 1];

	if (!slash || (size_t)(slash - name) > API_SUBDOMAIN_MAX)
		return;
	memcpy(node, name, (size_t)(slash - name));
	node[slash - name] = '\0';
	wq_add(c->q, node);
}

static void
enq_binding(const struct informer_obj *o, void *arg)
{
	struct enq *e = arg;

	if (!e->ref || cfgc_refs_has(o->obj, e->ref))
		cfgc_enqueue_node_of(e->c, o->name);
}

static void
enq_copy(const struct informer_obj *o, void *arg)
{
	struct enq *e = arg;
	const char *slash = strchr(o->name, '/');

	if (!e->ref || (slash && strcmp(slash + 1, e->ref) == 0))
		cfgc_enqueue_node_of(e->c, o->name);
}

void
cfgc_enqueue_for(struct cfgc *c, const char *ref)
{
	struct enq e = {c, ref};

	informer_foreach(c->bindings, enq_binding, &e);
	informer_foreach(c->copies, enq_copy, &e);
}
