/*
 * agent_rtnl.h: IPv4 routes of the main table through rtnetlink
 * (agent_rtnl.c), for host-gw. Each call opens its own NETLINK_ROUTE
 * socket and waits for the kernel's answer, which comes at once (no
 * network round trip), so the calls are fine on the event loop.
 * rtnl_talk and rtnl_dump are the two exchanges every rtnetlink user of
 * the agent shares (agent_vxlan_nl.c too).
 */
#ifndef SKIFF_AGENT_RTNL_H
#define SKIFF_AGENT_RTNL_H

#include <stddef.h>
#include <stdint.h>

#include <linux/netlink.h>

#include "agent_netcalc.h"

/* The routes' protocol number ("proto 95" in `ip route`): how the agent
 * tells its routes from everyone else's. */
#define SKIFF_RTPROT 95

/* Every main-table IPv4 route with protocol proto and a gateway, into *out
 * (new array, free it; NULL when none), count in *n. 0, or -1 with why. */
int rtnl_list(uint8_t proto, struct netcalc_route **out, size_t *n, char *why, size_t len);
/* `ip route replace DST via GW proto PROTO`. 0, or -1 with why. */
int rtnl_replace(const struct netcalc_route *r, uint8_t proto, char *why, size_t len);
/* Delete the route to r->dst with protocol proto; gone already is fine. */
int rtnl_delete(const struct netcalc_route *r, uint8_t proto, char *why, size_t len);

/* Send request q (NLM_F_ACK is added) on a socket of its own and read the
 * answer: 0, or -1 with why and the kernel's errno in *e (0 when the
 * failure was not the kernel's answer). */
int rtnl_talk(struct nlmsghdr *q, int *e, char *why, size_t len);
/* A message of a dump: 0 to go on, -1 when out of memory. */
typedef int (*rtnl_msg_fn)(struct nlmsghdr *h, void *arg);
/* Send dump request q (NLM_F_DUMP is added) and call fn on each message
 * of the answer. 0, or -1 with why. Not reentrant (one static buffer). */
int rtnl_dump(struct nlmsghdr *q, rtnl_msg_fn fn, void *arg, char *why, size_t len);

#endif
