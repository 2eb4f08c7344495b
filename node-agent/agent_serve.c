/*
 * agent_serve.c: the agent's HTTPS server (agent_serve.h). libmicrohttpd,
 * loaded with dlopen through daemon/health_mhd.h (an agent that serves
 * nothing never maps it or GnuTLS), runs in external-poll epoll mode on the
 * agent's loop: its epoll descriptor in an ev_io, its timeout in an
 * ev_timer, no thread of its own. Every request first shows a client
 * certificate the admin CA (--client-ca) signed (401 without one, 403
 * otherwise), before anything is asked of Docker.
 *
 * GET /containerLogs/POD/CONTAINER streams Docker's log of the pod's
 * container (demultiplexed, agent_serve_demux.c) as a chunked body; the
 * connection is suspended while no bytes wait, and a client that goes
 * away (its socket readable: EOF or a TLS alert) ends the Docker call at
 * once. At most --max-streams at a time, then 429. A client that lets
 * 4 MiB wait for it is cut off: its slot is freed and its connection shut
 * down at once, not when it goes. POST /exec/ and /portForward/ are
 * agent_serve_exec.c's.
 *
 * It deliberately does not serve attach (refused with 404), nor
 * --previous (the agent removes an exited container before it starts the
 * next one, so there is no previous instance to read).
 */
#include <dlfcn.h>
#include <errno.h>
#include <gnutls/gnutls.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "agent.h"
#include "agent_serve.h"
#include "agent_serve_int.h"
#include "api/api_binding.h"
#include "health_mhd.h"

static void serve_run(struct serve *s);

/* ---------------------------------------------------------------- loop */

static void
io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop, (void)revents;
	serve_run((struct serve *)((char *)w - offsetof(struct serve, io)));
}

static void
tm_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop, (void)revents;
	serve_run((struct serve *)((char *)w - offsetof(struct serve, tm)));
}

static void
kick_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop, (void)revents;
	serve_run((struct serve *)((char *)w - offsetof(struct serve, kick)));
}

/* One round of MHD, then its next timeout on tm. */
static void
serve_run(struct serve *s)
{
	struct ev_loop *loop = s->a->d->loop;
	MHD_UNSIGNED_LONG_LONG ms = 0;

	M.run(s->mhd);
	ev_timer_stop(loop, &s->tm);
	if (M.get_timeout(s->mhd, &ms) == MHD_YES) {
		ev_timer_set(&s->tm, (double)ms / 1000.0, 0.0);
		ev_timer_start(loop, &s->tm);
	}
}

static void
kick(struct serve *s)
{
	if (!ev_is_active(&s->kick))
		ev_timer_start(s->a->d->loop, &s->kick);
}

/* ---------------------------------------------------------------- streams */

static void peer_cb(struct ev_loop *loop, ev_io *w, int revents);

void
serve_suspend(struct stream *st)
{
	const union MHD_ConnectionInfo *ci;

	if (st->suspended)
		return;
	M.suspend_connection(st->conn);
	st->suspended = 1;
	ci = M.get_connection_info(st->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	if (ci && ci->connect_fd >= 0) {
		ev_io_init(&st->peer, peer_cb, ci->connect_fd, EV_READ);
		ev_io_start(st->s->a->d->loop, &st->peer);
	}
}

void
serve_resume(struct stream *st)
{
	if (!st->suspended)
		return;
	ev_io_stop(st->s->a->d->loop, &st->peer);
	st->suspended = 0;
	M.resume_connection(st->conn);
	kick(st->s);
}

/* End st's Docker call (no callback) and let MHD finish the connection. */
static void
stream_end(struct stream *st, const char *why)
{
	if (st->req) {
		dk_cancel(st->req);
		st->req = NULL;
		log_kv(LL_INFO, KV("pod", st->pod, "container", st->ctr), "log stream ended: %s", why);
	}
	st->done = 1;
	serve_resume(st);
}

/* The client's socket became readable while its stream waits for Docker:
 * a one-way stream hears nothing but a TLS alert or EOF, so the client is
 * leaving. */
static void
peer_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct stream *st = (struct stream *)((char *)w - offsetof(struct stream, peer));
	char b;
	ssize_t n = recv(w->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);

	(void)loop, (void)revents;
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	st->gone = 1;
	stream_end(st, "the client went away");
}

