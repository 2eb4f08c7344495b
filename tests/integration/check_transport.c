/*
 * check_transport.c: the HTTP transport (transport/tp.h) against a real
 * HTTP server on loopback (libmicrohttpd, a thread per connection, in this
 * process). core: one completion per request, method, headers and body;
 * abort: no callback, from anywhere; nesting: transfers started from
 * callbacks; limits: body and line bounds; lines: splitting across chunks;
 * timeouts: total and idle.
 */
#include <arpa/inet.h>
#include <check.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tp.h"

/* ---- the server ---- */

static struct MHD_Daemon *srv;
static char base[64];
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int stopping;

/* Block the server thread until the server stops (at most 30 s). */
static void
hang(void)
{
	struct timespec until;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 30;
	pthread_mutex_lock(&mu);
	while (!stopping && pthread_cond_timedwait(&cv, &mu, &until) == 0)
		;
	pthread_mutex_unlock(&mu);
}

/* The body of /lines, in the pieces it is written in: lines cut across
 * pieces, an empty line, and a last line without its newline. */
static const char *const pieces[] = {"ab", "c\nde", "f\n\ngh", "i\nj", "kl\n", "tail", NULL};

struct stream {
	const char *const *p; /* pieces to send, then hang or end */
	int then_hang;
	int n;
};

static ssize_t
stream_cb(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct stream *s = cls;
	size_t len;

	(void)pos;
	if (!s->p[s->n]) {
		if (s->then_hang)
			hang();
		return MHD_CONTENT_READER_END_OF_STREAM;
	}
	/* A pause between pieces so that curl reads them one by one; the
	 * assertions hold however they arrive. */
	if (s->n > 0)
		usleep(20000);
	len = strlen(s->p[s->n]);
	if (len > max)
		len = max;
	memcpy(buf, s->p[s->n++], len);
	return (ssize_t)len;
}

static enum MHD_Result
reply(struct MHD_Connection *c, int status, const char *body)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
	enum MHD_Result rc = MHD_queue_response(c, (unsigned)status, r);

	MHD_destroy_response(r);
	return rc;
}

static enum MHD_Result
stream_reply(struct MHD_Connection *c, const char *const *p, int then_hang)
{
	static const char *const none[] = {NULL};
	struct stream *s = calloc(1, sizeof(*s));
	struct MHD_Response *r;
	enum MHD_Result rc;

	s->p = p ? p : none;
	s->then_hang = then_hang;
	r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 1024, stream_cb, s, free);
	rc = MHD_queue_response(c, 200, r);
	MHD_destroy_response(r);
	return rc;
}

static const char *const one_piece[] = {"x", NULL};

/* /hello, /big (100 kB), /lines, /longline, /hang (no answer), /trickle
 * (one byte, then nothing), /echo (method, X-Test header and body). */
static enum MHD_Result
handler(void *cls, struct MHD_Connection *c, const char *url, const char *method, const char *version,
        const char *upload, size_t *upload_len, void **con_cls)
{
	char *got = *con_cls, out[512];
	const char *hdr;

	(void)cls;
	(void)version;
	if (!got) {
		*con_cls = calloc(1, 256);
		return MHD_YES;
	}
	if (*upload_len) {
		strncat(got, upload, *upload_len < 255 - strlen(got) ? *upload_len : 255 - strlen(got));
		*upload_len = 0;
		return MHD_YES;
	}
	if (strcmp(url, "/hello") == 0)
		return reply(c, 200, "hello");
	if (strcmp(url, "/big") == 0) {
		char *big = malloc(100000);
		enum MHD_Result rc;

		memset(big, 'b', 99999);
		big[99999] = '\0';
		rc = reply(c, 200, big);
		free(big);
		return rc;
	}
	if (strcmp(url, "/lines") == 0)
		return stream_reply(c, pieces, 0);
	if (strcmp(url, "/hang") == 0) {
		hang();
		return reply(c, 503, "late");
	}
	if (strcmp(url, "/trickle") == 0)
		return stream_reply(c, one_piece, 1);
	if (strcmp(url, "/echo") == 0) {
		hdr = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Test");
		snprintf(out, sizeof(out), "%s %s %s", method, hdr ? hdr : "-", got);
		return reply(c, 200, out);
	}
	return reply(c, 404, "no such thing");
}

