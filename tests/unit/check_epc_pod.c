/*
 * check_epc_pod.c: what the endpoints controller's pods cache keeps
 * (epc_pod.c) answers as the whole pod does, over every valid pod of
 * tests/fixtures/api/pod/: selectors, deletion grace, hostNetwork, and
 * every named target port in either protocol.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "controllers/endpoints/epc.h"
#include "unit_fixtures.h"

/* Every named port of full, a name none has and a numeric target resolve
 * on ep as api_service_port_target does on full. */
static void
same_targets(const char *name, const struct api_pod *full, const struct epc_pod *ep)
{
	struct api_service_port sp = {.target_port_name = "no-such-port"};
	size_t named = 0;

	ck_assert_int_eq(epc_pod_target(&sp, ep), 0);
	sp = (struct api_service_port){.target_port = 8080};
	ck_assert_int_eq(epc_pod_target(&sp, ep), 8080);
	for (size_t i = 0; i < full->spec.n_containers; i++)
		for (size_t j = 0; j < full->spec.containers[i].n_ports; j++) {
			const struct api_container_port *cp = &full->spec.containers[i].ports[j];

			if (!cp->name)
				continue;
			named++;
			sp.target_port_name = cp->name;
			for (sp.protocol = API_PROTO_TCP; sp.protocol <= API_PROTO_UDP; sp.protocol++)
				ck_assert_msg(api_service_port_target(&sp, full) == epc_pod_target(&sp, ep),
				              "%s: port %s", name, cp->name);
		}
	ck_assert_msg(ep->n_named == named, "%s: %zu named ports kept of %zu", name, ep->n_named, named);
}

static void
pod_one(const char *name, const char *text, size_t len, unsigned keep)
{
	struct api_errors errs = {0};
	struct api_pod *full = api_pod_parse(text, len, &errs), *moved = api_pod_parse(text, len, &errs);
	struct epc_pod *ep = epc_pod_new(moved);

	(void)keep;
	ck_assert_ptr_nonnull(ep);
	uf_selects_alike(name, full, &ep->labels);
	ck_assert_int_eq(ep->deletion_grace_p1, full->meta.deletion_grace_p1);
	ck_assert_int_eq(ep->host_network, full->spec.host_network);
	same_targets(name, full, ep);
	epc_pod_free(ep);
	api_pod_free(moved);
	api_pod_free(full);
	api_errors_clear(&errs);
}

START_TEST(pods_answer_alike)
{
	ck_assert_uint_ge(uf_each_case("pod", API_POD, pod_one, 1), 20);
}
END_TEST

/* An unnamed port in the first container, two named ones in the second:
 * the first name wins in its protocol only. */
START_TEST(named_ports)
{
	static const char json[] =
		"{\"spec\": {\"hostNetwork\": true, \"containers\": ["
		" {\"name\": \"side\", \"image\": \"busybox\", \"ports\": [{\"containerPort\": 9000, \"hostPort\": 9000}]},"
		" {\"name\": \"web\", \"image\": \"nginx\", \"ports\": [{\"name\": \"http\", \"containerPort\": 8080, "
		"\"hostPort\": 8080}, {\"containerPort\": 81, \"hostPort\": 81}, {\"name\": \"dns\", \"containerPort\": 53, "
		"\"hostPort\": 53, \"protocol\": \"UDP\"}]}]}}";
	struct api_errors errs = {0};
	struct api_pod *p = api_pod_parse(json, strlen(json), &errs);
	struct epc_pod *ep = epc_pod_new(p);
	struct api_service_port dns = {.target_port_name = "dns", .protocol = API_PROTO_UDP};

	ck_assert_ptr_nonnull(ep);
	ck_assert_int_eq(ep->host_network, 1);
	ck_assert_int_eq(ep->n_named, 2);
	ck_assert_int_eq(epc_pod_target(&dns, ep), 53);
	dns.protocol = API_PROTO_TCP;
	ck_assert_int_eq(epc_pod_target(&dns, ep), 0);
	epc_pod_free(ep);
	api_pod_free(p);
	api_errors_clear(&errs);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("epc_pod");
	TCase *core = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(core, pods_answer_alike);
	tcase_add_test(core, named_ports);
	suite_add_tcase(s, core);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
