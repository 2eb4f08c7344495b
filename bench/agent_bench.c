/*
 * agent_bench.c: how fast skiff-agent turns bindings into running pods and
 * back, against the real etcd ($ETCD_ENDPOINT) and the real dockerd, next
 * to a baseline that makes exactly the agent's Docker writes for the same
 * pods, and nothing else. One agent runs throughout, its Docker requests
 * traced (SKIFF_DOCKER_TRACE, bench/docker_trace.h):
 *
 *   warm-up  50 pods started (unmeasured), the agent left alone for
 *            $AGENT_IDLE_SECONDS (default 60: the idle line), the pods
 *            stopped; the trace of it gives each pod's writes (create,
 *            start, stop, delete with the agent's bodies, network and
 *            options) to replay (bench/docker_replay.h)
 *   rounds   $AGENT_BENCH_ROUNDS (default 4, at least 3) of skiff then
 *            baseline, the order alternating (ABBA), fresh names each
 *            round; the baseline replays the writes at the agent's default
 *            concurrency (--workers 4)
 *   curve    the baseline again with 1 and 8 workers
 *   probes   $AGENT_PROBE_PODS (default 100) pods held $AGENT_PROBE_SECONDS
 *            (default 30) without probes, then with an httpGet readiness
 *            and a tcpSocket liveness probe each second: the agent's CPU
 *            as a share of a core ($AGENT_BENCH_PROBES_ONLY=1: this alone;
 *            $AGENT_PROBE_PLAIN=0: no window without probes). With
 *            $AGENT_BENCH_COMPARE=PATH (another skiff-agent build) the
 *            probed pods are also held by that agent, alternating with
 *            this one on the same pods: the compare line
 *
 *   agent 50 pods: skiff=S s baseline=B s ratio=R (LO-HI over N rounds) calls/pod skiff=C baseline=D
 *   agent 50 pods stop: skiff=S s baseline=B s ratio=R (LO-HI over N rounds)
 *
 * (medians over the rounds; ratio: the median of the rounds' skiff over
 * baseline), then the floor (calls per pod by kind, the agent's time
 * outside Docker calls and its CPU), the curve and the idle line. start:
 * from the first binding put to every P/podstatus/NODE/POD Running; stop:
 * from the bindings' delete to every status and container gone. Exit 1
 * only when a pod never starts or never goes; a failed Docker answer of
 * either side is printed with its status and message.
 */
#include <jansson.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "bench_stats.h"
#include "docker_harness.h"
#include "docker_replay.h"
#include "docker_trace.h"
#include "etcd.h"
#include "etcd_sync.h"
#include "proc_mem.h"
#include "th_proc.h"

#ifndef SKIFF_AGENT
#define SKIFF_AGENT "build/bin/skiff-agent"
#endif
#ifndef PAUSE_TAR
#define PAUSE_TAR "build/bin/pause.tar"
#endif

#define NPODS 50
#define WORKERS 4 /* skiff-agent's default --workers */
#define MAXROUNDS 16

static struct etcd_sync *S;
static int verbose;

struct agent {
	struct th_proc *p;
	char node[64], prefix[64], trace[64];
};

/* One start and stop: times, windows (monotonic), calls and the agent's. */
struct run {
	double start, stop;
	double w[4];                                             /* start window w[0]..w[1], stop window w[2]..w[3] */
	double calls_start, calls_stop;                          /* per pod */
	double dt_start, dt_stop;                                /* seconds in Docker calls per pod, summed */
	double start_call;                                       /* seconds per POST /containers/ID/start */
	double outside_start, outside_stop, cpu_start, cpu_stop; /* skiff: seconds per pod */
	int bad;                                                 /* a pod never started or never went */
};

struct idle {
	int seconds;
	double cpu;
	struct proc_mem mem;
};

static double
mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Pods under prefix with phase Running (want_running) or keys present. */
static int
count_status(const char *prefix, int want_running)
{
	struct etcd_range_opts o = {.prefix = 1};
	struct etcd_result *r = etcd_sync_range(S, prefix, &o);
	int n = 0;

	if (!r || r->err.code != ETCD_OK) {
		if (r)
			etcd_result_free(r);
		return -1;
	}
	for (size_t i = 0; i < r->nkvs; i++)
		n += !want_running || strstr(r->kvs[i].value, "\"phase\":\"Running\"");
	etcd_result_free(r);
	return n;
}

