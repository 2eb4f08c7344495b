/*
 * check_etcd_auth_tls.c: authentication and TLS against real etcd. Two
 * one-member clusters for the file: one with auth enabled (root user, simple
 * tokens with --auth-token-ttl 2 so tokens expire during the tests), one
 * serving https with a generated CA and requiring client certificates.
 * The TLS cluster also serves a real daemon (skiff-node-controller), which
 * sets OpenSSL up through its own path (daemon/daemon_tls.c).
 */
#include <check.h>
#include <ev.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "etcd.h"
#include "etcd_sync.h"
#include "tests/harness/etcd_fixture.h"
#include "tests/harness/etcd_harness.h"
#include "tests/harness/etcd_testutil.h"
#include "tests/harness/th_proc.h"

#define NODE_CONTROLLER "build/bin/skiff-node-controller"

#define ROOT_PW "r00t-pw"
#define TOKEN_TTL 2

/* tu_etcd, the fixture's etcd: auth on, plain http. */
static struct th_etcd *g_tls; /* https, client certs, auth off */

static struct etcd_sync *
auth_sync(const char *user, const char *pw)
{
	struct etcd_config cfg;
	struct etcd_error err;
	ck_assert_msg(tu_etcd != NULL, "auth etcd did not start (see stderr)");
	tu_config(tu_etcd, &cfg);
	cfg.user = user;
	cfg.password = pw;
	struct etcd_sync *s = etcd_sync_new(&cfg, &err);
	ck_assert_msg(s != NULL, "etcd_sync_new: %s", tu_err(&err));
	return s;
}

static struct etcd_sync *
tls_sync(const char *ca, const char *cert, const char *key)
{
	struct etcd_config cfg;
	struct etcd_error err;
	ck_assert_msg(g_tls != NULL, "TLS etcd did not start (see stderr)");
	tu_config(g_tls, &cfg);
	cfg.cacert = ca;
	cfg.cert = cert;
	cfg.key = key;
	cfg.request_timeout_ms = 1000;
	cfg.retry_budget_ms = 1000;
	struct etcd_sync *s = etcd_sync_new(&cfg, &err);
	ck_assert_msg(s != NULL, "etcd_sync_new: %s", tu_err(&err));
	return s;
}

/* Let every simple token of the auth cluster expire: etcd drops a token
 * TOKEN_TTL s after its last use, checking once a second. */
static void
let_tokens_expire(struct ev_loop *loop)
{
	th_wait(loop, NULL, NULL, TOKEN_TTL + 1.5);
}

/* ---- auth ---- */

START_TEST(auth_root_password_works)
{
	struct etcd_sync *s = auth_sync("root", ROOT_PW);
	ck_assert_int_gt(tu_put(s, "/auth/ok/k", "v"), 0);
	struct etcd_result *r = etcd_sync_get(s, "/auth/ok/k");
	TU_OK(r);
	ck_assert_uint_eq(r->nkvs, 1);
	TU_FREE(r);
	struct etcd_stats st;
	etcd_client_stats(etcd_sync_client(s), &st);
	ck_assert_uint_ge(st.auths, 1);
	ck_assert_uint_le(st.auths, 2); /* one token serves many calls */
	etcd_sync_free(s);
}
END_TEST

START_TEST(auth_wrong_password)
{
	struct etcd_sync *s = auth_sync("root", "not-the-password");
	struct etcd_result *r = etcd_sync_get(s, "/auth/ok/k");
	TU_CODE(r, ETCD_EAUTH);
	ck_assert_msg(strcasestr(r->err.msg, "auth") || strcasestr(r->err.msg, "password"), "message not helpful: %s",
	              r->err.msg);
	TU_FREE(r);
	r = etcd_sync_put(s, "/auth/bad/k", "v", 1, NULL);
	TU_CODE(r, ETCD_EAUTH);
	ck_assert_int_eq(r->err.outcome_unknown, 0);
	TU_FREE(r);
	etcd_sync_free(s);
}
END_TEST

START_TEST(auth_unknown_user)
{
	struct etcd_sync *s = auth_sync("nobody", "x");
	struct etcd_result *r = etcd_sync_get(s, "/auth/ok/k");
	TU_CODE(r, ETCD_EAUTH);
	TU_FREE(r);
	etcd_sync_free(s);
}
END_TEST

