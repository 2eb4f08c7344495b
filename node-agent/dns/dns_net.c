/*
 * dns_net.c: skiff-dns's listeners. UDP: each readable event reads up to
 * a batch of datagrams and answers each at once (or hands it to
 * dns_fwd.c). TCP: RFC 1035's two-byte length framing, several queries
 * per connection answered in order of completion, an idle timeout, at
 * most --tcp-max-conns connections (accept pauses at the limit and on
 * EMFILE). Both bind with IP_FREEBIND, so the node's DNS address may be
 * added after we start. It does not resolve anything itself.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dns.h"
#include "log.h"
#include "metrics.h"

#define UDP_BATCH 64
#define TCP_MSG_MAX 65535

struct dns_conn {
	struct dns_server *s;
	int fd;
	ev_io rw, ww;
	ev_timer idle;
	uint8_t *in; /* grows to one whole message at most */
	size_t in_len, in_cap;
	int busy, dead; /* answering what was read; a write failed meanwhile */
	uint8_t *out;
	size_t out_len, out_cap;
	struct dns_conn *prev, *next;
};

#define HOT_QUERY_MAX 512 /* longer queries are not remembered */
#define HOT_TTL 3600.0    /* the table's serial ends them sooner */

/* The key of a query among our own answers: the transport, then every
 * byte after the id (same bytes, same answer while the table is the
 * same). Its length, or 0 when the query is not remembered. */
static size_t
hot_key(uint8_t *key, const uint8_t *msg, size_t len, const struct dns_client *c)
{
	if (len < 12 || len > HOT_QUERY_MAX)
		return 0;
	key[0] = c->conn != NULL;
	memcpy(key + 1, msg + 2, len - 2);
	return len - 1;
}

/* Answer msg from our own earlier answers; 1 when it did. */
static int
from_hot(struct dns_server *s, const uint8_t *key, size_t klen, const uint8_t *msg, const struct dns_client *c)
{
	static uint8_t out[TCP_MSG_MAX];
	const uint8_t *hit;
	size_t len;

	if (s->answers_serial != s->table.serial || !s->table.ready) {
		dns_cache_clear(s->answers);
		s->answers_serial = s->table.serial;
	}
	if (!klen || !(hit = dns_cache_get_raw(s->answers, key, klen, ev_now(s->loop), &len)) || len > sizeof(out))
		return 0;
	memcpy(out, hit, len);
	out[0] = msg[0], out[1] = msg[1];
	if (out[2] & 0x02)
		metric_inc(s->m_trunc);
	dns_net_reply(s, c, out, len);
	return 1;
}

static void
handle(struct dns_server *s, const uint8_t *msg, size_t len, const struct dns_client *c)
{
	struct dns_question q;
	uint8_t *ans = NULL, key[HOT_QUERY_MAX];
	size_t ans_len = 0, klen = hot_key(key, msg, len, c);

	if (from_hot(s, key, klen, msg, c))
		return;
	switch (dns_answer(&s->table, msg, len, c->conn ? TCP_MSG_MAX : 0, &ans, &ans_len, &q)) {
	case DNS_ANSWER:
		if (q.malformed)
			metric_inc(s->m_malformed);
		else if (ans_len > 3 && (ans[2] & 0x02))
			metric_inc(s->m_trunc);
		if (!q.malformed && s->table.ready && klen)
			dns_cache_put_raw(s->answers, key, klen, ans, ans_len, ev_now(s->loop), HOT_TTL);
		dns_net_reply(s, c, ans, ans_len);
		break;
	case DNS_FORWARD: dns_fwd_query(s, &q, msg, len, c); break;
	case DNS_DROP: metric_inc(s->m_malformed); break;
	}
	free(ans);
}

static void
udp_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct dns_server *s = w->data;
	uint8_t buf[TCP_MSG_MAX];

	(void)loop;
	(void)revents;
	for (int i = 0; i < UDP_BATCH; i++) {
		struct dns_client c = {0};
		socklen_t alen = sizeof(c.addr);
		ssize_t n = recvfrom(s->udp_fd, buf, sizeof(buf), 0, (struct sockaddr *)&c.addr, &alen);

		if (n < 0)
			return;
		metric_inc(s->m_udp);
		handle(s, buf, (size_t)n, &c);
	}
}

