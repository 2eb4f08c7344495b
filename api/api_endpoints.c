/*
 * api_endpoints.c: Endpoints decode/encode, both address lists. Which pods
 * belong in which list is the endpoints controller's business; this only
 * checks the shape (and that "nodeName" and "node" agree).
 */
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "api_internal.h"

static void
address_decode(struct api_dec *d, const json_t *j, void *item)
{
	struct api_endpoint_address *a = item;

	char *v1, qa[96], qb[96];

	a->ip = dec_ipv4(d, j, "ip", 1);
	a->node = dec_checked(d, j, "nodeName", 0, api_check_dns_subdomain);
	v1 = dec_checked(d, j, "node", 0, api_check_dns_subdomain);
	if (a->node && v1 && strcmp(a->node, v1) != 0)
		dec_err_at(d, "nodeName", "%s differs from node %s", api_quote(qa, sizeof(qa), a->node),
		           api_quote(qb, sizeof(qb), v1));
	if (!a->node) {
		a->node = v1;
		v1 = NULL;
	}
	free(v1);
	a->pod = dec_checked(d, j, "pod", 0, api_check_dns_label);
}

/* ---- Kubernetes' shape: subsets[] of {addresses, notReadyAddresses, ports} ---- */

struct subset {
	struct api_service_port *ports;
	size_t n_ports;
	struct api_endpoint_address *addresses, *not_ready;
	size_t n_addresses, n_not_ready;
};

static void
target_ref_decode(struct api_dec *d, const json_t *j, void *out)
{
	char **pod = out, *kind = dec_str(d, j, "kind", 0);

	if (!*pod && (!kind || strcmp(kind, "Pod") == 0))
		*pod = dec_checked(d, j, "name", 0, api_check_dns_label);
	free(kind);
}

/* An address of a subset: Skiff's fields, and the pod also from
 * targetRef {"kind": "Pod", "name": ...} (hostname and the rest ignored). */
static void
subset_address_decode(struct api_dec *d, const json_t *j, void *item)
{
	struct api_endpoint_address *a = item;

	address_decode(d, j, item);
	dec_object(d, j, "targetRef", &a->pod, target_ref_decode);
}

static void
subset_decode(struct api_dec *d, const json_t *j, void *item)
{
	struct subset *s = item;

	/* Kubernetes' ports carry no targetPort: the port is the endpoint's. */
	api_service_ports_decode(d, j, &s->ports, &s->n_ports, 0);
	s->addresses = dec_array(d, j, "addresses", sizeof(*s->addresses), &s->n_addresses, subset_address_decode);
	s->not_ready =
		dec_array(d, j, "notReadyAddresses", sizeof(*s->not_ready), &s->n_not_ready, subset_address_decode);
}

static int
port_in(const struct api_service_port *p, const struct api_service_port *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].port == p->port && v[i].protocol == p->protocol &&
		    !strcmp(v[i].name ? v[i].name : "", p->name ? p->name : ""))
			return 1;
	return 0;
}

/* 1 when a and b hold the same ports, in any order (each has no duplicate). */
static int
same_ports(const struct subset *a, const struct subset *b)
{
	if (a->n_ports != b->n_ports)
		return 0;
	for (size_t i = 0; i < b->n_ports; i++)
		if (!port_in(&b->ports[i], a->ports, a->n_ports))
			return 0;
	return 1;
}

/* Move the n addresses of *src to the end of *dst (n_dst of them). */
static void
addresses_move(struct api_dec *d, struct api_endpoint_address **dst, size_t *n_dst, struct api_endpoint_address **src,
               size_t *n)
{
	struct api_endpoint_address *v;

	if (!*n)
		return;
	if (!(v = realloc(*dst, (*n_dst + *n) * sizeof(*v)))) {
		dec_oom(d);
		return;
	}
	memcpy(v + *n_dst, *src, *n * sizeof(*v));
	*dst = v;
	*n_dst += *n;
	free(*src);
	*src = NULL;
	*n = 0;
}

static void addresses_free(struct api_endpoint_address *a, size_t n);

/* The subsets flattened into ep: every subset must have the same ports
 * (Skiff's endpoints have one port list for all their addresses). */
