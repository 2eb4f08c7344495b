/*
 * agent_fw.h: the host's forwarding setup for host-gw (agent_fw.c):
 * net.ipv4.ip_forward, and two iptables chains of the agent's own.
 */
#ifndef SKIFF_AGENT_FW_H
#define SKIFF_AGENT_FW_H

#include <stddef.h>

#include <ev.h>

/* Make sure, idempotently (check before insert, no duplicates):
 *   filter SKIFF-FWD, jumped to from DOCKER-USER (made when absent):
 *     -d SUBNET -j ACCEPT;  -s SUBNET -d POD_CIDR -j ACCEPT
 *   nat SKIFF-NAT, jumped to from POSTROUTING:
 *     -s SUBNET ! -d POD_CIDR -j MASQUERADE
 *   /proc/sys/net/ipv4/ip_forward = 1
 * Runs the iptables program (its -w waits for the xtables lock), so it
 * blocks for tens of milliseconds, seconds if another program holds the
 * lock: the agent runs it in a child (fw_ensure_async). Returns 0, or -1
 * with why (the failing command and its message); it goes on after a
 * failure and reports the first one. Rules of a subnet the node no longer
 * has are not removed. */
int fw_ensure(const char *pod_cidr, const char *subnet, char *why, size_t len);

/* fw_ensure in a child process, so that the caller's loop (libev's default
 * loop: child watchers live there) never waits for iptables; done(arg, ok,
 * why) runs in the loop when the child has ended. NULL when the child
 * could not be started (why in why). fw_job_cancel stops waiting (the
 * child finishes alone) without calling done. */
struct fw_job;
typedef void (*fw_done_fn)(void *arg, int ok, const char *why);
struct fw_job *fw_ensure_async(struct ev_loop *loop, const char *pod_cidr, const char *subnet, fw_done_fn done,
                               void *arg, char *why, size_t len);
void fw_job_cancel(struct fw_job *j);

#endif
