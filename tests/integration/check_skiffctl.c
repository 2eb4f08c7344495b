/*
 * check_skiffctl.c: the skiffctl binary against a real etcd. One etcd for
 * the suite; each test writes a cluster state under its own prefix with the
 * etcd client (pods, bindings, statuses, controllers, services, endpoints,
 * nodes, leases, events), runs build/bin/skiffctl as a child process and
 * checks its stdout, stderr, exit status and the keys it wrote.
 */
#include <check.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "etcd_harness.h"
#include "etcd_testutil.h"
#include "th_proc.h"

#ifndef SKIFFCTL
#define SKIFFCTL "build/bin/skiffctl"
#endif

static struct th_etcd *E;
static struct etcd_sync *S;
static char PFX[64], EP_ARG[600], PFX_ARG[80], TMP[64];

static void
setup(void)
{
	struct etcd_config cfg;
	struct etcd_error err = {0};

	ck_assert_ptr_nonnull(E);
	tu_config(E, &cfg);
	S = etcd_sync_new(&cfg, &err);
	ck_assert_ptr_nonnull(S);
	snprintf(PFX, sizeof(PFX), "/t%d", (int)getpid());
	snprintf(EP_ARG, sizeof(EP_ARG), "--etcd-endpoints=%s", th_etcd_endpoints(E));
	snprintf(PFX_ARG, sizeof(PFX_ARG), "--prefix=%s", PFX);
	snprintf(TMP, sizeof(TMP), "/tmp/check_skiffctl.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(TMP));
}

static void
teardown(void)
{
	char cmd[128];

	etcd_sync_free(S);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", TMP);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", TMP);
}

/* ---- cluster state ---- */

static int64_t
put(const char *rel, const char *val)
{
	char key[512];
	int64_t r;

	snprintf(key, sizeof(key), "%s/%s", PFX, rel);
	r = tu_put(S, key, val);
	ck_assert_msg(r > 0, "put %s", key);
	return r;
}

/* Create revision of PFX/rel, 0 when absent. */
static int64_t
create_rev(const char *rel)
{
	char key[512];
	struct etcd_result *r;
	int64_t c;

	snprintf(key, sizeof(key), "%s/%s", PFX, rel);
	r = etcd_sync_get(S, key);
	TU_OK(r);
	c = r->nkvs ? r->kvs[0].create_revision : 0;
	etcd_result_free(r);
	return c;
}

/* Value of PFX/rel as a new string, NULL when absent. */
static char *
value(const char *rel)
{
	char key[512], *v = NULL;
	struct etcd_result *r;

	snprintf(key, sizeof(key), "%s/%s", PFX, rel);
	r = etcd_sync_get(S, key);
	TU_OK(r);
	if (r->nkvs)
		v = strdup(r->kvs[0].value);
	etcd_result_free(r);
	return v;
}

static void putf(const char *rel, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void
putf(const char *rel, const char *fmt, ...)
{
	char val[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(val, sizeof(val), fmt, ap);
	va_end(ap);
	put(rel, val);
}

#define POD(labels) \
	"{\"metadata\":{\"labels\":" labels "},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"busybox\"}]}}"

/* A small cluster: web (bound to m1, CrashLoopBackOff, 4 restarts), lonely
 * (unbound, FailedScheduling event), stale (bound under an old uid: Pending),
 * run (Running, ready), controller apache (3 desired, status 2/1) owning
 * apache-aaaaa, service apache with one endpoint, node m1 (Ready, cordoned),
 * node m2 (no lease). */
static void
cluster(void)
{
	int64_t web, run, rc, ap;

	web = put("pods/web", POD("{\"app\":\"web\"}"));
	putf("bindings/m1/web",
	     "{\"node\":\"m1\",\"pod\":{\"metadata\":{\"name\":\"web\",\"uid\":\"%lld\"},"
	     "\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"busybox\",\"resources\":{\"requests\":{\"cpu\":\"250m\",\"memory\":\"64Mi\"}}}]}}}",
	     (long long)web);
	putf("podstatus/m1/web",
	     "{\"uid\":\"%lld\",\"phase\":\"Running\",\"podIP\":\"10.244.1.5\",\"hostIP\":\"198.51.100.11\","
	     "\"startTime\":\"2026-01-01T00:00:00Z\",\"containerStatuses\":[{\"name\":\"c\",\"ready\":false,"
	     "\"restartCount\":4,\"state\":{\"waiting\":{\"reason\":\"CrashLoopBackOff\"}}}]}",
	     (long long)web);
	put("pods/lonely", POD("{\"app\":\"lonely\"}"));
	put("events/pods/lonely/e1",
	    "{\"type\":\"Warning\",\"reason\":\"FailedScheduling\",\"message\":\"0/2 nodes are available: 2 node(s) "
	    "didn't match nodeSelector\",\"source\":\"scheduler\",\"firstTimestamp\":\"2026-01-01T00:00:00Z\","
	    "\"lastTimestamp\":\"2026-01-01T00:05:00Z\",\"count\":7}");
	put("pods/stale", POD("{\"app\":\"stale\"}"));
	put("bindings/m1/stale", "{\"node\":\"m1\",\"pod\":{\"metadata\":{\"name\":\"stale\",\"uid\":\"1\"},"
	                         "\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"busybox\"}]}}}");
	run = put("pods/run", POD("{\"app\":\"run\"}"));
	putf("bindings/m1/run",
	     "{\"node\":\"m1\",\"pod\":{\"metadata\":{\"name\":\"run\",\"uid\":\"%lld\"},"
	     "\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"busybox\"}]}}}",
	     (long long)run);
	putf("podstatus/m1/run",
	     "{\"uid\":\"%lld\",\"phase\":\"Running\",\"podIP\":\"10.244.1.6\",\"containerStatuses\":[{\"name\":\"c\","
	     "\"ready\":true,\"restartCount\":0,\"state\":{\"running\":{}}}]}",
	     (long long)run);
	rc = put("controllers/apache",
	         "{\"spec\":{\"replicas\":3,\"selector\":{\"app\":\"apache\"},\"template\":{\"metadata\":{\"labels\":"
	         "{\"app\":\"apache\"}},\"spec\":{\"containers\":[{\"name\":\"web\",\"image\":\"httpd:2.4\"}]}}}}");
	putf("controllerstatus/apache",
	     "{\"uid\":\"%lld\",\"observedRevision\":%lld,\"replicas\":2,\"readyReplicas\":1}", (long long)rc,
	     (long long)rc);
	ap = 0;
	putf("pods/apache-aaaaa",
	     "{\"metadata\":{\"labels\":{\"app\":\"apache\"},\"ownerReferences\":[{\"kind\":\"ReplicationController\","
	     "\"name\":\"apache\",\"uid\":\"%lld\",\"controller\":true}]},\"spec\":{\"containers\":[{\"name\":\"web\","
	     "\"image\":\"httpd:2.4\"}]}}",
	     (long long)rc);
	(void)ap;
	put("services/apache", "{\"spec\":{\"selector\":{\"app\":\"apache\"},\"ports\":[{\"name\":\"http\",\"port\":80,"
	                       "\"targetPort\":8080}]}}");
	put("endpoints/apache",
	    "{\"clusterIP\":\"10.0.0.10\",\"ports\":[{\"name\":\"http\",\"port\":80,\"targetPort\":8080,"
	    "\"protocol\":\"TCP\"}],\"addresses\":[{\"ip\":\"10.244.1.7\",\"node\":\"m1\",\"pod\":"
	    "\"apache-aaaaa\"}]}");
	put("nodes/m1",
	    "{\"metadata\":{\"name\":\"m1\",\"labels\":{\"disk\":\"ssd\"}},\"spec\":{\"unschedulable\":true},"
	    "\"status\":{\"capacity\":{\"cpu\":\"2\",\"memory\":\"4Gi\",\"pods\":\"110\"},\"addresses\":[{\"type\":"
	    "\"InternalIP\",\"address\":\"198.51.100.11\"}],\"podCIDR\":\"10.244.1.0/24\",\"agentVersion\":\"0.1.0\"}}");
	put("nodeleases/m1", "{\"spec\":{\"holderIdentity\":\"m1\"}}");
	put("nodes/m2", "{\"status\":{\"capacity\":{\"cpu\":\"4\",\"memory\":\"8Gi\",\"pods\":\"10\"}}}");
}

/* ---- running skiffctl ---- */

struct run {
	int rc;
	char *out, *err;
};

static char *
slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = calloc(1, 1 << 20);
	size_t n;

	ck_assert_ptr_nonnull(f);
	ck_assert_ptr_nonnull(buf);
	n = fread(buf, 1, (1 << 20) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* Run skiffctl ARGS... (NULL-terminated) with this test's endpoints and
 * prefix appended (unless the first argument is "-"), stdin from in_path
 * when not NULL. */
static struct run
ctl(const char *arg, ...)
{
	char *argv[40], out[128], err[128];
	struct run r;
	va_list ap;
	int argc = 0, conn = 1, st;
	pid_t pid;

	argv[argc++] = "skiffctl";
	va_start(ap, arg);
	for (; arg && argc < 36; arg = va_arg(ap, const char *)) {
		if (argc == 1 && strcmp(arg, "-") == 0) {
			conn = 0;
			continue;
		}
		argv[argc++] = (char *)arg;
	}
	va_end(ap);
	if (conn) {
		argv[argc++] = EP_ARG;
		argv[argc++] = PFX_ARG;
	}
	argv[argc] = NULL;
	snprintf(out, sizeof(out), "%s/out", TMP);
	snprintf(err, sizeof(err), "%s/err", TMP);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int fo = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644),
		    fe = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		dup2(fo, 1);
		dup2(fe, 2);
		execv(SKIFFCTL, argv);
		_exit(127);
	}
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	r.rc = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	r.out = slurp(out);
	r.err = slurp(err);
	return r;
}

static void
run_free(struct run *r)
{
	free(r->out);
	free(r->err);
}

/* The line of out that starts with start (a static copy), or fail. */
static const char *
line_of(const char *out, const char *start)
{
	static char line[2048];
	const char *p = out;
	size_t n = strlen(start);

	while (p && *p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);

		if (len >= n && strncmp(p, start, n) == 0 && len < sizeof(line)) {
			memcpy(line, p, len);
			line[len] = '\0';
			return line;
		}
		p = nl ? nl + 1 : NULL;
	}
	ck_abort_msg("no line starting with \"%s\" in:\n%s", start, out);
	return NULL;
}

