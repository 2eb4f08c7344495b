/*
 * cmd_validate.c: "skiffctl validate": check manifests offline with the
 * object model, printing "FILE: ok (Pod apache)" or every problem as
 * "FILE: field: message". A file holds one object, a JSON array of them,
 * or a Kubernetes List ({"kind": "List", "items": [...]}); a directory
 * stands for its *.json files. The kind comes from --kind, the object's
 * "kind", or its shape. It reads no etcd and does not check names against
 * keys (there are none yet).
 */
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "api/api.h"
#include "skiffctl.h"

#define MAX_FILE (16 << 20)

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

	fprintf(f, "usage: skiffctl validate [--kind KIND] -f FILE|DIR|- [FILE...]\n\n"
	           "Check manifests offline: print \"FILE: ok (KIND NAME)\" for each valid\n"
	           "object and every problem of the others as \"FILE: field: message\".\n"
	           "A directory stands for its *.json files; - reads standard input.\n"
	           "Exit 0 when all are valid, 1 otherwise, 2 on usage errors.\n\n"
	           "  -f, --filename FILE   a manifest, directory or - (repeatable)\n"
	           "  --kind KIND           treat every object as KIND instead of guessing:");
	for (k = 1, col = 80; k < API_KIND_COUNT; k++) {
		const char *name = api_kind_name((enum api_kind)k);

		if (k == API_LEADER)
			continue;
		if (col + 1 + strlen(name) > 78) {
			fprintf(f, "\n%23s", "");
			col = 23;
		}
		col += (size_t)fprintf(f, " %s", name);
	}
	fprintf(f, "\n  -h, --help            this text\n");
}

static void problem(struct validate *v, const char *where, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Report "WHERE: message" and remember the failure. */
static void
problem(struct validate *v, const char *where, const char *fmt, ...)
{
	va_list ap;

	fprintf(v->err, "%s: ", where);
	va_start(ap, fmt);
	vfprintf(v->err, fmt, ap);
	va_end(ap);
	fputc('\n', v->err);
	v->failed = 1;
}

/* One object at where ("FILE" or "FILE[i]"). */
static void
check_object(struct validate *v, const char *where, const json_t *j)
{
	struct api_errors errs = {0};
	const json_t *kj = json_object_get(j, "kind");
	enum api_kind k = v->kind ? v->kind : api_kind_detect(j);
	const struct api_meta *meta;
	char line[1024];
	size_t i;
	void *obj;

	if (k == API_KIND_UNKNOWN || k == API_LEADER) {
		if (json_is_string(kj))
			problem(v, where, "kind: unknown kind \"%s\" (see skiffctl validate --help)",
			        json_string_value(kj));
		else
			problem(v, where, "cannot tell what kind of object this is; set \"kind\" or --kind");
		return;
	}
	if (!(obj = api_decode(k, j, &errs))) {
		for (i = 0; i < errs.n; i++) {
			api_errors_format(&errs, i, line, sizeof(line));
			problem(v, where, "%s", line);
		}
		if (errs.oom)
			problem(v, where, "out of memory");
		api_errors_clear(&errs);
		return;
	}
	meta = api_object_meta(k, obj);
	if (meta && meta->name)
		fprintf(v->out, "%s: ok (%s %s)\n", where, api_kind_name(k), meta->name);
	else
		fprintf(v->out, "%s: ok (%s)\n", where, api_kind_name(k));
	api_free(k, obj);
}

/* A document: one object, an array of them, or a List. */
static void
check_document(struct validate *v, const char *name, const char *buf, size_t len)
{
	const json_t *items;
	json_error_t jerr;
	json_t *j = json_loadb(buf, len, 0, &jerr), *it;
	char where[1100], msg[300];
	size_t i;

	if (!j) {
		snprintf(msg, sizeof(msg), "invalid JSON at line %d, column %d: %s", jerr.line, jerr.column, jerr.text);
		problem(v, name, "%s", msg);
		return;
	}
	items = json_is_array(j) ? j : NULL;
	if (!items && json_is_string(json_object_get(j, "kind")) &&
	    strcmp(json_string_value(json_object_get(j, "kind")), "List") == 0)
		items = json_object_get(j, "items");
	if (!items) {
		if (json_is_object(j))
			check_object(v, name, j);
		else
			problem(v, name, "must be a JSON object, an array of objects or a List");
	} else if (!json_is_array(items)) {
		problem(v, name, "items: must be an array");
	} else {
		json_array_foreach(items, i, it) {
			snprintf(where, sizeof(where), "%s[%zu]", name, i);
			if (json_is_object(it))
				check_object(v, where, it);
			else
				problem(v, where, "must be a JSON object");
		}
	}
	json_decref(j);
}

/* Read all of f (at most MAX_FILE bytes). New buffer or NULL (errno). */
static char *
read_all(FILE *f, size_t *len)
{
	size_t cap = 65536, n = 0, r;
	char *buf = malloc(cap), *nb;

	while (buf && (r = fread(buf + n, 1, cap - n, f)) > 0) {
		n += r;
		if (n == cap) {
			if (cap >= MAX_FILE) {
				free(buf);
				errno = EFBIG;
				return NULL;
			}
			if (!(nb = realloc(buf, cap *= 2)))
				free(buf);
			buf = nb;
		}
	}
	if (buf && ferror(f)) {
		free(buf);
		return NULL;
	}
	*len = n;
	return buf;
}

static void
check_file(struct validate *v, const char *path)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	const char *name = f == stdin ? "<stdin>" : path;
	size_t len;
	char *buf;

	if (!f || !(buf = read_all(f, &len))) {
		problem(v, name, "cannot read: %s", strerror(errno));
		if (f && f != stdin)
			fclose(f);
		return;
	}
	if (f != stdin)
		fclose(f);
	check_document(v, name, buf, len);
	free(buf);
}

