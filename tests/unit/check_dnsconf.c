/*
 * check_dnsconf.c: node-agent/agent_dns_conf.c, a pod's resolv.conf, over
 * a table of pods (their dnsPolicy, dnsConfig, hostNetwork), node files
 * and cluster DNS settings. The expected files are Kubernetes' documented
 * ones ("DNS for Services and Pods": ClusterFirst's three search domains
 * and ndots:5, the dnsConfig example with dnsPolicy None) and the
 * kubelet's merge and limits (pkg/kubelet/network/dns).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "node-agent/agent_dns.h"

#define NODE "nameserver 10.0.0.2\nsearch corp.example\noptions edns0\n"
#define CLUSTER "nameserver 169.254.20.10\n"
#define CSEARCH "search default.svc.cluster.local svc.cluster.local cluster.local"

struct dns_case {
	const char *name;
	const char *spec; /* members of the pod's spec besides containers, JSON */
	const char *cluster_dns, *domain, *host;
	const char *want; /* NULL: the node's own file is kept (1) */
};

static const struct dns_case cases[] = {
	{"cluster first", "", "169.254.20.10", "cluster.local", NODE,
         CLUSTER CSEARCH " corp.example\noptions ndots:5\n"},
	{"cluster first, no node search list", "", "169.254.20.10", "cluster.local", "nameserver 10.0.0.2\n",
         CLUSTER CSEARCH "\noptions ndots:5\n"},
	{"cluster first, own domain", "", "10.96.0.10", "corp.local", "",
         "nameserver 10.96.0.10\nsearch default.svc.corp.local svc.corp.local corp.local\noptions ndots:5\n"},
	{"host network: ClusterFirst acts as Default, the node's file kept", "\"hostNetwork\":true,", "169.254.20.10",
         "cluster.local", NODE, NULL},
	{"host network with ClusterFirstWithHostNet", "\"hostNetwork\":true,\"dnsPolicy\":\"ClusterFirstWithHostNet\",",
         "169.254.20.10", "cluster.local", NODE, CLUSTER CSEARCH " corp.example\noptions ndots:5\n"},
	{"ClusterFirstWithHostNet without host network is ClusterFirst", "\"dnsPolicy\":\"ClusterFirstWithHostNet\",",
         "169.254.20.10", "cluster.local", "", CLUSTER CSEARCH "\noptions ndots:5\n"},
	{"no cluster DNS: Default", "", NULL, "cluster.local", NODE, NODE},
	{"Default: the node's file, loopback and trailing dots left out", "\"dnsPolicy\":\"Default\",", "169.254.20.10",
         "cluster.local",
         "# generated\nnameserver 127.0.0.53\n; old\nnameserver 10.0.0.2\nsearch a.example. .\noptions edns0 trust-ad\n",
         "nameserver 10.0.0.2\nsearch a.example\noptions edns0 trust-ad\n"},
	{"Default: the last search or domain line wins", "\"dnsPolicy\":\"Default\",", NULL, "cluster.local",
         "search a.example b.example\ndomain c.example\nnameserver 10.0.0.2\n",
         "nameserver 10.0.0.2\nsearch c.example\n"},
	{"Default on the host network with dnsConfig keeps loopback",
         "\"hostNetwork\":true,\"dnsPolicy\":\"Default\",\"dnsConfig\":{\"searches\":[\"x.example\"]},", NULL,
         "cluster.local", "nameserver 127.0.0.53\n", "nameserver 127.0.0.53\nsearch x.example\n"},
	{"None: Kubernetes' documented example",
         "\"dnsPolicy\":\"None\",\"dnsConfig\":{\"nameservers\":[\"192.0.2.1\"],\"searches\":[\"ns1.svc.cluster-domain."
         "example\",\"my.dns.search.suffix\"],\"options\":[{\"name\":\"ndots\",\"value\":\"2\"},{\"name\":\"edns0\"}]},",
         "169.254.20.10", "cluster.local", NODE,
         "nameserver 192.0.2.1\nsearch ns1.svc.cluster-domain.example my.dns.search.suffix\noptions ndots:2 edns0\n"},
	{"ClusterFirst merged with dnsConfig: appended, deduplicated, options replaced by name",
         "\"dnsConfig\":{\"nameservers\":[\"1.1.1.1\",\"169.254.20.10\"],\"searches\":[\"svc.cluster.local\",\"x."
         "example\"],\"options\":[{\"name\":\"edns0\"},{\"name\":\"ndots\",\"value\":\"2\"}]},",
         "169.254.20.10", "cluster.local", "",
         CLUSTER "nameserver 1.1.1.1\n" CSEARCH " x.example\noptions ndots:2 edns0\n"},
	{"at most 3 nameservers",
         "\"dnsPolicy\":\"Default\",\"dnsConfig\":{\"nameservers\":[\"1.1.1.1\",\"8.8.8.8\"]},", NULL, "cluster.local",
         "nameserver 10.0.0.2\nnameserver 10.0.0.3\n",
         "nameserver 10.0.0.2\nnameserver 10.0.0.3\nnameserver 1.1.1.1\n"},
};