/* Whitespace-separated words of line must be words[] (NULL-ended; "*"
 * matches any word). */
static void
words_are(const char *line, const char *const *words)
{
	char copy[2048], *tok, *save = NULL;
	size_t i = 0;

	snprintf(copy, sizeof(copy), "%s", line);
	for (tok = strtok_r(copy, " ", &save); tok; tok = strtok_r(NULL, " ", &save), i++) {
		ck_assert_msg(words[i], "extra word \"%s\" in \"%s\"", tok, line);
		ck_assert_msg(strcmp(words[i], "*") == 0 || strcmp(tok, words[i]) == 0,
		              "word %zu of \"%s\": want \"%s\"", i, line, words[i]);
	}
	ck_assert_msg(!words[i], "missing \"%s\" in \"%s\"", words[i], line);
}

#define HAS(s, needle) ck_assert_msg(strstr((s), (needle)), "no \"%s\" in:\n%s", (needle), (s))
#define HASNT(s, needle) ck_assert_msg(!strstr((s), (needle)), "unexpected \"%s\" in:\n%s", (needle), (s))

static const char *
write_file(const char *name, const char *content)
{
	static char path[4][256];
	static int next;
	char *p = path[next++ % 4];
	FILE *f;

	snprintf(p, sizeof(path[0]), "%s/%s", TMP, name);
	f = fopen(p, "w");
	ck_assert_ptr_nonnull(f);
	fputs(content, f);
	fclose(f);
	return p;
}

/* ---- get ---- */

START_TEST(test_get_pods)
{
	struct run r;

	cluster();
	r = ctl("get", "pods", NULL);
	ck_assert_msg(r.rc == 0, "rc %d: %s", r.rc, r.err);
	words_are(line_of(r.out, "NAME"),
	          (const char *[]){"NAME", "READY", "STATUS", "RESTARTS", "NODE", "IP", "AGE", NULL});
	words_are(line_of(r.out, "web "),
	          (const char *[]){"web", "0/1", "CrashLoopBackOff", "4", "m1", "10.244.1.5", "*", NULL});
	ck_assert_msg(line_of(r.out, "web ")[strlen(line_of(r.out, "web ")) - 1] == 'd', "age from startTime");
	words_are(line_of(r.out, "lonely"),
	          (const char *[]){"lonely", "0/1", "Unschedulable", "0", "<none>", "<none>", "*", NULL});
	words_are(line_of(r.out, "stale"),
	          (const char *[]){"stale", "0/1", "Pending", "0", "<none>", "<none>", "-", NULL});
	words_are(line_of(r.out, "run "),
	          (const char *[]){"run", "1/1", "Running", "0", "m1", "10.244.1.6", "-", NULL});
	run_free(&r);

	r = ctl("get", "po", "-l", "app=web", NULL);
	ck_assert_int_eq(r.rc, 0);
	HAS(r.out, "web");
	HASNT(r.out, "lonely");
	run_free(&r);

	r = ctl("get", "pod", "run", "-o", "wide", NULL);
	ck_assert_int_eq(r.rc, 0);
	HAS(line_of(r.out, "NAME"), "IMAGES");
	HAS(line_of(r.out, "run"), "busybox");
	run_free(&r);
}
END_TEST

