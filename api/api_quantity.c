/*
 * api_quantity.c: parse and print Kubernetes quantities exactly.
 *
 * The value is D × 10^e × 2^b with D the digits written: the digits are
 * kept as a decimal string, doubled b times, shifted by e, and the integer
 * part read back with a round-up when any dropped digit was non-zero. No
 * floating point, so "0.1" cpu is exactly 100m. Knows nothing of resources.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "api_names.h"
#include "api_quantity.h"

/* Digits we ever need: 64 written digits, doubled 60 times (+19), shifted
 * left by at most 19 before the result cannot fit an int64. */
#define DIGITS_MAX 128

struct suffix {
	const char *s;
	int e10, e2;
};

static const struct suffix suffixes[] = {
	{"Ki", 0, 10}, {"Mi", 0, 20}, {"Gi", 0, 30}, {"Ti", 0, 40}, {"Pi", 0, 50}, {"Ei", 0, 60},
	{"n", -9, 0},  {"u", -6, 0},  {"m", -3, 0},  {"", 0, 0},    {"k", 3, 0},   {"M", 6, 0},
	{"G", 9, 0},   {"T", 12, 0},  {"P", 15, 0},  {"E", 18, 0},
};

/* Read the suffix or exponent at s into *e10 / *e2. Returns 0 or -1. */
static int
parse_suffix(const char *s, int *e10, int *e2)
{
	size_t i;
	int neg = 0, v = 0;

	for (i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		if (strcmp(s, suffixes[i].s) == 0) {
			*e10 = suffixes[i].e10;
			*e2 = suffixes[i].e2;
			return 0;
		}
	}
	if (*s != 'e' && *s != 'E')
		return -1;
	s++;
	if (*s == '+' || *s == '-')
		neg = *s++ == '-';
	if (!*s)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > 1000)
			return -1;
		v = v * 10 + (*s - '0');
	}
	*e10 = neg ? -v : v;
	*e2 = 0;
	return 0;
}

/* d[0..*n) *= 2, most significant digit first. */
static void
digits_double(char *d, size_t *n)
{
	int carry = 0;
	size_t i;

	for (i = *n; i-- > 0;) {
		int v = (d[i] - '0') * 2 + carry;

		d[i] = (char)('0' + v % 10);
		carry = v / 10;
	}
	if (carry) {
		memmove(d + 1, d, *n);
		d[0] = '1';
		(*n)++;
	}
}

int
api_quantity_parse(const char *s, int scale, int64_t *out, struct api_error *err)
{
	char q[96], d[DIGITS_MAX];
	const char *p = s;
	size_t n = 0, frac = 0, i, keep;
	int neg = 0, dot = 0, ndigits = 0, e10, e2, up = 0;
	uint64_t v = 0;

	if (strlen(s) > API_QUANTITY_MAX_LEN)
		return api_error_set(err, "quantity is longer than %d characters", API_QUANTITY_MAX_LEN);
	if (*p == '+' || *p == '-')
		neg = *p++ == '-';
	for (; (*p >= '0' && *p <= '9') || *p == '.'; p++) {
		if (*p == '.') {
			if (dot++)
				goto garbage;
			continue;
		}
		ndigits++;
		frac += dot;
		if (n || *p != '0')
			d[n++] = *p;
	}
	if (!ndigits || parse_suffix(p, &e10, &e2) < 0)
		goto garbage;
	e10 += scale - (int)frac;
	for (i = 0; n && i < (size_t)e2; i++)
		digits_double(d, &n);
	if (n && e10 > 0) {
		if (n + (size_t)e10 > 19)
			goto overflow;
		memset(d + n, '0', (size_t)e10);
		n += (size_t)e10;
	} else if (e10 < 0) {
		keep = (size_t)-e10 >= n ? 0 : n - (size_t)-e10;
		for (i = keep; i < n; i++)
			up |= d[i] != '0';
		n = keep;
	}
	if (n > 19)
		goto overflow;
	for (i = 0; i < n; i++)
		v = v * 10 + (uint64_t)(d[i] - '0');
	/* Round toward +infinity: up for positive values, truncate negative. */
	if (up && !neg)
		v++;
	if (v > INT64_MAX)
		goto overflow;
	*out = neg ? -(int64_t)v : (int64_t)v;
	return 0;
garbage:
	return api_error_set(err, "%s is not a quantity (e.g. \"250m\", \"2\", \"64Mi\", \"1G\")",
	                     api_quote(q, sizeof(q), s));
overflow:
	return api_error_set(err, "quantity %s is too large", api_quote(q, sizeof(q), s));
}

int
api_quantity_parse_milli(const char *s, int64_t *milli, struct api_error *err)
{
	return api_quantity_parse(s, 3, milli, err);
}

int
api_quantity_parse_value(const char *s, int64_t *value, struct api_error *err)
{
	return api_quantity_parse(s, 0, value, err);
}

static size_t
fmt(char *buf, size_t len, const char *f, int64_t v, const char *suffix)
{
	int n = snprintf(buf, len, f, (long long)v, suffix);

	return n < 0 ? 0 : (size_t)n;
}

size_t
api_quantity_format_milli(int64_t milli, char *buf, size_t len)
{
	if (milli % 1000 == 0)
		return fmt(buf, len, "%lld%s", milli / 1000, "");
	return fmt(buf, len, "%lld%s", milli, "m");
}

size_t
api_quantity_format_bytes(int64_t bytes, char *buf, size_t len)
{
	static const char *bin[] = {"Ei", "Pi", "Ti", "Gi", "Mi", "Ki"};
	int i;

	for (i = 0; i < 6 && bytes != 0; i++) {
		int64_t unit = (int64_t)1 << (10 * (6 - i));

		if (bytes % unit == 0)
			return fmt(buf, len, "%lld%s", bytes / unit, bin[i]);
	}
	return fmt(buf, len, "%lld%s", bytes, "");
}
