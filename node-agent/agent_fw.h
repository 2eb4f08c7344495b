/*
 * agent_fw.h: the host's forwarding setup for host-gw (agent_fw.c):
 * net.ipv4.ip_forward, and three iptables chains of the agent's own.
 */
#ifndef SKIFF_AGENT_FW_H
#define SKIFF_AGENT_FW_H

#include <stddef.h>

#include <ev.h>

#define FW_METADATA_IP "169.254.169.254" /* the clouds' instance metadata service */
/* skiff-proxy marks connections that came in on a node port (nftables
 * mode; conntrack's mark) with this bit: they are forwarded, both ways,
 * whoever the client is and wherever the endpoint. */
#define SKIFF_NODEPORT_MARK "0x10000"

/* What the rules are made of. Strings are borrowed for the call only. */
struct fw_net {
	const char *pod_cidr;     /* the pod network, "10.244.0.0/16" */
	const char *subnet;       /* this node's pod subnet, "10.244.1.0/24" */
	const char *const *peers; /* the other nodes' hostIPs (their P/network/subnets/ keys) */
	size_t n_peers;
	int allow_metadata; /* P/network/config "allowMetadata": pods may reach FW_METADATA_IP */
	int vxlan_port;     /* the vxlan backend's UDP port (SKIFF-IN: only from peers), 0 = none */
	const char *dns_ip; /* the cluster DNS address on the node (--cluster-dns), NULL = none */
};

/* The iptables-restore input (for "iptables-restore --noflush") that
 * replaces the content of SKIFF-FWD, SKIFF-IN (filter) and SKIFF-NAT (nat)
 * in one transaction, creating them when absent:
 *   SKIFF-FWD  [-s POD -m conntrack --ctorigdst METADATA -j DROP]
 *              -d SUBNET -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
 *              -s POD -d SUBNET -j ACCEPT
 *              -s PEER -d SUBNET -j ACCEPT            (each peer)
 *              -d SUBNET -m conntrack --ctstate DNAT -j RETURN  (host ports:
 *                                                      Docker's rules decide)
 *              -d SUBNET -j DROP
 *              -s SUBNET -d POD -j ACCEPT
 *   SKIFF-IN   (-s POD -d DNS/32 -p udp --dport 53 -j ACCEPT, the same for tcp)
 *              [-s POD -m conntrack --ctorigdst METADATA -j DROP]
 *              {-s PEER -p udp --dport PORT -j ACCEPT}  (each peer)
 *              {-p udp --dport PORT -j DROP}
 *   SKIFF-NAT  -s SUBNET ! -d POD -j MASQUERADE
 * (the parenthesised ones with a dns_ip, the bracketed rules unless
 * allow_metadata, the braced ones with a vxlan_port: VXLAN packets only from the other nodes' addresses). Only canonical CIDRs and
 * addresses are written: a peer that is not one is left out (it came from
 * etcd), and a bad pod_cidr or subnet gives NULL with why in why. New
 * string; NULL also when out of memory. Pure. */
char *fw_rules(const struct fw_net *net, char *why, size_t len);

/* Make sure, idempotently (chains replaced whole, jumps checked before
 * insert, so no duplicates):
 *   /proc/sys/net/ipv4/ip_forward = 1
 *   DOCKER-USER (made when absent) jumps first to SKIFF-FWD, INPUT to
 *   SKIFF-IN, nat POSTROUTING to SKIFF-NAT; the chains hold fw_rules(net).
 * Each step runs a program (iptables -w 5, or iptables-restore with the
 * rules on its stdin) as a child the loop does not wait for
 * (run_program_async; loop must be libev's default loop). done(arg, ok,
 * why) runs once, from the loop, after the last step: ok 1, or 0 with why
 * (the first failing command and what it said); a failed step does not
 * stop the later ones. The job is freed when done returns. NULL when
 * nothing could be started (why in why; done is not called). Rules for a
 * subnet the node no longer has are not removed. fw_job_cancel, for
 * shutdown and never from inside done, kills the program running (if any)
 * and frees the job without calling done; NULL is fine. */
struct fw_job;
typedef void (*fw_done_fn)(void *arg, int ok, const char *why);
struct fw_job *fw_ensure_async(struct ev_loop *loop, const struct fw_net *net, fw_done_fn done, void *arg, char *why,
                               size_t len);
void fw_job_cancel(struct fw_job *j);

#endif
