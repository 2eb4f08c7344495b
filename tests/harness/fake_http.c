/*
 * fake_http.c: canned-reply HTTP server for malformed-response tests (see
 * fake_http.h). One acceptor thread plus one thread per connection; a
 * self-pipe that is written once and never read wakes every poll() on stop.
 * It does not parse HTTP beyond finding the end of the request head and a
 * Content-Length, and answers "Expect: 100-continue" so large uploads work.
 */
#include "fake_http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

struct fh_conn {
	struct fake_http *f;
	int fd;
};

struct fake_http {
	int lfd;
	int stop[2];
	pthread_t acceptor;
	pthread_mutex_t mu;
	pthread_cond_t idle;
	int nreq;
	int active;        /* connection threads still running */
	struct fh_reply r; /* head and tail point into owned copies */
	char *head, *tail;
	char url[64];
};

/* Wait until fd is ready for events or stop is signalled. 1 ready, 0 stop. */
static int
wait_fd(struct fake_http *f, int fd, short events)
{
	struct pollfd p[2] = {{fd, events, 0}, {f->stop[0], POLLIN, 0}};
	for (;;) {
		int r = poll(p, 2, -1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 || p[1].revents)
			return 0;
		if (p[0].revents)
			return 1;
	}
}

static int
send_all(struct fake_http *f, int fd, const char *p, size_t n)
{
	while (n > 0) {
		if (!wait_fd(f, fd, POLLOUT))
			return -1;
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static long
content_length(const char *head)
{
	const char *p = head;
	while ((p = strchr(p, '\n')) != NULL) {
		p++;
		if (strncasecmp(p, "content-length:", 15) == 0)
			return strtol(p + 15, NULL, 10);
	}
	return 0;
}

/* Read one request head and body. 0 ok, 1 ok but over max_replies,
 * -1 closed/stopped. */
static int
read_request(struct fake_http *f, int fd)
{
	char head[16384];
	size_t n = 0;
	char *end = NULL;
	while (!end) {
		if (n == sizeof head - 1 || !wait_fd(f, fd, POLLIN))
			return -1;
		ssize_t r = recv(fd, head + n, sizeof head - 1 - n, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		n += (size_t)r;
		head[n] = 0;
		end = strstr(head, "\r\n\r\n");
	}
	long body = content_length(head) - (long)(n - (size_t)(end + 4 - head));
	if (strcasestr(head, "expect: 100-continue")) {
		static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
		if (send_all(f, fd, cont, sizeof cont - 1) < 0)
			return -1;
	}
	while (body > 0) {
		char buf[65536];
		if (!wait_fd(f, fd, POLLIN))
			return -1;
		ssize_t r = recv(fd, buf, sizeof buf, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		body -= r;
	}
	pthread_mutex_lock(&f->mu);
	int nr = ++f->nreq;
	pthread_mutex_unlock(&f->mu);
	return f->r.max_replies > 0 && nr > f->r.max_replies ? 1 : 0;
}

static int
send_reply(struct fake_http *f, int fd)
{
	const struct fh_reply *r = &f->r;
	if (r->head && send_all(f, fd, r->head, r->head_len) < 0)
		return -1;
	if (r->fill_len) {
		char buf[65536];
		memset(buf, r->fill_byte, sizeof buf);
		for (size_t left = r->fill_len; left > 0;) {
			size_t k = left < sizeof buf ? left : sizeof buf;
			if (send_all(f, fd, buf, k) < 0)
				return -1;
			left -= k;
		}
	}
	if (r->tail && send_all(f, fd, r->tail, r->tail_len) < 0)
		return -1;
	return 0;
}

static void *
conn_main(void *arg)
{
	struct fh_conn *c = arg;
	struct fake_http *f = c->f;
	int rq = read_request(f, c->fd);
	if (rq == 0) {
		int ok = f->r.no_reply ? 0 : send_reply(f, c->fd);
		if (ok == 0 && f->r.after == FH_HOLD) {
			/* Hold until the client closes or we stop; discard input. */
			char buf[4096];
			while (wait_fd(f, c->fd, POLLIN)) {
				ssize_t r = recv(c->fd, buf, sizeof buf, 0);
				if (r == 0 || (r < 0 && errno != EINTR))
					break;
			}
		}
	}
	shutdown(c->fd, SHUT_RDWR);
	close(c->fd);
	free(c);
	pthread_mutex_lock(&f->mu);
	if (--f->active == 0)
		pthread_cond_broadcast(&f->idle);
	pthread_mutex_unlock(&f->mu);
	return NULL;
}

static void *
accept_main(void *arg)
{
	struct fake_http *f = arg;
	while (wait_fd(f, f->lfd, POLLIN)) {
		int fd = accept4(f->lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		struct fh_conn *c = calloc(1, sizeof *c);
		if (!c) {
			close(fd);
			continue;
		}
		c->f = f;
		c->fd = fd;
		pthread_t th;
		pthread_attr_t attr;
		pthread_attr_init(&attr);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		pthread_mutex_lock(&f->mu);
		f->active++;
		pthread_mutex_unlock(&f->mu);
		if (pthread_create(&th, &attr, conn_main, c) != 0) {
			close(fd);
			free(c);
			pthread_mutex_lock(&f->mu);
			f->active--;
			pthread_mutex_unlock(&f->mu);
		}
		pthread_attr_destroy(&attr);
	}
	return NULL;
}

static char *
dup_bytes(const char *p, size_t n)
{
	char *d = malloc(n + 1);
	if (d) {
		memcpy(d, p, n);
		d[n] = 0;
	}
	return d;
}

struct fake_http *
fh_start(const struct fh_reply *r)
{
	struct fake_http *f = calloc(1, sizeof *f);
	struct sockaddr_in sa;
	socklen_t len = sizeof sa;

	if (!f)
		return NULL;
	f->lfd = -1;
	f->stop[0] = f->stop[1] = -1;
	pthread_mutex_init(&f->mu, NULL);
	pthread_cond_init(&f->idle, NULL);
	f->r = *r;
	if (r->head) {
		f->r.head_len = r->head_len ? r->head_len : strlen(r->head);
		f->head = dup_bytes(r->head, f->r.head_len);
		f->r.head = f->head;
	}
	if (r->tail) {
		f->r.tail_len = r->tail_len ? r->tail_len : strlen(r->tail);
		f->tail = dup_bytes(r->tail, f->r.tail_len);
		f->r.tail = f->tail;
	}
	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (pipe(f->stop) < 0 || (f->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    bind(f->lfd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(f->lfd, 64) < 0 ||
	    getsockname(f->lfd, (struct sockaddr *)&sa, &len) < 0) {
		perror("fake_http");
		goto fail;
	}
	snprintf(f->url, sizeof f->url, "http://127.0.0.1:%d", ntohs(sa.sin_port));
	if (pthread_create(&f->acceptor, NULL, accept_main, f) != 0)
		goto fail;
	return f;
fail:
	if (f->lfd >= 0)
		close(f->lfd);
	if (f->stop[0] >= 0) {
		close(f->stop[0]);
		close(f->stop[1]);
	}
	free(f->head);
	free(f->tail);
	pthread_cond_destroy(&f->idle);
	pthread_mutex_destroy(&f->mu);
	free(f);
	return NULL;
}

const char *
fh_url(const struct fake_http *f)
{
	return f->url;
}

int
fh_requests(struct fake_http *f)
{
	pthread_mutex_lock(&f->mu);
	int n = f->nreq;
	pthread_mutex_unlock(&f->mu);
	return n;
}

void
fh_stop(struct fake_http *f)
{
	if (!f)
		return;
	if (write(f->stop[1], "x", 1) != 1)
		perror("fake_http stop");
	pthread_join(f->acceptor, NULL);
	pthread_mutex_lock(&f->mu);
	while (f->active > 0)
		pthread_cond_wait(&f->idle, &f->mu);
	pthread_mutex_unlock(&f->mu);
	close(f->lfd);
	close(f->stop[0]);
	close(f->stop[1]);
	free(f->head);
	free(f->tail);
	pthread_cond_destroy(&f->idle);
	pthread_mutex_destroy(&f->mu);
	free(f);
}

char *
fh_response(int status, const char *body)
{
	size_t n = strlen(body) + 128;
	char *s = malloc(n);
	if (s)
		snprintf(s, n, "HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
		         status, strlen(body), body);
	return s;
}
