/*
 * check_agent_probes.c: probes and the preStop hook with the real
 * skiff-agent, a real etcd and the real dockerd. Each probe kind (exec in
 * the container through Docker's exec API, httpGet and tcpSocket from the
 * agent to the pod IP) turns its container's ready on and off in the pod
 * status as the test creates or removes a file the container or the probe
 * looks at (through an allowed hostPath); a failing liveness probe
 * restarts its container (restartCount, events Unhealthy then Killing,
 * the latter Normal as in Kubernetes), under restartPolicy OnFailure too
 * (whatever the killed program's exit code), while under Never the
 * container is stopped for good and the pod ends Failed; a startupProbe
 * holds started and ready back, and its failure kills the container in
 * its own words; a preStop exec hook runs to
 * its end before the container gets SIGTERM (the hook and the container's
 * TERM trap write one file in order); probes start with the app
 * container, after its pod's init containers.
 *
 * Every wait polls to a deadline (th_agentpod.c). The planner's rules on
 * their own are tests/fixtures/agent/probe-* and stop-*; decoding is
 * tests/fixtures/api/pod/probes.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "docker_harness.h"
#include "etcd_fixture.h"
#include "etcd_harness.h"
#include "etcd_testutil.h"
#include "th_agentpod.h"
#include "th_proc.h"

#ifndef SKIFF_AGENT
#define SKIFF_AGENT "build/bin/skiff-agent"
#endif

#define S tu_sync /* the client of TH_BIND_POD, TH_WAIT_TEXT */

static char RUN[32], DIR_[64], SHARE[96];

static void
suite_setup(void)
{
	th_agent_scratch('p', "probe", 0777, RUN, sizeof(RUN), DIR_, sizeof(DIR_), SHARE, sizeof(SHARE));
}

static void
suite_teardown(void)
{
	th_agent_scratch_free("check_agent_probes", RUN, DIR_);
}

/* An agent for node RUN-name on prefix /RUN-name; SHARE may be mounted. */
static struct th_proc *
agent_for(const char *name, char *prefix, size_t plen, char *node, size_t nlen)
{
	char pods[96];
	const char *argv[] = {SKIFF_AGENT,
	                      "--etcd-endpoints",
	                      th_etcd_endpoints(tu_etcd),
	                      "--prefix",
	                      prefix,
	                      "--node-name",
	                      node,
	                      "--pod-dir",
	                      pods,
	                      "--allow-host-path",
	                      SHARE,
	                      NULL};
	struct th_proc *p;

	snprintf(prefix, plen, "/%s-%s", RUN, name);
	snprintf(node, nlen, "%s-%s", RUN, name);
	snprintf(pods, sizeof(pods), "%s/pods", DIR_);
	p = th_proc_start(SKIFF_AGENT, (char *const *)argv, NULL);
	ck_assert_ptr_nonnull(p);
	return p;
}

/* spec with ' for " and every @ for SHARE, into out. */
static void
spec_of(const char *spec, char *out, size_t len)
{
	size_t n = 0;

	for (; *spec && n + strlen(SHARE) + 1 < len; spec++) {
		if (*spec == '@')
			n += (size_t)snprintf(out + n, len - n, "%s", SHARE);
		else
			out[n++] = *spec == '\'' ? '"' : *spec;
	}
	out[n] = '\0';
}

static void
bind(const char *prefix, const char *node, const char *pod, const char *uid, const char *spec)
{
	char s[8192];

	spec_of(spec, s, sizeof(s));
	TH_BIND_POD(prefix, node, pod, uid, s);
}

/* Create (text non-NULL) or remove SHARE/name. */
static void
share_file(const char *name, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", SHARE, name);
	if (!text) {
		ck_assert_int_eq(unlink(path), 0);
		return;
	}
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(chmod(path, 0666), 0);
}

#define VOL "'volumes':[{'name':'share','hostPath':{'path':'@','type':'Directory'}}]"
#define OUT "'volumeMounts':[{'name':'share','mountPath':'/out'}]"
#define BB(script) "'command':['/bin/busybox','sh','-c','" script "']"
#define IMG "'image':'skiff/test-httpd:latest'"
#define FAST "'periodSeconds':1,'failureThreshold':1"

/* exec: a file the probe tests; httpGet: a page that is missing (404)
 * until the test writes it; tcpSocket: a port nobody listens on until a
 * file appears. */