START_TEST(test_get_other_kinds)
{
	struct run r;

	cluster();
	r = ctl("get", "rc,svc", NULL);
	ck_assert_msg(r.rc == 0, "rc %d: %s", r.rc, r.err);
	words_are(line_of(r.out, "NAME "), (const char *[]){"NAME", "DESIRED", "CURRENT", "READY", "AGE", NULL});
	words_are(line_of(r.out, "controller/apache"), (const char *[]){"controller/apache", "3", "2", "1", "-", NULL});
	words_are(line_of(r.out, "service/apache"),
	          (const char *[]){"service/apache", "10.0.0.10", "80/TCP", "10.244.1.7:8080", NULL});
	run_free(&r);

	/* A NodePort service: each port with the node port its endpoints say. */
	put("services/np", "{\"spec\":{\"type\":\"NodePort\",\"selector\":{\"app\":\"np\"},\"ports\":["
	                   "{\"name\":\"a\",\"port\":80},{\"name\":\"b\",\"port\":81}]}}");
	put("endpoints/np", "{\"clusterIP\":\"10.0.0.11\",\"ports\":[{\"name\":\"a\",\"port\":80,\"targetPort\":80,"
	                    "\"protocol\":\"TCP\",\"nodePort\":30080},{\"name\":\"b\",\"port\":81,\"targetPort\":81,"
	                    "\"protocol\":\"TCP\"}],\"addresses\":[]}");
	r = ctl("get", "svc", "np", NULL);
	ck_assert_msg(r.rc == 0, "rc %d: %s", r.rc, r.err);
	words_are(line_of(r.out, "np"), (const char *[]){"np", "10.0.0.11", "80:30080/TCP,81/TCP", "<none>", NULL});
	run_free(&r);

	r = ctl("get", "nodes", NULL);
	ck_assert_int_eq(r.rc, 0);
	words_are(line_of(r.out, "NAME"),
	          (const char *[]){"NAME", "STATUS", "ROLES/LABELS", "CPU", "MEMORY", "PODS", NULL});
	words_are(line_of(r.out, "m1"),
	          (const char *[]){"m1", "Ready,SchedulingDisabled", "disk=ssd", "2", "4Gi", "3/110", NULL});
	words_are(line_of(r.out, "m2"), (const char *[]){"m2", "NotReady", "<none>", "4", "8Gi", "0/10", NULL});
	run_free(&r);

	r = ctl("get", "ev", NULL);
	ck_assert_int_eq(r.rc, 0);
	HAS(line_of(r.out, "LAST SEEN"), "TYPE");
	HAS(r.out, "FailedScheduling");
	HAS(r.out, "pod/lonely");
	HAS(r.out, "didn't match nodeSelector");
	ck_assert_ptr_nonnull(strstr(r.out, " 7\n"));
	run_free(&r);

	r = ctl("get", "services", "nope", NULL);
	ck_assert_int_eq(r.rc, 1);
	HAS(r.err, "service \"nope\" not found");
	run_free(&r);
}
END_TEST

START_TEST(test_get_json)
{
	struct run r;

	cluster();
	r = ctl("get", "svc", "apache", "-o", "json", NULL);
	ck_assert_msg(r.rc == 0, "rc %d: %s", r.rc, r.err);
	HAS(r.out, "\"kind\": \"Service\"");
	HAS(r.out, "\"name\": \"apache\"");
	HAS(r.out, "\"targetPort\": 8080");
	run_free(&r);

	r = ctl("get", "pods", "-o", "json", NULL);
	ck_assert_int_eq(r.rc, 0);
	HAS(r.out, "\"kind\": \"List\"");
	HAS(r.out, "\"name\": \"lonely\"");
	run_free(&r);

	r = ctl("get", "po", "web", "-ojson", NULL); /* glued short flag */
	ck_assert_int_eq(r.rc, 0);
	HAS(r.out, "\"kind\": \"Pod\"");
	HASNT(r.out, "lonely");
	run_free(&r);
}
END_TEST

START_TEST(test_get_errors)
{
	struct run r;

	r = ctl("get", "widgets", NULL);
	ck_assert_int_eq(r.rc, 1);
	HAS(r.err, "unknown kind \"widgets\"");
	HAS(r.err, "pods (po)");
	run_free(&r);

	r = ctl("get", "pods", "-o", "yaml", NULL);
	ck_assert_int_eq(r.rc, 2);
	HAS(r.err, "not json or wide");
	run_free(&r);

	r = ctl("get", "pods", "--bogus", NULL);
	ck_assert_int_eq(r.rc, 2);
	run_free(&r);

	r = ctl("-", "get", "--help", NULL);
	ck_assert_int_eq(r.rc, 0);
	HAS(r.out, "-o json");
	HAS(r.out, "--etcd-endpoints");
	run_free(&r);

	r = ctl("get", "pods", NULL);
	ck_assert_int_eq(r.rc, 0);
	HAS(r.err, "No resources found");
	run_free(&r);
}
END_TEST

START_TEST(test_etcd_down)
{
	char ep[64];
	struct run r;

	snprintf(ep, sizeof(ep), "--etcd-endpoints=http://127.0.0.1:%d", tu_closed_port());
	r = ctl("-", "get", "pods", ep, "--etcd-timeout=1s", NULL);
	ck_assert_int_eq(r.rc, 1);
	HAS(r.err, ep + strlen("--etcd-endpoints="));
	HAS(r.err, "check that etcd is running");
	ck_assert_str_eq(r.out, "");
	run_free(&r);
}
END_TEST

/* ---- describe ---- */

/* Version 2 node data: the agent's status under P/nodestatus/NODE wins over
 * P/nodes/NODE's; a heartbeat older than its lease duration reads
 * NotReady; an event a node wrote (P/nodeevents/NODE/...) is shown with
 * the node that wrote it, whatever source it claims. */
START_TEST(test_node_v2)
{
	struct run r;

	put("nodes/m3", "{\"metadata\":{\"labels\":{\"zone\":\"b\"}},\"spec\":{}}");
	put("nodestatus/m3", "{\"metadata\":{\"name\":\"m3\"},\"status\":{\"capacity\":{\"cpu\":\"6\","
	                     "\"memory\":\"12Gi\",\"pods\":\"30\"},\"podCIDR\":\"10.244.3.0/24\","
	                     "\"conditions\":[{\"type\":\"RuntimeReady\",\"status\":\"False\",\"reason\":"
	                     "\"RuntimeUnhealthy\",\"message\":\"docker: _ping timed out\\u001b[2J\","
	                     "\"lastTransitionTime\":\"2026-01-01T00:00:00Z\"}]}}");
	put("nodeleases/m3", "{\"spec\":{\"holderIdentity\":\"m3\",\"leaseDurationSeconds\":10,"
	                     "\"renewTime\":\"2020-01-01T00:00:00.000000Z\"}}");
	put("nodeevents/m3/nodes/m3/abc",
	    "{\"type\":\"Warning\",\"reason\":\"Forged\",\"message\":\"from a node\",\"source\":\"scheduler\","
	    "\"firstTimestamp\":\"2026-01-01T00:00:00Z\",\"lastTimestamp\":\"2026-01-01T00:00:00Z\",\"count\":1}");
	r = ctl("get", "nodes", "m3", NULL);
	ck_assert_msg(r.rc == 0, "rc %d: %s", r.rc, r.err);
	words_are(line_of(r.out, "m3"), (const char *[]){"m3", "NotReady", "zone=b", "6", "12Gi", "0/30", NULL});
	run_free(&r);
	r = ctl("describe", "node", "m3", NULL);
	ck_assert_int_eq(r.rc, 0);
	HAS(line_of(r.out, "Ready:"), "heartbeat stopped");
	HAS(line_of(r.out, "PodCIDR:"), "10.244.3.0/24");
	HAS(line_of(r.out, "  RuntimeReady"), "RuntimeUnhealthy");
	HAS(line_of(r.out, "  RuntimeReady"), "2026-01-01T00:00:00Z");
	HAS(line_of(r.out, "  RuntimeReady"), "docker: _ping timed out");
	ck_assert_msg(!strchr(r.out, 0x1b), "an escape sequence from a node's status reached the terminal");
	HAS(r.out, "scheduler, m3");
	run_free(&r);
	r = ctl("get", "events", NULL);
	ck_assert_int_eq(r.rc, 0);
	HAS(r.out, "node/m3");
	HAS(r.out, "Forged");
	run_free(&r);
}
END_TEST

/* A pod whose init containers run: get shows the status' Init:N/M, describe
 * lists the init containers before the app containers, with their rows. */
