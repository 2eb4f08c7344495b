/*
 * cmd_exec.c: "skiffctl exec [-i] [-t] POD [-c C] -- CMD ARGS...": run a
 * command in the pod's container through the agent of the pod's node
 * (POST /exec/POD/C upgraded to the framed channel of
 * node-agent/agent_serve_exec.c, over mutual TLS), copying stdin to it
 * (-i), its stdout and stderr back, and exiting with its exit status.
 * With -t and a terminal on stdin, the terminal is raw (Ctrl-C goes to the
 * command as a byte) and its size follows SIGWINCH. It does not retry a
 * broken connection.
 */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "ctl_stream.h"

#define EXEC_HELP                                                                             \
	"Run CMD in a pod's container through the agent of the pod's node, over HTTPS with\n" \
	"a client certificate of the admin CA. -i passes stdin, -t gives it a terminal;\n"    \
	"-c names the container (default: the pod's first). Exit status: the command's,\n"    \
	"or 1 when skiffctl fails, 2 on usage errors."

static const char *container_flag;
static int stdin_flag, tty_flag;
static struct ctl_tls tls;

static const struct flag exec_flags[] = {
	{"container", FLAG_STRING, &container_flag, "", NULL, "the container (-c; default: the pod's first)", "NAME",
         NULL},
	{"stdin", FLAG_BOOL, &stdin_flag, "false", NULL, "pass stdin to the command (-i)", NULL, NULL},
	{"tty", FLAG_BOOL, &tty_flag, "false", NULL, "give the command a terminal (-t)", NULL, NULL},
	CTL_TLS_FLAGS(tls),
	{0}};

static const struct skiff_prog prog = {.client = 1,
                                       .name = "skiffctl exec",
                                       .summary = EXEC_HELP,
                                       .args = "POD -- CMD [ARGS...]",
                                       .flags = exec_flags};

void
cmd_exec_usage(FILE *f)
{
	opts_help(&prog, f);
}

/* -i, -t, -it, -ti and -c as the flag parser knows them, in a new argv
 * (up to "--"). */
static char **
long_flags(int argc, char **argv)
{
	char **v = calloc((size_t)argc * 2 + 1, sizeof(char *));
	int n = 0, only_args = 0;

	for (int i = 0; v && i < argc; i++) {
		const char *a = argv[i];

		only_args |= strcmp(a, "--") == 0;
		if (!only_args && (strcmp(a, "-it") == 0 || strcmp(a, "-ti") == 0)) {
			v[n++] = "--stdin";
			v[n++] = "--tty";
		} else if (!only_args && strcmp(a, "-i") == 0) {
			v[n++] = "--stdin";
		} else if (!only_args && strcmp(a, "-t") == 0) {
			v[n++] = "--tty";
		} else if (!only_args && strcmp(a, "-c") == 0) {
			v[n++] = "--container";
		} else {
			v[n++] = argv[i];
		}
	}
	return v;
}

static int winch_pipe[2] = {-1, -1};

static void
on_winch(int sig)
{
	int e = errno;

	(void)sig;
	if (write(winch_pipe[1], "w", 1) < 0) {
	}
	errno = e;
}

/* Send all of p; 0, or -1. */
static int
send_all(struct ctl_xs *x, const void *p, size_t n)
{
	while (n > 0) {
		size_t sent = 0;
		CURLcode rc = curl_easy_send(x->e, p, n, &sent);

		if (rc == CURLE_AGAIN) {
			struct pollfd pf = {.fd = x->fd, .events = POLLOUT};

			poll(&pf, 1, 1000);
			continue;
		}
		if (rc != CURLE_OK)
			return -1;
		p = (const char *)p + sent;
		n -= sent;
	}
	return 0;
}

static int
send_frame(struct ctl_xs *x, int id, const void *p, size_t n)
{
	unsigned char h[5] = {(unsigned char)id, (unsigned char)(n >> 24), (unsigned char)(n >> 16),
	                      (unsigned char)(n >> 8), (unsigned char)n};

	return send_all(x, h, 5) < 0 || send_all(x, p, n) < 0 ? -1 : 0;
}

