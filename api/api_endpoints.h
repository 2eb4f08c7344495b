/*
 * api_endpoints.h: Endpoints (P/endpoints/SERVICE): the service's cluster
 * IP and ports (targetPort always a number here) and the addresses of its
 * Running, ready pods. Serialization sorts addresses (by ip, then pod), so
 * the same set always gives the same bytes whatever order it was built in.
 */
#ifndef SKIFF_API_ENDPOINTS_H
#define SKIFF_API_ENDPOINTS_H

#include <stddef.h>

#include "api_errors.h"
#include "api_service.h"

struct api_endpoint_address {
	char *ip; /* pod IP, IPv4 */
	char *node;
	char *pod;
};

struct api_endpoints {
	char *cluster_ip;
	struct api_service_port *ports; /* target_port_name always NULL */
	size_t n_ports;
	struct api_endpoint_address *addresses;
	size_t n_addresses;
};

struct api_endpoints *api_endpoints_parse(const char *json, size_t len, struct api_errors *errs);
char *api_endpoints_serialize(const struct api_endpoints *ep);
void api_endpoints_free(struct api_endpoints *ep);

#endif
