/*
 * agent_env.h: a container's process as Docker gets it: Entrypoint, Cmd
 * and Env, with env valueFrom and envFrom resolved and $(VAR) expanded as
 * Kubernetes does.
 */
#ifndef SKIFF_AGENT_ENV_H
#define SKIFF_AGENT_ENV_H

#include <jansson.h>
#include <stddef.h>

struct agent;
struct api_pod;
struct api_container;

/* Set Entrypoint, Cmd and Env of c (a container of pod; pod_ip its
 * infrastructure container's address or NULL) into body. ConfigMaps and
 * Secrets come from agent_config_get. Returns 0, or -1 with why (a
 * sentence for the CreateContainerConfigError reason) when a non-optional
 * ConfigMap, Secret or key is missing, or out of memory; body is then
 * left without them. */
int agent_env_process(struct agent *a, const struct api_pod *pod, const struct api_container *c, const char *pod_ip,
                      json_t *body, char *why, size_t len);

#endif
