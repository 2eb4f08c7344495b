/*
 * check_agent_runtime.c: an agent whose Docker stops answering without
 * dying (issue 22 item 1). The agent talks to the real Docker through
 * th_dockpipe, which the test freezes: every call then hangs, as when
 * Docker's network layer deadlocked. Within --runtime-unhealthy-after the
 * node must report RuntimeReady False with a reason, write a Warning
 * event, fail /healthz and stop its heartbeat (so that nothing new is
 * placed there); after the thaw everything comes back without a restart.
 */
#include <check.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "docker_harness.h"
#include "etcd_harness.h"
#include "etcd_testutil.h"
#include "th_agentpod.h"
#include "th_dockpipe.h"
#include "th_proc.h"

#ifndef SKIFF_AGENT
#define SKIFF_AGENT "build/bin/skiff-agent"
#endif

static struct th_etcd *E;
static struct etcd_sync *S;
static char PFX[64], NODE[64], HEALTH[64];
static int HPORT;

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The value at PFX/dir/NODE as JSON, or NULL. */
static json_t *
node_json(const char *dir)
{
	char key[256];
	struct etcd_result *r;
	json_t *j = NULL;

	snprintf(key, sizeof(key), "%s/%s/%s", PFX, dir, NODE);
	r = etcd_sync_range(S, key, NULL);
	if (r && r->err.code == ETCD_OK && r->nkvs == 1)
		j = json_loadb(r->kvs[0].value, r->kvs[0].value_len, 0, NULL);
	etcd_result_free(r);
	return j;
}

/* RuntimeReady's status in the node status ("True", "False"; "" absent)
 * into buf; its message into msg. */
static const char *
runtime_ready(char *buf, size_t len, char *msg, size_t mlen)
{
	json_t *j = node_json("nodestatus"), *c;
	size_t i;

	snprintf(buf, len, "%s", "");
	json_array_foreach(json_object_get(json_object_get(j, "status"), "conditions"), i, c) {
		if (strcmp(json_string_value(json_object_get(c, "type")) ?: "", "RuntimeReady") != 0)
			continue;
		snprintf(buf, len, "%s", json_string_value(json_object_get(c, "status")) ?: "");
		if (msg)
			snprintf(msg, mlen, "%s", json_string_value(json_object_get(c, "message")) ?: "");
	}
	json_decref(j);
	return buf;
}

/* The heartbeat's spec.renewTime into buf ("" when none). */
static const char *
renew_time(char *buf, size_t len)
{
	json_t *j = node_json("nodeleases");

	snprintf(buf, len, "%s", json_string_value(json_object_get(json_object_get(j, "spec"), "renewTime")) ?: "");
	json_decref(j);
	return buf;
}

static int
wait_runtime(const char *want, double timeout)
{
	char buf[16];

	for (double end = now() + timeout; now() < end; usleep(100 * 1000))
		if (strcmp(runtime_ready(buf, sizeof(buf), NULL, 0), want) == 0)
			return 0;
	return -1;
}

/* Wait until the heartbeat's renewTime differs from was: 0, or -1. */
static int
wait_beat(const char *was, double timeout)
{
	char buf[64];

	for (double end = now() + timeout; now() < end; usleep(100 * 1000))
		if (strcmp(renew_time(buf, sizeof(buf)), was) != 0 && buf[0])
			return 0;
	return -1;
}

