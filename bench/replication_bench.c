/*
 * replication_bench.c: how fast skiff-replication-controller fills a
 * controller of 10,000 replicas, next to the library alone sending 10,000
 * create-if-absent transactions (64 in flight) to the same etcd.
 *
 * The controller runs as a child (build/bin/skiff-replication-controller,
 * --leader-elect=false) under its own prefix; a warm-up controller of one
 * replica shows that its caches are ready. Time runs from the put of the
 * controller key to the watch seeing the 10,000th pod. Prefixes are
 * deleted afterwards. Output (stdout):
 *   replication 10000 pods: skiff=N pods/s baseline=N txn/s ratio=R
 * Needs $ETCD_ENDPOINT (scripts/run-bench.sh sets it).
 */
#include <ev.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "etcd.h"

#define N_PODS 10000
#define INFLIGHT 64

extern char **environ;

static struct ev_loop *L;
static struct etcd_client *C;
static int created, errors, done_calls;

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
count_cb(struct etcd_watch *w, const struct etcd_watch_msg *m, void *arg)
{
	(void)w;
	(void)arg;
	if (m->kind == ETCD_WATCH_EVENTS)
		for (size_t i = 0; i < m->nevents; i++)
			if (m->events[i].type == ETCD_EVENT_PUT && m->events[i].kv.version == 1)
				created++;
}

static void
call_cb(struct etcd_result *res, void *arg)
{
	(void)arg;
	if (res->err.code != ETCD_OK) {
		fprintf(stderr, "replication_bench: %s\n", res->err.msg);
		errors++;
	}
	done_calls++;
}

/* Run the loop until *v >= n or timeout seconds pass. 0 or -1. */
static int
run_until(int *v, int n, double timeout)
{
	double end = now() + timeout;

	while (*v < n && now() < end && errors == 0)
		ev_run(L, EVRUN_ONCE);
	return *v >= n ? 0 : -1;
}

static void
put(const char *key, const char *val)
{
	struct etcd_error err = {0};
	int target = done_calls + 1;

	if (etcd_put(C, key, val, strlen(val), NULL, call_cb, NULL, &err) < 0 ||
	    run_until(&done_calls, target, 10) < 0) {
		fprintf(stderr, "replication_bench: put %s failed %s\n", key, err.msg);
		exit(1);
	}
}

static void
del_prefix(const char *p)
{
	struct etcd_delete_opts o = {.prefix = 1};
	struct etcd_error err = {0};
	int target = done_calls + 1;

	if (etcd_delete(C, p, &o, call_cb, NULL, &err) == 0)
		run_until(&done_calls, target, 30);
}

static const char *
controller(const char *name, int replicas, char *buf, size_t len)
{
	snprintf(buf, len,
	         "{\"metadata\":{\"name\":\"%s\"},\"spec\":{\"replicas\":%d,\"selector\":{\"app\":\"%s\"},"
	         "\"template\":{\"metadata\":{\"labels\":{\"app\":\"%s\"}},"
	         "\"spec\":{\"containers\":[{\"name\":\"web\",\"image\":\"httpd:2.4\"}]}}}}",
	         name, replicas, name, name);
	return buf;
}

