/*
 * check_agent_probe_run.c: the agent's handler runners (agent_probe_run.c)
 * on a real libev loop, without Docker: httpGet against a canned local
 * server (2xx and 3xx succeed, others fail with Kubernetes' words, a
 * silent server times out), tcpSocket against a listening and a closed
 * loopback port, sleep cut short at the timeout, a handler without a pod
 * IP, and a cancel that never calls back. exec needs Docker: see
 * tests/integration/check_agent_probes.c.
 */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fake_http.h"
#include "node-agent/agent_probe.h"
#include "tp.h"

static struct skiff_daemon D;
static struct agent A;
static struct tp *TP;

struct verdict {
	int calls, ok;
	char msg[512];
};

static void
on_done(void *arg, int ok, const char *msg)
{
	struct verdict *v = arg;

	v->calls++;
	v->ok = ok;
	snprintf(v->msg, sizeof(v->msg), "%s", msg);
}

static void
setup(void)
{
	D.loop = ev_default_loop(0);
	A.d = &D;
	TP = tp_new(D.loop);
	ck_assert_ptr_nonnull(TP);
}

static void
teardown(void)
{
	tp_free(TP);
}

/* Run h against host:port (pod IP ip) for at most timeout seconds; the
 * loop runs until the verdict (or 10 s). */
static struct verdict
run(const struct api_handler *h, const char *ip, int port, double timeout)
{
	struct prun_ctx c = {.a = &A, .tp = TP, .ctr_id = "none", .pod_ip = ip, .port = port, .timeout = timeout};
	struct verdict v = {0};
	double end = ev_time() + 10;
	struct prun *r = prun_start(&c, h, on_done, &v);

	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(v.calls, 0); /* never before prun_start returned */
	while (v.calls == 0 && ev_time() < end)
		ev_run(D.loop, EVRUN_ONCE);
	ck_assert_int_eq(v.calls, 1);
	return v;
}

/* The port of a fake_http URL "http://127.0.0.1:PORT". */
static int
url_port(const char *url)
{
	return atoi(strrchr(url, ':') + 1);
}

static struct verdict
http_status(int status)
{
	char *resp = fh_response(status, "body\nmore\n");
	struct fh_reply r = {.head = resp};
	struct fake_http *f = fh_start(&r);
	struct api_handler h = {.kind = API_HANDLER_HTTP, .path = "/healthz", .scheme = "HTTP"};
	struct verdict v;

	ck_assert_ptr_nonnull(f);
	v = run(&h, "127.0.0.1", url_port(fh_url(f)), 2);
	ck_assert_int_eq(fh_requests(f), 1);
	fh_stop(f);
	free(resp);
	return v;
}

START_TEST(test_http)
{
	struct verdict v = http_status(200);

	ck_assert_int_eq(v.ok, 1);
	ck_assert_str_eq(v.msg, "");
	ck_assert_int_eq(http_status(302).ok, 1);
	v = http_status(500);
	ck_assert_int_eq(v.ok, 0);
	ck_assert_str_eq(v.msg, "HTTP probe failed with statuscode: 500");
	v = http_status(404);
	ck_assert_str_eq(v.msg, "HTTP probe failed with statuscode: 404");
}
END_TEST

START_TEST(test_http_timeout)
{
	struct fh_reply r = {.no_reply = 1, .after = FH_HOLD};
	struct fake_http *f = fh_start(&r);
	struct api_handler h = {.kind = API_HANDLER_HTTP, .path = "/", .scheme = "HTTP"};
	double t0 = ev_time();
	struct verdict v;
	char want[128];

	ck_assert_ptr_nonnull(f);
	v = run(&h, "127.0.0.1", url_port(fh_url(f)), 0.3);
	ck_assert_int_eq(v.ok, 0);
	snprintf(want, sizeof(want), "Get \"http://127.0.0.1:%d/\": timed out after 0.3s", url_port(fh_url(f)));
	ck_assert_str_eq(v.msg, want);
	ck_assert(ev_time() - t0 < 2);
	fh_stop(f);
}
END_TEST

/* A listening loopback socket: its port (fd in *fd). */
static int
listener(int *fd)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t l = sizeof(sa);

	*fd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(*fd, 0);
	ck_assert_int_eq(bind(*fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(*fd, 4), 0);
	ck_assert_int_eq(getsockname(*fd, (struct sockaddr *)&sa, &l), 0);
	return ntohs(sa.sin_port);
}

START_TEST(test_tcp)
{
	struct api_handler h = {.kind = API_HANDLER_TCP};
	int fd, port = listener(&fd);
	struct verdict v = run(&h, "127.0.0.1", port, 1);
	char want[128];

	ck_assert_int_eq(v.ok, 1);
	close(fd); /* now nobody listens there */
	v = run(&h, "127.0.0.1", port, 1);
	ck_assert_int_eq(v.ok, 0);
	snprintf(want, sizeof(want), "dial tcp 127.0.0.1:%d: connect: connection refused", port);
	ck_assert_str_eq(v.msg, want);
	h.host = "localhost"; /* no resolver on the loop */
	v = run(&h, "127.0.0.1", port, 1);
	ck_assert_int_eq(v.ok, 0);
	ck_assert(strstr(v.msg, "must be an IPv4 address") != NULL);
}
END_TEST

START_TEST(test_no_ip_sleep_cancel)
{
	struct api_handler http = {.kind = API_HANDLER_HTTP, .path = "/", .scheme = "HTTP"};
	struct api_handler sl = {.kind = API_HANDLER_SLEEP, .sleep_seconds = 30};
	struct prun_ctx c = {.a = &A, .tp = TP, .pod_ip = "", .port = 80, .timeout = 1};
	struct verdict v = run(&http, "", 80, 1), never = {0};
	double t0 = ev_time();
	struct prun *r;

	ck_assert_int_eq(v.ok, 0);
	ck_assert_str_eq(v.msg, "the pod has no IP address yet");
	v = run(&sl, "", 0, 0.2); /* a hook's sleep ends with the grace period */
	ck_assert_int_eq(v.ok, 1);
	ck_assert(ev_time() - t0 >= 0.15 && ev_time() - t0 < 2);
	r = prun_start(&c, &sl, on_done, &never);
	ck_assert_ptr_nonnull(r);
	prun_cancel(r);
	ev_run(D.loop, EVRUN_NOWAIT);
	ck_assert_int_eq(never.calls, 0);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("agent_probe_run");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_http);
	tcase_add_test(tc, test_http_timeout);
	tcase_add_test(tc, test_tcp);
	tcase_add_test(tc, test_no_ip_sleep_cancel);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