static void
conn_close(struct dns_conn *k)
{
	struct dns_server *s = k->s;

	ev_io_stop(s->loop, &k->rw);
	ev_io_stop(s->loop, &k->ww);
	ev_timer_stop(s->loop, &k->idle);
	close(k->fd);
	dns_fwd_forget_conn(s, k);
	if (k->prev)
		k->prev->next = k->next;
	else
		s->conns = k->next;
	if (k->next)
		k->next->prev = k->prev;
	s->n_conns--;
	metric_set(s->m_conns, (double)s->n_conns);
	free(k->in);
	free(k->out);
	free(k);
	if (s->tcp_fd >= 0 && !ev_is_active(&s->tcp_w) && !ev_is_active(&s->accept_pause))
		ev_io_start(s->loop, &s->tcp_w);
}

/* Write what is queued; 0, or -1 when the connection went. */
static int
conn_flush(struct dns_conn *k)
{
	while (k->out_len) {
		ssize_t n = write(k->fd, k->out, k->out_len);

		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			ev_io_start(k->s->loop, &k->ww);
			return 0;
		}
		if (n <= 0) {
			if (k->busy)
				k->dead = 1; /* conn_messages closes it */
			else
				conn_close(k);
			return -1;
		}
		memmove(k->out, k->out + n, k->out_len - (size_t)n);
		k->out_len -= (size_t)n;
	}
	ev_io_stop(k->s->loop, &k->ww);
	return 0;
}

static void
conn_write_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop;
	(void)revents;
	conn_flush(w->data);
}

static void
conn_idle_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	conn_close(w->data);
}

/* Answer every whole message in k->in. -1 when k went. */
static int
conn_messages(struct dns_conn *k)
{
	size_t off = 0;

	k->busy = 1;
	while (!k->dead && k->in_len - off >= 2) {
		size_t n = (size_t)k->in[off] << 8 | k->in[off + 1];
		struct dns_client c = {.conn = k};

		if (k->in_len - off - 2 < n)
			break;
		metric_inc(k->s->m_tcp);
		handle(k->s, k->in + off + 2, n, &c);
		off += 2 + n;
	}
	k->busy = 0;
	if (k->dead) {
		conn_close(k);
		return -1;
	}
	memmove(k->in, k->in + off, k->in_len - off);
	k->in_len -= off;
	return 0;
}

/* Room for what the next read may bring (the rest of the message whose
 * length is known, else a little). 0, or -1 out of memory. */
static int
conn_room(struct dns_conn *k)
{
	size_t want = k->in_len + 512;

	if (k->in_len >= 2)
		want = 2 + ((size_t)k->in[0] << 8 | k->in[1]);
	if (want < k->in_len + 512)
		want = k->in_len + 512;
	if (want > 2 + TCP_MSG_MAX)
		want = 2 + TCP_MSG_MAX;
	if (want <= k->in_cap)
		return 0;
	uint8_t *in = realloc(k->in, want);
	if (!in)
		return -1;
	k->in = in, k->in_cap = want;
	return 0;
}

static void
conn_read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct dns_conn *k = w->data;
	ssize_t n;

	(void)revents;
	if (conn_room(k) < 0) {
		conn_close(k);
		return;
	}
	n = read(k->fd, k->in + k->in_len, k->in_cap - k->in_len);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (n <= 0) {
		conn_close(k);
		return;
	}
	k->in_len += (size_t)n;
	ev_timer_again(loop, &k->idle);
	conn_messages(k);
}

static void
accept_resume_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct dns_server *s = w->data;

	(void)revents;
	if (s->n_conns < (size_t)s->cfg.tcp_max_conns)
		ev_io_start(loop, &s->tcp_w);
}

static void
accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct dns_server *s = w->data;
	struct dns_conn *k;
	int fd;

	(void)revents;
	if (s->n_conns >= (size_t)s->cfg.tcp_max_conns) {
		ev_io_stop(loop, w); /* conn_close starts it again */
		return;
	}
	if ((fd = accept4(s->tcp_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) < 0) {
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
			ev_io_stop(loop, w);
			ev_timer_set(&s->accept_pause, 0.5, 0);
			ev_timer_start(loop, &s->accept_pause);
		}
		return;
	}
	if (!(k = calloc(1, sizeof(*k)))) {
		close(fd);
		return;
	}
	k->s = s, k->fd = fd;
	ev_io_init(&k->rw, conn_read_cb, fd, EV_READ);
	ev_io_init(&k->ww, conn_write_cb, fd, EV_WRITE);
	ev_init(&k->idle, conn_idle_cb);
	k->idle.repeat = s->cfg.tcp_idle;
	k->rw.data = k->ww.data = k->idle.data = k;
	ev_io_start(loop, &k->rw);
	ev_timer_again(loop, &k->idle);
	if ((k->next = s->conns))
		k->next->prev = k;
	s->conns = k;
	metric_set(s->m_conns, (double)++s->n_conns);
}

