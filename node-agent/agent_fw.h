/*
 * agent_fw.h: the host's forwarding setup for host-gw (agent_fw.c):
 * net.ipv4.ip_forward, and two iptables chains of the agent's own.
 */
#ifndef SKIFF_AGENT_FW_H
#define SKIFF_AGENT_FW_H

#include <stddef.h>

#include <ev.h>

/* Make sure, idempotently (check before insert, no duplicates):
 *   /proc/sys/net/ipv4/ip_forward = 1
 *   filter SKIFF-FWD, jumped to from DOCKER-USER (made when absent):
 *     -d SUBNET -j ACCEPT;  -s SUBNET -d POD_CIDR -j ACCEPT
 *   nat SKIFF-NAT, jumped to from POSTROUTING:
 *     -s SUBNET ! -d POD_CIDR -j MASQUERADE
 * Each step runs the iptables program (its -w waits for the xtables lock:
 * tens of milliseconds, seconds if another program holds it) as a child
 * the loop does not wait for (run_program_async; loop must be libev's
 * default loop). done(arg, ok, why) runs once, from the loop, after the
 * last step: ok 1, or 0 with why (the first failing command and what it
 * said); a failed step does not stop the later ones. The job is freed when
 * done returns. NULL when nothing could be started (why in why; done is
 * not called). Rules of a subnet the node no longer has are not removed.
 * fw_job_cancel, for shutdown and never from inside done, kills the
 * iptables running (if any) and frees the job without calling done; NULL
 * is fine. */
struct fw_job;
typedef void (*fw_done_fn)(void *arg, int ok, const char *why);
struct fw_job *fw_ensure_async(struct ev_loop *loop, const char *pod_cidr, const char *subnet, fw_done_fn done,
                               void *arg, char *why, size_t len);
void fw_job_cancel(struct fw_job *j);

#endif