static void
send_size(struct ctl_xs *x)
{
	struct winsize ws;
	unsigned char b[4];

	if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) < 0)
		return;
	b[0] = (unsigned char)(ws.ws_col >> 8), b[1] = (unsigned char)ws.ws_col;
	b[2] = (unsigned char)(ws.ws_row >> 8), b[3] = (unsigned char)ws.ws_row;
	send_frame(x, 3, b, 4);
}

static void
frame_out(void *arg, int stream, const unsigned char *p, size_t n)
{
	struct ctl_xs *x = arg;
	FILE *f = stream == 1 ? x->out : x->err;

	fwrite(p, 1, n, f);
	fflush(f);
}

/* Frames from the agent: output to x->out and x->err, the exit status
 * kept. 0, or -1 after a message when they are not frames. */
static int
frames_in(struct ctl_xs *x, const unsigned char *p, size_t n)
{
	if (ctl_frames_feed(&x->f, p, n, frame_out, x) == 0)
		return 0;
	fprintf(x->err, "skiffctl: the agent sent %s; ending the stream\n", x->f.err);
	return -1;
}

/* Connect (TLS, client certificate) and ask for the upgrade: 0 with x
 * ready (bytes after the answer's header fed to frames_in), or -1 after a
 * message. */
int
ctl_xs_open(struct ctl *c, struct ctl_xs *x, const struct ctl_tls *tls, const char *base, const char *path, FILE *out)
{
	char req[4096], buf[8192];
	size_t len = 0, got;
	curl_socket_t fd;
	char *end;

	curl_easy_setopt(x->e, CURLOPT_URL, base);
	curl_easy_setopt(x->e, CURLOPT_CONNECT_ONLY, 1L);
	curl_easy_setopt(x->e, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
	curl_easy_setopt(x->e, CURLOPT_NOSIGNAL, 1L);
	ctl_stream_tls(x->e, tls);
	if (curl_easy_perform(x->e) != CURLE_OK || curl_easy_getinfo(x->e, CURLINFO_ACTIVESOCKET, &fd) != CURLE_OK) {
		fprintf(c->err, "%s: cannot connect to %s over TLS (check --client-cert, --client-key and --ca)\n",
		        c->name, base);
		return -1;
	}
	x->fd = (int)fd;
	x->out = out;
	x->err = c->err;
	snprintf(req, sizeof(req),
	         "POST %s HTTP/1.1\r\nHost: %s\r\nConnection: Upgrade\r\nUpgrade: skiff-stream/1\r\n"
	         "Content-Length: 0\r\n\r\n",
	         path, base + 8);
	if (send_all(x, req, strlen(req)) < 0)
		return -1;
	for (;;) {
		CURLcode rc = curl_easy_recv(x->e, buf + len, sizeof(buf) - 1 - len, &got);
		struct pollfd pf = {.fd = x->fd, .events = POLLIN};

		if (rc == CURLE_AGAIN) {
			poll(&pf, 1, 1000);
			continue;
		}
		if (rc != CURLE_OK || got == 0)
			break;
		len += got;
		buf[len] = '\0';
		if ((end = strstr(buf, "\r\n\r\n")))
			break;
		if (len == sizeof(buf) - 1)
			break;
	}
	if (len == 0 || !strstr(buf, "\r\n\r\n")) {
		fprintf(c->err,
		        "%s: the agent at %s closed the connection (is the client certificate one of the admin CA?)\n",
		        c->name, base);
		return -1;
	}
	end = strstr(buf, "\r\n\r\n");
	if (strncmp(buf, "HTTP/1.1 101", 12) != 0) {
		char *nl = strchr(buf, '\r');

		*nl = '\0';
		fprintf(c->err, "%s: the agent answered %s: %s", c->name, buf + 9, end + 4);
		return -1;
	}
	return frames_in(x, (unsigned char *)end + 4, len - (size_t)(end + 4 - buf));
}

/* Copy stdin and the window size out, frames in, until the exit status
 * or the end of the connection. */
void
ctl_xs_relay(struct ctl_xs *x, int in_fd, FILE *out, FILE *err)
{
	unsigned char buf[16384];
	int in_open = in_fd >= 0;

	x->out = out;
	x->err = err;
	while (!x->f.exited) {
		struct pollfd pf[3] = {{.fd = x->fd, .events = POLLIN},
		                       {.fd = in_open ? in_fd : -1, .events = POLLIN},
		                       {.fd = winch_pipe[0], .events = POLLIN}};
		size_t got = 0;
		ssize_t n;
		CURLcode rc = curl_easy_recv(x->e, buf, sizeof(buf), &got);

		if (rc == CURLE_OK && got == 0)
			break;
		if (rc == CURLE_OK) {
			if (frames_in(x, buf, got) < 0)
				break;
			continue;
		}
		if (rc != CURLE_AGAIN)
			break;
		if (poll(pf, 3, -1) < 0 && errno != EINTR)
			break;
		if (pf[2].revents & POLLIN) {
			char w[16];

			if (read(winch_pipe[0], w, sizeof(w)) > 0)
				send_size(x);
		}
		if (pf[1].revents & (POLLIN | POLLHUP)) {
			n = read(in_fd, buf, sizeof(buf));
			if (n <= 0)
				in_open = 0;
			if (send_frame(x, 0, buf, n > 0 ? (size_t)n : 0) < 0)
				break;
		}
	}
}

static int
session(struct ctl *c, const char *base, const char *path)
{
	struct ctl_xs x = {.fd = -1};
	struct termios saved, raw;
	int term = tty_flag && stdin_flag && isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved) == 0;
	int rc = SKIFFCTL_EXIT_FAIL;

	if (!(x.e = curl_easy_init()))
		return SKIFFCTL_EXIT_FAIL;
	if (ctl_xs_open(c, &x, &tls, base, path, c->out) < 0)
		goto done;
	if (term) {
		raw = saved;
		cfmakeraw(&raw);
		tcsetattr(STDIN_FILENO, TCSANOW, &raw);
		if (pipe2(winch_pipe, O_CLOEXEC | O_NONBLOCK) == 0)
			signal(SIGWINCH, on_winch);
		send_size(&x);
	}
	ctl_xs_relay(&x, stdin_flag ? STDIN_FILENO : -1, c->out, c->err);
	if (term)
		tcsetattr(STDIN_FILENO, TCSANOW, &saved);
	if (x.f.exited)
		rc = x.f.status & 0xff;
	else if (!x.f.err)
		fprintf(c->err, "%s: the connection to the agent ended before the command's exit status\n", c->name);
done:
	curl_easy_cleanup(x.e);
	return rc;
}

