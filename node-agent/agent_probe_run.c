/*
 * agent_probe_run.c: run one probe or lifecycle handler on the agent's
 * loop and report its verdict once: exec through Docker's exec API on the
 * agent's client (create, start attached until the command ends, inspect
 * for ExitCode), httpGet through the transport to the pod IP (2xx and 3xx
 * succeed; the body is not read past its first line), tcpSocket by a
 * non-blocking connect watched by an ev_io, sleep by a timer. One timer
 * bounds each run. Nothing here blocks: a tcpSocket host must be an IPv4
 * address (no resolver on the loop), and a command that outlives its
 * timeout is left running in the container (Docker cannot kill an exec),
 * as the kubelet leaves it. It keeps no state between runs and decides
 * nothing (agent_probe.c counts the verdicts). A finished run's memory
 * is kept for the next one (up to PRUN_SPARE), so a probe allocates
 * nothing of its own; every probe still opens a fresh connection, as the
 * kubelet's do.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent_deadline.h"
#include "agent_probe.h"
#include "tp.h"

struct prun {
	struct agent *a;
	const struct api_handler *h; /* borrowed: the caller keeps the spec alive */
	enum api_handler_kind kind;
	prun_done_fn done;
	void *arg;
	double timeout;
	ev_timer timer; /* the bound; sleep: the sleep */
	ev_timer soon;  /* a verdict known at once, reported from the loop */
	int ok;
	char msg[512];
	struct dk_req *req; /* exec */
	char exec_id[96];
	char cmd[256];
	char *out;
	struct tp_xfer *x; /* httpGet */
	char url[1024];
	int fd; /* tcpSocket */
	ev_io io;
	char addr[80];
	struct prun *next; /* on the spare list */
};

#define PRUN_SPARE 512 /* finished runs kept for reuse (a few KB each) */

/* The loop's finished runs, kept for the next ones (the agent has one
 * loop). */
static struct prun *spare;
static int n_spare;

static void
prun_release(struct prun *r)
{
	struct ev_loop *loop = r->a->d->loop;

	ev_timer_stop(loop, &r->timer);
	ev_timer_stop(loop, &r->soon);
	if (r->req)
		dk_cancel(r->req);
	tp_abort(r->x);
	if (r->fd >= 0) {
		ev_io_stop(loop, &r->io);
		close(r->fd);
	}
	free(r->out);
	if (n_spare < PRUN_SPARE) { /* kept for the next run: no allocation per probe */
		r->next = spare;
		spare = r;
		n_spare++;
		return;
	}
	free(r);
}

void
prun_spare_free(void)
{
	while (spare) {
		struct prun *r = spare;

		spare = r->next;
		free(r);
	}
	n_spare = 0;
}

void
prun_cancel(struct prun *r)
{
	if (r)
		prun_release(r);
}

/* Report the verdict and free r. */
static void
finish(struct prun *r, int ok, const char *msg)
{
	prun_done_fn done = r->done;
	void *arg = r->arg;
	char m[512];

	snprintf(m, sizeof(m), "%s", ok ? "" : msg);
	prun_release(r); /* every caller cleared r->req: a finished request is gone already */
	done(arg, ok, m);
}

static void
soon_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct prun *r = (struct prun *)((char *)w - offsetof(struct prun, soon));

	(void)loop;
	(void)revents;
	finish(r, r->ok, r->msg);
}

/* The verdict from the loop, after prun_start returned. */
static void
finish_soon(struct prun *r, int ok, const char *fmt, const char *arg)
{
	r->ok = ok;
	snprintf(r->msg, sizeof(r->msg), fmt, arg);
	ev_timer_start(r->a->d->loop, &r->soon);
}

