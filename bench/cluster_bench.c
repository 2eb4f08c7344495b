/*
 * cluster_bench.c: Skiff on three minions of tests/cluster (root), next to
 * the same Docker writes made directly (cluster_bench_raw.c). The agents
 * trace their Docker requests (SKIFF_DOCKER_TRACE, inherited through the
 * bed). In order:
 *   warm-up  a 30-replica controller of the test image behind a service:
 *            from the put until the service has answered from all 30 pods
 *            (clients in every minion's namespace, the union of their
 *            answers); then deleted. Not in the ratios: its trace gives
 *            each pod's writes to replay.
 *   rounds   $CLUSTER_BENCH_ROUNDS (default 4, at least 3) of Skiff and
 *            raw, the order alternating (ABBA), fresh names each round:
 *            Skiff, a controller bench-rN of 30 replicas, each pod's start
 *            from the watch seeing its binding to the watch seeing its
 *            status say Running (receive times, CLOCK_MONOTONIC); raw, the
 *            warm-up's writes replayed on the same minions.
 *   cluster pod start: p50=A s p99=B s raw docker p50=C s p99=D s ratio p50=E p99=F (N rounds)
 * (medians over the rounds; the ratios are the medians of the rounds'.)
 * It uses the bed's own etcd, not $ETCD_ENDPOINT. Prints "skipped" when
 * not root. Exit 1 only when a pod never started or never went.
 */
#include <ev.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <curl/curl.h>

#include "bench_stats.h"
#include "cluster_bench.h"
#include "docker_trace.h"
#include "e2e_bed.h"
#include "etcd.h"
#include "etcd_harness.h"

#define NPODS 30
#define NMIN 3
#define MAXROUNDS 16

struct pod_t {
	char name[128];
	double bound, running, answered;
};

static struct pod_t PODS[BED_MAXA];
static int NP;
static int VERBOSE;
static char ROUND_PFX[32] = "bench-"; /* the names of this round's pods */

static struct pod_t *
pod(const char *name)
{
	for (int i = 0; i < NP; i++)
		if (strcmp(PODS[i].name, name) == 0)
			return &PODS[i];
	if (NP == BED_MAXA || strncmp(name, ROUND_PFX, strlen(ROUND_PFX)) != 0)
		return NULL;
	memset(&PODS[NP], 0, sizeof(PODS[NP])); /* a slot of an earlier round */
	snprintf(PODS[NP].name, sizeof(PODS[0].name), "%s", name);
	return &PODS[NP++];
}

static int
count(int which)
{
	int n = 0;

	for (int i = 0; i < NP; i++)
		n += (which == 0 ? PODS[i].bound : which == 1 ? PODS[i].running : PODS[i].answered) > 0;
	return n;
}

/* ---------------------------------------------------------------- watch */

static void
on_event(const struct etcd_event *ev)
{
	char pfx[160];
	const char *key = ev->kv.key, *last = strrchr(key, '/');
	struct pod_t *p;
	json_t *j;

	if (ev->type != ETCD_EVENT_PUT || !last || !(p = pod(last + 1)))
		return;
	snprintf(pfx, sizeof(pfx), "%s/bindings/", bed_prefix());
	if (strncmp(key, pfx, strlen(pfx)) == 0 && !p->bound)
		p->bound = bed_now();
	snprintf(pfx, sizeof(pfx), "%s/podstatus/", bed_prefix());
	if (strncmp(key, pfx, strlen(pfx)) == 0 && !p->running &&
	    (j = json_loadb(ev->kv.value, ev->kv.value_len, 0, NULL))) {
		if (strcmp(json_string_value(json_object_get(j, "phase")) ?: "", "Running") == 0)
			p->running = bed_now();
		json_decref(j);
	}
}

static int WATCHING;

static int
watching(void *arg)
{
	(void)arg;
	return WATCHING;
}

static void
watch_cb(struct etcd_watch *w, const struct etcd_watch_msg *m, void *arg)
{
	(void)w;
	(void)arg;
	WATCHING |= m->kind == ETCD_WATCH_CREATED;
	for (size_t i = 0; m->kind == ETCD_WATCH_EVENTS && i < m->nevents; i++)
		on_event(&m->events[i]);
}

/* ---------------------------------------------------------------- clients */

struct prober {
	pid_t pid;
	int fd;
	char buf[512];
	size_t len;
};
static struct prober PROBE[NMIN];

static void
probe_line(const char *line)
{
	struct pod_t *p;

	if (line[0] && (p = pod(line)) && !p->answered)
		p->answered = bed_now();
}

