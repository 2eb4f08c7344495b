/*
 * docker_trace.h: the agent's Docker trace read back (SKIFF_DOCKER_TRACE,
 * node-agent/agent_docker.c: one JSON line per request, one per answer)
 * for the benchmarks: how many calls in a time window and of which kind,
 * how long Docker had at least one of them, the answers that failed, and
 * each pod's writes (create, start, stop, delete) as a script to replay
 * (bench/docker_replay.h). Times are CLOCK_MONOTONIC seconds, the clock
 * of the agent and of the bench alike.
 */
#ifndef SKIFF_BENCH_DOCKER_TRACE_H
#define SKIFF_BENCH_DOCKER_TRACE_H

#include <stddef.h>

struct tr_call {
	double t0, t1; /* request made, answer read (t1 0: no answer yet) */
	int pid;
	char req[32];
	char *method, *path, *ctype;
	char *body; /* NULL: no body, or a binary one */
	long status;
	char *resp; /* short answers only, else NULL */
	char *pod;  /* the pod a write belongs to (its skiff.pod label), or NULL */
};

struct trace {
	struct tr_call *c;
	int n, cap;
};

/* One pod's writes, in the agent's order: those made in the start window
 * and those made in the stop window. Borrowed from the trace. */
struct tr_pod {
	char pod[128], node[64], uid[128];
	int n_start, n_stop;
	const struct tr_call **start, **stop;
};

/* Read file from byte offset on (a partial last line is left out);
 * requests are matched with their answers. 0, or -1 when unreadable. */
int tr_load(struct trace *t, const char *file, long offset);
void tr_free(struct trace *t);
/* The file's size now: where the next tr_load starts. */
long tr_size(const char *file);

/* Requests made in [w0, w1]. */
int tr_count(const struct trace *t, double w0, double w1);
/* Seconds of [w0, w1] in which at least one request made in it was
 * waiting for its answer. */
double tr_busy(const struct trace *t, double w0, double w1);
/* The sum of the durations of the requests made in [w0, w1] (answered)
 * whose path (without query) ends in suffix (NULL: all); *n gets how
 * many when n is not NULL. */
double tr_call_time(const struct trace *t, double w0, double w1, const char *suffix, int *n);
/* 1 if path, without its query, ends in suffix (NULL: any). */
int tr_path_ends(const char *path, const char *suffix);
/* Prints (stderr, "who: ...") every answer of a request made in [w0, w1]
 * that is not 2xx/304 (nor a GET answered 404: a lookup that found
 * nothing), with Docker's message; returns how many. */
int tr_failures(const struct trace *t, double w0, double w1, const char *who);
/* "GET /containers/json=3.00 POST /containers/create=2.00 ..." per pod:
 * the requests made in [w0, w1] by kind (IDs as {id}, no query). */
void tr_kinds(const struct trace *t, double w0, double w1, int npods, char *out, size_t len);

/* The pods whose containers were created in [s0, s1], with their writes
 * in [s0, s1] and in [e0, e1]; *out is an array (free with free(), the
 * scripts inside too: tr_pods_free). Returns how many, -1 on no memory. */
int tr_pods(const struct trace *t, double s0, double s1, double e0, double e1, struct tr_pod **out);
void tr_pods_free(struct tr_pod *p, int n);

#endif
