/*
 * agent_vxlan_calc.c: the vxlan backend's pure part (see
 * agent_vxlan_calc.h): it decides which entries the node wants and builds
 * and reads the rtnetlink messages for them. It never opens a socket;
 * agent_vxlan_nl.c sends what is built here.
 */
#include <arpa/inet.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "agent_vxlan_calc.h"

void
vxcalc_name(int vni, char *buf, size_t len)
{
	snprintf(buf, len, "skiff.%d", vni);
}

int
vxcalc_mtu(int link_mtu)
{
	return link_mtu - VX_OVERHEAD < VX_MIN_MTU ? -1 : link_mtu - VX_OVERHEAD;
}

/* Whether ip lies in one of links (a /32 is no shared link). */
static int
on_link(uint32_t ip, const struct api_cidr *links, size_t nl)
{
	for (size_t i = 0; i < nl; i++)
		if (links[i].len < 32 && api_cidr_contains(&links[i], ip))
			return 1;
	return 0;
}

int
vxcalc_peer(const struct api_network_config *nc, const struct api_subnet *s, uint32_t self_ip,
            const struct api_cidr *own, const struct api_cidr *links, size_t nl, int direct, struct vx_peer *out,
            char *why, size_t len)
{
	struct netcalc_route r;
	struct api_error e;
	int rc = netcalc_want_route(nc, s->subnet, s->host_ip, self_ip, own, &r, why, len);

	if (rc != 0)
		return rc;
	memset(out, 0, sizeof(*out));
	out->subnet = r.dst;
	out->host_ip = out->public_ip = r.gw;
	if (s->public_ip && api_ipv4_parse(s->public_ip, &out->public_ip, &e) < 0)
		return snprintf(why, len, "publicIP: %s", e.msg), -1;
	if (direct && on_link(r.gw, links, nl)) {
		out->direct = 1;
		return 0;
	}
	if (!s->vtep_mac)
		return snprintf(why, len, "no backendData.vtepMAC yet (the node's agent has not reported it)"), 1;
	if (api_mac_parse(s->vtep_mac, out->mac, &e) < 0)
		return snprintf(why, len, "backendData.vtepMAC: %s", e.msg), -1;
	return 0;
}

void
vxcalc_want(const struct vx_peer *p, size_t n, int ifindex, struct netcalc_route *r, size_t *nr, struct vx_neigh *ne,
            size_t *nn, struct vx_fdb *fdb, size_t *nf)
{
	*nr = *nn = *nf = 0;
	for (size_t i = 0; i < n; i++) {
		if (p[i].direct) {
			r[(*nr)++] = (struct netcalc_route){p[i].subnet, p[i].host_ip, 0};
			continue;
		}
		r[(*nr)++] = (struct netcalc_route){p[i].subnet, p[i].subnet.addr, ifindex};
		ne[*nn].ip = p[i].subnet.addr;
		memcpy(ne[(*nn)++].mac, p[i].mac, 6);
		memcpy(fdb[*nf].mac, p[i].mac, 6);
		fdb[(*nf)++].dst = p[i].public_ip;
	}
}

/* Entries of either kind, by their key and their value. */
struct entry_kind {
	size_t size;
	int (*same_key)(const void *a, const void *b);
	int (*same_value)(const void *a, const void *b);
};

static long
find(const struct entry_kind *k, const void *v, size_t n, const void *x)
{
	for (size_t i = 0; i < n; i++)
		if (k->same_key((const char *)v + i * k->size, x))
			return (long)i;
	return -1;
}

/* The diff both kinds share (see vxcalc_neigh_diff). */
static void
diff(const struct entry_kind *k, const void *want, size_t nw, const void *have, size_t nh, void *add, size_t *nadd,
     void *del, size_t *ndel)
{
	const char *w = want, *h = have;
	long j;

	*nadd = *ndel = 0;
	for (size_t i = 0; i < nw; i++) {
		if (find(k, w, i, w + i * k->size) >= 0)
			continue; /* a duplicate: the first one wins */
		j = find(k, h, nh, w + i * k->size);
		if (j < 0 || !k->same_value(h + (size_t)j * k->size, w + i * k->size))
			memcpy((char *)add + (*nadd)++ * k->size, w + i * k->size, k->size);
	}
	for (size_t i = 0; i < nh; i++)
		if (find(k, w, nw, h + i * k->size) < 0)
			memcpy((char *)del + (*ndel)++ * k->size, h + i * k->size, k->size);
}

static int
neigh_key(const void *a, const void *b)
{
	return ((const struct vx_neigh *)a)->ip == ((const struct vx_neigh *)b)->ip;
}

static int
neigh_value(const void *a, const void *b)
{
	return memcmp(((const struct vx_neigh *)a)->mac, ((const struct vx_neigh *)b)->mac, 6) == 0;
}

