/*
 * check_scale.c: the small scale test of issue 20 (tests/harness/th_scale.h):
 * a real etcd, the real control plane and 50 `skiff-agent --runtime
 * hollow` processes; replication controllers totalling 2,000 pods. Every
 * pod must be bound exactly once and Running, no process may die, and
 * etcd's committed proposals from the first create to the last Running,
 * less the heartbeats the idle cluster writes in as long, must stay within
 * 4 per pod. The whole case runs under 2 minutes (its Check timeout).
 * No Docker: it needs no lock. Timings are not asserted (the machine is
 * shared); bench/scale_bench measures them. The "jitter" cases: an agent
 * with --start-jitter registers after it, and one stopped while it waits
 * exits at once having written nothing.
 */
#include <check.h>
#include <ev.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "etcd.h"
#include "etcd_harness.h"
#include "etcd_sync.h"
#include "etcd_testutil.h"
#include "th_proc.h"
#include "th_scale.h"

#define NODES 50
#define RCS 20
#define REPLICAS 100
#define PODS (RCS * REPLICAS)
#define PREFIX "/scale"
#define WRITES_PER_POD 4.0

static struct th_etcd *E;
static struct etcd_sync *S;
static struct ev_loop *L;
static struct th_scale_pods Now;
static double last_poll;

static double
mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Read etcd at most every 250 ms (a range of 2,000 statuses is not free). */
static void
poll_pods(void)
{
	if (mono() - last_poll < 0.25)
		return;
	last_poll = mono();
	th_scale_pods(S, PREFIX, &Now);
}

static int
nodes_up(void *arg)
{
	(void)arg;
	poll_pods();
	return Now.nodes >= NODES;
}

static int
nodes_up_n(void *arg)
{
	poll_pods();
	return Now.nodes >= *(const int *)arg;
}

static int
all_running(void *arg)
{
	(void)arg;
	poll_pods();
	return Now.pods == PODS && Now.running >= PODS && Now.bound + Now.bound_twice >= PODS;
}

static double
writes(void)
{
	struct th_scale_etcd m;

	ck_assert_int_eq(th_scale_etcd_metrics(th_etcd_endpoint(E, 0), &m), 0);
	ck_assert_msg(m.proposals >= 0, "etcd has no etcd_server_proposals_committed_total");
	return m.proposals;
}

START_TEST(test_scale_2000_pods)
{
	struct th_scale_opts o = {
		.endpoints = th_etcd_endpoints(E), .prefix = PREFIX, .bindir = "build/bin", .nodes = NODES};
	struct th_scale *s = th_scale_start(&o);
	double w0, w1, t0, t1, idle, per_pod;

	ck_assert_ptr_nonnull(s);
	if (th_wait(L, nodes_up, NULL, 40) != 0) {
		th_scale_free(s, 1);
		ck_abort_msg("only %d of %d hollow nodes registered in 40 s", Now.nodes, NODES);
	}
	/* The idle write rate (heartbeats), to take out of the pods' count. */
	w0 = writes();
	t0 = mono();
	th_wait(L, NULL, NULL, 3.0);
	idle = (writes() - w0) / (mono() - t0);

	w0 = writes();
	t0 = mono();
	ck_assert_int_eq(th_scale_put_rcs(S, PREFIX, "web", 0, RCS, REPLICAS), 0);
	if (th_wait(L, all_running, NULL, 90) != 0) {
		th_scale_free(s, 1);
		ck_abort_msg("after 90 s: %d pods, %d bound once, %d twice, %d Running of %d", Now.pods, Now.bound,
		             Now.bound_twice, Now.running, PODS);
	}
	w1 = writes();
	t1 = mono();
	per_pod = (w1 - w0 - idle * (t1 - t0)) / PODS;
	fprintf(stderr, "check_scale: %d pods Running on %d hollow nodes in %.1f s, %.2f writes/pod (idle %.1f/s)\n",
	        PODS, NODES, t1 - t0, per_pod, idle);
	th_scale_pods(S, PREFIX, &Now);
	ck_assert_int_eq(Now.pods, PODS);
	ck_assert_int_eq(Now.bound, PODS);
	ck_assert_int_eq(Now.bound_twice, 0);
	ck_assert_int_eq(Now.stray, 0);
	ck_assert_int_eq(Now.running, PODS);
	ck_assert_int_eq(th_scale_running(s), th_scale_procs(s));
	ck_assert_msg(per_pod <= WRITES_PER_POD, "%.2f etcd writes per pod, target %.0f", per_pod, WRITES_PER_POD);
	th_scale_free(s, 0);
}
END_TEST

