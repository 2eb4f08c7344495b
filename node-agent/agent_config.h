/*
 * agent_config.h: the agent's view of the ConfigMaps and Secrets of the
 * pods bound to its node, read ONLY from P/nodeconfig/NODE/ (the copies
 * skiff-config-controller keeps there; the node role may read nothing
 * else of them).
 */
#ifndef SKIFF_AGENT_CONFIG_H
#define SKIFF_AGENT_CONFIG_H

#include <jansson.h>
#include <stddef.h>

struct agent;

/* Start watching P/nodeconfig/NODE/. A change enqueues every pod bound
 * to the node. 0, or -1 when out of memory. */
int agent_config_start(struct agent *a);
void agent_config_stop(struct agent *a);
/* 1 once the first list is in (pods wait for it: before, every reference
 * would look missing). */
int agent_config_synced(const struct agent *a);
/* The values of the copy of kind ("configmaps" or "secrets") name: a map
 * key → string, base64 already decoded for secrets and binaryData.
 * Borrowed from the cache until control returns to the loop; NULL when
 * there is no such copy, or it does not decode. O(1). */
const json_t *agent_config_get(struct agent *a, const char *kind, const char *name);

/* Write (or bring up to date) the files of pod's configMap and secret
 * volumes from the copies (agent_cmvol.c). 0, or -1 with why in err: a
 * missing copy or key that is not optional, an I/O error. */
struct api_pod;
int agent_config_volumes(struct agent *a, const struct api_pod *pod, char *err, size_t len);

#endif
