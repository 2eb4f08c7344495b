/*
 * agent_serve_exec.c: exec in a pod's container for the agent's HTTPS
 * server (agent_serve.c). POST /exec/POD/CONTAINER?command=A&command=B
 * &stdin=1&tty=1 with "Upgrade: skiff-stream/1" makes a Docker exec, then
 * answers 101 and relays, on the agent's loop, between the client's
 * upgraded connection and Docker's hijacked POST /exec/ID/start (a unix
 * socket connection of its own, taken over after Docker's 101). Frames on
 * the client's side (docs/operations.md): 1 byte stream (0 stdin, 1
 * stdout, 2 stderr, 3 resize, 4 exit status), a 4-byte big-endian length,
 * the payload; stdin of length 0 closes the command's stdin; resize is
 * width and height, 2 bytes each; the exit status 4 bytes, last. The
 * client's frames are cut by agent_serve_exec_frame.c; bytes that are not
 * frames a client sends end the connection, with why on stderr.
 *
 * It does not serve port-forward, attach, or more than one command per
 * connection, and it bounds what it holds for a slow side (8 MiB, then
 * the connection ends) instead of pausing the other side.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "agent_serve_int.h"

#define M health_mhd
#define XBUF_MAX ((size_t)8 << 20)

struct obuf {
	char *p;
	size_t len, cap;
};

/* One exec after the upgrade. */
struct xconn {
	struct serve *s;
	struct stream *st; /* the request's (MHD frees it after our close) */
	struct MHD_UpgradeResponseHandle *urh;
	int cfd, dfd; /* the client's upgraded socket (MHD's), Docker's */
	ev_io cr, cw, dr, dw;
	struct obuf cout, dout; /* frames to the client, stdin bytes to Docker */
	struct obuf early;      /* stdin bytes before Docker's answer (see client_in) */
	char hdr[4096];         /* Docker's answer header until its blank line */
	size_t hlen;
	int hdr_done, tty, in_eof, closing, failed;
	int forward; /* port-forward: Docker's side is a TCP connection to the pod */
	struct demux dm;
	struct xframe xf; /* the client's frames (agent_serve_exec_frame.c) */
	char id[80];
	struct dk_req *req; /* inspect or resize */
};

static void xfree(struct xconn *x);

static int
ob_add(struct obuf *b, const void *p, size_t n)
{
	if (b->len + n > XBUF_MAX)
		return -1;
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 8192;
		char *np;

		while (cap < b->len + n)
			cap *= 2;
		if (!(np = realloc(b->p, cap)))
			return -1;
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
	return 0;
}

