/*
 * api_node.h: Node (P/nodes/NODE) and NodeLease (P/nodeleases/NODE).
 *
 * The contract fixes Node; it leaves NodeLease's value open. Skiff writes
 * it shaped like a Kubernetes coordination Lease:
 *   {"metadata": {"name": "m1"}, "spec": {"holderIdentity": "m1",
 *    "leaseDurationSeconds": 10, "renewTime": "2026-12-06T12:00:00.123456Z"}}
 * every field optional. Version 2 agents renew renewTime every D/4 s and
 * runtime/liveness.c judges Ready by those renewals; a value without
 * renewTime (version 1) counts by the key's existence.
 *
 * P/nodestatus/NODE (version 2, the agent's) decodes as a Node too: its
 * metadata and status, no spec.
 */
#ifndef SKIFF_API_NODE_H
#define SKIFF_API_NODE_H

#include <stddef.h>
#include <stdint.h>

#include "api_errors.h"
#include "api_meta.h"
#include "api_pod.h"

struct api_node_address {
	char *type; /* InternalIP, ExternalIP (IPv4 address), Hostname, InternalDNS, ExternalDNS */
	char *address;
};

struct api_node_spec {
	int unschedulable;
};

struct api_node_status {
	struct api_resource_list capacity; /* cpu (milli), memory (bytes), pods */
	struct api_node_address *addresses;
	size_t n_addresses;
	char *pod_cidr; /* "10.244.1.0/24" or NULL */
	char *agent_version;
	/* What the agent lets pods do on this node (P/nodestatus/NODE, agents
	 * since session 17; the scheduler filters on it). policy 0: not
	 * published (an older agent), nothing known. */
	int policy;                /* allowPrivileged present */
	int allow_privileged;      /* --allow-privileged: privileged, hostPID/IPC/Network */
	char **allowed_host_paths; /* --allow-host-path prefixes (resolved on the node) */
	size_t n_allowed_host_paths;
	int host_port_lo, host_port_hi; /* --host-port-range; 0, 0: not published */
	int disk_pressure;              /* conditions has DiskPressure True (read only; not re-encoded) */
	char *vtep_mac; /* "backendData.vtepMAC": the agent's VXLAN device's MAC (vxlan backend), or NULL */
};

struct api_node {
	struct api_meta meta; /* name: DNS-1123 subdomain */
	struct api_node_spec spec;
	struct api_node_status status;
};

struct api_node *api_node_parse(const char *json, size_t len, struct api_errors *errs);
char *api_node_serialize(const struct api_node *node);
void api_node_free(struct api_node *node);
/* The first address of type ("InternalIP"), or NULL. Borrowed. */
const char *api_node_address(const struct api_node *node, const char *type);

struct api_node_lease_spec {
	char *holder_identity;
	int64_t lease_duration_seconds; /* 0 = not given */
	char *acquire_time;             /* RFC 3339 or NULL */
	char *renew_time;
};

struct api_node_lease {
	struct api_meta meta;
	struct api_node_lease_spec spec;
};

struct api_node_lease *api_node_lease_parse(const char *json, size_t len, struct api_errors *errs);
char *api_node_lease_serialize(const struct api_node_lease *lease);
void api_node_lease_free(struct api_node_lease *lease);

#endif
