/*
 * curl_ev.c: the glue between curl's multi-socket API and libev
 * (curl_ev.h). Timeouts of 0 fire on the next loop turn; milliseconds are
 * divided as doubles, so sub-second timeouts stay sub-second.
 */
#include <stddef.h>
#include <stdlib.h>

#include "curl_ev.h"

struct curl_ev_sock {
	ev_io io;
	curl_socket_t fd;
	struct curl_ev *ce;
};

static void
action(struct curl_ev *ce, curl_socket_t fd, int mask)
{
	int running;

	ce->in_curl++;
	curl_multi_socket_action(ce->multi, fd, mask, &running);
	ce->in_curl--;
	ce->done(ce);
}

static void
io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct curl_ev_sock *s = (struct curl_ev_sock *)w;

	(void)loop;
	action(s->ce, s->fd, (revents & EV_READ ? CURL_CSELECT_IN : 0) | (revents & EV_WRITE ? CURL_CSELECT_OUT : 0));
}

static void
timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	action((struct curl_ev *)((char *)w - offsetof(struct curl_ev, timer)), CURL_SOCKET_TIMEOUT, 0);
}

/* CURLMOPT_TIMERFUNCTION: -1 stops the timer, 0 fires on the next loop turn. */
static int
multi_timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	struct curl_ev *ce = userp;

	(void)multi;
	ev_timer_stop(ce->loop, &ce->timer);
	if (timeout_ms >= 0) {
		ev_timer_set(&ce->timer, (double)timeout_ms / 1000.0, 0.0);
		ev_timer_start(ce->loop, &ce->timer);
	}
	return 0;
}

/* CURLMOPT_SOCKETFUNCTION: keep one ev_io per socket in step with curl. */
static int
multi_sock_cb(CURL *easy, curl_socket_t fd, int what, void *userp, void *sockp)
{
	struct curl_ev *ce = userp;
	struct curl_ev_sock *s = sockp;
	int events;

	(void)easy;
	if (what == CURL_POLL_REMOVE) {
		if (s) {
			ev_io_stop(ce->loop, &s->io);
			free(s);
			curl_multi_assign(ce->multi, fd, NULL);
		}
		return 0;
	}
	events = (what & CURL_POLL_IN ? EV_READ : 0) | (what & CURL_POLL_OUT ? EV_WRITE : 0);
	if (!s) {
		if (!(s = calloc(1, sizeof(*s))))
			return -1;
		s->fd = fd;
		s->ce = ce;
		ev_io_init(&s->io, io_cb, fd, events);
		curl_multi_assign(ce->multi, fd, s);
	} else {
		ev_io_stop(ce->loop, &s->io);
		ev_io_set(&s->io, fd, events);
	}
	ev_io_start(ce->loop, &s->io);
	return 0;
}

int
curl_ev_init(struct curl_ev *ce, struct ev_loop *loop, void (*done)(struct curl_ev *ce))
{
	ce->loop = loop;
	ce->done = done;
	ce->in_curl = 0;
	if (!(ce->multi = curl_multi_init()))
		return -1;
	curl_multi_setopt(ce->multi, CURLMOPT_SOCKETFUNCTION, multi_sock_cb);
	curl_multi_setopt(ce->multi, CURLMOPT_SOCKETDATA, ce);
	curl_multi_setopt(ce->multi, CURLMOPT_TIMERFUNCTION, multi_timer_cb);
	curl_multi_setopt(ce->multi, CURLMOPT_TIMERDATA, ce);
	ev_timer_init(&ce->timer, timer_cb, 0.0, 0.0);
	return 0;
}

void
curl_ev_cleanup(struct curl_ev *ce)
{
	if (!ce->multi)
		return;
	ev_timer_stop(ce->loop, &ce->timer);
	curl_multi_cleanup(ce->multi);
	ce->multi = NULL;
}
