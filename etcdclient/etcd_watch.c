/*
 * etcd_watch.c: watches, one streaming HTTP request each (the gateway does
 * not multiplex). The reply is one JSON object per line; lines are
 * buffered until whole, fragments are merged, and events are handed out in
 * order. After any break (connection lost, member gone, stream error) the
 * watch reconnects, failing over to the next endpoint, and resumes at the
 * revision after the last event it delivered, dropping anything older, so
 * no event is lost or delivered twice. Compaction of the resume revision is
 * terminal: the caller must list again.
 *
 * Memory: a watch is freed in one place, watch_free(), reached only once
 * its transfer has ended or been aborted (the transport then touches it no
 * more) and no callback of it is on the stack. A stream the watch breaks
 * itself (a bad line, a token to renew) is aborted, and the zero timer
 * `ended` then does what the end of the stream does: reconnect.
 */
#include <stdlib.h>
#include <string.h>

#include "etcd_internal.h"

struct etcd_watch {
	struct etcd_client *c;
	struct tp_xfer *x; /* the stream, NULL when none runs */
	struct etcd_auth_waiter aw;
	char *body;
	size_t body_len;
	char *key;
	json_t *range_end; /* base64 string or NULL */
	struct etcd_watch_opts o;
	int64_t next_rev; /* 0 = from now, until created */
	etcd_watch_cb cb;
	void *arg;
	struct etcd_event *frag; /* events of fragments not yet complete */
	size_t nfrag;
	struct etcd_error broke; /* why the stream is being torn down */
	int have_broke, auth_retry;
	char *token_used;
	int ep, failures;
	int canceled, stopped, in_cb;
	ev_timer retry;
	ev_timer ended; /* the stream was broken on purpose: reconnect */
	struct etcd_watch *next, *prev;
};

static void connect_stream(struct etcd_watch *w);

static void
watch_free(struct etcd_watch *w)
{
	struct etcd_client *c = w->c;

	ev_timer_stop(c->loop, &w->retry);
	ev_timer_stop(c->loop, &w->ended);
	etcd_auth_unqueue(c, &w->aw);
	if (w->prev)
		w->prev->next = w->next;
	else if (c->watches == w)
		c->watches = w->next;
	if (w->next)
		w->next->prev = w->prev;
	etcd_events_free(w->frag, w->nfrag);
	json_decref(w->range_end);
	free(w->body);
	free(w->key);
	free(w->token_used);
	free(w);
}

static void
maybe_free(struct etcd_watch *w)
{
	if (w->canceled && !w->in_cb && !w->x)
		watch_free(w);
}

/* Hand m to the caller. Returns 0 when the caller canceled the watch. */
static int
deliver(struct etcd_watch *w, struct etcd_watch_msg *m)
{
	if (w->canceled)
		return 0;
	w->in_cb++;
	w->cb(w, m, w->arg);
	w->in_cb--;
	return !w->canceled;
}

static void
deliver_error(struct etcd_watch *w, enum etcd_watch_kind kind, const struct etcd_error *err)
{
	struct etcd_watch_msg m = {.kind = kind, .err = err};

	deliver(w, &m);
}

static void
abort_stream(struct etcd_watch *w)
{
	tp_abort(w->x);
	w->x = NULL;
}

/* Stop the stream for good with err (ETCD_WATCH_ERROR). */
static void
stop(struct etcd_watch *w, const struct etcd_error *err, int64_t compact_rev)
{
	struct etcd_watch_msg m = {.kind = ETCD_WATCH_ERROR, .err = err, .compact_revision = compact_rev};

	w->stopped = 1;
	abort_stream(w);
	deliver(w, &m);
}

/* Tear the stream down; the `ended` timer reconnects with the reason
 * given here. */
static void
broke(struct etcd_watch *w, enum etcd_code code, const char *fmt, const char *detail)
{
	if (!w->have_broke) {
		etcd_seterr(&w->broke, code, fmt, detail);
		w->have_broke = 1;
	}
	if (w->x) {
		abort_stream(w);
		ev_timer_set(&w->ended, 0.0, 0.0);
		ev_timer_start(w->c->loop, &w->ended);
	}
}

/* Append the events of one response to w->frag. */
static int
collect_events(struct etcd_watch *w, json_t *arr)
{
	size_t n = json_array_size(arr), i;
	struct etcd_event *ev;

	if (arr && !json_is_array(arr))
		return -1;
	if (n == 0)
		return 0;
	if (!(ev = realloc(w->frag, (w->nfrag + n) * sizeof(*ev))))
		return -1;
	w->frag = ev;
	for (i = 0; i < n; i++) {
		if (etcd_parse_event(json_array_get(arr, i), &w->frag[w->nfrag]) < 0)
			return -1;
		w->nfrag++;
	}
	return 0;
}

