/*
 * api_network.c: NetworkConfig and Subnet decode/encode and the network
 * defaults. Choosing a free subnet is the agent's job.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "api_internal.h"

void
api_network_config_default(struct api_network_config *nc)
{
	api_cidr_parse(API_DEFAULT_POD_CIDR, &nc->pod_cidr, NULL);
	nc->subnet_length = API_DEFAULT_SUBNET_LEN;
	api_cidr_parse(API_DEFAULT_SERVICE_CIDR, &nc->service_cidr, NULL);
	nc->allow_metadata = 0;
	nc->backend =
		(struct api_network_backend){API_BACKEND_HOST_GW, API_DEFAULT_VXLAN_VNI, API_DEFAULT_VXLAN_PORT, 0};
	snprintf(nc->cluster_domain, sizeof(nc->cluster_domain), "%s", API_DEFAULT_CLUSTER_DOMAIN);
}

static const char *const backend_names[] = {"host-gw", "vxlan"};
static const char *const vxlan_only[] = {"vni", "port", "directRouting"};

/* "backend": its type (required when the object is there) and, for vxlan,
 * vni, port and directRouting; a vxlan-only member with host-gw is an
 * error rather than silently unused. */
static void
backend_decode(struct api_dec *d, const json_t *j, void *out)
{
	struct api_network_backend *b = out;
	int64_t v;
	int t;

	if (!j)
		return;
	if (dec_missing(j, "type"))
		dec_err_at(d, "type", "required");
	t = dec_enum(d, j, "type", backend_names, 2, -1);
	b->type = t < 0 ? API_BACKEND_HOST_GW : t;
	if (dec_int(d, j, "vni", 0, 16777215, &v))
		b->vni = (int)v;
	if (dec_int(d, j, "port", 1, 65535, &v))
		b->port = (int)v;
	dec_bool(d, j, "directRouting", &b->direct_routing);
	if (t != API_BACKEND_HOST_GW)
		return;
	for (size_t i = 0; i < 3; i++)
		if (dec_present(j, vxlan_only[i]))
			dec_err_at(d, vxlan_only[i], "only for the vxlan backend");
}

/* CIDR member key into *c (left alone when absent or bad). */
static void
cidr_member(struct api_dec *d, const json_t *j, const char *key, struct api_cidr *c)
{
	char *s = dec_cidr(d, j, key, 0);

	if (s)
		api_cidr_parse(s, c, NULL);
	free(s);
}

static void
config_decode(struct api_dec *d, const json_t *j, void *out)
{
	struct api_network_config *nc = out;
	char *domain;
	int64_t v;

	api_network_config_default(nc);
	cidr_member(d, j, "podCIDR", &nc->pod_cidr);
	cidr_member(d, j, "serviceCIDR", &nc->service_cidr);
	if (dec_int(d, j, "subnetLength", 1, 30, &v))
		nc->subnet_length = (int)v;
	dec_bool(d, j, "allowMetadata", &nc->allow_metadata);
	dec_object(d, j, "backend", &nc->backend, backend_decode);
	domain = dec_checked(d, j, "clusterDomain", 0, api_check_dns_subdomain);
	if (domain)
		snprintf(nc->cluster_domain, sizeof(nc->cluster_domain), "%s", domain);
	free(domain);
	if (nc->subnet_length <= nc->pod_cidr.len)
		dec_err_at(d, "subnetLength", "must be longer than the podCIDR prefix /%d, got %d", nc->pod_cidr.len,
		           nc->subnet_length);
	if (nc->service_cidr.len > 30)
		dec_err_at(d, "serviceCIDR", "must hold at least 2 addresses (prefix at most /30), got /%d",
		           nc->service_cidr.len);
	if (api_cidr_overlap(&nc->pod_cidr, &nc->service_cidr))
		dec_err_at(d, "serviceCIDR", "must not overlap podCIDR");
}

static int
enc_cidr(json_t *j, const char *key, const struct api_cidr *c)
{
	char buf[24];

	api_cidr_format(c, buf, sizeof(buf));
	return enc_str(j, key, buf);
}

static json_t *
config_encode(const void *obj)
{
	const struct api_network_config *nc = obj;
	json_t *j = json_object();
	int rc = !j;

	if (j) {
		rc |= enc_cidr(j, "podCIDR", &nc->pod_cidr);
		rc |= enc_int(j, "subnetLength", nc->subnet_length);
		rc |= enc_cidr(j, "serviceCIDR", &nc->service_cidr);
		rc |= enc_bool(j, "allowMetadata", nc->allow_metadata);
		if (nc->backend.type == API_BACKEND_VXLAN)
			rc |= enc_set(j, "backend",
			              json_pack("{s:s,s:i,s:i,s:b}", "type", "vxlan", "vni", nc->backend.vni, "port",
			                        nc->backend.port, "directRouting", nc->backend.direct_routing));
		if (strcmp(nc->cluster_domain, API_DEFAULT_CLUSTER_DOMAIN) != 0)
			rc |= enc_str(j, "clusterDomain", nc->cluster_domain);
	}
	return enc_done(j, rc);
}

