/*
 * agent_cmvol.h: the files of a pod's configMap and secret volumes
 * (agent_cmvol.c), written under PODDIR/UID/volumes/NAME and swapped in
 * atomically, as Kubernetes' atomic writer does.
 */
#ifndef SKIFF_AGENT_CMVOL_H
#define SKIFF_AGENT_CMVOL_H

#include <jansson.h>
#include <stddef.h>

#include "api/api.h"

/* The values of the ConfigMap ("configmaps") or Secret ("secrets") name,
 * a map key -> string (borrowed), or NULL when there is none. */
typedef const json_t *(*cmvol_get_fn)(void *arg, const char *kind, const char *name);

/* Make directory dir hold the files of configMap or secret volume v from
 * values (NULL: the object is missing): a file per key, or per item of
 * v->items, with the item's mode, else v->default_mode, else 0644. The
 * files live in a timestamped directory dir/..TS that the symbolic link
 * dir/..data points to, each top-level name a link into ..data; a change
 * writes a new ..TS, renames a new ..data over the old one, then removes
 * the old ..TS, so a reader sees all old or all new files. Nothing is
 * written when the files already hold what values say. dir's parent must
 * exist. Returns 1 when it changed the files, 0 when they were already
 * right, -1 with why in err: a missing object or key (not optional), an
 * item path naming "..*", an I/O error. */
int cmvol_write(const char *dir, const struct api_volume *v, const json_t *values, char *err, size_t len);
/* cmvol_write with every directory and file given to group gid (the pod's
 * fsGroup; -1: none) as Kubernetes does: group-owned, directories setgid
 * (mode 02755), files' modes with group read added (0440); a file whose
 * group differs counts as changed. */
int cmvol_write_group(const char *dir, const struct api_volume *v, const json_t *values, long gid, char *err,
                      size_t len);

/* cmvol_write_group (the pod's fsGroup) for every configMap and secret volume of pod under
 * pod_dir/UID/volumes/NAME (made as needed, PODDIR/UID mode 0700), the
 * values from get. 0, or -1 with the first failure in err (the other
 * volumes are still written). */
int cmvol_sync(const char *pod_dir, const struct api_pod *pod, cmvol_get_fn get, void *arg, char *err, size_t len);

#endif
