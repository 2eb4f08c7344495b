/*
 * check_agent.c: the real skiff-agent against a real etcd and the real
 * dockerd. Each test has its own --prefix and --node-name, writes bindings
 * as the scheduler would and checks P/podstatus/NODE/POD and Docker: a pod
 * runs with a pod IP; a killed container restarts; a crashing one backs
 * off; a missing image is reported; deleting the binding removes
 * everything; kill -9 and restart adopts; foreign containers and other
 * agents' containers are never touched; a malformed binding only warns;
 * the node status (P/nodestatus/NODE, never P/nodes/NODE) and its
 * heartbeat lease are registered and kept.
 *
 * The planner's rules on their own (restart policy and exit code, back-off,
 * adoption, image errors, teardown) are tested without Docker by
 * tests/unit/check_agent_plan.c over tests/fixtures/agent/; the tests here
 * are those that need Docker's own answers.
 *
 * Every container a test makes carries skiff.node=tPID-… (or
 * skiff.test=tPID); the suite's teardown removes them all.
 */
#include <arpa/inet.h>
#include <check.h>
#include <curl/curl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "docker_harness.h"
#include "etcd_harness.h"
#include "etcd_testutil.h"
#include "th_podhttp.h"
#include "th_proc.h"

#ifndef SKIFF_AGENT
#define SKIFF_AGENT "build/bin/skiff-agent"
#endif

#define HTTPD_SPEC                                                                                                      \
	"{\"terminationGracePeriodSeconds\":1,\"containers\":[{\"name\":\"web\",\"image\":\"skiff/test-httpd:latest\"," \
	"\"env\":[{\"name\":\"MODE\",\"value\":\"test\"}],\"resources\":{\"limits\":{\"memory\":\"64Mi\",\"cpu\":\"500m\"}}}]}"

static struct th_etcd *E;
static struct etcd_sync *S;
static char RUN[32];

/* ---------------------------------------------------------------- fixtures */

static void
suite_setup(void)
{
	snprintf(RUN, sizeof(RUN), "t%d", (int)getpid());
	if (dh_ensure_dockerd(60) < 0 || dh_ensure_test_image() < 0) {
		fprintf(stderr, "check_agent: Docker is not usable\n");
		abort();
	}
	E = th_etcd_start(1, NULL);
	if (!E)
		abort();
}

static void
suite_teardown(void)
{
	dh_remove_where("skiff.node", RUN);
	dh_remove_where("skiff.test", RUN);
	th_etcd_free(E);
}

static void
setup(void)
{
	struct etcd_config cfg;
	struct etcd_error err = {0};

	tu_config(E, &cfg);
	S = etcd_sync_new(&cfg, &err);
	ck_assert_msg(S != NULL, "sync client: %s", err.msg);
}

static void
teardown(void)
{
	etcd_sync_free(S);
}

/* ---------------------------------------------------------------- helpers */

/* The size of file in bytes, 0 when absent. */
static long
tr_file_size(const char *file)
{
	FILE *f = fopen(file, "r");
	long n = 0;

	if (f && fseek(f, 0, SEEK_END) == 0)
		n = ftell(f);
	if (f)
		fclose(f);
	return n < 0 ? 0 : n;
}

static double
mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Poll cond every 50 ms until it holds or timeout_s passes: 0 / -1. */
static int
wait_until(int (*cond)(void *), void *arg, double timeout_s)
{
	double end = mono() + timeout_s;

	for (;;) {
		if (cond(arg))
			return 0;
		if (mono() > end)
			return -1;
		usleep(50 * 1000);
	}
}

struct ctx {
	char prefix[64], node[64];
	struct th_proc *agent;
};

static void
ctx_init(struct ctx *c, const char *name)
{
	snprintf(c->prefix, sizeof(c->prefix), "/%s-%s", RUN, name);
	snprintf(c->node, sizeof(c->node), "%s-%s", RUN, name);
	c->agent = NULL;
}

static struct th_proc *
start_agent_env(const struct ctx *c, const char *const *extra, char *const *env)
{
	const char *argv[40] = {SKIFF_AGENT,
	                        "--etcd-endpoints",
	                        th_etcd_endpoints(E),
	                        "--prefix",
	                        c->prefix,
	                        "--node-name",
	                        c->node,
	                        "--restart-backoff-base",
	                        "1s",
	                        "--resync-interval",
	                        "2s",
	                        "--log-level",
	                        "debug"};
	int n = 13;
	struct th_proc *p;

	for (; extra && *extra && n < 38; extra++)
		argv[n++] = *extra;
	argv[n] = NULL;
	p = th_proc_start(SKIFF_AGENT, (char *const *)argv, env);
	ck_assert_ptr_nonnull(p);
	return p;
}

static struct th_proc *
start_agent(const struct ctx *c, const char *const *extra)
{
	return start_agent_env(c, extra, NULL);
}

/* Stop the agent, then remove what it made (the agent first, or it would
 * put them back). */
static void
ctx_done(struct ctx *c, int show_log)
{
	th_proc_free(c->agent, show_log);
	c->agent = NULL;
	dh_remove_where("skiff.node", c->node);
}

static void
put(const char *key, const char *val)
{
	ck_assert_msg(tu_put(S, key, val) > 0, "put %s failed", key);
}

static void
bind_pod(const struct ctx *c, const char *node, const char *pod, const char *uid, const char *spec)
{
	char key[256], val[4096];

	snprintf(key, sizeof(key), "%s/bindings/%s/%s", c->prefix, node, pod);
	snprintf(val, sizeof(val),
	         "{\"node\":\"%s\",\"pod\":{\"metadata\":{\"name\":\"%s\",\"uid\":\"%s\"},\"spec\":%s}}", node, pod,
	         uid, spec);
	put(key, val);
}

static void
unbind_pod(const struct ctx *c, const char *node, const char *pod)
{
	char key[256];
	struct etcd_result *r;

	snprintf(key, sizeof(key), "%s/bindings/%s/%s", c->prefix, node, pod);
	r = etcd_sync_delete(S, key, NULL);
	TU_OK(r);
	etcd_result_free(r);
}

/* The value of key as JSON (new), NULL when absent. */
static json_t *
get_json(const char *key)
{
	struct etcd_result *r = etcd_sync_get(S, key);
	json_t *j = NULL;

	if (r && r->err.code == ETCD_OK && r->nkvs == 1)
		j = json_loadb(r->kvs[0].value, r->kvs[0].value_len, 0, NULL);
	if (r)
		etcd_result_free(r);
	return j;
}

static int
key_exists(const char *key)
{
	struct etcd_result *r = etcd_sync_get(S, key);
	int n = r && r->err.code == ETCD_OK ? (int)r->nkvs : -1;

	if (r)
		etcd_result_free(r);
	return n;
}

static int count_prefix(const char *prefix);

/* For wait_until: a key under the prefix (a char *) exists. */
static int
has_prefix(void *prefix)
{
	return count_prefix(prefix) >= 1;
}

static int
count_prefix(const char *prefix)
{
	struct etcd_range_opts o = {.prefix = 1, .count_only = 1};
	struct etcd_result *r = etcd_sync_range(S, prefix, &o);
	int n = r && r->err.code == ETCD_OK ? (int)r->count : -1;

	if (r)
		etcd_result_free(r);
	return n;
}

/* A condition on P/podstatus/NODE/POD. */
struct want {
	const struct ctx *c;
	const char *node, *pod;
	const char *phase;  /* or NULL */
	const char *reason; /* waiting reason of container 0, or NULL */
	int running;        /* container 0 running */
	int min_restarts;
	int gone;     /* the key must be absent */
	json_t *last; /* the last value read (owned) */
};

