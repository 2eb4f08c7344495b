/*
 * api_volume.h: a pod's volumes (spec.volumes) and its containers' mounts
 * (spec.containers[i].volumeMounts). Skiff implements two sources:
 * emptyDir on the node's disk (medium "", sizeLimit enforced by eviction) and hostPath
 * (type "", Directory, DirectoryOrCreate or File); the field policy
 * (api_fields.c) refuses every other source and field by its path.
 */
#ifndef SKIFF_API_VOLUME_H
#define SKIFF_API_VOLUME_H

#include <jansson.h>
#include <stddef.h>

#include "api_quantity.h"

#define API_MAX_VOLUMES 256 /* per pod, and mounts per container */

enum api_volume_source { API_VOL_NONE, API_VOL_EMPTY_DIR, API_VOL_HOST_PATH, API_VOL_CONFIG_MAP, API_VOL_SECRET };
enum api_host_path_type {
	API_HOST_PATH_ANY,
	API_HOST_PATH_DIRECTORY,
	API_HOST_PATH_DIRECTORY_OR_CREATE,
	API_HOST_PATH_FILE
};

/* One entry of a configMap or secret volume's items. */
struct api_key_to_path {
	char *key;  /* a key of the ConfigMap or Secret */
	char *path; /* relative, no "..", unique in the volume */
	int mode;   /* 0..0777, or -1: the volume's defaultMode */
};

struct api_volume {
	char *name;
	enum api_volume_source source; /* NONE only in an invalid pod */
	char *path;                    /* hostPath: absolute, no ".." */
	enum api_host_path_type type;  /* hostPath */
	/* configMap (name) and secret (secretName): written by node-agent/agent_cmvol.c */
	char *object;                  /* the ConfigMap's or Secret's name */
	struct api_key_to_path *items; /* NULL: every key, a file each */
	size_t n_items;
	int default_mode; /* 0..0777, or -1: 0644 */
	int optional;     /* a missing object or key is no error */
	/* emptyDir medium Memory: a tmpfs node-agent/agent_volumes.c mounts */
	int memory;
	struct api_quantity size_limit; /* bytes; text NULL: none (on disk: node-agent/agent_evict.c) */
};

struct api_volume_mount {
	char *name;       /* names a volume of the pod */
	char *mount_path; /* absolute, unique in the container */
	char *sub_path;   /* NULL, or relative without ".." */
	int read_only;
};

/* "", "Directory", "DirectoryOrCreate", "File". */
const char *api_host_path_type_name(enum api_host_path_type t);
/* 1 when a '/'-separated component of p is "..". */
int api_path_has_backstep(const char *p);
/* 1 when path lies under one of the n prefixes (prefix == path, or path
 * continues it with '/'; "/" holds everything), compared as text: resolve
 * symbolic links first where that matters. O(n). */
int api_path_under(const char *path, char *const *prefixes, size_t n);
/* The volume of spec s named name, or NULL. O(volumes). */
struct api_pod_spec;
const struct api_volume *api_volume_find(const struct api_pod_spec *s, const char *name);

/* ------------------------------------------------------------------------
 * For api_pod.c only: decode (with paths in the errors), encode (nothing
 * when empty, so pods without volumes keep their serialization), free.
 */
struct api_dec;
struct api_container;
/* spec.volumes of j into s (names unique). */
void api_volumes_decode(struct api_dec *d, const json_t *j, struct api_pod_spec *s);
/* volumeMounts of container j into c (mountPath unique). */
void api_volume_mounts_decode(struct api_dec *d, const json_t *j, struct api_container *c);
/* After the whole spec: every mount names a volume of s. */
void api_volume_mounts_check(struct api_dec *d, const struct api_pod_spec *s);
/* Members "volumes" / "volumeMounts" into o: 0, or -1 out of memory. */
int api_volumes_encode(json_t *o, const struct api_pod_spec *s);
int api_volume_mounts_encode(json_t *o, const struct api_container *c);
void api_volumes_free(struct api_pod_spec *s);
void api_volume_mounts_free(struct api_container *c);

#endif
