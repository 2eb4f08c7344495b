/*
 * check_rc.c: the pure parts of skiff-replication-controller: the pod →
 * binding/status index (rc_index.c: a status believed only from the
 * bound node, with the binding's uid) and the scale-down order
 * (rc_delete.c): unbound first, then not running, then not ready, then
 * the youngest; a create's pod JSON from the pass's template, byte for
 * byte what serialising the pod gives (rc_create.c).
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "controllers/replication/rc.h"
#include "unit_fixtures.h"

static struct api_pod_status *
status(const char *uid, int running, int ready)
{
	char json[512];
	struct api_errors errs = {0};
	struct api_pod_status *st;

	snprintf(json, sizeof(json),
	         "{\"uid\":\"%s\",\"phase\":\"%s\",\"containerStatuses\":[{\"name\":\"c\",\"ready\":%s,"
	         "\"restartCount\":0,\"state\":{\"running\":{}}}]}",
	         uid, running ? "Running" : "Pending", ready ? "true" : "false");
	st = api_pod_status_parse(json, strlen(json), &errs);
	ck_assert_msg(st != NULL, "status does not parse");
	api_errors_clear(&errs);
	return st;
}

START_TEST(test_index)
{
	struct rc rc = {0};
	struct api_pod_status *st = status("7", 1, 1);
	const struct rc_podinfo *pi;

	rc_index_binding(&rc, "n1/a", "7", 1);
	rc_index_status(&rc, "n1/a", st, 1);
	pi = rc_podinfo(&rc, "a");
	ck_assert_ptr_nonnull(pi);
	ck_assert_int_eq(pi->bindings, 1);
	ck_assert(pi->running && pi->ready);
	ck_assert_str_eq(pi->status_uid, "7");
	/* A delete of a status on another node leaves the one we know. */
	rc_index_status(&rc, "n2/a", NULL, 0);
	ck_assert_ptr_nonnull(rc_podinfo(&rc, "a")->status_node);
	rc_index_status(&rc, "n1/a", NULL, 0);
	rc_index_binding(&rc, "n1/a", NULL, 0);
	ck_assert_ptr_null(rc_podinfo(&rc, "a"));
	/* Names without a node part are ignored. */
	rc_index_binding(&rc, "nonode", "7", 1);
	ck_assert_ptr_null(rc_podinfo(&rc, "nonode"));
	rc_index_free(&rc);
	api_pod_status_free(st);
}
END_TEST

/* A status counts only from the bound node and with the binding's uid. */
START_TEST(test_trust)
{
	struct rc rc = {0};
	struct api_pod_status *s7 = status("7", 1, 1), *s8 = status("8", 1, 1), *s3 = status("3", 1, 0);
	const struct rc_podinfo *pi;

	rc_index_binding(&rc, "n2/a", "7", 1);
	rc_index_status(&rc, "n1/a", s7, 1); /* another node, the right uid */
	ck_assert_str_eq(rc_index_stranger(&rc, "n1/a", "7"), "n2");
	ck_assert_ptr_null(rc_index_stranger(&rc, "n1/a", "8"));
	ck_assert_ptr_null(rc_index_stranger(&rc, "n2/a", "7"));
	ck_assert_ptr_null(rc_index_stranger(&rc, "n1/zz", "7"));
	pi = rc_podinfo(&rc, "a");
	ck_assert(!pi->running && !pi->ready && !pi->status_node && !pi->status_uid);
	rc_index_status(&rc, "n2/a", s8, 1); /* the bound node, another uid */
	ck_assert(!rc_podinfo(&rc, "a")->running);
	rc_index_status(&rc, "n2/a", s7, 1);
	pi = rc_podinfo(&rc, "a");
	ck_assert(pi->running && pi->ready);
	ck_assert_str_eq(pi->status_node, "n2");
	rc_index_status(&rc, "n1/a", s8, 1); /* n1 again: no change */
	ck_assert_str_eq(rc_podinfo(&rc, "a")->status_node, "n2");
	/* Bound to n3 as well (a move): n3's status, none yet, is the one. */
	rc_index_binding(&rc, "n3/a", "7", 1);
	pi = rc_podinfo(&rc, "a");
	ck_assert_int_eq(pi->bindings, 2);
	ck_assert(!pi->running && !pi->status_node);
	rc_index_binding(&rc, "n3/a", NULL, 0);
	ck_assert_str_eq(rc_podinfo(&rc, "a")->status_node, "n2");
	rc_index_status(&rc, "n1/a", NULL, 0);
	ck_assert(rc_podinfo(&rc, "a")->ready);
	/* A status seen before its binding counts once the binding comes. */
	rc_index_status(&rc, "n5/b", s3, 1);
	ck_assert(!rc_podinfo(&rc, "b")->running);
	rc_index_binding(&rc, "n5/b", "3", 1);
	pi = rc_podinfo(&rc, "b");
	ck_assert(pi->running && !pi->ready);
	/* A binding without a uid binds no incarnation. */
	rc_index_binding(&rc, "n5/b", NULL, 1);
	ck_assert(!rc_podinfo(&rc, "b")->running);
	rc_index_free(&rc);
	api_pod_status_free(s7);
	api_pod_status_free(s8);
	api_pod_status_free(s3);
}
END_TEST