/* Polls every 50 ms: at most 0.5% of a 10 s start, and etcd's and the
 * bench's CPU stay with the agent (at 10 ms the polls cost the skiff
 * side measurably more than the baseline, which polls nothing). */
static int
wait_count(const char *prefix, int want_running, int n, double timeout)
{
	double end = mono() + timeout;

	while (count_status(prefix, want_running) != n) {
		if (mono() > end)
			return -1;
		usleep(50 * 1000);
	}
	return 0;
}

static int
node_ctrs(const char *node)
{
	char l[128];
	const char *labels[] = {l, NULL};

	snprintf(l, sizeof(l), "skiff.node=%s", node);
	return dh_list(labels, NULL);
}

static void
etcd_delete_prefix(const char *prefix)
{
	struct etcd_delete_opts o = {.prefix = 1};
	struct etcd_result *r = etcd_sync_delete(S, prefix, &o);

	if (r)
		etcd_result_free(r);
}

/* ---------------------------------------------------------------- skiff */

/* Run binary bin as the agent of a's node and prefix (set), its Docker
 * requests traced into a->trace. */
static int
agent_spawn(struct agent *a, const char *bin)
{
	char env0[128];
	const char *argv[] = {bin,        "--etcd-endpoints", getenv("ETCD_ENDPOINT"),
	                      "--prefix", a->prefix,          "--node-name",
	                      a->node,    "--log-level",      "warn",
	                      NULL};
	char *env[] = {env0, NULL};

	snprintf(env0, sizeof(env0), "SKIFF_DOCKER_TRACE=%s", a->trace);
	a->p = th_proc_start(bin, (char *const *)argv, env);
	return a->p ? 0 : -1;
}

static int
agent_start(struct agent *a)
{
	char key[160];
	int fd;

	snprintf(a->node, sizeof(a->node), "bench-%d", (int)getpid());
	snprintf(a->prefix, sizeof(a->prefix), "/bench-%d", (int)getpid());
	snprintf(a->trace, sizeof(a->trace), "/tmp/skiff-agent-trace.XXXXXX");
	if ((fd = mkstemp(a->trace)) < 0)
		return -1;
	close(fd);
	snprintf(key, sizeof(key), "%s/nodestatus/%s", a->prefix, a->node);
	if (agent_spawn(a, SKIFF_AGENT) < 0 || wait_count(key, 0, 1, 60) < 0) {
		fprintf(stderr, "agent_bench: the agent did not register its node status within 60 s\n");
		return -1;
	}
	return 0;
}

static void
agent_stop(struct agent *a)
{
	char all[80];

	th_proc_free(a->p, 0);
	dh_remove_where("skiff.node", a->node);
	snprintf(all, sizeof(all), "%s/", a->prefix);
	etcd_delete_prefix(all);
	if (!verbose)
		unlink(a->trace);
	else
		fprintf(stderr, "agent_bench: the agent's Docker trace is in %s\n", a->trace);
}

/* n pods tag-pod-I with uids (a create revision: a decimal) uid0 + I,
 * their container's members extra (JSON, "" or starting with ','). */
static int
put_pods(struct agent *a, const char *tag, int uid0, int n, const char *extra)
{
	char key[256], val[2048];

	for (int i = 0; i < n; i++) {
		struct etcd_result *r;

		snprintf(key, sizeof(key), "%s/bindings/%s/%s-pod-%d", a->prefix, a->node, tag, i);
		snprintf(val, sizeof(val),
		         "{\"node\":\"%s\",\"pod\":{\"metadata\":{\"name\":\"%s-pod-%d\",\"uid\":\"%d\"},"
		         "\"spec\":{\"terminationGracePeriodSeconds\":1,\"containers\":[{\"name\":\"web\",\"image\":"
		         "\"%s\"%s}]}}}",
		         a->node, tag, i, uid0 + i, DH_TEST_IMAGE, extra);
		r = etcd_sync_put(S, key, val, strlen(val), NULL);
		if (!r || r->err.code != ETCD_OK) {
			fprintf(stderr, "agent_bench: put %s failed\n", key);
			if (r)
				etcd_result_free(r);
			return -1;
		}
		etcd_result_free(r);
	}
	return 0;
}

