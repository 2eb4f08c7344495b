/*
 * check_config.c: skiff-config-controller against a real etcd. The test
 * writes ConfigMaps, Secrets and bindings as an admin and the scheduler
 * would, and reads P/nodeconfig/ back: a node gets a copy (the same bytes)
 * of what its pods refer to and nothing else; copies follow updates and
 * go when the last pod there stops referring to them or the original is
 * deleted. No Docker: what the agent does with the copies is
 * check_agent's.
 */
#include <check.h>
#include <ev.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "etcd_harness.h"
#include "etcd_testutil.h"
#include "th_proc.h"

#define P "/skiff"

static struct th_etcd *E;
static struct ev_loop *L;
static struct etcd_sync *S;
static struct th_proc *CTL;

#define CM(name, v) "{\"metadata\":{\"name\":\"" name "\"},\"data\":{\"k\":\"" v "\"}}"
#define SECRET(name) "{\"metadata\":{\"name\":\"" name "\"},\"data\":{\"pw\":\"aHVudGVyMg==\"}}"

/* A binding of pod to node whose one container refers to what refs says
 * (JSON of env entries). */
static void
bind(const char *node, const char *pod, const char *env)
{
	char key[256], val[1024];

	snprintf(key, sizeof(key), P "/bindings/%s/%s", node, pod);
	snprintf(val, sizeof(val),
	         "{\"node\":\"%s\",\"pod\":{\"metadata\":{\"name\":\"%s\",\"uid\":\"1\"},\"spec\":{\"containers\":[{"
	         "\"name\":\"c\",\"image\":\"skiff/test-httpd:latest\",\"env\":[%s]}]}}}",
	         node, pod, env);
	tu_put(S, key, val);
}

#define CM_REF(n) "{\"name\":\"A\",\"valueFrom\":{\"configMapKeyRef\":{\"name\":\"" n "\",\"key\":\"k\"}}}"
#define SECRET_REF(n) "{\"name\":\"B\",\"valueFrom\":{\"secretKeyRef\":{\"name\":\"" n "\",\"key\":\"pw\"}}}"

/* The value of key (new), NULL when absent. */
static char *
value_of(const char *key)
{
	struct etcd_result *r = etcd_sync_range(S, key, NULL);
	char *v = NULL;

	TU_OK(r);
	if (r->nkvs == 1)
		v = strndup(r->kvs[0].value, r->kvs[0].value_len);
	etcd_result_free(r);
	return v;
}

static void
del(const char *key)
{
	struct etcd_result *r = etcd_sync_delete(S, key, NULL);

	TU_OK(r);
	etcd_result_free(r);
}

struct want {
	const char *key;
	const char *value; /* NULL: absent */
};

static int
is(void *arg)
{
	const struct want *w = arg;
	char *v = value_of(w->key);
	int ok = w->value ? v && strcmp(v, w->value) == 0 : !v;

	free(v);
	return ok;
}

#define WAIT_IS(k, v)                                                                                      \
	do {                                                                                               \
		struct want w_ = {(k), (v)};                                                               \
		ck_assert_msg(th_wait(L, is, &w_, 10) == 0, "%s: expected %s", (k), (v) ? (v) : "no key"); \
	} while (0)

static void
setup(void)
{
	struct etcd_config cfg;
	struct etcd_error err = {0};
	char ep[512];
	char *argv[] = {"skiff-config-controller", ep, "--prefix=" P, "--log-level=debug", NULL};

	ck_assert_ptr_nonnull(E = th_etcd_start(1, NULL));
	L = ev_loop_new(EVFLAG_AUTO);
	tu_config(E, &cfg);
	ck_assert_msg((S = etcd_sync_new(&cfg, &err)) != NULL, "%s", tu_err(&err));
	snprintf(ep, sizeof(ep), "--etcd-endpoints=%s", th_etcd_endpoints(E));
	ck_assert_ptr_nonnull(CTL = th_proc_start("build/bin/skiff-config-controller", argv, NULL));
}

static void
teardown(void)
{
	th_proc_free(CTL, 0);
	etcd_sync_free(S);
	ev_loop_destroy(L);
	th_etcd_free(E);
}

