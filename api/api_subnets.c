/*
 * api_subnets.c: judging P/network/subnets/NODE claims and choosing the
 * next free subnet (see api_subnets.h). It decides; it never reads or
 * writes etcd, never logs, and holds no state between calls.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_subnets.h"

#define CONFLICT "conflict: "

/* A claim decoded: its block and gateway, and whether it is valid alone. */
struct claim_view {
	struct api_cidr net;
	uint32_t gw;
	int ok;
};

int
api_hostip_check(const struct api_network_config *net, const char *ip, char *why, size_t len)
{
	struct api_error e = {0};
	uint32_t a;

	if (!ip || !*ip)
		return snprintf(why, len, "hostIP is missing"), -1;
	if (api_ipv4_parse(ip, &a, &e) < 0)
		return snprintf(why, len, "hostIP %s: %s", ip, e.msg), -1;
	if ((a >> 24) == 0 || (a >> 24) == 127)
		return snprintf(why, len, "hostIP %s is a loopback or 0.0.0.0/8 address", ip), -1;
	if ((a >> 16) == ((169u << 8) | 254u))
		return snprintf(why, len, "hostIP %s is link-local (169.254.0.0/16)", ip), -1;
	if ((a >> 29) == 7u)
		return snprintf(why, len, "hostIP %s is multicast, reserved or broadcast (224.0.0.0/3)", ip), -1;
	if (api_cidr_contains(&net->pod_cidr, a))
		return snprintf(why, len, "hostIP %s lies inside the podCIDR", ip), -1;
	if (api_cidr_contains(&net->service_cidr, a))
		return snprintf(why, len, "hostIP %s lies inside the serviceCIDR", ip), -1;
	return 0;
}

/* Decode claim c into *v; on a problem v->ok = 0 and why says it. */
static void
claim_view(const struct api_network_config *net, const struct api_subnet_claim *c, struct claim_view *v, char *why)
{
	struct api_errors errs = {0};
	struct api_subnet *s;
	char *msg;

	memset(v, 0, sizeof(*v));
	s = api_subnet_parse(c->value, c->len, &errs);
	if (!s) {
		msg = api_errors_join(&errs, "; ");
		snprintf(why, API_SUBNET_WHY, "%s", msg ? msg : "out of memory");
		free(msg);
	} else if (api_cidr_parse(s->subnet, &v->net, NULL) < 0)
		snprintf(why, API_SUBNET_WHY, "subnet %s is not a CIDR block", s->subnet);
	else if (v->net.len != net->subnet_length)
		snprintf(why, API_SUBNET_WHY, "subnet %s is not /%d long", s->subnet, net->subnet_length);
	else if (!api_cidr_contains(&net->pod_cidr, v->net.addr))
		snprintf(why, API_SUBNET_WHY, "subnet %s lies outside the podCIDR", s->subnet);
	else if (api_hostip_check(net, s->host_ip, why, API_SUBNET_WHY) == 0) {
		api_ipv4_parse(s->host_ip, &v->gw, NULL);
		v->ok = 1;
	}
	api_subnet_free(s);
	api_errors_clear(&errs);
}

static const struct api_subnet_claim *sort_base;

static int
cmp_age(const void *x, const void *y)
{
	const struct api_subnet_claim *a = &sort_base[*(const size_t *)x], *b = &sort_base[*(const size_t *)y];

	if (a->create_rev != b->create_rev)
		return a->create_rev < b->create_rev ? -1 : 1;
	return strcmp(a->node ? a->node : "", b->node ? b->node : "");
}

/* Claims' indices, oldest first. New array (free()), NULL when out of
 * memory. Not reentrant (qsort has no context argument in C11). */
static size_t *
by_age(const struct api_subnet_claim *c, size_t n)
{
	size_t *o = malloc((n ? n : 1) * sizeof(*o)), i;

	if (!o)
		return NULL;
	for (i = 0; i < n; i++)
		o[i] = i;
	sort_base = c;
	qsort(o, n, sizeof(*o), cmp_age);
	return o;
}

/* Against the older winners o[0..k): does claim o[k] lose? */
static int
loses(const struct api_subnet_claim *c, const struct claim_view *v, const int *valid, const size_t *o, size_t k,
      char *why)
{
	size_t j, me = o[k];

	for (j = 0; j < k; j++) {
		if (!valid[o[j]])
			continue;
		if (api_cidr_overlap(&v[o[j]].net, &v[me].net))
			return snprintf(why, API_SUBNET_WHY, CONFLICT "overlaps the older subnet of node %s",
			                c[o[j]].node),
			       1;
		if (v[o[j]].gw == v[me].gw)
			return snprintf(why, API_SUBNET_WHY, CONFLICT "hostIP is already node %s's", c[o[j]].node), 1;
	}
	return 0;
}

