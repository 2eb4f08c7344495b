/*
 * scheduler_bench.c: how fast skiff-scheduler binds a burst, next to the
 * etcd work it cannot avoid. Against $ETCD_ENDPOINT (make bench starts a
 * throwaway etcd):
 *
 *   1. writes 1,000 Ready nodes and 10,000 unbound pods under /bench-sched;
 *   2. starts build/bin/skiff-scheduler (--leader-elect=false) and times
 *      from its start until a watch on P/bindings/ has seen every pod
 *      bound; checks that each pod has exactly one binding;
 *   3. baseline: 10,000 create-if-absent transactions of binding-sized
 *      values by the library alone, with as many in flight as the
 *      scheduler allows (256).
 *
 * Then all of it again on 100 nodes, so that the cost per pod can be
 * compared across node counts. Per node count, prints
 * "scheduler 10000 pods/1000 nodes: skiff=… pods/s baseline=… txn/s
 * ratio=… peak_rss=… MB cpu_per_pod=… us" (the scheduler's VmHWM and its
 * user+system CPU divided by the pods) and a line of raw times. Exit 1 on
 * any failure. Options: -n NODES (1000) -m SMALL_NODES (100; 0: skip)
 * -p PODS -c INFLIGHT -b BIN.
 */
#include <errno.h>
#include <ev.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "etcd.h"
#include "proc_mem.h"

#define PFX "/bench-sched"

static struct ev_loop *loop;
static struct etcd_client *client;
static int nodes = 1000, pods = 10000, conc = 256, failed;
static const char *bin = "build/bin/skiff-scheduler";

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- a pipelined writer: items 0..n-1, conc in flight ---- */

struct writer {
	int n, next, done, inflight, errors;
	int64_t lease;
	void (*make)(int i, char *key, size_t klen, char *val, size_t vlen);
	int txn; /* create-if-absent txn instead of put */
};

static void write_more(struct writer *w);

static void
write_cb(struct etcd_result *res, void *arg)
{
	struct writer *w = arg;

	w->inflight--;
	w->done++;
	if (res->err.code != ETCD_OK || (res->op == ETCD_OP_TXN && !res->succeeded)) {
		if (w->errors++ < 5)
			fprintf(stderr, "scheduler-bench: write failed: %s\n",
			        res->err.code ? res->err.msg : "compare failed");
	}
	write_more(w);
	if (w->done == w->n)
		ev_break(loop, EVBREAK_ALL);
}

static void
write_more(struct writer *w)
{
	char key[256], val[2048];
	struct etcd_error err;

	while (w->inflight < conc && w->next < w->n) {
		int i = w->next++;
		int rc;

		w->make(i, key, sizeof(key), val, sizeof(val));
		w->inflight++;
		if (w->txn) {
			struct etcd_txn *t = etcd_txn_new();

			etcd_txn_cmp(t, key, ETCD_CMP_CREATE, ETCD_CMP_EQUAL, 0);
			etcd_txn_put(t, ETCD_TXN_SUCCESS, key, val, strlen(val), 0);
			rc = etcd_txn_commit(client, t, write_cb, w, &err);
		} else {
			struct etcd_put_opts o = {.lease = w->lease};

			rc = etcd_put(client, key, val, strlen(val), &o, write_cb, w, &err);
		}
		if (rc < 0) {
			fprintf(stderr, "scheduler-bench: %s\n", err.msg);
			exit(1);
		}
	}
}

static int
write_all(int n, void (*make)(int, char *, size_t, char *, size_t), int txn, int64_t lease)
{
	struct writer w = {.n = n, .make = make, .txn = txn, .lease = lease};

	write_more(&w);
	if (w.done < w.n)
		ev_run(loop, 0);
	return w.errors;
}

static void
make_node(int i, char *k, size_t kl, char *v, size_t vl)
{
	snprintf(k, kl, PFX "/nodes/n%04d", i);
	snprintf(v, vl,
	         "{\"metadata\":{\"name\":\"n%04d\",\"labels\":{\"zone\":\"z%d\"}},\"status\":{\"capacity\":"
	         "{\"cpu\":\"64\",\"memory\":\"256Gi\",\"pods\":\"110\"}}}",
	         i, i % 4);
}

static void
make_lease(int i, char *k, size_t kl, char *v, size_t vl)
{
	snprintf(k, kl, PFX "/nodeleases/n%04d", i);
	snprintf(v, vl, "{\"metadata\":{\"name\":\"n%04d\"}}", i);
}

