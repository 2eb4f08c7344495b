/*
 * rollout_bench.c: does a service lose requests while its application
 * changes? On three minions of tests/cluster (root), a Deployment "web" of
 * 8 pods of nginx (skiff/test-nginx from scripts/nginx-image.sh: a listen
 * backlog of 4096, one worker, answers "pod=HOSTNAME"; readinessProbe
 * httpGet / on port 80 every 1 s) behind a service;
 * bench/rollout_client in minion 1's namespace sends 200 requests/s to the
 * cluster IP, each on a fresh connection with a 2 s deadline. Phases, each
 * until the Deployment is complete again (status updated = available =
 * replicas, the endpoints hold exactly the replicas, no stopped pod's
 * containers left):
 *   rollout     the template's image becomes a second tag of that image
 *   scale-down  skiffctl scale deployment/web 8 -> 2, then back to 8
 *   drain       skiffctl drain m2, then uncordon
 *   delete      skiffctl delete pod (one of them)
 * Then the same on a new bed without the readiness probe and with the
 * agents' stop ordering off (--stop-ordering=false through
 * SKIFF_CLUSTER_AGENT_ARGS): the baseline.
 *   rollout zero-downtime: requests=N failed=F (rollout f1, scale-down f2, drain f3, delete f4) p99=… ms
 *   rollout baseline (no readiness, no stop ordering): requests=N failed=F (...) p99=… ms
 * p99 is over every request of the phases, a failed one counted with the
 * time it took to fail. A third line per run says how the failures failed
 * (refused, reset, timeout, ...) and how many of 5 s of steady load before
 * the phases failed; a fourth how many SYNs the pods themselves dropped
 * per phase because their listen queue was full (a server with a short
 * backlog that is starved of CPU drops connections, which the client sees
 * as timeouts whatever Skiff does: busybox httpd's 9 did, hence nginx);
 * -v writes the client's lines to /tmp/rollout-bench-{graceful,baseline}.log.
 *   rollout_bench [-v] [--no-graceful | --graceful-only]
 * $ROLLOUT_BENCH_RATE changes the 200 requests a second (a machine too
 * small or too busy to serve 200 a second while containers start shows
 * its own failures, not the stop ordering's: see bench/README).
 * The pods stop as nginx is meant to stop: the image's STOPSIGNAL is
 * SIGQUIT (graceful: close the listening socket, finish what is in
 * flight), which the agent's Docker stop sends once the pod has left the
 * endpoints and the proxies have caught up. No preStop hook: the common
 * Kubernetes `preStop: exec nginx -s quit` sends the same SIGQUIT but is
 * followed at once by SIGTERM, nginx's fast shutdown, which cuts the
 * requests in flight; and Skiff's stop ordering is what a preStop sleep
 * stands in for there.
 * It uses the bed's own etcd, not $ETCD_ENDPOINT. Prints "skipped" when
 * not root. Exit 0 whatever F is; 1 only when it cannot run (the bed, the
 * client, or a phase that never completes).
 */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "bench_stats.h"
#include "e2e_bed.h"

#define NMIN 3
#define REPLICAS 8
#define RATE "200" /* requests a second, unless $ROLLOUT_BENCH_RATE */
#define NAME "web"
#define IMAGE_A "skiff/test-nginx:latest"
#define IMAGE_B "skiff/test-nginx:rollout"
#define PHASE_WAIT 300 /* seconds a phase may take */
#define STEADY 5       /* seconds of load before the phases */

static const char *const PHASES[] = {"rollout", "scale-down", "drain", "delete"};
#define NPHASES 4

struct result {
	double start, lat;
	int phase, ok; /* phase: index in PHASES, -1 other */
	int steady;    /* in the steady window before the phases */
	char kind[12], pod[64];
};

static struct {
	pthread_mutex_t mu;
	struct result *r;
	size_t n, cap;
	int ok; /* answers so far */
} R = {.mu = PTHREAD_MUTEX_INITIALIZER};

static int VERBOSE;

/* ---------------------------------------------------------------- queues */

