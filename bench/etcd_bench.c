/*
 * etcd_bench.c: throughput and watch latency of libskiffetcd against a real
 * etcd, next to a plain client (bench/baseline_etcd.py: Python http.client,
 * keep-alive, one thread per stream) doing the same work on the same etcd in
 * the same run.
 *
 * Cases: puts, and single-operation transactions (compare MOD(key) == the
 * mod_revision this stream last wrote, then put key: a CAS loop), each at
 * concurrency 1, 8 and 64. Concurrency is the number of calls outstanding on
 * the one libev loop (for the baseline: threads, each with one connection).
 * Each client runs a case for --seconds measured time, split in two halves
 * run in the order skiff, baseline, baseline, skiff; every half starts with
 * --warmup unmeasured seconds and uses its own key prefix, which is deleted
 * and compacted away afterwards. An operation counts when it completes
 * inside the measured window; errors (including a txn whose compare fails)
 * are counted apart, reported on stderr, and make the exit status 1.
 *
 * Then the gateway's ceiling: the library next to wrk (Debian's; the
 * scripts bench/etcd_put.lua and etcd_txn.lua) at --wrk-concurrency 8,64
 * connections, wrk -t1 below 64 and -t2 from 64. Both send the same bodies
 * (checked byte for byte first: the library's request is captured on a
 * socket of ours and compared with the script's "print" of the same key):
 * puts as above, and guarded creates (compare CREATE(key) == 0, put) of
 * fresh keys, which need no per-stream state. --wrk-rounds (4) rounds of
 * one library run and one wrk run of --wrk-seconds (2) each, the order
 * alternating (ABBA); wrk's writes of creates are counted in etcd after.
 *
 * Then watch latency: one prefix watch and --watch-puts sequential puts
 * under it on the same loop; each sample is the time from calling etcd_put
 * to the watch callback delivering that key (CLOCK_MONOTONIC).
 *
 * Output on stdout, one line per case:
 *   etcd-put c=8: skiff=N op/s baseline=N op/s ratio=R
 *   etcd-txn c=8: skiff=N op/s baseline=N op/s ratio=R
 *   etcd-put c=8: skiff=N op/s wrk=N op/s ratio=R (LO-HI over N rounds)
 *   etcd-txn c=8: skiff=N op/s wrk=N op/s ratio=R (LO-HI over N rounds)
 *   etcd-watch latency: p50=N µs p99=N µs
 * With -v, per-half details on stderr: established connections at the end,
 * TCP connections opened (host-wide ActiveOpens), client stats, CPU per op.
 * It does not start etcd: scripts/run-bench.sh does (scripts/etcd-local.sh).
 */
#include <dirent.h>
#include <errno.h>
#include <ev.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_stats.h"
#include "etcd.h"

extern char **environ;

/* OP_CREATE: a guarded create (compare CREATE(key) == 0, put) of a key
 * never written before, the txn of the wrk comparison: stateless, so wrk
 * can send the same bodies. */
enum bench_op { OP_PUT, OP_TXN, OP_CREATE };
static const char *op_names[] = {"put", "txn", "create"};

struct opts {
	const char *endpoint;
	const char *baseline; /* path of baseline_etcd.py */
	const char *python;
	double seconds; /* measured seconds per client per case */
	double warmup;  /* unmeasured seconds before each half */
	int conc[8];
	int nconc;
	int do_put, do_txn, do_watch;
	int no_baseline; /* library only (for profiling) */
	int watch_puts;
	size_t value_size;
	int verbose;
	const char *wrk;     /* the wrk program; NULL: no wrk comparison */
	const char *wrk_dir; /* where etcd_put.lua and etcd_txn.lua are */
	int wrk_conc[8];
	int nwrk_conc;
	int wrk_rounds;
	int wrk_seconds; /* per client per round (wrk takes whole seconds) */
	int wrk_threads; /* 0: 1 below 64 connections, else 2 */
};

/* One client's measured totals for a case. */
struct tally {
	uint64_t ops, errors;
	uint64_t total; /* completed operations, warm-up included */
	double seconds; /* measured time */
	double cpu;     /* client CPU seconds over the halves */
	char first_err[320];
};

static struct ev_loop *loop;
static struct etcd_client *client;
static struct opts opt;
static char *value;
static int failed; /* any error anywhere: exit 1 */

