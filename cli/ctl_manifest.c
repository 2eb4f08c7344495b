/*
 * ctl_manifest.c: the one manifest reader of validate, apply and create: a
 * FILE, a DIR (its *.json, *.yaml and *.yml in name order; with recursive,
 * those of its sub-directories too) or "-" (stdin), each in JSON or
 * YAML (a file is JSON when its name ends in .json or its text starts with
 * '{' or '['; otherwise YAML, any number of "---" documents). A document is
 * one object, an array of them or a List. YAML is turned into JSON with
 * libyaml's document loader: plain scalars become null, booleans and
 * numbers as YAML 1.1's core schema reads them, everything quoted a
 * string. Anchors and aliases are followed, up to a number of values in
 * proportion to the input (an alias bomb is refused, not expanded); tags
 * are ignored. Items that are not objects are kept, for ctl_check.c to
 * report in order with the others; what they mean is not judged here.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <yaml.h>

#include "skiffctl.h"

#define MAX_FILE (16 << 20)
#define MAX_DEPTH 64
/* Values YAML may produce: 10 per byte of input (an alias-free document
 * makes at most one per 2 bytes, so anchors may repeat it twenty times),
 * at least 10,000 and at most 4 million (a few hundred MB of JSON). */
#define YAML_NODES_PER_BYTE 10
#define YAML_NODES_MIN 10000
#define YAML_NODES_MAX 4000000

static void
problem(struct ctl_objects *objs, FILE *err, const char *where, const char *msg)
{
	fprintf(err, "%s: %s\n", where, msg);
	objs->failed = 1;
}

static void
add_object(struct ctl_objects *objs, FILE *err, const char *where, json_t *j)
{
	struct ctl_object *no;

	if (objs->n == objs->cap) {
		size_t cap = objs->cap ? objs->cap * 2 : 8;

		if (!(no = realloc(objs->o, cap * sizeof(*no)))) {
			problem(objs, err, where, "out of memory");
			return;
		}
		objs->o = no;
		objs->cap = cap;
	}
	if (!(objs->o[objs->n].where = strdup(where))) {
		problem(objs, err, where, "out of memory");
		return;
	}
	objs->o[objs->n++].j = json_incref(j);
}

static int
is_list(const json_t *j)
{
	const char *kind = json_string_value(json_object_get(j, "kind"));

	return kind && strcmp(kind, "List") == 0;
}

/* One document's value: an object, an array of them or a List (an array
 * or a List may hold Lists: the documents of a YAML file do). */
static void
add_document(struct ctl_objects *objs, FILE *err, const char *name, json_t *j, int depth)
{
	json_t *items = json_is_array(j) ? j : NULL, *it;
	char where[4200];
	size_t i;

	if (!items && is_list(j)) {
		items = json_object_get(j, "items");
		if (!json_is_array(items)) {
			problem(objs, err, name, "items: must be an array");
			return;
		}
	}
	if (!items) {
		add_object(objs, err, name, j);
		return;
	}
	json_array_foreach(items, i, it) {
		snprintf(where, sizeof(where), "%s[%zu]", name, i);
		if (depth < 4 && is_list(it))
			add_document(objs, err, where, it, depth + 1);
		else
			add_object(objs, err, where, it);
	}
}

static json_t *
scalar(const yaml_node_t *n)
{
	const char *s = (const char *)n->data.scalar.value;
	size_t len = n->data.scalar.length;
	char *end;

	if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return json_stringn(s, len);
	if (len == 0 || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") || !strcmp(s, "NULL"))
		return json_null();
	if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE"))
		return json_true();
	if (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "FALSE"))
		return json_false();
	if (isdigit((unsigned char)s[0]) || ((s[0] == '-' || s[0] == '+') && isdigit((unsigned char)s[1]))) {
		long long v;
		double d;

		errno = 0;
		v = strtoll(s, &end, 10);
		if (!*end && !errno)
			return json_integer(v);
		d = strtod(s, &end);
		if (!*end && !errno && strspn(s, "+-0123456789.eE") == len)
			return json_real(d);
	}
	return json_stringn(s, len);
}

/* One document's conversion: the nodes it may still produce (aliases
 * make a few bytes expand to billions: each node an alias reaches counts
 * every time it is reached) and where a problem is written. */
struct conv {
	yaml_document_t *doc;
	size_t left, max;
	char *msg;
	size_t len;
};

static json_t *convert(struct conv *c, yaml_node_t *n, int depth);

