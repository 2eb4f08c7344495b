/*
 * run.c: run_program_async (run.h). posix_spawnp starts the program with a
 * pipe on its stdin and one pipe for its stdout and stderr; the loop feeds
 * the first through an ev_io writer and empties the second through an
 * ev_io reader into a buffer of at most RUN_OUT_MAX bytes; an ev_child
 * watcher (default loop only) hears the exit, after which what is still in
 * the pipe is read and the job ends in finish(), the one place that calls
 * back and frees. Nothing here waits, except run_cancel reaping a process
 * it has just killed. It does not time programs out (the caller decides
 * when to give up and cancel) and does not interpret their output.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "run.h"

extern char **environ;

#define READ_CHUNK 16384
#define FINAL_READS 64 /* after the exit: at most 1 MiB more, left by the program or its children */

struct run_job {
	struct ev_loop *loop;
	pid_t pid; /* -1 once reaped or never started */
	ev_child child;
	ev_io in_w;     /* our end of its stdin; fd -1 when closed */
	ev_io out_w;    /* our end of its stdout+stderr; fd -1 when closed */
	ev_timer later; /* reports a failed start from the loop */
	char *in;
	size_t in_len, in_off;
	char *out; /* RUN_OUT_MAX + 1 bytes, allocated on the first byte */
	struct run_result res;
	run_done_fn done;
	void *arg;
};

/* write(2) that cannot raise SIGPIPE when the program no longer reads:
 * the signal is ignored for the call (EPIPE comes back instead). */
static ssize_t
write_nosigpipe(int fd, const void *buf, size_t len)
{
	struct sigaction ign = {.sa_handler = SIG_IGN}, old;
	ssize_t n;
	int e;

	sigemptyset(&ign.sa_mask);
	sigaction(SIGPIPE, &ign, &old);
	n = write(fd, buf, len);
	e = errno;
	sigaction(SIGPIPE, &old, NULL);
	errno = e;
	return n;
}

static void
close_io(struct run_job *j, ev_io *w)
{
	if (w->fd < 0)
		return;
	ev_io_stop(j->loop, w);
	close(w->fd);
	ev_io_set(w, -1, 0);
}

/* The one end of a job: call back once, then free. */
static void
finish(struct run_job *j)
{
	ev_child_stop(j->loop, &j->child);
	ev_timer_stop(j->loop, &j->later);
	close_io(j, &j->in_w);
	close_io(j, &j->out_w);
	j->res.out = j->out ? j->out : "";
	j->done(&j->res, j->arg);
	free(j->in);
	free(j->out);
	free(j);
}

/* Keep what fits of n more bytes of output. */
static void
keep(struct run_job *j, const char *buf, size_t n)
{
	size_t room = RUN_OUT_MAX - j->res.len;

	if (!j->out && !(j->out = malloc(RUN_OUT_MAX + 1)))
		room = 0;
	if (n > room)
		j->res.truncated = 1, n = room;
	if (n == 0)
		return;
	memcpy(j->out + j->res.len, buf, n);
	j->res.len += n;
	j->out[j->res.len] = '\0';
}

/* Read at most reads times, or until the pipe is empty; at its end (or
 * on a read error) close it. */
static void
read_out(struct run_job *j, int reads)
{
	char buf[READ_CHUNK];
	ssize_t n;

	for (int i = 0; i < reads; i++) {
		n = read(j->out_w.fd, buf, sizeof(buf));
		if (n > 0) {
			keep(j, buf, (size_t)n);
			continue;
		}
		if (n < 0 && errno == EINTR) {
			i--;
			continue;
		}
		if (n == 0 || errno != EAGAIN)
			close_io(j, &j->out_w);
		return;
	}
}

static void
out_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop, (void)revents;
	read_out(w->data, 1);
}

static void
in_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct run_job *j = w->data;
	ssize_t n = write_nosigpipe(w->fd, j->in + j->in_off, j->in_len - j->in_off);

	(void)loop, (void)revents;
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n > 0)
		j->in_off += (size_t)n;
	/* All written, or it stopped reading (EPIPE): its exit says the rest. */
	if (n < 0 || j->in_off == j->in_len)
		close_io(j, &j->in_w);
}

static void
child_cb(struct ev_loop *loop, ev_child *w, int revents)
{
	struct run_job *j = w->data;
	int st = w->rstatus;

	(void)loop, (void)revents;
	j->pid = -1;
	if (j->out_w.fd >= 0)
		read_out(j, FINAL_READS);
	j->res.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	j->res.signal = WIFSIGNALED(st) ? WTERMSIG(st) : 0;
	finish(j);
}

static void
later_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop, (void)revents;
	finish(w->data);
}