static void
make_pod(int i, char *k, size_t kl, char *v, size_t vl)
{
	snprintf(k, kl, PFX "/pods/web-%05d", i);
	snprintf(
		v, vl,
		"{\"metadata\":{\"name\":\"web-%05d\",\"labels\":{\"app\":\"web%d\"},\"ownerReferences\":"
		"[{\"kind\":\"ReplicationController\",\"name\":\"web%d\",\"uid\":\"1\",\"controller\":true}]},"
		"\"spec\":{\"containers\":[{\"name\":\"web\",\"image\":\"httpd:2.4\",\"ports\":[{\"containerPort\":80}],"
		"\"resources\":{\"requests\":{\"cpu\":\"100m\",\"memory\":\"64Mi\"}}}]}}",
		i, i % 50, i % 50);
}

/* Same size and shape of work as a binding. */
static void
make_base(int i, char *k, size_t kl, char *v, size_t vl)
{
	char pod[1024], pk[256];

	make_pod(i, pk, sizeof(pk), pod, sizeof(pod));
	snprintf(k, kl, "/bench-base/bindings/n%04d/web-%05d", i % nodes, i);
	snprintf(v, vl, "{\"node\":\"n%04d\",\"pod\":%s}", i % nodes, pod);
}

/* ---- waiting for the bindings ---- */

static int bound;
static int64_t last_rev;

static void
bind_watch(struct etcd_watch *w, const struct etcd_watch_msg *m, void *arg)
{
	(void)w;
	(void)arg;
	if (m->kind == ETCD_WATCH_ERROR) {
		fprintf(stderr, "scheduler-bench: watch: %s\n", m->err ? m->err->msg : "?");
		failed = 1;
		ev_break(loop, EVBREAK_ALL);
		return;
	}
	for (size_t i = 0; i < m->nevents; i++)
		if (m->events[i].type == ETCD_EVENT_PUT && m->events[i].kv.version == 1)
			bound++;
	if (bound >= pods)
		ev_break(loop, EVBREAK_ALL);
}

static void
timeout_cb(struct ev_loop *l, ev_timer *t, int revents)
{
	(void)t;
	(void)revents;
	fprintf(stderr, "scheduler-bench: only %d of %d pods bound in time\n", bound, pods);
	failed = 1;
	ev_break(l, EVBREAK_ALL);
}

static long
peak_rss_kb(pid_t pid)
{
	char path[64], line[256];
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if (!(f = fopen(path, "r")))
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmHWM: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

static pid_t
start_scheduler(const char *ep)
{
	char epf[512], cf[64];
	pid_t parent = getpid(), pid;

	snprintf(epf, sizeof(epf), "--etcd-endpoints=%s", ep);
	snprintf(cf, sizeof(cf), "--max-binds-in-flight=%d", conc);
	if ((pid = fork()) < 0)
		return -1;
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(1);
		if (!getenv("BENCH_VERBOSE") && !freopen("/dev/null", "w", stderr))
			_exit(126);
		execl(bin, "skiff-scheduler", epf, "--prefix=" PFX, "--leader-elect=false",
		      getenv("BENCH_VERBOSE") ? "--log-level=info" : "--log-level=warn", cf, (char *)NULL);
		_exit(127);
	}
	return pid;
}

static void
range_cb(struct etcd_result *res, void *arg)
{
	int64_t *out = arg;

	*out = res->err.code == ETCD_OK ? res->count : -1;
	if (res->revision > last_rev)
		last_rev = res->revision;
	ev_break(loop, EVBREAK_ALL);
}

static int64_t
count(const char *prefix)
{
	struct etcd_range_opts o = {.prefix = 1, .count_only = 1};
	struct etcd_error err;
	int64_t n = -1;

	if (etcd_range(client, prefix, &o, range_cb, &n, &err) < 0)
		return -1;
	ev_run(loop, 0);
	return n;
}

static void
grant_cb(struct etcd_result *res, void *arg)
{
	int64_t *id = arg;

	*id = res->err.code == ETCD_OK ? res->lease_id : -1;
	ev_break(loop, EVBREAK_ALL);
}

static void
delete_prefix(const char *prefix)
{
	struct etcd_delete_opts o = {.prefix = 1};
	struct etcd_error err;
	int64_t n;

	if (etcd_delete(client, prefix, &o, range_cb, &n, &err) == 0)
		ev_run(loop, 0);
}

/* Leave etcd as the case found it (the next case's baseline runs on it):
 * keys and the nodes' lease gone, history compacted. */
static void
tidy(int64_t lease)
{
	struct etcd_error err;
	int64_t n;

	delete_prefix(PFX "/");
	delete_prefix("/bench-base/");
	if (etcd_lease_revoke(client, lease, range_cb, &n, &err) == 0)
		ev_run(loop, 0);
	if (etcd_compact(client, last_rev, 1, range_cb, &n, &err) == 0)
		ev_run(loop, 0);
}