/* How many connections the pods dropped because their listen queue was
 * full: TcpExt ListenOverflows of each pod's network namespace (a server
 * with a short backlog that cannot accept for a few tenths of a second
 * drops SYNs; the client sends them again after 1 s and 3 s, past its 2 s
 * deadline). A thread reads the counter every 0.25 s from
 * /proc/PID/net/netstat of the bed's nginx master processes (root
 * under the bed's state directory); a pod's last value is kept once it is
 * gone, so the sums are lower bounds (a stopped pod's last 0.25 s is
 * missed). Marks taken at each phase's start give the per-phase counts. */
#define QMAX 512
#define QMARKS (NPHASES + 2) /* steady, the phases, end */

static struct {
	pthread_mutex_t mu;
	pthread_t th;
	int on, stop, n;
	unsigned long ino[QMAX]; /* network namespaces seen */
	long long val[QMAX];     /* their last ListenOverflows */
	long long mark[QMARKS];
	int marked[QMARKS];
} Q = {.mu = PTHREAD_MUTEX_INITIALIZER};

/* ListenOverflows in /proc/PID/net/netstat; -1 when unreadable. */
static long long
q_overflows(const char *pid)
{
	char path[64], names[4096], vals[4096];
	long long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%s/net/netstat", pid);
	if (!(f = fopen(path, "r")))
		return -1;
	while (v < 0 && fgets(names, sizeof(names), f) && fgets(vals, sizeof(vals), f)) {
		char *sn, *sv, *n = strtok_r(names, " \n", &sn), *x = strtok_r(vals, " \n", &sv);

		if (!n || strcmp(n, "TcpExt:") != 0)
			continue;
		while ((n = strtok_r(NULL, " \n", &sn)) && (x = strtok_r(NULL, " \n", &sv)))
			if (strcmp(n, "ListenOverflows") == 0) {
				v = atoll(x);
				break;
			}
	}
	fclose(f);
	return v;
}

/* Process pid is one of the bed's nginx masters: its namespace inode. Its
 * root (the first line of its mountinfo: an overlay whose directories
 * are under the bed's), since readlink of /proc/PID/root says "/" for a
 * process in another mount namespace. */
