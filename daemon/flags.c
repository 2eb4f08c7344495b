/*
 * flags.c: the long-option parser of flags.h: defaults, environment, argv,
 * then checks; and the --help text generated from the same tables.
 *
 * It reads values into the caller's variables and does nothing else: it does
 * not print errors, exit, or know any Skiff flag (opts.c holds those).
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "flags.h"

static int seterr(char *err, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int
seterr(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
	return FLAGS_ERR;
}

static const struct flag *
find(const struct flag *const *tabs, const char *name, size_t n)
{
	for (; *tabs; tabs++)
		for (const struct flag *f = *tabs; f->name; f++)
			if (strlen(f->name) == n && strncmp(f->name, name, n) == 0)
				return f;
	return NULL;
}

static int
parse_long(const char *s, long *out)
{
	char *end;
	long v;

	if (*s == '\0' || *s == ' ' || *s == '\t' || *s == '+')
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end != '\0')
		return -1;
	*out = v;
	return 0;
}

static int
parse_bool(const char *s, int *out)
{
	if (strcmp(s, "true") == 0 || strcmp(s, "1") == 0)
		*out = 1;
	else if (strcmp(s, "false") == 0 || strcmp(s, "0") == 0)
		*out = 0;
	else
		return -1;
	return 0;
}

/* One NUMBER[.FRACTION] at *sp, as an integer and up to 9 fraction digits
 * scaled to 1e9. Advances *sp; -1 when there is no digit or it overflows. */
static int
parse_number(const char **sp, int64_t *whole, int64_t *frac)
{
	const char *s = *sp;
	int digits = 0;

	*whole = 0;
	*frac = 0;
	for (; *s >= '0' && *s <= '9'; s++, digits++) {
		if (*whole > (INT64_MAX - 9) / 10)
			return -1;
		*whole = *whole * 10 + (*s - '0');
	}
	if (*s == '.') {
		int64_t scale = 100000000;

		for (s++; *s >= '0' && *s <= '9'; s++, digits++) {
			*frac += (*s - '0') * scale;
			scale /= 10;
		}
	}
	*sp = s;
	return digits > 0 ? 0 : -1;
}

/* A unit at *sp ("ms" before "m"), in milliseconds; 0 when none. */
static int64_t
parse_unit(const char **sp)
{
	static const struct {
		const char *name;
		int64_t ms;
	} units[] = {{"ms", 1}, {"h", 3600000}, {"m", 60000}, {"s", 1000}};

	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		size_t n = strlen(units[i].name);

		if (strncmp(*sp, units[i].name, n) == 0) {
			*sp += n;
			return units[i].ms;
		}
	}
	return 0;
}

/* whole.frac × unit milliseconds into *out; -1 on overflow. */
static int
scaled(int64_t whole, int64_t frac, int64_t unit, int64_t *out)
{
	if (whole > (INT64_MAX - unit) / unit)
		return -1;
	*out = whole * unit + frac * unit / 1000000000;
	return 0;
}

int
flags_parse_duration(const char *s, long *ms)
{
	int64_t total = 0, whole, frac, unit, add;
	const char *p = s;

	if (parse_number(&p, &whole, &frac) < 0)
		return -1;
	if (*p == '\0') { /* a bare number: seconds */
		if (scaled(whole, frac, 1000, &total) < 0)
			return -1;
	} else {
		for (p = s; *p; total += add)
			if (parse_number(&p, &whole, &frac) < 0 || !(unit = parse_unit(&p)) ||
			    scaled(whole, frac, unit, &add) < 0 || add > INT64_MAX - total)
				return -1;
	}
	if (total > LONG_MAX)
		return -1;
	*ms = (long)total;
	return 0;
}

/* Store text into f's destination; src names where it came from, for the
 * message ("--x" or "SKIFF_X=" or "default of --x"). */
