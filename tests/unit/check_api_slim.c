/*
 * check_api_slim.c: what the caches keep of statuses and bindings
 * (api_pod_status_slim, api_binding_pod_uid), over every pod status and
 * binding of tests/fixtures/api/: a slimmed status keeps exactly the
 * fields asked for and reads as absent the rest (LeakSanitizer, in the
 * san build, says the rest was freed), answers readiness as the whole
 * status does and is never serialized again; a binding's uid comes with
 * the same checks as the whole binding. (What the controllers keep of a
 * pod is their own struct: check_rc, check_scheduler_logic,
 * check_epc_pod.)
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "unit_fixtures.h"

#define ALL_STATUS_KEEP 4u /* every combination of the two API_SLIM_STATUS_* */

/* ---- statuses ---- */

static void
check_status_keep(const char *name, const char *text, size_t len, unsigned keep)
{
	struct api_errors errs = {0};
	struct api_pod_status *full = api_pod_status_parse(text, len, &errs),
			      *slim = api_pod_status_parse(text, len, &errs);
	const char *fs, *ss;

	api_errors_clear(&errs);
	ck_assert_int_eq(api_pod_status_slim(slim, keep), 0);
	ck_assert_msg(slim->slim && slim->phase == full->phase && !slim->host_ip && !slim->start_time &&
	                      !slim->reason && !slim->message && slim->n_init_containers == 0,
	              "%s: keeps more than asked", name);
	ck_assert_pstr_eq(slim->uid, full->uid);
	ck_assert_pstr_eq(slim->pod_ip, keep & API_SLIM_STATUS_POD_IP ? full->pod_ip : NULL);
	if (keep & API_SLIM_STATUS_READY) {
		ck_assert_msg(api_pod_status_ready(slim) == api_pod_status_ready(full), "%s: ready", name);
		fs = api_pod_status_ready_since(full);
		ss = api_pod_status_ready_since(slim);
		ck_assert_pstr_eq(ss, fs);
		ck_assert_uint_le(slim->n_conditions, 1);
		ck_assert_msg(slim->n_conditions == 0 || slim->n_containers == 0, "%s: both kept", name);
	} else {
		ck_assert_msg(slim->n_conditions == 0 && slim->n_containers == 0, "%s: readiness kept", name);
	}
	for (size_t i = 0; i < slim->n_containers; i++)
		ck_assert_msg(!slim->containers[i].name && !slim->containers[i].image &&
		                      !slim->containers[i].state.started_at,
		              "%s: a container status keeps more than ready", name);
	ck_assert_ptr_null(api_pod_status_serialize(slim));
	api_pod_status_free(full);
	api_pod_status_free(slim);
}

START_TEST(statuses_keep_what_is_asked)
{
	ck_assert_uint_ge(uf_each_case("podstatus", API_PODSTATUS, check_status_keep, ALL_STATUS_KEEP), 5);
}
END_TEST

/* Readiness of the kinds of status an agent writes, slim and whole. */
START_TEST(status_readiness)
{
	static const char *const cases[] = {
		/* version 1: no conditions, every container ready */
		"{\"uid\": \"7\", \"phase\": \"Running\", \"containerStatuses\": [{\"name\": \"a\", \"ready\": true},"
		" {\"name\": \"b\", \"ready\": true}]}",
		"{\"uid\": \"7\", \"phase\": \"Running\", \"containerStatuses\": [{\"name\": \"a\", \"ready\": true},"
		" {\"name\": \"b\", \"ready\": false}]}",
		/* conditions without Ready: the containers decide */
		"{\"uid\": \"7\", \"phase\": \"Running\", \"conditions\": [{\"type\": \"PodScheduled\", \"status\": "
		"\"True\"}], \"containerStatuses\": [{\"name\": \"a\", \"ready\": true}]}",
		/* Ready False while every container says ready: the condition decides */
		"{\"uid\": \"7\", \"phase\": \"Running\", \"conditions\": [{\"type\": \"Initialized\", \"status\": "
		"\"True\"}, {\"type\": \"Ready\", \"status\": \"False\"}], \"containerStatuses\": [{\"name\": \"a\", "
		"\"ready\": true}]}",
		"{\"uid\": \"7\", \"phase\": \"Running\", \"podIP\": \"10.244.1.5\", \"conditions\": [{\"type\": \"Ready\", "
		"\"status\": \"True\", \"lastTransitionTime\": \"2026-01-02T03:04:05Z\", \"reason\": \"r\"}]}",
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		for (unsigned keep = 0; keep < ALL_STATUS_KEEP; keep++)
			check_status_keep(cases[i], cases[i], strlen(cases[i]), keep);
}
END_TEST

/* ---- bindings ---- */

static void
check_binding(const char *name, const char *text, size_t len, unsigned keep)
{
	struct api_errors e1 = {0}, e2 = {0};
	struct api_binding *b = api_binding_parse(text, len, &e1);
	char *uid = api_binding_pod_uid(text, len, &e2), *w1 = api_errors_join(&e1, "; "),
	     *w2 = api_errors_join(&e2, "; ");

	(void)keep;
	ck_assert_msg((b == NULL) == (uid == NULL), "%s: decodes differently", name);
	if (b)
		ck_assert_str_eq(uid, b->pod.meta.uid);
	ck_assert_pstr_eq(w2, w1); /* reported the same way */
	free(w1);
	free(w2);
	free(uid);
	api_binding_free(b);
	api_errors_clear(&e1);
	api_errors_clear(&e2);
}

START_TEST(bindings_keep_the_uid)
{
	ck_assert_uint_ge(uf_each_case("binding", API_BINDING, check_binding, 0), 4);
}
END_TEST

static Suite *
slim_suite(void)
{
	Suite *s = suite_create("api_slim");
	TCase *core = tcase_create("core");

	tcase_add_test(core, statuses_keep_what_is_asked);
	tcase_add_test(core, status_readiness);
	tcase_add_test(core, bindings_keep_the_uid);
	tcase_set_timeout(core, 60);
	suite_add_tcase(s, core);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(slim_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