static const char KINDS[] =
	"{'terminationGracePeriodSeconds':1,'containers':["
	"{'name':'exec'," IMG
	"," BB("exec /bin/busybox sleep 3600") "," OUT
					       ",'readinessProbe':{'exec':{'command':['/bin/busybox','test','-f','/out/ready-exec']}," FAST
					       "}},"
					       "{'name':'http'," IMG
					       "," BB("exec /bin/busybox httpd -f -p 8081 -h /out") "," OUT
												    ",'ports':[{'name':'web','containerPort':8081}]"
												    ",'readinessProbe':{'httpGet':{'path':'/ready.html','port':'web'}," FAST
												    "}},"
												    "{'name':'tcp'," IMG
												    "," BB("until /bin/busybox test -f /out/listen; do /bin/busybox sleep 0.2; done; "
                                                                                                           "exec /bin/busybox httpd -f -p 8082 -h /www") "," OUT
																			 ",'readinessProbe':{'tcpSocket':{'port':8082}," FAST
																			 "}}]," VOL
																			 "}";

START_TEST(test_probe_kinds)
{
	char prefix[96], node[96], key[256], ev[256];
	struct th_proc *agent = agent_for("kinds", prefix, sizeof(prefix), node, sizeof(node));

	bind(prefix, node, "kinds", "901", KINDS);
	snprintf(key, sizeof(key), "%s/podstatus/%s/kinds", prefix, node);
	snprintf(ev, sizeof(ev), "%s/nodeevents/%s/pods/kinds/", prefix, node);
	TH_WAIT_TEXT(agent, key, "\"phase\":\"Running\"");
	TH_WAIT_TEXT(agent, ev, "Readiness probe failed: HTTP probe failed with statuscode: 404");
	TH_WAIT_TEXT(agent, ev, "Readiness probe failed: dial tcp ");
	TH_WAIT_TEXT(agent, ev, "Readiness probe failed: command \\\"/bin/busybox test -f /out/ready-exec\\\"");
	ck_assert(th_text_has(S, key, "\"status\":\"False\",\"type\":\"Ready\""));
	ck_assert(th_text_has(S, key, "\"name\":\"exec\",\"ready\":false"));

	share_file("ready-exec", "1");
	TH_WAIT_TEXT(agent, key, "\"name\":\"exec\",\"ready\":true");
	share_file("ready.html", "ok\n");
	TH_WAIT_TEXT(agent, key, "\"name\":\"http\",\"ready\":true");
	ck_assert(th_text_has(S, key, "\"name\":\"tcp\",\"ready\":false"));
	share_file("listen", "1");
	TH_WAIT_TEXT(agent, key, "\"name\":\"tcp\",\"ready\":true");
	TH_WAIT_TEXT(agent, key, "\"status\":\"True\",\"type\":\"Ready\"");

	share_file("ready-exec", NULL); /* and back: not ready again */
	TH_WAIT_TEXT(agent, key, "\"name\":\"exec\",\"ready\":false");
	TH_WAIT_TEXT(agent, key, "\"status\":\"False\",\"type\":\"Ready\"");
	ck_assert(th_text_has(S, key, "\"restartCount\":0")); /* readiness restarts nothing */
	th_proc_free(agent, 0);
	dh_remove_where("skiff.node", node);
	share_file("ready.html", NULL);
	share_file("listen", NULL);
}
END_TEST

/* Healthy for two seconds after each start, then the liveness probe fails. */
static const char LIVE[] =
	"{'terminationGracePeriodSeconds':1,'containers':["
	"{'name':'web'," IMG
	"," BB("/bin/busybox touch /www/healthy; /bin/busybox sleep 2; /bin/busybox rm /www/healthy; "
               "exec /bin/busybox sleep 3600") ",'livenessProbe':{'exec':{'command':['/bin/busybox','test','-f','/www/healthy']},'periodSeconds':1,"
					       "'failureThreshold':2}}]}";