static int
put_bindings(struct agent *a, const char *tag, int uid0)
{
	return put_pods(a, tag, uid0, NPODS, "");
}

/* Leave the agent alone for idle->seconds; its CPU time over that window
 * and its memory at the end. */
static int
measure_idle(pid_t pid, struct idle *idle)
{
	double cpu0 = proc_cpu_seconds(pid), cpu1;

	sleep((unsigned)idle->seconds);
	cpu1 = proc_cpu_seconds(pid);
	if (cpu0 < 0 || cpu1 < 0 || proc_mem_read(pid, &idle->mem) < 0) {
		fprintf(stderr, "agent_bench: the agent is gone during the idle window\n");
		return -1;
	}
	idle->cpu = cpu1 - cpu0;
	return 0;
}

/* Before each measured phase: until the machine is quiet (90 % idle over
 * half a second, at most 20 s), so that Docker's and the kernel's cleanup
 * after the last phase would not be counted against the next one. On
 * 7 Dec 2026 it was always quiet already (the first half second, -v
 * says so): the rounds' spread is Docker's own. */
static void
settle(const char *tag, const char *phase)
{
	char who[64];

	snprintf(who, sizeof(who), "%s %s", tag, phase);
	bench_settle(0.9, 20, verbose ? who : NULL);
}

/* Pods tag-pod-0..NPODS-1 (uids from uid0) started, (idle,) stopped;
 * times and windows. */
static int
skiff_run(struct agent *a, const char *tag, int uid0, struct run *r, struct idle *idle)
{
	char sdir[256], bdir[256];
	pid_t pid = th_proc_pid(a->p);
	double cpu0 = proc_cpu_seconds(pid), cpu1, end;

	snprintf(sdir, sizeof(sdir), "%s/podstatus/%s/", a->prefix, a->node);
	snprintf(bdir, sizeof(bdir), "%s/bindings/%s/", a->prefix, a->node);
	settle(tag, "start");
	r->w[0] = mono();
	if (put_bindings(a, tag, uid0) < 0 || wait_count(sdir, 1, NPODS, 300) < 0) {
		fprintf(stderr, "agent_bench: skiff %s: %d of %d pods Running after 300 s\n", tag,
		        count_status(sdir, 1), NPODS);
		return r->bad = -1;
	}
	r->w[1] = mono();
	cpu1 = proc_cpu_seconds(pid);
	r->cpu_start = (cpu1 - cpu0) / NPODS;
	if (idle && measure_idle(pid, idle) < 0)
		return r->bad = -1;
	settle(tag, "stop");
	cpu0 = proc_cpu_seconds(pid);
	r->w[2] = mono();
	etcd_delete_prefix(bdir);
	end = r->w[2] + 300;
	/* The agent deletes a status after the pod's containers: Docker is
	 * asked (its list would compete with the agent's calls) only then. */
	while ((count_status(sdir, 0) != 0 || node_ctrs(a->node) != 0) && mono() < end)
		usleep(50 * 1000);
	r->w[3] = mono();
	r->cpu_stop = (proc_cpu_seconds(pid) - cpu0) / NPODS;
	r->start = r->w[1] - r->w[0];
	r->stop = r->w[3] - r->w[2];
	if (r->w[3] >= end) {
		fprintf(stderr, "agent_bench: skiff %s: pods not gone after 300 s\n", tag);
		return r->bad = -1;
	}
	return 0;
}

/* A measured skiff round: the run, then its trace read for calls and the
 * agent's time outside Docker calls. */
