/*
 * tp_loop.c: curl's multi-socket API on libev, and the life of a transfer
 * (tp.h). One ev_timer for curl's timeouts (0 fires on the next loop turn;
 * milliseconds are divided as doubles, so sub-second timeouts stay
 * sub-second), one ev_io per socket curl asks about.
 *
 * curl refuses re-entrant calls, so a transfer started or aborted inside a
 * curl callback goes on the pending list, which a zero timer runs. A
 * finished transfer is reported in one place, finish(), after its handle
 * went back to the pool. It does not build requests (tp_xfer.c does).
 */
#include <stdlib.h>
#include <string.h>

#include "tp_internal.h"

#define TP_POOL 64 /* idle transfers kept with their easy handles */

struct tp_sock {
	ev_io io;
	curl_socket_t fd;
	struct tp *t;
};

static void check_multi_info(struct tp *t);

static void
action(struct tp *t, curl_socket_t fd, int mask)
{
	int running;

	t->in_curl++;
	curl_multi_socket_action(t->multi, fd, mask, &running);
	t->in_curl--;
	check_multi_info(t);
}

static void
io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct tp_sock *s = (struct tp_sock *)w;

	(void)loop;
	action(s->t, s->fd, (revents & EV_READ ? CURL_CSELECT_IN : 0) | (revents & EV_WRITE ? CURL_CSELECT_OUT : 0));
}

static void
timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	action((struct tp *)((char *)w - offsetof(struct tp, timer)), CURL_SOCKET_TIMEOUT, 0);
}

/* CURLMOPT_TIMERFUNCTION: -1 stops the timer, 0 fires on the next loop turn. */
static int
multi_timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	struct tp *t = userp;

	(void)multi;
	ev_timer_stop(t->loop, &t->timer);
	if (timeout_ms >= 0) {
		ev_timer_set(&t->timer, (double)timeout_ms / 1000.0, 0.0);
		ev_timer_start(t->loop, &t->timer);
	}
	return 0;
}

/* CURLMOPT_SOCKETFUNCTION: keep one ev_io per socket in step with curl. */
static int
multi_sock_cb(CURL *easy, curl_socket_t fd, int what, void *userp, void *sockp)
{
	struct tp *t = userp;
	struct tp_sock *s = sockp;
	int events;

	(void)easy;
	if (what == CURL_POLL_REMOVE) {
		if (s) {
			ev_io_stop(t->loop, &s->io);
			free(s);
			curl_multi_assign(t->multi, fd, NULL);
		}
		return 0;
	}
	events = (what & CURL_POLL_IN ? EV_READ : 0) | (what & CURL_POLL_OUT ? EV_WRITE : 0);
	if (!s) {
		if (!(s = calloc(1, sizeof(*s))))
			return -1;
		s->fd = fd;
		s->t = t;
		ev_io_init(&s->io, io_cb, fd, events);
		curl_multi_assign(t->multi, fd, s);
	} else {
		ev_io_stop(t->loop, &s->io);
		ev_io_set(&s->io, fd, events);
	}
	ev_io_start(t->loop, &s->io);
	return 0;
}

static void
live_unlink(struct tp *t, struct tp_xfer *x)
{
	if (x->prev_live)
		x->prev_live->next_live = x->next_live;
	else if (t->live == x)
		t->live = x->next_live;
	if (x->next_live)
		x->next_live->prev_live = x->prev_live;
	x->next_live = x->prev_live = NULL;
}

static void
pending_unlink(struct tp *t, struct tp_xfer *x)
{
	struct tp_xfer **pp;

	for (pp = &t->pending; *pp; pp = &(*pp)->next) {
		if (*pp == x) {
			*pp = x->next;
			break;
		}
	}
	x->next = NULL;
}

