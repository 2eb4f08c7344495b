/*
 * agent_bench.c: how fast skiff-agent turns bindings into running pods and
 * back, against the real etcd ($ETCD_ENDPOINT) and the real dockerd,
 * next to a baseline that makes the same Docker calls itself (create and
 * start the infra container, then the app container, per pod) at the
 * agent's concurrency (its default --workers, 4 pods at once), without
 * etcd or status. Ratios are skiff's time over the baseline's (≤ 1.25 is
 * the target; lower is better):
 *
 *   agent 50 pods: skiff=9.8 s baseline=8.9 s ratio=1.10
 *   agent 50 pods stop: skiff=... s baseline=... s ratio=...
 *   agent idle 60s n=50: cpu=0.031 s rss=9.9 MB pss=3.9 MB private=1.8 MB anon=1.5 MB
 *
 * start: from the first binding put to every P/podstatus/NODE/POD Running;
 * idle: the same agent, with those pods Running, left alone for
 * $AGENT_IDLE_SECONDS (default 60): its CPU time over the window, then its
 * real VmRSS, Pss, private and anonymous pages (bench/proc_mem.c);
 * stop: from the first binding delete to every status gone and every
 * container removed. Every pod is one infra + one busybox httpd container.
 * Containers are labelled skiff.node=bench-PID… and removed at the end.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "docker_harness.h"
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

static struct etcd_sync *S;
static int verbose;

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
	size_t i;

	if (!r || r->err.code != ETCD_OK) {
		if (r)
			etcd_result_free(r);
		return -1;
	}
	for (i = 0; i < r->nkvs; i++) {
		if (!want_running)
			n++;
		else if (strstr(r->kvs[i].value, "\"phase\":\"Running\""))
			n++;
	}
	etcd_result_free(r);
	return n;
}

static int
wait_count(const char *prefix, int want_running, int n, double timeout)
{
	double end = mono() + timeout;

	while (count_status(prefix, want_running) != n) {
		if (mono() > end)
			return -1;
		usleep(10 * 1000);
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

static int
run_skiff(double *t_start, double *t_stop, struct idle *idle)
{
	char node[64], prefix[64], key[256], val[1024], sdir[256];
	const char *argv[] = {SKIFF_AGENT,
	                      "--etcd-endpoints",
	                      getenv("ETCD_ENDPOINT"),
	                      "--prefix",
	                      prefix,
	                      "--node-name",
	                      node,
	                      "--log-level",
	                      "warn",
	                      NULL};
	struct th_proc *p;
	double t0, end;
	int i, rc = -1;

	snprintf(node, sizeof(node), "bench-%d-skiff", (int)getpid());
	snprintf(prefix, sizeof(prefix), "/bench-%d", (int)getpid());
	snprintf(sdir, sizeof(sdir), "%s/podstatus/%s/", prefix, node);
	p = th_proc_start(SKIFF_AGENT, (char *const *)argv, NULL);
	if (!p)
		return -1;
	t0 = mono();
	for (i = 0; i < NPODS; i++) {
		struct etcd_result *r;

		snprintf(key, sizeof(key), "%s/bindings/%s/pod-%d", prefix, node, i);
		snprintf(val, sizeof(val),
		         "{\"node\":\"%s\",\"pod\":{\"metadata\":{\"name\":\"pod-%d\",\"uid\":\"%d\"},\"spec\":{"
		         "\"terminationGracePeriodSeconds\":1,\"containers\":[{\"name\":\"web\",\"image\":\"%s\"}]}}}",
		         node, i, 1000 + i, DH_TEST_IMAGE);
		r = etcd_sync_put(S, key, val, strlen(val), NULL);
		if (!r || r->err.code != ETCD_OK) {
			fprintf(stderr, "agent_bench: put failed\n");
			goto out;
		}
		etcd_result_free(r);
	}
	if (wait_count(sdir, 1, NPODS, 120) < 0) {
		fprintf(stderr, "agent_bench: pods not Running in time\n");
		goto out;
	}
	*t_start = mono() - t0;
	if (measure_idle(th_proc_pid(p), idle) < 0)
		goto out;
	t0 = mono();
	{
		char bdir[256];
		struct etcd_delete_opts o = {.prefix = 1};
		struct etcd_result *r;

		snprintf(bdir, sizeof(bdir), "%s/bindings/%s/", prefix, node);
		r = etcd_sync_delete(S, bdir, &o);
		if (r)
			etcd_result_free(r);
	}
	if (wait_count(sdir, 0, 0, 120) < 0) {
		fprintf(stderr, "agent_bench: statuses not deleted in time\n");
		goto out;
	}
	end = mono() + 60;
	while (node_ctrs(node) != 0 && mono() < end)
		usleep(10 * 1000);
	*t_stop = mono() - t0;
	rc = node_ctrs(node) == 0 ? 0 : -1;
out:
	th_proc_free(p, rc < 0);
	dh_remove_where("skiff.node", node);
	{
		struct etcd_delete_opts o = {.prefix = 1};
		char all[80];
		struct etcd_result *r;

		snprintf(all, sizeof(all), "%s/", prefix);
		r = etcd_sync_delete(S, all, &o);
		if (r)
			etcd_result_free(r);
	}
	return rc;
}

/* Create and start; the new ID in id. */
static int
create_start(const char *body, const char *name, char *id, size_t len)
{
	char path[256], *resp = NULL;
	json_t *j;
	long st;

	snprintf(path, sizeof(path), "/containers/create?name=%s", name);
	st = dh_request("POST", path, body, &resp);
	j = st == 201 ? json_loads(resp, 0, NULL) : NULL;
	free(resp);
	if (!j)
		return -1;
	snprintf(id, len, "%s", json_string_value(json_object_get(j, "Id")));
	json_decref(j);
	snprintf(path, sizeof(path), "/containers/%s/start", id);
	return dh_request("POST", path, NULL, NULL) == 204 ? 0 : -1;
}