static int
set_value(const struct flag *f, const char *v, const char *src, char *err, size_t len)
{
	switch (f->type) {
	case FLAG_STRING: *(const char **)f->dest = v; return 0;
	case FLAG_INT:
		if (parse_long(v, (long *)f->dest) == 0)
			return 0;
		return seterr(err, len, "%s \"%s\": not an integer", src, v);
	case FLAG_BOOL:
		if (parse_bool(v, (int *)f->dest) == 0)
			return 0;
		return seterr(err, len, "%s \"%s\": not a boolean (use --%s=true or --%s=false)", src, v, f->name,
		              f->name);
	case FLAG_DURATION:
		if (flags_parse_duration(v, (long *)f->dest) == 0)
			return 0;
		return seterr(err, len, "%s \"%s\": not a duration (use e.g. 500ms, 10s, 5m, 1h30m)", src, v);
	}
	return seterr(err, len, "--%s: bad flag table", f->name);
}

/* Defaults, then environment variables, for every flag of every table. */
static int
preset(const struct flag *const *tabs, char *err, size_t len)
{
	char src[128];
	const char *v;

	for (const struct flag *const *t = tabs; *t; t++)
		for (const struct flag *f = *t; f->name; f++) {
			snprintf(src, sizeof(src), "default of --%s", f->name);
			if (f->def && set_value(f, f->def, src, err, len) < 0)
				return FLAGS_ERR;
		}
	for (const struct flag *const *t = tabs; *t; t++)
		for (const struct flag *f = *t; f->name; f++) {
			if (!f->env || !(v = getenv(f->env)) || !*v)
				continue;
			snprintf(src, sizeof(src), "%s", f->env);
			if (set_value(f, v, src, err, len) < 0)
				return FLAGS_ERR;
		}
	return FLAGS_OK;
}

/* v as the flag reads it: "1024", or "1500ms" / "2s" for durations. */
static const char *
show(const struct flag *f, long v, char *buf, size_t len)
{
	if (f->type != FLAG_DURATION)
		snprintf(buf, len, "%ld", v);
	else if (v % 1000 == 0)
		snprintf(buf, len, "%lds", v / 1000);
	else
		snprintf(buf, len, "%ldms", v);
	return buf;
}

int
flags_check_bounds(const struct flag *f, long min, long max, char *err, size_t len)
{
	char lo[32], hi[32], got[32];
	long v = *(long *)f->dest;

	if (v >= min && v <= max)
		return 0;
	show(f, v, got, sizeof(got));
	if (max == LONG_MAX && min == 1)
		snprintf(err, len, "must be above 0, got %s", got);
	else if (max == LONG_MAX)
		snprintf(err, len, "must be at least %s, got %s", show(f, min, lo, sizeof(lo)), got);
	else
		snprintf(err, len, "must be between %s and %s, got %s", show(f, min, lo, sizeof(lo)),
		         show(f, max, hi, sizeof(hi)), got);
	return -1;
}

static int
run_checks(const struct flag *const *tabs, char *err, size_t len)
{
	char why[200];

	for (; *tabs; tabs++)
		for (const struct flag *f = *tabs; f->name; f++) {
			if (!f->check || f->check(f, why, sizeof(why)) == 0)
				continue;
			return seterr(err, len, "--%s: %s", f->name, why);
		}
	return FLAGS_OK;
}

