/*
 * check_api_selector.c: label maps (sorted set/get/copy/format) and label
 * selectors: both JSON forms, every operator, matching, formatting and the
 * errors of malformed selectors.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"

static void
labels_of(struct api_labels *l, const char *spec)
{
	char buf[256], *tok, *save;

	memset(l, 0, sizeof(*l));
	snprintf(buf, sizeof(buf), "%s", spec);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '=');

		*eq = '\0';
		ck_assert_int_eq(api_labels_set(l, tok, eq + 1), 0);
	}
}

START_TEST(test_labels)
{
	struct api_labels l = {0}, c = {0};
	char buf[64];

	ck_assert_uint_eq(api_labels_format(&l, buf, sizeof(buf)), 2);
	ck_assert_str_eq(buf, "{}");
	ck_assert_int_eq(api_labels_set(&l, "tier", "fe"), 0);
	ck_assert_int_eq(api_labels_set(&l, "app", "web"), 0);
	ck_assert_int_eq(api_labels_set(&l, "zone", "a"), 0);
	ck_assert_int_eq(api_labels_set(&l, "app", "apache"), 0);
	ck_assert_uint_eq(l.n, 3);
	ck_assert_str_eq(l.items[0].key, "app");
	ck_assert_str_eq(l.items[2].key, "zone");
	ck_assert_str_eq(api_labels_get(&l, "app"), "apache");
	ck_assert_ptr_null(api_labels_get(&l, "nope"));
	api_labels_format(&l, buf, sizeof(buf));
	ck_assert_str_eq(buf, "{app=apache,tier=fe,zone=a}");
	ck_assert_int_eq(api_labels_copy(&c, &l), 0);
	ck_assert_int_eq(api_labels_equal(&c, &l), 1);
	api_labels_unset(&c, "tier");
	api_labels_unset(&c, "tier");
	ck_assert_int_eq(api_labels_equal(&c, &l), 0);
	ck_assert_int_eq(api_labels_subset(&c, &l), 1);
	ck_assert_int_eq(api_labels_subset(&l, &c), 0);
	api_labels_format(&c, buf, 8);
	ck_assert_str_eq(buf, "{app=ap");
	api_labels_clear(&l);
	ck_assert_int_eq(api_labels_copy(&c, &l), 0);
	ck_assert_uint_eq(c.n, 0);
	api_labels_clear(&c);
}
END_TEST

/* Selector JSON, labels, whether it matches, its formatted form. */
struct mcase {
	const char *sel;
	const char *labels;
	int match;
	const char *fmt;
};

