/*
 * api_proxy_status.h: ProxyStatus (version 2), the value of
 * P/proxystatus/NODE, written by skiff-proxy on NODE once it has applied
 * every endpoints change up to an etcd revision:
 *   {"node": "m1", "endpointsRevision": 4711,
 *    "updated": "2026-12-06T12:00:00.123456Z"}
 * The node agents read it to know when no proxy sends a stopping pod new
 * connections any more (node-agent/agent_drain.c).
 */
#ifndef SKIFF_API_PROXY_STATUS_H
#define SKIFF_API_PROXY_STATUS_H

#include <stdint.h>

#include "api_errors.h"

struct api_proxy_status {
	char *node;                 /* required, a DNS-1123 subdomain: the key's NODE */
	int64_t endpoints_revision; /* required, >= 1 */
	char *updated;              /* RFC 3339; absent reads as NULL */
};

/* New object (api_proxy_status_free), or NULL with every problem in errs. */
struct api_proxy_status *api_proxy_status_parse(const char *json, size_t len, struct api_errors *errs);
/* Canonical bytes, new string; NULL when out of memory. */
char *api_proxy_status_serialize(const struct api_proxy_status *s);
void api_proxy_status_free(struct api_proxy_status *s);
/* "node" must equal node, the NODE of the key s was read from: 0, or -1
 * with the problem added to errs. */
int api_proxy_status_check_key(const struct api_proxy_status *s, const char *node, struct api_errors *errs);

#endif
