/*
 * check_skiffctl_rollout.c: skiffctl's deployment commands (get and
 * describe deployments, rollout, set image, scale deployment/NAME) and
 * drain, as the binary against a real etcd. Deployments, their owned
 * controllers, statuses, pods, bindings and pod statuses are written
 * directly as JSON; no controller runs. For drain the test itself plays the
 * agent (copies the stop mark into the binding, removes the status) and the
 * replication controller (a replacement pod on m2 that becomes Ready a
 * while later), and checks that drain never stops a second pod of a
 * controller before the replacement of the first is Ready.
 */
#include <check.h>
#include <ev.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "etcd_harness.h"
#include "etcd_testutil.h"
#include "th_proc.h"

#ifndef SKIFFCTL
#define SKIFFCTL "build/bin/skiffctl"
#endif

static struct th_etcd *E;
static struct etcd_sync *S;
static char PFX[64], EP_ARG[600], PFX_ARG[80];

static void
setup(void)
{
	struct etcd_config cfg;
	struct etcd_error err = {0};

	ck_assert_ptr_nonnull(E);
	tu_config(E, &cfg);
	S = etcd_sync_new(&cfg, &err);
	ck_assert_ptr_nonnull(S);
	snprintf(PFX, sizeof(PFX), "/r%d", (int)getpid());
	snprintf(EP_ARG, sizeof(EP_ARG), "--etcd-endpoints=%s", th_etcd_endpoints(E));
	snprintf(PFX_ARG, sizeof(PFX_ARG), "--prefix=%s", PFX);
}

static void
teardown(void)
{
	etcd_sync_free(S);
}

/* ---- keys ---- */

