/*
 * api_controller_status.c: ControllerStatus decode/encode (shape in
 * api_status.h).
 */
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "api_internal.h"

static void
cstatus_decode(struct api_dec *d, const json_t *j, void *out)
{
	struct api_controller_status *s = out;
	int64_t v;

	s->uid = dec_checked(d, j, "uid", 1, api_check_uid);
	dec_int(d, j, "observedRevision", 0, INT64_MAX, &s->observed_revision);
	if (dec_int(d, j, "replicas", 0, INT32_MAX, &v))
		s->replicas = (int)v;
	if (dec_int(d, j, "readyReplicas", 0, INT32_MAX, &v))
		s->ready_replicas = (int)v;
	if (dec_int(d, j, "availableReplicas", 0, INT32_MAX, &v))
		s->available_replicas = (int)v;
	s->message = dec_str(d, j, "message", 0);
}

static json_t *
cstatus_encode(const void *obj)
{
	const struct api_controller_status *s = obj;
	json_t *j = json_object();
	int rc = !j;

	if (j) {
		rc |= enc_str(j, "uid", s->uid);
		rc |= enc_int(j, "observedRevision", s->observed_revision);
		rc |= enc_int(j, "replicas", s->replicas);
		rc |= enc_int(j, "readyReplicas", s->ready_replicas);
		rc |= enc_int(j, "availableReplicas", s->available_replicas);
		rc |= enc_str(j, "message", s->message);
	}
	return enc_done(j, rc);
}

static void
cstatus_clear(void *obj)
{
	struct api_controller_status *s = obj;

	free(s->uid);
	free(s->message);
	memset(s, 0, sizeof(*s));
}

const struct api_kind_ops api_controller_status_ops = {"ControllerStatus", sizeof(struct api_controller_status),
                                                       cstatus_decode, cstatus_encode, cstatus_clear};

struct api_controller_status *
api_controller_status_parse(const char *json, size_t len, struct api_errors *errs)
{
	return api_parse(API_CONTROLLERSTATUS, json, len, errs);
}

char *
api_controller_status_serialize(const struct api_controller_status *st)
{
	return api_serialize(API_CONTROLLERSTATUS, st);
}

void
api_controller_status_free(struct api_controller_status *st)
{
	api_free(API_CONTROLLERSTATUS, st);
}
