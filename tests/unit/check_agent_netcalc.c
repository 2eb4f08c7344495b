/*
 * check_agent_netcalc.c: the agent's pure network arithmetic
 * (node-agent/agent_netcalc.c): NetworkConfig defaults and malformed
 * values, the lowest free subnet as the node controller picks it
 * (api_subnets_next: index 0 skipped, holes reused, other lengths
 * overlapping, exhaustion, bad lengths), the route wanted for a subnet
 * entry, and the route diff.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_subnets.h"
#include "node-agent/agent_netcalc.h"

static struct api_cidr
C(const char *s) {
	struct api_cidr c = {0, 0};

	ck_assert_msg(api_cidr_parse(s, &c, NULL) == 0, "bad CIDR %s in the test", s);
	return c;
}

static const char *
fmt(const struct api_cidr *c)
{
	static char buf[4][24];
	static int i;

	i = (i + 1) % 4;
	api_cidr_format(c, buf[i], sizeof(buf[i]));
	return buf[i];
}

static struct api_network_config
config_ok(const char *json)
{
	struct api_network_config nc;
	char why[256] = "";

	ck_assert_msg(netcalc_config(json, json ? strlen(json) : 0, &nc, why, sizeof(why)) == 0, "%s: %s",
	              json ? json : "(absent)", why);
	return nc;
}

START_TEST(test_config_defaults)
{
	struct api_network_config nc = config_ok(NULL);

	ck_assert_str_eq(fmt(&nc.pod_cidr), "10.244.0.0/16");
	ck_assert_int_eq(nc.subnet_length, 24);
	ck_assert_str_eq(fmt(&nc.service_cidr), "10.0.0.0/24");
	nc = config_ok("{}");
	ck_assert_str_eq(fmt(&nc.pod_cidr), "10.244.0.0/16");
	nc = config_ok("{\"podCIDR\":\"10.50.0.0/16\",\"subnetLength\":26,\"extra\":1}");
	ck_assert_str_eq(fmt(&nc.pod_cidr), "10.50.0.0/16");
	ck_assert_int_eq(nc.subnet_length, 26);
}
END_TEST

/* Each malformed config is refused with a message naming the field; the
 * defaults are what is left in the output. */
START_TEST(test_config_malformed)
{
	static const struct {
		const char *json, *field;
	} cases[] = {
		{"{\"podCIDR\":\"10.244.0.0/33\"}", "podCIDR"},
		{"{\"podCIDR\":\"10.244.1.0/16\"}", "podCIDR"}, /* host bits */
		{"{\"podCIDR\":\"banana\"}", "podCIDR"},
		{"{\"podCIDR\":16}", "podCIDR"},
		{"{\"subnetLength\":\"24\"}", "subnetLength"},
		{"{\"subnetLength\":31}", "subnetLength"},
		{"{\"subnetLength\":16}", "subnetLength"}, /* not longer than /16 */
		{"{\"podCIDR\":\"10.0.0.0/8\",\"subnetLength\":8}", "subnetLength"},
		{"{\"subnetLength\":24.5}", "subnetLength"},
		{"{\"serviceCIDR\":\"10.244.5.0/24\"}", "serviceCIDR"}, /* overlaps the pods */
		{"[1,2]", ""},
		{"\"x\"", ""},
		{"{", ""},
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct api_network_config nc;
		char why[512] = "";

		ck_assert_msg(netcalc_config(cases[i].json, strlen(cases[i].json), &nc, why, sizeof(why)) == -1,
		              "%s accepted", cases[i].json);
		ck_assert_msg(strstr(why, cases[i].field) != NULL && why[0], "%s: message \"%s\" lacks %s",
		              cases[i].json, why, cases[i].field);
		ck_assert_str_eq(fmt(&nc.pod_cidr), "10.244.0.0/16");
	}
}
END_TEST

START_TEST(test_next_skips_zero_and_fills_holes)
{
	struct api_cidr pod = C("10.244.0.0/16"), out, taken[3];

	ck_assert_int_eq(api_subnets_next(&pod, 24, NULL, 0, &out), 0);
	ck_assert_str_eq(fmt(&out), "10.244.1.0/24");
	taken[0] = C("10.244.1.0/24");
	taken[1] = C("10.244.3.0/24");
	ck_assert_int_eq(api_subnets_next(&pod, 24, taken, 2, &out), 0);
	ck_assert_str_eq(fmt(&out), "10.244.2.0/24");
	taken[2] = C("10.244.2.0/24");
	ck_assert_int_eq(api_subnets_next(&pod, 24, taken, 3, &out), 0);
	ck_assert_str_eq(fmt(&out), "10.244.4.0/24");
	/* index 0 being taken (a hand-written claim) changes nothing */
	taken[0] = C("10.244.0.0/24");
	ck_assert_int_eq(api_subnets_next(&pod, 24, taken, 1, &out), 0);
	ck_assert_str_eq(fmt(&out), "10.244.1.0/24");
}
END_TEST

