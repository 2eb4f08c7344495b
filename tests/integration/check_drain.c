/*
 * check_drain.c: the drain gate end to end, against a real etcd and a
 * real skiff-proxy (root: the proxy installs its nftables table; run it
 * under /tmp/skiff-docker.lock). The proxy's P/proxystatus/NODE follows
 * the endpoints it has in force, in both modes, and goes away on a clean
 * stop; node-agent/agent_drain.c (linked in) lets a pod IP go only once
 * it left the endpoints and the live nodes' proxies reported that
 * revision, and stops waiting for a node whose lease is gone (or whose
 * report is not its own) until its proxy reports again. The proxy's lag is made real by freezing it
 * (SIGSTOP). The endpoints live in benchmarking and documentation ranges
 * that nothing routes; the table is removed at the end whatever happens.
 */
#include <check.h>
#include <ev.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/api.h"
#include "etcd.h"
#include "etcd_harness.h"
#include "etcd_sync.h"
#include "etcd_testutil.h"
#include "node-agent/agent_drain.h"
#include "th_proc.h"
#include "th_proxy.h"

#define CIP "198.51.100.7" /* TEST-NET-2: routed nowhere */
#define EPA "198.18.251.2"
#define EPB "198.18.251.3"

static struct th_etcd *E;
static struct etcd_sync *S;
static struct th_proc *P;
static char PFX[64], NODE[64];

static void
etcd_up(void)
{
	if (geteuid() == 0 && !(E = th_etcd_start(1, NULL))) {
		fprintf(stderr, "check_drain: cannot start etcd\n");
		exit(1);
	}
}

static void
etcd_down(void)
{
	th_etcd_free(E);
}

static void
setup(void)
{
	struct etcd_config cfg;
	struct etcd_error err = {0};
	static int n;

	if (geteuid() != 0)
		return;
	tu_config(E, &cfg);
	ck_assert_ptr_nonnull(S = etcd_sync_new(&cfg, &err));
	snprintf(PFX, sizeof(PFX), "/drain%d-%d", (int)getpid(), ++n);
	snprintf(NODE, sizeof(NODE), "drain%dx%d", (int)getpid(), n); /* no "-": the table is skiff_NODE */
}

static void
teardown(void)
{
	char cmd[128];

	if (geteuid() != 0)
		return;
	th_proc_free(P, 0);
	P = NULL;
	etcd_sync_free(S);
	snprintf(cmd, sizeof(cmd), "nft delete table ip skiff_%s 2>/dev/null", NODE);
	if (system(cmd) < 0)
		perror("nft");
}

static int
skip_unless_root(void)
{
	if (geteuid() == 0)
		return 0;
	fprintf(stderr, "check_drain: skipped (needs root for nftables)\n");
	return 1;
}

static void
start_proxy(const char *mode)
{
	ck_assert_ptr_nonnull(P = th_proxy_start(E, PFX, NODE, mode, NULL, NULL));
}

/* Put P/endpoints/web listing ips ("a,b" or ""); the revision. */
static int64_t
put_web(const char *ips)
{
	char key[128], val[1024], addrs[512] = "";
	const char *p = ips;
	int64_t rev;

	for (int i = 0; p && *p; i++) {
		const char *comma = strchr(p, ',');
		size_t n = comma ? (size_t)(comma - p) : strlen(p), l = strlen(addrs);

		snprintf(addrs + l, sizeof(addrs) - l, "%s{\"ip\":\"%.*s\",\"node\":\"n1\",\"pod\":\"web-%d\"}",
		         l ? "," : "", (int)n, p, i);
		p = comma ? comma + 1 : NULL;
	}
	snprintf(key, sizeof(key), "%s/endpoints/web", PFX);
	snprintf(val, sizeof(val),
	         "{\"clusterIP\":\"" CIP "\",\"ports\":[{\"name\":\"http\",\"port\":80,\"targetPort\":8080,"
	         "\"protocol\":\"TCP\"}],\"addresses\":[%s]}",
	         addrs);
	ck_assert_int_gt(rev = tu_put(S, key, val), 0);
	return rev;
}