/* Queue a framed answer on k and write what can be. */
static void
conn_send(struct dns_conn *k, const uint8_t *msg, size_t len)
{
	if (len > TCP_MSG_MAX)
		return;
	if (k->out_len + 2 + len > k->out_cap) {
		size_t cap = k->out_len + 2 + len + 4096;
		uint8_t *o = realloc(k->out, cap);

		if (!o) {
			conn_close(k);
			return;
		}
		k->out = o, k->out_cap = cap;
	}
	k->out[k->out_len] = (uint8_t)(len >> 8);
	k->out[k->out_len + 1] = (uint8_t)len;
	memcpy(k->out + k->out_len + 2, msg, len);
	k->out_len += 2 + len;
	conn_flush(k);
}

void
dns_net_reply(struct dns_server *s, const struct dns_client *c, const uint8_t *answer, size_t len)
{
	if (c->conn)
		conn_send(c->conn, answer, len);
	else
		sendto(s->udp_fd, answer, len, MSG_DONTWAIT, (const struct sockaddr *)&c->addr, sizeof(c->addr));
}

static int
open_socket(int type, const struct sockaddr_in *addr, char *err, size_t len)
{
	int fd = socket(AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;
	char ip[INET_ADDRSTRLEN];

	if (fd < 0) {
		snprintf(err, len, "socket: %s", strerror(errno));
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(fd, IPPROTO_IP, IP_FREEBIND, &one, sizeof(one));
	if (addr && (bind(fd, (const struct sockaddr *)addr, sizeof(*addr)) < 0 ||
	             (type == SOCK_STREAM && listen(fd, 128) < 0))) {
		inet_ntop(AF_INET, &addr->sin_addr, ip, sizeof(ip));
		snprintf(err, len, "cannot listen on %s:%d (%s): %s", ip, ntohs(addr->sin_port),
		         type == SOCK_STREAM ? "tcp" : "udp", strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

int
dns_net_start(struct dns_server *s, char *err, size_t len)
{
	struct sockaddr_in any = {.sin_family = AF_INET};

	s->udp_fd = s->tcp_fd = s->up_fd = -1;
	if ((s->udp_fd = open_socket(SOCK_DGRAM, &s->cfg.listen, err, len)) < 0 ||
	    (s->tcp_fd = open_socket(SOCK_STREAM, &s->cfg.listen, err, len)) < 0 ||
	    (s->up_fd = open_socket(SOCK_DGRAM, &any, err, len)) < 0) {
		dns_net_stop(s);
		return -1;
	}
	ev_io_init(&s->udp_w, udp_cb, s->udp_fd, EV_READ);
	ev_io_init(&s->tcp_w, accept_cb, s->tcp_fd, EV_READ);
	ev_io_init(&s->up_w, dns_fwd_read_cb, s->up_fd, EV_READ);
	ev_init(&s->accept_pause, accept_resume_cb);
	s->udp_w.data = s->tcp_w.data = s->up_w.data = s->accept_pause.data = s;
	ev_io_start(s->loop, &s->udp_w);
	ev_io_start(s->loop, &s->tcp_w);
	ev_io_start(s->loop, &s->up_w);
	return 0;
}

void
dns_net_stop(struct dns_server *s)
{
	dns_fwd_stop(s);
	while (s->conns)
		conn_close(s->conns);
	ev_io_stop(s->loop, &s->udp_w);
	ev_io_stop(s->loop, &s->tcp_w);
	ev_io_stop(s->loop, &s->up_w);
	ev_timer_stop(s->loop, &s->accept_pause);
	if (s->udp_fd >= 0)
		close(s->udp_fd);
	if (s->tcp_fd >= 0)
		close(s->tcp_fd);
	if (s->up_fd >= 0)
		close(s->up_fd);
	s->udp_fd = s->tcp_fd = s->up_fd = -1;
}