START_TEST(test_rank)
{
	struct rc rc = {0};
	struct api_pod_status *running = status("1", 1, 0), *ready = status("1", 1, 1);
	struct informer_obj objs[6] = {
		{.name = "ready-old", .create_revision = 1},   {.name = "ready-young", .create_revision = 9},
		{.name = "running", .create_revision = 2},     {.name = "bound", .create_revision = 3},
		{.name = "unbound-old", .create_revision = 4}, {.name = "unbound-young", .create_revision = 8},
	};
	const struct informer_obj *v[6];
	static const char *const want[6] = {"unbound-young", "unbound-old", "bound",
	                                    "running",       "ready-young", "ready-old"};

	rc_index_binding(&rc, "n/ready-old", "1", 1);
	rc_index_status(&rc, "n/ready-old", ready, 1);
	rc_index_binding(&rc, "n/ready-young", "1", 1);
	rc_index_status(&rc, "n/ready-young", ready, 1);
	rc_index_binding(&rc, "n/running", "1", 1);
	rc_index_status(&rc, "n/running", running, 1);
	rc_index_binding(&rc, "n/bound", "1", 1);
	/* A status without binding still counts as unbound. */
	rc_index_status(&rc, "n/unbound-old", ready, 1);
	for (int i = 0; i < 6; i++)
		v[i] = &objs[i];
	rc_rank_for_delete(&rc, v, 6);
	for (int i = 0; i < 6; i++)
		ck_assert_str_eq(v[i]->name, want[i]);
	rc_index_free(&rc);
	api_pod_status_free(running);
	api_pod_status_free(ready);
}
END_TEST

/* What the pods cache keeps (rc_pod_new) counts and selects as the
 * whole pod does, for every valid pod of tests/fixtures/api/pod/. */
static void
rc_pod_one(const char *name, const char *text, size_t len, unsigned keep)
{
	struct api_errors errs = {0};
	struct api_pod *full = api_pod_parse(text, len, &errs), *moved = api_pod_parse(text, len, &errs);
	const struct api_owner_ref *own = api_meta_owner(&full->meta, API_CONTROLLER_KIND);
	struct rc_pod *rp = rc_pod_new(moved);

	(void)keep;
	ck_assert_ptr_nonnull(rp);
	uf_selects_alike(name, full, &rp->labels);
	ck_assert_msg(rp->owned == (own != NULL), "%s: owned", name);
	ck_assert_pstr_eq(rp->owner, own ? own->name : NULL);
	ck_assert_pstr_eq(rp->owner_uid, own ? own->uid : NULL);
	ck_assert_int_eq(rp->deletion_grace_p1, full->meta.deletion_grace_p1);
	rc_pod_free(rp);
	api_pod_free(moved);
	api_pod_free(full);
	api_errors_clear(&errs);
}

START_TEST(test_pod)
{
	ck_assert_uint_ge(uf_each_case("pod", API_POD, rc_pod_one, 1), 20);
}
END_TEST

/* The digest a pass keeps for its pods' JSON is what decoding it gives
 * (rc_expect.c hands it out instead of decoding). */
static void
same_digest(const struct rc_pod *d, const char *json)
{
	struct api_errors errs = {0};
	struct api_pod *p = api_pod_parse(json, strlen(json), &errs);
	struct rc_pod *rp = p ? rc_pod_new(p) : NULL;

	ck_assert_ptr_nonnull(rp);
	ck_assert(api_labels_equal(&d->labels, &rp->labels));
	ck_assert_int_eq(d->owned, rp->owned);
	ck_assert_str_eq(d->owner, rp->owner);
	ck_assert_str_eq(d->owner_uid, rp->owner_uid);
	ck_assert_int_eq(d->deletion_grace_p1, rp->deletion_grace_p1);
	rc_pod_free(rp);
	api_pod_free(p);
	api_errors_clear(&errs);
}

