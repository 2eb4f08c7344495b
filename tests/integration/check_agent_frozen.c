/*
 * check_agent_frozen.c: an agent whose dockerd is frozen (SIGSTOP) while
 * pods are being made, then thawed (issue 22 item 1, agent_deadline.h).
 * The dockerd is the test's own (th_dockerd.h: its own data root on a
 * tmpfs, its own network namespace), started and removed by the runner's
 * process, so a failed test leaves nothing behind.
 *
 * The agent runs with --max-docker-calls 4, --runtime-unhealthy-after 5s
 * and the pod-pass deadlines scaled by 0.2 (SKIFF_DOCKER_DEADLINE_SCALE:
 * a create or start gives up after 12 s), and the freeze lasts longer than
 * that, so creates sent before it time out and may still happen after it.
 *
 *   frozen: the loop keeps answering /healthz (503 with the reason once
 *           RuntimeReady is False), heartbeats go on until then,
 *           RuntimeReady turns False; the agent's connections to the
 *           dockerd (counted with ss) and its in-flight gauge
 *           never pass the cap, and calls queue beyond it;
 *   thawed: RuntimeReady comes back without an agent restart, every pod
 *           runs, and Docker holds exactly one sandbox and one app
 *           container per pod, none ever removed as a duplicate.
 *
 * Root only (mount, dockerd, unshare).
 */
#include <check.h>
#include <curl/curl.h>
#include <ev.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "docker_harness.h"
#include "etcd_fixture.h"
#include "etcd_harness.h"
#include "etcd_testutil.h"
#include "th_agentpod.h"
#include "th_dockerd.h"
#include "th_proc.h"

#ifndef SKIFF_AGENT
#define SKIFF_AGENT "build/bin/skiff-agent"
#endif

#define NPODS 6
#define CAP 4
#define FREEZE_MIN_S 16.0 /* longer than a scaled create or start (12 s) */

static struct th_dockerd *DK; /* the runner's */
#define S tu_sync

static char DIR_[128], PFX[64], NODE[64];
static int HPORT;

/* ---------------------------------------------------------------- probes of the agent */

#define BODY_MAX 65536

/* curl's write callback: append to a BODY_MAX buffer, cut beyond it. */
static size_t
collect(char *p, size_t sz, size_t n, void *arg)
{
	char *buf = arg;
	size_t have = strlen(buf), add = sz * n;

	if (have + add >= BODY_MAX)
		add = BODY_MAX - 1 - have;
	memcpy(buf + have, p, add);
	buf[have + add] = '\0';
	return sz * n;
}

/* GET path of the agent's health server within 2 s: the status (0: no
 * answer), the body's start into body (BODY_MAX bytes). */
static long
agent_get(const char *path, char *body)
{
	char url[96];
	long st = 0;
	CURL *h = curl_easy_init();

	body[0] = '\0';
	if (!h)
		return 0;
	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", HPORT, path);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 2000L);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, body);
	if (curl_easy_perform(h) == CURLE_OK)
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &st);
	curl_easy_cleanup(h);
	return st;
}

/* A series of the agent's /metrics, or -1. */
static double
agent_metric(const char *name)
{
	static char body[BODY_MAX];
	char key[128], *p;

	if (agent_get("/metrics", body) != 200)
		return -1;
	snprintf(key, sizeof(key), "\n%s ", name);
	return (p = strstr(body, key)) ? strtod(p + strlen(key), NULL) : -1;
}

/* The agent's connections open to our dockerd's socket: its unix sockets
 * whose peer is one of the socket's accepted ends (`ss -xapn` shows both,
 * the accepted end with the socket's path). Ends whose client is gone
 * (a timed-out call) wait in the frozen dockerd's backlog: they are not
 * the agent's, and not counted. -1 when ss fails. */