static void
done_con(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode why)
{
	(void)cls;
	(void)c;
	(void)why;
	free(*con_cls);
	*con_cls = NULL;
}

static void
server_start(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0};

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	stopping = 0;
	srv = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL, handler,
	                       NULL, MHD_OPTION_SOCK_ADDR, &sa, MHD_OPTION_NOTIFY_COMPLETED, done_con, NULL,
	                       MHD_OPTION_END);
	ck_assert_ptr_nonnull(srv);
	snprintf(base, sizeof(base), "http://127.0.0.1:%u", MHD_get_daemon_info(srv, MHD_DAEMON_INFO_BIND_PORT)->port);
}

static void
server_stop(void)
{
	pthread_mutex_lock(&mu);
	stopping = 1;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
	MHD_stop_daemon(srv);
	srv = NULL;
}

/* ---- the client side ---- */

static struct ev_loop *loop;
static struct tp *tp;

static void
setup(void)
{
	server_start();
	loop = ev_loop_new(EVFLAG_AUTO);
	tp = tp_new(loop);
	ck_assert_ptr_nonnull(tp);
}

static void
teardown(void)
{
	tp_free(tp);
	ev_loop_destroy(loop);
	server_stop();
}

static void
deadline_cb(struct ev_loop *l, ev_timer *w, int revents)
{
	(void)l;
	(void)w;
	(void)revents;
}

/* Run the loop until *flag is non-zero or `secs` pass; returns *flag. */
static int
run_until(const int *flag, double secs)
{
	ev_timer tick;
	double end = ev_time() + secs;

	ev_timer_init(&tick, deadline_cb, 0.05, 0.05);
	ev_timer_start(loop, &tick);
	while (!*flag && ev_time() < end)
		ev_run(loop, EVRUN_ONCE);
	ev_timer_stop(loop, &tick);
	return *flag;
}

/* What one transfer saw. */
struct seen {
	int done;
	CURLcode rc;
	long status;
	char body[256];
	size_t len;
	char err[256];
	char lines[16][32];
	int nlines;
	int stop_after;           /* on_line returns 1 at this many lines */
	struct tp_xfer *abort_me; /* on_line aborts this at its first line */
	void *free_me;            /* and then frees this */
	double ended;
};

static void
seen_done(void *arg, const struct tp_result *res)
{
	struct seen *s = arg;

	ck_assert_int_eq(s->done, 0); /* exactly once */
	s->done = 1;
	s->rc = res->rc;
	s->status = res->status;
	s->ended = ev_time();
	snprintf(s->body, sizeof(s->body), "%.*s", (int)res->len, res->body);
	s->len = res->len;
	snprintf(s->err, sizeof(s->err), "%s", res->err);
	ck_assert_int_eq(res->body[res->len], '\0');
}

static int
seen_line(void *arg, const char *line, size_t len)
{
	struct seen *s = arg;

	ck_assert_int_lt(s->nlines, 16);
	ck_assert_ptr_null(memchr(line, '\n', len));
	snprintf(s->lines[s->nlines++], sizeof(s->lines[0]), "%.*s", (int)len, line);
	if (s->abort_me) {
		tp_abort(s->abort_me);
		free(s->free_me);
		s->abort_me = NULL;
		s->free_me = NULL;
	}
	return s->stop_after && s->nlines >= s->stop_after;
}

/* Start o at the server's path (o->url is set here). */
static struct tp_xfer *
start_at(const char *path, struct tp_opts *o)
{
	char url[128];
	struct tp_xfer *x;

	snprintf(url, sizeof(url), "%s%s", base, path);
	o->url = url;
	x = tp_start(tp, o);
	o->url = NULL;
	ck_assert_ptr_nonnull(x);
	return x;
}