static double
mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double
cpu_seconds(int who)
{
	struct rusage ru;

	getrusage(who, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
	       (double)ru.ru_stime.tv_usec / 1e6;
}

static void
note(const char *fmt, ...)
{
	va_list ap;

	if (!opt.verbose)
		return;
	va_start(ap, fmt);
	fputs("  # ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static void
tally_error(struct tally *t, const char *fmt, ...)
{
	va_list ap;

	t->errors++;
	if (t->first_err[0])
		return;
	va_start(ap, fmt);
	vsnprintf(t->first_err, sizeof(t->first_err), fmt, ap);
	va_end(ap);
}

/* Established TCP connections of this process: the library's connections
 * (socket inodes among our fds, matched against /proc/net/tcp{,6}). */
static int
count_connections(void)
{
	unsigned long inodes[1024], ino;
	char path[300], target[64], line[512];
	const char *tables[] = {"/proc/self/net/tcp", "/proc/self/net/tcp6"};
	struct dirent *e;
	unsigned st;
	size_t ni = 0, i, k;
	ssize_t len;
	FILE *f;
	DIR *d;
	int n = 0;

	if (!(d = opendir("/proc/self/fd")))
		return -1;
	while ((e = readdir(d)) && ni < sizeof(inodes) / sizeof(inodes[0])) {
		snprintf(path, sizeof(path), "/proc/self/fd/%s", e->d_name);
		len = readlink(path, target, sizeof(target) - 1);
		if (len > 0 && (target[len] = '\0', sscanf(target, "socket:[%lu]", &ino) == 1))
			inodes[ni++] = ino;
	}
	closedir(d);
	for (k = 0; k < 2; k++) {
		if (!(f = fopen(tables[k], "r")))
			continue;
		while (fgets(line, sizeof(line), f)) {
			/* sl local rem st tx:rx tr:when retrnsmt uid timeout inode */
			if (sscanf(line, "%*s %*s %*s %x %*s %*s %*s %*s %*s %lu", &st, &ino) != 2 || st != 1)
				continue;
			for (i = 0; i < ni; i++)
				if (inodes[i] == ino)
					n++;
		}
		fclose(f);
	}
	return n;
}

/* TCP connections opened by anyone on this host so far (Tcp: ActiveOpens).
 * Over a library-only half it tells how many connections the library made. */
static long
tcp_active_opens(void)
{
	char hdr[1024], val[1024], *h, *v, *hs, *vs;
	long r = -1;
	FILE *f = fopen("/proc/net/snmp", "r");

	if (!f)
		return -1;
	while (fgets(hdr, sizeof(hdr), f) && fgets(val, sizeof(val), f)) {
		if (strncmp(hdr, "Tcp:", 4) != 0)
			continue;
		for (h = strtok_r(hdr, " \n", &hs), v = strtok_r(val, " \n", &vs); h && v;
		     h = strtok_r(NULL, " \n", &hs), v = strtok_r(NULL, " \n", &vs))
			if (strcmp(h, "ActiveOpens") == 0)
				r = atol(v);
	}
	fclose(f);
	return r;
}

/* ------------------------------------------------------------------------
 * A blocking call on the shared loop, for set-up and clean-up between runs.
 */
struct waiter {
	int done;
	struct etcd_result *res;
};

static void
waiter_cb(struct etcd_result *res, void *arg)
{
	struct waiter *w = arg;

	w->res = etcd_result_take(res);
	w->done = 1;
}

/* Run the loop until w is done; returns its result (new) or NULL. */
static struct etcd_result *
waiter_wait(struct waiter *w)
{
	while (!w->done)
		ev_run(loop, EVRUN_ONCE);
	return w->res;
}

/* Delete everything under prefix, then compact history up to that point so
 * that the next run starts on a store of the same shape. */
static void
wipe(const char *prefix)
{
	struct etcd_delete_opts dopts = {.prefix = 1};
	struct waiter w = {0};
	struct etcd_error err;
	struct etcd_result *res;
	int64_t rev;

	if (etcd_delete(client, prefix, &dopts, waiter_cb, &w, &err) < 0) {
		fprintf(stderr, "etcd-bench: delete %s: %s\n", prefix, err.msg);
		failed = 1;
		return;
	}
	res = waiter_wait(&w);
	if (res->err.code != ETCD_OK) {
		fprintf(stderr, "etcd-bench: delete %s: %s\n", prefix, res->err.msg);
		failed = 1;
		etcd_result_free(res);
		return;
	}
	rev = res->revision;
	etcd_result_free(res);
	w.done = 0;
	if (etcd_compact(client, rev, 1, waiter_cb, &w, &err) < 0) {
		fprintf(stderr, "etcd-bench: compact: %s\n", err.msg);
		failed = 1;
		return;
	}
	res = waiter_wait(&w);
	/* Compacting at or below the current compact revision is harmless. */
	if (res->err.code != ETCD_OK && res->err.code != ETCD_ECOMPACTED) {
		fprintf(stderr, "etcd-bench: compact %" PRId64 ": %s\n", rev, res->err.msg);
		failed = 1;
	}
	etcd_result_free(res);
}

/* ------------------------------------------------------------------------
 * The library side of a throughput case: conc slots, each keeping one call
 * outstanding until the window ends.
 */
struct run;

struct slot {
	struct run *r;
	int idx;
	uint64_t seq;
	int64_t mod_rev; /* txn: this slot's key's last mod_revision */
	char key[160];
};

struct run {
	enum bench_op op;
	const char *prefix;
	double t_measure, t_end;
	int inflight;
	int conns; /* established connections when the window closed */
	struct tally *t;
	struct slot *slots;
};

static void issue(struct slot *s);

static void
slot_retire(struct slot *s)
{
	struct run *r = s->r;

	if (--r->inflight == 0)
		ev_break(loop, EVBREAK_ONE);
}

/* After a failed compare: read the key's mod_revision, then carry on. */
static void
resync_cb(struct etcd_result *res, void *arg)
{
	struct slot *s = arg;

	if (res->err.code == ETCD_OK)
		s->mod_rev = res->nkvs ? res->kvs[0].mod_revision : 0;
	else
		tally_error(s->r->t, "resync get: %s: %s", etcd_code_name(res->err.code), res->err.msg);
	if (mono() < s->r->t_end)
		issue(s);
	else
		slot_retire(s);
}

static void
done_cb(struct etcd_result *res, void *arg)
{
	struct slot *s = arg;
	struct run *r = s->r;
	struct etcd_error err;
	double now = mono();

	/* Counting reads /proc (slow): do it once the window is over. */
	if (now >= r->t_end && r->conns < 0)
		r->conns = count_connections();
	if (res->err.code != ETCD_OK) {
		tally_error(r->t, "%s: %s", etcd_code_name(res->err.code), res->err.msg);
	} else if (r->op == OP_CREATE && !res->succeeded) {
		tally_error(r->t, "create compare failed on %s (the key existed)", s->key);
	} else if (r->op == OP_TXN && !res->succeeded) {
		tally_error(r->t, "txn compare failed on %s (mod_revision moved)", s->key);
		if (etcd_get(client, s->key, resync_cb, s, &err) == 0)
			return;
		tally_error(r->t, "resync get: %s", err.msg);
	} else {
		if (r->op == OP_TXN)
			s->mod_rev = res->revision;
		r->t->total++;
		if (now >= r->t_measure && now < r->t_end)
			r->t->ops++;
	}
	if (now < r->t_end)
		issue(s);
	else
		slot_retire(s);
}

/* Send op on key with cl: what the library side of every case sends (the
 * wrk comparison checks its bodies against it). 0, or -1 with err. */
static int
send_op(struct etcd_client *cl, enum bench_op op, const char *key, int64_t mod_rev, etcd_cb cb, void *arg,
        struct etcd_error *err)
{
	struct etcd_txn *t;

	if (op == OP_PUT)
		return etcd_put(cl, key, value, opt.value_size, NULL, cb, arg, err);
	if (!(t = etcd_txn_new())) {
		err->code = ETCD_ENOMEM;
		snprintf(err->msg, sizeof(err->msg), "etcd_txn_new: out of memory");
		return -1;
	}
	if (op == OP_TXN)
		etcd_txn_cmp(t, key, ETCD_CMP_MOD, ETCD_CMP_EQUAL, mod_rev);
	else
		etcd_txn_cmp(t, key, ETCD_CMP_CREATE, ETCD_CMP_EQUAL, 0);
	etcd_txn_put(t, ETCD_TXN_SUCCESS, key, value, opt.value_size, 0);
	return etcd_txn_commit(cl, t, cb, arg, err);
}

/* Start the slot's next call; on a synchronous failure the slot stops.
 * Puts cycle through 128 keys per slot; a create takes a fresh key. */
static void
issue(struct slot *s)
{
	struct run *r = s->r;
	struct etcd_error err;

	if (r->op == OP_PUT)
		snprintf(s->key, sizeof(s->key), "%s%d/%" PRIu64, r->prefix, s->idx, s->seq++ % 128);
	else if (r->op == OP_CREATE)
		snprintf(s->key, sizeof(s->key), "%s%d/%" PRIu64, r->prefix, s->idx, s->seq++);
	if (send_op(client, r->op, s->key, s->mod_rev, done_cb, s, &err) < 0) {
		tally_error(r->t, "%s call refused: %s: %s", op_names[r->op], etcd_code_name(err.code), err.msg);
		slot_retire(s);
	}
}

/* One half of a case through the library. Adds to t. */
static void
run_skiff(enum bench_op op, int conc, const char *prefix, double seconds, struct tally *t)
{
	struct run r = {.op = op, .prefix = prefix, .t = t, .conns = -1};
	struct etcd_stats s0, s1;
	uint64_t ops0 = t->ops, err0 = t->errors, total0 = t->total;
	double cpu0 = cpu_seconds(RUSAGE_SELF), cpu, start;
	long opens0 = tcp_active_opens();
	int i;

	r.slots = calloc((size_t)conc, sizeof(*r.slots));
	if (!r.slots) {
		tally_error(t, "out of memory");
		return;
	}
	etcd_client_stats(client, &s0);
	start = mono();
	r.t_measure = start + opt.warmup;
	r.t_end = r.t_measure + seconds;
	for (i = 0; i < conc; i++) {
		r.slots[i].r = &r;
		r.slots[i].idx = i;
		snprintf(r.slots[i].key, sizeof(r.slots[i].key), "%s%d", prefix, i);
		r.inflight++;
	}
	for (i = 0; i < conc; i++)
		issue(&r.slots[i]);
	if (r.inflight > 0)
		ev_run(loop, 0);
	cpu = cpu_seconds(RUSAGE_SELF) - cpu0;
	t->seconds += seconds;
	t->cpu += cpu;
	etcd_client_stats(client, &s1);
	note("skiff    %s c=%d: %.0f op/s errors=%" PRIu64 " conns=%d tcp-opens=%ld requests=%" PRIu64
	     " failures=%" PRIu64 " retries=%" PRIu64 " cpu=%.0f us/op",
	     op_names[op], conc, (double)(t->ops - ops0) / seconds, t->errors - err0, r.conns,
	     tcp_active_opens() - opens0, s1.requests - s0.requests, s1.failures - s0.failures, s1.retries - s0.retries,
	     t->total > total0 ? cpu * 1e6 / (double)(t->total - total0) : 0.0);
	free(r.slots);
}

/* ------------------------------------------------------------------------
 * Running the other clients: argv[0] found on $PATH, its stdout read whole
 * into out (NUL-terminated, cut at outlen - 1). 0 when it exited 0; else -1
 * with a reason in why.
 */
static int
spawn_read(char *const argv[], char *out, size_t outlen, char *why, size_t whylen)
{
	posix_spawn_file_actions_t fa;
	size_t len = 0;
	ssize_t n;
	int pfd[2], status = -1, rc;
	pid_t pid;

	if (pipe2(pfd, O_CLOEXEC) < 0) {
		snprintf(why, whylen, "pipe: %s", strerror(errno));
		return -1;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, pfd[1], STDOUT_FILENO);
	/* Not the library's sockets: wrk sizes its event loop for its own
	 * connections and cannot watch a descriptor numbered past them. */
	posix_spawn_file_actions_addclosefrom_np(&fa, STDERR_FILENO + 1);
	rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(pfd[1]);
	if (rc != 0) {
		close(pfd[0]);
		snprintf(why, whylen, "cannot run %s: %s", argv[0], strerror(rc));
		return -1;
	}
	while (len < outlen - 1 && (n = read(pfd[0], out + len, outlen - 1 - len)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		len += (size_t)n;
	}
	out[len] = '\0';
	close(pfd[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		snprintf(why, whylen, "%s failed (status %d): %s", argv[0], status, out);
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------------------
 * The baseline side: one run of baseline_etcd.py. Adds to t.
 */
static void
run_baseline(enum bench_op op, int conc, const char *prefix, double seconds, struct tally *t)
{
	char cbuf[16], sbuf[32], wbuf[32], vbuf[32], out[1024], why[1200];
	char *argv[] = {(char *)opt.python,
	                (char *)opt.baseline,
	                "--endpoint",
	                (char *)opt.endpoint,
	                "--op",
	                (char *)op_names[op],
	                "--concurrency",
	                cbuf,
	                "--duration",
	                sbuf,
	                "--warmup",
	                wbuf,
	                "--prefix",
	                (char *)prefix,
	                "--value-size",
	                vbuf,
	                NULL};
	unsigned long long ops, errors, total;
	double cpu0 = cpu_seconds(RUSAGE_CHILDREN), cpu;
	char *fe;
	int rc;

	snprintf(cbuf, sizeof(cbuf), "%d", conc);
	snprintf(sbuf, sizeof(sbuf), "%.3f", seconds);
	snprintf(wbuf, sizeof(wbuf), "%.3f", opt.warmup);
	snprintf(vbuf, sizeof(vbuf), "%zu", opt.value_size);
	rc = spawn_read(argv, out, sizeof(out), why, sizeof(why));
	cpu = cpu_seconds(RUSAGE_CHILDREN) - cpu0;
	t->cpu += cpu;
	if (rc < 0 || sscanf(out, "ops=%llu errors=%llu total=%llu", &ops, &errors, &total) != 3) {
		tally_error(t, "baseline failed: %s", rc < 0 ? why : out);
		return;
	}
	t->ops += ops;
	t->errors += errors;
	t->total += total;
	t->seconds += seconds;
	if (errors && !t->first_err[0] && (fe = strstr(out, "first_error=")))
		snprintf(t->first_err, sizeof(t->first_err), "%s", fe + 12);
	note("baseline %s c=%d: %.0f op/s errors=%llu cpu=%.0f us/op (interpreter start included)", op_names[op], conc,
	     (double)ops / seconds, errors, total ? cpu * 1e6 / (double)total : 0.0);
}

static double
rate(const struct tally *t)
{
	return t->seconds > 0 ? (double)t->ops / t->seconds : 0;
}

static void
report_errors(const char *name, const char *who, const struct tally *t)
{
	if (!t->errors)
		return;
	failed = 1;
	fprintf(stderr, "%s: %s errors=%" PRIu64 " first: %s\n", name, who, t->errors, t->first_err);
}

static void
bench_case(enum bench_op op, int conc)
{
	struct tally sk = {0}, bl = {0};
	char name[64], prefix[128];
	double half = opt.seconds / 2;
	int i;

	snprintf(name, sizeof(name), "etcd-%s c=%d", op_names[op], conc);
	/* ABBA: each client gets one early and one late half. */
	for (i = 0; i < 4; i++) {
		int skiff = (i == 0 || i == 3);

		snprintf(prefix, sizeof(prefix), "/skiff-bench/%d/%s/c%d/%s%d/", (int)getpid(), op_names[op], conc,
		         skiff ? "s" : "b", i);
		if (skiff)
			run_skiff(op, conc, prefix, half, &sk);
		else if (!opt.no_baseline)
			run_baseline(op, conc, prefix, half, &bl);
		else
			continue;
		wipe(prefix);
	}
	printf("%s: skiff=%.0f op/s baseline=%.0f op/s ratio=%.2f\n", name, rate(&sk), rate(&bl),
	       rate(&bl) > 0 ? rate(&sk) / rate(&bl) : 0.0);
	fflush(stdout);
	note("%s client cpu per op: skiff=%.0f us baseline=%.0f us", name,
	     sk.total ? sk.cpu * 1e6 / (double)sk.total : 0.0, bl.total ? bl.cpu * 1e6 / (double)bl.total : 0.0);
	report_errors(name, "skiff", &sk);
	report_errors(name, "baseline", &bl);
}

/* ------------------------------------------------------------------------
 * The gateway's ceiling: the library next to wrk (bench/etcd_put.lua,
 * etcd_txn.lua) sending the same bodies to the same endpoint with the same
 * number of connections, in rounds that alternate which goes first.
 */
static void tick_cb(struct ev_loop *l, ev_timer *w, int revents);

/* Read what arrived on *cfd (accepted from lfd when -1) into req; the
 * body's length once the head and the whole body are there, else -1. */
static long
capture_read(int lfd, int *cfd, char *req, size_t cap, size_t *len)
{
	char *end, *cl;
	ssize_t n;
	long blen;

	if (*cfd < 0 && (*cfd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) < 0)
		return -1;
	if ((n = recv(*cfd, req + *len, cap - 1 - *len, 0)) > 0)
		*len += (size_t)n;
	req[*len] = '\0';
	if (!(end = strstr(req, "\r\n\r\n")) || !(cl = strcasestr(req, "\r\nContent-Length:")))
		return -1;
	blen = atol(cl + 17);
	return (size_t)(end + 4 - req) + (size_t)blen <= *len ? blen : -1;
}

/* The body of the library's request for op on key, as a server receives
 * it: a second client sends it to a socket of ours (and is freed, which
 * cancels the call). 0 with the body in out, or -1. */
static int
capture_body(enum bench_op op, const char *key, char *out, size_t outlen)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t sl = sizeof(sa);
	struct etcd_config cfg = {0};
	struct etcd_client *cl = NULL;
	struct etcd_error err;
	struct waiter w = {0};
	char url[64], req[16384];
	size_t len = 0;
	long blen = -1;
	int lfd, cfd = -1;
	double deadline = mono() + 5;
	ev_timer tick;

	lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(lfd, 4) < 0 ||
	    getsockname(lfd, (struct sockaddr *)&sa, &sl) < 0)
		goto out;
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", ntohs(sa.sin_port));
	cfg.endpoints = url;
	if (!(cl = etcd_client_new(loop, &cfg, &err)) || send_op(cl, op, key, 0, waiter_cb, &w, &err) < 0)
		goto out;
	ev_timer_init(&tick, tick_cb, 0.005, 0.005);
	ev_timer_start(loop, &tick);
	while (blen < 0 && !w.done && mono() < deadline) {
		ev_run(loop, EVRUN_ONCE);
		blen = capture_read(lfd, &cfd, req, sizeof(req), &len);
	}
	ev_timer_stop(loop, &tick);
	if (blen >= 0 && (size_t)blen < outlen) {
		memcpy(out, strstr(req, "\r\n\r\n") + 4, (size_t)blen);
		out[blen] = '\0';
		*strstr(req, "\r\n\r\n") = '\0';
		note("the library's %s request:\n%s", op_names[op], req);
	}
out:
	if (cl)
		etcd_client_free(cl);
	etcd_result_free(w.res);
	if (cfd >= 0)
		close(cfd);
	if (lfd >= 0)
		close(lfd);
	return blen >= 0 && (size_t)blen < outlen ? 0 : -1;
}

static const char *
wrk_script(enum bench_op op, char *buf, size_t len)
{
	snprintf(buf, len, "%s/etcd_%s.lua", opt.wrk_dir, op == OP_PUT ? "put" : "txn");
	return buf;
}

/* Does the wrk script send what the library sends? Once per op; 1 when
 * it does, 0 (said on stderr) when not. */
static int
wrk_check(enum bench_op op)
{
	static int checked[3];
	char script[512], key[128], lib[4096], wrk[4096], why[4200];
	char *argv[] = {(char *)opt.wrk,      "-t1", "-c1",   "-d1", "-s", script,
	                (char *)opt.endpoint, "--",  "print", key,   NULL};

	if (checked[op])
		return checked[op] > 0;
	checked[op] = -1;
	wrk_script(op, script, sizeof(script));
	snprintf(key, sizeof(key), "/skiff-bench/%d/wrk-check/%s/0/1", (int)getpid(), op_names[op]);
	if (capture_body(op, key, lib, sizeof(lib)) < 0) {
		fprintf(stderr, "etcd-bench: cannot capture the library's %s request\n", op_names[op]);
	} else if (spawn_read(argv, wrk, sizeof(wrk), why, sizeof(why)) < 0) {
		fprintf(stderr, "etcd-bench: %s\n", why);
	} else if (strcmp(lib, wrk) != 0) {
		fprintf(stderr,
		        "etcd-bench: %s sends another %s body than the library:\n  library: %s\n  wrk:     %s\n",
		        script, op_names[op], lib, wrk);
	} else {
		note("%s sends the library's %s body byte for byte (%zu bytes)", script, op_names[op], strlen(lib));
		checked[op] = 1;
	}
	if (checked[op] < 0)
		failed = 1;
	return checked[op] > 0;
}

/* Keys under prefix (a count-only range); -1 on error. */
static int64_t
count_keys(const char *prefix)
{
	struct etcd_range_opts o = {.prefix = 1, .count_only = 1};
	struct waiter w = {0};
	struct etcd_error err;
	struct etcd_result *res;
	int64_t n = -1;

	if (etcd_range(client, prefix, &o, waiter_cb, &w, &err) < 0)
		return -1;
	res = waiter_wait(&w);
	if (res->err.code == ETCD_OK)
		n = res->count;
	etcd_result_free(res);
	return n;
}

/* One run of wrk. Adds to t; a create's writes are checked in etcd (a
 * 200 answer may be a failed compare). */
static void
run_wrk(enum bench_op op, int conc, const char *prefix, struct tally *t)
{
	int threads = opt.wrk_threads ? opt.wrk_threads : conc < 64 ? 1 : 2;
	char script[512], tbuf[16], cbuf[16], dbuf[16], pbuf[16], out[4096], why[4200] = "", *res;
	char *argv[] = {
		(char *)opt.wrk,      "-t", tbuf,  "-c",           cbuf, "-d", dbuf, "--timeout", "10s", "-s", script,
		(char *)opt.endpoint, "--", "run", (char *)prefix, pbuf, NULL};
	unsigned long long reqs, us, errors;
	double cpu0 = cpu_seconds(RUSAGE_CHILDREN), cpu;
	int64_t keys;

	wrk_script(op, script, sizeof(script));
	snprintf(tbuf, sizeof(tbuf), "%d", threads);
	snprintf(cbuf, sizeof(cbuf), "%d", conc);
	snprintf(dbuf, sizeof(dbuf), "%ds", opt.wrk_seconds);
	snprintf(pbuf, sizeof(pbuf), "%d", conc / threads);
	if (spawn_read(argv, out, sizeof(out), why, sizeof(why)) < 0 || !(res = strstr(out, "wrk-result ")) ||
	    sscanf(res, "wrk-result requests=%llu duration_us=%llu errors=%llu", &reqs, &us, &errors) != 3 || us == 0) {
		tally_error(t, "wrk: %s", why[0] ? why : out);
		return;
	}
	cpu = cpu_seconds(RUSAGE_CHILDREN) - cpu0;
	t->ops += reqs;
	t->total += reqs;
	t->seconds += (double)us / 1e6;
	t->cpu += cpu;
	if (errors)
		tally_error(t, "%.*s", (int)strcspn(res, "\n"), res);
	if (op == OP_CREATE && (keys = count_keys(prefix)) < (int64_t)reqs)
		tally_error(t, "wrk: %llu creates answered but %lld keys written", reqs, (long long)keys);
	note("wrk      %s c=%d -t%d: %.0f op/s errors=%llu cpu=%.0f us/op", op_names[op], conc, threads,
	     (double)reqs * 1e6 / (double)us, errors, reqs ? cpu * 1e6 / (double)reqs : 0.0);
}

static void
tally_add(struct tally *to, const struct tally *from)
{
	if (from->errors && !to->first_err[0])
		snprintf(to->first_err, sizeof(to->first_err), "%s", from->first_err);
	to->errors += from->errors;
}

/* Rounds of one library run and one wrk run (ABBA), then the medians and
 * the median of the rounds' ratios with its range. */
static void
bench_wrk_case(enum bench_op op, int conc)
{
	double s[32], w[32], q[32], lo = 0, hi = 0;
	struct tally serr = {0}, werr = {0};
	char name[64], prefix[128];
	int n = 0;

	snprintf(name, sizeof(name), "etcd-%s c=%d", op == OP_PUT ? "put" : "txn", conc);
	if (!wrk_check(op))
		return;
	for (int r = 0; r < opt.wrk_rounds; r++) {
		struct tally ts = {0}, tw = {0};

		for (int k = 0; k < 2; k++) {
			int skiff = (k == 0) == (r % 2 == 0);

			snprintf(prefix, sizeof(prefix), "/skiff-bench/%d/wrk-%s/c%d/%s%d/", (int)getpid(),
			         op_names[op], conc, skiff ? "s" : "w", r);
			if (skiff)
				run_skiff(op, conc, prefix, opt.wrk_seconds, &ts);
			else
				run_wrk(op, conc, prefix, &tw);
			wipe(prefix);
		}
		tally_add(&serr, &ts);
		tally_add(&werr, &tw);
		if (rate(&ts) > 0 && rate(&tw) > 0) {
			s[n] = rate(&ts), w[n] = rate(&tw), q[n] = s[n] / w[n];
			n++;
		}
	}
	if (n > 0)
		bench_range(q, n, &lo, &hi);
	printf("%s: skiff=%.0f op/s wrk=%.0f op/s ratio=%.2f (%.2f-%.2f over %d rounds)\n", name, bench_median(s, n),
	       bench_median(w, n), bench_median(q, n), lo, hi, n);
	fflush(stdout);
	report_errors(name, "skiff", &serr);
	report_errors(name, "wrk", &werr);
}

/* ------------------------------------------------------------------------
 * Watch latency: put -> watch callback, one put at a time.
 */
struct wlat {
	int created, error;
	int put_done, seen;
	char want[160];
	double t0, t_seen;
	struct tally t;
};

static void
wlat_watch_cb(struct etcd_watch *w, const struct etcd_watch_msg *m, void *arg)
{
	struct wlat *l = arg;
	double now = mono();
	size_t i;

	(void)w;
	switch (m->kind) {
	case ETCD_WATCH_CREATED: l->created = 1; break;
	case ETCD_WATCH_EVENTS:
		for (i = 0; i < m->nevents; i++) {
			if (!l->seen && l->want[0] && strcmp(m->events[i].kv.key, l->want) == 0) {
				l->seen = 1;
				l->t_seen = now;
			}
		}
		break;
	case ETCD_WATCH_PROGRESS: break;
	case ETCD_WATCH_RETRYING:
	case ETCD_WATCH_ERROR:
		tally_error(&l->t, "watch %s: %s", m->kind == ETCD_WATCH_ERROR ? "error" : "retrying",
		            m->err ? m->err->msg : "?");
		if (m->kind == ETCD_WATCH_ERROR)
			l->error = 1;
		break;
	}
}

static void
wlat_put_cb(struct etcd_result *res, void *arg)
{
	struct wlat *l = arg;

	if (res->err.code != ETCD_OK)
		tally_error(&l->t, "put: %s: %s", etcd_code_name(res->err.code), res->err.msg);
	l->put_done = res->err.code == ETCD_OK ? 1 : -1;
}

/* Wakes the loop so that the waits below can notice their deadlines. */
static void
tick_cb(struct ev_loop *l, ev_timer *w, int revents)
{
	(void)l;
	(void)w;
	(void)revents;
}

static void
bench_watch(void)
{
	struct etcd_watch_opts wo = {.prefix = 1};
	struct wlat l = {0};
	struct etcd_error err;
	struct etcd_watch *w;
	ev_timer tick;
	char prefix[96];
	double *lat, deadline;
	int i, n = 0;

	lat = calloc((size_t)opt.watch_puts, sizeof(*lat));
	if (!lat) {
		fprintf(stderr, "etcd-watch: out of memory\n");
		failed = 1;
		return;
	}
	snprintf(prefix, sizeof(prefix), "/skiff-bench/%d/watch/", (int)getpid());
	w = etcd_watch_start(client, prefix, &wo, wlat_watch_cb, &l, &err);
	if (!w) {
		fprintf(stderr, "etcd-watch: watch refused: %s\n", err.msg);
		failed = 1;
		free(lat);
		return;
	}
	ev_timer_init(&tick, tick_cb, 0.1, 0.1);
	ev_timer_start(loop, &tick);
	deadline = mono() + 10;
	while (!l.created && !l.error && mono() < deadline)
		ev_run(loop, EVRUN_ONCE);
	if (!l.created)
		tally_error(&l.t, "watch not created within 10 s");
	for (i = 0; l.created && !l.error && i < opt.watch_puts; i++) {
		snprintf(l.want, sizeof(l.want), "%sk%d", prefix, i);
		l.put_done = l.seen = 0;
		l.t0 = mono();
		if (etcd_put(client, l.want, value, opt.value_size, NULL, wlat_put_cb, &l, &err) < 0) {
			tally_error(&l.t, "put refused: %s", err.msg);
			break;
		}
		deadline = l.t0 + 10;
		while ((!l.put_done || !l.seen) && !l.error && l.put_done >= 0 && mono() < deadline)
			ev_run(loop, EVRUN_ONCE);
		if (l.seen)
			lat[n++] = (l.t_seen - l.t0) * 1e6;
		else
			tally_error(&l.t, "no watch event for %s within 10 s", l.want);
	}
	ev_timer_stop(loop, &tick);
	etcd_watch_cancel(w);
	wipe(prefix);
	if (n > 0) {
		bench_sort(lat, n);
		printf("etcd-watch latency: p50=%.0f µs p99=%.0f µs\n", bench_percentile(lat, n, 50),
		       bench_percentile(lat, n, 99));
		note("watch: %d samples, min=%.0f us max=%.0f us", n, lat[0], lat[n - 1]);
	} else {
		printf("etcd-watch latency: p50=- µs p99=- µs\n");
	}
	fflush(stdout);
	report_errors("etcd-watch", "skiff", &l.t);
	if (n < opt.watch_puts)
		failed = 1;
	free(lat);
}

/* ------------------------------------------------------------------------ */
static void
usage(int code)
{
	fprintf(code ? stderr : stdout,
	        "usage: etcd_bench [-v] [--endpoint URL] [--seconds S] [--warmup S]\n"
	        "                  [--concurrency 1,8,64] [--cases put,txn,watch] [--watch-puts N]\n"
	        "                  [--value-size BYTES] [--baseline PATH] [--python PROG] [--no-baseline]\n"
	        "                  [--wrk PROG] [--wrk-dir DIR] [--wrk-concurrency 8,64] [--wrk-rounds N]\n"
	        "                  [--wrk-seconds N] [--wrk-threads N] [--no-wrk]\n"
	        "  --endpoint    etcd to use (default $ETCD_ENDPOINT)\n"
	        "  --seconds     measured seconds per client per case (default $BENCH_SECONDS or 3)\n"
	        "  --baseline    the baseline client (default bench/baseline_etcd.py)\n"
	        "  --no-baseline run the library only (baseline and ratio print as 0)\n"
	        "  --wrk         the gateway's ceiling next to the library (default wrk; the scripts\n"
	        "                etcd_put.lua and etcd_txn.lua in --wrk-dir, default bench)\n"
	        "  --wrk-rounds  rounds of one library and one wrk run each (default 4, at least 3);\n"
	        "                --wrk-seconds (whole, default 2) each; --wrk-threads 0: 1 below 64\n"
	        "                connections, else 2\n"
	        "  --no-wrk      no wrk comparison\n"
	        "Writes and then deletes keys under /skiff-bench/, and compacts the store.\n");
	exit(code);
}

/* "8,64" into v[0..8); the count, or -1 when a number is below 1. */
static int
parse_list(const char *arg, int *v)
{
	char *s = strdup(arg), *tok, *save;
	int n = 0;

	for (tok = s ? strtok_r(s, ",", &save) : NULL; tok && n < 8; tok = strtok_r(NULL, ",", &save))
		if ((v[n++] = atoi(tok)) < 1)
			n = -9;
	free(s);
	return n > 0 ? n : -1;
}

static void
parse_option(int ch)
{
	switch (ch) {
	case 'e': opt.endpoint = optarg; break;
	case 's': opt.seconds = atof(optarg); break;
	case 'w': opt.warmup = atof(optarg); break;
	case 'n': opt.watch_puts = atoi(optarg); break;
	case 'V': opt.value_size = (size_t)atol(optarg); break;
	case 'b': opt.baseline = optarg; break;
	case 'p': opt.python = optarg; break;
	case 'v': opt.verbose = 1; break;
	case 'N': opt.no_baseline = 1; break;
	case 'h': usage(0); break;
	case 'c': opt.nconc = parse_list(optarg, opt.conc); break;
	case 'W': opt.wrk = optarg; break;
	case 'D': opt.wrk_dir = optarg; break;
	case 'K': opt.nwrk_conc = parse_list(optarg, opt.wrk_conc); break;
	case 'R': opt.wrk_rounds = atoi(optarg); break;
	case 'S': opt.wrk_seconds = atoi(optarg); break;
	case 'T': opt.wrk_threads = atoi(optarg); break;
	case 'X': opt.wrk = NULL; break;
	case 'C':
		opt.do_put = strstr(optarg, "put") != NULL;
		opt.do_txn = strstr(optarg, "txn") != NULL;
		opt.do_watch = strstr(optarg, "watch") != NULL;
		break;
	default: usage(2);
	}
}

static void
parse_args(int argc, char **argv)
{
	static const struct option lo[] = {{"endpoint", required_argument, NULL, 'e'},
	                                   {"seconds", required_argument, NULL, 's'},
	                                   {"warmup", required_argument, NULL, 'w'},
	                                   {"concurrency", required_argument, NULL, 'c'},
	                                   {"cases", required_argument, NULL, 'C'},
	                                   {"watch-puts", required_argument, NULL, 'n'},
	                                   {"value-size", required_argument, NULL, 'V'},
	                                   {"baseline", required_argument, NULL, 'b'},
	                                   {"python", required_argument, NULL, 'p'},
	                                   {"help", no_argument, NULL, 'h'},
	                                   {"no-baseline", no_argument, NULL, 'N'},
	                                   {"wrk", required_argument, NULL, 'W'},
	                                   {"wrk-dir", required_argument, NULL, 'D'},
	                                   {"wrk-concurrency", required_argument, NULL, 'K'},
	                                   {"wrk-rounds", required_argument, NULL, 'R'},
	                                   {"wrk-seconds", required_argument, NULL, 'S'},
	                                   {"wrk-threads", required_argument, NULL, 'T'},
	                                   {"no-wrk", no_argument, NULL, 'X'},
	                                   {NULL, 0, NULL, 0}};
	char probe[600];
	int ch;

	opt.endpoint = getenv("ETCD_ENDPOINT");
	opt.seconds = getenv("BENCH_SECONDS") ? atof(getenv("BENCH_SECONDS")) : 3.0;
	opt.warmup = 0.3;
	opt.baseline = "bench/baseline_etcd.py";
	opt.python = "python3";
	opt.watch_puts = 1000;
	opt.value_size = 128;
	opt.do_put = opt.do_txn = opt.do_watch = 1;
	opt.conc[0] = 1, opt.conc[1] = 8, opt.conc[2] = 64, opt.nconc = 3;
	opt.wrk = "wrk";
	opt.wrk_dir = "bench";
	opt.wrk_conc[0] = 8, opt.wrk_conc[1] = 64, opt.nwrk_conc = 2;
	opt.wrk_rounds = 4;
	opt.wrk_seconds = 2;
	while ((ch = getopt_long(argc, argv, "vh", lo, NULL)) != -1)
		parse_option(ch);
	if (optind != argc || !opt.endpoint || opt.seconds <= 0 || opt.warmup < 0 || opt.watch_puts < 1 ||
	    opt.nconc <= 0 || opt.value_size > (1 << 20) || opt.nwrk_conc <= 0 || opt.wrk_rounds < 3 ||
	    opt.wrk_rounds > 32 || opt.wrk_seconds < 1 || opt.wrk_threads < 0)
		usage(2);
	if ((opt.do_put || opt.do_txn) && !opt.no_baseline && access(opt.baseline, R_OK) != 0) {
		fprintf(stderr, "etcd-bench: baseline %s: %s\n", opt.baseline, strerror(errno));
		exit(2);
	}
	/* The scripts send 128-byte values: so must the library then. */
	snprintf(probe, sizeof(probe), "%s/etcd_put.lua", opt.wrk_dir);
	if (opt.wrk && (opt.do_put || opt.do_txn) && (opt.value_size != 128 || access(probe, R_OK) != 0)) {
		fprintf(stderr, "etcd-bench: the wrk comparison needs %s and --value-size 128 (or --no-wrk)\n", probe);
		exit(2);
	}
}

int
main(int argc, char **argv)
{
	struct etcd_config cfg = {0};
	struct etcd_error err;
	int i;

	parse_args(argc, argv);
	signal(SIGPIPE, SIG_IGN);
	value = malloc(opt.value_size + 1);
	if (!value)
		return 1;
	memset(value, 'x', opt.value_size);
	loop = ev_default_loop(0);
	cfg.endpoints = opt.endpoint;
	client = etcd_client_new(loop, &cfg, &err);
	if (!client) {
		fprintf(stderr, "etcd-bench: %s: %s\n", opt.endpoint, err.msg);
		return 1;
	}
	for (i = 0; opt.do_put && i < opt.nconc; i++)
		bench_case(OP_PUT, opt.conc[i]);
	for (i = 0; opt.do_txn && i < opt.nconc; i++)
		bench_case(OP_TXN, opt.conc[i]);
	for (i = 0; opt.wrk && opt.do_put && i < opt.nwrk_conc; i++)
		bench_wrk_case(OP_PUT, opt.wrk_conc[i]);
	for (i = 0; opt.wrk && opt.do_txn && i < opt.nwrk_conc; i++)
		bench_wrk_case(OP_CREATE, opt.wrk_conc[i]);
	if (opt.do_watch)
		bench_watch();
	etcd_client_free(client);
	free(value);
	return failed;
}
