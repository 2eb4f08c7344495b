/*
 * th_roles.c: create the documented etcd roles and users on a harness etcd
 * (as root, through the gateway) and hand out clients and daemon flags for
 * them. It does not start etcd or enable auth: th_etcd_start does both when
 * given a root password.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "etcd_harness.h"
#include "etcd_testutil.h"
#include "th_roles.h"

const struct th_perm th_roles_node_perms[] = {
	{"READ", "%s/bindings/%s/", 1},
	{"READWRITE", "%s/podstatus/%s/", 1},
	{"READWRITE", "%s/nodestatus/%s", 0},
	{"READWRITE", "%s/nodeleases/%s", 0},
	{"READWRITE", "%s/nodeevents/%s/", 1},
	{"READ", "%s/nodeconfig/%s/", 1},
	{"READ", "%s/network/", 1},
	{"READ", "%s/services/", 1},
	{"READ", "%s/endpoints/", 1},
	{"READWRITE", "%s/proxystatus/%s", 0},
	{"READ", "%s/proxystatus/", 1},
	{"READ", "%s/nodeleases/", 1},
	{"READ", "%s/serviceips/", 1},
	{NULL, NULL, 0},
};

void
th_roles_password(const char *user, char *buf, size_t len)
{
	snprintf(buf, len, "pw-%s", user);
}

/* POST body (taken) as root; 0 when etcd said 200. */
static int
root_post(struct th_etcd *e, const char *path, json_t *body)
{
	char *b = body ? json_dumps(body, JSON_COMPACT) : NULL, *resp = NULL;
	long st = b ? th_etcd_post(e, 0, path, b, &resp) : 0;

	if (st != 200)
		fprintf(stderr, "th_roles: %s: HTTP %ld: %s\n", path, st, resp ? resp : "");
	free(resp);
	free(b);
	json_decref(body);
	return st == 200 ? 0 : -1;
}

/* Grant role perm type on key (and everything under it when prefix). */
static int
grant(struct th_etcd *e, const char *role, const char *type, const char *key, int prefix)
{
	size_t n = strlen(key);
	char *k = th_b64(key, n), *end = NULL;
	json_t *perm = json_pack("{s:s,s:s}", "permType", type, "key", k);
	int rc;

	if (prefix && n > 0) {
		char last[n];

		memcpy(last, key, n);
		last[n - 1]++;
		end = th_b64(last, n);
		json_object_set_new(perm, "range_end", json_string(end));
	}
	rc = root_post(e, "/v3/auth/role/grant", json_pack("{s:s,s:o}", "name", role, "perm", perm));
	free(k);
	free(end);
	return rc;
}

/* Role and user named name, the user holding only that role. */
static int
add_user_role(struct th_etcd *e, const char *name)
{
	char pw[128];

	th_roles_password(name, pw, sizeof(pw));
	if (root_post(e, "/v3/auth/role/add", json_pack("{s:s}", "name", name)) < 0 ||
	    root_post(e, "/v3/auth/user/add", json_pack("{s:s,s:s}", "name", name, "password", pw)) < 0)
		return -1;
	return root_post(e, "/v3/auth/user/grant", json_pack("{s:s,s:s}", "user", name, "role", name));
}

int
th_roles_control_plane(struct th_etcd *e, const char *prefix)
{
	char key[256];

	snprintf(key, sizeof(key), "%s/", prefix);
	if (add_user_role(e, TH_ROLES_CONTROL_PLANE) < 0)
		return -1;
	return grant(e, TH_ROLES_CONTROL_PLANE, "READWRITE", key, 1);
}

int
th_roles_node(struct th_etcd *e, const char *prefix, const char *node)
{
	char role[128], key[256];

	snprintf(role, sizeof(role), "skiff-node-%s", node);
	if (add_user_role(e, role) < 0)
		return -1;
	for (const struct th_perm *p = th_roles_node_perms; p->type; p++) {
		/* Every format takes P first and, where it has one, NODE second. */
		snprintf(key, sizeof(key), p->fmt, prefix, node);
		if (grant(e, role, p->type, key, p->prefix) < 0)
			return -1;
	}
	return 0;
}

struct etcd_sync *
th_roles_sync(const struct th_etcd *e, const char *user)
{
	struct etcd_config cfg;
	struct etcd_error err = {0};
	struct etcd_sync *s;
	char pw[128];

	th_roles_password(user, pw, sizeof(pw));
	tu_config(e, &cfg);
	cfg.user = user;
	cfg.password = pw;
	if (!(s = etcd_sync_new(&cfg, &err)))
		fprintf(stderr, "th_roles: client as %s: %s\n", user, tu_err(&err));
	return s;
}

/* 1 when program's --help mentions flag. */
static int
knows_flag(const char *program, const char *flag)
{
	char cmd[512], line[512];
	FILE *f;
	int found = 0;

	snprintf(cmd, sizeof(cmd), "'%s' --help 2>&1", program);
	if (!(f = popen(cmd, "r")))
		return 0;
	while (fgets(line, sizeof(line), f))
		found |= strstr(line, flag) != NULL;
	pclose(f);
	return found;
}

void
th_roles_flags(const struct th_etcd *e, const char *user, const char *program, struct th_roles_flags *f)
{
	char pw[128];
	int n = 0;

	memset(f, 0, sizeof(*f));
	if (th_etcd_ca(e)) {
		/* Server TLS only: etcd's gateway refuses a client certificate
		 * together with a user (docs/operations.md). */
		snprintf(f->buf[0], sizeof(f->buf[0]), "--etcd-cacert=%s", th_etcd_ca(e));
		f->args[n++] = f->buf[0];
	} else if (knows_flag(program, "--allow-insecure-auth")) {
		f->args[n++] = "--allow-insecure-auth";
	}
	snprintf(f->buf[3], sizeof(f->buf[3]), "--etcd-user=%s", user);
	f->args[n++] = f->buf[3];
	f->args[n] = NULL;
	th_roles_password(user, pw, sizeof(pw));
	snprintf(f->env, sizeof(f->env), "SKIFF_ETCD_PASSWORD=%s", pw);
}