/* Deliver the merged events, minus any at or before what was already
 * delivered (a resumed stream never repeats, but be sure). */
static int
deliver_events(struct etcd_watch *w, int64_t rev)
{
	struct etcd_event *ev = w->frag;
	size_t n = w->nfrag, skip = 0;
	struct etcd_watch_msg m = {.kind = ETCD_WATCH_EVENTS, .revision = rev};
	int alive = 1;

	w->frag = NULL;
	w->nfrag = 0;
	while (skip < n && ev[skip].kv.mod_revision < w->next_rev)
		skip++;
	if (skip < n) {
		m.events = ev + skip;
		m.nevents = n - skip;
		w->next_rev = ev[n - 1].kv.mod_revision + 1;
		w->c->stats.watch_events += m.nevents;
		alive = deliver(w, &m);
	}
	etcd_events_free(ev, n);
	return alive;
}

static void
handle_canceled(struct etcd_watch *w, json_t *res, int64_t compact)
{
	json_t *reason = json_object_get(res, "cancel_reason");
	const char *why = json_is_string(reason) ? json_string_value(reason) : "";
	struct etcd_error err = {0};
	enum etcd_code code;

	if (compact > 0) {
		etcd_seterr(&err, ETCD_ECOMPACTED,
		            "watch of %s from revision %lld: history up to %lld has been compacted; list again", w->key,
		            (long long)w->next_rev, (long long)compact);
		stop(w, &err, compact);
		return;
	}
	if (etcd_auth_token_error(0, why) && w->c->user) {
		etcd_auth_invalidate(w->c, w->token_used);
		w->auth_retry = 1;
		broke(w, ETCD_EAUTH, "watch token rejected: %s", why);
		return;
	}
	code = etcd_classify(2, why);
	if (code == ETCD_EPERM || code == ETCD_EINVAL || code == ETCD_EAUTH) {
		etcd_seterr(&err, code, "watch of %s refused by etcd: %s", w->key, why);
		stop(w, &err, 0);
		return;
	}
	broke(w, ETCD_EUNAVAIL, "watch canceled by etcd: %s", *why ? why : "no reason given");
}

/* One line of the stream. */
static void
handle_line(struct etcd_watch *w, const char *p, size_t n)
{
	json_t *root = json_loadb(p, n, 0, NULL), *res;
	struct etcd_result hdr = {0};
	int created = 0, canceled = 0, fragment = 0;
	int64_t compact = 0;

	if (!root || !json_is_object(root)) {
		json_decref(root);
		broke(w, ETCD_EBADRESP, "watch stream sent %s", "a line that is not a JSON object");
		return;
	}
	if (json_is_object(json_object_get(root, "error"))) {
		int grpc;
		const char *msg;

		etcd_parse_error_body(root, &grpc, &msg);
		if (etcd_auth_token_error(grpc, msg) && w->c->user) {
			etcd_auth_invalidate(w->c, w->token_used);
			w->auth_retry = 1;
		} else if (grpc == 7 || grpc == 3) {
			/* Permission denied, invalid argument: retrying cannot help. */
			struct etcd_error err = {0};

			err.grpc_code = grpc;
			etcd_seterr(&err, grpc == 7 ? ETCD_EPERM : ETCD_EINVAL, "watch of %s refused by etcd: %s",
			            w->key, msg);
			stop(w, &err, 0);
			json_decref(root);
			return;
		}
		broke(w, ETCD_EUNAVAIL, "watch stream ended by etcd: %s", msg);
		json_decref(root);
		return;
	}
	res = json_object_get(root, "result");
	if (!json_is_object(res) || etcd_parse_header(res, &hdr) < 0 ||
	    etcd_json_get_bool(res, "created", &created) < 0 || etcd_json_get_bool(res, "canceled", &canceled) < 0 ||
	    etcd_json_get_bool(res, "fragment", &fragment) < 0 ||
	    etcd_json_get_i64(res, "compact_revision", &compact) < 0) {
		json_decref(root);
		broke(w, ETCD_EBADRESP, "watch stream sent %s", "a malformed response");
		return;
	}
	if (canceled) {
		handle_canceled(w, res, compact);
	} else if (collect_events(w, json_object_get(res, "events")) < 0) {
		broke(w, ETCD_EBADRESP, "watch stream sent %s", "a malformed event");
	} else if (created) {
		struct etcd_watch_msg m = {.kind = ETCD_WATCH_CREATED, .revision = hdr.revision};

		if (w->next_rev == 0)
			w->next_rev = hdr.revision + 1;
		w->failures = 0;
		deliver(w, &m);
	} else if (w->nfrag > 0) {
		if (!fragment)
			deliver_events(w, hdr.revision);
	} else if (hdr.revision > 0) {
		struct etcd_watch_msg m = {.kind = ETCD_WATCH_PROGRESS, .revision = hdr.revision};

		if (hdr.revision + 1 > w->next_rev)
			w->next_rev = hdr.revision + 1;
		deliver(w, &m);
	}
	json_decref(root);
}

