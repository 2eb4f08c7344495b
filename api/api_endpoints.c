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

static void
endpoints_decode(struct api_dec *d, const json_t *j, void *out)
{
	struct api_endpoints *ep = out;

	ep->cluster_ip = dec_ipv4(d, j, "clusterIP", 0);
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
