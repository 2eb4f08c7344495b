/*
 * api_kind.c: the table of kinds and the generic decode / encode / copy /
 * free that dispatch on it, plus guessing a document's kind from its shape.
 */
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "api_fields.h"
#include "api_internal.h"

static const struct api_kind_ops *const ops_table[API_KIND_COUNT] = {
	[API_POD] = &api_pod_ops,
	[API_CONTROLLER] = &api_controller_ops,
	[API_SERVICE] = &api_service_ops,
	[API_NODE] = &api_node_ops,
	[API_NODELEASE] = &api_node_lease_ops,
	[API_BINDING] = &api_binding_ops,
	[API_PODSTATUS] = &api_pod_status_ops,
	[API_CONTROLLERSTATUS] = &api_controller_status_ops,
	[API_ENDPOINTS] = &api_endpoints_ops,
	[API_SERVICEIP] = &api_service_ip_ops,
	[API_NETWORKCONFIG] = &api_network_config_ops,
	[API_SUBNET] = &api_subnet_ops,
	[API_EVENT] = &api_event_ops,
	[API_NODESTATUS] = &api_node_ops,
	[API_NODEEVENT] = &api_event_ops,
	[API_CONFIGMAP] = &api_configmap_ops,
	[API_SECRET] = &api_secret_ops,
	[API_DEPLOYMENT] = &api_deployment_ops,
	[API_DEPLOYMENTSTATUS] = &api_deployment_status_ops,
	[API_PROXYSTATUS] = &api_proxy_status_ops,
};

static const struct api_kind_ops *
ops_of(enum api_kind k)
{
	return (unsigned)k < API_KIND_COUNT ? ops_table[k] : NULL;
}

const char *
api_kind_name(enum api_kind k)
{
	if (k == API_LEADER)
		return "Leader";
	if (k == API_NODESTATUS) /* a Node's status part, under its own key */
		return "NodeStatus";
	if (k == API_NODEEVENT) /* an Event written by a node */
		return "NodeEvent";
	if (k == API_NODECONFIG) /* a node's copy of a ConfigMap or Secret */
		return "NodeConfig";
	return ops_of(k) ? ops_of(k)->name : NULL;
}

enum api_kind
api_kind_from_name(const char *name)
{
	int k;

	for (k = 1; k < API_KIND_COUNT; k++)
		if (api_kind_name((enum api_kind)k) && strcmp(api_kind_name((enum api_kind)k), name) == 0)
			return (enum api_kind)k;
	return API_KIND_UNKNOWN;
}

static int
has(const json_t *o, const char *key)
{
	return o && json_object_get(o, key) != NULL;
}

enum api_kind
api_kind_detect(const json_t *root)
{
	const json_t *kind = json_object_get(root, "kind");
	const json_t *spec = json_object_get(root, "spec");
	const json_t *status = json_object_get(root, "status");

	if (!json_is_object(root))
		return API_KIND_UNKNOWN;
	if (json_is_string(kind))
		return api_kind_from_name(json_string_value(kind));
	if (json_is_string(json_object_get(root, "apiVersion")) &&
	    strcmp(json_string_value(json_object_get(root, "apiVersion")), API_DEPLOYMENT_VERSION) == 0)
		return API_DEPLOYMENT; /* the one apps/v1 kind Skiff has */
	if (!json_is_object(spec))
		spec = NULL;
	if (!json_is_object(status))
		status = NULL;
	if (has(spec, "containers"))
		return API_POD;
	if (has(spec, "template") || has(spec, "replicas"))
		return API_CONTROLLER;
	if (has(spec, "ports") || has(spec, "clusterIP"))
		return API_SERVICE;
	if (has(spec, "holderIdentity") || has(spec, "leaseDurationSeconds"))
		return API_NODELEASE;
	if (has(spec, "unschedulable") || has(status, "capacity") || has(status, "addresses"))
		return API_NODE;
	if (has(root, "node") && has(root, "pod"))
		return API_BINDING;
	if (has(root, "phase") || has(root, "containerStatuses"))
		return API_PODSTATUS;
	if (has(root, "updatedReplicas"))
		return API_DEPLOYMENTSTATUS;
	if (has(root, "readyReplicas") || has(root, "observedRevision"))
		return API_CONTROLLERSTATUS;
	if (has(root, "addresses") || (has(root, "clusterIP") && has(root, "ports")))
		return API_ENDPOINTS;
	if (has(root, "podCIDR") || has(root, "subnetLength") || has(root, "serviceCIDR"))
		return API_NETWORKCONFIG;
	if (has(root, "subnet"))
		return API_SUBNET;
	if (has(root, "reason") && (has(root, "type") || has(root, "message")))
		return API_EVENT;
	if (has(root, "service"))
		return API_SERVICEIP;
	return API_KIND_UNKNOWN;
}

