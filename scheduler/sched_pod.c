/*
 * sched_pod.c: what the scheduler keeps of a pod (struct sched_pod), taken
 * from the whole pod once it is decoded and checked: what it asks of a
 * node, and what it is filtered and spread by. Pure: no etcd, no globals
 * (the unit tests compare it with the whole pod). It does not judge nodes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sched.h"

char *
sched_owner_key(const struct api_meta *m)
{
	const struct api_owner_ref *ref = NULL;
	size_t len;
	char *key;

	for (size_t i = 0; i < m->n_owners; i++)
		if (!ref || m->owners[i].controller)
			ref = &m->owners[i];
	if (!ref || !ref->name)
		return NULL;
	len = strlen(ref->name) + (ref->kind ? strlen(ref->kind) : 0) + 2;
	if ((key = malloc(len)))
		snprintf(key, len, "%s/%s", ref->kind ? ref->kind : "", ref->name);
	return key;
}

/* sp's host ports and hostPath volumes from pod (the paths moved out of
 * it, only once both arrays are had). 0, or -1 out of memory. */
static int
digest_arrays(struct api_pod *pod, struct sched_pod *sp)
{
	const struct api_pod_spec *s = &pod->spec;
	size_t n = 0, v = 0;

	for (size_t i = 0; i < s->n_containers; i++)
		for (size_t j = 0; j < s->containers[i].n_ports; j++)
			n += s->containers[i].ports[j].host_port > 0;
	for (size_t i = 0; i < s->n_volumes; i++)
		v += s->volumes[i].source == API_VOL_HOST_PATH;
	if ((n && !(sp->ports = calloc(n, sizeof(*sp->ports)))) ||
	    (v && !(sp->host_paths = calloc(v, sizeof(*sp->host_paths)))))
		return -1;
	for (size_t i = 0; i < s->n_containers; i++)
		for (size_t j = 0; j < s->containers[i].n_ports; j++) {
			const struct api_container_port *cp = &s->containers[i].ports[j];

			if (cp->host_port > 0)
				sp->ports[sp->nports++] = (struct sched_hostport){cp->host_port, (int)cp->protocol};
		}
	for (size_t i = 0; i < s->n_volumes; i++)
		if (s->volumes[i].source == API_VOL_HOST_PATH) {
			sp->host_paths[sp->n_host_paths] =
				(struct api_volume){.source = API_VOL_HOST_PATH, .path = s->volumes[i].path};
			s->volumes[i].path = NULL; /* moved */
			sp->n_host_paths++;
		}
	return 0;
}

int
sched_pod_digest(struct api_pod *pod, struct sched_pod *sp)
{
	const char *what, *ctr;

	memset(sp, 0, sizeof(*sp));
	if (digest_arrays(pod, sp) < 0) {
		sched_pod_clear(sp);
		return -1;
	}
	sp->owner = sched_owner_key(&pod->meta); /* out of memory: spread without it, a worse score */
	api_pod_requests(pod, &sp->cpu, &sp->mem);
	sp->privileged = api_sec_privileged(&pod->spec, &what, &ctr);
	sp->labels = pod->meta.labels;
	pod->meta.labels = (struct api_labels){0};
	sp->node_selector = pod->spec.node_selector;
	pod->spec.node_selector = (struct api_labels){0};
	return 0;
}

void
sched_pod_clear(struct sched_pod *sp)
{
	free(sp->ports);
	free(sp->owner);
	api_labels_clear(&sp->labels);
	api_labels_clear(&sp->node_selector);
	for (size_t i = 0; i < sp->n_host_paths; i++)
		free(sp->host_paths[i].path);
	free(sp->host_paths);
	free(sp->copy);
	memset(sp, 0, sizeof(*sp));
}