static int64_t putf(const char *rel, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int64_t
putf(const char *rel, const char *fmt, ...)
{
	char key[512], val[4096];
	va_list ap;
	int64_t r;

	va_start(ap, fmt);
	vsnprintf(val, sizeof(val), fmt, ap);
	va_end(ap);
	snprintf(key, sizeof(key), "%s/%s", PFX, rel);
	r = tu_put(S, key, val);
	ck_assert_msg(r > 0, "put %s", key);
	return r;
}

/* The value of PFX/rel parsed (new), NULL when absent; *create gets its
 * create revision when not NULL. */
static json_t *
get_json(const char *rel, int64_t *create)
{
	struct etcd_result *r;
	char key[512];
	json_t *j = NULL;

	snprintf(key, sizeof(key), "%s/%s", PFX, rel);
	r = etcd_sync_get(S, key);
	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(r->err.code, ETCD_OK);
	if (r->nkvs) {
		j = json_loadb(r->kvs[0].value, r->kvs[0].value_len, 0, NULL);
		ck_assert_ptr_nonnull(j);
		if (create)
			*create = r->kvs[0].create_revision;
	}
	etcd_result_free(r);
	return j;
}

static void
del(const char *rel)
{
	struct etcd_result *r;
	char key[512];

	snprintf(key, sizeof(key), "%s/%s", PFX, rel);
	r = etcd_sync_delete(S, key, NULL);
	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(r->err.code, ETCD_OK);
	etcd_result_free(r);
}

/* ---- skiffctl ---- */

/* Start skiffctl with the arguments (NULL-ended) and this test's
 * endpoints and prefix. */
static struct th_proc *
start(const char *arg, va_list ap)
{
	char *argv[32];
	int n = 0;

	argv[n++] = "skiffctl";
	for (; arg && n < 29; arg = va_arg(ap, const char *))
		argv[n++] = (char *)arg;
	argv[n++] = EP_ARG;
	argv[n++] = PFX_ARG;
	argv[n] = NULL;
	return th_proc_start(SKIFFCTL, argv, NULL);
}

static struct th_proc *
spawn(const char *arg, ...)
{
	struct th_proc *p;
	va_list ap;

	va_start(ap, arg);
	p = start(arg, ap);
	va_end(ap);
	ck_assert_ptr_nonnull(p);
	return p;
}

/* Run skiffctl to its end; its output (stdout and stderr) into *log
 * (free it). Returns the exit status. */
static int
sk(char **log, const char *arg, ...)
{
	struct th_proc *p;
	va_list ap;
	int rc;

	va_start(ap, arg);
	p = start(arg, ap);
	va_end(ap);
	ck_assert_ptr_nonnull(p);
	rc = th_proc_wait(p, 60);
	*log = th_proc_log(p);
	th_proc_free(p, 0);
	return rc;
}

#define HAS(s, needle) ck_assert_msg(strstr((s), (needle)), "no \"%s\" in:\n%s", (needle), (s))
#define HASNT(s, needle) ck_assert_msg(!strstr((s), (needle)), "unexpected \"%s\" in:\n%s", (needle), (s))

/* 1 when a line of out, its runs of blanks made one space, is want (or
 * starts with it, when prefix). */
static int
has_row(const char *out, const char *want, int prefix)
{
	const char *p = out;
	char line[2048];

	while (*p) {
		size_t n = 0;

		for (; *p && *p != '\n'; p++)
			if (n < sizeof(line) - 1 && !(*p == ' ' && (n == 0 || line[n - 1] == ' ')))
				line[n++] = *p;
		while (n > 0 && line[n - 1] == ' ')
			n--;
		line[n] = '\0';
		if (prefix ? strncmp(line, want, strlen(want)) == 0 : strcmp(line, want) == 0)
			return 1;
		p += *p == '\n';
	}
	return 0;
}

#define ROW(out, want) ck_assert_msg(has_row((out), (want), 0), "no row \"%s\" in:\n%s", (want), (out))
#define ROW_STARTS(out, want) ck_assert_msg(has_row((out), (want), 1), "no row \"%s...\" in:\n%s", (want), (out))

/* The value of PFX/rel as compact JSON text, into a static buffer. */
static const char *
text(const char *rel)
{
	static char buf[8192];
	json_t *j = get_json(rel, NULL);
	char *v = j ? json_dumps(j, JSON_COMPACT) : NULL;

	snprintf(buf, sizeof(buf), "%s", v ? v : "(absent)");
	free(v);
	json_decref(j);
	return buf;
}

/* ---- deployments ---- */

#define OWNER \
	"\"ownerReferences\":[{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"name\":\"web\",\"uid\":\"%lld\",\"controller\":true}]"
#define TEMPLATE(hash, image)                                                                               \
	"{\"metadata\":{\"labels\":{\"app\":\"web\"" hash "}},\"spec\":{\"containers\":[{\"name\":\"web\"," \
	"\"image\":\"" image "\"},{\"name\":\"side\",\"image\":\"busybox\"}]}}"

/* Deployment web (3 replicas, httpd:2.4) owning web-aaa (revision 1,
 * httpd:2.3, change cause "first") and web-bbb (revision 2, the current
 * template); stray-ccc names web with another uid. Returns web's create
 * revision. */
static int64_t
deployment(void)
{
	int64_t d =
		putf("deployments/web",
	             "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"web\",\"labels\":{"
	             "\"app\":\"web\"}},\"spec\":{\"replicas\":3,\"selector\":{\"matchLabels\":{\"app\":\"web\"}},"
	             "\"template\":" TEMPLATE("", "httpd:2.4") "}}");

	putf("controllers/web-aaa",
	     "{\"metadata\":{\"name\":\"web-aaa\",\"annotations\":{\"deployment.kubernetes.io/revision\":\"1\","
	     "\"kubernetes.io/change-cause\":\"first\"}," OWNER "},\"spec\":{\"replicas\":0,\"selector\":{\"app\":"
	     "\"web\",\"pod-template-hash\":\"aaa\"},\"template\":" TEMPLATE(",\"pod-template-hash\":\"aaa\"",
	                                                                     "httpd:2.3") "}}",
	     (long long)d);
	putf("controllers/web-bbb",
	     "{\"metadata\":{\"name\":\"web-bbb\",\"annotations\":{\"deployment.kubernetes.io/revision\":\"2\"}," OWNER
	     "},\"spec\":{\"replicas\":3,\"selector\":{\"app\":\"web\",\"pod-template-hash\":\"bbb\"},\"template\":" TEMPLATE(
		     ",\"pod-template-hash\":\"bbb\"", "httpd:2.4") "}}",
	     (long long)d);
	putf("controllers/stray-ccc",
	     "{\"metadata\":{\"name\":\"stray-ccc\",\"annotations\":{\"deployment.kubernetes.io/revision\":\"9\"}," OWNER
	     "},\"spec\":{\"replicas\":1,\"selector\":{\"app\":\"x\"},\"template\":" TEMPLATE("", "nginx") "}}",
	     (long long)d + 1000);
	return d;
}

/* P/deploymentstatus/web for incarnation uid at observed. */
static void
status(int64_t uid, int64_t observed, int replicas, int updated, int ready, int available, const char *progress)
{
	putf("deploymentstatus/web",
	     "{\"uid\":\"%lld\",\"observedRevision\":%lld,\"replicas\":%d,\"updatedReplicas\":%d,\"readyReplicas\":%d,"
	     "\"availableReplicas\":%d,\"unavailableReplicas\":%d,\"conditions\":[{\"type\":\"Available\",\"status\":"
	     "\"True\",\"reason\":\"MinimumReplicasAvailable\"},{\"type\":\"Progressing\",\"status\":\"%s\","
	     "\"reason\":\"%s\",\"message\":\"progress of web\"}]}",
	     (long long)uid, (long long)observed, replicas, updated, ready, available, replicas - available,
	     strcmp(progress, "ProgressDeadlineExceeded") == 0 ? "False" : "True", progress);
}

/* The mod revision of deployments/web. */
static int64_t
web_mod(void)
{
	struct etcd_result *r;
	char key[512];
	int64_t m;

	snprintf(key, sizeof(key), "%s/deployments/web", PFX);
	r = etcd_sync_get(S, key);
	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq((int)r->nkvs, 1);
	m = r->kvs[0].mod_revision;
	etcd_result_free(r);
	return m;
}

START_TEST(test_get_describe)
{
	int64_t d = deployment();
	char *out;

	status(d, web_mod(), 3, 3, 2, 2, "ReplicaSetUpdated");
	putf("deployments/old",
	     "{\"spec\":{\"replicas\":2,\"selector\":{\"matchLabels\":{\"app\":\"old\"}},\"template\":"
	     "{\"metadata\":{\"labels\":{\"app\":\"old\"}},\"spec\":{\"containers\":[{\"name\":\"o\","
	     "\"image\":\"busybox\"}]}}}}");
	putf("deploymentstatus/old", "{\"uid\":\"1\",\"replicas\":2,\"updatedReplicas\":2,\"readyReplicas\":2}");
	putf("events/deployments/web/e1",
	     "{\"type\":\"Normal\",\"reason\":\"ScalingReplicationController\",\"message\":\"Scaled up web-bbb to 3\","
	     "\"firstTimestamp\":\"2026-01-01T00:00:00Z\",\"lastTimestamp\":\"2026-01-01T00:00:00Z\",\"count\":1}");
	ck_assert_int_eq(sk(&out, "get", "deployments", NULL), 0);
	ROW(out, "NAME READY UP-TO-DATE AVAILABLE AGE");
	ROW_STARTS(out, "web 2/3 3 2 3"); /* age from its event's firstTimestamp: 300-odd days */
	ROW(out, "old 0/2 0 0 -");        /* a status of another incarnation counts for nothing */
	free(out);

	ck_assert_int_eq(sk(&out, "get", "deploy", "web", "-o", "wide", NULL), 0);
	HAS(out, "CONTAINERS");
	HAS(out, "web,side");
	HAS(out, "httpd:2.4,busybox");
	HASNT(out, "old");
	free(out);

	ck_assert_int_eq(sk(&out, "get", "deployment", "web", "-o", "json", NULL), 0);
	HAS(out, "\"kind\": \"Deployment\"");
	HAS(out, "\"updatedReplicas\": 3");
	HASNT(out, "\"uid\"");
	free(out);

	ck_assert_int_eq(sk(&out, "get", "deployments", "-l", "app=web", NULL), 0);
	HAS(out, "web");
	HASNT(out, "old");
	free(out);

	ck_assert_int_eq(sk(&out, "get", "deployments", "nope", NULL), 1);
	HAS(out, "deployment \"nope\" not found");
	free(out);
	ck_assert_int_eq(sk(&out, "get", "pods,deploy", NULL), 1);
	HAS(out, "listed alone");
	free(out);
	ck_assert_int_eq(sk(&out, "get", "deployments", "-w", NULL), 2);
	HAS(out, "rollout status");
	free(out);

	ck_assert_int_eq(sk(&out, "describe", "deployment", "web", NULL), 0);
	HAS(out, "3 desired | 3 updated | 3 total | 2 available | 1 unavailable");
	HAS(out, "25% max unavailable, 25% max surge");
	HAS(out, "NewReplicationController: web-bbb (0/3 replicas created, revision 2)");
	HAS(out, "web-aaa (0/0 replicas created, revision 1)");
	HASNT(out, "stray-ccc");
	HAS(out, "ReplicaSetUpdated");
	HAS(out, "Scaled up web-bbb to 3");
	free(out);

	ck_assert_int_eq(sk(&out, "describe", "deploy", "nope", NULL), 1);
	free(out);
}
END_TEST

START_TEST(test_history)
{
	char *out;

	deployment();
	ck_assert_int_eq(sk(&out, "rollout", "history", "deployment/web", NULL), 0);
	ROW(out, "REVISION CHANGE-CAUSE");
	ROW(out, "1 first");
	ROW(out, "2 <none>");
	HASNT(out, "9"); /* stray-ccc names web under another uid */
	free(out);

	ck_assert_int_eq(sk(&out, "rollout", "history", "deployment", "web", "--revision=1", NULL), 0);
	HAS(out, "revision #1");
	HAS(out, "httpd:2.3");
	free(out);

	ck_assert_int_eq(sk(&out, "rollout", "history", "deployment/web", "--revision=7", NULL), 1);
	HAS(out, "no revision 7");
	free(out);

	ck_assert_int_eq(sk(&out, "rollout", "history", "rc/web-aaa", NULL), 2);
	HAS(out, "deployments only");
	free(out);
	ck_assert_int_eq(sk(&out, "rollout", "history", "deployment/ghost", NULL), 1);
	HAS(out, "not found");
	free(out);
}
END_TEST

START_TEST(test_undo)
{
	int64_t d = deployment(), c2 = 0;
	json_t *j;
	char *out;

	ck_assert_int_eq(sk(&out, "rollout", "undo", "deployment/web", NULL), 0);
	HAS(out, "rolled back to revision 1");
	free(out);
	j = get_json("deployments/web", &c2);
	ck_assert_int_eq(c2, d); /* the same incarnation */
	json_decref(j);
	HAS(text("deployments/web"), "httpd:2.3");
	HASNT(text("deployments/web"), "httpd:2.4");
	HASNT(text("deployments/web"), "pod-template-hash");
	HAS(text("deployments/web"), "\"replicas\":3");

	ck_assert_int_eq(sk(&out, "rollout", "undo", "deployment/web", "--to-revision=1", NULL), 0);
	HAS(out, "skipped rollback");
	free(out);
	ck_assert_int_eq(sk(&out, "rollout", "undo", "deployment/web", "--to-revision=2", NULL), 0);
	HAS(out, "rolled back to revision 2");
	free(out);
	ck_assert_int_eq(sk(&out, "rollout", "undo", "deployment/web", "--to-revision=5", NULL), 1);
	HAS(out, "no revision 5");
	free(out);

	ck_assert_int_eq(sk(&out, "rollout", "pause", "deployment/web", NULL), 0);
	free(out);
	ck_assert_int_eq(sk(&out, "rollout", "undo", "deployment/web", NULL), 1);
	HAS(out, "paused");
	free(out);
	HAS(text("deployments/web"), "httpd:2.4");
}
END_TEST

START_TEST(test_restart_pause_resume)
{
	json_t *j, *ann;
	const char *at;
	char *out;
	int t[6];

	deployment();
	ck_assert_int_eq(sk(&out, "rollout", "restart", "deployment/web", NULL), 0);
	HAS(out, "deployment/web restarted");
	free(out);
	j = get_json("deployments/web", NULL);
	ann = json_object_get(json_object_get(json_object_get(json_object_get(j, "spec"), "template"), "metadata"),
	                      "annotations");
	at = json_string_value(json_object_get(ann, "kubectl.kubernetes.io/restartedAt"));
	ck_assert_ptr_nonnull(at);
	ck_assert_int_eq(sscanf(at, "%4d-%2d-%2dT%2d:%2d:%2dZ", &t[0], &t[1], &t[2], &t[3], &t[4], &t[5]), 6);
	json_decref(j);

	ck_assert_int_eq(sk(&out, "rollout", "pause", "deployment/web", NULL), 0);
	HAS(out, "deployment/web paused");
	free(out);
	j = get_json("deployments/web", NULL);
	ck_assert(json_is_true(json_object_get(json_object_get(j, "spec"), "paused")));
	json_decref(j);
	ck_assert_int_eq(sk(&out, "rollout", "pause", "deployment/web", NULL), 0);
	HAS(out, "already paused");
	free(out);
	ck_assert_int_eq(sk(&out, "rollout", "restart", "deployment/web", NULL), 1);
	HAS(out, "resume it first");
	free(out);
	ck_assert_int_eq(sk(&out, "rollout", "resume", "deployment/web", NULL), 0);
	HAS(out, "deployment/web resumed");
	free(out);
	j = get_json("deployments/web", NULL);
	ck_assert_ptr_null(json_object_get(json_object_get(j, "spec"), "paused"));
	json_decref(j);
	ck_assert_int_eq(sk(&out, "rollout", "pause", "deployment/ghost", NULL), 1);
	free(out);
}
END_TEST

START_TEST(test_set_image_scale)
{
	char *out;
	json_t *j;

	deployment();
	ck_assert_int_eq(sk(&out, "set", "image", "deployment/web", "web=nginx:1.25", NULL), 0);
	HAS(out, "deployment/web image updated");
	free(out);
	HAS(text("deployments/web"), "nginx:1.25");
	HAS(text("deployments/web"), "busybox"); /* the other container keeps its image */

	ck_assert_int_eq(sk(&out, "set", "image", "deployment/web", "web=nginx:1.26", "nope=x", NULL), 1);
	HAS(out, "no container named \"nope\"");
	free(out);
	HASNT(text("deployments/web"), "nginx:1.26"); /* nothing written */
	ck_assert_int_eq(sk(&out, "set", "image", "deployment/web", "web=bad image", NULL), 2);
	free(out);
	ck_assert_int_eq(sk(&out, "set", "image", "deployment", "web", "*=alpine:3", NULL), 0);
	free(out);
	HASNT(text("deployments/web"), "busybox");
	HASNT(text("deployments/web"), "nginx");
	ck_assert_int_eq(sk(&out, "set", "image", "rc/web-bbb", "web=httpd:2.5", NULL), 0);
	HAS(out, "controller/web-bbb image updated");
	free(out);
	ck_assert_int_eq(sk(&out, "set", "image", "pod/web", "web=httpd:2.5", NULL), 2);
	free(out);

	ck_assert_int_eq(sk(&out, "scale", "deployment/web", "--replicas=5", NULL), 0);
	HAS(out, "deployment/web scaled to 5");
	free(out);
	ck_assert_int_eq(sk(&out, "scale", "deployment", "web", "--replicas=5", NULL), 0);
	HAS(out, "already has 5 replicas");
	free(out);
	j = get_json("deployments/web", NULL);
	ck_assert_int_eq((int)json_integer_value(json_object_get(json_object_get(j, "spec"), "replicas")), 5);
	json_decref(j);
	ck_assert_int_eq(sk(&out, "scale", "deployment/ghost", "--replicas=1", NULL), 1);
	HAS(out, "not found");
	free(out);
}
END_TEST

/* Wait (bounded) for needle in p's output. */
static int
wait_log(struct th_proc *p, const char *needle)
{
	struct timespec end, now;

	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += 15;
	do {
		if (th_proc_log_has(p, needle))
			return 0;
		usleep(20000);
		clock_gettime(CLOCK_MONOTONIC, &now);
	} while (now.tv_sec < end.tv_sec || (now.tv_sec == end.tv_sec && now.tv_nsec < end.tv_nsec));
	return -1;
}

START_TEST(test_status)
{
	int64_t d = deployment();
	struct th_proc *p;
	char *out;

	ck_assert_int_eq(sk(&out, "rollout", "status", "deployment/web", "--timeout=1s", NULL), 1);
	HAS(out, "Waiting for deployment spec update to be observed");
	HAS(out, "timed out");
	free(out);

	status(d, web_mod(), 3, 3, 3, 3, "NewReplicaSetAvailable");
	ck_assert_int_eq(sk(&out, "rollout", "status", "deployment/web", NULL), 0);
	HAS(out, "deployment \"web\" successfully rolled out");
	free(out);

	/* waiting, then done while it watches */
	status(d, web_mod(), 4, 2, 3, 3, "ReplicaSetUpdated");
	p = spawn("rollout", "status", "deployment/web", "--timeout=30s", NULL);
	ck_assert_int_eq(wait_log(p, "2 out of 3 new replicas have been updated"), 0);
	status(d, web_mod(), 4, 3, 3, 3, "ReplicaSetUpdated");
	ck_assert_int_eq(wait_log(p, "1 old replicas are pending termination"), 0);
	ck_assert(th_proc_running(p));
	status(d, web_mod(), 3, 3, 3, 3, "NewReplicaSetAvailable");
	ck_assert_int_eq(th_proc_wait(p, 15), 0);
	ck_assert(th_proc_log_has(p, "successfully rolled out"));
	th_proc_free(p, 0);

	status(d, web_mod(), 3, 2, 2, 2, "ProgressDeadlineExceeded");
	ck_assert_int_eq(sk(&out, "rollout", "status", "deployment/web", NULL), 1);
	HAS(out, "exceeded its progress deadline");
	free(out);

	status(d + 1, web_mod(), 3, 3, 3, 3, "NewReplicaSetAvailable"); /* another incarnation's */
	ck_assert_int_eq(sk(&out, "rollout", "status", "deployment/web", "--timeout=500ms", NULL), 1);
	HAS(out, "to be observed");
	free(out);

	status(d, web_mod(), 3, 1, 3, 3, "ReplicaSetUpdated");
	ck_assert_int_eq(sk(&out, "rollout", "pause", "deployment/web", NULL), 0);
	free(out);
	status(d, web_mod(), 3, 1, 3, 3, "ReplicaSetUpdated");
	ck_assert_int_eq(sk(&out, "rollout", "status", "deployment/web", NULL), 1);
	HAS(out, "is paused");
	free(out);
	status(d, web_mod(), 3, 3, 3, 3, "NewReplicaSetAvailable"); /* a finished rollout, paused */
	ck_assert_int_eq(sk(&out, "rollout", "status", "deployment/web", NULL), 0);
	HAS(out, "successfully rolled out");
	free(out);

	ck_assert_int_eq(sk(&out, "rollout", "status", "deployment/ghost", NULL), 1);
	HAS(out, "not found");
	free(out);
}
END_TEST

/* ---- drain ---- */

static int64_t rc_a, rc_b;

/* Pod name owned by controller rc (uid rcuid; none when rc is NULL),
 * bound to node, Running and Ready (or not). Returns its create revision. */
static int64_t
pod(const char *name, const char *rc, int64_t rcuid, const char *node, int ready)
{
	char rel[128], owner[256] = "";
	int64_t c;

	if (rc)
		snprintf(owner, sizeof(owner),
		         ",\"ownerReferences\":[{\"kind\":\"ReplicationController\",\"name\":\"%s\",\"uid\":\"%lld\","
		         "\"controller\":true}]",
		         rc, (long long)rcuid);
	snprintf(rel, sizeof(rel), "pods/%s", name);
	c = putf(
		rel,
		"{\"metadata\":{\"name\":\"%s\",\"labels\":{\"app\":\"%s\"}%s},\"spec\":{\"terminationGracePeriodSeconds\":"
		"5,\"containers\":[{\"name\":\"web\",\"image\":\"httpd:2.4\"}]}}",
		name, rc ? rc : "lone", owner);
	ck_assert_int_gt(tu_put_binding(S, PFX, node, name, c), 0);
	snprintf(rel, sizeof(rel), "podstatus/%s/%s", node, name);
	putf(rel,
	     "{\"uid\":\"%lld\",\"phase\":\"Running\",\"podIP\":\"10.244.0.9\",\"conditions\":[{\"type\":\"Ready\","
	     "\"status\":\"%s\"}],\"containerStatuses\":[{\"name\":\"web\",\"ready\":%s,\"restartCount\":0,\"state\":"
	     "{\"running\":{}}}]}",
	     (long long)c, ready ? "True" : "False", ready ? "true" : "false");
	return c;
}

/* Nodes m1 and m2, controllers a (a-1, a-2 on m1, a-3 on m2) and b (b-1
 * on m1). */
static void
cluster(void)
{
	putf("nodes/m1", "{\"metadata\":{\"name\":\"m1\"}}");
	putf("nodes/m2", "{\"metadata\":{\"name\":\"m2\"}}");
	rc_a = putf("controllers/a",
	            "{\"spec\":{\"replicas\":3,\"selector\":{\"app\":\"a\"},\"template\":{\"metadata\":"
	            "{\"labels\":{\"app\":\"a\"}},\"spec\":{\"containers\":[{\"name\":\"web\","
	            "\"image\":\"httpd:2.4\"}]}}}}");
	rc_b = putf("controllers/b",
	            "{\"spec\":{\"replicas\":1,\"selector\":{\"app\":\"b\"},\"template\":{\"metadata\":"
	            "{\"labels\":{\"app\":\"b\"}},\"spec\":{\"containers\":[{\"name\":\"web\","
	            "\"image\":\"httpd:2.4\"}]}}}}");
	pod("a-1", "a", rc_a, "m1", 1);
	pod("a-2", "a", rc_a, "m1", 1);
	pod("a-3", "a", rc_a, "m2", 1);
	pod("b-1", "b", rc_b, "m1", 1);
}

/* The test as agent of m1 and as replication controller. */
struct fake {
	int replace;       /* make replacements */
	char seen[16][16]; /* pods whose stop mark was seen, in order */
	int nseen;
	struct {
		char name[16], rc[4];
		int64_t uid;
		double ready_at; /* 0: Ready already */
	} repl[16];
	int nrepl;
	int violations; /* a pod of a controller marked while one of its replacements was not Ready */
	char why[256];
};

static int
seen(const struct fake *f, const char *name)
{
	int i;

	for (i = 0; i < f->nseen; i++)
		if (strcmp(f->seen[i], name) == 0)
			return 1;
	return 0;
}

/* Pod name (j) carries the stop mark: as the agent, mark the binding and
 * remove the status; check the one-at-a-time rule. */
static void
on_marked(struct fake *f, const char *name, json_t *pod)
{
	const char *rc = json_string_value(json_object_get(
		json_array_get(json_object_get(json_object_get(pod, "metadata"), "ownerReferences"), 0), "name"));
	char rel[128];
	json_t *b;
	int i;

	if (seen(f, name) || f->nseen == 16)
		return;
	snprintf(f->seen[f->nseen++], sizeof(f->seen[0]), "%s", name);
	for (i = 0; rc && i < f->nrepl; i++)
		if (strcmp(f->repl[i].rc, rc) == 0 && f->repl[i].ready_at > 0) {
			f->violations++;
			snprintf(f->why, sizeof(f->why), "%s stopped while %s was not Ready yet", name,
			         f->repl[i].name);
		}
	snprintf(rel, sizeof(rel), "bindings/m1/%s", name);
	if (!(b = get_json(rel, NULL)))
		return;
	json_object_set_new(json_object_get(json_object_get(b, "pod"), "metadata"), "deletionGracePeriodSeconds",
	                    json_integer(json_integer_value(
				    json_object_get(json_object_get(pod, "metadata"), "deletionGracePeriodSeconds"))));
	{
		char *v = json_dumps(b, JSON_COMPACT);

		putf(rel, "%s", v);
		free(v);
	}
	json_decref(b);
	snprintf(rel, sizeof(rel), "podstatus/m1/%s", name);
	del(rel);
}

/* Pod name is gone: remove its binding (the scheduler's part) and, as its
 * controller, create a replacement on m2 that becomes Ready 0.5 s later. */
static void
on_gone(struct fake *f, const char *name)
{
	char rel[128];
	int n = f->nrepl;

	snprintf(rel, sizeof(rel), "bindings/m1/%s", name);
	del(rel);
	if (!f->replace || name[0] == 'l' || n == 16)
		return;
	snprintf(f->repl[n].rc, sizeof(f->repl[n].rc), "%c", name[0]);
	snprintf(f->repl[n].name, sizeof(f->repl[n].name), "%c-r%d", name[0], n);
	f->repl[n].uid = name[0] == 'a' ? rc_a : rc_b;
	f->repl[n].ready_at = ev_time() + 0.5;
	pod(f->repl[n].name, f->repl[n].rc, f->repl[n].uid, "m2", 0);
	f->nrepl++;
}

/* One look at the keys: marks, deleted pods, replacements due. */
static void
fake_step(struct fake *f)
{
	char key[128];
	struct etcd_range_opts o = {.prefix = 1};
	struct etcd_result *r;
	size_t i;
	int k;

	snprintf(key, sizeof(key), "%s/bindings/m1/", PFX);
	r = etcd_sync_range(S, key, &o);
	ck_assert_ptr_nonnull(r);
	for (i = 0; i < r->nkvs; i++) {
		const char *name = r->kvs[i].key + strlen(key);
		char rel[128];
		json_t *p;

		snprintf(rel, sizeof(rel), "pods/%s", name);
		if (!(p = get_json(rel, NULL)))
			on_gone(f, name);
		else if (json_object_get(json_object_get(p, "metadata"), "deletionGracePeriodSeconds"))
			on_marked(f, name, p);
		json_decref(p);
	}
	etcd_result_free(r);
	for (k = 0; k < f->nrepl; k++)
		if (f->repl[k].ready_at > 0 && ev_time() >= f->repl[k].ready_at) {
			int64_t c = 0;
			char rel[128];
			json_t *j;

			snprintf(rel, sizeof(rel), "pods/%s", f->repl[k].name);
			j = get_json(rel, &c);
			json_decref(j);
			snprintf(rel, sizeof(rel), "podstatus/m2/%s", f->repl[k].name);
			putf(rel,
			     "{\"uid\":\"%lld\",\"phase\":\"Running\",\"conditions\":[{\"type\":\"Ready\",\"status\":"
			     "\"True\"}],\"containerStatuses\":[{\"name\":\"web\",\"ready\":true,\"restartCount\":0}]}",
			     (long long)c);
			f->repl[k].ready_at = 0;
		}
}

/* Run drain with the fake until it exits (at most 60 s). Its status. */
static int
drain_with_fake(struct fake *f, char **log, const char *a1, const char *a2)
{
	struct th_proc *p = spawn("drain", "m1", a1, a2, NULL);
	double end = ev_time() + 60;
	int rc;

	while (th_proc_running(p) && ev_time() < end) {
		fake_step(f);
		usleep(50000);
	}
	rc = th_proc_wait(p, 1);
	*log = th_proc_log(p);
	th_proc_free(p, 0);
	return rc;
}

START_TEST(test_drain_refuses_lone_pods)
{
	json_t *j;
	char *out;

	cluster();
	pod("lone", NULL, 0, "m1", 1);
	ck_assert_int_eq(sk(&out, "drain", "m1", NULL), 1);
	HAS(out, "node/m1 cordoned");
	HAS(out, "cannot stop");
	HAS(out, "lone");
	HAS(out, "--force");
	free(out);
	j = get_json("pods/a-1", NULL);
	ck_assert_ptr_null(json_object_get(json_object_get(j, "metadata"), "deletionGracePeriodSeconds"));
	json_decref(j);
	j = get_json("nodes/m1", NULL);
	ck_assert(json_is_true(json_object_get(json_object_get(j, "spec"), "unschedulable")));
	json_decref(j);

	ck_assert_int_eq(sk(&out, "drain", "nosuch", NULL), 1);
	HAS(out, "not found");
	free(out);
}
END_TEST

START_TEST(test_drain_one_at_a_time)
{
	struct fake f = {.replace = 1};
	json_t *j;
	char *out;
	int i, a1 = -1, a2 = -1;

	cluster();
	pod("lone", NULL, 0, "m1", 1);
	ck_assert_int_eq(drain_with_fake(&f, &out, "--force", "--grace-period=2"), 0);
	HAS(out, "node/m1 drained");
	HAS(out, "warning: stopping");
	HAS(out, "stopping pod/a-1 (grace period 2s)");
	free(out);
	ck_assert_msg(f.violations == 0, "%s", f.why);
	ck_assert_int_eq(f.nseen, 4);
	for (i = 0; i < f.nseen; i++) {
		a1 = strcmp(f.seen[i], "a-1") == 0 ? i : a1;
		a2 = strcmp(f.seen[i], "a-2") == 0 ? i : a2;
	}
	ck_assert_int_ge(a1, 0);
	ck_assert_int_gt(a2, a1);
	for (i = 0; i < 4; i++) { /* every pod of m1 is gone, a-3 on m2 untouched */
		const char *gone[] = {"pods/a-1", "pods/a-2", "pods/b-1", "pods/lone"};

		ck_assert_ptr_null(get_json(gone[i], NULL));
	}
	j = get_json("pods/a-3", NULL);
	ck_assert_ptr_null(json_object_get(json_object_get(j, "metadata"), "deletionGracePeriodSeconds"));
	json_decref(j);
	ck_assert_int_eq(f.nrepl, 3);
}
END_TEST

START_TEST(test_drain_timeout)
{
	struct fake f = {.replace = 0};
	json_t *j;
	char *out;

	cluster();
	ck_assert_int_eq(drain_with_fake(&f, &out, "--timeout=1s", "--grace-period=1"), 1);
	HAS(out, "timed out");
	HAS(out, "stays cordoned");
	HASNT(out, "drained");
	free(out);
	ck_assert_int_eq(f.nseen, 2); /* a-1 and b-1; a-2 waits for a replacement that never comes */
	j = get_json("pods/a-2", NULL);
	ck_assert_ptr_nonnull(j);
	ck_assert_ptr_null(json_object_get(json_object_get(j, "metadata"), "deletionGracePeriodSeconds"));
	json_decref(j);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("skiffctl_rollout");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 90);
	tcase_add_test(tc, test_get_describe);
	tcase_add_test(tc, test_history);
	tcase_add_test(tc, test_undo);
	tcase_add_test(tc, test_restart_pause_resume);
	tcase_add_test(tc, test_set_image_scale);
	tcase_add_test(tc, test_status);
	tcase_add_test(tc, test_drain_refuses_lone_pods);
	tcase_add_test(tc, test_drain_one_at_a_time);
	tcase_add_test(tc, test_drain_timeout);
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
