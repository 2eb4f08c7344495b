/*
 * api_node.c: Node decode/encode. Labels and spec belong to admins and
 * status to the agent; merging the two on write is the agent's job.
 */
#include <stdio.h>
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

/* "A-B" with 1 <= A <= B <= 65535 into lo, hi. */
static void
port_range_decode(struct api_dec *d, const json_t *j, struct api_node_status *s)
{
	char *r = dec_str(d, j, "hostPortRange", 0), tail;
	int lo, hi;

	if (!r)
		return;
	if (sscanf(r, "%d-%d%c", &lo, &hi, &tail) != 2 || lo < 1 || lo > hi || hi > 65535)
		dec_err_at(d, "hostPortRange", "must be A-B with 1 <= A <= B <= 65535, got \"%.40s\"", r);
	else
		s->host_port_lo = lo, s->host_port_hi = hi;
	free(r);
}

/* allowPrivileged, allowedHostPaths (absolute, no ".."), hostPortRange. */
static void
policy_decode(struct api_dec *d, const json_t *j, struct api_node_status *s)
{
	size_t i;

	s->policy = dec_present(j, "allowPrivileged");
	dec_bool(d, j, "allowPrivileged", &s->allow_privileged);
	dec_strv(d, j, "allowedHostPaths", &s->allowed_host_paths, &s->n_allowed_host_paths);
	for (i = 0; i < s->n_allowed_host_paths; i++) {
		const char *p = s->allowed_host_paths[i];

		if (p[0] != '/' || api_path_has_backstep(p)) {
			size_t m = dec_push(d, "allowedHostPaths");

			dec_push_index(d, i);
			dec_err(d, "must be an absolute path without '..'");
			dec_pop(d, m);
		}
	}
	port_range_decode(d, j, s);
}

/* The conditions the scheduler acts on; the rest are for people. */
static void
conditions_read(struct api_node_status *s, const json_t *conds)
{
	const json_t *c;
	size_t i;

	json_array_foreach(conds, i, c) {
		const char *t = json_string_value(json_object_get(c, "type"));
		const char *st = json_string_value(json_object_get(c, "status"));

		if (t && st && strcmp(t, "DiskPressure") == 0 && strcmp(st, "True") == 0)
			s->disk_pressure = 1;
	}
}

static void
status_decode(struct api_dec *d, const json_t *j, void *out)
{
	struct api_node_status *s = out;

	dec_object(d, j, "capacity", &s->capacity, capacity_decode);
	s->addresses = dec_array(d, j, "addresses", sizeof(*s->addresses), &s->n_addresses, address_decode);
	s->pod_cidr = dec_cidr(d, j, "podCIDR", 0);
	s->agent_version = dec_str(d, j, "agentVersion", 0);
	policy_decode(d, j, s);
	conditions_read(s, json_object_get(j, "conditions"));
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

static int
policy_encode(json_t *j, const struct api_node_status *s)
{
	char b[16];
	int rc = 0;

	if (!s->policy)
		return 0;
	rc |= enc_set(j, "allowPrivileged", json_boolean(s->allow_privileged));
	rc |= enc_strv(j, "allowedHostPaths", s->allowed_host_paths, s->n_allowed_host_paths);
	if (s->host_port_lo > 0) {
		snprintf(b, sizeof(b), "%d-%d", s->host_port_lo, s->host_port_hi);
		rc |= enc_str(j, "hostPortRange", b);
	}
	return rc;
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
		rc |= policy_encode(j, s);
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
	api_strv_free(n->status.allowed_host_paths, n->status.n_allowed_host_paths);
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
