/*
 * api_errors.h: how the object model reports problems.
 *
 * Two shapes. Calls that judge one value (a name, a key, a quantity) stop at
 * the first problem and fill a caller-owned struct api_error. Decoding a
 * document collects every problem at once in a struct api_errors: a list of
 * (field path, message) pairs such as
 *   spec.containers[1].ports[0].containerPort: must be between 1 and 65535, got 70000
 * The library never logs, exits or aborts.
 */
#ifndef SKIFF_API_ERRORS_H
#define SKIFF_API_ERRORS_H

#include <stddef.h>

#define API_ERR_MAX 256

/* One problem, as text a person can act on (no field path). */
struct api_error {
	char msg[API_ERR_MAX];
};

/* Fill err (if not NULL) with a formatted message; returns -1 so that
 * callers can write "return api_error_set(err, ...)". */
int api_error_set(struct api_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* One problem of a document. field is the path ("" for the document as a
 * whole), msg what is wrong with it. Both owned by the list. */
struct api_field_error {
	char *field;
	char *msg;
};

/* Every problem of a document, in the order found. Zero-initialise
 * (struct api_errors e = {0}) or api_errors_init; free with api_errors_clear.
 * oom is set when memory ran out while decoding or while recording. */
struct api_errors {
	struct api_field_error *items;
	size_t n, cap;
	int oom;
};

void api_errors_init(struct api_errors *e);
/* Free every item; the list is empty (and reusable) afterwards. */
void api_errors_clear(struct api_errors *e);
/* Append "field: msg". Returns 0, or -1 (and sets oom) when out of memory. */
int api_errors_add(struct api_errors *e, const char *field, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Non-zero when the list holds a problem or memory ran out. */
int api_errors_any(const struct api_errors *e);
/* Item i formatted as "field: msg" (or "msg" when the field is empty) into
 * buf, snprintf-style: returns the length it needed. */
size_t api_errors_format(const struct api_errors *e, size_t i, char *buf, size_t len);
/* Every item joined with sep, plus "out of memory" when oom. New string
 * (free()), NULL when out of memory. */
char *api_errors_join(const struct api_errors *e, const char *sep);

#endif