START_TEST(test_liveness_restarts)
{
	char prefix[96], node[96], key[256], ev[256];
	struct th_proc *agent = agent_for("live", prefix, sizeof(prefix), node, sizeof(node));

	bind(prefix, node, "live", "902", LIVE);
	snprintf(key, sizeof(key), "%s/podstatus/%s/live", prefix, node);
	snprintf(ev, sizeof(ev), "%s/nodeevents/%s/pods/live/", prefix, node);
	TH_WAIT_TEXT(agent, ev,
	             "Liveness probe failed: command \\\"/bin/busybox test -f /www/healthy\\\" exited with code 1");
	TH_WAIT_TEXT(agent, ev, "\"reason\":\"Killing\"");
	TH_WAIT_TEXT(agent, ev, "failed liveness probe, will be restarted");
	TH_WAIT_TEXT(agent, key, "\"restartCount\":1");
	TH_WAIT_TEXT(agent, key, "\"restartCount\":2"); /* healthy again after each restart, then not */
	th_proc_free(agent, 0);
	dh_remove_where("skiff.node", node);
}
END_TEST

/* One pod on its own agent: its status key and events prefix. */
struct ppod {
	struct th_proc *agent;
	char prefix[96], node[96], key[256], ev[256];
};

static void
ppod_start(struct ppod *pp, const char *name, const char *uid, const char *spec)
{
	pp->agent = agent_for(name, pp->prefix, sizeof(pp->prefix), pp->node, sizeof(pp->node));
	bind(pp->prefix, pp->node, name, uid, spec);
	snprintf(pp->key, sizeof(pp->key), "%s/podstatus/%s/%s", pp->prefix, pp->node, name);
	snprintf(pp->ev, sizeof(pp->ev), "%s/nodeevents/%s/pods/%s/", pp->prefix, pp->node, name);
}

static void
ppod_end(struct ppod *pp)
{
	th_proc_free(pp->agent, 0);
	dh_remove_where("skiff.node", pp->node);
}

/* The value under prefix whose JSON says "reason":"reason" (new), or
 * NULL. */
static char *
event_with(const char *prefix, const char *reason)
{
	char *all = th_values_under(S, prefix), *line, *save = NULL, *found = NULL, want[96];

	snprintf(want, sizeof(want), "\"reason\":\"%s\"", reason);
	for (line = all ? strtok_r(all, "\n", &save) : NULL; line && !found; line = strtok_r(NULL, "\n", &save))
		if (strstr(line, want))
			found = strdup(line);
	free(all);
	return found;
}

/* The Killing event of pod's liveness kill is type Normal. */
static void
assert_killing_normal(const char *ev)
{
	char *k = event_with(ev, "Killing");

	ck_assert_msg(k != NULL, "%s: no Killing event", ev);
	ck_assert_msg(strstr(k, "\"type\":\"Normal\"") != NULL, "Killing is not Normal: %s", k);
	free(k);
}

/* Fails its liveness probe two seconds after its start; restartPolicy
 * Never: stopped once, never started again. */
static const char NEVER[] =
	"{'terminationGracePeriodSeconds':1,'restartPolicy':'Never','containers':["
	"{'name':'web'," IMG
	"," BB("/bin/busybox touch /www/healthy; /bin/busybox sleep 2; /bin/busybox rm /www/healthy; "
               "exec /bin/busybox sleep 3600") ",'livenessProbe':{'exec':{'command':['/bin/busybox','test','-f',"
					       "'/www/healthy']},'periodSeconds':1,'failureThreshold':1}}]}";

START_TEST(test_liveness_never_stops)
{
	struct ppod pp;

	ppod_start(&pp, "never", "906", NEVER);
	TH_WAIT_TEXT(pp.agent, pp.ev, "Container web failed liveness probe\"");
	TH_WAIT_TEXT(pp.agent, pp.key, "\"phase\":\"Failed\"");
	ck_assert(th_text_has(S, pp.key, "\"restartCount\":0"));
	ck_assert(th_text_has(S, pp.key, "\"terminated\":{"));
	ck_assert_msg(!th_text_has(S, pp.ev, "will be restarted"), "a kill under restartPolicy Never says it restarts");
	assert_killing_normal(pp.ev);
	ck_assert_int_eq(th_pod_containers(pp.node, "never"), 2); /* the sandbox and the stopped container stay */
	ppod_end(&pp);
}
END_TEST

/* restartPolicy OnFailure, and a program that exits 0 on SIGTERM: the
 * liveness kill restarts it all the same. */
static const char ONFAILURE[] =
	"{'terminationGracePeriodSeconds':5,'restartPolicy':'OnFailure','containers':["
	"{'name':'web'," IMG
	"," BB("trap \\\"exit 0\\\" TERM; /bin/busybox touch /www/healthy; /bin/busybox sleep 2; /bin/busybox rm "
               "/www/healthy; /bin/busybox sleep 3600 & wait") ",'livenessProbe':{'exec':{'command':['/bin/busybox',"
							       "'test','-f','/www/healthy']},'periodSeconds':1,"
							       "'failureThreshold':1}}]}";

