/*
 * api_time.c: strict RFC 3339 parsing (calendar-checked) and UTC printing.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "api_names.h"
#include "api_time.h"

/* n digits at s into *v. */
static int
digits(const char *s, int n, int *v)
{
	int i;

	*v = 0;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		*v = *v * 10 + (s[i] - '0');
	}
	return 0;
}

int
api_time_parse(const char *s, time_t *out, struct api_error *err)
{
	char q[96];
	struct tm tm, chk;
	const char *p = s + 19;
	int y, mo, d, h, mi, sec, oh = 0, om = 0, sign = 0;
	time_t t;

	if (strlen(s) < 20 || digits(s, 4, &y) || s[4] != '-' || digits(s + 5, 2, &mo) || s[7] != '-' ||
	    digits(s + 8, 2, &d) || (s[10] != 'T' && s[10] != 't') || digits(s + 11, 2, &h) || s[13] != ':' ||
	    digits(s + 14, 2, &mi) || s[16] != ':' || digits(s + 17, 2, &sec))
		goto bad;
	if (*p == '.') {
		if (p[1] < '0' || p[1] > '9')
			goto bad;
		for (p++; *p >= '0' && *p <= '9'; p++)
			;
	}
	if ((*p == 'Z' || *p == 'z') && p[1] == '\0') {
	} else if ((*p == '+' || *p == '-') && strlen(p) == 6 && !digits(p + 1, 2, &oh) && p[3] == ':' &&
	           !digits(p + 4, 2, &om) && oh < 24 && om < 60) {
		sign = *p == '-' ? -1 : 1;
	} else {
		goto bad;
	}
	if (y < 1 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
		goto bad;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec == 60 ? 59 : sec;
	chk = tm;
	t = timegm(&tm);
	if (tm.tm_mday != chk.tm_mday || tm.tm_mon != chk.tm_mon)
		goto bad; /* 31 April and the like */
	*out = t - sign * (oh * 3600 + om * 60);
	return 0;
bad:
	return api_error_set(err, "%s is not an RFC 3339 time (like 2026-11-26T15:00:00Z)", api_quote(q, sizeof(q), s));
}

size_t
api_time_format(time_t t, char *buf, size_t len)
{
	struct tm tm;
	int n;

	if (!gmtime_r(&t, &tm))
		memset(&tm, 0, sizeof(tm));
	n = snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
	             tm.tm_hour, tm.tm_min, tm.tm_sec);
	return n < 0 ? 0 : (size_t)n;
}
