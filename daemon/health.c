/*
 * health.c: /healthz and /metrics over libmicrohttpd, in the caller's loop.
 *
 * libmicrohttpd is loaded by the first health_listen (health_mhd.c), so
 * that a program serving no health does not load it.
 *
 * MHD runs in "external epoll" mode: it keeps its sockets in one epoll fd,
 * which an ev_io watches; whenever that fd is readable, or MHD's own timeout
 * (ev_timer, re-armed after each MHD_run) is due, MHD_run does the work
 * without blocking. Responses are built whole and copied into MHD. It does
 * not authenticate or serve anything else; bind to loopback unless a scraper
 * elsewhere needs it.
 */
#include <arpa/inet.h>
#include <ev.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "health.h"
#include "health_mhd.h"
#include "log.h"
#include "metrics.h"

#define HEALTH_MAX_CONN 32
#define HEALTH_CONN_TIMEOUT_S 10
#define HEALTH_BODY_MAX 2048

struct check {
	struct check *next;
	char *name;
	health_check_fn fn;
	void *arg;
};

struct health {
	struct metrics *metrics; /* borrowed */
	struct check *checks, **tail;
	struct MHD_Daemon *mhd;
	struct ev_loop *loop;
	ev_io io;
	ev_timer timer;
	int port;
	char mhd_err[256]; /* MHD's last complaint, for health_listen's message */
};

struct health *
health_new(struct metrics *m)
{
	struct health *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	h->metrics = m;
	h->tail = &h->checks;
	return h;
}

void
health_free(struct health *h)
{
	struct check *c, *next;

	if (!h)
		return;
	if (h->mhd) {
		ev_io_stop(h->loop, &h->io);
		ev_timer_stop(h->loop, &h->timer);
		health_mhd.stop_daemon(h->mhd);
	}
	for (c = h->checks; c; c = next) {
		next = c->next;
		free(c->name);
		free(c);
	}
	free(h);
}

int
health_check_add(struct health *h, const char *name, health_check_fn fn, void *arg)
{
	struct check *c = calloc(1, sizeof(*c));

	if (!c || !(c->name = strdup(name))) {
		free(c);
		return -1;
	}
	c->fn = fn;
	c->arg = arg;
	*h->tail = c;
	h->tail = &c->next;
	return 0;
}

int
health_check_all(struct health *h, char *out, size_t len)
{
	size_t used = 0;
	char why[200];
	int rc = 0;

	out[0] = '\0';
	for (struct check *c = h->checks; c; c = c->next) {
		why[0] = '\0';
		if (c->fn(c->arg, why, sizeof(why)) == 0)
			continue;
		rc = -1;
		if (used < len)
			used += (size_t)snprintf(out + used, len - used, "%s: %s\n", c->name, why[0] ? why : "failing");
	}
	return rc;
}

static enum MHD_Result
reply(struct MHD_Connection *conn, unsigned int status, const char *body, size_t len, const char *type)
{
	struct MHD_Response *r = health_mhd.create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
	enum MHD_Result rc;

	if (!r)
		return MHD_NO;
	health_mhd.add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	rc = health_mhd.queue_response(conn, status, r);
	health_mhd.destroy_response(r);
	return rc;
}

static enum MHD_Result
reply_metrics(struct health *h, struct MHD_Connection *conn)
{
	static const char type[] = "text/plain; version=0.0.4; charset=utf-8";
	size_t len = 0;
	char *text = h->metrics ? metrics_render(h->metrics, &len) : NULL;
	enum MHD_Result rc;

	if (h->metrics && !text)
		return reply(conn, 500, "out of memory\n", 14, "text/plain");
	rc = reply(conn, 200, text ? text : "", len, type);
	free(text);
	return rc;
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method, const char *version,
           const char *upload, size_t *upload_len, void **req)
{
	struct health *h = cls;
	char body[HEALTH_BODY_MAX];

	(void)version, (void)upload, (void)upload_len, (void)req;
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		return reply(conn, 405, "method not allowed\n", 19, "text/plain");
	if (strcmp(url, "/metrics") == 0)
		return reply_metrics(h, conn);
	if (strcmp(url, "/healthz") != 0)
		return reply(conn, 404, "not found\n", 10, "text/plain");
	if (health_check_all(h, body, sizeof(body)) == 0)
		return reply(conn, 200, "ok\n", 3, "text/plain; charset=utf-8");
	return reply(conn, 503, body, strlen(body), "text/plain; charset=utf-8");
}

static void
on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	struct health *h = cls;
	size_t n;

	vsnprintf(h->mhd_err, sizeof(h->mhd_err), fmt, ap);
	n = strlen(h->mhd_err);
	while (n > 0 && (h->mhd_err[n - 1] == '\n' || h->mhd_err[n - 1] == '.'))
		h->mhd_err[--n] = '\0';
	if (h->mhd)
		log_debug("health server: %s", h->mhd_err);
}