static struct api_pod *
pod_of(const char *spec)
{
	struct api_errors errs = {0};
	char json[2048];
	struct api_pod *p;

	snprintf(json, sizeof(json),
	         "{\"metadata\":{\"name\":\"p\"},\"spec\":{%s\"containers\":[{\"name\":\"c\","
	         "\"image\":\"busybox\"}]}}",
	         spec);
	p = api_pod_parse(json, strlen(json), &errs);
	ck_assert_msg(p != NULL, "%s: %s", spec, errs.n ? errs.items[0].msg : "?");
	api_errors_clear(&errs);
	return p;
}

START_TEST(test_case)
{
	const struct dns_case *c = &cases[_i];
	struct api_pod *p = pod_of(c->spec);
	struct dns_in in = {p->spec.dns_policy, p->spec.host_network, c->cluster_dns, c->domain, c->host,
	                    p->spec.dns_config};
	char *out = NULL;
	int rc = dns_resolv_conf(&in, &out);

	if (!c->want) {
		ck_assert_msg(rc == 1 && !out, "%s: got %d", c->name, rc);
	} else {
		ck_assert_msg(rc == 0, "%s: got %d", c->name, rc);
		ck_assert_msg(strcmp(out, c->want) == 0, "%s:\n--- got\n%s--- want\n%s", c->name, out, c->want);
	}
	free(out);
	api_pod_free(p);
}
END_TEST

/* 40 search domains of the pod: 32 kept, and of long ones only what fits
 * in 2048 characters; NULL node text reads as empty. */
START_TEST(test_limits)
{
	struct api_dns_config cfg = {0};
	char *names[40], buf[64], *out = NULL;
	struct dns_in in = {API_DNS_NONE, 0, NULL, "cluster.local", NULL, &cfg};
	size_t i, n = 0;
	const char *p;

	for (i = 0; i < 40; i++) {
		snprintf(buf, sizeof(buf), "d%zu.example", i);
		names[i] = strdup(buf);
	}
	cfg.searches = names;
	cfg.n_searches = 40;
	ck_assert_int_eq(dns_resolv_conf(&in, &out), 0);
	for (p = out; (p = strstr(p, ".example")); p++)
		n++;
	ck_assert_uint_eq(n, 32);
	ck_assert_ptr_nonnull(strstr(out, " d31.example\n"));
	free(out);
	for (i = 0; i < 40; i++) {
		free(names[i]);
		names[i] = malloc(101);
		memset(names[i], 'a', 100);
		names[i][100] = '\0';
		names[i][1] = (char)('a' + (char)(i % 26)); /* unique */
		names[i][2] = (char)('a' + (char)(i / 26));
	}
	ck_assert_int_eq(dns_resolv_conf(&in, &out), 0);
	ck_assert_uint_le(strlen(out), strlen("search ") + API_MAX_DNS_SEARCH_CHARS + 1);
	ck_assert_uint_gt(strlen(out), 1900);
	free(out);
	for (i = 0; i < 40; i++)
		free(names[i]);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("dnsconf");
	TCase *core = tcase_create("core"), *limits = tcase_create("limits");

	tcase_add_loop_test(core, test_case, 0, (int)(sizeof(cases) / sizeof(cases[0])));
	tcase_add_test(limits, test_limits);
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