int
api_subnets_judge(const struct api_network_config *net, struct api_subnet_claim *c, size_t n, int *valid,
                  char (*why)[API_SUBNET_WHY])
{
	struct claim_view *v = calloc(n ? n : 1, sizeof(*v));
	size_t *o = by_age(c, n), k;
	int bad = 0;

	for (k = 0; k < n; k++)
		valid[k] = 0;
	if (!v || !o) {
		free(v);
		free(o);
		return -1;
	}
	for (k = 0; k < n; k++) {
		why[k][0] = '\0';
		claim_view(net, &c[k], &v[k], why[k]);
	}
	for (k = 0; k < n; k++) {
		size_t me = o[k];

		valid[me] = v[me].ok && !loses(c, v, valid, o, k, why[me]);
		bad += !valid[me];
	}
	free(v);
	free(o);
	return bad;
}

int
api_subnets_is_conflict(const char *why)
{
	return strncmp(why, CONFLICT, strlen(CONFLICT)) == 0;
}

static int
cmp_cidr(const void *x, const void *y)
{
	const struct api_cidr *a = x, *b = y;

	return a->addr < b->addr ? -1 : a->addr > b->addr;
}

/* The last address of c, widened so that 255.255.255.255/n does not wrap. */
static uint64_t
cidr_last(const struct api_cidr *c)
{
	return (uint64_t)c->addr + ((uint64_t)1 << (32 - c->len)) - 1;
}

int
api_subnets_next(const struct api_cidr *pod, int len, const struct api_cidr *taken, size_t n, struct api_cidr *out)
{
	uint64_t size, cand, end;
	struct api_cidr *t;
	size_t i;

	if (len <= pod->len || len > 30)
		return -1;
	size = (uint64_t)1 << (32 - len);
	cand = (uint64_t)pod->addr + size; /* index 0 is skipped */
	end = cidr_last(pod);
	t = malloc((n ? n : 1) * sizeof(*t));
	if (!t)
		return -1;
	if (n)
		memcpy(t, taken, n * sizeof(*t));
	qsort(t, n, sizeof(*t), cmp_cidr);
	for (i = 0; i < n && cand + size - 1 <= end; i++) {
		uint64_t lo = t[i].addr, hi = cidr_last(&t[i]);

		if (t[i].len <= pod->len)
			continue; /* not a block of the pool: must not block it all */
		if (hi < cand || lo > cand + size - 1)
			continue;                         /* sorted: the candidate is free of it */
		cand = (hi + 1 + size - 1) / size * size; /* first aligned block after t[i] */
	}
	free(t);
	if (cand + size - 1 > end)
		return 1;
	out->addr = (uint32_t)cand;
	out->len = len;
	return 0;
}

/* The valid claims' blocks into t (n entries); refuses gw when one of
 * them already uses it. Returns the count, or -1 with why. */
static long
valid_blocks(const struct api_network_config *net, const struct api_subnet_claim *c, size_t n, const int *valid,
             uint32_t gw, struct api_cidr *t, char *why, size_t len)
{
	char w[API_SUBNET_WHY];
	struct claim_view v;
	size_t i, k = 0;

	for (i = 0; i < n; i++) {
		if (!valid[i])
			continue;
		claim_view(net, &c[i], &v, w);
		if (!v.ok)
			continue;
		if (v.gw == gw)
			return snprintf(why, len, "hostIP is already node %s's", c[i].node), -1;
		t[k++] = v.net;
	}
	return (long)k;
}

int
api_subnets_allocate(const struct api_network_config *net, const struct api_subnet_claim *c, size_t n, const int *valid,
                     const char *host_ip, struct api_cidr *out, char *why, size_t len)
{
	struct api_cidr *t;
	uint32_t gw;
	long k;
	int rc;

	if (api_hostip_check(net, host_ip, why, len) < 0)
		return -1;
	api_ipv4_parse(host_ip, &gw, NULL);
	t = malloc((n ? n : 1) * sizeof(*t));
	if (!t)
		return snprintf(why, len, "out of memory"), 1;
	k = valid_blocks(net, c, n, valid, gw, t, why, len);
	if (k < 0) {
		free(t);
		return -1;
	}
	rc = api_subnets_next(&net->pod_cidr, net->subnet_length, t, (size_t)k, out);
	free(t);
	if (rc == 1)
		snprintf(why, len, "the podCIDR has no free /%d left", net->subnet_length);
	else if (rc < 0)
		return snprintf(why, len, "out of memory or a bad subnetLength"), 1;
	return rc;
}
