/*
 * th_netns.h: throwaway network namespaces for tests (th_netns.c): each
 * belongs to a child process that dies with the test, so a failing test
 * leaves nothing behind; shell commands for the set-up (`ip`, `nsenter`).
 */
#ifndef SKIFF_TH_NETNS_H
#define SKIFF_TH_NETNS_H

#include <sys/types.h>

/* A child in a new network namespace of its own (it only waits), killed
 * with us (PR_SET_PDEATHSIG). Its pid (the namespace is
 * /proc/PID/ns/net), or -1. */
pid_t th_netns_child(void);
/* Enter pid's network namespace; in a forked child only: _exit(2) when
 * it cannot. */
void th_netns_enter(pid_t pid);
/* system() of the printf'd command: its status (0 = it succeeded). The
 * command is kept for th_sh_last(). */
int th_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The last command th_sh ran (for a test's failure message). */
const char *th_sh_last(void);

#endif
