/*
 * replication_bench.c: how fast skiff-replication-controller fills a
 * controller of 10,000 replicas, and how soon it reacts to a new one, on
 * the etcd of scripts/run-bench.sh ($ETCD_ENDPOINT).
 *
 * Baselines, in the same run and on the same etcd, by the library alone:
 * 10,000 single create-if-absent transactions, 64 in flight; and the same
 * 10,000 creates the way the controller sends them (rc_batch.c: nested
 * create-if-absent txns, 64 to a transaction, 512 creates in flight).
 *
 * The controller runs as a child (build/bin/skiff-replication-controller,
 * --leader-elect=false, --prefix=/bench-rc), killed on every way out of
 * this program (exit, a fatal signal, this program being killed). A
 * warm-up controller of one replica shows that its caches are ready. One
 * watch on /bench-rc/ sees everything:
 *  - reaction: 100 times, a put of a new controller of one replica through
 *    the library (etcd_put, not the etcdctl binary), timed until the watch
 *    delivers that controller's first pod; each try is preceded by a put of
 *    a probe key under /bench-rc/probe/, timed until the same watch
 *    delivers it: etcd's own put-to-watch latency, measured alike.
 *  - fill: from the put of the controller "big" (10,000 replicas) until the
 *    watch has seen its 10,000th pod.
 * Then 3 rounds (ABBA) of: the fill with a fresh controller (the reaction
 * only in the first), the library's batched creates, and the same with the
 * controller's five watches and the bench's own watch open, timed like the
 * fill. Prefixes are deleted afterwards. Output (stdout):
 *   replication 10000 pods: skiff=N pods/s baseline=N txn/s ratio=R
 *   replication 10000 pods batched: skiff=N pods/s library=N pods/s ratio=R (LO-HI over 3 rounds)
 *   replication 10000 pods batched with its watches: (the same)
 *   replication reaction: p50=N ms p99=N ms (etcd watch latency p50=N ms p99=N ms)
 * With -v, on stderr: the controller's own log (level info: one line per
 * pass), when the fill saw its 1st, 100th, 1000th, 5000th and last pod,
 * the controller's CPU time, and the reaction's min and max.
 */
#include <ev.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_stats.h"
#include "controllers/replication/rc.h"
#include "etcd.h"

#define N_PODS 10000
#define INFLIGHT 64
#define TRIES 100
#define BATCH RC_TXN_CREATES
#define BATCH_INFLIGHT (RC_WINDOW_MAX / RC_TXN_CREATES)

static struct ev_loop *L;
static struct etcd_client *C;
static int errors, done_calls, verbose;
static volatile pid_t child;              /* the controller, 0 when none runs */
static double react[TRIES], probe[TRIES]; /* ms */

/* What the watch on /bench-rc/ has seen. */
static struct {
	int pods;         /* first versions of keys under /bench-rc/pods/ */
	const char *want; /* a key prefix waited for, or NULL */
	int seen;         /* a key with that prefix came ... */
	double t_want;    /* ... at this time */
	int mark[5];      /* fill: pod counts worth a time stamp (-v) */
	double t_mark[5];
	int created; /* watches of this program that etcd confirmed */
} W;

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- the controller process ---- */

