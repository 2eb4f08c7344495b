/*
 * api_json.c: the decoding context and JSON member readers and writers
 * that every object file uses (see api_internal.h), plus the small string
 * builder. This is where a wrong JSON type becomes "must be an integer, got
 * string" with its field path; object rules live with their objects.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_internal.h"
#include "api_names.h"
#include "api_net.h"
#include "api_time.h"

void
api_sbuf_init(struct api_sbuf *sb, char *buf, size_t len)
{
	sb->buf = buf;
	sb->len = len;
	sb->need = 0;
	if (len)
		buf[0] = '\0';
}

static void
sbuf_vprintf(struct api_sbuf *sb, const char *fmt, va_list ap)
{
	int n;

	if (sb->need < sb->len)
		n = vsnprintf(sb->buf + sb->need, sb->len - sb->need, fmt, ap);
	else
		n = vsnprintf(NULL, 0, fmt, ap);
	if (n > 0)
		sb->need += (size_t)n;
}

void
api_sbuf_printf(struct api_sbuf *sb, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	sbuf_vprintf(sb, fmt, ap);
	va_end(ap);
}

void
api_sbuf_puts(struct api_sbuf *sb, const char *s)
{
	api_sbuf_printf(sb, "%s", s);
}

void
api_strv_free(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* ------------------------------------------------------------------------
 * Path and errors
 */
void
dec_init(struct api_dec *d, struct api_errors *errs)
{
	d->errs = errs;
	d->len = 0;
	d->loose_images = 0;
	d->path[0] = '\0';
}

size_t
api_path_cat(char *path, size_t cap, size_t len, const char *s, size_t n)
{
	if (n > cap - 1 - len)
		n = cap - 1 - len;
	memcpy(path + len, s, n);
	path[len + n] = '\0';
	return len + n;
}

size_t
api_path_index(char *path, size_t cap, size_t len, size_t i)
{
	char buf[24], *p = buf + sizeof(buf);

	*--p = ']';
	do
		*--p = (char)('0' + i % 10);
	while ((i /= 10) > 0);
	*--p = '[';
	return api_path_cat(path, cap, len, p, (size_t)(buf + sizeof(buf) - p));
}

/* The path, extended by s; the mark to pop to. */
static size_t
push(struct api_dec *d, const char *s, size_t n)
{
	size_t mark = d->len;

	d->len = api_path_cat(d->path, sizeof(d->path), d->len, s, n);
	return mark;
}

size_t
dec_push(struct api_dec *d, const char *field)
{
	size_t mark = d->len;

	if (d->len)
		push(d, ".", 1);
	push(d, field, strlen(field));
	return mark;
}

size_t
dec_push_index(struct api_dec *d, size_t i)
{
	size_t mark = d->len;

	d->len = api_path_index(d->path, sizeof(d->path), d->len, i);
	return mark;
}

size_t
dec_push_key(struct api_dec *d, const char *key)
{
	char q[96];
	size_t i, mark = push(d, "[", 1);

	for (i = 0; key[i]; i++)
		if ((unsigned char)key[i] <= ' ' || key[i] == ']' || key[i] == '"' || key[i] == 0x7f || i > 64) {
			key = api_quote(q, sizeof(q), key);
			break;
		}
	push(d, key, strlen(key));
	push(d, "]", 1);
	return mark;
}

void
dec_pop(struct api_dec *d, size_t mark)
{
	d->len = mark;
	d->path[mark] = '\0';
}

void
dec_err(struct api_dec *d, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	api_errors_add(d->errs, d->path, "%s", msg);
}

void
dec_err_at(struct api_dec *d, const char *field, const char *fmt, ...)
{
	size_t mark = dec_push(d, field);
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	api_errors_add(d->errs, d->path, "%s", msg);
	dec_pop(d, mark);
}

void
dec_oom(struct api_dec *d)
{
	d->errs->oom = 1;
}

void
dec_check(struct api_dec *d, const char *field, int rc, const struct api_error *err)
{
	if (rc < 0)
		dec_err_at(d, field, "%s", err->msg);
}

/* ------------------------------------------------------------------------
 * Readers
 */
const char *
api_json_type_name(const json_t *j)
{
	switch (json_typeof(j)) {
	case JSON_OBJECT: return "object";
	case JSON_ARRAY: return "array";
	case JSON_STRING: return "string";
	case JSON_INTEGER: return "integer";
	case JSON_REAL: return "number";
	case JSON_TRUE:
	case JSON_FALSE: return "boolean";
	case JSON_NULL: return "null";
	}
	return "?";
}

