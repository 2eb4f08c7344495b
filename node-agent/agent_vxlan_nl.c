/*
 * agent_vxlan_nl.c: the vxlan backend's kernel side (see
 * agent_vxlan_nl.h): sends the messages agent_vxlan_calc.c builds through
 * agent_rtnl.c's rtnl_talk and rtnl_dump, and applies the entry diffs.
 * It does not decide what is wanted (agent_vxlan.c and the pure calc do)
 * and does not log: the caller reports what comes back.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent_rtnl.h"
#include "agent_vxlan_nl.h"

/* A message buffer aligned for struct nlmsghdr. */
union vx_buf {
	struct nlmsghdr h;
	char b[VX_MSG_MAX];
};

/* Append x (size bytes) to the growing array *arr of *n items, *cap
 * allocated. -1 when out of memory. */
static int
push(void **arr, size_t *n, size_t *cap, const void *x, size_t size)
{
	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 8;
		void *p = realloc(*arr, nc * size);

		if (!p)
			return -1;
		*arr = p;
		*cap = nc;
	}
	memcpy((char *)*arr + *n * size, x, size);
	(*n)++;
	return 0;
}

/* ------------------------------------------------------------- the link */

struct addr_dump {
	uint32_t ip;
	int ifindex; /* the interface holding ip, 0 until found */
	struct api_cidr *all;
	int *idx;
	size_t n, cap, icap;
};

static int
addr_msg(struct nlmsghdr *h, void *arg)
{
	struct addr_dump *d = arg;
	struct api_cidr c;
	int ifindex;
	size_t n = d->n;

	if (vxmsg_parse_addr(h, &c, &ifindex) != 1)
		return 0;
	if (c.addr == d->ip)
		d->ifindex = ifindex;
	if (push((void **)&d->all, &d->n, &d->cap, &c, sizeof(c)) < 0 ||
	    push((void **)&d->idx, &n, &d->icap, &ifindex, sizeof(ifindex)) < 0)
		return -1;
	return 0;
}

struct link_dump {
	const char *name; /* match by name, or */
	int ifindex;      /* by index */
	struct vx_link *found;
	int hit;
};

static int
link_msg(struct nlmsghdr *h, void *arg)
{
	struct link_dump *d = arg;
	struct vx_link l;

	if (d->hit || vxmsg_parse_link(h, &l) < 0)
		return 0;
	if ((d->name && strcmp(l.name, d->name) == 0) || (!d->name && l.ifindex == d->ifindex)) {
		*d->found = l;
		d->hit = 1;
	}
	return 0;
}

/* The device called name, or with index ifindex (name NULL). */
static int
link_find(const char *name, int ifindex, struct vx_link *found, char *why, size_t len)
{
	union vx_buf m;
	struct link_dump d = {name, ifindex, found, 0};

	if (rtnl_dump(vxmsg_link_dump(m.b), link_msg, &d, why, len) < 0)
		return -1;
	return d.hit ? 0 : 1;
}

int
vxnl_link_get(const char *name, struct vx_link *found, char *why, size_t len)
{
	return link_find(name, 0, found, why, len);
}

/* The networks (host bits cleared) of d's addresses on its interface. */
static size_t
link_nets(struct addr_dump *d)
{
	size_t k = 0;

	for (size_t i = 0; i < d->n; i++)
		if (d->idx[i] == d->ifindex && d->all[i].len < 32) {
			d->all[k] = d->all[i];
			d->all[k].addr &= d->all[k].len ? ~0u << (32 - d->all[k].len) : 0;
			k++;
		}
	return k;
}

