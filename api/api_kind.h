/*
 * api_kind.h: the kinds of the contract and the generic entry points that
 * work on any of them (decode, encode, copy, free), for code that handles
 * objects without caring which (skiffctl, tests, fuzzers). The typed
 * functions of each object (api_pod_parse, ...) are shorthands for these.
 */
#ifndef SKIFF_API_KIND_H
#define SKIFF_API_KIND_H

#include <jansson.h>
#include <stddef.h>

#include "api_errors.h"

/* One per key family of the contract. The object of each: */
enum api_kind {
	API_KIND_UNKNOWN = 0,
	API_POD,              /* struct api_pod */
	API_CONTROLLER,       /* struct api_controller */
	API_SERVICE,          /* struct api_service */
	API_NODE,             /* struct api_node */
	API_NODELEASE,        /* struct api_node_lease */
	API_BINDING,          /* struct api_binding */
	API_PODSTATUS,        /* struct api_pod_status */
	API_CONTROLLERSTATUS, /* struct api_controller_status */
	API_ENDPOINTS,        /* struct api_endpoints */
	API_SERVICEIP,        /* struct api_service_ip */
	API_NETWORKCONFIG,    /* struct api_network_config */
	API_SUBNET,           /* struct api_subnet */
	API_EVENT,            /* struct api_event */
	API_LEADER,           /* election keys: no object */
	API_NODESTATUS,       /* struct api_node (v2: P/nodestatus/NODE, status written by the agent) */
	API_NODEEVENT,        /* struct api_event (v2: P/nodeevents/NODE/KIND/NAME/ID, written by a node) */
	API_CONFIGMAP,        /* struct api_configmap (v2: P/configmaps/NAME) */
	API_SECRET,           /* struct api_configmap (v2: P/secrets/NAME) */
	API_NODECONFIG,       /* copies: P/nodeconfig/NODE/{configmaps,secrets}/NAME; object by the key's KIND */
	API_DEPLOYMENT,       /* struct api_deployment (v2: P/deployments/NAME, apps/v1) */
	API_DEPLOYMENTSTATUS, /* struct api_deployment_status (v2: P/deploymentstatus/NAME) */
	API_PROXYSTATUS,      /* struct api_proxy_status (v2: P/proxystatus/NODE, written by the proxy on NODE) */
	API_KIND_COUNT
};

/* "Pod", "ReplicationController", ...; NULL for API_KIND_UNKNOWN and
 * out-of-range values. */
const char *api_kind_name(enum api_kind k);
/* The kind called name ("Pod", ...; exact case), API_KIND_UNKNOWN if none. */
enum api_kind api_kind_from_name(const char *name);
/* The kind of a document: its "kind" member when it is a string, else
 * guessed from its shape (spec.containers → Pod, spec.template → controller,
 * ...). API_KIND_UNKNOWN when neither tells. */
enum api_kind api_kind_detect(const json_t *root);

/* Decode and check an object of kind k. root is borrowed. Returns a new
 * object (free with api_free), or NULL with every problem added to errs
 * (also for a "kind" member naming another kind). Defaults applied. */
void *api_decode(enum api_kind k, const json_t *root, struct api_errors *errs);
/* Same from JSON text of len bytes; syntax errors are reported with line
 * and column. O(len). */
void *api_parse(enum api_kind k, const char *json, size_t len, struct api_errors *errs);
/* New JSON value of obj, NULL when out of memory (or a string of obj is
 * not UTF-8). */
json_t *api_encode(enum api_kind k, const void *obj);
/* Canonical bytes of obj: compact JSON, keys sorted, empty and unset
 * values left out, defaults written. Equal objects give equal bytes, so
 * "write only when changed" may compare them. New string (free()). */
char *api_serialize(enum api_kind k, const void *obj);
/* Deep copy (through JSON), NULL when out of memory or obj is invalid. */
void *api_dup(enum api_kind k, const void *obj);
/* Free obj and everything it owns. NULL is fine. */
void api_free(enum api_kind k, void *obj);

#endif
