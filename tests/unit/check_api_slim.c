/*
 * check_api_slim.c: what the caches keep (api_pod_slim,
 * api_pod_status_slim, api_binding_pod_uid), over every pod, pod status
 * and binding of tests/fixtures/api/: a slimmed object keeps exactly the
 * fields asked for and reads as absent the rest (LeakSanitizer, in the
 * san build, says the rest was freed), answers the questions the
 * controllers ask (selectors, named target ports, readiness) as the whole
 * object does, and is never serialized again.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "unit_fixtures.h"

#define ALL_POD_KEEP 32u   /* every combination of the five API_SLIM_* */
#define ALL_STATUS_KEEP 4u /* and of the two API_SLIM_STATUS_* */

/* ---- pods ---- */

/* Every named port of full resolves the same on slim, in either protocol,
 * and a name no container has resolves to nothing on both. */
static void
same_targets(const char *name, const struct api_pod *full, const struct api_pod *slim)
{
	struct api_service_port sp = {.target_port_name = "no-such-port"};
	size_t named = 0, kept = 0;

	ck_assert_int_eq(api_service_port_target(&sp, slim), 0);
	for (size_t i = 0; i < full->spec.n_containers; i++)
		for (size_t j = 0; j < full->spec.containers[i].n_ports; j++) {
			const struct api_container_port *cp = &full->spec.containers[i].ports[j];

			if (!cp->name)
				continue;
			named++;
			sp.target_port_name = cp->name;
			for (sp.protocol = API_PROTO_TCP; sp.protocol <= API_PROTO_UDP; sp.protocol++)
				ck_assert_msg(api_service_port_target(&sp, full) == api_service_port_target(&sp, slim),
				              "%s: port %s", name, cp->name);
		}
	for (size_t i = 0; i < slim->spec.n_containers; i++) {
		const struct api_container *c = &slim->spec.containers[i];

		ck_assert_msg(c->n_ports > 0 && !c->name && !c->image && c->n_env == 0 && c->n_command == 0 &&
		                      c->n_volume_mounts == 0 && !c->resources.requests.cpu.text,
		              "%s: container %zu keeps more than its named ports", name, i);
		for (size_t j = 0; j < c->n_ports; j++, kept++)
			ck_assert_ptr_nonnull(c->ports[j].name);
	}
	ck_assert_msg(kept == named, "%s: %zu named ports kept of %zu", name, kept, named);
}

/* What every slimmed pod keeps (the scalars) and reads as absent. */
static void
scalars_only(const char *name, const struct api_pod *full, const struct api_pod *slim)
{
	const struct api_pod_spec *f = &full->spec, *s = &slim->spec;

	ck_assert_msg(slim->slim == 1 && !slim->meta.name && !slim->meta.uid && slim->meta.annotations.n == 0 &&
	                      slim->meta.n_owners == 0,
	              "%s: metadata", name);
	ck_assert_int_eq(slim->meta.deletion_grace_p1, full->meta.deletion_grace_p1);
	ck_assert_msg(s->host_network == f->host_network && s->host_pid == f->host_pid && s->host_ipc == f->host_ipc &&
	                      s->restart_policy == f->restart_policy && s->dns_policy == f->dns_policy &&
	                      s->termination_grace_period_seconds == f->termination_grace_period_seconds &&
	                      s->service_links_off == f->service_links_off,
	              "%s: a scalar of the spec changed", name);
	ck_assert_msg(s->n_init_containers == 0 && !s->init_containers && !s->dns_config &&
	                      !s->security_context.supplemental_groups && s->node_selector.n == 0 && s->n_volumes == 0,
	              "%s: the spec keeps more than asked", name);
}

static void
check_pod_keep(const char *name, const char *text, size_t len, unsigned keep)
{
	struct api_errors errs = {0};
	struct api_pod *full = api_pod_parse(text, len, &errs), *slim = api_pod_parse(text, len, &errs);

	api_errors_clear(&errs);
	ck_assert_int_eq(api_pod_slim(slim, keep), 0);
	scalars_only(name, full, slim);
	if (keep & API_SLIM_LABELS) {
		ck_assert_msg(api_labels_equal(&slim->meta.labels, &full->meta.labels), "%s: labels", name);
		uf_selects_alike(name, full, &slim->meta.labels);
	} else {
		ck_assert_int_eq(slim->meta.labels.n, 0);
	}
	if (keep & API_SLIM_NAMED_PORTS)
		same_targets(name, full, slim);
	else
		ck_assert_int_eq(slim->spec.n_containers, 0);
	ck_assert_ptr_null(api_pod_serialize(slim));
	ck_assert_ptr_null(api_pod_dup(slim));
	api_pod_free(full);
	api_pod_free(slim);
}

START_TEST(pods_keep_what_is_asked)
{
	ck_assert_uint_ge(uf_each_case("pod", API_POD, check_pod_keep, ALL_POD_KEEP), 20);
}
END_TEST

/* A pod with two named ports in its second container, one unnamed port
 * in its first: only the second container stays, with its named ports. */
START_TEST(pod_named_ports)
{
	static const char json[] =
		"{\"metadata\": {\"labels\": {\"app\": \"web\"}, \"annotations\": {\"a\": \"b\"}},"
		" \"spec\": {\"hostNetwork\": true, \"containers\": ["
		" {\"name\": \"side\", \"image\": \"busybox\", \"ports\": [{\"containerPort\": 9000, \"hostPort\": 9000}]},"
		" {\"name\": \"web\", \"image\": \"nginx\", \"env\": [{\"name\": \"A\", \"value\": \"1\"}],"
		"  \"ports\": [{\"name\": \"http\", \"containerPort\": 8080, \"hostPort\": 8080},"
		"  {\"containerPort\": 81, \"hostPort\": 81}, {\"name\": \"dns\", \"containerPort\": 53, \"hostPort\": 53, "
		"\"protocol\": \"UDP\"}]}]}}";
	struct api_errors errs = {0};
	struct api_pod *p = api_pod_parse(json, strlen(json), &errs);
	struct api_service_port sp = {.target_port_name = "dns", .protocol = API_PROTO_UDP};

	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(api_pod_slim(p, API_SLIM_LABELS | API_SLIM_NAMED_PORTS), 0);
	ck_assert_int_eq(p->spec.host_network, 1);
	ck_assert_int_eq(p->spec.n_containers, 1);
	ck_assert_int_eq(p->spec.containers[0].n_ports, 2);
	ck_assert_str_eq(p->spec.containers[0].ports[0].name, "http");
	ck_assert_int_eq(p->spec.containers[0].ports[0].container_port, 8080);
	ck_assert_int_eq(api_service_port_target(&sp, p), 53);
	ck_assert_str_eq(api_labels_get(&p->meta.labels, "app"), "web");
	ck_assert_int_eq(p->meta.annotations.n, 0);
	api_pod_free(p);
	api_errors_clear(&errs);
}
END_TEST

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

	tcase_add_test(core, pods_keep_what_is_asked);
	tcase_add_test(core, pod_named_ports);
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
