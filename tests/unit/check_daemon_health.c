/*
 * check_daemon_health.c: the metrics registry and its Prometheus text
 * (daemon/metrics.c), and the health server (daemon/health.c) answering
 * /healthz and /metrics on a loopback port from a libev loop.
 *
 * Requests are made with libcurl's easy interface on a helper thread while
 * this thread runs the loop; the loop stops when the answer is in (an
 * ev_async from the thread) or at a deadline. No sleeps.
 */
#include <check.h>
#include <curl/curl.h>
#include <ev.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/health.h"
#include "daemon/metrics.h"

/* ------------------------------------------------------------------------
 * Metrics
 */
static double
answer(void *arg)
{
	return *(double *)arg;
}

START_TEST(test_render)
{
	struct metrics *m = metrics_new();
	double v = 42;
	struct metric *ok, *retry, *depth;
	size_t len;
	char *text;

	ok = metrics_add(m, "skiff_reconcile_total", "result=\"ok\"", METRIC_COUNTER, "Reconciles.\nBy result \\ kind");
	depth = metrics_add(m, "skiff_queue_depth", NULL, METRIC_GAUGE, "Keys waiting.");
	retry = metrics_add(m, "skiff_reconcile_total", "result=\"retry\"", METRIC_COUNTER, "not shown");
	ck_assert_ptr_nonnull(metrics_add_fn(m, "skiff_answer", NULL, METRIC_GAUGE, "From a callback.", answer, &v));
	ck_assert_ptr_nonnull(ok);
	ck_assert_ptr_nonnull(retry);
	metric_inc(ok);
	metric_inc(ok);
	metric_inc(ok);
	metric_add(retry, 2);
	metric_set(depth, 2.5);
	text = metrics_render(m, &len);
	ck_assert_str_eq(text, "# HELP skiff_reconcile_total Reconciles.\\nBy result \\\\ kind\n"
	                       "# TYPE skiff_reconcile_total counter\n"
	                       "skiff_reconcile_total{result=\"ok\"} 3\n"
	                       "skiff_reconcile_total{result=\"retry\"} 2\n"
	                       "# HELP skiff_queue_depth Keys waiting.\n"
	                       "# TYPE skiff_queue_depth gauge\n"
	                       "skiff_queue_depth 2.5\n"
	                       "# HELP skiff_answer From a callback.\n"
	                       "# TYPE skiff_answer gauge\n"
	                       "skiff_answer 42\n");
	ck_assert_uint_eq(len, strlen(text));
	free(text);
	metrics_free(m);
}
END_TEST

START_TEST(test_values)
{
	static const struct {
		double v;
		const char *text;
	} cases[] = {{0, "0"},
	             {-3, "-3"},
	             {0.1, "0.1"},
	             {1e20, "1e+20"},
	             {1.0 / 3, "0.3333333333333333"},
	             {NAN, "NaN"},
	             {INFINITY, "+Inf"},
	             {-INFINITY, "-Inf"},
	             {123456789012, "123456789012"}};
	struct metrics *m = metrics_new();
	struct metric *g = metrics_add(m, "g", NULL, METRIC_GAUGE, "");
	char want[64], *text;
	size_t len;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		metric_set(g, cases[i].v);
		text = metrics_render(m, &len);
		snprintf(want, sizeof(want), "# HELP g \n# TYPE g gauge\ng %s\n", cases[i].text);
		ck_assert_str_eq(text, want);
		free(text);
	}
	metrics_free(m);
}
END_TEST

START_TEST(test_register_errors)
{
	struct metrics *m = metrics_new();
	size_t len;
	char *text;

	ck_assert_ptr_nonnull(metrics_add(m, "a_total", NULL, METRIC_COUNTER, "h"));
	ck_assert_ptr_null(metrics_add(m, "a_total", NULL, METRIC_COUNTER, "h"));    /* duplicate */
	ck_assert_ptr_null(metrics_add(m, "a_total", "x=\"1\"", METRIC_GAUGE, "h")); /* other type */
	ck_assert_ptr_nonnull(metrics_add(m, "a_total", "x=\"1\"", METRIC_COUNTER, "h"));
	ck_assert_ptr_null(metrics_add(m, "", NULL, METRIC_GAUGE, "h"));
	ck_assert_ptr_null(metrics_add(m, NULL, NULL, METRIC_GAUGE, "h"));
	ck_assert_ptr_null(metrics_add(m, "1abc", NULL, METRIC_GAUGE, "h"));
	ck_assert_ptr_null(metrics_add(m, "a-b", NULL, METRIC_GAUGE, "h"));
	ck_assert_ptr_null(metrics_add(m, "a b", NULL, METRIC_GAUGE, "h"));
	ck_assert_ptr_nonnull(metrics_add(m, "ns:sub_x", NULL, METRIC_GAUGE, NULL));
	ck_assert_ptr_null(metrics_add(NULL, "x", NULL, METRIC_GAUGE, "h"));
	/* Updating a series that failed to register is harmless. */
	metric_inc(NULL);
	metric_set(NULL, 1);
	ck_assert(metric_value(NULL) == 0);
	text = metrics_render(m, &len);
	ck_assert_str_eq(text, "# HELP a_total h\n# TYPE a_total counter\na_total 0\na_total{x=\"1\"} 0\n"
	                       "# HELP ns:sub_x \n# TYPE ns:sub_x gauge\nns:sub_x 0\n");
	free(text);
	metrics_free(m);
	metrics_free(NULL);
}
END_TEST

