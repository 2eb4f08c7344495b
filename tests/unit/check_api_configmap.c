/*
 * check_api_configmap.c: ConfigMap and Secret decoding (keys, base64,
 * size), their values as the agent reads them, the field policy of both
 * kinds, and the references a pod makes to them.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"

static void *
parse(enum api_kind k, const char *json, struct api_errors *errs)
{
	return api_parse(k, json, strlen(json), errs);
}

static char *
first_error(struct api_errors *errs)
{
	return api_errors_join(errs, "; ");
}

START_TEST(test_configmap_values)
{
	struct api_errors errs = {0};
	struct api_configmap *cm = parse(API_CONFIGMAP,
	                                 "{\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"web.conf\"},"
	                                 "\"data\":{\"a.txt\":\"hello\"},\"binaryData\":{\"b\":\"AAEC\"}}",
	                                 &errs);
	json_t *v;
	char *s;

	ck_assert_ptr_nonnull(cm);
	ck_assert_str_eq(cm->meta.name, "web.conf");
	v = api_configmap_values(cm, 0);
	ck_assert_str_eq(json_string_value(json_object_get(v, "a.txt")), "hello");
	ck_assert_int_eq(json_object_size(v), 2);
	json_decref(v);
	s = api_serialize(API_CONFIGMAP, cm);
	ck_assert_str_eq(s, "{\"apiVersion\":\"v1\",\"binaryData\":{\"b\":\"AAEC\"},\"data\":{\"a.txt\":\"hello\"},"
	                    "\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"web.conf\"}}");
	free(s);
	api_free(API_CONFIGMAP, cm);
}
END_TEST

START_TEST(test_secret_values)
{
	struct api_errors errs = {0};
	struct api_configmap *sec = parse(API_SECRET,
	                                  "{\"kind\":\"Secret\",\"metadata\":{\"name\":\"db\"},"
	                                  "\"data\":{\"user\":\"YWRtaW4=\",\"pw\":\"c2VjcmV0\"},"
	                                  "\"stringData\":{\"pw\":\"plain\"},\"type\":\"Opaque\"}",
	                                  &errs);
	json_t *v;

	ck_assert_ptr_nonnull(sec);
	v = api_configmap_values(sec, 1);
	ck_assert_str_eq(json_string_value(json_object_get(v, "user")), "admin");
	ck_assert_str_eq(json_string_value(json_object_get(v, "pw")), "plain"); /* stringData wins */
	json_decref(v);
	api_free(API_SECRET, sec);
}
END_TEST

static const struct bad {
	enum api_kind kind;
	const char *json, *want;
} bads[] = {
	{API_SECRET, "{\"metadata\":{\"name\":\"s\"},\"data\":{\"k\":\"not base64!\"}}", "data.k: must be base64"},
	{API_SECRET, "{\"metadata\":{\"name\":\"s\"},\"data\":{\"k\":\"YWJ\"}}", "data.k: must be base64"},
	{API_CONFIGMAP, "{\"metadata\":{\"name\":\"c\"},\"data\":{\"a/b\":\"x\"}}", "is not a valid key"},
	{API_CONFIGMAP, "{\"metadata\":{\"name\":\"c\"},\"data\":{\"..\":\"x\"}}", "is not a valid key"},
	{API_CONFIGMAP, "{\"data\":{\"a\":\"x\"}}", "metadata.name: required"},
	{API_CONFIGMAP, "{\"metadata\":{\"name\":\"c\"},\"data\":{\"a\":\"x\"},\"binaryData\":{\"a\":\"AA==\"}}",
         "key a is also in data"},
	{API_CONFIGMAP, "{\"metadata\":{\"name\":\"c\"},\"immutable\":true}", "immutable"},
	{API_SECRET, "{\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"c\"}}", "kind: must be Secret"},
	{API_CONFIGMAP, "{\"apiVersion\":\"v2\",\"metadata\":{\"name\":\"c\"}}", "apiVersion: must be v1"},
};