static int
status_ok(void *arg)
{
	struct want *w = arg;
	char key[256];
	json_t *st, *c0;
	const char *phase, *reason;

	snprintf(key, sizeof(key), "%s/podstatus/%s/%s", w->c->prefix, w->node ? w->node : w->c->node, w->pod);
	json_decref(w->last);
	w->last = st = get_json(key);
	if (w->gone)
		return st == NULL;
	if (!st)
		return 0;
	c0 = json_array_get(json_object_get(st, "containerStatuses"), 0);
	phase = json_string_value(json_object_get(st, "phase"));
	reason = json_string_value(json_object_get(json_object_get(json_object_get(c0, "state"), "waiting"), "reason"));
	if (w->phase && (!phase || strcmp(phase, w->phase) != 0))
		return 0;
	if (w->reason && (!reason || strcmp(reason, w->reason) != 0))
		return 0;
	if (w->running && !json_object_get(json_object_get(c0, "state"), "running"))
		return 0;
	if (json_integer_value(json_object_get(c0, "restartCount")) < w->min_restarts)
		return 0;
	return 1;
}

static void
wait_status(struct want *w, double timeout_s)
{
	int rc = wait_until(status_ok, w, timeout_s);
	char *s = w->last ? json_dumps(w->last, JSON_COMPACT) : NULL;

	if (rc < 0)
		th_proc_free(w->c->agent, 1), ((struct ctx *)w->c)->agent = NULL;
	ck_assert_msg(rc == 0, "pod %s: status not as expected after %.0f s: %s", w->pod, timeout_s, s ? s : "(none)");
	free(s);
}

static const char *
ctr_id(json_t *st, int i)
{
	const char *id = json_string_value(
		json_object_get(json_array_get(json_object_get(st, "containerStatuses"), (size_t)i), "containerID"));

	return id && strncmp(id, "docker://", 9) == 0 ? id + 9 : NULL;
}

static int
node_containers(const char *node, const char *pod, char **ids)
{
	char l1[128], l2[128];
	const char *labels[] = {l1, pod ? l2 : NULL, NULL};

	snprintf(l1, sizeof(l1), "skiff.node=%s", node);
	snprintf(l2, sizeof(l2), "skiff.pod=%s", pod ? pod : "");
	return dh_list(labels, ids);
}

struct count_want {
	const char *node, *pod;
	int n;
};

static int
count_is(void *arg)
{
	struct count_want *w = arg;

	return node_containers(w->node, w->pod, NULL) == w->n;
}

struct log_want {
	struct th_proc *p;
	const char *needle;
};

static int
log_has(void *arg)
{
	struct log_want *w = arg;

	return th_proc_log_has(w->p, w->needle);
}

static size_t
sink(char *p, size_t sz, size_t n, void *ud)
{
	char *b = ud;
	size_t len = strlen(b), add = sz * n;

	if (len + add < 255) {
		memcpy(b + len, p, add);
		b[len + add] = '\0';
	}
	return sz * n;
}

/* GET http://ip/ into body (255 bytes at most); the HTTP status, 0 when
 * there was no answer. */
static long
http_get(const char *ip, char *body)
{
	CURL *c = curl_easy_init();
	char url[64];
	long st = 0;

	body[0] = '\0';
	snprintf(url, sizeof(url), "http://%s/", ip);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, (void *)body);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 5L);
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &st);
	curl_easy_cleanup(c);
	return st;
}

/* GET http://ip/ and return 1 when the body is "hello\n". */
static int
http_hello(const char *ip)
{
	char body[256];

	return http_get(ip, body) == 200 && strcmp(body, "hello\n") == 0;
}

static int
http_ok(void *arg)
{
	return http_hello(arg);
}

/* A TCP port free on every address (bound to 0.0.0.0:0, then closed). */
static int
free_port(void)
{
	int port = th_free_port();

	ck_assert_int_gt(port, 0);
	return port;
}

/* ---------------------------------------------------------------- tests */

START_TEST(test_pod_runs)
{
	struct ctx c;
	struct want w = {0};
	const char *ip, *id;
	char *resp = NULL, path[256];
	json_t *in, *labels, *env;
	size_t i;
	int found = 0;

	char spec[1024], hostport[64];
	int port = free_port();

	ctx_init(&c, "runs");
	c.agent = start_agent(&c, NULL);
	snprintf(
		spec, sizeof(spec),
		"{\"terminationGracePeriodSeconds\":1,\"containers\":[{\"name\":\"web\",\"image\":\"skiff/test-httpd:latest\","
		"\"ports\":[{\"containerPort\":80,\"hostPort\":%d}],"
		"\"env\":[{\"name\":\"MODE\",\"value\":\"test\"}],"
		"\"resources\":{\"limits\":{\"memory\":\"64Mi\",\"cpu\":\"500m\"}}}]}",
		port);
	bind_pod(&c, c.node, "web", "101", spec);
	w.c = &c;
	w.pod = "web";
	w.phase = "Running";
	w.running = 1;
	wait_status(&w, 30);
	ck_assert_str_eq(json_string_value(json_object_get(w.last, "uid")), "101");
	ip = json_string_value(json_object_get(w.last, "podIP"));
	ck_assert_msg(ip && *ip, "no podIP");
	ck_assert_ptr_nonnull(json_string_value(json_object_get(w.last, "hostIP")));
	ck_assert_ptr_nonnull(json_string_value(json_object_get(w.last, "startTime")));
	/* The app container answers on the infra container's IP. */
	ck_assert_msg(wait_until(http_ok, (void *)ip, 10) == 0, "httpd does not answer on the pod IP %s", ip);
	/* ... and on the host port the infra container publishes. */
	snprintf(hostport, sizeof(hostport), "127.0.0.1:%d", port);
	ck_assert_msg(wait_until(http_ok, hostport, 10) == 0, "httpd does not answer on %s", hostport);
	/* Labels, env and limits of the app container. */
	id = ctr_id(w.last, 0);
	ck_assert_ptr_nonnull(id);
	snprintf(path, sizeof(path), "/containers/%s/json", id);
	ck_assert_int_eq(dh_request("GET", path, NULL, &resp), 200);
	in = json_loads(resp, 0, NULL);
	free(resp);
	labels = json_object_get(json_object_get(in, "Config"), "Labels");
	ck_assert_str_eq(json_string_value(json_object_get(labels, "skiff.pod")), "web");
	ck_assert_str_eq(json_string_value(json_object_get(labels, "skiff.uid")), "101");
	ck_assert_str_eq(json_string_value(json_object_get(labels, "skiff.node")), c.node);
	ck_assert_str_eq(json_string_value(json_object_get(labels, "skiff.container")), "web");
	ck_assert_ptr_nonnull(json_string_value(json_object_get(labels, "skiff.hash")));
	env = json_object_get(json_object_get(in, "Config"), "Env");
	for (i = 0; i < json_array_size(env); i++)
		found |= strcmp(json_string_value(json_array_get(env, i)), "MODE=test") == 0;
	ck_assert_msg(found, "MODE=test not in the container's environment");
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(in, "HostConfig"), "Memory")), 64 << 20);
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(in, "HostConfig"), "NanoCpus")), 500000000);
	ck_assert_str_eq(json_string_value(json_object_get(
				 json_object_get(json_object_get(in, "HostConfig"), "RestartPolicy"), "Name")),
	                 "no");
	ck_assert(strncmp(json_string_value(json_object_get(json_object_get(in, "HostConfig"), "NetworkMode")),
	                  "container:", 10) == 0);
	json_decref(in);
	/* One infra + one app container. */
	ck_assert_int_eq(node_containers(c.node, "web", NULL), 2);
	/* SIGTERM stops the agent cleanly; the pod keeps running. */
	ck_assert_int_eq(th_proc_signal(c.agent, SIGTERM), 0);
	ck_assert_int_eq(th_proc_wait(c.agent, 20), 0);
	ck_assert_int_eq(dh_exists(id), 1);
	json_decref(w.last);
	ctx_done(&c, 0);
}
END_TEST

