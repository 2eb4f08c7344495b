/*
 * api_event.h: Event (P/events/KIND/NAME/ID, on a lease of an hour).
 * A repeated event updates count and lastTimestamp instead of adding keys.
 */
#ifndef SKIFF_API_EVENT_H
#define SKIFF_API_EVENT_H

#include <stddef.h>
#include <stdint.h>

#include "api_errors.h"

#define API_EVENT_MESSAGE_MAX 1024 /* longer messages are cut by api_event_set_message */

enum api_event_type { API_EVENT_NORMAL, API_EVENT_WARNING };

struct api_event {
	enum api_event_type type; /* required */
	char *reason;             /* required, CamelCase: "FailedScheduling", "Invalid" */
	char *message;
	char *source;          /* component: "scheduler" */
	char *first_timestamp; /* RFC 3339 */
	char *last_timestamp;
	int64_t count; /* >= 1, default 1 */
};

struct api_event *api_event_parse(const char *json, size_t len, struct api_errors *errs);
char *api_event_serialize(const struct api_event *ev);
void api_event_free(struct api_event *ev);
/* "Normal" / "Warning". */
const char *api_event_type_name(enum api_event_type t);
/* Set ev->message to a copy of msg cut to API_EVENT_MESSAGE_MAX bytes
 * (at a UTF-8 character boundary, "..." appended). 0 or -1. */
int api_event_set_message(struct api_event *ev, const char *msg);

#endif
