/*
 * api_proxy_status.c: ProxyStatus, the value of P/proxystatus/NODE (shape
 * in api_proxy_status.h). It only decodes and checks the shape; whether
 * the NODE of the key matches "node" is for the reader to judge.
 */
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "api_internal.h"
#include "api_proxy_status.h"

static void
ps_decode(struct api_dec *d, const json_t *j, void *out)
{
	struct api_proxy_status *s = out;

	s->node = dec_checked(d, j, "node", 1, api_check_dns_subdomain);
	if (!dec_int(d, j, "endpointsRevision", 1, INT64_MAX, &s->endpoints_revision) &&
	    !dec_present(j, "endpointsRevision"))
		dec_err_at(d, "endpointsRevision", "required");
	s->updated = dec_time(d, j, "updated");
}

static json_t *
ps_encode(const void *obj)
{
	const struct api_proxy_status *s = obj;
	json_t *j = json_object();
	int rc = !j;

	if (j) {
		rc |= enc_str(j, "node", s->node);
		rc |= enc_int(j, "endpointsRevision", s->endpoints_revision);
		rc |= enc_str(j, "updated", s->updated);
	}
	return enc_done(j, rc);
}

static void
ps_clear(void *obj)
{
	struct api_proxy_status *s = obj;

	free(s->node);
	free(s->updated);
	memset(s, 0, sizeof(*s));
}

const struct api_kind_ops api_proxy_status_ops = {"ProxyStatus", sizeof(struct api_proxy_status), ps_decode, ps_encode,
                                                  ps_clear};

struct api_proxy_status *
api_proxy_status_parse(const char *json, size_t len, struct api_errors *errs)
{
	return api_parse(API_PROXYSTATUS, json, len, errs);
}

char *
api_proxy_status_serialize(const struct api_proxy_status *s)
{
	return api_serialize(API_PROXYSTATUS, s);
}

void
api_proxy_status_free(struct api_proxy_status *s)
{
	api_free(API_PROXYSTATUS, s);
}

int
api_proxy_status_check_key(const struct api_proxy_status *s, const char *node, struct api_errors *errs)
{
	char q1[96], q2[96];

	if (!s->node || strcmp(s->node, node) == 0)
		return 0;
	api_errors_add(errs, "node", "must equal the node in the key %s, got %s", api_quote(q1, sizeof(q1), node),
	               api_quote(q2, sizeof(q2), s->node));
	return -1;
}