START_TEST(test_init_containers)
{
	struct run r;
	int64_t in;

	in = put("pods/ini", "{\"spec\":{\"initContainers\":[{\"name\":\"first\",\"image\":\"busybox\"},"
	                     "{\"name\":\"second\",\"image\":\"busybox\"}],"
	                     "\"containers\":[{\"name\":\"c\",\"image\":\"busybox\"}]}}");
	putf("bindings/m1/ini",
	     "{\"node\":\"m1\",\"pod\":{\"metadata\":{\"name\":\"ini\",\"uid\":\"%lld\"},"
	     "\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"busybox\"}]}}}",
	     (long long)in);
	putf("podstatus/m1/ini",
	     "{\"uid\":\"%lld\",\"phase\":\"Pending\",\"reason\":\"Init:1/2\",\"containerStatuses\":[{\"name\":"
	     "\"c\",\"ready\":false,\"restartCount\":0,\"state\":{\"waiting\":{\"reason\":\"PodInitializing\"}}}],"
	     "\"initContainerStatuses\":[{\"name\":\"first\",\"ready\":true,\"restartCount\":0,\"state\":"
	     "{\"terminated\":{\"exitCode\":0,\"reason\":\"Completed\"}}},{\"name\":\"second\",\"ready\":false,"
	     "\"restartCount\":0,\"state\":{\"running\":{}}}]}",
	     (long long)in);
	r = ctl("get", "pods", "ini", NULL);
	ck_assert_msg(r.rc == 0, "rc %d: %s", r.rc, r.err);
	words_are(line_of(r.out, "ini "), (const char *[]){"ini", "0/1", "Init:1/2", "0", "m1", "<none>", "-", NULL});
	run_free(&r);
	r = ctl("describe", "pod", "ini", NULL);
	ck_assert_msg(r.rc == 0, "rc %d: %s", r.rc, r.err);
	HAS(r.out, "Init Containers:\n  first:");
	ck_assert_ptr_nonnull(strstr(r.out, "Init Containers:"));
	ck_assert_msg(strstr(r.out, "Init Containers:") < strstr(r.out, "\nContainers:"), "init containers first");
	HAS(strstr(r.out, "  first:"), "Completed");
	HAS(strstr(r.out, "  second:"), "Running");
	HAS(strstr(r.out, "\nContainers:"), "PodInitializing");
	run_free(&r);
}
END_TEST

START_TEST(test_describe)
{
	struct run r;

	cluster();
	r = ctl("describe", "pod", "web", NULL);
	ck_assert_msg(r.rc == 0, "rc %d: %s", r.rc, r.err);
	HAS(line_of(r.out, "Status:"), "CrashLoopBackOff");
	HAS(line_of(r.out, "Node:"), "m1/198.51.100.11");
	HAS(r.out, "Restart Count:");
	HAS(r.out, "Events:");
	run_free(&r);

	r = ctl("describe", "po", "lonely", NULL);
	ck_assert_int_eq(r.rc, 0);
	HAS(line_of(r.out, "Status:"), "Unschedulable");
	HAS(r.out, "FailedScheduling");
	HAS(r.out, "x7");
	run_free(&r);

	r = ctl("describe", "rc", "apache", NULL);
	ck_assert_int_eq(r.rc, 0);
	HAS(line_of(r.out, "Replicas:"), "2 current / 3 desired");
	HAS(line_of(r.out, "Pods Status:"), "1 owned");
	run_free(&r);

	r = ctl("describe", "node", "m1", NULL);
	ck_assert_int_eq(r.rc, 0);
	HAS(line_of(r.out, "Ready:"), "True");
	HAS(line_of(r.out, "Unschedulable:"), "true");
	HAS(line_of(r.out, "Requested:"), "cpu=250m, memory=64Mi by 3 pods");
	run_free(&r);

	r = ctl("describe", "svc", "apache", NULL);
	ck_assert_int_eq(r.rc, 0);
	HAS(line_of(r.out, "Endpoints:"), "10.244.1.7");
	run_free(&r);

	r = ctl("describe", "pod", "ghost", NULL);
	ck_assert_int_eq(r.rc, 1);
	HAS(r.err, "pod \"ghost\" not found");
	run_free(&r);
}
END_TEST

/* skiffctl describe KIND NAME succeeds, and its line starting with start
 * holds needle. */
static void
describe_line_has(const char *kind, const char *name, const char *start, const char *needle)
{
	struct run r = ctl("describe", kind, name, NULL);

	ck_assert_msg(r.rc == 0, "rc %d: %s", r.rc, r.err);
	HAS(line_of(r.out, start), needle);
	run_free(&r);
}

/* Readiness as kubectl shows it: READY counts containers ready and
 * running; a pod being deleted that has not finished is Terminating
 * (one that has finished keeps its phase); describe lists the conditions
 * and each container's Ready and Started; a controller's describe its
 * available replicas; a service's describe its not-ready endpoints. */