static int
skiff_round(struct agent *a, const char *tag, int uid0, struct run *r, char *kinds, size_t klen)
{
	long off = tr_size(a->trace);
	struct trace t;
	int starts;

	if (skiff_run(a, tag, uid0, r, NULL) < 0)
		return -1;
	if (tr_load(&t, a->trace, off) < 0) {
		fprintf(stderr, "agent_bench: cannot read the trace %s\n", a->trace);
		return -1;
	}
	tr_failures(&t, r->w[0], r->w[3], "skiff");
	r->calls_start = (double)tr_count(&t, r->w[0], r->w[1]) / NPODS;
	r->calls_stop = (double)tr_count(&t, r->w[2], r->w[3]) / NPODS;
	r->dt_start = tr_call_time(&t, r->w[0], r->w[1], NULL, NULL) / NPODS;
	r->dt_stop = tr_call_time(&t, r->w[2], r->w[3], NULL, NULL) / NPODS;
	r->start_call = tr_call_time(&t, r->w[0], r->w[1], "/start", &starts);
	r->start_call /= starts > 0 ? starts : 1;
	r->outside_start = (r->start - tr_busy(&t, r->w[0], r->w[1])) / NPODS;
	r->outside_stop = (r->stop - tr_busy(&t, r->w[2], r->w[3])) / NPODS;
	if (verbose) {
		double tl = tr_call_time(&t, r->w[2], r->w[3], "/containers/json", NULL);
		double ts = tr_call_time(&t, r->w[2], r->w[3], "/stop", NULL);

		fprintf(stderr, "%s stop in Docker calls: %.1f ms/pod (list %.1f, stop %.1f, the rest %.1f)\n", tag,
		        r->dt_stop * 1e3, tl * 1e3 / NPODS, ts * 1e3 / NPODS,
		        r->dt_stop * 1e3 - (tl + ts) * 1e3 / NPODS);
	}
	if (kinds) {
		size_t o;

		tr_kinds(&t, r->w[0], r->w[1], NPODS, kinds, klen);
		o = strlen(kinds);
		snprintf(kinds + o, klen - o, "\nstop: ");
		o = strlen(kinds);
		tr_kinds(&t, r->w[2], r->w[3], NPODS, kinds + o, klen - o);
	}
	tr_free(&t);
	return 0;
}

/* ---------------------------------------------------------------- baseline */

/* The warm-up's writes replayed for pods tag-pod-0..NPODS-1 on node
 * bench-PID-tag, workers at once. */
static int
baseline_run(const struct tr_pod *tp, const char *tag, int workers, struct run *r)
{
	struct rp_job jobs[NPODS];
	char node[64], pod[64], uid[64];
	int calls = 0, failed, starts = 0;
	double dt = 0;

	snprintf(node, sizeof(node), "bench-%d-%s", (int)getpid(), tag);
	for (int i = 0; i < NPODS; i++) {
		snprintf(pod, sizeof(pod), "%s-pod-%d", tag, i);
		snprintf(uid, sizeof(uid), "%s-uid-%d", tag, i);
		rp_job_init(&jobs[i], &tp[i], DH_SOCKET, 0, pod, uid, node);
	}
	settle(tag, "start");
	r->w[0] = mono();
	failed = rp_run(jobs, NPODS, 0, workers, "baseline");
	r->w[1] = mono();
	for (int i = 0; i < NPODS; i++) {
		calls += jobs[i].calls;
		dt += jobs[i].call_time;
		r->start_call += jobs[i].start_time;
		starts += jobs[i].starts;
	}
	r->start_call /= starts > 0 ? starts : 1;
	r->calls_start = (double)calls / NPODS;
	r->dt_start = dt / NPODS;
	settle(tag, "stop");
	r->w[2] = mono();
	if (!failed)
		rp_run(jobs, NPODS, 1, workers, "baseline");
	r->w[3] = mono();
	r->calls_stop = -r->calls_start;
	r->dt_stop = -r->dt_start;
	for (int i = 0; i < NPODS; i++) {
		r->calls_stop += (double)jobs[i].calls / NPODS;
		r->dt_stop += jobs[i].call_time / NPODS;
	}
	if (verbose) {
		double st = 0;

		for (int i = 0; i < NPODS; i++)
			st += jobs[i].stop_time / NPODS;
		fprintf(stderr, "%s stop in Docker calls: %.1f ms/pod (stop %.1f, the rest %.1f)\n", tag,
		        r->dt_stop * 1e3, st * 1e3, (r->dt_stop - st) * 1e3);
	}
	r->start = r->w[1] - r->w[0];
	r->stop = r->w[3] - r->w[2];
	rp_cleanup(jobs, NPODS);
	dh_remove_where("skiff.node", node);
	if (failed) {
		fprintf(stderr, "agent_bench: baseline %s: %d of %d pods never started\n", tag, failed, NPODS);
		return r->bad = -1;
	}
	return 0;
}

