/*
 * agent_docker.c: the Docker Engine API client of the agent. HTTP/1.1 over
 * the unix socket on the HTTP transport (transport/tp.h), the same one the
 * etcd client runs on. Bodies are collected whole, or split into lines for
 * streams (events, pulls, imports).
 *
 * Every request goes through dk_call, and ends in its done callback,
 * after which it is freed, or in dk_cancel. At most --max-docker-calls are
 * open at once (agent_deadline.h); the others wait in FIFO order and are
 * sent from the loop (the pump) as slots free up, one slot being kept for
 * urgent calls (the health check). It knows nothing of containers; it does
 * not retry, and picks no deadline: its callers do (agent_deadline.h).
 *
 * With --runtime hollow (agent_hollow.h) the calls below that take a
 * struct dk hand everything to the in-memory runtime of agent_hollow.c
 * instead (it has no cap: nothing waits on it).
 *
 * SKIFF_DOCKER_TRACE=FILE appends one JSON line per request and one per
 * answer to FILE (bench/agent_bench.c replays them; see bench/README).
 */
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "agent_deadline.h"
#include "agent_hollow.h"
#include "tp.h"

struct dk_req {
	struct dk *d;
	struct tp_xfer *x; /* NULL while queued */
	dk_line_fn on_line;
	dk_done_fn done;
	void *arg;
	struct dk_req *next, *prev; /* on d->reqs (in flight) or d->queue */
	int urgent;
	/* a queued request's copy of its options (owned) */
	char *method, *path, *ctype;
	void *body;
	size_t len;
	long timeout_ms, idle_s;
	int raw; /* dk_call_opts.raw */
};

struct dk {
	struct ev_loop *loop;
	struct tp *tp;
	char sock[108];
	struct dk_req *reqs;               /* in flight */
	struct dk_req *queue, *queue_tail; /* waiting for a slot, oldest first */
	long inflight, queued, max;        /* max 0: no bound */
	long urgent;                       /* of inflight: urgent ones */
	ev_timer pump;                     /* sends queued requests from the loop */
	struct metric *m_timed_out;
};

/* SKIFF_DOCKER_DEADLINE_SCALE, read once (tests only: agent_deadline.h). */
static double
deadline_scale(void)
{
	static double f = -1;
	const char *e;

	if (f < 0) {
		e = getenv("SKIFF_DOCKER_DEADLINE_SCALE");
		f = e && *e ? strtod(e, NULL) : 1.0;
		if (!(f > 0))
			f = 1.0;
	}
	return f;
}

long
deadline_ms(long ms)
{
	long v = (long)((double)ms * deadline_scale());

	return v < 100 ? 100 : v;
}

long
deadline_idle_s(long s)
{
	long v = (long)((double)s * deadline_scale());

	return v < 1 ? 1 : v;
}

/* SKIFF_DOCKER_TRACE: a request (o) or its answer (resp) as one JSON line
 * {"t","pid","req", then "method","path","ctype","body" (or "body_len" for
 * a binary body) or "status","len","resp" (short answers)}, one write(). */
static void
dk_trace(const void *r, const struct dk_call_opts *o, const struct dk_resp *resp)
{
	const char *f = getenv("SKIFF_DOCKER_TRACE"), *ct = o && o->ctype ? o->ctype : "application/json";
	struct timespec ts;
	char id[32], *s;
	json_t *j, *b = NULL;
	int fd;

	if (!f || !*f)
		return;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(id, sizeof(id), "%p", r);
	j = json_pack("{s:f,s:i,s:s}", "t", (double)ts.tv_sec + (double)ts.tv_nsec / 1e9, "pid", (int)getpid(), "req",
	              id);
	if (o) {
		json_object_set_new(j, "method", json_string(o->method ? o->method : "GET"));
		json_object_set_new(j, "path", json_string(o->path));
		json_object_set_new(j, "ctype", json_string(o->body ? ct : ""));
		if (o->body && (strstr(ct, "json") || strncmp(ct, "text/", 5) == 0))
			b = json_stringn(o->body, o->len);
		json_object_set_new(j, b ? "body" : "body_len", b ? b : json_integer((json_int_t)o->len));
	} else {
		json_object_set_new(j, "status", json_integer(resp->status));
		json_object_set_new(j, "len", json_integer((json_int_t)resp->len));
		if (resp->len && resp->len <= 512 && (b = json_stringn(resp->body, resp->len)))
			json_object_set_new(j, "resp", b);
	}
	s = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	fd = s ? open(f, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600) : -1;
	if (fd >= 0) {
		size_t n = strlen(s);
		ssize_t w;

		s[n] = '\n'; /* in place of the NUL: one write, one whole line */
		w = write(fd, s, n + 1);
		(void)w;
		close(fd);
	}
	free(s);
}