START_TEST(test_readiness)
{
	struct run r;
	int64_t uid, bye, done, rc;

	uid = put("pods/rdy", "{\"spec\":{\"containers\":[{\"name\":\"a\",\"image\":\"busybox\"},"
	                      "{\"name\":\"b\",\"image\":\"busybox\"}]}}");
	putf("bindings/m1/rdy",
	     "{\"node\":\"m1\",\"pod\":{\"metadata\":{\"name\":\"rdy\",\"uid\":\"%lld\"},"
	     "\"spec\":{\"containers\":[{\"name\":\"a\",\"image\":\"busybox\"}]}}}",
	     (long long)uid);
	putf("podstatus/m1/rdy",
	     "{\"uid\":\"%lld\",\"phase\":\"Running\",\"podIP\":\"10.244.1.8\",\"conditions\":["
	     "{\"type\":\"PodScheduled\",\"status\":\"True\"},{\"type\":\"Ready\",\"status\":\"False\","
	     "\"reason\":\"ContainersNotReady\"}],\"containerStatuses\":["
	     "{\"name\":\"a\",\"ready\":true,\"started\":true,\"restartCount\":0,\"state\":{\"running\":{}}},"
	     "{\"name\":\"b\",\"ready\":false,\"started\":false,\"restartCount\":0,\"state\":{\"running\":{}}}]}",
	     (long long)uid);
	bye = put("pods/bye", "{\"metadata\":{\"deletionGracePeriodSeconds\":30},\"spec\":{\"containers\":"
	                      "[{\"name\":\"c\",\"image\":\"busybox\"}]}}");
	putf("bindings/m1/bye",
	     "{\"node\":\"m1\",\"pod\":{\"metadata\":{\"name\":\"bye\",\"uid\":\"%lld\"},"
	     "\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"busybox\"}]}}}",
	     (long long)bye);
	putf("podstatus/m1/bye",
	     "{\"uid\":\"%lld\",\"phase\":\"Running\",\"containerStatuses\":[{\"name\":\"c\",\"ready\":true,"
	     "\"restartCount\":0,\"state\":{\"running\":{}}}]}",
	     (long long)bye);
	done = put("pods/done", "{\"metadata\":{\"deletionGracePeriodSeconds\":30},\"spec\":{\"containers\":"
	                        "[{\"name\":\"c\",\"image\":\"busybox\"}]}}");
	putf("bindings/m1/done",
	     "{\"node\":\"m1\",\"pod\":{\"metadata\":{\"name\":\"done\",\"uid\":\"%lld\"},"
	     "\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"busybox\"}]}}}",
	     (long long)done);
	putf("podstatus/m1/done",
	     "{\"uid\":\"%lld\",\"phase\":\"Succeeded\",\"containerStatuses\":[{\"name\":\"c\",\"ready\":true,"
	     "\"restartCount\":0,\"state\":{\"terminated\":{\"exitCode\":0}}}]}",
	     (long long)done);

	r = ctl("get", "pods", NULL);
	ck_assert_msg(r.rc == 0, "rc %d: %s", r.rc, r.err);
	words_are(line_of(r.out, "rdy "),
	          (const char *[]){"rdy", "1/2", "Running", "0", "m1", "10.244.1.8", "-", NULL});
	words_are(line_of(r.out, "bye "),
	          (const char *[]){"bye", "1/1", "Terminating", "0", "m1", "<none>", "-", NULL});
	words_are(line_of(r.out, "done "),
	          (const char *[]){"done", "0/1", "Succeeded", "0", "m1", "<none>", "-", NULL});
	run_free(&r);

	r = ctl("describe", "pod", "rdy", NULL);
	ck_assert_msg(r.rc == 0, "rc %d: %s", r.rc, r.err);
	HAS(r.out, "Conditions:");
	words_are(line_of(r.out, "  PodScheduled"), (const char *[]){"PodScheduled", "True", NULL});
	words_are(line_of(r.out, "  Ready "), (const char *[]){"Ready", "False", "ContainersNotReady", NULL});
	HAS(strstr(r.out, "  a:"), "\n    Started:        True\n");
	HAS(strstr(r.out, "  b:"), "\n    Ready:          False\n");
	HAS(strstr(r.out, "  b:"), "\n    Started:        False\n");
	run_free(&r);
	r = ctl("describe", "pod", "bye", NULL);
	ck_assert_int_eq(r.rc, 0);
	HAS(line_of(r.out, "Status:"), "Terminating");
	HASNT(r.out, "Conditions:"); /* a version-1 status has none */
	HASNT(r.out, "    Started:        ");
	run_free(&r);

	rc = put("controllers/avl",
	         "{\"spec\":{\"replicas\":3,\"minReadySeconds\":10,\"selector\":{\"app\":\"avl\"},"
	         "\"template\":{\"metadata\":{\"labels\":{\"app\":\"avl\"}},\"spec\":{\"containers\":"
	         "[{\"name\":\"web\",\"image\":\"httpd:2.4\"}]}}}}");
	putf("controllerstatus/avl",
	     "{\"uid\":\"%lld\",\"observedRevision\":%lld,\"replicas\":3,\"readyReplicas\":2,\"availableReplicas\":1}",
	     (long long)rc, (long long)rc);
	put("services/avl", "{\"spec\":{\"selector\":{\"app\":\"avl\"},\"ports\":[{\"port\":80}]}}");
	put("endpoints/avl", "{\"clusterIP\":\"10.0.0.11\",\"ports\":[{\"port\":80,\"targetPort\":80,\"protocol\":"
	                     "\"TCP\"}],\"addresses\":[{\"ip\":\"10.244.1.9\",\"nodeName\":\"m1\",\"node\":\"m1\","
	                     "\"pod\":\"avl-aaaaa\"}],\"notReadyAddresses\":[{\"ip\":\"10.244.1.10\",\"nodeName\":"
	                     "\"m1\",\"node\":\"m1\",\"pod\":\"avl-bbbbb\"}]}");
	r = ctl("get", "rc", "avl", NULL);
	ck_assert_int_eq(r.rc, 0);
	words_are(line_of(r.out, "NAME"), (const char *[]){"NAME", "DESIRED", "CURRENT", "READY", "AGE", NULL});
	words_are(line_of(r.out, "avl "), (const char *[]){"avl", "3", "3", "2", "*", NULL});
	run_free(&r);
	describe_line_has("rc", "avl", "Ready Replicas:", "2");
	describe_line_has("rc", "avl", "Available Replicas:", "1 (ready for at least 10s)");
	describe_line_has("svc", "avl", "Endpoints:", "10.244.1.9 (pod avl-aaaaa on m1)");
	describe_line_has("svc", "avl", "Not Ready:", "10.244.1.10 (pod avl-bbbbb on m1)");
	r = ctl("get", "svc", "avl", NULL);
	ck_assert_int_eq(r.rc, 0);
	HAS(line_of(r.out, "avl "), "10.244.1.9:80");
	HASNT(r.out, "10.244.1.10");
	run_free(&r);
}
END_TEST

/* ---- apply, create ---- */

static const char yaml_doc[] = "kind: Pod\n"
			       "metadata:\n"
			       "  name: yam\n"
			       "  labels: {app: yam}\n"
			       "spec:\n"
			       "  containers:\n"
			       "  - name: c\n"
			       "    image: busybox\n"
			       "    command: [\"sleep\", \"3600\"]\n"
			       "    ports:\n"
			       "    - containerPort: 80\n"
			       "---\n"
			       "kind: Service\n"
			       "metadata:\n"
			       "  name: yamsvc\n"
			       "spec:\n"
			       "  selector: {app: yam}\n"
			       "  ports:\n"
			       "  - port: 80\n";

START_TEST(test_apply)
{
	const char *y = write_file("a.yaml", yaml_doc);
	const char *j = write_file("rc.json",
	                           "{\"kind\":\"ReplicationController\",\"metadata\":{\"name\":\"rc1\"},"
	                           "\"spec\":{\"replicas\":2,\"template\":{\"metadata\":{\"labels\":"
	                           "{\"app\":\"x\"}},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"x\"}]}}}}");
	struct run r;
	char *v;
	int64_t cr;

	(void)j;
	r = ctl("apply", "-f", TMP, NULL);
	ck_assert_msg(r.rc == 0, "rc %d: %s", r.rc, r.err);
	HAS(r.out, "pod/yam created");
	HAS(r.out, "service/yamsvc created");
	HAS(r.out, "controller/rc1 created");
	run_free(&r);
	v = value("pods/yam");
	ck_assert_ptr_nonnull(v);
	HAS(v, "\"containerPort\":80");
	HAS(v, "\"sleep\"");
	free(v);
	cr = create_rev("pods/yam");

	r = ctl("apply", "-f", y, NULL);
	ck_assert_int_eq(r.rc, 0);
	HAS(r.out, "pod/yam unchanged");
	run_free(&r);

	y = write_file("a.yaml", "kind: Pod\nmetadata: {name: yam, labels: {app: yam2}}\n"
	                         "spec: {containers: [{name: c, image: busybox}]}\n");
	r = ctl("apply", "-f", y, NULL);
	ck_assert_int_eq(r.rc, 0);
	HAS(r.out, "pod/yam configured");
	run_free(&r);
	ck_assert_int_eq(create_rev("pods/yam"), cr); /* same incarnation */
	v = value("pods/yam");
	HAS(v, "yam2");
	free(v);

	r = ctl("create", "-f", y, NULL);
	ck_assert_int_eq(r.rc, 1);
	HAS(r.err, "pod/yam already exists");
	run_free(&r);

	y = write_file(
		"new.json",
		"{\"metadata\":{\"name\":\"fresh\"},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"i\"}]}}");
	r = ctl("create", "-f", y, NULL);
	ck_assert_int_eq(r.rc, 0);
	HAS(r.out, "pod/fresh created");
	run_free(&r);
}
END_TEST

/* ConfigMaps and Secrets through apply, get, describe and delete; a
 * Secret's values (base64 or not) appear in no output. */
