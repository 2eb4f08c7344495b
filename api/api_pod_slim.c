/*
 * api_pod_slim.c: what a cache keeps of a decoded pod (issue 20). The
 * controllers' informers hold every pod of the cluster; each reads a few
 * fields (labels, a container's named ports...), so once a pod has been
 * decoded and checked whole, the rest is freed (the scheduler and the
 * replication controller keep a small struct of their own instead). It
 * does not check anything and never makes a pod whole again: a slimmed
 * pod is only read.
 */
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "api_internal.h"

static size_t
named_in(const struct api_container *c)
{
	size_t n = 0;

	for (size_t i = 0; i < c->n_ports; i++)
		n += c->ports[i].name != NULL;
	return n;
}

/* The containers of s with their named ports only, the port names moved
 * out of s; *n set. NULL with *n 0 when there are none; -1 when out of
 * memory (s untouched). */
static int
named_ports(struct api_pod_spec *s, struct api_container **out, size_t *n)
{
	struct api_container *v;
	size_t k = 0;

	*out = NULL;
	*n = 0;
	for (size_t i = 0; i < s->n_containers; i++)
		k += named_in(&s->containers[i]) > 0;
	if (k == 0)
		return 0;
	if (!(v = calloc(k, sizeof(*v))))
		return -1;
	for (size_t i = 0, j = 0; i < s->n_containers; i++) {
		size_t m = named_in(&s->containers[i]);

		if (m && !(v[j++].ports = calloc(m, sizeof(*v->ports))))
			goto fail;
	}
	for (size_t i = 0; i < s->n_containers; i++) {
		struct api_container *c = &s->containers[i];

		if (!named_in(c))
			continue;
		for (size_t p = 0; p < c->n_ports; p++)
			if (c->ports[p].name) {
				v[*n].ports[v[*n].n_ports++] = c->ports[p];
				c->ports[p].name = NULL; /* moved */
			}
		(*n)++;
	}
	*out = v;
	return 0;
fail:
	for (size_t i = 0; i < k; i++)
		free(v[i].ports);
	free(v);
	return -1;
}

int
api_pod_slim(struct api_pod *pod, unsigned keep)
{
	struct api_pod k = *pod; /* the scalars; every pointer is settled here */
	size_t n = 0;

	memset(&k.meta, 0, sizeof(k.meta));
	k.spec.security_context.supplemental_groups = NULL;
	k.spec.security_context.n_supplemental_groups = 0;
	k.spec.containers = k.spec.init_containers = NULL;
	k.spec.n_containers = k.spec.n_init_containers = 0;
	k.spec.node_selector = (struct api_labels){0};
	k.spec.volumes = NULL;
	k.spec.n_volumes = 0;
	k.spec.dns_config = NULL;
	if ((keep & API_SLIM_NAMED_PORTS) && named_ports(&pod->spec, &k.spec.containers, &n) < 0)
		return -1;
	k.spec.n_containers = n;
	k.meta.deletion_grace_p1 = pod->meta.deletion_grace_p1;
	if (keep & API_SLIM_LABELS) {
		k.meta.labels = pod->meta.labels;
		pod->meta.labels = (struct api_labels){0};
	}
	api_pod_clear(pod); /* what was not moved to k */
	*pod = k;
	pod->slim = 1;
	return 0;
}
