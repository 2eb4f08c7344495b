/*
 * api_event.c: Event decode/encode. Choosing IDs and folding repeats is
 * the emitting component's job.
 */
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "api_internal.h"

static const char *const type_names[] = {"Normal", "Warning"};

const char *
api_event_type_name(enum api_event_type t)
{
	return (unsigned)t < 2 ? type_names[t] : "?";
}

static int
check_reason(const char *s, struct api_error *err)
{
	char q[96];
	size_t i;

	for (i = 0; s[i]; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (i && s[i] >= '0' && s[i] <= '9')))
			break;
	if (s[i] || i > 128)
		return api_error_set(err, "%s is not a reason (a CamelCase word like FailedScheduling)",
		                     api_quote(q, sizeof(q), s));
	return 0;
}

static void
event_decode(struct api_dec *d, const json_t *j, void *out)
{
	struct api_event *ev = out;

	if (dec_missing(j, "type"))
		dec_err_at(d, "type", "required");
	ev->type = (enum api_event_type)dec_enum(d, j, "type", type_names, 2, API_EVENT_NORMAL);
	ev->reason = dec_checked(d, j, "reason", 1, check_reason);
	ev->message = dec_str(d, j, "message", 0);
	ev->source = dec_str(d, j, "source", 0);
	ev->first_timestamp = dec_time(d, j, "firstTimestamp");
	ev->last_timestamp = dec_time(d, j, "lastTimestamp");
	ev->count = 1;
	dec_int(d, j, "count", 1, INT64_MAX, &ev->count);
}

static json_t *
event_encode(const void *obj)
{
	const struct api_event *ev = obj;
	json_t *j = json_object();
	int rc = !j;

	if (j) {
		rc |= enc_str(j, "type", api_event_type_name(ev->type));
		rc |= enc_str(j, "reason", ev->reason);
		rc |= enc_str(j, "message", ev->message);
		rc |= enc_str(j, "source", ev->source);
		rc |= enc_str(j, "firstTimestamp", ev->first_timestamp);
		rc |= enc_str(j, "lastTimestamp", ev->last_timestamp);
		rc |= enc_int(j, "count", ev->count);
	}
	return enc_done(j, rc);
}

static void
event_clear(void *obj)
{
	struct api_event *ev = obj;

	free(ev->reason);
	free(ev->message);
	free(ev->source);
	free(ev->first_timestamp);
	free(ev->last_timestamp);
	memset(ev, 0, sizeof(*ev));
}

const struct api_kind_ops api_event_ops = {"Event", sizeof(struct api_event), event_decode, event_encode, event_clear};

struct api_event *
api_event_parse(const char *json, size_t len, struct api_errors *errs)
{
	return api_parse(API_EVENT, json, len, errs);
}

char *
api_event_serialize(const struct api_event *ev)
{
	return api_serialize(API_EVENT, ev);
}

void
api_event_free(struct api_event *ev)
{
	api_free(API_EVENT, ev);
}

int
api_event_set_message(struct api_event *ev, const char *msg)
{
	size_t n = strlen(msg), cut = API_EVENT_MESSAGE_MAX - 3;
	char *m;

	if (n <= API_EVENT_MESSAGE_MAX)
		return api_set_string(&ev->message, msg);
	while (cut > 0 && ((unsigned char)msg[cut] & 0xc0) == 0x80)
		cut--;
	if (!(m = malloc(cut + 4)))
		return -1;
	memcpy(m, msg, cut);
	memcpy(m + cut, "...", 4);
	free(ev->message);
	ev->message = m;
	return 0;
}
