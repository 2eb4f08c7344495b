/*
 * api_init.h: a pod's init containers (spec.initContainers). They decode
 * as containers (api_pod.c); the rules of their own live in api_init.c.
 */
#ifndef SKIFF_API_INIT_H
#define SKIFF_API_INIT_H

#include <stddef.h>
#include <stdint.h>

struct api_dec;
struct api_pod_spec;
struct api_container;

/* For api_pod.c, after the containers and init containers are read: init
 * containers declare no ports, their names are unique across init and app
 * containers, and their volumeMounts name the pod's volumes. Every problem
 * goes into d. O(n * m) in names (both lists are bounded). */
void api_init_check(struct api_dec *d, const struct api_pod_spec *s);
/* Raise the app containers' summed requests (*cpu_milli, *memory_bytes)
 * to the largest init container's, as Kubernetes' effective request: init
 * containers run one at a time, before the app containers. */
void api_init_requests(const struct api_pod_spec *s, int64_t *cpu_milli, int64_t *memory_bytes);
/* Every container of s in one index: app containers 0 .. n_containers - 1,
 * then init containers. Borrowed; NULL when i is out of range. */
const struct api_container *api_spec_container(const struct api_pod_spec *s, size_t i);
/* n_containers + n_init_containers. */
size_t api_spec_n_all(const struct api_pod_spec *s);

#endif
