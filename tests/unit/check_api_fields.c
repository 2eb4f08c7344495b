/*
 * check_api_fields.c: the field policy (api_fields.c), data-driven.
 *
 * Each folder tests/fixtures/fields/<family>/<case>/ holds input.json and
 * expected: "ok" when the policy finds nothing, else one line per finding,
 * "error: field: message" (refused) then "warning: field: message"
 * (unknown). A case whose expected holds no error must also decode
 * (api_decode); one with errors must not. The family "binding" is read as
 * a Binding, the others by their "kind". SKIFF_FIXTURES_UPDATE=1 writes what
 * the code produces into expected (review the diff!).
 *
 * Then the tables themselves: no name twice in a table, every refused or
 * harmless field named in docs/keys.md, a harmless field with a reason.
 */
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"

#define ROOT "tests/fixtures/fields"
#define MAX_CASES 256

static char cases[MAX_CASES][300];
static int n_cases;

static int
str_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* Every <family>/<case> folder under ROOT, sorted. */
static void
collect(void)
{
	struct dirent *fam, *c;
	char path[512];
	DIR *top = opendir(ROOT), *d;

	if (!top)
		return;
	while ((fam = readdir(top))) {
		if (fam->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", ROOT, fam->d_name);
		if (!(d = opendir(path)))
			continue;
		while ((c = readdir(d)) && n_cases < MAX_CASES)
			if (c->d_name[0] != '.')
				snprintf(cases[n_cases++], sizeof(cases[0]), "%.100s/%.100s", fam->d_name, c->d_name);
		closedir(d);
	}
	closedir(top);
	qsort(cases, (size_t)n_cases, sizeof(cases[0]), str_cmp);
}

static char *
slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = calloc(1, (size_t)n + 1);
	if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

/* Append every item of l as "PREFIX: field: msg\n" to got. */
static void
append(char *got, size_t len, const char *prefix, const struct api_errors *l)
{
	char line[1200];
	size_t i;

	for (i = 0; i < l->n; i++) {
		api_errors_format(l, i, line, sizeof(line));
		snprintf(got + strlen(got), len - strlen(got), "%s: %s\n", prefix, line);
	}
}

START_TEST(test_fixture)
{
	struct api_errors errs = {0}, warns = {0}, dec = {0};
	char path[512], got[8192] = "", *want;
	const char *c = cases[_i];
	enum api_kind k;
	json_error_t jerr;
	json_t *j;
	void *obj;
	int n;

	snprintf(path, sizeof(path), "%s/%s/input.json", ROOT, c);
	ck_assert_msg((j = json_load_file(path, 0, &jerr)) != NULL, "%s: %s", path, jerr.text);
	k = strncmp(c, "binding/", 8) == 0 ? API_BINDING : api_kind_detect(j);
	n = api_fields_check(k, j, &errs, &warns);
	ck_assert_int_eq(n > 0, errs.n > 0);
	append(got, sizeof(got), "error", &errs);
	append(got, sizeof(got), "warning", &warns);
	if (!*got)
		snprintf(got, sizeof(got), "ok\n");
	snprintf(path, sizeof(path), "%s/%s/expected", ROOT, c);
	if (getenv("SKIFF_FIXTURES_UPDATE")) {
		FILE *f = fopen(path, "w");

		ck_assert_ptr_nonnull(f);
		fputs(got, f);
		fclose(f);
	}
	want = slurp(path);
	ck_assert_msg(want != NULL, "%s: missing", path);
	ck_assert_msg(strcmp(got, want) == 0, "%s:\n--- got\n%s--- want\n%s", c, got, want);
	obj = api_decode(k, j, &dec);
	ck_assert_msg((obj != NULL) == (errs.n == 0), "%s: decodes %s", c, obj ? "despite refused fields" : "not");
	api_free(k, obj);
	api_errors_clear(&errs);
	api_errors_clear(&warns);
	api_errors_clear(&dec);
	free(want);
	json_decref(j);
}
END_TEST

/* Call fn on every table reachable from t (tables are shared, so some
 * are visited more than once). */
static void
each_table(const struct api_field *t, void (*fn)(const struct api_field *, void *), void *arg)
{
	const struct api_field *f;

	fn(t, arg);
	for (f = t; f->name; f++)
		if (f->sub)
			each_table(f->sub, fn, arg);
}

static void
no_twice(const struct api_field *t, void *arg)
{
	const struct api_field *f, *g;

	(void)arg;
	for (f = t; f->name; f++) {
		for (g = f + 1; g->name; g++)
			ck_assert_msg(strcmp(f->name, g->name) != 0, "%s listed twice", f->name);
		ck_assert_msg(f->policy != API_FIELD_UNKNOWN, "%s: listed as unknown", f->name);
		ck_assert_msg(f->policy != API_FIELD_HARMLESS || (f->why && *f->why), "%s: harmless without a reason",
		              f->name);
		ck_assert_msg(!f->ok || f->policy == API_FIELD_REFUSED, "%s: an accepted value of a field not refused",
		              f->name);
	}
}

static void
in_docs(const struct api_field *t, void *arg)
{
	const struct api_field *f;
	char quoted[128];

	for (f = t; f->name; f++) {
		if (f->policy != API_FIELD_HARMLESS && f->policy != API_FIELD_REFUSED)
			continue;
		snprintf(quoted, sizeof(quoted), "`%s`", f->name);
		ck_assert_msg(strstr(arg, quoted) != NULL, "docs/keys.md does not name %s", quoted);
	}
}

START_TEST(test_tables)
{
	static const enum api_kind kinds[] = {API_POD,       API_CONTROLLER, API_SERVICE,
	                                      API_CONFIGMAP, API_SECRET,     API_DEPLOYMENT};
	char *docs = slurp("docs/keys.md"), *section;
	size_t i;

	ck_assert_ptr_nonnull(docs);
	section = strstr(docs, "## Fields: implemented, refused, harmless to ignore");
	ck_assert_ptr_nonnull(section);
	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		ck_assert_ptr_nonnull(api_fields_of(kinds[i]));
		each_table(api_fields_of(kinds[i]), no_twice, NULL);
		each_table(api_fields_of(kinds[i]), in_docs, section);
	}
	ck_assert_ptr_null(api_fields_of(API_NODE));
	ck_assert_ptr_null(api_fields_of(API_BINDING));
	free(docs);
}
END_TEST