static int
agent_conns(pid_t agent)
{
	FILE *f = popen("ss -xapn 2>/dev/null", "r");
	char line[1024], who[32], local[256], peer[256];
	unsigned long lino, pino, accepted[4096];
	size_t na = 0;
	struct {
		unsigned long peer;
		int ours;
	} rows[4096];
	size_t nr = 0;
	int c = 0;

	if (!f)
		return -1;
	snprintf(who, sizeof(who), "pid=%d,", (int)agent);
	while (fgets(line, sizeof(line), f) && nr < 4096 && na < 4096) {
		if (sscanf(line, "u_str %*s %*s %*s %255s %lu %255s %lu", local, &lino, peer, &pino) != 4)
			continue;
		if (strcmp(local, th_dockerd_sock(DK)) == 0)
			accepted[na++] = lino;
		rows[nr].peer = pino;
		rows[nr++].ours = strstr(line, who) != NULL;
	}
	if (pclose(f) != 0)
		return -1;
	for (size_t i = 0; i < nr; i++)
		for (size_t j = 0; j < na && rows[i].ours; j++)
			if (rows[i].peer == accepted[j]) {
				c++;
				break;
			}
	return c;
}

/* The node's RuntimeReady status ("True", "False", "" absent) into buf. */
static const char *
runtime_ready(char *buf, size_t len)
{
	char key[256];
	struct etcd_result *r;
	json_t *j = NULL, *c;
	size_t i;

	snprintf(key, sizeof(key), "%s/nodestatus/%s", PFX, NODE);
	r = etcd_sync_range(S, key, NULL);
	if (r && r->err.code == ETCD_OK && r->nkvs == 1)
		j = json_loadb(r->kvs[0].value, r->kvs[0].value_len, 0, NULL);
	etcd_result_free(r);
	snprintf(buf, len, "%s", "");
	json_array_foreach(json_object_get(json_object_get(j, "status"), "conditions"), i, c)
		if (strcmp(json_string_value(json_object_get(c, "type")) ?: "", "RuntimeReady") == 0)
			snprintf(buf, len, "%s", json_string_value(json_object_get(c, "status")) ?: "");
	json_decref(j);
	return buf;
}

/* The heartbeat's revision (0: none). */
static long long
beat_rev(void)
{
	char key[256];
	struct etcd_result *r;
	long long rev = 0;

	snprintf(key, sizeof(key), "%s/nodeleases/%s", PFX, NODE);
	r = etcd_sync_range(S, key, NULL);
	if (r && r->err.code == ETCD_OK && r->nkvs == 1)
		rev = (long long)r->kvs[0].mod_revision;
	etcd_result_free(r);
	return rev;
}

/* ---------------------------------------------------------------- Docker's side */

/* Containers of pod on our dockerd: all, sandboxes, running ones. -1 when
 * Docker does not answer. */
static int
pod_containers(const char *pod, int *infra, int *running)
{
	char f[256], path[512], *body = NULL;
	json_t *a, *c;
	size_t i;
	int n = -1;

	snprintf(f, sizeof(f), "%%7B%%22label%%22%%3A%%5B%%22skiff.pod%%3D%s%%22%%5D%%7D", pod);
	snprintf(path, sizeof(path), "/containers/json?all=1&filters=%s", f);
	*infra = *running = 0;
	if (dh_request_on(th_dockerd_sock(DK), "GET", path, NULL, &body) == 200 && (a = json_loads(body, 0, NULL))) {
		n = (int)json_array_size(a);
		json_array_foreach(a, i, c) {
			const char *ctr =
				json_string_value(json_object_get(json_object_get(c, "Labels"), "skiff.container"));

			*infra += ctr && strcmp(ctr, "POD") == 0;
			*running += strcmp(json_string_value(json_object_get(c, "State")) ?: "", "running") == 0;
		}
		json_decref(a);
	}
	free(body);
	return n;
}

/* Containers with our node's label: their count (-1: no answer). */
static int
node_containers(void)
{
	int total = 0, in, run;
	char pod[32];

	for (int i = 0; i < NPODS; i++) {
		snprintf(pod, sizeof(pod), "web-%d", i);
		int n = pod_containers(pod, &in, &run);

		if (n < 0)
			return -1;
		total += n;
	}
	return total;
}

/* ---------------------------------------------------------------- the test */

