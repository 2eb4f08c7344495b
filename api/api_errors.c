/*
 * api_errors.c: the error list of decoding, and the single-error helper.
 * Recording an error never fails loudly: out of memory only sets a flag.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_errors.h"

int
api_error_set(struct api_error *err, const char *fmt, ...)
{
	va_list ap;

	if (err) {
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
	}
	return -1;
}

void
api_errors_init(struct api_errors *e)
{
	memset(e, 0, sizeof(*e));
}

void
api_errors_clear(struct api_errors *e)
{
	size_t i;

	for (i = 0; i < e->n; i++) {
		free(e->items[i].field);
		free(e->items[i].msg);
	}
	free(e->items);
	memset(e, 0, sizeof(*e));
}

static char *
vformat(const char *fmt, va_list ap)
{
	va_list aq;
	char *s;
	int n;

	va_copy(aq, ap);
	n = vsnprintf(NULL, 0, fmt, aq);
	va_end(aq);
	if (n < 0 || !(s = malloc((size_t)n + 1)))
		return NULL;
	vsnprintf(s, (size_t)n + 1, fmt, ap);
	return s;
}

int
api_errors_add(struct api_errors *e, const char *field, const char *fmt, ...)
{
	struct api_field_error *items;
	char *f, *m;
	va_list ap;

	if (e->n == e->cap) {
		size_t cap = e->cap ? 2 * e->cap : 8;

		if (!(items = realloc(e->items, cap * sizeof(*items)))) {
			e->oom = 1;
			return -1;
		}
		e->items = items;
		e->cap = cap;
	}
	va_start(ap, fmt);
	m = vformat(fmt, ap);
	va_end(ap);
	f = strdup(field ? field : "");
	if (!m || !f) {
		free(m);
		free(f);
		e->oom = 1;
		return -1;
	}
	e->items[e->n].field = f;
	e->items[e->n].msg = m;
	e->n++;
	return 0;
}

int
api_errors_any(const struct api_errors *e)
{
	return e->n > 0 || e->oom;
}

size_t
api_errors_format(const struct api_errors *e, size_t i, char *buf, size_t len)
{
	const struct api_field_error *it = &e->items[i];
	int n;

	if (it->field[0])
		n = snprintf(buf, len, "%s: %s", it->field, it->msg);
	else
		n = snprintf(buf, len, "%s", it->msg);
	return n < 0 ? 0 : (size_t)n;
}

char *
api_errors_join(const struct api_errors *e, const char *sep)
{
	size_t i, total = 1, off = 0, seplen = strlen(sep);
	char *s;

	for (i = 0; i < e->n; i++)
		total += api_errors_format(e, i, NULL, 0) + seplen;
	if (e->oom)
		total += sizeof("out of memory") + seplen;
	if (!(s = malloc(total)))
		return NULL;
	s[0] = '\0';
	for (i = 0; i < e->n; i++) {
		if (i) {
			memcpy(s + off, sep, seplen);
			off += seplen;
		}
		off += api_errors_format(e, i, s + off, total - off);
	}
	if (e->oom)
		snprintf(s + off, total - off, "%sout of memory", e->n ? sep : "");
	return s;
}