int
vxnl_host_link(uint32_t ip, int *ifindex, int *mtu, struct api_cidr **nets, size_t *nn, char *why, size_t len)
{
	union vx_buf m;
	struct addr_dump d = {ip, 0, NULL, NULL, 0, 0, 0};
	struct vx_link l;
	int rc;

	*nets = NULL;
	*nn = 0;
	rc = rtnl_dump(vxmsg_addr_dump(m.b), addr_msg, &d, why, len);
	if (rc == 0 && d.ifindex == 0)
		rc = 1;
	if (rc == 0 && (rc = link_find(NULL, d.ifindex, &l, why, len)) == 0) {
		*ifindex = d.ifindex;
		*mtu = l.mtu;
		*nn = link_nets(&d);
		*nets = d.all;
		d.all = NULL;
	}
	if (rc == 1)
		snprintf(why, len, "no interface holds the node's address");
	free(d.all);
	free(d.idx);
	return rc;
}

/* ----------------------------------------------------------- the device */

static int
send_ack(struct nlmsghdr *h, const char *what, char *why, size_t len)
{
	char w[200];
	int e;

	if (rtnl_talk(h, &e, w, sizeof(w)) == 0)
		return 0;
	snprintf(why, len, "%s: %s", what, w);
	return -1;
}

/* Whether found is the device want describes. */
static int
link_matches(const struct vx_link *want, const struct vx_link *found)
{
	return found->is_vxlan && found->vni == want->vni && found->port == want->port && found->local == want->local &&
	       !found->learning && (want->link <= 0 || found->link == want->link);
}

/* Delete every IPv4 address of ifindex but keep/32 (a subnet the node had
 * before a restart). */
static int
stale_addrs(int ifindex, uint32_t keep, char *why, size_t len)
{
	union vx_buf m;
	struct addr_dump d = {0, 0, NULL, NULL, 0, 0, 0};
	int rc = rtnl_dump(vxmsg_addr_dump(m.b), addr_msg, &d, why, len);

	for (size_t i = 0; rc == 0 && i < d.n; i++)
		if (d.idx[i] == ifindex && (d.all[i].addr != keep || d.all[i].len != 32))
			rc = send_ack(vxmsg_addr(m.b, 0, ifindex, d.all[i].addr, d.all[i].len),
			              "deleting the device's old address", why, len);
	free(d.all);
	free(d.idx);
	return rc;
}

int
vxnl_ensure(const struct vx_link *want, uint32_t addr, struct vx_link *found, int *made, char *why, size_t len)
{
	union vx_buf m;
	int rc = link_find(want->name, 0, found, why, len);

	*made = 0;
	if (rc < 0)
		return -1;
	if (rc == 0 && !link_matches(want, found)) {
		if (send_ack(vxmsg_link_del(m.b, found->ifindex), "deleting the mismatched device", why, len) < 0)
			return -1;
		*made = 1; /* 2 below */
		rc = 1;
	}
	if (rc == 1) {
		if (send_ack(vxmsg_link_new(m.b, want), "creating the VXLAN device", why, len) < 0)
			return -1;
		*made += 1;
		if (link_find(want->name, 0, found, why, len) != 0)
			return snprintf(why, len, "the VXLAN device %s vanished after its creation", want->name), -1;
	}
	if (send_ack(vxmsg_link_up(m.b, found->ifindex, want->mtu), "setting the device's MTU and up", why, len) < 0 ||
	    send_ack(vxmsg_addr(m.b, 1, found->ifindex, addr, 32), "setting the device's address", why, len) < 0 ||
	    stale_addrs(found->ifindex, addr, why, len) < 0)
		return -1;
	found->mtu = want->mtu;
	return 0;
}

/* -------------------------------------------------------------- entries */

struct entry_dump {
	int ifindex;
	struct vx_neigh *ne;
	struct vx_fdb *fdb;
	size_t nn, nf, cn, cf;
};

static int
neigh_msg(struct nlmsghdr *h, void *arg)
{
	struct entry_dump *d = arg;
	struct vx_neigh ne;
	struct vx_fdb f;

	switch (vxmsg_parse_neigh(h, d->ifindex, &ne, &f)) {
	case 1: return push((void **)&d->ne, &d->nn, &d->cn, &ne, sizeof(ne));
	case 2: return push((void **)&d->fdb, &d->nf, &d->cf, &f, sizeof(f));
	default: return 0;
	}
}

