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

#include "docker_harness.h"
#include "etcd_fixture.h"
#include "etcd_harness.h"
#include "etcd_testutil.h"
#include "th_agentpod.h"
#include "th_proc.h"

#ifndef SKIFF_AGENT
#define SKIFF_AGENT "build/bin/skiff-agent"
#endif

#define S tu_sync

static char DIR_[128], SOCK[192], PFX[64], NODE[64];
static struct th_proc *DOCKERD;

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int
sh(const char *fmt, const char *a, const char *b)
{
	char cmd[1024];

	snprintf(cmd, sizeof(cmd), fmt, a, b);
	return system(cmd);
}

/* A dockerd whose data root is a 160 MiB tmpfs under DIR_, answering on
 * SOCK within 60 s: 0, or -1. */
static int
start_dockerd(void)
{
	char root[192], exec[192], pid[192], cmd[512], pns[80];
	/* In a network namespace of its own: a dockerd started with
	 * --bridge=none deletes docker0 wherever it runs. */
	const char *argv[] = {"unshare",
	                      "--net",
	                      "--",
	                      "dockerd",
	                      "--data-root",
	                      root,
	                      "--exec-root",
	                      exec,
	                      "--pidfile",
	                      pid,
	                      "-H",
	                      cmd,
	                      "--bridge=none",
	                      "--iptables=false",
	                      "--ip-masq=false",
	                      "--containerd-namespace",
	                      NODE,
	                      "--containerd-plugins-namespace",
	                      pns,
	                      NULL};

	snprintf(pns, sizeof(pns), "%s-p", NODE);
	snprintf(root, sizeof(root), "%s/root", DIR_);
	snprintf(exec, sizeof(exec), "%s/exec", DIR_);
	snprintf(pid, sizeof(pid), "%s/exec/dockerd.pid", DIR_);
	snprintf(SOCK, sizeof(SOCK), "%s/docker.sock", DIR_);
	if (sh("mkdir -p %s %s", root, exec) != 0 ||
	    sh("mount -t tmpfs -o size=160m skiff-fulldisk %s%s", root, "") != 0) {
		fprintf(stderr, "check_agent_fulldisk: cannot mount a tmpfs on %s\n", root);
		return -1;
	}
	snprintf(cmd, sizeof(cmd), "unix://%s", SOCK);
	DOCKERD = th_proc_start("/usr/bin/unshare", (char *const *)argv, NULL);
	for (double end = now() + 60; DOCKERD && th_proc_running(DOCKERD) && now() < end; usleep(200 * 1000))
		if (dh_request_on(SOCK, "GET", "/_ping", NULL, NULL) == 200)
			return 0;
	if (DOCKERD) {
		char *log = th_proc_log(DOCKERD);

		fprintf(stderr, "check_agent_fulldisk: dockerd's log:\n%s\n",
		        log ? log + (strlen(log) > 2000 ? strlen(log) - 2000 : 0) : "(none)");
		free(log);
	}
	return -1;
}

/* The test image into our dockerd, then a file that takes the rest of
 * the tmpfs (dd stops at ENOSPC). */
static int
fill_disk(void)
{
	char root[192];

	snprintf(root, sizeof(root), "%s/root", DIR_);
	if (sh("DOCKER_HOST=unix://%s scripts/test-image.sh 2>/dev/null%s", SOCK, "") != 0)
		return -1;
	sh("dd if=/dev/zero of=%s/filler bs=1M 2>/dev/null%s", root, "");
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

	snprintf(sock, sizeof(sock), "--docker-socket=%s", SOCK);
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

	ck_assert_msg(start_dockerd() == 0, "our dockerd on a tmpfs did not answer in 60 s (its log is above)");
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

/* Names from the runner's pid, so that teardown_all knows them too. */
static void
setup_all(void)
{
	snprintf(PFX, sizeof(PFX), "/fd%d", (int)getpid());
	snprintf(NODE, sizeof(NODE), "fd%d", (int)getpid());
	snprintf(DIR_, sizeof(DIR_), "/tmp/skiff-fulldisk.%d", (int)getpid());
}

/* Our dockerd's containers, the dockerd, the tmpfs, the directory. */
static void
teardown(void)
{
	char root[192];
	char *ids = NULL;

	if (DOCKERD && dh_request_on(SOCK, "GET", "/containers/json?all=1", NULL, &ids) == 200) {
		json_t *a = json_loads(ids, 0, NULL), *c;
		size_t i;
		char path[160];

		json_array_foreach(a, i, c) {
			snprintf(path, sizeof(path), "/containers/%s?force=1&v=1",
			         json_string_value(json_object_get(c, "Id")) ?: "none");
			dh_request_on(SOCK, "DELETE", path, NULL, NULL);
		}
		json_decref(a);
	}
	free(ids);
	if (DOCKERD) {
		th_proc_signal(DOCKERD, SIGTERM);
		if (th_proc_wait(DOCKERD, 30) < 0)
			th_proc_kill(DOCKERD);
		th_proc_free(DOCKERD, 0);
		DOCKERD = NULL;
	}
	snprintf(root, sizeof(root), "%s/root", DIR_);
	sh("umount -l %s 2>/dev/null; rm -rf %s", root, DIR_);
}

/* In the runner's process, which outlives a failed test's (a failed
 * test's checked teardown does not run): its dockerd by the pid file, the
 * tmpfs and the directory. */
static void
teardown_all(void)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd),
	         "p=$(cat %s/exec/dockerd.pid 2>/dev/null) && kill -9 $p 2>/dev/null; "
	         "umount -l %s/root 2>/dev/null; rm -rf %s",
	         DIR_, DIR_, DIR_);
	if (system(cmd) != 0) {
		/* nothing was left */
	}
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
	tcase_add_checked_fixture(t, NULL, teardown);
	tcase_set_timeout(t, 300);
	tcase_add_test(t, full_docker_disk);
	suite_add_tcase(s, t);
	return tu_suite_main(s, &fx);
}