/* One line of the stream (the transport's line callback). */
static int
on_line(void *arg, const char *p, size_t n)
{
	struct etcd_watch *w = arg;

	w->in_cb++;
	if (!w->canceled && !w->stopped)
		handle_line(w, p, n);
	w->in_cb--;
	maybe_free(w);
	return 0;
}

static void
retry_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)loop;
	(void)revents;
	connect_stream(ETCD_CONTAINER_OF(t, struct etcd_watch, retry));
}

/* The stream is gone and the watch is not: say so, then reconnect. */
static void
reconnect(struct etcd_watch *w, struct etcd_error *err)
{
	struct etcd_client *c = w->c;
	double delay;

	c->stats.watch_restarts++;
	etcd_events_free(w->frag, w->nfrag);
	w->frag = NULL;
	w->nfrag = 0;
	if (w->auth_retry) {
		w->auth_retry = 0;
		connect_stream(w);
		return;
	}
	deliver_error(w, ETCD_WATCH_RETRYING, err);
	if (w->canceled)
		return;
	w->failures++;
	etcd_client_failover(c, w->ep);
	delay = (w->failures == 1 && c->neps > 1) ? 0.0 : etcd_backoff(w->failures - 1, 0.05, 2.0);
	ev_timer_set(&w->retry, delay, 0.0);
	ev_timer_start(c->loop, &w->retry);
}

/* The stream is over: why, and what next. rc and msg are the transport's
 * (CURLE_OK when the stream was broken on purpose or ended cleanly). */
static void
stream_over(struct etcd_watch *w, CURLcode rc, long status, const char *msg)
{
	struct etcd_error err = {0};

	if (w->canceled || w->stopped || w->c->freeing) {
		maybe_free(w);
		return;
	}
	if (w->have_broke) {
		err = w->broke;
		w->have_broke = 0;
	} else if (rc == CURLE_FILESIZE_EXCEEDED) {
		/* etcd splits big responses into fragments, so a line this long
		 * is not etcd's: resuming would only meet it again. */
		etcd_seterr(&err, ETCD_ETOOLARGE, "watch of %s: a response line is over %zu bytes", w->key,
		            w->c->max_response);
		stop(w, &err, 0);
		maybe_free(w);
		return;
	} else if (rc != CURLE_OK) {
		etcd_seterr(&err, ETCD_ECONN, "watch stream to %s broke: %s", w->c->eps[w->ep].url, msg);
	} else {
		etcd_seterr(&err, ETCD_EUNAVAIL, "watch stream to %s ended (HTTP %ld)", w->c->eps[w->ep].url, status);
		err.http_status = status;
	}
	snprintf(err.endpoint, sizeof(err.endpoint), "%s", w->c->eps[w->ep].url);
	reconnect(w, &err);
	maybe_free(w);
}

static void
on_done(void *arg, const struct tp_result *res)
{
	struct etcd_watch *w = arg;

	w->x = NULL;
	stream_over(w, res->rc, res->status, res->err);
}

static void
ended_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)loop;
	(void)revents;
	stream_over(ETCD_CONTAINER_OF(t, struct etcd_watch, ended), CURLE_OK, 0, "");
}

static int
build_body(struct etcd_watch *w)
{
	json_t *cr = json_pack("{s:o, s:b, s:b}", "key", etcd_json_b64(w->key, strlen(w->key)), "prev_kv",
	                       w->o.prev_kv ? 1 : 0, "fragment", 1);
	json_t *filters = json_array(), *b;
	int bad = !cr || !filters;

	if (!bad && w->range_end)
		bad |= json_object_set(cr, "range_end", w->range_end);
	if (!bad && w->next_rev > 0)
		bad |= json_object_set_new(cr, "start_revision", etcd_json_i64(w->next_rev));
	if (!bad && w->o.progress_notify)
		bad |= json_object_set_new(cr, "progress_notify", json_true());
	if (!bad && w->o.no_put)
		bad |= json_array_append_new(filters, json_string("NOPUT"));
	if (!bad && w->o.no_delete)
		bad |= json_array_append_new(filters, json_string("NODELETE"));
	if (!bad && json_array_size(filters) > 0)
		bad |= json_object_set(cr, "filters", filters);
	json_decref(filters);
	if (bad) {
		json_decref(cr);
		return -1;
	}
	b = json_pack("{s:o}", "create_request", cr);
	free(w->body);
	w->body = b ? json_dumps(b, JSON_COMPACT) : NULL;
	json_decref(b);
	if (!w->body)
		return -1;
	w->body_len = strlen(w->body);
	return 0;
}

