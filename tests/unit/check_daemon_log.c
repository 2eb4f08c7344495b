/*
 * check_daemon_log.c: logfmt lines from daemon/log.c: the fixed fields,
 * quoting and escaping of values, key clean-up, level filtering, errno
 * handling, and the bound on line length. Lines are captured through the
 * FILE * that log_init accepts.
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/log.h"

static FILE *out;
static char line[2 * LOG_LINE_MAX];

static void
setup(void)
{
	out = tmpfile();
	ck_assert_ptr_nonnull(out);
	log_init("scheduler", LL_DEBUG, out);
}

static void
teardown(void)
{
	log_init("", LL_INFO, NULL);
	fclose(out);
}

/* Everything written since the last call, "" when nothing. */
static const char *
captured(void)
{
	size_t n;

	fflush(out);
	rewind(out);
	n = fread(line, 1, sizeof(line) - 1, out);
	line[n] = '\0';
	rewind(out);
	ck_assert_int_eq(ftruncate(fileno(out), 0), 0);
	return line;
}

/* The captured line without its "ts=... " field, which is checked here. */
static const char *
after_ts(void)
{
	const char *l = captured();
	int y, mo, d, h, mi, s, ms;
	char z;

	ck_assert_msg(sscanf(l, "ts=%4d-%2d-%2dT%2d:%2d:%2d.%3d%c ", &y, &mo, &d, &h, &mi, &s, &ms, &z) == 8 &&
	                      z == 'Z',
	              "bad ts in %s", l);
	ck_assert_int_eq(l[27], ' ');
	return l + 28;
}

START_TEST(test_plain)
{
	log_warnx("image pull failed: %s", "timeout");
	ck_assert_str_eq(after_ts(), "level=warn component=scheduler msg=\"image pull failed: timeout\"\n");
	log_info("ready");
	ck_assert_str_eq(after_ts(), "level=info component=scheduler msg=ready\n");
	log_debug("n=%d", 3);
	ck_assert_str_eq(after_ts(), "level=debug component=scheduler msg=\"n=3\"\n");
	log_errorx("%s", "");
	ck_assert_str_eq(after_ts(), "level=error component=scheduler msg=\"\"\n");
}
END_TEST

START_TEST(test_kv)
{
	log_kv(LL_WARN, KV("pod", "apache-x7k2p", "node", "m1"), "image pull failed: %s", "no such image");
	ck_assert_str_eq(after_ts(), "level=warn component=scheduler pod=apache-x7k2p node=m1 "
	                             "msg=\"image pull failed: no such image\"\n");
	log_kv(LL_INFO, NULL, "no fields");
	ck_assert_str_eq(after_ts(), "level=info component=scheduler msg=\"no fields\"\n");
}
END_TEST

/* Each value, and how it must appear after "v=". */
static const struct {
	const char *in, *out;
} escapes[] = {
	{"plain", "plain"},
	{"", "\"\""},
	{"two words", "\"two words\""},
	{"a=b", "\"a=b\""},
	{"say \"hi\"", "\"say \\\"hi\\\"\""},
	{"line\nbreak", "\"line\\nbreak\""},
	{"tab\there", "\"tab\\there\""},
	{"cr\r", "\"cr\\r\""},
	{"bell\x07", "\"bell\\u0007\""},
	{"del\x7f", "\"del\\u007f\""},
	{"back\\slash", "back\\slash"},
	{"back\\ slash", "\"back\\\\ slash\""},
	{"caf\xc3\xa9", "caf\xc3\xa9"},
	{"/skiff/pods/a", "/skiff/pods/a"},
};

START_TEST(test_escaping)
{
	char want[256];

	for (size_t i = 0; i < sizeof(escapes) / sizeof(escapes[0]); i++) {
		log_kv(LL_INFO, KV("v", escapes[i].in), "m");
		snprintf(want, sizeof(want), "level=info component=scheduler v=%s msg=m\n", escapes[i].out);
		ck_assert_str_eq(after_ts(), want);
	}
}
END_TEST

START_TEST(test_keys_and_nulls)
{
	log_kv(LL_INFO, KV("bad key", "1", "a=b", "2", "", "3", "q\"", "4"), "m");
	ck_assert_str_eq(after_ts(), "level=info component=scheduler bad_key=1 a_b=2 _=3 q_=4 msg=m\n");
	log_kv(LL_INFO, KV("pod", NULL, "node", "m1"), "m");
	ck_assert_str_eq(after_ts(), "level=info component=scheduler pod=\"\" node=m1 msg=m\n");
	log_kv(LL_INFO, KV("odd"), "m");
	ck_assert_str_eq(after_ts(), "level=info component=scheduler odd=\"\" msg=m\n");
}
END_TEST

START_TEST(test_no_component)
{
	log_init("", LL_INFO, out);
	log_info("x");
	ck_assert_str_eq(after_ts(), "level=info msg=x\n");
	log_init("node controller", LL_INFO, out);
	log_info("x");
	ck_assert_str_eq(after_ts(), "level=info component=\"node controller\" msg=x\n");
}
END_TEST

