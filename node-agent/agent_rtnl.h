/*
 * agent_rtnl.h: IPv4 routes of the main table through rtnetlink
 * (agent_rtnl.c), for host-gw. Each call opens its own NETLINK_ROUTE
 * socket and waits for the kernel's answer, which comes at once (no
 * network round trip), so the calls are fine on the event loop.
 */
#ifndef SKIFF_AGENT_RTNL_H
#define SKIFF_AGENT_RTNL_H

#include <stddef.h>
#include <stdint.h>

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

#endif