/* Start o at path and wait (10 s at most) until s saw its end. */
static void
fetch(const char *path, struct tp_opts *o, struct seen *s)
{
	start_at(path, o);
	ck_assert(run_until(&s->done, 10));
}

static struct tp_xfer *
get(const char *path, struct seen *s, int lines)
{
	struct tp_opts o = {.done = seen_done, .arg = s, .on_line = lines ? seen_line : NULL};

	return start_at(path, &o);
}

/* ---- core ---- */

START_TEST(core_one_completion_each)
{
	struct seen s[24];
	int all = 0;

	memset(s, 0, sizeof(s));
	for (int i = 0; i < 24; i++)
		ck_assert_ptr_nonnull(get(i % 3 ? "/hello" : "/nothing", &s[i], 0));
	for (int i = 0; i < 24; i++) {
		ck_assert(run_until(&s[i].done, 10));
		ck_assert_int_eq(s[i].rc, CURLE_OK);
		ck_assert_int_eq(s[i].status, i % 3 ? 200 : 404);
		ck_assert_str_eq(s[i].body, i % 3 ? "hello" : "no such thing");
		ck_assert_str_eq(s[i].err, "");
	}
	/* A last transfer after them: none of the others calls back again
	 * (seen_done asserts once) in the meantime. */
	struct seen last = {0};
	get("/hello", &last, 0);
	all = run_until(&last.done, 10);
	ck_assert(all);
}
END_TEST

START_TEST(core_method_headers_body)
{
	struct seen s = {0}, d = {0};
	const char *hdrs[] = {"X-Test: yes", NULL};
	struct tp_opts o = {.body = "payload", .len = 7, .headers = hdrs, .done = seen_done, .arg = &s};

	start_at("/echo", &o);
	o = (struct tp_opts){.method = "DELETE", .done = seen_done, .arg = &d};
	start_at("/echo", &o);
	ck_assert(run_until(&s.done, 10));
	ck_assert(run_until(&d.done, 10));
	ck_assert_str_eq(s.body, "POST yes payload");
	ck_assert_str_eq(d.body, "DELETE - ");
}
END_TEST

START_TEST(core_refused)
{
	struct seen s = {0};
	struct tp_opts o = {.url = "http://127.0.0.1:1/", .done = seen_done, .arg = &s};

	ck_assert_ptr_nonnull(tp_start(tp, &o));
	ck_assert(run_until(&s.done, 10));
	ck_assert_int_eq(s.rc, CURLE_COULDNT_CONNECT);
	ck_assert_int_eq(s.status, 0);
	ck_assert_str_ne(s.err, "");
}
END_TEST

/* ---- abort ---- */

static void
never_done(void *arg, const struct tp_result *res)
{
	(void)arg;
	(void)res;
	ck_abort_msg("an aborted transfer called back");
}

static int
never_line(void *arg, const char *line, size_t len)
{
	(void)arg;
	(void)line;
	(void)len;
	ck_abort_msg("an aborted transfer handed out a line");
	return 0;
}

/* A transfer whose arg (*argp) is freed right after tp_abort: ASan sees
 * any later touch of it. */
static struct tp_xfer *
doomed(const char *path, int lines, void **argp)
{
	int *arg = *argp = malloc(sizeof(int));
	struct tp_opts o = {.done = never_done, .on_line = lines ? never_line : NULL, .arg = arg};

	return start_at(path, &o);
}

START_TEST(abort_at_once)
{
	struct seen s = {0};
	void *arg;
	struct tp_xfer *x = doomed("/hello", 0, &arg);

	tp_abort(x);
	free(arg);
	tp_abort(NULL);
	get("/hello", &s, 0);
	ck_assert(run_until(&s.done, 10));
	ck_assert_int_eq(s.status, 200);
}
END_TEST

struct aborter {
	struct seen s;
	struct tp_xfer *victim;
	void *victim_arg;
};

