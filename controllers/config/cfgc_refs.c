/*
 * cfgc_refs.c: the ConfigMaps and Secrets a bound pod refers to, read
 * from the binding's pod copy as JSON (api_pod_config_refs), so that
 * references in fields another part of Skiff decodes are seen too. It
 * does not judge the pod: the scheduler bound it, the agent judges it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfgc.h"

static int
cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

struct collect {
	struct cfgc_refs *r;
	size_t cap;
	int oom;
};

static void
add(enum api_kind kind, const char *name, void *arg)
{
	struct collect *c = arg;
	char buf[300], **nv;

	snprintf(buf, sizeof(buf), "%s/%s", api_kind_dir(kind), name);
	if (c->r->n == c->cap) {
		c->cap = c->cap ? 2 * c->cap : 4;
		if (!(nv = realloc(c->r->refs, c->cap * sizeof(*nv)))) {
			c->oom = 1;
			return;
		}
		c->r->refs = nv;
	}
	if (!(c->r->refs[c->r->n] = strdup(buf)))
		c->oom = 1;
	else
		c->r->n++;
}

struct cfgc_refs *
cfgc_refs_of_binding(const char *value, size_t len)
{
	json_t *root = json_loadb(value, len, 0, NULL);
	struct collect c = {0};
	size_t i, o;

	if (!json_is_object(root) || !(c.r = calloc(1, sizeof(*c.r)))) {
		json_decref(root);
		return NULL;
	}
	api_pod_config_refs(json_object_get(root, "pod"), add, &c);
	json_decref(root);
	if (c.oom) {
		cfgc_refs_free(c.r);
		return NULL;
	}
	if (c.r->n)
		qsort(c.r->refs, c.r->n, sizeof(*c.r->refs), cmp);
	for (i = o = 0; i < c.r->n; i++) { /* drop repeats */
		if (o && strcmp(c.r->refs[o - 1], c.r->refs[i]) == 0)
			free(c.r->refs[i]);
		else
			c.r->refs[o++] = c.r->refs[i];
	}
	c.r->n = o;
	return c.r;
}

void
cfgc_refs_free(void *refs)
{
	struct cfgc_refs *r = refs;

	if (!r)
		return;
	for (size_t i = 0; i < r->n; i++)
		free(r->refs[i]);
	free(r->refs);
	free(r);
}

int
cfgc_refs_has(const struct cfgc_refs *r, const char *ref)
{
	return r && r->n && bsearch(&ref, r->refs, r->n, sizeof(*r->refs), cmp) != NULL;
}