static void
demux_out(void *arg, int stream, const char *p, size_t n)
{
	struct stream *st = arg;
	char *nb;

	(void)stream;
	if (st->len + n > st->cap) {
		size_t cap = st->cap ? st->cap : 4096;

		while (cap < st->len + n)
			cap *= 2;
		if (cap > SERVE_BUF_MAX || !(nb = realloc(st->buf, cap))) {
			st->gone = st->slow = 1; /* the client reads too slowly: end rather than hold more */
			return;
		}
		st->buf = nb;
		st->cap = cap;
	}
	memcpy(st->buf + st->len, p, n);
	st->len += n;
}

/* Give up on a client that reads too slowly: free its --max-streams slot
 * now and close its connection (shut down under MHD, which then ends the
 * request and frees st), as a client that reads nothing would otherwise
 * hold both until it goes. */
static void
cut_slow(struct stream *st)
{
	const union MHD_ConnectionInfo *ci = M.get_connection_info(st->conn, MHD_CONNECTION_INFO_CONNECTION_FD);

	log_kv(LL_WARN, KV("pod", st->pod, "container", st->ctr),
	       "log stream ended: the client reads too slowly (%zu MiB held for it); closing its connection",
	       SERVE_BUF_MAX >> 20);
	if (!st->released) {
		st->released = 1;
		st->s->n--;
	}
	if (ci && ci->connect_fd >= 0)
		shutdown(ci->connect_fd, SHUT_RDWR);
}

static int
logs_chunk(const char *p, size_t n, void *arg)
{
	struct stream *st = arg;

	if (demux_feed(&st->dm, p, n, demux_out, st) < 0) {
		log_kv(LL_WARN, KV("pod", st->pod, "container", st->ctr),
		       "Docker's log stream is not multiplexed as expected; ending it");
		st->gone = 1;
	}
	if (st->gone) {
		if (st->slow)
			cut_slow(st);
		st->done = 1;
		serve_resume(st);
		return 1;
	}
	serve_resume(st);
	return 0;
}

static void
logs_done(struct dk_resp *r, void *arg)
{
	struct stream *st = arg;
	char e[256];

	st->req = NULL;
	if (r->status != 200 && !st->gone) {
		snprintf(e, sizeof(e), "\n[skiff-agent: Docker's log stream failed: %s]\n", dk_errmsg(r, e, sizeof(e)));
		demux_out(st, 1, e, strlen(e));
	}
	st->done = 1;
	serve_resume(st);
}

static ssize_t
reader(void *cls, uint64_t pos, char *out, size_t max)
{
	struct stream *st = cls;
	size_t n;

	(void)pos;
	if (st->len > st->off && !st->gone) {
		n = st->len - st->off < max ? st->len - st->off : max;
		memcpy(out, st->buf + st->off, n);
		st->off += n;
		if (st->off == st->len)
			st->off = st->len = 0;
		return (ssize_t)n;
	}
	if (st->done || st->gone)
		return st->gone ? MHD_CONTENT_READER_END_WITH_ERROR : MHD_CONTENT_READER_END_OF_STREAM;
	serve_suspend(st);
	return 0;
}

/* The pod's container: the running one, else the newest. */
static int
pick_container(const char *body, size_t len, char *id, size_t idlen)
{
	json_t *j = json_loadb(body, len, 0, NULL), *c, *best = NULL;
	json_int_t best_t = -1;
	size_t i;

	json_array_foreach(j, i, c) {
		json_int_t t = json_integer_value(json_object_get(c, "Created"));
		int running = json_is_string(json_object_get(c, "State")) &&
		              strcmp(json_string_value(json_object_get(c, "State")), "running") == 0;

		if (running)
			t = LLONG_MAX;
		if (json_is_string(json_object_get(c, "Id")) && t > best_t) {
			best = c;
			best_t = t;
		}
	}
	if (best)
		snprintf(id, idlen, "%s", json_string_value(json_object_get(best, "Id")));
	json_decref(j);
	return best ? 0 : -1;
}

static void
lookup_done(struct dk_resp *r, void *arg)
{
	struct stream *st = arg;
	char e[256];

	st->req = NULL;
	st->phase = ST_FAILED;
	if (r->status != 200) {
		st->status = MHD_HTTP_BAD_GATEWAY;
		snprintf(st->msg, sizeof(st->msg), "cannot list the pod's containers in Docker: %s\n",
		         dk_errmsg(r, e, sizeof(e)));
	} else if (pick_container(r->body, r->len, st->id, sizeof(st->id)) < 0) {
		st->status = MHD_HTTP_NOT_FOUND;
		snprintf(st->msg, sizeof(st->msg), "container %s of pod %s has not been created yet\n", st->ctr,
		         st->pod);
	} else {
		st->phase = ST_FOUND;
	}
	serve_resume(st);
}