static int64_t
delete_key(const char *dir, const char *name)
{
	char key[128];
	struct etcd_result *r;
	int64_t rev;

	snprintf(key, sizeof(key), "%s/%s/%s", PFX, dir, name);
	ck_assert_ptr_nonnull(r = etcd_sync_delete(S, key, NULL));
	ck_assert_int_eq(r->err.code, ETCD_OK);
	rev = r->revision;
	etcd_result_free(r);
	return rev;
}

/* The proxy status of NODE: its endpointsRevision, 0 when absent, -1
 * when it does not decode (then the test fails). */
static int64_t
status_rev(void)
{
	char key[128];
	struct etcd_result *r;
	struct api_errors errs = {0};
	struct api_proxy_status *st;
	struct api_error err;
	time_t t;
	int64_t rev = 0;

	snprintf(key, sizeof(key), "%s/proxystatus/%s", PFX, NODE);
	ck_assert_ptr_nonnull(r = etcd_sync_get(S, key));
	ck_assert_int_eq(r->err.code, ETCD_OK);
	if (r->nkvs) {
		st = api_proxy_status_parse(r->kvs[0].value, r->kvs[0].value_len, &errs);
		ck_assert_msg(st != NULL, "bad proxy status: %.*s", (int)r->kvs[0].value_len, r->kvs[0].value);
		ck_assert_str_eq(st->node, NODE);
		ck_assert_msg(st->updated && api_time_parse(st->updated, &t, &err) == 0, "updated: %s", st->updated);
		rev = st->endpoints_revision;
		api_proxy_status_free(st);
	}
	api_errors_clear(&errs);
	etcd_result_free(r);
	return rev;
}

/* Poll the proxy status until it reports at least rev (deadline 10 s). */
static int
status_reaches(int64_t rev)
{
	double end = ev_time() + 10;

	while (ev_time() < end) {
		if (status_rev() >= rev)
			return 1;
		usleep(20000); /* polling with a deadline */
	}
	return 0;
}

static int
table_has(const char *what)
{
	char cmd[160];

	snprintf(cmd, sizeof(cmd), "nft list table ip skiff_%s 2>/dev/null | grep -q '%s'", NODE, what);
	return system(cmd) == 0;
}

/* One mode: the status follows a new endpoints value, an update and a
 * deletion, and is deleted when the proxy stops cleanly. */
static void
follows(const char *mode)
{
	int64_t r1, r2, r3;

	start_proxy(mode);
	r1 = put_web(EPA);
	ck_assert_msg(status_reaches(r1), "%s: the status never reached %lld (has %lld)", mode, (long long)r1,
	              (long long)status_rev());
	if (strcmp(mode, "nftables") == 0) /* reported only once nft applied it */
		ck_assert(table_has(EPA));
	r2 = put_web(EPB);
	ck_assert_msg(status_reaches(r2), "%s: the status never reached %lld", mode, (long long)r2);
	if (strcmp(mode, "nftables") == 0)
		ck_assert(table_has(EPB) && !table_has(EPA));
	r3 = delete_key("endpoints", "web");
	ck_assert_msg(status_reaches(r3), "%s: the status never reached %lld", mode, (long long)r3);
	ck_assert_int_eq(th_proc_signal(P, SIGTERM), 0);
	ck_assert_int_eq(th_proc_wait(P, 15), 0);
	ck_assert_int_eq(status_rev(), 0);
}

START_TEST(test_status_follows_userspace)
{
	if (skip_unless_root())
		return;
	follows("userspace");
}
END_TEST

START_TEST(test_status_follows_nftables)
{
	if (skip_unless_root())
		return;
	follows("nftables");
}
END_TEST

/* ---- the gate ---- */

struct kicks {
	char ip[32];
	int n;
};

static void
kick(void *arg, const char *pod_ip)
{
	struct kicks *k = arg;

	snprintf(k->ip, sizeof(k->ip), "%s", pod_ip);
	k->n++;
}