/* Take r off the list it is on (in flight or queued). */
static void
req_unlink(struct dk_req *r)
{
	struct dk *d = r->d;
	struct dk_req **head = r->x ? &d->reqs : &d->queue;

	if (r->prev)
		r->prev->next = r->next;
	else
		*head = r->next;
	if (r->next)
		r->next->prev = r->prev;
	else if (!r->x)
		d->queue_tail = r->prev;
	r->next = r->prev = NULL;
	if (r->x) {
		d->inflight--;
		d->urgent -= r->urgent;
	} else
		d->queued--;
}

static void
req_free(struct dk_req *r)
{
	free(r->method);
	free(r->path);
	free(r->ctype);
	free(r->body);
	free(r);
}

/* Whether a request (urgent or not) may be sent now: at most max open,
 * of which at most max - 1 not urgent. */
static int
slot_free(const struct dk *d, int urgent)
{
	if (d->max <= 0)
		return 1;
	if (d->inflight >= d->max)
		return 0;
	return urgent || d->max == 1 || d->inflight - d->urgent < d->max - 1;
}

/* Send queued requests from the loop once slots are free. */
static void
pump_soon(struct dk *d)
{
	if (d->queue && !ev_is_active(&d->pump))
		ev_timer_start(d->loop, &d->pump);
}

static int
on_line(void *arg, const char *line, size_t len)
{
	struct dk_req *r = arg;

	return r->on_line(line, len, r->arg);
}

/* The transport's done callback: report, then free r. A freed slot goes
 * to the queue first (the pump), so a call made from done waits its turn. */
static void
on_done(void *arg, const struct tp_result *res)
{
	struct dk_req *r = arg;
	struct dk_resp resp = {.status = res->status, .body = (char *)res->body, .len = res->len};

	resp.curl_rc = res->rc;
	resp.sent = res->status == 0 && res->sent;
	resp.timed_out = res->rc == CURLE_OPERATION_TIMEDOUT;
	if (res->rc != CURLE_OK)
		snprintf(resp.err, sizeof(resp.err), "docker: %s", res->err);
	if (resp.timed_out)
		metric_inc(r->d->m_timed_out);
	req_unlink(r);
	pump_soon(r->d);
	dk_trace(r, NULL, &resp);
	if (r->done)
		r->done(&resp, r->arg);
	req_free(r);
}

/* Hand r (its options o) to the transport: 0, or -1 when it refused. */
static int
req_send(struct dk *d, struct dk_req *r, const struct dk_call_opts *o)
{
	const char *hdrs[2] = {NULL, NULL};
	char url[2048], ctype[128];
	struct tp_opts t = {.url = url,
	                    .method = o->method ? o->method : "GET",
	                    .body = o->body,
	                    .len = o->len,
	                    .headers = hdrs,
	                    .unix_socket = d->sock,
	                    .connect_timeout_ms = 5000,
	                    .timeout_ms = o->timeout_ms,
	                    .idle_s = o->idle_s,
	                    .on_line = o->on_line ? on_line : NULL,
	                    .done = on_done,
	                    .arg = r,
	                    .raw = o->raw};

	snprintf(url, sizeof(url), "http://localhost/v1.41%s", o->path);
	if (o->body) {
		snprintf(ctype, sizeof(ctype), "Content-Type: %s", o->ctype ? o->ctype : "application/json");
		hdrs[0] = ctype;
	}
	if (!(r->x = tp_start(d->tp, &t)))
		return -1;
	r->next = d->reqs;
	if (d->reqs)
		d->reqs->prev = r;
	d->reqs = r;
	d->inflight++;
	d->urgent += r->urgent;
	return 0;
}

/* Keep a copy of o in r and put r at the end of the queue: 0, or -1 when
 * out of memory. */
static int
req_queue(struct dk *d, struct dk_req *r, const struct dk_call_opts *o)
{
	r->method = strdup(o->method ? o->method : "GET");
	r->path = strdup(o->path);
	r->ctype = o->ctype ? strdup(o->ctype) : NULL;
	r->body = o->body ? malloc(o->len ? o->len : 1) : NULL;
	if (!r->method || !r->path || (o->ctype && !r->ctype) || (o->body && !r->body))
		return -1;
	if (o->body)
		memcpy(r->body, o->body, o->len);
	r->len = o->len;
	r->timeout_ms = o->timeout_ms;
	r->idle_s = o->idle_s;
	r->prev = d->queue_tail;
	if (d->queue_tail)
		d->queue_tail->next = r;
	else
		d->queue = r;
	d->queue_tail = r;
	d->queued++;
	return 0;
}

/* The oldest queued request that may go now (an urgent one may use the
 * kept slot), or NULL. */
static struct dk_req *
queue_next(struct dk *d)
{
	for (struct dk_req *r = d->queue; r; r = r->next)
		if (slot_free(d, r->urgent))
			return r;
	return NULL;
}

/* The pump: send what the free slots allow. A request the transport
 * refuses ends with an error now, from the loop. */
