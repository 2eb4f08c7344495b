/*
 * scheduler_bench.c: how fast skiff-scheduler binds a burst, next to the
 * etcd work it cannot avoid. Against $ETCD_ENDPOINT (make bench starts a
 * throwaway etcd):
 *
 *   1. writes 1,000 Ready nodes and 10,000 unbound pods under /bench-sched
 *      and reads back each pod's revisions;
 *   2. -r ROUNDS (3) rounds, the order alternating (ABBA), of:
 *      - the scheduler: its bindings deleted, build/bin/skiff-scheduler
 *        (--leader-elect=false) timed from its start until a watch on
 *        P/bindings/ has seen every pod bound; then exactly one binding
 *        per pod, and exit 0 on SIGTERM;
 *      - the batched ceiling: the library sending the transactions the
 *        scheduler sends for the same pods (batches of 32 nested guarded
 *        txns: the pod's mod revision, no binding yet; put the binding,
 *        else get it), with as many pods in flight as the scheduler allows
 *        (256), as fast as it can, timed like the scheduler: until a
 *        watch on its bindings has seen them all;
 *      - the same ceiling with the scheduler's reads first: the library
 *        lists the six prefixes the scheduler lists (all in flight at
 *        once), watches them from the list's revision to the end, then
 *        sends the same transactions; so etcd does for it all that it does
 *        for the scheduler, and the gap left is the scheduler's own;
 *   3. baseline: 10,000 single create-if-absent transactions of
 *      binding-sized values by the library alone, 256 in flight.
 *
 * Then all of it again on 100 nodes, so that the cost per pod can be
 * compared across node counts. Per node count, prints a line per round,
 * "scheduler 10000 pods/1000 nodes: skiff=… pods/s baseline=… txn/s
 * ratio=… peak_rss=… MB cpu_per_pod=… us" (medians over the rounds; the
 * scheduler's largest VmHWM; its user+system CPU divided by the pods) and
 * "scheduler 10000 pods/1000 nodes: skiff=… pods/s, batched library=…
 * pods/s, ratio=… (LO-HI over N rounds)" (the median of the rounds'
 * ratios), and the same for "batched library with its reads". Exit 1 on any failure. Options: -n NODES (1000) -m SMALL_NODES
 * (100; 0: skip) -p PODS -c INFLIGHT -b BIN -r ROUNDS.
 */
#include <errno.h>
#include <ev.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_stats.h"
#include "etcd.h"
#include "proc_mem.h"

#define PFX "/bench-sched"

static struct ev_loop *loop;
static struct etcd_client *client;
static int nodes = 1000, pods = 10000, conc = 256, rounds = 3, failed;
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

/* ---- the batched ceiling: the scheduler's binding transactions ---- */

/* Each pod's mod and create revision, read back once the pods are written
 * (the scheduler's binds compare the first and record the second). */
static int64_t *pod_mod, *pod_create;

static void
pods_cb(struct etcd_result *res, void *arg)
{
	int *ok = arg;
	int i;

	*ok = res->err.code == ETCD_OK;
	for (size_t k = 0; *ok && k < res->nkvs; k++) {
		if (sscanf(res->kvs[k].key, PFX "/pods/web-%d", &i) == 1 && i >= 0 && i < pods) {
			pod_mod[i] = res->kvs[k].mod_revision;
			pod_create[i] = res->kvs[k].create_revision;
		}
	}
	ev_break(loop, EVBREAK_ALL);
}

static int
read_pod_revisions(void)
{
	struct etcd_range_opts o = {.prefix = 1, .keys_only = 1};
	struct etcd_error err;
	int ok = 0;

	free(pod_mod);
	free(pod_create);
	pod_mod = calloc((size_t)pods, sizeof(*pod_mod));
	pod_create = calloc((size_t)pods, sizeof(*pod_create));
	if (!pod_mod || !pod_create || etcd_range(client, PFX "/pods/", &o, pods_cb, &ok, &err) < 0)
		return -1;
	ev_run(loop, 0);
	for (int i = 0; ok && i < pods; i++)
		ok = pod_mod[i] > 0;
	return ok ? 0 : -1;
}

/* What the scheduler writes for pod i on node i % nodes: the pod with its
 * uid (its create revision) under "pod", next to "node". */
static void
binding_of(int i, char *k, size_t kl, char *v, size_t vl)
{
	char pod[1024], pk[256], *meta;

	make_pod(i, pk, sizeof(pk), pod, sizeof(pod));
	meta = strstr(pod, "\"metadata\":{") + 12;
	snprintf(k, kl, "/bench-base/bindings/n%04d/web-%05d", i % nodes, i);
	snprintf(v, vl, "{\"node\":\"n%04d\",\"pod\":%.*s\"uid\":\"%lld\",%s}", i % nodes, (int)(meta - pod), pod,
	         (long long)pod_create[i], meta);
}