/* Read what the clients wrote so far (non-blocking). */
static void
probe_read(void)
{
	for (int i = 0; i < NMIN; i++) {
		struct prober *pr = &PROBE[i];
		ssize_t n;
		char *nl;

		while (pr->fd >= 0 && (n = read(pr->fd, pr->buf + pr->len, sizeof(pr->buf) - 1 - pr->len)) > 0) {
			pr->len += (size_t)n;
			pr->buf[pr->len] = '\0';
			while ((nl = strchr(pr->buf, '\n'))) {
				*nl = '\0';
				probe_line(pr->buf);
				pr->len -= (size_t)(nl + 1 - pr->buf);
				memmove(pr->buf, nl + 1, pr->len + 1);
			}
		}
	}
}

static void
probes_stop(void)
{
	for (int i = 0; i < NMIN; i++) {
		if (PROBE[i].fd >= 0)
			close(PROBE[i].fd);
		PROBE[i].fd = -1;
		if (PROBE[i].pid > 0) {
			kill(PROBE[i].pid, SIGKILL);
			waitpid(PROBE[i].pid, NULL, 0);
		}
		PROBE[i].pid = 0;
	}
}

static int
all_in(void *arg)
{
	(void)arg;
	probe_read();
	return count(2) >= NPODS && count(1) >= NPODS;
}

/* ---------------------------------------------------------------- objects */

/* The test controller as NAME, its pods labelled app=NAME. */
static int
put_controller(const char *name)
{
	json_t *c = json_load_file("manifests/test/controller.json", 0, NULL);
	json_t *sel = json_pack("{s:s}", "app", name);
	char key[160];
	int rc = -1;

	if (c && sel) {
		json_object_set_new(json_object_get(c, "metadata"), "name", json_string(name));
		json_object_set_new(json_object_get(c, "spec"), "replicas", json_integer(NPODS));
		json_object_set(json_object_get(c, "spec"), "selector", sel);
		json_object_set_new(
			json_object_get(json_object_get(json_object_get(c, "spec"), "template"), "metadata"), "labels",
			json_deep_copy(sel));
		snprintf(key, sizeof(key), "controllers/%s", name);
		rc = bed_put_json(key, c);
	}
	json_decref(c);
	json_decref(sel);
	return rc;
}

static int
put_service(void)
{
	json_t *s = json_load_file("manifests/test/service.json", 0, NULL);
	int rc = -1;

	if (s) {
		json_object_set_new(json_object_get(s, "metadata"), "name", json_string("bench"));
		json_object_set_new(json_object_get(s, "spec"), "selector", json_pack("{s:s}", "app", "bench"));
		rc = bed_put_json("services/bench", s);
	}
	json_decref(s);
	return rc;
}

/* The service's cluster IP (the endpoints controller writes it at once). */
static int
cluster_ip(char *cip, size_t len)
{
	double end = bed_now() + 30;
	struct bed_eps e;

	do {
		bed_eps_get("bench", &e);
		if (e.present && e.cip[0]) {
			snprintf(cip, len, "%s", e.cip);
			return 0;
		}
		usleep(50 * 1000);
	} while (bed_now() < end);
	fprintf(stderr, "cluster: the service got no cluster IP\n");
	return -1;
}

/* Controller name deleted, every pod and container gone (120 s). */
static int
pods_gone(const char *name)
{
	char key[160];
	double end = bed_now() + 120;

	snprintf(key, sizeof(key), "controllers/%s", name);
	if (bed_del(key) < 0)
		return -1;
	for (;;) {
		int left = bed_list("bindings/", NULL, 0);

		for (int i = 1; i <= NMIN; i++)
			left += bed_pod_containers(i);
		if (left == 0)
			return 0;
		if (bed_now() > end)
			break;
		usleep(100 * 1000);
	}
	fprintf(stderr, "cluster: the pods of %s were not removed within 120 s\n", name);
	return -1;
}

/* ---------------------------------------------------------------- runs */

static double
latest(int which)
{
	double t = 0;

	for (int i = 0; i < NP; i++) {
		double v = which == 1 ? PODS[i].running : PODS[i].answered;

		t = v > t ? v : t;
	}
	return t;
}

/* The warm-up: service and controller "bench", clients until every pod
 * answered, then deleted. w gets the start and the stop window. */
