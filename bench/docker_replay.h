/*
 * docker_replay.h: the baseline of the agent and cluster benches: a pod's
 * writes as the agent made them (bench/docker_trace.h), made again call
 * for call against a Docker socket under new names: the template's pod
 * name, uid and node replaced (in container names, labels and the
 * hostname), and every container ID the template's creates returned
 * replaced by the one the replay's creates return. The
 * bodies, network and options are the agent's own.
 */
#ifndef SKIFF_BENCH_DOCKER_REPLAY_H
#define SKIFF_BENCH_DOCKER_REPLAY_H

#include "docker_trace.h"

#define RP_MAXIDS 8

struct rp_job {
	const struct tr_pod *tp; /* the template */
	const char *sock;        /* the Docker socket */
	int group;               /* a group's workers share its jobs, in order */
	char pod[128], uid[128], node[64];
	char ids[RP_MAXIDS][2][72]; /* template's ID -> the replay's */
	int nids;
	double done;       /* CLOCK_MONOTONIC when its last call of the phase returned */
	int calls;         /* requests made (retries included) */
	double call_time;  /* seconds they took, summed */
	double start_time; /* of which POST /containers/ID/start */
	double stop_time;  /* of which POST /containers/ID/stop */
	int starts;
	int failed;
};

/* Name job j after template tp: pod, uid and node become the given ones. */
void rp_job_init(struct rp_job *j, const struct tr_pod *tp, const char *sock, int group, const char *pod,
                 const char *uid, const char *node);
/* Replays phase 0 (start) or 1 (stop) of jobs[0..n): for each group,
 * workers threads take its next job until none is left. A failed answer
 * is printed (stderr, who: ...) with Docker's status and message; a start
 * that meets a 5xx is removed and made once more, its time counted from
 * the first try; a stop call that meets one is made once more. Returns
 * how many jobs failed. curl_global_init must have run. */
int rp_run(struct rp_job *jobs, int n, int phase, int workers, const char *who);
/* Force-removes every container the jobs made (what a failed run left). */
void rp_cleanup(struct rp_job *jobs, int n);

#endif