int
vxnl_entries(int ifindex, struct vx_neigh **ne, size_t *nn, struct vx_fdb **fdb, size_t *nf, char *why, size_t len)
{
	struct entry_dump d = {ifindex, NULL, NULL, 0, 0, 0, 0};
	union vx_buf m;

	if (rtnl_dump(vxmsg_neigh(m.b, 0, 0, NULL), neigh_msg, &d, why, len) < 0 ||
	    rtnl_dump(vxmsg_fdb(m.b, 0, 0, NULL), neigh_msg, &d, why, len) < 0) {
		free(d.ne);
		free(d.fdb);
		*ne = NULL;
		*fdb = NULL;
		*nn = *nf = 0;
		return -1;
	}
	*ne = d.ne;
	*nn = d.nn;
	*fdb = d.fdb;
	*nf = d.nf;
	return 0;
}

/* One add (replace) or delete; a delete of an entry gone already is fine. */
static void
apply_one(struct nlmsghdr *h, int add, const char *what, struct vxnl_result *r)
{
	char w[200];
	int e;

	if (rtnl_talk(h, &e, w, sizeof(w)) == 0 || (!add && e == ENOENT)) {
		add ? r->set++ : r->deleted++;
		return;
	}
	if (!r->failed++)
		snprintf(r->why, sizeof(r->why), "%s a %s entry: %s", add ? "adding" : "deleting", what, w);
}

/* The diffs of present against wanted, applied (adds first: a changed
 * peer is never without its entries). */
static void
apply_diff(int ifindex, const struct vx_neigh *ne, size_t nn, const struct vx_fdb *fdb, size_t nf,
           const struct vx_neigh *hn, size_t hnn, const struct vx_fdb *hf, size_t hnf, struct vxnl_result *r)
{
	struct vx_neigh *na = calloc(nn + 1, sizeof(*na)), *nd = calloc(hnn + 1, sizeof(*nd));
	struct vx_fdb *fa = calloc(nf + 1, sizeof(*fa)), *fd = calloc(hnf + 1, sizeof(*fd));
	size_t nna = 0, nnd = 0, nfa = 0, nfd = 0, i;
	union vx_buf m;

	if (na && nd && fa && fd) {
		vxcalc_neigh_diff(ne, nn, hn, hnn, na, &nna, nd, &nnd);
		vxcalc_fdb_diff(fdb, nf, hf, hnf, fa, &nfa, fd, &nfd);
		for (i = 0; i < nfa; i++)
			apply_one(vxmsg_fdb(m.b, 1, ifindex, &fa[i]), 1, "forwarding", r);
		for (i = 0; i < nna; i++)
			apply_one(vxmsg_neigh(m.b, 1, ifindex, &na[i]), 1, "neighbour", r);
		for (i = 0; i < nnd; i++)
			apply_one(vxmsg_neigh(m.b, 0, ifindex, &nd[i]), 0, "neighbour", r);
		for (i = 0; i < nfd; i++)
			apply_one(vxmsg_fdb(m.b, 0, ifindex, &fd[i]), 0, "forwarding", r);
	} else if (!r->failed++)
		snprintf(r->why, sizeof(r->why), "out of memory");
	free(na);
	free(nd);
	free(fa);
	free(fd);
}

int
vxnl_sync(int ifindex, const struct vx_neigh *ne, size_t nn, const struct vx_fdb *fdb, size_t nf, struct vxnl_result *r)
{
	struct vx_neigh *hn;
	struct vx_fdb *hf;
	size_t hnn, hnf;

	memset(r, 0, sizeof(*r));
	if (vxnl_entries(ifindex, &hn, &hnn, &hf, &hnf, r->why, sizeof(r->why)) < 0)
		return -1;
	apply_diff(ifindex, ne, nn, fdb, nf, hn, hnn, hf, hnf, r);
	free(hn);
	free(hf);
	return 0;
}
