/*
 * dns_fwd.c: names that are not the cluster's go to the nameservers of
 * the node's resolv.conf, over UDP, one at a time: each gets
 * --forward-timeout, then the next is tried; when none answers the
 * client gets SERVFAIL. A query goes out with an id of ours (random,
 * unique among those pending) and its answer must come from the server
 * asked and repeat the question; the client gets it back with its own
 * id. Answers (NOERROR, NXDOMAIN) are cached for min(TTL, 30 s). It does
 * not forward over TCP (a truncated upstream answer reaches the client
 * truncated, and it asks again) nor do DNSSEC.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <ldns/ldns.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>

#include "dns.h"
#include "log.h"
#include "metrics.h"

#define CACHE_TTL_MAX 30.0

struct dns_pending {
	uint16_t id; /* ours */
	struct dns_server *s;
	struct dns_question q;
	struct dns_client c;
	uint8_t *msg; /* the query as sent (our id) */
	size_t len;
	int tried; /* upstreams asked */
	ev_timer deadline;
	UT_hash_handle hh;
};

static int
is_self(const struct dns_server *s, const struct in_addr *a)
{
	if (ntohs(s->cfg.listen.sin_port) != 53)
		return 0;
	return s->cfg.listen.sin_addr.s_addr == a->s_addr || s->cfg.listen.sin_addr.s_addr == INADDR_ANY;
}

int
dns_fwd_load(struct dns_server *s, const char *path, char *err, size_t len)
{
	FILE *f = fopen(path, "r");
	char line[512], ip[128];

	s->n_upstreams = 0;
	if (!f) {
		snprintf(err, len, "cannot read %s: %s", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f) && s->n_upstreams < DNS_MAX_UPSTREAMS) {
		struct sockaddr_in *u = &s->upstreams[s->n_upstreams];

		if (sscanf(line, " nameserver %127s", ip) != 1)
			continue;
		memset(u, 0, sizeof(*u));
		u->sin_family = AF_INET;
		u->sin_port = htons(53);
		/* IPv6 servers are skipped: the node's pods are IPv4 only. */
		if (inet_pton(AF_INET, ip, &u->sin_addr) == 1 && !is_self(s, &u->sin_addr))
			s->n_upstreams++;
	}
	fclose(f);
	return 0;
}

static void
pending_free(struct dns_pending *p)
{
	struct dns_server *s = p->s;

	ev_timer_stop(s->loop, &p->deadline);
	HASH_DEL(s->pending, p);
	s->n_pending--;
	free(p->msg);
	free(p);
}

static void
servfail(struct dns_server *s, const struct dns_question *q, int rd, const struct dns_client *c)
{
	size_t len = 0;
	uint8_t *a = dns_answer_error(q, LDNS_RCODE_SERVFAIL, rd, &len);

	metric_inc(s->m_fwd_fail);
	if (a && (c->conn || c->addr.sin_family))
		dns_net_reply(s, c, a, len);
	free(a);
}

/* Send p to its next upstream with a new deadline; 0, or -1 when none is left. */
static int
send_next(struct dns_pending *p)
{
	struct dns_server *s = p->s;

	while (p->tried < s->n_upstreams) {
		const struct sockaddr_in *u = &s->upstreams[p->tried++];

		if (sendto(s->up_fd, p->msg, p->len, MSG_DONTWAIT, (const struct sockaddr *)u, sizeof(*u)) < 0)
			continue;
		ev_timer_set(&p->deadline, s->cfg.forward_timeout, 0);
		ev_timer_start(s->loop, &p->deadline);
		return 0;
	}
	return -1;
}

static void
deadline_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct dns_pending *p = w->data;

	(void)loop;
	(void)revents;
	if (send_next(p) == 0)
		return;
	servfail(p->s, &p->q, p->msg[2] & 1, &p->c);
	pending_free(p);
}

/* Answer from the cache; 1 when it did. */
static int
from_cache(struct dns_server *s, const struct dns_question *q, const struct dns_client *c)
{
	size_t len;
	const uint8_t *hit = dns_cache_get(s->cache, q->name, q->type, q->qclass, ev_now(s->loop), &len);
	uint8_t *a;

	if (!hit || !(a = malloc(len)))
		return 0;
	memcpy(a, hit, len);
	a[0] = (uint8_t)(q->id >> 8), a[1] = (uint8_t)q->id;
	if (!c->conn && len > q->udp_size && (len = dns_truncate(a, len)))
		metric_inc(s->m_trunc);
	if (len)
		dns_net_reply(s, c, a, len);
	free(a);
	metric_inc(s->m_hits);
	return 1;
}

