/*
 * check_agent_serve.c: the agent's HTTPS server (node-agent/agent_serve.c)
 * with the real skiff-agent, a real etcd, the real dockerd and the real
 * skiffctl. A throwaway admin CA, the agent's server certificate (for
 * 127.0.0.1), a client certificate, and an attacker's CA with its own
 * client certificate are made with openssl in a temporary directory
 * (th_certs.h).
 *
 * skiffctl logs finds the pod's node and the agent's port in etcd
 * (P/nodestatus/NODE's daemonEndpoints) and prints the container's
 * stdout and stderr, the last N lines with --tail, and with -f a line the
 * container writes after the stream started; a follower that goes away
 * ends the agent's Docker stream. A client without a certificate gets 401,
 * one whose certificate another CA signed 403, neither any log bytes;
 * beyond --max-streams a client gets 429 and a clear message; the four
 * TLS flags are all or none. skiffctl exec passes stdin (also when it is
 * all there before Docker starts the exec), output and the exit status;
 * exec -it in a pseudo-terminal of the test's own gives the command a
 * terminal. A logs -f client that stops reading is cut off and its
 * --max-streams slot freed while it still holds its end. Waits poll to a
 * deadline (th_wait, pty_until).
 */
#include <check.h>
#include <curl/curl.h>
#include <ev.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "docker_harness.h"
#include "etcd_fixture.h"
#include "etcd_harness.h"
#include "etcd_testutil.h"
#include "th_agentpod.h"
#include "th_certs.h"
#include "th_proc.h"

#ifndef SKIFF_AGENT
#define SKIFF_AGENT "build/bin/skiff-agent"
#endif
#ifndef SKIFFCTL
#define SKIFFCTL "build/bin/skiffctl"
#endif

#define S tu_sync
#define WAIT_S 45

static char RUN[32], DIR_[64], SHARE[96];

static void
suite_setup(void)
{
	th_agent_scratch('s', "serve", 0777, RUN, sizeof(RUN), DIR_, sizeof(DIR_), SHARE, sizeof(SHARE));
	if (th_certs_make(DIR_) < 0) {
		fprintf(stderr, "check_agent_serve: openssl failed (%s/certs.log)\n", DIR_);
		abort();
	}
}

static void
suite_teardown(void)
{
	th_agent_scratch_free("check_agent_serve", RUN, DIR_);
}

/* DIR_/name into buf. */
static const char *
file_in(char *buf, size_t len, const char *name)
{
	return th_certs_file(buf, len, DIR_, name);
}

/* An agent for node RUN-name on prefix /RUN-name serving on 127.0.0.1:0
 * (max_streams as text). */
static struct th_proc *
agent_for(const char *name, const char *max_streams, char *prefix, size_t plen, char *node, size_t nlen)
{
	char pods[96], cert[96], key[96], ca[96];
	const char *argv[] = {SKIFF_AGENT,
	                      "--etcd-endpoints",
	                      th_etcd_endpoints(tu_etcd),
	                      "--prefix",
	                      prefix,
	                      "--node-name",
	                      node,
	                      "--node-ip",
	                      "127.0.0.1",
	                      "--pod-dir",
	                      pods,
	                      "--allow-host-path",
	                      SHARE,
	                      "--serve-addr",
	                      "127.0.0.1:0",
	                      "--serve-cert",
	                      file_in(cert, sizeof(cert), "server.pem"),
	                      "--serve-key",
	                      file_in(key, sizeof(key), "server.key"),
	                      "--client-ca",
	                      file_in(ca, sizeof(ca), "ca.pem"),
	                      "--max-streams",
	                      max_streams,
	                      NULL};
	struct th_proc *p;

	snprintf(prefix, plen, "/%s-%s", RUN, name);
	snprintf(node, nlen, "%s-%s", RUN, name);
	snprintf(pods, sizeof(pods), "%s/pods", DIR_);
	p = th_proc_start(SKIFF_AGENT, (char *const *)argv, NULL);
	ck_assert_ptr_nonnull(p);
	return p;
}

/* skiffctl logs with the admin's client certificate; extra arguments
 * (NULL-ended) after the pod. */
