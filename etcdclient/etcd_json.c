/*
 * etcd_json.c: the wire format of etcd's JSON gateway. Base64 for every
 * bytes field, int64 as strings (accepting numbers too), defaults that the
 * gateway leaves out, both error body shapes (3.4/3.5 and 3.6), and the
 * parsers that turn responses and watch events into C structs.
 *
 * Every parser treats the response as hostile: a wrong type, a bad base64
 * string or a missing object is a -1 (the caller reports ETCD_EBADRESP),
 * never a crash or a leak. Nothing here does I/O.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "etcd_internal.h"

int
etcd_seterr(struct etcd_error *err, enum etcd_code code, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return -1;
	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return -1;
}

static const char *const code_names[ETCD_ECODE_MAX] = {
	[ETCD_OK] = "ok",
	[ETCD_ECONN] = "connection",
	[ETCD_ETIMEOUT] = "timeout",
	[ETCD_EUNAVAIL] = "unavailable",
	[ETCD_ECOMPACTED] = "compacted",
	[ETCD_EFUTURE] = "future revision",
	[ETCD_EAUTH] = "auth",
	[ETCD_EPERM] = "permission denied",
	[ETCD_ENOLEASE] = "lease not found",
	[ETCD_ENOTFOUND] = "not found",
	[ETCD_ETOOLARGE] = "too large",
	[ETCD_ENOSPACE] = "no space",
	[ETCD_EINVAL] = "invalid request",
	[ETCD_ETLS] = "tls",
	[ETCD_EBADRESP] = "bad response",
	[ETCD_ESERVER] = "server error",
	[ETCD_ECANCELED] = "canceled",
	[ETCD_ENOMEM] = "out of memory",
};

const char *
etcd_code_name(enum etcd_code code)
{
	if ((int)code < 0 || code >= ETCD_ECODE_MAX || !code_names[code])
		return "unknown";
	return code_names[code];
}

/* ---- base64 (standard alphabet, padded) ---- */

static const char b64chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t
etcd_b64_encode_to(char *out, const void *p, size_t n)
{
	const unsigned char *s = p;
	size_t i, o = 0;

	for (i = 0; i + 2 < n; i += 3) {
		uint32_t v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8 | s[i + 2];
		out[o++] = b64chars[v >> 18];
		out[o++] = b64chars[(v >> 12) & 63];
		out[o++] = b64chars[(v >> 6) & 63];
		out[o++] = b64chars[v & 63];
	}
	if (i < n) {
		uint32_t v = (uint32_t)s[i] << 16 | (i + 1 < n ? (uint32_t)s[i + 1] << 8 : 0);
		out[o++] = b64chars[v >> 18];
		out[o++] = b64chars[(v >> 12) & 63];
		out[o++] = i + 1 < n ? b64chars[(v >> 6) & 63] : '=';
		out[o++] = '=';
	}
	out[o] = '\0';
	return o;
}

char *
etcd_b64_encode(const void *p, size_t n)
{
	char *out;

	if (n > (SIZE_MAX - 1) / 4 * 3 - 3)
		return NULL;
	out = malloc((n + 2) / 3 * 4 + 1);
	if (out)
		etcd_b64_encode_to(out, p, n);
	return out;
}

/* Each byte's value as a base64 digit, of either alphabet (standard and
 * URL-safe: '+' or '-' is 62, '/' or '_' 63); -1 for any other byte. */
static const signed char b64val[256] = {
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, /* 0x00 */
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, /* 0x10 */
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 62, -1, 62, -1, 63, /* 0x20 */
	52, 53, 54, 55, 56, 57, 58, 59, 60, 61, -1, -1, -1, -1, -1, -1, /* 0x30 */
	-1, 0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, /* 0x40 */
	15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, -1, -1, -1, -1, 63, /* 0x50 */
	-1, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, /* 0x60 */
	41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, -1, -1, -1, -1, -1, /* 0x70 */
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, /* 0x80 */
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, /* 0x90 */
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, /* 0xa0 */
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, /* 0xb0 */
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, /* 0xc0 */
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, /* 0xd0 */
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, /* 0xe0 */
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, /* 0xf0 */
};

/* 4 digits at s into 3 bytes at d; -1 (nothing written) on a non-digit. */
static int
b64_quad(const unsigned char *s, char *d)
{
	int a = b64val[s[0]], b = b64val[s[1]], c = b64val[s[2]], e = b64val[s[3]];
	uint32_t v;

	if ((a | b | c | e) < 0)
		return -1;
	v = (uint32_t)a << 18 | (uint32_t)b << 12 | (uint32_t)c << 6 | (uint32_t)e;
	d[0] = (char)(v >> 16);
	d[1] = (char)(v >> 8 & 0xff);
	d[2] = (char)(v & 0xff);
	return 0;
}

