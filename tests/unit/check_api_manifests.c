/*
 * check_api_manifests.c: every file under manifests/ is a valid object of
 * the kind it names, and the examples say what the documentation says
 * (apache: 4 replicas of httpd:2.4 on port 80, label app=apache; test/:
 * the same with skiff/test-httpd:latest), and none has a field the field
 * policy refuses or does not know (no warning either). SKIFF_MANIFESTS=dir
 * reads another folder.
 */
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"

static const char *
root(void)
{
	const char *env = getenv("SKIFF_MANIFESTS");

	return env && *env ? env : "manifests";
}

/* Decode root()/rel, which must be valid and of kind k. */
static void *
load(const char *rel, enum api_kind k)
{
	struct api_errors errs = {0};
	json_error_t jerr;
	char path[512], *e;
	json_t *j;
	void *obj;

	snprintf(path, sizeof(path), "%s/%s", root(), rel);
	j = json_load_file(path, 0, &jerr);
	ck_assert_msg(j != NULL, "%s: %s", path, jerr.text);
	ck_assert_int_eq(api_kind_detect(j), k);
	obj = api_decode(k, j, &errs);
	e = api_errors_join(&errs, "\n");
	ck_assert_msg(obj != NULL, "%s:\n%s", path, e);
	free(e);
	api_errors_clear(&errs);
	json_decref(j);
	return obj;
}

START_TEST(test_every_file_valid)
{
	struct dirent *sub, *f;
	char path[512];
	DIR *top, *d;
	int n = 0;

	top = opendir(root());
	ck_assert_msg(top != NULL, "no %s (run from the repository root)", root());
	while ((sub = readdir(top))) {
		if (sub->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", root(), sub->d_name);
		if (!(d = opendir(path)))
			continue;
		while ((f = readdir(d))) {
			size_t len = strlen(f->d_name);
			struct api_errors errs = {0}, warns = {0};
			json_t *j;
			char rel[512];
			void *obj;
			enum api_kind k;

			if (len < 6 || strcmp(f->d_name + len - 5, ".json") != 0)
				continue;
			snprintf(rel, sizeof(rel), "%s/%s/%s", root(), sub->d_name, f->d_name);
			j = json_load_file(rel, 0, NULL);
			ck_assert_msg(j != NULL, "%s: not JSON", rel);
			k = api_kind_detect(j);
			ck_assert_msg(k != API_KIND_UNKNOWN, "%s: unknown kind", rel);
			ck_assert_msg(json_is_string(json_object_get(j, "kind")), "%s: no \"kind\"", rel);
			obj = api_decode(k, j, &errs);
			ck_assert_msg(obj != NULL, "%s: %s", rel, errs.n ? errs.items[0].msg : "");
			ck_assert_ptr_nonnull(api_object_meta(k, obj)->name);
			ck_assert_int_eq(api_fields_check(k, j, &errs, &warns), 0);
			ck_assert_msg(warns.n == 0, "%s: %s: %s", rel, warns.n ? warns.items[0].field : "",
			              warns.n ? warns.items[0].msg : "");
			api_errors_clear(&warns);
			api_free(k, obj);
			json_decref(j);
			n++;
		}
		closedir(d);
	}
	closedir(top);
	ck_assert_int_ge(n, 6);
}
END_TEST

static const struct {
	const char *dir, *image;
} sets[] = {
	{"apache", "httpd:2.4"},
	{"test", "skiff/test-httpd:latest"},
};

START_TEST(test_apache)
{
	char rel[64];
	struct api_controller *rc;
	struct api_service *svc;
	struct api_pod *pod;
	const struct api_container *c;

	snprintf(rel, sizeof(rel), "%s/controller.json", sets[_i].dir);
	rc = load(rel, API_CONTROLLER);
	ck_assert_str_eq(rc->meta.name, "apache");
	ck_assert_int_eq(rc->spec.replicas, 4);
	ck_assert_str_eq(api_labels_get(&rc->spec.template.meta.labels, "app"), "apache");
	ck_assert_str_eq(api_labels_get(&rc->spec.selector.match_labels, "app"), "apache");
	ck_assert_uint_eq(rc->spec.template.spec.n_containers, 1);
	c = &rc->spec.template.spec.containers[0];
	ck_assert_str_eq(c->image, sets[_i].image);
	ck_assert_uint_eq(c->n_ports, 1);
	ck_assert_int_eq(c->ports[0].container_port, 80);

	snprintf(rel, sizeof(rel), "%s/service.json", sets[_i].dir);
	svc = load(rel, API_SERVICE);
	ck_assert_str_eq(svc->meta.name, "apache");
	ck_assert_int_eq(svc->spec.ports[0].port, 80);
	ck_assert_int_eq(svc->spec.ports[0].target_port, 80);
	/* The service reaches the controller's pods. */
	ck_assert_int_eq(api_selector_matches(&svc->spec.selector, &rc->spec.template.meta.labels), 1);

	snprintf(rel, sizeof(rel), "%s/pod.json", sets[_i].dir);
	pod = load(rel, API_POD);
	ck_assert_str_eq(pod->meta.name, "apache");
	ck_assert_str_eq(pod->spec.containers[0].image, sets[_i].image);
	ck_assert_int_eq(pod->spec.containers[0].ports[0].container_port, 80);
	/* The standalone pod is neither the controller's nor the service's. */
	ck_assert_int_eq(api_controller_selects(rc, pod), 0);
	ck_assert_int_eq(api_selector_matches(&svc->spec.selector, &pod->meta.labels), 0);
	if (strcmp(sets[_i].dir, "test") == 0) {
		ck_assert_int_eq(c->image_pull_policy, API_PULL_NEVER);
		/* busybox writes a page naming the pod and its IP, then serves it. */
		ck_assert_uint_eq(c->n_command, 4);
		ck_assert_str_eq(c->command[0], "/bin/busybox");
		ck_assert_str_eq(c->command[1], "sh");
		ck_assert_str_eq(c->command[2], "-c");
		ck_assert_ptr_nonnull(strstr(c->command[3], "pod=$(/bin/busybox hostname)"));
		ck_assert_ptr_nonnull(strstr(c->command[3], "exec /bin/busybox httpd -f -p 80 -h /www"));
	}
	api_controller_free(rc);
	api_service_free(svc);
	api_pod_free(pod);
}
END_TEST

static Suite *
manifests_suite(void)
{
	Suite *s = suite_create("api_manifests");
	TCase *core = tcase_create("core");

	tcase_add_test(core, test_every_file_valid);
	tcase_add_loop_test(core, test_apache, 0, sizeof(sets) / sizeof(sets[0]));
	suite_add_tcase(s, core);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(manifests_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