/* Start argv on in_fd (-1: /dev/null) and out_fd in a process group of its
 * own, signals at their defaults and unblocked, no other descriptor. 0 or
 * an errno value. */
static int
spawn(pid_t *pid, const char *const argv[], int in_fd, int out_fd)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none, dfl;
	int rc;

	sigemptyset(&none);
	sigfillset(&dfl); /* SIG_IGN (the daemons' SIGPIPE) would survive exec */
	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&at);
	if (in_fd >= 0)
		posix_spawn_file_actions_adddup2(&fa, in_fd, 0);
	else
		posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
	posix_spawn_file_actions_adddup2(&fa, out_fd, 2);
#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 34)
	/* Whatever a library opened without O_CLOEXEC stays ours. */
	posix_spawn_file_actions_addclosefrom_np(&fa, 3);
#endif
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setsigdefault(&at, &dfl);
	posix_spawnattr_setpgroup(&at, 0);
	rc = posix_spawnp(pid, argv[0], &fa, &at, (char *const *)argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	return rc;
}

/* A pipe, close-on-exec at both ends, our end (parent_end 0 or 1)
 * non-blocking; the child's end must block for the program. */
static int
pipe_for(int fd[2], int parent_end)
{
	if (pipe2(fd, O_CLOEXEC) < 0)
		return -1;
	if (fcntl(fd[parent_end], F_SETFL, O_NONBLOCK) < 0) {
		close(fd[0]);
		close(fd[1]);
		return -1;
	}
	return 0;
}

/* Pipes, process, watchers; 0 or an errno value (nothing left open). */
static int
start(struct run_job *j, const char *const argv[], int with_in)
{
	int in[2] = {-1, -1}, out[2], rc;

	if (pipe_for(out, 0) < 0)
		return errno;
	if (with_in && pipe_for(in, 1) < 0) {
		rc = errno;
		close(out[0]);
		close(out[1]);
		return rc;
	}
	rc = spawn(&j->pid, argv, in[0], out[1]);
	close(out[1]);
	if (in[0] >= 0)
		close(in[0]);
	if (rc != 0) {
		j->pid = -1;
		close(out[0]);
		if (in[1] >= 0)
			close(in[1]);
		return rc;
	}
	ev_io_set(&j->out_w, out[0], EV_READ);
	ev_io_start(j->loop, &j->out_w);
	ev_io_set(&j->in_w, in[1], EV_WRITE);
	if (in[1] >= 0 && j->in_len == 0)
		close_io(j, &j->in_w); /* empty input: EOF at once */
	else if (in[1] >= 0)
		ev_io_start(j->loop, &j->in_w);
	ev_child_set(&j->child, j->pid, 0);
	ev_child_start(j->loop, &j->child);
	return 0;
}

struct run_job *
run_program_async(struct ev_loop *loop, const char *const argv[], const void *in, size_t in_len, run_done_fn done,
                  void *arg)
{
	struct run_job *j;
	char why[256];
	int rc;

	if (!ev_is_default_loop(loop)) {
		errno = EINVAL;
		return NULL;
	}
	if (!(j = calloc(1, sizeof(*j))) || (in_len && !(j->in = malloc(in_len)))) {
		free(j);
		errno = ENOMEM;
		return NULL;
	}
	if (in_len)
		memcpy(j->in, in, in_len);
	j->in_len = in_len;
	j->loop = loop;
	j->done = done;
	j->arg = arg;
	ev_io_init(&j->in_w, in_cb, -1, EV_WRITE);
	ev_io_init(&j->out_w, out_cb, -1, EV_READ);
	ev_child_init(&j->child, child_cb, 0, 0);
	ev_timer_init(&j->later, later_cb, 0., 0.);
	j->in_w.data = j->out_w.data = j->child.data = j->later.data = j;
	if ((rc = start(j, argv, in != NULL)) != 0) {
		j->res.status = rc == ENOENT ? 127 : -1;
		snprintf(why, sizeof(why), "cannot run %s: %s", argv[0], strerror(rc));
		keep(j, why, strlen(why));
		ev_timer_start(loop, &j->later);
	}
	return j;
}

void
run_cancel(struct run_job *j)
{
	if (!j)
		return;
	ev_child_stop(j->loop, &j->child);
	ev_timer_stop(j->loop, &j->later);
	close_io(j, &j->in_w);
	close_io(j, &j->out_w);
	if (j->pid > 0) {
		kill(-j->pid, SIGKILL);
		kill(j->pid, SIGKILL); /* in case it left its group */
		while (waitpid(j->pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
	free(j->in);
	free(j->out);
	free(j);
}
