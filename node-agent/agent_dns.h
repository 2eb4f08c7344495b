/*
 * agent_dns.h: pods' name resolution on this node. The pure half
 * (agent_dns_conf.c) makes a pod's resolv.conf from its dnsPolicy and
 * dnsConfig as the kubelet does; the other half (agent_dns.c) puts the
 * cluster DNS address on the node (the no-port bridge skiff-dns0) and
 * binds each container's resolv.conf.
 */
#ifndef SKIFF_AGENT_DNS_H
#define SKIFF_AGENT_DNS_H

#include <jansson.h>
#include <stddef.h>

#include "api/api_pod.h"

#define DNS_DEFAULT_ADDR "169.254.20.10" /* as Kubernetes' node-local DNS */
#define DNS_BRIDGE "skiff-dns0"
#define DNS_DEFAULT_RESOLV "/etc/resolv.conf"
#define DNS_NAMESPACE "default" /* Skiff's one namespace */

/* What a pod's resolv.conf is made of. Strings are borrowed. */
struct dns_in {
	enum api_dns_policy policy;
	int host_network;
	const char *cluster_dns;          /* the node's cluster DNS address; NULL: none (--cluster-dns none) */
	const char *domain;               /* the cluster domain ("cluster.local") */
	const char *host_resolv;          /* the node's resolv.conf text; NULL reads as empty */
	const struct api_dns_config *cfg; /* the pod's dnsConfig, NULL when absent */
};

/* The pod's resolv.conf, as the kubelet makes it: ClusterFirst (also
 * ClusterFirstWithHostNet; a hostNetwork pod's ClusterFirst, and any
 * ClusterFirst without cluster DNS, act as Default) gives the cluster DNS
 * address, the search list "default.svc.D svc.D D" and the node's, and
 * "ndots:5"; Default the node's file (loopback nameservers left out
 * unless host_network: they are not the pod's); None nothing. Then
 * dnsConfig is merged (nameservers and searches appended without
 * duplicates, options replaced by name or appended) and the result cut to
 * 3 nameservers, 32 search domains and 2048 characters of search list.
 * Lines as in Kubernetes' documentation: "nameserver X" each, "search
 * ...", "options ...".
 * Returns 0 with *out (new string), 1 with *out NULL when the pod keeps the
 * node's own file untouched (a hostNetwork pod acting as Default without
 * dnsConfig: Docker gives it the host's), -1 when out of memory. Pure. */
int dns_resolv_conf(const struct dns_in *in, char **out);

struct agent;

/* At start: make DNS_BRIDGE, a bridge with no ports, with the
 * --cluster-dns address /32, up (idempotent; left in place at stop, so
 * the pods' DNS survives an agent restart). Nothing with --cluster-dns
 * none. A failure is logged with a Warning event ClusterDNSSetupFailed on
 * the node; pods still start. */
void dns_start(struct agent *a);

/* Write pod's resolv.conf into PODDIR/UID/resolv.conf and bind it
 * read-only on /etc/resolv.conf in Docker HostConfig hc ("Mounts",
 * appended), unless the pod keeps the node's file or a volume is mounted
 * there. 0, or -1 with why (the file could not be written). */
int dns_container_config(struct agent *a, const struct api_pod *pod, json_t *hc, char *why, size_t len);

#endif
