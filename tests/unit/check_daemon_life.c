/*
 * check_daemon_life.c: daemon_init, stop hooks and exit statuses
 * (daemon/daemon*.c) against a stand-in for etcd: a tiny libmicrohttpd
 * server on its own thread that answers the maintenance status call, or a
 * socket that listens and never answers. Each test runs in its own process
 * (Check's fork mode), since daemon_init uses the default loop and exits.
 */
#include <check.h>
#include <ev.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon/daemon.h"

static const char status_json[] = "{\"header\":{\"cluster_id\":\"1\",\"member_id\":\"2\",\"revision\":\"5\","
				  "\"raft_term\":\"2\"},\"version\":\"3.5.9\",\"dbSize\":\"20480\",\"leader\":\"2\"}";

static enum MHD_Result
fake_etcd(void *cls, struct MHD_Connection *c, const char *url, const char *method, const char *version,
          const char *upload, size_t *upload_len, void **req)
{
	static int started;
	struct MHD_Response *r;
	enum MHD_Result rc;
	int ok = strcmp(url, "/v3/maintenance/status") == 0 && strcmp(method, "POST") == 0;
	const char *body = ok ? status_json : "{\"error\":\"not found\",\"code\":5,\"message\":\"not found\"}";

	(void)cls, (void)version, (void)upload;
	if (!*req) {
		*req = &started;
		return MHD_YES;
	}
	if (*upload_len) {
		*upload_len = 0;
		return MHD_YES;
	}
	r = MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_PERSISTENT);
	MHD_add_response_header(r, "Content-Type", "application/json");
	rc = MHD_queue_response(c, ok ? 200 : 404, r);
	MHD_destroy_response(r);
	return rc;
}

static struct MHD_Daemon *etcd;
static int etcd_port, silent_fd = -1, silent_port;

/* A socket bound to a free loopback port; its port in *port. */
static int
loopback_socket(int *port, int do_listen)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	if (do_listen)
		ck_assert_int_eq(listen(fd, 16), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	*port = ntohs(sa.sin_port);
	return fd;
}

static void
setup(void)
{
	const union MHD_DaemonInfo *info;

	unsetenv("SKIFF_ETCD_ENDPOINTS");
	etcd = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO, 0, NULL, NULL, fake_etcd, NULL,
	                        MHD_OPTION_END);
	ck_assert_ptr_nonnull(etcd);
	info = MHD_get_daemon_info(etcd, MHD_DAEMON_INFO_BIND_PORT);
	etcd_port = info->port;
	silent_fd = loopback_socket(&silent_port, 1);
}

static void
teardown(void)
{
	MHD_stop_daemon(etcd);
	close(silent_fd);
}

static long workers;
static const struct flag prog_flags[] = {{"workers", FLAG_INT, &workers, "2", NULL, "workers", NULL, NULL}, {0}};
static const struct skiff_prog prog = {.name = "skiff-testd",
                                       .summary = "A daemon for tests.",
                                       .health_addr = "127.0.0.1:0",
                                       .elects = 1,
                                       .flags = prog_flags};
static struct skiff_daemon d;

/* daemon_init with the endpoint on port and extra arguments. */
static void
init(int port, ...)
{
	static char *argv[32], endpoint[64];
	va_list ap;
	int argc = 0;

	snprintf(endpoint, sizeof(endpoint), "--etcd-endpoints=http://127.0.0.1:%d", port);
	argv[argc++] = "skiff-testd";
	argv[argc++] = endpoint;
	va_start(ap, port);
	for (char *a; (a = va_arg(ap, char *));)
		argv[argc++] = a;
	va_end(ap);
	argv[argc] = NULL;
	daemon_init(&d, &prog, argc, argv);
}

static char order[64];

static int
hook_done(struct skiff_daemon *dm, void *arg)
{
	(void)dm;
	strcat(order, arg);
	return DAEMON_DONE;
}

static void
finish_later(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop, (void)revents;
	strcat(order, "+");
	daemon_stop_done(w->data);
}

static ev_timer later;

/* Pending: finishes from a timer callback on the next loop iteration. */
static int
hook_pending(struct skiff_daemon *dm, void *arg)
{
	strcat(order, arg);
	ck_assert(dm->stopping);
	ev_timer_init(&later, finish_later, 0., 0.);
	later.data = dm;
	ev_timer_start(dm->loop, &later);
	return DAEMON_PENDING;
}

