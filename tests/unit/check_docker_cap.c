/*
 * check_docker_cap.c: the agent's Docker client (agent_docker.c) against a
 * unix-socket server of the test's own that answers only when told to, as
 * a wedged dockerd: at most max - 1 ordinary requests are open at once and
 * the rest queue (the gauges say so), an urgent one takes the kept slot,
 * an answer lets the oldest queued one go, a deadline counts from the
 * send (a queued request does not time out), a timed-out request says so
 * (timed_out, sent), a cancelled queued one never calls back, and freeing
 * the client with requests open and queued leaks nothing. It does not talk
 * to Docker (tests/integration/check_agent_frozen.c does).
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "node-agent/agent.h"

#define MAXC 32

static struct ev_loop *L;
static char PATH_[108];
static int LFD = -1;
static ev_io LIO;
/* accepted connections: fd, requests seen and not answered */
static struct conn {
	int fd;
	int pending;
	char tail[4]; /* the last bytes read, for a "\r\n\r\n" split across reads */
	ev_io io;
} C[MAXC];
static int NCONN, OPEN, MAXOPEN, REQS;

struct res {
	int calls;
	long status;
	int sent, timed_out;
};

/* Count the requests in what arrives (each ends in an empty line). */
static void
conn_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct conn *c = w->data;
	char buf[4096], win[4096 + 4];
	ssize_t n = read(c->fd, buf, sizeof(buf));

	(void)revents;
	if (n <= 0) {
		if (n < 0 && errno == EAGAIN)
			return;
		ev_io_stop(loop, w);
		close(c->fd);
		c->fd = -1;
		OPEN--;
		return;
	}
	memcpy(win, c->tail, 4);
	memcpy(win + 4, buf, (size_t)n);
	for (size_t i = 1; i + 4 <= (size_t)n + 4; i++) /* a match ending in the new bytes */
		if (memcmp(win + i, "\r\n\r\n", 4) == 0) {
			c->pending++;
			REQS++;
		}
	memcpy(c->tail, win + n, 4);
}

static void
accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	int fd = accept(w->fd, NULL, NULL);
	struct conn *c;

	(void)revents;
	if (fd < 0)
		return;
	ck_assert_int_lt(NCONN, MAXC);
	c = &C[NCONN++];
	c->fd = fd;
	fcntl(fd, F_SETFL, O_NONBLOCK);
	ev_io_init(&c->io, conn_cb, fd, EV_READ);
	c->io.data = c;
	ev_io_start(loop, &c->io);
	if (++OPEN > MAXOPEN)
		MAXOPEN = OPEN;
}

/* Answer the oldest unanswered request: 0, or -1 when there is none. */
static int
answer_one(void)
{
	static const char r[] = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}";

	for (int i = 0; i < NCONN; i++)
		if (C[i].fd >= 0 && C[i].pending > 0) {
			C[i].pending--;
			ck_assert_int_eq(write(C[i].fd, r, sizeof(r) - 1), (ssize_t)(sizeof(r) - 1));
			return 0;
		}
	return -1;
}

static void
tick(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop, (void)w, (void)revents;
}

/* Run the loop for s seconds, or until *flag >= want (flag NULL: the
 * whole time). */
static void
spin(double s, const int *flag, int want)
{
	ev_timer t;

	ev_timer_init(&t, tick, 0.01, 0.01);
	ev_timer_start(L, &t);
	for (double end = ev_time() + s; ev_time() < end && !(flag && *flag >= want);)
		ev_run(L, EVRUN_ONCE);
	ev_timer_stop(L, &t);
}

static void
on_res(struct dk_resp *r, void *arg)
{
	struct res *x = arg;

	x->calls++;
	x->status = r->status;
	x->sent = r->sent;
	x->timed_out = r->timed_out;
}

static struct dk_req *
call(struct dk *d, struct res *x, long timeout_ms, int urgent)
{
	return dk_call(d,
	               &(struct dk_call_opts){
			       .path = "/_ping", .timeout_ms = timeout_ms, .done = on_res, .arg = x, .urgent = urgent});
}

/* The value of series name in m's exposition, or -1. */
static double
gauge(struct metrics *m, const char *name)
{
	size_t len;
	char *s = metrics_render(m, &len), *p, key[128];
	double v = -1;

	snprintf(key, sizeof(key), "\n%s ", name);
	if (s && (p = strstr(s, key)))
		v = strtod(p + strlen(key), NULL);
	free(s);
	return v;
}

static void
setup(void)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};

	L = ev_default_loop(0);
	snprintf(PATH_, sizeof(PATH_), "/tmp/skiff-dkcap.%d.sock", (int)getpid());
	unlink(PATH_);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", PATH_);
	LFD = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
	ck_assert_int_ge(LFD, 0);
	ck_assert_int_eq(bind(LFD, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(LFD, 64), 0);
	ev_io_init(&LIO, accept_cb, LFD, EV_READ);
	ev_io_start(L, &LIO);
	NCONN = OPEN = MAXOPEN = REQS = 0;
}

static void
teardown(void)
{
	for (int i = 0; i < NCONN; i++)
		if (C[i].fd >= 0) {
			ev_io_stop(L, &C[i].io);
			close(C[i].fd);
		}
	ev_io_stop(L, &LIO);
	close(LFD);
	unlink(PATH_);
}