/* Write what b holds to fd; 0, or -1 when fd failed. */
static int
ob_flush(struct obuf *b, int fd)
{
	while (b->len > 0) {
		ssize_t n = send(fd, b->p, b->len, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -1;
		memmove(b->p, b->p + n, b->len - (size_t)n);
		b->len -= (size_t)n;
	}
	return 0;
}

static void
want_write(struct xconn *x)
{
	struct ev_loop *loop = x->s->a->d->loop;

	if (x->cout.len && !ev_is_active(&x->cw))
		ev_io_start(loop, &x->cw);
	if (x->dout.len && x->dfd >= 0 && !ev_is_active(&x->dw))
		ev_io_start(loop, &x->dw);
}

static void
frame(struct xconn *x, int id, const void *p, size_t n)
{
	unsigned char h[5] = {(unsigned char)id, (unsigned char)(n >> 24), (unsigned char)(n >> 16),
	                      (unsigned char)(n >> 8), (unsigned char)n};

	if (ob_add(&x->cout, h, 5) < 0 || ob_add(&x->cout, p, n) < 0)
		x->failed = 1;
	want_write(x);
}

static void
demux_frame(void *arg, int stream, const char *p, size_t n)
{
	frame(arg, stream == 2 ? 2 : 1, p, n);
}

/* ---------------------------------------------------------------- the end */

static void
inspect_done(struct dk_resp *r, void *arg)
{
	struct xconn *x = arg;
	json_t *j = r->status == 200 ? json_loadb(r->body, r->len, 0, NULL) : NULL;
	json_t *code = json_object_get(j, "ExitCode");
	long c = json_is_integer(code) ? (long)json_integer_value(code) : 126;
	unsigned char b[4] = {(unsigned char)(c >> 24), (unsigned char)(c >> 16), (unsigned char)(c >> 8),
	                      (unsigned char)c};

	x->req = NULL;
	json_decref(j);
	frame(x, 4, b, 4);
	x->closing = 1;
	if (!x->cout.len)
		xfree(x);
}

/* Docker's side ended: ask for the exit code, then end. 0, or -1 when x
 * is freed already. */
static int
docker_done(struct xconn *x)
{
	char path[160];

	ev_io_stop(x->s->a->d->loop, &x->dr);
	ev_io_stop(x->s->a->d->loop, &x->dw);
	close(x->dfd);
	x->dfd = -1;
	if (x->forward) { /* the pod closed the connection: status 0, then the end */
		frame(x, 4, "\0\0\0\0", 4);
		x->closing = 1;
		if (x->cout.len)
			return 0;
		xfree(x);
		return -1;
	}
	snprintf(path, sizeof(path), "/exec/%s/json", x->id);
	if (x->req)
		dk_cancel(x->req);
	x->req = dk_call(x->s->a->dk,
	                 &(struct dk_call_opts){.path = path, .timeout_ms = 10000, .done = inspect_done, .arg = x});
	if (x->req)
		return 0;
	xfree(x);
	return -1;
}

/* ---------------------------------------------------------------- Docker's side */

/* Bytes from Docker: its answer's header first, then the output. */
static int
docker_bytes(struct xconn *x, const char *p, size_t n)
{
	if (!x->hdr_done) {
		size_t k = n < sizeof(x->hdr) - 1 - x->hlen ? n : sizeof(x->hdr) - 1 - x->hlen;
		char *end;

		memcpy(x->hdr + x->hlen, p, k);
		x->hlen += k;
		x->hdr[x->hlen] = '\0';
		if (!(end = strstr(x->hdr, "\r\n\r\n")))
			return x->hlen < sizeof(x->hdr) - 1 ? 0 : -1;
		if (strncmp(x->hdr, "HTTP/1.1 101", 12) != 0 && strncmp(x->hdr, "HTTP/1.1 200", 12) != 0)
			return -1;
		x->hdr_done = 1;
		if (x->early.len && ob_add(&x->dout, x->early.p, x->early.len) < 0)
			return -1;
		x->early.len = 0;
		if (x->in_eof && !x->dout.len)
			shutdown(x->dfd, SHUT_WR);
		want_write(x);
		k = (size_t)(end + 4 - x->hdr);
		return docker_bytes(x, x->hdr + k, x->hlen - k);
	}
	if (x->tty) {
		frame(x, 1, p, n);
		return 0;
	}
	return demux_feed(&x->dm, p, n, demux_frame, x);
}

static void
dr_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct xconn *x = (struct xconn *)((char *)w - offsetof(struct xconn, dr));
	char buf[16384];
	ssize_t n = recv(w->fd, buf, sizeof(buf), MSG_DONTWAIT);

	(void)loop, (void)revents;
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		docker_done(x);
		return;
	}
	if (docker_bytes(x, buf, (size_t)n) < 0) {
		log_kv(LL_WARN, KV("exec", x->id), "Docker's exec stream is not what was expected: %.80s", x->hdr);
		frame(x, 2, "skiff-agent: Docker refused to start the exec\n", 46);
		if (docker_done(x) < 0)
			return;
	}
	if (x->failed)
		xfree(x);
}

static void
dw_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct xconn *x = (struct xconn *)((char *)w - offsetof(struct xconn, dw));

	(void)revents;
	if (ob_flush(&x->dout, w->fd) < 0) {
		docker_done(x);
		return;
	}
	if (!x->dout.len) {
		ev_io_stop(loop, w);
		if (x->in_eof && x->hdr_done)
			shutdown(x->dfd, SHUT_WR);
	}
}

