/*
 * check_daemon_run.c: run_program_async (daemon/run.c) on libev's default
 * loop, with /bin/sh, cat and wc standing in for the helper programs the
 * daemons run (iptables, nft). Each test runs in its own process (Check's
 * fork mode), so "no child is left" can be asked of waitpid(-1).
 */
#include <check.h>
#include <errno.h>
#include <ev.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon/run.h"

/* What the done callback saw. */
static struct {
	int called, status, signal, truncated;
	size_t len;
	char *out;
} G;

static void
done(const struct run_result *r, void *arg)
{
	ck_assert_ptr_eq(arg, &G);
	G.called++;
	G.status = r->status;
	G.signal = r->signal;
	G.truncated = r->truncated;
	G.len = r->len;
	ck_assert_uint_eq(strlen(r->out), r->len);
	free(G.out);
	G.out = strdup(r->out);
}

static void
give_up(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)w, (void)revents;
	ev_break(loop, EVBREAK_ALL);
}

/* Run the loop until done was called, at most secs. */
static void
loop_until_done(double secs)
{
	ev_timer t;

	ev_timer_init(&t, give_up, secs, 0.);
	ev_timer_start(EV_DEFAULT, &t);
	while (!G.called && ev_is_active(&t))
		ev_run(EV_DEFAULT, EVRUN_ONCE);
	ev_timer_stop(EV_DEFAULT, &t);
}

/* Run argv with input to its end; 0 when done was called once. */
static int
run(const char *const argv[], const void *in, size_t in_len)
{
	ck_assert_ptr_nonnull(run_program_async(EV_DEFAULT, argv, in, in_len, done, &G));
	ck_assert_int_eq(G.called, 0); /* never from inside the call */
	loop_until_done(10);
	return G.called == 1 ? 0 : -1;
}

static void
no_child_left(void)
{
	ck_assert_int_eq(waitpid(-1, NULL, WNOHANG), -1);
	ck_assert_int_eq(errno, ECHILD);
}

static void
setup(void)
{
	memset(&G, 0, sizeof(G));
	ck_assert_ptr_nonnull(ev_default_loop(0));
}

static void
teardown(void)
{
	free(G.out);
	G.out = NULL;
	ev_loop_destroy(EV_DEFAULT);
}

START_TEST(test_status_and_output)
{
	ck_assert_int_eq(run((const char *const[]){"sh", "-c", "echo one; echo two >&2; exit 3", NULL}, NULL, 0), 0);
	ck_assert_int_eq(G.status, 3);
	ck_assert_int_eq(G.signal, 0);
	ck_assert_str_eq(G.out, "one\ntwo\n");
	G.called = 0;
	ck_assert_int_eq(run((const char *const[]){"true", NULL}, NULL, 0), 0);
	ck_assert_int_eq(G.status, 0);
	ck_assert_str_eq(G.out, "");
	no_child_left();
}
END_TEST

START_TEST(test_stdin_delivered)
{
	static const char text[] = "table ip t {\n}\n";
	size_t big = 1 << 20;
	char *in = malloc(big);

	ck_assert_int_eq(run((const char *const[]){"cat", NULL}, text, strlen(text)), 0);
	ck_assert_int_eq(G.status, 0);
	ck_assert_str_eq(G.out, text);
	/* A megabyte, 16 pipes full: fed as the program reads. */
	memset(in, 'x', big);
	G.called = 0;
	ck_assert_int_eq(run((const char *const[]){"wc", "-c", NULL}, in, big), 0);
	free(in);
	ck_assert_int_eq(G.status, 0);
	ck_assert_int_eq(atoi(G.out), 1 << 20);
	/* Empty input is an immediate end of file; no input is /dev/null. */
	G.called = 0;
	ck_assert_int_eq(run((const char *const[]){"wc", "-c", NULL}, "", 0), 0);
	ck_assert_int_eq(atoi(G.out), 0);
	G.called = 0;
	ck_assert_int_eq(run((const char *const[]){"sh", "-c", "test ! -t 0 && wc -c", NULL}, NULL, 0), 0);
	ck_assert_int_eq(G.status, 0);
	ck_assert_int_eq(atoi(G.out), 0);
}
END_TEST

START_TEST(test_input_not_read_no_sigpipe)
{
	/* It closes its stdin before we are done writing: EPIPE, not SIGPIPE
	 * (this process does not ignore it; a SIGPIPE would end the test). */
	size_t big = 1 << 20;
	char *in = calloc(1, big);

	ck_assert_int_eq(run((const char *const[]){"sh", "-c", "exec <&-; sleep 0.2; echo read none", NULL}, in, big),
	                 0);
	free(in);
	ck_assert_int_eq(G.status, 0);
	ck_assert_str_eq(G.out, "read none\n");
}
END_TEST

START_TEST(test_signals_at_default)
{
	/* A daemon ignores SIGPIPE; its programs must not inherit that. */
	signal(SIGPIPE, SIG_IGN);
	ck_assert_int_eq(run((const char *const[]){"sh", "-c", "yes | head -c 1 >/dev/null; exit 0", NULL}, NULL, 0),
	                 0);
	ck_assert_int_eq(G.status, 0);
	ck_assert_str_eq(G.out, "");
	G.called = 0;
	ck_assert_int_eq(run((const char *const[]){"sh", "-c",
	                                           "grep -q '^SigIgn:.*0000000000000000$' /proc/self/status"
	                                           " || grep '^SigIgn' /proc/self/status",
	                                           NULL},
	                     NULL, 0),
	                 0);
	ck_assert_msg(G.status == 0, "signals ignored in the program: %s", G.out);
}
END_TEST

