/*
 * agent_svcenv.h: the service environment variables Kubernetes gives
 * every container (REDIS_MASTER_SERVICE_HOST, REDIS_MASTER_PORT, ...):
 * the pure set of one service (agent_svcenv_vars.c) and the watch of
 * P/services/ and P/endpoints/ that knows which services have a cluster
 * IP now (agent_svcenv.c).
 */
#ifndef SKIFF_AGENT_SVCENV_H
#define SKIFF_AGENT_SVCENV_H

#include <stddef.h>
#include <stdint.h>

#include "api/api_service.h"

typedef void (*svcenv_set_fn)(void *arg, const char *name, const char *value);

/* The variables of service name with cluster IP ip and ports[0..n), in
 * Kubernetes' order (envvars.FromServices): NAME_SERVICE_HOST,
 * NAME_SERVICE_PORT (the first port), NAME_SERVICE_PORT_PORTNAME for each
 * named port, NAME_PORT (the first port as PROTO://IP:PORT), and for each
 * port NAME_PORT_P_PROTO (PROTO://IP:P), ..._PROTO, ..._PORT, ..._ADDR.
 * NAME is the name in upper case with '-' as '_'; PROTO "tcp" or "udp"
 * (upper case in names). Nothing when n is 0. Pure. */
void svcenv_vars(const char *name, const char *ip, const struct api_service_port *ports, size_t n, svcenv_set_fn set,
                 void *arg);

struct agent;
struct api_pod;

/* Watch P/services/ and P/endpoints/: 0, or -1 when out of memory. */
int svcenv_start(struct agent *a);
void svcenv_stop(struct agent *a);
/* Both lists applied once (pods wait for it). */
int svcenv_synced(const struct agent *a);
/* Call set for every variable of every service that has a cluster IP in
 * the caches now (its spec.clusterIP, else the endpoints controller's
 * clusterIP in P/endpoints/NAME; none for a headless one), in the order
 * of their names; nothing when pod has enableServiceLinks false.
 * O(services log services). */
void svcenv_add(struct agent *a, const struct api_pod *pod, svcenv_set_fn set, void *arg);

#endif