int
etcd_b64_decode(const char *s, size_t slen, char **out, size_t *outlen)
{
	size_t i, o = 0, pad = 0;
	uint32_t acc = 0;
	int bits = 0;
	char *d;

	*out = NULL;
	*outlen = 0;
	while (pad < 2 && slen > pad && s[slen - 1 - pad] == '=')
		pad++;
	if ((slen % 4) != 0 && pad != 0)
		return -1;
	slen -= pad;
	d = malloc(slen / 4 * 3 + 3 + 1);
	if (!d)
		return -1;
	/* Whole groups of 4 digits (the hot path: etcd's values and keys),
	 * then the 2 or 3 left before the padding, a bit at a time. */
	for (i = 0; i + 4 <= slen; i += 4, o += 3)
		if (b64_quad((const unsigned char *)s + i, d + o) < 0) {
			free(d);
			return -1;
		}
	for (; i < slen; i++) {
		int v = b64val[(unsigned char)s[i]];

		if (v < 0) {
			free(d);
			return -1;
		}
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			d[o++] = (char)((acc >> bits) & 0xff);
		}
	}
	if (bits >= 6) { /* a lone trailing character carries no byte */
		free(d);
		return -1;
	}
	d[o] = '\0';
	*out = d;
	*outlen = o;
	return 0;
}

json_t *
etcd_json_b64(const void *p, size_t n)
{
	char *s = etcd_b64_encode(p, n);
	json_t *j;

	if (!s)
		return NULL;
	j = json_string(s);
	free(s);
	return j;
}

json_t *
etcd_json_i64(int64_t v)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%" PRId64, v);
	return json_string(buf);
}

/* ---- field readers: absent means the proto3 default ---- */

int
etcd_json_get_i64(json_t *obj, const char *name, int64_t *out)
{
	json_t *v = json_object_get(obj, name);
	const char *s;
	char *end;
	long long n;

	*out = 0;
	if (!v || json_is_null(v))
		return 0;
	if (json_is_integer(v)) {
		*out = json_integer_value(v);
		return 0;
	}
	if (!json_is_string(v))
		return -1;
	s = json_string_value(v);
	errno = 0;
	n = strtoll(s, &end, 10);
	if (errno || end == s || *end)
		return -1;
	*out = n;
	return 0;
}

int
etcd_json_get_u64(json_t *obj, const char *name, uint64_t *out)
{
	json_t *v = json_object_get(obj, name);
	const char *s;
	char *end;
	unsigned long long n;

	*out = 0;
	if (!v || json_is_null(v))
		return 0;
	if (json_is_integer(v)) {
		*out = (uint64_t)json_integer_value(v);
		return 0;
	}
	if (!json_is_string(v))
		return -1;
	s = json_string_value(v);
	if (*s == '-')
		return -1;
	errno = 0;
	n = strtoull(s, &end, 10);
	if (errno || end == s || *end)
		return -1;
	*out = n;
	return 0;
}

int
etcd_json_get_bool(json_t *obj, const char *name, int *out)
{
	json_t *v = json_object_get(obj, name);

	*out = 0;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_boolean(v))
		return -1;
	*out = json_is_true(v);
	return 0;
}

int
etcd_json_get_bytes(json_t *obj, const char *name, char **out, size_t *len)
{
	json_t *v = json_object_get(obj, name);

	*out = NULL;
	*len = 0;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return -1;
	return etcd_b64_decode(json_string_value(v), json_string_length(v), out, len);
}

/* ---- results ---- */

void
etcd_kv_clear(struct etcd_kv *kv)
{
	free(kv->key);
	free(kv->value);
	memset(kv, 0, sizeof(*kv));
}

static void
free_kvs(struct etcd_kv *kvs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		etcd_kv_clear(&kvs[i]);
	free(kvs);
}

void
etcd_result_clear(struct etcd_result *res)
{
	free_kvs(res->kvs, res->nkvs);
	free_kvs(res->prev_kvs, res->nprev);
	for (size_t i = 0; i < res->nresponses; i++)
		etcd_result_clear(&res->responses[i]);
	free(res->responses);
	free(res->version_str);
	res->kvs = res->prev_kvs = NULL;
	res->responses = NULL;
	res->version_str = NULL;
	res->nkvs = res->nprev = res->nresponses = 0;
}

void
etcd_result_free(struct etcd_result *res)
{
	if (!res)
		return;
	etcd_result_clear(res);
	free(res);
}