/* ---------------------------------------------------------------- report */

static void
print_ratio(const char *what, const double *sk, const double *bs, int n, const char *tail)
{
	double s[MAXROUNDS], b[MAXROUNDS], q[MAXROUNDS], lo, hi;

	for (int i = 0; i < n; i++) {
		s[i] = sk[i];
		b[i] = bs[i];
		q[i] = bs[i] > 0 ? sk[i] / bs[i] : 0;
	}
	bench_range(q, n, &lo, &hi);
	printf("agent %d pods%s: skiff=%.2f s baseline=%.2f s ratio=%.2f (%.2f-%.2f over %d rounds)%s\n", NPODS, what,
	       bench_median(s, n), bench_median(b, n), bench_median(q, n), lo, hi, n, tail);
}

/* The median over runs[0..n) of the double at offset off in struct run. */
static double
median_of(const struct run *runs, int n, size_t off)
{
	double v[MAXROUNDS];

	for (int i = 0; i < n; i++)
		v[i] = *(const double *)((const char *)&runs[i] + off);
	return bench_median(v, n);
}

#define MEDIAN_OF(runs, n, field) median_of((runs), (n), offsetof(struct run, field))

static void
report(const struct run *sk, const struct run *bs, int n, const char *kinds)
{
	double ss[MAXROUNDS], bss[MAXROUNDS], sp[MAXROUNDS], bsp[MAXROUNDS];
	char tail[128];

	for (int i = 0; i < n; i++) {
		ss[i] = sk[i].start, bss[i] = bs[i].start;
		sp[i] = sk[i].stop, bsp[i] = bs[i].stop;
	}
	snprintf(tail, sizeof(tail), " calls/pod skiff=%.1f baseline=%.1f", MEDIAN_OF(sk, n, calls_start),
	         MEDIAN_OF(bs, n, calls_start));
	print_ratio("", ss, bss, n, tail);
	print_ratio(" stop", sp, bsp, n, "");
	printf("agent %d pods floor: stop calls/pod skiff=%.1f baseline=%.1f; in Docker calls start skiff=%.0f "
	       "baseline=%.0f ms/pod (a container start skiff=%.0f baseline=%.0f ms), stop skiff=%.0f baseline=%.0f "
	       "ms/pod; skiff with no Docker call in flight start=%.1f stop=%.1f ms/pod; agent CPU start=%.1f "
	       "stop=%.1f ms/pod\n",
	       NPODS, MEDIAN_OF(sk, n, calls_stop), MEDIAN_OF(bs, n, calls_stop), MEDIAN_OF(sk, n, dt_start) * 1e3,
	       MEDIAN_OF(bs, n, dt_start) * 1e3, MEDIAN_OF(sk, n, start_call) * 1e3, MEDIAN_OF(bs, n, start_call) * 1e3,
	       MEDIAN_OF(sk, n, dt_stop) * 1e3, MEDIAN_OF(bs, n, dt_stop) * 1e3, MEDIAN_OF(sk, n, outside_start) * 1e3,
	       MEDIAN_OF(sk, n, outside_stop) * 1e3, MEDIAN_OF(sk, n, cpu_start) * 1e3,
	       MEDIAN_OF(sk, n, cpu_stop) * 1e3);
	printf("agent %d pods skiff calls/pod start: %s\n", NPODS, kinds);
}

/* ---------------------------------------------------------------- main */

/* The unmeasured warm-up: start, idle, stop; *t keeps the trace the
 * templates in *tp point into. */
