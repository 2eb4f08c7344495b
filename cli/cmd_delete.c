/*
 * cmd_delete.c: "skiffctl delete KIND NAME": delete P/KIND/NAME. What
 * follows is the components' business: a pod's binding and containers go
 * (scheduler, agent); a controller's pods are deleted by the replication
 * controller, which deletes the pods it owns.
 *
 * --cascade=false keeps a controller's pods: first every pod whose
 * ownerReferences name this controller (kind, name and uid = its create
 * revision) loses that reference, each with a guarded read-modify-write;
 * then the controller is deleted with a compare on its create revision (so
 * a controller written again meanwhile is left alone). A pod the
 * controller creates between the two steps (it only creates for a
 * shortfall, and orphaning changes no count) would still be owned.
 *
 * --grace-period and --force (pods only) are ctl_graceful.c's.
 */
#include <stdlib.h>
#include <string.h>

#include "skiffctl.h"

static int cascade_flag, force_flag, recursive;
static long grace_flag;

FLAG_BOUNDS(check_grace, -1, API_MAX_GRACE_SECONDS)

static const struct flag delete_flags[] = {
	{"cascade", FLAG_BOOL, &cascade_flag, "true", NULL,
         "false: keep a controller's pods (their ownerReferences to it are removed first)", NULL, NULL},
	{"filename", FLAG_STRING, NULL, NULL, NULL,
         "delete the objects of a manifest file, directory or - (short: -f; repeatable)", "FILE", NULL},
	{"recursive", FLAG_BOOL, &recursive, "false", NULL, "with -f: read sub-directories too", NULL, NULL},
	{"grace-period", FLAG_INT, &grace_flag, "-1", NULL,
         "pods: give the containers at most this many seconds to stop, and wait for the agent (-1: the pod's own)", "N",
         check_grace},
	{"force", FLAG_BOOL, &force_flag, "false", NULL,
         "pods, with --grace-period=0: delete the pod and its binding at once, without waiting for the agent", NULL,
         NULL},
	{0}};

static const struct skiff_prog prog = {.client = 1,
                                       .name = "skiffctl delete",
                                       .summary =
                                               "Delete a pod, controller, service or node (KIND as in skiffctl get).\n"
                                               "Deleting a controller deletes its pods unless --cascade=false.\n"
                                               "Exit 0 on success, 1 when it does not exist or etcd fails.",
                                       .args = "KIND NAME | -f FILE",
                                       .flags = delete_flags};

void
cmd_delete_usage(FILE *f)
{
	opts_help(&prog, f);
}

struct orphan {
	const char *name;
	char uid[24];
};

/* Drop the owner references naming the controller. */
static int
drop_owner(json_t *j, void *arg)
{
	struct orphan *o = arg;
	json_t *refs = ctl_jget(j, "metadata.ownerReferences"), *r;
	size_t i;
	int changed = 0;

	if (!json_is_array(refs))
		return 0;
	for (i = 0; i < json_array_size(refs);) {
		const char *k, *n, *u;

		r = json_array_get(refs, i);
		k = ctl_jstr(r, "kind");
		n = ctl_jstr(r, "name");
		u = ctl_jstr(r, "uid");
		if (k && n && u && strcmp(k, API_CONTROLLER_KIND) == 0 && strcmp(n, o->name) == 0 &&
		    strcmp(u, o->uid) == 0) {
			json_array_remove(refs, i);
			changed = 1;
		} else {
			i++;
		}
	}
	if (changed && json_array_size(refs) == 0)
		json_object_del(json_object_get(j, "metadata"), "ownerReferences");
	return changed;
}

/* Orphan the pods of controller name (create revision rc_create). Returns
 * how many, or -1. */
static int
orphan_pods(struct ctl *c, const char *name, int64_t rc_create)
{
	int want[API_KIND_COUNT] = {[API_POD] = 1};
	struct ctl_state st;
	struct orphan o;
	size_t i;
	int n = 0;

	o.name = name;
	snprintf(o.uid, sizeof(o.uid), "%lld", (long long)rc_create);
	if (ctl_state_load(c, &st, want) < 0)
		return -1;
	for (i = 0; i < st.l[API_POD].n; i++) {
		struct ctl_kv *p = &st.l[API_POD].kv[i];
		json_t *copy = json_deep_copy(p->j);
		int owned = copy && drop_owner(copy, &o);

		json_decref(copy);
		if (!owned)
			continue;
		switch (ctl_update(c, p->key, drop_owner, &o, NULL)) {
		case CTL_UPDATED: n++; break;
		case CTL_UNCHANGED:
		case CTL_NOT_FOUND: break;
		default: ctl_state_free(&st); return -1;
		}
	}
	ctl_state_free(&st);
	return n;
}

