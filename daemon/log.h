/*
 * log.h: one logfmt line per event on stderr, for every Skiff program.
 *
 *   ts=2026-11-26T15:00:00.123Z level=warn component=scheduler pod=apache-x7k2p msg="image pull failed: …"
 *
 * The plain calls follow OpenBSD's daemons (log_warn adds strerror(errno),
 * log_warnx does not; fatal/fatalx log and exit 1). The key/value call puts
 * fields before msg:
 *
 *   log_kv(LL_WARN, KV("pod", name, "node", node), "image pull failed: %s", why);
 *
 * Values are quoted and escaped when they hold spaces, quotes, '=' or control
 * characters. A line is at most LOG_LINE_MAX bytes (longer values are cut and
 * end in "..."); logging never allocates, never fails loudly and keeps errno.
 * Not thread-safe (Skiff programs have one thread).
 */
#ifndef SKIFF_LOG_H
#define SKIFF_LOG_H

#include <stdio.h>

enum log_level { LL_DEBUG = 0, LL_INFO, LL_WARN, LL_ERROR };

#define LOG_LINE_MAX 4096

/* Alternating keys and values for log_kv, ended by a NULL key. A NULL value
 * is written as "" (a missing last value too). */
#define KV(...) ((const char *const[]){__VA_ARGS__, NULL, NULL})

/* Set the component name (copied, cut at 63 bytes; "" leaves it out), the
 * lowest level written, and the stream (NULL = stderr; borrowed). May be
 * called again at any time. Before any call: no component, info, stderr. */
void log_init(const char *component, enum log_level min, FILE *out);
void log_set_level(enum log_level min);
int log_enabled(enum log_level l);
/* "debug", "info", "warn", "error" → 0 and *out; anything else → -1. */
int log_level_parse(const char *s, enum log_level *out);
const char *log_level_name(enum log_level l);

void log_kv(enum log_level l, const char *const *kv, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_errorx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Log at error level and exit(1). Only for start-up failures. */
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
