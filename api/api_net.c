/*
 * api_net.c: strict IPv4 and CIDR parsing and printing, and the list of
 * addresses no pod or endpoint may have. No resolver, no IPv6: Skiff's pod
 * and service networks are IPv4.
 */
#include <stdio.h>
#include <string.h>

#include "api_names.h"
#include "api_net.h"

/* Read a decimal number without leading zeros, at most max, from *s. */
static int
number(const char **s, unsigned max, unsigned *out)
{
	const char *p = *s;
	unsigned v = 0;

	if (*p < '0' || *p > '9' || (p[0] == '0' && p[1] >= '0' && p[1] <= '9'))
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		v = v * 10 + (unsigned)(*p - '0');
		if (v > max)
			return -1;
	}
	*s = p;
	*out = v;
	return 0;
}

/* Parse the address part at *s, leaving *s after it. */
static int
ipv4(const char **s, uint32_t *out)
{
	uint32_t a = 0;
	unsigned v;
	int i;

	for (i = 0; i < 4; i++) {
		if (i && *(*s)++ != '.')
			return -1;
		if (number(s, 255, &v) < 0)
			return -1;
		a = (a << 8) | v;
	}
	*out = a;
	return 0;
}

int
api_ipv4_parse(const char *s, uint32_t *out, struct api_error *err)
{
	char q[96];
	const char *p = s;

	if (ipv4(&p, out) < 0 || *p)
		return api_error_set(err, "%s is not an IPv4 address (like 10.0.0.10)", api_quote(q, sizeof(q), s));
	return 0;
}

size_t
api_ipv4_format(uint32_t a, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%u.%u.%u.%u", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255);

	return n < 0 ? 0 : (size_t)n;
}

uint32_t
api_cidr_mask(int len)
{
	return len <= 0 ? 0 : len >= 32 ? 0xffffffffu : ~(0xffffffffu >> len);
}

int
api_cidr_parse(const char *s, struct api_cidr *out, struct api_error *err)
{
	char q[96], fix[24];
	const char *p = s;
	unsigned len;
	uint32_t a;

	if (ipv4(&p, &a) < 0 || *p++ != '/' || number(&p, 32, &len) < 0 || *p)
		return api_error_set(err, "%s is not a CIDR block (like 10.244.0.0/16)", api_quote(q, sizeof(q), s));
	if (a & ~api_cidr_mask((int)len)) {
		struct api_cidr c = {a & api_cidr_mask((int)len), (int)len};

		api_cidr_format(&c, fix, sizeof(fix));
		return api_error_set(err, "%s has host bits set (did you mean %s?)", api_quote(q, sizeof(q), s), fix);
	}
	out->addr = a;
	out->len = (int)len;
	return 0;
}

size_t
api_cidr_format(const struct api_cidr *c, char *buf, size_t len)
{
	char ip[16];
	int n;

	api_ipv4_format(c->addr, ip, sizeof(ip));
	n = snprintf(buf, len, "%s/%d", ip, c->len);
	return n < 0 ? 0 : (size_t)n;
}

int
api_cidr_contains(const struct api_cidr *c, uint32_t addr)
{
	return (addr & api_cidr_mask(c->len)) == c->addr;
}

int
api_cidr_overlap(const struct api_cidr *a, const struct api_cidr *b)
{
	return a->len <= b->len ? api_cidr_contains(a, b->addr) : api_cidr_contains(b, a->addr);
}

/* The blocks no endpoint may point into, in the order they are checked. */
static const struct {
	uint32_t addr;
	int len;
	const char *what;
} refused[] = {
	{0x00000000u, 8, "in 0.0.0.0/8 (this host)"},
	{0x7f000000u, 8, "loopback (127.0.0.0/8)"},
	{0xa9fe0000u, 16, "link-local (169.254.0.0/16, where clouds serve instance metadata)"},
	{0xe0000000u, 3, "multicast, reserved or broadcast (224.0.0.0/3)"},
};

int
api_endpoint_ip_check(const char *ip, const struct api_cidr *service_cidr, char *why, size_t len)
{
	struct api_error err = {0};
	char sc[24];
	uint32_t a;
	size_t i;

	if (api_ipv4_parse(ip ? ip : "", &a, &err) < 0) {
		if (why && len)
			snprintf(why, len, "%s", err.msg);
		return -1;
	}
	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		struct api_cidr c = {refused[i].addr, refused[i].len};

		if (api_cidr_contains(&c, a)) {
			if (why && len)
				snprintf(why, len, "%s is %s", ip, refused[i].what);
			return -1;
		}
	}
	if (service_cidr && api_cidr_contains(service_cidr, a)) {
		api_cidr_format(service_cidr, sc, sizeof(sc));
		if (why && len)
			snprintf(why, len, "%s is in the service network %s", ip, sc);
		return -1;
	}
	return 0;
}