static int
kicked(void *arg)
{
	return ((struct kicks *)arg)->n > 0;
}

struct busy_cond {
	struct drain *d;
	const char *ip;
	int want;
};

static int
busy_is(void *arg)
{
	struct busy_cond *c = arg;

	return drain_busy(c->d, c->ip) == c->want;
}

struct rev_cond {
	struct drain *d;
	int64_t rev;
};

static int
drain_saw(void *arg)
{
	struct rev_cond *c = arg;

	return drain_revision(c->d) >= c->rev;
}

/* A live node (its lease) whose proxy has reported endpoints ips, and
 * a gate over them whose caches have synced. */
static struct drain *
gate_start(const char *ips, struct kicks *k, struct ev_loop **loop)
{
	struct etcd_client *c = etcd_sync_client(S);
	struct drain *d;
	char key[128];

	*loop = etcd_client_loop(c);
	snprintf(key, sizeof(key), "%s/nodeleases/%s", PFX, NODE);
	ck_assert_int_gt(tu_put(S, key, "{}"), 0);
	/* A live node "ghost" whose report names another node: ignored, so
	 * its revision 1 holds nothing back. */
	snprintf(key, sizeof(key), "%s/nodeleases/ghost", PFX);
	ck_assert_int_gt(tu_put(S, key, "{}"), 0);
	snprintf(key, sizeof(key), "%s/proxystatus/ghost", PFX);
	ck_assert_int_gt(tu_put(S, key, "{\"node\":\"m1\",\"endpointsRevision\":1}"), 0);
	start_proxy("userspace");
	ck_assert(status_reaches(put_web(ips)));
	ck_assert_ptr_nonnull(d = drain_open(c, PFX, kick, k));
	/* An IP nobody lists is free once the caches synced. */
	ck_assert_int_eq(th_wait(*loop, busy_is, &(struct busy_cond){d, "198.18.251.99", 0}, 10), 0);
	return d;
}

/* EPA leaves the endpoints while the proxy is frozen: busy until the
 * proxy, thawed, reports the revision; a kick says so. */
START_TEST(test_gate_waits_for_proxy)
{
	struct ev_loop *loop;
	struct kicks k = {0};
	struct drain *d;
	int64_t r2;

	if (skip_unless_root())
		return;
	d = gate_start(EPA "," EPB, &k, &loop);
	ck_assert_int_eq(drain_busy(d, EPA), 1);

	ck_assert_int_eq(th_proc_signal(P, SIGSTOP), 0);
	r2 = put_web(EPB);
	ck_assert_int_eq(th_wait(loop, drain_saw, &(struct rev_cond){d, r2}, 10), 0);
	ck_assert_int_lt(status_rev(), r2);
	ck_assert_int_eq(drain_busy(d, EPA), 1); /* gone, but the frozen proxy has not caught up */
	k.n = 0;
	ck_assert_int_eq(th_proc_signal(P, SIGCONT), 0);
	ck_assert_int_eq(th_wait(loop, kicked, &k, 10), 0);
	ck_assert_str_eq(k.ip, EPA);
	ck_assert_int_eq(drain_busy(d, EPA), 0);
	ck_assert_int_ge(status_rev(), r2);
	ck_assert_int_eq(drain_busy(d, EPB), 1);
	drain_forget(d, EPA);
	drain_free(d);
}
END_TEST

/* A node whose lease is gone is not waited for, however far behind its
 * proxy is. */
