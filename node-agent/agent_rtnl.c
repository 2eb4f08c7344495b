/*
 * agent_rtnl.c: route list/replace/delete over a raw rtnetlink socket (see
 * agent_rtnl.h). No libmnl: three message shapes are all it takes. Only
 * the main table, IPv4, routes with a gateway.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent_rtnl.h"

struct rt_req {
	struct nlmsghdr nh;
	struct rtmsg rt;
	char attrs[64];
};

static void
add_attr(struct rt_req *q, unsigned short type, const void *data, size_t dlen)
{
	struct rtattr *a = (struct rtattr *)((char *)q + NLMSG_ALIGN(q->nh.nlmsg_len));

	a->rta_type = type;
	a->rta_len = (unsigned short)RTA_LENGTH(dlen);
	memcpy(RTA_DATA(a), data, dlen);
	q->nh.nlmsg_len = NLMSG_ALIGN(q->nh.nlmsg_len) + RTA_ALIGN(a->rta_len);
}

/* NLMSG_OK without its mixed-sign comparisons (gcc and clang disagree). */
static int
msg_ok(const struct nlmsghdr *h, size_t left)
{
	return left >= sizeof(*h) && h->nlmsg_len >= sizeof(*h) && h->nlmsg_len <= left;
}

static int
nl_open(char *why, size_t len)
{
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	struct timeval tv = {2, 0}; /* the kernel answers at once; never hang the loop */

	if (fd < 0) {
		snprintf(why, len, "netlink socket: %s", strerror(errno));
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

static void
req_init(struct rt_req *q, int type, int flags, const struct netcalc_route *r, uint8_t proto)
{
	memset(q, 0, sizeof(*q));
	q->nh.nlmsg_len = NLMSG_LENGTH(sizeof(struct rtmsg));
	q->nh.nlmsg_type = (unsigned short)type;
	q->nh.nlmsg_flags = (unsigned short)(NLM_F_REQUEST | flags);
	q->nh.nlmsg_seq = 1;
	q->rt.rtm_family = AF_INET;
	q->rt.rtm_table = RT_TABLE_MAIN;
	q->rt.rtm_protocol = proto;
	if (r) {
		uint32_t dst = htonl(r->dst.addr), gw = htonl(r->gw);

		q->rt.rtm_dst_len = (unsigned char)r->dst.len;
		q->rt.rtm_scope = RT_SCOPE_UNIVERSE;
		q->rt.rtm_type = RTN_UNICAST;
		add_attr(q, RTA_DST, &dst, 4);
		if (type == RTM_NEWROUTE)
			add_attr(q, RTA_GATEWAY, &gw, 4);
		if (type == RTM_NEWROUTE && r->oif) {
			uint32_t oif = (uint32_t)r->oif;

			add_attr(q, RTA_OIF, &oif, 4);
			q->rt.rtm_flags |= RTNH_F_ONLINK; /* the gateway is the other node's VTEP, no address here */
		}
	}
}

int
rtnl_talk(struct nlmsghdr *q, int *e, char *why, size_t len)
{
	char buf[1024];
	int fd = nl_open(why, len);
	ssize_t n;
	struct nlmsghdr *h;

	*e = 0;
	if (fd < 0)
		return -1;
	q->nlmsg_flags |= NLM_F_ACK;
	if (send(fd, q, q->nlmsg_len, 0) < 0 || (n = recv(fd, buf, sizeof(buf), 0)) < 0) {
		*e = errno;
		snprintf(why, len, "netlink: %s", strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	h = (struct nlmsghdr *)buf;
	if (!msg_ok(h, (size_t)n) || h->nlmsg_type != NLMSG_ERROR) {
		snprintf(why, len, "netlink: unexpected answer");
		return -1;
	}
	*e = -((struct nlmsgerr *)NLMSG_DATA(h))->error;
	if (*e) {
		snprintf(why, len, "%s", strerror(*e));
		return -1;
	}
	return 0;
}

int
rtnl_replace(const struct netcalc_route *r, uint8_t proto, char *why, size_t len)
{
	struct rt_req q;
	int e;

	req_init(&q, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE, r, proto);
	return rtnl_talk(&q.nh, &e, why, len);
}

int
rtnl_delete(const struct netcalc_route *r, uint8_t proto, char *why, size_t len)
{
	struct rt_req q;
	int e;

	req_init(&q, RTM_DELROUTE, 0, r, proto);
	if (rtnl_talk(&q.nh, &e, why, len) == 0 || e == ESRCH)
		return 0;
	return -1;
}

/* One RTM_NEWROUTE of a dump: append it to *out when it is ours. */
static int
take_route(struct nlmsghdr *h, uint8_t proto, struct netcalc_route **out, size_t *n, size_t *cap)
{
	struct rtmsg *rt = NLMSG_DATA(h);
	struct rtattr *a = RTM_RTA(rt);
	int alen = (int)RTM_PAYLOAD(h);
	struct netcalc_route r = {{0, rt->rtm_dst_len}, 0, 0};
	int have_gw = 0;

	if (rt->rtm_family != AF_INET || rt->rtm_table != RT_TABLE_MAIN || rt->rtm_protocol != proto)
		return 0;
	for (; RTA_OK(a, alen); a = RTA_NEXT(a, alen)) {
		if (a->rta_type == RTA_DST && RTA_PAYLOAD(a) == 4)
			r.dst.addr = ntohl(*(uint32_t *)RTA_DATA(a));
		else if (a->rta_type == RTA_GATEWAY && RTA_PAYLOAD(a) == 4) {
			r.gw = ntohl(*(uint32_t *)RTA_DATA(a));
			have_gw = 1;
		} else if (a->rta_type == RTA_OIF && RTA_PAYLOAD(a) == 4)
			r.oif = (int)*(uint32_t *)RTA_DATA(a);
	}
	if (!have_gw)
		return 0;
	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 16;
		struct netcalc_route *p = realloc(*out, nc * sizeof(*p));

		if (!p)
			return -1;
		*out = p;
		*cap = nc;
	}
	(*out)[(*n)++] = r;
	return 0;
}

/* One message of a dump: 1 at its end, 0 to go on, -1 with errno. */
static int
dump_msg(struct nlmsghdr *h, rtnl_msg_fn fn, void *arg)
{
	if (h->nlmsg_type == NLMSG_DONE)
		return 1;
	if (h->nlmsg_type == NLMSG_ERROR) {
		errno = -((struct nlmsgerr *)NLMSG_DATA(h))->error;
		return -1;
	}
	if (fn(h, arg) < 0) {
		errno = ENOMEM;
		return -1;
	}
	return 0;
}

int
rtnl_dump(struct nlmsghdr *q, rtnl_msg_fn fn, void *arg, char *why, size_t len)
{
	static char buf[32768];
	int fd = nl_open(why, len), rc = 0;
	ssize_t got;

	if (fd < 0)
		return -1;
	q->nlmsg_flags |= NLM_F_DUMP;
	if (send(fd, q, q->nlmsg_len, 0) < 0)
		goto fail;
	while (rc == 0 && (got = recv(fd, buf, sizeof(buf), 0)) > 0) {
		struct nlmsghdr *h = (struct nlmsghdr *)buf;
		size_t left = (size_t)got, step;

		while (rc == 0 && msg_ok(h, left)) {
			rc = dump_msg(h, fn, arg);
			step = NLMSG_ALIGN(h->nlmsg_len);
			left = step < left ? left - step : 0;
			h = (struct nlmsghdr *)((char *)h + step);
		}
	}
	if (rc != 1)
		goto fail;
	close(fd);
	return 0;
fail:
	snprintf(why, len, "netlink dump: %s", strerror(errno));
	close(fd);
	return -1;
}

struct route_dump {
	uint8_t proto;
	struct netcalc_route *out;
	size_t n, cap;
};

static int
route_msg(struct nlmsghdr *h, void *arg)
{
	struct route_dump *d = arg;

	return h->nlmsg_type == RTM_NEWROUTE ? take_route(h, d->proto, &d->out, &d->n, &d->cap) : 0;
}

int
rtnl_list(uint8_t proto, struct netcalc_route **out, size_t *n, char *why, size_t len)
{
	struct route_dump d = {proto, NULL, 0, 0};
	struct rt_req q;

	*out = NULL;
	*n = 0;
	req_init(&q, RTM_GETROUTE, 0, NULL, 0);
	if (rtnl_dump(&q.nh, route_msg, &d, why, len) < 0) {
		free(d.out);
		return -1;
	}
	*out = d.out;
	*n = d.n;
	return 0;
}