START_TEST(auth_no_credentials)
{
	struct etcd_sync *s = auth_sync(NULL, NULL);
	struct etcd_result *r = etcd_sync_put(s, "/auth/anon/k", "v", 1, NULL);
	ck_assert_msg(r && (r->err.code == ETCD_EAUTH || r->err.code == ETCD_EPERM),
	              "expected auth or permission error, got %s", r ? tu_err(&r->err) : "NULL");
	TU_FREE(r);
	etcd_sync_free(s);
}
END_TEST

START_TEST(auth_expired_token_renewed)
{
	struct etcd_sync *s = auth_sync("root", ROOT_PW);
	struct etcd_client *c = etcd_sync_client(s);
	struct etcd_stats a, b;
	ck_assert_int_gt(tu_put(s, "/auth/exp/k", "1"), 0);
	etcd_client_stats(c, &a);
	let_tokens_expire(etcd_client_loop(c));
	/* the old token is invalid now; the call must succeed anyway */
	ck_assert_int_gt(tu_put(s, "/auth/exp/k", "2"), 0);
	struct etcd_result *r = etcd_sync_get(s, "/auth/exp/k");
	TU_OK(r);
	ck_assert_str_eq(r->kvs[0].value, "2");
	TU_FREE(r);
	etcd_client_stats(c, &b);
	ck_assert_uint_gt(b.auths, a.auths);
	/* and a guarded txn after another expiry */
	let_tokens_expire(etcd_client_loop(c));
	struct etcd_txn *t = etcd_txn_new();
	etcd_txn_cmp(t, "/auth/exp/k", ETCD_CMP_VERSION, ETCD_CMP_EQUAL, 2);
	etcd_txn_put(t, ETCD_TXN_SUCCESS, "/auth/exp/k", "3", 1, 0);
	r = etcd_sync_txn(s, t);
	TU_OK(r);
	ck_assert_int_eq(r->succeeded, 1);
	TU_FREE(r);
	etcd_sync_free(s);
}
END_TEST

START_TEST(auth_watch_across_token_expiry)
{
	struct etcd_sync *s = auth_sync("root", ROOT_PW);
	struct etcd_client *c = etcd_sync_client(s);
	struct ev_loop *loop = etcd_client_loop(c);
	struct etcd_error err;
	struct tu_wlog l1 = {0}, l2 = {0};
	struct etcd_watch_opts o = {.prefix = 1};
	/* a watch made with a fresh token keeps streaming after it expires */
	struct etcd_watch *w1 = etcd_watch_start(c, "/auth/w/", &o, tu_wlog_cb, &l1, &err);
	ck_assert_ptr_nonnull(w1);
	ck_assert_int_eq(th_wait(loop, tu_wlog_created, &l1, 10), 0);
	let_tokens_expire(loop);
	/* a watch made after expiry must re-authenticate, not fail */
	struct etcd_watch *w2 = etcd_watch_start(c, "/auth/w/", &o, tu_wlog_cb, &l2, &err);
	ck_assert_ptr_nonnull(w2);
	ck_assert_msg(th_wait(loop, tu_wlog_created, &l2, 10) == 0, "second watch not created (errors %d, %s)",
	              l2.errors, etcd_code_name(l2.last_err));
	struct etcd_sync *writer = auth_sync("root", ROOT_PW);
	ck_assert_int_gt(tu_put(writer, "/auth/w/a", "1"), 0);
	etcd_sync_free(writer);
	struct tu_wcount c1 = {&l1, 1}, c2 = {&l2, 1};
	ck_assert_int_eq(th_wait(loop, tu_wlog_has, &c1, 10), 0);
	ck_assert_int_eq(th_wait(loop, tu_wlog_has, &c2, 10), 0);
	ck_assert_int_eq(l1.errors + l2.errors, 0);
	etcd_watch_cancel(w1);
	etcd_watch_cancel(w2);
	tu_wlog_free(&l1);
	tu_wlog_free(&l2);
	etcd_sync_free(s);
}
END_TEST

static void
admin(const char *path, const char *body)
{
	char *resp = NULL;
	long st = th_etcd_post(tu_etcd, 0, path, body, &resp);
	ck_assert_msg(st == 200, "%s: HTTP %ld: %s", path, st, resp ? resp : "");
	free(resp);
}

