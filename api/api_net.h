/*
 * api_net.h: IPv4 addresses and CIDR blocks as the contract writes them
 * ("10.244.1.5", "10.244.0.0/16"). Only the canonical dotted form is
 * accepted (no leading zeros, no host bits in a CIDR), so that one address
 * has one spelling in keys (P/serviceips/IP) and values.
 */
#ifndef SKIFF_API_NET_H
#define SKIFF_API_NET_H

#include <stddef.h>
#include <stdint.h>

#include "api_errors.h"

struct api_cidr {
	uint32_t addr; /* host byte order, host bits zero */
	int len;       /* prefix length 0..32 */
};

/* Returns 0 and *out (host byte order), or -1 with err. */
int api_ipv4_parse(const char *s, uint32_t *out, struct api_error *err);
/* snprintf-style; buf of 16 bytes always suffices. */
size_t api_ipv4_format(uint32_t addr, char *buf, size_t len);
int api_cidr_parse(const char *s, struct api_cidr *out, struct api_error *err);
/* "a.b.c.d/len"; buf of 19 bytes always suffices. */
size_t api_cidr_format(const struct api_cidr *c, char *buf, size_t len);
/* 1 when addr lies in c. */
int api_cidr_contains(const struct api_cidr *c, uint32_t addr);
/* 1 when a and b share an address. */
int api_cidr_overlap(const struct api_cidr *a, const struct api_cidr *b);
/* Netmask of a prefix length (0..32), host byte order. */
uint32_t api_cidr_mask(int len);

/*
 * Whether ip (canonical dotted IPv4) may be used as a pod IP or a service
 * endpoint. Refused: anything that does not parse, 0.0.0.0/8, loopback
 * 127/8, link-local 169.254/16 (the clouds' metadata address), multicast
 * and reserved 224.0.0.0/3 (with the broadcast 255.255.255.255), and the
 * service network service_cidr (NULL: no service network to check).
 * Returns 0, or -1 with a sentence in why (may be NULL). Pure; O(1).
 */
int api_endpoint_ip_check(const char *ip, const struct api_cidr *service_cidr, char *why, size_t len);

#endif
