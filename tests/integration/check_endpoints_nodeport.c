/*
 * check_endpoints_nodeport.c: the node-port allocator of
 * skiff-endpoints-controller, a real process against a real etcd: ports
 * allocated inside --node-port-range and shown in the endpoints, a
 * requested nodePort honoured, a taken or out-of-range one refused with a
 * Warning event, claims released when the service goes or turns back into
 * ClusterIP (and then given to whoever asked), a restart adopting its
 * claims without allocating twice, and stale claims (of a service gone,
 * or of an earlier incarnation) released.
 */
#include <check.h>
#include <ev.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "etcd_harness.h"
#include "etcd_testutil.h"
#include "th_proc.h"

static struct th_etcd *E;
static struct etcd_sync *S;
static struct th_proc *P;
static char PFX[64];

#define RANGE "31000-31009"

static struct th_proc *
start(void)
{
	char ep[512], pfx[80];
	char *argv[] = {"skiff-endpoints-controller", ep,  pfx, "--leader-elect=false", "--log-level=debug",
	                "--node-port-range=" RANGE,   NULL};

	snprintf(ep, sizeof(ep), "--etcd-endpoints=%s", th_etcd_endpoints(E));
	snprintf(pfx, sizeof(pfx), "--prefix=%s", PFX);
	return th_proc_start("build/bin/skiff-endpoints-controller", argv, NULL);
}

static void
setup(void)
{
	struct etcd_config cfg;
	struct etcd_error err = {0};

	ck_assert_ptr_nonnull(E = th_etcd_start(1, NULL));
	tu_config(E, &cfg);
	ck_assert_ptr_nonnull(S = etcd_sync_new(&cfg, &err));
	snprintf(PFX, sizeof(PFX), "/np%d", (int)getpid());
	ck_assert_ptr_nonnull(P = start());
}

static void
teardown(void)
{
	th_proc_free(P, 1);
	etcd_sync_free(S);
	th_etcd_free(E);
}

/* P/services/NAME of type, ports: the JSON members of its ports array. */
static int64_t
service(const char *name, const char *type, const char *ports)
{
	char key[128], v[512];

	snprintf(key, sizeof(key), "%s/services/%s", PFX, name);
	snprintf(v, sizeof(v),
	         "{\"metadata\":{\"name\":\"%s\"},\"spec\":{\"selector\":{\"app\":\"%s\"},\"type\":\"%s\","
	         "\"ports\":[%s]}}",
	         name, name, type, ports);
	return tu_put(S, key, v);
}

static void
del_service(const char *name)
{
	char key[128];
	struct etcd_result *r;

	snprintf(key, sizeof(key), "%s/services/%s", PFX, name);
	r = etcd_sync_delete(S, key, NULL);
	TU_OK(r);
	etcd_result_free(r);
}

/* The value of P/DIR/NAME as JSON (new), or NULL. */
static json_t *
get_json(const char *dir, const char *name)
{
	char key[160];
	struct etcd_result *r;
	json_t *j = NULL;

	snprintf(key, sizeof(key), "%s/%s/%s", PFX, dir, name);
	r = etcd_sync_get(S, key);
	if (r && r->err.code == ETCD_OK && r->nkvs == 1)
		j = json_loadb(r->kvs[0].value, r->kvs[0].value_len, 0, NULL);
	etcd_result_free(r);
	return j;
}

/* What the endpoints of a service say of node ports: "80:31000,81:31003"
 * (a port without one: "80:0"). */
struct np_view {
	const char *svc, *want; /* want NULL: every port has one */
	char got[256];
};

static int
view(void *arg)
{
	struct np_view *v = arg;
	json_t *j = get_json("endpoints", v->svc), *p;
	size_t i, n = 0;
	int all = 1;

	v->got[0] = '\0';
	json_array_foreach(json_object_get(j, "ports"), i, p) {
		json_int_t np = json_integer_value(json_object_get(p, "nodePort"));

		all &= np != 0;
		n += (size_t)snprintf(v->got + n, sizeof(v->got) - n, "%s%d:%d", i ? "," : "",
		                      (int)json_integer_value(json_object_get(p, "port")), (int)np);
		if (n >= sizeof(v->got))
			break;
	}
	json_decref(j);
	return j && (v->want ? strcmp(v->got, v->want) == 0 : all);
}