int
etcd_parse_kv(json_t *o, struct etcd_kv *kv)
{
	memset(kv, 0, sizeof(*kv));
	if (!json_is_object(o))
		return -1;
	if (etcd_json_get_bytes(o, "key", &kv->key, &kv->key_len) < 0 ||
	    etcd_json_get_bytes(o, "value", &kv->value, &kv->value_len) < 0 ||
	    etcd_json_get_i64(o, "create_revision", &kv->create_revision) < 0 ||
	    etcd_json_get_i64(o, "mod_revision", &kv->mod_revision) < 0 ||
	    etcd_json_get_i64(o, "version", &kv->version) < 0 || etcd_json_get_i64(o, "lease", &kv->lease) < 0)
		goto fail;
	/* Absent means empty: hand out "" rather than NULL. */
	if (!kv->key && !(kv->key = calloc(1, 1)))
		goto fail;
	if (!kv->value && !(kv->value = calloc(1, 1)))
		goto fail;
	return 0;
fail:
	etcd_kv_clear(kv);
	return -1;
}

int
etcd_parse_kvs(json_t *arr, struct etcd_kv **out, size_t *n)
{
	size_t i, len;

	*out = NULL;
	*n = 0;
	if (!arr || json_is_null(arr))
		return 0;
	if (!json_is_array(arr))
		return -1;
	len = json_array_size(arr);
	if (len == 0)
		return 0;
	*out = calloc(len, sizeof(**out));
	if (!*out)
		return -1;
	for (i = 0; i < len; i++) {
		if (etcd_parse_kv(json_array_get(arr, i), &(*out)[i]) < 0) {
			free_kvs(*out, i);
			*out = NULL;
			return -1;
		}
	}
	*n = len;
	return 0;
}

int
etcd_parse_header(json_t *root, struct etcd_result *res)
{
	json_t *h = json_object_get(root, "header");

	if (!h)
		return 0;
	if (!json_is_object(h))
		return -1;
	if (etcd_json_get_i64(h, "revision", &res->revision) < 0 ||
	    etcd_json_get_u64(h, "member_id", &res->member_id) < 0)
		return -1;
	return 0;
}

int
etcd_parse_event(json_t *o, struct etcd_event *ev)
{
	json_t *type = json_object_get(o, "type"), *pk = json_object_get(o, "prev_kv");

	memset(ev, 0, sizeof(*ev));
	if (!json_is_object(o))
		return -1;
	if (!type || (json_is_string(type) && strcmp(json_string_value(type), "PUT") == 0) ||
	    (json_is_integer(type) && json_integer_value(type) == 0))
		ev->type = ETCD_EVENT_PUT;
	else if ((json_is_string(type) && strcmp(json_string_value(type), "DELETE") == 0) ||
	         (json_is_integer(type) && json_integer_value(type) == 1))
		ev->type = ETCD_EVENT_DELETE;
	else
		return -1;
	if (etcd_parse_kv(json_object_get(o, "kv"), &ev->kv) < 0)
		return -1;
	if (pk) {
		if (!(ev->prev_kv = calloc(1, sizeof(*ev->prev_kv))) || etcd_parse_kv(pk, ev->prev_kv) < 0) {
			free(ev->prev_kv);
			ev->prev_kv = NULL;
			etcd_kv_clear(&ev->kv);
			return -1;
		}
	}
	return 0;
}

void
etcd_events_free(struct etcd_event *ev, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		etcd_kv_clear(&ev[i].kv);
		if (ev[i].prev_kv) {
			etcd_kv_clear(ev[i].prev_kv);
			free(ev[i].prev_kv);
		}
	}
	free(ev);
}

int
etcd_parse_range_resp(json_t *o, struct etcd_result *res)
{
	res->op = ETCD_OP_RANGE;
	if (!json_is_object(o) || etcd_parse_header(o, res) < 0 || etcd_json_get_bool(o, "more", &res->more) < 0 ||
	    etcd_json_get_i64(o, "count", &res->count) < 0 ||
	    etcd_parse_kvs(json_object_get(o, "kvs"), &res->kvs, &res->nkvs) < 0)
		return -1;
	return 0;
}

int
etcd_parse_put_resp(json_t *o, struct etcd_result *res)
{
	json_t *pk;

	res->op = ETCD_OP_PUT;
	if (!json_is_object(o) || etcd_parse_header(o, res) < 0)
		return -1;
	pk = json_object_get(o, "prev_kv");
	if (pk) {
		res->prev_kvs = calloc(1, sizeof(*res->prev_kvs));
		if (!res->prev_kvs)
			return -1;
		if (etcd_parse_kv(pk, res->prev_kvs) < 0) {
			free(res->prev_kvs);
			res->prev_kvs = NULL;
			return -1;
		}
		res->nprev = 1;
	}
	return 0;
}