/* Kinds without a Kubernetes schema are not walked; a binding's pod is;
 * warns may be NULL; null, {} and [] read as absent. */
START_TEST(test_edges)
{
	struct api_errors errs = {0};
	json_t *j = json_pack("{s:s,s:{s:n,s:{},s:[]}}", "subnet", "10.244.1.0/24", "spec", "volumes", "affinity",
	                      "initContainers");

	ck_assert_int_eq(api_fields_check(API_SUBNET, j, &errs, NULL), 0);
	ck_assert_int_eq(api_fields_check(API_POD, j, &errs, NULL), 0); /* subnet: unknown, but no warns */
	ck_assert_int_eq(errs.n, 0);
	json_object_set_new(json_object_get(j, "spec"), "shareProcessNamespace", json_true());
	ck_assert_int_eq(api_fields_check(API_POD, j, &errs, NULL), 1);
	ck_assert_str_eq(errs.items[0].field, "spec.shareProcessNamespace");
	ck_assert_str_eq(errs.items[0].msg, "only false is implemented by Skiff, got true (refused, see docs/keys.md)");
	api_errors_clear(&errs);
	json_decref(j);
	j = json_pack("{s:s,s:i}", "node", "m1", "apiVersion", 1);
	ck_assert_int_eq(api_fields_check(API_BINDING, j, &errs, NULL), 0);
	ck_assert_int_eq(api_fields_check_version(API_POD, j, &errs), -1);
	ck_assert_str_eq(errs.items[0].msg, "must be a string, got integer");
	api_errors_clear(&errs);
	json_decref(j);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("api_fields");
	TCase *core = tcase_create("core"), *limits = tcase_create("limits");

	collect();
	tcase_add_loop_test(core, test_fixture, 0, n_cases);
	tcase_add_test(core, test_tables);
	tcase_add_test(limits, test_edges);
	suite_add_tcase(s, core);
	suite_add_tcase(s, limits);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