/* ------------------------------------------------------------------------
 * Health checks and the server
 */
static int
check_ok(void *arg, char *reason, size_t len)
{
	(void)arg, (void)reason, (void)len;
	return 0;
}

static int
check_flag(void *arg, char *reason, size_t len)
{
	if (!*(int *)arg)
		return 0;
	snprintf(reason, len, "no answer from etcd");
	return -1;
}

START_TEST(test_check_all)
{
	struct health *h = health_new(NULL);
	int bad = 0;
	char out[256];

	ck_assert_int_eq(health_check_all(h, out, sizeof(out)), 0);
	ck_assert_int_eq(health_check_add(h, "loop", check_ok, NULL), 0);
	ck_assert_int_eq(health_check_add(h, "etcd", check_flag, &bad), 0);
	ck_assert_int_eq(health_check_all(h, out, sizeof(out)), 0);
	bad = 1;
	ck_assert_int_eq(health_check_all(h, out, sizeof(out)), -1);
	ck_assert_str_eq(out, "etcd: no answer from etcd\n");
	ck_assert_int_eq(health_port(h), 0);
	health_free(h);
	health_free(NULL);
}
END_TEST

struct fetch {
	const char *path, *method;
	int port;
	long status;
	char body[16384];
	size_t len;
	char ctype[128];
	CURLcode rc;
	struct ev_loop *loop;
	ev_async wake;
};

static size_t
on_body(char *p, size_t size, size_t n, void *arg)
{
	struct fetch *f = arg;
	size_t room = sizeof(f->body) - 1 - f->len, k = size * n < room ? size * n : room;

	memcpy(f->body + f->len, p, k);
	f->len += k;
	f->body[f->len] = '\0';
	return size * n;
}

static void *
fetch_thread(void *arg)
{
	struct fetch *f = arg;
	CURL *e = curl_easy_init();
	char url[256];
	char *ct = NULL;

	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", f->port, f->path);
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, f);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 5000L);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	if (strcmp(f->method, "HEAD") == 0)
		curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
	else if (strcmp(f->method, "POST") == 0)
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, "x=1");
	f->rc = curl_easy_perform(e);
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &f->status);
	curl_easy_getinfo(e, CURLINFO_CONTENT_TYPE, &ct);
	snprintf(f->ctype, sizeof(f->ctype), "%s", ct ? ct : "");
	curl_easy_cleanup(e);
	ev_async_send(f->loop, &f->wake);
	return NULL;
}

static void
on_wake(struct ev_loop *loop, ev_async *w, int revents)
{
	(void)w, (void)revents;
	ev_break(loop, EVBREAK_ONE);
}

static void
on_deadline(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)revents;
	*(int *)w->data = 1;
	ev_break(loop, EVBREAK_ONE);
}

/* method path on port, answered while this thread runs loop. */
static struct fetch *
fetch(struct ev_loop *loop, int port, const char *method, const char *path)
{
	static struct fetch f;
	ev_timer deadline;
	pthread_t t;
	int late = 0;

	memset(&f, 0, sizeof(f));
	f.path = path;
	f.method = method;
	f.port = port;
	f.loop = loop;
	ev_async_init(&f.wake, on_wake);
	ev_async_start(loop, &f.wake);
	ev_timer_init(&deadline, on_deadline, 10., 0.);
	deadline.data = &late;
	ev_timer_start(loop, &deadline);
	ck_assert_int_eq(pthread_create(&t, NULL, fetch_thread, &f), 0);
	ev_run(loop, 0);
	pthread_join(t, NULL);
	ev_timer_stop(loop, &deadline);
	ev_async_stop(loop, &f.wake);
	ck_assert_msg(!late, "no answer to %s %s within 10 s", method, path);
	ck_assert_msg(f.rc == CURLE_OK, "%s %s: %s", method, path, curl_easy_strerror(f.rc));
	return &f;
}

static struct ev_loop *loop;
static struct metrics *m;
static struct health *h;
static int failing;

static void
server_setup(void)
{
	char err[256];

	loop = ev_loop_new(EVFLAG_AUTO);
	m = metrics_new();
	h = health_new(m);
	failing = 0;
	metric_set(metrics_add(m, "skiff_etcd_requests_total", NULL, METRIC_COUNTER, "etcd requests."), 17);
	ck_assert_int_eq(health_check_add(h, "etcd", check_flag, &failing), 0);
	ck_assert_msg(health_listen(h, loop, "127.0.0.1:0", err, sizeof(err)) == 0, "%s", err);
	ck_assert_int_gt(health_port(h), 0);
}

