/*
 * cmd_apply.c: "skiffctl apply -f" and "skiffctl create -f": write pods,
 * controllers and services from manifests (ctl_manifest.c; -R reads
 * sub-directories). Every object is judged first as validate judges it
 * (ctl_check.c: kind, apiVersion, refused fields, the object model; unknown
 * fields only warn), then for a valid metadata.name, each name once; on any
 * problem every one is reported as "WHERE: field: message" and nothing is
 * written. Then each object goes to P/KIND/NAME as compact JSON with sorted
 * keys, as the user wrote it (unknown and harmless fields kept). apply creates or replaces: a guarded transaction
 * (create_revision == 0, or mod_revision as read) retried on conflict; a
 * replace keeps the key's create revision, so the object stays the same
 * incarnation. create only creates (create_revision == 0) and reports
 * objects that exist. Nodes are refused: their agents write them (use
 * cordon/uncordon).
 */
#include <stdlib.h>
#include <string.h>

#include "skiffctl.h"

#define RETRIES 5

#define APPLY_HELP                                                                         \
	"Create or update the pods, controllers and services of manifests (JSON or\n"      \
	"YAML; a file, a directory of *.json/*.yaml/*.yml, or - for stdin; -f repeats).\n" \
	"Fields Skiff does not implement are refused (docs/keys.md); unknown ones warn.\n" \
	"Every object is validated first; on any problem nothing is written.\n"            \
	"Exit 0 when all were written, 1 otherwise, 2 on usage errors."
#define CREATE_HELP                                                                        \
	"Create the pods, controllers and services of manifests (JSON or YAML), failing\n" \
	"for those that exist already. Every object is validated first; on any\n"          \
	"problem nothing is written. Exit 0 when all were created, 1 otherwise."

static int recursive; /* -R: set by opts_parse on every run */

static const struct flag file_flags[] = {{"filename", FLAG_STRING, NULL, NULL, NULL,
                                          "manifest file, directory or - (short: -f; repeatable)", "FILE", NULL},
                                         {"recursive", FLAG_BOOL, &recursive, "false", NULL,
                                          "read the sub-directories of directories too (short: -R)", NULL, NULL},
                                         {0}};

static const struct skiff_prog apply_prog = {
	.client = 1, .name = "skiffctl apply", .summary = APPLY_HELP, .flags = file_flags};
static const struct skiff_prog create_prog = {
	.client = 1, .name = "skiffctl create", .summary = CREATE_HELP, .flags = file_flags};

void
cmd_apply_usage(FILE *f)
{
	opts_help(&apply_prog, f);
}

void
cmd_create_usage(FILE *f)
{
	opts_help(&create_prog, f);
}

struct item {
	enum api_kind kind;
	const char *name; /* borrowed from the JSON */
	char key[API_KEY_MAX];
	char *value;
};

/* Can k be applied? Reports why not for objects of another kind. */
static int
applicable(struct ctl *c, const struct ctl_object *o, enum api_kind k)
{
	const char *kn = ctl_jstr(o->j, "kind");

	if (k == API_POD || k == API_CONTROLLER || k == API_SERVICE || k == API_CONFIGMAP || k == API_SECRET ||
	    k == API_DEPLOYMENT)
		return 1;
	if (k == API_NODE)
		fprintf(c->err, "%s: kind: nodes are written by their agent; use skiffctl cordon/uncordon\n", o->where);
	else if (kn)
		fprintf(c->err,
		        "%s: kind: \"%s\" cannot be applied; use Pod, ReplicationController, Service, ConfigMap, Secret or "
		        "Deployment\n",
		        o->where, kn);
	else
		fprintf(c->err, "%s: cannot tell what kind of object this is; set \"kind\"\n", o->where);
	return 0;
}

/* metadata.name of item i: present, a valid key, once per kind. 0 or -1
 * (reported). */
static int
check_name(struct ctl *c, struct ctl_objects *objs, struct item *items, size_t i)
{
	const char *where = objs->o[i].where;
	struct item *it = &items[i];
	struct api_error ke;
	int rc = 0;
	size_t j;

	if (!it->name) {
		fprintf(c->err, "%s: metadata.name: required (the key is P/%s/NAME)\n", where, api_kind_dir(it->kind));
		return -1;
	}
	if (api_key_object(it->key, sizeof(it->key), c->opts.prefix, it->kind, it->name, &ke) < 0) {
		fprintf(c->err, "%s: metadata.name: %s\n", where, ke.msg);
		return -1;
	}
	for (j = 0; j < i; j++)
		if (items[j].kind == it->kind && items[j].name && strcmp(items[j].name, it->name) == 0) {
			fprintf(c->err, "%s: metadata.name: %s \"%s\" is also in %s\n", where,
			        ctl_kind_of(it->kind)->singular, it->name, objs->o[j].where);
			rc = -1;
		}
	return rc;
}

/* Check every object (ctl_check.c, as validate does); fill items. 0, or -1
 * after reporting problems. */