START_TEST(test_killed_container_restarts)
{
	struct ctx c;
	struct want w = {0};
	char path[256], first[80];

	ctx_init(&c, "kill");
	c.agent = start_agent(&c, NULL);
	bind_pod(&c, c.node, "web", "102", HTTPD_SPEC);
	w.c = &c;
	w.pod = "web";
	w.phase = "Running";
	w.running = 1;
	wait_status(&w, 30);
	snprintf(first, sizeof(first), "%s", ctr_id(w.last, 0));
	snprintf(path, sizeof(path), "/containers/%s/kill?signal=SIGKILL", first);
	ck_assert_int_eq(dh_request("POST", path, NULL, NULL), 204);
	w.min_restarts = 1;
	wait_status(&w, 30);
	ck_assert_int_eq(json_integer_value(json_object_get(
				 json_array_get(json_object_get(w.last, "containerStatuses"), 0), "restartCount")),
	                 1);
	ck_assert_str_ne(ctr_id(w.last, 0), first);
	ck_assert_int_eq(node_containers(c.node, "web", NULL), 2);
	json_decref(w.last);
	ctx_done(&c, 0);
}
END_TEST

START_TEST(test_crash_loop_backoff)
{
	struct ctx c;
	struct want w = {0};
	json_t *last;

	ctx_init(&c, "crash");
	c.agent = start_agent(&c, NULL);
	bind_pod(
		&c, c.node, "crash", "103",
		"{\"terminationGracePeriodSeconds\":1,\"containers\":[{\"name\":\"c\",\"image\":\"skiff/test-httpd:latest\","
		"\"command\":[\"/bin/busybox\",\"sh\",\"-c\",\"exit 1\"]}]}");
	w.c = &c;
	w.pod = "crash";
	w.reason = "CrashLoopBackOff";
	w.min_restarts = 1;
	wait_status(&w, 30);
	last = json_object_get(
		json_object_get(json_array_get(json_object_get(w.last, "containerStatuses"), 0), "lastState"),
		"terminated");
	ck_assert_int_eq(json_integer_value(json_object_get(last, "exitCode")), 1);
	json_decref(w.last);
	ctx_done(&c, 0);
}
END_TEST

START_TEST(test_missing_image)
{
	struct ctx c;
	struct want w = {0};
	const char *msg;
	char prefix[256];

	ctx_init(&c, "img");
	c.agent = start_agent(&c, NULL);
	bind_pod(
		&c, c.node, "never", "104",
		"{\"containers\":[{\"name\":\"c\",\"image\":\"skiff/no-such-image:1\",\"imagePullPolicy\":\"Never\"}]}");
	bind_pod(&c, c.node, "pull", "105",
	         "{\"containers\":[{\"name\":\"c\",\"image\":\"skiff-nosuch.invalid/x:1\"}]}");
	w.c = &c;
	w.pod = "never";
	w.phase = "Pending";
	w.reason = "ErrImageNeverPull";
	wait_status(&w, 30);
	w.pod = "pull";
	w.reason = "ErrImagePull";
	wait_status(&w, 30);
	msg = json_string_value(json_object_get(
		json_object_get(
			json_object_get(json_array_get(json_object_get(w.last, "containerStatuses"), 0), "state"),
			"waiting"),
		"message"));
	ck_assert_msg(msg && strstr(msg, "skiff-nosuch.invalid"), "message: %s", msg ? msg : "(none)");
	snprintf(prefix, sizeof(prefix), "%s/nodeevents/%s/pods/pull/", c.prefix, c.node);
	ck_assert_msg(wait_until(has_prefix, prefix, 10) == 0, "no key under %s", prefix);
	/* Only the infra containers exist. */
	ck_assert_int_eq(node_containers(c.node, "pull", NULL), 1);
	json_decref(w.last);
	ctx_done(&c, 0);
}
END_TEST

/* Delete pod's binding; its status and every container of the node go. */
static void
unbind_wait_gone(struct ctx *c, const char *pod)
{
	struct want w = {.c = c, .pod = pod, .gone = 1};
	struct count_want cw = {.node = c->node};

	unbind_pod(c, c->node, pod);
	wait_status(&w, 30);
	json_decref(w.last);
	ck_assert_msg(wait_until(count_is, &cw, 10) == 0, "containers left behind");
}

START_TEST(test_binding_deleted)
{
	struct ctx c;
	struct want w = {0};

	ctx_init(&c, "del");
	c.agent = start_agent(&c, NULL);
	bind_pod(&c, c.node, "web", "106", HTTPD_SPEC);
	w.c = &c;
	w.pod = "web";
	w.phase = "Running";
	wait_status(&w, 30);
	json_decref(w.last);
	unbind_wait_gone(&c, "web");
	ck_assert(th_proc_running(c.agent));
	ctx_done(&c, 0);
}
END_TEST

/* The requests of trace (SKIFF_DOCKER_TRACE lines) from byte off on, as
 * "METHOD PATH" lines in the agent's order (new), NULL when unreadable. */
static char *
trace_requests(const char *trace, long off)
{
	FILE *f = fopen(trace, "r");
	char line[8192], *out = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&out, &len);

	ck_assert_ptr_nonnull(m);
	if (f && fseek(f, off, SEEK_SET) == 0)
		while (fgets(line, sizeof(line), f)) {
			json_t *j = json_loads(line, 0, NULL);
			const char *meth = json_string_value(json_object_get(j, "method"));

			if (meth)
				fprintf(m, "%s %s\n", meth, json_string_value(json_object_get(j, "path")));
			json_decref(j);
		}
	if (f)
		fclose(f);
	fclose(m);
	return out;
}

/* Where request (a prefix of a line of reqs, then id) first occurs at or
 * after from, or NULL. */
static const char *
trace_find(const char *from, const char *req, const char *id)
{
	char want[256];

	snprintf(want, sizeof(want), "%s%s", req, id);
	return from ? strstr(from, want) : NULL;
}

/* 1 when the line that starts at line holds needle. */
static int
line_has(const char *line, const char *needle)
{
	const char *f = strstr(line, needle), *nl = strchr(line, '\n');

	return f && (!nl || f < nl);
}

/* Start c's agent (ctx_init with name, flags extra) with its Docker
 * requests traced into trace, a mkstemp template that gets the file's
 * name. */
static void
start_traced(struct ctx *c, const char *name, const char *const *extra, char *trace)
{
	char env0[64];
	char *env[] = {env0, NULL};
	int fd = mkstemp(trace);

	ck_assert_int_ge(fd, 0);
	close(fd);
	snprintf(env0, sizeof(env0), "SKIFF_DOCKER_TRACE=%s", trace);
	ctx_init(c, name);
	c->agent = start_agent_env(c, extra, env);
}

/* A pod's stop is its app container stopped and removed, then its
 * sandbox, then the status: a removal Docker confirmed needs no new list
 * of the pod's containers before the next step (agent_exec.c,
 * remove_done). */
START_TEST(test_stop_order)
{
	struct ctx c;
	struct want w = {0};
	char trace[] = "/tmp/check_agent_trace.XXXXXX", *reqs, app[80];
	const char *a_stop, *a_del, *s_stop, *s_del, *list;
	long off;

	start_traced(&c, "order", NULL, trace);
	bind_pod(&c, c.node, "web", "112", HTTPD_SPEC);
	w.c = &c;
	w.pod = "web";
	w.phase = "Running";
	wait_status(&w, 30);
	ck_assert_ptr_nonnull(ctr_id(w.last, 0));
	snprintf(app, sizeof(app), "%s", ctr_id(w.last, 0));
	json_decref(w.last);
	off = tr_file_size(trace);
	unbind_wait_gone(&c, "web");
	reqs = trace_requests(trace, off);
	ck_assert_ptr_nonnull(reqs);
	a_stop = trace_find(reqs, "POST /containers/", app);
	a_del = trace_find(a_stop, "DELETE /containers/", app);
	s_stop = a_del ? strstr(strchr(a_del, '\n'), "POST /containers/") : NULL;
	s_del = s_stop ? strstr(s_stop, "DELETE /containers/") : NULL;
	ck_assert_msg(a_stop && a_del && s_stop && s_del, "not app stop, app remove, sandbox stop, sandbox remove:\n%s",
	              reqs);
	ck_assert_msg(line_has(a_stop, "/stop?t=1") && line_has(s_stop, "/stop?t=") && !line_has(s_stop, app) &&
	                      !line_has(s_del, app),
	              "not the app then the sandbox:\n%s", reqs);
	list = strstr(a_stop, "skiff.pod%3Dweb");
	ck_assert_msg(!list || list > s_del, "the pod's containers listed again during its stop:\n%s", reqs);
	free(reqs);
	unlink(trace);
	ctx_done(&c, 0);
}
END_TEST