static const struct mcase mcases[] = {
	{"{\"app\":\"web\"}", "app=web", 1, "{app=web}"},
	{"{\"app\":\"web\"}", "app=web,tier=fe", 1, "{app=web}"},
	{"{\"app\":\"web\"}", "app=db", 0, "{app=web}"},
	{"{\"app\":\"web\"}", "", 0, "{app=web}"},
	{"{\"app\":\"web\",\"tier\":\"fe\"}", "app=web", 0, "{app=web,tier=fe}"},
	{"{}", "app=web", 1, "{}"},
	{"{}", "", 1, "{}"},
	{"{\"matchLabels\":{\"app\":\"web\"}}", "app=web", 1, "{app=web}"},
	{"{\"matchExpressions\":[{\"key\":\"tier\",\"operator\":\"In\",\"values\":[\"fe\",\"be\"]}]}", "tier=be", 1,
         "{tier in (fe,be)}"},
	{"{\"matchExpressions\":[{\"key\":\"tier\",\"operator\":\"In\",\"values\":[\"fe\"]}]}", "tier=db", 0,
         "{tier in (fe)}"},
	{"{\"matchExpressions\":[{\"key\":\"tier\",\"operator\":\"In\",\"values\":[\"fe\"]}]}", "", 0,
         "{tier in (fe)}"},
	{"{\"matchExpressions\":[{\"key\":\"env\",\"operator\":\"NotIn\",\"values\":[\"dev\"]}]}", "", 1,
         "{env notin (dev)}"},
	{"{\"matchExpressions\":[{\"key\":\"env\",\"operator\":\"NotIn\",\"values\":[\"dev\"]}]}", "env=dev", 0,
         "{env notin (dev)}"},
	{"{\"matchExpressions\":[{\"key\":\"env\",\"operator\":\"NotIn\",\"values\":[\"dev\"]}]}", "env=prod", 1,
         "{env notin (dev)}"},
	{"{\"matchExpressions\":[{\"key\":\"gpu\",\"operator\":\"Exists\"}]}", "gpu=", 1, "{gpu}"},
	{"{\"matchExpressions\":[{\"key\":\"gpu\",\"operator\":\"Exists\"}]}", "app=x", 0, "{gpu}"},
	{"{\"matchExpressions\":[{\"key\":\"legacy\",\"operator\":\"DoesNotExist\"}]}", "app=x", 1, "{!legacy}"},
	{"{\"matchExpressions\":[{\"key\":\"legacy\",\"operator\":\"DoesNotExist\"}]}", "legacy=1", 0, "{!legacy}"},
	{"{\"matchLabels\":{\"app\":\"web\"},\"matchExpressions\":[{\"key\":\"tier\",\"operator\":\"In\","
         "\"values\":[\"fe\"]},{\"key\":\"legacy\",\"operator\":\"DoesNotExist\"}]}",
         "app=web,tier=fe", 1, "{app=web,tier in (fe),!legacy}"},
	{"{\"matchLabels\":{\"app\":\"web\"},\"matchExpressions\":[{\"key\":\"tier\",\"operator\":\"In\","
         "\"values\":[\"fe\"]},{\"key\":\"legacy\",\"operator\":\"DoesNotExist\"}]}",
         "app=web,tier=fe,legacy=y", 0, "{app=web,tier in (fe),!legacy}"},
	/* "matchLabels" with a string value is a plain label. */
	{"{\"matchLabels\":\"x\"}", "matchLabels=x", 1, "{matchLabels=x}"},
};

START_TEST(test_match)
{
	const struct mcase *c = &mcases[_i];
	struct api_errors errs = {0};
	struct api_selector sel;
	struct api_labels l;
	json_t *j = json_loads(c->sel, 0, NULL), *back;
	char buf[128], *a, *b;

	ck_assert_ptr_nonnull(j);
	ck_assert_int_eq(api_selector_from_json(j, &sel, &errs), 0);
	labels_of(&l, c->labels);
	ck_assert_int_eq(api_selector_matches(&sel, &l), c->match);
	api_selector_format(&sel, buf, sizeof(buf));
	ck_assert_str_eq(buf, c->fmt);
	ck_assert_int_eq(api_selector_empty(&sel), strcmp(c->fmt, "{}") == 0);
	/* Written back in the form it was read in. */
	back = api_selector_to_json(&sel);
	a = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	b = json_dumps(back, JSON_COMPACT | JSON_SORT_KEYS);
	ck_assert_str_eq(b, a);
	free(a);
	free(b);
	json_decref(back);
	json_decref(j);
	api_selector_clear(&sel);
	api_labels_clear(&l);
}
END_TEST

/* Selector JSON and the errors it must give, one per line. */
struct ecase {
	const char *sel;
	const char *errs;
};

