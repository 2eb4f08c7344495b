/*
 * agent_drain.h: the drain gate. Before the agent stops a pod's app
 * containers for good it asks whether proxies may still send the pod new
 * connections: while any endpoints object lists the pod's IP in
 * `addresses`, or while a live node's skiff-proxy has not yet reported
 * (P/proxystatus/NODE) the endpoints revision at which the IP left them.
 * The planner bounds the wait by the pod's grace period (plan_in.draining).
 */
#ifndef SKIFF_AGENT_DRAIN_H
#define SKIFF_AGENT_DRAIN_H

struct agent;
struct drain;

/* Called (on the loop, never inside drain_busy) with a pod IP that
 * drain_busy was asked about when its answer may have changed; the agent
 * requeues the pod holding that IP. pod_ip is borrowed for the call. It
 * may call drain_busy, not drain_forget nor drain_free. */
typedef void (*drain_kick_fn)(void *arg, const char *pod_ip);

/* Watch P/endpoints/, P/proxystatus/ and the deletions under
 * P/nodeleases/ (never the heartbeats) under a->prefix with a->d->etcd;
 * starts at once. A value that does not decode is logged
 * and recorded as a Warning event on our node (InvalidEndpoints,
 * InvalidProxyStatus) and left out. NULL when out of memory. */
struct drain *drain_new(struct agent *a, drain_kick_fn kick, void *arg);
/* The same from an etcd client (its loop) and a key prefix P, for
 * programs other than the agent (tests). */
struct etcd_client;
struct drain *drain_open(struct etcd_client *c, const char *prefix, drain_kick_fn kick, void *arg);
/* 1 while proxies may still send pod_ip new connections (also while the
 * caches have not synced yet), else 0. d NULL, or pod_ip NULL or "", is 0.
 * Remembers pod_ip (the revision at which it was first seen gone) until
 * drain_forget. O(endpoints + nodes). */
int drain_busy(struct drain *d, const char *pod_ip);
/* The highest endpoints revision the gate has seen (0 before any), for
 * logs and tests. */
long long drain_revision(const struct drain *d);
/* Forget what drain_busy remembered about pod_ip (the pod is gone). */
void drain_forget(struct drain *d, const char *pod_ip);
/* The gate's P/endpoints/ cache (borrowed until drain_free; values
 * decoded as api_endpoints, obj NULL for one that does not decode), so
 * that the agent's other readers of P/endpoints/ share its watch instead
 * of opening a second one. */
struct informer *drain_endpoints(struct drain *d);
/* fn(arg) once, when that cache has first synced. Set it before the loop
 * runs (right after drain_new). */
void drain_on_synced(struct drain *d, void (*fn)(void *arg), void *arg);
/* Stops the watches; no kick after. NULL is fine. Not inside a kick. */
void drain_free(struct drain *d);

#endif