/* Lines of reqs holding needle and, when not NULL, also and. */
static int
count_lines(const char *reqs, const char *needle, const char *also)
{
	int n = 0;

	for (const char *l = reqs; l && *l;) {
		const char *nl = strchr(l, '\n');

		n += line_has(l, needle) && (!also || line_has(l, also));
		l = nl ? nl + 1 : l + strlen(l);
	}
	return n;
}

/* The requests of reqs about pod web: [0] lists of its containers, [1]
 * inspects of ids[0] or ids[1] (its two containers), [2] starts, [3]
 * stops, [4] deletes of them. */
static void
count_pod_calls(const char *reqs, char ids[2][80], int *n)
{
	n[0] = count_lines(reqs, "GET /containers/json", "skiff.pod%3Dweb%22");
	n[1] = n[2] = n[3] = n[4] = 0;
	for (int i = 0; i < 2; i++) {
		n[1] += count_lines(reqs, "GET /containers/", ids[i]);
		n[2] += count_lines(reqs, ids[i], "/start");
		n[3] += count_lines(reqs, ids[i], "/stop");
		n[4] += count_lines(reqs, "DELETE /containers/", ids[i]);
	}
}

/* Bind pod (uid) with HTTPD_SPEC and wait until it is Running. */
static void
bind_running(struct ctx *c, const char *pod, const char *uid)
{
	struct want w = {.c = c, .pod = pod, .phase = "Running"};

	bind_pod(c, c->node, pod, uid, HTTPD_SPEC);
	wait_status(&w, 30);
	json_decref(w.last);
}

/* The Docker calls of one pod's start and stop, from the agent's trace.
 * Start: one list, the sandbox's create, start and inspect (its IP), the
 * image inspect (the next pod's create goes without one: agent_pods_img.c),
 * the app's create, start and inspect; no list after the agent's own
 * writes, and no second pass from the echoes of its own starts. Stop (the
 * binding gone): one list and no inspect (its State and the sandbox's IP
 * are in the list's answer), then stop and delete of each container; no pass
 * from the die and destroy events of its removals, nor from the delete
 * of its status. A marker pod started after each phase shows that such a
 * pass would have run by then (a queued name runs at once with free
 * workers, long before a new pod is Running). */
START_TEST(test_start_stop_calls)
{
	struct ctx c;
	struct want w = {0};
	struct count_want cw = {0};
	static const char *const slow_resync[] = {"--resync-interval", "10m", NULL}; /* no pass but the pods' own */
	char trace[] = "/tmp/check_agent_trace.XXXXXX", *all, *stop, *ids, ids2[2][80];
	int st[5], sp[5];
	long off;

	start_traced(&c, "calls", slow_resync, trace);
	bind_running(&c, "web", "130");
	ck_assert_int_eq(node_containers(c.node, "web", &ids), 2);
	ck_assert(sscanf(ids, "%79s %79s", ids2[0], ids2[1]) == 2);
	free(ids);
	bind_running(&c, "marka", "131");
	off = tr_file_size(trace);
	unbind_pod(&c, c.node, "web");
	w = (struct want){.c = &c, .pod = "web", .gone = 1};
	wait_status(&w, 30);
	json_decref(w.last);
	cw = (struct count_want){.node = c.node, .pod = "web"};
	ck_assert_msg(wait_until(count_is, &cw, 10) == 0, "web's containers left behind");
	bind_running(&c, "markb", "132");
	all = trace_requests(trace, 0);
	stop = trace_requests(trace, off);
	ck_assert(all && stop);
	count_pod_calls(all, ids2, st);
	count_pod_calls(stop, ids2, sp);
	for (int i = 0; i < 5; i++)
		st[i] -= sp[i];
	ck_assert_msg(st[0] == 1 && st[1] == 2 && st[2] == 2 && st[3] == 0 && st[4] == 0,
	              "start: %d lists %d inspects %d starts %d stops %d deletes, not 1 2 2 0 0:\n%s", st[0], st[1],
	              st[2], st[3], st[4], all);
	ck_assert_msg(count_lines(all, "GET /images/", "test-httpd") == 1,
	              "the image inspected more than once for two pods of one image:\n%s", all);
	ck_assert_msg(sp[0] == 1 && sp[1] == 0 && sp[2] == 0 && sp[3] == 2 && sp[4] == 2,
	              "stop: %d lists %d inspects %d starts %d stops %d deletes, not 1 0 0 2 2:\n%s", sp[0], sp[1],
	              sp[2], sp[3], sp[4], stop);
	free(all);
	free(stop);
	unlink(trace);
	ctx_done(&c, 0);
}
END_TEST

/* For wait_until: at least n lists of pod web's containers in trace
 * from byte off on. */
struct lists_want {
	const char *trace;
	long off;
	int n;
};

static int
lists_reached(void *arg)
{
	struct lists_want *w = arg;
	char *reqs = trace_requests(w->trace, w->off);
	int n = count_lines(reqs, "GET /containers/json", "skiff.pod%3Dweb%22");

	free(reqs);
	return n >= w->n;
}

/* Trace times ("t"): of the last line before byte off (*end), and of
 * the first request from off on whose path holds pat (*next, -1: none). */
static void
trace_times(const char *trace, long off, const char *pat, double *end, double *next)
{
	FILE *f = fopen(trace, "r");
	char line[8192];
	long at = 0;

	*end = *next = -1;
	while (f && *next < 0 && fgets(line, sizeof(line), f)) {
		json_t *j = json_loads(line, 0, NULL);
		const char *path = json_string_value(json_object_get(j, "path"));

		if (at < off)
			*end = json_number_value(json_object_get(j, "t"));
		else if (path && strstr(path, pat))
			*next = json_number_value(json_object_get(j, "t"));
		at += (long)strlen(line);
		json_decref(j);
	}
	if (f)
		fclose(f);
}

/* A bound pod is looked at again --resync-interval (3 s here) after its
 * own last pass, plus up to a quarter of it: not at a node-wide tick that
 * may come right after it started. Such a pass of a pod at rest lists its
 * containers and inspects none: the start times come from the status the
 * pass before it left (agent_pods.c, pass_steady). Meanwhile the health
 * check asks no GET /info. */
START_TEST(test_periodic_pass_per_pod)
{
	struct ctx c;
	static const char *const resync[] = {"--resync-interval", "3s", NULL};
	char trace[] = "/tmp/check_agent_trace.XXXXXX", *reqs, key[256];
	double end, next;
	long off;
	int inspects, nets;
	int64_t rev;
	struct etcd_result *r;

	start_traced(&c, "periodic", resync, trace);
	bind_running(&c, "web", "150");
	off = tr_file_size(trace);
	snprintf(key, sizeof(key), "%s/podstatus/%s/web", c.prefix, c.node);
	r = etcd_sync_get(S, key);
	ck_assert(r && r->nkvs == 1);
	rev = r->kvs[0].mod_revision;
	etcd_result_free(r);
	ck_assert_msg(wait_until(lists_reached, &(struct lists_want){trace, off, 1}, 10) == 0,
	              "no periodic pass of web within 10 s");
	trace_times(trace, off, "skiff.pod%3Dweb%22", &end, &next);
	ck_assert(end > 0 && next > 0);
	ck_assert_msg(next - end >= 2.9 && next - end <= 3.75 + 1.0,
	              "web's periodic pass came %.2f s after its start pass ended, not 3-3.75 s", next - end);
	ck_assert_msg(wait_until(lists_reached, &(struct lists_want){trace, off, 2}, 10) == 0,
	              "no second periodic pass of web within 10 s");
	reqs = trace_requests(trace, off);
	ck_assert_ptr_nonnull(reqs);
	inspects = count_lines(reqs, "GET /containers/", "/json") - count_lines(reqs, "GET /containers/json", NULL);
	ck_assert_msg(inspects == 0, "periodic passes of a pod at rest inspected %d times:\n%s", inspects, reqs);
	/* The health check's ticks (every 5 s) walk the network store with a
	 * list of networks; GET /info (about 50 ms of Docker's CPU) came at
	 * the first tick only (agent_runtime.c). */
	nets = count_lines(reqs, "GET /networks?filters=", NULL);
	ck_assert_msg(nets >= 1 && nets >= count_lines(reqs, "GET /_ping", NULL) - 1, "ticks without the networks:\n%s",
	              reqs);
	ck_assert_msg(count_lines(reqs, "GET /info", NULL) == 0, "GET /info at every tick:\n%s", reqs);
	free(reqs);
	r = etcd_sync_get(S, key); /* and their status is the same bytes: not rewritten */
	ck_assert(r && r->nkvs == 1);
	ck_assert_int_eq(r->kvs[0].mod_revision, rev);
	etcd_result_free(r);
	unlink(trace);
	ctx_done(&c, 0);
}
END_TEST

