/*
 * api_image.c: image references against Docker's grammar
 * (github.com/distribution/reference):
 *
 *   reference := name [":" tag] ["@" digest]
 *   name      := [domain "/"] path-component ["/" path-component]*
 *   domain    := host [":" port]; host: DNS components or "[v6]"
 *   path-component := [a-z0-9]+ ((["." "_" "__"] | "-"+) [a-z0-9]+)*
 *   tag       := [\w][\w.-]{0,127}
 *   digest    := algorithm ":" hex, algorithm [A-Za-z][A-Za-z0-9]* joined
 *                by [+._-], hex [0-9a-fA-F]{32,}
 *
 * The first component is the domain when it holds '.' or ':', is
 * "localhost", or has an upper-case letter (Docker's own rule). The name is
 * at most 255 bytes. No segment of a valid reference is "." or "..", so
 * none can walk a URL path. Whether the image exists is Docker's business.
 */
#include <stdio.h>
#include <string.h>

#include "api_names.h"

#define NAME_MAX_LEN 255
#define TAG_MAX_LEN 128
#define HEX_MIN_LEN 32

static int
lower_alnum(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static int
alnum(int c)
{
	return lower_alnum(c) || (c >= 'A' && c <= 'Z');
}

static int
word(int c)
{
	return alnum(c) || c == '_';
}

static int
hex(int c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* One path component s[0..n): alphanumeric runs joined by one '.', one
 * '_', "__" or any number of '-'. */
static int
path_component(const char *s, size_t n)
{
	size_t i = 0, run;

	for (;;) {
		for (run = 0; i < n && lower_alnum((unsigned char)s[i]); i++)
			run++;
		if (!run)
			return 0;
		if (i == n)
			return 1;
		if (s[i] == '.' || (s[i] == '_' && (i + 1 >= n || s[i + 1] != '_')))
			i++;
		else if (s[i] == '_')
			i += 2;
		else if (s[i] == '-')
			while (i < n && s[i] == '-')
				i++;
		else
			return 0;
	}
}

/* DNS components ([A-Za-z0-9] or [A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9])
 * joined by '.', or "[" IPv6 "]"; then an optional ":port". */
static int
domain(const char *s, size_t n)
{
	size_t i = 0, start;

	if (n && s[0] == '[') {
		for (i = 1; i < n && (hex((unsigned char)s[i]) || s[i] == ':' || s[i] == '.'); i++)
			;
		if (i == 1 || i >= n || s[i++] != ']')
			return 0;
	} else {
		do {
			if (i && s[i] == '.')
				i++;
			for (start = i; i < n && (alnum((unsigned char)s[i]) || s[i] == '-'); i++)
				;
			if (i == start || s[start] == '-' || s[i - 1] == '-')
				return 0;
		} while (i < n && s[i] == '.');
	}
	if (i == n)
		return 1;
	if (s[i++] != ':' || i == n)
		return 0;
	for (; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

static int
has_domain(const char *s, size_t n)
{
	size_t i;

	if (n == 9 && memcmp(s, "localhost", 9) == 0)
		return 1;
	for (i = 0; i < n; i++)
		if (s[i] == '.' || s[i] == ':' || (s[i] >= 'A' && s[i] <= 'Z'))
			return 1;
	return 0;
}

static int
name_ok(const char *s, size_t n)
{
	const char *slash = memchr(s, '/', n);
	size_t i, start = 0;

	if (slash && has_domain(s, (size_t)(slash - s))) {
		if (!domain(s, (size_t)(slash - s)))
			return 0;
		start = (size_t)(slash - s) + 1;
	}
	for (i = start; i <= n; i++) {
		if (i < n && s[i] != '/')
			continue;
		if (!path_component(s + start, i - start))
			return 0;
		start = i + 1;
	}
	return 1;
}

static int
tag_ok(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > TAG_MAX_LEN || !word((unsigned char)s[0]))
		return 0;
	for (i = 1; i < n; i++)
		if (!word((unsigned char)s[i]) && s[i] != '.' && s[i] != '-')
			return 0;
	return 1;
}

static int
digest_ok(const char *s)
{
	const char *colon = strchr(s, ':');
	size_t i, n;

	if (!colon || colon == s)
		return 0;
	for (i = 0; s + i < colon; i++) {
		int c = (unsigned char)s[i];
		int first = i == 0 || strchr("+._-", s[i - 1]);

		if (first ? !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) : !alnum(c) && !strchr("+._-", c))
			return 0;
	}
	if (strchr("+._-", colon[-1]))
		return 0;
	for (n = 0; colon[1 + n]; n++)
		if (!hex((unsigned char)colon[1 + n]))
			return 0;
	return n >= HEX_MIN_LEN;
}

int
api_check_image_ref(const char *s, struct api_error *err)
{
	const char *at, *colon, *slash;
	size_t name_len, tag_len = 0;
	char q[96];

	if (api_check_image(s, err) < 0)
		return -1;
	at = strchr(s, '@');
	name_len = at ? (size_t)(at - s) : strlen(s);
	slash = memrchr(s, '/', name_len);
	colon = memchr(slash ? slash : s, ':', name_len - (size_t)((slash ? slash : s) - s));
	if (colon) {
		tag_len = name_len - (size_t)(colon - s) - 1;
		name_len = (size_t)(colon - s);
	}
	if (name_len > NAME_MAX_LEN)
		return api_error_set(err, "image name must be no more than %d characters, got %zu", NAME_MAX_LEN,
		                     name_len);
	if (colon && tag_len > TAG_MAX_LEN)
		return api_error_set(err, "image tag must be no more than %d characters, got %zu", TAG_MAX_LEN,
		                     tag_len);
	if (!name_ok(s, name_len) || (colon && !tag_ok(colon + 1, tag_len)) || (at && !digest_ok(at + 1)))
		return api_error_set(err,
		                     "%s is not a valid image reference ([host[:port]/]path[:tag][@digest], "
		                     "path in lower case, e.g. \"httpd:2.4\", \"registry:5000/team/app:v1\")",
		                     api_quote(q, sizeof(q), s));
	return 0;
}