START_TEST(test_gate_skips_dead_node)
{
	struct ev_loop *loop;
	struct kicks k = {0};
	struct drain *d;
	int64_t r2;

	if (skip_unless_root())
		return;
	d = gate_start(EPA, &k, &loop);

	ck_assert_int_eq(th_proc_signal(P, SIGSTOP), 0);
	r2 = put_web("");
	ck_assert_int_eq(th_wait(loop, drain_saw, &(struct rev_cond){d, r2}, 10), 0);
	ck_assert_int_eq(drain_busy(d, EPA), 1);
	k.n = 0;
	delete_key("nodeleases", NODE);
	ck_assert_int_eq(th_wait(loop, kicked, &k, 10), 0);
	ck_assert_str_eq(k.ip, EPA);
	ck_assert_int_eq(drain_busy(d, EPA), 0);
	ck_assert_int_lt(status_rev(), r2); /* the proxy never caught up */
	ck_assert_int_eq(th_proc_signal(P, SIGCONT), 0);
	drain_free(d);
}
END_TEST

/* Put P/proxystatus/m2 reporting rev. */
static void
report_m2(int64_t rev)
{
	char key[128], val[128];

	snprintf(key, sizeof(key), "%s/proxystatus/m2", PFX);
	snprintf(val, sizeof(val), "{\"node\":\"m2\",\"endpointsRevision\":%lld}", (long long)rev);
	ck_assert_int_gt(tu_put(S, key, val), 0);
}

/* The gate watches only the deletions under P/nodeleases/: node m2 (its
 * report written by hand, no proxy) is waited for while its lease is
 * there, not once it is deleted, though heartbeats rewrite it again (a
 * put the gate never sees), and again once its proxy reports after
 * that: a node that came back. */
START_TEST(test_gate_node_comes_back)
{
	struct etcd_client *c;
	struct ev_loop *loop;
	struct kicks k = {0};
	struct drain *d;
	char key[128];
	int64_t r1;

	if (skip_unless_root())
		return;
	c = etcd_sync_client(S);
	loop = etcd_client_loop(c);
	snprintf(key, sizeof(key), "%s/nodeleases/m2", PFX);
	ck_assert_int_gt(tu_put(S, key, "{}"), 0);
	report_m2(put_web(EPA));
	ck_assert_ptr_nonnull(d = drain_open(c, PFX, kick, &k));
	ck_assert_int_eq(th_wait(loop, busy_is, &(struct busy_cond){d, "198.18.251.99", 0}, 10), 0);
	ck_assert_int_eq(drain_busy(d, EPA), 1);

	r1 = put_web("");
	ck_assert_int_eq(th_wait(loop, drain_saw, &(struct rev_cond){d, r1}, 10), 0);
	ck_assert_int_eq(drain_busy(d, EPA), 1); /* m2 has not reported r1 */
	delete_key("nodeleases", "m2");
	ck_assert_int_eq(th_wait(loop, busy_is, &(struct busy_cond){d, EPA, 0}, 10), 0);

	for (int i = 0; i < 3; i++) /* m2 is back: it beats */
		ck_assert_int_gt(tu_put(S, key, "{}"), 0);
	report_m2(r1 - 1); /* and its proxy writes, still behind */
	ck_assert_int_eq(th_wait(loop, busy_is, &(struct busy_cond){d, EPA, 1}, 10), 0);
	k.n = 0;
	report_m2(r1);
	ck_assert_int_eq(th_wait(loop, kicked, &k, 10), 0);
	ck_assert_str_eq(k.ip, EPA);
	ck_assert_int_eq(drain_busy(d, EPA), 0);
	drain_free(d);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("drain");
	TCase *st = tcase_create("status"), *gate = tcase_create("gate");

	tcase_add_unchecked_fixture(st, etcd_up, etcd_down);
	tcase_add_checked_fixture(st, setup, teardown);
	tcase_set_timeout(st, 60);
	tcase_add_test(st, test_status_follows_userspace);
	tcase_add_test(st, test_status_follows_nftables);
	tcase_add_unchecked_fixture(gate, etcd_up, etcd_down);
	tcase_add_checked_fixture(gate, setup, teardown);
	tcase_set_timeout(gate, 60);
	tcase_add_test(gate, test_gate_waits_for_proxy);
	tcase_add_test(gate, test_gate_skips_dead_node);
	tcase_add_test(gate, test_gate_node_comes_back);
	suite_add_tcase(s, st);
	suite_add_tcase(s, gate);
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