/* Put P/endpoints/web with ip as its one address ("" none); the
 * revision. */
static int64_t
put_endpoints(const struct ctx *c, const char *ip)
{
	char key[256], val[512], addr[128] = "";
	int64_t rev;

	if (*ip)
		snprintf(addr, sizeof(addr), "{\"ip\":\"%s\",\"node\":\"%s\",\"pod\":\"web\"}", ip, c->node);
	snprintf(key, sizeof(key), "%s/endpoints/web", c->prefix);
	snprintf(val, sizeof(val),
	         "{\"clusterIP\":\"198.51.100.7\",\"ports\":[{\"name\":\"http\",\"port\":80,\"targetPort\":8080,"
	         "\"protocol\":\"TCP\"}],\"addresses\":[%s]}",
	         addr);
	ck_assert_int_gt(rev = tu_put(S, key, val), 0);
	return rev;
}

/* The drain gate of a pod whose binding is gone, on the sandbox's IP from
 * the list's answer (its stop inspects nothing): while the IP is in an
 * endpoints' addresses (node m2's proxy reports, so m2 is waited for)
 * the pass lists again every 0.2 s and neither stops nor inspects its
 * containers; once the IP left and m2's proxy reported that revision, the
 * pod goes (the 60 s grace capped at 1 s for the stop itself). */
START_TEST(test_stop_gate_from_list)
{
	struct ctx c;
	struct want w = {0};
	struct count_want cw = {0};
	static const char *const extra[] = {"--max-grace-period", "1s", NULL};
	char trace[] = "/tmp/check_agent_trace.XXXXXX", key[256], val[128], ip[64], *ids, ids2[2][80], *reqs;
	int sp[5];
	long off;
	int64_t rev;

	ctx_init(&c, "gate");
	snprintf(key, sizeof(key), "%s/nodeleases/m2", c.prefix); /* known at the agent's first list */
	put(key, "{}");
	snprintf(key, sizeof(key), "%s/proxystatus/m2", c.prefix);
	put(key, "{\"node\":\"m2\",\"endpointsRevision\":1}");
	start_traced(&c, "gate", extra, trace);
	bind_pod(&c, c.node, "web", "133",
	         "{\"terminationGracePeriodSeconds\":60,\"containers\":[{\"name\":\"web\","
	         "\"image\":\"skiff/test-httpd:latest\"}]}");
	w = (struct want){.c = &c, .pod = "web", .phase = "Running"};
	wait_status(&w, 30);
	snprintf(ip, sizeof(ip), "%s", json_string_value(json_object_get(w.last, "podIP")));
	json_decref(w.last);
	ck_assert_msg(ip[0], "no podIP");
	put_endpoints(&c, ip);
	ck_assert_int_eq(node_containers(c.node, "web", &ids), 2);
	ck_assert(sscanf(ids, "%79s %79s", ids2[0], ids2[1]) == 2);
	free(ids);
	off = tr_file_size(trace);
	unbind_pod(&c, c.node, "web");
	ck_assert_msg(wait_until(lists_reached, &(struct lists_want){trace, off, 4}, 15) == 0,
	              "the stop did not wait at the gate");
	reqs = trace_requests(trace, off);
	count_pod_calls(reqs, ids2, sp);
	ck_assert_msg(sp[1] == 0 && sp[3] == 0 && sp[4] == 0, "at the gate: %d inspects %d stops %d deletes:\n%s",
	              sp[1], sp[3], sp[4], reqs);
	free(reqs);
	rev = put_endpoints(&c, "");
	snprintf(val, sizeof(val), "{\"node\":\"m2\",\"endpointsRevision\":%lld}", (long long)rev);
	put(key, val);
	cw = (struct count_want){.node = c.node, .pod = "web"};
	ck_assert_msg(wait_until(count_is, &cw, 20) == 0, "web's containers left behind after the gate opened");
	reqs = trace_requests(trace, off);
	count_pod_calls(reqs, ids2, sp);
	ck_assert_msg(sp[1] == 0 && sp[3] == 2 && sp[4] == 2, "stop: %d inspects %d stops %d deletes:\n%s", sp[1],
	              sp[3], sp[4], reqs);
	free(reqs);
	unlink(trace);
	ctx_done(&c, 0);
}
END_TEST

/* --max-grace-period caps the stop: busybox httpd as PID 1 ignores SIGTERM,
 * so with the pod's 60 s it would stay a minute; capped at 1 s it is gone
 * in seconds. */
START_TEST(test_max_grace_period)
{
	static const char *const extra[] = {"--max-grace-period", "1s", NULL};
	struct ctx c;
	struct want w = {0};
	struct count_want cw = {0};

	ctx_init(&c, "grace");
	c.agent = start_agent(&c, extra);
	bind_pod(&c, c.node, "web", "116",
	         "{\"terminationGracePeriodSeconds\":60,\"containers\":[{\"name\":\"web\","
	         "\"image\":\"skiff/test-httpd:latest\"}]}");
	w.c = &c;
	w.pod = "web";
	w.phase = "Running";
	wait_status(&w, 30);
	json_decref(w.last);
	unbind_pod(&c, c.node, "web");
	cw.node = c.node;
	ck_assert_msg(wait_until(count_is, &cw, 15) == 0, "containers still there: the 60 s grace was not capped");
	ctx_done(&c, 0);
}
END_TEST

