/*
 * e2e_check.h: what the end-to-end suites (check_cluster, check_guestbook)
 * share on the Check side: a wait for a condition against a deadline, and
 * a manifest loaded from a file or the test failed. Header only; the
 * benches, which do not link Check, do not include it.
 */
#ifndef SKIFF_TESTS_E2E_CHECK_H
#define SKIFF_TESTS_E2E_CHECK_H

#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "e2e_bed.h"

/* Poll cond every 0.1 s for up to secs seconds; fail the test with the
 * message when it still does not hold. */
#define WAIT_FOR(cond, secs, ...)                   \
	do {                                        \
		double end_ = bed_now() + (secs);   \
		while (!(cond) && bed_now() < end_) \
			usleep(100 * 1000);         \
		ck_assert_msg((cond), __VA_ARGS__); \
	} while (0)

/* The JSON of file (a new reference); the test fails when it cannot be
 * read or parsed. */
static inline json_t *
e2e_manifest(const char *file)
{
	json_error_t err;
	json_t *j = json_load_file(file, 0, &err);

	ck_assert_msg(j != NULL, "%s: %s", file, err.text);
	return j;
}

/* main() of a suite on the bed: *root says whether this is root (when
 * not, the suite runs with the bed absent and its tests return at once);
 * as root, tests/cluster up n with extra, the suite, then down (the logs
 * first when a test failed or SKIFF_E2E_LOGS is set). The exit status. */
static inline int
e2e_run(Suite *s, const char *name, int n, const char *extra, int *root)
{
	SRunner *sr = srunner_create(s);
	int failed;

	*root = geteuid() == 0;
	if (!*root)
		fprintf(stderr, "%s: not root: needs network namespaces and dockerd; skipped\n", name);
	else if (bed_up(n, extra) < 0) {
		srunner_free(sr);
		bed_down(1);
		return 1;
	}
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	if (*root)
		bed_down(failed > 0 || getenv("SKIFF_E2E_LOGS"));
	return failed ? 1 : 0;
}

#endif