static int
warm_up(struct agent *a, struct idle *idle, struct trace *t, struct tr_pod **tp)
{
	long off = tr_size(a->trace);
	struct run r = {0};
	int n;

	if (skiff_run(a, "w", 1000, &r, idle) < 0)
		return -1;
	if (tr_load(t, a->trace, off) < 0) {
		fprintf(stderr, "agent_bench: cannot read the trace %s\n", a->trace);
		return -1;
	}
	tr_failures(t, r.w[0], r.w[3], "skiff warm-up");
	n = tr_pods(t, r.w[0], r.w[1], r.w[2], r.w[3], tp);
	if (n != NPODS) {
		fprintf(stderr, "agent_bench: the warm-up's trace holds the writes of %d pods, not %d\n", n, NPODS);
		tr_pods_free(*tp, n);
		*tp = NULL;
		return -1;
	}
	for (int i = 0; i < n; i++)
		if ((*tp)[i].n_start == 0 || (*tp)[i].n_stop == 0) {
			fprintf(stderr, "agent_bench: pod %s has no start or no stop in the trace\n", (*tp)[i].pod);
			return -1;
		}
	if (verbose)
		fprintf(stderr, "warm-up: start %.2f s stop %.2f s, %d writes per pod\n", r.start, r.stop,
		        (*tp)[0].n_start + (*tp)[0].n_stop);
	return 0;
}

/* The --workers the curve chooses: the fewest workers within 5% of the
 * fastest start (more workers than Docker can use only queue in Docker),
 * next to the agent's default. */
static void
print_workers(double s1, double s4, double s8)
{
	const double t[] = {s1, s4, s8};
	const int w[] = {1, 4, 8};
	double best = t[0];
	int pick = 0;

	for (int i = 1; i < 3; i++)
		if (t[i] < best)
			best = t[i];
	while (t[pick] > best * 1.05)
		pick++;
	printf("agent %d pods workers: the baseline's curve chooses %d (start 1=%.2f 4=%.2f 8=%.2f s); skiff-agent's "
	       "--workers default is %d\n",
	       NPODS, w[pick], s1, s4, s8, WORKERS);
}

/* ABBA rounds, then the baseline's curve over workers. */
static int
measure(struct agent *a, const struct tr_pod *tp, int rounds)
{
	struct run sk[MAXROUNDS] = {{0}}, bs[MAXROUNDS] = {{0}}, c1 = {0}, c8 = {0};
	char tag[16], kinds[4096] = "";

	for (int r = 0; r < rounds; r++) {
		for (int i = 0; i < 2; i++) {
			int skiff_now = (i + r) % 2 == 0;

			snprintf(tag, sizeof(tag), "%c%d", skiff_now ? 's' : 'b', r);
			if (skiff_now ? skiff_round(a, tag, 2000 + 1000 * r, &sk[r], kinds, sizeof(kinds))
			              : baseline_run(tp, tag, WORKERS, &bs[r]))
				return -1;
		}
		if (verbose)
			fprintf(stderr, "round %d: skiff start %.2f s stop %.2f s; baseline start %.2f s stop %.2f s\n",
			        r, sk[r].start, sk[r].stop, bs[r].start, bs[r].stop);
	}
	report(sk, bs, rounds, kinds);
	if (baseline_run(tp, "c1", 1, &c1) < 0 || baseline_run(tp, "c8", 8, &c8) < 0)
		return -1;
	printf("agent %d pods baseline workers=1: start=%.2f s stop=%.2f s\n", NPODS, c1.start, c1.stop);
	printf("agent %d pods baseline workers=4: start=%.2f s stop=%.2f s (median of the rounds)\n", NPODS,
	       MEDIAN_OF(bs, rounds, start), MEDIAN_OF(bs, rounds, stop));
	printf("agent %d pods baseline workers=8: start=%.2f s stop=%.2f s\n", NPODS, c8.start, c8.stop);
	print_workers(c1.start, MEDIAN_OF(bs, rounds, start), c8.start);
	return 0;
}

static int
env_int(const char *name, int def)
{
	const char *v = getenv(name);

	return v && *v ? atoi(v) : def;
}