START_TEST(test_restart_adopts)
{
	struct ctx c;
	struct want w = {0};
	struct log_want lw;
	char *before = NULL, *after = NULL, key[256];
	int64_t rev_before;
	struct etcd_result *r;

	ctx_init(&c, "adopt");
	c.agent = start_agent(&c, NULL);
	bind_pod(&c, c.node, "web", "107", HTTPD_SPEC);
	bind_pod(&c, c.node, "web2", "108", HTTPD_SPEC);
	w.c = &c;
	w.pod = "web";
	w.phase = "Running";
	wait_status(&w, 30);
	w.pod = "web2";
	wait_status(&w, 30);
	json_decref(w.last);
	ck_assert_int_eq(node_containers(c.node, NULL, &before), 4);
	snprintf(key, sizeof(key), "%s/podstatus/%s/web", c.prefix, c.node);
	r = etcd_sync_get(S, key);
	rev_before = r->kvs[0].mod_revision;
	etcd_result_free(r);
	/* kill -9, then a binding removed while the agent is down. */
	th_proc_kill(c.agent);
	th_proc_free(c.agent, 0);
	unbind_pod(&c, c.node, "web2");
	c.agent = start_agent(&c, NULL);
	lw.p = c.agent;
	lw.needle = "pod=web msg=reconciled";
	ck_assert_msg(wait_until(log_has, &lw, 20) == 0, "no pass over pod web after the restart");
	w.pod = "web2";
	w.phase = NULL;
	w.gone = 1;
	w.last = NULL;
	wait_status(&w, 30);
	{
		struct count_want cw = {c.node, "web2", 0};

		ck_assert_msg(wait_until(count_is, &cw, 15) == 0, "web2's containers were not removed");
	}
	ck_assert_int_eq(node_containers(c.node, NULL, &after), 2);
	/* web's two containers are exactly the ones from before. */
	{
		char *line, *save = NULL, *copy = strdup(after);

		for (line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
			ck_assert_msg(strstr(before, line), "container %s is new", line);
		free(copy);
	}
	r = etcd_sync_get(S, key);
	ck_assert_int_eq(r->kvs[0].mod_revision, rev_before); /* unchanged status: not rewritten */
	etcd_result_free(r);
	free(before);
	free(after);
	json_decref(w.last);
	ctx_done(&c, 0);
}
END_TEST

START_TEST(test_foreign_containers_survive)
{
	struct ctx c;
	struct want w = {0};
	struct log_want lw;
	char name1[96], name2[96], lt[96], ln[96], *id1, *id2;
	const char *l1[] = {lt, "skiff.pod=web", NULL};
	const char *l2[3];

	ctx_init(&c, "foreign");
	snprintf(name1, sizeof(name1), "%s-foreign-plain", RUN);
	snprintf(name2, sizeof(name2), "%s-foreign-other", RUN);
	snprintf(lt, sizeof(lt), "skiff.test=%s", RUN);
	snprintf(ln, sizeof(ln), "skiff.node=%s-foreign-other", RUN);
	l2[0] = ln;
	l2[1] = "skiff.pod=web";
	l2[2] = NULL;
	id1 = dh_run(name1, l1);
	id2 = dh_run(name2, l2);
	ck_assert_ptr_nonnull(id1);
	ck_assert_ptr_nonnull(id2);
	c.agent = start_agent(&c, NULL);
	bind_pod(&c, c.node, "web", "109", HTTPD_SPEC);
	w.c = &c;
	w.pod = "web";
	w.phase = "Running";
	wait_status(&w, 30);
	json_decref(w.last);
	unbind_pod(&c, c.node, "web");
	w.gone = 1;
	w.last = NULL;
	w.phase = NULL;
	wait_status(&w, 30);
	/* A resync after the removal (every 2 s) must not touch them either. */
	lw.p = c.agent;
	lw.needle = "msg=\"caches synced";
	ck_assert(wait_until(log_has, &lw, 5) == 0);
	{
		struct count_want cw = {c.node, NULL, 0};

		ck_assert(wait_until(count_is, &cw, 10) == 0);
	}
	ck_assert_int_eq(dh_exists(id1), 1);
	ck_assert_int_eq(dh_exists(id2), 1);
	dh_remove(id1);
	dh_remove(id2);
	free(id1);
	free(id2);
	json_decref(w.last);
	ctx_done(&c, 0);
}
END_TEST

START_TEST(test_two_agents_apart)
{
	struct ctx a, b;
	struct want w = {0};
	char *bb = NULL, *ba = NULL;
	struct count_want cw;

	ctx_init(&a, "two-a");
	ctx_init(&b, "two-b");
	snprintf(b.prefix, sizeof(b.prefix), "%s", a.prefix); /* one cluster */
	a.agent = start_agent(&a, NULL);
	b.agent = start_agent(&b, NULL);
	bind_pod(&a, a.node, "web", "110", HTTPD_SPEC);
	bind_pod(&b, b.node, "web", "111", HTTPD_SPEC);
	w.phase = "Running";
	w.pod = "web";
	w.c = &a;
	wait_status(&w, 30);
	w.c = &b;
	wait_status(&w, 30);
	json_decref(w.last);
	ck_assert_int_eq(node_containers(b.node, NULL, &bb), 2);
	unbind_pod(&a, a.node, "web");
	cw.node = a.node;
	cw.pod = NULL;
	cw.n = 0;
	ck_assert(wait_until(count_is, &cw, 20) == 0);
	memset(&w, 0, sizeof(w));
	w.c = &b;
	w.pod = "web";
	w.phase = "Running";
	wait_status(&w, 10);
	ck_assert_int_eq(node_containers(b.node, NULL, &ba), 2);
	ck_assert_str_eq(ba, bb);
	free(ba);
	free(bb);
	json_decref(w.last);
	ctx_done(&a, 0);
	ctx_done(&b, 0);
}
END_TEST

START_TEST(test_malformed_binding)
{
	struct ctx c;
	struct want w = {0};
	char key[256], prefix[256];
	struct count_want cw;

	ctx_init(&c, "bad");
	c.agent = start_agent(&c, NULL);
	snprintf(key, sizeof(key), "%s/bindings/%s/bad", c.prefix, c.node);
	put(key, "{not json");
	snprintf(key, sizeof(key), "%s/bindings/%s/bad2", c.prefix, c.node);
	put(key, "{\"node\":\"elsewhere\",\"pod\":{\"metadata\":{\"name\":\"bad2\",\"uid\":\"5\"},"
	         "\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"x\"}]}}}");
	snprintf(key, sizeof(key), "%s/bindings/%s/Bad_Name", c.prefix, c.node);
	put(key, "{}");
	bind_pod(&c, c.node, "web", "112", HTTPD_SPEC);
	w.c = &c;
	w.pod = "web";
	w.phase = "Running";
	wait_status(&w, 30);
	snprintf(prefix, sizeof(prefix), "%s/nodeevents/%s/pods/bad/", c.prefix, c.node);
	ck_assert_msg(wait_until(has_prefix, prefix, 10) == 0, "no key under %s", prefix);
	snprintf(prefix, sizeof(prefix), "%s/nodeevents/%s/pods/bad2/", c.prefix, c.node);
	ck_assert_msg(wait_until(has_prefix, prefix, 10) == 0, "no key under %s", prefix);
	cw.node = c.node;
	cw.pod = "bad";
	cw.n = 0;
	ck_assert(count_is(&cw));
	snprintf(key, sizeof(key), "%s/podstatus/%s/bad", c.prefix, c.node);
	ck_assert_int_eq(key_exists(key), 0);
	ck_assert(th_proc_running(c.agent));
	json_decref(w.last);
	ctx_done(&c, 0);
}
END_TEST

struct node_want {
	const char *key;
	const char *label_disk;
	json_t *last;
};

static int
node_ok(void *arg)
{
	struct node_want *w = arg;
	json_t *n;

	json_decref(w->last);
	w->last = n = get_json(w->key);
	if (!n || !json_object_get(json_object_get(n, "status"), "capacity"))
		return 0;
	return !w->label_disk ||
	       (json_string_value(json_object_get(json_object_get(json_object_get(n, "metadata"), "labels"), "disk")) &&
	        strcmp(json_string_value(
			       json_object_get(json_object_get(json_object_get(n, "metadata"), "labels"), "disk")),
	               w->label_disk) == 0);
}

struct lease_want {
	const char *key;
	int64_t not_lease;
	int64_t after_rev; /* and a mod revision above this */
	int64_t rev;       /* the revision seen */
};

static int
lease_ok(void *arg)
{
	struct lease_want *w = arg;
	struct etcd_result *r = etcd_sync_get(S, w->key);
	int ok = r && r->err.code == ETCD_OK && r->nkvs == 1 && r->kvs[0].lease != 0 &&
	         r->kvs[0].lease != w->not_lease && r->kvs[0].mod_revision > w->after_rev;

	if (ok)
		w->rev = r->kvs[0].mod_revision;
	if (r)
		etcd_result_free(r);
	return ok;
}

/* The lease key's spec: holder, duration, and a renewTime that parses. */
static void
check_lease_spec(const char *key, const char *node, int64_t ttl_s, char *renew, size_t len)
{
	json_t *j = get_json(key), *spec = json_object_get(j, "spec");
	const char *rt = json_string_value(json_object_get(spec, "renewTime")), *end;
	struct tm tm = {0};

	end = rt ? strptime(rt, "%Y-%m-%dT%H:%M:%S", &tm) : NULL;
	ck_assert_msg(end && (*end == 'Z' || *end == '.') && rt[strlen(rt) - 1] == 'Z',
	              "renewTime \"%s\" is no RFC 3339 UTC time", rt ? rt : "");
	ck_assert_msg(llabs((long long)(timegm(&tm) - time(NULL))) < 60, "renewTime %s is not now", rt);
	ck_assert_str_eq(json_string_value(json_object_get(spec, "holderIdentity")), node);
	ck_assert_int_eq(json_integer_value(json_object_get(spec, "leaseDurationSeconds")), ttl_s);
	snprintf(renew, len, "%s", rt);
	json_decref(j);
}

/* The heartbeat: with --lease-ttl 3s the lease key is rewritten (a new
 * revision, a new renewTime, the same etcd lease) every 0.75 s. */
static void
check_heartbeat(struct lease_want *lw, const char *node)
{
	char before[64], after[64];
	int64_t lease;
	struct etcd_result *r;

	check_lease_spec(lw->key, node, 3, before, sizeof(before));
	r = etcd_sync_get(S, lw->key);
	lease = r->kvs[0].lease;
	lw->after_rev = r->kvs[0].mod_revision;
	etcd_result_free(r);
	ck_assert_msg(wait_until(lease_ok, lw, 3) == 0, "the lease key was not renewed within 3 s");
	lw->after_rev = lw->rev;
	ck_assert_msg(wait_until(lease_ok, lw, 3) == 0, "the lease key was not renewed twice within 6 s");
	check_lease_spec(lw->key, node, 3, after, sizeof(after));
	ck_assert_str_ne(before, after);
	r = etcd_sync_get(S, lw->key);
	ck_assert_int_eq(r->kvs[0].lease, lease);
	etcd_result_free(r);
	lw->after_rev = 0;
}

START_TEST(test_node_registration)
{
	struct ctx c;
	const char *extra[] = {"--node-labels",
	                       "disk=ssd,zone=a",
	                       "--capacity-cpu",
	                       "3",
	                       "--capacity-memory",
	                       "1Gi",
	                       "--max-pods",
	                       "7",
	                       "--host-port-range",
	                       "30000-32767",
	                       "--allow-host-path",
	                       "/srv/,/var/log",
	                       "--lease-ttl",
	                       "3s",
	                       "--resync-interval",
	                       "1s",
	                       NULL};
	char nkey[256], skey[256], lkey[256];
	struct node_want nw = {0};
	struct lease_want lw = {0};
	json_t *cap, *edit;
	char *s;
	struct etcd_result *r;
	int64_t lease;

	ctx_init(&c, "reg");
	c.agent = start_agent(&c, extra);
	snprintf(nkey, sizeof(nkey), "%s/nodes/%s", c.prefix, c.node);
	snprintf(skey, sizeof(skey), "%s/nodestatus/%s", c.prefix, c.node);
	snprintf(lkey, sizeof(lkey), "%s/nodeleases/%s", c.prefix, c.node);
	nw.key = skey;
	nw.label_disk = "ssd";
	ck_assert(wait_until(node_ok, &nw, 20) == 0);
	cap = json_object_get(json_object_get(nw.last, "status"), "capacity");
	ck_assert_str_eq(json_string_value(json_object_get(cap, "cpu")), "3");
	ck_assert_str_eq(json_string_value(json_object_get(cap, "memory")), "1Gi");
	ck_assert_str_eq(json_string_value(json_object_get(cap, "pods")), "7");
	/* what the node allows, for the scheduler to filter on */
	cap = json_object_get(nw.last, "status");
	ck_assert(json_is_false(json_object_get(cap, "allowPrivileged")));
	ck_assert_str_eq(json_string_value(json_object_get(cap, "hostPortRange")), "30000-32767");
	ck_assert_int_eq(json_array_size(json_object_get(cap, "allowedHostPaths")), 2);
	ck_assert_str_eq(json_string_value(json_array_get(json_object_get(cap, "allowedHostPaths"), 1)), "/var/log");
	ck_assert_str_eq(
		json_string_value(json_object_get(
			json_array_get(json_object_get(json_object_get(nw.last, "status"), "addresses"), 0), "type")),
		"InternalIP");
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(nw.last, "metadata"), "name")), c.node);
	ck_assert_str_eq(json_string_value(json_object_get(
				 json_object_get(json_object_get(nw.last, "metadata"), "labels"), "zone")),
	                 "a");
	lw.key = lkey;
	ck_assert(wait_until(lease_ok, &lw, 20) == 0);
	check_heartbeat(&lw, c.node);
	/* Someone overwrites the node status (labels and status): the agent,
	 * whose key it is, puts its own back. */
	edit = json_deep_copy(nw.last);
	json_object_set_new(json_object_get(edit, "metadata"), "labels", json_pack("{s:s}", "disk", "hdd"));
	json_object_del(edit, "status");
	s = json_dumps(edit, JSON_COMPACT);
	put(skey, s);
	free(s);
	json_decref(edit);
	nw.label_disk = "ssd";
	ck_assert_msg(wait_until(node_ok, &nw, 20) == 0, "status not restored");
	/* The agent never writes P/nodes/NODE (the node controller does, and
	 * it does not run here). */
	ck_assert_ptr_null(get_json(nkey));
	/* The lease is revoked: the agent grants a new one and writes the key again. */
	r = etcd_sync_get(S, lkey);
	lease = r->kvs[0].lease;
	etcd_result_free(r);
	r = etcd_sync_lease_revoke(S, lease);
	TU_OK(r);
	etcd_result_free(r);
	lw.not_lease = lease;
	ck_assert_msg(wait_until(lease_ok, &lw, 20) == 0, "the lease key was not re-created");
	json_decref(nw.last);
	ctx_done(&c, 0);
}
END_TEST