static void
auth_ready(struct etcd_auth_waiter *aw, const struct etcd_error *err)
{
	struct etcd_watch *w = ETCD_CONTAINER_OF(aw, struct etcd_watch, aw);

	if (err) {
		struct etcd_error e = *err;

		if (e.code == ETCD_EAUTH || e.code == ETCD_ECANCELED) {
			stop(w, &e, 0);
		} else {
			reconnect(w, &e);
		}
		maybe_free(w);
		return;
	}
	connect_stream(w);
}

static void
connect_stream(struct etcd_watch *w)
{
	struct etcd_client *c = w->c;
	struct etcd_error err = {0};
	char url[512];
	struct etcd_post p = {.url = url, .stream = 1, .on_line = on_line, .done = on_done, .arg = w};

	if (w->canceled || w->stopped)
		return;
	if (!etcd_auth_ready(c, &w->aw))
		return;
	free(w->token_used);
	w->token_used = c->token ? strdup(c->token) : NULL;
	if (build_body(w) < 0) {
		etcd_seterr(&err, ETCD_ENOMEM, "out of memory restarting the watch of %s", w->key);
		reconnect(w, &err);
		return;
	}
	w->ep = c->cur;
	w->have_broke = 0;
	snprintf(url, sizeof(url), "%s/v3/watch", c->eps[w->ep].url);
	p.body = w->body;
	p.len = w->body_len;
	p.token = w->token_used;
	if (!(w->x = etcd_http_post(c, &p, &err)))
		reconnect(w, &err);
}

struct etcd_watch *
etcd_watch_start(struct etcd_client *c, const char *key, const struct etcd_watch_opts *o, etcd_watch_cb cb, void *arg,
                 struct etcd_error *err)
{
	static const struct etcd_watch_opts none;
	struct etcd_watch *w;
	size_t elen;
	char *end;

	if (!key || !cb) {
		etcd_seterr(err, ETCD_EINVAL, "watch: key and callback are required");
		return NULL;
	}
	if (!o)
		o = &none;
	if (!(w = calloc(1, sizeof(*w))) || !(w->key = strdup(key)))
		goto oom;
	w->c = c;
	w->o = *o;
	w->next_rev = o->start_revision;
	w->cb = cb;
	w->arg = arg;
	w->aw.ready = auth_ready;
	ev_timer_init(&w->retry, retry_cb, 0.0, 0.0);
	ev_timer_init(&w->ended, ended_cb, 0.0, 0.0);
	if (o->range_end) {
		w->range_end = etcd_json_b64(o->range_end, strlen(o->range_end));
	} else if (o->prefix) {
		if (!(end = etcd_prefix_end(key, strlen(key), &elen)))
			goto oom;
		w->range_end = etcd_json_b64(end, elen);
		free(end);
	}
	if ((o->range_end || o->prefix) && !w->range_end)
		goto oom;
	w->next = c->watches;
	if (c->watches)
		c->watches->prev = w;
	c->watches = w;
	connect_stream(w);
	return w;
oom:
	if (w) {
		free(w->key);
		free(w);
	}
	etcd_seterr(err, ETCD_ENOMEM, "out of memory starting a watch");
	return NULL;
}

void
etcd_watch_cancel(struct etcd_watch *w)
{
	if (!w || w->canceled)
		return;
	w->canceled = 1;
	ev_timer_stop(w->c->loop, &w->retry);
	ev_timer_stop(w->c->loop, &w->ended);
	etcd_auth_unqueue(w->c, &w->aw);
	abort_stream(w);
	maybe_free(w);
}

int64_t
etcd_watch_next_revision(const struct etcd_watch *w)
{
	return w->next_rev;
}

void
etcd_watch_free_all(struct etcd_client *c)
{
	struct etcd_watch *w = c->watches;

	while (w) {
		struct etcd_watch *next = w->next;

		etcd_watch_cancel(w);
		w = next;
	}
}