static void
timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct prun *r = (struct prun *)((char *)w - offsetof(struct prun, timer));
	char m[1200];

	(void)loop;
	(void)revents;
	if (r->req) {
		dk_cancel(r->req);
		r->req = NULL;
	}
	switch (r->kind) {
	case API_HANDLER_SLEEP: finish(r, 1, ""); return;
	case API_HANDLER_EXEC: snprintf(m, sizeof(m), "command \"%s\" timed out", r->cmd); break;
	case API_HANDLER_HTTP: snprintf(m, sizeof(m), "Get \"%s\": timed out after %gs", r->url, r->timeout); break;
	default: snprintf(m, sizeof(m), "dial tcp %s: i/o timeout", r->addr); break;
	}
	finish(r, 0, m);
}

/* ---------------------------------------------------------------- exec */

/* The command's output from Docker's multiplexed stream (8-byte frame
 * headers: stream, 0, 0, 0, size big-endian), trimmed, into r->out. */
static void
exec_output(struct prun *r, const char *b, size_t len)
{
	size_t i = 0, n = 0;
	char *o = malloc(len + 1);

	if (!o)
		return;
	while (i + 8 <= len) {
		size_t sz = ((size_t)(unsigned char)b[i + 4] << 24) | ((size_t)(unsigned char)b[i + 5] << 16) |
		            ((size_t)(unsigned char)b[i + 6] << 8) | (size_t)(unsigned char)b[i + 7];

		i += 8;
		sz = sz < len - i ? sz : len - i;
		memcpy(o + n, b + i, sz);
		n += sz;
		i += sz;
	}
	while (n > 0 && (o[n - 1] == '\n' || o[n - 1] == '\r' || o[n - 1] == ' '))
		n--;
	o[n] = '\0';
	free(r->out);
	r->out = o;
}

static void
exec_inspect_done(struct dk_resp *resp, void *arg)
{
	struct prun *r = arg;
	json_t *j;
	json_int_t code = -1;
	char m[512];

	r->req = NULL;
	if (resp->status != 200) {
		snprintf(m, sizeof(m), "exec inspect: %s", dk_errmsg(resp, m, sizeof(m)));
		finish(r, 0, m);
		return;
	}
	j = json_loadb(resp->body, resp->len, 0, NULL);
	if (json_is_integer(json_object_get(j, "ExitCode")))
		code = json_integer_value(json_object_get(j, "ExitCode"));
	json_decref(j);
	if (code == 0)
		finish(r, 1, "");
	else if (r->out && r->out[0])
		finish(r, 0, r->out);
	else {
		snprintf(m, sizeof(m), "command \"%s\" exited with code %lld", r->cmd, (long long)code);
		finish(r, 0, m);
	}
}

static int
exec_call(struct prun *r, const char *method, const char *path, const char *body, dk_done_fn done)
{
	r->req = dk_call(r->a->dk, &(struct dk_call_opts){.method = method,
	                                                  .path = path,
	                                                  .body = body,
	                                                  .len = body ? strlen(body) : 0,
	                                                  .timeout_ms = (long)(r->timeout * 1000) + DEADLINE_EXEC_MS,
	                                                  .done = done,
	                                                  .arg = r});
	return r->req ? 0 : -1;
}

static void
exec_start_done(struct dk_resp *resp, void *arg)
{
	struct prun *r = arg;
	char path[160], m[512];

	r->req = NULL;
	if (resp->status != 200) {
		snprintf(m, sizeof(m), "exec start: %s", dk_errmsg(resp, m, sizeof(m)));
		finish(r, 0, m);
		return;
	}
	exec_output(r, resp->body, resp->len);
	snprintf(path, sizeof(path), "/exec/%s/json", r->exec_id);
	if (exec_call(r, "GET", path, NULL, exec_inspect_done) < 0)
		finish(r, 0, "out of memory");
}

static void
exec_create_done(struct dk_resp *resp, void *arg)
{
	struct prun *r = arg;
	json_t *j;
	const char *id;
	char path[160], m[512];

	r->req = NULL;
	if (resp->status != 201) {
		snprintf(m, sizeof(m), "exec: %s", dk_errmsg(resp, m, sizeof(m)));
		finish(r, 0, m);
		return;
	}
	j = json_loadb(resp->body, resp->len, 0, NULL);
	id = json_string_value(json_object_get(j, "Id"));
	snprintf(r->exec_id, sizeof(r->exec_id), "%s", id ? id : "");
	json_decref(j);
	snprintf(path, sizeof(path), "/exec/%s/start", r->exec_id);
	if (!r->exec_id[0] || exec_call(r, "POST", path, "{\"Detach\":false,\"Tty\":false}", exec_start_done) < 0)
		finish(r, 0, "exec: no Id in Docker's answer");
}

