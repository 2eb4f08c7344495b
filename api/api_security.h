/*
 * api_security.h: securityContext of a pod and of a container, and the
 * pod's host namespaces (hostPID, hostIPC, hostNetwork). A container's field wins over
 * the pod's. Decoding checks ranges and the rules Kubernetes checks at the
 * API (privileged with allowPrivilegeEscalation false); whether a node
 * allows privilege, and whether an image runs as root, is the agent's.
 */
#ifndef SKIFF_API_SECURITY_H
#define SKIFF_API_SECURITY_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define API_MAX_ID 2147483647LL /* uid and gid: 0..INT32_MAX, as Kubernetes */
#define API_MAX_GROUPS 64       /* supplementalGroups per pod */
#define API_MAX_CAPS 64         /* capabilities.add / drop each */

/* An optional integer or boolean: set is 0 when the field is absent. */
struct api_opt {
	int set;
	int64_t v;
};

struct api_security_context {
	struct api_opt run_as_user, run_as_group, run_as_non_root;
	struct api_opt allow_privilege_escalation;
	int read_only_root_filesystem, privileged;
	char **cap_add, **cap_drop;
	size_t n_cap_add, n_cap_drop;
};

struct api_pod_security_context {
	struct api_opt run_as_user, run_as_group, run_as_non_root, fs_group;
	int64_t *supplemental_groups;
	size_t n_supplemental_groups;
};

struct api_container;
struct api_pod_spec;

/* What container c of spec s runs with, the container's field first. */
struct api_opt api_sec_run_as_user(const struct api_pod_spec *s, const struct api_container *c);
struct api_opt api_sec_run_as_group(const struct api_pod_spec *s, const struct api_container *c);
int api_sec_run_as_non_root(const struct api_pod_spec *s, const struct api_container *c);
/* 1 when the pod asks for privilege a node must allow: a privileged
 * container, hostPID, hostIPC or hostNetwork; *what names the first one (static). */
int api_sec_privileged(const struct api_pod_spec *s, const char **what, const char **ctr);
/* The container's (the pod's, with its host namespaces) security settings
 * as canonical text for the spec hash, into buf: its length, 0 when none is
 * set (or out of memory), so that pods without any keep their hash. Cut
 * short at len - 1. */
size_t api_sec_container_text(const struct api_container *c, char *buf, size_t len);
size_t api_sec_pod_text(const struct api_pod_spec *s, char *buf, size_t len);

/* For api_pod.c: member "securityContext" of container object j into c;
 * "securityContext", "hostPID", "hostIPC" and "hostNetwork" of spec object
 * j into s (with hostNetwork, each hostPort defaults to and must equal its
 * containerPort), and the rules across containers (call after the
 * containers). Encoders add
 * only what is set (0, or -1 when out of memory); clear frees. */
struct api_dec;
void api_sec_decode_container(struct api_dec *d, const json_t *j, struct api_container *c);
void api_sec_decode_spec(struct api_dec *d, const json_t *j, struct api_pod_spec *s);
int api_sec_encode_container(json_t *j, const struct api_container *c);
int api_sec_encode_spec(json_t *j, const struct api_pod_spec *s);
void api_sec_clear_container(struct api_container *c);
void api_sec_clear_spec(struct api_pod_spec *s);

#endif
