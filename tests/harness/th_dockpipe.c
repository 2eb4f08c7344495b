/*
 * th_dockpipe.c: see th_dockpipe.h. One forked leader accepts; each
 * connection gets a forked child that connects to Docker and copies both
 * ways with poll(2) until either side closes. All of them share the
 * leader's process group, so one kill(-pgid) stops, resumes or ends them.
 * Deliberately simple: no HTTP parsing, no buffering beyond one read.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "th_dockpipe.h"

struct th_dockpipe {
	pid_t pgid;
	char path[108];
};

static int
unix_addr(struct sockaddr_un *sa, const char *path)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa->sun_path))
		return -1;
	strcpy(sa->sun_path, path);
	return 0;
}

/* Copy between a and b until one side ends. */
static void
splice_both(int a, int b)
{
	struct pollfd p[2] = {{.fd = a, .events = POLLIN}, {.fd = b, .events = POLLIN}};
	char buf[65536];

	for (;;) {
		if (poll(p, 2, -1) < 0 && errno != EINTR)
			return;
		for (int i = 0; i < 2; i++) {
			ssize_t n;

			if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			n = read(p[i].fd, buf, sizeof(buf));
			if (n <= 0 || write(p[1 - i].fd, buf, (size_t)n) != n)
				return;
		}
	}
}

static void
serve_one(int c, const char *docker)
{
	struct sockaddr_un sa;
	int d = socket(AF_UNIX, SOCK_STREAM, 0);

	if (d >= 0 && unix_addr(&sa, docker) == 0 && connect(d, (struct sockaddr *)&sa, sizeof(sa)) == 0)
		splice_both(c, d);
	_exit(0);
}

static void
leader(int l, const char *docker)
{
	signal(SIGCHLD, SIG_IGN); /* no zombies */
	for (;;) {
		int c = accept(l, NULL, NULL);

		if (c < 0) {
			if (errno == EINTR)
				continue;
			_exit(1);
		}
		if (fork() == 0) {
			close(l);
			serve_one(c, docker);
		}
		close(c);
	}
}

struct th_dockpipe *
th_dockpipe_start(const char *docker)
{
	struct th_dockpipe *p = calloc(1, sizeof(*p));
	struct sockaddr_un sa;
	int l = -1;
	pid_t pid;

	if (!p)
		return NULL;
	snprintf(p->path, sizeof(p->path), "/tmp/skiff-dockpipe-%d-%p.sock", (int)getpid(), (void *)p);
	unlink(p->path);
	if ((l = socket(AF_UNIX, SOCK_STREAM, 0)) < 0 || unix_addr(&sa, p->path) < 0 ||
	    bind(l, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(l, 64) < 0 || (pid = fork()) < 0) {
		if (l >= 0)
			close(l);
		free(p);
		return NULL;
	}
	if (pid == 0) {
		setpgid(0, 0);
		leader(l, docker);
	}
	setpgid(pid, pid); /* also here: no race with the child's own call */
	close(l);
	p->pgid = pid;
	return p;
}

const char *
th_dockpipe_path(const struct th_dockpipe *p)
{
	return p->path;
}

void
th_dockpipe_freeze(struct th_dockpipe *p)
{
	kill(-p->pgid, SIGSTOP);
}

void
th_dockpipe_thaw(struct th_dockpipe *p)
{
	kill(-p->pgid, SIGCONT);
}

void
th_dockpipe_free(struct th_dockpipe *p)
{
	if (!p)
		return;
	kill(-p->pgid, SIGKILL);
	kill(-p->pgid, SIGCONT);
	waitpid(p->pgid, NULL, 0);
	unlink(p->path);
	free(p);
}