static void
server_teardown(void)
{
	health_free(h);
	metrics_free(m);
	ev_loop_destroy(loop);
}

START_TEST(test_healthz)
{
	struct fetch *f = fetch(loop, health_port(h), "GET", "/healthz");

	ck_assert_int_eq(f->status, 200);
	ck_assert_str_eq(f->body, "ok\n");
	failing = 1;
	f = fetch(loop, health_port(h), "GET", "/healthz");
	ck_assert_int_eq(f->status, 503);
	ck_assert_str_eq(f->body, "etcd: no answer from etcd\n");
	failing = 0;
	f = fetch(loop, health_port(h), "GET", "/healthz?verbose=1");
	ck_assert_int_eq(f->status, 200);
}
END_TEST

START_TEST(test_metrics)
{
	struct fetch *f = fetch(loop, health_port(h), "GET", "/metrics");
	size_t len;
	char *want = metrics_render(m, &len);

	ck_assert_int_eq(f->status, 200);
	ck_assert_str_eq(f->ctype, "text/plain; version=0.0.4; charset=utf-8");
	ck_assert_str_eq(f->body, want);
	ck_assert_ptr_nonnull(strstr(f->body, "\nskiff_etcd_requests_total 17\n"));
	free(want);
}
END_TEST

START_TEST(test_other_requests)
{
	struct fetch *f = fetch(loop, health_port(h), "GET", "/");

	ck_assert_int_eq(f->status, 404);
	f = fetch(loop, health_port(h), "GET", "/healthz/x");
	ck_assert_int_eq(f->status, 404);
	f = fetch(loop, health_port(h), "POST", "/healthz");
	ck_assert_int_eq(f->status, 405);
	f = fetch(loop, health_port(h), "HEAD", "/healthz");
	ck_assert_int_eq(f->status, 200);
	ck_assert_uint_eq(f->len, 0);
}
END_TEST

START_TEST(test_many_requests)
{
	for (int i = 0; i < 50; i++) {
		struct fetch *f = fetch(loop, health_port(h), "GET", i % 2 ? "/metrics" : "/healthz");

		ck_assert_int_eq(f->status, 200);
	}
}
END_TEST

START_TEST(test_listen_errors)
{
	struct health *other = health_new(NULL);
	char err[256], addr[64];

	ck_assert_int_eq(health_listen(h, loop, "127.0.0.1:0", err, sizeof(err)), -1);
	ck_assert_str_eq(err, "health server already listening");
	ck_assert_int_eq(health_listen(other, loop, "nonsense", err, sizeof(err)), -1);
	ck_assert_str_eq(err, "health address \"nonsense\" is not host:port");
	ck_assert_int_eq(health_listen(other, loop, "127.0.0.1:99999", err, sizeof(err)), -1);
	ck_assert_int_eq(health_listen(other, loop, "no-such-host.invalid:80", err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "no-such-host.invalid"));
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", health_port(h));
	ck_assert_int_eq(health_listen(other, loop, addr, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, addr) != NULL, "message: %s", err);
	ck_assert_int_eq(health_port(other), 0);
	health_free(other);
}
END_TEST

START_TEST(test_ipv6_loopback_and_any)
{
	struct health *other = health_new(NULL);
	char err[256];

	/* IPv6 may be off in a container: only the any-address form must work. */
	if (health_listen(other, loop, "[::1]:0", err, sizeof(err)) == 0)
		ck_assert_int_gt(health_port(other), 0);
	health_free(other);
	other = health_new(NULL);
	ck_assert_msg(health_listen(other, loop, ":0", err, sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(fetch(loop, health_port(other), "GET", "/healthz")->status, 200);
	health_free(other);
}
END_TEST

static Suite *
health_suite(void)
{
	Suite *s = suite_create("daemon_health");
	TCase *core = tcase_create("core"), *server = tcase_create("server"), *errors = tcase_create("errors");

	tcase_add_test(core, test_render);
	tcase_add_test(core, test_values);
	tcase_add_test(core, test_check_all);
	tcase_add_test(errors, test_register_errors);
	tcase_add_checked_fixture(server, server_setup, server_teardown);
	tcase_add_test(server, test_healthz);
	tcase_add_test(server, test_metrics);
	tcase_add_test(server, test_other_requests);
	tcase_add_test(server, test_many_requests);
	tcase_add_test(server, test_listen_errors);
	tcase_add_test(server, test_ipv6_loopback_and_any);
	suite_add_tcase(s, core);
	suite_add_tcase(s, server);
	suite_add_tcase(s, errors);
	return s;
}

int
main(void)
{
	SRunner *sr;
	int failed;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	sr = srunner_create(health_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	curl_global_cleanup();
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
