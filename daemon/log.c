/*
 * log.c: logfmt lines into a fixed buffer, written with one fwrite.
 *
 * Each line is built in a LOG_LINE_MAX stack buffer: ts, level, component,
 * the caller's fields (each value cut at LOG_VALUE_MAX bytes), then msg with
 * whatever room is left. Nothing is allocated, errors writing the stream are
 * ignored, and errno is the same after a call as before it.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"

#define LOG_VALUE_MAX 512 /* bytes of one field's value on the line */
#define LOG_KEY_MAX 64
#define LOG_TAIL 4 /* room kept for `..."` when a value is cut */

static struct {
	char component[64];
	enum log_level min;
	FILE *out;
} log_conf = {"", LL_INFO, NULL};

static const char *const level_names[] = {"debug", "info", "warn", "error"};

struct line {
	char buf[LOG_LINE_MAX];
	size_t len;
	size_t cap; /* LOG_LINE_MAX - 1: the '\n' always fits */
};

void
log_init(const char *component, enum log_level min, FILE *out)
{
	snprintf(log_conf.component, sizeof(log_conf.component), "%s", component ? component : "");
	log_conf.min = min;
	log_conf.out = out;
}

void
log_set_level(enum log_level min)
{
	log_conf.min = min;
}

int
log_enabled(enum log_level l)
{
	return l >= log_conf.min;
}

int
log_level_parse(const char *s, enum log_level *out)
{
	for (int i = LL_DEBUG; i <= LL_ERROR; i++) {
		if (s && strcmp(s, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -1;
}

const char *
log_level_name(enum log_level l)
{
	return l >= LL_DEBUG && l <= LL_ERROR ? level_names[l] : "?";
}

static int
needs_quote(const char *v)
{
	if (*v == '\0')
		return 1;
	for (; *v; v++) {
		unsigned char c = (unsigned char)*v;

		if (c <= ' ' || c == '=' || c == '"' || c == 0x7f)
			return 1;
	}
	return 0;
}

/* The bytes that stand for c inside a quoted value; returns their count. */
static size_t
escape_char(unsigned char c, char out[8])
{
	switch (c) {
	case '"': memcpy(out, "\\\"", 2); return 2;
	case '\\': memcpy(out, "\\\\", 2); return 2;
	case '\n': memcpy(out, "\\n", 2); return 2;
	case '\r': memcpy(out, "\\r", 2); return 2;
	case '\t': memcpy(out, "\\t", 2); return 2;
	}
	if (c < ' ' || c == 0x7f)
		return (size_t)snprintf(out, 8, "\\u%04x", c);
	out[0] = (char)c;
	return 1;
}

static void
put_bytes(struct line *l, const char *p, size_t n)
{
	memcpy(l->buf + l->len, p, n);
	l->len += n;
}

/* Write the key, made safe: at most LOG_KEY_MAX bytes, any byte that would
 * break the line's shape replaced by '_'. Returns -1 (line unchanged) when
 * the key and room for a cut value do not fit. */
static int
put_key(struct line *l, const char *key)
{
	size_t n = strnlen(key, LOG_KEY_MAX);

	if (l->len + 1 + (n ? n : 1) + 2 + LOG_TAIL > l->cap)
		return -1;
	if (l->len > 0)
		put_bytes(l, " ", 1);
	if (n == 0)
		put_bytes(l, "_", 1);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)key[i];

		l->buf[l->len++] = (c <= ' ' || c == '=' || c == '"' || c == 0x7f) ? '_' : (char)c;
	}
	put_bytes(l, "=", 1);
	return 0;
}

/* Append key=value, the value taking at most limit bytes (escapes and
 * quotes included); more_cut says the value was already cut by the caller.
 * A cut value ends in "...". */
static void
put_pair(struct line *l, const char *key, const char *val, size_t limit, int more_cut)
{
	size_t end, start;
	int q;

	if (!val)
		val = "";
	q = needs_quote(val);
	if (put_key(l, key) < 0)
		return;
	start = l->len;
	end = l->cap - LOG_TAIL;
	if (limit < end - start)
		end = start + limit;
	if (q)
		put_bytes(l, "\"", 1);
	for (; *val; val++) {
		char e[8] = {*val};
		size_t n = q ? escape_char((unsigned char)*val, e) : 1;

		if (l->len + n + (size_t)q > end) {
			more_cut = 1;
			break;
		}
		put_bytes(l, e, n);
	}
	if (more_cut)
		put_bytes(l, "...", 3);
	if (q)
		put_bytes(l, "\"", 1);
}

static void
put_ts(struct line *l)
{
	struct timespec ts;
	struct tm tm;
	char b[40];
	size_t n;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(b, sizeof(b), "ts=%Y-%m-%dT%H:%M:%S", &tm);
	n += (size_t)snprintf(b + n, sizeof(b) - n, ".%03ldZ", ts.tv_nsec / 1000000);
	put_bytes(l, b, n);
}

static void
vlog(enum log_level lv, const char *const *kv, const char *suffix, const char *fmt, va_list ap)
{
	struct line l;
	char msg[LOG_LINE_MAX];
	int n, cut;

	l.len = 0;
	l.cap = sizeof(l.buf) - 1;
	put_ts(&l);
	put_pair(&l, "level", log_level_name(lv), LOG_VALUE_MAX, 0);
	if (log_conf.component[0])
		put_pair(&l, "component", log_conf.component, LOG_VALUE_MAX, 0);
	for (size_t i = 0; kv && kv[i]; i += 2)
		put_pair(&l, kv[i], kv[i + 1], LOG_VALUE_MAX, 0);
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	cut = n >= (int)sizeof(msg);
	if (n >= 0 && !cut && suffix)
		cut = snprintf(msg + n, sizeof(msg) - (size_t)n, ": %s", suffix) >= (int)(sizeof(msg) - (size_t)n);
	put_pair(&l, "msg", n < 0 ? fmt : msg, l.cap, cut);
	l.buf[l.len++] = '\n';
	fwrite(l.buf, 1, l.len, log_conf.out ? log_conf.out : stderr);
	fflush(log_conf.out ? log_conf.out : stderr);
}

void
log_kv(enum log_level l, const char *const *kv, const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	if (l < log_conf.min)
		return;
	va_start(ap, fmt);
	vlog(l, kv, NULL, fmt, ap);
	va_end(ap);
	errno = saved;
}

/* The plain calls: level and whether strerror(errno) is appended. */
#define LOG_PLAIN(name, lv, with_errno)                                       \
	void name(const char *fmt, ...)                                       \
	{                                                                     \
		int saved = errno;                                            \
		va_list ap;                                                   \
		if (lv < log_conf.min)                                        \
			return;                                               \
		va_start(ap, fmt);                                            \
		vlog(lv, NULL, with_errno ? strerror(saved) : NULL, fmt, ap); \
		va_end(ap);                                                   \
		errno = saved;                                                \
	}

LOG_PLAIN(log_debug, LL_DEBUG, 0)
LOG_PLAIN(log_info, LL_INFO, 0)
LOG_PLAIN(log_warn, LL_WARN, 1)
LOG_PLAIN(log_warnx, LL_WARN, 0)
LOG_PLAIN(log_error, LL_ERROR, 1)
LOG_PLAIN(log_errorx, LL_ERROR, 0)

void
fatal(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	vlog(LL_ERROR, NULL, strerror(saved), fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LL_ERROR, NULL, NULL, fmt, ap);
	va_end(ap);
	exit(1);
}