/* ---------------------------------------------------------------- the client's side */

static void
resize_done(struct dk_resp *r, void *arg)
{
	(void)r;
	((struct xconn *)arg)->req = NULL;
}

/* Stdin bytes from the client, or (n == 0) the end of its stdin. Until
 * Docker has answered its exec start they wait in x->early, the end too:
 * Docker takes the connection over only then, and bytes it read with the
 * request are lost (stdin would be empty) while an early half-close ends
 * the request. */
static void
client_in(void *arg, const char *p, size_t n)
{
	struct xconn *x = arg;

	if (n == 0) {
		x->in_eof = 1;
		if (x->hdr_done && !x->dout.len && x->dfd >= 0)
			shutdown(x->dfd, SHUT_WR);
	} else if (ob_add(x->hdr_done ? &x->dout : &x->early, p, n) < 0) {
		x->failed = 1;
	}
	want_write(x);
}

/* The client's terminal has a new size (dropped while one is being set). */
static void
client_resize(void *arg, unsigned w, unsigned h)
{
	struct xconn *x = arg;
	char path[200];

	if (x->req)
		return;
	snprintf(path, sizeof(path), "/exec/%s/resize?w=%u&h=%u", x->id, w, h);
	x->req = dk_call(x->s->a->dk,
	                 &(struct dk_call_opts){
				 .method = "POST", .path = path, .timeout_ms = 10000, .done = resize_done, .arg = x});
}

static const struct xframe_ops client_ops = {.in = client_in, .resize = client_resize};

/* Bytes from the client, cut into frames. 0, or -1 when they are not
 * frames: then the client gets why on stderr, Docker's side is closed and
 * x is freed, now or once the message is sent. */
static int
client_bytes(struct xconn *x, const char *p, size_t n)
{
	struct ev_loop *loop = x->s->a->d->loop;
	char msg[160];
	int k;

	if (xframe_feed(&x->xf, p, n, &client_ops, x) == 0)
		return 0;
	log_kv(LL_WARN, KV("exec", x->id), "ending the exec stream: the client sent %s", x->xf.err);
	k = snprintf(msg, sizeof(msg), "skiff-agent: ending the stream: the client sent %s\n", x->xf.err);
	ev_io_stop(loop, &x->cr);
	ev_io_stop(loop, &x->dr);
	ev_io_stop(loop, &x->dw);
	if (x->dfd >= 0)
		close(x->dfd);
	x->dfd = -1;
	x->dout.len = 0;
	frame(x, XF_STDERR, msg, (size_t)k);
	x->closing = 1;
	if (x->failed || !x->cout.len)
		xfree(x);
	return -1;
}

static void
cr_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct xconn *x = (struct xconn *)((char *)w - offsetof(struct xconn, cr));
	char buf[16384];
	ssize_t n = recv(w->fd, buf, sizeof(buf), MSG_DONTWAIT);

	(void)loop, (void)revents;
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		log_kv(LL_INFO, KV("exec", x->id), "exec stream ended: the client went away");
		xfree(x);
		return;
	}
	if (client_bytes(x, buf, (size_t)n) == 0 && x->failed)
		xfree(x);
}

static void
cw_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct xconn *x = (struct xconn *)((char *)w - offsetof(struct xconn, cw));

	(void)revents;
	if (ob_flush(&x->cout, w->fd) < 0) {
		xfree(x);
		return;
	}
	if (!x->cout.len) {
		ev_io_stop(loop, w);
		if (x->closing)
			xfree(x);
	}
}

static void
xfree(struct xconn *x)
{
	struct ev_loop *loop = x->s->a->d->loop;

	ev_io_stop(loop, &x->cr);
	ev_io_stop(loop, &x->cw);
	ev_io_stop(loop, &x->dr);
	ev_io_stop(loop, &x->dw);
	if (x->dfd >= 0)
		close(x->dfd);
	if (x->req)
		dk_cancel(x->req);
	x->st->x = NULL;
	M.upgrade_action(x->urh, MHD_UPGRADE_ACTION_CLOSE);
	free(x->cout.p);
	free(x->dout.p);
	free(x->early.p);
	free(x);
}

