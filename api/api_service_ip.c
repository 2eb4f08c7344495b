/*
 * api_service_ip.c: the cluster IP record P/serviceips/IP ->
 * {"service": NAME, "uid": "..."} that makes an allocation unique.
 */
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "api_internal.h"

static void
sip_decode(struct api_dec *d, const json_t *j, void *out)
{
	struct api_service_ip *s = out;

	s->service = dec_checked(d, j, "service", 1, api_check_dns_label);
	s->uid = dec_checked(d, j, "uid", 1, api_check_uid);
}

static json_t *
sip_encode(const void *obj)
{
	const struct api_service_ip *s = obj;
	json_t *j = json_object();
	int rc = !j;

	if (j) {
		rc |= enc_str(j, "service", s->service);
		rc |= enc_str(j, "uid", s->uid);
	}
	return enc_done(j, rc);
}

static void
sip_clear(void *obj)
{
	struct api_service_ip *s = obj;

	free(s->service);
	free(s->uid);
	memset(s, 0, sizeof(*s));
}

const struct api_kind_ops api_service_ip_ops = {"ServiceIP", sizeof(struct api_service_ip), sip_decode, sip_encode,
                                                sip_clear};

struct api_service_ip *
api_service_ip_parse(const char *json, size_t len, struct api_errors *errs)
{
	return api_parse(API_SERVICEIP, json, len, errs);
}

char *
api_service_ip_serialize(const struct api_service_ip *sip)
{
	return api_serialize(API_SERVICEIP, sip);
}

void
api_service_ip_free(struct api_service_ip *sip)
{
	api_free(API_SERVICEIP, sip);
}