START_TEST(test_refused)
{
	struct api_errors errs = {0};
	void *obj = parse(bads[_i].kind, bads[_i].json, &errs);
	char *msg = first_error(&errs);

	ck_assert_ptr_null(obj);
	ck_assert_msg(msg && strstr(msg, bads[_i].want), "%s: got %s", bads[_i].json, msg ? msg : "(none)");
	free(msg);
	api_errors_clear(&errs);
}
END_TEST

START_TEST(test_too_large)
{
	struct api_errors errs = {0};
	size_t n = API_CONFIGMAP_MAX + 1;
	char *big = malloc(n + 1), *json = malloc(n + 100), *msg;

	memset(big, 'x', n);
	big[n] = '\0';
	sprintf(json, "{\"metadata\":{\"name\":\"c\"},\"data\":{\"k\":\"%s\"}}", big);
	ck_assert_ptr_null(parse(API_CONFIGMAP, json, &errs));
	msg = first_error(&errs);
	ck_assert_ptr_nonnull(strstr(msg, "more than"));
	free(msg);
	api_errors_clear(&errs);
	free(big);
	free(json);
}
END_TEST

START_TEST(test_base64)
{
	size_t len;
	unsigned char *b = api_base64_decode("aGk=", &len);

	ck_assert_int_eq(len, 2);
	ck_assert_str_eq((char *)b, "hi");
	free(b);
	b = api_base64_decode("", &len);
	ck_assert_int_eq(len, 0);
	free(b);
	ck_assert_ptr_null(api_base64_decode("a=b=", &len));
}
END_TEST

static void
collect(enum api_kind kind, const char *name, void *arg)
{
	char *buf = arg;

	strcat(buf, kind == API_SECRET ? "s:" : "c:");
	strcat(buf, name);
	strcat(buf, " ");
}

START_TEST(test_pod_refs)
{
	json_t *pod = json_loads(
		"{\"spec\":{\"containers\":[{\"env\":[{\"name\":\"A\",\"valueFrom\":{\"configMapKeyRef\":{\"name\":\"c1\","
		"\"key\":\"k\"}}},{\"name\":\"B\",\"valueFrom\":{\"secretKeyRef\":{\"name\":\"s1\",\"key\":\"k\"}}},"
		"{\"name\":\"C\",\"value\":\"x\"}],\"envFrom\":[{\"configMapRef\":{\"name\":\"c2\"}},{\"secretRef\":{"
		"\"name\":\"s2\"}}]}],\"initContainers\":[{\"envFrom\":[{\"secretRef\":{\"name\":\"s3\"}}]}],"
		"\"volumes\":[{\"name\":\"v\",\"configMap\":{\"name\":\"c3\"}},{\"name\":\"w\",\"secret\":{\"secretName\":"
		"\"s4\"}},{\"name\":\"p\",\"projected\":{\"sources\":[{\"configMap\":{\"name\":\"c4\"}},{\"secret\":{"
		"\"name\":\"s5\"}}]}},{\"name\":\"e\",\"emptyDir\":{}}]}}",
		0, NULL);
	char buf[256] = "";

	ck_assert_ptr_nonnull(pod);
	api_pod_config_refs(pod, collect, buf);
	ck_assert_str_eq(buf, "c:c1 s:s1 c:c2 s:s2 s:s3 c:c3 s:s4 c:c4 s:s5 ");
	json_decref(pod);
}
END_TEST

static Suite *
configmap_suite(void)
{
	Suite *s = suite_create("api_configmap");
	TCase *core = tcase_create("core"), *errors = tcase_create("errors"), *limits = tcase_create("limits");

	tcase_add_test(core, test_configmap_values);
	tcase_add_test(core, test_secret_values);
	tcase_add_test(core, test_base64);
	tcase_add_test(core, test_pod_refs);
	tcase_add_loop_test(errors, test_refused, 0, sizeof(bads) / sizeof(bads[0]));
	tcase_add_test(limits, test_too_large);
	suite_add_tcase(s, core);
	suite_add_tcase(s, errors);
	suite_add_tcase(s, limits);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(configmap_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
