/*
 * cmd_portforward.c: "skiffctl port-forward POD LOCAL:REMOTE": listen on
 * 127.0.0.1:LOCAL and, for each connection accepted, open the framed
 * channel of POST /portForward/POD?port=REMOTE to the agent of the pod's
 * node (node-agent/agent_serve_exec.c), which connects to the pod's IP
 * and port from the node; bytes go both ways as stdin and stdout frames.
 * Each connection is served by a child process of its own. It does not
 * forward UDP, nor listen on any address but 127.0.0.1.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ctl_stream.h"

#define PF_HELP                                                                              \
	"Forward 127.0.0.1:LOCAL to port REMOTE of the pod, through the agent of its node\n" \
	"(HTTPS with a client certificate of the admin CA), one connection to the agent\n"   \
	"per local connection, until interrupted. Exit 1 on failures, 2 on usage errors."

static struct ctl_tls tls;

static const struct flag pf_flags[] = {CTL_TLS_FLAGS(tls), {0}};

static const struct skiff_prog prog = {.client = 1,
                                       .name = "skiffctl port-forward",
                                       .summary = PF_HELP,
                                       .args = "POD LOCAL:REMOTE",
                                       .flags = pf_flags};

void
cmd_portforward_usage(FILE *f)
{
	opts_help(&prog, f);
}

/* One local connection: its own channel to the agent. Runs in a child. */
static int
forward_one(struct ctl *c, int fd, const char *base, const char *path)
{
	struct ctl_xs x = {.fd = -1};
	FILE *out = fdopen(dup(fd), "w");
	int rc = 1;

	if (!out || !(x.e = curl_easy_init()))
		return 1;
	if (ctl_xs_open(c, &x, &tls, base, path, out) == 0) {
		ctl_xs_relay(&x, fd, out, c->err);
		rc = 0;
	}
	curl_easy_cleanup(x.e);
	fclose(out);
	close(fd);
	return rc;
}

static int
listen_on(struct ctl *c, int port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 16) < 0) {
		fprintf(c->err, "%s: cannot listen on 127.0.0.1:%d: %m\n", c->name, port);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static int
serve(struct ctl *c, int lfd, const char *base, const char *path)
{
	signal(SIGCHLD, SIG_IGN); /* children reaped by the kernel */
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		pid_t pid;

		if (fd < 0)
			continue;
		fflush(NULL);
		if ((pid = fork()) == 0) {
			close(lfd);
			_exit(forward_one(c, fd, base, path));
		}
		close(fd);
		if (pid < 0)
			fprintf(c->err, "%s: cannot fork: %m\n", c->name);
	}
	return SKIFFCTL_EXIT_FAIL;
}

int
cmd_portforward(int argc, char **argv, FILE *out, FILE *err)
{
	char path[512], *end;
	struct ctl_target t;
	long local = 0, remote = 0;
	struct ctl c;
	int rc, lfd;

	if ((rc = ctl_parse(&c, &prog, argc, argv, out, err, 0)) != CTL_CONTINUE)
		goto done;
	if (c.nargs == 2) {
		local = strtol(c.args[1], &end, 10);
		remote = *end == ':' ? strtol(end + 1, &end, 10) : 0;
	}
	if (c.nargs != 2 || *end || local < 1 || local > 65535 || remote < 1 || remote > 65535) {
		rc = ctl_usage_error(&c, &prog, "expected POD LOCAL:REMOTE (ports 1..65535)");
		goto done;
	}
	rc = SKIFFCTL_EXIT_FAIL;
	if (ctl_connect(&c) < 0 || ctl_stream_target(&c, c.args[0], NULL, &t) < 0 ||
	    (lfd = listen_on(&c, (int)local)) < 0)
		goto done;
	snprintf(path, sizeof(path), "/portForward/%s?port=%ld", c.args[0], remote);
	fprintf(out, "Forwarding from 127.0.0.1:%ld -> %ld\n", local, remote);
	fflush(out);
	rc = serve(&c, lfd, t.base, path);
done:
	ctl_done(&c);
	return rc;
}