static const struct ecase ecases[] = {
	{"\"app=web\"", "must be an object, got string"},
	{"{\"app\":1}", "[app]: must be a string, got integer"},
	{"{\"app_\":\"x\",\"ok\":\"-x\"}",
         "\"app_\" is not a valid label key (alphanumerics, '-', '_' or '.', starting and ending with an "
         "alphanumeric, optional DNS prefix and '/')\n"
         "[ok]: \"-x\" is not a valid label value (alphanumerics, '-', '_' or '.', starting and ending with an "
         "alphanumeric)"},
	{"{\"matchExpressions\":[{\"key\":\"tier\",\"operator\":\"Among\",\"values\":[\"a\"]}]}",
         "matchExpressions[0].operator: must be one of In, NotIn, Exists or DoesNotExist, got \"Among\""},
	{"{\"matchExpressions\":[{\"key\":\"tier\",\"values\":[\"a\"]}]}", "matchExpressions[0].operator: required"},
	{"{\"matchExpressions\":[{\"operator\":\"Exists\"}]}", "matchExpressions[0].key: required"},
	/* Found by fuzz_api_selector: "" read as absent must still be required. */
	{"{\"matchExpressions\":[{\"key\":\"gpu\",\"operator\":\"\"}]}", "matchExpressions[0].operator: required"},
	{"{\"matchExpressions\":[{\"key\":\"tier\",\"operator\":\"In\"}]}",
         "matchExpressions[0].values: must not be empty for In and NotIn"},
	{"{\"matchExpressions\":[{\"key\":\"tier\",\"operator\":\"NotIn\",\"values\":[]}]}",
         "matchExpressions[0].values: must not be empty for In and NotIn"},
	{"{\"matchExpressions\":[{\"key\":\"tier\",\"operator\":\"Exists\",\"values\":[\"a\"]}]}",
         "matchExpressions[0].values: must be empty for Exists and DoesNotExist"},
	{"{\"matchExpressions\":[{\"key\":\"tier\",\"operator\":\"In\",\"values\":[\"a\",1,\"/\"]}]}",
         "matchExpressions[0].values[1]: must be a string, got integer\n"
         "matchExpressions[0].values[1]: \"/\" is not a valid label value (alphanumerics, '-', '_' or '.', "
         "starting and ending with an alphanumeric)"},
	{"{\"matchExpressions\":[\"x\"]}", "matchExpressions[0]: must be an object, got string"},
	{"{\"matchLabels\":{\"a\":\"b\"},\"matchExpressions\":{}}", "matchExpressions: must be an array, got object"},
};

START_TEST(test_errors)
{
	const struct ecase *c = &ecases[_i];
	struct api_errors errs = {0};
	struct api_selector sel;
	json_t *j = json_loads(c->sel, JSON_DECODE_ANY, NULL);
	char *got;

	ck_assert_ptr_nonnull(j);
	ck_assert_int_eq(api_selector_from_json(j, &sel, &errs), -1);
	ck_assert_int_eq(api_selector_empty(&sel), 1);
	got = api_errors_join(&errs, "\n");
	ck_assert_str_eq(got, c->errs);
	free(got);
	api_errors_clear(&errs);
	json_decref(j);
}
END_TEST

START_TEST(test_format_truncates)
{
	struct api_errors errs = {0};
	struct api_selector sel;
	json_t *j = json_loads(
		"{\"matchExpressions\":[{\"key\":\"tier\",\"operator\":\"In\",\"values\":[\"fe\",\"be\"]}]}", 0, NULL);
	char buf[8];

	ck_assert_int_eq(api_selector_from_json(j, &sel, &errs), 0);
	ck_assert_uint_eq(api_selector_format(&sel, buf, sizeof(buf)), strlen("{tier in (fe,be)}"));
	ck_assert_str_eq(buf, "{tier i");
	ck_assert_str_eq(api_selector_op_name(API_SEL_DOES_NOT_EXIST), "DoesNotExist");
	api_selector_clear(&sel);
	json_decref(j);
}
END_TEST

static Suite *
selector_suite(void)
{
	Suite *s = suite_create("api_selector");
	TCase *core = tcase_create("core"), *errors = tcase_create("errors"), *limits = tcase_create("limits");

	tcase_add_test(core, test_labels);
	tcase_add_loop_test(core, test_match, 0, sizeof(mcases) / sizeof(mcases[0]));
	tcase_add_loop_test(errors, test_errors, 0, sizeof(ecases) / sizeof(ecases[0]));
	tcase_add_test(limits, test_format_truncates);
	suite_add_tcase(s, core);
	suite_add_tcase(s, errors);
	suite_add_tcase(s, limits);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(selector_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
