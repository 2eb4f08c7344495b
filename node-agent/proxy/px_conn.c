/*
 * px_conn.c: userspace forwarding of one connection. Accept, pick an
 * endpoint round-robin, connect without blocking (the next endpoint when a
 * connect fails), then copy bytes both ways. An idle connection costs only
 * its struct: data is read into a buffer on the stack and written on at
 * once; only what the other side cannot take yet is kept, and reading from
 * that side stops until it drains (back-pressure). Bytes move through one
 * pipe shared by all connections with splice(2), so they never cross into
 * userspace; whatever the pipe still holds when the other side blocks is
 * read out into that connection's own buffer, leaving the pipe empty for
 * the next one. A service without endpoints closes new connections at once
 * instead of letting them hang.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "proxy.h"

#define CHUNK 65536
#define SPLICE_CHUNK (1 << 20)

/* One direction: bytes read from src and not yet written to dst. */
struct pipe_dir {
	char *pend;
	size_t len, off;
	int eof;
};

struct px_conn {
	struct px_proxy *px;
	int cfd, bfd;
	ev_io c_r, c_w, b_r, b_w;
	struct pipe_dir up, down;   /* client → backend, backend → client */
	struct px_backend *tried;   /* copy of the port's endpoints at accept */
	size_t ntried, next, nbe;
	char key[300];
	int connected;
	struct px_conn *prev, *next_conn;
};

static struct px_conn *conns;

static void
conn_free(struct px_conn *k)
{
	struct ev_loop *loop = k->px->d->loop;

	ev_io_stop(loop, &k->c_r);
	ev_io_stop(loop, &k->c_w);
	ev_io_stop(loop, &k->b_r);
	ev_io_stop(loop, &k->b_w);
	if (k->cfd >= 0)
		close(k->cfd);
	if (k->bfd >= 0)
		close(k->bfd);
	free(k->up.pend);
	free(k->down.pend);
	free(k->tried);
	if (k->prev)
		k->prev->next_conn = k->next_conn;
	else
		conns = k->next_conn;
	if (k->next_conn)
		k->next_conn->prev = k->prev;
	k->px->conns--;
	metric_set(k->px->m_conns, (double)k->px->conns);
	free(k);
}

/* Write what dir holds to fd; 0 when all is out, 1 when some waits, -1 on error. */
static int
flush(int fd, struct pipe_dir *dir)
{
	while (dir->off < dir->len) {
		ssize_t n = write(fd, dir->pend + dir->off, dir->len - dir->off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN ? 1 : -1;
		}
		dir->off += (size_t)n;
	}
	free(dir->pend);
	dir->pend = NULL;
	dir->len = dir->off = 0;
	return 0;
}

static int spl[2] = {-1, -1};   /* the shared pipe; -1: splice unavailable */
static int spl_tried;

static int
splice_ready(void)
{
	if (!spl_tried) {
		spl_tried = 1;
		if (pipe2(spl, O_NONBLOCK | O_CLOEXEC) < 0)
			spl[0] = spl[1] = -1;
		else
			fcntl(spl[1], F_SETPIPE_SZ, SPLICE_CHUNK);   /* fewer, larger moves */
	}
	return spl[0] >= 0;
}

/* Keep what the other side did not take (n bytes, still in the shared
 * pipe) in dir, and wait for dst to drain. */
static int
park(struct px_conn *k, size_t n, struct pipe_dir *dir, ev_io *src_r, ev_io *dst_w)
{
	struct ev_loop *loop = k->px->d->loop;
	size_t got = 0;

	if (!(dir->pend = malloc(n)))
		return -1;
	while (got < n) {
		ssize_t r = read(spl[0], dir->pend + got, n - got);

		if (r <= 0 && errno != EINTR)
			return -1;
		if (r > 0)
			got += (size_t)r;
	}
	dir->len = n;
	dir->off = 0;
	ev_io_stop(loop, src_r);
	ev_io_start(loop, dst_w);
	return 0;
}

