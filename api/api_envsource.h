/*
 * api_envsource.h: where a container's environment comes from besides
 * literal values: env[].valueFrom (fieldRef, resourceFieldRef,
 * configMapKeyRef, secretKeyRef), envFrom[] (configMapRef, secretRef,
 * prefix), and Kubernetes' $(VAR) expansion of command, args and env
 * values. Decoding checks only what a pod can know; the agent resolves
 * the values when it creates the container.
 */
#ifndef SKIFF_API_ENVSOURCE_H
#define SKIFF_API_ENVSOURCE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

enum api_env_source {
	API_ENV_FIELD = 1, /* fieldRef */
	API_ENV_RESOURCE,  /* resourceFieldRef */
	API_ENV_CONFIGMAP, /* configMapKeyRef */
	API_ENV_SECRET,    /* secretKeyRef */
};

/* env[i].valueFrom. */
struct api_env_value_from {
	enum api_env_source source;
	char *field_path;     /* FIELD: metadata.name, metadata.labels['k'], status.podIP, ... */
	char *container_name; /* RESOURCE: NULL = this container */
	char *resource;       /* RESOURCE: limits.cpu, limits.memory, requests.cpu, requests.memory */
	int64_t divisor;      /* RESOURCE: in milli-units; default 1000 ("1") */
	char *divisor_text;   /* RESOURCE: as written, NULL = absent */
	char *name, *key;     /* CONFIGMAP, SECRET */
	int optional;
};

/* envFrom[i]: every key of a ConfigMap or Secret, as PREFIX + key. */
struct api_env_from {
	char *prefix;
	int secret; /* secretRef, else configMapRef */
	char *name;
	int optional;
};

struct api_dec;
/* Decoders at the current path, for api_pod.c. */
void api_env_value_from_decode(struct api_dec *d, const json_t *j, struct api_env_value_from **out);
json_t *api_env_value_from_encode(const struct api_env_value_from *v);
void api_env_value_from_free(struct api_env_value_from *v);
void api_env_from_decode(struct api_dec *d, const json_t *j, void *item);
json_t *api_env_from_encode(const void *item);
void api_env_from_clear(struct api_env_from *v, size_t n);

/* Kubernetes' expansion of s: "$(NAME)" becomes lookup(NAME) when that is
 * not NULL (else stays as written), "$$" becomes "$", any other '$' stays.
 * New string, NULL when out of memory. O(len(s) * cost of lookup). */
typedef const char *(*api_env_lookup_fn)(const char *name, size_t len, void *arg);
char *api_env_expand(const char *s, api_env_lookup_fn lookup, void *arg);

#endif