static struct th_proc *
start_agent(void)
{
	char sock[224], pods[192], health[64], etcd[256];
	const char *argv[] = {SKIFF_AGENT,
	                      "--etcd-endpoints",
	                      etcd,
	                      "--prefix",
	                      PFX,
	                      "--node-name",
	                      NODE,
	                      "--node-ip",
	                      "127.0.0.1",
	                      sock,
	                      "--pod-dir",
	                      pods,
	                      "--health-addr",
	                      health,
	                      "--lease-ttl",
	                      "4s",
	                      "--runtime-unhealthy-after",
	                      "5s",
	                      "--max-docker-calls",
	                      "4",
	                      "--workers",
	                      "4",
	                      "--restart-backoff-base",
	                      "1s",
	                      NULL};
	const char *env[] = {"SKIFF_DOCKER_DEADLINE_SCALE=0.2", NULL};

	snprintf(etcd, sizeof(etcd), "%s", th_etcd_endpoints(tu_etcd));
	snprintf(sock, sizeof(sock), "--docker-socket=%s", th_dockerd_sock(DK));
	snprintf(pods, sizeof(pods), "%s/pods", DIR_);
	snprintf(health, sizeof(health), "127.0.0.1:%d", HPORT);
	return th_proc_start(SKIFF_AGENT, (char *const *)argv, (char *const *)env);
}

static void
bind_pods(void)
{
	char pod[32], uid[32];

	for (int i = 0; i < NPODS; i++) {
		snprintf(pod, sizeof(pod), "web-%d", i);
		snprintf(uid, sizeof(uid), "77%d", i);
		TH_BIND_POD(PFX, NODE, pod, uid,
		            "{\"terminationGracePeriodSeconds\":1,\"containers\":[{\"name\":\"web\","
		            "\"image\":\"skiff/test-httpd:latest\"}]}");
	}
}

/* What the frozen phase saw. */
struct seen {
	int polls, answered, max_conns, beats_before_down;
	double max_inflight, max_queued;
	long long beat;
	int down;
	char reason[BODY_MAX];
};

/* One look while frozen. */
static void
look(struct seen *s, pid_t agent)
{
	static char body[BODY_MAX];
	char st[16];
	long code = agent_get("/healthz", body);
	long long b = beat_rev();
	double v;
	int c = agent_conns(agent);

	s->polls++;
	s->answered += code == 200 || code == 503;
	if (c > s->max_conns)
		s->max_conns = c;
	if ((v = agent_metric("skiff_agent_docker_calls_inflight")) > s->max_inflight)
		s->max_inflight = v;
	if ((v = agent_metric("skiff_agent_docker_calls_queued")) > s->max_queued)
		s->max_queued = v;
	if (!s->down && b != s->beat)
		s->beats_before_down++;
	s->beat = b;
	if (!s->down && strcmp(runtime_ready(st, sizeof(st)), "False") == 0) {
		s->down = 1;
		snprintf(s->reason, sizeof(s->reason), "%ld %.4000s", agent_get("/healthz", body), body);
	}
}

/* Frozen for at least FREEZE_MIN_S and until RuntimeReady is False (at
 * most 60 s), looking every 100 ms. */
static void
frozen_phase(struct seen *s, pid_t agent)
{
	double t0 = ev_time();

	memset(s, 0, sizeof(*s));
	s->beat = beat_rev();
	ck_assert_int_eq(kill(th_dockerd_pid(DK), SIGSTOP), 0);
	while ((ev_time() - t0 < FREEZE_MIN_S || !s->down) && ev_time() - t0 < 60) {
		look(s, agent);
		usleep(100 * 1000); /* the sampling period, not a wait for a condition */
	}
}