START_TEST(test_level_filter)
{
	log_set_level(LL_WARN);
	ck_assert(!log_enabled(LL_INFO));
	ck_assert(log_enabled(LL_ERROR));
	log_debug("d");
	log_info("i");
	log_kv(LL_INFO, KV("k", "v"), "i");
	ck_assert_str_eq(captured(), "");
	log_warnx("w");
	ck_assert_str_eq(after_ts(), "level=warn component=scheduler msg=w\n");
	log_kv(LL_ERROR, KV("k", "v"), "e");
	ck_assert_str_eq(after_ts(), "level=error component=scheduler k=v msg=e\n");
}
END_TEST

START_TEST(test_level_names)
{
	const char *names[] = {"debug", "info", "warn", "error"};
	enum log_level l;

	for (int i = 0; i < 4; i++) {
		ck_assert_int_eq(log_level_parse(names[i], &l), 0);
		ck_assert_int_eq(l, i);
		ck_assert_str_eq(log_level_name(l), names[i]);
	}
	ck_assert_int_eq(log_level_parse("warning", &l), -1);
	ck_assert_int_eq(log_level_parse("INFO", &l), -1);
	ck_assert_int_eq(log_level_parse(NULL, &l), -1);
}
END_TEST

START_TEST(test_errno)
{
	errno = ENOENT;
	log_warn("open %s", "/etc/skiff");
	ck_assert_int_eq(errno, ENOENT);
	ck_assert_str_eq(after_ts(),
	                 "level=warn component=scheduler msg=\"open /etc/skiff: No such file or directory\"\n");
	errno = EACCES;
	log_warnx("x");
	ck_assert_int_eq(errno, EACCES);
	log_kv(LL_DEBUG, NULL, "y");
	ck_assert_int_eq(errno, EACCES);
	captured();
	errno = EPIPE;
	log_error("write");
	ck_assert_str_eq(after_ts(), "level=error component=scheduler msg=\"write: Broken pipe\"\n");
}
END_TEST

/* A line is well-formed: one '\n' at the end, quotes balanced outside
 * escapes, at most LOG_LINE_MAX bytes. */
static void
assert_well_formed(const char *l)
{
	size_t n = strlen(l);
	int inq = 0;

	ck_assert_uint_le(n, LOG_LINE_MAX);
	ck_assert_int_eq(l[n - 1], '\n');
	ck_assert_ptr_eq(strchr(l, '\n'), l + n - 1);
	for (size_t i = 0; i < n; i++) {
		if (inq && l[i] == '\\')
			i++;
		else if (l[i] == '"')
			inq = !inq;
	}
	ck_assert_int_eq(inq, 0);
}

START_TEST(test_long_values_are_cut)
{
	char *big = malloc(3 * LOG_LINE_MAX);
	const char *l;

	memset(big, 'x', 3 * LOG_LINE_MAX - 1);
	big[3 * LOG_LINE_MAX - 1] = '\0';
	log_kv(LL_INFO, KV("a", big, "b", "short"), "%s", big);
	l = captured();
	assert_well_formed(l);
	ck_assert_ptr_nonnull(strstr(l, "xxx... b=short msg=xxx"));
	ck_assert_ptr_nonnull(strstr(l, "x...\n"));

	/* Quoted and escaped: many fields, each cut, msg still present. */
	memset(big, '"', 3 * LOG_LINE_MAX - 1);
	log_kv(LL_INFO, KV("a", big, "b", big, "c", big, "d", big, "e", big, "f", big, "g", big, "h", big, "i", big),
	       "end %s", big);
	l = captured();
	assert_well_formed(l);
	ck_assert_ptr_nonnull(strstr(l, "\\\"...\" b=\"\\\""));

	memset(big, '\x01', 3 * LOG_LINE_MAX - 1);
	log_warnx("%s", big);
	l = captured();
	assert_well_formed(l);
	ck_assert_ptr_nonnull(strstr(l, "\\u0001...\"\n"));
	free(big);
}
END_TEST

START_TEST(test_fatalx_exits_1)
{
	fatalx("cannot start: %s", "reason");
}
END_TEST

Suite *
log_suite(void)
{
	Suite *s = suite_create("daemon_log");
	TCase *core = tcase_create("core"), *errors = tcase_create("errors"), *limits = tcase_create("limits");

	tcase_add_checked_fixture(core, setup, teardown);
	tcase_add_checked_fixture(errors, setup, teardown);
	tcase_add_checked_fixture(limits, setup, teardown);
	tcase_add_test(core, test_plain);
	tcase_add_test(core, test_kv);
	tcase_add_test(core, test_escaping);
	tcase_add_test(core, test_keys_and_nulls);
	tcase_add_test(core, test_no_component);
	tcase_add_test(core, test_level_filter);
	tcase_add_test(core, test_level_names);
	tcase_add_test(errors, test_errno);
	tcase_add_exit_test(errors, test_fatalx_exits_1, 1);
	tcase_add_test(limits, test_long_values_are_cut);
	suite_add_tcase(s, core);
	suite_add_tcase(s, errors);
	suite_add_tcase(s, limits);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(log_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