static void
pending_push(struct tp *t, struct tp_xfer *x)
{
	struct tp_xfer **pp;

	for (pp = &t->pending; *pp; pp = &(*pp)->next)
		;
	*pp = x;
	x->next = NULL;
	if (!ev_is_active(&t->flush)) {
		ev_timer_set(&t->flush, 0.0, 0.0);
		ev_timer_start(t->loop, &t->flush);
	}
}

/* Take x out of curl (if it is there) and back to the pool. */
static void
recycle(struct tp *t, struct tp_xfer *x)
{
	CURL *easy = x->easy;

	if (x->state == TP_RUNNING || x->state == TP_ABORTING)
		curl_multi_remove_handle(t->multi, x->easy);
	live_unlink(t, x);
	curl_slist_free_all(x->hdrs);
	free(x->buf);
	if (t->npool >= TP_POOL) {
		curl_easy_cleanup(easy);
		free(x);
		return;
	}
	curl_easy_reset(easy);
	memset(x, 0, sizeof(*x));
	x->t = t;
	x->easy = easy;
	x->next = t->pool;
	t->pool = x;
	t->npool++;
}

/* The one completion point: report x's end to its owner, then forget it. */
static void
finish(struct tp *t, struct tp_xfer *x, CURLcode rc)
{
	struct tp_result res = {.rc = rc, .body = "", .err = ""};
	tp_done_fn done = x->done;
	void *arg = x->arg;
	curl_off_t sent = 0;
	char msg[CURL_ERROR_SIZE + 64];
	char *body = NULL;

	if (x->state == TP_ABORTING) {
		pending_unlink(t, x);
		recycle(t, x);
		return;
	}
	curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &res.status);
	curl_easy_getinfo(x->easy, CURLINFO_REQUEST_SIZE, &sent);
	res.sent = sent > 0;
	if (x->too_big) {
		res.rc = CURLE_FILESIZE_EXCEEDED;
		snprintf(msg, sizeof(msg),
		         x->on_line ? "a line of the response is longer than %zu bytes"
		                    : "the response is larger than %zu bytes",
		         x->max);
		res.err = msg;
	} else if (x->stopped && rc == CURLE_WRITE_ERROR) {
		res.rc = CURLE_OK;
	} else if (rc != CURLE_OK) {
		snprintf(msg, sizeof(msg), "%s", x->errbuf[0] ? x->errbuf : curl_easy_strerror(rc));
		res.err = msg;
	}
	if (!x->on_line && x->buf) {
		res.body = body = x->buf;
		res.len = x->len;
		x->buf = NULL;
	}
	recycle(t, x);
	done(arg, &res);
	free(body);
}

static void
check_multi_info(struct tp *t)
{
	CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(t->multi, &left))) {
		struct tp_xfer *x = NULL;

		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&x);
		finish(t, x, m->data.result);
	}
}

/* Run the pending list: add what was started inside curl, remove what was
 * aborted there. Outside curl, so a failed add may call back. */
static void
flush_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct tp *t = (struct tp *)((char *)w - offsetof(struct tp, flush));

	(void)loop;
	(void)revents;
	while (t->pending) {
		struct tp_xfer *x = t->pending;

		t->pending = x->next;
		x->next = NULL;
		if (x->state == TP_ABORTING) {
			recycle(t, x);
		} else if (curl_multi_add_handle(t->multi, x->easy) == CURLM_OK) {
			x->state = TP_RUNNING;
		} else {
			snprintf(x->errbuf, sizeof(x->errbuf), "curl_multi_add_handle failed");
			finish(t, x, CURLE_FAILED_INIT);
		}
	}
}

