/*
 * check_api_quantity.c: Kubernetes quantities: exact values in milli-units
 * and units, round-up of fractions, overflow and garbage rejected, and the
 * canonical printing.
 */
#include <check.h>
#include <stdint.h>
#include <string.h>

#include "api/api_quantity.h"

struct qcase {
	const char *in;
	int scale; /* 3 = milli (cpu), 0 = units (memory) */
	int ok;
	int64_t want;
	const char *err; /* substring of the message when !ok */
};

static const struct qcase cases[] = {
	/* cpu */
	{"250m", 3, 1, 250, NULL},
	{"2", 3, 1, 2000, NULL},
	{"1.5", 3, 1, 1500, NULL},
	{"0.1", 3, 1, 100, NULL},
	{".5", 3, 1, 500, NULL},
	{"5.", 3, 1, 5000, NULL},
	{"+1", 3, 1, 1000, NULL},
	{"-1", 3, 1, -1000, NULL},
	{"0", 3, 1, 0, NULL},
	{"0m", 3, 1, 0, NULL},
	{"000250m", 3, 1, 250, NULL},
	{"1e3", 3, 1, 1000000, NULL},
	{"1E3", 3, 1, 1000000, NULL},
	{"1e-3", 3, 1, 1, NULL},
	{"1k", 3, 1, 1000000, NULL},
	{"100u", 3, 1, 1, NULL}, /* 0.1m rounds up */
	{"1n", 3, 1, 1, NULL},
	{"0.0001", 3, 1, 1, NULL},
	{"0.0000000000000000000000000000000000000000000000001", 3, 1, 1, NULL},
	{"9223372036854775807m", 3, 1, INT64_MAX, NULL},
	{"9223372036854775m", 3, 1, 9223372036854775LL, NULL},
	{"9223372036854775808m", 3, 0, 0, "too large"},
	{"9223372036854776", 3, 0, 0, "too large"},
	{"1Ei", 3, 0, 0, "too large"},
	{"1e1000", 3, 0, 0, "too large"},
	{"0e1000", 3, 1, 0, NULL},
	/* memory */
	{"64Mi", 0, 1, 67108864, NULL},
	{"128Mi", 0, 1, 134217728, NULL},
	{"1Gi", 0, 1, 1073741824, NULL},
	{"0.5Gi", 0, 1, 536870912, NULL},
	{"1.5Ki", 0, 1, 1536, NULL},
	{"1G", 0, 1, 1000000000, NULL},
	{"1M", 0, 1, 1000000, NULL},
	{"1T", 0, 1, 1000000000000LL, NULL},
	{"1P", 0, 1, 1000000000000000LL, NULL},
	{"128974848", 0, 1, 128974848, NULL},
	{"1e3", 0, 1, 1000, NULL},
	{"129e6", 0, 1, 129000000, NULL},
	{"1E", 0, 1, 1000000000000000000LL, NULL},
	{"9E", 0, 1, 9000000000000000000LL, NULL},
	{"10E", 0, 0, 0, "too large"},
	{"7Ei", 0, 1, 7LL << 60, NULL},
	{"8Ei", 0, 0, 0, "too large"},
	{"1Pi", 0, 1, 1LL << 50, NULL},
	{"1Ti", 0, 1, 1LL << 40, NULL},
	{"0.1", 0, 1, 1, NULL},
	{"1m", 0, 1, 1, NULL},
	{"123456789012345678901234567890e-20", 0, 1, 1234567891, NULL},
	{"9223372036854775807", 0, 1, INT64_MAX, NULL},
	{"9223372036854775808", 0, 0, 0, "too large"},
	{"99999999999999999999999999999999", 0, 0, 0, "too large"},
	/* garbage */
	{"", 0, 0, 0, "is not a quantity"},
	{"abc", 0, 0, 0, "is not a quantity"},
	{"1.2.3", 0, 0, 0, "is not a quantity"},
	{".", 0, 0, 0, "is not a quantity"},
	{"+", 0, 0, 0, "is not a quantity"},
	{"--1", 0, 0, 0, "is not a quantity"},
	{"1K", 0, 0, 0, "is not a quantity"},
	{"1 Mi", 0, 0, 0, "is not a quantity"},
	{" 1", 0, 0, 0, "is not a quantity"},
	{"1Mi ", 0, 0, 0, "is not a quantity"},
	{"Mi", 0, 0, 0, "is not a quantity"},
	{"1MiB", 0, 0, 0, "is not a quantity"},
	{"1mi", 0, 0, 0, "is not a quantity"},
	{"1e", 0, 0, 0, "is not a quantity"},
	{"1e+", 0, 0, 0, "is not a quantity"},
	{"1ee3", 0, 0, 0, "is not a quantity"},
	{"1e3Mi", 0, 0, 0, "is not a quantity"},
	{"1e100000", 0, 0, 0, "is not a quantity"},
	{"0x10", 0, 0, 0, "is not a quantity"},
	{"1,5", 0, 0, 0, "is not a quantity"},
	{"\xe2\x88\x9e", 0, 0, 0, "is not a quantity"},
	{"11111111111111111111111111111111111111111111111111111111111111111", 0, 0, 0, "longer than 64"},
};