static void
stream_free(struct stream *st)
{
	struct serve *s = st->s;

	if (st->req)
		dk_cancel(st->req);
	ev_io_stop(s->a->d->loop, &st->peer);
	if (st->prev)
		st->prev->next = st->next;
	else
		s->streams = st->next;
	if (st->next)
		st->next->prev = st->prev;
	if (!st->released)
		s->n--;
	exec_free(st);
	free(st->buf);
	free(st);
}

static void
completed(void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode toe)
{
	struct stream *st = *con_cls;

	(void)cls, (void)conn;
	if (!st)
		return;
	if (st->req)
		log_kv(LL_INFO, KV("pod", st->pod, "container", st->ctr), "log stream ended: %s",
		       toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "done" : "the client went away");
	stream_free(st);
	*con_cls = NULL;
}

/* ---------------------------------------------------------------- requests */

enum MHD_Result
serve_reply(struct MHD_Connection *conn, unsigned status, const char *msg)
{
	struct MHD_Response *r = M.create_response_from_buffer(strlen(msg), (void *)msg, MHD_RESPMEM_MUST_COPY);
	enum MHD_Result rc;

	if (!r)
		return MHD_NO;
	M.add_response_header(r, "Content-Type", "text/plain; charset=utf-8");
	rc = M.queue_response(conn, status, r);
	M.destroy_response(r);
	return rc;
}

/* 0 when the client showed a certificate the admin CA signed; else the
 * status to refuse with (401 none, 403 not ours). */
static unsigned
peer_check(struct serve *s, struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci = M.get_connection_info(conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
	unsigned int n = 0, status = 0;

	if (!ci || !ci->tls_session || !s->get_peers(ci->tls_session, &n) || n == 0)
		return MHD_HTTP_UNAUTHORIZED;
	if (s->verify_peers(ci->tls_session, &status) < 0 || status != 0)
		return MHD_HTTP_FORBIDDEN;
	return 0;
}

/* "/containerLogs/POD/CONTAINER" (GET), "/exec/POD/CONTAINER" (POST,
 * st->exec 1) or "/portForward/POD" (POST, st->exec 2) into st's names:
 * 0, or -1. */
static int
parse_path(const char *url, const char *method, struct stream *st)
{
	const char *pre = strcmp(method, "POST") == 0 ? "/exec/" : "/containerLogs/", *p, *slash;

	if (strcmp(method, "POST") == 0 && strncmp(url, "/portForward/", 13) == 0) { /* no container */
		st->exec = 2;
		snprintf(st->pod, sizeof(st->pod), "%s", url + 13);
		return strlen(url + 13) < sizeof(st->pod) && api_check_dns_label(st->pod, NULL) == 0 ? 0 : -1;
	}
	if (strncmp(url, pre, strlen(pre)) != 0 || strcmp(method, pre[1] == 'e' ? "POST" : "GET") != 0)
		return -1;
	st->exec = pre[1] == 'e';
	p = url + strlen(pre);
	if (!(slash = strchr(p, '/')) || (size_t)(slash - p) >= sizeof(st->pod) || strchr(slash + 1, '/') ||
	    strlen(slash + 1) >= sizeof(st->ctr))
		return -1;
	memcpy(st->pod, p, (size_t)(slash - p));
	st->pod[slash - p] = '\0';
	snprintf(st->ctr, sizeof(st->ctr), "%s", slash + 1);
	return api_check_dns_label(st->pod, NULL) < 0 || api_check_dns_label(st->ctr, NULL) < 0 ? -1 : 0;
}

/* A non-negative integer argument (def when absent): 0, or -1. */
static int
arg_num(struct MHD_Connection *conn, const char *name, long def, long *v)
{
	const char *s = M.lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, name);
	char *end;

	*v = def;
	if (!s)
		return 0;
	errno = 0;
	*v = strtol(s, &end, 10);
	return errno || end == s || *end || *v < 0 ? -1 : 0;
}

static int
arg_true(struct MHD_Connection *conn, const char *name)
{
	const char *s = M.lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, name);

	return s && (strcmp(s, "1") == 0 || strcmp(s, "true") == 0);
}

/* Docker's query for the request's arguments into st->query: 0, or -1
 * with the status and message set. */