/* pump() with splice: src → shared pipe → dst. */
static int
pump_splice(struct px_conn *k, int src, int dst, struct pipe_dir *dir, ev_io *src_r, ev_io *dst_w)
{
	for (;;) {
		ssize_t n = splice(src, NULL, spl[1], NULL, SPLICE_CHUNK, SPLICE_F_MOVE | SPLICE_F_NONBLOCK), w = 0;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN ? 0 : -1;
		}
		if (n == 0) {
			dir->eof = 1;
			ev_io_stop(k->px->d->loop, src_r);
			shutdown(dst, SHUT_WR);
			return 0;
		}
		while (w < n) {
			ssize_t m = splice(spl[0], NULL, dst, NULL, (size_t)(n - w), SPLICE_F_MOVE | SPLICE_F_NONBLOCK);

			if (m < 0 && errno == EINTR)
				continue;
			if (m <= 0)
				break;
			w += m;
		}
		if (w < n) {
			if (errno != EAGAIN) {
				/* dst failed: empty the pipe for the others, end this one. */
				park(k, (size_t)(n - w), dir, src_r, dst_w);
				return -1;
			}
			return park(k, (size_t)(n - w), dir, src_r, dst_w);
		}
	}
}

/* Move bytes from src to dst until src would block. -1 ends the conn. */
static int
pump(struct px_conn *k, int src, int dst, struct pipe_dir *dir, ev_io *src_r, ev_io *dst_w)
{
	struct ev_loop *loop = k->px->d->loop;
	char buf[CHUNK];

	if (splice_ready())
		return pump_splice(k, src, dst, dir, src_r, dst_w);
	for (;;) {
		ssize_t n = read(src, buf, sizeof(buf)), w = 0;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN ? 0 : -1;
		}
		if (n == 0) {
			dir->eof = 1;
			ev_io_stop(loop, src_r);
			shutdown(dst, SHUT_WR);
			return 0;
		}
		while (w < n) {
			ssize_t m = write(dst, buf + w, (size_t)(n - w));

			if (m < 0 && errno == EINTR)
				continue;
			if (m < 0 && errno != EAGAIN)
				return -1;
			if (m < 0)
				break;
			w += m;
		}
		if (w < n) {
			/* The other side is full: keep the rest, stop reading here. */
			if (!(dir->pend = malloc((size_t)(n - w))))
				return -1;
			memcpy(dir->pend, buf + w, (size_t)(n - w));
			dir->len = (size_t)(n - w);
			dir->off = 0;
			ev_io_stop(loop, src_r);
			ev_io_start(loop, dst_w);
			return 0;
		}
	}
}

static void
maybe_done(struct px_conn *k)
{
	if (k->up.eof && k->down.eof && !k->up.pend && !k->down.pend)
		conn_free(k);
}

static void
client_read(struct ev_loop *loop, ev_io *w, int revents)
{
	struct px_conn *k = w->data;

	(void)loop;
	(void)revents;
	if (pump(k, k->cfd, k->bfd, &k->up, &k->c_r, &k->b_w) < 0)
		conn_free(k);
	else
		maybe_done(k);
}

static void
backend_read(struct ev_loop *loop, ev_io *w, int revents)
{
	struct px_conn *k = w->data;

	(void)loop;
	(void)revents;
	if (pump(k, k->bfd, k->cfd, &k->down, &k->b_r, &k->c_w) < 0)
		conn_free(k);
	else
		maybe_done(k);
}

static void
client_write(struct ev_loop *loop, ev_io *w, int revents)
{
	struct px_conn *k = w->data;
	int rc = flush(k->cfd, &k->down);

	(void)revents;
	if (rc < 0) {
		conn_free(k);
		return;
	}
	if (rc == 0) {
		ev_io_stop(loop, &k->c_w);
		if (!k->down.eof)
			ev_io_start(loop, &k->b_r);
		maybe_done(k);
	}
}

static void try_connect(struct px_conn *k);