static void
kill_child(void)
{
	pid_t pid = child;

	if (pid > 0) {
		child = 0;
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
}

static void
on_signal(int sig)
{
	if (child > 0)
		kill(child, SIGKILL);
	signal(sig, SIG_DFL);
	raise(sig);
}

static void
start_controller(const char *endpoint)
{
	char ep[512];
	char *argv[] = {"skiff-replication-controller",
	                ep,
	                "--prefix=/bench-rc",
	                "--leader-elect=false",
	                verbose ? "--log-level=info" : "--log-level=warn",
	                "--workers=8",
	                NULL};
	pid_t parent = getpid(), pid;

	snprintf(ep, sizeof(ep), "--etcd-endpoints=%s", endpoint);
	if ((pid = fork()) < 0) {
		perror("replication_bench: fork");
		exit(1);
	}
	if (pid == 0) {
		/* Die with this program, even when it is killed. */
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
			_exit(1);
		execv("build/bin/skiff-replication-controller", argv);
		perror("replication_bench: exec build/bin/skiff-replication-controller");
		_exit(127);
	}
	child = pid;
}

/* SIGTERM, then SIGKILL after 10 s. CPU seconds it used, or -1. */
static double
stop_controller(void)
{
	struct rusage ru;
	pid_t pid = child;
	double end = now() + 10;
	int st;

	kill(pid, SIGTERM);
	while (wait4(pid, &st, WNOHANG, &ru) == 0) {
		if (now() > end) {
			kill_child();
			return -1;
		}
		usleep(10000);
	}
	child = 0;
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* ---- the loop, calls and the watch ---- */

/* The bench's own watch: arg is the prefix of the pods it counts. */
static void
watch_cb(struct etcd_watch *w, const struct etcd_watch_msg *m, void *arg)
{
	const char *pods = arg;
	size_t plen = strlen(pods);

	(void)w;
	if (m->kind == ETCD_WATCH_CREATED)
		W.created++;
	if (m->kind != ETCD_WATCH_EVENTS)
		return;
	for (size_t i = 0; i < m->nevents; i++) {
		const struct etcd_kv *kv = &m->events[i].kv;

		if (m->events[i].type != ETCD_EVENT_PUT)
			continue;
		if (W.want && !W.seen && strncmp(kv->key, W.want, strlen(W.want)) == 0) {
			W.seen = 1;
			W.t_want = now();
		}
		if (kv->version != 1 || strncmp(kv->key, pods, plen) != 0)
			continue;
		W.pods++;
		for (int k = 0; k < 5; k++)
			if (W.pods == W.mark[k])
				W.t_mark[k] = now();
	}
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

static void
wake_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)loop;
	(void)t;
	(void)revents;
}

/* Run the loop until *v >= n or timeout seconds pass (a timer wakes the
 * loop even when nothing else happens). 0 or -1. */
static int
run_until(int *v, int n, double timeout)
{
	double end = now() + timeout;
	ev_timer wake;

	ev_timer_init(&wake, wake_cb, timeout, 0.0);
	ev_timer_start(L, &wake);
	while (*v < n && now() < end && errors == 0)
		ev_run(L, EVRUN_ONCE);
	ev_timer_stop(L, &wake);
	return *v >= n ? 0 : -1;
}

/* Run the loop for s seconds. */
static void
run_for(double s)
{
	int never = 0;

	run_until(&never, 1, s);
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

/* Put key=val and run the loop until the watch delivers a key starting
 * with want. Seconds from the put, or -1 after 10 s. */
static double
put_and_see(const char *key, const char *val, const char *want)
{
	double t0;

	W.want = want;
	W.seen = 0;
	t0 = now();
	put(key, val);
	run_until(&W.seen, 1, 10);
	W.want = NULL;
	return W.seen ? W.t_want - t0 : -1;
}

/* ---- the controller: reaction and fill ---- */

static void
bench_reaction(void)
{
	char key[128], want[128], name[32], json[1024];

	for (int i = 0; i < TRIES; i++) {
		snprintf(key, sizeof(key), "/bench-rc/probe/k%03d", i);
		probe[i] = put_and_see(key, "probe", key) * 1e3;
		snprintf(name, sizeof(name), "r%03d", i);
		snprintf(key, sizeof(key), "/bench-rc/controllers/%s", name);
		snprintf(want, sizeof(want), "/bench-rc/pods/%s-", name);
		react[i] = put_and_see(key, controller(name, 1, json, sizeof(json)), want) * 1e3;
		if (react[i] < 0 || probe[i] < 0) {
			fprintf(stderr, "replication_bench: try %d: no pod or probe within 10 s\n", i);
			exit(1);
		}
		run_for(0.02); /* let the controller write its status */
	}
}

static double
bench_fill(void)
{
	static const int marks[5] = {1, 100, 1000, 5000, N_PODS};
	char json[1024];
	int base = W.pods;
	double t0, t;

	for (int k = 0; k < 5; k++)
		W.mark[k] = base + marks[k];
	t0 = now();
	put("/bench-rc/controllers/big", controller("big", N_PODS, json, sizeof(json)));
	if (run_until(&W.pods, base + N_PODS, 300) < 0) {
		fprintf(stderr, "replication_bench: only %d of %d pods after 300 s\n", W.pods - base, N_PODS);
		exit(1);
	}
	t = now() - t0;
	if (verbose)
		for (int k = 0; k < 5; k++)
			fprintf(stderr, "# fill: pod %d seen at %.0f ms\n", marks[k], (W.t_mark[k] - t0) * 1e3);
	return N_PODS / t;
}

static void
print_reaction(void)
{
	bench_sort(react, TRIES);
	bench_sort(probe, TRIES);
	printf("replication reaction: p50=%.1f ms p99=%.1f ms (etcd watch latency p50=%.1f ms p99=%.1f ms)\n",
	       bench_percentile(react, TRIES, 50), bench_percentile(react, TRIES, 99),
	       bench_percentile(probe, TRIES, 50), bench_percentile(probe, TRIES, 99));
	if (verbose)
		fprintf(stderr, "# reaction: %d tries, min=%.1f ms max=%.1f ms; watch min=%.1f ms max=%.1f ms\n", TRIES,
		        react[0], react[TRIES - 1], probe[0], probe[TRIES - 1]);
}

/* Reaction (when asked), then fill, with the controller running. Fill
 * rate (pods/s). */
static double
bench_skiff(const char *endpoint, int reaction)
{
	struct etcd_watch_opts wo = {.prefix = 1};
	struct etcd_error err = {0};
	struct etcd_watch *w;
	double rate, cpu;
	char json[1024];

	del_prefix("/bench-rc/");
	if (!(w = etcd_watch_start(C, "/bench-rc/", &wo, watch_cb, (void *)"/bench-rc/pods/", &err))) {
		fprintf(stderr, "replication_bench: watch: %s\n", err.msg);
		exit(1);
	}
	start_controller(endpoint);
	put("/bench-rc/controllers/warm", controller("warm", 1, json, sizeof(json)));
	if (run_until(&W.pods, 1, 30) < 0) {
		fprintf(stderr, "replication_bench: the controller did not start\n");
		exit(1);
	}
	if (reaction)
		bench_reaction();
	rate = bench_fill();
	etcd_watch_cancel(w);
	cpu = stop_controller();
	if (verbose)
		fprintf(stderr, "# controller CPU: %.2f s over reaction and fill\n", cpu);
	del_prefix("/bench-rc/");
	return rate;
}

/* ---- the library alone ---- */

static int sent;

static void one_cb(struct etcd_result *res, void *arg);
static void batch_cb(struct etcd_result *res, void *arg);

static const char *
pod_json(int i, char *buf, size_t len)
{
	snprintf(buf, len,
	         "{\"metadata\":{\"name\":\"big-%05d\",\"labels\":{\"app\":\"big\"}},"
	         "\"spec\":{\"containers\":[{\"name\":\"web\",\"image\":\"httpd:2.4\"}]}}",
	         i);
	return buf;
}

/* One txn: a create-if-absent of the next pod (batch 0), or the next
 * batch pods as nested create-if-absent txns. */
static void
send_next(int batch)
{
	char key[64], val[256];
	struct etcd_txn *t = etcd_txn_new();
	struct etcd_error err = {0};
	int n = batch ? batch : 1;

	for (int i = 0; i < n && sent < N_PODS; i++, sent++) {
		snprintf(key, sizeof(key), "/bench-rc-base/pods/big-%05d", sent);
		pod_json(sent, val, sizeof(val));
		if (batch) {
			rc_batch_add(t, key, val);
			continue;
		}
		etcd_txn_cmp(t, key, ETCD_CMP_CREATE, ETCD_CMP_EQUAL, 0);
		etcd_txn_put(t, ETCD_TXN_SUCCESS, key, val, strlen(val), 0);
	}
	if (etcd_txn_commit(C, t, batch ? batch_cb : one_cb, NULL, &err) < 0) {
		fprintf(stderr, "replication_bench: txn: %s\n", err.msg);
		errors++;
	}
}

static void
one_cb(struct etcd_result *res, void *arg)
{
	call_cb(res, arg);
	if (sent < N_PODS)
		send_next(0);
}

static void
batch_cb(struct etcd_result *res, void *arg)
{
	call_cb(res, arg);
	if (sent < N_PODS)
		send_next(BATCH);
}

/* 10,000 creates, inflight txns of batch creates each (0: single
 * creates). Creates per second. */
static double
bench_library(int batch, int inflight)
{
	int calls = batch ? (N_PODS + batch - 1) / batch : N_PODS;
	double t0, t;
	int target;

	del_prefix("/bench-rc-base/");
	sent = 0;
	target = done_calls + calls;
	t0 = now();
	for (int i = 0; i < inflight && sent < N_PODS; i++)
		send_next(batch);
	if (run_until(&done_calls, target, 300) < 0) {
		fprintf(stderr, "replication_bench: the library baseline did not finish\n");
		exit(1);
	}
	t = now() - t0;
	del_prefix("/bench-rc-base/");
	return N_PODS / t;
}

/* What skiff-replication-controller watches (controllers/replication/
 * main.c), here under the library's prefix. */
static const char *const rc_dirs[] = {"controllerstatus", "podstatus", "bindings", "pods", "controllers"};
#define NDIRS (sizeof(rc_dirs) / sizeof(rc_dirs[0]))

static void
drain_cb(struct etcd_watch *w, const struct etcd_watch_msg *m, void *arg)
{
	(void)w;
	(void)arg;
	if (m->kind == ETCD_WATCH_CREATED)
		W.created++;
}

/* The batched creates with what etcd also does for the controller during
 * a fill: its five watches held open, and the bench's own watch, which
 * times the fill as it times the controller's (until it has seen every
 * pod). Creates per second. */
static double
bench_library_watched(void)
{
	struct etcd_watch_opts wo = {.prefix = 1};
	struct etcd_watch *w[NDIRS + 1] = {0};
	struct etcd_error err = {0};
	char p[64];
	int base, calls;
	double t0, t;

	del_prefix("/bench-rc-base/");
	W.created = 0;
	for (size_t i = 0; i <= NDIRS; i++) {
		if (i < NDIRS)
			snprintf(p, sizeof(p), "/bench-rc-base/%s/", rc_dirs[i]);
		w[i] = i < NDIRS ? etcd_watch_start(C, p, &wo, drain_cb, NULL, &err)
		                 : etcd_watch_start(C, "/bench-rc-base/", &wo, watch_cb, (void *)"/bench-rc-base/pods/",
		                                    &err);
		if (!w[i]) {
			fprintf(stderr, "replication_bench: watch: %s\n", err.msg);
			exit(1);
		}
	}
	if (run_until(&W.created, (int)NDIRS + 1, 10) < 0) {
		fprintf(stderr, "replication_bench: the library's watches did not start\n");
		exit(1);
	}
	base = W.pods;
	calls = done_calls + (N_PODS + BATCH - 1) / BATCH;
	sent = 0;
	t0 = now();
	for (int i = 0; i < BATCH_INFLIGHT && sent < N_PODS; i++)
		send_next(BATCH);
	if (run_until(&W.pods, base + N_PODS, 300) < 0) {
		fprintf(stderr, "replication_bench: the library's watch saw %d of %d pods\n", W.pods - base, N_PODS);
		exit(1);
	}
	t = now() - t0;
	if (run_until(&done_calls, calls, 30) < 0) { /* the answers may come after the events */
		fprintf(stderr, "replication_bench: the library's transactions did not all answer\n");
		exit(1);
	}
	for (size_t i = 0; i <= NDIRS; i++)
		etcd_watch_cancel(w[i]);
	del_prefix("/bench-rc-base/");
	return N_PODS / t;
}

#define ROUNDS 3

/* The three sides of a round: the controller, the batched creates, the
 * same with the controller's watches. */
enum side { SKIFF, BATCHED, WATCHED, NSIDES };

/* Round r: the sides in turn, the order reversed every other round. */
static void
run_round(const char *endpoint, int r, double rate[NSIDES])
{
	for (int j = 0; j < NSIDES; j++) {
		enum side s = (enum side)(r % 2 == 0 ? j : NSIDES - 1 - j);

		if (s == SKIFF)
			rate[s] = bench_skiff(endpoint, r == 0);
		else if (s == BATCHED)
			rate[s] = bench_library(BATCH, BATCH_INFLIGHT);
		else
			rate[s] = bench_library_watched();
	}
	if (verbose)
		fprintf(stderr, "# round %d: skiff %.0f pods/s, batched %.0f, with its watches %.0f\n", r + 1,
		        rate[SKIFF], rate[BATCHED], rate[WATCHED]);
}

/* "replication 10000 pods WHAT: skiff=… library=… ratio=MEDIAN (LO-HI)" */
static void
print_ratio(const char *what, double rate[][NSIDES], enum side s)
{
	double sk[ROUNDS], lib[ROUNDS], q[ROUNDS], lo, hi;

	for (int r = 0; r < ROUNDS; r++)
		sk[r] = rate[r][SKIFF], lib[r] = rate[r][s], q[r] = sk[r] / lib[r];
	bench_range(q, ROUNDS, &lo, &hi);
	printf("replication %d pods %s: skiff=%.0f pods/s library=%.0f pods/s ratio=%.2f (%.2f-%.2f over %d rounds)\n",
	       N_PODS, what, bench_median(sk, ROUNDS), bench_median(lib, ROUNDS), bench_median(q, ROUNDS), lo, hi,
	       ROUNDS);
}

int
main(int argc, char **argv)
{
	const char *endpoint = getenv("ETCD_ENDPOINT");
	struct etcd_config cfg = {0};
	struct etcd_error err = {0};
	double rate[ROUNDS][NSIDES], sk[ROUNDS], base;

	verbose = argc > 1 && strcmp(argv[1], "-v") == 0;
	if (!endpoint) {
		fprintf(stderr, "replication_bench: set ETCD_ENDPOINT (make bench does)\n");
		return 2;
	}
	atexit(kill_child);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);
	L = ev_default_loop(0);
	cfg.endpoints = endpoint;
	if (!(C = etcd_client_new(L, &cfg, &err))) {
		fprintf(stderr, "replication_bench: %s\n", err.msg);
		return 1;
	}
	base = bench_library(0, INFLIGHT);
	for (int r = 0; r < ROUNDS; r++) {
		run_round(endpoint, r, rate[r]);
		sk[r] = rate[r][SKIFF];
	}
	printf("replication %d pods: skiff=%.0f pods/s baseline=%.0f txn/s ratio=%.2f\n", N_PODS,
	       bench_median(sk, ROUNDS), base, bench_median(sk, ROUNDS) / base);
	print_ratio("batched", rate, BATCHED);
	print_ratio("batched with its watches", rate, WATCHED);
	print_reaction();
	etcd_client_free(C);
	return errors ? 1 : 0;
}
