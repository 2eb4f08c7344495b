/*
 * ctl_escape.c: text that came from etcd made harmless for a terminal.
 * Anyone who may write a key (a node writes its events and statuses) could
 * otherwise send ESC, CR or BEL sequences to the operator's screen. Every
 * table cell and every line of describe goes through here: C0 controls
 * (tab and newline included) and DEL become \xNN, C1 controls written in
 * UTF-8 (U+0080..U+009F) become \u00NN; everything else, other UTF-8
 * included, is left as it is. JSON output needs none of this (jansson
 * escapes control characters itself).
 */
#include <stdio.h>
#include <string.h>

#include "skiffctl.h"

/* The escape of the character at s into out (at least 7 bytes), or 0 when
 * it needs none; *used gets the bytes of s it covers. */
static size_t
escape_one(const unsigned char *s, char *out, size_t *used)
{
	*used = 1;
	if (s[0] < 0x20 || s[0] == 0x7f)
		return (size_t)snprintf(out, 7, "\\x%02x", s[0]);
	if (s[0] == 0xc2 && s[1] >= 0x80 && s[1] <= 0x9f) {
		*used = 2;
		return (size_t)snprintf(out, 7, "\\u%04x", s[1]);
	}
	return 0;
}

size_t
ctl_escape(const char *s, char *buf, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = 0, used, e;
	char esc[8];

	while (*p) {
		e = escape_one(p, esc, &used);
		if (!e) {
			esc[0] = (char)*p;
			e = 1;
		}
		if (len && n + e < len)
			memcpy(buf + n, esc, e);
		else if (len && n < len)
			len = n + 1; /* no escape cut in half: stop here */
		n += e;
		p += used;
	}
	if (len)
		buf[n < len ? n : len - 1] = '\0';
	return n;
}

void
ctl_fputs_escaped(const char *s, FILE *f)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t used, e;
	char esc[8];

	for (; *p; p += used) {
		if ((e = escape_one(p, esc, &used)))
			fwrite(esc, 1, e, f);
		else
			fputc(*p, f);
	}
}
