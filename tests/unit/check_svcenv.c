/*
 * check_svcenv.c: node-agent/agent_svcenv_vars.c, the variables of one
 * service, over a table of services compared with what Kubernetes
 * documents and the kubelet makes (pkg/kubelet/envvars): the
 * redis-master example of "Services: Environment variables", named ports,
 * UDP, several ports, a name with dashes.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "node-agent/agent_svcenv.h"

struct env_case {
	const char *name;
	const char *service; /* the Service's JSON */
	const char *ip;
	const char *want; /* NAME=VALUE lines, in order */
};

static const struct env_case cases[] = {
	{"Kubernetes' documented redis-master",
         "{\"metadata\":{\"name\":\"redis-master\"},\"spec\":{\"ports\":[{\"port\":6379}]}}", "10.0.0.11",
         "REDIS_MASTER_SERVICE_HOST=10.0.0.11\n"
         "REDIS_MASTER_SERVICE_PORT=6379\n"
         "REDIS_MASTER_PORT=tcp://10.0.0.11:6379\n"
         "REDIS_MASTER_PORT_6379_TCP=tcp://10.0.0.11:6379\n"
         "REDIS_MASTER_PORT_6379_TCP_PROTO=tcp\n"
         "REDIS_MASTER_PORT_6379_TCP_PORT=6379\n"
         "REDIS_MASTER_PORT_6379_TCP_ADDR=10.0.0.11\n"},
	{"named ports, one UDP",
         "{\"metadata\":{\"name\":\"dns-cache\"},\"spec\":{\"ports\":[{\"name\":\"dns\",\"port\":53,\"protocol\":"
         "\"UDP\"},{\"name\":\"dns-tcp\",\"port\":53,\"protocol\":\"TCP\"},{\"name\":\"metrics\",\"port\":9153}]}}",
         "10.96.0.10",
         "DNS_CACHE_SERVICE_HOST=10.96.0.10\n"
         "DNS_CACHE_SERVICE_PORT=53\n"
         "DNS_CACHE_SERVICE_PORT_DNS=53\n"
         "DNS_CACHE_SERVICE_PORT_DNS_TCP=53\n"
         "DNS_CACHE_SERVICE_PORT_METRICS=9153\n"
         "DNS_CACHE_PORT=udp://10.96.0.10:53\n"
         "DNS_CACHE_PORT_53_UDP=udp://10.96.0.10:53\n"
         "DNS_CACHE_PORT_53_UDP_PROTO=udp\n"
         "DNS_CACHE_PORT_53_UDP_PORT=53\n"
         "DNS_CACHE_PORT_53_UDP_ADDR=10.96.0.10\n"
         "DNS_CACHE_PORT_53_TCP=tcp://10.96.0.10:53\n"
         "DNS_CACHE_PORT_53_TCP_PROTO=tcp\n"
         "DNS_CACHE_PORT_53_TCP_PORT=53\n"
         "DNS_CACHE_PORT_53_TCP_ADDR=10.96.0.10\n"
         "DNS_CACHE_PORT_9153_TCP=tcp://10.96.0.10:9153\n"
         "DNS_CACHE_PORT_9153_TCP_PROTO=tcp\n"
         "DNS_CACHE_PORT_9153_TCP_PORT=9153\n"
         "DNS_CACHE_PORT_9153_TCP_ADDR=10.96.0.10\n"},
	{"target port does not matter",
         "{\"metadata\":{\"name\":\"web\"},\"spec\":{\"ports\":[{\"port\":80,\"targetPort\":8080}]}}", "10.0.0.1",
         "WEB_SERVICE_HOST=10.0.0.1\n"
         "WEB_SERVICE_PORT=80\n"
         "WEB_PORT=tcp://10.0.0.1:80\n"
         "WEB_PORT_80_TCP=tcp://10.0.0.1:80\n"
         "WEB_PORT_80_TCP_PROTO=tcp\n"
         "WEB_PORT_80_TCP_PORT=80\n"
         "WEB_PORT_80_TCP_ADDR=10.0.0.1\n"},
};

static void
append(void *arg, const char *name, const char *value)
{
	char *b = arg;

	snprintf(b + strlen(b), 4096 - strlen(b), "%s=%s\n", name, value);
}

START_TEST(test_case)
{
	const struct env_case *c = &cases[_i];
	struct api_errors errs = {0};
	struct api_service *s = api_service_parse(c->service, strlen(c->service), &errs);
	char got[4096] = "";

	ck_assert_msg(s != NULL, "%s: %s", c->name, errs.n ? errs.items[0].msg : "?");
	svcenv_vars(s->meta.name, c->ip, s->spec.ports, s->spec.n_ports, append, got);
	ck_assert_msg(strcmp(got, c->want) == 0, "%s:\n--- got\n%s--- want\n%s", c->name, got, c->want);
	api_service_free(s);
	api_errors_clear(&errs);
}
END_TEST

/* No ports: nothing (a service always has one; the function does not
 * read past the end). */
START_TEST(test_no_ports)
{
	char got[4096] = "";

	svcenv_vars("web", "10.0.0.1", NULL, 0, append, got);
	ck_assert_str_eq(got, "");
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("svcenv");
	TCase *core = tcase_create("core"), *limits = tcase_create("limits");

	tcase_add_loop_test(core, test_case, 0, (int)(sizeof(cases) / sizeof(cases[0])));
	tcase_add_test(limits, test_no_ports);
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
