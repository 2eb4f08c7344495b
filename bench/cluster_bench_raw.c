/*
 * cluster_bench_raw.c: the baseline of bench/cluster_bench: the containers
 * of a pod (the pause container, then the app container in its network,
 * with an init process, as the agent makes them) created and started
 * directly through a minion's Docker API. RAW_WORKERS threads per minion
 * (the agent's --workers), every minion at once; each request is one
 * synchronous libcurl call (curl_global_init must have run). A pod's time
 * runs from the moment its minion's pods are all asked for (as the
 * bindings of a new controller arrive together) to its app's start, so
 * it holds the wait for a free worker, as the agent's binding -> Running
 * does.
 */
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "docker_harness.h"
#include "e2e_bed.h"

#define RAW_WORKERS 4

struct raw_minion {
	int i, next, per;
	double t0; /* when this minion's pods were asked for */
	char net[64];
	double *lat; /* per pods, filled in order of index */
	pthread_mutex_t mu;
};

/* POST /containers/create?name=NAME with body and start it; ID or "". */
static void
create_start(int i, const char *name, json_t *body, char *id, size_t len)
{
	char path[256], *b = json_dumps(body, JSON_COMPACT), *resp = NULL;
	json_t *j;

	id[0] = '\0';
	snprintf(path, sizeof(path), "/containers/create?name=%s", name);
	if (dh_request_on(bed_docker(i), "POST", path, b, &resp) == 201 && (j = json_loads(resp, 0, NULL))) {
		snprintf(id, len, "%s", json_string_value(json_object_get(j, "Id")) ?: "");
		json_decref(j);
	}
	free(b);
	free(resp);
	snprintf(path, sizeof(path), "/containers/%s/start", id);
	if (id[0] && dh_request_on(bed_docker(i), "POST", path, NULL, NULL) != 204)
		id[0] = '\0';
}

/* The app container's command, from the manifest the cluster ran. */
static json_t *
app_command(void)
{
	json_t *c = json_load_file("manifests/test/controller.json", 0, NULL);
	json_t *ctr = json_array_get(
		json_object_get(json_object_get(json_object_get(json_object_get(c, "spec"), "template"), "spec"),
	                        "containers"),
		0);
	json_t *cmd = json_incref(json_object_get(ctr, "command"));

	json_decref(c);
	return cmd;
}

/* One pod: seconds from m->t0 to the app's start, or -1. */
static double
raw_pod(struct raw_minion *m, int k, json_t *cmd)
{
	char name[64], id[128], app[128], nm[160];
	json_t *b;

	snprintf(name, sizeof(name), "raw-m%d-%d", m->i, k);
	b = json_pack("{s:s, s:[s], s:s, s:{s:s}, s:{s:s}}", "Image", "skiff/pause:0.1", "Entrypoint", "/pause",
	              "Hostname", name, "Labels", "skiff-bench", "raw", "HostConfig", "NetworkMode", m->net);
	create_start(m->i, name, b, id, sizeof(id));
	json_decref(b);
	if (!id[0])
		return -1;
	snprintf(nm, sizeof(nm), "container:%s", id);
	snprintf(name, sizeof(name), "raw-m%d-%d-app", m->i, k);
	b = json_pack("{s:s, s:O, s:{s:s}, s:{s:s, s:b}}", "Image", "skiff/test-httpd:latest", "Entrypoint", cmd,
	              "Labels", "skiff-bench", "raw", "HostConfig", "NetworkMode", nm, "Init", 1);
	create_start(m->i, name, b, app, sizeof(app));
	json_decref(b);
	return app[0] ? bed_now() - m->t0 : -1;
}

static void *
raw_worker(void *arg)
{
	struct raw_minion *m = arg;
	json_t *cmd = app_command();

	for (;;) {
		int k;

		pthread_mutex_lock(&m->mu);
		k = m->next < m->per ? m->next++ : -1;
		pthread_mutex_unlock(&m->mu);
		if (k < 0)
			break;
		m->lat[k] = raw_pod(m, k, cmd);
	}
	json_decref(cmd);
	return NULL;
}

/* The network the agent runs pods on there: skiff0 when it exists. */
static void
pod_network(int i, char *net, size_t len)
{
	snprintf(net, len, "%s", dh_request_on(bed_docker(i), "GET", "/networks/skiff0", NULL, NULL) == 200 ? "skiff0" : "default");
}

int
raw_docker_starts(double *lat, int per_minion)
{
	struct raw_minion m[8];
	pthread_t th[8][RAW_WORKERS];
	int nm = bed_minions() < 8 ? bed_minions() : 8, n = 0;
	double *all = calloc((size_t)(nm * per_minion), sizeof(double));

	for (int i = 0; i < nm; i++) {
		m[i] = (struct raw_minion){.i = i + 1, .per = per_minion, .lat = all + i * per_minion};
		pthread_mutex_init(&m[i].mu, NULL);
		pod_network(i + 1, m[i].net, sizeof(m[i].net));
		m[i].t0 = bed_now();
		for (int w = 0; w < RAW_WORKERS; w++)
			pthread_create(&th[i][w], NULL, raw_worker, &m[i]);
	}
	for (int i = 0; i < nm; i++)
		for (int w = 0; w < RAW_WORKERS; w++)
			pthread_join(th[i][w], NULL);
	for (int k = 0; k < nm * per_minion; k++)
		if (all[k] >= 0)
			lat[n++] = all[k];
		else
			fprintf(stderr, "cluster: a raw pod failed to start\n");
	free(all);
	return n;
}