static int
fdb_key(const void *a, const void *b)
{
	return memcmp(((const struct vx_fdb *)a)->mac, ((const struct vx_fdb *)b)->mac, 6) == 0;
}

static int
fdb_value(const void *a, const void *b)
{
	return ((const struct vx_fdb *)a)->dst == ((const struct vx_fdb *)b)->dst;
}

void
vxcalc_neigh_diff(const struct vx_neigh *want, size_t nw, const struct vx_neigh *have, size_t nh, struct vx_neigh *add,
                  size_t *nadd, struct vx_neigh *del, size_t *ndel)
{
	static const struct entry_kind k = {sizeof(struct vx_neigh), neigh_key, neigh_value};

	diff(&k, want, nw, have, nh, add, nadd, del, ndel);
}

void
vxcalc_fdb_diff(const struct vx_fdb *want, size_t nw, const struct vx_fdb *have, size_t nh, struct vx_fdb *add,
                size_t *nadd, struct vx_fdb *del, size_t *ndel)
{
	static const struct entry_kind k = {sizeof(struct vx_fdb), fdb_key, fdb_value};

	diff(&k, want, nw, have, nh, add, nadd, del, ndel);
}

/* ------------------------------------------------------------- messages */

static struct nlmsghdr *
msg_init(void *buf, int type, int flags, size_t body)
{
	struct nlmsghdr *h = buf;

	memset(buf, 0, VX_MSG_MAX);
	h->nlmsg_len = (unsigned int)NLMSG_LENGTH(body);
	h->nlmsg_type = (unsigned short)type;
	h->nlmsg_flags = (unsigned short)(NLM_F_REQUEST | flags);
	h->nlmsg_seq = 1;
	return h;
}

/* Append attribute type (dlen bytes of data) to h; returns it. Callers
 * stay far below VX_MSG_MAX. */
static struct rtattr *
attr(struct nlmsghdr *h, unsigned short type, const void *data, size_t dlen)
{
	struct rtattr *a = (struct rtattr *)((char *)h + NLMSG_ALIGN(h->nlmsg_len));

	a->rta_type = type;
	a->rta_len = (unsigned short)RTA_LENGTH(dlen);
	if (dlen)
		memcpy(RTA_DATA(a), data, dlen);
	h->nlmsg_len = NLMSG_ALIGN(h->nlmsg_len) + RTA_ALIGN(a->rta_len);
	return a;
}

static void
attr_u32(struct nlmsghdr *h, unsigned short type, uint32_t v)
{
	attr(h, type, &v, 4);
}

/* Close a nested attribute opened at a. */
static void
nest_end(struct nlmsghdr *h, struct rtattr *a)
{
	a->rta_len = (unsigned short)((char *)h + h->nlmsg_len - (char *)a);
}

struct nlmsghdr *
vxmsg_link_new(void *buf, const struct vx_link *l)
{
	struct nlmsghdr *h = msg_init(buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, sizeof(struct ifinfomsg));
	struct ifinfomsg *ifi = NLMSG_DATA(h);
	struct rtattr *info, *data;
	uint32_t local = htonl(l->local);
	uint16_t port = htons((uint16_t)l->port);
	uint8_t no = 0;

	ifi->ifi_family = AF_UNSPEC;
	attr(h, IFLA_IFNAME, l->name, strnlen(l->name, sizeof(l->name) - 1) + 1);
	attr_u32(h, IFLA_MTU, (uint32_t)l->mtu);
	info = attr(h, IFLA_LINKINFO, NULL, 0);
	attr(h, IFLA_INFO_KIND, "vxlan", 6);
	data = attr(h, IFLA_INFO_DATA, NULL, 0);
	attr_u32(h, IFLA_VXLAN_ID, (uint32_t)l->vni);
	attr(h, IFLA_VXLAN_LOCAL, &local, 4);
	attr(h, IFLA_VXLAN_PORT, &port, 2);
	attr(h, IFLA_VXLAN_LEARNING, &no, 1);
	if (l->link > 0)
		attr_u32(h, IFLA_VXLAN_LINK, (uint32_t)l->link);
	nest_end(h, data);
	nest_end(h, info);
	return h;
}

struct nlmsghdr *
vxmsg_link_up(void *buf, int ifindex, int mtu)
{
	struct nlmsghdr *h = msg_init(buf, RTM_NEWLINK, 0, sizeof(struct ifinfomsg));
	struct ifinfomsg *ifi = NLMSG_DATA(h);

	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex;
	ifi->ifi_flags = IFF_UP;
	ifi->ifi_change = IFF_UP;
	attr_u32(h, IFLA_MTU, (uint32_t)mtu);
	return h;
}

