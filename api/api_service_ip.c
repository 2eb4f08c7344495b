/*
 * api_service_ip.c: the cluster IP record P/serviceips/IP ->
 * {"service": NAME, "uid": "..."} that makes an allocation unique, and
 * the node-port claim P/nodeports/PORT, the same with the service port it
 * serves ("port", "protocol"; absent in cluster IP claims).
 */
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "api_internal.h"

static void
sip_decode(struct api_dec *d, const json_t *j, void *out)
{
	struct api_service_ip *s = out;
	int64_t v;

	s->service = dec_checked(d, j, "service", 1, api_check_dns_label);
	s->uid = dec_checked(d, j, "uid", 1, api_check_uid);
	if (dec_present(j, "port") && dec_int(d, j, "port", 1, 65535, &v))
		s->port = (int)v;
	s->protocol = (enum api_protocol)dec_enum(d, j, "protocol", api_proto_names, 2, API_PROTO_TCP);
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
		if (s->port) {
			rc |= enc_int(j, "port", s->port);
			rc |= enc_str(j, "protocol", api_protocol_name(s->protocol));
		}
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
