/*
 * api_configmap.h: ConfigMap (P/configmaps/NAME) and Secret
 * (P/secrets/NAME), as Kubernetes' v1 objects, and the node copies of
 * them a control-plane component keeps under
 * P/nodeconfig/NODE/configmaps/NAME and P/nodeconfig/NODE/secrets/NAME
 * (same bytes as the original). Also: which of them a pod refers to.
 */
#ifndef SKIFF_API_CONFIGMAP_H
#define SKIFF_API_CONFIGMAP_H

#include <jansson.h>
#include <stddef.h>

#include "api_errors.h"
#include "api_kind.h"
#include "api_labels.h"
#include "api_meta.h"

/* One struct for both kinds; the members of the other kind stay empty. */
struct api_configmap {
	struct api_meta meta;
	struct api_labels data;        /* ConfigMap: the values; Secret: base64 of the values */
	struct api_labels binary_data; /* ConfigMap: base64 of binary values */
	struct api_labels string_data; /* Secret: plain values (win over data, as in Kubernetes) */
	char *type;                    /* Secret: NULL means "Opaque" */
};

/* Largest sum of a ConfigMap's or Secret's values, as Kubernetes (1 MiB). */
#define API_CONFIGMAP_MAX (1024 * 1024)

/* Check a data key: 1..253 of [-._a-zA-Z0-9], not "." or "..".
 * 0, or -1 with err. */
int api_check_config_key(const char *key, struct api_error *err);

/* The values of cm (of kind API_CONFIGMAP or API_SECRET) as a new JSON
 * object key → string, base64 decoded (a value holding a NUL byte is
 * kept up to it). NULL when out of memory. */
json_t *api_configmap_values(const struct api_configmap *cm, int secret);

/* Decode base64 (standard alphabet, padded) s into a new buffer, NUL
 * terminated; *len gets its length. NULL when s is not base64 or out of
 * memory. */
unsigned char *api_base64_decode(const char *s, size_t *len);

/* Call fn(kind, name, arg) for every ConfigMap (kind API_CONFIGMAP) and
 * Secret (API_SECRET) pod (a Pod as JSON, borrowed) refers to: env
 * valueFrom configMapKeyRef / secretKeyRef, envFrom, and configMap,
 * secret and projected volumes of its containers and init containers.
 * Works on the JSON so that it sees references of every field, decoded
 * or not. A name may be given more than once. O(size of pod). */
typedef void (*api_config_ref_fn)(enum api_kind kind, const char *name, void *arg);
void api_pod_config_refs(const json_t *pod, api_config_ref_fn fn, void *arg);

#endif