static unsigned long
q_server_ns(const char *pid, const char *dir)
{
	char path[64], buf[4096];
	struct stat st;
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%s/cmdline", pid);
	if (!(f = fopen(path, "r")))
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	if (n < 21 || memcmp(buf, "nginx: master process", 21) != 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/%s/mountinfo", pid);
	if (!(f = fopen(path, "r")))
		return 0;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = '\0';
	fclose(f);
	snprintf(path, sizeof(path), "/proc/%s/ns/net", pid);
	if (!strstr(buf, dir) || stat(path, &st) < 0)
		return 0;
	return (unsigned long)st.st_ino;
}

static void
q_scan(const char *dir)
{
	DIR *d = opendir("/proc");
	struct dirent *e;

	while (d && (e = readdir(d))) {
		unsigned long ino;
		long long v;
		int k;

		if (e->d_name[0] < '0' || e->d_name[0] > '9' || !(ino = q_server_ns(e->d_name, dir)))
			continue;
		if ((v = q_overflows(e->d_name)) < 0)
			continue;
		pthread_mutex_lock(&Q.mu);
		for (k = 0; k < Q.n && Q.ino[k] != ino; k++)
			;
		if (k < QMAX) {
			Q.ino[k] = ino;
			Q.val[k] = v > Q.val[k] || k == Q.n ? v : Q.val[k];
			Q.n += k == Q.n;
		}
		pthread_mutex_unlock(&Q.mu);
	}
	if (d)
		closedir(d);
}

static void *
q_thread(void *arg)
{
	const char *dir = arg;
	struct timespec ts = {0, 250 * 1000 * 1000};

	for (;;) {
		pthread_mutex_lock(&Q.mu);
		int stop = Q.stop;

		pthread_mutex_unlock(&Q.mu);
		if (stop)
			return NULL;
		q_scan(dir);
		nanosleep(&ts, NULL);
	}
}

static char QDIR[256]; /* the bed's state directory, with a '/' */

static void
q_start(void)
{
	const char *d = getenv("SKIFF_CLUSTER_DIR");

	snprintf(QDIR, sizeof(QDIR), "%s/", d && *d ? d : "/run/skiff-cluster");
	memset(Q.val, 0, sizeof(Q.val));
	memset(Q.marked, 0, sizeof(Q.marked));
	Q.n = 0, Q.stop = 0;
	Q.on = pthread_create(&Q.th, NULL, q_thread, QDIR) == 0;
}

static void
q_stop(void)
{
	if (!Q.on)
		return;
	pthread_mutex_lock(&Q.mu);
	Q.stop = 1;
	pthread_mutex_unlock(&Q.mu);
	pthread_join(Q.th, NULL);
	Q.on = 0;
}

/* Mark m (0 steady, 1.. the phases, QMARKS - 1 the end): the sum now,
 * after a scan, so that what came before is counted before it. */
static void
q_mark(int m)
{
	long long sum = 0;

	if (!Q.on || m < 0 || m >= QMARKS)
		return;
	q_scan(QDIR);
	pthread_mutex_lock(&Q.mu);
	for (int k = 0; k < Q.n; k++)
		sum += Q.val[k];
	Q.mark[m] = sum;
	Q.marked[m] = 1;
	pthread_mutex_unlock(&Q.mu);
}

/* Mark m's count: up to the next mark (-1 when either is missing). */
static long long
q_count(int m)
{
	return Q.marked[m] && Q.marked[m + 1] ? Q.mark[m + 1] - Q.mark[m] : -1;
}

/* ---------------------------------------------------------------- client */

static int
phase_index(const char *s)
{
	for (int i = 0; i < NPHASES; i++)
		if (strcmp(s, PHASES[i]) == 0)
			return i;
	return -1;
}

static FILE *RAW; /* -v: the client's lines as they came */

static void
take_line(const char *line)
{
	struct result x = {0};
	char phase[32];

	if (RAW)
		fputs(line, RAW);

	if (sscanf(line, "%lf %31s %*s %11s %lf %63s", &x.start, phase, x.kind, &x.lat, x.pod) != 5)
		return;
	x.phase = phase_index(phase);
	x.steady = strcmp(phase, "steady") == 0;
	x.ok = strcmp(x.kind, "ok") == 0;
	pthread_mutex_lock(&R.mu);
	if (R.n == R.cap) {
		size_t cap = R.cap ? R.cap * 2 : 4096;
		struct result *r = realloc(R.r, cap * sizeof(*r));

		if (!r) {
			pthread_mutex_unlock(&R.mu);
			return;
		}
		R.r = r, R.cap = cap;
	}
	R.r[R.n++] = x;
	R.ok += x.ok;
	pthread_mutex_unlock(&R.mu);
}

static void *
reader(void *arg)
{
	FILE *f = fdopen((int)(intptr_t)arg, "r");
	char line[256];

	while (f && fgets(line, sizeof(line), f))
		take_line(line);
	if (f)
		fclose(f);
	return NULL;
}

struct client {
	pid_t pid;
	int in; /* its stdin: phase names */
	pthread_t th;
};

/* rollout_client in minion 1's namespace against cip:80. */
static int
client_start(struct client *cl, const char *cip)
{
	int in[2], out[2];

	if (pipe(in) < 0 || pipe(out) < 0)
		return -1;
	if ((cl->pid = fork()) < 0)
		return -1;
	if (cl->pid == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		close(in[0]), close(in[1]), close(out[0]), close(out[1]);
		const char *rate = getenv("ROLLOUT_BENCH_RATE");

		execl("tests/cluster", "tests/cluster", "exec", "1", "build/bench/rollout_client", cip, "80",
		      rate && *rate ? rate : RATE, "2", (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	cl->in = in[1];
	return pthread_create(&cl->th, NULL, reader, (void *)(intptr_t)out[0]) == 0 ? 0 : -1;
}

static void
client_phase(struct client *cl, const char *phase)
{
	int i = phase_index(phase);

	q_mark(i >= 0 ? i + 1 : strcmp(phase, "steady") == 0 ? 0 : strcmp(phase, "end") == 0 ? QMARKS - 1 : -1);
	if (dprintf(cl->in, "%s\n", phase) < 0)
		fprintf(stderr, "rollout: the client is gone (%s)\n", strerror(errno));
	if (VERBOSE)
		fprintf(stderr, "rollout: %.1f phase %s\n", bed_now(), phase);
}

/* Stdin closed: it finishes what is in flight and exits. 0 when it exited 0. */
static int
client_stop(struct client *cl)
{
	int st = 0;

	close(cl->in);
	pthread_join(cl->th, NULL);
	waitpid(cl->pid, &st, 0);
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

static int
answers(void)
{
	int n;

	pthread_mutex_lock(&R.mu);
	n = R.ok;
	pthread_mutex_unlock(&R.mu);
	return n;
}

/* ---------------------------------------------------------------- objects */

static json_t *
deployment(int replicas, const char *image, int probe)
{
	json_t *c = json_pack("{s:s, s:s, s:s, s:[{s:s, s:i, s:s}], s:{s:{s:s, s:s}}}", "name", "nginx", "image", image,
	                      "imagePullPolicy", "Never", "ports", "name", "http", "containerPort", 80, "protocol",
	                      "TCP", "resources", "requests", "cpu", "50m", "memory", "8Mi");

	if (c && probe)
		json_object_set_new(
			c, "readinessProbe",
			json_pack("{s:{s:s, s:i}, s:i}", "httpGet", "path", "/", "port", 80, "periodSeconds", 1));
	return json_pack("{s:s, s:s, s:{s:s}, s:{s:i, s:{s:{s:s}}, s:{s:{s:{s:s}}, s:{s:[o], s:i}}}}", "apiVersion",
	                 "apps/v1", "kind", "Deployment", "metadata", "name", NAME, "spec", "replicas", replicas,
	                 "selector", "matchLabels", "app", NAME, "template", "metadata", "labels", "app", NAME, "spec",
	                 "containers", c, "terminationGracePeriodSeconds", 30);
}

static int
put_deployment(const char *image, int probe)
{
	json_t *d = deployment(REPLICAS, image, probe);
	int rc = d ? bed_put_json("deployments/" NAME, d) : -1;

	json_decref(d);
	return rc;
}

static int
put_service(void)
{
	json_t *s = json_pack("{s:s, s:s, s:{s:s}, s:{s:{s:s}, s:[{s:s, s:i, s:i, s:s}]}}", "apiVersion", "v1", "kind",
	                      "Service", "metadata", "name", NAME, "spec", "selector", "app", NAME, "ports", "name",
	                      "http", "port", 80, "targetPort", 80, "protocol", "TCP");
	int rc = s ? bed_put_json("services/" NAME, s) : -1;

	json_decref(s);
	return rc;
}

static int
skiffctl(const char *args)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "build/bin/skiffctl %s --etcd-endpoints=%s --prefix=%s%s", args, bed_etcd(),
	         bed_prefix(), VERBOSE ? "" : " >/dev/null");
	if (system(cmd) == 0)
		return 0;
	fprintf(stderr, "rollout: failed: %s\n", cmd);
	return -1;
}

/* ---------------------------------------------------------------- waits */

static long long
jint(json_t *j, const char *k)
{
	return (long long)json_integer_value(json_object_get(j, k));
}

/* The status answers for the deployment as it is now and says done. */
static int
status_done(int replicas)
{
	long long mod = 0;
	json_t *d = bed_get("deployments/" NAME, &mod), *s = bed_get("deploymentstatus/" NAME, NULL);
	int ok = d && s && jint(s, "observedRevision") >= mod && jint(s, "replicas") == replicas &&
	         jint(s, "updatedReplicas") == replicas && jint(s, "availableReplicas") == replicas;

	json_decref(d);
	json_decref(s);
	return ok;
}

/* The containers left on the minions (a pod's app and sandbox: 2). */
static int
containers(void)
{
	int n = 0;

	for (int i = 1; i <= NMIN; i++)
		n += bed_pod_containers(i);
	return n;
}

/* Complete: the status, then the endpoints, then the stopped pods gone. */
static int
wait_complete(int replicas, const char *what)
{
	double t0 = bed_now(), end = t0 + PHASE_WAIT;
	struct bed_eps e;

	for (;;) {
		bed_eps_get(NAME, &e);
		if (status_done(replicas) && e.n == replicas && containers() == 2 * replicas)
			break;
		if (bed_now() > end) {
			char buf[2048];

			bed_eps_str(&e, buf, sizeof(buf));
			fprintf(stderr, "rollout: %s not complete after %d s (containers %d; endpoints %s)\n", what,
			        PHASE_WAIT, containers(), buf);
			return -1;
		}
		usleep(200 * 1000);
	}
	if (VERBOSE)
		fprintf(stderr, "rollout: %s complete in %.1f s\n", what, bed_now() - t0);
	return 0;
}

/* Some answers through the service before the phases start (60 s). */
static int
wait_answers(void)
{
	double end = bed_now() + 60;

	while (answers() < 50) {
		if (bed_now() > end) {
			fprintf(stderr, "rollout: the service did not answer the client within 60 s\n");
			return -1;
		}
		usleep(100 * 1000);
	}
	return 0;
}

static int
cluster_ip(char *cip, size_t len)
{
	struct bed_eps e;

	bed_eps_get(NAME, &e);
	snprintf(cip, len, "%s", e.cip);
	if (!cip[0])
		fprintf(stderr, "rollout: the service has no cluster IP\n");
	return cip[0] ? 0 : -1;
}

/* ---------------------------------------------------------------- phases */

/* One pod deleted; 0 once its key and its address are gone (60 s). */
static int
phase_delete(void)
{
	char names[64][128], args[256], key[160];
	double end = bed_now() + 60;
	struct bed_eps e;
	json_t *p;

	if (bed_list("pods/", names, 64) < 1)
		return -1;
	snprintf(args, sizeof(args), "delete pod %s", names[0]);
	snprintf(key, sizeof(key), "pods/%s", names[0]);
	if (skiffctl(args) < 0)
		return -1;
	for (;;) {
		p = bed_get(key, NULL);
		bed_eps_get(NAME, &e);
		json_decref(p);
		if (!p && !bed_eps_has(&e, names[0]))
			return 0;
		if (bed_now() > end) {
			fprintf(stderr, "rollout: pod %s still there 60 s after its delete\n", names[0]);
			return -1;
		}
		usleep(100 * 1000);
	}
}

/* The four phases with the client told which one runs; before them 5 s
 * of steady load, to tell failures of the phases from a steady rate. */
static int
phases(struct client *cl, int graceful)
{
	double end;

	client_phase(cl, "steady");
	for (end = bed_now() + STEADY; bed_now() < end;)
		usleep(100 * 1000);
	client_phase(cl, "rollout");
	if (put_deployment(IMAGE_B, graceful) < 0 || wait_complete(REPLICAS, "rollout") < 0)
		return -1;
	client_phase(cl, "scale-down");
	if (skiffctl("scale deployment/" NAME " --replicas=2") < 0 || wait_complete(2, "scale to 2") < 0 ||
	    skiffctl("scale deployment/" NAME " --replicas=8") < 0 || wait_complete(REPLICAS, "scale to 8") < 0)
		return -1;
	client_phase(cl, "drain");
	if (skiffctl("drain m2") < 0 || skiffctl("uncordon m2") < 0 || wait_complete(REPLICAS, "drain") < 0)
		return -1;
	client_phase(cl, "delete");
	if (phase_delete() < 0 || wait_complete(REPLICAS, "delete") < 0)
		return -1;
	client_phase(cl, "end");
	return 0;
}

/* ---------------------------------------------------------------- report */

/* The failures of the steady window; *n gets its requests. */
static int
steady_failed(int *n)
{
	int f = 0;

	*n = 0;
	for (size_t i = 0; i < R.n; i++) {
		*n += R.r[i].steady;
		f += R.r[i].steady && !R.r[i].ok;
	}
	return f;
}

static void
report(const char *label)
{
	int n = 0, f = 0, fp[NPHASES] = {0}, sf, sn;
	double *lat = malloc((R.n + 1) * sizeof(*lat));
	char kinds[512] = "";
	size_t kl = 0;
	const char *const names[] = {"refused", "reset", "timeout", "closed", "status", "error"};

	for (size_t i = 0; lat && i < R.n; i++) {
		const struct result *x = &R.r[i];

		if (x->phase < 0)
			continue;
		lat[n++] = x->lat;
		f += !x->ok;
		fp[x->phase] += !x->ok;
	}
	bench_sort(lat, n);
	printf("rollout %s: requests=%d failed=%d (rollout %d, scale-down %d, drain %d, delete %d) p99=%.1f ms\n",
	       label, n, f, fp[0], fp[1], fp[2], fp[3], n ? bench_percentile(lat, n, 99) : 0.0);
	for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
		int c = 0;

		for (size_t i = 0; i < R.n; i++)
			c += R.r[i].phase >= 0 && strcmp(R.r[i].kind, names[k]) == 0;
		kl += (size_t)snprintf(kinds + kl, sizeof(kinds) - kl, " %s=%d", names[k], c);
	}
	sf = steady_failed(&sn);
	printf("rollout %s failures by kind:%s; steady load before: %d of %d failed\n", label, kinds, sf, sn);
	printf("rollout %s SYNs the pods dropped, listen queue full (at least): rollout %lld, scale-down %lld, drain "
	       "%lld, delete %lld; steady %lld (queues of %d pods read)\n",
	       label, q_count(1), q_count(2), q_count(3), q_count(4), q_count(0), Q.n);
	fflush(stdout);
	free(lat);
}

/* ---------------------------------------------------------------- runs */

/* IMAGE_A into each minion's dockerd (scripts/nginx-image.sh; one after
 * the other, so that the first builds the root file system the others
 * reuse). */
static int
import_image(void)
{
	char cmd[1024];
	size_t l = (size_t)snprintf(cmd, sizeof(cmd), "for s in");

	for (int i = 1; i <= NMIN; i++)
		l += (size_t)snprintf(cmd + l, sizeof(cmd) - l, " %s", bed_docker(i));
	snprintf(cmd + l, sizeof(cmd) - l, "; do DOCKER_HOST=unix://$s scripts/nginx-image.sh || exit 1; done");
	if (system(cmd) == 0)
		return 0;
	fprintf(stderr, "rollout: importing %s failed: %s\n", IMAGE_A, cmd);
	return -1;
}

static int
run(int graceful)
{
	struct client cl = {0};
	char cip[64];
	int rc = -1, started = 0;

	R.n = 0, R.ok = 0;
	if (VERBOSE) {
		char path[64];

		snprintf(path, sizeof(path), "/tmp/rollout-bench-%s.log", graceful ? "graceful" : "baseline");
		if ((RAW = fopen(path, "w")))
			fprintf(stderr, "rollout: the client's lines go to %s\n", path);
	}
	setenv("SKIFF_CLUSTER_AGENT_ARGS", graceful ? "" : "--stop-ordering=false", 1);
	if (bed_up(NMIN, NULL) < 0)
		goto out;
	q_start();
	if (import_image() < 0 || bed_docker_tag(IMAGE_A, "skiff/test-nginx", "rollout") < 0 || put_service() < 0 ||
	    put_deployment(IMAGE_A, graceful) < 0 || wait_complete(REPLICAS, "the first rollout") < 0 ||
	    cluster_ip(cip, sizeof(cip)) < 0)
		goto out;
	if (client_start(&cl, cip) < 0)
		goto out;
	started = 1;
	client_phase(&cl, "warm");
	if (wait_answers() < 0 || phases(&cl, graceful) < 0)
		goto out;
	rc = 0;
out:
	if (started && client_stop(&cl) < 0) {
		fprintf(stderr, "rollout: the client failed\n");
		rc = -1;
	}
	q_stop(); /* the marks are taken; report reads Q alone */
	if (rc == 0)
		report(graceful ? "zero-downtime" : "baseline (no readiness, no stop ordering)");
	if (VERBOSE && system("cd ${SKIFF_CLUSTER_DIR:-/run/skiff-cluster} && tar czf /tmp/rollout-bench-logs.tgz "
	                      "*.log m*/agent.log m*/proxy.log") == 0)
		fprintf(stderr, "rollout: the bed's logs are in /tmp/rollout-bench-logs.tgz\n");
	bed_down(rc < 0);
	if (RAW)
		fclose(RAW);
	RAW = NULL;
	return rc;
}

int
main(int argc, char **argv)
{
	int graceful = 1, baseline = 1, rc = 0;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-v") == 0)
			VERBOSE = 1;
		else if (strcmp(argv[i], "--no-graceful") == 0)
			graceful = 0;
		else if (strcmp(argv[i], "--graceful-only") == 0)
			baseline = 0;
		else {
			fprintf(stderr, "usage: rollout_bench [-v] [--no-graceful | --graceful-only]\n");
			return 2;
		}
	}
	if (geteuid() != 0) {
		printf("rollout: skipped (not root: needs network namespaces and a dockerd per minion)\n");
		return 0;
	}
	signal(SIGPIPE, SIG_IGN);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (graceful)
		rc |= run(1);
	if (baseline && rc == 0)
		rc |= run(0);
	free(R.r);
	curl_global_cleanup();
	return rc < 0 ? 1 : 0;
}
