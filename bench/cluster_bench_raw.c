/*
 * cluster_bench_raw.c: the baseline of bench/cluster_bench: the warm-up
 * pods' Docker writes, as the agents made them (their SKIFF_DOCKER_TRACE,
 * bench/docker_trace.h), replayed through each minion's Docker API under
 * fresh names (bench/docker_replay.h): each pod on the minion it ran on,
 * with the agent's bodies, network and options, RAW_WORKERS at a time per
 * minion (the agent's --workers), every minion at once. A pod's time runs
 * from the moment all pods were asked for (as the bindings of a new
 * controller arrive together) to the answer of its last start, so it
 * holds the wait for a free worker, as the agent's binding -> Running
 * does. The replayed stop writes then remove them (not timed).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster_bench.h"
#include "docker_replay.h"
#include "e2e_bed.h"

#define RAW_WORKERS 4

/* Minion i's socket, kept (bed_docker's buffer is overwritten). */
static const char *
minion_sock(int i)
{
	static char socks[9][320];

	if (i < 1 || i > 8)
		return NULL;
	if (!socks[i][0])
		snprintf(socks[i], sizeof(socks[i]), "%s", bed_docker(i));
	return socks[i];
}

int
raw_docker_starts(const struct tr_pod *tp, int n, const char *tag, double *lat, double *calls)
{
	struct rp_job *jobs = calloc((size_t)n + 1, sizeof(*jobs));
	char pod[64], uid[64], node[64];
	double t0;
	int failed, made = 0, k = 0;

	if (!jobs)
		return -1;
	for (int i = 0; i < n; i++) {
		int m = atoi(tp[i].node + (tp[i].node[0] == 'm'));

		snprintf(pod, sizeof(pod), "%s-%d", tag, i);
		snprintf(uid, sizeof(uid), "%s-u%d", tag, i);
		snprintf(node, sizeof(node), "%s-%s", tag, tp[i].node);
		rp_job_init(&jobs[i], &tp[i], minion_sock(m), m - 1, pod, uid, node);
		if (!jobs[i].sock) {
			fprintf(stderr, "cluster raw: pod %s ran on %s, not a minion of the bed\n", tp[i].pod,
			        tp[i].node);
			free(jobs);
			return -1;
		}
	}
	t0 = bed_now();
	failed = rp_run(jobs, n, 0, RAW_WORKERS, "cluster raw");
	for (int i = 0; i < n; i++) {
		made += jobs[i].calls;
		if (!jobs[i].failed)
			lat[k++] = jobs[i].done - t0;
	}
	*calls = (double)made / n;
	rp_run(jobs, n, 1, RAW_WORKERS, "cluster raw");
	rp_cleanup(jobs, n);
	free(jobs);
	if (failed)
		fprintf(stderr, "cluster raw %s: %d of %d pods never started (Docker's answers above)\n", tag, failed,
		        n);
	return k;
}
