/*
 * fuzz_netcalc.c: libFuzzer target for the agent's network arithmetic
 * (node-agent/agent_netcalc.c) and the node controller's next free subnet
 * (api_subnets_next). The input is a NetworkConfig value, then
 * one line per P/network/subnets/ entry, "SUBNET HOSTIP". Nothing may
 * crash, and what the functions promise must hold:
 *   - a config accepted has a subnet length longer than the pod prefix;
 *   - the next free subnet lies in podCIDR, has that length, is not index
 *     0, and overlaps no subnet taken;
 *   - a route wanted lies in podCIDR and off our own subnet (the first
 *     subnet line's);
 *   - the route diff applied to the routes present gives the routes
 *     wanted (every wanted destination present with its gateway, nothing
 *     else left).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_subnets.h"
#include "node-agent/agent_netcalc.h"

#define MAXN 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Split the input at newlines into (at most MAXN + 1) NUL-ended lines. */
static size_t
split(char *s, char **lines)
{
	size_t n = 0;

	lines[n++] = s;
	for (; *s && n < MAXN + 1; s++)
		if (*s == '\n') {
			*s = '\0';
			lines[n++] = s + 1;
		}
	return n;
}

static void
check_next(const struct api_network_config *nc, const struct api_cidr *taken, size_t n)
{
	struct api_cidr out;

	if (api_subnets_next(&nc->pod_cidr, nc->subnet_length, taken, n, &out) != 0)
		return;
	if (out.len != nc->subnet_length || !api_cidr_contains(&nc->pod_cidr, out.addr) ||
	    out.addr == nc->pod_cidr.addr)
		abort();
	for (size_t i = 0; i < n; i++)
		if (taken[i].len > nc->pod_cidr.len && api_cidr_overlap(&out, &taken[i]))
			abort();
}

/* have + diff == want, as a set of destinations with their gateways. */
static void
check_diff(const struct netcalc_route *want, size_t nw, const struct netcalc_route *have, size_t nh)
{
	struct netcalc_route add[MAXN], del[MAXN];
	size_t nadd = 0, ndel = 0;

	netcalc_route_diff(want, nw, have, nh, add, &nadd, del, &ndel);
	for (size_t i = 0; i < nw; i++) {
		int first = 1, done = 0;

		for (size_t j = 0; j < i; j++)
			first &= !(want[j].dst.addr == want[i].dst.addr && want[j].dst.len == want[i].dst.len);
		if (!first)
			continue;
		for (size_t j = 0; j < nadd; j++)
			done |= add[j].dst.addr == want[i].dst.addr && add[j].dst.len == want[i].dst.len &&
			        add[j].gw == want[i].gw;
		for (size_t j = 0; j < nh && !done; j++)
			done |= have[j].dst.addr == want[i].dst.addr && have[j].dst.len == want[i].dst.len &&
			        have[j].gw == want[i].gw;
		if (!done)
			abort(); /* a wanted route is neither present nor added */
	}
	for (size_t j = 0; j < ndel; j++)
		for (size_t i = 0; i < nw; i++)
			if (del[j].dst.addr == want[i].dst.addr && del[j].dst.len == want[i].dst.len)
				abort(); /* a wanted destination is deleted */
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1), *lines[MAXN + 1], why[256];
	struct api_network_config nc;
	struct api_cidr taken[MAXN];
	struct netcalc_route want[MAXN], have[MAXN];
	size_t n, nt = 0, nw = 0;

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	n = split(s, lines);
	if (netcalc_config(lines[0][0] ? lines[0] : NULL, strlen(lines[0]), &nc, why, sizeof(why)) == 0 &&
	    (nc.subnet_length <= nc.pod_cidr.len || nc.subnet_length > 30))
		abort();
	for (size_t i = 1; i < n; i++) {
		char *sp = strchr(lines[i], ' ');
		struct netcalc_route r;

		if (!sp)
			continue;
		*sp = '\0';
		if (api_cidr_parse(lines[i], &taken[nt], NULL) == 0)
			nt++;
		if (netcalc_want_route(&nc, lines[i], sp + 1, 0x0a000001u, nt ? &taken[0] : NULL, &r, why,
		                       sizeof(why)) == 0) {
			if (!api_cidr_contains(&nc.pod_cidr, r.dst.addr) || r.dst.len < nc.pod_cidr.len)
				abort();
			if (nt && api_cidr_overlap(&taken[0], &r.dst))
				abort(); /* a route over our own subnet */
			want[nw++] = r;
		}
	}
	check_next(&nc, taken, nt);
	/* The routes present: the wanted ones in reverse, every other with
	 * another gateway, plus the taken subnets as strays. */
	{
		size_t nh = 0;

		for (size_t i = 0; i < nw && nh < MAXN; i++)
			have[nh++] = (struct netcalc_route){want[nw - 1 - i].dst, want[nw - 1 - i].gw + (i % 2), 0};
		for (size_t i = 0; i < nt && nh < MAXN; i++)
			have[nh++] = (struct netcalc_route){taken[i], 1, 0};
		check_diff(want, nw, have, nh);
	}
	free(s);
	return 0;
}