/* Pod i of the baseline: infra then app, created and started. */
static int
baseline_start_pod(const char *node, int i)
{
	char body[1024], name[128], infra[80], app[80];

	snprintf(body, sizeof(body),
	         "{\"Image\":\"skiff/pause:0.1\",\"Entrypoint\":[\"/pause\"],\"Labels\":{\"skiff.node\":\"%s\"},"
	         "\"HostConfig\":{\"RestartPolicy\":{\"Name\":\"no\"}}}",
	         node);
	snprintf(name, sizeof(name), "%s_POD_%d", node, i);
	if (create_start(body, name, infra, sizeof(infra)) < 0)
		return -1;
	snprintf(body, sizeof(body),
	         "{\"Image\":\"%s\",\"Labels\":{\"skiff.node\":\"%s\"},\"HostConfig\":{\"NetworkMode\":"
	         "\"container:%s\",\"Init\":true,\"RestartPolicy\":{\"Name\":\"no\"}}}",
	         DH_TEST_IMAGE, node, infra);
	snprintf(name, sizeof(name), "%s_web_%d", node, i);
	return create_start(body, name, app, sizeof(app));
}

/* Pod i of the baseline: app then infra, stopped and removed (by name). */
static int
baseline_stop_pod(const char *node, int i)
{
	const char *kinds[] = {"web", "POD"};
	char name[128], path[256];
	int k;

	for (k = 0; k < 2; k++) {
		snprintf(name, sizeof(name), "%s_%s_%d", node, kinds[k], i);
		snprintf(path, sizeof(path), "/containers/%s/stop?t=1", name);
		dh_request("POST", path, NULL, NULL);
		if (dh_remove(name) < 0)
			return -1;
	}
	return 0;
}

/* Run step on pods 0..NPODS-1 in WORKERS processes, pod i in worker
 * i % WORKERS, as the agent's work queue spreads them; -1 if any failed. */
static int
baseline_fanout(int (*step)(const char *, int), const char *node)
{
	pid_t pids[WORKERS];
	int w, st, rc = 0;

	fflush(NULL);
	for (w = 0; w < WORKERS; w++) {
		pids[w] = fork();
		if (pids[w] == 0) {
			int i, bad = 0;

			for (i = w; i < NPODS; i += WORKERS)
				bad |= step(node, i) < 0;
			_exit(bad);
		}
		if (pids[w] < 0)
			rc = -1;
	}
	for (w = 0; w < WORKERS; w++)
		if (pids[w] > 0 && (waitpid(pids[w], &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0))
			rc = -1;
	return rc;
}

static int
run_baseline(double *t_start, double *t_stop)
{
	char node[64];
	double t0;
	int rc;

	snprintf(node, sizeof(node), "bench-%d-base", (int)getpid());
	t0 = mono();
	rc = baseline_fanout(baseline_start_pod, node);
	*t_start = mono() - t0;
	t0 = mono();
	if (rc == 0)
		rc = baseline_fanout(baseline_stop_pod, node);
	*t_stop = mono() - t0;
	dh_remove_where("skiff.node", node);
	return rc;
}

int
main(int argc, char **argv)
{
	struct etcd_config cfg = {0};
	struct etcd_error err = {0};
	double ss = 0, sp = 0, bs = 0, bp = 0;
	struct idle idle = {.seconds = getenv("AGENT_IDLE_SECONDS") ? atoi(getenv("AGENT_IDLE_SECONDS")) : 60};
	int rc = 0;

	verbose = argc > 1 && strcmp(argv[1], "-v") == 0;
	cfg.endpoints = getenv("ETCD_ENDPOINT");
	if (!cfg.endpoints) {
		fprintf(stderr, "agent_bench: set ETCD_ENDPOINT (make bench does)\n");
		return 1;
	}
	if (dh_ensure_dockerd(60) < 0 || dh_ensure_test_image() < 0 ||
	    dh_ensure_image_from_tar(PAUSE_TAR, "skiff/pause", "0.1") < 0) {
		fprintf(stderr, "agent_bench: Docker is not usable\n");
		return 1;
	}
	S = etcd_sync_new(&cfg, &err);
	if (!S) {
		fprintf(stderr, "agent_bench: %s\n", err.msg);
		return 1;
	}
	if (idle.seconds < 0) {
		fprintf(stderr, "agent_bench: AGENT_IDLE_SECONDS must be 0 or more\n");
		return 2;
	}
	if (run_baseline(&bs, &bp) < 0 || run_skiff(&ss, &sp, &idle) < 0) {
		fprintf(stderr, "agent_bench: a run failed\n");
		rc = 1;
	} else {
		if (verbose)
			fprintf(stderr, "skiff start %.2fs stop %.2fs; baseline start %.2fs stop %.2fs\n", ss, sp, bs,
			        bp);
		printf("agent %d pods: skiff=%.2f s baseline=%.2f s ratio=%.2f\n", NPODS, ss, bs, ss / bs);
		printf("agent %d pods stop: skiff=%.2f s baseline=%.2f s ratio=%.2f\n", NPODS, sp, bp, sp / bp);
		printf("agent idle %ds n=%d: cpu=%.3f s rss=%.1f MB pss=%.1f MB private=%.1f MB anon=%.1f MB\n",
		       idle.seconds, NPODS, idle.cpu, idle.mem.rss_kb / 1024.0, idle.mem.pss_kb / 1024.0,
		       idle.mem.private_kb / 1024.0, idle.mem.anon_kb / 1024.0);
	}
	etcd_sync_free(S);
	return rc;
}