/* Delete one object: 0 done, -1 failed (reported). */
static int
delete_named(struct ctl *c, const struct ctl_kind *k, const char *name)
{
	char key[API_KEY_MAX];
	int64_t create = 0;
	int orphaned = -1, d;

	if (grace_flag >= 0 && k->kind != API_POD) {
		fprintf(c->err, "%s: --grace-period and --force are for pods only\n", c->name);
		return -1;
	}
	if (ctl_key(c, key, k->kind, name) < 0)
		return -1;
	if (k->kind == API_CONTROLLER && !cascade_flag) {
		struct etcd_result *r = etcd_sync_get(c->s, key);

		if (!r || r->err.code != ETCD_OK) {
			ctl_etcd_fail(c, key, r);
			etcd_result_free(r);
			return -1;
		}
		create = r->nkvs ? r->kvs[0].create_revision : 0;
		etcd_result_free(r);
		if (create && (orphaned = orphan_pods(c, name, create)) < 0)
			return -1;
	}
	d = grace_flag >= 0
	            ? ctl_delete_pod_graceful(c, key, name, grace_flag, force_flag)
	            : ctl_delete_if(c, key, ETCD_CMP_CREATE, create ? ETCD_CMP_EQUAL : ETCD_CMP_GREATER, create);
	if (d < 0)
		return -1;
	if (d == 0) {
		fprintf(c->err, "%s: %s \"%s\" not found under %s%s\n", c->name, k->singular, name, c->opts.prefix,
		        create ? " (it was deleted or written again meanwhile)" : "");
		return -1;
	}
	if (orphaned >= 0)
		fprintf(c->out, "%s/%s deleted (%d pod%s kept)\n", k->singular, name, orphaned,
		        orphaned == 1 ? "" : "s");
	else
		fprintf(c->out, "%s/%s deleted\n", k->singular, name);
	return 0;
}

/* delete -f: every object of the manifests, by its kind and
 * metadata.name (read by the same reader as apply; not validated further:
 * a manifest Skiff refuses can still name what to delete). */
static int
delete_files(struct ctl *c)
{
	struct ctl_objects objs = {.recursive = recursive};
	int rc = SKIFFCTL_EXIT_OK;
	size_t i;

	ctl_manifests_read(c->files, c->nfiles, &objs, c->err);
	if (objs.failed)
		rc = SKIFFCTL_EXIT_FAIL;
	for (i = 0; i < objs.n; i++) {
		const struct ctl_kind *k = ctl_kind_of(api_kind_detect(objs.o[i].j));
		const char *name = ctl_jstr(objs.o[i].j, "metadata.name");

		if (!k || k->kind == API_EVENT || !name) {
			fprintf(c->err, "%s: %s: %s\n", c->name, objs.o[i].where,
			        k ? "no metadata.name: cannot tell what to delete"
			          : "not a pod, controller, service or node");
			rc = SKIFFCTL_EXIT_FAIL;
		} else if (delete_named(c, k, name) < 0) {
			rc = SKIFFCTL_EXIT_FAIL;
		}
	}
	ctl_objects_free(&objs);
	return rc;
}

int
cmd_delete(int argc, char **argv, FILE *out, FILE *err)
{
	const struct ctl_kind *k;
	int rc;
	struct ctl c;

	cascade_flag = 1;
	force_flag = 0;
	grace_flag = -1;
	if ((rc = ctl_parse(&c, &prog, argc, argv, out, err, 1)) != CTL_CONTINUE)
		goto done;
	if (force_flag && grace_flag != 0) {
		rc = ctl_usage_error(&c, &prog, "--force needs --grace-period=0");
		goto done;
	}
	if (c.nfiles > 0 && c.nargs == 0) {
		rc = ctl_connect(&c) < 0 ? SKIFFCTL_EXIT_FAIL : delete_files(&c);
		goto done;
	}
	if (c.nargs != 2 || c.nfiles > 0) {
		rc = ctl_usage_error(&c, &prog, "expected KIND NAME or -f FILE");
		goto done;
	}
	rc = SKIFFCTL_EXIT_FAIL;
	if (!(k = ctl_kind_lookup(c.args[0])) || k->kind == API_EVENT) {
		fprintf(err,
		        "%s: %s kind \"%s\"; use one of pods (po), controllers (rc), services (svc), nodes (no), configmaps (cm), secrets\n",
		        c.name, k ? "cannot delete" : "unknown", c.args[0]);
		goto done;
	}
	if (ctl_connect(&c) == 0 && delete_named(&c, k, c.args[1]) == 0)
		rc = SKIFFCTL_EXIT_OK;
done:
	ctl_done(&c);
	return rc;
}