START_TEST(auth_permission_denied)
{
	ck_assert_ptr_nonnull(tu_etcd);
	/* user alice may only read /ro/ */
	char body[512];
	char *k = th_b64("/ro/", 4), *e = th_b64("/ro0", 4);
	admin("/v3/auth/role/add", "{\"name\":\"reader\"}");
	snprintf(body, sizeof body,
	         "{\"name\":\"reader\",\"perm\":{\"permType\":\"READ\",\"key\":\"%s\",\"range_end\":\"%s\"}}", k, e);
	admin("/v3/auth/role/grant", body);
	admin("/v3/auth/user/add", "{\"name\":\"alice\",\"password\":\"alice-pw\"}");
	admin("/v3/auth/user/grant", "{\"user\":\"alice\",\"role\":\"reader\"}");
	free(k);
	free(e);
	struct etcd_sync *root = auth_sync("root", ROOT_PW);
	ck_assert_int_gt(tu_put(root, "/ro/x", "visible"), 0);
	etcd_sync_free(root);

	struct etcd_sync *s = auth_sync("alice", "alice-pw");
	struct etcd_result *r = etcd_sync_get(s, "/ro/x");
	TU_OK(r);
	ck_assert_str_eq(r->kvs[0].value, "visible");
	TU_FREE(r);
	r = etcd_sync_put(s, "/ro/x", "nope", 4, NULL);
	TU_CODE(r, ETCD_EPERM);
	ck_assert_int_eq(r->err.grpc_code, 7);
	TU_FREE(r);
	r = etcd_sync_get(s, "/elsewhere");
	TU_CODE(r, ETCD_EPERM);
	TU_FREE(r);
	/* a watch outside her range ends with a terminal permission error */
	struct etcd_client *c = etcd_sync_client(s);
	struct tu_wlog l = {0};
	struct etcd_error err;
	struct etcd_watch *w = etcd_watch_start(c, "/elsewhere/", NULL, tu_wlog_cb, &l, &err);
	ck_assert_ptr_nonnull(w);
	ck_assert_msg(th_wait(etcd_client_loop(c), tu_wlog_errored, &l, 10) == 0,
	              "no ERROR for a forbidden watch (created %d, retrying %d, last error %s)", l.created, l.retrying,
	              etcd_code_name(l.last_err));
	ck_assert_int_eq(l.last_err, ETCD_EPERM);
	etcd_watch_cancel(w);
	tu_wlog_free(&l);
	etcd_sync_free(s);
}
END_TEST

/* ---- TLS ---- */

START_TEST(tls_with_client_cert)
{
	ck_assert_ptr_nonnull(g_tls);
	struct etcd_sync *s = tls_sync(th_etcd_ca(g_tls), th_etcd_cert(g_tls), th_etcd_key(g_tls));
	ck_assert_int_gt(tu_put(s, "/tls/k", "secret"), 0);
	struct etcd_result *r = etcd_sync_get(s, "/tls/k");
	TU_OK(r);
	ck_assert_str_eq(r->kvs[0].value, "secret");
	TU_FREE(r);
	ck_assert(strncmp(etcd_client_endpoint(etcd_sync_client(s)), "https://", 8) == 0);
	/* a watch over TLS */
	struct etcd_client *c = etcd_sync_client(s);
	struct tu_wlog l = {0};
	struct etcd_error err;
	struct etcd_watch_opts o = {.prefix = 1};
	struct etcd_watch *w = etcd_watch_start(c, "/tls/", &o, tu_wlog_cb, &l, &err);
	ck_assert_ptr_nonnull(w);
	ck_assert_int_eq(th_wait(etcd_client_loop(c), tu_wlog_created, &l, 10), 0);
	struct etcd_sync *s2 = tls_sync(th_etcd_ca(g_tls), th_etcd_cert(g_tls), th_etcd_key(g_tls));
	ck_assert_int_gt(tu_put(s2, "/tls/w", "1"), 0);
	etcd_sync_free(s2);
	struct tu_wcount wc = {&l, 1};
	ck_assert_int_eq(th_wait(etcd_client_loop(c), tu_wlog_has, &wc, 10), 0);
	ck_assert_str_eq(l.ev[0].key, "/tls/w");
	etcd_watch_cancel(w);
	tu_wlog_free(&l);
	etcd_sync_free(s);
}
END_TEST

