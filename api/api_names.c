/*
 * api_names.c: syntax checks of names and small values (see api_names.h).
 * Pure functions over bytes; nothing here allocates. Kubernetes' rules
 * (k8s.io/apimachinery/pkg/util/validation), minus what the contract
 * does not use.
 */
#include <stdio.h>
#include <string.h>

#include "api_names.h"

#define QBUF 96

static int
is_lower_alnum(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static int
is_alnum(int c)
{
	return is_lower_alnum(c) || (c >= 'A' && c <= 'Z');
}

/* [a-z0-9]([-a-z0-9]*[a-z0-9])? over s[0..n). */
static int
label_syntax(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || !is_lower_alnum((unsigned char)s[0]) || !is_lower_alnum((unsigned char)s[n - 1]))
		return 0;
	for (i = 1; i + 1 < n; i++)
		if (!is_lower_alnum((unsigned char)s[i]) && s[i] != '-')
			return 0;
	return 1;
}

int
api_check_dns_label(const char *s, struct api_error *err)
{
	char q[QBUF];
	size_t n = strlen(s);

	if (n == 0)
		return api_error_set(err, "must not be empty");
	if (n > API_LABEL_MAX)
		return api_error_set(err, "must be no more than %d characters, got %zu", API_LABEL_MAX, n);
	if (!label_syntax(s, n))
		return api_error_set(err, "%s is not a DNS-1123 label", api_quote(q, sizeof(q), s));
	return 0;
}

static int
subdomain_syntax(const char *s, size_t n)
{
	size_t start = 0, i;

	for (i = 0; i <= n; i++) {
		if (i == n || s[i] == '.') {
			if (!label_syntax(s + start, i - start))
				return 0;
			start = i + 1;
		}
	}
	return 1;
}

int
api_check_dns_subdomain(const char *s, struct api_error *err)
{
	char q[QBUF];
	size_t n = strlen(s);

	if (n == 0)
		return api_error_set(err, "must not be empty");
	if (n > API_SUBDOMAIN_MAX)
		return api_error_set(err, "must be no more than %d characters, got %zu", API_SUBDOMAIN_MAX, n);
	if (!subdomain_syntax(s, n))
		return api_error_set(err, "%s is not a DNS-1123 subdomain", api_quote(q, sizeof(q), s));
	return 0;
}

/* ([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9] over s[0..n), n >= 1. */
static int
qualified_syntax(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || !is_alnum((unsigned char)s[0]) || !is_alnum((unsigned char)s[n - 1]))
		return 0;
	for (i = 1; i + 1 < n; i++)
		if (!is_alnum((unsigned char)s[i]) && !strchr("-_.", s[i]))
			return 0;
	return 1;
}

int
api_check_label_key(const char *s, struct api_error *err)
{
	char q[QBUF];
	const char *slash = strchr(s, '/');
	const char *name = slash ? slash + 1 : s;
	size_t plen = slash ? (size_t)(slash - s) : 0, nlen = strlen(name);

	if (!*s)
		return api_error_set(err, "label key must not be empty");
	if (nlen > API_LABEL_MAX)
		return api_error_set(err, "label key %s: name part must be no more than %d characters",
		                     api_quote(q, sizeof(q), s), API_LABEL_MAX);
	if (slash && (plen == 0 || plen > API_SUBDOMAIN_MAX || !subdomain_syntax(s, plen)))
		return api_error_set(err, "label key %s: prefix must be a DNS-1123 subdomain",
		                     api_quote(q, sizeof(q), s));
	if (!qualified_syntax(name, nlen))
		return api_error_set(err,
		                     "%s is not a valid label key (alphanumerics, '-', '_' or '.', "
		                     "starting and ending with an alphanumeric, optional DNS prefix and '/')",
		                     api_quote(q, sizeof(q), s));
	return 0;
}

int
api_check_label_value(const char *s, struct api_error *err)
{
	char q[QBUF];
	size_t n = strlen(s);

	if (n > API_LABEL_MAX)
		return api_error_set(err, "label value must be no more than %d characters, got %zu", API_LABEL_MAX, n);
	if (n && !qualified_syntax(s, n))
		return api_error_set(err,
		                     "%s is not a valid label value (alphanumerics, '-', '_' or '.', "
		                     "starting and ending with an alphanumeric)",
		                     api_quote(q, sizeof(q), s));
	return 0;
}