static void
pump_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct dk *d = (struct dk *)((char *)w - offsetof(struct dk, pump));
	struct dk_req *r;

	(void)loop, (void)revents;
	while ((r = queue_next(d))) {
		struct dk_call_opts o = {.method = r->method,
		                         .path = r->path,
		                         .body = r->body,
		                         .len = r->len,
		                         .ctype = r->ctype,
		                         .timeout_ms = r->timeout_ms,
		                         .idle_s = r->idle_s,
		                         .on_line = r->on_line,
		                         .raw = r->raw};

		req_unlink(r);
		if (req_send(d, r, &o) < 0) {
			struct dk_resp resp = {.status = 0};

			snprintf(resp.err, sizeof(resp.err), "docker: out of memory");
			if (r->done)
				r->done(&resp, r->arg);
			req_free(r);
		}
	}
}

struct dk *
dk_new(struct ev_loop *loop, const char *socket_path)
{
	struct dk *d;

	if (hollow_on())
		return hollow_dk_new(loop);
	if (!(d = calloc(1, sizeof(*d))))
		return NULL;
	d->loop = loop;
	snprintf(d->sock, sizeof(d->sock), "%s", socket_path);
	ev_timer_init(&d->pump, pump_cb, 0.0, 0.0);
	if (!(d->tp = tp_new(loop))) {
		free(d);
		return NULL;
	}
	return d;
}

void
dk_trim(struct dk *d)
{
	if (d && !hollow_on()) /* a hollow runtime's handle is not a struct dk */
		tp_trim(d->tp);
}

void
dk_set_max(struct dk *d, long max)
{
	if (hollow_on())
		return;
	d->max = max > 0 ? max : 0;
	pump_soon(d);
}

static double
gauge_inflight(void *arg)
{
	return (double)((struct dk *)arg)->inflight;
}

static double
gauge_queued(void *arg)
{
	return (double)((struct dk *)arg)->queued;
}

void
dk_metrics(struct dk *d, struct metrics *m)
{
	if (hollow_on())
		return;
	metrics_add_fn(m, "skiff_agent_docker_calls_inflight", NULL, METRIC_GAUGE,
	               "Docker requests open now (at most --max-docker-calls).", gauge_inflight, d);
	metrics_add_fn(m, "skiff_agent_docker_calls_queued", NULL, METRIC_GAUGE,
	               "Docker requests waiting for a free slot.", gauge_queued, d);
	d->m_timed_out = metrics_add(m, "skiff_agent_docker_calls_timed_out_total", NULL, METRIC_COUNTER,
	                             "Docker requests that passed their deadline (agent_deadline.h).");
}

void
dk_free(struct dk *d)
{
	if (hollow_on()) {
		hollow_dk_free(d);
		return;
	}
	if (!d)
		return;
	while (d->reqs)
		dk_cancel(d->reqs);
	while (d->queue)
		dk_cancel(d->queue);
	ev_timer_stop(d->loop, &d->pump);
	tp_free(d->tp);
	free(d);
}

struct dk_req *
dk_call(struct dk *d, const struct dk_call_opts *o)
{
	struct dk_req *r;
	int rc;

	if (hollow_on())
		return hollow_dk_call(d, o);
	if (!(r = calloc(1, sizeof(*r))))
		return NULL;
	dk_trace(r, o, NULL);
	r->d = d;
	r->on_line = o->on_line;
	r->done = o->done;
	r->arg = o->arg;
	r->urgent = o->urgent;
	r->raw = o->raw;
	/* behind the queue, unless urgent (the health check overtakes it) */
	if (slot_free(d, r->urgent) && (!d->queue || r->urgent))
		rc = req_send(d, r, o);
	else
		rc = req_queue(d, r, o);
	if (rc < 0) {
		req_free(r);
		return NULL;
	}
	return r;
}

void
dk_cancel(struct dk_req *r)
{
	if (hollow_on()) {
		hollow_dk_cancel(r);
		return;
	}
	if (!r)
		return;
	if (r->x) {
		tp_abort(r->x);
		pump_soon(r->d);
	}
	req_unlink(r);
	req_free(r);
}

const char *
dk_errmsg(const struct dk_resp *r, char *buf, size_t len)
{
	json_t *j;

	if (r->err[0]) {
		snprintf(buf, len, "%s", r->err);
		return buf;
	}
	j = r->len ? json_loadb(r->body, r->len, 0, NULL) : NULL;
	if (j && json_is_string(json_object_get(j, "message")))
		snprintf(buf, len, "%s", json_string_value(json_object_get(j, "message")));
	else if (r->len)
		snprintf(buf, len, "HTTP %ld: %.*s", r->status, (int)(r->len > 200 ? 200 : r->len), r->body);
	else
		snprintf(buf, len, "HTTP %ld", r->status);
	json_decref(j);
	return buf;
}

const char *
dk_escape(const char *s, char *buf, size_t len)
{
	return tp_escape(s, buf, len);
}
