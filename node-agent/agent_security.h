/*
 * agent_security.h: what a pod's securityContext and host namespaces ask of
 * Docker, and the runAsNonRoot check against an image's user. Pure: no
 * Docker call, no clock (agent_exec.c makes the calls).
 */
#ifndef SKIFF_AGENT_SECURITY_H
#define SKIFF_AGENT_SECURITY_H

#include <jansson.h>
#include <stddef.h>

#include "api/api.h"

/* The members of a container create body (Config: User; HostConfig hc:
 * GroupAdd, ReadonlyRootfs, SecurityOpt, CapAdd, CapDrop, Privileged,
 * PidMode, IpcMode, PidsLimit) for container c of pod. Whether the node
 * allows privilege is the planner's (plan_privilege). pids_limit <= 0:
 * none. */
void sec_create_opts(json_t *body, json_t *hc, const struct api_pod *pod, const struct api_container *c,
                     long pids_limit);
/* A hostNetwork pod's sandbox in body and hc (a container create body
 * and its HostConfig): NetworkMode "host", and neither Hostname nor
 * PortBindings, which Docker refuses or ignores there (the pod's ports
 * are the node's). Nothing for other pods. */
void sec_infra_opts(json_t *body, json_t *hc, const struct api_pod *pod);
/* 1 when a container inspect answer shows the host's network namespace. */
int sec_host_network(const json_t *inspect);
/* 1 when c may start only once its image's user is known (runAsNonRoot). */
int sec_needs_image_user(const struct api_pod *pod, const struct api_container *c);
/* runAsNonRoot as the kubelet checks it: 0 when c may run (image: Docker's
 * image inspect answer, NULL when unknown), or -1 with Kubernetes' message
 * in msg. */
int sec_check_non_root(const struct api_pod *pod, const struct api_container *c, const json_t *image, char *msg,
                       size_t len);

#endif
