/*
 * agent_docker.c: the Docker Engine API client of the agent. HTTP/1.1 over
 * the unix socket (CURLOPT_UNIX_SOCKET_PATH) with libcurl's multi-socket
 * API on the daemon's libev loop (etcdclient/curl_ev.c, the same glue the
 * etcd client uses). Bodies are collected
 * whole, or split into lines for streams (events, pulls, imports).
 *
 * A finished request is reported in exactly one place, check_done(),
 * outside any curl callback, and freed right after its callback. New
 * requests are added to curl from a zero timer, so a callback may start
 * more. It knows nothing of containers; it does not retry.
 *
 * SKIFF_DOCKER_TRACE=FILE appends one JSON line per request and one per
 * answer to FILE (bench/agent_bench.c replays them; see bench/README).
 */
#include <curl/curl.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "curl_ev.h"

struct dk_req {
	struct dk *d;
	CURL *easy;
	struct curl_slist *hdrs;
	char *reqbody;
	char *buf;
	size_t len, cap;
	dk_line_fn on_line;
	dk_done_fn done;
	void *arg;
	int stopped; /* on_line asked to stop */
	int added;   /* handed to curl */
	char errbuf[CURL_ERROR_SIZE];
	struct dk_req *next, *prev;
};

struct dk {
	struct ev_loop *loop;
	struct curl_ev ce;
	char sock[108];
	ev_timer add_timer;
	struct dk_req *reqs; /* every live request */
};

static void check_done(struct dk *d);

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

/* curl_ev's done(): read what finished. */
static void
curl_done(struct curl_ev *ce)
{
	check_done((struct dk *)((char *)ce - offsetof(struct dk, ce)));
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

static void
req_free(struct dk_req *r)
{
	if (r->easy) {
		if (r->added)
			curl_multi_remove_handle(r->d->ce.multi, r->easy);
		curl_easy_cleanup(r->easy);
	}
	curl_slist_free_all(r->hdrs);
	free(r->reqbody);
	free(r->buf);
	free(r);
}

static void
check_done(struct dk *d)
{
	CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(d->ce.multi, &left))) {
		struct dk_req *r = NULL;
		struct dk_resp resp;

		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&r);
		memset(&resp, 0, sizeof(resp));
		resp.curl_rc = m->data.result;
		curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &resp.status);
		if (resp.curl_rc != CURLE_OK && !(r->stopped && resp.curl_rc == CURLE_WRITE_ERROR))
			snprintf(resp.err, sizeof(resp.err), "docker: %s",
			         r->errbuf[0] ? r->errbuf : curl_easy_strerror(resp.curl_rc));
		resp.body = r->on_line ? (char *)"" : (r->buf ? r->buf : (char *)"");
		resp.len = r->on_line ? 0 : r->len;
		req_unlink(r);
		dk_trace(r, NULL, &resp);
		if (r->done)
			r->done(&resp, r->arg);
		req_free(r);
	}
}

static void
add_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct dk *d = (struct dk *)((char *)w - offsetof(struct dk, add_timer));
	struct dk_req *r;

	(void)loop;
	(void)revents;
	for (r = d->reqs; r; r = r->next) {
		if (r->added)
			continue;
		r->added = 1;
		if (curl_multi_add_handle(d->ce.multi, r->easy) != CURLM_OK) {
			/* Report through a failed transfer: remove and fake done. */
			struct dk_resp resp = {0};

			r->added = 0;
			snprintf(resp.err, sizeof(resp.err), "docker: curl_multi_add_handle failed");
			resp.body = (char *)"";
			req_unlink(r);
			if (r->done)
				r->done(&resp, r->arg);
			req_free(r);
			ev_timer_start(d->loop, &d->add_timer); /* list changed: come back */
			return;
		}
	}
}

static size_t
write_cb(char *p, size_t sz, size_t n, void *ud)
{
	struct dk_req *r = ud;
	size_t len = sz * n;

	if (r->len + len + 1 > r->cap) {
		size_t cap = r->cap ? r->cap : 4096;
		char *nb;

		while (cap < r->len + len + 1)
			cap *= 2;
		if (cap > ((size_t)64 << 20))
			return 0; /* far more than any answer we expect */
		nb = realloc(r->buf, cap);
		if (!nb)
			return 0;
		r->buf = nb;
		r->cap = cap;
	}
	memcpy(r->buf + r->len, p, len);
	r->len += len;
	r->buf[r->len] = '\0';
	if (r->on_line) {
		char *s = r->buf, *nl;

		while (!r->stopped && (nl = memchr(s, '\n', r->len - (size_t)(s - r->buf)))) {
			if (nl > s && r->on_line(s, (size_t)(nl - s), r->arg))
				r->stopped = 1;
			s = nl + 1;
		}
		memmove(r->buf, s, r->len - (size_t)(s - r->buf));
		r->len -= (size_t)(s - r->buf);
		r->buf[r->len] = '\0';
		if (r->stopped)
			return 0;
	}
	return len;
}