int
etcd_parse_delete_resp(json_t *o, struct etcd_result *res)
{
	res->op = ETCD_OP_DELETE;
	if (!json_is_object(o) || etcd_parse_header(o, res) < 0 || etcd_json_get_i64(o, "deleted", &res->deleted) < 0 ||
	    etcd_parse_kvs(json_object_get(o, "prev_kvs"), &res->prev_kvs, &res->nprev) < 0)
		return -1;
	return 0;
}

static int
parse_op_resp(json_t *o, struct etcd_result *res, int depth)
{
	json_t *v;

	if (!json_is_object(o))
		return -1;
	if ((v = json_object_get(o, "response_range")))
		return etcd_parse_range_resp(v, res);
	if ((v = json_object_get(o, "response_put")))
		return etcd_parse_put_resp(v, res);
	if ((v = json_object_get(o, "response_delete_range")))
		return etcd_parse_delete_resp(v, res);
	if ((v = json_object_get(o, "response_txn")) && depth < 8) {
		if (etcd_parse_txn_resp(v, res) < 0)
			return -1;
		return 0;
	}
	return -1;
}

int
etcd_parse_txn_resp(json_t *o, struct etcd_result *res)
{
	json_t *arr;
	size_t i, n;

	res->op = ETCD_OP_TXN;
	if (!json_is_object(o) || etcd_parse_header(o, res) < 0 ||
	    etcd_json_get_bool(o, "succeeded", &res->succeeded) < 0)
		return -1;
	arr = json_object_get(o, "responses");
	if (!arr || json_is_null(arr))
		return 0;
	if (!json_is_array(arr))
		return -1;
	n = json_array_size(arr);
	if (n == 0)
		return 0;
	res->responses = calloc(n, sizeof(*res->responses));
	if (!res->responses)
		return -1;
	res->nresponses = n;
	for (i = 0; i < n; i++)
		if (parse_op_resp(json_array_get(arr, i), &res->responses[i], 1) < 0)
			return -1; /* the caller clears res */
	return 0;
}

/* ---- errors ---- */

int
etcd_parse_error_body(json_t *root, int *grpc_code, const char **msg)
{
	json_t *e, *code, *m;

	if (!json_is_object(root))
		return -1;
	e = json_object_get(root, "error");
	if (json_is_object(e)) /* stream error: {"error":{...}} */
		root = e;
	code = json_object_get(root, "code");
	if (!code)
		code = json_object_get(root, "grpc_code");
	m = json_object_get(root, "message");
	if (!json_is_string(m))
		m = json_is_string(e) ? e : NULL;
	if (!json_is_integer(code) && !m)
		return -1;
	*grpc_code = json_is_integer(code) ? (int)json_integer_value(code) : 2;
	*msg = m ? json_string_value(m) : "";
	return 0;
}

enum etcd_code
etcd_classify(int grpc_code, const char *msg)
{
	if (strstr(msg, "has been compacted"))
		return ETCD_ECOMPACTED;
	if (strstr(msg, "future revision"))
		return ETCD_EFUTURE;
	if (strstr(msg, "lease not found"))
		return ETCD_ENOLEASE;
	if (strstr(msg, "request is too large") || strstr(msg, "message larger than max") ||
	    strstr(msg, "too many operations"))
		return ETCD_ETOOLARGE;
	if (strstr(msg, "database space exceeded"))
		return ETCD_ENOSPACE;
	if (strstr(msg, "key not found"))
		return ETCD_ENOTFOUND;
	if (strstr(msg, "permission denied"))
		return ETCD_EPERM;
	if (strstr(msg, "authentication failed") || strstr(msg, "invalid auth token") ||
	    strstr(msg, "auth store is old") || strstr(msg, "user name is empty"))
		return ETCD_EAUTH;
	switch (grpc_code) {
	case 3: return ETCD_EINVAL;   /* InvalidArgument */
	case 4: return ETCD_ETIMEOUT; /* DeadlineExceeded */
	case 5: return ETCD_ENOTFOUND;
	case 7: return ETCD_EPERM;
	case 8: return ETCD_EUNAVAIL; /* ResourceExhausted: too many requests */
	case 9: return ETCD_EINVAL;   /* FailedPrecondition */
	case 11: return ETCD_EINVAL;
	case 14: return ETCD_EUNAVAIL;
	case 16: return ETCD_EAUTH;
	default: return ETCD_ESERVER;
	}
}