START_TEST(frozen_dockerd_while_pods_are_made)
{
	struct th_proc *agent;
	struct seen s;
	char key[256], st[16], pod[32];
	pid_t pid;
	int n = 0, in, run;

	ck_assert_msg(DK != NULL, "our dockerd did not start (its log is above)");
	agent = start_agent();
	ck_assert_ptr_nonnull(agent);
	pid = th_proc_pid(agent);
	snprintf(key, sizeof(key), "%s/nodestatus/%s", PFX, NODE);
	TH_WAIT_TEXT(agent, key, "RuntimeAnswers");
	bind_pods();
	/* freeze once Docker has the first container: the others are on their way */
	for (double end = ev_time() + 60; ev_time() < end && (n = node_containers()) < 1;)
		usleep(50 * 1000);
	ck_assert_msg(n >= 1, "no container made within 60 s");

	frozen_phase(&s, pid);
	ck_assert_msg(s.down, "RuntimeReady never turned False while dockerd was frozen");
	ck_assert_msg(s.answered == s.polls, "/healthz answered %d of %d times while Docker was frozen", s.answered,
	              s.polls);
	ck_assert_msg(strncmp(s.reason, "503 ", 4) == 0 && strstr(s.reason, "Docker is not answering"),
	              "/healthz does not say why: \"%s\"", s.reason);
	ck_assert_msg(s.beats_before_down >= 1, "no heartbeat while frozen and RuntimeReady still True");
	ck_assert_msg(s.max_conns >= 1 && s.max_conns <= CAP, "%d connections open to the frozen dockerd (cap %d)",
	              s.max_conns, CAP);
	ck_assert_msg(s.max_inflight >= 1 && s.max_inflight <= CAP, "%g calls in flight (cap %d)", s.max_inflight, CAP);
	ck_assert_msg(s.max_queued >= 1, "no call ever queued beyond the cap");
	fprintf(stderr, "check_agent_frozen: frozen: %d looks, max %d connections, max %g in flight, %g queued\n",
	        s.polls, s.max_conns, s.max_inflight, s.max_queued);

	ck_assert_int_eq(kill(th_dockerd_pid(DK), SIGCONT), 0);
	for (double end = ev_time() + 60; ev_time() < end && strcmp(runtime_ready(st, sizeof(st)), "True") != 0;)
		usleep(100 * 1000);
	ck_assert_str_eq(st, "True");
	for (int i = 0; i < NPODS; i++) {
		snprintf(pod, sizeof(pod), "web-%d", i);
		snprintf(key, sizeof(key), "%s/podstatus/%s/%s", PFX, NODE, pod);
		TH_WAIT_TEXT(agent, key, "\"phase\":\"Running\"");
	}
	for (int i = 0; i < NPODS; i++) {
		snprintf(pod, sizeof(pod), "web-%d", i);
		n = pod_containers(pod, &in, &run);
		ck_assert_msg(n == 2 && in == 1 && run == 2, "%s: %d containers (%d sandboxes, %d running), not 1 + 1",
		              pod, n, in, run);
	}
	ck_assert_msg(!th_proc_log_has(agent, "a duplicate"), "a duplicate container was made and removed");
	ck_assert_msg(th_proc_running(agent) && th_proc_pid(agent) == pid, "the agent restarted");
	fprintf(stderr, "check_agent_frozen: %g calls timed out; %s\n",
	        agent_metric("skiff_agent_docker_calls_timed_out_total"),
	        th_proc_log_has(agent, "no answer from Docker") ? "a create or start was looked at again"
	                                                        : "no create or start went unanswered");
	th_proc_signal(agent, SIGTERM);
	ck_assert_int_eq(th_proc_wait(agent, 20), 0);
	th_proc_free(agent, 0);
}
END_TEST

/* In the runner's process: the dockerd outlives a failed test (whose
 * checked teardown does not run) and is removed here with all it made. */
static void
setup_all(void)
{
	snprintf(PFX, sizeof(PFX), "/fz%d", (int)getpid());
	snprintf(NODE, sizeof(NODE), "fz%d", (int)getpid());
	snprintf(DIR_, sizeof(DIR_), "/tmp/skiff-frozen.%d", (int)getpid());
	HPORT = tu_closed_port();
	DK = th_dockerd_start(DIR_, NODE, 256);
	if (DK && th_dockerd_test_image(DK) < 0)
		fprintf(stderr, "check_agent_frozen: cannot load the test image into our dockerd\n");
}

static void
teardown_all(void)
{
	th_dockerd_free(DK);
	DK = NULL;
}

START_TEST(own_dockerd_answers)
{
	ck_assert_msg(DK != NULL, "our dockerd did not start (its log is above)");
}
END_TEST

int
main(void)
{
	static const struct tu_fixture fx = {.sync = 1};
	Suite *s = suite_create("agent_frozen");
	TCase *t = tcase_create("frozen");

	if (geteuid() != 0) {
		printf("check_agent_frozen: skipped (needs root: mount, dockerd)\n");
		return 0;
	}
	tcase_add_unchecked_fixture(t, setup_all, teardown_all);
	tcase_add_checked_fixture(t, tu_setup, tu_teardown);
	tcase_set_timeout(t, 300);
	tcase_add_test(t, own_dockerd_answers);
	tcase_add_test(t, frozen_dockerd_while_pods_are_made);
	suite_add_tcase(s, t);
	return tu_suite_main(s, &fx);
}