/* The binds in flight, in batches of BIND_BATCH pods: one request each,
 * an outer txn whose success branch holds one guarded txn per pod
 * (compare the pod's mod revision and that the binding does not exist;
 * put the binding, else get it), as scheduler/sched_bind.c sends them. */
#define BIND_BATCH 32

struct batcher {
	int next, done, inflight, errors;
};

struct batch {
	struct batcher *b;
	int n;
};

static void batch_more(struct batcher *b);
static void delete_prefix(const char *prefix);

static void
batch_cb(struct etcd_result *res, void *arg)
{
	struct batch *bt = arg;
	struct batcher *b = bt->b;
	size_t ok = 0;

	for (size_t i = 0; res->err.code == ETCD_OK && i < res->nresponses; i++)
		ok += res->responses[i].succeeded != 0;
	if (ok != (size_t)bt->n && b->errors++ < 5)
		fprintf(stderr, "scheduler-bench: batched bind: %zu of %d bound: %s\n", ok, bt->n,
		        res->err.code ? res->err.msg : "compare failed");
	b->inflight -= bt->n;
	b->done += bt->n;
	free(bt);
	batch_more(b);
	if (b->done >= pods)
		ev_break(loop, EVBREAK_ALL);
}

static void
batch_more(struct batcher *b)
{
	char key[256], pkey[256], val[2048], pod[1024];
	struct etcd_error err;

	while (b->inflight < conc && b->next < pods) {
		struct etcd_txn *t = etcd_txn_new();
		struct batch *bt = calloc(1, sizeof(*bt));

		if (!t || !bt) {
			fprintf(stderr, "scheduler-bench: out of memory\n");
			exit(1);
		}
		bt->b = b;
		for (; bt->n < BIND_BATCH && b->next < pods && b->inflight + bt->n < conc; bt->n++, b->next++) {
			struct etcd_txn *in = etcd_txn_new();

			binding_of(b->next, key, sizeof(key), val, sizeof(val));
			make_pod(b->next, pkey, sizeof(pkey), pod, sizeof(pod));
			etcd_txn_cmp(in, pkey, ETCD_CMP_MOD, ETCD_CMP_EQUAL, pod_mod[b->next]);
			etcd_txn_cmp(in, key, ETCD_CMP_CREATE, ETCD_CMP_EQUAL, 0);
			etcd_txn_put(in, ETCD_TXN_SUCCESS, key, val, strlen(val), 0);
			etcd_txn_get(in, ETCD_TXN_FAILURE, key, NULL);
			etcd_txn_txn(t, ETCD_TXN_SUCCESS, in);
		}
		b->inflight += bt->n;
		if (etcd_txn_commit(client, t, batch_cb, bt, &err) < 0) {
			fprintf(stderr, "scheduler-bench: %s\n", err.msg);
			exit(1);
		}
	}
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

/* ---- the scheduler's reads: its six lists, then a watch on each ---- */

/* What skiff-scheduler lists and watches (scheduler/sched_watch.c), its
 * bindings under the prefix the batched ceiling writes. */
static const char *const reads[] = {PFX "/services/",   PFX "/nodes/",           PFX "/nodestatus/",
                                    PFX "/nodeleases/", "/bench-base/bindings/", PFX "/pods/"};
#define NREADS (sizeof(reads) / sizeof(reads[0]))

struct lister {
	int pending, errors;
	int64_t rev;
};

static void
list_cb(struct etcd_result *res, void *arg)
{
	struct lister *l = arg;

	if (res->err.code != ETCD_OK && l->errors++ == 0)
		fprintf(stderr, "scheduler-bench: list: %s\n", res->err.msg);
	if (res->revision > l->rev)
		l->rev = res->revision;
	if (--l->pending == 0)
		ev_break(loop, EVBREAK_ALL);
}

static void
drain_watch(struct etcd_watch *w, const struct etcd_watch_msg *m, void *arg)
{
	(void)w;
	(void)m;
	(void)arg;
}

/* The lists all in flight at once, as the informers start; then the
 * watches from the newest list's revision. 0, or -1 (watches[] holds
 * what was started, the rest NULL). */
static int
read_like_scheduler(struct etcd_watch **watches)
{
	struct etcd_watch_opts wo = {.prefix = 1};
	struct lister l = {0};
	struct etcd_error err;

	for (size_t i = 0; i < NREADS; i++, l.pending++)
		if (etcd_list(client, reads[i], list_cb, &l, &err) < 0) {
			fprintf(stderr, "scheduler-bench: list %s: %s\n", reads[i], err.msg);
			return -1;
		}
	ev_run(loop, 0);
	wo.start_revision = l.rev + 1;
	for (size_t i = 0; i < NREADS && !l.errors; i++)
		if (!(watches[i] = etcd_watch_start(client, reads[i], &wo, drain_watch, NULL, &err))) {
			fprintf(stderr, "scheduler-bench: watch %s: %s\n", reads[i], err.msg);
			return -1;
		}
	return l.errors ? -1 : 0;
}

/* Bind every pod as the scheduler would, as fast as the library can,
 * timed as the scheduler is: until the bench's watch on the bindings has
 * seen them all (so that etcd serves that watch on both sides). With
 * same_reads, first the scheduler's lists and watches (held to the end),
 * so that etcd does for the library all it does for the scheduler. */
static int
batch_all(int same_reads)
{
	struct etcd_watch_opts wo = {.prefix = 1};
	struct etcd_watch *w, *watches[NREADS] = {0};
	struct batcher b = {0};
	struct etcd_error err;
	ev_timer limit;

	bound = 0;
	wo.start_revision = last_rev + 1;
	if (!(w = etcd_watch_start(client, "/bench-base/bindings/", &wo, bind_watch, NULL, &err))) {
		fprintf(stderr, "scheduler-bench: watch: %s\n", err.msg);
		return 1;
	}
	ev_timer_init(&limit, timeout_cb, 300, 0);
	ev_timer_start(loop, &limit);
	if (same_reads && read_like_scheduler(watches) < 0)
		failed = 1;
	else
		batch_more(&b);
	while (!failed && (b.done < pods || bound < pods))
		ev_run(loop, 0);
	ev_timer_stop(loop, &limit);
	etcd_watch_cancel(w);
	for (size_t i = 0; i < NREADS; i++)
		if (watches[i])
			etcd_watch_cancel(watches[i]);
	return b.errors || failed;
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

/* One scheduler run on the cluster as written (its bindings deleted
 * first): from its start until every pod is bound. Seconds, or -1 on
 * failure; *rss (kB) and *cpu (s) of the process. */
static double
sched_round(const char *ep, long *rss, double *cpu)
{
	struct etcd_watch_opts wo = {.prefix = 1};
	struct etcd_error err;
	struct etcd_watch *w;
	ev_timer limit;
	double t0, t;
	int64_t nb;
	pid_t pid;
	int st;

	delete_prefix(PFX "/bindings/");
	bound = 0;
	wo.start_revision = last_rev + 1;
	if (!(w = etcd_watch_start(client, PFX "/bindings/", &wo, bind_watch, NULL, &err))) {
		fprintf(stderr, "scheduler-bench: watch: %s\n", err.msg);
		failed = 1;
		return -1;
	}
	t0 = now();
	if ((pid = start_scheduler(ep)) < 0) {
		fprintf(stderr, "scheduler-bench: fork: %s\n", strerror(errno));
		etcd_watch_cancel(w);
		failed = 1;
		return -1;
	}
	ev_timer_init(&limit, timeout_cb, 300, 0);
	ev_timer_start(loop, &limit);
	ev_run(loop, 0);
	t = now() - t0;
	ev_timer_stop(loop, &limit);
	etcd_watch_cancel(w);
	*rss = peak_rss_kb(pid);
	*cpu = proc_cpu_seconds(pid);
	kill(pid, SIGTERM);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if ((nb = count(PFX "/bindings/")) != pods) {
		fprintf(stderr, "scheduler-bench: %lld bindings for %d pods\n", (long long)nb, pods);
		failed = 1;
	}
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		fprintf(stderr, "scheduler-bench: the scheduler did not exit 0 on SIGTERM\n");
		failed = 1;
	}
	return failed ? -1 : t;
}

/* The cluster (nodes, their leases, the unbound pods) on n nodes. The
 * lease, or -1. */
static int64_t
setup(int n)
{
	struct etcd_error err;
	int64_t lease = -1;

	nodes = n;
	delete_prefix(PFX "/");
	delete_prefix("/bench-base/");
	if (etcd_lease_grant(client, 600, 0, grant_cb, &lease, &err) < 0)
		return -1;
	ev_run(loop, 0);
	if (lease <= 0 || write_all(nodes, make_node, 0, 0) || write_all(nodes, make_lease, 0, lease) ||
	    write_all(pods, make_pod, 0, 0) || count(PFX "/pods/") != pods || read_pod_revisions() < 0) {
		fprintf(stderr, "scheduler-bench: setting up failed\n");
		return -1;
	}
	return lease;
}

/* The three sides of a round: the scheduler, the batched ceiling, and the
 * ceiling with the scheduler's reads. */
enum side { SCHED, BATCH, BATCH_READS, NSIDES };

struct round {
	double t[NSIDES], cpu; /* seconds; the scheduler's CPU */
	long rss;
};

/* One side, timed. -1 on failure. */
static double
run_side(const char *ep, enum side s, struct round *rd)
{
	double t0;

	if (s == SCHED)
		return sched_round(ep, &rd->rss, &rd->cpu);
	delete_prefix("/bench-base/");
	t0 = now();
	return batch_all(s == BATCH_READS) ? -1 : now() - t0;
}

/* Round r: the sides in order, reversed every other round (ABBA). */
static int
run_round(const char *ep, int r, struct round *rd)
{
	for (int j = 0; j < NSIDES && !failed; j++) {
		enum side s = (enum side)(r % 2 == 0 ? j : NSIDES - 1 - j);

		if ((rd->t[s] = run_side(ep, s, rd)) < 0)
			failed = 1;
	}
	if (failed)
		return -1;
	printf("scheduler %d nodes round %d: %.2f s to bind all (cpu %.2f s), batched library %.2f s, with the "
	       "scheduler's reads %.2f s\n",
	       nodes, r + 1, rd->t[SCHED], rd->cpu, rd->t[BATCH], rd->t[BATCH_READS]);
	return 0;
}

/* The ratio lines: skiff's median rate over a ceiling's, and the median
 * and range of the rounds' ratios. */
static void
print_ratio(const char *what, double *sr, const struct round *rd, int k, enum side s)
{
	double br[16], q[16], lo, hi;

	for (int i = 0; i < k; i++)
		br[i] = pods / rd[i].t[s], q[i] = sr[i] / br[i];
	bench_range(q, k, &lo, &hi);
	printf("scheduler %d pods/%d nodes: skiff=%.0f pods/s, %s=%.0f pods/s, ratio=%.2f (%.2f-%.2f over %d "
	       "rounds)\n",
	       pods, nodes, bench_median(sr, k), what, bench_median(br, k), bench_median(q, k), lo, hi, k);
}

/* On n nodes: rounds of the three sides, then the single-txn baseline.
 * 0, or 1 on failure. */
static int
run_case(const char *ep, int n)
{
	struct round rd[16];
	double sr[16], cpus[16], t0, t_base;
	long rss = 0;
	int64_t lease;
	int k = 0;

	failed = 0;
	memset(rd, 0, sizeof(rd));
	if ((lease = setup(n)) < 0)
		return 1;
	for (int r = 0; r < rounds && r < 16 && run_round(ep, r, &rd[k]) == 0; r++, k++) {
		sr[k] = pods / rd[k].t[SCHED], cpus[k] = rd[k].cpu;
		rss = rd[k].rss > rss ? rd[k].rss : rss;
	}
	/* the baseline: the same number of single guarded creates */
	delete_prefix("/bench-base/");
	t0 = now();
	if (write_all(pods, make_base, 1, 0))
		failed = 1;
	t_base = now() - t0;
	if (k > 0) {
		printf("scheduler %d pods/%d nodes: skiff=%.0f pods/s baseline=%.0f txn/s ratio=%.2f peak_rss=%.1f MB "
		       "cpu_per_pod=%.0f us\n",
		       pods, nodes, bench_median(sr, k), pods / t_base, bench_median(sr, k) / (pods / t_base),
		       rss / 1024.0, bench_median(cpus, k) * 1e6 / pods);
		print_ratio("batched library", sr, rd, k, BATCH);
		print_ratio("batched library with its reads", sr, rd, k, BATCH_READS);
	}
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

	while ((c = getopt(argc, argv, "n:m:p:c:b:r:v")) != -1)
		switch (c) {
		case 'n': nodes = atoi(optarg); break;
		case 'm': small = atoi(optarg); break;
		case 'p': pods = atoi(optarg); break;
		case 'c': conc = atoi(optarg); break;
		case 'b': bin = optarg; break;
		case 'r': rounds = atoi(optarg); break;
		case 'v': setenv("BENCH_VERBOSE", "1", 1); break;
		default:
			fprintf(stderr, "usage: scheduler_bench [-n nodes] [-m small-nodes] [-p pods] [-c inflight] "
			                "[-b bin] [-r rounds] [-v]\n");
			return 2;
		}
	if (!ep || nodes < 1 || small < 0 || pods < 1 || conc < 1 || rounds < 1 || rounds > 16) {
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