START_TEST(frozen_docker_makes_node_not_ready)
{
	struct th_dockpipe *pipe = th_dockpipe_start("/var/run/docker.sock");
	char sock[160], beat[64], st[16], msg[256], evpfx[256];
	struct th_proc *agent;

	ck_assert_ptr_nonnull(pipe);
	snprintf(sock, sizeof(sock), "--docker-socket=%s", th_dockpipe_path(pipe));
	{
		const char *argv[] = {SKIFF_AGENT,
		                      "--etcd-endpoints",
		                      th_etcd_endpoints(E),
		                      "--prefix",
		                      PFX,
		                      "--node-name",
		                      NODE,
		                      "--node-ip",
		                      "127.0.0.1",
		                      "--lease-ttl",
		                      "4s",
		                      "--runtime-unhealthy-after",
		                      "3s",
		                      "--health-addr",
		                      HEALTH,
		                      sock,
		                      NULL};

		agent = th_proc_start(SKIFF_AGENT, (char *const *)argv, NULL);
	}
	ck_assert_ptr_nonnull(agent);
	ck_assert_msg(wait_runtime("True", 30) == 0, "RuntimeReady never True");
	ck_assert_msg(wait_beat("", 30) == 0, "no heartbeat");
	ck_assert_int_eq(tu_healthz(HPORT), 200);

	th_dockpipe_freeze(pipe);
	ck_assert_msg(wait_runtime("False", 30) == 0, "RuntimeReady never turned False");
	runtime_ready(st, sizeof(st), msg, sizeof(msg));
	ck_assert_msg(strstr(msg, "GET /"), "the condition does not say what failed: \"%s\"", msg);
	snprintf(evpfx, sizeof(evpfx), "%s/nodeevents/%s/nodes/%s/", PFX, NODE, NODE);
	ck_assert_msg(th_wait_text(S, agent, evpfx, "RuntimeUnhealthy") == 0, "no RuntimeUnhealthy event");
	ck_assert_int_eq(tu_healthz(HPORT), 503);
	/* The heartbeat (every 1 s while healthy) has stopped. */
	renew_time(beat, sizeof(beat));
	ck_assert_msg(wait_beat(beat, 3) != 0, "the heartbeat went on while Docker was frozen");
	ck_assert(th_proc_running(agent));

	th_dockpipe_thaw(pipe);
	ck_assert_msg(wait_runtime("True", 30) == 0, "RuntimeReady never came back");
	ck_assert_msg(wait_beat(beat, 10) == 0, "the heartbeat never resumed");
	ck_assert_int_eq(tu_healthz(HPORT), 200);
	ck_assert(th_proc_running(agent));
	th_proc_signal(agent, SIGTERM);
	ck_assert_int_eq(th_proc_wait(agent, 15), 0);
	th_proc_free(agent, 0);
	th_dockpipe_free(pipe);
}
END_TEST

/* The disk judge: with a threshold of 100 % free no disk is roomy enough. */
START_TEST(disk_pressure_reported)
{
	char evpfx[256];
	struct th_proc *agent;
	const char *argv[] = {SKIFF_AGENT,
	                      "--etcd-endpoints",
	                      th_etcd_endpoints(E),
	                      "--prefix",
	                      PFX,
	                      "--node-name",
	                      NODE,
	                      "--node-ip",
	                      "127.0.0.1",
	                      "--disk-pressure-threshold",
	                      "100",
	                      "--pod-dir",
	                      "/tmp",
	                      NULL};

	agent = th_proc_start(SKIFF_AGENT, (char *const *)argv, NULL);
	ck_assert_ptr_nonnull(agent);
	snprintf(evpfx, sizeof(evpfx), "%s/nodestatus/%s", PFX, NODE);
	ck_assert_msg(th_wait_text(S, agent, evpfx, "NodeHasDiskPressure") == 0, "no DiskPressure condition");
	snprintf(evpfx, sizeof(evpfx), "%s/nodeevents/%s/nodes/%s/", PFX, NODE, NODE);
	ck_assert_msg(th_wait_text(S, agent, evpfx, "threshold 100%") == 0, "no DiskPressure event");
	th_proc_signal(agent, SIGTERM);
	ck_assert_int_eq(th_proc_wait(agent, 15), 0);
	th_proc_free(agent, 0);
}
END_TEST

static void
setup(void)
{
	struct etcd_config cfg;
	struct etcd_error err = {0};

	ck_assert_int_eq(dh_ensure_dockerd(60), 0);
	E = th_etcd_start(1, NULL);
	ck_assert_ptr_nonnull(E);
	tu_config(E, &cfg);
	S = etcd_sync_new(&cfg, &err);
	ck_assert_ptr_nonnull(S);
	snprintf(PFX, sizeof(PFX), "/rt%d", (int)getpid());
	snprintf(NODE, sizeof(NODE), "rt%d", (int)getpid());
	HPORT = tu_closed_port();
	snprintf(HEALTH, sizeof(HEALTH), "127.0.0.1:%d", HPORT);
}

static void
teardown(void)
{
	etcd_sync_free(S);
	th_etcd_free(E);
	dh_remove_where("skiff.node", NODE);
}

int
main(void)
{
	Suite *s = suite_create("agent_runtime");
	TCase *t = tcase_create("runtime");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(t, setup, teardown);
	tcase_set_timeout(t, 180);
	tcase_add_test(t, frozen_docker_makes_node_not_ready);
	tcase_add_test(t, disk_pressure_reported);
	suite_add_tcase(s, t);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