static struct th_proc *
logs_start(const char *prefix, const char *pod, const char *a1, const char *a2, const char *a3)
{
	char cert[96], key[96], ca[96], e1[128], e2[128], e3[128];
	const char *argv[] = {
		SKIFFCTL, "logs", "--etcd-endpoints", th_etcd_endpoints(tu_etcd), "--prefix", prefix, pod, a1, a2,
		a3,       NULL};
	char *env[] = {e1, e2, e3, NULL};
	struct th_proc *p;

	snprintf(e1, sizeof(e1), "SKIFF_CLIENT_CERT=%s", file_in(cert, sizeof(cert), "client.pem"));
	snprintf(e2, sizeof(e2), "SKIFF_CLIENT_KEY=%s", file_in(key, sizeof(key), "client.key"));
	snprintf(e3, sizeof(e3), "SKIFF_CA=%s", file_in(ca, sizeof(ca), "ca.pem"));
	p = th_proc_start(SKIFFCTL, (char *const *)argv, env);
	ck_assert_ptr_nonnull(p);
	return p;
}

/* Run skiffctl logs to its end: its exit status; *out its output (new). */
static int
logs_run(const char *prefix, const char *pod, const char *a1, const char *a2, const char *a3, char **out)
{
	struct th_proc *p = logs_start(prefix, pod, a1, a2, a3);
	int rc = th_proc_wait(p, WAIT_S);

	*out = th_proc_log(p);
	th_proc_free(p, 0);
	return rc;
}

struct until_logs {
	const char *prefix, *pod, *needle;
	char *out;
};

static int
logs_have(void *arg)
{
	struct until_logs *u = arg;

	free(u->out);
	logs_run(u->prefix, u->pod, NULL, NULL, NULL, &u->out);
	return u->out && strstr(u->out, u->needle) != NULL;
}

struct proc_text {
	struct th_proc *p;
	const char *needle;
};

static int
proc_has(void *arg)
{
	struct proc_text *w = arg;

	return th_proc_log_has(w->p, w->needle);
}

#define WAIT_PROC(proc, text)                                                                      \
	do {                                                                                       \
		struct proc_text w_ = {(proc), (text)};                                            \
		ck_assert_msg(th_wait(EV_DEFAULT, proc_has, &w_, WAIT_S) == 0, "no \"%s\"", text); \
	} while (0)

/* Prints three lines (one to stderr), and "late" once SHARE/go exists. */
static const char SPEC[] =
	"{\"terminationGracePeriodSeconds\":1,\"containers\":[{\"name\":\"app\",\"image\":\"skiff/test-httpd:latest\","
	"\"command\":[\"/bin/busybox\",\"sh\",\"-c\",\"echo one; echo two >&2; echo three; until /bin/busybox test "
	"-f /out/go; do /bin/busybox sleep 0.2; done; echo late; exec /bin/busybox sleep 3600\"],"
	"\"volumeMounts\":[{\"name\":\"share\",\"mountPath\":\"/out\"}]}],"
	"\"volumes\":[{\"name\":\"share\",\"hostPath\":{\"path\":\"%s\",\"type\":\"Directory\"}}]}";

static void
bind_app(const char *prefix, const char *node, const char *pod, const char *uid)
{
	char spec[2048];

	snprintf(spec, sizeof(spec), SPEC, SHARE);
	TH_BIND_POD(prefix, node, pod, uid, spec);
}

/* Wait until plain skiffctl logs shows "three" (the agent serves, the
 * container ran its first lines). */
static void
wait_logs(struct th_proc *agent, const char *prefix, const char *pod)
{
	struct until_logs u = {prefix, pod, "three", NULL};
	int rc = th_wait(EV_DEFAULT, logs_have, &u, WAIT_S);

	if (rc != 0)
		th_proc_free(agent, 1);
	ck_assert_msg(rc == 0, "skiffctl logs never showed \"three\": %s", u.out ? u.out : "");
	free(u.out);
}

/* An agent (--max-streams 32) for node RUN-name with the pod "app" of
 * SPEC (uid) running and its logs served; prefix and node of 96 bytes. */
static struct th_proc *
agent_with_app(const char *name, const char *uid, char *prefix, char *node)
{
	struct th_proc *agent = agent_for(name, "32", prefix, 96, node, 96);

	bind_app(prefix, node, "app", uid);
	wait_logs(agent, prefix, "app");
	return agent;
}