/* Let MHD work, then wait for its epoll fd or its next deadline. */
static void
drive(struct health *h)
{
	MHD_UNSIGNED_LONG_LONG ms;

	health_mhd.run(h->mhd);
	ev_timer_stop(h->loop, &h->timer);
	if (health_mhd.get_timeout(h->mhd, &ms) == MHD_YES) {
		ev_timer_set(&h->timer, (double)ms / 1000.0, 0.);
		ev_timer_start(h->loop, &h->timer);
	}
}

static void
on_io(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop, (void)revents;
	drive(w->data);
}

static void
on_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop, (void)revents;
	drive(w->data);
}

/* MHD's default on POSIX is SO_REUSEADDR without SO_REUSEPORT: a restart
 * can bind again at once, a second daemon on the same port fails. */
#define MHD_COMMON_OPTS                                                                            \
	MHD_OPTION_CONNECTION_LIMIT, (unsigned int)HEALTH_MAX_CONN, MHD_OPTION_CONNECTION_TIMEOUT, \
		(unsigned int)HEALTH_CONN_TIMEOUT_S, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, h, MHD_OPTION_END

/* Start MHD on host:port; an empty host means every interface (IPv6 and
 * IPv4 when the kernel allows, else IPv4). */
static struct MHD_Daemon *
start_mhd(struct health *h, const char *host, const char *port, char *err, size_t len)
{
	const unsigned int flags = MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV}, *ai;
	struct MHD_Daemon *d;
	int rc;

	if (!*host) {
		uint16_t p = (uint16_t)atoi(port);

		d = health_mhd.start_daemon(flags | MHD_USE_DUAL_STACK, p, NULL, NULL, on_request, h, MHD_COMMON_OPTS);
		return d ? d : health_mhd.start_daemon(flags, p, NULL, NULL, on_request, h, MHD_COMMON_OPTS);
	}
	if ((rc = getaddrinfo(host, port, &hints, &ai)) != 0) {
		snprintf(err, len, "health address %s:%s: %s", host, port, gai_strerror(rc));
		return NULL;
	}
	d = health_mhd.start_daemon(flags | (ai->ai_family == AF_INET6 ? MHD_USE_IPv6 : 0), (uint16_t)atoi(port), NULL,
	                            NULL, on_request, h, MHD_OPTION_SOCK_ADDR, ai->ai_addr, MHD_COMMON_OPTS);
	freeaddrinfo(ai);
	return d;
}

/* "host:port", ":port" or "[v6]:port" into host and port. */
static int
split_addr(const char *addr, char *host, size_t hlen, char *port, size_t plen)
{
	const char *colon = strrchr(addr, ':');
	const char *h = addr, *he = colon;

	if (!colon || !colon[1])
		return -1;
	if (addr[0] == '[') {
		h++;
		if (colon[-1] != ']')
			return -1;
		he--;
	}
	if ((size_t)(he - h) >= hlen || strlen(colon + 1) >= plen ||
	    strspn(colon + 1, "0123456789") != strlen(colon + 1) || atol(colon + 1) > 65535)
		return -1;
	snprintf(host, hlen, "%.*s", (int)(he - h), h);
	snprintf(port, plen, "%s", colon + 1);
	return 0;
}

/* The port of MHD's listening socket (MHD's own answer misses IPv6). */
static int
bound_port(struct MHD_Daemon *d)
{
	const union MHD_DaemonInfo *info = health_mhd.get_daemon_info(d, MHD_DAEMON_INFO_LISTEN_FD);
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (!info || getsockname(info->listen_fd, (struct sockaddr *)&ss, &len) < 0)
		return 0;
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

int
health_listen(struct health *h, struct ev_loop *loop, const char *addr, char *err, size_t len)
{
	char host[256], port[16];
	const union MHD_DaemonInfo *info;

	if (h->mhd) {
		snprintf(err, len, "health server already listening");
		return -1;
	}
	if (split_addr(addr, host, sizeof(host), port, sizeof(port)) < 0) {
		snprintf(err, len, "health address \"%s\" is not host:port", addr);
		return -1;
	}
	if (health_mhd_load(err, len) < 0)
		return -1;
	err[0] = h->mhd_err[0] = '\0';
	if (!(h->mhd = start_mhd(h, host, port, err, len))) {
		if (!err[0])
			snprintf(err, len, "cannot serve health on %s: %s", addr,
			         h->mhd_err[0] ? h->mhd_err : "failed");
		return -1;
	}
	h->loop = loop;
	h->port = bound_port(h->mhd);
	if (!(info = health_mhd.get_daemon_info(h->mhd, MHD_DAEMON_INFO_EPOLL_FD))) {
		snprintf(err, len, "health server: libmicrohttpd has no epoll fd");
		health_mhd.stop_daemon(h->mhd);
		h->mhd = NULL;
		return -1;
	}
	ev_io_init(&h->io, on_io, info->epoll_fd, EV_READ);
	ev_timer_init(&h->timer, on_timer, 0., 0.);
	h->io.data = h->timer.data = h;
	ev_io_start(loop, &h->io);
	drive(h);
	return 0;
}

int
health_port(const struct health *h)
{
	return h && h->mhd ? h->port : 0;
}
