/*
 * api.h: Skiff's object model, the values of the etcd contract
 * (shared/spec/contract.md) as C structs: decode JSON with every problem
 * reported by field path, apply the contract's defaults, encode back to
 * canonical bytes, build and parse keys.
 *
 * Library rules: nothing here logs, exits or aborts; every decoded object
 * is owned by the caller and freed with its api_*_free (or api_free);
 * strings inside objects are owned by the object (NULL when unset).
 * Link with libskiffapi.a and jansson.
 */
#ifndef SKIFF_API_H
#define SKIFF_API_H

#include "api_binding.h"
#include "api_configmap.h"
#include "api_controller.h"
#include "api_deployment.h"
#include "api_endpoints.h"
#include "api_errors.h"
#include "api_event.h"
#include "api_fields.h"
#include "api_keys.h"
#include "api_kind.h"
#include "api_labels.h"
#include "api_meta.h"
#include "api_names.h"
#include "api_net.h"
#include "api_network.h"
#include "api_node.h"
#include "api_pod.h"
#include "api_proxy_status.h"
#include "api_quantity.h"
#include "api_selector.h"
#include "api_service.h"
#include "api_status.h"
#include "api_time.h"

/* The metadata of obj (Pod, ReplicationController, Service, Node,
 * NodeLease, ConfigMap, Secret, Deployment; a Binding's pod), NULL for kinds without. Borrowed. */
const struct api_meta *api_object_meta(enum api_kind k, const void *obj);
/* Check obj against the key it was read from: metadata.name (if present)
 * must equal the key's name; a Binding's node and pod name must equal the
 * key's NODE and POD; a ProxyStatus's node must equal the key's NODE. Returns 0, or -1 with the problems added to errs. */
int api_check_key(const void *obj, const struct api_key *key, struct api_errors *errs);

#endif