/* One burst on n nodes: the scheduler, then the baseline. 0, or 1 on failure. */
static int
run_case(const char *ep, int n)
{
	struct etcd_watch_opts wo = {.prefix = 1};
	struct etcd_error err;
	struct etcd_watch *w;
	ev_timer limit;
	double t0, t_sched, t_base, cpu;
	int64_t lease = -1, nb;
	long rss;
	pid_t pid;
	int st;

	nodes = n;
	bound = 0;
	failed = 0;
	delete_prefix(PFX "/");
	delete_prefix("/bench-base/");
	/* 1. the cluster and the burst */
	if (etcd_lease_grant(client, 600, 0, grant_cb, &lease, &err) < 0)
		return 1;
	ev_run(loop, 0);
	if (lease <= 0 || write_all(nodes, make_node, 0, 0) || write_all(nodes, make_lease, 0, lease) ||
	    write_all(pods, make_pod, 0, 0)) {
		fprintf(stderr, "scheduler-bench: setting up failed\n");
		return 1;
	}
	/* 2. the scheduler, from its start to the last binding */
	if (count(PFX "/pods/") != pods) {
		fprintf(stderr, "scheduler-bench: the pods were not all written\n");
		return 1;
	}
	wo.start_revision = last_rev + 1;
	if (!(w = etcd_watch_start(client, PFX "/bindings/", &wo, bind_watch, NULL, &err))) {
		fprintf(stderr, "scheduler-bench: watch: %s\n", err.msg);
		return 1;
	}
	t0 = now();
	if ((pid = start_scheduler(ep)) < 0) {
		fprintf(stderr, "scheduler-bench: fork: %s\n", strerror(errno));
		return 1;
	}
	ev_timer_init(&limit, timeout_cb, 300, 0);
	ev_timer_start(loop, &limit);
	ev_run(loop, 0);
	t_sched = now() - t0;
	ev_timer_stop(loop, &limit);
	etcd_watch_cancel(w);
	rss = peak_rss_kb(pid);
	cpu = proc_cpu_seconds(pid);
	kill(pid, SIGTERM);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	nb = count(PFX "/bindings/");
	if (nb != pods) {
		fprintf(stderr, "scheduler-bench: %lld bindings for %d pods\n", (long long)nb, pods);
		failed = 1;
	}
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		fprintf(stderr, "scheduler-bench: the scheduler did not exit 0 on SIGTERM\n");
		failed = 1;
	}
	/* 3. the baseline: the same number of guarded creates */
	t0 = now();
	if (write_all(pods, make_base, 1, 0))
		failed = 1;
	t_base = now() - t0;
	printf("scheduler %d pods/%d nodes: skiff=%.0f pods/s baseline=%.0f txn/s ratio=%.2f peak_rss=%.1f MB "
	       "cpu_per_pod=%.0f us\n",
	       pods, nodes, pods / t_sched, pods / t_base, (pods / t_sched) / (pods / t_base), rss / 1024.0,
	       cpu * 1e6 / pods);
	printf("scheduler %d nodes: cpu %.2f s, %.1f s to bind all, baseline %.1f s\n", nodes, cpu, t_sched, t_base);
	fflush(stdout);
	tidy(lease);
	return failed;
}

int
main(int argc, char **argv)
{
	const char *ep = getenv("ETCD_ENDPOINT");
	struct etcd_config cfg = {0};
	struct etcd_error err;
	int c, small = 100, rc;

	while ((c = getopt(argc, argv, "n:m:p:c:b:v")) != -1)
		switch (c) {
		case 'n': nodes = atoi(optarg); break;
		case 'm': small = atoi(optarg); break;
		case 'p': pods = atoi(optarg); break;
		case 'c': conc = atoi(optarg); break;
		case 'b': bin = optarg; break;
		case 'v': setenv("BENCH_VERBOSE", "1", 1); break;
		default:
			fprintf(stderr, "usage: scheduler_bench [-n nodes] [-m small-nodes] [-p pods] [-c inflight] "
			                "[-b bin] [-v]\n");
			return 2;
		}
	if (!ep || nodes < 1 || small < 0 || pods < 1 || conc < 1) {
		fprintf(stderr, "scheduler-bench: set ETCD_ENDPOINT\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	loop = ev_default_loop(0);
	cfg.endpoints = ep;
	cfg.request_timeout_ms = 30000;
	if (!(client = etcd_client_new(loop, &cfg, &err))) {
		fprintf(stderr, "scheduler-bench: %s\n", err.msg);
		return 1;
	}
	c = nodes;
	rc = run_case(ep, c);
	if (small > 0 && small != c)
		rc |= run_case(ep, small);
	etcd_client_free(client);
	return rc;
}