START_TEST(tls_wrong_ca)
{
	ck_assert_ptr_nonnull(g_tls);
	struct etcd_sync *s = tls_sync(th_etcd_other_ca(g_tls), th_etcd_cert(g_tls), th_etcd_key(g_tls));
	struct etcd_result *r = etcd_sync_get(s, "/tls/k");
	TU_CODE(r, ETCD_ETLS);
	ck_assert(r->err.msg[0] != 0);
	TU_FREE(r);
	etcd_sync_free(s);
}
END_TEST

START_TEST(tls_without_client_cert)
{
	ck_assert_ptr_nonnull(g_tls);
	struct etcd_sync *s = tls_sync(th_etcd_ca(g_tls), NULL, NULL);
	struct etcd_result *r = etcd_sync_get(s, "/tls/k");
	TU_CODE(r, ETCD_ETLS);
	TU_FREE(r);
	etcd_sync_free(s);
}
END_TEST

START_TEST(tls_unreadable_files)
{
	ck_assert_ptr_nonnull(g_tls);
	struct etcd_config cfg;
	struct etcd_error err;
	struct ev_loop *loop = ev_loop_new(0);
	tu_config(g_tls, &cfg);
	cfg.cacert = "/nonexistent/ca.crt";
	ck_assert_ptr_null(etcd_client_new(loop, &cfg, &err));
	ck_assert_int_ne(err.code, ETCD_OK);
	tu_config(g_tls, &cfg);
	cfg.key = "/nonexistent/client.key";
	ck_assert_ptr_null(etcd_client_new(loop, &cfg, &err));
	ck_assert_int_ne(err.code, ETCD_OK);
	ev_loop_destroy(loop);
}
END_TEST

START_TEST(tls_plain_http_to_tls_port)
{
	ck_assert_ptr_nonnull(g_tls);
	char ep[128];
	snprintf(ep, sizeof ep, "http://%s", th_etcd_endpoint(g_tls, 0) + strlen("https://"));
	struct etcd_config cfg;
	struct etcd_error err;
	memset(&cfg, 0, sizeof cfg);
	cfg.endpoints = ep;
	cfg.request_timeout_ms = 1000;
	cfg.retry_budget_ms = 1500;
	struct etcd_sync *s = etcd_sync_new(&cfg, &err);
	ck_assert_ptr_nonnull(s);
	struct etcd_result *r = etcd_sync_get(s, "/tls/k");
	ck_assert_ptr_nonnull(r);
	ck_assert_msg(r->err.code != ETCD_OK, "plain http to a TLS port succeeded");
	TU_FREE(r);
	etcd_sync_free(s);
}
END_TEST

START_TEST(auth_user_when_auth_disabled)
{
	/* credentials given, but the server has auth off: calls still work */
	ck_assert_ptr_nonnull(g_tls);
	struct etcd_config cfg;
	struct etcd_error err;
	tu_config(g_tls, &cfg);
	cfg.user = "root";
	cfg.password = "whatever";
	struct etcd_sync *s = etcd_sync_new(&cfg, &err);
	ck_assert_ptr_nonnull(s);
	ck_assert_int_gt(tu_put(s, "/tls/authoff", "v"), 0);
	struct etcd_result *r = etcd_sync_get(s, "/tls/authoff");
	TU_OK(r);
	TU_FREE(r);
	etcd_sync_free(s);
}
END_TEST

/* skiff-node-controller against the TLS cluster with the given CA; the
 * process, to be freed by the caller. */
static struct th_proc *
tls_daemon(const char *prefix, const char *ca)
{
	char *const argv[] = {NODE_CONTROLLER,
	                      "--etcd-endpoints",
	                      (char *)th_etcd_endpoint(g_tls, 0),
	                      "--etcd-cacert",
	                      (char *)ca,
	                      "--etcd-cert",
	                      (char *)th_etcd_cert(g_tls),
	                      "--etcd-key",
	                      (char *)th_etcd_key(g_tls),
	                      "--prefix",
	                      (char *)prefix,
	                      "--health-addr",
	                      "",
	                      NULL};
	struct th_proc *p = th_proc_start(NODE_CONTROLLER, argv, NULL);

	ck_assert_msg(p != NULL, "cannot start %s", NODE_CONTROLLER);
	return p;
}

