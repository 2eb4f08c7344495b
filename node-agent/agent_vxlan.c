/*
 * agent_vxlan.c: the vxlan backend in the agent (P/network/config
 * "backend": {"type": "vxlan"}, with --routing host-gw). Makes the device
 * skiff.VNI (agent_vxlan_nl.c) before the Docker network, whose MTU then
 * follows the device's; reports the device's MAC in the node status
 * (agent_register.c), from where the node controller copies it into this
 * node's subnet entry; and, at each routes sync of agent_routes.c, keeps
 * for every other node with a valid entry its neighbour and forwarding
 * entries (the route itself goes through agent_routes.c's table sync), so
 * that an entry that goes takes its three entries with it and stale ones
 * found at start go too.
 *
 * It does not pick the backend at run time: the config adopted with the
 * subnet at start is the one followed (a change needs a restart, as a
 * changed pod network does). Nothing is undone at stop: running pods use
 * the device and the entries.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "agent_vxlan_nl.h"

int
vxlan_on(const struct agent *a)
{
	return a->o.host_gw && a->pod_subnet[0] && a->netcfg.backend.type == API_BACKEND_VXLAN;
}

static void
mac_format(const unsigned char *m, char *buf, size_t len)
{
	snprintf(buf, len, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
}

/* The node's link: index, MTU and networks (kept for directRouting). */
static int
host_link(struct agent *a, struct vx_link *want, char *why, size_t len)
{
	struct api_cidr *nets;
	size_t nn;
	int mtu;

	if (api_ipv4_parse(a->host_ip, &want->local, NULL) < 0)
		return snprintf(why, len, "the node's address %s is not IPv4", a->host_ip), -1;
	if (vxnl_host_link(want->local, &want->link, &mtu, &nets, &nn, why, len) != 0)
		return -1;
	free(a->vx_links);
	a->vx_links = nets;
	a->vx_nlinks = nn;
	if ((want->mtu = vxcalc_mtu(mtu)) < 0)
		return snprintf(why, len, "the node's link MTU %d leaves less than %d for pods", mtu, VX_MIN_MTU), -1;
	return 0;
}

int
vxlan_setup(struct agent *a)
{
	const struct api_network_backend *b = &a->netcfg.backend;
	struct vx_link want = {.vni = b->vni, .port = b->port}, found;
	struct api_cidr sn;
	char why[512], mac[18];
	int made;

	vxcalc_name(b->vni, want.name, sizeof(want.name));
	api_cidr_parse(a->pod_subnet, &sn, NULL);
	if (host_link(a, &want, why, sizeof(why)) < 0 ||
	    vxnl_ensure(&want, sn.addr, &found, &made, why, sizeof(why)) < 0) {
		net_warn(a, LL_ERROR, "VXLANSetupFailed",
		         "cannot set up the VXLAN device %s (VNI %d, UDP port %d, local %s): %s; pods wait, retrying",
		         want.name, b->vni, b->port, a->host_ip, why);
		return -1;
	}
	mac_format(found.mac, mac, sizeof(mac));
	if (made || strcmp(mac, a->vx_mac) != 0)
		log_kv(LL_INFO, KV("node", a->o.node_name, "device", want.name, "vtepMAC", mac),
		       "%s the VXLAN device (VNI %d, UDP port %d, MTU %d)", made ? "made" : "using", b->vni, b->port,
		       want.mtu);
	a->vx_ifindex = found.ifindex;
	a->vx_mtu = want.mtu;
	if (strcmp(mac, a->vx_mac) != 0) {
		snprintf(a->vx_mac, sizeof(a->vx_mac), "%s", mac);
		register_refresh(a); /* the node controller copies it into our subnet entry */
	}
	return 0;
}

int
vxlan_peer(struct agent *a, const struct subnets_view *v, size_t i, uint32_t self, const struct api_cidr *own,
           struct vx_peer *out, char *why, size_t len)
{
	struct api_subnet *s = subnets_claim(v, i);
	int rc;

	if (!s)
		return 1; /* the judge decoded it: only out of memory */
	rc = vxcalc_peer(&v->cfg, s, self, own, a->vx_links, a->vx_nlinks, a->netcfg.backend.direct_routing, out, why,
	                 len);
	if (rc == 1 && s->host_ip && strcmp(s->host_ip, a->host_ip) != 0)
		log_kv(LL_DEBUG, KV("key", v->o[i]->key), "no VXLAN entries yet: %s", why);
	api_subnet_free(s);
	return rc;
}

void
vxlan_sync(struct agent *a, const struct vx_peer *p, size_t n, struct netcalc_route *r, size_t *nr)
{
	struct vx_neigh *ne = calloc(n + 1, sizeof(*ne));
	struct vx_fdb *f = calloc(n + 1, sizeof(*f));
	struct vxnl_result res;
	size_t nn, nf;

	if (!ne || !f) {
		*nr = 0;
		free(ne);
		free(f);
		return;
	}
	vxcalc_want(p, n, a->vx_ifindex, r, nr, ne, &nn, f, &nf);
	if (vxnl_sync(a->vx_ifindex, ne, nn, f, nf, &res) < 0)
		net_warn(a, LL_ERROR, "VXLANEntryFailed",
		         "cannot read the VXLAN neighbour and forwarding entries: %s; retrying at the next sync",
		         res.why);
	else if (res.failed)
		net_warn(a, LL_ERROR, "VXLANEntryFailed",
		         "%zu VXLAN neighbour or forwarding entries could not be changed, the first: %s; retrying at "
		         "the next sync",
		         res.failed, res.why);
	if (res.set || res.deleted)
		log_kv(LL_INFO, KV("node", a->o.node_name), "VXLAN entries synced: %zu peers, %zu set, %zu deleted", nn,
		       res.set, res.deleted);
	free(ne);
	free(f);
}

int
vxlan_on_link(const struct agent *a, uint32_t gw)
{
	struct api_cidr *nets;
	size_t nn;
	uint32_t self;
	int ifindex, mtu, on = 0;
	char why[128];

	if (api_ipv4_parse(a->host_ip, &self, NULL) < 0 ||
	    vxnl_host_link(self, &ifindex, &mtu, &nets, &nn, why, sizeof(why)) != 0)
		return -1;
	for (size_t i = 0; i < nn; i++)
		on |= api_cidr_contains(&nets[i], gw);
	free(nets);
	return on;
}