/* rc_create_json against serialising the pod, for a template the
 * stand-in name is unique in (a template is made) and one that holds it
 * (none is; every pod serialised). */
static void
create_json_case(const char *ctl_json, int templated)
{
	static const char *const pods[] = {"web-abcde", "web-00000", "web-9z9z9"};
	struct api_errors errs = {0};
	struct rc_pass p = {0};

	snprintf(p.name, sizeof(p.name), "web");
	snprintf(p.uid, sizeof(p.uid), "42");
	p.ctl = api_controller_parse(ctl_json, strlen(ctl_json), &errs);
	ck_assert_msg(p.ctl != NULL, "controller does not parse");
	for (size_t i = 0; i < sizeof(pods) / sizeof(pods[0]); i++) {
		struct api_pod *obj = api_controller_new_pod(p.ctl, p.name, p.uid, pods[i]);
		char *want = obj ? api_pod_serialize(obj) : NULL, *got = rc_create_json(&p, pods[i]);

		ck_assert_ptr_nonnull(want);
		ck_assert_ptr_nonnull(got);
		ck_assert_str_eq(got, want);
		ck_assert_int_eq(p.tpl_head != NULL, templated);
		if (p.tpl_digest)
			same_digest(p.tpl_digest, got);
		free(want);
		free(got);
		api_pod_free(obj);
	}
	rc_create_free(&p);
	ck_assert_ptr_null(p.tpl_head);
	api_controller_free(p.ctl);
	api_errors_clear(&errs);
}

START_TEST(test_create_json)
{
	create_json_case(
		"{\"metadata\":{\"name\":\"web\"},\"spec\":{\"replicas\":3,\"selector\":{\"app\":\"web\"},"
		"\"template\":{\"metadata\":{\"labels\":{\"app\":\"web\"}},\"spec\":{\"containers\":"
		"[{\"name\":\"c\",\"image\":\"httpd:2.4\",\"env\":[{\"name\":\"A\",\"value\":\"\\\"q\\\"\"}]}]}}}}",
		1);
	create_json_case("{\"metadata\":{\"name\":\"web\"},\"spec\":{\"replicas\":3,\"selector\":{\"app\":\"web\"},"
	                 "\"template\":{\"metadata\":{\"labels\":{\"app\":\"web\",\"peer\":\"web-00000\"}},"
	                 "\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"httpd:2.4\"}]}}}}",
	                 0);
}
END_TEST

/* An expected pod is taken once, and only with the bytes sent. */
START_TEST(test_expect)
{
	struct rc rc = {0};
	struct rc_pod d = {.owned = 1, .owner = "web", .owner_uid = "42"}, *got;
	const char *json = "{\"metadata\":{\"name\":\"web-abcde\"}}";

	ck_assert_int_eq(api_labels_set(&d.labels, "app", "web"), 0);
	rc_expect_add(&rc, "web-abcde", json, &d, 0);
	rc_expect_add(&rc, "web-fghij", json, &d, 0);
	got = rc_expect_take(&rc, "web-abcde", json, strlen(json));
	ck_assert_ptr_nonnull(got);
	ck_assert_str_eq(api_labels_get(&got->labels, "app"), "web");
	ck_assert_str_eq(got->owner_uid, "42");
	rc_pod_free(got);
	ck_assert_ptr_null(rc_expect_take(&rc, "web-abcde", json, strlen(json)));     /* taken */
	ck_assert_ptr_null(rc_expect_take(&rc, "web-fghij", json, strlen(json) - 1)); /* other bytes */
	ck_assert_ptr_null(rc_expect_take(&rc, "web-fghij", json, strlen(json)));     /* dropped by that */
	rc_expect_add(&rc, "web-klmno", json, &d, 0);
	rc_expect_free(&rc);
	ck_assert_ptr_null(rc.expect);
	api_labels_clear(&d.labels);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("rc");
	TCase *core = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(core, test_index);
	tcase_add_test(core, test_trust);
	tcase_add_test(core, test_rank);
	tcase_add_test(core, test_pod);
	tcase_add_test(core, test_create_json);
	tcase_add_test(core, test_expect);
	suite_add_tcase(s, core);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