static void
subsets_decode(struct api_dec *d, const json_t *j, struct api_endpoints *ep)
{
	struct subset *s;
	size_t n = 0, i, mark;

	if (dec_present(j, "addresses") || dec_present(j, "notReadyAddresses") || dec_present(j, "ports"))
		dec_err_at(d, "subsets", "cannot be mixed with addresses, notReadyAddresses or ports: use one shape");
	s = dec_array(d, j, "subsets", sizeof(*s), &n, subset_decode);
	if (json_is_array(json_object_get(j, "subsets")) && json_array_size(json_object_get(j, "subsets")) == 0)
		dec_err_at(d, "subsets", "must have at least one subset (its ports are required)");
	for (i = 0; i < n; i++) {
		if (i > 0 && !same_ports(&s[0], &s[i])) {
			mark = dec_push(d, "subsets");
			dec_push_index(d, i);
			dec_err_at(d, "ports",
			           "differ from subsets[0].ports; Skiff's endpoints have one port list for "
			           "all addresses: give every subset the same ports, or split the service");
			dec_pop(d, mark);
		}
		addresses_move(d, &ep->addresses, &ep->n_addresses, &s[i].addresses, &s[i].n_addresses);
		addresses_move(d, &ep->not_ready, &ep->n_not_ready, &s[i].not_ready, &s[i].n_not_ready);
		addresses_free(s[i].addresses, s[i].n_addresses);
		addresses_free(s[i].not_ready, s[i].n_not_ready);
		if (i == 0) {
			ep->ports = s[0].ports;
			ep->n_ports = s[0].n_ports;
		} else {
			api_service_ports_free(s[i].ports, s[i].n_ports);
		}
	}
	free(s);
}

static void
endpoints_decode(struct api_dec *d, const json_t *j, void *out)
{
	struct api_endpoints *ep = out;

	ep->cluster_ip = dec_ipv4(d, j, "clusterIP", 0);
	if (dec_present(j, "subsets")) {
		subsets_decode(d, j, ep);
		return;
	}
	api_service_ports_decode(d, j, &ep->ports, &ep->n_ports, 0);
	ep->addresses = dec_array(d, j, "addresses", sizeof(*ep->addresses), &ep->n_addresses, address_decode);
	ep->not_ready = dec_array(d, j, "notReadyAddresses", sizeof(*ep->not_ready), &ep->n_not_ready, address_decode);
}

static json_t *
address_encode(const void *item)
{
	const struct api_endpoint_address *a = *(const struct api_endpoint_address *const *)item;
	json_t *j = json_object();
	int rc = !j;

	if (j) {
		rc |= enc_str(j, "ip", a->ip);
		rc |= enc_str(j, "node", a->node);
		rc |= enc_str(j, "nodeName", a->node);
		rc |= enc_str(j, "pod", a->pod);
	}
	return enc_done(j, rc);
}

static int
strcmp_null(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "");
}

static int
address_cmp(const void *x, const void *y)
{
	const struct api_endpoint_address *a = *(const struct api_endpoint_address *const *)x;
	const struct api_endpoint_address *b = *(const struct api_endpoint_address *const *)y;
	int c = strcmp_null(a->ip, b->ip);

	if (!c)
		c = strcmp_null(a->pod, b->pod);
	return c ? c : strcmp_null(a->node, b->node);
}

/* Addresses sorted, without touching them: through an array of pointers. */
static json_t *
addresses_encode(const struct api_endpoint_address *addrs, size_t n)
{
	const struct api_endpoint_address **v = malloc(n * sizeof(*v));
	json_t *a;
	size_t i;

	if (!v)
		return NULL;
	for (i = 0; i < n; i++)
		v[i] = &addrs[i];
	qsort(v, n, sizeof(*v), address_cmp);
	a = enc_array(v, n, sizeof(*v), address_encode);
	free(v);
	return a;
}

static json_t *
endpoints_encode(const void *obj)
{
	const struct api_endpoints *ep = obj;
	json_t *j = json_object();
	int rc = !j;

	if (j) {
		rc |= enc_str(j, "clusterIP", ep->cluster_ip);
		rc |= enc_set(j, "ports", api_service_ports_encode(ep->ports, ep->n_ports));
		if (ep->n_addresses)
			rc |= enc_set(j, "addresses", addresses_encode(ep->addresses, ep->n_addresses));
		if (ep->n_not_ready)
			rc |= enc_set(j, "notReadyAddresses", addresses_encode(ep->not_ready, ep->n_not_ready));
	}
	return enc_done(j, rc);
}

static void
addresses_free(struct api_endpoint_address *a, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(a[i].ip);
		free(a[i].node);
		free(a[i].pod);
	}
	free(a);
}

static void
endpoints_clear(void *obj)
{
	struct api_endpoints *ep = obj;

	free(ep->cluster_ip);
	api_service_ports_free(ep->ports, ep->n_ports);
	addresses_free(ep->addresses, ep->n_addresses);
	addresses_free(ep->not_ready, ep->n_not_ready);
	memset(ep, 0, sizeof(*ep));
}

const struct api_kind_ops api_endpoints_ops = {"Endpoints", sizeof(struct api_endpoints), endpoints_decode,
                                               endpoints_encode, endpoints_clear};

struct api_endpoints *
api_endpoints_parse(const char *json, size_t len, struct api_errors *errs)
{
	return api_parse(API_ENDPOINTS, json, len, errs);
}

char *
api_endpoints_serialize(const struct api_endpoints *ep)
{
	return api_serialize(API_ENDPOINTS, ep);
}

void
api_endpoints_free(struct api_endpoints *ep)
{
	api_free(API_ENDPOINTS, ep);
}