static int
str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every *.json of dir, in name order. */
static void
check_dir(struct validate *v, const char *dir)
{
	struct dirent *de;
	char **names = NULL, **nn, path[4096];
	size_t n = 0, i;
	DIR *d = opendir(dir);
	int oom = 0;

	if (!d) {
		problem(v, dir, "cannot read: %s", strerror(errno));
		return;
	}
	while ((de = readdir(d))) {
		size_t l = strlen(de->d_name);

		if (de->d_name[0] == '.' || l < 6 || strcmp(de->d_name + l - 5, ".json") != 0)
			continue;
		if (!(nn = realloc(names, (n + 1) * sizeof(*names))) || !(nn[n] = strdup(de->d_name))) {
			names = nn ? nn : names;
			problem(v, dir, "out of memory");
			oom = 1;
			break;
		}
		names = nn;
		n++;
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof(*names), str_cmp);
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s%s%s", dir, dir[strlen(dir) - 1] == '/' ? "" : "/", names[i]);
		check_file(v, path);
		free(names[i]);
	}
	if (n == 0 && !oom)
		problem(v, dir, "no *.json files");
	free(names);
}

static void
check_path(struct validate *v, const char *path)
{
	struct stat st;

	if (strcmp(path, "-") != 0 && stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		check_dir(v, path);
	else
		check_file(v, path);
}

static int
usage_error(FILE *err, const char *what, const char *arg)
{
	fprintf(err, "skiffctl validate: %s%s\n", what, arg ? arg : "");
	fprintf(err, "usage: skiffctl validate [--kind KIND] -f FILE|DIR|- [FILE...]\n");
	return SKIFFCTL_EXIT_USAGE;
}

int
cmd_validate(int argc, char **argv, FILE *out, FILE *err)
{
	struct validate v = {API_KIND_UNKNOWN, out, err, 0};
	const char **files = calloc((size_t)argc + 1, sizeof(*files)), *val;
	int i, n = 0, opts = 1, rc;

	if (!files)
		return SKIFFCTL_EXIT_FAIL;
	for (i = 1; i < argc; i++) {
		if (!opts || argv[i][0] != '-' || strcmp(argv[i], "-") == 0) {
			files[n++] = argv[i];
		} else if (strcmp(argv[i], "--") == 0) {
			opts = 0;
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
	for (i = 0; i < n; i++)
		check_path(&v, files[i]);
	rc = v.failed ? SKIFFCTL_EXIT_FAIL : SKIFFCTL_EXIT_OK;
	free(files);
	return rc;
}