START_TEST(test_no_descriptor_leaks)
{
	/* Only 0, 1, 2 (and ls's own directory) in the program. */
	int fd = dup(2); /* a descriptor of ours without close-on-exec */

	ck_assert_int_ge(fd, 3);
	ck_assert_int_eq(run((const char *const[]){"sh", "-c", "ls /proc/$$/fd | tr '\\n' ' '", NULL}, "x", 1), 0);
	close(fd);
	ck_assert_str_eq(G.out, "0 1 2 ");
}
END_TEST

START_TEST(test_not_found)
{
	ck_assert_int_eq(run((const char *const[]){"skiff-no-such-program", NULL}, "x", 1), 0);
	ck_assert_int_eq(G.status, 127);
	ck_assert_ptr_nonnull(strstr(G.out, "cannot run skiff-no-such-program"));
	no_child_left();
}
END_TEST

START_TEST(test_killed)
{
	ck_assert_int_eq(run((const char *const[]){"sh", "-c", "echo bye; kill -9 $$", NULL}, NULL, 0), 0);
	ck_assert_int_eq(G.status, -1);
	ck_assert_int_eq(G.signal, 9);
	ck_assert_str_eq(G.out, "bye\n");
}
END_TEST

START_TEST(test_large_output_bounded)
{
	/* 1 MB, far more than a pipe holds: read to the end, kept in part. */
	ck_assert_int_eq(
		run((const char *const[]){"sh", "-c", "head -c 1048576 /dev/zero | tr '\\0' x", NULL}, NULL, 0), 0);
	ck_assert_int_eq(G.status, 0);
	ck_assert_int_eq(G.truncated, 1);
	ck_assert_uint_eq(G.len, RUN_OUT_MAX);
	ck_assert_uint_eq(strspn(G.out, "x"), RUN_OUT_MAX);
}
END_TEST

/* 1 when pid is gone or a zombie (of whoever reaps orphans). */
static int
dead(pid_t pid)
{
	char path[64], buf[512], *p;
	FILE *f;
	int z;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (!(f = fopen(path, "r")))
		return 1;
	z = fgets(buf, sizeof(buf), f) && (p = strrchr(buf, ')')) && p[1] == ' ' && p[2] == 'Z';
	fclose(f);
	return z;
}

START_TEST(test_cancel)
{
	char path[] = "/tmp/skiff-run-XXXXXX", cmd[200];
	struct run_job *j;
	pid_t kid = 0;
	FILE *f;
	double end;

	int tmp = mkstemp(path);

	ck_assert_int_ge(tmp, 0);
	close(tmp);
	/* A program with a child of its own: both must die. */
	snprintf(cmd, sizeof(cmd), "sleep 30 & echo $! > %s.tmp && mv %s.tmp %s; wait", path, path, path);
	j = run_program_async(EV_DEFAULT, (const char *const[]){"sh", "-c", cmd, NULL}, NULL, 0, done, &G);
	ck_assert_ptr_nonnull(j);
	for (end = ev_time() + 10; !kid && ev_time() < end;) {
		ev_run(EV_DEFAULT, EVRUN_NOWAIT);
		if ((f = fopen(path, "r"))) {
			if (fscanf(f, "%d", &kid) != 1)
				kid = 0;
			fclose(f);
		}
		if (!kid)
			usleep(5000); /* polling the file, with a deadline */
	}
	ck_assert_int_gt(kid, 0);
	run_cancel(j);
	no_child_left(); /* sh killed and reaped */
	for (end = ev_time() + 5; !dead(kid) && ev_time() < end;)
		usleep(5000);
	ck_assert_msg(dead(kid), "the program's own child %d outlived the cancel", (int)kid);
	ev_run(EV_DEFAULT, EVRUN_NOWAIT);
	ck_assert_int_eq(G.called, 0);
	unlink(path);
	/* A job whose start failed, cancelled before it reported. */
	run_cancel(
		run_program_async(EV_DEFAULT, (const char *const[]){"skiff-no-such-program", NULL}, NULL, 0, done, &G));
	ev_run(EV_DEFAULT, EVRUN_NOWAIT);
	ck_assert_int_eq(G.called, 0);
	run_cancel(NULL);
}
END_TEST

START_TEST(test_default_loop_only)
{
	struct ev_loop *other = ev_loop_new(0);

	errno = 0;
	ck_assert_ptr_null(run_program_async(other, (const char *const[]){"true", NULL}, NULL, 0, done, &G));
	ck_assert_int_eq(errno, EINVAL);
	ev_loop_destroy(other);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("daemon_run");
	TCase *tc = tcase_create("core"), *te = tcase_create("errors");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_checked_fixture(te, setup, teardown);
	tcase_add_test(tc, test_status_and_output);
	tcase_add_test(tc, test_stdin_delivered);
	tcase_add_test(tc, test_signals_at_default);
	tcase_add_test(tc, test_no_descriptor_leaks);
	tcase_add_test(tc, test_large_output_bounded);
	tcase_add_test(tc, test_cancel);
	tcase_add_test(te, test_input_not_read_no_sigpipe);
	tcase_add_test(te, test_not_found);
	tcase_add_test(te, test_killed);
	tcase_add_test(te, test_default_loop_only);
	suite_add_tcase(s, tc);
	suite_add_tcase(s, te);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
