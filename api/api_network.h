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
 *
 * "backend" (contract version 2): {"type": "host-gw"} (the default, left
 * out when encoding) or {"type": "vxlan", "vni": 1, "port": 4789,
 * "directRouting": false} (vni 0..16777215, port 1..65535). With vxlan a
 * Subnet also carries "publicIP" and "backendData": {"vtepMAC": MAC},
 * copied by the node controller from the node's status.
 *
 * "clusterDomain" (contract version 2): the DNS domain of service names,
 * "cluster.local" by default (left out when encoding the default).
 */
#ifndef SKIFF_API_NETWORK_H
#define SKIFF_API_NETWORK_H

#include <stddef.h>

#include "api_errors.h"
#include "api_net.h"

#define API_DEFAULT_POD_CIDR "10.244.0.0/16"
#define API_DEFAULT_SUBNET_LEN 24
#define API_DEFAULT_SERVICE_CIDR "10.0.0.0/24"
#define API_DEFAULT_VXLAN_VNI 1
#define API_DEFAULT_VXLAN_PORT 4789
#define API_DEFAULT_CLUSTER_DOMAIN "cluster.local"

enum api_backend_type { API_BACKEND_HOST_GW = 0, API_BACKEND_VXLAN = 1 };

/* NetworkConfig "backend". vni, port and direct_routing matter for vxlan. */
struct api_network_backend {
	int type; /* enum api_backend_type */
	int vni;
	int port;
	int direct_routing; /* "directRouting": host-gw routes to nodes on a shared link */
};

struct api_network_config {
	struct api_cidr pod_cidr;
	int subnet_length;
	struct api_cidr service_cidr;
	int allow_metadata; /* "allowMetadata": pods may reach 169.254.169.254 (host-gw firewall) */
	struct api_network_backend backend;
	char cluster_domain[254]; /* "clusterDomain": a DNS subdomain */
};

struct api_network_config *api_network_config_parse(const char *json, size_t len, struct api_errors *errs);
char *api_network_config_serialize(const struct api_network_config *nc);
void api_network_config_free(struct api_network_config *nc);
/* Fill nc with the defaults (for when P/network/config is absent). */
void api_network_config_default(struct api_network_config *nc);

struct api_subnet {
	char *subnet;    /* CIDR, e.g. "10.244.1.0/24" */
	char *host_ip;   /* IPv4 of the node */
	char *public_ip; /* "publicIP" (vxlan): where the node's VXLAN packets go, NULL = absent */
	char *vtep_mac;  /* "backendData.vtepMAC" (vxlan): lower-case "aa:bb:cc:dd:ee:ff", NULL = absent */
};

struct api_subnet *api_subnet_parse(const char *json, size_t len, struct api_errors *errs);
char *api_subnet_serialize(const struct api_subnet *s);
void api_subnet_free(struct api_subnet *s);

/* Whether s is a MAC address "aa:bb:cc:dd:ee:ff" (either case; a unicast
 * one: the low bit of the first byte clear, and not all zero): 0, or -1
 * with e filled. With mac non-NULL, its 6 bytes. */
int api_mac_parse(const char *s, unsigned char mac[6], struct api_error *e);

#endif