static void
abort_in_done(void *arg, const struct tp_result *res)
{
	struct aborter *a = arg;

	tp_abort(a->victim);
	free(a->victim_arg);
	seen_done(&a->s, res);
}

START_TEST(abort_from_another_done)
{
	struct aborter a = {0};
	struct tp_opts o = {.done = abort_in_done, .arg = &a};
	struct seen after = {0};

	a.victim = doomed("/hang", 0, &a.victim_arg);
	start_at("/hello", &o);
	ck_assert(run_until(&a.s.done, 10));
	get("/hello", &after, 0);
	ck_assert(run_until(&after.done, 10));
}
END_TEST

START_TEST(abort_inside_lines)
{
	/* Its own line callback aborts a stream, and another stream from
	 * the line callback of a third. */
	struct seen self = {0}, other = {0}, after = {0};
	struct tp_xfer *x = get("/lines", &self, 1);

	self.abort_me = x;
	other.abort_me = doomed("/trickle", 1, &other.free_me);
	get("/lines", &other, 1);
	ck_assert(run_until(&other.done, 10));
	ck_assert_int_eq(other.rc, CURLE_OK);
	ck_assert_int_eq(other.nlines, 4);
	/* self: one line, then nothing at all */
	get("/hello", &after, 0);
	ck_assert(run_until(&after.done, 10));
	ck_assert_int_eq(self.done, 0);
	ck_assert_int_eq(self.nlines, 1);
}
END_TEST

/* ---- nesting ---- */

struct chain {
	struct seen s[3];
	int n;
};

static void chain_done(void *arg, const struct tp_result *res);

static void
chain_next(struct chain *c)
{
	struct tp_opts o = {.done = chain_done, .arg = c};

	start_at("/hello", &o);
}

static void
chain_done(void *arg, const struct tp_result *res)
{
	struct chain *c = arg;

	seen_done(&c->s[c->n++], res);
	if (c->n < 3)
		chain_next(c);
}

START_TEST(nest_start_from_done)
{
	struct chain c;

	memset(&c, 0, sizeof(c));
	chain_next(&c);
	ck_assert(run_until(&c.s[2].done, 10));
	for (int i = 0; i < 3; i++)
		ck_assert_str_eq(c.s[i].body, "hello");
}
END_TEST

static struct seen inner;

static int
start_in_line(void *arg, const char *line, size_t len)
{
	if (((struct seen *)arg)->nlines == 0)
		ck_assert_ptr_nonnull(get("/hello", &inner, 0));
	return seen_line(arg, line, len);
}

START_TEST(nest_start_from_line)
{
	struct seen s = {0};
	struct tp_opts o = {.on_line = start_in_line, .done = seen_done, .arg = &s};

	memset(&inner, 0, sizeof(inner));
	start_at("/lines", &o);
	ck_assert(run_until(&inner.done, 10));
	ck_assert_str_eq(inner.body, "hello");
	ck_assert(run_until(&s.done, 10));
	ck_assert_int_eq(s.nlines, 4);
}
END_TEST

/* ---- limits ---- */

START_TEST(limit_body)
{
	struct seen s = {0}, ok = {0};
	struct tp_opts o = {.max_body = 1000, .done = seen_done, .arg = &s};

	start_at("/big", &o);
	o.max_body = 100000;
	o.arg = &ok;
	fetch("/big", &o, &s);
	ck_assert_int_eq(s.rc, CURLE_FILESIZE_EXCEEDED);
	ck_assert_str_eq(s.err, "the response is larger than 1000 bytes");
	ck_assert_str_eq(s.body, "");
	ck_assert(run_until(&ok.done, 10));
	ck_assert_int_eq(ok.rc, CURLE_OK);
	ck_assert_int_eq(ok.len, 99999);
}
END_TEST

START_TEST(limit_line)
{
	struct seen s = {0};
	struct tp_opts o = {.max_body = 1000, .on_line = seen_line, .done = seen_done, .arg = &s};

	fetch("/big", &o, &s);
	ck_assert_int_eq(s.rc, CURLE_FILESIZE_EXCEEDED);
	ck_assert_str_eq(s.err, "a line of the response is longer than 1000 bytes");
	ck_assert_int_eq(s.nlines, 0);
}
END_TEST

