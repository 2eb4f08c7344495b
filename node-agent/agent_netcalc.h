/*
 * agent_netcalc.h: the agent's pure network arithmetic (agent_netcalc.c),
 * kept apart from agent.h so that the unit tests and the fuzzer link it
 * without the daemon: the NetworkConfig in force, the route wanted for
 * another node's subnet and the difference between wanted and present
 * routes. No I/O, no allocation unless said. (The lowest free subnet is
 * the node controller's: api_subnets_next in api/api_subnets.c.)
 */
#ifndef SKIFF_AGENT_NETCALC_H
#define SKIFF_AGENT_NETCALC_H

#include <stddef.h>
#include <stdint.h>

#include "api/api.h"

/* NetworkConfig from the value of P/network/config (json NULL: the key is
 * absent, defaults). Returns 0 with *out filled, or -1 with *out left with
 * the defaults and why (a person's sentence naming the field) filled: the
 * caller refuses to claim rather than guess. */
int netcalc_config(const char *json, size_t len, struct api_network_config *out, char *why, size_t whylen);

/* A route to another node's pod subnet. */
struct netcalc_route {
	struct api_cidr dst;
	uint32_t gw; /* host byte order */
	int oif;     /* the device (vxlan: `dev skiff.VNI onlink`), 0 = any (host-gw) */
};

/* The route for one P/network/subnets/NODE entry. Returns 0 with *out; 1
 * when there is no route to make (the entry is our own: self_ip == hostIP);
 * -1 when the entry is unusable, with why: the subnet outside podCIDR (a
 * route there could hijack other traffic), overlapping own (this node's
 * subnet, NULL = none yet: a route would take over the bridge's own), or
 * a malformed subnet/hostIP. */
int netcalc_want_route(const struct api_network_config *nc, const char *subnet, const char *host_ip, uint32_t self_ip,
                       const struct api_cidr *own, struct netcalc_route *out, char *why, size_t whylen);

/* What to change so that the routes present (have, nh) become want (nw):
 * add[] gets each wanted route not present with the same gateway (and,
 * when the wanted one names a device, the same device) (to "replace"), del[] each present route whose destination is not wanted.
 * add must hold nw entries, del nh. Duplicate destinations in want: the
 * first wins. O(nw * nh). */
void netcalc_route_diff(const struct netcalc_route *want, size_t nw, const struct netcalc_route *have, size_t nh,
                        struct netcalc_route *add, size_t *nadd, struct netcalc_route *del, size_t *ndel);

#endif
