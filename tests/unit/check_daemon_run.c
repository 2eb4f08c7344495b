/*
 * check_daemon_run.c: run_program (daemon/run.c), with /bin/sh standing in
 * for the helper programs the daemons run (iptables, nft).
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/run.h"

START_TEST(test_status_and_output)
{
	char out[256];

	ck_assert_int_eq(run_program((const char *const[]){"sh", "-c", "echo one; echo two >&2; exit 3", NULL}, out,
	                             sizeof(out)),
	                 3);
	ck_assert_str_eq(out, "one\ntwo\n");
	ck_assert_int_eq(run_program((const char *const[]){"true", NULL}, out, sizeof(out)), 0);
	ck_assert_str_eq(out, "");
}
END_TEST

START_TEST(test_not_found)
{
	char out[256];

	ck_assert_int_eq(run_program((const char *const[]){"skiff-no-such-program", NULL}, out, sizeof(out)), 127);
	ck_assert_ptr_nonnull(strstr(out, "cannot run skiff-no-such-program"));
}
END_TEST

START_TEST(test_long_output_cut_never_blocks)
{
	/* 1 MB, far more than a pipe holds: read to the end, kept in part. */
	char out[16];

	ck_assert_int_eq(run_program((const char *const[]){"sh", "-c", "head -c 1048576 /dev/zero | tr '\\0' x", NULL},
	                             out, sizeof(out)),
	                 0);
	ck_assert_str_eq(out, "xxxxxxxxxxxxxxx");
}
END_TEST

START_TEST(test_killed)
{
	char out[128];

	ck_assert_int_eq(run_program((const char *const[]){"sh", "-c", "echo bye; kill -9 $$", NULL}, out, sizeof(out)),
	                 -1);
	ck_assert_ptr_nonnull(strstr(out, "bye\n; sh was killed by signal 9"));
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("daemon_run");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_status_and_output);
	tcase_add_test(tc, test_not_found);
	tcase_add_test(tc, test_long_output_cut_never_blocks);
	tcase_add_test(tc, test_killed);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
