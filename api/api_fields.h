/*
 * api_fields.h: the field policy of the contract ("never silently weaker
 * than Kubernetes"). Every field of Kubernetes' v1 Pod, ReplicationController
 * and Service schema is implemented by Skiff, refused, or harmless to ignore
 * (with a reason); a field in no Kubernetes schema is a typo, warned about
 * and ignored, as kubectl --validate=strict reports it. The tables are
 * static; docs/keys.md lists the same families for people.
 */
#ifndef SKIFF_API_FIELDS_H
#define SKIFF_API_FIELDS_H

#include <jansson.h>

#include "api_errors.h"
#include "api_kind.h"

enum api_field_policy {
	API_FIELD_UNKNOWN = 0, /* in no Kubernetes schema: a warning, ignored */
	API_FIELD_IMPLEMENTED, /* decoded and honoured */
	API_FIELD_HARMLESS,    /* ignored; why says why that is safe */
	API_FIELD_REFUSED,     /* present (not null, not empty) makes the object invalid */
};

/* One field of a schema. A table ends with a NULL name; the policy of that
 * entry applies to every name the table does not list (UNKNOWN for a
 * closed schema, REFUSED for a map whose other keys Skiff cannot honour). */
struct api_field {
	const char *name;
	enum api_field_policy policy;
	const struct api_field *sub; /* IMPLEMENTED object, or array of objects: walked with this table */
	const char *ok;              /* REFUSED: the one value accepted anyway, as JSON ("false", "\"None\"") */
	const char *why;             /* HARMLESS: why it is safe to ignore; REFUSED: a hint, or NULL */
};

/* The top-level table of kind k's Kubernetes v1 schema (Pod,
 * ReplicationController, Service, ConfigMap, Secret), NULL for other
 * kinds. Static. */
const struct api_field *api_fields_of(enum api_kind k);

/* apiVersion of root, an object of kind k: absent or "v1" for every kind
 * Skiff has. Returns 0, or -1 with "apiVersion: ..." added to errs (when
 * not NULL). */
int api_fields_check_version(enum api_kind k, const json_t *root, struct api_errors *errs);

/* Walk root (an object of kind k, borrowed) with the policy: every refused
 * field present is added to errs with its path ("spec.volumes: not
 * implemented by Skiff ..."), every unknown one to warns (may be NULL) as
 * "...: unknown field (not in the Kubernetes v1 schema); ignored". A
 * Binding is checked through its pod ("pod.spec..."); kinds without a
 * Kubernetes schema are not walked. apiVersion is checked too. Returns the
 * number of errors added. O(size of root). */
int api_fields_check(enum api_kind k, const json_t *root, struct api_errors *errs, struct api_errors *warns);

#endif
