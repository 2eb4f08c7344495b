/*
 * cluster_bench.c: Skiff on three minions of tests/cluster (root). Puts a
 * 30-replica controller of the test image behind a service and times
 *   - from the put until the service has answered from all 30 pods
 *     (clients in every minion's namespace, the union of their answers);
 *   - each pod's start: its binding -> its status says Running, as seen
 *     by a watch on the bed's etcd (receive times, CLOCK_MONOTONIC);
 * then, in the same run, the same containers (pause + app, app in the
 * pause container's network) created and started directly through each
 * minion's Docker API, 4 at a time per minion like the agent's workers.
 * It uses the bed's own etcd, not $ETCD_ENDPOINT. Prints "skipped" when
 * not root. Exit 0, or 1 when something did not finish in time.
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

#include "e2e_bed.h"
#include "etcd.h"
#include "etcd_harness.h"

#define NPODS 30
#define NMIN 3

struct pod_t {
	char name[128];
	double bound, running, answered;
};

static struct pod_t PODS[BED_MAXA];
static int NP;
static int VERBOSE;

static struct pod_t *
pod(const char *name)
{
	for (int i = 0; i < NP; i++)
		if (strcmp(PODS[i].name, name) == 0)
			return &PODS[i];
	if (NP == BED_MAXA || strncmp(name, "bench-", 6) != 0)
		return NULL;
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

/* ---------------------------------------------------------------- results */

static int
cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Nearest-rank percentile q of n values (sorted in place). */
static double
pct(double *v, int n, double q)
{
	int k;

	if (n == 0)
		return -1;
	qsort(v, (size_t)n, sizeof(*v), cmp_d);
	k = (int)(q * n + 0.999999) - 1;
	return v[k < 0 ? 0 : k >= n ? n - 1 : k];
}

/* Defined in cluster_bench_raw.c. */
int raw_docker_starts(double *lat, int per_minion);

static int
report(double t0, double t_ans, double t_run)
{
	double start[BED_MAXA], raw[NPODS];
	int n = 0, nraw;

	for (int i = 0; i < NP; i++)
		if (PODS[i].bound && PODS[i].running)
			start[n++] = PODS[i].running - PODS[i].bound;
	nraw = raw_docker_starts(raw, NPODS / NMIN);
	printf("cluster %d pods: service answers from all in %.1f s (all Running in %.1f s)\n", NPODS, t_ans - t0,
	       t_run - t0);
	printf("cluster pod start: p50=%.2f s p99=%.2f s raw docker p50=%.2f s p99=%.2f s (Kubernetes goal p99 <= 5 s)\n",
	       pct(start, n, 0.5), pct(start, n, 0.99), pct(raw, nraw, 0.5), pct(raw, nraw, 0.99));
	return n == NPODS && nraw == NPODS ? 0 : -1;
}

/* ---------------------------------------------------------------- run */

static int
put_objects(void)
{
	json_t *c = json_load_file("manifests/test/controller.json", 0, NULL);
	json_t *s = json_load_file("manifests/test/service.json", 0, NULL);
	json_t *sel = json_pack("{s:s}", "app", "bench");
	int rc = -1;

	if (c && s && sel) {
		json_object_set_new(json_object_get(c, "metadata"), "name", json_string("bench"));
		json_object_set_new(json_object_get(c, "spec"), "replicas", json_integer(NPODS));
		json_object_set(json_object_get(c, "spec"), "selector", sel);
		json_object_set_new(json_object_get(json_object_get(json_object_get(c, "spec"), "template"), "metadata"),
		                    "labels", json_deep_copy(sel));
		json_object_set_new(json_object_get(s, "metadata"), "name", json_string("bench"));
		json_object_set(json_object_get(s, "spec"), "selector", sel);
		rc = bed_put_json("services/bench", s) == 0 && bed_put_json("controllers/bench", c) == 0 ? 0 : -1;
	}
	json_decref(c);
	json_decref(s);
	json_decref(sel);
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

/* Every bench pod deleted and its containers removed (60 s). */
static int
pods_gone(void)
{
	double end = bed_now() + 60;

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
	fprintf(stderr, "cluster: the bench pods were not removed within 60 s\n");
	return -1;
}

static int
run(struct ev_loop *loop, struct etcd_client *c)
{
	struct etcd_watch_opts wo = {.prefix = 1};
	struct etcd_error err = {0};
	char cip[64], key[160];
	double t0, t_run = 0;
	int rc;

	snprintf(key, sizeof(key), "%s/", bed_prefix());
	if (!etcd_watch_start(c, key, &wo, watch_cb, NULL, &err) || th_wait(loop, watching, NULL, 10) < 0) {
		fprintf(stderr, "cluster: cannot watch %s: %s\n", key, err.msg);
		return -1;
	}
	t0 = bed_now();
	if (put_objects() < 0 || cluster_ip(cip, sizeof(cip)) < 0)
		return -1;
	for (int i = 0; i < NMIN; i++) {
		PROBE[i].pid = bed_http_spawn(i + 1, cip, 1000000, 300, &PROBE[i].fd);
		fcntl(PROBE[i].fd, F_SETFL, O_NONBLOCK);
	}
	rc = th_wait(loop, all_in, NULL, 300);
	probes_stop();
	for (int i = 0; i < NP; i++)
		t_run = PODS[i].running > t_run ? PODS[i].running : t_run;
	if (rc < 0) {
		fprintf(stderr, "cluster: after 300 s: %d bound, %d Running, %d answered of %d\n", count(0), count(1),
		        count(2), NPODS);
		return -1;
	}
	{
		double t_ans = 0;

		for (int i = 0; i < NP; i++)
			t_ans = PODS[i].answered > t_ans ? PODS[i].answered : t_ans;
		/* The pods go before the raw containers start. */
		if (bed_del("controllers/bench") < 0 || pods_gone() < 0)
			return -1;
		return report(t0, t_ans, t_run);
	}
}

int
main(int argc, char **argv)
{
	struct ev_loop *loop;
	struct etcd_client *c;
	struct etcd_config cfg = {0};
	struct etcd_error err = {0};
	int rc;

	VERBOSE = argc > 1 && strcmp(argv[1], "-v") == 0;
	if (geteuid() != 0) {
		printf("cluster: skipped (not root: needs network namespaces and a dockerd per minion)\n");
		return 0;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (bed_up(NMIN, NULL) < 0) {
		bed_down(1);
		return 1;
	}
	loop = ev_loop_new(EVFLAG_AUTO);
	cfg.endpoints = bed_etcd();
	c = etcd_client_new(loop, &cfg, &err);
	rc = c ? run(loop, c) : -1;
	if (c)
		etcd_client_free(c);
	ev_loop_destroy(loop);
	bed_down(rc < 0 || VERBOSE);
	return rc < 0 ? 1 : 0;
}
