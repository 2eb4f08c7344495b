/*
 * rollout_client.c: the load of bench/rollout_bench, run inside a minion's
 * network namespace (tests/cluster exec I). It opens a fresh TCP
 * connection to IP:PORT RATE times a second, sends "GET / HTTP/1.0" and
 * reads to EOF, each within DEADLINE seconds, and writes one line per
 * request on stdout:
 *   START_MS PHASE ok|fail KIND LATENCY_MS POD
 * START_MS is CLOCK_MONOTONIC in milliseconds (one clock for every
 * namespace); PHASE the last line read on stdin (the bench names its
 * phases there; "-" before the first); KIND "ok", or why it failed:
 * refused, reset, timeout, closed (EOF before a whole answer), status (not
 * 200), or error (another errno); POD the answering pod's "pod=" name, "-"
 * when none. When stdin ends it stops starting requests, waits for those
 * in flight and exits 0; 2 on usage, 1 when it cannot poll.
 *
 *   rollout_client IP PORT RATE DEADLINE
 *
 * It deliberately does not retry, keep connections alive, or resolve
 * names: each request is one connection, as a client of a restarting
 * service would see it. Plain nonblocking sockets and poll(2): at 200
 * requests/s with a 2 s deadline at most 400 connections are open.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAXC 4096
#define BUFSZ 1024

struct conn {
	int fd, sent;
	double start;
	size_t len;
	char phase[32];
	char buf[BUFSZ];
};

static struct conn C[MAXC];
static int NC;
static char PHASE[32] = "-";
static struct sockaddr_in DST;
static double DEADLINE;

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static const char *
kind_of(int err)
{
	switch (err) {
	case ECONNREFUSED: return "refused";
	case ECONNRESET:
	case EPIPE: return "reset";
	case ETIMEDOUT: return "timeout";
	default: return "error";
	}
}

/* The "pod=" name of an answer into pod ("-" when none). */
static void
pod_of(const char *buf, char *pod, size_t len)
{
	const char *p = strstr(buf, "pod=");
	size_t n;

	if (!p) {
		snprintf(pod, len, "-");
		return;
	}
	p += 4;
	n = strcspn(p, " \r\n");
	snprintf(pod, len, "%.*s", (int)(n < len ? n : len - 1), p);
}

/* Write conn k's line and drop it (the last one moves into its slot). */
static void
finish(int k, const char *kind)
{
	struct conn *c = &C[k];
	char pod[64] = "-";
	int ok = strcmp(kind, "ok") == 0;

	if (ok)
		pod_of(c->buf, pod, sizeof(pod));
	printf("%.1f %s %s %s %.2f %s\n", c->start, c->phase, ok ? "ok" : "fail", kind, now_ms() - c->start, pod);
	close(c->fd);
	C[k] = C[--NC];
}

static void
start_one(void)
{
	struct conn *c;
	int fd;

	if (NC == MAXC)
		return;
	c = &C[NC];
	memset(c, 0, sizeof(*c));
	c->start = now_ms();
	snprintf(c->phase, sizeof(c->phase), "%s", PHASE);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	c->fd = fd;
	NC++;
	if (fd < 0) {
		c->fd = open("/dev/null", O_RDONLY); /* a slot finish() may close */
		finish(NC - 1, "error");
		return;
	}
	if (connect(fd, (struct sockaddr *)&DST, sizeof(DST)) < 0 && errno != EINPROGRESS)
		finish(NC - 1, kind_of(errno));
}

/* Conn k is writable: the connect's outcome, then the request. */
static int
on_write(int k)
{
	static const char req[] = "GET / HTTP/1.0\r\nUser-Agent: rollout-bench\r\n\r\n";
	struct conn *c = &C[k];
	int err = 0;
	socklen_t l = sizeof(err);

	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &l) < 0)
		err = errno;
	if (!err && send(c->fd, req, sizeof(req) - 1, MSG_NOSIGNAL) != (ssize_t)(sizeof(req) - 1))
		err = errno ? errno : EPIPE;
	if (err) {
		finish(k, kind_of(err));
		return 1;
	}
	c->sent = 1;
	return 0;
}

