/*
 * run.h: run a helper program (iptables, nft) from a daemon's event loop
 * without waiting for it (run.c): its input is fed and its output
 * collected by the loop, and a callback hears how it ended.
 */
#ifndef SKIFF_RUN_H
#define SKIFF_RUN_H

#include <stddef.h>

#include <ev.h>

/* What is kept of a program's stdout and stderr; the rest is read and
 * dropped, so the program never blocks on a full pipe. */
#define RUN_OUT_MAX (64 * 1024)

/* How a program ended. */
struct run_result {
	int status;      /* exit status 0..255; 127 when not found; -1 when it
	                  * could not be started or was killed by a signal */
	int signal;      /* the signal that killed it, else 0 */
	const char *out; /* its stdout and stderr in one stream, NUL-ended;
	                  * when it could not start, why ("cannot run …") */
	size_t len;      /* bytes in out */
	int truncated;   /* it said more than RUN_OUT_MAX bytes */
};

/* r is borrowed: valid until the callback returns. */
typedef void (*run_done_fn)(const struct run_result *r, void *arg);

struct run_job;

/* Start argv[0], looked up on PATH, with argv (NULL-ended), in a process
 * group of its own, with default signal dispositions and no descriptor of
 * ours but the three it is given: stdin gets the in_len bytes of in (copied
 * here; NULL: stdin is /dev/null), stdout and stderr go into one bounded
 * buffer. loop must be libev's default loop (only it sees child exits).
 * done(result, arg) is called exactly once, from the loop, never from
 * inside this call, when the program has exited (or failed to start); the
 * job is freed after it returns. Returns the job, or NULL (errno set: ENOMEM,
 * or EINVAL for a loop that is not the default one) and done is never
 * called. Costs two pipes and a process; O(in_len) to copy the input. */
struct run_job *run_program_async(struct ev_loop *loop, const char *const argv[], const void *in, size_t in_len,
                                  run_done_fn done, void *arg);

/* Stop a job that has not called back, for shutdown: its process group is
 * killed (SIGKILL) and the program reaped (it waits for the kernel to end
 * the killed process, which takes microseconds), then the job is freed;
 * done is not called. NULL is fine. Never call it from inside done. */
void run_cancel(struct run_job *j);

#endif