void *
api_decode(enum api_kind k, const json_t *root, struct api_errors *errs)
{
	const struct api_kind_ops *ops = ops_of(k);
	const json_t *kind;
	size_t before = errs->n;
	struct api_dec d;
	char q[96];
	void *obj;

	if (!ops) {
		api_errors_add(errs, "", "there is no object of kind %d", (int)k);
		return NULL;
	}
	if (!json_is_object(root)) {
		api_errors_add(errs, "", "must be a JSON object, got %s", root ? api_json_type_name(root) : "nothing");
		return NULL;
	}
	dec_init(&d, errs);
	kind = dec_member(&d, root, "kind", JSON_STRING);
	if (kind && strcmp(json_string_value(kind), ops->name) != 0)
		api_errors_add(errs, "kind", "must be %s here, got %s", ops->name,
		               api_quote(q, sizeof(q), json_string_value(kind)));
	if (!(obj = calloc(1, ops->size))) {
		errs->oom = 1;
		return NULL;
	}
	ops->decode(&d, root, obj);
	api_fields_check(k, root, errs, NULL); /* refused fields; typos are skiffctl's to warn about */
	if (errs->n > before || errs->oom) {
		api_free(k, obj);
		return NULL;
	}
	return obj;
}

void *
api_parse(enum api_kind k, const char *json, size_t len, struct api_errors *errs)
{
	json_error_t jerr;
	json_t *root = json_loadb(json, len, 0, &jerr);
	void *obj;

	if (!root) {
		api_errors_add(errs, "", "invalid JSON at line %d, column %d: %s", jerr.line, jerr.column, jerr.text);
		return NULL;
	}
	obj = api_decode(k, root, errs);
	json_decref(root);
	return obj;
}

json_t *
api_encode(enum api_kind k, const void *obj)
{
	const struct api_kind_ops *ops = ops_of(k);

	return ops && obj ? ops->encode(obj) : NULL;
}

char *
api_serialize(enum api_kind k, const void *obj)
{
	json_t *j = api_encode(k, obj);
	char *s = api_json_dumps(j);

	json_decref(j);
	return s;
}

void *
api_dup(enum api_kind k, const void *obj)
{
	struct api_errors errs = {0};
	json_t *j = api_encode(k, obj);
	void *copy = j ? api_decode(k, j, &errs) : NULL;

	json_decref(j);
	api_errors_clear(&errs);
	return copy;
}

void
api_free(enum api_kind k, void *obj)
{
	const struct api_kind_ops *ops = ops_of(k);

	if (!obj || !ops)
		return;
	ops->clear(obj);
	free(obj);
}

const struct api_meta *
api_object_meta(enum api_kind k, const void *obj)
{
	switch (k) {
	case API_POD: return &((const struct api_pod *)obj)->meta;
	case API_CONTROLLER: return &((const struct api_controller *)obj)->meta;
	case API_SERVICE: return &((const struct api_service *)obj)->meta;
	case API_NODE: return &((const struct api_node *)obj)->meta;
	case API_NODELEASE: return &((const struct api_node_lease *)obj)->meta;
	case API_BINDING: return &((const struct api_binding *)obj)->pod.meta;
	case API_CONFIGMAP:
	case API_SECRET: return &((const struct api_configmap *)obj)->meta;
	case API_DEPLOYMENT: return &((const struct api_deployment *)obj)->meta;
	default: return NULL;
	}
}

int
api_check_key(const void *obj, const struct api_key *key, struct api_errors *errs)
{
	const struct api_meta *m = api_object_meta(key->kind, obj);
	const struct api_binding *b = obj;
	char q1[96], q2[96];
	int rc = 0;

	if (key->kind == API_BINDING) {
		if (b->node && strcmp(b->node, key->node) != 0) {
			api_errors_add(errs, "node", "must equal the node in the key %s, got %s",
			               api_quote(q1, sizeof(q1), key->node), api_quote(q2, sizeof(q2), b->node));
			rc = -1;
		}
		if (m->name && strcmp(m->name, key->name) != 0) {
			api_errors_add(errs, "pod.metadata.name", "must equal the pod in the key %s, got %s",
			               api_quote(q1, sizeof(q1), key->name), api_quote(q2, sizeof(q2), m->name));
			rc = -1;
		}
		return rc;
	}
	if (key->kind == API_PROXYSTATUS)
		return api_proxy_status_check_key(obj, key->name, errs);
	return m ? api_meta_check_name(m, key->name, errs) : 0;
}