static json_t *
convert_sequence(struct conv *c, yaml_node_t *n, int depth)
{
	json_t *j = json_array(), *v;
	yaml_node_item_t *it;

	for (it = n->data.sequence.items.start; j && it < n->data.sequence.items.top; it++) {
		if (!(v = convert(c, yaml_document_get_node(c->doc, *it), depth + 1))) {
			json_decref(j);
			return NULL;
		}
		json_array_append_new(j, v);
	}
	return j;
}

static json_t *
convert_mapping(struct conv *c, yaml_node_t *n, int depth)
{
	json_t *j = json_object(), *v;
	yaml_node_pair_t *p;

	for (p = n->data.mapping.pairs.start; j && p < n->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(c->doc, p->key);

		if (!k || k->type != YAML_SCALAR_NODE) {
			snprintf(c->msg, c->len, "line %lu: mapping keys must be plain strings",
			         k ? (unsigned long)k->start_mark.line + 1 : 0UL);
			json_decref(j);
			return NULL;
		}
		if (!(v = convert(c, yaml_document_get_node(c->doc, p->value), depth + 1))) {
			json_decref(j);
			return NULL;
		}
		json_object_setn_new(j, (const char *)k->data.scalar.value, k->data.scalar.length, v);
	}
	return j;
}

static json_t *
convert(struct conv *c, yaml_node_t *n, int depth)
{
	if (!n || depth > MAX_DEPTH) {
		snprintf(c->msg, c->len, "YAML nested too deeply");
		return NULL;
	}
	if (c->left == 0) {
		snprintf(c->msg, c->len, "YAML expands to more than %zu values (aliases repeating aliases?); refused",
		         c->max);
		return NULL;
	}
	c->left--;
	switch (n->type) {
	case YAML_SCALAR_NODE: return scalar(n);
	case YAML_SEQUENCE_NODE: return convert_sequence(c, n, depth);
	case YAML_MAPPING_NODE: return convert_mapping(c, n, depth);
	default: snprintf(c->msg, c->len, "empty YAML node"); return NULL;
	}
}

/* The most values input of len bytes may expand to. */
static size_t
max_nodes(size_t len)
{
	if (len > (YAML_NODES_MAX - YAML_NODES_MIN) / YAML_NODES_PER_BYTE)
		return YAML_NODES_MAX;
	return YAML_NODES_MIN + YAML_NODES_PER_BYTE * len;
}

json_t *
ctl_yaml_to_json(const char *buf, size_t len, char *msg, size_t msglen)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	json_t *docs = json_array(), *v, *one;
	struct conv c = {&doc, max_nodes(len), max_nodes(len), msg, msglen};

	if (!docs || !yaml_parser_initialize(&parser)) {
		json_decref(docs);
		snprintf(msg, msglen, "out of memory");
		return NULL;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
	for (;;) {
		yaml_node_t *root;

		if (!yaml_parser_load(&parser, &doc)) {
			snprintf(msg, msglen, "invalid YAML at line %lu, column %lu: %s%s%s",
			         (unsigned long)parser.problem_mark.line + 1,
			         (unsigned long)parser.problem_mark.column + 1,
			         parser.problem ? parser.problem : "syntax error", parser.context ? " " : "",
			         parser.context ? parser.context : "");
			json_decref(docs);
			docs = NULL;
			break;
		}
		if (!(root = yaml_document_get_root_node(&doc))) {
			yaml_document_delete(&doc);
			break;
		}
		v = convert(&c, root, 0);
		yaml_document_delete(&doc);
		if (!v) {
			json_decref(docs);
			docs = NULL;
			break;
		}
		if (!json_is_null(v))
			json_array_append_new(docs, v);
		else
			json_decref(v);
	}
	yaml_parser_delete(&parser);
	if (!docs)
		return NULL;
	if (json_array_size(docs) == 1) {
		one = json_incref(json_array_get(docs, 0));
		json_decref(docs);
		return one;
	}
	return docs;
}