START_TEST(test_parse)
{
	const struct qcase *c = &cases[_i];
	struct api_error err = {""};
	int64_t v = -42;
	int rc = api_quantity_parse(c->in, c->scale, &v, &err);

	if (c->ok) {
		ck_assert_msg(rc == 0, "%s: %s", c->in, err.msg);
		ck_assert_msg(v == c->want, "%s: got %lld, want %lld", c->in, (long long)v, (long long)c->want);
	} else {
		ck_assert_msg(rc == -1, "%s: accepted as %lld", c->in, (long long)v);
		ck_assert_msg(strstr(err.msg, c->err), "%s: message %s", c->in, err.msg);
		ck_assert_int_eq(v, -42);
	}
}
END_TEST

START_TEST(test_shorthands)
{
	int64_t v;

	ck_assert_int_eq(api_quantity_parse_milli("250m", &v, NULL), 0);
	ck_assert_int_eq(v, 250);
	ck_assert_int_eq(api_quantity_parse_value("64Mi", &v, NULL), 0);
	ck_assert_int_eq(v, 64 << 20);
	ck_assert_int_eq(api_quantity_parse_value("x", &v, NULL), -1);
}
END_TEST

struct fcase {
	int64_t v;
	const char *milli, *bytes;
};

static const struct fcase fcases[] = {
	{0, "0", "0"},
	{250, "250m", "250"},
	{1000, "1", "1000"},
	{1500, "1500m", "1500"},
	{1024, "1024m", "1Ki"},
	{1536, "1536m", "1536"},
	{64LL << 20, "67108864m", "64Mi"},
	{1LL << 30, "1073741824m", "1Gi"},
	{1LL << 60, "1152921504606846976m", "1Ei"},
	{INT64_MAX, "9223372036854775807m", "9223372036854775807"},
};

START_TEST(test_format)
{
	const struct fcase *c = &fcases[_i];
	char buf[64];
	int64_t back;

	ck_assert_uint_eq(api_quantity_format_milli(c->v, buf, sizeof(buf)), strlen(c->milli));
	ck_assert_str_eq(buf, c->milli);
	ck_assert_int_eq(api_quantity_parse_milli(buf, &back, NULL), 0);
	ck_assert_int_eq(back, c->v);
	ck_assert_uint_eq(api_quantity_format_bytes(c->v, buf, sizeof(buf)), strlen(c->bytes));
	ck_assert_str_eq(buf, c->bytes);
	ck_assert_int_eq(api_quantity_parse_value(buf, &back, NULL), 0);
	ck_assert_int_eq(back, c->v);
}
END_TEST

START_TEST(test_format_truncates)
{
	char buf[4];

	ck_assert_uint_eq(api_quantity_format_bytes(64LL << 20, buf, sizeof(buf)), 4);
	ck_assert_str_eq(buf, "64M");
}
END_TEST

static Suite *
quantity_suite(void)
{
	Suite *s = suite_create("api_quantity");
	TCase *core = tcase_create("core"), *limits = tcase_create("limits");

	tcase_add_loop_test(core, test_parse, 0, sizeof(cases) / sizeof(cases[0]));
	tcase_add_test(core, test_shorthands);
	tcase_add_loop_test(core, test_format, 0, sizeof(fcases) / sizeof(fcases[0]));
	tcase_add_test(limits, test_format_truncates);
	suite_add_tcase(s, core);
	suite_add_tcase(s, limits);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(quantity_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
