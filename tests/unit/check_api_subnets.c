/*
 * check_api_subnets.c: which subnet claims are believed (api_subnets_judge:
 * aligned, length, inside the podCIDR, hostIP rules, overlaps and shared
 * hostIPs won by the oldest claim), the hostIP check, the lowest free block
 * and allocation for a node.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_subnets.h"

static struct api_cidr
C(const char *s) {
	struct api_cidr c = {0, 0};

	ck_assert_msg(api_cidr_parse(s, &c, NULL) == 0, "bad CIDR %s in the test", s);
	return c;
}

static const char *
fmt(const struct api_cidr *c)
{
	static char buf[24];

	api_cidr_format(c, buf, sizeof(buf));
	return buf;
}

static struct api_network_config
net_default(void)
{
	struct api_network_config nc;

	api_network_config_default(&nc);
	return nc;
}

/* One claim judged alone: value, valid or not, a word the reason holds. */
struct one {
	const char *value;
	int valid;
	const char *why;
};

static const struct one ones[] = {
	{"{\"subnet\":\"10.244.1.0/24\",\"hostIP\":\"192.168.1.10\"}", 1, ""},
	{"{\"subnet\":\"10.244.1.5/24\",\"hostIP\":\"192.168.1.10\"}", 0, "subnet"},  /* unaligned */
	{"{\"subnet\":\"10.244.1.0/25\",\"hostIP\":\"192.168.1.10\"}", 0, "not /24"}, /* too short */
	{"{\"subnet\":\"10.244.1.7/32\",\"hostIP\":\"192.168.1.10\"}", 0, "not /24"}, /* a /32 in podCIDR */
	{"{\"subnet\":\"10.244.0.0/16\",\"hostIP\":\"192.168.1.10\"}", 0, "not /24"}, /* the whole pool */
	{"{\"subnet\":\"10.245.1.0/24\",\"hostIP\":\"192.168.1.10\"}", 0, "outside"}, /* outside */
	{"{\"subnet\":\"10.244.1.0/24\",\"hostIP\":\"127.0.0.1\"}", 0, "loopback"},
	{"{\"subnet\":\"10.244.1.0/24\",\"hostIP\":\"0.1.2.3\"}", 0, "0.0.0.0/8"},
	{"{\"subnet\":\"10.244.1.0/24\",\"hostIP\":\"169.254.169.254\"}", 0, "link-local"},
	{"{\"subnet\":\"10.244.1.0/24\",\"hostIP\":\"224.0.0.1\"}", 0, "multicast"},
	{"{\"subnet\":\"10.244.1.0/24\",\"hostIP\":\"255.255.255.255\"}", 0, "broadcast"},
	{"{\"subnet\":\"10.244.1.0/24\",\"hostIP\":\"240.0.0.1\"}", 0, "reserved"},
	{"{\"subnet\":\"10.244.1.0/24\",\"hostIP\":\"10.244.9.1\"}", 0, "podCIDR"},
	{"{\"subnet\":\"10.244.1.0/24\",\"hostIP\":\"10.0.0.10\"}", 0, "serviceCIDR"}, /* inside service net */
	{"{\"subnet\":\"10.244.1.0/24\"}", 0, "missing"},
	{"{\"subnet\":\"10.244.1.0/24\",\"hostIP\":\"1.2.3\"}", 0, "hostIP"},
	{"not json", 0, ""},
	{"{\"hostIP\":\"192.168.1.10\"}", 0, "subnet"},
};

START_TEST(test_judge_one)
{
	struct api_network_config nc = net_default();
	struct api_subnet_claim c = {"m1", ones[_i].value, strlen(ones[_i].value), 5};
	char why[1][API_SUBNET_WHY];
	int valid = -1;

	ck_assert_int_eq(api_subnets_judge(&nc, &c, 1, &valid, why), !ones[_i].valid);
	ck_assert_int_eq(valid, ones[_i].valid);
	if (ones[_i].valid)
		ck_assert_str_eq(why[0], "");
	else
		ck_assert_msg(why[0][0] && strstr(why[0], ones[_i].why), "%s: why \"%s\" lacks \"%s\"", ones[_i].value,
		              why[0], ones[_i].why);
	ck_assert(!api_subnets_is_conflict(why[0]));
}
END_TEST