/* Pending, but done before it even returns. */
static int
hook_done_inside(struct skiff_daemon *dm, void *arg)
{
	strcat(order, arg);
	daemon_stop_done(dm);
	daemon_stop_done(dm);
	return DAEMON_PENDING;
}

static int
hook_never(struct skiff_daemon *dm, void *arg)
{
	(void)dm;
	strcat(order, arg);
	return DAEMON_PENDING;
}

static int
hook_signal_again(struct skiff_daemon *dm, void *arg)
{
	(void)dm;
	strcat(order, arg);
	raise(SIGINT);
	return DAEMON_PENDING;
}

START_TEST(test_start_and_sigterm)
{
	size_t len;
	char *text;

	init(etcd_port, "--log-level=warn", "--workers=5", NULL);
	ck_assert_ptr_nonnull(d.etcd);
	ck_assert_ptr_eq(d.loop, ev_default_loop(0));
	ck_assert_int_eq(workers, 5);
	ck_assert_int_eq(d.opts.leader_elect, 1);
	ck_assert_int_gt(health_port(d.health), 0);
	text = metrics_render(d.metrics, &len);
	ck_assert_ptr_nonnull(strstr(text, "\nskiff_etcd_requests_total 1\n"));
	ck_assert_ptr_nonnull(
		strstr(text, "skiff_build_info{program=\"skiff-testd\",version=\"" SKIFF_VERSION "\"} 1\n"));
	free(text);
	ck_assert_int_eq(daemon_on_stop(&d, "a", hook_done, "a"), 0);
	ck_assert_int_eq(daemon_on_stop(&d, "b", hook_pending, "b"), 0);
	ck_assert_int_eq(daemon_on_stop(&d, "c", hook_done_inside, "c"), 0);
	ck_assert_int_eq(daemon_on_stop(&d, "d", hook_done, "d"), 0);
	raise(SIGTERM);
	ck_assert_int_eq(daemon_run(&d), 0);
	ck_assert_str_eq(order, "dcb+a");
	daemon_free(&d);
}
END_TEST

START_TEST(test_healthz_says_stopping)
{
	char out[128];

	init(etcd_port, "--log-level=error", NULL);
	ck_assert_int_eq(health_check_all(d.health, out, sizeof(out)), 0);
	daemon_stop(&d, 0);
	ck_assert_int_eq(health_check_all(d.health, out, sizeof(out)), -1);
	ck_assert_str_eq(out, "daemon: stopping\n");
	ck_assert_int_eq(daemon_run(&d), 0);
	daemon_free(&d);
}
END_TEST

START_TEST(test_stop_with_code)
{
	init(etcd_port, "--log-level=error", "--health-addr=", NULL);
	ck_assert_int_eq(health_port(d.health), 0);
	ck_assert_int_eq(daemon_on_stop(&d, "b", hook_pending, "b"), 0);
	daemon_stop(&d, 3);
	daemon_stop(&d, 4);
	ck_assert_int_eq(daemon_run(&d), 3);
	ck_assert_str_eq(order, "b+");
	daemon_free(&d);
}
END_TEST

START_TEST(test_stop_hooks_time_out)
{
	ev_tstamp t0;

	init(etcd_port, "--log-level=error", "--etcd-timeout=100ms", NULL);
	ck_assert_int_eq(daemon_on_stop(&d, "a", hook_done, "a"), 0);
	ck_assert_int_eq(daemon_on_stop(&d, "stuck", hook_never, "s"), 0);
	raise(SIGTERM);
	t0 = ev_time();
	ck_assert_int_eq(daemon_run(&d), 0);
	ck_assert_str_eq(order, "s"); /* the rest is skipped when the grace is over */
	ck_assert_double_ge(ev_time() - t0, 0.15);
	daemon_free(&d);
}
END_TEST

START_TEST(test_second_signal_stops_now)
{
	init(etcd_port, "--log-level=error", NULL);
	ck_assert_int_eq(daemon_on_stop(&d, "a", hook_done, "a"), 0);
	ck_assert_int_eq(daemon_on_stop(&d, "again", hook_signal_again, "s"), 0);
	raise(SIGTERM);
	ck_assert_int_eq(daemon_run(&d), 0);
	ck_assert_str_eq(order, "s");
	daemon_free(&d);
}
END_TEST