struct tp *
tp_new(struct ev_loop *loop)
{
	static int curl_ready;
	struct tp *t;

	if (!curl_ready) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
			return NULL;
		curl_ready = 1;
	}
	if (!(t = calloc(1, sizeof(*t))))
		return NULL;
	t->loop = loop;
	if (!(t->multi = curl_multi_init())) {
		free(t);
		return NULL;
	}
	curl_multi_setopt(t->multi, CURLMOPT_SOCKETFUNCTION, multi_sock_cb);
	curl_multi_setopt(t->multi, CURLMOPT_SOCKETDATA, t);
	curl_multi_setopt(t->multi, CURLMOPT_TIMERFUNCTION, multi_timer_cb);
	curl_multi_setopt(t->multi, CURLMOPT_TIMERDATA, t);
	/* Keep enough idle connections for a burst of 64 concurrent calls. */
	curl_multi_setopt(t->multi, CURLMOPT_MAXCONNECTS, 128L);
	ev_timer_init(&t->timer, timer_cb, 0.0, 0.0);
	ev_timer_init(&t->flush, flush_cb, 0.0, 0.0);
	return t;
}

/* Free the idle transfers kept for reuse, with their curl handles. */
static void
pool_free(struct tp *t)
{
	while (t->pool) {
		struct tp_xfer *x = t->pool;

		t->pool = x->next;
		t->npool--;
		curl_easy_cleanup(x->easy);
		free(x);
	}
}

void
tp_free(struct tp *t)
{
	if (!t)
		return;
	while (t->live) {
		struct tp_xfer *x = t->live;

		if (x->state == TP_RUNNING || x->state == TP_ABORTING)
			curl_multi_remove_handle(t->multi, x->easy);
		live_unlink(t, x);
		curl_slist_free_all(x->hdrs);
		curl_easy_cleanup(x->easy);
		free(x->buf);
		free(x);
	}
	pool_free(t);
	ev_timer_stop(t->loop, &t->timer);
	ev_timer_stop(t->loop, &t->flush);
	curl_multi_cleanup(t->multi);
	free(t);
}

void
tp_kick(struct tp *t)
{
	int running;

	if (!t || t->in_curl)
		return;
	t->in_curl++;
	curl_multi_socket_action(t->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	t->in_curl--;
	/* what finished meanwhile is read by the next action, soon */
	ev_timer_stop(t->loop, &t->timer);
	ev_timer_set(&t->timer, 0.0, 0.0);
	ev_timer_start(t->loop, &t->timer);
}

void
tp_trim(struct tp *t)
{
	if (t && !t->in_curl)
		pool_free(t);
}

static struct tp_xfer *
pool_get(struct tp *t)
{
	struct tp_xfer *x = t->pool;

	if (x) {
		t->pool = x->next;
		t->npool--;
		x->next = NULL;
		return x;
	}
	if (!(x = calloc(1, sizeof(*x))))
		return NULL;
	x->t = t;
	if (!(x->easy = curl_easy_init())) {
		free(x);
		return NULL;
	}
	return x;
}

struct tp_xfer *
tp_start(struct tp *t, const struct tp_opts *o)
{
	struct tp_xfer *x = pool_get(t);

	if (!x)
		return NULL;
	x->next_live = t->live;
	if (t->live)
		t->live->prev_live = x;
	t->live = x;
	if (tp_xfer_setup(x, o) < 0) {
		recycle(t, x);
		return NULL;
	}
	if (t->in_curl) {
		x->state = TP_ADDING;
		pending_push(t, x);
	} else if (curl_multi_add_handle(t->multi, x->easy) == CURLM_OK) {
		x->state = TP_RUNNING;
	} else {
		recycle(t, x);
		return NULL;
	}
	return x;
}

void
tp_abort(struct tp_xfer *x)
{
	struct tp *t;

	if (!x || x->state == TP_ABORTING || x->state == TP_IDLE)
		return;
	t = x->t;
	x->done = NULL;
	x->on_line = NULL;
	x->arg = NULL;
	if (x->state == TP_ADDING) {
		pending_unlink(t, x);
		x->state = TP_IDLE;
		recycle(t, x);
	} else if (t->in_curl) {
		x->state = TP_ABORTING;
		pending_push(t, x);
	} else {
		recycle(t, x);
	}
}