int
api_check_port_name(const char *s, struct api_error *err)
{
	char q[QBUF];
	size_t n = strlen(s), i;
	int letter = 0;

	if (n == 0 || n > 15)
		return api_error_set(err, "%s is not a valid port name: must be 1 to 15 characters",
		                     api_quote(q, sizeof(q), s));
	for (i = 0; i < n; i++) {
		if (!is_lower_alnum((unsigned char)s[i]) && s[i] != '-')
			return api_error_set(err, "%s is not a valid port name: only lowercase letters, digits and '-'",
			                     api_quote(q, sizeof(q), s));
		letter |= s[i] >= 'a' && s[i] <= 'z';
	}
	if (!letter)
		return api_error_set(err, "%s is not a valid port name: must contain a letter",
		                     api_quote(q, sizeof(q), s));
	if (s[0] == '-' || s[n - 1] == '-' || strstr(s, "--"))
		return api_error_set(err, "%s is not a valid port name: '-' only between letters or digits",
		                     api_quote(q, sizeof(q), s));
	return 0;
}

int
api_check_env_name(const char *s, struct api_error *err)
{
	char q[QBUF];
	size_t i;

	for (i = 0; s[i]; i++) {
		int c = (unsigned char)s[i];

		if (!(is_alnum(c) && !(i == 0 && c >= '0' && c <= '9')) && !strchr("-._", c))
			break;
	}
	if (i == 0 || s[i])
		return api_error_set(err,
		                     "%s is not a valid environment variable name "
		                     "(letters, digits, '-', '.', '_', not starting with a digit)",
		                     api_quote(q, sizeof(q), s));
	return 0;
}

int
api_check_uid(const char *s, struct api_error *err)
{
	char q[QBUF];
	size_t n = strlen(s), i;
	int ok = n >= 1 && n <= 19 && s[0] != '0';

	for (i = 0; ok && i < n; i++)
		ok = s[i] >= '0' && s[i] <= '9';
	/* 19 digits can exceed INT64_MAX (9223372036854775807). */
	if (ok && n == 19 && strcmp(s, "9223372036854775807") > 0)
		ok = 0;
	if (!ok)
		return api_error_set(err, "must be a create revision (a positive decimal integer), got %s",
		                     api_quote(q, sizeof(q), s));
	return 0;
}

int
api_check_image(const char *s, struct api_error *err)
{
	char q[QBUF];
	size_t i;

	if (!*s)
		return api_error_set(err, "must not be empty");
	for (i = 0; s[i]; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c <= ' ' || c == 0x7f)
			return api_error_set(err, "%s is not a valid image reference (no spaces or control characters)",
			                     api_quote(q, sizeof(q), s));
	}
	if (i > 4096)
		return api_error_set(err, "must be no more than 4096 characters, got %zu", i);
	return 0;
}

int
api_generate_name(char *buf, size_t len, const char *base, const char *suffix)
{
	size_t blen = strlen(base), i;
	int n;

	if (strlen(suffix) != API_RANDOM_SUFFIX || api_check_dns_label(base, NULL) < 0)
		return -1;
	for (i = 0; i < API_RANDOM_SUFFIX; i++)
		if (!is_lower_alnum((unsigned char)suffix[i]))
			return -1;
	if (blen > API_LABEL_MAX - 1 - API_RANDOM_SUFFIX)
		blen = API_LABEL_MAX - 1 - API_RANDOM_SUFFIX;
	n = snprintf(buf, len, "%.*s-%s", (int)blen, base, suffix);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

const char *
api_quote(char *buf, size_t len, const char *s)
{
	size_t o = 0, i;

	if (len < 16) {
		if (len)
			buf[0] = '\0';
		return buf;
	}
	buf[o++] = '"';
	for (i = 0; s[i]; i++) {
		unsigned char c = (unsigned char)s[i];
		char tmp[8];
		int n;

		if (c == '"' || c == '\\')
			n = snprintf(tmp, sizeof(tmp), "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			n = snprintf(tmp, sizeof(tmp), "\\x%02x", c);
		else
			n = snprintf(tmp, sizeof(tmp), "%c", c);
		if (o + (size_t)n + 5 > len || i >= 64) {
			memcpy(buf + o, "\"...", 4);
			buf[o + 4] = '\0';
			return buf;
		}
		memcpy(buf + o, tmp, (size_t)n);
		o += (size_t)n;
	}
	buf[o++] = '"';
	buf[o] = '\0';
	return buf;
}
