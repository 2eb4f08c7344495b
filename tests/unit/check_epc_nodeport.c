/*
 * check_epc_nodeport.c: the node-port allocator's pure decisions
 * (controllers/endpoints/epc_nodeport_calc.c): the --node-port-range
 * syntax, picking a free port from any start, and whether a requested
 * port may be claimed.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "controllers/endpoints/epc.h"

START_TEST(test_range_parse)
{
	static const struct {
		const char *s;
		int ok, lo, hi;
	} cases[] = {
		{"30000-32767", 1, 30000, 32767},
		{"1-65535", 1, 1, 65535},
		{"80-80", 1, 80, 80},
		{"32767-30000", 0, 0, 0},
		{"0-100", 0, 0, 0},
		{"1-65536", 0, 0, 0},
		{"30000", 0, 0, 0},
		{"-30000", 0, 0, 0},
		{"30000-", 0, 0, 0},
		{"a-b", 0, 0, 0},
		{"30000-3276x", 0, 0, 0},
		{" 1-2", 0, 0, 0},
		{"000001-2", 0, 0, 0},
		{"", 0, 0, 0},
		{"1--2", 0, 0, 0},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int lo = -1, hi = -1;
		char err[256] = "";
		int rc = epc_node_port_range_parse(cases[i].s, &lo, &hi, err, sizeof(err));

		ck_assert_msg((rc == 0) == cases[i].ok, "%s: rc %d (%s)", cases[i].s, rc, err);
		if (cases[i].ok) {
			ck_assert_int_eq(lo, cases[i].lo);
			ck_assert_int_eq(hi, cases[i].hi);
		} else {
			ck_assert_msg(strstr(err, "--node-port-range") != NULL, "%s: %s", cases[i].s, err);
		}
	}
	ck_assert_int_eq(epc_node_port_range_parse(NULL, &(int){0}, &(int){0}, (char[64]){0}, 64), -1);
}
END_TEST

struct taken {
	unsigned char used[65536];
	int calls;
};

static int
is_taken(int port, void *arg)
{
	struct taken *t = arg;

	t->calls++;
	return t->used[port];
}

START_TEST(test_pick)
{
	struct taken *t = calloc(1, sizeof(*t));

	ck_assert_int_eq(epc_node_port_pick(30000, 30009, 0, is_taken, t), 30000);
	ck_assert_int_eq(epc_node_port_pick(30000, 30009, 3, is_taken, t), 30003);
	ck_assert_int_eq(epc_node_port_pick(30000, 30009, 13, is_taken, t), 30003); /* start wraps */
	t->used[30009] = 1;
	ck_assert_int_eq(epc_node_port_pick(30000, 30009, 9, is_taken, t), 30000); /* wraps past the end */
	/* Everything taken: 0, after looking at each port once. */
	memset(t->used + 30000, 1, 10);
	t->calls = 0;
	ck_assert_int_eq(epc_node_port_pick(30000, 30009, 12345, is_taken, t), 0);
	ck_assert_int_eq(t->calls, 10);
	/* One free port is found from any start. */
	t->used[30004] = 0;
	for (unsigned s = 0; s < 25; s++)
		ck_assert_int_eq(epc_node_port_pick(30000, 30009, s, is_taken, t), 30004);
	/* The whole port space, from the highest start. */
	memset(t->used, 0, sizeof(t->used));
	ck_assert_int_eq(epc_node_port_pick(1, 65535, 4294967295u, is_taken, t), 1 + (int)(4294967295u % 65535));
	free(t);
}
END_TEST

START_TEST(test_judge)
{
	struct api_service_ip a = {"web", "7", 80, API_PROTO_TCP};
	struct api_service_ip old = {"web", "3", 80, API_PROTO_TCP};
	struct api_service_ip udp = {"web", "7", 80, API_PROTO_UDP};
	struct api_service_ip other = {"db", "9", 5432, API_PROTO_TCP};

	ck_assert_int_eq(epc_node_port_judge(30080, 30000, 32767, NULL, "web", "7", 80, API_PROTO_TCP), EPC_NP_FREE);
	ck_assert_int_eq(epc_node_port_judge(29999, 30000, 32767, NULL, "web", "7", 80, API_PROTO_TCP),
	                 EPC_NP_OUT_OF_RANGE);
	ck_assert_int_eq(epc_node_port_judge(32768, 30000, 32767, &other, "web", "7", 80, API_PROTO_TCP),
	                 EPC_NP_OUT_OF_RANGE);
	ck_assert_int_eq(epc_node_port_judge(32767, 30000, 32767, &a, "web", "7", 80, API_PROTO_TCP), EPC_NP_MINE);
	ck_assert_int_eq(epc_node_port_judge(30000, 30000, 32767, &old, "web", "7", 80, API_PROTO_TCP),
	                 EPC_NP_RELEASING);
	ck_assert_int_eq(epc_node_port_judge(30000, 30000, 32767, &udp, "web", "7", 80, API_PROTO_TCP),
	                 EPC_NP_RELEASING);
	ck_assert_int_eq(epc_node_port_judge(30000, 30000, 32767, &other, "web", "7", 80, API_PROTO_TCP), EPC_NP_TAKEN);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("epc_nodeport");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_range_parse);
	tcase_add_test(tc, test_pick);
	tcase_add_test(tc, test_judge);
	suite_add_tcase(s, tc);
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
	return failed ? 1 : 0;
}