static char *
read_all(FILE *f, size_t *len)
{
	size_t cap = 65536, n = 0, r;
	char *buf = malloc(cap), *nb;

	while (buf && (r = fread(buf + n, 1, cap - n - 1, f)) > 0) {
		n += r;
		if (n == cap - 1) {
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
	if (buf)
		buf[n] = '\0';
	*len = n;
	return buf;
}

static int
is_json(const char *name, const char *buf)
{
	size_t l = strlen(name);

	if (l > 5 && strcmp(name + l - 5, ".json") == 0)
		return 1;
	while (isspace((unsigned char)*buf))
		buf++;
	return *buf == '{' || *buf == '[';
}

static void
read_file(const char *path, struct ctl_objects *objs, FILE *err)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	const char *name = f == stdin ? "<stdin>" : path;
	char msg[512];
	json_error_t jerr;
	size_t len;
	char *buf;
	json_t *j;

	if (!f || !(buf = read_all(f, &len))) {
		snprintf(msg, sizeof(msg), "cannot read: %s", strerror(errno));
		problem(objs, err, name, msg);
		if (f && f != stdin)
			fclose(f);
		return;
	}
	if (f != stdin)
		fclose(f);
	if (is_json(path, buf)) {
		if (!(j = json_loadb(buf, len, 0, &jerr)))
			snprintf(msg, sizeof(msg), "invalid JSON at line %d, column %d: %s", jerr.line, jerr.column,
			         jerr.text);
	} else {
		j = ctl_yaml_to_json(buf, len, msg, sizeof(msg));
	}
	free(buf);
	if (!j) {
		problem(objs, err, name, msg);
		return;
	}
	if (json_is_array(j) && json_array_size(j) == 0)
		problem(objs, err, name, "holds no object");
	else
		add_document(objs, err, name, j, 0);
	json_decref(j);
}

static int
str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
manifest_name(const char *n)
{
	size_t l = strlen(n);

	return n[0] != '.' && ((l > 5 && !strcmp(n + l - 5, ".json")) || (l > 5 && !strcmp(n + l - 5, ".yaml")) ||
	                       (l > 4 && !strcmp(n + l - 4, ".yml")));
}

static int read_dir(const char *dir, struct ctl_objects *objs, FILE *err);

/* The names in dir to read: manifests, and sub-directories when recursive
 * (d_type, or stat when the file system does not tell). New sorted vector
 * of n names, NULL when there are none or on failure (reported). */
static char **
list_dir(const char *dir, DIR *d, int recursive, size_t *n, struct ctl_objects *objs, FILE *err)
{
	struct dirent *de;
	char **names = NULL, **nn, path[4096];
	struct stat st;

	*n = 0;
	while ((de = readdir(d))) {
		int sub = 0;

		if (recursive && de->d_name[0] != '.') {
			snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
			sub = de->d_type == DT_DIR ||
			      (de->d_type == DT_UNKNOWN && stat(path, &st) == 0 && S_ISDIR(st.st_mode));
		}
		if (!sub && !manifest_name(de->d_name))
			continue;
		if (!(nn = realloc(names, (*n + 1) * sizeof(*names))) || !(nn[*n] = strdup(de->d_name))) {
			names = nn ? nn : names;
			problem(objs, err, dir, "out of memory");
			break;
		}
		names = nn;
		(*n)++;
	}
	if (*n)
		qsort(names, *n, sizeof(*names), str_cmp);
	return names;
}

/* Every manifest of dir (and below, when objs->recursive). Returns how many
 * files were read. */
static int
read_dir(const char *dir, struct ctl_objects *objs, FILE *err)
{
	char **names, path[4096];
	size_t n = 0, i;
	struct stat st;
	DIR *d = opendir(dir);
	int files = 0;

	if (!d) {
		snprintf(path, sizeof(path), "cannot read: %s", strerror(errno));
		problem(objs, err, dir, path);
		return 0;
	}
	names = list_dir(dir, d, objs->recursive, &n, objs, err);
	closedir(d);
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s%s%s", dir, dir[strlen(dir) - 1] == '/' ? "" : "/", names[i]);
		if (objs->recursive && stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
			files += read_dir(path, objs, err);
		} else if (manifest_name(names[i])) {
			read_file(path, objs, err);
			files++;
		}
		free(names[i]);
	}
	free(names);
	return files;
}

void
ctl_manifests_read(const char *const *paths, int n, struct ctl_objects *objs, FILE *err)
{
	struct stat st;
	int i;

	for (i = 0; i < n; i++) {
		if (strcmp(paths[i], "-") != 0 && stat(paths[i], &st) == 0 && S_ISDIR(st.st_mode)) {
			if (read_dir(paths[i], objs, err) == 0)
				problem(objs, err, paths[i],
				        objs->recursive ? "no *.json, *.yaml or *.yml files in it or below"
				                        : "no *.json, *.yaml or *.yml files");
		} else {
			read_file(paths[i], objs, err);
		}
	}
}

void
ctl_objects_free(struct ctl_objects *objs)
{
	size_t i;

	for (i = 0; i < objs->n; i++) {
		free(objs->o[i].where);
		json_decref(objs->o[i].j);
	}
	free(objs->o);
	memset(objs, 0, sizeof(*objs));
}
