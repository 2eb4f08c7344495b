/*
 * cmd_apply.c: "skiffctl apply -f" and "skiffctl create -f": write pods,
 * controllers and services from manifests (ctl_manifest.c). Every object is
 * checked with the object model first (kind as validate infers it, a valid
 * metadata.name, each name once); on any problem every one is reported as
 * "WHERE: field: message" and nothing is written. Then each object goes to
 * P/KIND/NAME as compact JSON with sorted keys, as the user wrote it
 * (unknown fields kept). apply creates or replaces: a guarded transaction
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
	"Every object is validated first; on any problem nothing is written.\n"            \
	"Exit 0 when all were written, 1 otherwise, 2 on usage errors."
#define CREATE_HELP                                                                        \
	"Create the pods, controllers and services of manifests (JSON or YAML), failing\n" \
	"for those that exist already. Every object is validated first; on any\n"          \
	"problem nothing is written. Exit 0 when all were created, 1 otherwise."

static const struct flag file_flags[] = {{"filename", FLAG_STRING, NULL, NULL, NULL,
                                          "manifest file, directory or - (short: -f; repeatable)", "FILE", NULL},
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

/* Check every object; fill items. 0, or -1 after reporting problems. */
static int
check_all(struct ctl *c, struct ctl_objects *objs, struct item *items)
{
	struct api_errors errs = {0};
	char line[1200];
	size_t i, j, e;
	int failed = objs->failed;

	for (i = 0; i < objs->n; i++) {
		const char *where = objs->o[i].where, *kn = ctl_jstr(objs->o[i].j, "kind");
		enum api_kind k = api_kind_detect(objs->o[i].j);
		struct item *it = &items[i];
		struct api_error ke;
		void *obj;

		it->kind = k;
		it->name = ctl_jstr(objs->o[i].j, "metadata.name");
		if (k != API_POD && k != API_CONTROLLER && k != API_SERVICE) {
			if (k == API_NODE)
				fprintf(c->err,
				        "%s: kind: nodes are written by their agent; use skiffctl cordon/uncordon\n",
				        where);
			else if (kn)
				fprintf(c->err,
				        "%s: kind: \"%s\" cannot be applied; use Pod, ReplicationController or Service\n",
				        where, kn);
			else
				fprintf(c->err, "%s: cannot tell what kind of object this is; set \"kind\"\n", where);
			failed = 1;
			continue;
		}
		if (!(obj = api_decode(k, objs->o[i].j, &errs))) {
			for (e = 0; e < errs.n; e++) {
				api_errors_format(&errs, e, line, sizeof(line));
				fprintf(c->err, "%s: %s\n", where, line);
			}
			api_errors_clear(&errs);
			failed = 1;
		}
		api_free(k, obj);
		if (!it->name) {
			fprintf(c->err, "%s: metadata.name: required (the key is P/%s/NAME)\n", where, api_kind_dir(k));
			failed = 1;
		} else if (api_key_object(it->key, sizeof(it->key), c->opts.prefix, k, it->name, &ke) < 0) {
			fprintf(c->err, "%s: metadata.name: %s\n", where, ke.msg);
			failed = 1;
		} else {
			for (j = 0; j < i; j++)
				if (items[j].kind == k && items[j].name && strcmp(items[j].name, it->name) == 0) {
					fprintf(c->err, "%s: metadata.name: %s \"%s\" is also in %s\n", where,
					        ctl_kind_of(k)->singular, it->name, objs->o[j].where);
					failed = 1;
				}
		}
		if (!(it->value = json_dumps(objs->o[i].j, JSON_COMPACT | JSON_SORT_KEYS)))
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

static int
run(int argc, char **argv, FILE *out, FILE *err, const struct skiff_prog *prog, int create_only)
{
	struct ctl_objects objs = {0};
	struct item *items = NULL;
	struct ctl c;
	size_t i;
	int rc;

	if ((rc = ctl_parse(&c, prog, argc, argv, out, err, 1)) != CTL_CONTINUE)
		goto done;
	if (c.nfiles == 0 || c.nargs > 0) {
		rc = ctl_usage_error(&c, prog, c.nfiles ? "unexpected argument \"%s\"" : "no files given (-f FILE)%s",
		                     c.nfiles ? c.args[0] : "");
		goto done;
	}
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