/* Claims of another length (the config changed since) block what they
 * overlap; claims outside the pod network, or not smaller than it, are
 * ignored. */
START_TEST(test_next_other_lengths)
{
	struct api_cidr pod = C("10.244.0.0/16"), out, taken[4];

	taken[0] = C("10.244.0.0/22"); /* covers 0..3 */
	taken[1] = C("10.244.4.128/25");
	taken[2] = C("192.168.0.0/16");
	ck_assert_int_eq(api_subnets_next(&pod, 24, taken, 3, &out), 0);
	ck_assert_str_eq(fmt(&out), "10.244.5.0/24");
	taken[3] = C("10.0.0.0/8"); /* not a subnet of the pool: ignored, as 0.0.0.0/0 would be */
	ck_assert_int_eq(api_subnets_next(&pod, 24, taken, 4, &out), 0);
	ck_assert_str_eq(fmt(&out), "10.244.5.0/24");
	taken[3] = C("10.244.0.0/16");
	ck_assert_int_eq(api_subnets_next(&pod, 24, taken, 4, &out), 0);
}
END_TEST

START_TEST(test_next_exhausted_and_limits)
{
	struct api_cidr pod = C("10.9.0.0/29"), out, taken[2];

	ck_assert_int_eq(api_subnets_next(&pod, 30, NULL, 0, &out), 0);
	ck_assert_str_eq(fmt(&out), "10.9.0.4/30");
	taken[0] = out;
	ck_assert_int_eq(api_subnets_next(&pod, 30, taken, 1, &out), 1);
	ck_assert_int_eq(api_subnets_next(&pod, 29, NULL, 0, &out), -1); /* not longer than the pool */
	ck_assert_int_eq(api_subnets_next(&pod, 28, NULL, 0, &out), -1);
	ck_assert_int_eq(api_subnets_next(&pod, 31, NULL, 0, &out), -1);
	/* the top of the address space does not wrap */
	pod = C("255.255.255.0/24");
	taken[0] = C("255.255.255.128/26");
	ck_assert_int_eq(api_subnets_next(&pod, 26, taken, 1, &out), 0);
	ck_assert_str_eq(fmt(&out), "255.255.255.64/26");
	taken[1] = out;
	ck_assert_int_eq(api_subnets_next(&pod, 26, taken, 2, &out), 0);
	ck_assert_str_eq(fmt(&out), "255.255.255.192/26");
}
END_TEST

/* 255 /24s in a /16 (index 0 skipped), in a scrambled order: all taken
 * means exhausted, one freed is found again. */
START_TEST(test_next_full_pool)
{
	struct api_cidr pod = C("10.244.0.0/16"), out, taken[255];
	int i;

	for (i = 0; i < 255; i++) {
		int k = 1 + (i * 97) % 255;

		taken[i].addr = pod.addr | ((uint32_t)k << 8);
		taken[i].len = 24;
	}
	ck_assert_int_eq(api_subnets_next(&pod, 24, taken, 255, &out), 1);
	ck_assert_int_eq(api_subnets_next(&pod, 24, taken, 254, &out), 0);
	ck_assert_uint_eq(out.addr, taken[254].addr);
}
END_TEST