/* Conn k is readable: more of the answer, or its end. */
static int
on_read(int k)
{
	struct conn *c = &C[k];
	char tmp[4096];
	ssize_t n = read(c->fd, tmp, sizeof(tmp));

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n < 0) {
		finish(k, kind_of(errno));
		return 1;
	}
	if (n == 0) {
		c->buf[c->len] = '\0';
		if (c->len == 0)
			finish(k, "closed");
		else
			finish(k, strncmp(c->buf, "HTTP/1.", 7) == 0 && strncmp(c->buf + 8, " 200", 4) == 0 ? "ok"
			                                                                                    : "status");
		return 1;
	}
	if (c->len < BUFSZ - 1) {
		size_t m = (size_t)n < BUFSZ - 1 - c->len ? (size_t)n : BUFSZ - 1 - c->len;

		memcpy(c->buf + c->len, tmp, m);
		c->len += m;
	}
	return 0;
}

/* A line on stdin names the phase; EOF ends the run (returns 1). */
static int
on_stdin(void)
{
	static char line[64];
	static size_t len;
	ssize_t n = read(0, line + len, sizeof(line) - 1 - len);
	char *nl;

	if (n <= 0)
		return n < 0 && (errno == EAGAIN || errno == EINTR) ? 0 : 1;
	len += (size_t)n;
	line[len] = '\0';
	while ((nl = strchr(line, '\n'))) {
		*nl = '\0';
		snprintf(PHASE, sizeof(PHASE), "%s", line[0] ? line : "-");
		len -= (size_t)(nl + 1 - line);
		memmove(line, nl + 1, len + 1);
	}
	if (len == sizeof(line) - 1)
		len = 0; /* a line too long: dropped */
	return 0;
}

/* One poll over stdin (while open) and the connections; times out those
 * past the deadline. 1 when stdin ended. */
static int
turn(int in_open, int wait_ms)
{
	static struct pollfd pf[MAXC + 1];
	int n = 0, done = 0;
	double t = now_ms();

	for (int k = NC - 1; k >= 0; k--)
		if (t - C[k].start > DEADLINE * 1e3)
			finish(k, "timeout");
	if (in_open)
		pf[n++] = (struct pollfd){.fd = 0, .events = POLLIN};
	for (int k = 0; k < NC; k++)
		pf[n++] = (struct pollfd){.fd = C[k].fd, .events = C[k].sent ? POLLIN : POLLOUT};
	if (poll(pf, (nfds_t)n, wait_ms) < 0 && errno != EINTR)
		exit(1);
	/* Backwards: finish() moves the last conn into the slot it frees. */
	for (int i = n - 1; i >= 0; i--) {
		int k = in_open ? i - 1 : i;

		if (!pf[i].revents)
			continue;
		if (k < 0)
			done = on_stdin();
		else if (!C[k].sent && on_write(k))
			continue;
		else if (C[k].sent)
			on_read(k);
	}
	return done;
}

int
main(int argc, char **argv)
{
	struct rlimit rl = {MAXC + 64, MAXC + 64};
	double rate, next, t;
	int in_open = 1;

	if (argc != 5 || inet_pton(AF_INET, argv[1], &DST.sin_addr) != 1 || atoi(argv[2]) <= 0 ||
	    (rate = atof(argv[3])) <= 0 || (DEADLINE = atof(argv[4])) <= 0) {
		fprintf(stderr, "usage: rollout_client IP PORT RATE DEADLINE\n");
		return 2;
	}
	DST.sin_family = AF_INET;
	DST.sin_port = htons((uint16_t)atoi(argv[2]));
	setrlimit(RLIMIT_NOFILE, &rl); /* best effort: 400 are enough */
	fcntl(0, F_SETFL, O_NONBLOCK);
	setvbuf(stdout, NULL, _IOLBF, 0);
	next = now_ms();
	while (in_open || NC > 0) {
		t = now_ms();
		while (in_open && t >= next) {
			start_one();
			next += 1e3 / rate;
		}
		if (turn(in_open, in_open ? (int)(next - t) + 1 : 50))
			in_open = 0;
	}
	return 0;
}
