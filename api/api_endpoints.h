/*
 * api_endpoints.h: Endpoints (P/endpoints/SERVICE): the service's cluster
 * IP and ports (targetPort always a number here), the addresses of its
 * ready pods ("addresses", the only ones traffic goes to) and of those
 * with an IP that are not ready ("notReadyAddresses", contract version 2).
 * Serialization sorts both lists (by ip, then pod), so the same set always
 * gives the same bytes whatever order it was built in.
 *
 * An address's node is written twice: "nodeName" (the version-2 spelling,
 * Kubernetes' own) and "node" (what version-1 readers know). Decoding takes
 * either; both present must agree.
 *
 * Decoding also takes Kubernetes' shape, which users write for a service
 * without a selector: "subsets" [{addresses, notReadyAddresses, ports}],
 * flattened into the same struct (each port's targetPort = its port; the
 * pod from targetRef.name). Every subset must have the same ports, since
 * the struct has one port list; subsets that differ are refused, naming
 * the first that does. Serialization always writes Skiff's shape.
 */
#ifndef SKIFF_API_ENDPOINTS_H
#define SKIFF_API_ENDPOINTS_H

#include <stddef.h>

#include "api_errors.h"
#include "api_service.h"

struct api_endpoint_address {
	char *ip;   /* pod IP, IPv4 */
	char *node; /* "nodeName" and "node" */
	char *pod;
};

struct api_endpoints {
	char *cluster_ip;
	struct api_service_port *ports; /* target_port_name always NULL */
	size_t n_ports;
	struct api_endpoint_address *addresses;
	size_t n_addresses;
	struct api_endpoint_address *not_ready; /* "notReadyAddresses": never sent traffic */
	size_t n_not_ready;
};

struct api_endpoints *api_endpoints_parse(const char *json, size_t len, struct api_errors *errs);
char *api_endpoints_serialize(const struct api_endpoints *ep);
void api_endpoints_free(struct api_endpoints *ep);

#endif