static int
check_all(struct ctl *c, struct ctl_objects *objs, struct item *items)
{
	int failed = objs->failed;
	size_t i;

	for (i = 0; i < objs->n; i++) {
		const struct ctl_object *o = &objs->o[i];
		enum api_kind k = json_is_object(o->j) ? api_kind_detect(o->j) : API_KIND_UNKNOWN;
		struct item *it = &items[i];
		void *obj;

		if (json_is_object(o->j) && !applicable(c, o, k)) {
			failed = 1;
			continue;
		}
		obj = ctl_object_check(o, k, &k, c->err);
		if (!obj)
			failed = 1;
		if (k == API_KIND_UNKNOWN || api_fields_check_version(k, o->j, NULL) < 0)
			continue; /* not an object, or not one of v1: its name means little */
		api_free(k, obj);
		it->kind = k;
		it->name = ctl_jstr(o->j, "metadata.name");
		if (check_name(c, objs, items, i) < 0)
			failed = 1;
		if (!(it->value = json_dumps(o->j, JSON_COMPACT | JSON_SORT_KEYS)))
			failed = 1;
	}
	return failed ? -1 : 0;
}

/* Write one item. 0 or -1 (reported). */
static int
write_item(struct ctl *c, struct item *it, int create_only)
{
	const char *kind = ctl_kind_of(it->kind)->singular;
	size_t len = strlen(it->value);
	int attempt;

	for (attempt = 0; attempt < RETRIES; attempt++) {
		struct etcd_result *r = etcd_sync_get(c->s, it->key);
		struct etcd_txn *t;
		int64_t mod = 0;
		int same = 0;

		if (!r || r->err.code != ETCD_OK) {
			ctl_etcd_fail(c, it->key, r);
			etcd_result_free(r);
			return -1;
		}
		if (r->nkvs) {
			mod = r->kvs[0].mod_revision;
			same = r->kvs[0].value_len == len && memcmp(r->kvs[0].value, it->value, len) == 0;
		}
		etcd_result_free(r);
		if (mod && create_only) {
			fprintf(c->err, "%s: %s/%s already exists (use skiffctl apply to change it)\n", c->name, kind,
			        it->name);
			return -1;
		}
		if (same) {
			fprintf(c->out, "%s/%s unchanged\n", kind, it->name);
			return 0;
		}
		if (!(t = etcd_txn_new()))
			return -1;
		if (mod)
			etcd_txn_cmp(t, it->key, ETCD_CMP_MOD, ETCD_CMP_EQUAL, mod);
		else
			etcd_txn_cmp(t, it->key, ETCD_CMP_CREATE, ETCD_CMP_EQUAL, 0);
		etcd_txn_put(t, ETCD_TXN_SUCCESS, it->key, it->value, len, 0);
		r = etcd_sync_txn(c->s, t);
		if (!r || r->err.code != ETCD_OK) {
			ctl_etcd_fail(c, it->key, r);
			etcd_result_free(r);
			return -1;
		}
		if (r->succeeded) {
			etcd_result_free(r);
			fprintf(c->out, "%s/%s %s\n", kind, it->name, mod ? "configured" : "created");
			return 0;
		}
		etcd_result_free(r); /* changed meanwhile: read again */
	}
	fprintf(c->err, "%s: %s/%s keeps changing under us; try again\n", c->name, kind, it->name);
	return -1;
}

/* argv with -R (before any "--") spelt --recursive, for ctl_parse. New
 * vector of argc + 1 borrowed strings, NULL when out of memory. */
static char **
long_recursive(int argc, char **argv)
{
	char **v = calloc((size_t)argc + 1, sizeof(*v));
	int i, only_args = 0;

	for (i = 0; v && i < argc; i++) {
		only_args |= strcmp(argv[i], "--") == 0;
		v[i] = !only_args && strcmp(argv[i], "-R") == 0 ? "--recursive" : argv[i];
	}
	return v;
}

static int
run(int argc, char **argv, FILE *out, FILE *err, const struct skiff_prog *prog, int create_only)
{
	struct ctl_objects objs = {0};
	struct item *items = NULL;
	struct ctl c;
	size_t i;
	int rc;

	char **args = long_recursive(argc, argv);

	if (!args) {
		fprintf(err, "%s: out of memory\n", prog->name);
		return SKIFFCTL_EXIT_FAIL;
	}
	if ((rc = ctl_parse(&c, prog, argc, args, out, err, 1)) != CTL_CONTINUE)
		goto done;
	if (c.nfiles == 0 || c.nargs > 0) {
		rc = ctl_usage_error(&c, prog, c.nfiles ? "unexpected argument \"%s\"" : "no files given (-f FILE)%s",
		                     c.nfiles ? c.args[0] : "");
		goto done;
	}
	objs.recursive = recursive;
	ctl_manifests_read(c.files, c.nfiles, &objs, err);
	rc = SKIFFCTL_EXIT_FAIL;
	if (objs.n == 0 && !objs.failed)
		fprintf(err, "%s: no objects in the files given\n", c.name);
	if (objs.n == 0 || !(items = calloc(objs.n, sizeof(*items))))
		goto done;
	if (check_all(&c, &objs, items) < 0) {
		fprintf(err, "%s: nothing written (fix the problems above)\n", c.name);
		goto done;
	}
	if (ctl_connect(&c) < 0)
		goto done;
	rc = SKIFFCTL_EXIT_OK;
	for (i = 0; i < objs.n; i++)
		if (write_item(&c, &items[i], create_only) < 0)
			rc = SKIFFCTL_EXIT_FAIL;
done:
	for (i = 0; items && i < objs.n; i++)
		free(items[i].value);
	free(items);
	ctl_objects_free(&objs);
	ctl_done(&c);
	free(args);
	return rc;
}

int
cmd_apply(int argc, char **argv, FILE *out, FILE *err)
{
	return run(argc, argv, out, err, &apply_prog, 0);
}

int
cmd_create(int argc, char **argv, FILE *out, FILE *err)
{
	return run(argc, argv, out, err, &create_prog, 1);
}
