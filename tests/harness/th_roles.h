/*
 * th_roles.h: Skiff's documented etcd roles (docs/operations.md, "Confine
 * each node to its own keys") on a harness etcd started with a root
 * password: the control-plane role and user, one role and user per node,
 * and clients and daemon flags for each user. Root creates everything
 * through the gateway (th_etcd_post); nothing here asserts.
 */
#ifndef SKIFF_TESTS_TH_ROLES_H
#define SKIFF_TESTS_TH_ROLES_H

#include <stddef.h>

struct th_etcd;
struct etcd_sync;

#define TH_ROLES_CONTROL_PLANE "skiff-control-plane"

/* One permission of a role: etcd's permType, a key under the prefix
 * ("%s/bindings/%s/": P then NODE), and whether it is a prefix grant. */
struct th_perm {
	const char *type; /* "READ", "WRITE" or "READWRITE" */
	const char *fmt;
	int prefix;
};

/* The node role, exactly as docs/operations.md lists it; ends with a
 * zeroed entry. */
extern const struct th_perm th_roles_node_perms[];

/* The password the harness gives user (a fixed function of its name),
 * into buf. */
void th_roles_password(const char *user, char *buf, size_t len);

/* Role and user "skiff-control-plane": readwrite P/ (prefix). 0 / -1. */
int th_roles_control_plane(struct th_etcd *e, const char *prefix);
/* Role and user "skiff-node-NODE" with th_roles_node_perms. 0 / -1. */
int th_roles_node(struct th_etcd *e, const char *prefix, const char *node);

/* A synchronous client of e as user (NULL on failure, reported on stderr). */
struct etcd_sync *th_roles_sync(const struct th_etcd *e, const char *user);

/* Daemon flags for user: TLS material of e (when it has TLS), --etcd-user
 * and, on plain http, --allow-insecure-auth when program (a path) knows
 * that flag (its --help says so; programs older than it send credentials
 * over http without one). Written into args (NULL-terminated) with their
 * storage in buf; the password as "SKIFF_ETCD_PASSWORD=…" in env. */
struct th_roles_flags {
	char buf[4][512];
	char *args[6];
	char env[160];
};
void th_roles_flags(const struct th_etcd *e, const char *user, const char *program, struct th_roles_flags *f);

#endif
