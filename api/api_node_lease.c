/*
 * api_node_lease.c: NodeLease, the value of P/nodeleases/NODE (shape in
 * api_node.h). Readiness is judged from its renewals (runtime/liveness.c),
 * not decoded here.
 */
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "api_internal.h"

static void
spec_decode(struct api_dec *d, const json_t *j, void *out)
{
	struct api_node_lease_spec *s = out;

	s->holder_identity = dec_str(d, j, "holderIdentity", 0);
	dec_int(d, j, "leaseDurationSeconds", 1, INT32_MAX, &s->lease_duration_seconds);
	s->acquire_time = dec_time(d, j, "acquireTime");
	s->renew_time = dec_time(d, j, "renewTime");
}

static void
lease_decode(struct api_dec *d, const json_t *j, void *out)
{
	struct api_node_lease *l = out;

	dec_object(d, j, "metadata", &l->meta, api_meta_decode_subdomain);
	dec_object(d, j, "spec", &l->spec, spec_decode);
}

static json_t *
spec_encode(const struct api_node_lease_spec *s)
{
	json_t *j = json_object();
	int rc = !j;

	if (j) {
		rc |= enc_str(j, "holderIdentity", s->holder_identity);
		if (s->lease_duration_seconds)
			rc |= enc_int(j, "leaseDurationSeconds", s->lease_duration_seconds);
		rc |= enc_str(j, "acquireTime", s->acquire_time);
		rc |= enc_str(j, "renewTime", s->renew_time);
	}
	return enc_done(j, rc);
}

static json_t *
lease_encode(const void *obj)
{
	const struct api_node_lease *l = obj;
	json_t *j = json_object();
	int rc = !j;

	if (j) {
		rc |= enc_set(j, "metadata", api_meta_encode(&l->meta));
		rc |= enc_set(j, "spec", spec_encode(&l->spec));
	}
	return enc_done(j, rc);
}

static void
lease_clear(void *obj)
{
	struct api_node_lease *l = obj;

	api_meta_clear(&l->meta);
	free(l->spec.holder_identity);
	free(l->spec.acquire_time);
	free(l->spec.renew_time);
	memset(l, 0, sizeof(*l));
}

const struct api_kind_ops api_node_lease_ops = {"NodeLease", sizeof(struct api_node_lease), lease_decode, lease_encode,
                                                lease_clear};

struct api_node_lease *
api_node_lease_parse(const char *json, size_t len, struct api_errors *errs)
{
	return api_parse(API_NODELEASE, json, len, errs);
}

char *
api_node_lease_serialize(const struct api_node_lease *lease)
{
	return api_serialize(API_NODELEASE, lease);
}

void
api_node_lease_free(struct api_node_lease *lease)
{
	api_free(API_NODELEASE, lease);
}
