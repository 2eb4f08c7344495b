/*
 * api_network.c: NetworkConfig and Subnet decode/encode and the network
 * defaults. Choosing a free subnet is the agent's job.
 */
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
	int64_t v;

	api_network_config_default(nc);
	cidr_member(d, j, "podCIDR", &nc->pod_cidr);
	cidr_member(d, j, "serviceCIDR", &nc->service_cidr);
	if (dec_int(d, j, "subnetLength", 1, 30, &v))
		nc->subnet_length = (int)v;
	dec_bool(d, j, "allowMetadata", &nc->allow_metadata);
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

static void
subnet_decode(struct api_dec *d, const json_t *j, void *out)
{
	struct api_subnet *s = out;

	s->subnet = dec_cidr(d, j, "subnet", 1);
	s->host_ip = dec_ipv4(d, j, "hostIP", 0);
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
	}
	return enc_done(j, rc);
}

static void
subnet_clear(void *obj)
{
	struct api_subnet *s = obj;

	free(s->subnet);
	free(s->host_ip);
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
