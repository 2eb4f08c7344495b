/*
 * run.c: run_program (run.h): posix_spawnp with stdout and stderr on one
 * pipe, read to the end, then waitpid. For the short helper programs a
 * daemon calls (the agent's iptables, the proxy's nft).
 */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "run.h"

extern char **environ;

/* Read fd to its end: the first len - 1 bytes into out (NUL-ended). */
static size_t
drain(int fd, char *out, size_t len)
{
	char buf[512];
	size_t got = 0;
	ssize_t r;

	while ((r = read(fd, buf, sizeof(buf))) > 0 || (r < 0 && errno == EINTR)) {
		size_t k = r > 0 ? (size_t)r : 0;

		if (k > len - 1 - got)
			k = len - 1 - got;
		memcpy(out + got, buf, k);
		got += k;
	}
	out[got] = '\0';
	return got;
}

int
run_program(const char *const argv[], char *out, size_t len)
{
	posix_spawn_file_actions_t fa;
	int pfd[2], st;
	size_t got;
	pid_t pid;

	out[0] = '\0';
	if (pipe2(pfd, O_CLOEXEC) < 0) {
		snprintf(out, len, "cannot run %s: %s", argv[0], strerror(errno));
		return -1;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, pfd[1], 1);
	posix_spawn_file_actions_adddup2(&fa, pfd[1], 2);
	st = posix_spawnp(&pid, argv[0], &fa, NULL, (char *const *)argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(pfd[1]);
	if (st != 0) {
		close(pfd[0]);
		snprintf(out, len, "cannot run %s: %s", argv[0], strerror(st));
		return st == ENOENT ? 127 : -1;
	}
	got = drain(pfd[0], out, len);
	close(pfd[0]);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	snprintf(out + got, len - got, "%s%s was killed by signal %d", got ? "; " : "", argv[0],
	         WIFSIGNALED(st) ? WTERMSIG(st) : 0);
	return -1;
}