START_TEST(test_configmaps_secrets)
{
	static const char *const secret_bits[] = {"aHVudGVyMg", "hunter2", "s3cr3t-string", NULL};
	const char *y = write_file("cs.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web}\n"
	                                      "data: {index.html: hello}\n---\n"
	                                      "apiVersion: v1\nkind: Secret\nmetadata: {name: db}\n"
	                                      "data: {pw: aHVudGVyMg==}\nstringData: {token: s3cr3t-string}\n");
	const char *const cmds[][5] = {{"get", "secrets", NULL},
	                               {"get", "secret", "db", "-o", "json"},
	                               {"describe", "secret", "db", NULL},
	                               {"get", "cm,secrets", NULL}};
	struct run r;
	char *v;

	r = ctl("apply", "-f", y, NULL);
	ck_assert_msg(r.rc == 0, "rc %d: %s", r.rc, r.err);
	HAS(r.out, "configmap/web created");
	HAS(r.out, "secret/db created");
	run_free(&r);
	ck_assert_ptr_nonnull(v = value("secrets/db"));
	HAS(v, "aHVudGVyMg==");
	free(v);
	r = ctl("get", "cm", NULL);
	ck_assert_int_eq(r.rc, 0);
	words_are(line_of(r.out, "web"), (const char *const[]){"web", "1", NULL});
	run_free(&r);
	r = ctl("describe", "configmap", "web", NULL);
	HAS(r.out, "hello"); /* a ConfigMap's values are not secret */
	run_free(&r);
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		r = ctl(cmds[i][0], cmds[i][1], cmds[i][2], cmds[i][3], cmds[i][4], NULL);
		ck_assert_msg(r.rc == 0, "%s %s: rc %d: %s", cmds[i][0], cmds[i][1], r.rc, r.err);
		HAS(r.out, "db");
		for (size_t k = 0; secret_bits[k]; k++)
			HASNT(r.out, secret_bits[k]);
		run_free(&r);
	}
	r = ctl("get", "secrets", NULL);
	words_are(line_of(r.out, "db"), (const char *const[]){"db", "Opaque", "2", NULL});
	run_free(&r);
	r = ctl("describe", "secret", "db", NULL);
	HAS(r.out, "(hidden, 7 bytes)");
	run_free(&r);
	/* A Secret whose data is not base64 is refused, and nothing written. */
	y = write_file("cs.yaml", "kind: Secret\nmetadata: {name: bad}\ndata: {pw: hunter2}\n");
	r = ctl("apply", "-f", y, NULL);
	ck_assert_int_eq(r.rc, 1);
	HAS(r.err, "data.pw: must be base64");
	run_free(&r);
	ck_assert_ptr_null(value("secrets/bad"));
	r = ctl("delete", "cm", "web", NULL);
	ck_assert_msg(r.rc == 0, "rc %d: %s", r.rc, r.err);
	run_free(&r);
	ck_assert_ptr_null(value("configmaps/web"));
}
END_TEST

START_TEST(test_apply_invalid_writes_nothing)
{
	const char *good = write_file("good.json", "{\"metadata\":{\"name\":\"good\"},\"spec\":{\"containers\":"
	                                           "[{\"name\":\"c\",\"image\":\"i\"}]}}");
	const char *bad = write_file("bad.yaml", "kind: Pod\nmetadata: {name: bad}\nspec:\n  containers:\n"
	                                         "  - name: c\n    ports: [{containerPort: 70000}]\n");
	const char *noname =
		write_file("noname.json", "{\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"i\"}]}}");
	const char *widget = write_file("widget.json", "{\"kind\":\"Widget\",\"metadata\":{\"name\":\"w\"}}");
	const char *junk = write_file("junk.yaml", "kind: Pod\n  bad: [indent\n");
	struct run r;
	char *v;

	r = ctl("apply", "-f", good, "-f", bad, "-f", noname, "-f", widget, "-f", junk, NULL);
	ck_assert_int_eq(r.rc, 1);
	HAS(r.err, "bad.yaml: spec.containers[0].image: required");
	HAS(r.err, "bad.yaml: spec.containers[0].ports[0].containerPort: must be between 1 and 65535");
	HAS(r.err, "noname.json: metadata.name: required");
	HAS(r.err, "widget.json: kind: \"Widget\"");
	HAS(r.err, "junk.yaml: invalid YAML at line");
	HAS(r.err, "nothing written");
	ck_assert_str_eq(r.out, "");
	run_free(&r);
	v = value("pods/good");
	ck_assert_ptr_null(v);

	r = ctl("apply", NULL);
	ck_assert_int_eq(r.rc, 2);
	run_free(&r);
}
END_TEST

/* Text a hostile writer put in etcd (an event, a status message, a label
 * value that does not validate) reaches the terminal escaped: no ESC, CR,
 * BEL or C1 CSI byte in any output, the escapes written out instead. */
START_TEST(test_hostile_text_escaped)
{
	static const char *const cmds[][4] = {
		{"describe", "pod", "evil", NULL}, {"get", "events", NULL, NULL}, {"get", "pods", "-o", "wide"}};
	static const char *const raw[] = {"\x1b", "\r", "\a", "\x7f", "\xc2\x9b"};
	int64_t uid;
	struct run r;
	size_t i, k;

	uid = put("pods/evil", "{\"metadata\":{\"labels\":{\"app\":\"a\\u001b]0;pwned\\u0007\"}},"
	                       "\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"busybox\"}]}}");
	putf("bindings/m1/evil",
	     "{\"node\":\"m1\",\"pod\":{\"metadata\":{\"name\":\"evil\",\"uid\":\"%lld\"},"
	     "\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"busybox\"}]}}}",
	     (long long)uid);
	putf("podstatus/m1/evil",
	     "{\"uid\":\"%lld\",\"phase\":\"Pending\",\"message\":\"ok\\r\\u001b[2Kfine\\u0007\","
	     "\"containerStatuses\":[{\"name\":\"c\",\"state\":{\"waiting\":{\"reason\":\"Bad\\u001b[31m\","
	     "\"message\":\"x\\u009b31m\\u007f\"}}}]}",
	     (long long)uid);
	put("events/pods/evil/e1", "{\"type\":\"Warning\",\"reason\":\"Evil\\u001b[5m\",\"message\":\"clear\\u001b[2J"
	                           "\\r\\u0007done\",\"source\":\"agent\\u001b\",\"count\":1}");
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		r = ctl(cmds[i][0], cmds[i][1], cmds[i][2], cmds[i][3], NULL);
		ck_assert_msg(r.rc == 0, "%s: rc %d: %s", cmds[i][0], r.rc, r.err);
		for (k = 0; k < sizeof(raw) / sizeof(raw[0]); k++)
			HASNT(r.out, raw[k]);
		HAS(r.out, "\\x1b");
		run_free(&r);
	}
	r = ctl("describe", "pod", "evil", NULL);
	HAS(line_of(r.out, "Message:"), "ok\\x0d\\x1b[2Kfine\\x07");
	HAS(r.out, "x\\u009b31m\\x7f");
	HAS(r.out, "clear\\x1b[2J\\x0d\\x07done");
	run_free(&r);
}
END_TEST

/* A YAML alias bomb is refused quickly and writes nothing. */
START_TEST(test_apply_alias_bomb)
{
	const char *bomb = write_file("bomb.yaml", "a: &a [lol,lol,lol,lol,lol,lol,lol,lol,lol]\n"
	                                           "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
	                                           "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
	                                           "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
	                                           "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
	                                           "f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
	                                           "g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n"
	                                           "h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]\n"
	                                           "i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]\n");
	struct run r = ctl("apply", "-f", bomb, NULL);

	ck_assert_int_eq(r.rc, 1);
	HAS(r.err, "bomb.yaml: YAML expands to more than");
	ck_assert_str_eq(r.out, "");
	run_free(&r);
}
END_TEST