/* ---- lines ---- */

START_TEST(lines_across_chunks)
{
	struct seen s = {0};
	struct tp_opts o = {.on_line = seen_line, .done = seen_done, .arg = &s};

	fetch("/lines", &o, &s);
	ck_assert_int_eq(s.rc, CURLE_OK);
	ck_assert_int_eq(s.status, 200);
	ck_assert_str_eq(s.body, "");
	/* whole lines only, the empty one skipped, the unfinished "tail" kept back */
	ck_assert_int_eq(s.nlines, 4);
	ck_assert_str_eq(s.lines[0], "abc");
	ck_assert_str_eq(s.lines[1], "def");
	ck_assert_str_eq(s.lines[2], "ghi");
	ck_assert_str_eq(s.lines[3], "jkl");
}
END_TEST

START_TEST(lines_stop)
{
	struct seen s = {.stop_after = 2};
	struct tp_opts o = {.on_line = seen_line, .done = seen_done, .arg = &s};

	fetch("/lines", &o, &s);
	ck_assert_int_eq(s.rc, CURLE_OK);
	ck_assert_str_eq(s.err, "");
	ck_assert_int_eq(s.nlines, 2);
}
END_TEST

/* ---- timeouts ---- */

START_TEST(timeout_total)
{
	struct seen s = {0};
	struct tp_opts o = {.timeout_ms = 300, .done = seen_done, .arg = &s};
	double t0 = ev_time();

	fetch("/hang", &o, &s);
	ck_assert_int_eq(s.rc, CURLE_OPERATION_TIMEDOUT);
	ck_assert_double_ge(s.ended - t0, 0.25);
	ck_assert_double_lt(s.ended - t0, 5.0);
}
END_TEST

START_TEST(timeout_idle)
{
	struct seen s = {0}, quiet = {0};
	struct tp_opts o = {.idle_s = 1, .on_line = seen_line, .done = seen_done, .arg = &s};
	double t0 = ev_time();

	start_at("/trickle", &o);
	/* The same stream without an idle bound stays up. */
	o.idle_s = 0;
	o.arg = &quiet;
	start_at("/trickle", &o);
	ck_assert(run_until(&s.done, 10));
	ck_assert_int_eq(s.rc, CURLE_OPERATION_TIMEDOUT);
	ck_assert_double_ge(s.ended - t0, 0.9);
	ck_assert_double_lt(s.ended - t0, 5.0);
	ck_assert_int_eq(quiet.done, 0);
}
END_TEST

static Suite *
transport_suite(void)
{
	Suite *s = suite_create("transport");
	TCase *core = tcase_create("core"), *ab = tcase_create("abort"), *nest = tcase_create("nesting");
	TCase *lim = tcase_create("limits"), *lines = tcase_create("lines"), *to = tcase_create("timeouts");
	TCase *all[] = {core, ab, nest, lim, lines, to};

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		tcase_add_checked_fixture(all[i], setup, teardown);
		tcase_set_timeout(all[i], 30);
		suite_add_tcase(s, all[i]);
	}
	tcase_add_test(core, core_one_completion_each);
	tcase_add_test(core, core_method_headers_body);
	tcase_add_test(core, core_refused);
	tcase_add_test(ab, abort_at_once);
	tcase_add_test(ab, abort_from_another_done);
	tcase_add_test(ab, abort_inside_lines);
	tcase_add_test(nest, nest_start_from_done);
	tcase_add_test(nest, nest_start_from_line);
	tcase_add_test(lim, limit_body);
	tcase_add_test(lim, limit_line);
	tcase_add_test(lines, lines_across_chunks);
	tcase_add_test(lines, lines_stop);
	tcase_add_test(to, timeout_total);
	tcase_add_test(to, timeout_idle);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(transport_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