static int
logs_query(struct stream *st, struct MHD_Connection *conn)
{
	long tail, since;
	size_t n;

	st->status = MHD_HTTP_BAD_REQUEST;
	if (arg_true(conn, "previous")) {
		snprintf(st->msg, sizeof(st->msg),
		         "previous: this agent removes an exited container before it starts the next one, so "
		         "there is no previous instance to read\n");
		return -1;
	}
	if (arg_num(conn, "tailLines", -1, &tail) < 0 || arg_num(conn, "sinceSeconds", 0, &since) < 0) {
		snprintf(st->msg, sizeof(st->msg), "tailLines and sinceSeconds must be non-negative integers\n");
		return -1;
	}
	n = (size_t)snprintf(st->query, sizeof(st->query), "stdout=1&stderr=1&follow=%d&timestamps=%d",
	                     arg_true(conn, "follow"), arg_true(conn, "timestamps"));
	if (tail >= 0)
		n += (size_t)snprintf(st->query + n, sizeof(st->query) - n, "&tail=%ld", tail);
	if (since > 0)
		snprintf(st->query + n, sizeof(st->query) - n, "&since=%lld", (long long)time(NULL) - since);
	return 0;
}

/* Whether pod is bound here and has container ctr: 0, or -1 with st's
 * status and message set. */
static int
check_pod(struct stream *st)
{
	int malformed = 0;
	const struct api_binding *b = pods_binding(st->s->a, st->pod, &malformed);

	st->status = MHD_HTTP_NOT_FOUND;
	if (!b) {
		snprintf(st->msg, sizeof(st->msg), "pod %s is not bound to node %s\n", st->pod, st->s->a->o.node_name);
		return -1;
	}
	if (st->exec == 2)
		return 0;
	for (size_t i = 0; i < b->pod.spec.n_containers; i++)
		if (strcmp(b->pod.spec.containers[i].name, st->ctr) == 0)
			return 0;
	for (size_t i = 0; i < b->pod.spec.n_init_containers; i++)
		if (strcmp(b->pod.spec.init_containers[i].name, st->ctr) == 0)
			return 0;
	snprintf(st->msg, sizeof(st->msg), "pod %s has no container %s\n", st->pod, st->ctr);
	return -1;
}

/* List the pod's containers named ctr in Docker (lookup_done goes on). */
static int
start_lookup(struct stream *st)
{
	char f[512], path[1024];

	snprintf(f, sizeof(f), "{\"label\":[\"%s=%s\",\"%s=%s\",\"%s=%s\"]}", LBL_NODE, st->s->a->o.node_name, LBL_POD,
	         st->pod, LBL_CTR, st->ctr);
	snprintf(path, sizeof(path), "/containers/json?all=1&filters=%s", dk_escape(f, (char[768]){0}, 768));
	st->req = dk_call(st->s->a->dk,
	                  &(struct dk_call_opts){.path = path, .timeout_ms = 30000, .done = lookup_done, .arg = st});
	return st->req ? 0 : -1;
}

/* The first call of a request: who asks, for what; then look it up. */
static enum MHD_Result
request_new(struct serve *s, struct MHD_Connection *conn, const char *url, const char *method, void **con_cls)
{
	struct stream *st;
	unsigned code;
	char msg[160];

	if ((code = peer_check(s, conn))) {
		log_kv(LL_WARN, KV("url", url), "refused a client %s",
		       code == MHD_HTTP_UNAUTHORIZED ? "without a certificate"
		                                     : "whose certificate --client-ca did not sign");
		return serve_reply(conn, code,
		                   code == MHD_HTTP_UNAUTHORIZED
		                           ? "a client certificate is required\n"
		                           : "the client certificate is not signed by the admin CA\n");
	}
	if (!(st = calloc(1, sizeof(*st))))
		return MHD_NO;
	st->s = s;
	st->conn = conn;
	if (parse_path(url, method, st) < 0) {
		free(st);
		return serve_reply(
			conn, MHD_HTTP_NOT_FOUND,
			"this agent serves GET /containerLogs/POD/CONTAINER, POST /exec/POD/CONTAINER and /portForward/POD\n");
	}
	if (s->n >= s->max) {
		snprintf(msg, sizeof(msg), "node %s already serves %ld streams (--max-streams); try again later\n",
		         s->a->o.node_name, s->max);
		free(st);
		return serve_reply(conn, MHD_HTTP_TOO_MANY_REQUESTS, msg);
	}
	if (check_pod(st) < 0 || (st->exec ? exec_query(st, conn) : logs_query(st, conn)) < 0) {
		enum MHD_Result rc = serve_reply(conn, st->status, st->msg);

		exec_free(st);
		free(st);
		return rc;
	}
	st->next = s->streams;
	if (s->streams)
		s->streams->prev = st;
	s->streams = st;
	s->n++;
	*con_cls = st;
	/* A stream may wait long for a line; the server's 60-s timeout stays
	 * on connections that have not shown an admin certificate. */
	M.set_connection_option(conn, MHD_CONNECTION_OPTION_TIMEOUT, 0u);
	if (st->exec == 2) { /* the pod's address is known: answer at once */
		st->phase = ST_EXEC;
		return MHD_YES;
	}
	if (start_lookup(st) < 0)
		return MHD_NO;
	serve_suspend(st);
	return MHD_YES;
}