/* "/exec/POD/C?command=...&stdin=1&tty=1" into buf: 0, or -1 (too long). */
static int
exec_path(struct ctl *c, const char *pod, const char *ctr, char *buf, size_t len)
{
	size_t n = (size_t)snprintf(buf, len, "/exec/%s/%s?stdin=%d&tty=%d", pod, ctr, stdin_flag, tty_flag);

	for (int i = 1; i < c->nargs && n < len; i++) {
		char *e = curl_easy_escape(NULL, c->args[i], 0);

		n += (size_t)snprintf(buf + n, len - n, "&command=%s", e ? e : "");
		curl_free(e);
	}
	return n < len ? 0 : -1;
}

int
cmd_exec(int argc, char **argv, FILE *out, FILE *err)
{
	char **v = long_flags(argc, argv), path[8192];
	struct ctl_target t;
	struct ctl c;
	int rc, n = 0;

	while (v && v[n])
		n++;
	if (!v) {
		fprintf(err, "skiffctl exec: out of memory\n");
		return SKIFFCTL_EXIT_FAIL;
	}
	if ((rc = ctl_parse(&c, &prog, n, v, out, err, 0)) != CTL_CONTINUE)
		goto done;
	if (c.nargs < 2) {
		rc = ctl_usage_error(&c, &prog, "expected POD -- CMD [ARGS...]");
		goto done;
	}
	rc = SKIFFCTL_EXIT_FAIL;
	if (ctl_connect(&c) < 0 || ctl_stream_target(&c, c.args[0], *container_flag ? container_flag : NULL, &t) < 0)
		goto done;
	if (exec_path(&c, c.args[0], t.container, path, sizeof(path)) < 0) {
		fprintf(err, "%s: the command is too long\n", c.name);
		goto done;
	}
	rc = session(&c, t.base, path);
done:
	ctl_done(&c);
	free(v);
	return rc;
}
