/*
 * check_api_deployment.c: what api_deployment.c adds beyond decoding (the
 * fixtures in tests/fixtures/api/deployment and deploymentstatus cover that): the
 * pod-template-hash, the name NAME-HASH and the replication controller a
 * Deployment owns for one template.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"

#define TEMPLATE                                                                                         \
	"\"template\":{\"metadata\":{\"labels\":{\"app\":\"web\"}},\"spec\":{\"containers\":[{\"name\":" \
	"\"web\",\"image\":\"httpd:2.4\"}]}}"

static struct api_deployment *
deployment(const char *spec_extra)
{
	struct api_errors errs = {0};
	char json[2048];
	struct api_deployment *d;

	snprintf(json, sizeof(json),
	         "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"web\"},"
	         "\"spec\":{\"selector\":{\"matchLabels\":{\"app\":\"web\"}},%s" TEMPLATE "}}",
	         spec_extra);
	d = api_deployment_parse(json, strlen(json), &errs);
	ck_assert_msg(d != NULL, "%s", errs.n ? errs.items[0].msg : "?");
	api_errors_clear(&errs);
	return d;
}

/* The value an independent fnv32a of the canonical template gives (the
 * template's bytes are in tests/fixtures/api/deployment/defaults). */
START_TEST(test_hash)
{
	struct api_deployment *d = deployment(""), *e = deployment("\"replicas\":7,\"paused\":true,");
	char h[16], h1[16], he[16];

	ck_assert_int_eq(api_template_hash(&d->spec.template, 0, h, sizeof(h)), 0);
	ck_assert_str_eq(h, "85c9476cc9");
	ck_assert_int_eq(api_template_hash(&d->spec.template, 1, h1, sizeof(h1)), 0);
	ck_assert_str_eq(h1, "656cffb47d");
	/* Only the template counts. */
	ck_assert_int_eq(api_template_hash(&e->spec.template, 0, he, sizeof(he)), 0);
	ck_assert_str_eq(he, h);
	ck_assert_int_eq(api_template_hash(&d->spec.template, 0, h, 10), -1); /* no room */
	api_deployment_free(d);
	api_deployment_free(e);
}
END_TEST

START_TEST(test_rc_name)
{
	char buf[API_LABEL_MAX + 1], name[API_LABEL_MAX + 1];
	struct api_error err;

	ck_assert_int_eq(api_deployment_rc_name(buf, sizeof(buf), "web", "85c9476cc9", &err), 0);
	ck_assert_str_eq(buf, "web-85c9476cc9");
	memset(name, 'a', API_DEPLOYMENT_NAME_MAX);
	name[API_DEPLOYMENT_NAME_MAX] = '\0';
	ck_assert_int_eq(api_deployment_rc_name(buf, sizeof(buf), name, "85c9476cc9", &err), 0);
	ck_assert_int_eq(strlen(buf), API_LABEL_MAX);
	strcat(name, "a");
	ck_assert_int_eq(api_deployment_rc_name(buf, sizeof(buf), name, "85c9476cc9", &err), -1);
	ck_assert_ptr_nonnull(strstr(err.msg, "longer than 52"));
}
END_TEST

/* The owned controller: labels, selector, owner, revision; its template
 * matches the deployment's; its JSON decodes as a controller. */