/* ---------------------------------------------------------------- probes */

/* The CPU share of a's process over seconds, after a settling time. */
static double
cpu_share(struct agent *a, int seconds)
{
	pid_t pid = th_proc_pid(a->p);
	double cpu0, cpu1;

	sleep(5); /* the agent adopts the pods, its first probes settle */
	cpu0 = proc_cpu_seconds(pid);
	sleep((unsigned)seconds);
	cpu1 = proc_cpu_seconds(pid);
	return cpu0 < 0 || cpu1 < 0 ? -1 : (cpu1 - cpu0) / seconds;
}

/* $AGENT_BENCH_COMPARE names another skiff-agent binary (an older build):
 * on the same probed pods, which an agent leaves running when it stops,
 * the other binary then this one again, twice (B A B A after the first
 * A), each measured over seconds. Prints both means; returns this one's
 * (first window included), -1 when an agent did not start. */
static double
probe_compare(struct agent *a, const char *other, int seconds, double first)
{
	double mine = first, theirs = 0, s;

	for (int i = 0; i < 4; i++) {
		th_proc_free(a->p, 0);
		a->p = NULL;
		if (agent_spawn(a, i % 2 == 0 ? other : SKIFF_AGENT) < 0 || (s = cpu_share(a, seconds)) < 0) {
			fprintf(stderr, "agent_bench: compare: an agent did not run\n");
			return -1;
		}
		if (i % 2 == 0)
			theirs += s / 2;
		else
			mine += s;
	}
	mine /= 3;
	printf("agent probes compare: this agent cpu=%.2f%% (3 windows) %s cpu=%.2f%% (2 windows) of a core, %d s each\n",
	       mine * 100, other, theirs * 100, seconds);
	return mine;
}

/* The agent's CPU over a window, as shares of one core. */
struct cpu_win {
	double all, user, sys;
};

/* The agent's CPU, as a share of one core, over seconds with n pods
 * Running (probes: each with an httpGet readiness and a tcpSocket
 * liveness probe every second, to the test image's httpd) into w; the
 * pods are gone after. -1 when they never all run or never all go. */
static int
probe_window(struct agent *a, const char *tag, int uid0, int n, int seconds, const char *probes, struct cpu_win *w)
{
	char sdir[256], bdir[256];
	pid_t pid = th_proc_pid(a->p);
	double u0, s0, u1, s1;

	snprintf(sdir, sizeof(sdir), "%s/podstatus/%s/", a->prefix, a->node);
	snprintf(bdir, sizeof(bdir), "%s/bindings/%s/", a->prefix, a->node);
	if (put_pods(a, tag, uid0, n, probes) < 0 || wait_count(sdir, 1, n, 600) < 0) {
		fprintf(stderr, "agent_bench: probes %s: %d of %d pods Running after 600 s\n", tag,
		        count_status(sdir, 1), n);
		return -1;
	}
	sleep(3); /* the first probes and their status writes settle */
	if (proc_cpu_split(pid, &u0, &s0) < 0) {
		fprintf(stderr, "agent_bench: probes %s: the agent is gone\n", tag);
		return -1;
	}
	sleep((unsigned)seconds);
	if (proc_cpu_split(pid, &u1, &s1) < 0) {
		fprintf(stderr, "agent_bench: probes %s: the agent is gone\n", tag);
		return -1;
	}
	*w = (struct cpu_win){(u1 - u0 + s1 - s0) / seconds, (u1 - u0) / seconds, (s1 - s0) / seconds};
	if (*probes && getenv("AGENT_BENCH_COMPARE") && *getenv("AGENT_BENCH_COMPARE") &&
	    (w->all = probe_compare(a, getenv("AGENT_BENCH_COMPARE"), seconds, w->all)) < 0)
		return -1;
	etcd_delete_prefix(bdir);
	if (wait_count(sdir, 0, 0, 600) < 0) {
		fprintf(stderr, "agent_bench: probes %s: pods not gone after 600 s\n", tag);
		return -1;
	}
	return 0;
}

