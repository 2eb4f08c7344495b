/*
 * api_init.c: the checks that belong to init containers alone (no ports,
 * names unique across init and app containers, mounts naming the pod's
 * volumes), their share of the pod's effective requests, and the one index over both container lists that the agent
 * uses. Decoding, encoding and freeing are api_pod.c's (an init container
 * is a container); running them in order is the agent's (agent_plan_init.c).
 */
#include <stdio.h>
#include <string.h>

#include "api_init.h"
#include "api_internal.h"
#include "api_pod.h"

static void
init_err(struct api_dec *d, size_t i, const char *field, const char *msg, const char *arg)
{
	size_t mark = dec_push(d, "initContainers");

	dec_push_index(d, i);
	dec_err_at(d, field, msg, arg);
	dec_pop(d, mark);
}

/* The first container of either list before init container i named n. */
static int
name_taken(const struct api_pod_spec *s, size_t i, const char *n)
{
	size_t k;

	for (k = 0; k < s->n_containers; k++)
		if (s->containers[k].name && strcmp(s->containers[k].name, n) == 0)
			return 1;
	for (k = 0; k < i; k++)
		if (s->init_containers[k].name && strcmp(s->init_containers[k].name, n) == 0)
			return 1;
	return 0;
}

void
api_init_check(struct api_dec *d, const struct api_pod_spec *s)
{
	size_t i, k;

	for (i = 0; i < s->n_init_containers; i++) {
		const struct api_container *c = &s->init_containers[i];

		if (c->n_ports)
			init_err(d, i, "ports", "%s", "not allowed on init containers");
		if (c->name && name_taken(s, i, c->name))
			init_err(d, i, "name", "duplicate container name \"%s\"", c->name);
		for (k = 0; k < c->n_volume_mounts; k++) {
			const char *n = c->volume_mounts[k].name;
			char field[48];

			snprintf(field, sizeof(field), "volumeMounts[%zu].name", k);
			if (n && !api_volume_find(s, n))
				init_err(d, i, field, "no volume named \"%s\" in spec.volumes", n);
		}
	}
}

void
api_init_requests(const struct api_pod_spec *s, int64_t *cpu_milli, int64_t *memory_bytes)
{
	for (size_t i = 0; i < s->n_init_containers; i++) {
		const struct api_resource_list *r = &s->init_containers[i].resources.requests;

		if (r->cpu.value > *cpu_milli)
			*cpu_milli = r->cpu.value;
		if (r->memory.value > *memory_bytes)
			*memory_bytes = r->memory.value;
	}
}

const struct api_container *
api_spec_container(const struct api_pod_spec *s, size_t i)
{
	if (i < s->n_containers)
		return &s->containers[i];
	i -= s->n_containers;
	return i < s->n_init_containers ? &s->init_containers[i] : NULL;
}

size_t
api_spec_n_all(const struct api_pod_spec *s)
{
	return s->n_containers + s->n_init_containers;
}