/* ---------------------------------------------------------------- set-up */

/* A TCP connection to ip:port, non-blocking (being made): the fd, or -1. */
static int
pod_connect(const char *ip, int port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd >= 0 && (inet_pton(AF_INET, ip, &sa.sin_addr) != 1 ||
	                (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 && errno != EINPROGRESS))) {
		close(fd);
		return -1;
	}
	return fd;
}

/* A unix socket connected to Docker's, non-blocking: the fd, or -1. */
static int
docker_connect(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 && errno != EINPROGRESS) {
		close(fd);
		return -1;
	}
	return fd;
}

static void
upgraded(void *cls, struct MHD_Connection *conn, void *con_cls, const char *extra, size_t extra_len, MHD_socket sock,
         struct MHD_UpgradeResponseHandle *urh)
{
	struct stream *st = cls;
	struct xconn *x = calloc(1, sizeof(*x));
	struct ev_loop *loop = st->s->a->d->loop;
	char req[512], body[64];

	(void)conn, (void)con_cls;
	if (!x) {
		M.upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
		return;
	}
	x->s = st->s;
	x->st = st;
	st->x = x;
	x->urh = urh;
	x->cfd = sock;
	x->tty = st->tty;
	snprintf(x->id, sizeof(x->id), "%s", st->exec_id);
	x->forward = st->exec == 2;
	x->dfd = x->forward ? pod_connect(st->id, (int)st->port) : docker_connect(st->s->a->o.docker_socket);
	ev_io_init(&x->cr, cr_cb, sock, EV_READ);
	ev_io_init(&x->cw, cw_cb, sock, EV_WRITE);
	ev_io_start(loop, &x->cr);
	if (x->dfd < 0) {
		frame(x, 2, "skiff-agent: cannot connect to Docker\n", 38);
		frame(x, 4, "\0\0\0~", 4);
		x->closing = 1;
		return;
	}
	ev_io_init(&x->dr, dr_cb, x->dfd, EV_READ);
	ev_io_init(&x->dw, dw_cb, x->dfd, EV_WRITE);
	ev_io_start(loop, &x->dr);
	if (x->forward) { /* bytes both ways as they are: stdin frames to the pod, its bytes as stdout */
		x->hdr_done = x->tty = 1;
		log_kv(LL_INFO, KV("pod", st->pod, "to", st->id), "port-forward to port %ld started", st->port);
		if (extra_len)
			client_bytes(x, extra, extra_len);
		return;
	}
	snprintf(body, sizeof(body), "{\"Detach\":false,\"Tty\":%s}", x->tty ? "true" : "false");
	snprintf(req, sizeof(req),
	         "POST /v1.41/exec/%s/start HTTP/1.1\r\nHost: docker\r\nContent-Type: application/json\r\n"
	         "Connection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: %zu\r\n\r\n%s",
	         x->id, strlen(body), body);
	ob_add(&x->dout, req, strlen(req));
	want_write(x);
	log_kv(LL_INFO, KV("pod", st->pod, "container", st->ctr, "exec", x->id), "exec started");
	if (extra_len)
		client_bytes(x, extra, extra_len);
}

static enum MHD_Result
add_command(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	(void)kind;
	if (strcmp(key, "command") == 0 && value)
		json_array_append_new(cls, json_string(value));
	return MHD_YES;
}

static int
flag_on(struct MHD_Connection *conn, const char *name)
{
	const char *v = M.lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, name);

	return v && (strcmp(v, "1") == 0 || strcmp(v, "true") == 0);
}

/* Port-forward: the pod's IP (its status here) into st->id, the port
 * into st->port. 0, or -1 with st's status and message. */