START_TEST(test_logs_tail_follow)
{
	char prefix[96], node[96], path[160], *out = NULL;
	struct th_proc *agent = agent_for("logs", "32", prefix, sizeof(prefix), node, sizeof(node)), *f;
	FILE *go;

	bind_app(prefix, node, "app", "701");
	wait_logs(agent, prefix, "app");
	ck_assert_int_eq(logs_run(prefix, "app", NULL, NULL, NULL, &out), 0);
	ck_assert_msg(strstr(out, "one\n") && strstr(out, "two\n") && strstr(out, "three\n"), "%s", out);
	free(out);
	ck_assert_int_eq(logs_run(prefix, "app", "--tail", "1", NULL, &out), 0);
	/* one line, and not "one" ("three" follows it on stdout; "two", on
	 * stderr, may be logged on either side of "three") */
	ck_assert_msg(strchr(out, '\n') && !strchr(strchr(out, '\n') + 1, '\n') && !strstr(out, "one\n"),
	              "--tail 1 gave: %s", out);
	free(out);

	f = logs_start(prefix, "app", "-f", "-c", "app");
	WAIT_PROC(f, "three\n");
	ck_assert(!th_proc_log_has(f, "late"));
	snprintf(path, sizeof(path), "%s/go", SHARE);
	ck_assert_ptr_nonnull(go = fopen(path, "w"));
	fclose(go);
	WAIT_PROC(f, "late\n");
	ck_assert(th_proc_running(f)); /* -f keeps following */
	th_proc_kill(f);
	WAIT_PROC(agent, "log stream ended: the client went away");
	th_proc_free(f, 0);

	ck_assert_int_eq(logs_run(prefix, "app", "-c", "nosuch", NULL, &out), 1);
	ck_assert_msg(strstr(out, "has no container \"nosuch\""), "%s", out);
	free(out);
	ck_assert_int_eq(logs_run(prefix, "app", "--previous", NULL, NULL, &out), 1);
	ck_assert_msg(strstr(out, "400") && strstr(out, "no previous instance"), "%s", out);
	free(out);
	unlink(path);
	th_proc_free(agent, 0);
	dh_remove_where("skiff.node", node);
}
END_TEST

static long
get_as(const char *url, const char *name, char **body)
{
	return th_certs_get(url, DIR_, name, body);
}

/* The agent's port from its node status (waits for it): > 0. */
static long
agent_port(struct th_proc *agent, const char *prefix, const char *node)
{
	char key[256], *v, *p;
	long port;

	snprintf(key, sizeof(key), "%s/nodestatus/%s", prefix, node);
	TH_WAIT_TEXT(agent, key, "\"kubeletEndpoint\":{\"Port\":");
	v = th_values_under(S, key);
	p = strstr(v, "\"kubeletEndpoint\":{\"Port\":");
	port = p ? strtol(p + strlen("\"kubeletEndpoint\":{\"Port\":"), NULL, 10) : 0;
	free(v);
	return port;
}

START_TEST(test_refused_without_admin_cert)
{
	char prefix[96], node[96], url[256], *body;
	struct th_proc *agent = agent_for("refuse", "32", prefix, sizeof(prefix), node, sizeof(node));
	long port;

	bind_app(prefix, node, "app", "702");
	wait_logs(agent, prefix, "app");
	port = agent_port(agent, prefix, node);
	ck_assert_int_gt(port, 0);
	snprintf(url, sizeof(url), "https://127.0.0.1:%ld/containerLogs/app/app", port);
	ck_assert_int_eq(get_as(url, "client", &body), 200);
	ck_assert_msg(body && strstr(body, "three"), "%s", body ? body : "");
	free(body);
	ck_assert_int_eq(get_as(url, NULL, &body), 401);
	ck_assert_msg(!strstr(body, "three") && strstr(body, "client certificate is required"), "%s", body);
	free(body);
	ck_assert_int_eq(get_as(url, "evil", &body), 403);
	ck_assert_msg(!strstr(body, "three") && strstr(body, "not signed by the admin CA"), "%s", body);
	free(body);
	WAIT_PROC(agent, "whose certificate --client-ca did not sign");
	th_proc_free(agent, 0);
	dh_remove_where("skiff.node", node);
}
END_TEST

