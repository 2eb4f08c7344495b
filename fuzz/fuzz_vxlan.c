/*
 * fuzz_vxlan.c: libFuzzer target for the vxlan backend's pure part
 * (node-agent/agent_vxlan_calc.c). The first byte chooses:
 *   even: the rest is an rtnetlink message as the kernel might answer a
 *         dump (its nlmsg_len cut to what is there); the link, neighbour
 *         and address readers must not read past it, and what they give
 *         must be sane (a NUL-ended name, prefix at most 32);
 *   odd:  the rest is a Subnet value (P/network/subnets/NODE); the peer
 *         made of it lies in podCIDR, off our own subnet, and carries a
 *         unicast MAC unless direct; its entries, diffed against a
 *         reversed, partly stale copy and applied, give exactly the wanted
 *         ones.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "node-agent/agent_vxlan_calc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
read_msg(const uint8_t *data, size_t size)
{
	union {
		struct nlmsghdr h;
		char b[4096];
	} m;
	struct vx_link l;
	struct vx_neigh ne;
	struct vx_fdb f;
	struct api_cidr c;
	int ifindex;

	if (size < sizeof(struct nlmsghdr) || size > sizeof(m.b))
		return;
	memcpy(m.b, data, size);
	if (m.h.nlmsg_len > size)
		m.h.nlmsg_len = (uint32_t)size;
	if (m.h.nlmsg_len < sizeof(struct nlmsghdr))
		return;
	if (vxmsg_parse_link(&m.h, &l) == 0 && !memchr(l.name, '\0', sizeof(l.name)))
		abort();
	vxmsg_parse_neigh(&m.h, 1, &ne, &f);
	if (vxmsg_parse_addr(&m.h, &c, &ifindex) == 1 && c.len > 32)
		abort();
}

/* have + diff == want for the neighbour entries (by address). */
static void
check_neigh(const struct vx_neigh *want, size_t nw)
{
	struct vx_neigh have[4], add[4], del[4], res[8];
	size_t nh = 0, na, nd, nr = 0;

	for (size_t i = 0; i < nw; i++) {
		have[nh] = want[nw - 1 - i];
		have[nh++].mac[5] ^= (uint8_t)(i % 2); /* every other one stale */
	}
	have[nh++] = (struct vx_neigh){0x0af4ff00, {2, 0, 0, 0, 0, 1}}; /* nobody's */
	vxcalc_neigh_diff(want, nw, have, nh, add, &na, del, &nd);
	for (size_t i = 0; i < nh; i++) {
		int gone = 0;

		for (size_t j = 0; j < nd; j++)
			gone |= del[j].ip == have[i].ip;
		for (size_t j = 0; j < na; j++)
			gone |= add[j].ip == have[i].ip;
		if (!gone)
			res[nr++] = have[i];
	}
	memcpy(res + nr, add, na * sizeof(*add));
	nr += na;
	if (nr != nw)
		abort();
	for (size_t i = 0; i < nw; i++) {
		int found = 0;

		for (size_t j = 0; j < nr; j++)
			found |= res[j].ip == want[i].ip && memcmp(res[j].mac, want[i].mac, 6) == 0;
		if (!found)
			abort();
	}
}

static void
read_subnet(const uint8_t *data, size_t size)
{
	struct api_errors e = {0};
	struct api_network_config nc;
	struct api_subnet *s = api_subnet_parse((const char *)data, size, &e);
	struct api_cidr own, link;
	struct vx_peer p;
	struct netcalc_route r[1];
	struct vx_neigh ne[1];
	struct vx_fdb f[1];
	size_t nr, nn, nf;
	char why[256];

	api_errors_clear(&e);
	if (!s)
		return;
	api_network_config_default(&nc);
	api_cidr_parse("10.244.1.0/24", &own, NULL);
	api_cidr_parse("198.51.100.0/24", &link, NULL);
	for (int direct = 0; direct < 2; direct++) {
		if (vxcalc_peer(&nc, s, 0xc633640b, &own, &link, 1, direct, &p, why, sizeof(why)) != 0)
			continue;
		if (!api_cidr_contains(&nc.pod_cidr, p.subnet.addr) || api_cidr_overlap(&own, &p.subnet) ||
		    (!p.direct && (p.mac[0] & 1)))
			abort();
		vxcalc_want(&p, 1, 3, r, &nr, ne, &nn, f, &nf);
		if (nr != 1 || nn != !p.direct || nf != nn || (nn && r[0].gw != p.subnet.addr))
			abort();
		check_neigh(ne, nn);
	}
	api_subnet_free(s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (data[0] % 2 == 0)
		read_msg(data + 1, size - 1);
	else
		read_subnet(data + 1, size - 1);
	return 0;
}
