/*
 * agent_volumes.h: a pod's volumes on this node (agent_volumes.c): the
 * host paths the node allows (--allow-host-path), emptyDir directories
 * under --pod-dir, and the Docker mounts of each container.
 */
#ifndef SKIFF_AGENT_VOLUMES_H
#define SKIFF_AGENT_VOLUMES_H

#include <jansson.h>
#include <stddef.h>
#include <sys/types.h>

#include "api/api.h"

#define VOL_DEFAULT_POD_DIR "/var/lib/skiff/pods"

struct agent;

/* Parse --allow-host-path ("/srv,/var/log"; "" = none): absolute paths
 * without "..", each resolved through its symbolic links when it exists.
 * 0 with *out (a NULL-ended vector, free with vol_allow_free), or -1 with
 * why in err. */
int vol_allow_parse(const char *s, char ***out, char *err, size_t len);
void vol_allow_free(char **v);

/* May pod run here as far as its volumes go? 0, or 1 with reason
 * (HostPathNotAllowed, HostPathTypeMismatch), the first container that
 * mounts the volume (containers[0] when none does; borrowed from pod) and
 * a message in msg. Looks at the host's files (stat, realpath); O(volumes). */
int vol_judge(const struct agent *a, const struct api_pod *pod, const char **reason, const char **cname, char *msg,
              size_t len);

/* mkdir -p path, mode for the directories it makes. 0 or -1 (errno). */
int vol_mkdirs(const char *path, mode_t mode);

/* Make the pod's emptyDir directories and missing DirectoryOrCreate (and
 * type "") host directories, then add container c's mounts to the Docker
 * HostConfig hc ("Mounts", binds of resolved paths). 0, or -1 with why in
 * err (a subPath through a symbolic link or out of its volume, a host path
 * no longer allowed, a failed mkdir). */
int vol_host_config(json_t *hc, const struct agent *a, const struct api_pod *pod, const struct api_container *c,
                    char *err, size_t len);

/* Remove PODDIR/UID of every UID no binding in the cache has (not when a
 * binding does not decode: its UID is unknown). Never follows a symbolic
 * link nor crosses into another file system. Logs what it removes. */
void vol_sweep(struct agent *a);

#endif