struct nlmsghdr *
vxmsg_link_dump(void *buf)
{
	struct nlmsghdr *h = msg_init(buf, RTM_GETLINK, 0, sizeof(struct ifinfomsg));

	((struct ifinfomsg *)NLMSG_DATA(h))->ifi_family = AF_UNSPEC;
	return h;
}

struct nlmsghdr *
vxmsg_addr_dump(void *buf)
{
	struct nlmsghdr *h = msg_init(buf, RTM_GETADDR, 0, sizeof(struct ifaddrmsg));

	((struct ifaddrmsg *)NLMSG_DATA(h))->ifa_family = AF_INET;
	return h;
}

struct nlmsghdr *
vxmsg_link_del(void *buf, int ifindex)
{
	struct nlmsghdr *h = msg_init(buf, RTM_DELLINK, 0, sizeof(struct ifinfomsg));

	((struct ifinfomsg *)NLMSG_DATA(h))->ifi_index = ifindex;
	return h;
}

struct nlmsghdr *
vxmsg_addr(void *buf, int add, int ifindex, uint32_t addr, int len)
{
	struct nlmsghdr *h = msg_init(buf, add ? RTM_NEWADDR : RTM_DELADDR, add ? NLM_F_CREATE | NLM_F_REPLACE : 0,
	                              sizeof(struct ifaddrmsg));
	struct ifaddrmsg *ifa = NLMSG_DATA(h);
	uint32_t a = htonl(addr);

	ifa->ifa_family = AF_INET;
	ifa->ifa_prefixlen = (unsigned char)len;
	ifa->ifa_index = (unsigned int)ifindex;
	attr(h, IFA_LOCAL, &a, 4);
	attr(h, IFA_ADDRESS, &a, 4);
	return h;
}

/* An RTM_*NEIGH of family fam on ifindex (dump: no entry, no state). */
static struct nlmsghdr *
neigh_init(void *buf, int add, int dump, int fam, int ifindex)
{
	int type = dump ? RTM_GETNEIGH : add ? RTM_NEWNEIGH : RTM_DELNEIGH;
	struct nlmsghdr *h = msg_init(buf, type, add ? NLM_F_CREATE | NLM_F_REPLACE : 0, sizeof(struct ndmsg));
	struct ndmsg *nd = NLMSG_DATA(h);

	nd->ndm_family = (unsigned char)fam;
	nd->ndm_ifindex = dump ? 0 : ifindex;
	nd->ndm_state = dump ? 0 : NUD_PERMANENT;
	return h;
}

struct nlmsghdr *
vxmsg_neigh(void *buf, int add, int ifindex, const struct vx_neigh *n)
{
	struct nlmsghdr *h = neigh_init(buf, add, !n, AF_INET, ifindex);
	uint32_t ip;

	if (n) {
		ip = htonl(n->ip);
		attr(h, NDA_DST, &ip, 4);
		attr(h, NDA_LLADDR, n->mac, 6);
	}
	return h;
}

struct nlmsghdr *
vxmsg_fdb(void *buf, int add, int ifindex, const struct vx_fdb *f)
{
	struct nlmsghdr *h = neigh_init(buf, add, !f, AF_BRIDGE, ifindex);
	uint32_t ip;

	if (f) {
		((struct ndmsg *)NLMSG_DATA(h))->ndm_flags = NTF_SELF; /* the VXLAN device's own table */
		ip = htonl(f->dst);
		attr(h, NDA_LLADDR, f->mac, 6);
		attr(h, NDA_DST, &ip, 4);
	}
	return h;
}

/* The first byte after h's fixed part of size body, and the length of its
 * attributes; -1 when h is too short for body. */
static int
attrs_of(const struct nlmsghdr *h, size_t body, struct rtattr **a)
{
	if (h->nlmsg_len < NLMSG_LENGTH(body))
		return -1;
	*a = (struct rtattr *)((char *)NLMSG_DATA(h) + NLMSG_ALIGN(body));
	return (int)(h->nlmsg_len - NLMSG_SPACE(body));
}

static uint32_t
rta_u32(const struct rtattr *a)
{
	uint32_t v;

	memcpy(&v, RTA_DATA(a), 4);
	return v;
}

/* The IFLA_INFO_DATA of a vxlan link into l. */
static void
parse_vxlan_data(const struct rtattr *d, struct vx_link *l)
{
	int len = (int)RTA_PAYLOAD(d);
	uint16_t port;

	for (const struct rtattr *a = RTA_DATA(d); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		if (a->rta_type == IFLA_VXLAN_ID && RTA_PAYLOAD(a) >= 4)
			l->vni = (int)rta_u32(a);
		else if (a->rta_type == IFLA_VXLAN_LOCAL && RTA_PAYLOAD(a) >= 4)
			l->local = ntohl(rta_u32(a));
		else if (a->rta_type == IFLA_VXLAN_PORT && RTA_PAYLOAD(a) >= 2) {
			memcpy(&port, RTA_DATA(a), 2);
			l->port = ntohs(port);
		} else if (a->rta_type == IFLA_VXLAN_LEARNING && RTA_PAYLOAD(a) >= 1)
			l->learning = *(const uint8_t *)RTA_DATA(a);
		else if (a->rta_type == IFLA_VXLAN_LINK && RTA_PAYLOAD(a) >= 4)
			l->link = (int)rta_u32(a);
	}
}