static int
exec_begin(struct prun *r, const char *ctr_id)
{
	const struct api_handler *h = r->h;
	json_t *cmd = json_array(), *body;
	char path[160], *s;
	size_t i, l = 0;
	int rc;

	for (i = 0; i < h->n_command && cmd; i++) {
		json_array_append_new(cmd, json_string(h->command[i]));
		if (l < sizeof(r->cmd) - 1)
			l += (size_t)snprintf(r->cmd + l, sizeof(r->cmd) - l, "%s%s", i ? " " : "", h->command[i]);
	}
	body = json_pack("{s:o,s:b,s:b}", "Cmd", cmd, "AttachStdout", 1, "AttachStderr", 1);
	s = body ? json_dumps(body, JSON_COMPACT) : NULL;
	json_decref(body);
	if (!s)
		return -1;
	snprintf(path, sizeof(path), "/containers/%s/exec", ctr_id);
	rc = exec_call(r, "POST", path, s, exec_create_done);
	free(s);
	return rc;
}

/* ---------------------------------------------------------------- httpGet */

/* Stop at the first line: the status is what counts. */
static int
http_line(void *arg, const char *line, size_t len)
{
	(void)arg;
	(void)line;
	(void)len;
	return 1;
}

static void
http_done(void *arg, const struct tp_result *res)
{
	struct prun *r = arg;
	char m[1400];

	r->x = NULL;
	if (res->status >= 200 && res->status < 400) {
		finish(r, 1, "");
		return;
	}
	if (res->status > 0)
		snprintf(m, sizeof(m), "HTTP probe failed with statuscode: %ld", res->status);
	else
		snprintf(m, sizeof(m), "Get \"%s\": %s", r->url, res->err);
	finish(r, 0, m);
}

static int
http_begin(struct prun *r, const struct prun_ctx *c)
{
	const struct api_handler *h = r->h;
	const char *hdr[66 + 2];
	char buf[66][512];
	size_t i, n = 0;
	int ua = 0;

	snprintf(r->url, sizeof(r->url), "%s://%s:%d%s", strcmp(h->scheme ? h->scheme : "", "HTTPS") ? "http" : "https",
	         h->host ? h->host : c->pod_ip, c->port, h->path ? h->path : "/");
	for (i = 0; i < h->n_headers && n < 64; i++) {
		snprintf(buf[n], sizeof(buf[n]), "%s: %s", h->headers[i].name,
		         h->headers[i].value ? h->headers[i].value : "");
		ua |= strcasecmp(h->headers[i].name, "User-Agent") == 0;
		hdr[n] = buf[n];
		n++;
	}
	if (!ua)
		hdr[n++] = "User-Agent: kube-probe/skiff";
	hdr[n++] = "Accept: */*";
	hdr[n] = NULL;
	r->x = tp_start(c->tp, &(struct tp_opts){.url = r->url,
	                                         .method = "GET",
	                                         .headers = hdr,
	                                         .connect_timeout_ms = (long)(r->timeout * 1000),
	                                         .timeout_ms = (long)(r->timeout * 1000) + 500,
	                                         .own_connection = 1,
	                                         .max_body = 64 << 10,
	                                         .on_line = http_line,
	                                         .done = http_done,
	                                         .arg = r,
	                                         .insecure = 1});
	return r->x ? 0 : -1;
}

/* ---------------------------------------------------------------- tcpSocket */