/* ---- delete, scale, cordon ---- */

START_TEST(test_delete)
{
	struct run r;
	char *v;

	cluster();
	r = ctl("delete", "pod", "lonely", NULL);
	ck_assert_msg(r.rc == 0, "rc %d: %s", r.rc, r.err);
	HAS(r.out, "pod/lonely deleted");
	run_free(&r);
	ck_assert_int_eq(create_rev("pods/lonely"), 0);

	r = ctl("delete", "pod", "lonely", NULL);
	ck_assert_int_eq(r.rc, 1);
	HAS(r.err, "not found");
	run_free(&r);

	r = ctl("delete", "rc", "apache", "--cascade=false", NULL);
	ck_assert_msg(r.rc == 0, "rc %d: %s", r.rc, r.err);
	HAS(r.out, "controller/apache deleted (1 pod kept)");
	run_free(&r);
	ck_assert_int_eq(create_rev("controllers/apache"), 0);
	v = value("pods/apache-aaaaa");
	ck_assert_ptr_nonnull(v);
	HASNT(v, "ownerReferences");
	HAS(v, "\"app\":\"apache\"");
	free(v);

	r = ctl("delete", "svc", "apache", NULL);
	ck_assert_int_eq(r.rc, 0);
	run_free(&r);
	ck_assert_int_eq(create_rev("services/apache"), 0);

	r = ctl("delete", "gadget", "x", NULL);
	ck_assert_int_eq(r.rc, 1);
	HAS(r.err, "unknown kind \"gadget\"");
	run_free(&r);
}
END_TEST

/* --grace-period: the pod is marked (metadata.deletionGracePeriodSeconds),
 * skiffctl waits for the agent (here: the binding's copy already marked
 * and no status left, as an agent leaves it) and deletes the pod; --force
 * deletes the pod and its binding without waiting. */
/* delete -f: what a manifest names goes, through the same reader as apply. */
START_TEST(test_delete_file)
{
	const char *y = write_file("d.yaml", yaml_doc);
	struct run r;

	r = ctl("apply", "-f", y, NULL);
	ck_assert_msg(r.rc == 0, "rc %d: %s", r.rc, r.err);
	run_free(&r);
	ck_assert_int_gt(create_rev("pods/yam"), 0);
	r = ctl("delete", "-f", y, NULL);
	ck_assert_msg(r.rc == 0, "rc %d: %s", r.rc, r.err);
	HAS(r.out, "pod/yam deleted");
	HAS(r.out, "service/yamsvc deleted");
	run_free(&r);
	ck_assert_int_eq(create_rev("pods/yam"), 0);
	ck_assert_int_eq(create_rev("services/yamsvc"), 0);
	r = ctl("delete", "-f", y, NULL);
	ck_assert_int_eq(r.rc, 1);
	HAS(r.err, "not found");
	run_free(&r);
}
END_TEST

START_TEST(test_delete_grace_force)
{
	int64_t g2, g3;
	struct run r;

	put("pods/g1", POD("{\"app\":\"g\"}"));
	r = ctl("delete", "pod", "g1", "--grace-period=5", NULL);
	ck_assert_msg(r.rc == 0, "rc %d: %s", r.rc, r.err);
	run_free(&r);
	ck_assert_int_eq(create_rev("pods/g1"), 0);

	g2 = put("pods/g2", POD("{\"app\":\"g\"}"));
	putf("bindings/m1/g2",
	     "{\"node\":\"m1\",\"pod\":{\"metadata\":{\"name\":\"g2\",\"uid\":\"%lld\","
	     "\"deletionGracePeriodSeconds\":5},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"busybox\"}]}}}",
	     (long long)g2);
	r = ctl("delete", "pod", "g2", "--grace-period", "5", NULL);
	ck_assert_msg(r.rc == 0, "rc %d: %s", r.rc, r.err);
	HAS(r.out, "pod/g2 deleted");
	HASNT(r.err, "did not confirm");
	run_free(&r);
	ck_assert_int_eq(create_rev("pods/g2"), 0);

	g3 = put("pods/g3", POD("{\"app\":\"g\"}"));
	putf("bindings/m1/g3",
	     "{\"node\":\"m1\",\"pod\":{\"metadata\":{\"name\":\"g3\",\"uid\":\"%lld\"},"
	     "\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"busybox\"}]}}}",
	     (long long)g3);
	putf("podstatus/m1/g3", "{\"uid\":\"%lld\",\"phase\":\"Running\"}", (long long)g3);
	r = ctl("delete", "pod", "g3", "--force", NULL);
	ck_assert_int_eq(r.rc, 2);
	HAS(r.err, "--force needs --grace-period=0");
	run_free(&r);
	r = ctl("delete", "pod", "g3", "--grace-period=0", "--force", NULL);
	ck_assert_msg(r.rc == 0, "rc %d: %s", r.rc, r.err);
	HAS(r.err, "immediate deletion does not wait");
	run_free(&r);
	ck_assert_int_eq(create_rev("pods/g3"), 0);
	ck_assert_int_eq(create_rev("bindings/m1/g3"), 0);

	r = ctl("delete", "svc", "x", "--grace-period=0", NULL);
	ck_assert_int_eq(r.rc, 1);
	HAS(r.err, "for pods only");
	run_free(&r);
}
END_TEST

START_TEST(test_scale_cordon)
{
	struct run r;
	int64_t cr;
	char *v;

	cluster();
	cr = create_rev("controllers/apache");
	r = ctl("scale", "rc", "apache", "--replicas=7", NULL);
	ck_assert_msg(r.rc == 0, "rc %d: %s", r.rc, r.err);
	HAS(r.out, "controller/apache scaled to 7");
	run_free(&r);
	v = value("controllers/apache");
	HAS(v, "\"replicas\":7");
	HAS(v, "httpd:2.4");
	free(v);
	ck_assert_int_eq(create_rev("controllers/apache"), cr);

	r = ctl("scale", "rc", "ghost", "--replicas=1", NULL);
	ck_assert_int_eq(r.rc, 1);
	HAS(r.err, "not found");
	run_free(&r);

	r = ctl("scale", "pod", "web", "--replicas=1", NULL);
	ck_assert_int_eq(r.rc, 1);
	run_free(&r);

	r = ctl("uncordon", "m1", NULL);
	ck_assert_int_eq(r.rc, 0);
	HAS(r.out, "node/m1 uncordoned");
	run_free(&r);
	v = value("nodes/m1");
	HASNT(v, "unschedulable");
	HAS(v, "198.51.100.11"); /* status kept */
	HAS(v, "\"disk\":\"ssd\"");
	free(v);

	r = ctl("cordon", "m2", NULL);
	ck_assert_int_eq(r.rc, 0);
	run_free(&r);
	v = value("nodes/m2");
	HAS(v, "\"unschedulable\":true");
	HAS(v, "8Gi");
	free(v);

	r = ctl("get", "no", NULL);
	words_are(line_of(r.out, "m1"), (const char *[]){"m1", "Ready", "disk=ssd", "2", "4Gi", "3/110", NULL});
	HAS(line_of(r.out, "m2"), "NotReady,SchedulingDisabled");
	run_free(&r);

	r = ctl("cordon", "nosuch", NULL);
	ck_assert_int_eq(r.rc, 1);
	HAS(r.err, "node \"nosuch\" not found");
	run_free(&r);
}
END_TEST