START_TEST(test_max_streams)
{
	char prefix[96], node[96], *out = NULL;
	struct th_proc *agent = agent_for("max", "1", prefix, sizeof(prefix), node, sizeof(node)), *f;

	bind_app(prefix, node, "app", "703");
	wait_logs(agent, prefix, "app");
	f = logs_start(prefix, "app", "-f", NULL, NULL);
	WAIT_PROC(f, "three\n");
	ck_assert_int_eq(logs_run(prefix, "app", NULL, NULL, NULL, &out), 1);
	ck_assert_msg(strstr(out, "429") && strstr(out, "--max-streams"), "%s", out);
	free(out);
	th_proc_kill(f);
	th_proc_free(f, 0);
	wait_logs(agent, prefix, "app"); /* the slot is free again */

	/* The agent stops cleanly with a stream open, and the stream ends. */
	f = logs_start(prefix, "app", "-f", NULL, NULL);
	WAIT_PROC(f, "three\n");
	ck_assert_int_eq(th_proc_signal(agent, SIGTERM), 0);
	ck_assert_int_eq(th_proc_wait(agent, WAIT_S), 0);
	ck_assert_int_ge(th_proc_wait(f, WAIT_S), 0);
	th_proc_free(f, 0);
	th_proc_free(agent, 0);
	dh_remove_where("skiff.node", node);
}
END_TEST

START_TEST(test_tls_flags_together)
{
	const char *argv[] = {SKIFF_AGENT,    "--etcd-endpoints", th_etcd_endpoints(tu_etcd),
	                      "--serve-addr", "127.0.0.1:0",      NULL};
	struct th_proc *p = th_proc_start(SKIFF_AGENT, (char *const *)argv, NULL);

	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(th_proc_wait(p, WAIT_S), 2);
	ck_assert(th_proc_log_has(p, "missing --serve-cert, --serve-key, --client-ca"));
	th_proc_free(p, 0);
}
END_TEST

/* A pod bound to a node whose agent serves nothing, and one not bound:
 * skiffctl logs says which and what to do, exit 1. */
START_TEST(test_no_endpoint)
{
	char prefix[96], node[96], *out = NULL;

	snprintf(prefix, sizeof(prefix), "/%s-none", RUN);
	snprintf(node, sizeof(node), "%s-none", RUN);
	bind_app(prefix, node, "app", "704");
	ck_assert_int_eq(logs_run(prefix, "app", NULL, NULL, NULL, &out), 1);
	ck_assert_msg(strstr(out, "publishes no HTTPS endpoint") && strstr(out, "--serve-addr"), "%s", out);
	free(out);
	ck_assert_int_eq(logs_run(prefix, "nosuch", NULL, NULL, NULL, &out), 1);
	ck_assert_msg(strstr(out, "pod \"nosuch\" is not bound to a node"), "%s", out);
	free(out);
}
END_TEST

/* sh -c script with $CTL set to the skiffctl binary, $E to "--etcd-endpoints
 * ... --prefix prefix" and the admin's certificate in the environment:
 * the exit status; *out the output (new). */
static int
sh_run(const char *prefix, const char *script, char **out)
{
	char cert[96], key[96], ca[96], e1[128], e2[128], e3[128], e4[512], e5[256];
	const char *argv[] = {"/bin/sh", "-c", script, NULL};
	char *env[] = {e1, e2, e3, e4, e5, NULL};
	struct th_proc *p;
	int rc;

	snprintf(e1, sizeof(e1), "SKIFF_CLIENT_CERT=%s", file_in(cert, sizeof(cert), "client.pem"));
	snprintf(e2, sizeof(e2), "SKIFF_CLIENT_KEY=%s", file_in(key, sizeof(key), "client.key"));
	snprintf(e3, sizeof(e3), "SKIFF_CA=%s", file_in(ca, sizeof(ca), "ca.pem"));
	snprintf(e4, sizeof(e4), "E=--etcd-endpoints %s --prefix %s", th_etcd_endpoints(tu_etcd), prefix);
	snprintf(e5, sizeof(e5), "CTL=%s", SKIFFCTL);
	p = th_proc_start("/bin/sh", (char *const *)argv, env);
	ck_assert_ptr_nonnull(p);
	rc = th_proc_wait(p, WAIT_S);
	*out = th_proc_log(p);
	th_proc_free(p, 0);
	return rc;
}

/* skiffctl exec: stdin reaches the command (cat echoes it back), stdout
 * and stderr come back, and the command's exit status is skiffctl's. */
