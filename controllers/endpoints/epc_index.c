/*
 * epc_index.c: pod name → the nodes that hold a key NODE/POD in one
 * informer (the bindings, or the pod statuses), with each key's mod
 * revision. Usually one node; two while a pod moves (an evicted pod's new
 * binding may be seen before the old one's delete, a cut-off node's agent
 * deletes its status key once it is back). It only remembers names: what
 * the keys say is read from the informers, and which one is believed is
 * epc_trust.c's decision.
 */
#include <stdlib.h>
#include <string.h>
#include <uthash.h>

#include "epc.h"

struct podnode_at {
	char *node;
	int64_t rev;
};

struct podnode {
	char *pod;
	struct podnode_at *at;
	size_t n;
	UT_hash_handle hh;
};

static void
podnode_free(struct podnode *pn)
{
	for (size_t i = 0; i < pn->n; i++)
		free(pn->at[i].node);
	free(pn->at);
	free(pn->pod);
	free(pn);
}

/* Take node (len bytes) out of pn's list; 1 if it was there. */
static int
podnode_remove(struct podnode *pn, const char *node, size_t len)
{
	for (size_t i = 0; i < pn->n; i++) {
		if (strlen(pn->at[i].node) == len && strncmp(pn->at[i].node, node, len) == 0) {
			free(pn->at[i].node);
			pn->at[i] = pn->at[--pn->n];
			return 1;
		}
	}
	return 0;
}

static struct podnode *
podnode_get(struct podnode **idx, const char *pod)
{
	struct podnode *pn = NULL;

	HASH_FIND_STR(*idx, pod, pn);
	if (pn)
		return pn;
	if (!(pn = calloc(1, sizeof(*pn))) || !(pn->pod = strdup(pod))) {
		free(pn);
		return NULL;
	}
	HASH_ADD_KEYPTR(hh, *idx, pn->pod, strlen(pn->pod), pn);
	return pn;
}

void
epc_index_set(struct podnode **idx, const struct informer_obj *o, int present)
{
	const char *slash = strchr(o->name, '/');
	size_t len = slash ? (size_t)(slash - o->name) : 0;
	struct podnode *pn = NULL;
	struct podnode_at *at;
	char *node;

	if (!slash)
		return;
	if (!present) {
		HASH_FIND_STR(*idx, slash + 1, pn);
		if (pn && podnode_remove(pn, o->name, len) && pn->n == 0) {
			HASH_DEL(*idx, pn);
			podnode_free(pn);
		}
		return;
	}
	if (!(pn = podnode_get(idx, slash + 1)))
		return;
	podnode_remove(pn, o->name, len);
	if (!(node = strndup(o->name, len)) || !(at = realloc(pn->at, (pn->n + 1) * sizeof(*at)))) {
		free(node);
		return;
	}
	pn->at = at;
	pn->at[pn->n++] = (struct podnode_at){node, o->mod_revision};
}

size_t
epc_index_nodes(struct podnode *idx, const char *pod, const char **nodes, int64_t *revs, size_t max)
{
	struct podnode *pn = NULL;
	size_t i;

	HASH_FIND_STR(idx, pod, pn);
	for (i = 0; pn && i < pn->n && i < max; i++) {
		nodes[i] = pn->at[i].node;
		revs[i] = pn->at[i].rev;
	}
	return pn ? pn->n : 0;
}

void
epc_index_free(struct podnode **idx)
{
	struct podnode *pn, *tmp;

	HASH_ITER(hh, *idx, pn, tmp) {
		HASH_DEL(*idx, pn);
		podnode_free(pn);
	}
}
