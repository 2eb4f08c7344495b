/*
 * agent_vxlan_calc.h: the vxlan backend's pure part (agent_vxlan_calc.c),
 * kept apart from agent.h so that the unit tests and the fuzzer link it
 * without the daemon: the device's name and MTU, which entries the agent
 * wants for the other nodes' subnets (flannel's three per node: a route
 * `SUBNET via SUBNET.0 dev skiff.VNI onlink`, a permanent neighbour entry
 * SUBNET.0 -> VTEP MAC, a forwarding-database entry VTEP MAC -> publicIP),
 * the differences between wanted and present entries, and the rtnetlink
 * messages that make, read and remove them. No I/O, no allocation.
 */
#ifndef SKIFF_AGENT_VXLAN_CALC_H
#define SKIFF_AGENT_VXLAN_CALC_H

#include <linux/netlink.h>
#include <stddef.h>
#include <stdint.h>

#include "agent_netcalc.h"

#define VX_OVERHEAD 50 /* outer IPv4 20 + UDP 8 + VXLAN 8 + inner Ethernet 14 */
#define VX_MIN_MTU 576
#define VX_MSG_MAX 256 /* room for any message built here */

/* Another node's VXLAN endpoint, from its valid subnet entry. */
struct vx_peer {
	struct api_cidr subnet;
	uint32_t public_ip; /* where its packets go (host byte order) */
	uint32_t host_ip;   /* its hostIP: the next hop of a direct (host-gw) route */
	unsigned char mac[6];
	int direct; /* directRouting and its hostIP on a link of ours: a host-gw route, no VXLAN */
};

/* A neighbour entry on the device: SUBNET.0 has the peer's VTEP MAC. */
struct vx_neigh {
	uint32_t ip;
	unsigned char mac[6];
};

/* A forwarding-database entry on the device: MAC is behind dst. */
struct vx_fdb {
	unsigned char mac[6];
	uint32_t dst;
};

/* "skiff.VNI" into buf (16 bytes suffice: at most 14 characters). */
void vxcalc_name(int vni, char *buf, size_t len);
/* The device's MTU for a link MTU: link - VX_OVERHEAD; -1 when that is
 * below VX_MIN_MTU. */
int vxcalc_mtu(int link_mtu);

/* The peer for one other node's subnet entry s. links[0..nl) are this
 * node's own IPv4 networks (address/prefix of each interface), used with
 * direct (directRouting) to find peers on a shared link. Returns 0 with
 * *out; 1 when there is nothing to make (our own entry, or a VXLAN peer
 * whose entry has no vtepMAC yet: why says which); -1 when the entry is
 * unusable (as netcalc_want_route, or a bad publicIP/vtepMAC), with why. */
int vxcalc_peer(const struct api_network_config *nc, const struct api_subnet *s, uint32_t self_ip,
                const struct api_cidr *own, const struct api_cidr *links, size_t nl, int direct, struct vx_peer *out,
                char *why, size_t len);

/* The entries for peers p[0..n) on device ifindex: r[] one route each
 * (direct: via host_ip, no device; else via SUBNET.0 dev ifindex onlink),
 * ne[] and fdb[] one each per peer that is not direct. Each array holds n
 * entries; counts in *nr, *nn, *nf. */
void vxcalc_want(const struct vx_peer *p, size_t n, int ifindex, struct netcalc_route *r, size_t *nr,
                 struct vx_neigh *ne, size_t *nn, struct vx_fdb *fdb, size_t *nf);

/* What to change so that the neighbour entries present become want: add[]
 * each wanted entry absent or with another MAC (a replace), del[] each
 * present one whose address is not wanted. add holds nw, del nh.
 * Duplicate addresses in want: the first wins. O(nw * nh). */
void vxcalc_neigh_diff(const struct vx_neigh *want, size_t nw, const struct vx_neigh *have, size_t nh,
                       struct vx_neigh *add, size_t *nadd, struct vx_neigh *del, size_t *ndel);
/* The same for forwarding entries, keyed by MAC (a changed dst is a
 * replace). */
void vxcalc_fdb_diff(const struct vx_fdb *want, size_t nw, const struct vx_fdb *have, size_t nh, struct vx_fdb *add,
                     size_t *nadd, struct vx_fdb *del, size_t *ndel);

/* The device wanted, or found. */
struct vx_link {
	char name[16];
	int ifindex; /* found: its index; wanted: ignored */
	int vni, port;
	uint32_t local; /* the node's address, host byte order */
	int link;       /* the underlying device's index (IFLA_VXLAN_LINK) */
	int mtu;
	int learning; /* found: 1 unless nolearning */
	int is_vxlan; /* found: its kind is vxlan */
	unsigned char mac[6];
};

/* Messages into buf (VX_MSG_MAX bytes, aligned for struct nlmsghdr);
 * each returns the nlmsghdr at buf's start. */
/* RTM_NEWLINK creating l (type vxlan, id, local, dstport, nolearning,
 * link, mtu), refusing to replace a device of that name. */
struct nlmsghdr *vxmsg_link_new(void *buf, const struct vx_link *l);
/* RTM_NEWLINK setting ifindex's MTU and up. */
struct nlmsghdr *vxmsg_link_up(void *buf, int ifindex, int mtu);
/* RTM_GETLINK for a dump of every device. */
struct nlmsghdr *vxmsg_link_dump(void *buf);
/* RTM_GETADDR for a dump of every IPv4 address. */
struct nlmsghdr *vxmsg_addr_dump(void *buf);
/* RTM_DELLINK of ifindex. */
struct nlmsghdr *vxmsg_link_del(void *buf, int ifindex);
/* RTM_NEWADDR (add: replacing) or RTM_DELADDR of addr/len on ifindex. */
struct nlmsghdr *vxmsg_addr(void *buf, int add, int ifindex, uint32_t addr, int len);
/* RTM_NEWNEIGH (add: create or replace, permanent) or RTM_DELNEIGH of a
 * neighbour entry / a forwarding entry on ifindex; a dump request of
 * either family with n NULL. */
struct nlmsghdr *vxmsg_neigh(void *buf, int add, int ifindex, const struct vx_neigh *n);
struct nlmsghdr *vxmsg_fdb(void *buf, int add, int ifindex, const struct vx_fdb *f);

/* Read an RTM_NEWLINK answer (h holds h->nlmsg_len bytes) into *l: 0, or
 * -1 when it is not one (or truncated). */
int vxmsg_parse_link(const struct nlmsghdr *h, struct vx_link *l);
/* Read one RTM_NEWNEIGH of a dump: 1 with *ne (an AF_INET permanent entry
 * on ifindex), 2 with *fdb (an AF_BRIDGE entry on ifindex with a
 * destination), 0 for anything else. */
int vxmsg_parse_neigh(const struct nlmsghdr *h, int ifindex, struct vx_neigh *ne, struct vx_fdb *fdb);
/* Read one RTM_NEWADDR of a dump: 1 with the IPv4 address and its prefix
 * in *c (c->addr the address itself, host bits kept) and its device in
 * *ifindex, 0 for anything else. */
int vxmsg_parse_addr(const struct nlmsghdr *h, struct api_cidr *c, int *ifindex);

#endif