static const char *
wanted(json_type t)
{
	switch (t) {
	case JSON_OBJECT: return "an object";
	case JSON_ARRAY: return "an array";
	case JSON_STRING: return "a string";
	case JSON_INTEGER: return "an integer";
	case JSON_REAL: return "a number";
	case JSON_TRUE:
	case JSON_FALSE: return "a boolean";
	case JSON_NULL: return "null";
	}
	return "?";
}

const json_t *
dec_member(struct api_dec *d, const json_t *obj, const char *key, json_type t)
{
	const json_t *v = obj ? json_object_get(obj, key) : NULL;

	if (!v || json_is_null(v))
		return NULL;
	if (json_typeof(v) == t || (t == JSON_TRUE && json_is_boolean(v)))
		return v;
	dec_err_at(d, key, "must be %s, got %s", wanted(t), api_json_type_name(v));
	return NULL;
}

static char *
dup_or_oom(struct api_dec *d, const char *s)
{
	char *c = strdup(s);

	if (!c)
		dec_oom(d);
	return c;
}

int
dec_present(const json_t *obj, const char *key)
{
	const json_t *v = obj ? json_object_get(obj, key) : NULL;

	return v && !json_is_null(v);
}

int
dec_missing(const json_t *obj, const char *key)
{
	const json_t *v = obj ? json_object_get(obj, key) : NULL;

	return !v || json_is_null(v) || (json_is_string(v) && json_string_length(v) == 0);
}

void
dec_object(struct api_dec *d, const json_t *obj, const char *key, void *out, dec_fn fn)
{
	const json_t *v = dec_member(d, obj, key, JSON_OBJECT);
	size_t mark;

	if (!v && dec_present(obj, key))
		return; /* wrong type, reported; its members would only repeat it */
	mark = dec_push(d, key);
	fn(d, v, out);
	dec_pop(d, mark);
}

char *
dec_str(struct api_dec *d, const json_t *obj, const char *key, int required)
{
	const json_t *v = dec_member(d, obj, key, JSON_STRING);

	if (v && json_string_length(v) > 0)
		return dup_or_oom(d, json_string_value(v));
	if (required && dec_missing(obj, key))
		dec_err_at(d, key, "required");
	return NULL;
}

char *
dec_checked(struct api_dec *d, const json_t *obj, const char *key, int required,
            int (*check)(const char *, struct api_error *))
{
	struct api_error err;
	char *s = dec_str(d, obj, key, required);

	if (s)
		dec_check(d, key, check(s, &err), &err);
	return s;
}

static int
small(int64_t v)
{
	return v > INT32_MIN && v < INT32_MAX;
}

int
dec_int(struct api_dec *d, const json_t *obj, const char *key, int64_t min, int64_t max, int64_t *out)
{
	const json_t *v = dec_member(d, obj, key, JSON_INTEGER);
	int64_t x;

	if (!v)
		return 0;
	x = json_integer_value(v);
	if (x >= min && x <= max) {
		*out = x;
		return 1;
	}
	if (small(min) && small(max))
		dec_err_at(d, key, "must be between %" PRId64 " and %" PRId64 ", got %" PRId64, min, max, x);
	else if (x < min)
		dec_err_at(d, key, "must be at least %" PRId64 ", got %" PRId64, min, x);
	else
		dec_err_at(d, key, "must be at most %" PRId64 ", got %" PRId64, max, x);
	return 0;
}

int
dec_bool(struct api_dec *d, const json_t *obj, const char *key, int *out)
{
	const json_t *v = dec_member(d, obj, key, JSON_TRUE);

	if (!v)
		return 0;
	*out = json_is_true(v);
	return 1;
}

int
dec_enum(struct api_dec *d, const json_t *obj, const char *key, const char *const *names, int n, int dflt)
{
	const json_t *v = dec_member(d, obj, key, JSON_STRING);
	struct api_sbuf sb;
	char list[256], q[96];
	int i;

	if (!v || json_string_length(v) == 0)
		return dflt;
	for (i = 0; i < n; i++)
		if (strcmp(json_string_value(v), names[i]) == 0)
			return i;
	api_sbuf_init(&sb, list, sizeof(list));
	for (i = 0; i < n; i++)
		api_sbuf_printf(&sb, "%s%s", i == 0 ? "" : i == n - 1 ? " or " : ", ", names[i]);
	dec_err_at(d, key, "must be %s%s, got %s", n > 1 ? "one of " : "", list,
	           api_quote(q, sizeof(q), json_string_value(v)));
	return dflt;
}

