/*
 * pause.c: the program of a pod's infrastructure container. It holds the
 * pod's network namespace by doing nothing: it sleeps until SIGTERM or
 * SIGINT (exit 0) and reaps any child handed to it as PID 1. Built static
 * so that its image needs nothing else (cc -static -O2 -o pause pause.c).
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>

int
main(void)
{
	sigset_t set;
	int sig;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGCHLD);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0) {
		perror("pause: sigprocmask");
		return 1;
	}
	for (;;) {
		if (sigwait(&set, &sig) != 0)
			continue;
		if (sig == SIGCHLD) {
			while (waitpid(-1, NULL, WNOHANG) > 0)
				;
			continue;
		}
		return 0;
	}
}