START_TEST(test_host_port_conflict)
{
	struct ctx c;
	struct want w = {0};
	char spec[512];
	const char *msg;
	int port = free_port();

	ctx_init(&c, "port");
	c.agent = start_agent(&c, NULL);
	snprintf(
		spec, sizeof(spec),
		"{\"terminationGracePeriodSeconds\":1,\"containers\":[{\"name\":\"web\",\"image\":\"skiff/test-httpd:latest\","
		"\"ports\":[{\"containerPort\":80,\"hostPort\":%d}]}]}",
		port);
	bind_pod(&c, c.node, "first", "113", spec);
	w.c = &c;
	w.pod = "first";
	w.phase = "Running";
	wait_status(&w, 30);
	bind_pod(&c, c.node, "second", "114", spec);
	w.pod = "second";
	w.phase = "Pending";
	w.reason = "ContainerCreating";
	wait_status(&w, 30);
	msg = json_string_value(json_object_get(w.last, "message"));
	ck_assert_msg(msg && *msg, "no message saying why the sandbox does not start");
	/* The first pod is untouched. */
	w.pod = "first";
	w.phase = "Running";
	w.reason = NULL;
	wait_status(&w, 5);
	ck_assert_int_eq(json_integer_value(json_object_get(
				 json_array_get(json_object_get(w.last, "containerStatuses"), 0), "restartCount")),
	                 0);
	ck_assert(th_proc_running(c.agent));
	json_decref(w.last);
	ctx_done(&c, 0);
}
END_TEST

static int
env_has(const char *id, const char *kv)
{
	char path[256], *resp = NULL;
	json_t *in, *env;
	size_t i;
	int found = 0;

	snprintf(path, sizeof(path), "/containers/%s/json", id);
	if (dh_request("GET", path, NULL, &resp) != 200) {
		free(resp);
		return 0;
	}
	in = json_loads(resp, 0, NULL);
	free(resp);
	env = json_object_get(json_object_get(in, "Config"), "Env");
	for (i = 0; i < json_array_size(env); i++)
		found |= strcmp(json_string_value(json_array_get(env, i)), kv) == 0;
	json_decref(in);
	return found;
}

struct new_id {
	struct want *w;
	const char *old;
};

