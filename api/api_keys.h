/*
 * api_keys.h: the etcd keys of the contract under a prefix P:
 *   P/pods/NAME  P/controllers/NAME  P/services/NAME  P/nodes/NODE
 *   P/nodeleases/NODE  P/bindings/NODE/POD  P/podstatus/NODE/POD
 *   P/controllerstatus/NAME  P/endpoints/SERVICE  P/serviceips/IP
 *   P/network/config  P/network/subnets/NODE  P/events/KIND/NAME/ID
 *   P/leaders/COMPONENT/ID  (version 2:) P/nodestatus/NODE
 *   P/nodeevents/NODE/KIND/NAME/ID  P/configmaps/NAME  P/secrets/NAME
 *   P/nodeconfig/NODE/KIND/NAME (KIND: configmaps or secrets)  P/proxystatus/NODE
 *   P/deployments/NAME  P/deploymentstatus/NAME
 * Building refuses every name that is not valid for its place (so no key
 * ever lands outside its own prefix); parsing returns the kind and parts.
 * Names: pods, controllers, services are DNS-1123 labels, nodes DNS-1123
 * subdomains (so are ConfigMaps and Secrets), IPs canonical IPv4, event and leader IDs 1..253 of
 * [A-Za-z0-9._-] other than "." and "..".
 */
#ifndef SKIFF_API_KEYS_H
#define SKIFF_API_KEYS_H

#include <stddef.h>

#include "api_errors.h"
#include "api_kind.h"
#include "api_names.h"

#define API_PREFIX_DEFAULT "/skiff"
#define API_PREFIX_MAX 256
/* Longest key: prefix, "/nodeevents/", a node, "controllers/", two names,
 * separators. */
#define API_KEY_MAX (API_PREFIX_MAX + 28 + 3 * (API_SUBDOMAIN_MAX + 1))

/* A parsed key. Unused parts are "". */
struct api_key {
	enum api_kind kind;               /* the key family (API_LEADER for P/leaders/...) */
	enum api_kind object;             /* events: KIND (API_POD, API_CONTROLLER, API_SERVICE, API_NODE);
	                                   * nodeconfig: API_CONFIGMAP or API_SECRET */
	char node[API_SUBDOMAIN_MAX + 1]; /* bindings, podstatus, nodeevents, nodeconfig: NODE */
	/* The object's name: NAME, NODE (nodes, nodeleases, subnets), POD
	 * (bindings, podstatus), IP (serviceips), NAME (events), COMPONENT
	 * (leaders); "" for network/config. */
	char name[API_SUBDOMAIN_MAX + 1];
	char id[API_SUBDOMAIN_MAX + 1]; /* events: ID; leaders: the ID under the component */
};

/* A prefix is "/" followed by segments of [A-Za-z0-9._-] (not "." or
 * ".."), separated by single '/', no trailing '/', at most 256 bytes. */
int api_prefix_check(const char *prefix, struct api_error *err);
/* The directory of a kind under P: "pods", ..., "network/config",
 * "network/subnets", "events", "leaders". NULL for API_KIND_UNKNOWN. */
const char *api_kind_dir(enum api_kind k);
int api_check_event_id(const char *s, struct api_error *err);

/* Parse key (len bytes, may contain NUL, which is refused) under prefix.
 * Returns 0 and fills *out, or -1 with err saying what is wrong. O(len). */
int api_key_parse(const char *prefix, const char *key, size_t len, struct api_key *out, struct api_error *err);
/* Write the key k describes into buf (snprintf-like, but -1 when it does
 * not fit). Returns 0, or -1 with err. */
int api_key_format(char *buf, size_t len, const char *prefix, const struct api_key *k, struct api_error *err);

/* Shorthands, all 0 / -1 with err:
 * P/DIR/NAME for pods, controllers, services, nodes, nodeleases,
 * controllerstatus, endpoints, serviceips, subnets, configmaps, secrets,
 * deployments, deploymentstatus, proxystatus;
 * P/network/config
 * (name ignored). */
int api_key_object(char *buf, size_t len, const char *prefix, enum api_kind kind, const char *name,
                   struct api_error *err);
/* P/bindings/NODE/POD, P/podstatus/NODE/POD. */
int api_key_on_node(char *buf, size_t len, const char *prefix, enum api_kind kind, const char *node, const char *pod,
                    struct api_error *err);
/* P/nodeconfig/NODE/KIND/NAME, object API_CONFIGMAP or API_SECRET. */
int api_key_nodeconfig(char *buf, size_t len, const char *prefix, const char *node, enum api_kind object,
                       const char *name, struct api_error *err);
/* P/events/KIND/NAME/ID, object the kind the event is about. */
int api_key_event(char *buf, size_t len, const char *prefix, enum api_kind object, const char *name, const char *id,
                  struct api_error *err);
/* Range prefixes, always ending in '/': "P/DIR/" for any kind (sub NULL);
 * "P/bindings/NODE/", "P/podstatus/NODE/", "P/nodeevents/NODE/",
 * "P/nodeconfig/NODE/" (sub = node); "P/leaders/C/"
 * (sub = component). */
int api_key_dir(char *buf, size_t len, const char *prefix, enum api_kind kind, const char *sub, struct api_error *err);
/* "P/events/KIND/" (name NULL) or "P/events/KIND/NAME/". */
int api_key_event_dir(char *buf, size_t len, const char *prefix, enum api_kind object, const char *name,
                      struct api_error *err);

#endif