/* ---- watch ---- */

static int
proc_has(void *arg)
{
	void **a = arg;

	return th_proc_log_has(a[0], a[1]);
}

static int
wait_log(struct th_proc *p, const char *needle)
{
	void *a[2] = {p, (void *)needle};
	int i;

	for (i = 0; i < 200; i++) {
		if (proc_has(a))
			return 0;
		usleep(25000);
	}
	return -1;
}

START_TEST(test_watch)
{
	char *argv[] = {"skiffctl", "get", "pods", "-w", EP_ARG, PFX_ARG, NULL};
	struct th_proc *p;
	int64_t rev;

	put("pods/first", POD("{}"));
	p = th_proc_start(SKIFFCTL, argv, NULL);
	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(wait_log(p, "first"), 0);
	rev = put("pods/second", POD("{}"));
	ck_assert_int_eq(wait_log(p, "second "), 0);
	putf("bindings/m1/second",
	     "{\"node\":\"m1\",\"pod\":{\"metadata\":{\"name\":\"second\",\"uid\":\"%lld\"},"
	     "\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"busybox\"}]}}}",
	     (long long)rev);
	putf("podstatus/m1/second",
	     "{\"uid\":\"%lld\",\"phase\":\"Pending\",\"containerStatuses\":[{\"name\":\"c\","
	     "\"state\":{\"waiting\":{\"reason\":\"ErrImagePull\"}}}]}",
	     (long long)rev);
	ck_assert_int_eq(wait_log(p, "ErrImagePull"), 0);
	ck_assert_int_eq(th_proc_signal(p, SIGINT), 0);
	ck_assert_int_eq(th_proc_wait(p, 5), 0);
	th_proc_free(p, 0);
}
END_TEST

/* ---- version ---- */

/* skiffctl version: its own line, then one row per agent (v2 NodeStatus,
 * v1 node status), per leader candidate (versioned value, a version-1
 * value without one, a hostile one escaped), and a real scheduler's row
 * once it campaigns. */
START_TEST(test_version)
{
	char *argv[] = {"skiff-scheduler", EP_ARG, PFX_ARG, "--health-addr=", NULL};
	struct th_proc *sched;
	char old[64];
	const char *at;
	struct run r;
	int i, n;

	putf("nodestatus/m1", "{\"metadata\":{\"name\":\"m1\"},\"status\":{\"agentVersion\":\"0.1.0\"}}");
	putf("nodes/m1", "{\"metadata\":{\"name\":\"m1\"},\"status\":{\"agentVersion\":\"0.0.1\"}}");
	putf("nodes/a0", "{\"metadata\":{\"name\":\"a0\"},\"status\":{\"agentVersion\":\"0.0.8\"}}");
	putf("nodes/old", "{\"metadata\":{\"name\":\"old\"},\"status\":{\"agentVersion\":\"0.0.9\"}}");
	putf("nodes/nostatus", "{\"metadata\":{\"name\":\"nostatus\"},\"spec\":{}}");
	put("leaders/node-controller/1a", "hostb-7 skiff-node-controller 0.1.0 (contract 2)");
	put("leaders/node-controller/1b", "hostc-8");
	put("leaders/endpoints-controller/2a", "ev\x1b[2Jil skiff-endpoints-controller 9 (contract \x07)");
	r = ctl("version", "--client", NULL);
	ck_assert_int_eq(r.rc, 0);
	ck_assert_str_eq(r.out, "skiffctl " SKIFF_VERSION " (contract " SKIFF_CONTRACT_VERSION ")\n");
	run_free(&r);
	r = ctl("version", NULL);
	ck_assert_msg(r.rc == 0, "rc %d: %s", r.rc, r.err);
	ck_assert_str_eq(line_of(r.out, "skiffctl "),
	                 "skiffctl " SKIFF_VERSION " (contract " SKIFF_CONTRACT_VERSION ")");
	words_are(line_of(r.out, "COMPONENT"),
	          (const char *const[]){"COMPONENT", "INSTANCE", "VERSION", "CONTRACT", "FROM", NULL});
	words_are(line_of(r.out, "skiff-agent  "),
	          (const char *const[]){"skiff-agent", "m1", "0.1.0", "2", "P/nodestatus", NULL});
	snprintf(old, sizeof(old), "%-28s old", "skiff-agent");
	words_are(line_of(r.out, old),
	          (const char *const[]){"skiff-agent", "old", "0.0.9", "1", "P/nodes", "status", NULL});
	HASNT(r.out, "nostatus");
	HASNT(r.out, "0.0.1"); /* m1's leftover version-1 status: its NodeStatus wins */
	HAS(r.out, " a0 ");
	for (n = 0, at = r.out; (at = strstr(at, "\nskiff-agent ")); at++)
		n++;
	ck_assert_int_eq(n, 3); /* m1, a0, old */
	words_are(line_of(r.out, "skiff-node-controller"),
	          (const char *const[]){"skiff-node-controller", "hostb-7", "0.1.0", "2", "P/leaders/node-controller",
	                                "(leader)", NULL});
	words_are(line_of(r.out, "node-controller"),
	          (const char *const[]){"node-controller", "hostc-8", "unknown", "unknown", "P/leaders/node-controller",
	                                "(candidate)", NULL});
	HAS(r.out, "ev\\x1b[2Jil");
	HASNT(r.out, "\x1b");
	HASNT(r.out, "\x07");
	run_free(&r);

	sched = th_proc_start("build/bin/skiff-scheduler", argv, NULL);
	ck_assert_ptr_nonnull(sched);
	for (i = 0; i < 400; i++) {
		r = ctl("version", NULL);
		if (strstr(r.out, "\nskiff-scheduler "))
			break;
		run_free(&r);
		r.out = NULL;
		usleep(25000);
	}
	ck_assert_msg(r.out, "no scheduler row within 10 s");
	words_are(line_of(r.out, "skiff-scheduler"),
	          (const char *const[]){"skiff-scheduler", "*", SKIFF_VERSION, SKIFF_CONTRACT_VERSION,
	                                "P/leaders/scheduler", "(leader)", NULL});
	run_free(&r);
	ck_assert_int_eq(th_proc_signal(sched, SIGTERM), 0);
	ck_assert_int_eq(th_proc_wait(sched, 10), 0);
	th_proc_free(sched, 0);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("skiffctl");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_get_pods);
	tcase_add_test(tc, test_get_other_kinds);
	tcase_add_test(tc, test_node_v2);
	tcase_add_test(tc, test_delete_grace_force);
	tcase_add_test(tc, test_delete_file);
	tcase_add_test(tc, test_get_json);
	tcase_add_test(tc, test_get_errors);
	tcase_add_test(tc, test_etcd_down);
	tcase_add_test(tc, test_describe);
	tcase_add_test(tc, test_init_containers);
	tcase_add_test(tc, test_readiness);
	tcase_add_test(tc, test_apply);
	tcase_add_test(tc, test_apply_invalid_writes_nothing);
	tcase_add_test(tc, test_configmaps_secrets);
	tcase_add_test(tc, test_hostile_text_escaped);
	tcase_add_test(tc, test_apply_alias_bomb);
	tcase_add_test(tc, test_delete);
	tcase_add_test(tc, test_scale_cordon);
	tcase_add_test(tc, test_watch);
	tcase_add_test(tc, test_version);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr;
	int failed;

	E = th_etcd_start(1, NULL);
	if (!E)
		return 1;
	sr = srunner_create(suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	th_etcd_free(E);
	return failed ? 1 : 0;
}
