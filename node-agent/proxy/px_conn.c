/*
 * px_conn.c: userspace forwarding of one connection. Accept, pick an
 * endpoint round-robin, connect without blocking (the next endpoint when a
 * connect fails), then move bytes both ways.
 *
 * Bytes move with splice(2), socket → pipe → socket, so they never cross
 * into userspace. A direction borrows a pipe from a small pool for as long
 * as it holds bytes (the pool keeps a few empty pipes, so a busy
 * connection costs no pipe(2) per event), and gives it back once the other
 * side took everything: an idle connection costs only its struct and no
 * descriptor beyond its two sockets. While a direction holds bytes the
 * other side cannot take yet, reading from its source stops until they
 * drain (back-pressure). When no pipe can be had (out of descriptors) the
 * direction reads into a heap buffer instead, written on like the pipe.
 * A service without endpoints closes new connections at once instead of
 * letting them hang; so does a connection the node's rules did not
 * redirect here (px_redirected: someone dialled the listener directly). Not here: SPLICE_F_MORE (it corks the socket, so
 * the last bytes of a burst would wait for a timer).
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "proxy.h"

#define CHUNK 65536
#define PIPE_SIZE (1 << 20)    /* asked for; /proc/sys/fs/pipe-max-size caps it */
#define POOL_MAX 16            /* empty pipes kept for the next busy direction */
#define EVENT_BUDGET (4 << 20) /* bytes one direction moves per event: fairness */

/* One direction: bytes read from src and not yet written to dst, either in
 * a pipe (held) or, without a pipe, in a heap buffer (pend). */
struct pipe_dir {
	int p[2]; /* -1 while the direction holds no bytes */
	size_t held;
	char *pend;
	size_t len, off;
	int eof, shut;
	ev_io *src_r, *dst_w;
};

struct px_conn {
	struct px_proxy *px;
	int cfd, bfd;
	ev_io c_r, c_w, b_r, b_w;
	struct pipe_dir up, down; /* client → backend, backend → client */
	struct px_backend *tried; /* copy of the port's endpoints at accept, */
	const char *key;          /* then its key; both freed once connected */
	size_t ntried, next, nbe;
	int connected;
	struct px_conn *prev, *next_conn;
};

static struct px_conn *conns;

/* ---- the pipe pool ---- */

static int pool[POOL_MAX][2];
static int npool;
static size_t pipe_room = 65536; /* the size of our pipes, once one was made */

/* A pipe of pipe_room bytes, empty; 0, or -1 (errno) when none can be had. */
static int
pipe_get(int p[2])
{
	int sz;

	if (npool > 0) {
		npool--;
		p[0] = pool[npool][0];
		p[1] = pool[npool][1];
		return 0;
	}
	if (pipe2(p, O_NONBLOCK | O_CLOEXEC) < 0)
		return -1;
	/* Fewer, larger moves; refused (pipe-user-pages-soft) leaves 64 KiB. */
	if ((sz = fcntl(p[1], F_SETPIPE_SZ, PIPE_SIZE)) < 0)
		sz = fcntl(p[1], F_GETPIPE_SZ);
	if (sz > 0)
		pipe_room = (size_t)sz;
	return 0;
}

/* Give back the pipe of d: to the pool when empty, else closed. */
static void
pipe_put(struct pipe_dir *d)
{
	if (d->p[0] < 0)
		return;
	if (d->held == 0 && npool < POOL_MAX) {
		pool[npool][0] = d->p[0];
		pool[npool][1] = d->p[1];
		npool++;
	} else {
		close(d->p[0]);
		close(d->p[1]);
	}
	d->p[0] = d->p[1] = -1;
	d->held = 0;
}

/* Close the spare pipes (at exit, or when descriptors run out). */
static void
pool_drain(void)
{
	while (npool > 0) {
		npool--;
		close(pool[npool][0]);
		close(pool[npool][1]);
	}
}

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
	pipe_put(&k->up);
	pipe_put(&k->down);
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

