/*
 * api_network.h: the pod network: NetworkConfig (P/network/config,
 * optional, written by admins) and Subnet (P/network/subnets/NODE, claimed
 * by each agent).
 *
 * NetworkConfig defaults, field by field and when the key is absent:
 *   {"podCIDR": "10.244.0.0/16", "subnetLength": 24,
 *    "serviceCIDR": "10.0.0.0/24", "allowMetadata": false}
 * Checks: CIDRs canonical, subnetLength longer than podCIDR's prefix and at
 * most 30, the pod and service networks disjoint.
 */
#ifndef SKIFF_API_NETWORK_H
#define SKIFF_API_NETWORK_H

#include <stddef.h>

#include "api_errors.h"
#include "api_net.h"

#define API_DEFAULT_POD_CIDR "10.244.0.0/16"
#define API_DEFAULT_SUBNET_LEN 24
#define API_DEFAULT_SERVICE_CIDR "10.0.0.0/24"

struct api_network_config {
	struct api_cidr pod_cidr;
	int subnet_length;
	struct api_cidr service_cidr;
	int allow_metadata; /* "allowMetadata": pods may reach 169.254.169.254 (host-gw firewall) */
};

struct api_network_config *api_network_config_parse(const char *json, size_t len, struct api_errors *errs);
char *api_network_config_serialize(const struct api_network_config *nc);
void api_network_config_free(struct api_network_config *nc);
/* Fill nc with the defaults (for when P/network/config is absent). */
void api_network_config_default(struct api_network_config *nc);

struct api_subnet {
	char *subnet;  /* CIDR, e.g. "10.244.1.0/24" */
	char *host_ip; /* IPv4 of the node */
};

struct api_subnet *api_subnet_parse(const char *json, size_t len, struct api_errors *errs);
char *api_subnet_serialize(const struct api_subnet *s);
void api_subnet_free(struct api_subnet *s);

#endif
