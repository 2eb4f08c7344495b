/*
 * th_proc.h: run Skiff's own programs (build/bin/skiff-*) as real child
 * processes in integration tests: start with arguments, kill -9 or
 * SIGTERM, wait for exit with a deadline, read the log. Each child gets
 * PR_SET_PDEATHSIG(SIGKILL), so a failed test never leaves one behind, and
 * logs to a temporary file that th_proc_free removes (printing its tail
 * when asked, e.g. on failure).
 */
#ifndef SKIFF_TESTS_TH_PROC_H
#define SKIFF_TESTS_TH_PROC_H

#include <sys/types.h>

struct th_proc;

/* Start program (a path, e.g. "build/bin/skiff-scheduler") with argv
 * (NULL-terminated, argv[0] included) and extra environment entries
 * ("K=V", NULL-terminated, may be NULL). NULL on failure. */
struct th_proc *th_proc_start(const char *program, char *const argv[], char *const env[]);
pid_t th_proc_pid(const struct th_proc *p);
/* 1 while running (reaps it if it exited). */
int th_proc_running(struct th_proc *p);
/* Send sig; 0 or -1 if not running. */
int th_proc_signal(struct th_proc *p, int sig);
/* Wait up to timeout_s for exit; returns the exit status (0..255), 128+sig
 * if killed by a signal, or -1 on timeout. */
int th_proc_wait(struct th_proc *p, double timeout_s);
/* SIGKILL and reap. */
void th_proc_kill(struct th_proc *p);
/* The child's stdout+stderr so far, as a new string (free it). */
char *th_proc_log(const struct th_proc *p);
/* 1 if the log contains needle. */
int th_proc_log_has(const struct th_proc *p, const char *needle);
/* Kill if running, print the last lines of the log to stderr when
 * show_log, remove the log. NULL is fine. */
void th_proc_free(struct th_proc *p, int show_log);

#endif
