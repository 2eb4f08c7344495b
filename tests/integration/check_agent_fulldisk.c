/*
 * check_agent_fulldisk.c: an agent whose Docker runs out of disk (issue 22
 * item 3). A dockerd of the test's own keeps its data root on a small
 * tmpfs; once the images are in, a filler file takes the rest of it, and a
 * pod is bound. Docker refuses to create its containers for lack of space:
 * the pod's status and a Warning event must say so, the node must report
 * DiskPressure, and the agent must not retry in a tight loop (its events'
 * count grows slowly). When the filler goes, the pod starts and the
 * pressure clears, without a restart of the agent.
 *
 * Root only (mount, dockerd); the dockerd is this test's own, in a network
 * namespace of its own (with --bridge=none a dockerd deletes the host's
 * docker0), so a wedged network layer elsewhere cannot stop it, and it is
 * removed at the end with everything it made.
 */
#include <check.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "etcd_fixture.h"
#include "etcd_harness.h"
#include "etcd_testutil.h"
#include "th_agentpod.h"
#include "th_dockerd.h"
#include "th_proc.h"

#ifndef SKIFF_AGENT
#define SKIFF_AGENT "build/bin/skiff-agent"
#endif

#define S tu_sync

static char DIR_[128], PFX[64], NODE[64];
static struct th_dockerd *DK; /* started and freed by the runner's process */

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The test image into our dockerd, then a file that takes the rest of
 * the tmpfs (dd stops at ENOSPC). */
static int
fill_disk(void)
{
	char cmd[256];

	if (th_dockerd_test_image(DK) != 0)
		return -1;
	snprintf(cmd, sizeof(cmd), "dd if=/dev/zero of=%s/root/filler bs=1M 2>/dev/null", DIR_);
	if (system(cmd) != 0) {
		/* dd ends at ENOSPC with a failure: that is the point */
	}
	return 0;
}

static struct th_proc *
start_agent(void)
{
	char sock[224], pods[192];
	const char *argv[] = {SKIFF_AGENT,
	                      "--etcd-endpoints",
	                      th_etcd_endpoints(tu_etcd),
	                      "--prefix",
	                      PFX,
	                      "--node-name",
	                      NODE,
	                      "--node-ip",
	                      "127.0.0.1",
	                      sock,
	                      "--pod-dir",
	                      pods,
	                      "--disk-pressure-threshold",
	                      "5",
	                      NULL};

	snprintf(sock, sizeof(sock), "--docker-socket=%s", th_dockerd_sock(DK));
	snprintf(pods, sizeof(pods), "%s/pods", DIR_);
	return th_proc_start(SKIFF_AGENT, (char *const *)argv, NULL);
}

/* The "count" of the pod's events whose message holds needle, summed. */
static long
event_count(const char *needle)
{
	char key[256];
	struct etcd_result *r;
	long n = 0;

	snprintf(key, sizeof(key), "%s/nodeevents/%s/pods/web/", PFX, NODE);
	struct etcd_range_opts o = {.prefix = 1};

	r = etcd_sync_range(S, key, &o);
	for (size_t i = 0; r && r->err.code == ETCD_OK && i < r->nkvs; i++) {
		json_t *j = json_loadb(r->kvs[i].value, r->kvs[i].value_len, 0, NULL);
		const char *m = json_string_value(json_object_get(j, "message"));

		if (m && strstr(m, needle))
			n += (long)json_integer_value(json_object_get(j, "count"));
		json_decref(j);
	}
	etcd_result_free(r);
	return n;
}

START_TEST(full_docker_disk)
{
	char key[256], filler[192];
	struct th_proc *agent;
	long n0, n1;

	ck_assert_msg(DK != NULL, "our dockerd on a tmpfs did not answer in 60 s (its log is above)");
	agent = start_agent();
	ck_assert_ptr_nonnull(agent);
	snprintf(key, sizeof(key), "%s/nodestatus/%s", PFX, NODE);
	TH_WAIT_TEXT(agent, key, "NodeHasNoDiskPressure"); /* registered, pause image imported */
	ck_assert_int_eq(fill_disk(), 0);
	TH_WAIT_TEXT(agent, key, "NodeHasDiskPressure");

	TH_BIND_POD(PFX, NODE, "web", "901",
	            "{\"terminationGracePeriodSeconds\":1,\"containers\":[{\"name\":\"web\","
	            "\"image\":\"skiff/test-httpd:latest\"}]}");
	snprintf(key, sizeof(key), "%s/podstatus/%s/web", PFX, NODE);
	TH_WAIT_TEXT(agent, key, "no space left on device");
	snprintf(key, sizeof(key), "%s/nodeevents/%s/pods/web/", PFX, NODE);
	TH_WAIT_TEXT(agent, key, "no space left on device");

	/* No tight loop: over 15 s, a handful of attempts at most. */
	n0 = event_count("no space left on device");
	for (double end = now() + 15; now() < end;)
		usleep(500 * 1000); /* the measured window itself, not a wait for a condition */
	n1 = event_count("no space left on device");
	ck_assert_msg(n1 - n0 <= 4, "%ld failed attempts in 15 s: a tight retry loop", n1 - n0);

	snprintf(filler, sizeof(filler), "%s/root/filler", DIR_);
	ck_assert_int_eq(unlink(filler), 0);
	snprintf(key, sizeof(key), "%s/podstatus/%s/web", PFX, NODE);
	ck_assert_msg(th_wait_text(S, agent, key, "\"phase\":\"Running\"") == 0 ||
	                      th_wait_text(S, agent, key, "\"phase\":\"Running\"") == 0,
	              "the pod did not start within 90 s of space coming back");
	snprintf(key, sizeof(key), "%s/nodestatus/%s", PFX, NODE);
	TH_WAIT_TEXT(agent, key, "NodeHasNoDiskPressure");
	ck_assert(th_proc_running(agent));
	th_proc_signal(agent, SIGTERM);
	ck_assert_int_eq(th_proc_wait(agent, 20), 0);
	th_proc_free(agent, 0);
}
END_TEST

/* In the runner's process, which outlives a failed test's (a failed
 * test's checked teardown does not run): our dockerd on a 160 MiB tmpfs
 * under DIR_, and its removal with everything it made. */
static void
setup_all(void)
{
	snprintf(PFX, sizeof(PFX), "/fd%d", (int)getpid());
	snprintf(NODE, sizeof(NODE), "fd%d", (int)getpid());
	snprintf(DIR_, sizeof(DIR_), "/tmp/skiff-fulldisk.%d", (int)getpid());
	DK = th_dockerd_start(DIR_, NODE, 160);
}

static void
teardown_all(void)
{
	th_dockerd_free(DK);
	DK = NULL;
}

int
main(void)
{
	static const struct tu_fixture fx = {.sync = 1};
	Suite *s = suite_create("agent_fulldisk");
	TCase *t = tcase_create("fulldisk");

	if (geteuid() != 0) {
		printf("check_agent_fulldisk: skipped (needs root: mount, dockerd)\n");
		return 0;
	}
	tcase_add_unchecked_fixture(t, setup_all, teardown_all);
	tcase_add_checked_fixture(t, tu_setup, tu_teardown);
	tcase_set_timeout(t, 300);
	tcase_add_test(t, full_docker_disk);
	suite_add_tcase(s, t);
	return tu_suite_main(s, &fx);
}
