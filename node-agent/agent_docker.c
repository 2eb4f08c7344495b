/*
 * agent_docker.c: the Docker Engine API client of the agent. HTTP/1.1 over
 * the unix socket on the HTTP transport (transport/tp.h), the same one the
 * etcd client runs on. Bodies are collected whole, or split into lines for
 * streams (events, pulls, imports).
 *
 * Every request goes through dk_call, and ends in its done callback,
 * after which it is freed, or in dk_cancel. It knows nothing of
 * containers; it does not retry.
 *
 * With --runtime hollow (agent_hollow.h) the four calls below hand
 * everything to the in-memory runtime of agent_hollow.c instead.
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
#include "agent_hollow.h"
#include "tp.h"

struct dk_req {
	struct dk *d;
	struct tp_xfer *x;
	dk_line_fn on_line;
	dk_done_fn done;
	void *arg;
	struct dk_req *next, *prev;
};

struct dk {
	struct tp *tp;
	char sock[108];
	struct dk_req *reqs; /* every live request */
};

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

static void
req_unlink(struct dk_req *r)
{
	if (r->prev)
		r->prev->next = r->next;
	else
		r->d->reqs = r->next;
	if (r->next)
		r->next->prev = r->prev;
	r->next = r->prev = NULL;
}

static int
on_line(void *arg, const char *line, size_t len)
{
	struct dk_req *r = arg;

	return r->on_line(line, len, r->arg);
}

/* The transport's done callback: report, then free r. */
static void
on_done(void *arg, const struct tp_result *res)
{
	struct dk_req *r = arg;
	struct dk_resp resp = {.status = res->status, .body = (char *)res->body, .len = res->len};

	resp.curl_rc = res->rc;
	if (res->rc != CURLE_OK)
		snprintf(resp.err, sizeof(resp.err), "docker: %s", res->err);
	req_unlink(r);
	dk_trace(r, NULL, &resp);
	if (r->done)
		r->done(&resp, r->arg);
	free(r);
}

struct dk *
dk_new(struct ev_loop *loop, const char *socket_path)
{
	struct dk *d;

	if (hollow_on())
		return hollow_dk_new(loop);
	if (!(d = calloc(1, sizeof(*d))))
		return NULL;
	snprintf(d->sock, sizeof(d->sock), "%s", socket_path);
	if (!(d->tp = tp_new(loop))) {
		free(d);
		return NULL;
	}
	return d;
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
	tp_free(d->tp);
	free(d);
}

struct dk_req *
dk_call(struct dk *d, const struct dk_call_opts *o)
{
	struct dk_req *r = hollow_on() ? NULL : calloc(1, sizeof(*r));
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
	                    .arg = r};

	if (hollow_on())
		return hollow_dk_call(d, o);
	if (!r)
		return NULL;
	dk_trace(r, o, NULL);
	r->d = d;
	r->on_line = o->on_line;
	r->done = o->done;
	r->arg = o->arg;
	snprintf(url, sizeof(url), "http://localhost/v1.41%s", o->path);
	if (o->body) {
		snprintf(ctype, sizeof(ctype), "Content-Type: %s", o->ctype ? o->ctype : "application/json");
		hdrs[0] = ctype;
	}
	if (!(r->x = tp_start(d->tp, &t))) {
		free(r);
		return NULL;
	}
	r->next = d->reqs;
	if (d->reqs)
		d->reqs->prev = r;
	d->reqs = r;
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
	tp_abort(r->x);
	req_unlink(r);
	free(r);
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