void
dec_strv(struct api_dec *d, const json_t *obj, const char *key, char ***out, size_t *n)
{
	const json_t *a = dec_member(d, obj, key, JSON_ARRAY);
	size_t i, mark;

	*out = NULL;
	*n = 0;
	if (!a || json_array_size(a) == 0)
		return;
	if (!(*out = calloc(json_array_size(a), sizeof(char *)))) {
		dec_oom(d);
		return;
	}
	mark = dec_push(d, key);
	for (i = 0; i < json_array_size(a); i++) {
		const json_t *s = json_array_get(a, i);

		if (!json_is_string(s)) {
			size_t m = dec_push_index(d, i);

			dec_err(d, "must be a string, got %s", api_json_type_name(s));
			dec_pop(d, m);
			continue;
		}
		if (!((*out)[(*n)++] = dup_or_oom(d, json_string_value(s))))
			(*n)--;
	}
	dec_pop(d, mark);
}

static int
label_cmp(const void *a, const void *b)
{
	return strcmp(((const struct api_label *)a)->key, ((const struct api_label *)b)->key);
}

void
dec_labels(struct api_dec *d, const json_t *obj, const char *key, struct api_labels *out, int check)
{
	const json_t *m = dec_member(d, obj, key, JSON_OBJECT);
	struct api_error err;
	const char *k;
	json_t *v;
	size_t mark;

	memset(out, 0, sizeof(*out));
	if (!m || json_object_size(m) == 0)
		return;
	if (!(out->items = calloc(json_object_size(m), sizeof(*out->items)))) {
		dec_oom(d);
		return;
	}
	mark = dec_push(d, key);
	json_object_foreach((json_t *)m, k, v) {
		struct api_label *l = &out->items[out->n];
		size_t km;

		if (check != DEC_MAP_ANY && api_check_label_key(k, &err) < 0) {
			dec_err(d, "%s", err.msg);
			continue;
		}
		km = dec_push_key(d, k);
		if (!json_is_string(v))
			dec_err(d, "must be a string, got %s", api_json_type_name(v));
		else if (check == DEC_MAP_LABELS && api_check_label_value(json_string_value(v), &err) < 0)
			dec_err(d, "%s", err.msg);
		else if (!(l->key = strdup(k)) || !(l->value = strdup(json_string_value(v)))) {
			free(l->key);
			l->key = NULL;
			dec_oom(d);
		} else
			out->n++;
		dec_pop(d, km);
	}
	dec_pop(d, mark);
	qsort(out->items, out->n, sizeof(*out->items), label_cmp);
}

void *
dec_array(struct api_dec *d, const json_t *obj, const char *key, size_t size, size_t *n, dec_fn fn)
{
	const json_t *a = dec_member(d, obj, key, JSON_ARRAY);
	char *items;
	size_t i, mark;

	*n = 0;
	if (!a || json_array_size(a) == 0)
		return NULL;
	if (!(items = calloc(json_array_size(a), size))) {
		dec_oom(d);
		return NULL;
	}
	*n = json_array_size(a);
	mark = dec_push(d, key);
	for (i = 0; i < *n; i++) {
		const json_t *e = json_array_get(a, i);
		size_t m = dec_push_index(d, i);

		if (json_is_object(e))
			fn(d, e, items + i * size);
		else
			dec_err(d, "must be an object, got %s", api_json_type_name(e));
		dec_pop(d, m);
	}
	dec_pop(d, mark);
	return items;
}

void
dec_quantity(struct api_dec *d, const json_t *obj, const char *key, int scale, struct api_quantity *q)
{
	const json_t *v = obj ? json_object_get(obj, key) : NULL;
	struct api_error err;
	char num[64], qq[96];
	const char *text;

	q->text = NULL;
	q->value = 0;
	if (!v || json_is_null(v))
		return;
	if (json_is_string(v)) {
		text = json_string_value(v);
	} else if (json_is_integer(v)) {
		snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		text = num;
	} else if (json_is_real(v)) {
		snprintf(num, sizeof(num), "%.15g", json_real_value(v));
		text = num;
	} else {
		dec_err_at(d, key, "must be a quantity string, got %s", api_json_type_name(v));
		return;
	}
	if (api_quantity_parse(text, scale, &q->value, &err) < 0) {
		dec_err_at(d, key, "%s", err.msg);
		return;
	}
	if (q->value < 0 || text[0] == '-') {
		dec_err_at(d, key, "must not be negative, got %s", api_quote(qq, sizeof(qq), text));
		return;
	}
	q->text = dup_or_oom(d, text);
}