struct leader_wait {
	struct etcd_sync *s;
	struct th_proc *p;
};

/* th_wait cond: a leader key under /tlsd/leaders/, or the daemon gone. */
static int
leader_or_exit(void *arg)
{
	struct leader_wait *w = arg;
	struct etcd_range_opts o = {.prefix = 1, .count_only = 1};
	struct etcd_result *r = etcd_sync_range(w->s, "/tlsd/leaders/", &o);
	int done = (r && r->err.code == ETCD_OK && r->count > 0) || !th_proc_running(w->p);

	if (r)
		etcd_result_free(r);
	return done;
}

START_TEST(tls_daemon_elects_leader)
{
	ck_assert_ptr_nonnull(g_tls);
	struct ev_loop *loop = ev_loop_new(0);
	struct leader_wait w = {tls_sync(th_etcd_ca(g_tls), th_etcd_cert(g_tls), th_etcd_key(g_tls)),
	                        tls_daemon("/tlsd", th_etcd_ca(g_tls))};

	ck_assert_msg(th_wait(loop, leader_or_exit, &w, 20) == 0 && th_proc_running(w.p),
	              "the daemon never took leadership over TLS:\n%s", th_proc_log(w.p));
	ck_assert_int_eq(th_proc_signal(w.p, SIGTERM), 0);
	ck_assert_int_eq(th_proc_wait(w.p, 10), 0);
	th_proc_free(w.p, 0);
	etcd_sync_free(w.s);
	ev_loop_destroy(loop);
}
END_TEST

START_TEST(tls_daemon_wrong_ca_says_so)
{
	/* The start-up check fails at once with the TLS cause and the flags to
	 * look at, and the daemon exits for its supervisor to restart it. */
	ck_assert_ptr_nonnull(g_tls);
	struct th_proc *p = tls_daemon("/tlsbad", th_etcd_other_ca(g_tls));

	ck_assert_msg(th_proc_wait(p, 4) > 0, "the daemon did not exit on a wrong CA within 4 s:\n%s", th_proc_log(p));
	ck_assert_msg(th_proc_log_has(p, "code=tls") && th_proc_log_has(p, "--etcd-cacert"),
	              "the log does not name the TLS failure:\n%s", th_proc_log(p));
	th_proc_free(p, 0);
}
END_TEST

static Suite *
auth_tls_suite(void)
{
	Suite *s = suite_create("etcd_auth_tls");
	TCase *auth = tcase_create("auth");
	tcase_set_timeout(auth, 60);
	tcase_add_test(auth, auth_root_password_works);
	tcase_add_test(auth, auth_wrong_password);
	tcase_add_test(auth, auth_unknown_user);
	tcase_add_test(auth, auth_no_credentials);
	tcase_add_test(auth, auth_expired_token_renewed);
	tcase_add_test(auth, auth_watch_across_token_expiry);
	tcase_add_test(auth, auth_permission_denied);
	suite_add_tcase(s, auth);

	TCase *tls = tcase_create("tls");
	tcase_set_timeout(tls, 60);
	tcase_add_test(tls, tls_with_client_cert);
	tcase_add_test(tls, tls_wrong_ca);
	tcase_add_test(tls, tls_without_client_cert);
	tcase_add_test(tls, tls_unreadable_files);
	tcase_add_test(tls, tls_plain_http_to_tls_port);
	tcase_add_test(tls, auth_user_when_auth_disabled);
	tcase_add_test(tls, tls_daemon_elects_leader);
	tcase_add_test(tls, tls_daemon_wrong_ca_says_so);
	suite_add_tcase(s, tls);
	return s;
}

int
main(void)
{
	static const struct th_etcd_opts auth = {.root_password = ROOT_PW, .auth_token_ttl = TOKEN_TTL};
	static const struct th_etcd_opts tls = {.tls = 1};
	static const struct tu_fixture fx = {.opts = &auth};
	int started, rc;

	g_tls = th_etcd_start(1, &tls);
	started = g_tls != NULL;
	rc = tu_suite_main(auth_tls_suite(), &fx);
	th_etcd_free(g_tls);
	return rc == 0 && started ? 0 : 1;
}
