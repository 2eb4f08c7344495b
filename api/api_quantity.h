/*
 * api_quantity.h: Kubernetes quantities ("250m", "2", "1.5", "64Mi", "1G",
 * "128974848", "1e3", "0.5Gi") as exact int64 values.
 *
 * Syntax: [+-] digits [. digits] then nothing, a decimal suffix
 * (n u m k M G T P E), a binary suffix (Ki Mi Gi Ti Pi Ei) or a decimal
 * exponent (e3, E-2). CPU is counted in milli-units ("250m" = 250,
 * "2" = 2000), memory and counts in units ("64Mi" = 67108864). A fraction
 * of the unit rounds up, as in Kubernetes ("0.1m" cpu = 1, "0.5" bytes = 1).
 * Values beyond int64 and anything else are rejected.
 */
#ifndef SKIFF_API_QUANTITY_H
#define SKIFF_API_QUANTITY_H

#include <stddef.h>
#include <stdint.h>

#include "api_errors.h"

#define API_QUANTITY_MAX_LEN 64

/* A quantity as written (text, owned; NULL = not set) and its value in the
 * unit of its resource (milli-cpu, bytes, pods). */
struct api_quantity {
	char *text;
	int64_t value;
};

/* Parse s into *out in units (scale 0) or milli-units (scale 3). Returns 0,
 * or -1 with err saying why (garbage, too long, overflow). O(strlen(s)). */
int api_quantity_parse(const char *s, int scale, int64_t *out, struct api_error *err);
/* Shorthands: cpu → milli-units, memory/pods → units. */
int api_quantity_parse_milli(const char *s, int64_t *milli, struct api_error *err);
int api_quantity_parse_value(const char *s, int64_t *value, struct api_error *err);

/* Canonical text of a milli-cpu value ("250m", "2") or a byte count ("64Mi",
 * "1Gi", "1500"), snprintf-style (returns the length it needed). */
size_t api_quantity_format_milli(int64_t milli, char *buf, size_t len);
size_t api_quantity_format_bytes(int64_t bytes, char *buf, size_t len);

#endif
