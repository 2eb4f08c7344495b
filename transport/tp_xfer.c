/*
 * tp_xfer.c: one transfer's easy handle (tp_opts → curl options) and its
 * body: collected whole, or split into lines, into a buffer bounded by
 * max_body. It does not add, remove or report transfers (tp_loop.c does).
 *
 * Every transfer speaks HTTP/1.1 (HTTP/2 on a plain port reaches etcd's
 * gRPC server, not its gateway), never goes through a proxy from the
 * environment, and does not wait for "100 Continue" before a body.
 */
#include <stdlib.h>
#include <string.h>

#include "tp_internal.h"

/* Grow x->buf to hold n more bytes and a NUL. 0, or -1 past x->max. */
static int
reserve(struct tp_xfer *x, size_t n)
{
	size_t cap = x->cap ? x->cap : 4096;
	char *nb;

	if (x->len + n > x->max) {
		x->too_big = 1;
		return -1;
	}
	if (x->len + n + 1 <= x->cap)
		return 0;
	while (cap < x->len + n + 1)
		cap *= 2;
	if (!(nb = realloc(x->buf, cap)))
		return -1;
	x->buf = nb;
	x->cap = cap;
	return 0;
}

/* Hand out the whole lines in x->buf; keep the partial one. Stops early
 * when on_line asks to or aborts x. */
static void
split_lines(struct tp_xfer *x)
{
	char *s = x->buf, *end = x->buf + x->len, *nl;

	while (x->state == TP_RUNNING && !x->stopped && (nl = memchr(s, '\n', (size_t)(end - s)))) {
		if (nl > s && x->on_line(x->arg, s, (size_t)(nl - s)))
			x->stopped = 1;
		s = nl + 1;
	}
	x->len = (size_t)(end - s);
	memmove(x->buf, s, x->len);
	x->buf[x->len] = '\0';
}

static size_t
write_cb(char *p, size_t sz, size_t n, void *ud)
{
	struct tp_xfer *x = ud;
	size_t len = sz * n;

	if (x->raw && x->state == TP_RUNNING && !x->stopped && len > 0 && x->on_line(x->arg, p, len))
		x->stopped = 1;
	if (x->raw)
		return x->state == TP_RUNNING && !x->stopped ? len : 0;
	if (x->state != TP_RUNNING || x->stopped || reserve(x, len) < 0)
		return 0;
	memcpy(x->buf + x->len, p, len);
	x->len += len;
	x->buf[x->len] = '\0';
	if (x->on_line)
		split_lines(x);
	return x->state == TP_RUNNING && !x->stopped ? len : 0;
}

static int
set_headers(struct tp_xfer *x, const struct tp_opts *o, int has_body)
{
	struct curl_slist *t;

	for (size_t i = 0; o->headers && o->headers[i]; i++) {
		if (!(t = curl_slist_append(x->hdrs, o->headers[i])))
			return -1;
		x->hdrs = t;
	}
	if (has_body) {
		if (!(t = curl_slist_append(x->hdrs, "Expect:")))
			return -1;
		x->hdrs = t;
	}
	if (x->hdrs)
		curl_easy_setopt(x->easy, CURLOPT_HTTPHEADER, x->hdrs);
	return 0;
}

/* Method, body and headers. */
static int
set_request(struct tp_xfer *x, const struct tp_opts *o)
{
	CURL *e = x->easy;
	const char *method = o->method ? o->method : (o->body ? "POST" : "GET");
	int has_body = o->body || strcmp(method, "POST") == 0;

	if (has_body) {
		curl_easy_setopt(e, CURLOPT_POST, 1L);
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)o->len);
		if (curl_easy_setopt(e, CURLOPT_COPYPOSTFIELDS, o->body ? o->body : "") != CURLE_OK)
			return -1;
	}
	if (strcmp(method, "GET") != 0 && strcmp(method, "POST") != 0)
		curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
	return set_headers(x, o, has_body);
}

/* Where to connect, how long to wait, TLS files. */
static void
set_connection(CURL *e, const struct tp_opts *o)
{
	curl_easy_setopt(e, CURLOPT_PROXY, ""); /* never via http_proxy */
	curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
	if (o->unix_socket)
		curl_easy_setopt(e, CURLOPT_UNIX_SOCKET_PATH, o->unix_socket);
	if (o->connect_timeout_ms > 0)
		curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, o->connect_timeout_ms);
	if (o->timeout_ms > 0)
		curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, o->timeout_ms);
	if (o->idle_s > 0) {
		curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
		curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, o->idle_s);
	}
	if (o->keepalive_s > 0) {
		curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
		curl_easy_setopt(e, CURLOPT_TCP_KEEPIDLE, o->keepalive_s);
		curl_easy_setopt(e, CURLOPT_TCP_KEEPINTVL, o->keepalive_s > 1 ? o->keepalive_s / 2 : 1L);
	}
	if (o->own_connection)
		curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
	if (o->insecure) {
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (o->cacert)
		curl_easy_setopt(e, CURLOPT_CAINFO, o->cacert);
	if (o->cert)
		curl_easy_setopt(e, CURLOPT_SSLCERT, o->cert);
	if (o->key)
		curl_easy_setopt(e, CURLOPT_SSLKEY, o->key);
}

int
tp_xfer_setup(struct tp_xfer *x, const struct tp_opts *o)
{
	CURL *e = x->easy;

	x->on_line = o->on_line;
	x->raw = o->on_line && o->raw;
	x->done = o->done;
	x->arg = o->arg;
	x->max = o->max_body ? o->max_body : TP_MAX_BODY;
	x->errbuf[0] = '\0';
	curl_easy_setopt(e, CURLOPT_URL, o->url);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(e, CURLOPT_PRIVATE, x);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	set_connection(e, o);
	return set_request(x, o);
}

const char *
tp_escape(const char *s, char *buf, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = 0;

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		int plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
		            c == '.' || c == '_' || c == '~';

		if (n + (plain ? 1 : 3) + 1 > len) {
			if (len)
				buf[0] = '\0';
			return buf;
		}
		if (plain) {
			buf[n++] = (char)c;
		} else {
			buf[n++] = '%';
			buf[n++] = hex[c >> 4];
			buf[n++] = hex[c & 15];
		}
	}
	if (len)
		buf[n] = '\0';
	return buf;
}