#define V(s, h) "{\"subnet\":\"" s "\",\"hostIP\":\"" h "\"}"

static int
judge(struct api_subnet_claim *c, size_t n, int *valid, char (*why)[API_SUBNET_WHY])
{
	struct api_network_config nc = net_default();
	size_t i;

	for (i = 0; i < n; i++)
		c[i].len = strlen(c[i].value);
	return api_subnets_judge(&nc, c, n, valid, why);
}

/* Two overlapping claims: the smaller create_revision wins, whatever the
 * names' or the array's order; the loser's reason is a conflict. */
START_TEST(test_judge_overlap_oldest_wins)
{
	struct api_subnet_claim c[3] = {
		{"a", V("10.244.1.0/24", "192.168.1.1"), 0, 30},
		{"z", V("10.244.1.0/24", "192.168.1.2"), 0, 10},
		{"m", V("10.244.2.0/24", "192.168.1.3"), 0, 20},
	};
	char why[3][API_SUBNET_WHY];
	int valid[3];

	ck_assert_int_eq(judge(c, 3, valid, why), 1);
	ck_assert_int_eq(valid[0], 0);
	ck_assert_int_eq(valid[1], 1);
	ck_assert_int_eq(valid[2], 1);
	ck_assert(api_subnets_is_conflict(why[0]));
	ck_assert_ptr_nonnull(strstr(why[0], "node z"));
}
END_TEST

/* An invalid older claim does not beat a valid younger one. */
START_TEST(test_judge_invalid_older_loses_nothing)
{
	struct api_subnet_claim c[2] = {
		{"old", V("10.244.1.0/24", "127.0.0.1"), 0, 1},
		{"new", V("10.244.1.0/24", "192.168.1.2"), 0, 2},
	};
	char why[2][API_SUBNET_WHY];
	int valid[2];

	ck_assert_int_eq(judge(c, 2, valid, why), 1);
	ck_assert_int_eq(valid[0], 0);
	ck_assert_int_eq(valid[1], 1);
}
END_TEST

/* Two nodes naming the same hostIP: the older keeps it. Equal revisions
 * (one transaction) fall back to the node name. */
START_TEST(test_judge_duplicate_hostip)
{
	struct api_subnet_claim c[3] = {
		{"b", V("10.244.2.0/24", "192.168.1.1"), 0, 7},
		{"a", V("10.244.1.0/24", "192.168.1.1"), 0, 7},
		{"c", V("10.244.3.0/24", "192.168.1.1"), 0, 3},
	};
	char why[3][API_SUBNET_WHY];
	int valid[3];

	ck_assert_int_eq(judge(c, 3, valid, why), 2);
	ck_assert_int_eq(valid[2], 1);
	ck_assert_int_eq(valid[0] + valid[1], 0);
	ck_assert(api_subnets_is_conflict(why[0]) && strstr(why[0], "hostIP"));
	c[2].create_rev = 9;
	ck_assert_int_eq(judge(c, 3, valid, why), 2);
	ck_assert_int_eq(valid[1], 1); /* "a" before "b" at revision 7 */
}
END_TEST

START_TEST(test_judge_empty)
{
	struct api_network_config nc = net_default();
	int valid[1];
	char why[1][API_SUBNET_WHY];

	ck_assert_int_eq(api_subnets_judge(&nc, NULL, 0, valid, why), 0);
}
END_TEST

START_TEST(test_hostip_check)
{
	struct api_network_config nc = net_default();
	char why[API_SUBNET_WHY];

	ck_assert_int_eq(api_hostip_check(&nc, "192.168.1.10", why, sizeof(why)), 0);
	ck_assert_int_eq(api_hostip_check(&nc, "10.1.0.1", why, sizeof(why)), 0);
	ck_assert_int_eq(api_hostip_check(&nc, "126.255.255.255", why, sizeof(why)), 0);
	ck_assert_int_eq(api_hostip_check(&nc, "223.255.255.254", why, sizeof(why)), 0);
	ck_assert_int_eq(api_hostip_check(&nc, "127.0.0.1", why, sizeof(why)), -1);
	ck_assert_int_eq(api_hostip_check(&nc, "169.254.169.254", why, sizeof(why)), -1);
	ck_assert_int_eq(api_hostip_check(&nc, "10.0.0.255", why, sizeof(why)), -1);
	ck_assert_int_eq(api_hostip_check(&nc, "", why, sizeof(why)), -1);
	ck_assert_int_eq(api_hostip_check(&nc, NULL, why, sizeof(why)), -1);
	ck_assert_int_eq(api_hostip_check(&nc, "::1", why, sizeof(why)), -1);
}
END_TEST

