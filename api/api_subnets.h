/*
 * api_subnets.h: which P/network/subnets/NODE claims are believed, and the
 * next free subnet for a node (api_subnets.c). Pure: no I/O, no etcd.
 *
 * A claim is valid when its value decodes, its subnet is exactly
 * subnetLength long (canonical, so aligned) and inside podCIDR, its hostIP
 * passes api_hostip_check, and no older valid claim (smaller create_rev;
 * equal ones by node name) overlaps it or uses the same hostIP. Every
 * consumer ignores invalid claims; the node controller reports them.
 */
#ifndef SKIFF_API_SUBNETS_H
#define SKIFF_API_SUBNETS_H

#include <stddef.h>
#include <stdint.h>

#include "api_network.h"

#define API_SUBNET_WHY 128

/* One P/network/subnets/NODE key: node name, value (borrowed) and the key's
 * create_revision. */
struct api_subnet_claim {
	const char *node;
	const char *value;
	size_t len;
	int64_t create_rev;
};

/* Marks each of c[0..n) valid (valid[i] = 1) or not (0, with why[i] a
 * sentence; why[i] is "" for valid ones). Prefixes why with "conflict: "
 * when the claim is valid on its own but loses to an older one (the node
 * controller's SubnetConflict). Returns the number of invalid claims, or -1
 * when out of memory (valid[] then all 0). O(n^2); c is not changed. */
int api_subnets_judge(const struct api_network_config *net, struct api_subnet_claim *c, size_t n, int *valid,
                      char (*why)[API_SUBNET_WHY]);

/* 1 when the judge's why marks a conflict with an older claim. */
int api_subnets_is_conflict(const char *why);

/* Whether ip may be a node's hostIP (a gateway every other node routes pod
 * traffic to): an IPv4 address, not 0.0.0.0/8, loopback 127/8, link-local
 * 169.254/16, multicast or reserved 224.0.0.0/3 (broadcast included),
 * nor inside podCIDR or serviceCIDR. Returns 0, or -1 with why. */
int api_hostip_check(const struct api_network_config *net, const char *ip, char *why, size_t len);

/* The lowest block of length len inside pod that overlaps none of taken
 * (n entries; one not longer than pod's prefix is ignored, so a bogus
 * 0.0.0.0/0 blocks nothing), skipping index 0 (pod's first block, as
 * flannel does). Returns 0 with *out, 1 when the pool is exhausted, -1 when
 * len is not longer than pod's prefix or longer than 30, or out of memory.
 * O(n log n). */
int api_subnets_next(const struct api_cidr *pod, int len, const struct api_cidr *taken, size_t n, struct api_cidr *out);

/* The subnet for a node that has no claim, given the claims c[0..n) and
 * the judge's valid[] for them: refuses host_ip (-1 with why) when
 * api_hostip_check does or a valid claim already uses it; returns 1 with
 * why when podCIDR is exhausted; 0 with *out, the lowest free block outside
 * every valid claim. */
int api_subnets_allocate(const struct api_network_config *net, const struct api_subnet_claim *c, size_t n,
                         const int *valid, const char *host_ip, struct api_cidr *out, char *why, size_t len);

#endif
