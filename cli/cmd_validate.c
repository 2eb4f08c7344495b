/*
 * cmd_validate.c: "skiffctl validate": check manifests offline with the
 * object model, printing "FILE: ok (Pod apache)" or every problem as
 * "FILE: field: message". Manifests are read as apply reads them
 * (ctl_manifest.c: JSON or YAML, several documents, arrays, Lists,
 * directories, -R, -) and judged as apply judges them (ctl_check.c: kind,
 * apiVersion, the field policy, the decoder); fields in no Kubernetes schema
 * are warnings. The kind comes from --kind, the object's "kind", or its
 * shape. It reads no etcd and does not check names against keys (there are
 * none yet).
 */
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "skiffctl.h"

struct validate {
	enum api_kind kind; /* forced by --kind, or API_KIND_UNKNOWN */
	FILE *out, *err;
	int failed;
};

void
cmd_validate_usage(FILE *f)
{
	size_t col;
	int k;

	fprintf(f, "usage: skiffctl validate [--kind KIND] [-R] -f FILE|DIR|- [FILE...]\n\n"
	           "Check manifests offline: print \"FILE: ok (KIND NAME)\" for each valid\n"
	           "object and every problem of the others as \"FILE: field: message\".\n"
	           "Manifests are JSON or YAML (several documents, arrays, kind List), as\n"
	           "apply reads them; a directory stands for its *.json, *.yaml and *.yml\n"
	           "files; - reads standard input. Fields of Kubernetes' v1 schema that Skiff\n"
	           "does not implement are refused, fields in no schema are warnings: the\n"
	           "table is docs/keys.md, \"Fields: implemented, refused, harmless to ignore\".\n"
	           "Exit 0 when all are valid, 1 otherwise, 2 on usage errors.\n\n"
	           "  -f, --filename FILE   a manifest, directory or - (repeatable)\n"
	           "  -R, --recursive       read the sub-directories of directories too\n"
	           "  --kind KIND           treat every object as KIND instead of guessing:");
	for (k = 1, col = 80; k < API_KIND_COUNT; k++) {
		const char *name = api_kind_name((enum api_kind)k);

		if (k == API_LEADER || k == API_NODECONFIG)
			continue;
		if (col + 1 + strlen(name) > 78) {
			fprintf(f, "\n%23s", "");
			col = 23;
		}
		col += (size_t)fprintf(f, " %s", name);
	}
	fprintf(f, "\n  -h, --help            this text\n");
}

/* Every object of files (ctl_manifest.c), one judged after the other. */
static void
check_files(struct validate *v, const char *const *files, int n, int recursive)
{
	struct ctl_objects objs = {0};
	const struct api_meta *meta;
	enum api_kind k;
	size_t i;
	void *obj;

	objs.recursive = recursive;
	ctl_manifests_read(files, n, &objs, v->err);
	v->failed = objs.failed;
	for (i = 0; i < objs.n; i++) {
		if (!(obj = ctl_object_check(&objs.o[i], v->kind, &k, v->err))) {
			v->failed = 1;
			continue;
		}
		meta = api_object_meta(k, obj);
		if (meta && meta->name)
			fprintf(v->out, "%s: ok (%s %s)\n", objs.o[i].where, api_kind_name(k), meta->name);
		else
			fprintf(v->out, "%s: ok (%s)\n", objs.o[i].where, api_kind_name(k));
		api_free(k, obj);
	}
	ctl_objects_free(&objs);
}

static int
usage_error(FILE *err, const char *what, const char *arg)
{
	fprintf(err, "skiffctl validate: %s%s\n", what, arg ? arg : "");
	fprintf(err, "usage: skiffctl validate [--kind KIND] [-R] -f FILE|DIR|- [FILE...]\n");
	return SKIFFCTL_EXIT_USAGE;
}

int
cmd_validate(int argc, char **argv, FILE *out, FILE *err)
{
	struct validate v = {API_KIND_UNKNOWN, out, err, 0};
	const char **files = calloc((size_t)argc + 1, sizeof(*files)), *val;
	int i, n = 0, opts = 1, rc, recursive = 0;

	if (!files)
		return SKIFFCTL_EXIT_FAIL;
	for (i = 1; i < argc; i++) {
		if (!opts || argv[i][0] != '-' || strcmp(argv[i], "-") == 0) {
			files[n++] = argv[i];
		} else if (strcmp(argv[i], "--") == 0) {
			opts = 0;
		} else if (strcmp(argv[i], "-R") == 0 || strcmp(argv[i], "--recursive") == 0) {
			recursive = 1;
		} else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			cmd_validate_usage(out);
			free(files);
			return SKIFFCTL_EXIT_OK;
		} else if (skiffctl_flag(argc, argv, &i, "--filename", "-f", &val)) {
			if (!val || !*val) {
				free(files);
				return usage_error(err, "-f needs a file name", NULL);
			}
			files[n++] = val;
		} else if (skiffctl_flag(argc, argv, &i, "--kind", NULL, &val)) {
			v.kind = val ? api_kind_from_name(val) : API_KIND_UNKNOWN;
			if (v.kind == API_KIND_UNKNOWN || v.kind == API_LEADER) {
				free(files);
				return usage_error(err, "unknown kind ", val ? val : "(missing)");
			}
		} else {
			free(files);
			return usage_error(err, "unknown flag ", argv[i]);
		}
	}
	if (n == 0) {
		free(files);
		return usage_error(err, "no files given (-f FILE)", NULL);
	}
	check_files(&v, files, n, recursive);
	rc = v.failed ? SKIFFCTL_EXIT_FAIL : SKIFFCTL_EXIT_OK;
	free(files);
	return rc;
}