START_TEST(copies_what_a_node_needs)
{
	tu_put(S, P "/configmaps/c1", CM("c1", "one"));
	tu_put(S, P "/secrets/s1", SECRET("s1"));
	tu_put(S, P "/configmaps/c2", CM("c2", "two"));
	bind("m1", "p1", CM_REF("c1") "," SECRET_REF("s1") "," CM_REF("c1"));
	bind("m2", "p2", CM_REF("c1"));
	WAIT_IS(P "/nodeconfig/m1/configmaps/c1", CM("c1", "one"));
	WAIT_IS(P "/nodeconfig/m1/secrets/s1", SECRET("s1"));
	WAIT_IS(P "/nodeconfig/m2/configmaps/c1", CM("c1", "one"));
	/* The marker: a later pod on m2 brings c2. m2 never gets s1. */
	bind("m2", "p3", CM_REF("c2"));
	WAIT_IS(P "/nodeconfig/m2/configmaps/c2", CM("c2", "two"));
	ck_assert_int_eq(tu_count(S, P "/nodeconfig/m2/"), 2);
	ck_assert_int_eq(tu_count(S, P "/nodeconfig/m1/"), 2);
}
END_TEST

START_TEST(copies_follow_updates)
{
	tu_put(S, P "/configmaps/c1", CM("c1", "one"));
	bind("m1", "p1", CM_REF("c1"));
	WAIT_IS(P "/nodeconfig/m1/configmaps/c1", CM("c1", "one"));
	tu_put(S, P "/configmaps/c1", CM("c1", "uno"));
	WAIT_IS(P "/nodeconfig/m1/configmaps/c1", CM("c1", "uno"));
}
END_TEST

START_TEST(removed_when_no_pod_needs_it)
{
	tu_put(S, P "/configmaps/c1", CM("c1", "one"));
	tu_put(S, P "/secrets/s1", SECRET("s1"));
	bind("m1", "p1", CM_REF("c1") "," SECRET_REF("s1"));
	bind("m1", "p2", CM_REF("c1"));
	WAIT_IS(P "/nodeconfig/m1/secrets/s1", SECRET("s1"));
	WAIT_IS(P "/nodeconfig/m1/configmaps/c1", CM("c1", "one"));
	del(P "/bindings/m1/p1");
	WAIT_IS(P "/nodeconfig/m1/secrets/s1", NULL);
	ck_assert_int_eq(tu_count(S, P "/nodeconfig/m1/"), 1); /* p2 still needs c1 */
	del(P "/bindings/m1/p2");
	WAIT_IS(P "/nodeconfig/m1/configmaps/c1", NULL);
}
END_TEST

START_TEST(follows_the_original)
{
	bind("m1", "p1", CM_REF("late") "," SECRET_REF("s1"));
	tu_put(S, P "/secrets/s1", SECRET("s1"));
	WAIT_IS(P "/nodeconfig/m1/secrets/s1", SECRET("s1"));
	ck_assert_ptr_null(value_of(P "/nodeconfig/m1/configmaps/late"));
	/* A ConfigMap created after the pod was bound is copied then. */
	tu_put(S, P "/configmaps/late", CM("late", "x"));
	WAIT_IS(P "/nodeconfig/m1/configmaps/late", CM("late", "x"));
	/* Deleting the original removes the copy. */
	del(P "/secrets/s1");
	WAIT_IS(P "/nodeconfig/m1/secrets/s1", NULL);
}
END_TEST

START_TEST(invalid_original_not_copied)
{
	bind("m1", "p1", SECRET_REF("bad") "," CM_REF("good"));
	tu_put(S, P "/secrets/bad", "{\"metadata\":{\"name\":\"bad\"},\"data\":{\"pw\":\"not base64\"}}");
	tu_put(S, P "/configmaps/good", CM("good", "g"));
	WAIT_IS(P "/nodeconfig/m1/configmaps/good", CM("good", "g"));
	ck_assert_ptr_null(value_of(P "/nodeconfig/m1/secrets/bad"));
	ck_assert_int_eq(th_proc_log_has(CTL, "invalid object, not copied"), 1);
	/* Made valid, it is copied. */
	tu_put(S, P "/secrets/bad", SECRET("bad"));
	WAIT_IS(P "/nodeconfig/m1/secrets/bad", SECRET("bad"));
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("config");
	TCase *core = tcase_create("core");

	tcase_add_checked_fixture(core, setup, teardown);
	tcase_set_timeout(core, 60);
	tcase_add_test(core, copies_what_a_node_needs);
	tcase_add_test(core, copies_follow_updates);
	tcase_add_test(core, removed_when_no_pod_needs_it);
	tcase_add_test(core, follows_the_original);
	tcase_add_test(core, invalid_original_not_copied);
	suite_add_tcase(s, core);
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