/* $AGENT_PROBE_PODS pods (default 100, 0: skipped) without probes, then
 * with 1 s probes, each held $AGENT_PROBE_SECONDS (default 30). The second
 * line splits the probes' share into user and system time (the kernel's
 * side of each probe's connection runs in the agent's context: the pod's
 * end of a veth is served by the sender's softirq; with a compare, of
 * this agent's first window) and divides the share by the probes run,
 * two per pod a second. */
static int
probe_cost(struct agent *a)
{
	static const char probes[] = ",\"readinessProbe\":{\"httpGet\":{\"port\":80},\"periodSeconds\":1},"
				     "\"livenessProbe\":{\"tcpSocket\":{\"port\":80},\"periodSeconds\":1}";
	int n = env_int("AGENT_PROBE_PODS", 100), seconds = env_int("AGENT_PROBE_SECONDS", 30);
	struct cpu_win plain = {0}, probed = {0};

	if (n <= 0)
		return 0;
	if ((env_int("AGENT_PROBE_PLAIN", 1) && probe_window(a, "plain", 900000, n, seconds, "", &plain) < 0) ||
	    probe_window(a, "probed", 910000, n, seconds, probes, &probed) < 0)
		return -1;
	printf("agent %d pods probes 1s: cpu=%.2f%% of a core (without probes %.2f%%, the probes %.2f%%) over %d s\n",
	       n, probed.all * 100, plain.all * 100, (probed.all - plain.all) * 100, seconds);
	printf("agent %d pods probes 1s: the probes user=%.2f%% system=%.2f%% of a core, %.0f us per probe\n", n,
	       (probed.user - plain.user) * 100, (probed.sys - plain.sys) * 100,
	       (probed.all - plain.all) * 1e6 / (2.0 * n));
	return 0;
}

int
main(int argc, char **argv)
{
	struct etcd_config cfg = {0};
	struct etcd_error err = {0};
	struct idle idle = {.seconds = env_int("AGENT_IDLE_SECONDS", 60)};
	int rounds = env_int("AGENT_BENCH_ROUNDS", 4), rc = 1;
	struct agent a = {0};
	struct trace t = {0};
	struct tr_pod *tp = NULL;

	verbose = argc > 1 && strcmp(argv[1], "-v") == 0;
	cfg.endpoints = getenv("ETCD_ENDPOINT");
	if (!cfg.endpoints || idle.seconds < 0 || rounds < 3 || rounds > MAXROUNDS) {
		fprintf(stderr, "agent_bench: set ETCD_ENDPOINT (make bench does); AGENT_IDLE_SECONDS >= 0, "
		                "AGENT_BENCH_ROUNDS 3..16\n");
		return 2;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (dh_ensure_dockerd(60) < 0 || dh_ensure_test_image() < 0 ||
	    dh_ensure_image_from_tar(PAUSE_TAR, "skiff/pause", "0.1") < 0) {
		fprintf(stderr, "agent_bench: Docker is not usable\n");
		return 1;
	}
	if (!(S = etcd_sync_new(&cfg, &err))) {
		fprintf(stderr, "agent_bench: %s\n", err.msg);
		return 1;
	}
	if (env_int("AGENT_BENCH_PROBES_ONLY", 0)) { /* the probes line alone */
		rc = agent_start(&a) == 0 && probe_cost(&a) == 0 ? 0 : 1;
	} else if (agent_start(&a) == 0 && warm_up(&a, &idle, &t, &tp) == 0 && measure(&a, tp, rounds) == 0 &&
	           probe_cost(&a) == 0) {
		printf("agent idle %ds n=%d: cpu=%.3f s rss=%.1f MB pss=%.1f MB private=%.1f MB anon=%.1f MB\n",
		       idle.seconds, NPODS, idle.cpu, idle.mem.rss_kb / 1024.0, idle.mem.pss_kb / 1024.0,
		       idle.mem.private_kb / 1024.0, idle.mem.anon_kb / 1024.0);
		rc = 0;
	}
	agent_stop(&a);
	tr_pods_free(tp, NPODS);
	tr_free(&t);
	etcd_sync_free(S);
	curl_global_cleanup();
	return rc;
}
