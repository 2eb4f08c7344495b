/*
 * agent_drain_calc.h: the pure part of the drain gate (agent_drain.c):
 * which pod IPs the endpoints list, the lowest revision a live node's
 * proxy reports, and the verdict for one pod IP. No I/O, no clock.
 */
#ifndef SKIFF_AGENT_DRAIN_CALC_H
#define SKIFF_AGENT_DRAIN_CALC_H

#include <stddef.h>
#include <stdint.h>

struct api_endpoints;

/* What the caches say, at one moment. */
struct drain_view {
	int synced;          /* every cache has synced; 0: every verdict is "busy" */
	int64_t highest;     /* the highest endpoints revision seen (a change's, never a list's) */
	int64_t min_live;    /* the lowest endpointsRevision of a live node's proxy; INT64_MAX when none */
	const uint32_t *ips; /* the IPs some endpoints' addresses list, sorted (drain_listed) */
	size_t n_ips;
};

/* What is remembered about one pod IP between verdicts. */
struct drain_mem {
	int gone;         /* found absent from every endpoints' addresses */
	int64_t gone_rev; /* view.highest when it was first found absent (gone 1) */
};

/* One node's proxy: its reported revision and whether the node is live
 * (drain_node_live). */
struct drain_proxy {
	int64_t rev;
	int live;
};

/* The IPv4 addresses (host order) of every address in `addresses` of
 * eps[0..n) (NULL entries skipped; notReadyAddresses do not count: no
 * proxy sends them new connections), sorted, duplicates kept. New array
 * in *out (NULL when there are none), count in *n_out. 0, or -1 when out
 * of memory. O(A log A) in the number of addresses. */
int drain_listed(const struct api_endpoints *const *eps, size_t n, uint32_t **out, size_t *n_out);
/* The lowest rev of a live proxy in p[0..n), INT64_MAX when none is live. */
int64_t drain_min_live(const struct drain_proxy *p, size_t n);
/* 1 while proxies may still send ip (host order) new connections: the
 * caches have not synced, some endpoints lists it, or a live node's proxy
 * has not reported the revision at which it was first found gone. Updates
 * m: gone drops to 0 while ip is listed; the first verdict that finds it
 * absent sets gone_rev to v->highest. O(log n_ips). */
int drain_decide(const struct drain_view *v, uint32_t ip, struct drain_mem *m);
/* Whether the gate waits for a node's proxy. has_lease: the node's
 * P/nodeleases/NODE is known to exist (found by the last list and not
 * seen deleted since); reported_at: the mod revision of its
 * P/proxystatus/NODE; gone_at: the revision at which its lease was last
 * seen gone (a deletion's, or the list's that did not find it). A node
 * without a lease is live again once its proxy reports after that:
 * a proxy that writes is running, and a heartbeat (a put) is never seen,
 * so this is how a node that came back shows. */
int drain_node_live(int has_lease, int64_t reported_at, int64_t gone_at);

#endif