static int
replaced(void *arg)
{
	struct new_id *n = arg;
	const char *id;

	if (!status_ok(n->w))
		return 0;
	id = ctr_id(n->w->last, 0);
	return id && strcmp(id, n->old) != 0;
}

START_TEST(test_spec_change_recreates)
{
	struct ctx c;
	struct want w = {0};
	struct new_id ni;
	char old[80];

	ctx_init(&c, "spec");
	c.agent = start_agent(&c, NULL);
	bind_pod(&c, c.node, "web", "115", HTTPD_SPEC);
	w.c = &c;
	w.pod = "web";
	w.phase = "Running";
	w.running = 1;
	wait_status(&w, 30);
	snprintf(old, sizeof(old), "%s", ctr_id(w.last, 0));
	/* The scheduler refreshes the binding's copy with a new env. */
	bind_pod(
		&c, c.node, "web", "115",
		"{\"terminationGracePeriodSeconds\":1,\"containers\":[{\"name\":\"web\",\"image\":\"skiff/test-httpd:latest\","
		"\"env\":[{\"name\":\"MODE\",\"value\":\"changed\"}]}]}");
	ni.w = &w;
	ni.old = old;
	ck_assert_msg(wait_until(replaced, &ni, 30) == 0, "container not recreated");
	ck_assert(env_has(ctr_id(w.last, 0), "MODE=changed"));
	ck_assert_int_eq(dh_exists(old), 0);
	ck_assert_int_eq(node_containers(c.node, "web", NULL), 2);
	json_decref(w.last);
	ctx_done(&c, 0);
}
END_TEST

/* The environment as the container sees it: its shell writes the
 * variables into the page its httpd serves. The ConfigMap and Secret are
 * written where the config controller puts them (P/nodeconfig/NODE/). */
#define ENV_SPEC                                                                                                          \
	"{\"terminationGracePeriodSeconds\":1,\"containers\":[{\"name\":\"c\",\"image\":\"skiff/test-httpd:latest\","     \
	"\"command\":[\"/bin/busybox\",\"sh\",\"-c\",\"echo \\\"$PW|$POD|$NODE|$MEM|$GREETING|$CFG_MODE|$(POD)|$$PW\\\" " \
	"> /www/index.html && exec /bin/busybox httpd -f -p 80 -h /www\"],"                                               \
	"\"resources\":{\"limits\":{\"memory\":\"64Mi\"}},"                                                               \
	"\"envFrom\":[{\"prefix\":\"CFG_\",\"configMapRef\":{\"name\":\"cfg\"}}],"                                        \
	"\"env\":[{\"name\":\"PW\",\"valueFrom\":{\"secretKeyRef\":{\"name\":\"db\",\"key\":\"pw\"}}},"                   \
	"{\"name\":\"POD\",\"valueFrom\":{\"fieldRef\":{\"fieldPath\":\"metadata.name\"}}},"                              \
	"{\"name\":\"NODE\",\"valueFrom\":{\"fieldRef\":{\"fieldPath\":\"spec.nodeName\"}}},"                             \
	"{\"name\":\"MEM\",\"valueFrom\":{\"resourceFieldRef\":{\"resource\":\"limits.memory\",\"divisor\":\"1Mi\"}}},"   \
	"{\"name\":\"NOPE\",\"valueFrom\":{\"configMapKeyRef\":{\"name\":\"absent\",\"key\":\"k\",\"optional\":true}}},"  \
	"{\"name\":\"GREETING\",\"value\":\"hi-$(PW)-$(NOPE)\"}]}]}"

struct body_want {
	const char *ip;
	char want[256], got[256];
};

static int
body_is(void *arg)
{
	struct body_want *b = arg;

	return http_get(b->ip, b->got) == 200 && strcmp(b->got, b->want) == 0;
}

START_TEST(test_env_from_config)
{
	struct ctx c;
	struct want w = {0};
	struct body_want b;
	char key[256];

	ctx_init(&c, "env");
	c.agent = start_agent(&c, NULL);
	snprintf(key, sizeof(key), "%s/nodeconfig/%s/secrets/db", c.prefix, c.node);
	put(key, "{\"metadata\":{\"name\":\"db\"},\"data\":{\"pw\":\"aHVudGVyMg==\"}}");
	snprintf(key, sizeof(key), "%s/nodeconfig/%s/configmaps/cfg", c.prefix, c.node);
	put(key, "{\"metadata\":{\"name\":\"cfg\"},\"data\":{\"MODE\":\"prod\"}}");
	bind_pod(&c, c.node, "envpod", "131", ENV_SPEC);
	w.c = &c;
	w.pod = "envpod";
	w.phase = "Running";
	w.running = 1;
	wait_status(&w, 30);
	b.ip = json_string_value(json_object_get(w.last, "podIP"));
	ck_assert_ptr_nonnull(b.ip);
	snprintf(b.want, sizeof(b.want), "hunter2|envpod|%s|64|hi-hunter2-$(NOPE)|prod|envpod|hunter2\n", c.node);
	ck_assert_msg(wait_until(body_is, &b, 10) == 0, "the container saw %s, not %s", b.got, b.want);
	json_decref(w.last);
	ctx_done(&c, 0);
}
END_TEST

/* A Secret the node has no copy of: the container waits with
 * CreateContainerConfigError and a Warning event, and starts once the
 * copy arrives. */
START_TEST(test_env_missing_secret)
{
	struct ctx c;
	struct want w = {0};
	char key[256];

	ctx_init(&c, "envmiss");
	c.agent = start_agent(&c, NULL);
	snprintf(key, sizeof(key), "%s/nodeconfig/%s/configmaps/cfg", c.prefix, c.node);
	put(key, "{\"metadata\":{\"name\":\"cfg\"},\"data\":{\"MODE\":\"prod\"}}");
	bind_pod(&c, c.node, "envpod", "132", ENV_SPEC);
	w.c = &c;
	w.pod = "envpod";
	w.phase = "Pending";
	w.reason = "CreateContainerConfigError";
	wait_status(&w, 30);
	snprintf(key, sizeof(key), "%s/nodeevents/%s/pods/envpod/", c.prefix, c.node);
	/* The event is written beside the status, not before it. */
	ck_assert_msg(wait_until(has_prefix, key, 10) == 0, "no event under %s", key);
	ck_assert_int_eq(node_containers(c.node, "envpod", NULL), 1); /* the infra container only */
	snprintf(key, sizeof(key), "%s/nodeconfig/%s/secrets/db", c.prefix, c.node);
	put(key, "{\"metadata\":{\"name\":\"db\"},\"data\":{\"pw\":\"aHVudGVyMg==\"}}");
	w.phase = "Running";
	w.reason = NULL;
	w.running = 1;
	wait_status(&w, 40);
	json_decref(w.last);
	ctx_done(&c, 0);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("agent");
	TCase *tc = tcase_create("core");

	tcase_add_unchecked_fixture(tc, suite_setup, suite_teardown);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 90);
	tcase_add_test(tc, test_node_registration);
	tcase_add_test(tc, test_pod_runs);
	tcase_add_test(tc, test_killed_container_restarts);
	tcase_add_test(tc, test_crash_loop_backoff);
	tcase_add_test(tc, test_missing_image);
	tcase_add_test(tc, test_binding_deleted);
	tcase_add_test(tc, test_max_grace_period);
	tcase_add_test(tc, test_restart_adopts);
	tcase_add_test(tc, test_foreign_containers_survive);
	tcase_add_test(tc, test_two_agents_apart);
	tcase_add_test(tc, test_malformed_binding);
	tcase_add_test(tc, test_host_port_conflict);
	tcase_add_test(tc, test_spec_change_recreates);
	tcase_add_test(tc, test_env_from_config);
	tcase_add_test(tc, test_env_missing_secret);
	tcase_add_test(tc, test_stop_order);
	tcase_add_test(tc, test_start_stop_calls);
	tcase_add_test(tc, test_stop_gate_from_list);
	tcase_add_test(tc, test_periodic_pass_per_pod);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