START_TEST(test_exec)
{
	char prefix[96], node[96], *out = NULL;
	struct th_proc *agent = agent_with_app("exec", "705", prefix, node);
	int rc;

	rc = sh_run(prefix, "printf 'hello\\nworld\\n' | $CTL exec $E -i app -- /bin/busybox cat", &out);
	ck_assert_msg(rc == 0 && strstr(out, "hello\nworld\n"), "exit %d: %s", rc, out);
	free(out);
	rc = sh_run(prefix, "$CTL exec $E app -c app -- /bin/busybox sh -c 'echo to-out; echo to-err >&2; exit 3'",
	            &out);
	ck_assert_msg(rc == 3 && strstr(out, "to-out\n") && strstr(out, "to-err\n"), "exit %d: %s", rc, out);
	free(out);
	rc = sh_run(prefix, "$CTL exec $E app -- /nonexistent", &out); /* Docker's "not found" status */
	ck_assert_msg(rc == 126 || rc == 127, "exit %d: %s", rc, out);
	free(out);
	th_proc_free(agent, 0);
	dh_remove_where("skiff.node", node);
}
END_TEST

/* skiffctl port-forward: an HTTP request to 127.0.0.1:LOCAL reaches the
 * pod's httpd on port 80 through the agent, twice (one channel each). */
START_TEST(test_port_forward)
{
	char prefix[96], node[96], key[256], local[32], url[128], *body = NULL, e[3][128], crt[96], k[96], ca[96];
	const char *spec = "{\"terminationGracePeriodSeconds\":1,\"containers\":[{\"name\":\"web\","
			   "\"image\":\"skiff/test-httpd:latest\"}]}";
	struct th_proc *agent = agent_for("pf", "32", prefix, sizeof(prefix), node, sizeof(node)), *pf;
	int port = tu_closed_port();

	TH_BIND_POD(prefix, node, "web", "706", spec);
	snprintf(key, sizeof(key), "%s/podstatus/%s/web", prefix, node);
	TH_WAIT_TEXT(agent, key, "\"podIP\":\"1");
	snprintf(local, sizeof(local), "%d:80", port);
	snprintf(e[0], sizeof(e[0]), "SKIFF_CLIENT_CERT=%s", file_in(crt, sizeof(crt), "client.pem"));
	snprintf(e[1], sizeof(e[1]), "SKIFF_CLIENT_KEY=%s", file_in(k, sizeof(k), "client.key"));
	snprintf(e[2], sizeof(e[2]), "SKIFF_CA=%s", file_in(ca, sizeof(ca), "ca.pem"));
	{
		const char *argv[] = {SKIFFCTL,
		                      "port-forward",
		                      "--etcd-endpoints",
		                      th_etcd_endpoints(tu_etcd),
		                      "--prefix",
		                      prefix,
		                      "web",
		                      local,
		                      NULL};
		char *env[] = {e[0], e[1], e[2], NULL};

		ck_assert_ptr_nonnull(pf = th_proc_start(SKIFFCTL, (char *const *)argv, env));
	}
	WAIT_PROC(pf, "Forwarding from 127.0.0.1:");
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", port);
	for (int i = 0; i < 2; i++) {
		CURL *c = curl_easy_init();
		long status = 0;
		size_t n = 0;
		FILE *m = open_memstream(&body, &n);

		curl_easy_setopt(c, CURLOPT_URL, url);
		curl_easy_setopt(c, CURLOPT_WRITEDATA, m);
		curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
		curl_easy_perform(c);
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
		curl_easy_cleanup(c);
		fclose(m);
		ck_assert_msg(status == 200 || status == 404, "request %d through the forward: HTTP %ld: %s", i, status,
		              body ? body : "");
		free(body);
		body = NULL;
	}
	WAIT_PROC(agent, "port-forward to port 80 started");
	th_proc_free(pf, 0);
	th_proc_free(agent, 0);
	dh_remove_where("skiff.node", node);
}
END_TEST

/* ---------------------------------------------------------------- exec -t */

struct pty_out {
	int fd; /* the terminal's master side */
	char b[8192];
	size_t len;
	int eof; /* the slave side closed (skiffctl exited) */
};

/* Read what the terminal shows until it shows needle (NULL: until its
 * end) or the deadline: 0 when it did. */