static enum MHD_Result
start_logs(struct stream *st)
{
	char path[512];
	struct MHD_Response *r;
	enum MHD_Result rc;

	snprintf(path, sizeof(path), "/containers/%s/logs?%s", st->id, st->query);
	st->req = dk_call(
		st->s->a->dk,
		&(struct dk_call_opts){.path = path, .on_line = logs_chunk, .raw = 1, .done = logs_done, .arg = st});
	if (!st->req)
		return MHD_NO;
	st->phase = ST_STREAMING;
	log_kv(LL_INFO, KV("pod", st->pod, "container", st->ctr), "log stream started (%s)", st->query);
	if (!(r = M.create_response_from_callback(MHD_SIZE_UNKNOWN, 16384, reader, st, NULL)))
		return MHD_NO;
	M.add_response_header(r, "Content-Type", "text/plain; charset=utf-8");
	rc = M.queue_response(st->conn, MHD_HTTP_OK, r);
	M.destroy_response(r);
	return rc;
}

static enum MHD_Result
handler(void *cls, struct MHD_Connection *conn, const char *url, const char *method, const char *version,
        const char *upload, size_t *upload_len, void **con_cls)
{
	struct stream *st = *con_cls;

	(void)version, (void)upload;
	if (!st)
		return request_new(cls, conn, url, method, con_cls);
	*upload_len = 0;
	switch (st->phase) {
	case ST_FAILED: return serve_reply(conn, st->status, st->msg);
	case ST_FOUND: return st->done ? MHD_NO : st->exec ? exec_create(st) : start_logs(st);
	case ST_EXEC: return st->done ? MHD_NO : exec_upgrade(st);
	default: return st->done ? MHD_NO : MHD_YES;
	}
}

/* ---------------------------------------------------------------- life */

int
serve_opts_check(const char *const v[4], char *err, size_t len)
{
	static const char *const names[4] = {"--serve-addr", "--serve-cert", "--serve-key", "--client-ca"};
	char missing[128] = "";
	int given = 0;

	for (int i = 0; i < 4; i++) {
		if (v[i] && *v[i])
			given++;
		else
			snprintf(missing + strlen(missing), sizeof(missing) - strlen(missing), "%s%s",
			         *missing ? ", " : "", names[i]);
	}
	if (given == 0 || given == 4)
		return 0;
	snprintf(err, len,
	         "the HTTPS server (logs) needs --serve-addr, --serve-cert, --serve-key and --client-ca "
	         "together; missing %s",
	         missing);
	return -1;
}

static char *
read_pem(const char *path, const char *what, char *err, size_t len)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t n = 0;

	if (f) {
		buf = calloc(1, 1 << 20);
		n = buf ? fread(buf, 1, (1 << 20) - 1, f) : 0;
		fclose(f);
	}
	if (!f || !buf || n == 0 || !strstr(buf, "-----BEGIN ")) {
		snprintf(err, len, "%s %s: %s", what, path, !f ? strerror(errno) : "not a PEM file");
		free(buf);
		return NULL;
	}
	return buf;
}

/* "HOST:PORT" (an IPv4 address) into sa: 0, or -1. */
static int
parse_addr(const char *s, struct sockaddr_in *sa)
{
	char host[64];
	const char *colon = strrchr(s, ':');
	uint32_t ip;
	char *end;
	long port;

	if (!colon || (size_t)(colon - s) >= sizeof(host))
		return -1;
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	port = strtol(colon + 1, &end, 10);
	if (end == colon + 1 || *end || port < 0 || port > 65535 || api_ipv4_parse(host, &ip, NULL) < 0)
		return -1;
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)port);
	sa->sin_addr.s_addr = htonl(ip);
	return 0;
}