static void
backend_write(struct ev_loop *loop, ev_io *w, int revents)
{
	struct px_conn *k = w->data;
	int rc, err = 0;
	socklen_t len = sizeof(err);

	(void)revents;
	if (!k->connected) {
		ev_io_stop(loop, &k->b_w);
		if (getsockopt(k->bfd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err != 0) {
			metric_inc(k->px->m_fail);
			close(k->bfd);
			k->bfd = -1;
			try_connect(k);     /* the next endpoint */
			return;
		}
		k->connected = 1;
		free(k->tried);         /* an idle connection keeps only its struct */
		k->tried = NULL;
		ev_io_start(loop, &k->c_r);
		ev_io_start(loop, &k->b_r);
		return;
	}
	if ((rc = flush(k->bfd, &k->up)) < 0) {
		conn_free(k);
		return;
	}
	if (rc == 0) {
		ev_io_stop(loop, &k->b_w);
		if (!k->up.eof)
			ev_io_start(loop, &k->c_r);
		maybe_done(k);
	}
}

/* Connect to the next endpoint not yet tried; close the client when none
 * is left. */
static void
try_connect(struct px_conn *k)
{
	struct ev_loop *loop = k->px->d->loop;

	while (k->ntried < k->nbe) {
		struct px_backend *b = &k->tried[(k->next + k->ntried++) % k->nbe];
		struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)b->port),
		                         .sin_addr.s_addr = htonl(b->ip)};
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;

		if (fd < 0)
			break;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 && errno != EINPROGRESS) {
			close(fd);
			metric_inc(k->px->m_fail);
			continue;
		}
		k->bfd = fd;
		ev_io_init(&k->b_r, backend_read, fd, EV_READ);
		ev_io_init(&k->b_w, backend_write, fd, EV_WRITE);
		k->b_r.data = k->b_w.data = k;
		ev_io_start(loop, &k->b_w);
		return;
	}
	if (k->nbe > 0)
		log_kv(LL_WARN, KV("service", k->key), "no endpoint of %zu accepted the connection; closed it", k->nbe);
	conn_free(k);
}

static void
resume_accept(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct px_port *p = t->data;

	(void)revents;
	ev_io_start(loop, &p->accept_w);
}

void
px_accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct px_port *p = w->data;
	struct px_proxy *px = p->px;
	int fd, one = 1;

	(void)revents;
	for (int i = 0; i < 64; i++) {
		struct px_conn *k;

		fd = accept4(p->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE) {
				/* Out of descriptors: pause instead of spinning. */
				log_warn("accept on port %d", p->listen_port);
				ev_io_stop(loop, w);
				ev_timer_init(&p->accept_pause, resume_accept, 0.5, 0.0);
				p->accept_pause.data = p;
				ev_timer_start(loop, &p->accept_pause);
			}
			return;
		}
		if (p->nbe == 0 || !(k = calloc(1, sizeof(*k)))) {
			close(fd);      /* refused at once: no endpoints */
			continue;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		k->px = px;
		k->cfd = fd;
		k->bfd = -1;
		snprintf(k->key, sizeof(k->key), "%s", p->key);
		if (!(k->tried = malloc(p->nbe * sizeof(*k->tried)))) {
			close(fd);
			free(k);
			continue;
		}
		memcpy(k->tried, p->be, p->nbe * sizeof(*k->tried));
		k->nbe = p->nbe;
		k->next = p->rr++ % p->nbe;
		ev_io_init(&k->c_r, client_read, fd, EV_READ);
		ev_io_init(&k->c_w, client_write, fd, EV_WRITE);
		k->c_r.data = k->c_w.data = k;
		k->next_conn = conns;
		if (conns)
			conns->prev = k;
		conns = k;
		px->conns++;
		metric_set(px->m_conns, (double)px->conns);
		try_connect(k);
	}
}

void
px_conn_close_all(struct px_proxy *px)
{
	(void)px;
	while (conns)
		conn_free(conns);
}
