/*
 * check_api_envsource.c: env valueFrom and envFrom decoding (what is
 * accepted, what is refused with its path, that encoding gives the input
 * back), and Kubernetes' $(VAR) expansion.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"

#define POD(env) \
	"{\"metadata\":{\"name\":\"p\"},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"busybox\"," env "}]}}"

START_TEST(test_decode_round_trip)
{
	static const char *const in = POD(
		"\"env\":[{\"name\":\"N\",\"valueFrom\":{\"fieldRef\":{\"fieldPath\":\"metadata.labels['app']\"}}},"
		"{\"name\":\"M\",\"valueFrom\":{\"resourceFieldRef\":{\"divisor\":\"1Mi\",\"resource\":\"limits.memory\"}}},"
		"{\"name\":\"S\",\"valueFrom\":{\"secretKeyRef\":{\"key\":\"pw\",\"name\":\"db\",\"optional\":true}}}],"
		"\"envFrom\":[{\"configMapRef\":{\"name\":\"cfg\"},\"prefix\":\"CFG_\"},{\"secretRef\":{\"name\":\"s\"}}]");
	struct api_errors errs = {0};
	struct api_pod *p = api_pod_parse(in, strlen(in), &errs);
	const struct api_container *c;
	char *s;

	ck_assert_msg(p != NULL, "%s", errs.n ? errs.items[0].msg : "?");
	c = &p->spec.containers[0];
	ck_assert_int_eq(c->env[0].value_from->source, API_ENV_FIELD);
	ck_assert_int_eq(c->env[1].value_from->divisor, 1048576000LL);
	ck_assert_int_eq(c->env[2].value_from->source, API_ENV_SECRET);
	ck_assert_int_eq(c->env[2].value_from->optional, 1);
	ck_assert_int_eq(c->n_env_from, 2);
	ck_assert_str_eq(c->env_from[0].prefix, "CFG_");
	ck_assert_int_eq(c->env_from[1].secret, 1);
	s = api_serialize(API_POD, p);
	ck_assert_ptr_nonnull(strstr(s, "\"valueFrom\":{\"fieldRef\":{\"fieldPath\":\"metadata.labels['app']\"}}"));
	ck_assert_ptr_nonnull(strstr(s, "\"envFrom\":[{\"configMapRef\":{\"name\":\"cfg\"},\"prefix\":\"CFG_\"}"));
	free(s);
	api_pod_free(p);
}
END_TEST

static const struct bad {
	const char *json, *want;
} bads[] = {
	{POD("\"env\":[{\"name\":\"N\",\"valueFrom\":{\"fieldRef\":{\"fieldPath\":\"spec.serviceAccountName\"}}}]"),
         "spec.containers[0].env[0].valueFrom.fieldRef.fieldPath: Skiff resolves"},
	{POD("\"env\":[{\"name\":\"N\",\"value\":\"x\",\"valueFrom\":{\"fieldRef\":{\"fieldPath\":\"metadata.name\"}}}]"),
         "env[0].valueFrom: may not be given with value"},
	{POD("\"env\":[{\"name\":\"N\",\"valueFrom\":{}}]"), "must have exactly one of"},
	{POD("\"env\":[{\"name\":\"N\",\"valueFrom\":{\"configMapKeyRef\":{\"name\":\"c\"}}}]"),
         "configMapKeyRef.key: required"},
	{POD("\"env\":[{\"name\":\"N\",\"valueFrom\":{\"resourceFieldRef\":{\"resource\":\"limits.ephemeral-storage\"}}}]"),
         "resourceFieldRef.resource: must be limits.cpu"},
	{POD("\"env\":[{\"name\":\"N\",\"valueFrom\":{\"resourceFieldRef\":{\"resource\":\"limits.cpu\",\"divisor\":\"0\"}}}]"),
         "divisor: must be more than 0"},
	{POD("\"envFrom\":[{\"configMapRef\":{\"name\":\"c\"},\"secretRef\":{\"name\":\"s\"}}]"),
         "envFrom[0]: must have exactly one of"},
	{POD("\"envFrom\":[{\"prefix\":\"A=\",\"secretRef\":{\"name\":\"s\"}}]"), "prefix: must not contain '='"},
};

START_TEST(test_refused)
{
	struct api_errors errs = {0};
	struct api_pod *p = api_pod_parse(bads[_i].json, strlen(bads[_i].json), &errs);
	char *msg = api_errors_join(&errs, "; ");

	ck_assert_ptr_null(p);
	ck_assert_msg(msg && strstr(msg, bads[_i].want), "want %s, got %s", bads[_i].want, msg ? msg : "(none)");
	free(msg);
	api_errors_clear(&errs);
}
END_TEST

static const char *
lookup(const char *name, size_t len, void *arg)
{
	(void)arg;
	if (len == 1 && name[0] == 'A')
		return "x";
	if (len == 2 && memcmp(name, "AB", 2) == 0)
		return "$(A)"; /* values are not expanded again */
	return NULL;
}

static const struct exp {
	const char *in, *out;
} exps[] = {
	{"$(A)-y", "x-y"},
	{"$(AB)", "$(A)"},
	{"$$(A)", "$(A)"},
	{"$(NOPE) $(A)", "$(NOPE) x"},
	{"$HOME ${A} $", "$HOME ${A} $"},
	{"$(A", "$(A"},
	{"", ""},
	{"a$$b$$$$", "a$b$$"},
	{"$(date) $(A)$(A)", "$(date) xx"},
};

START_TEST(test_expand)
{
	char *s = api_env_expand(exps[_i].in, lookup, NULL);

	ck_assert_ptr_nonnull(s);
	ck_assert_str_eq(s, exps[_i].out);
	free(s);
}
END_TEST

static Suite *
envsource_suite(void)
{
	Suite *s = suite_create("api_envsource");
	TCase *core = tcase_create("core"), *errors = tcase_create("errors");

	tcase_add_test(core, test_decode_round_trip);
	tcase_add_loop_test(core, test_expand, 0, sizeof(exps) / sizeof(exps[0]));
	tcase_add_loop_test(errors, test_refused, 0, sizeof(bads) / sizeof(bads[0]));
	suite_add_tcase(s, core);
	suite_add_tcase(s, errors);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(envsource_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