static int
warm_up(struct ev_loop *loop, double w[4])
{
	char cip[64];
	int rc;

	w[0] = bed_now();
	if (put_service() < 0 || put_controller("bench") < 0 || cluster_ip(cip, sizeof(cip)) < 0)
		return -1;
	for (int i = 0; i < NMIN; i++) {
		PROBE[i].pid = bed_http_spawn(i + 1, cip, 1000000, 300, &PROBE[i].fd);
		fcntl(PROBE[i].fd, F_SETFL, O_NONBLOCK);
	}
	rc = th_wait(loop, all_in, NULL, 300);
	probes_stop();
	if (rc < 0) {
		fprintf(stderr, "cluster: after 300 s: %d bound, %d Running, %d answered of %d\n", count(0), count(1),
		        count(2), NPODS);
		return -1;
	}
	w[1] = latest(1);
	printf("cluster %d pods: service answers from all in %.1f s (all Running in %.1f s)\n", NPODS, latest(2) - w[0],
	       w[1] - w[0]);
	fflush(stdout);
	w[2] = bed_now();
	if (pods_gone("bench") < 0)
		return -1;
	w[3] = bed_now();
	return 0;
}

static int
all_running(void *arg)
{
	(void)arg;
	return count(1) >= NPODS;
}

/* A Skiff round: controller bench-rN; lat gets each pod's binding ->
 * Running, w the window from the put to the last Running. */
static int
skiff_round(struct ev_loop *loop, int r, double *lat, double w[2])
{
	char name[32];
	int n = 0;

	snprintf(name, sizeof(name), "bench-r%d", r);
	snprintf(ROUND_PFX, sizeof(ROUND_PFX), "%s-", name);
	NP = 0;
	w[0] = bed_now();
	if (put_controller(name) < 0)
		return -1;
	if (th_wait(loop, all_running, NULL, 300) < 0) {
		fprintf(stderr, "cluster: %s: after 300 s %d bound, %d Running of %d\n", name, count(0), count(1),
		        NPODS);
		return -1;
	}
	w[1] = latest(1);
	for (int i = 0; i < NP; i++)
		if (PODS[i].bound && PODS[i].running)
			lat[n++] = PODS[i].running - PODS[i].bound;
	return pods_gone(name) < 0 || n != NPODS ? -1 : 0;
}

/* ---------------------------------------------------------------- rounds */

struct round {
	double p50, p99, raw50, raw99, calls, raw_calls;
};

static void
summarise(double *lat, int n, double *p50, double *p99)
{
	bench_sort(lat, n);
	*p50 = bench_percentile(lat, n, 50);
	*p99 = bench_percentile(lat, n, 99);
}

/* One round's Skiff half: its pods' times and its calls from the trace. */
static int
skiff_half(struct ev_loop *loop, int r, const char *trace, struct round *res)
{
	double lat[NPODS], w[2];
	long off = tr_size(trace);
	struct trace t;

	if (skiff_round(loop, r, lat, w) < 0)
		return -1;
	summarise(lat, NPODS, &res->p50, &res->p99);
	if (tr_load(&t, trace, off) == 0) {
		tr_failures(&t, w[0], w[1], "cluster skiff");
		res->calls = (double)tr_count(&t, w[0], w[1]) / NPODS;
		tr_free(&t);
	}
	return 0;
}

static int
raw_half(const struct tr_pod *tp, int r, struct round *res)
{
	double lat[NPODS];
	char tag[16];
	int n;

	snprintf(tag, sizeof(tag), "raw%d", r);
	n = raw_docker_starts(tp, NPODS, tag, lat, &res->raw_calls);
	if (n != NPODS)
		return -1;
	summarise(lat, n, &res->raw50, &res->raw99);
	return 0;
}

static void
report(const struct round *res, int n)
{
	double v[6][MAXROUNDS], lo50, hi50, lo99, hi99;

	for (int i = 0; i < n; i++) {
		v[0][i] = res[i].p50, v[1][i] = res[i].p99, v[2][i] = res[i].raw50, v[3][i] = res[i].raw99;
		v[4][i] = res[i].raw50 > 0 ? res[i].p50 / res[i].raw50 : 0;
		v[5][i] = res[i].raw99 > 0 ? res[i].p99 / res[i].raw99 : 0;
	}
	bench_range(v[4], n, &lo50, &hi50);
	bench_range(v[5], n, &lo99, &hi99);
	printf("cluster pod start: p50=%.2f s p99=%.2f s raw docker p50=%.2f s p99=%.2f s ratio p50=%.2f p99=%.2f (%d "
	       "rounds)\n",
	       bench_median(v[0], n), bench_median(v[1], n), bench_median(v[2], n), bench_median(v[3], n),
	       bench_median(v[4], n), bench_median(v[5], n), n);
	for (int i = 0; i < n; i++)
		v[0][i] = res[i].calls, v[1][i] = res[i].raw_calls;
	printf("cluster pod start floor: ratio p50 %.2f-%.2f p99 %.2f-%.2f over %d rounds; calls/pod skiff=%.1f "
	       "raw=%.1f (Kubernetes goal p99 <= 5 s)\n",
	       lo50, hi50, lo99, hi99, n, bench_median(v[0], n), bench_median(v[1], n));
}