static int
poll_until(int (*cond)(void *), void *arg, double secs)
{
	double end = ev_time() + secs;

	while (ev_time() < end) {
		if (cond(arg))
			return 0;
		usleep(20000); /* polling etcd with a deadline */
	}
	return -1;
}

struct prefix_count {
	const char *dir, *needle; /* needle: a value must contain it (or NULL) */
	size_t want, got;
};

static int
count_is(void *arg)
{
	struct prefix_count *c = arg;
	struct etcd_range_opts o = {.prefix = 1};
	struct etcd_result *r;
	char key[160];

	snprintf(key, sizeof(key), "%s/%s/", PFX, c->dir);
	r = etcd_sync_range(S, key, &o);
	c->got = 0;
	for (size_t i = 0; r && r->err.code == ETCD_OK && i < r->nkvs; i++)
		c->got += !c->needle || strstr(r->kvs[i].value, c->needle);
	etcd_result_free(r);
	return c->got == c->want;
}

#define EXPECT_COUNT(d, n, w)                                                                                \
	do {                                                                                                 \
		struct prefix_count c_ = {(d), (n), (w), 0};                                                 \
		ck_assert_msg(poll_until(count_is, &c_, 10) == 0, "%s: %zu, not %zu", (d), c_.got, c_.want); \
	} while (0)

#define EXPECT_VIEW(s, w)                                                                        \
	do {                                                                                     \
		struct np_view v_ = {(s), (w), ""};                                              \
		ck_assert_msg(poll_until(view, &v_, 10) == 0, "%s: node ports %s", (s), v_.got); \
	} while (0)

START_TEST(test_allocate_requested_and_free)
{
	struct np_view v = {"a", NULL, ""};
	json_t *claim;
	int other;
	char uid[32];
	int64_t rev = service("a", "NodePort",
	                      "{\"name\":\"http\",\"port\":80,\"nodePort\":31005},{\"name\":\"admin\",\"port\":81}");

	ck_assert_msg(poll_until(view, &v, 10) == 0, "node ports: %s", v.got);
	ck_assert_msg(strncmp(v.got, "80:31005,81:310", 15) == 0, "node ports: %s", v.got);
	other = atoi(v.got + 12);
	ck_assert(other >= 31000 && other <= 31009 && other != 31005);
	claim = get_json("nodeports", "31005");
	ck_assert_ptr_nonnull(claim);
	snprintf(uid, sizeof(uid), "%lld", (long long)rev);
	ck_assert_str_eq(json_string_value(json_object_get(claim, "service")), "a");
	ck_assert_str_eq(json_string_value(json_object_get(claim, "uid")), uid);
	ck_assert_int_eq(json_integer_value(json_object_get(claim, "port")), 80);
	ck_assert_str_eq(json_string_value(json_object_get(claim, "protocol")), "TCP");
	json_decref(claim);
	EXPECT_COUNT("nodeports", NULL, 2);

	/* LoadBalancer gets node ports too; a ClusterIP service none. */
	service("lb", "LoadBalancer", "{\"port\":443}");
	service("plain", "ClusterIP", "{\"port\":80}");
	EXPECT_VIEW("lb", NULL);
	EXPECT_VIEW("plain", "80:0");
	EXPECT_COUNT("nodeports", NULL, 3);
}
END_TEST

START_TEST(test_taken_out_of_range_released)
{
	service("a", "NodePort", "{\"port\":80,\"nodePort\":31001}");
	EXPECT_VIEW("a", "80:31001");

	/* Taken: an event on b naming a, no port. */
	service("b", "NodePort", "{\"port\":8080,\"nodePort\":31001}");
	EXPECT_COUNT("events/services/b", "NodePortTaken", 1);
	EXPECT_COUNT("events/services/b", "service a", 1);
	EXPECT_VIEW("b", "8080:0");
	/* Out of range: an event, no port. */
	service("c", "NodePort", "{\"port\":80,\"nodePort\":30000}");
	EXPECT_COUNT("events/services/c", "NodePortOutOfRange", 1);
	EXPECT_VIEW("c", "80:0");
	EXPECT_COUNT("nodeports", NULL, 1);

	/* a goes: its port is released, and b, which asked for it, gets it. */
	del_service("a");
	EXPECT_VIEW("b", "8080:31001");
	EXPECT_COUNT("nodeports", "\"service\":\"b\"", 1);
	EXPECT_COUNT("nodeports", NULL, 1);

	/* b back to ClusterIP: the port is released, the endpoints show none. */
	service("b", "ClusterIP", "{\"port\":8080}");
	EXPECT_VIEW("b", "8080:0");
	EXPECT_COUNT("nodeports", NULL, 0);
	ck_assert(th_proc_running(P));
}
END_TEST

