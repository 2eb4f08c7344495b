/*
 * agent_netcalc.c: pure network arithmetic for the agent (see
 * agent_netcalc.h). It decides, it never talks to etcd, Docker or the
 * kernel.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent_netcalc.h"

int
netcalc_config(const char *json, size_t len, struct api_network_config *out, char *why, size_t whylen)
{
	struct api_errors e = {0};
	struct api_network_config *nc;
	char *msg;

	api_network_config_default(out);
	if (!json)
		return 0;
	nc = api_network_config_parse(json, len, &e);
	if (nc) {
		*out = *nc;
		api_network_config_free(nc);
		api_errors_clear(&e);
		return 0;
	}
	msg = api_errors_join(&e, "; ");
	snprintf(why, whylen, "%s", msg ? msg : "out of memory");
	free(msg);
	api_errors_clear(&e);
	return -1;
}

int
netcalc_want_route(const struct api_network_config *nc, const char *subnet, const char *host_ip, uint32_t self_ip,
                   const struct api_cidr *own, struct netcalc_route *out, char *why, size_t whylen)
{
	struct api_error e = {0};
	char pb[24];

	if (!subnet || api_cidr_parse(subnet, &out->dst, &e) < 0) {
		snprintf(why, whylen, "subnet: %s", subnet ? e.msg : "missing");
		return -1;
	}
	if (!host_ip || api_ipv4_parse(host_ip, &out->gw, &e) < 0) {
		snprintf(why, whylen, "hostIP: %s", host_ip ? e.msg : "missing");
		return -1;
	}
	out->oif = 0;
	if (out->gw == self_ip)
		return 1;
	if (out->dst.len <= nc->pod_cidr.len || !api_cidr_contains(&nc->pod_cidr, out->dst.addr)) {
		api_cidr_format(&nc->pod_cidr, pb, sizeof(pb));
		snprintf(why, whylen, "subnet: %s is not a subnet of the podCIDR %s", subnet, pb);
		return -1;
	}
	if (own && api_cidr_overlap(own, &out->dst)) {
		api_cidr_format(own, pb, sizeof(pb));
		snprintf(why, whylen,
		         "subnet: %s overlaps this node's own subnet %s (a route would take its pods away)", subnet,
		         pb);
		return -1;
	}
	return 0;
}

static int
same_dst(const struct netcalc_route *a, const struct netcalc_route *b)
{
	return a->dst.addr == b->dst.addr && a->dst.len == b->dst.len;
}

/* Index of the first route in r[0..n) with x's destination, or -1. */
static long
find_dst(const struct netcalc_route *r, size_t n, const struct netcalc_route *x)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (same_dst(&r[i], x))
			return (long)i;
	return -1;
}

void
netcalc_route_diff(const struct netcalc_route *want, size_t nw, const struct netcalc_route *have, size_t nh,
                   struct netcalc_route *add, size_t *nadd, struct netcalc_route *del, size_t *ndel)
{
	size_t i;
	long j;

	*nadd = *ndel = 0;
	for (i = 0; i < nw; i++) {
		if (find_dst(want, i, &want[i]) >= 0)
			continue; /* a duplicate: the first one wins */
		j = find_dst(have, nh, &want[i]);
		if (j < 0 || have[j].gw != want[i].gw || (want[i].oif && have[j].oif != want[i].oif))
			add[(*nadd)++] = want[i];
	}
	for (i = 0; i < nh; i++)
		if (find_dst(want, nw, &have[i]) < 0)
			del[(*ndel)++] = have[i];
}