/* ------------------------------------------------------------------------
 * Writers
 */
int
enc_set(json_t *o, const char *key, json_t *child)
{
	if (!child)
		return -1;
	if ((json_is_object(child) && json_object_size(child) == 0) ||
	    (json_is_array(child) && json_array_size(child) == 0)) {
		json_decref(child);
		return 0;
	}
	return json_object_set_new(o, key, child);
}

int
enc_str(json_t *o, const char *key, const char *s)
{
	if (!s || !*s)
		return 0;
	return enc_set(o, key, json_string(s));
}

int
enc_int(json_t *o, const char *key, int64_t v)
{
	return enc_set(o, key, json_integer(v));
}

int
enc_bool(json_t *o, const char *key, int v)
{
	return v ? enc_set(o, key, json_true()) : 0;
}

int
enc_strv(json_t *o, const char *key, char *const *v, size_t n)
{
	json_t *a;
	size_t i;
	int rc = 0;

	if (n == 0)
		return 0;
	if (!(a = json_array()))
		return -1;
	for (i = 0; i < n; i++)
		rc |= json_array_append_new(a, json_string(v[i]));
	if (rc) {
		json_decref(a);
		return -1;
	}
	return enc_set(o, key, a);
}

json_t *
api_labels_to_json(const struct api_labels *l)
{
	json_t *m = json_object();
	size_t i;
	int rc = 0;

	if (!m)
		return NULL;
	for (i = 0; i < l->n; i++)
		rc |= json_object_set_new(m, l->items[i].key, json_string(l->items[i].value));
	return enc_done(m, rc);
}

int
enc_labels(json_t *o, const char *key, const struct api_labels *l)
{
	return enc_set(o, key, api_labels_to_json(l));
}

json_t *
enc_array(const void *items, size_t n, size_t size, enc_fn fn)
{
	json_t *a = json_array();
	size_t i;

	if (!a)
		return NULL;
	for (i = 0; i < n; i++) {
		if (json_array_append_new(a, fn((const char *)items + i * size)) < 0) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

json_t *
enc_done(json_t *o, int rc)
{
	if (rc) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* Written into a buffer of ours: jansson 2.14's json_dumps can return text
 * with a key missing when one of its allocations fails (it drops some of
 * its own buffer's errors). json_dump_callback reports them, as json_dumpb
 * does (it is the same path), and our sink's own. */
struct dumpbuf {
	char *s;
	size_t len, cap;
};

/* json_dump_callback's sink: append, or -1 (the dump fails) when out of memory. */
static int
dump_append(const char *buf, size_t size, void *data)
{
	struct dumpbuf *d = data;
	size_t cap = d->cap ? d->cap : 1024;
	char *s;

	if (d->len + size + 1 > d->cap) {
		while (cap < d->len + size + 1)
			cap *= 2;
		if (!(s = realloc(d->s, cap)))
			return -1;
		d->s = s;
		d->cap = cap;
	}
	memcpy(d->s + d->len, buf, size);
	d->len += size;
	return 0;
}

char *
api_json_dumps(const json_t *j)
{
	struct dumpbuf d = {0};

	/* One pass into a growing buffer (json_dumpb twice cost two). */
	if (!j || json_dump_callback(j, dump_append, &d, JSON_COMPACT | JSON_SORT_KEYS) < 0 || d.len == 0) {
		free(d.s);
		return NULL;
	}
	d.s[d.len] = '\0';
	return d.s;
}

/* ------------------------------------------------------------------------
 * Checked strings of the network and time kinds
 */
static int
check_ipv4(const char *s, struct api_error *err)
{
	uint32_t a;

	return api_ipv4_parse(s, &a, err);
}

static int
check_cidr(const char *s, struct api_error *err)
{
	struct api_cidr c;

	return api_cidr_parse(s, &c, err);
}

static int
check_time(const char *s, struct api_error *err)
{
	time_t t;

	return api_time_parse(s, &t, err);
}

char *
dec_ipv4(struct api_dec *d, const json_t *obj, const char *key, int required)
{
	return dec_checked(d, obj, key, required, check_ipv4);
}

char *
dec_cidr(struct api_dec *d, const json_t *obj, const char *key, int required)
{
	return dec_checked(d, obj, key, required, check_cidr);
}

char *
dec_time(struct api_dec *d, const json_t *obj, const char *key)
{
	return dec_checked(d, obj, key, 0, check_time);
}