static double
bench_skiff(const char *endpoint)
{
	char ep[512], json[1024], key[128];
	char *argv[] = {"skiff-replication-controller",
	                ep,
	                "--prefix=/bench-rc",
	                "--leader-elect=false",
	                "--log-level=warn",
	                "--workers=8",
	                NULL};
	struct etcd_watch_opts wo = {.prefix = 1};
	struct etcd_error err = {0};
	struct etcd_watch *w;
	double t0, t;
	pid_t pid;
	int st;

	del_prefix("/bench-rc/");
	snprintf(ep, sizeof(ep), "--etcd-endpoints=%s", endpoint);
	if (!(w = etcd_watch_start(C, "/bench-rc/pods/", &wo, count_cb, NULL, &err))) {
		fprintf(stderr, "replication_bench: watch: %s\n", err.msg);
		exit(1);
	}
	if (posix_spawn(&pid, "build/bin/skiff-replication-controller", NULL, NULL, argv, environ) != 0) {
		perror("replication_bench: spawn build/bin/skiff-replication-controller");
		exit(1);
	}
	put("/bench-rc/controllers/warm", controller("warm", 1, json, sizeof(json)));
	if (run_until(&created, 1, 30) < 0) {
		fprintf(stderr, "replication_bench: the controller did not start\n");
		kill(pid, SIGKILL);
		exit(1);
	}
	snprintf(key, sizeof(key), "/bench-rc/controllers/big");
	t0 = now();
	put(key, controller("big", N_PODS, json, sizeof(json)));
	if (run_until(&created, N_PODS + 1, 300) < 0) {
		fprintf(stderr, "replication_bench: only %d of %d pods after 300 s\n", created - 1, N_PODS);
		kill(pid, SIGKILL);
		exit(1);
	}
	t = now() - t0;
	etcd_watch_cancel(w);
	kill(pid, SIGTERM);
	waitpid(pid, &st, 0);
	del_prefix("/bench-rc/");
	return N_PODS / t;
}

static int sent;

static void txn_cb(struct etcd_result *res, void *arg);

static void
send_one(void)
{
	char key[64], val[256];
	struct etcd_txn *t = etcd_txn_new();
	struct etcd_error err = {0};

	snprintf(key, sizeof(key), "/bench-rc-base/pods/big-%05d", sent++);
	snprintf(val, sizeof(val),
	         "{\"metadata\":{\"name\":\"big-%05d\",\"labels\":{\"app\":\"big\"}},"
	         "\"spec\":{\"containers\":[{\"name\":\"web\",\"image\":\"httpd:2.4\"}]}}",
	         sent);
	etcd_txn_cmp(t, key, ETCD_CMP_CREATE, ETCD_CMP_EQUAL, 0);
	etcd_txn_put(t, ETCD_TXN_SUCCESS, key, val, strlen(val), 0);
	if (etcd_txn_commit(C, t, txn_cb, NULL, &err) < 0) {
		fprintf(stderr, "replication_bench: txn: %s\n", err.msg);
		errors++;
	}
}

static void
txn_cb(struct etcd_result *res, void *arg)
{
	call_cb(res, arg);
	if (sent < N_PODS)
		send_one();
}

static double
bench_baseline(void)
{
	double t0, t;
	int target;

	del_prefix("/bench-rc-base/");
	target = done_calls + N_PODS;
	t0 = now();
	for (int i = 0; i < INFLIGHT; i++)
		send_one();
	if (run_until(&done_calls, target, 300) < 0) {
		fprintf(stderr, "replication_bench: baseline did not finish\n");
		exit(1);
	}
	t = now() - t0;
	del_prefix("/bench-rc-base/");
	return N_PODS / t;
}

int
main(void)
{
	const char *endpoint = getenv("ETCD_ENDPOINT");
	struct etcd_config cfg = {0};
	struct etcd_error err = {0};
	double skiff, base;

	if (!endpoint) {
		fprintf(stderr, "replication_bench: set ETCD_ENDPOINT (make bench does)\n");
		return 2;
	}
	L = ev_default_loop(0);
	cfg.endpoints = endpoint;
	if (!(C = etcd_client_new(L, &cfg, &err))) {
		fprintf(stderr, "replication_bench: %s\n", err.msg);
		return 1;
	}
	base = bench_baseline();
	skiff = bench_skiff(endpoint);
	printf("replication %d pods: skiff=%.0f pods/s baseline=%.0f txn/s ratio=%.2f\n", N_PODS, skiff, base,
	       skiff / base);
	etcd_client_free(C);
	return errors ? 1 : 0;
}
