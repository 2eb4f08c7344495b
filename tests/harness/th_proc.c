/*
 * th_proc.c: child processes for integration tests (th_proc.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "th_proc.h"

struct th_proc {
	pid_t pid;
	int exited, status;
	char log[64];
};

struct th_proc *
th_proc_start(const char *program, char *const argv[], char *const env[])
{
	struct th_proc *p = calloc(1, sizeof(*p));
	pid_t parent = getpid();
	int fd;

	if (!p)
		return NULL;
	snprintf(p->log, sizeof(p->log), "/tmp/th-proc.XXXXXX");
	if ((fd = mkstemp(p->log)) < 0) {
		free(p);
		return NULL;
	}
	p->pid = fork();
	if (p->pid < 0) {
		close(fd);
		unlink(p->log);
		free(p);
		return NULL;
	}
	if (p->pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		dup2(fd, 1);
		dup2(fd, 2);
		close(fd);
		for (int i = 0; env && env[i]; i++)
			putenv(env[i]);
		execv(program, argv);
		fprintf(stderr, "th_proc: cannot exec %s: %s\n", program, strerror(errno));
		_exit(127);
	}
	close(fd);
	return p;
}

pid_t
th_proc_pid(const struct th_proc *p)
{
	return p->pid;
}

static int
reap(struct th_proc *p, int flags)
{
	int st;
	pid_t r;

	if (p->exited)
		return 1;
	do
		r = waitpid(p->pid, &st, flags);
	while (r < 0 && errno == EINTR);
	if (r == p->pid) {
		p->exited = 1;
		p->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		return 1;
	}
	return 0;
}

int
th_proc_running(struct th_proc *p)
{
	return !reap(p, WNOHANG);
}

int
th_proc_signal(struct th_proc *p, int sig)
{
	if (!th_proc_running(p))
		return -1;
	return kill(p->pid, sig);
}

int
th_proc_wait(struct th_proc *p, double timeout_s)
{
	struct timespec start, now, nap = {0, 5 * 1000 * 1000};

	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		if (reap(p, WNOHANG))
			return p->status;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if ((double)(now.tv_sec - start.tv_sec) + (double)(now.tv_nsec - start.tv_nsec) / 1e9 > timeout_s)
			return -1;
		nanosleep(&nap, NULL); /* polling a condition, not synchronising */
	}
}

void
th_proc_kill(struct th_proc *p)
{
	if (th_proc_running(p)) {
		kill(p->pid, SIGKILL);
		reap(p, 0);
	}
}

char *
th_proc_log(const struct th_proc *p)
{
	FILE *f = fopen(p->log, "r");
	char *buf = NULL;
	size_t len = 0;

	if (!f)
		return strdup("");
	if (getdelim(&buf, &len, '\0', f) < 0) {
		free(buf);
		buf = strdup("");
	}
	fclose(f);
	return buf;
}

int
th_proc_log_has(const struct th_proc *p, const char *needle)
{
	char *s = th_proc_log(p);
	int has = s && strstr(s, needle) != NULL;

	free(s);
	return has;
}

void
th_proc_free(struct th_proc *p, int show_log)
{
	if (!p)
		return;
	th_proc_kill(p);
	if (show_log) {
		char *s = th_proc_log(p);
		size_t n = s ? strlen(s) : 0;

		fprintf(stderr, "---- log of pid %d (last 4000 bytes) ----\n%s\n----\n", (int)p->pid,
		        s ? s + (n > 4000 ? n - 4000 : 0) : "");
		free(s);
	}
	unlink(p->log);
	free(p);
}