/* IFLA_LINKINFO: its kind and, for vxlan, its data. */
static void
parse_linkinfo(const struct rtattr *info, struct vx_link *l)
{
	int len = (int)RTA_PAYLOAD(info);
	const struct rtattr *data = NULL;

	for (const struct rtattr *a = RTA_DATA(info); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		if (a->rta_type == IFLA_INFO_KIND && RTA_PAYLOAD(a) >= 5)
			l->is_vxlan = memcmp(RTA_DATA(a), "vxlan", 5) == 0 &&
			              (RTA_PAYLOAD(a) == 5 || ((const char *)RTA_DATA(a))[5] == '\0');
		else if (a->rta_type == IFLA_INFO_DATA)
			data = a;
	}
	if (l->is_vxlan && data)
		parse_vxlan_data(data, l);
}

int
vxmsg_parse_link(const struct nlmsghdr *h, struct vx_link *l)
{
	struct rtattr *a;
	int len;

	memset(l, 0, sizeof(*l));
	if (h->nlmsg_type != RTM_NEWLINK || (len = attrs_of(h, sizeof(struct ifinfomsg), &a)) < 0)
		return -1;
	l->ifindex = ((const struct ifinfomsg *)NLMSG_DATA(h))->ifi_index;
	for (; RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		if (a->rta_type == IFLA_IFNAME) {
			size_t n = RTA_PAYLOAD(a) < sizeof(l->name) ? RTA_PAYLOAD(a) : sizeof(l->name) - 1;

			memcpy(l->name, RTA_DATA(a), n);
			l->name[sizeof(l->name) - 1] = '\0';
		} else if (a->rta_type == IFLA_MTU && RTA_PAYLOAD(a) >= 4)
			l->mtu = (int)rta_u32(a);
		else if (a->rta_type == IFLA_ADDRESS && RTA_PAYLOAD(a) == 6)
			memcpy(l->mac, RTA_DATA(a), 6);
		else if (a->rta_type == IFLA_LINKINFO)
			parse_linkinfo(a, l);
	}
	return 0;
}

int
vxmsg_parse_neigh(const struct nlmsghdr *h, int ifindex, struct vx_neigh *ne, struct vx_fdb *fdb)
{
	const struct ndmsg *nd = NLMSG_DATA(h);
	const unsigned char *mac = NULL;
	struct rtattr *a;
	uint32_t dst = 0;
	int len, have_dst = 0;

	if (h->nlmsg_type != RTM_NEWNEIGH || (len = attrs_of(h, sizeof(struct ndmsg), &a)) < 0 ||
	    nd->ndm_ifindex != ifindex)
		return 0;
	for (; RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		if (a->rta_type == NDA_DST && RTA_PAYLOAD(a) == 4) {
			dst = ntohl(rta_u32(a));
			have_dst = 1;
		} else if (a->rta_type == NDA_LLADDR && RTA_PAYLOAD(a) == 6)
			mac = RTA_DATA(a);
	}
	if (!mac || !have_dst)
		return 0;
	if (nd->ndm_family == AF_INET && (nd->ndm_state & NUD_PERMANENT)) {
		ne->ip = dst;
		memcpy(ne->mac, mac, 6);
		return 1;
	}
	if (nd->ndm_family == AF_BRIDGE) {
		fdb->dst = dst;
		memcpy(fdb->mac, mac, 6);
		return 2;
	}
	return 0;
}

int
vxmsg_parse_addr(const struct nlmsghdr *h, struct api_cidr *c, int *ifindex)
{
	const struct ifaddrmsg *ifa = NLMSG_DATA(h);
	struct rtattr *a;
	int len;

	if (h->nlmsg_type != RTM_NEWADDR || (len = attrs_of(h, sizeof(struct ifaddrmsg), &a)) < 0 ||
	    ifa->ifa_family != AF_INET || ifa->ifa_prefixlen > 32)
		return 0;
	for (; RTA_OK(a, len); a = RTA_NEXT(a, len))
		if (a->rta_type == IFA_LOCAL && RTA_PAYLOAD(a) == 4) {
			c->addr = ntohl(rta_u32(a));
			c->len = ifa->ifa_prefixlen;
			*ifindex = (int)ifa->ifa_index;
			return 1;
		}
	return 0;
}
