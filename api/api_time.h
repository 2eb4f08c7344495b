/*
 * api_time.h: RFC 3339 timestamps as written in statuses and events
 * ("2026-11-26T15:00:00Z", fractions and offsets accepted on input).
 */
#ifndef SKIFF_API_TIME_H
#define SKIFF_API_TIME_H

#include <stddef.h>
#include <time.h>

#include "api_errors.h"

/* Returns 0 and *out (seconds since the epoch, fraction dropped), or -1. */
int api_time_parse(const char *s, time_t *out, struct api_error *err);
/* "YYYY-MM-DDTHH:MM:SSZ" (UTC), snprintf-style; 21 bytes suffice. */
size_t api_time_format(time_t t, char *buf, size_t len);

#endif