START_TEST(test_next)
{
	struct api_cidr pod = C("10.244.0.0/16"), out, taken[3];

	ck_assert_int_eq(api_subnets_next(&pod, 24, NULL, 0, &out), 0);
	ck_assert_str_eq(fmt(&out), "10.244.1.0/24");
	taken[0] = C("10.244.1.0/24");
	taken[1] = C("10.244.3.0/24");
	ck_assert_int_eq(api_subnets_next(&pod, 24, taken, 2, &out), 0);
	ck_assert_str_eq(fmt(&out), "10.244.2.0/24");
	taken[2] = C("10.0.0.0/8"); /* not a block of the pool: ignored */
	ck_assert_int_eq(api_subnets_next(&pod, 24, taken, 3, &out), 0);
	ck_assert_str_eq(fmt(&out), "10.244.2.0/24");
	pod = C("10.9.0.0/29");
	ck_assert_int_eq(api_subnets_next(&pod, 30, NULL, 0, &out), 0);
	ck_assert_str_eq(fmt(&out), "10.9.0.4/30");
	taken[0] = out;
	ck_assert_int_eq(api_subnets_next(&pod, 30, taken, 1, &out), 1);
	ck_assert_int_eq(api_subnets_next(&pod, 29, NULL, 0, &out), -1);
	ck_assert_int_eq(api_subnets_next(&pod, 31, NULL, 0, &out), -1);
}
END_TEST

/* Allocation skips valid claims only, refuses a bad or taken hostIP. */
START_TEST(test_allocate)
{
	struct api_network_config nc = net_default();
	struct api_subnet_claim c[2] = {
		{"a", V("10.244.1.0/24", "192.168.1.1"), 0, 1},
		{"b", V("10.244.2.0/24", "127.0.0.1"), 0, 2},
	};
	char why[2][API_SUBNET_WHY], w[API_SUBNET_WHY];
	struct api_cidr out;
	int valid[2];

	judge(c, 2, valid, why);
	ck_assert_int_eq(api_subnets_allocate(&nc, c, 2, valid, "192.168.1.5", &out, w, sizeof(w)), 0);
	ck_assert_str_eq(fmt(&out), "10.244.2.0/24");
	ck_assert_int_eq(api_subnets_allocate(&nc, c, 2, valid, "192.168.1.1", &out, w, sizeof(w)), -1);
	ck_assert_ptr_nonnull(strstr(w, "node a"));
	ck_assert_int_eq(api_subnets_allocate(&nc, c, 2, valid, "169.254.169.254", &out, w, sizeof(w)), -1);
	ck_assert_int_eq(api_subnets_allocate(&nc, c, 2, valid, "10.244.7.1", &out, w, sizeof(w)), -1);
	nc.pod_cidr = C("10.244.0.0/23"); /* only index 1 to hand out, and a holds it */
	ck_assert_int_eq(api_subnets_allocate(&nc, c, 2, valid, "192.168.1.5", &out, w, sizeof(w)), 1);
	ck_assert_ptr_nonnull(strstr(w, "no free"));
}
END_TEST

static Suite *
subnets_suite(void)
{
	Suite *s = suite_create("api_subnets");
	TCase *core = tcase_create("core"), *errors = tcase_create("errors"), *limits = tcase_create("limits");

	tcase_add_loop_test(core, test_judge_one, 0, sizeof(ones) / sizeof(ones[0]));
	tcase_add_test(core, test_judge_overlap_oldest_wins);
	tcase_add_test(core, test_judge_duplicate_hostip);
	tcase_add_test(core, test_allocate);
	tcase_add_test(errors, test_judge_invalid_older_loses_nothing);
	tcase_add_test(errors, test_hostip_check);
	tcase_add_test(limits, test_judge_empty);
	tcase_add_test(limits, test_next);
	suite_add_tcase(s, core);
	suite_add_tcase(s, errors);
	suite_add_tcase(s, limits);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(subnets_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