/* Before each half: until the machine is quiet (90 % idle over half a
 * second, at most 20 s), so that the minions' dockerds and the kernel,
 * still removing the last half's containers and network namespaces, do
 * not slow the next half. */
static void
settle(int r, const char *half)
{
	char who[64];

	snprintf(who, sizeof(who), "round %d %s", r, half);
	bench_settle(0.9, 20, VERBOSE ? who : NULL);
}

static int
run(struct ev_loop *loop, struct etcd_client *c, const char *trace, int rounds)
{
	struct etcd_watch_opts wo = {.prefix = 1};
	struct etcd_error err = {0};
	struct round res[MAXROUNDS] = {{0}};
	struct tr_pod *tp = NULL;
	struct trace t = {0};
	double w[4];
	char key[160];
	int np = -1, rc = 0;

	snprintf(key, sizeof(key), "%s/", bed_prefix());
	if (!etcd_watch_start(c, key, &wo, watch_cb, NULL, &err) || th_wait(loop, watching, NULL, 10) < 0) {
		fprintf(stderr, "cluster: cannot watch %s: %s\n", key, err.msg);
		return -1;
	}
	if (warm_up(loop, w) < 0 || tr_load(&t, trace, 0) < 0)
		return -1;
	tr_failures(&t, w[0], w[3], "cluster skiff warm-up");
	if ((np = tr_pods(&t, w[0], w[1], w[2], w[3], &tp)) != NPODS) {
		fprintf(stderr, "cluster: the warm-up's trace holds the writes of %d pods, not %d\n", np, NPODS);
		rc = -1;
	}
	for (int r = 0; r < rounds && rc == 0; r++) {
		for (int i = 0; i < 2 && rc == 0; i++) {
			settle(r, (i + r) % 2 == 0 ? "skiff" : "raw");
			rc = (i + r) % 2 == 0 ? skiff_half(loop, r, trace, &res[r]) : raw_half(tp, r, &res[r]);
		}
		if (VERBOSE && rc == 0)
			fprintf(stderr, "round %d: skiff p50 %.2f p99 %.2f, raw p50 %.2f p99 %.2f\n", r, res[r].p50,
			        res[r].p99, res[r].raw50, res[r].raw99);
	}
	if (rc == 0)
		report(res, rounds);
	tr_pods_free(tp, np > 0 ? np : 0);
	tr_free(&t);
	return rc;
}

int
main(int argc, char **argv)
{
	struct ev_loop *loop;
	struct etcd_client *c;
	struct etcd_config cfg = {0};
	struct etcd_error err = {0};
	const char *r = getenv("CLUSTER_BENCH_ROUNDS");
	int rounds = r && *r ? atoi(r) : 4, rc, fd;
	char trace[] = "/tmp/skiff-cluster-trace.XXXXXX";

	VERBOSE = argc > 1 && strcmp(argv[1], "-v") == 0;
	if (geteuid() != 0) {
		printf("cluster: skipped (not root: needs network namespaces and a dockerd per minion)\n");
		return 0;
	}
	if (rounds < 3 || rounds > MAXROUNDS || (fd = mkstemp(trace)) < 0) {
		fprintf(stderr, "cluster: CLUSTER_BENCH_ROUNDS must be 3..16 (and /tmp writable)\n");
		return 2;
	}
	close(fd);
	setenv("SKIFF_DOCKER_TRACE", trace, 1); /* the bed's agents inherit it */
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (bed_up(NMIN, NULL) < 0) {
		bed_down(1);
		unlink(trace);
		return 1;
	}
	loop = ev_loop_new(EVFLAG_AUTO);
	cfg.endpoints = bed_etcd();
	c = etcd_client_new(loop, &cfg, &err);
	rc = c ? run(loop, c, trace, rounds) : -1;
	if (c)
		etcd_client_free(c);
	ev_loop_destroy(loop);
	bed_down(rc < 0 || VERBOSE);
	if (VERBOSE)
		fprintf(stderr, "cluster: the agents' Docker trace is in %s\n", trace);
	else
		unlink(trace);
	return rc < 0 ? 1 : 0;
}