static int
pty_until(struct pty_out *o, const char *needle, double secs)
{
	double end = ev_time() + secs;

	while (!(needle && strstr(o->b, needle)) && !o->eof) {
		double left = end - ev_time();
		struct pollfd pf = {.fd = o->fd, .events = POLLIN};
		ssize_t n;

		if (left <= 0 || poll(&pf, 1, (int)(left * 1000) + 1) < 0)
			return -1;
		if (!pf.revents)
			continue;
		n = read(o->fd, o->b + o->len, sizeof(o->b) - 1 - o->len);
		if (n <= 0) /* EIO: no process holds the slave side any more */
			o->eof = 1;
		else
			o->len += (size_t)n;
		o->b[o->len] = '\0';
		if (o->len == sizeof(o->b) - 1)
			return -1;
	}
	return needle && !strstr(o->b, needle) ? -1 : 0;
}

/* skiffctl exec -it in a pseudo-terminal of the test's own (80x24): the
 * command gets a terminal of its own (tty names a /dev/pts/ device), reads
 * what is typed, and its exit status is skiffctl's. */
START_TEST(test_exec_tty)
{
	char prefix[96], node[96], cert[96], key[96], ca[96];
	struct th_proc *agent = agent_with_app("tty", "707", prefix, node);
	struct winsize ws = {.ws_row = 24, .ws_col = 80};
	struct pty_out o = {.fd = -1};
	const char *typed = "tty; echo $((6*7)); exit 3\r";
	int status = -1;
	pid_t pid;

	file_in(cert, sizeof(cert), "client.pem");
	file_in(key, sizeof(key), "client.key");
	file_in(ca, sizeof(ca), "ca.pem");
	fflush(NULL);
	pid = forkpty(&o.fd, NULL, NULL, &ws);
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		const char *argv[] = {SKIFFCTL,
		                      "exec",
		                      "--etcd-endpoints",
		                      th_etcd_endpoints(tu_etcd),
		                      "--prefix",
		                      prefix,
		                      "-it",
		                      "app",
		                      "--",
		                      "/bin/busybox",
		                      "sh",
		                      NULL};

		setenv("SKIFF_CLIENT_CERT", cert, 1);
		setenv("SKIFF_CLIENT_KEY", key, 1);
		setenv("SKIFF_CA", ca, 1);
		execv(SKIFFCTL, (char *const *)argv);
		_exit(127);
	}
	/* the shell's prompt: it reads the terminal now */
	ck_assert_msg(pty_until(&o, "# ", WAIT_S) == 0, "no prompt: %s", o.b);
	ck_assert_int_eq(write(o.fd, typed, strlen(typed)), (ssize_t)strlen(typed));
	ck_assert_msg(pty_until(&o, NULL, WAIT_S) == 0, "skiffctl did not end: %s", o.b);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	close(o.fd);
	ck_assert_msg(strstr(o.b, "/dev/pts/"), "tty printed no /dev/pts/ device: %s", o.b);
	ck_assert_msg(strstr(o.b, "42"), "no 42: %s", o.b);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 3, "status %#x: %s", status, o.b);
	th_proc_free(agent, 0);
	dh_remove_where("skiff.node", node);
}
END_TEST

/* Stdin that is all there before Docker has started the exec (a pipe
 * already written and closed) reaches the command every time: the agent
 * holds it until Docker has taken the connection over. */
START_TEST(test_exec_stdin_first)
{
	char prefix[96], node[96], *out = NULL;
	struct th_proc *agent = agent_with_app("early", "708", prefix, node);
	int rc;

	rc = sh_run(prefix,
	            "i=0; while [ $i -lt 20 ]; do i=$((i+1)); "
	            "printf 'in-%d\\n' $i | $CTL exec $E -i app -- /bin/busybox cat || exit 9; done",
	            &out);
	ck_assert_msg(rc == 0, "exit %d: %s", rc, out);
	for (int i = 1; i <= 20; i++) {
		char want[16];

		snprintf(want, sizeof(want), "in-%d\n", i);
		ck_assert_msg(strstr(out, want), "exec %d lost its stdin: %s", i, out);
	}
	free(out);
	th_proc_free(agent, 0);
	dh_remove_where("skiff.node", node);
}
END_TEST

/* ---------------------------------------------------------------- a slow reader */

