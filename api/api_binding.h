/*
 * api_binding.h: Binding (P/bindings/NODE/POD): {"node": NODE, "pod": Pod}
 * where the pod copy carries metadata.name and metadata.uid (its create
 * revision), both required.
 */
#ifndef SKIFF_API_BINDING_H
#define SKIFF_API_BINDING_H

#include <stddef.h>

#include "api_errors.h"
#include "api_pod.h"

struct api_binding {
	char *node;
	struct api_pod pod;
};

struct api_binding *api_binding_parse(const char *json, size_t len, struct api_errors *errs);
char *api_binding_serialize(const struct api_binding *b);
void api_binding_free(struct api_binding *b);
/* Decode and check a Binding as api_binding_parse does, and keep only its
 * pod's uid (what the controllers read of one, to know which incarnation
 * it binds): a new string, or NULL with the problems in errs (none when
 * out of memory). */
char *api_binding_pod_uid(const char *json, size_t len, struct api_errors *errs);

#endif
