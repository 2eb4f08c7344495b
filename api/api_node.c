/*
 * api_node.c: Node decode/encode. Labels and spec belong to admins and
 * status to the agent; merging the two on write is the agent's job.
 */
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "api_internal.h"

static const char *const address_types[] = {"InternalIP", "ExternalIP", "Hostname", "InternalDNS", "ExternalDNS"};

static void
address_decode(struct api_dec *d, const json_t *j, void *item)
{
	struct api_node_address *a = item;
	int t;

	if (dec_missing(j, "type"))
		dec_err_at(d, "type", "required");
	t = dec_enum(d, j, "type", address_types, 5, -1);
	if (t >= 0 && !(a->type = strdup(address_types[t])))
		dec_oom(d);
	if (t == 0 || t == 1)
		a->address = dec_ipv4(d, j, "address", 1);
	else
		a->address = dec_str(d, j, "address", 1);
}

static void
capacity_decode(struct api_dec *d, const json_t *j, void *out)
{
	api_resource_list_decode(d, j, out, 1);
}

static void
status_decode(struct api_dec *d, const json_t *j, void *out)
{
	struct api_node_status *s = out;

	dec_object(d, j, "capacity", &s->capacity, capacity_decode);
	s->addresses = dec_array(d, j, "addresses", sizeof(*s->addresses), &s->n_addresses, address_decode);
	s->pod_cidr = dec_cidr(d, j, "podCIDR", 0);
	s->agent_version = dec_str(d, j, "agentVersion", 0);
	dec_object(d, j, "backendData", &s->vtep_mac, api_backend_data_decode);
}

static void
spec_decode(struct api_dec *d, const json_t *j, void *out)
{
	struct api_node_spec *s = out;

	dec_bool(d, j, "unschedulable", &s->unschedulable);
}

static void
node_decode(struct api_dec *d, const json_t *j, void *out)
{
	struct api_node *n = out;

	dec_object(d, j, "metadata", &n->meta, api_meta_decode_subdomain);
	dec_object(d, j, "spec", &n->spec, spec_decode);
	dec_object(d, j, "status", &n->status, status_decode);
}

static json_t *
address_encode(const void *item)
{
	const struct api_node_address *a = item;
	json_t *j = json_object();
	int rc = !j;

	if (j) {
		rc |= enc_str(j, "type", a->type);
		rc |= enc_str(j, "address", a->address);
	}
	return enc_done(j, rc);
}

static json_t *
spec_encode(const struct api_node_spec *s)
{
	json_t *j = json_object();

	return j ? enc_done(j, enc_bool(j, "unschedulable", s->unschedulable)) : NULL;
}

static json_t *
status_encode(const struct api_node_status *s)
{
	json_t *j = json_object();
	int rc = !j;

	if (j) {
		rc |= enc_set(j, "capacity", api_resource_list_encode(&s->capacity));
		if (s->n_addresses)
			rc |= enc_set(j, "addresses",
			              enc_array(s->addresses, s->n_addresses, sizeof(*s->addresses), address_encode));
		rc |= enc_str(j, "podCIDR", s->pod_cidr);
		rc |= enc_str(j, "agentVersion", s->agent_version);
		rc |= api_backend_data_encode(j, s->vtep_mac);
	}
	return enc_done(j, rc);
}

static json_t *
node_encode(const void *obj)
{
	const struct api_node *n = obj;
	json_t *j = json_object();
	int rc = !j;

	if (j) {
		rc |= enc_set(j, "metadata", api_meta_encode(&n->meta));
		rc |= enc_set(j, "spec", spec_encode(&n->spec));
		rc |= enc_set(j, "status", status_encode(&n->status));
	}
	return enc_done(j, rc);
}

static void
node_clear(void *obj)
{
	struct api_node *n = obj;
	size_t i;

	api_meta_clear(&n->meta);
	api_resource_list_clear(&n->status.capacity);
	for (i = 0; i < n->status.n_addresses; i++) {
		free(n->status.addresses[i].type);
		free(n->status.addresses[i].address);
	}
	free(n->status.addresses);
	free(n->status.pod_cidr);
	free(n->status.agent_version);
	free(n->status.vtep_mac);
	memset(n, 0, sizeof(*n));
}

const struct api_kind_ops api_node_ops = {"Node", sizeof(struct api_node), node_decode, node_encode, node_clear};

struct api_node *
api_node_parse(const char *json, size_t len, struct api_errors *errs)
{
	return api_parse(API_NODE, json, len, errs);
}

char *
api_node_serialize(const struct api_node *node)
{
	return api_serialize(API_NODE, node);
}

void
api_node_free(struct api_node *node)
{
	api_free(API_NODE, node);
}

const char *
api_node_address(const struct api_node *node, const char *type)
{
	size_t i;

	for (i = 0; i < node->status.n_addresses; i++)
		if (node->status.addresses[i].type && strcmp(node->status.addresses[i].type, type) == 0)
			return node->status.addresses[i].address;
	return NULL;
}
