/*
 * agent_vxlan_nl.h: the vxlan backend's kernel side (agent_vxlan_nl.c),
 * over rtnetlink with the messages of agent_vxlan_calc.c: the device, the
 * node's own link, and the neighbour and forwarding entries. Like
 * agent_rtnl.c, each call waits for the kernel's immediate answer on a
 * socket of its own, so it is fine on the event loop. Knows nothing of
 * etcd or of struct agent (the namespace tests drive it directly).
 */
#ifndef SKIFF_AGENT_VXLAN_NL_H
#define SKIFF_AGENT_VXLAN_NL_H

#include <stddef.h>
#include <stdint.h>

#include "agent_vxlan_calc.h"

/* The interface holding address ip: its index and MTU into *ifindex,
 * *mtu, and the networks of every IPv4 address of the host with a prefix
 * shorter than /32 into *nets (new array, free it; count in *nn): the
 * links other nodes may share. 0, 1 when no interface has ip, -1 with
 * why. */
int vxnl_host_link(uint32_t ip, int *ifindex, int *mtu, struct api_cidr **nets, size_t *nn, char *why, size_t len);

/* Make device want (name, vni, port, local, link, mtu) exist, up, with
 * address addr/32 (SUBNET.0: the source of the node's own packets to other
 * nodes' pods). A device of that name with another kind, VNI, port, local
 * address or with learning on is deleted and made again (*made = 2); a new
 * one gives *made = 1, else 0. *found gets the device (its index and
 * MAC). 0, or -1 with why. */
int vxnl_ensure(const struct vx_link *want, uint32_t addr, struct vx_link *found, int *made, char *why, size_t len);

/* The device called name into *found: 0, 1 when absent, -1 with why. */
int vxnl_link_get(const char *name, struct vx_link *found, char *why, size_t len);

/* The entries present on ifindex: permanent IPv4 neighbours into *ne and
 * forwarding entries with a destination into *fdb (new arrays, free them;
 * NULL when none), counts in *nn, *nf. 0, or -1 with why. */
int vxnl_entries(int ifindex, struct vx_neigh **ne, size_t *nn, struct vx_fdb **fdb, size_t *nf, char *why, size_t len);

/* What a sync did. */
struct vxnl_result {
	size_t set, deleted, failed;
	char why[256]; /* the first failure, "" when none */
};

/* Make the neighbour and forwarding entries of ifindex exactly ne[0..nn)
 * and fdb[0..nf) (the vxcalc_*_diff of what is present): adds replace,
 * entries nobody wants go (stale ones from before a restart included).
 * 0 with *r, or -1 with r->why when the present entries cannot be read
 * (nothing changed then). A failed add or delete counts in r->failed and
 * the others go on. */
int vxnl_sync(int ifindex, const struct vx_neigh *ne, size_t nn, const struct vx_fdb *fdb, size_t nf,
              struct vxnl_result *r);

#endif
