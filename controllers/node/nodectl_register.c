/*
 * nodectl_register.c: registration. For each node with a status
 * (P/nodestatus/NODE, the agent's) and no P/nodes/NODE, create the node
 * key in a create-if-absent transaction:
 *   {"metadata":{"name":NODE,"labels":{...}},"spec":{"unschedulable":false}}
 * with the labels the agent asked for minus those under
 * node-restriction.skiff.io/ (only admins set those; each dropped label is
 * reported with a Warning event RestrictedLabel). It never overwrites or
 * updates a node key: after creation P/nodes/NODE is the admins'.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nodectl.h"

struct nc_reg {
	struct nodectl *nc;
	char node[API_SUBDOMAIN_MAX + 1];
	char dropped[512]; /* the dropped label keys, ", "-separated */
};

/* The node key's value for node name of status s; dropped gets the refused keys. New
 * string (free()), NULL when out of memory. */
static char *
node_value(const char *name, const struct api_node *s, char *dropped, size_t len)
{
	json_t *labels = json_object(), *root;
	size_t i, at = 0;
	char *out;

	for (i = 0; labels && i < s->meta.labels.n; i++) {
		const struct api_label *l = &s->meta.labels.items[i];

		if (strncmp(l->key, NC_RESTRICTED_PREFIX, strlen(NC_RESTRICTED_PREFIX)) == 0) {
			if (at < len)
				at += (size_t)snprintf(dropped + at, len - at, "%s%s", at ? ", " : "", l->key);
			continue;
		}
		json_object_set_new(labels, l->key, json_string(l->value));
	}
	root = json_pack("{s:{s:s,s:o},s:{s:b}}", "metadata", "name", name, "labels", labels, "spec", "unschedulable",
	                 0);
	out = root ? json_dumps(root, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	json_decref(root);
	return out;
}

static void
reg_done(struct etcd_result *res, void *arg)
{
	struct nc_reg *r = arg;
	struct nodectl *nc = r->nc;
	struct nc_node *n = nc->table ? nc_node_get(nc, r->node, 0) : NULL;

	if (n)
		n->registering = 0;
	if (res->err.code != ETCD_OK && res->err.code != ETCD_ECANCELED)
		log_kv(LL_WARN, KV("node", r->node), "cannot register the node: %s (%s); trying again shortly",
		       res->err.msg, etcd_code_name(res->err.code));
	else if (res->err.code == ETCD_OK && res->succeeded) {
		metric_inc(nc->m_registered);
		log_kv(LL_INFO, KV("node", r->node), "registered the node from its status");
		if (r->dropped[0]) {
			log_kv(LL_WARN, KV("node", r->node), "dropped restricted labels %s (only admins set them)",
			       r->dropped);
			recorder_eventf(nc->rec, "nodes", r->node, "Warning", "RestrictedLabel",
			                "labels under " NC_RESTRICTED_PREFIX " come only from admins; dropped: %s",
			                r->dropped);
		}
	}
	if (n)
		nc_node_gc(nc, n);
	free(r);
	nc_write_ended(nc);
}

/* Send the create of n's node key from its status s. */
static void
reg_send(struct nodectl *nc, struct nc_node *n, const struct api_node *s)
{
	struct etcd_error err = {0};
	struct api_error e;
	char key[API_KEY_MAX], *val;
	struct etcd_txn *t;
	struct nc_reg *r;

	if (api_key_object(key, sizeof(key), nc->prefix, API_NODE, n->name, &e) < 0 || !(r = calloc(1, sizeof(*r))))
		return;
	r->nc = nc;
	snprintf(r->node, sizeof(r->node), "%s", n->name);
	if (!(val = node_value(n->name, s, r->dropped, sizeof(r->dropped))) || !(t = etcd_txn_new())) {
		free(val);
		free(r);
		return;
	}
	etcd_txn_cmp(t, key, ETCD_CMP_CREATE, ETCD_CMP_EQUAL, 0);
	etcd_txn_put(t, ETCD_TXN_SUCCESS, key, val, strlen(val), 0);
	free(val);
	if (etcd_txn_commit(nc->d->etcd, t, reg_done, r, &err) < 0) {
		log_kv(LL_WARN, KV("node", n->name), "cannot register the node: %s", err.msg);
		free(r);
		return;
	}
	n->registering = 1;
	nc->inflight++;
}

void
nc_register(struct nodectl *nc)
{
	const struct informer_obj *o;
	struct nc_node *n, *tmp;

	HASH_ITER(hh, nc->table, n, tmp) {
		if (!n->has_status || n->has_node || n->registering)
			continue;
		if (!(o = informer_get(nc->nodestatus, n->name)) || !o->obj) {
			if (o && o->mod_revision != n->reg_judged) {
				n->reg_judged = o->mod_revision;
				log_kv(LL_WARN, KV("node", n->name), "not registering: its status does not decode");
			}
			continue;
		}
		reg_send(nc, n, o->obj);
	}
}