static void
config_clear(void *obj)
{
	memset(obj, 0, sizeof(struct api_network_config));
}

const struct api_kind_ops api_network_config_ops = {"NetworkConfig", sizeof(struct api_network_config), config_decode,
                                                    config_encode, config_clear};

struct api_network_config *
api_network_config_parse(const char *json, size_t len, struct api_errors *errs)
{
	return api_parse(API_NETWORKCONFIG, json, len, errs);
}

char *
api_network_config_serialize(const struct api_network_config *nc)
{
	return api_serialize(API_NETWORKCONFIG, nc);
}

void
api_network_config_free(struct api_network_config *nc)
{
	api_free(API_NETWORKCONFIG, nc);
}

int
api_mac_parse(const char *s, unsigned char mac[6], struct api_error *e)
{
	unsigned int b[6];
	char tail;
	int i;

	if (!s || strlen(s) != 17 ||
	    sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5], &tail) != 6)
		goto bad;
	for (i = 0; i < 17; i++)
		if ((i % 3 == 2) != (s[i] == ':') || (i % 3 != 2 && !strchr("0123456789abcdefABCDEF", s[i])))
			goto bad;
	if ((b[0] & 1) || (b[0] | b[1] | b[2] | b[3] | b[4] | b[5]) == 0) {
		if (e)
			snprintf(e->msg, sizeof(e->msg), "\"%s\" is not a unicast MAC address", s);
		return -1;
	}
	for (i = 0; mac && i < 6; i++)
		mac[i] = (unsigned char)b[i];
	return 0;
bad:
	if (e)
		snprintf(e->msg, sizeof(e->msg), "\"%.40s\" is not a MAC address (like 0a:58:0a:f4:01:00)", s ? s : "");
	return -1;
}

static int
check_mac(const char *s, struct api_error *e)
{
	return api_mac_parse(s, NULL, e);
}

void
api_backend_data_decode(struct api_dec *d, const json_t *j, void *out)
{
	char **mac = out;

	*mac = dec_checked(d, j, "vtepMAC", 0, check_mac);
	for (char *c = *mac; c && *c; c++)
		*c = (char)(*c >= 'A' && *c <= 'F' ? *c - 'A' + 'a' : *c);
}

int
api_backend_data_encode(json_t *j, const char *vtep_mac)
{
	return vtep_mac ? enc_set(j, "backendData", json_pack("{s:s}", "vtepMAC", vtep_mac)) : 0;
}

static void
subnet_decode(struct api_dec *d, const json_t *j, void *out)
{
	struct api_subnet *s = out;

	s->subnet = dec_cidr(d, j, "subnet", 1);
	s->host_ip = dec_ipv4(d, j, "hostIP", 0);
	s->public_ip = dec_ipv4(d, j, "publicIP", 0);
	dec_object(d, j, "backendData", &s->vtep_mac, api_backend_data_decode);
}

static json_t *
subnet_encode(const void *obj)
{
	const struct api_subnet *s = obj;
	json_t *j = json_object();
	int rc = !j;

	if (j) {
		rc |= enc_str(j, "subnet", s->subnet);
		rc |= enc_str(j, "hostIP", s->host_ip);
		rc |= enc_str(j, "publicIP", s->public_ip);
		rc |= api_backend_data_encode(j, s->vtep_mac);
	}
	return enc_done(j, rc);
}

static void
subnet_clear(void *obj)
{
	struct api_subnet *s = obj;

	free(s->subnet);
	free(s->host_ip);
	free(s->public_ip);
	free(s->vtep_mac);
	memset(s, 0, sizeof(*s));
}

const struct api_kind_ops api_subnet_ops = {"Subnet", sizeof(struct api_subnet), subnet_decode, subnet_encode,
                                            subnet_clear};

struct api_subnet *
api_subnet_parse(const char *json, size_t len, struct api_errors *errs)
{
	return api_parse(API_SUBNET, json, len, errs);
}

char *
api_subnet_serialize(const struct api_subnet *s)
{
	return api_serialize(API_SUBNET, s);
}

void
api_subnet_free(struct api_subnet *s)
{
	api_free(API_SUBNET, s);
}