START_TEST(test_liveness_onfailure_restarts)
{
	struct ppod pp;

	ppod_start(&pp, "onfail", "907", ONFAILURE);
	TH_WAIT_TEXT(pp.agent, pp.ev, "Container web failed liveness probe, will be restarted");
	TH_WAIT_TEXT(pp.agent, pp.key, "\"restartCount\":1");
	assert_killing_normal(pp.ev);
	ppod_end(&pp);
}
END_TEST

/* A startup probe that never passes: its failure kills the container in
 * its own words, never as a liveness failure. */
static const char STARTFAIL[] =
	"{'terminationGracePeriodSeconds':1,'containers':["
	"{'name':'web'," IMG
	"," BB("exec /bin/busybox sleep 3600") ",'startupProbe':{'exec':{'command':['/bin/busybox','false']},'periodSeconds':1,'failureThreshold':2},"
					       "'livenessProbe':{'exec':{'command':['/bin/busybox','true']},'periodSeconds':1}}]}";

START_TEST(test_startup_failure_kills)
{
	struct ppod pp;

	ppod_start(&pp, "startfail", "908", STARTFAIL);
	TH_WAIT_TEXT(pp.agent, pp.ev, "Startup probe failed: command \\\"/bin/busybox false\\\" exited with code 1");
	TH_WAIT_TEXT(pp.agent, pp.ev, "Container web failed startup probe, will be restarted");
	TH_WAIT_TEXT(pp.agent, pp.key, "\"restartCount\":1");
	ck_assert_msg(!th_text_has(S, pp.ev, "iveness probe"), "a startup failure reported as a liveness one");
	assert_killing_normal(pp.ev);
	ppod_end(&pp);
}
END_TEST

/* Not started (nor ready, though it has no readiness probe) until the
 * startup probe finds its file. */
static const char STARTUP[] =
	"{'terminationGracePeriodSeconds':1,'containers':["
	"{'name':'slow'," IMG
	"," BB("exec /bin/busybox sleep 3600") "," OUT
					       ",'startupProbe':{'exec':{'command':['/bin/busybox','test','-f','/out/started']},'periodSeconds':1,"
					       "'failureThreshold':1000},"
					       "'livenessProbe':{'exec':{'command':['/bin/busybox','false']},'periodSeconds':1}}]," VOL
					       "}";

START_TEST(test_startup_holds_back)
{
	char prefix[96], node[96], key[256], ev[256];
	struct th_proc *agent = agent_for("startup", prefix, sizeof(prefix), node, sizeof(node));

	bind(prefix, node, "slow", "903", STARTUP);
	snprintf(key, sizeof(key), "%s/podstatus/%s/slow", prefix, node);
	snprintf(ev, sizeof(ev), "%s/nodeevents/%s/pods/slow/", prefix, node);
	TH_WAIT_TEXT(agent, ev, "Startup probe failed");
	TH_WAIT_TEXT(agent, key, "\"phase\":\"Running\"");
	ck_assert(th_text_has(S, key, "\"name\":\"slow\",\"ready\":false"));
	ck_assert(th_text_has(S, key, "\"started\":false"));
	ck_assert(th_text_has(S, key, "\"status\":\"False\",\"type\":\"Ready\""));
	ck_assert_msg(!th_text_has(S, ev, "Liveness probe failed"), "liveness ran before the startup probe passed");
	share_file("started", "1");
	TH_WAIT_TEXT(agent, key, "\"name\":\"slow\",\"ready\":true");
	ck_assert(th_text_has(S, key, "\"started\":true"));
	TH_WAIT_TEXT(agent, ev, "Liveness probe failed"); /* and only then does liveness run */
	th_proc_free(agent, 0);
	dh_remove_where("skiff.node", node);
	share_file("started", NULL);
}
END_TEST

/* The hook writes hook-start, waits a second, writes hook-end; the TERM
 * trap copies what the hook wrote and adds term. */