START_TEST(cap_queue_urgent_and_pump)
{
	struct dk *d = dk_new(L, PATH_);
	struct metrics *m = metrics_new();
	struct res r[8] = {{0}}, u = {0};
	int i;

	ck_assert_ptr_nonnull(d);
	dk_set_max(d, 4);
	dk_metrics(d, m);
	for (i = 0; i < 6; i++)
		ck_assert_ptr_nonnull(call(d, &r[i], 0, 0));
	spin(5, &REQS, 3);
	spin(0.3, NULL, 0); /* nothing more may arrive: the bound, not a wait for it */
	ck_assert_int_eq(REQS, 3);
	ck_assert_int_eq((int)gauge(m, "skiff_agent_docker_calls_inflight"), 3);
	ck_assert_int_eq((int)gauge(m, "skiff_agent_docker_calls_queued"), 3);

	/* the health check's slot */
	ck_assert_ptr_nonnull(call(d, &u, 0, 1));
	spin(5, &REQS, 4);
	ck_assert_int_eq(REQS, 4);
	ck_assert_int_eq((int)gauge(m, "skiff_agent_docker_calls_inflight"), 4);

	/* one answer: the oldest queued request goes, on the freed slot */
	ck_assert_int_eq(answer_one(), 0);
	spin(5, &REQS, 5);
	ck_assert_int_eq(r[0].calls + r[1].calls + r[2].calls + u.calls, 1);
	ck_assert_int_eq(r[3].calls + r[4].calls + r[5].calls, 0);
	ck_assert_int_eq(REQS, 5);
	ck_assert_int_eq((int)gauge(m, "skiff_agent_docker_calls_queued"), 2);

	/* answer everything as it comes; never more than 4 connections */
	for (double end = ev_time() + 10; ev_time() < end && (r[5].calls == 0 || u.calls == 0);) {
		answer_one();
		spin(0.05, NULL, 0);
	}
	for (i = 0; i < 6; i++)
		ck_assert_int_eq(r[i].calls, 1);
	ck_assert_int_eq(u.calls, 1);
	ck_assert_int_le(MAXOPEN, 4);
	ck_assert_int_eq((int)gauge(m, "skiff_agent_docker_calls_inflight"), 0);
	ck_assert_int_eq((int)gauge(m, "skiff_agent_docker_calls_queued"), 0);
	dk_free(d);
	metrics_free(m);
}
END_TEST

START_TEST(deadline_counts_from_the_send)
{
	struct dk *d = dk_new(L, PATH_);
	struct metrics *m = metrics_new();
	struct res hung[2] = {{0}}, late = {0};

	ck_assert_ptr_nonnull(d);
	dk_set_max(d, 3);
	dk_metrics(d, m);
	ck_assert_ptr_nonnull(call(d, &hung[0], 0, 0));
	ck_assert_ptr_nonnull(call(d, &hung[1], 0, 0));
	ck_assert_ptr_nonnull(call(d, &late, 200, 0)); /* queued behind two hung calls */
	spin(5, &REQS, 2);
	spin(0.6, NULL, 0); /* three times its deadline, in the queue */
	ck_assert_int_eq(late.calls, 0);
	ck_assert_int_eq(REQS, 2);

	ck_assert_int_eq(answer_one(), 0); /* one hung call answered: late is sent... */
	spin(5, &REQS, 3);
	ck_assert_int_eq(REQS, 3);
	spin(5, &late.calls, 1); /* ...and times out, having been sent */
	ck_assert_int_eq(late.calls, 1);
	ck_assert_int_eq(late.status, 0);
	ck_assert_int_eq(late.timed_out, 1);
	ck_assert_int_eq(late.sent, 1);
	ck_assert_int_eq((int)gauge(m, "skiff_agent_docker_calls_timed_out_total"), 1);
	ck_assert_int_eq(hung[0].calls + hung[1].calls, 1);
	dk_free(d); /* the other still open: no callback, nothing leaks */
	ck_assert_int_eq(hung[0].calls + hung[1].calls, 1);
	metrics_free(m);
}
END_TEST

START_TEST(cancel_queued_and_free)
{
	struct dk *d = dk_new(L, PATH_);
	struct res a = {0}, b = {0}, c = {0}, e = {0};
	struct dk_req *qb, *qc;

	ck_assert_ptr_nonnull(d);
	dk_set_max(d, 3);
	ck_assert_ptr_nonnull(call(d, &a, 0, 0));
	ck_assert_ptr_nonnull(call(d, &e, 0, 0));
	ck_assert_ptr_nonnull(qb = call(d, &b, 0, 0));
	ck_assert_ptr_nonnull(qc = call(d, &c, 0, 0));
	spin(5, &REQS, 2);
	dk_cancel(qb); /* queued: gone without a callback */
	ck_assert_int_eq(answer_one(), 0);
	spin(5, &REQS, 3); /* c, not b, takes a's slot */
	ck_assert_int_eq(REQS, 3);
	spin(0.2, NULL, 0);
	ck_assert_int_eq(b.calls, 0);
	ck_assert_int_eq(a.calls + e.calls, 1);
	(void)qc;
	dk_free(d); /* c and one of a, e open: no callbacks */
	ck_assert_int_eq(c.calls, 0);
	ck_assert_int_eq(a.calls + e.calls, 1);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("docker_cap");
	TCase *t = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(t, setup, teardown);
	tcase_set_timeout(t, 60);
	tcase_add_test(t, cap_queue_urgent_and_pump);
	tcase_add_test(t, deadline_counts_from_the_send);
	tcase_add_test(t, cancel_queued_and_free);
	suite_add_tcase(s, t);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
