/*
 * agent_fw.h: the host's forwarding setup for host-gw (agent_fw.c):
 * net.ipv4.ip_forward, and two iptables chains of the agent's own.
 */
#ifndef SKIFF_AGENT_FW_H
#define SKIFF_AGENT_FW_H

#include <stddef.h>

/* Make sure, idempotently (check before insert, no duplicates):
 *   filter SKIFF-FWD, jumped to from DOCKER-USER (made when absent):
 *     -s POD_CIDR -d SUBNET -j ACCEPT;  -s SUBNET -d POD_CIDR -j ACCEPT
 *   nat SKIFF-NAT, jumped to from POSTROUTING:
 *     -s SUBNET ! -d POD_CIDR -j MASQUERADE
 *   /proc/sys/net/ipv4/ip_forward = 1
 * Runs the iptables program (its -w waits for the xtables lock), so it
 * blocks for a few tens of milliseconds: called once per start. Returns 0,
 * or -1 with why (the failing command and its message); it goes on after
 * a failure and reports the first one. Rules of a subnet the node no
 * longer has are not removed. */
int fw_ensure(const char *pod_cidr, const char *subnet, char *why, size_t len);

#endif