/* Write what d holds to fd; 0 when all is out, 1 when some waits, -1 on error. */
static int
drain(int fd, struct pipe_dir *d)
{
	while (d->held > 0) {
		ssize_t n = splice(d->p[0], NULL, fd, NULL, d->held, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN ? 1 : -1;
		d->held -= (size_t)n;
	}
	while (d->off < d->len) {
		ssize_t n = write(fd, d->pend + d->off, d->len - d->off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN ? 1 : -1;
		d->off += (size_t)n;
	}
	free(d->pend);
	d->pend = NULL;
	d->len = d->off = 0;
	return 0;
}

/* Read from fd into d: into its pipe when one can be had, else through a
 * stack buffer into pend (drain writes either on). Bytes read, 0 at EOF,
 * -1 (errno) on error or EAGAIN. *full: it took all the room there was,
 * so fd may have more. */
static ssize_t
fill(int fd, struct pipe_dir *d, int *full)
{
	char buf[CHUNK];
	ssize_t n;

	if (d->p[0] >= 0 || pipe_get(d->p) == 0) {
		do
			n = splice(fd, NULL, d->p[1], NULL, pipe_room, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
		while (n < 0 && errno == EINTR);
		if (n > 0)
			d->held = (size_t)n;
		*full = n == (ssize_t)pipe_room;
		return n;
	}
	do
		n = read(fd, buf, sizeof(buf));
	while (n < 0 && errno == EINTR);
	*full = n == (ssize_t)sizeof(buf);
	if (n <= 0)
		return n;
	if (!(d->pend = malloc((size_t)n)))
		return -1;
	memcpy(d->pend, buf, (size_t)n);
	d->len = (size_t)n;
	d->off = 0;
	return n;
}

static void
io_set(struct ev_loop *loop, ev_io *w, int on)
{
	if (on && !ev_is_active(w))
		ev_io_start(loop, w);
	else if (!on && ev_is_active(w))
		ev_io_stop(loop, w);
}

/* Move bytes of d from its source to its destination until the source
 * would block, the destination is full or the event's budget is spent;
 * then watch whichever side can unblock d. -1 ends the connection. Level-
 * triggered watchers bring the connection back for whatever is left. */
static int
move(struct px_conn *k, struct pipe_dir *d)
{
	struct ev_loop *loop = k->px->d->loop;
	int src = d->src_r->fd, dst = d->dst_w->fd, rc, full = 1;
	size_t budget = EVENT_BUDGET;

	for (;;) {
		ssize_t n;

		if ((rc = drain(dst, d)) != 0)
			break;
		if (d->eof || !full || budget == 0)
			break;
		if ((n = fill(src, d, &full)) == 0) {
			d->eof = 1;
		} else if (n < 0) {
			if (errno != EAGAIN)
				return -1;
			break;
		} else {
			budget = (size_t)n < budget ? budget - (size_t)n : 0;
		}
	}
	if (rc < 0)
		return -1;
	if (rc == 0)
		pipe_put(d);
	if (d->eof && rc == 0 && !d->shut) {
		shutdown(dst, SHUT_WR);
		d->shut = 1;
	}
	io_set(loop, d->src_r, !d->eof && rc == 0);
	io_set(loop, d->dst_w, rc == 1);
	return 0;
}

static void
maybe_done(struct px_conn *k)
{
	if (k->up.shut && k->down.shut)
		conn_free(k);
}

static void
client_read(struct ev_loop *loop, ev_io *w, int revents)
{
	struct px_conn *k = w->data;

	(void)loop;
	(void)revents;
	if (move(k, &k->up) < 0)
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
	if (move(k, &k->down) < 0)
		conn_free(k);
	else
		maybe_done(k);
}

static void
client_write(struct ev_loop *loop, ev_io *w, int revents)
{
	struct px_conn *k = w->data;

	(void)loop;
	(void)revents;
	if (move(k, &k->down) < 0)
		conn_free(k);
	else
		maybe_done(k);
}

static void try_connect(struct px_conn *k);

static void
backend_write(struct ev_loop *loop, ev_io *w, int revents)
{
	struct px_conn *k = w->data;
	int err = 0;
	socklen_t len = sizeof(err);

	(void)revents;
	if (k->connected) {
		if (move(k, &k->up) < 0)
			conn_free(k);
		else
			maybe_done(k);
		return;
	}
	ev_io_stop(loop, &k->b_w);
	if (getsockopt(k->bfd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err != 0) {
		metric_inc(k->px->m_fail);
		close(k->bfd);
		k->bfd = -1;
		try_connect(k); /* the next endpoint */
		return;
	}
	k->connected = 1;
	free(k->tried); /* an idle connection keeps only its struct */
	k->tried = NULL;
	k->key = NULL;
	ev_io_start(loop, &k->c_r);
	ev_io_start(loop, &k->b_r);
}

/* Connect to the next endpoint not yet tried; close the client when none
 * is left. */
static void
try_connect(struct px_conn *k)
{
	struct ev_loop *loop = k->px->d->loop;

	while (k->ntried < k->nbe) {
		struct px_backend *b = &k->tried[(k->next + k->ntried++) % k->nbe];
		struct sockaddr_in sa = {
			.sin_family = AF_INET, .sin_port = htons((uint16_t)b->port), .sin_addr.s_addr = htonl(b->ip)};
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
		/* A local endpoint has often answered already: go on now rather
		 * than after a turn of the loop (and two epoll changes). */
		if (poll(&(struct pollfd){.fd = fd, .events = POLLOUT}, 1, 0) == 1)
			backend_write(loop, &k->b_w, EV_WRITE);
		else
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
	if (p->np_fd > 0)
		ev_io_start(loop, &p->np_w); /* the node port's (px_nodeport.c) */
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

		fd = accept4(w->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC); /* cluster IP or node port */
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE) {
				/* Out of descriptors: give back the spare pipes,
				 * and pause instead of spinning. */
				log_warn("accept on port %d", p->listen_port);
				pool_drain();
				ev_io_stop(loop, w);
				if (ev_is_active(&p->accept_pause))
					return; /* the other listener paused first */
				ev_timer_init(&p->accept_pause, resume_accept, 0.5, 0.0);
				p->accept_pause.data = p;
				ev_timer_start(loop, &p->accept_pause);
			}
			return;
		}
		if (w != &p->np_w && !px_redirected(p, fd)) { /* node ports are dialled directly */
			log_kv(LL_DEBUG, KV("service", p->key), "closed a connection not redirected by our rules");
			close(fd);
			continue;
		}
		if (p->nbe == 0 || !(k = calloc(1, sizeof(*k)))) {
			close(fd); /* refused at once: no endpoints */
			continue;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		k->px = px;
		k->cfd = fd;
		k->bfd = -1;
		k->up = (struct pipe_dir){.p = {-1, -1}, .src_r = &k->c_r, .dst_w = &k->b_w};
		k->down = (struct pipe_dir){.p = {-1, -1}, .src_r = &k->b_r, .dst_w = &k->c_w};
		if (!(k->tried = malloc(p->nbe * sizeof(*k->tried) + strlen(p->key) + 1))) {
			close(fd);
			free(k);
			continue;
		}
		memcpy(k->tried, p->be, p->nbe * sizeof(*k->tried));
		k->key = strcpy((char *)(k->tried + p->nbe), p->key);
		k->nbe = p->nbe;
		k->next = px_affinity_pick_conn(p, fd, ev_now(loop)); /* round-robin, or the client's */
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
	pool_drain();
}