static int
log_has(void *arg)
{
	return th_proc_log_has(arg, "--start-jitter");
}

/* An agent stopped while it waits out --start-jitter exits at once and
 * has written nothing: no node status, no lease. */
START_TEST(test_start_jitter_stop)
{
	char ep[512], pfx[128], tmp[256];
	char *argv[] = {"skiff-agent",
	                ep,
	                pfx,
	                "--health-addr=",
	                "--runtime=hollow",
	                "--node-name=jitter-0",
	                "--node-ip=10.200.0.1",
	                "--resolv-conf=/dev/null",
	                "--start-jitter=1h",
	                NULL};
	const char *t = getenv("TMPDIR");
	struct th_proc *p;
	struct etcd_result *r;

	snprintf(ep, sizeof(ep), "--etcd-endpoints=%s", th_etcd_endpoints(E));
	snprintf(pfx, sizeof(pfx), "--prefix=%s", PREFIX);
	p = th_proc_start("build/bin/skiff-agent", argv, NULL);
	ck_assert_ptr_nonnull(p);
	ck_assert_msg(th_wait(L, log_has, p, 30) == 0, "the agent never said it waits out --start-jitter");
	ck_assert_int_eq(th_proc_signal(p, SIGTERM), 0);
	ck_assert_int_eq(th_proc_wait(p, 10.0), 0);
	r = etcd_sync_get(S, PREFIX "/nodestatus/jitter-0");
	ck_assert_msg(r && r->err.code == ETCD_OK && r->nkvs == 0, "a node status was written during the jitter");
	etcd_result_free(r);
	r = etcd_sync_get(S, PREFIX "/nodeleases/jitter-0");
	ck_assert_msg(r && r->err.code == ETCD_OK && r->nkvs == 0, "a heartbeat was written during the jitter");
	etcd_result_free(r);
	th_proc_free(p, 0);
	snprintf(tmp, sizeof(tmp), "%s/skiff-hollow-jitter-0", t && *t ? t : "/tmp");
	rmdir(tmp);
}
END_TEST

/* Agents with a --start-jitter all register after it. */
START_TEST(test_start_jitter_registers)
{
	struct th_scale_opts o = {.endpoints = th_etcd_endpoints(E),
	                          .prefix = PREFIX,
	                          .bindir = "build/bin",
	                          .nodes = 10,
	                          .agent_args = "--start-jitter=3s"};
	struct th_scale *s = th_scale_start(&o);

	ck_assert_ptr_nonnull(s);
	if (th_wait(L, nodes_up_n, &o.nodes, 40) != 0) {
		th_scale_free(s, 1);
		ck_abort_msg("only %d of %d hollow nodes with --start-jitter=3s registered in 40 s", Now.nodes,
		             o.nodes);
	}
	ck_assert_int_eq(th_scale_running(s), th_scale_procs(s));
	th_scale_free(s, 0);
}
END_TEST

static void
setup(void)
{
	struct etcd_config cfg;
	struct etcd_error err = {0};

	/* etcd's data on tmpfs: the test is about the control plane's writes,
	 * not this shared machine's fsync latency (docs/scaling.md). */
	if (access("/dev/shm", W_OK) == 0)
		setenv("TMPDIR", "/dev/shm", 1);
	E = th_etcd_start(1, NULL);
	ck_assert_ptr_nonnull(E);
	tu_config(E, &cfg);
	cfg.request_timeout_ms = 30000; /* 53 processes start at once on a shared machine */
	S = etcd_sync_new(&cfg, &err);
	ck_assert_msg(S != NULL, "%s", err.msg);
	L = ev_loop_new(EVFLAG_AUTO);
}

static void
teardown(void)
{
	ev_loop_destroy(L);
	etcd_sync_free(S);
	th_etcd_free(E);
}

static Suite *
suite(void)
{
	Suite *s = suite_create("scale");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_scale_2000_pods);
	suite_add_tcase(s, tc);
	tc = tcase_create("jitter");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_start_jitter_stop);
	tcase_add_test(tc, test_start_jitter_registers);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *r = srunner_create(suite());
	int failed;

	srunner_run_all(r, CK_NORMAL);
	failed = srunner_ntests_failed(r);
	srunner_free(r);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