/* The verdict of a connect that ended with err (0: connected). */
static void
tcp_verdict(struct prun *r, int err, int now)
{
	char e[128];

	r->ok = err == 0;
	r->msg[0] = '\0';
	if (err) {
		snprintf(e, sizeof(e), "%s", strerror(err));
		e[0] = (char)tolower((unsigned char)e[0]); /* as Go words it: "connection refused" */
		snprintf(r->msg, sizeof(r->msg), "dial tcp %s: connect: %s", r->addr, e);
	}
	if (now)
		finish(r, r->ok, r->msg);
	else
		ev_timer_start(r->a->d->loop, &r->soon);
}

static void
tcp_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct prun *r = (struct prun *)((char *)w - offsetof(struct prun, io));
	int err = 0;
	socklen_t l = sizeof(err);

	(void)loop;
	(void)revents;
	if (getsockopt(r->fd, SOL_SOCKET, SO_ERROR, &err, &l) < 0)
		err = errno;
	tcp_verdict(r, err, 1);
}

/* 0 when the connect is under way (or done: r->soon set), -1 when out of
 * resources. To a pod on this node the handshake is over when connect
 * returns (the kernel runs the peer's side in the call), so a second
 * connect tells the outcome at once (0 or EISCONN: connected; EALREADY:
 * still going, watched by an ev_io; else the error) without a watcher,
 * a wake-up and a getsockopt per probe. */
static int
tcp_begin(struct prun *r, const struct prun_ctx *c)
{
	const char *host = r->h->host ? r->h->host : c->pod_ip;
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)c->port)};
	int rc;

	snprintf(r->addr, sizeof(r->addr), "%s:%d", host, c->port);
	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
		finish_soon(r, 0, "dial tcp %s: the host must be an IPv4 address", r->addr);
		return 0;
	}
	r->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (r->fd < 0)
		return -1;
	rc = connect(r->fd, (struct sockaddr *)&sa, sizeof(sa));
	if (rc < 0 && errno == EINPROGRESS)
		rc = connect(r->fd, (struct sockaddr *)&sa, sizeof(sa));
	if (rc == 0 || errno == EISCONN) {
		tcp_verdict(r, 0, 0);
	} else if (errno == EALREADY || errno == EINPROGRESS) {
		ev_io_init(&r->io, tcp_cb, r->fd, EV_WRITE);
		ev_io_start(r->a->d->loop, &r->io);
	} else {
		tcp_verdict(r, errno, 0);
	}
	return 0;
}

/* ---------------------------------------------------------------- start */

struct prun *
prun_start(const struct prun_ctx *c, const struct api_handler *h, prun_done_fn done, void *arg)
{
	struct prun *r = spare;
	int rc = 0;

	if (r) {
		spare = r->next;
		n_spare--;
		memset(r, 0, sizeof(*r));
	} else if (!(r = calloc(1, sizeof(*r)))) {
		return NULL;
	}
	r->a = c->a;
	r->h = h;
	r->kind = h->kind;
	r->done = done;
	r->arg = arg;
	r->fd = -1;
	r->timeout = c->timeout > 0 ? c->timeout : 1;
	ev_timer_init(&r->soon, soon_cb, 0, 0);
	if (h->kind == API_HANDLER_SLEEP && h->sleep_seconds < r->timeout)
		r->timeout = (double)h->sleep_seconds;
	ev_timer_init(&r->timer, timer_cb, r->timeout, 0);
	if ((h->kind == API_HANDLER_HTTP || h->kind == API_HANDLER_TCP) && (!c->pod_ip || !c->pod_ip[0]) && !h->host)
		finish_soon(r, 0, "%s", "the pod has no IP address yet");
	else if (h->kind == API_HANDLER_EXEC)
		rc = exec_begin(r, c->ctr_id);
	else if (h->kind == API_HANDLER_HTTP)
		rc = http_begin(r, c);
	else if (h->kind == API_HANDLER_TCP)
		rc = tcp_begin(r, c);
	else if (h->kind != API_HANDLER_SLEEP)
		finish_soon(r, 0, "%s", "no handler");
	if (rc < 0) {
		prun_release(r);
		return NULL;
	}
	ev_timer_start(c->a->d->loop, &r->timer);
	return r;
}