static size_t
never_done(char *p, size_t size, size_t n, void *arg)
{
	(void)p, (void)size, (void)n, (void)arg;
	for (;;) /* a client that stops reading: blocked until killed */
		pause();
	return 0;
}

static int
small_rcvbuf(void *arg, curl_socket_t fd, curlsocktype purpose)
{
	int v = 4096;

	(void)arg, (void)purpose;
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v));
	return CURL_SOCKOPT_OK;
}

/* A child that follows url's log with the admin's certificate and reads
 * only its first bytes: its pid. */
static pid_t
slow_follower(const char *url)
{
	char cert[96], key[96], ca[96];
	pid_t pid;

	fflush(NULL);
	if ((pid = fork()) != 0)
		return pid;
	CURL *e = curl_easy_init();

	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_SSLCERT, file_in(cert, sizeof(cert), "client.pem"));
	curl_easy_setopt(e, CURLOPT_SSLKEY, file_in(key, sizeof(key), "client.key"));
	curl_easy_setopt(e, CURLOPT_CAINFO, file_in(ca, sizeof(ca), "ca.pem"));
	curl_easy_setopt(e, CURLOPT_SOCKOPTFUNCTION, small_rcvbuf);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, never_done);
	curl_easy_setopt(e, CURLOPT_BUFFERSIZE, 1024L);
	curl_easy_perform(e);
	_exit(0);
}

/* A logs -f client that stops reading is cut off once 4 MiB wait for it
 * (the container logs 32 MiB at once), and its --max-streams slot (1) is
 * free again at once, while the client still holds its end. */
START_TEST(test_logs_slow_client)
{
	char prefix[96], node[96], key[256], url[256], *out = NULL;
	const char *spec = "{\"terminationGracePeriodSeconds\":1,\"containers\":[{\"name\":\"app\","
			   "\"image\":\"skiff/test-httpd:latest\",\"command\":[\"/bin/busybox\",\"sh\",\"-c\","
			   "\"/bin/busybox yes 0123456789012345678901234567890123456789012345678901234567890123456789 "
			   "| /bin/busybox head -c 33554432; exec /bin/busybox sleep 3600\"]}]}";
	struct th_proc *agent = agent_for("slow", "1", prefix, sizeof(prefix), node, sizeof(node));
	int status;
	pid_t pid;

	TH_BIND_POD(prefix, node, "app", "709", spec);
	snprintf(key, sizeof(key), "%s/podstatus/%s/app", prefix, node);
	TH_WAIT_TEXT(agent, key, "\"phase\":\"Running\"");
	snprintf(url, sizeof(url), "https://127.0.0.1:%ld/containerLogs/app/app?follow=true",
	         agent_port(agent, prefix, node));
	ck_assert_int_gt(pid = slow_follower(url), 0);
	WAIT_PROC(agent, "the client reads too slowly");
	ck_assert_int_eq(waitpid(pid, &status, WNOHANG), 0); /* the client is still there */
	ck_assert_int_eq(logs_run(prefix, "app", "--tail", "1", NULL, &out), 0);
	ck_assert_msg(strstr(out, "0123456789"), "%s", out);
	free(out);
	kill(pid, SIGKILL);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	th_proc_free(agent, 0);
	dh_remove_where("skiff.node", node);
}
END_TEST

int
main(void)
{
	static const struct tu_fixture fx = {.sync = 1};
	Suite *s = suite_create("agent_serve");
	TCase *tc = tcase_create("core");

	curl_global_init(CURL_GLOBAL_DEFAULT);
	tcase_add_unchecked_fixture(tc, suite_setup, suite_teardown);
	tcase_add_checked_fixture(tc, tu_setup, tu_teardown);
	tcase_set_timeout(tc, 150);
	tcase_add_test(tc, test_tls_flags_together);
	tcase_add_test(tc, test_logs_tail_follow);
	tcase_add_test(tc, test_refused_without_admin_cert);
	tcase_add_test(tc, test_max_streams);
	tcase_add_test(tc, test_no_endpoint);
	tcase_add_test(tc, test_exec);
	tcase_add_test(tc, test_port_forward);
	tcase_add_test(tc, test_exec_tty);
	tcase_add_test(tc, test_exec_stdin_first);
	tcase_add_test(tc, test_logs_slow_client);
	suite_add_tcase(s, tc);
	return tu_suite_main(s, &fx);
}