struct dk *
dk_new(struct ev_loop *loop, const char *socket_path)
{
	struct dk *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	d->loop = loop;
	snprintf(d->sock, sizeof(d->sock), "%s", socket_path);
	if (curl_ev_init(&d->ce, loop, curl_done) < 0) {
		free(d);
		return NULL;
	}
	ev_timer_init(&d->add_timer, add_cb, 0.0, 0.0);
	return d;
}

void
dk_free(struct dk *d)
{
	if (!d)
		return;
	while (d->reqs) {
		struct dk_req *r = d->reqs;

		req_unlink(r);
		req_free(r);
	}
	ev_timer_stop(d->loop, &d->add_timer);
	curl_ev_cleanup(&d->ce);
	free(d);
}

struct dk_req *
dk_call(struct dk *d, const struct dk_call_opts *o)
{
	struct dk_req *r = calloc(1, sizeof(*r));
	const char *method = o->method ? o->method : "GET";
	char url[2048], h[128];

	if (!r)
		return NULL;
	dk_trace(r, o, NULL);
	r->d = d;
	r->on_line = o->on_line;
	r->done = o->done;
	r->arg = o->arg;
	r->easy = curl_easy_init();
	if (!r->easy)
		goto fail;
	snprintf(url, sizeof(url), "http://localhost/v1.41%s", o->path);
	curl_easy_setopt(r->easy, CURLOPT_URL, url);
	curl_easy_setopt(r->easy, CURLOPT_UNIX_SOCKET_PATH, d->sock);
	curl_easy_setopt(r->easy, CURLOPT_PRIVATE, r);
	curl_easy_setopt(r->easy, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(r->easy, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(r->easy, CURLOPT_ERRORBUFFER, r->errbuf);
	curl_easy_setopt(r->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(r->easy, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
	if (o->timeout_ms > 0)
		curl_easy_setopt(r->easy, CURLOPT_TIMEOUT_MS, o->timeout_ms);
	if (o->idle_s > 0) {
		curl_easy_setopt(r->easy, CURLOPT_LOW_SPEED_LIMIT, 1L);
		curl_easy_setopt(r->easy, CURLOPT_LOW_SPEED_TIME, o->idle_s);
	}
	if (strcmp(method, "POST") == 0) {
		r->reqbody = malloc(o->len + 1);
		if (!r->reqbody)
			goto fail;
		if (o->len)
			memcpy(r->reqbody, o->body, o->len);
		r->reqbody[o->len] = '\0';
		curl_easy_setopt(r->easy, CURLOPT_POST, 1L);
		curl_easy_setopt(r->easy, CURLOPT_POSTFIELDS, r->reqbody);
		curl_easy_setopt(r->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)o->len);
		if (o->body) {
			snprintf(h, sizeof(h), "Content-Type: %s", o->ctype ? o->ctype : "application/json");
			r->hdrs = curl_slist_append(r->hdrs, h);
		}
		/* No "Expect: 100-continue" round trip for large bodies. */
		r->hdrs = curl_slist_append(r->hdrs, "Expect:");
		curl_easy_setopt(r->easy, CURLOPT_HTTPHEADER, r->hdrs);
	} else if (strcmp(method, "GET") != 0) {
		curl_easy_setopt(r->easy, CURLOPT_CUSTOMREQUEST, method);
	}
	r->next = d->reqs;
	if (d->reqs)
		d->reqs->prev = r;
	d->reqs = r;
	if (!ev_is_active(&d->add_timer)) {
		ev_timer_set(&d->add_timer, 0.0, 0.0);
		ev_timer_start(d->loop, &d->add_timer);
	}
	return r;
fail:
	if (r->easy)
		curl_easy_cleanup(r->easy);
	free(r->reqbody);
	free(r);
	return NULL;
}

void
dk_cancel(struct dk_req *r)
{
	if (!r)
		return;
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
	char *e = curl_easy_escape(NULL, s, 0);

	if (!e || strlen(e) + 1 > len)
		buf[0] = '\0';
	else
		memcpy(buf, e, strlen(e) + 1);
	curl_free(e);
	return buf;
}
