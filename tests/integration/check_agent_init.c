/*
 * check_agent_init.c: init containers with the real skiff-agent, a real
 * etcd and the real dockerd, seen from inside the containers: two init
 * containers and the app container append a marker line to one file in a
 * shared emptyDir; each waits a second before writing when it must come
 * later, so the file's order "init1, init2, app" holds only when each
 * started after the one before had exited. With restartPolicy Never a
 * failing init container fails the pod (Init:Error) and the app container
 * is never made.
 *
 * What the containers saw comes out through an allowed hostPath; the test
 * polls for it to a deadline. Planner rules on their own are in
 * tests/fixtures/agent/init-*; decoding in tests/fixtures/api/pod.
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

/* The test image, a temporary directory whose share/ is the only hostPath
 * the agents allow (etcd and the client: etcd_fixture.c). */
static void
suite_setup(void)
{
	th_agent_scratch('i', "init", 0755, RUN, sizeof(RUN), DIR_, sizeof(DIR_), SHARE, sizeof(SHARE));
}

static void
suite_teardown(void)
{
	th_agent_scratch_free("check_agent_init", RUN, DIR_);
}

/* An agent for node RUN-name on prefix /RUN-name, pods under DIR_/pods. */
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

/* ---------------------------------------------------------------- tests */

#define BB "\"/bin/busybox\""
#define SH(script) "\"command\":[" BB ",\"sh\",\"-c\",\"" script "\"]"
#define MOUNT_WORK "\"volumeMounts\":[{\"name\":\"work\",\"mountPath\":\"/work\"}]"

/* init1 writes after a second, init2 at once then waits a second, the app
 * at once: run together, the order would be init2, app, init1. */
#define ORDER_SPEC                                                                                                                                                                                                                                                                                                                             \
	"{\"terminationGracePeriodSeconds\":1,\"initContainers\":["                                                                                                                                                                                                                                                                            \
	"{\"name\":\"init1\",\"image\":\"skiff/test-httpd:latest\"," SH(                                                                                                                                                                                                                                                                       \
		"/bin/busybox sleep 1; echo init1 >> /work/log") "," MOUNT_WORK "},"                                                                                                                                                                                                                                                           \
								 "{\"name\":\"init2\",\"image\":\"skiff/test-httpd:latest\"," SH(                                                                                                                                                                                                              \
									 "echo init2 >> /work/log; /bin/busybox sleep 1") "," MOUNT_WORK                                                                                                                                                                                                       \
															  "}],"                                                                                                                                                                                                                \
															  "\"containers\":[{\"name\":\"app\",\"image\":\"skiff/test-httpd:latest\"," SH(                                                                                                                                       \
																  "echo app >> /work/log; /bin/busybox cp /work/log /out/seen; exec /bin/busybox sleep 3600") ",\"volumeMounts\":[{\"name\":\"work\",\"mountPath\":\"/work\"},{\"name\":\"share\",\"mountPath\":\"/out\"}]}]," \
																											      "\"volumes\":[{\"name\":\"work\",\"emptyDir\":{}},"                                                              \
																											      "{\"name\":\"share\",\"hostPath\":{\"path\":\"%s\",\"type\":\"Directory\"}}]}"

START_TEST(test_init_order)
{
	char prefix[96], node[96], spec[4096], path[256], key[256];
	struct th_proc *agent = agent_for("order", prefix, sizeof(prefix), node, sizeof(node));

	snprintf(spec, sizeof(spec), ORDER_SPEC, SHARE);
	TH_BIND_POD(prefix, node, "web", "801", spec);
	snprintf(path, sizeof(path), "%s/seen", SHARE);
	TH_WAIT_FILE(agent, path, "init1\ninit2\napp\n");
	snprintf(key, sizeof(key), "%s/podstatus/%s/web", prefix, node);
	TH_WAIT_TEXT(agent, key, "\"phase\":\"Running\"");
	TH_WAIT_TEXT(agent, key, "\"initContainerStatuses\":[{\"containerID\"");
	ck_assert_msg(!th_text_has(S, key, "Init:"), "a running pod still says Init:");
	ck_assert_int_eq(th_pod_containers(node, "web"), 4); /* sandbox, two completed init containers, app */
	th_proc_free(agent, 0);
	dh_remove_where("skiff.node", node);
}
END_TEST

#define FAIL_SPEC                                                                                        \
	"{\"terminationGracePeriodSeconds\":1,\"restartPolicy\":\"Never\",\"initContainers\":["          \
	"{\"name\":\"init1\",\"image\":\"skiff/test-httpd:latest\"," SH(                                 \
		"exit 3") "}],"                                                                          \
			  "\"containers\":[{\"name\":\"app\",\"image\":\"skiff/test-httpd:latest\"," SH( \
				  "exec /bin/busybox sleep 3600") "}]}"

START_TEST(test_init_failure_never)
{
	char prefix[96], node[96], key[256];
	struct th_proc *agent = agent_for("never", prefix, sizeof(prefix), node, sizeof(node));

	TH_BIND_POD(prefix, node, "bad", "802", FAIL_SPEC);
	snprintf(key, sizeof(key), "%s/podstatus/%s/bad", prefix, node);
	TH_WAIT_TEXT(agent, key, "\"phase\":\"Failed\"");
	TH_WAIT_TEXT(agent, key, "\"reason\":\"Init:Error\"");
	TH_WAIT_TEXT(agent, key, "\"exitCode\":3");
	ck_assert_int_eq(th_pod_containers(node, "bad"), 2); /* sandbox and the failed init container: no app */
	th_proc_free(agent, 0);
	dh_remove_where("skiff.node", node);
}
END_TEST

int
main(void)
{
	static const struct tu_fixture fx = {.sync = 1};
	Suite *s = suite_create("agent_init");
	TCase *tc = tcase_create("core");

	tcase_add_unchecked_fixture(tc, suite_setup, suite_teardown);
	tcase_add_checked_fixture(tc, tu_setup, tu_teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_init_order);
	tcase_add_test(tc, test_init_failure_never);
	suite_add_tcase(s, tc);
	return tu_suite_main(s, &fx);
}