START_TEST(test_new_rc)
{
	struct api_deployment *d = deployment("\"minReadySeconds\":0,\"replicas\":3,");
	struct api_controller *rc = api_deployment_new_rc(d, "web", "42", "85c9476cc9", 3, 2), *back;
	const struct api_owner_ref *own;
	struct api_errors errs = {0};
	char *json;

	ck_assert_ptr_nonnull(rc);
	ck_assert_str_eq(rc->meta.name, "web-85c9476cc9");
	ck_assert_int_eq(rc->spec.replicas, 2);
	ck_assert_str_eq(api_labels_get(&rc->meta.labels, API_POD_TEMPLATE_HASH), "85c9476cc9");
	ck_assert_str_eq(api_labels_get(&rc->meta.labels, "app"), "web");
	ck_assert_str_eq(api_labels_get(&rc->spec.template.meta.labels, API_POD_TEMPLATE_HASH), "85c9476cc9");
	ck_assert_str_eq(api_labels_get(&rc->spec.selector.match_labels, API_POD_TEMPLATE_HASH), "85c9476cc9");
	ck_assert(api_selector_matches(&rc->spec.selector, &rc->spec.template.meta.labels));
	ck_assert(!api_selector_matches(&rc->spec.selector, &d->spec.template.meta.labels));
	own = api_meta_owner(&rc->meta, API_DEPLOYMENT_KIND);
	ck_assert_ptr_nonnull(own);
	ck_assert_str_eq(own->name, "web");
	ck_assert_str_eq(own->uid, "42");
	ck_assert_int_eq(own->controller, 1);
	ck_assert_int_eq(api_deployment_revision(rc), 3);
	ck_assert(api_deployment_template_matches(d, rc));
	json = api_deployment_rc_json(rc, d);
	ck_assert_ptr_nonnull(strstr(json, "\"apiVersion\":\"apps/v1\""));
	ck_assert_ptr_null(strstr(json, "minReadySeconds"));
	back = api_controller_parse(json, strlen(json), &errs);
	ck_assert_msg(back != NULL, "%s", errs.n ? errs.items[0].msg : "?");
	ck_assert(api_deployment_template_matches(d, back));
	free(json);
	api_controller_free(back);
	api_controller_free(rc);
	api_errors_clear(&errs);
	api_deployment_free(d);
}
END_TEST

/* Another image: another template; minReadySeconds goes to the
 * controller; a revision that is no number reads as 0. */
START_TEST(test_template_differs)
{
	struct api_deployment *d = deployment("\"minReadySeconds\":5,"), *e = deployment("");
	struct api_controller *rc = api_deployment_new_rc(d, "web", "42", "x", 1, 1);
	char *json;

	free(e->spec.template.spec.containers[0].image);
	e->spec.template.spec.containers[0].image = strdup("httpd:2.4.62");
	ck_assert(!api_deployment_template_matches(e, rc));
	json = api_deployment_rc_json(rc, d);
	ck_assert_ptr_nonnull(strstr(json, "\"minReadySeconds\":5"));
	free(json);
	ck_assert_int_eq(api_labels_set(&rc->meta.annotations, API_DEPLOYMENT_REVISION, "7x"), 0);
	ck_assert_int_eq(api_deployment_revision(rc), 0);
	api_controller_free(rc);
	api_deployment_free(d);
	api_deployment_free(e);
}
END_TEST

START_TEST(test_status_condition)
{
	static const char json[] =
		"{\"uid\":\"5\",\"conditions\":[{\"type\":\"Available\",\"status\":\"True\"},"
		"{\"type\":\"Progressing\",\"status\":\"False\",\"reason\":\"ProgressDeadlineExceeded\"}]}";
	struct api_errors errs = {0};
	struct api_deployment_status *st = api_deployment_status_parse(json, strlen(json), &errs);

	ck_assert_ptr_nonnull(st);
	ck_assert_str_eq(api_deployment_condition(st, "Progressing")->reason, "ProgressDeadlineExceeded");
	ck_assert_int_eq(api_deployment_condition(st, "Available")->status, API_COND_TRUE);
	ck_assert_ptr_null(api_deployment_condition(st, "Ready"));
	ck_assert_ptr_null(api_deployment_condition(NULL, "Ready"));
	api_deployment_status_free(st);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("api_deployment");
	TCase *core = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(core, test_hash);
	tcase_add_test(core, test_rc_name);
	tcase_add_test(core, test_new_rc);
	tcase_add_test(core, test_template_differs);
	tcase_add_test(core, test_status_condition);
	suite_add_tcase(s, core);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