/* The mod revision of P/nodeports/PORT, 0 when absent. */
static int64_t
claim_rev(const char *port)
{
	char key[128];
	struct etcd_result *r;
	int64_t rev = 0;

	snprintf(key, sizeof(key), "%s/nodeports/%s", PFX, port);
	r = etcd_sync_get(S, key);
	if (r && r->err.code == ETCD_OK && r->nkvs == 1)
		rev = r->kvs[0].mod_revision;
	etcd_result_free(r);
	return rev;
}

START_TEST(test_restart_adopts_and_stale_released)
{
	struct np_view v = {"a", NULL, ""};
	char port[8], key[128];
	int64_t rev;
	int ghost, older;

	service("a", "NodePort", "{\"port\":80}");
	ck_assert_msg(poll_until(view, &v, 10) == 0, "node ports: %s", v.got);
	snprintf(port, sizeof(port), "%s", v.got + 3);
	rev = claim_rev(port);
	ck_assert_int_gt(rev, 0);

	/* Killed; meanwhile a claim of a service that does not exist and one of
	 * an earlier incarnation of a appear. */
	th_proc_kill(P);
	th_proc_free(P, 0);
	/* Two ports of the range other than a's (which is random in it: with
	 * fixed ones a's own claim was overwritten one run in five). */
	ghost = atoi(port) == 31008 || atoi(port) == 31009 ? 31006 : 31008;
	older = atoi(port) == 31009 || ghost == 31009 ? 31007 : 31009;

	snprintf(key, sizeof(key), "%s/nodeports/%d", PFX, ghost);
	tu_put(S, key, "{\"service\":\"ghost\",\"uid\":\"5\",\"port\":80,\"protocol\":\"TCP\"}");
	snprintf(key, sizeof(key), "%s/nodeports/%d", PFX, older);
	tu_put(S, key, "{\"service\":\"a\",\"uid\":\"1\",\"port\":80,\"protocol\":\"TCP\"}");
	ck_assert_ptr_nonnull(P = start());

	/* The stale ones go; a keeps its port, untouched, and no second one. */
	EXPECT_COUNT("nodeports", NULL, 1);
	ck_assert_int_eq(claim_rev(port), rev);
	EXPECT_VIEW("a", v.got);
	ck_assert(th_proc_running(P));
}
END_TEST

/* Eleven ports, ten node ports in the range: ten claimed, one refused. */
START_TEST(test_range_exhausted)
{
	char ports[1024] = "";
	size_t n = 0;

	for (int i = 0; i < 11; i++)
		n += (size_t)snprintf(ports + n, sizeof(ports) - n, "%s{\"name\":\"p%d\",\"port\":%d}", i ? "," : "", i,
		                      8000 + i);
	service("big", "NodePort", ports);
	EXPECT_COUNT("events/services/big", "NodePortsExhausted", 1);
	EXPECT_COUNT("nodeports", "\"service\":\"big\"", 10);
	ck_assert(th_proc_running(P));
}
END_TEST

START_TEST(test_bad_range_flag)
{
	char ep[512];
	char *argv[] = {"skiff-endpoints-controller", ep, "--node-port-range=32767-30000", NULL};
	struct th_proc *p;

	snprintf(ep, sizeof(ep), "--etcd-endpoints=%s", th_etcd_endpoints(E));
	ck_assert_ptr_nonnull(p = th_proc_start("build/bin/skiff-endpoints-controller", argv, NULL));
	ck_assert_int_eq(th_proc_wait(p, 10), 2);
	ck_assert(th_proc_log_has(p, "--node-port-range"));
	th_proc_free(p, 0);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("endpoints_nodeport");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_allocate_requested_and_free);
	tcase_add_test(tc, test_taken_out_of_range_released);
	tcase_add_test(tc, test_restart_adopts_and_stale_released);
	tcase_add_test(tc, test_range_exhausted);
	tcase_add_test(tc, test_bad_range_flag);
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
	return failed ? 1 : 0;
}