static int
forward_query(struct stream *st, struct MHD_Connection *conn)
{
	const char *v = M.lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "port");
	char ip[64], *end;

	st->port = v ? strtol(v, &end, 10) : 0;
	if (!v || *end || st->port < 1 || st->port > 65535) {
		snprintf(st->msg, sizeof(st->msg), "port-forward needs port=1..65535\n");
		return -1;
	}
	pods_status_ip(st->s->a, st->pod, ip, sizeof(ip));
	if (!ip[0]) {
		st->status = MHD_HTTP_NOT_FOUND;
		snprintf(st->msg, sizeof(st->msg), "pod %s has no IP yet\n", st->pod);
		return -1;
	}
	snprintf(st->id, sizeof(st->id), "%s", ip);
	return 0;
}

int
exec_query(struct stream *st, struct MHD_Connection *conn)
{
	const char *up = M.lookup_connection_value(conn, MHD_HEADER_KIND, "Upgrade");

	st->status = MHD_HTTP_BAD_REQUEST;
	if (!up || strcmp(up, "skiff-stream/1") != 0) {
		snprintf(st->msg, sizeof(st->msg), "exec needs \"Upgrade: skiff-stream/1\"\n");
		return -1;
	}
	if (st->exec == 2)
		return forward_query(st, conn);
	st->cmd = json_array();
	if (st->cmd)
		M.get_connection_values(conn, MHD_GET_ARGUMENT_KIND, add_command, st->cmd);
	if (!st->cmd || json_array_size(st->cmd) == 0) {
		snprintf(st->msg, sizeof(st->msg), "exec needs a command (command=...)\n");
		return -1;
	}
	st->tty = flag_on(conn, "tty");
	st->in = flag_on(conn, "stdin");
	return 0;
}

static void
create_done(struct dk_resp *r, void *arg)
{
	struct stream *st = arg;
	json_t *j = r->status == 201 ? json_loadb(r->body, r->len, 0, NULL) : NULL;
	const char *id = json_string_value(json_object_get(j, "Id"));
	char e[256];

	st->req = NULL;
	if (id) {
		snprintf(st->exec_id, sizeof(st->exec_id), "%s", id);
		st->phase = ST_EXEC;
	} else {
		st->phase = ST_FAILED;
		st->status = r->status == 409 ? MHD_HTTP_CONFLICT : MHD_HTTP_BAD_GATEWAY;
		snprintf(st->msg, sizeof(st->msg), "Docker refused the exec: %s\n", dk_errmsg(r, e, sizeof(e)));
	}
	json_decref(j);
	serve_resume(st);
}

enum MHD_Result
exec_create(struct stream *st)
{
	char path[160], *body;
	json_t *o = json_pack("{s:b,s:b,s:b,s:b,s:O}", "AttachStdin", st->in, "AttachStdout", 1, "AttachStderr", 1,
	                      "Tty", st->tty, "Cmd", st->cmd);

	body = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (!body)
		return MHD_NO;
	snprintf(path, sizeof(path), "/containers/%s/exec", st->id);
	st->req = dk_call(st->s->a->dk, &(struct dk_call_opts){.method = "POST",
	                                                       .path = path,
	                                                       .body = body,
	                                                       .len = strlen(body),
	                                                       .timeout_ms = 30000,
	                                                       .done = create_done,
	                                                       .arg = st});
	free(body);
	if (!st->req)
		return MHD_NO;
	st->phase = ST_LOOKUP; /* waits for create_done */
	serve_suspend(st);
	return MHD_YES;
}

enum MHD_Result
exec_upgrade(struct stream *st)
{
	struct MHD_Response *r = M.create_response_for_upgrade(upgraded, st);
	enum MHD_Result rc;

	if (!r)
		return MHD_NO;
	M.add_response_header(r, "Upgrade", "skiff-stream/1");
	M.add_response_header(r, "Connection", "Upgrade");
	rc = M.queue_response(st->conn, MHD_HTTP_SWITCHING_PROTOCOLS, r);
	M.destroy_response(r);
	st->phase = ST_STREAMING;
	return rc;
}

void
exec_end(struct stream *st)
{
	if (st->x)
		xfree(st->x);
}

void
exec_free(struct stream *st)
{
	json_decref(st->cmd);
	st->cmd = NULL;
}