static struct dns_pending *
pending_new(struct dns_server *s, const struct dns_question *q, const uint8_t *query, size_t len,
            const struct dns_client *c)
{
	struct dns_pending *p = calloc(1, sizeof(*p)), *other;

	if (!p || !(p->msg = malloc(len))) {
		free(p);
		return NULL;
	}
	do {
		if (getrandom(&p->id, sizeof(p->id), GRND_NONBLOCK) != sizeof(p->id))
			p->id = (uint16_t)rand();
		HASH_FIND(hh, s->pending, &p->id, sizeof(p->id), other);
	} while (other);
	memcpy(p->msg, query, len);
	p->msg[0] = (uint8_t)(p->id >> 8), p->msg[1] = (uint8_t)p->id;
	p->len = len;
	p->s = s, p->q = *q, p->c = *c;
	ev_init(&p->deadline, deadline_cb);
	p->deadline.data = p;
	HASH_ADD(hh, s->pending, id, sizeof(p->id), p);
	s->n_pending++;
	return p;
}

void
dns_fwd_query(struct dns_server *s, const struct dns_question *q, const uint8_t *query, size_t len,
              const struct dns_client *c)
{
	struct dns_pending *p;

	if (from_cache(s, q, c))
		return;
	metric_inc(s->m_fwd);
	if (!s->n_upstreams || s->n_pending >= DNS_MAX_PENDING || !(p = pending_new(s, q, query, len, c))) {
		servfail(s, q, query[2] & 1, c);
		return;
	}
	if (send_next(p) < 0) {
		servfail(s, q, query[2] & 1, c);
		pending_free(p);
	}
}

/* The length of the question section of msg (from byte 12), or 0. */
static size_t
question_len(const uint8_t *msg, size_t len)
{
	size_t i = 12;

	while (i < len && msg[i]) {
		if ((msg[i] & 0xc0) != 0)
			return 0; /* a query's question is never compressed */
		i += 1 + msg[i];
	}
	return i + 5 <= len ? i + 5 - 12 : 0;
}

/* ans (n bytes, from from) answers p: same server, same question. */
static int
answers(const struct dns_pending *p, const uint8_t *ans, size_t n, const struct sockaddr_in *from)
{
	const struct sockaddr_in *u = &p->s->upstreams[p->tried - 1];
	size_t ql = question_len(p->msg, p->len);

	if (from->sin_addr.s_addr != u->sin_addr.s_addr || from->sin_port != u->sin_port || !(ans[2] & 0x80))
		return 0;
	if (!ql || n < 12 + ql)
		return 0;
	/* Names compare without case (label lengths are below 'A'). */
	for (size_t i = 12; i < 12 + ql - 4; i++)
		if (tolower(ans[i]) != tolower(p->msg[i]))
			return 0;
	return memcmp(ans + 12 + ql - 4, p->msg + 12 + ql - 4, 4) == 0;
}

static void
deliver(struct dns_server *s, struct dns_pending *p, uint8_t *ans, size_t n)
{
	int rcode = ans[3] & 0xf;
	double ttl;

	ans[0] = (uint8_t)(p->q.id >> 8), ans[1] = (uint8_t)p->q.id;
	if ((rcode == LDNS_RCODE_NOERROR || rcode == LDNS_RCODE_NXDOMAIN) && !(ans[2] & 0x02)) {
		ttl = dns_min_ttl(ans, n);
		dns_cache_put(s->cache, p->q.name, p->q.type, p->q.qclass, ans, n, ev_now(s->loop),
		              ttl < CACHE_TTL_MAX ? ttl : CACHE_TTL_MAX);
	}
	if (!p->c.conn && n > p->q.udp_size && (n = dns_truncate(ans, n)))
		metric_inc(s->m_trunc);
	if (n && (p->c.conn || p->c.addr.sin_family))
		dns_net_reply(s, &p->c, ans, n);
}

void
dns_fwd_read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct dns_server *s = w->data;
	uint8_t buf[65535];

	(void)loop;
	(void)revents;
	for (int i = 0; i < 64; i++) {
		struct sockaddr_in from;
		socklen_t alen = sizeof(from);
		ssize_t n = recvfrom(s->up_fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &alen);
		struct dns_pending *p;
		uint16_t id;

		if (n < 0)
			return;
		if (n < 12)
			continue;
		id = (uint16_t)(buf[0] << 8 | buf[1]);
		HASH_FIND(hh, s->pending, &id, sizeof(id), p);
		if (!p || !answers(p, buf, (size_t)n, &from))
			continue; /* late, spoofed or garbage */
		deliver(s, p, buf, (size_t)n);
		pending_free(p);
	}
}

void
dns_fwd_forget_conn(struct dns_server *s, const struct dns_conn *conn)
{
	struct dns_pending *p, *tmp;

	HASH_ITER(hh, s->pending, p, tmp)
		if (p->c.conn == conn)
			p->c.conn = NULL, p->c.addr.sin_family = 0; /* nobody to answer */
}

void
dns_fwd_stop(struct dns_server *s)
{
	struct dns_pending *p, *tmp;

	HASH_ITER(hh, s->pending, p, tmp)
		pending_free(p);
}
