/*
 * check_drain_calc.c: node-agent/agent_drain_calc.c, the drain gate's
 * decision, on made-up caches: which IPs the endpoints list (addresses
 * only), the lowest revision of a live node's proxy, and the verdict for
 * one pod IP as the caches move.
 */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "node-agent/agent_drain_calc.h"

static struct api_endpoints *
ep_of(const char *json)
{
	struct api_errors errs = {0};
	struct api_endpoints *ep = api_endpoints_parse(json, strlen(json), &errs);

	ck_assert_msg(ep != NULL, "%s: %s", errs.n ? errs.items[0].field : "", errs.n ? errs.items[0].msg : "");
	api_errors_clear(&errs);
	return ep;
}

static uint32_t
ip(const char *s)
{
	struct api_error err;
	uint32_t a;

	ck_assert_int_eq(api_ipv4_parse(s, &a, &err), 0);
	return a;
}

#define EP_WEB                                                                      \
	"{\"clusterIP\":\"10.0.0.10\",\"ports\":[{\"port\":80}],"                   \
	"\"addresses\":[{\"ip\":\"10.244.1.7\",\"node\":\"m1\",\"pod\":\"web-a\"}," \
	"{\"ip\":\"10.244.0.3\",\"node\":\"m0\",\"pod\":\"web-b\"}],"               \
	"\"notReadyAddresses\":[{\"ip\":\"10.244.2.9\",\"node\":\"m2\",\"pod\":\"web-c\"}]}"
#define EP_DB                                                       \
	"{\"clusterIP\":\"10.0.0.11\",\"ports\":[{\"port\":5432}]," \
	"\"addresses\":[{\"ip\":\"10.244.1.7\",\"node\":\"m1\",\"pod\":\"web-a\"}]}"

START_TEST(test_listed)
{
	struct api_endpoints *eps[3] = {ep_of(EP_WEB), NULL, ep_of(EP_DB)};
	uint32_t *ips;
	size_t n;

	ck_assert_int_eq(drain_listed((const struct api_endpoints *const *)eps, 3, &ips, &n), 0);
	/* Sorted, the same IP once per listing, the not-ready one left out. */
	ck_assert_uint_eq(n, 3);
	ck_assert_uint_eq(ips[0], ip("10.244.0.3"));
	ck_assert_uint_eq(ips[1], ip("10.244.1.7"));
	ck_assert_uint_eq(ips[2], ip("10.244.1.7"));
	free(ips);
	ck_assert_int_eq(drain_listed((const struct api_endpoints *const *)eps + 1, 1, &ips, &n), 0);
	ck_assert_ptr_null(ips);
	ck_assert_uint_eq(n, 0);
	api_endpoints_free(eps[0]);
	api_endpoints_free(eps[2]);
}
END_TEST

START_TEST(test_min_live)
{
	const struct drain_proxy p[] = {{40, 1}, {12, 0}, {35, 1}, {50, 1}};

	ck_assert_int_eq(drain_min_live(p, 4), 35); /* the dead node's 12 does not count */
	ck_assert_int_eq(drain_min_live(p + 1, 1), INT64_MAX);
	ck_assert_int_eq(drain_min_live(p, 0), INT64_MAX);
}
END_TEST

/* Which node is waited for: one with a lease; one whose lease went and
 * whose proxy has not written since (dead); one whose proxy wrote after
 * its lease went (came back: its heartbeats are not watched). */
START_TEST(test_node_live)
{
	ck_assert_int_eq(drain_node_live(1, 10, 0), 1);
	ck_assert_int_eq(drain_node_live(1, 10, 50), 1); /* a lease listed again after a deletion */
	ck_assert_int_eq(drain_node_live(0, 10, 50), 0);
	ck_assert_int_eq(drain_node_live(0, 50, 50), 0); /* the same revision is not after */
	ck_assert_int_eq(drain_node_live(0, 51, 50), 1);
	ck_assert_int_eq(drain_node_live(0, 0, 0), 0); /* nothing known */
}
END_TEST

/* A pod IP followed through a stop: listed, then its endpoints change at
 * revision 20 (the IP leaves), then the proxies catch up one by one. */
START_TEST(test_stop_sequence)
{
	uint32_t listed[] = {ip("10.244.0.3"), ip("10.244.1.7")};
	struct drain_view v = {.synced = 1, .highest = 17, .min_live = 17, .ips = listed, .n_ips = 2};
	struct drain_mem m = {0};
	uint32_t pod = ip("10.244.1.7");

	ck_assert_int_eq(drain_decide(&v, pod, &m), 1);
	ck_assert_int_eq(m.gone, 0);
	/* The endpoints at revision 20 no longer list it; one proxy has 17. */
	v.n_ips = 1;
	v.highest = 20;
	ck_assert_int_eq(drain_decide(&v, pod, &m), 1);
	ck_assert_int_eq(m.gone, 1);
	ck_assert_int_eq(m.gone_rev, 20);
	/* Another service changes at 25: the pod waits for 20 still. */
	v.highest = 25;
	v.min_live = 19;
	ck_assert_int_eq(drain_decide(&v, pod, &m), 1);
	v.min_live = 20;
	ck_assert_int_eq(drain_decide(&v, pod, &m), 0);
	ck_assert_int_eq(m.gone_rev, 20);
	/* A live proxy that reports less again (restarted, listing): busy. */
	v.min_live = 18;
	ck_assert_int_eq(drain_decide(&v, pod, &m), 1);
	/* Listed again (ready again): forgotten; gone later at 30. */
	v.n_ips = 2;
	v.min_live = 30;
	ck_assert_int_eq(drain_decide(&v, pod, &m), 1);
	ck_assert_int_eq(m.gone, 0);
	v.n_ips = 1;
	v.highest = 31;
	ck_assert_int_eq(drain_decide(&v, pod, &m), 1);
	ck_assert_int_eq(m.gone_rev, 31);
	v.min_live = 31;
	ck_assert_int_eq(drain_decide(&v, pod, &m), 0);
}
END_TEST

START_TEST(test_edges)
{
	uint32_t listed[] = {ip("10.244.1.7")};
	struct drain_view v = {.synced = 0, .highest = 9, .min_live = INT64_MAX, .ips = listed, .n_ips = 1};
	struct drain_mem m = {0};

	/* Not synced: busy, and nothing remembered. */
	ck_assert_int_eq(drain_decide(&v, ip("10.244.9.9"), &m), 1);
	ck_assert_int_eq(m.gone, 0);
	/* No live proxy at all: free as soon as no endpoints list it. */
	v.synced = 1;
	ck_assert_int_eq(drain_decide(&v, ip("10.244.9.9"), &m), 0);
	ck_assert_int_eq(m.gone_rev, 9);
	/* Listed: busy whatever the proxies say. */
	m = (struct drain_mem){0};
	v.min_live = 100;
	ck_assert_int_eq(drain_decide(&v, ip("10.244.1.7"), &m), 1);
	/* No endpoints at all: only the proxies' revision matters. */
	v.n_ips = 0;
	v.ips = NULL;
	v.min_live = 8;
	ck_assert_int_eq(drain_decide(&v, ip("10.244.1.7"), &m), 1);
	v.min_live = 9;
	ck_assert_int_eq(drain_decide(&v, ip("10.244.1.7"), &m), 0);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("drain_calc");
	TCase *core = tcase_create("core"), *limits = tcase_create("limits");

	tcase_add_test(core, test_listed);
	tcase_add_test(core, test_min_live);
	tcase_add_test(core, test_stop_sequence);
	tcase_add_test(core, test_node_live);
	tcase_add_test(limits, test_edges);
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
