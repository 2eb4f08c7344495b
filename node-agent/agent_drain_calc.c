/*
 * agent_drain_calc.c: the drain gate's decision (agent_drain_calc.h), pure
 * so that the unit tests drive it with made-up caches. It does not watch,
 * decode keys nor kick anyone: agent_drain.c does, and hands what its
 * caches say in here.
 */
#include <stdlib.h>

#include "agent_drain_calc.h"
#include "api/api.h"

static int
ip_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

int
drain_listed(const struct api_endpoints *const *eps, size_t n, uint32_t **out, size_t *n_out)
{
	size_t total = 0, k = 0;
	uint32_t *ips;
	struct api_error err;

	*out = NULL;
	*n_out = 0;
	for (size_t i = 0; i < n; i++)
		total += eps[i] ? eps[i]->n_addresses : 0;
	if (!total)
		return 0;
	if (!(ips = malloc(total * sizeof(*ips))))
		return -1;
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; eps[i] && j < eps[i]->n_addresses; j++)
			if (eps[i]->addresses[j].ip && api_ipv4_parse(eps[i]->addresses[j].ip, &ips[k], &err) == 0)
				k++;
	qsort(ips, k, sizeof(*ips), ip_cmp);
	*out = ips;
	*n_out = k;
	return 0;
}

int64_t
drain_min_live(const struct drain_proxy *p, size_t n)
{
	int64_t min = INT64_MAX;

	for (size_t i = 0; i < n; i++)
		if (p[i].live && p[i].rev < min)
			min = p[i].rev;
	return min;
}

int
drain_node_live(int has_lease, int64_t reported_at, int64_t gone_at)
{
	return has_lease || reported_at > gone_at;
}

int
drain_decide(const struct drain_view *v, uint32_t ip, struct drain_mem *m)
{
	if (!v->synced)
		return 1;
	if (v->n_ips && bsearch(&ip, v->ips, v->n_ips, sizeof(ip), ip_cmp)) {
		m->gone = 0;
		return 1;
	}
	if (!m->gone) {
		m->gone = 1;
		m->gone_rev = v->highest;
	}
	return v->min_live < m->gone_rev;
}