static int
load_tls_calls(struct serve *s, char *err, size_t len)
{
	void *g = dlopen("libgnutls.so.30", RTLD_NOW | RTLD_NOLOAD);

	if (g) {
		*(void **)&s->get_peers = dlsym(g, "gnutls_certificate_get_peers");
		*(void **)&s->verify_peers = dlsym(g, "gnutls_certificate_verify_peers2");
	}
	if (!g || !s->get_peers || !s->verify_peers) {
		snprintf(err, len, "libmicrohttpd is not built with GnuTLS (libgnutls.so.30): cannot verify clients");
		return -1;
	}
	return 0;
}

static int
mhd_start(struct serve *s, const struct sockaddr_in *sa)
{
	const union MHD_DaemonInfo *di;

	s->mhd = M.start_daemon(MHD_USE_EPOLL | MHD_USE_TLS | MHD_ALLOW_SUSPEND_RESUME | MHD_ALLOW_UPGRADE, 0, NULL,
	                        NULL, handler, s, MHD_OPTION_SOCK_ADDR, sa, MHD_OPTION_HTTPS_MEM_KEY, s->key,
	                        MHD_OPTION_HTTPS_MEM_CERT, s->cert, MHD_OPTION_HTTPS_MEM_TRUST, s->ca,
	                        MHD_OPTION_NOTIFY_COMPLETED, completed, s, MHD_OPTION_CONNECTION_TIMEOUT, 60u,
	                        MHD_OPTION_END);
	if (!s->mhd)
		return -1;
	di = M.get_daemon_info(s->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	if (!di)
		return -1;
	ev_io_init(&s->io, io_cb, di->epoll_fd, EV_READ);
	ev_io_start(s->a->d->loop, &s->io);
	di = M.get_daemon_info(s->mhd, MHD_DAEMON_INFO_BIND_PORT);
	s->port = di ? di->port : ntohs(sa->sin_port);
	return 0;
}

int
serve_start(struct agent *a, char *err, size_t len)
{
	const struct agent_opts *o = &a->o;
	struct sockaddr_in sa;
	struct serve *s;

	if (!o->serve_addr || !*o->serve_addr)
		return 0;
	if (parse_addr(o->serve_addr, &sa) < 0) {
		snprintf(err, len, "--serve-addr %s: not IPV4:PORT", o->serve_addr);
		return -1;
	}
	if (health_mhd_load(err, len) < 0 || !(s = calloc(1, sizeof(*s))))
		return -1;
	s->a = a;
	s->max = o->max_streams;
	ev_timer_init(&s->tm, tm_cb, 0.0, 0.0);
	ev_timer_init(&s->kick, kick_cb, 0.0, 0.0);
	a->serve = s;
	if (!(s->cert = read_pem(o->serve_cert, "--serve-cert", err, len)) ||
	    !(s->key = read_pem(o->serve_key, "--serve-key", err, len)) ||
	    !(s->ca = read_pem(o->client_ca, "--client-ca", err, len)) || load_tls_calls(s, err, len) < 0)
		goto fail;
	if (mhd_start(s, &sa) < 0) {
		snprintf(err, len, "cannot serve HTTPS on %s (address in use, or the certificate and key do not match)",
		         o->serve_addr);
		goto fail;
	}
	log_kv(LL_INFO, KV("addr", o->serve_addr),
	       "serving container logs over HTTPS on port %d to clients of --client-ca", s->port);
	return 0;
fail:
	serve_stop(a);
	return -1;
}

int
serve_port(const struct agent *a)
{
	return a->serve ? a->serve->port : 0;
}

void
serve_stop(struct agent *a)
{
	struct serve *s = a->serve;

	if (!s)
		return;
	for (struct stream *st = s->streams; st; st = st->next) {
		st->gone = 1;
		exec_end(st);
		stream_end(st, "the agent stops");
	}
	ev_io_stop(a->d->loop, &s->io);
	ev_timer_stop(a->d->loop, &s->tm);
	ev_timer_stop(a->d->loop, &s->kick);
	if (s->mhd) {
		M.run(s->mhd); /* the resumed connections leave the suspended list */
		M.stop_daemon(s->mhd);
	}
	free(s->cert);
	free(s->key);
	free(s->ca);
	free(s);
	a->serve = NULL;
}