static const char PRESTOP[] =
	"{'terminationGracePeriodSeconds':10,'containers':["
	"{'name':'web'," IMG
	"," BB("trap \\\"/bin/busybox cat /out/hook > /out/term; echo term >> /out/term; exit 0\\\" TERM; "
               "echo up > /out/up; /bin/busybox sleep 3600 & wait") "," OUT
								    ",'lifecycle':{'preStop':{'exec':{'command':['/bin/busybox','sh','-c',"
								    "'echo hook-start > /out/hook; /bin/busybox sleep 1; echo hook-end >> /out/hook']}}}}]," VOL
								    "}";

START_TEST(test_prestop_before_term)
{
	char prefix[96], node[96], key[256], path[256];
	struct th_proc *agent = agent_for("prestop", prefix, sizeof(prefix), node, sizeof(node));
	struct etcd_result *r;

	bind(prefix, node, "stopme", "904", PRESTOP);
	snprintf(path, sizeof(path), "%s/up", SHARE);
	TH_WAIT_FILE(agent, path, "up\n");
	snprintf(key, sizeof(key), "%s/bindings/%s/stopme", prefix, node);
	r = etcd_sync_delete(S, key, NULL);
	ck_assert(r && r->err.code == 0);
	etcd_result_free(r);
	snprintf(path, sizeof(path), "%s/term", SHARE);
	TH_WAIT_FILE(agent, path, "hook-start\nhook-end\nterm\n");
	snprintf(key, sizeof(key), "%s/podstatus/%s/stopme", prefix, node);
	for (int i = 0; i < 450 && th_pod_containers(node, "stopme") > 0; i++)
		usleep(100 * 1000); /* polled to a deadline */
	ck_assert_int_eq(th_pod_containers(node, "stopme"), 0);
	th_proc_free(agent, 0);
	dh_remove_where("skiff.node", node);
}
END_TEST

/* The init container leaves the file the app's readiness probe looks for
 * in an emptyDir: probes start with the app container, after init. */
static const char INIT[] =
	"{'terminationGracePeriodSeconds':1,'volumes':[{'name':'work','emptyDir':{}}],"
	"'initContainers':[{'name':'prep'," IMG
	"," BB("/bin/busybox sleep 1; echo ok > /work/prepared") ",'volumeMounts':[{'name':'work','mountPath':'/work'}]}],"
								 "'containers':[{'name':'app'," IMG
								 "," BB("exec /bin/busybox sleep 3600") ",'volumeMounts':[{'name':'work','mountPath':'/work'}],"
													"'readinessProbe':{'exec':{'command':['/bin/busybox','test','-f','/work/prepared']},'periodSeconds':1}}]}";

START_TEST(test_init_then_probes)
{
	char prefix[96], node[96], key[256], ev[256];
	struct th_proc *agent = agent_for("init", prefix, sizeof(prefix), node, sizeof(node));

	bind(prefix, node, "prep", "905", INIT);
	snprintf(key, sizeof(key), "%s/podstatus/%s/prep", prefix, node);
	snprintf(ev, sizeof(ev), "%s/nodeevents/%s/pods/prep/", prefix, node);
	TH_WAIT_TEXT(agent, key, "\"status\":\"True\",\"type\":\"Ready\"");
	ck_assert(th_text_has(S, key, "\"name\":\"app\",\"ready\":true"));
	ck_assert(th_text_has(S, key, "\"status\":\"True\",\"type\":\"Initialized\""));
	ck_assert_msg(!th_text_has(S, ev, "Readiness probe failed"), "the probe ran before the init container ended");
	th_proc_free(agent, 0);
	dh_remove_where("skiff.node", node);
}
END_TEST

int
main(void)
{
	static const struct tu_fixture fx = {.sync = 1};
	Suite *s = suite_create("agent_probes");
	TCase *tc = tcase_create("core");

	tcase_add_unchecked_fixture(tc, suite_setup, suite_teardown);
	tcase_add_checked_fixture(tc, tu_setup, tu_teardown);
	tcase_set_timeout(tc, 150);
	tcase_add_test(tc, test_probe_kinds);
	tcase_add_test(tc, test_liveness_restarts);
	tcase_add_test(tc, test_startup_holds_back);
	tcase_add_test(tc, test_liveness_never_stops);
	tcase_add_test(tc, test_liveness_onfailure_restarts);
	tcase_add_test(tc, test_startup_failure_kills);
	tcase_add_test(tc, test_prestop_before_term);
	tcase_add_test(tc, test_init_then_probes);
	suite_add_tcase(s, tc);
	return tu_suite_main(s, &fx);
}