/* One "--name[=value]" at argv[*i]; may consume argv[*i + 1]. */
static int
parse_one(const struct flag *const *tabs, int argc, char **argv, int *i, char *err, size_t len)
{
	const char *a = argv[*i] + 2, *eq = strchr(a, '='), *v;
	size_t n = eq ? (size_t)(eq - a) : strlen(a);
	const struct flag *f = find(tabs, a, n);
	char src[80];

	if (!f) {
		if (n == 4 && strncmp(a, "help", 4) == 0)
			return eq ? seterr(err, len, "--help takes no value") : FLAGS_HELP;
		if (n == 7 && strncmp(a, "version", 7) == 0)
			return eq ? seterr(err, len, "--version takes no value") : FLAGS_VERSION;
		return seterr(err, len, "unknown flag --%.*s", (int)(n < 64 ? n : 64), a);
	}
	snprintf(src, sizeof(src), "--%s", f->name);
	if (eq)
		v = eq + 1;
	else if (f->type == FLAG_BOOL)
		v = "true";
	else if (*i + 1 < argc)
		v = argv[++*i];
	else
		return seterr(err, len, "flag --%s needs a value", f->name);
	return set_value(f, v, src, err, len);
}

/* A positional argument at argv[i]: kept, or an error (with a hint when it
 * looks like the value of the boolean flag before it). */
static int
positional(const struct flag *const *tabs, char **argv, int i, int *nargs, char *err, size_t len)
{
	const char *prev = i > 1 ? argv[i - 1] : "";
	const struct flag *f;
	int b;

	if (nargs) {
		argv[++*nargs] = argv[i];
		return FLAGS_OK;
	}
	f = strncmp(prev, "--", 2) == 0 ? find(tabs, prev + 2, strlen(prev + 2)) : NULL;
	if (f && f->type == FLAG_BOOL && parse_bool(argv[i], &b) == 0)
		return seterr(err, len, "unexpected argument \"%s\" (a boolean takes its value as %s=%s)", argv[i],
		              prev, argv[i]);
	return seterr(err, len, "unexpected argument \"%.64s\"", argv[i]);
}

int
flags_parse(const struct flag *const *tabs, int argc, char **argv, int *nargs, char *err, size_t len)
{
	int rc, only_args = 0;

	if (nargs)
		*nargs = 0;
	if ((rc = preset(tabs, err, len)) != FLAGS_OK)
		return rc;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (only_args || a[0] != '-' || strcmp(a, "-") == 0)
			rc = positional(tabs, argv, i, nargs, err, len);
		else if (strcmp(a, "--") == 0)
			only_args = 1;
		else if (a[1] != '-')
			rc = seterr(err, len, "unknown flag %.64s (flags are long: --name)", a);
		else
			rc = parse_one(tabs, argc, argv, &i, err, len);
		if (rc != FLAGS_OK)
			return rc;
	}
	return run_checks(tabs, err, len);
}

void
flags_usage(FILE *f, const char *name, const char *args)
{
	fprintf(f, "usage: %s [flags]%s%s\n", name, args ? " " : "", args ? args : "");
}

static const char *
type_arg(const struct flag *f)
{
	static const char *const names[] = {"string", "int", "", "duration"};

	return f->arg ? f->arg : names[f->type];
}

static void
help_line(FILE *out, const char *name, const char *arg, const char *help, const char *def, const char *env)
{
	int w = fprintf(out, "  --%s%s%s", name, *arg ? " " : "", arg);

	fprintf(out, "%*s%s", w < 30 ? 30 - w : 1, "", help ? help : "");
	if (def && *def)
		fprintf(out, " (default %s)", def);
	if (env)
		fprintf(out, " [env %s]", env);
	fputc('\n', out);
}

void
flags_help(FILE *out, const char *name, const char *summary, const char *args, const struct flag *const *tabs)
{
	flags_usage(out, name, args);
	if (summary)
		fprintf(out, "%s\n", summary);
	fprintf(out, "\nFlags:\n");
	for (; *tabs; tabs++)
		for (const struct flag *f = *tabs; f->name; f++)
			help_line(out, f->name, type_arg(f), f->help, f->def, f->env);
	help_line(out, "help", "", "print this help and exit", NULL, NULL);
	help_line(out, "version", "", "print the version and exit", NULL, NULL);
}

void
flags_version(FILE *out, const char *name)
{
	fprintf(out, "%s %s\n", name, SKIFF_VERSION_TEXT);
}