START_TEST(test_want_route)
{
	struct api_network_config nc = config_ok(NULL);
	struct netcalc_route r;
	uint32_t self;
	char why[256];

	api_ipv4_parse("198.51.100.11", &self, NULL);
	ck_assert_int_eq(netcalc_want_route(&nc, "10.244.2.0/24", "198.51.100.12", self, NULL, &r, why, sizeof(why)),
	                 0);
	ck_assert_str_eq(fmt(&r.dst), "10.244.2.0/24");
	ck_assert_uint_eq(r.gw, self + 1);
	ck_assert_int_eq(netcalc_want_route(&nc, "10.244.1.0/24", "198.51.100.11", self, NULL, &r, why, sizeof(why)),
	                 1);
	ck_assert_int_eq(netcalc_want_route(&nc, "0.0.0.0/0", "198.51.100.12", self, NULL, &r, why, sizeof(why)), -1);
	ck_assert_ptr_nonnull(strstr(why, "podCIDR"));
	ck_assert_int_eq(netcalc_want_route(&nc, "10.244.0.0/16", "198.51.100.12", self, NULL, &r, why, sizeof(why)),
	                 -1);
	ck_assert_int_eq(netcalc_want_route(&nc, "10.245.1.0/24", "198.51.100.12", self, NULL, &r, why, sizeof(why)),
	                 -1);
	ck_assert_int_eq(netcalc_want_route(&nc, "10.244.2.0/24", "nope", self, NULL, &r, why, sizeof(why)), -1);
	ck_assert_ptr_nonnull(strstr(why, "hostIP"));
	ck_assert_int_eq(netcalc_want_route(&nc, NULL, "198.51.100.12", self, NULL, &r, why, sizeof(why)), -1);
	ck_assert_ptr_nonnull(strstr(why, "subnet"));
}
END_TEST

START_TEST(test_want_route_not_over_own)
{
	/* Another node claiming our subnet, or a piece of it, gets no route:
	 * replacing the bridge's connected route would take our pods away. */
	struct api_network_config nc = config_ok(NULL);
	struct netcalc_route r;
	struct api_cidr own;
	uint32_t self;
	char why[256];

	api_ipv4_parse("198.51.100.11", &self, NULL);
	api_cidr_parse("10.244.1.0/24", &own, NULL);
	ck_assert_int_eq(netcalc_want_route(&nc, "10.244.1.0/24", "198.51.100.12", self, &own, &r, why, sizeof(why)),
	                 -1);
	ck_assert_ptr_nonnull(strstr(why, "own subnet"));
	ck_assert_int_eq(netcalc_want_route(&nc, "10.244.1.128/25", "198.51.100.12", self, &own, &r, why, sizeof(why)),
	                 -1);
	ck_assert_int_eq(netcalc_want_route(&nc, "10.244.0.0/23", "198.51.100.12", self, &own, &r, why, sizeof(why)),
	                 -1);
	ck_assert_int_eq(netcalc_want_route(&nc, "10.244.2.0/24", "198.51.100.12", self, &own, &r, why, sizeof(why)),
	                 0);
}
END_TEST

static struct netcalc_route
R(const char *dst, uint32_t gw) {
	struct netcalc_route r = {C(dst), gw, 0};

	return r;
}

START_TEST(test_route_diff)
{
	struct netcalc_route want[4] = {R("10.244.2.0/24", 2), R("10.244.3.0/24", 3), R("10.244.4.0/24", 4),
	                                R("10.244.2.0/24", 9)};
	struct netcalc_route have[3] = {R("10.244.2.0/24", 2), R("10.244.3.0/24", 7), R("10.244.9.0/24", 9)};
	struct netcalc_route add[4], del[3];
	size_t na, nd;

	netcalc_route_diff(want, 4, have, 3, add, &na, del, &nd);
	ck_assert_uint_eq(na, 2); /* 3 changes gateway, 4 is new; the duplicate 2 loses */
	ck_assert_str_eq(fmt(&add[0].dst), "10.244.3.0/24");
	ck_assert_uint_eq(add[0].gw, 3);
	ck_assert_str_eq(fmt(&add[1].dst), "10.244.4.0/24");
	ck_assert_uint_eq(nd, 1);
	ck_assert_str_eq(fmt(&del[0].dst), "10.244.9.0/24");
	netcalc_route_diff(NULL, 0, have, 3, add, &na, del, &nd); /* nothing wanted: all go */
	ck_assert_uint_eq(na, 0);
	ck_assert_uint_eq(nd, 3);
	netcalc_route_diff(have, 3, have, 3, add, &na, del, &nd); /* in sync: nothing */
	ck_assert_uint_eq(na + nd, 0);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("agent_netcalc");
	TCase *core = tcase_create("core"), *errors = tcase_create("errors"), *limits = tcase_create("limits");

	tcase_add_test(core, test_config_defaults);
	tcase_add_test(core, test_next_skips_zero_and_fills_holes);
	tcase_add_test(core, test_want_route);
	tcase_add_test(core, test_want_route_not_over_own);
	tcase_add_test(core, test_route_diff);
	tcase_add_test(errors, test_config_malformed);
	tcase_add_test(limits, test_next_other_lengths);
	tcase_add_test(limits, test_next_exhausted_and_limits);
	tcase_add_test(limits, test_next_full_pool);
	suite_add_tcase(s, core);
	suite_add_tcase(s, errors);
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
