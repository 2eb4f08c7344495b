/*
 * api_endpoints.c: Endpoints decode/encode. Which pods belong in it is the
 * endpoints controller's business; this only checks the shape.
 */
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "api_internal.h"

static void
address_decode(struct api_dec *d, const json_t *j, void *item)
{
	struct api_endpoint_address *a = item;

	a->ip = dec_ipv4(d, j, "ip", 1);
	a->node = dec_checked(d, j, "node", 0, api_check_dns_subdomain);
	a->pod = dec_checked(d, j, "pod", 0, api_check_dns_label);
}

static void
endpoints_decode(struct api_dec *d, const json_t *j, void *out)
{
	struct api_endpoints *ep = out;

	ep->cluster_ip = dec_ipv4(d, j, "clusterIP", 0);
	api_service_ports_decode(d, j, &ep->ports, &ep->n_ports, 0);
	ep->addresses = dec_array(d, j, "addresses", sizeof(*ep->addresses), &ep->n_addresses, address_decode);
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

/* Addresses sorted, without touching ep: through an array of pointers. */
static json_t *
addresses_encode(const struct api_endpoints *ep)
{
	const struct api_endpoint_address **v = malloc(ep->n_addresses * sizeof(*v));
	json_t *a;
	size_t i;

	if (!v)
		return NULL;
	for (i = 0; i < ep->n_addresses; i++)
		v[i] = &ep->addresses[i];
	qsort(v, ep->n_addresses, sizeof(*v), address_cmp);
	a = enc_array(v, ep->n_addresses, sizeof(*v), address_encode);
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
			rc |= enc_set(j, "addresses", addresses_encode(ep));
	}
	return enc_done(j, rc);
}

static void
endpoints_clear(void *obj)
{
	struct api_endpoints *ep = obj;
	size_t i;

	free(ep->cluster_ip);
	api_service_ports_free(ep->ports, ep->n_ports);
	for (i = 0; i < ep->n_addresses; i++) {
		free(ep->addresses[i].ip);
		free(ep->addresses[i].node);
		free(ep->addresses[i].pod);
	}
	free(ep->addresses);
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