START_TEST(test_etcd_refused_exits_1)
{
	int port, fd = loopback_socket(&port, 0); /* bound, not listening: refused */

	init(port, "--etcd-timeout=300ms", NULL);
	close(fd);
}
END_TEST

START_TEST(test_etcd_silent_exits_1)
{
	init(silent_port, "--etcd-timeout=200ms", NULL);
}
END_TEST

/* A web server that is not etcd: 404 with HTML for everything. */
static enum MHD_Result
not_etcd(void *cls, struct MHD_Connection *c, const char *url, const char *method, const char *version,
         const char *upload, size_t *upload_len, void **req)
{
	static const char body[] = "<html>Not Found</html>";
	static int started;
	struct MHD_Response *r;
	enum MHD_Result rc;

	(void)cls, (void)url, (void)method, (void)version, (void)upload;
	if (!*req) {
		*req = &started;
		return MHD_YES;
	}
	if (*upload_len) {
		*upload_len = 0;
		return MHD_YES;
	}
	r = MHD_create_response_from_buffer(sizeof(body) - 1, (void *)body, MHD_RESPMEM_PERSISTENT);
	rc = MHD_queue_response(c, 404, r);
	MHD_destroy_response(r);
	return rc;
}

START_TEST(test_etcd_not_etcd_exits_1)
{
	struct MHD_Daemon *web = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO, 0, NULL, NULL,
	                                          not_etcd, NULL, MHD_OPTION_END);

	ck_assert_ptr_nonnull(web);
	init(MHD_get_daemon_info(web, MHD_DAEMON_INFO_BIND_PORT)->port, NULL);
}
END_TEST

START_TEST(test_etcd_bad_endpoint_exits_1)
{
	init(etcd_port, "--etcd-endpoints=http://127.0.0.1:1/path", NULL);
}
END_TEST

static void
raise_term(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop, (void)w, (void)revents;
	raise(SIGTERM);
}

START_TEST(test_signal_while_connecting_exits_0)
{
	static ev_timer t;

	ev_timer_init(&t, raise_term, 0.05, 0.);
	ev_timer_start(ev_default_loop(0), &t);
	init(silent_port, "--etcd-timeout=10s", NULL);
}
END_TEST

START_TEST(test_health_addr_busy_exits_1)
{
	char arg[64];
	int port, fd = loopback_socket(&port, 1);

	snprintf(arg, sizeof(arg), "--health-addr=127.0.0.1:%d", port);
	init(etcd_port, arg, NULL);
	close(fd);
}
END_TEST

START_TEST(test_bad_flag_exits_2)
{
	init(etcd_port, "--etcd-timeout=soon", NULL);
}
END_TEST

START_TEST(test_help_exits_0)
{
	ck_assert_ptr_nonnull(freopen("/dev/null", "w", stdout));
	init(etcd_port, "--help", NULL);
}
END_TEST

static Suite *
life_suite(void)
{
	Suite *s = suite_create("daemon_life");
	TCase *core = tcase_create("core"), *errors = tcase_create("errors");

	tcase_add_checked_fixture(core, setup, teardown);
	tcase_add_checked_fixture(errors, setup, teardown);
	tcase_add_test(core, test_start_and_sigterm);
	tcase_add_test(core, test_healthz_says_stopping);
	tcase_add_test(core, test_stop_with_code);
	tcase_add_test(core, test_stop_hooks_time_out);
	tcase_add_test(core, test_second_signal_stops_now);
	tcase_add_exit_test(errors, test_etcd_refused_exits_1, 1);
	tcase_add_exit_test(errors, test_etcd_silent_exits_1, 1);
	tcase_add_exit_test(errors, test_etcd_not_etcd_exits_1, 1);
	tcase_add_exit_test(errors, test_etcd_bad_endpoint_exits_1, 1);
	tcase_add_exit_test(errors, test_signal_while_connecting_exits_0, 0);
	tcase_add_exit_test(errors, test_health_addr_busy_exits_1, 1);
	tcase_add_exit_test(errors, test_bad_flag_exits_2, 2);
	tcase_add_exit_test(errors, test_help_exits_0, 0);
	suite_add_tcase(s, core);
	suite_add_tcase(s, errors);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(life_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
