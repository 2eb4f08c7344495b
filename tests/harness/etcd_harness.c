/*
 * etcd_harness.c: real etcd clusters for integration tests (see
 * etcd_harness.h).
 *
 * Members are fork/exec'd /usr/bin/etcd (ETCD_BIN overrides) with
 * PR_SET_PDEATHSIG(SIGKILL). A janitor process, outside Check's process
 * group, holds the read end of a pipe: when the test process dies (a failed
 * assertion _exits, a timeout SIGKILLs) the pipe closes and the janitor kills
 * the members it was told about and removes the temporary directory. Health
 * checks and the admin calls use synchronous libcurl; that is fine here and
 * nowhere else. This file does not sleep to synchronise: every wait polls a
 * condition (process state, GET /health) against a deadline.
 */
#include "etcd_harness.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <ev.h>
#include <jansson.h>

#define TH_MAX_MEMBERS 3
#define TH_START_TIMEOUT 20.0

struct th_member {
	pid_t pid;
	int client_port, peer_port;
	char name[16];
	char url[64];
	char peer_url[64];
	char log[PATH_MAX];
};

struct th_etcd {
	int n;
	pid_t owner;
	pid_t janitor;
	int janitor_fd;
	int tls, auth, token_ttl;
	int port_clash; /* a member exited: "address already in use" */
	char *password;
	char **extra;
	char also_listen[32]; /* "" or an address clients may also use */
	char dir[256];
	char ca[PATH_MAX], cert[PATH_MAX], key[PATH_MAX], other_ca[PATH_MAX];
	char srv_cert[PATH_MAX], srv_key[PATH_MAX];
	char cluster[512], token[64];
	char endpoints[TH_MAX_MEMBERS * 64];
	struct th_member m[TH_MAX_MEMBERS];
};

struct jmsg {
	char op; /* 'a' add pid, 'd' drop pid */
	pid_t pid;
};

static double
now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* A short pause between polls of an external condition (a process, a
 * port); the condition, not the pause, decides when the wait ends. */
static void
poll_pause(void)
{
	struct timespec ts = {0, 20 * 1000 * 1000};
	nanosleep(&ts, NULL);
}

static void
warnx_(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("etcd_harness: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static void
curl_init_once(void)
{
	static int done;
	if (!done) {
		curl_global_init(CURL_GLOBAL_DEFAULT);
		done = 1;
	}
}

/* Print the last bytes of a member's log to stderr. */
static void
log_tail(const char *path)
{
	char buf[4096];
	FILE *f = fopen(path, "r");
	if (!f)
		return;
	if (fseek(f, 0, SEEK_END) == 0) {
		long sz = ftell(f);
		fseek(f, sz > (long)sizeof buf - 1 ? sz - (long)sizeof buf + 1 : 0, SEEK_SET);
	}
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	buf[n] = 0;
	fclose(f);
	fprintf(stderr, "---- tail of %s ----\n%s\n---- end ----\n", path, buf);
}

static int
log_contains(const char *path, const char *needle)
{
	char buf[65536];
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = 0;
	return strstr(buf, needle) != NULL;
}

/* ------------------------------------------------------------------------
 * Temporary directory removal and the janitor.
 */
static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

static void
rm_rf(const char *dir)
{
	if (dir[0])
		nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* 1 while pid exists and is not a zombie. */
static int
pid_alive(pid_t pid)
{
	char path[64], buf[256];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = 0;
	char *p = strrchr(buf, ')');
	return !(p && p[1] == ' ' && p[2] == 'Z');
}

/* 1 when pid runs the etcd binary (guards against pid reuse). */
static int
pid_is_etcd(pid_t pid)
{
	char path[64], buf[256];
	snprintf(path, sizeof path, "/proc/%d/cmdline", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = 0;
	return strstr(buf, "etcd") != NULL;
}

static void
janitor_main(int fd, const char *dir)
{
	pid_t pids[64];
	int np = 0;
	struct jmsg m;

	setsid(); /* out of Check's process group: survive its killpg */
	for (int i = 3; i < 1024; i++)
		if (i != fd)
			close(i);
	for (;;) {
		ssize_t r = read(fd, &m, sizeof m);
		if (r == (ssize_t)sizeof m) {
			if (m.op == 'a' && np < 64)
				pids[np++] = m.pid;
			else if (m.op == 'd')
				for (int i = 0; i < np; i++)
					if (pids[i] == m.pid)
						pids[i--] = pids[--np];
			continue;
		}
		if (r < 0 && errno == EINTR)
			continue;
		break; /* EOF: every holder of the write end is gone */
	}
	for (int i = 0; i < np; i++)
		if (pid_alive(pids[i]) && pid_is_etcd(pids[i]))
			kill(pids[i], SIGKILL);
	double deadline = now_s() + 5;
	for (int i = 0; i < np; i++)
		while (pid_alive(pids[i]) && now_s() < deadline)
			poll_pause();
	rm_rf(dir);
	_exit(0);
}

static void
janitor_send(struct th_etcd *e, char op, pid_t pid)
{
	struct jmsg m;
	memset(&m, 0, sizeof m);
	m.op = op;
	m.pid = pid;
	if (e->janitor_fd >= 0 && write(e->janitor_fd, &m, sizeof m) != (ssize_t)sizeof m)
		warnx_("janitor write: %s", strerror(errno));
}

static int
janitor_start(struct th_etcd *e)
{
	int fds[2];
	if (pipe2(fds, O_CLOEXEC) < 0)
		return -1;
	pid_t pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (pid == 0) {
		close(fds[1]);
		janitor_main(fds[0], e->dir);
	}
	close(fds[0]);
	e->janitor = pid;
	e->janitor_fd = fds[1];
	return 0;
}

/* ------------------------------------------------------------------------
 * Ports, TLS material, processes.
 */
static int
pick_ports(int *ports, int n)
{
	int fds[2 * TH_MAX_MEMBERS];
	int rc = 0;
	for (int i = 0; i < n; i++) {
		struct sockaddr_in sa;
		socklen_t len = sizeof sa;
		memset(&sa, 0, sizeof sa);
		sa.sin_family = AF_INET;
		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		fds[i] = socket(AF_INET, SOCK_STREAM, 0);
		if (fds[i] < 0 || bind(fds[i], (struct sockaddr *)&sa, sizeof sa) < 0 ||
		    getsockname(fds[i], (struct sockaddr *)&sa, &len) < 0) {
			rc = -1;
			ports[i] = 0;
		} else {
			ports[i] = ntohs(sa.sin_port);
		}
	}
	for (int i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	return rc;
}

/* Run argv, output appended to logpath; wait for it. Returns exit status. */
static int
run_cmd(char *const argv[], const char *logpath)
{
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int fd = open(logpath, O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execv(argv[0], argv);
		_exit(127);
	}
	int st;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static const char tls_script[] =
	"set -e\n"
	"cd \"$1\"\n"
	"O=/usr/bin/openssl\n"
	"EC='-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes'\n"
	"$O req -x509 $EC -keyout ca.key -out ca.crt -days 2 -subj /CN=th-etcd-ca\n"
	"$O req -x509 $EC -keyout other-ca.key -out other-ca.crt -days 2 -subj /CN=th-etcd-other-ca\n"
	"printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\\nextendedKeyUsage=serverAuth,clientAuth\\n' > server.ext\n"
	"$O req $EC -keyout server.key -out server.csr -subj /CN=localhost\n"
	"$O x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out server.crt -days 2 -extfile server.ext\n"
	"printf 'extendedKeyUsage=clientAuth\\n' > client.ext\n"
	"$O req $EC -keyout client.key -out client.csr -subj /CN=th-etcd-client\n"
	"$O x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out client.crt -days 2 -extfile client.ext\n"
	"chmod 600 *.key\n";

static int
make_tls(struct th_etcd *e)
{
	char logpath[PATH_MAX + 16];
	snprintf(logpath, sizeof logpath, "%s/openssl.log", e->dir);
	char *argv[] = {"/bin/sh", "-c", (char *)tls_script, "sh", e->dir, NULL};
	if (run_cmd(argv, logpath) != 0) {
		warnx_("generating TLS material with openssl failed");
		log_tail(logpath);
		return -1;
	}
	snprintf(e->ca, sizeof e->ca, "%s/ca.crt", e->dir);
	snprintf(e->other_ca, sizeof e->other_ca, "%s/other-ca.crt", e->dir);
	snprintf(e->cert, sizeof e->cert, "%s/client.crt", e->dir);
	snprintf(e->key, sizeof e->key, "%s/client.key", e->dir);
	snprintf(e->srv_cert, sizeof e->srv_cert, "%s/server.crt", e->dir);
	snprintf(e->srv_key, sizeof e->srv_key, "%s/server.key", e->dir);
	return 0;
}

int
th_etcd_spawn(struct th_etcd *e, int i)
{
	if (!e || i < 0 || i >= e->n || e->owner != getpid() || e->m[i].pid > 0)
		return -1;
	struct th_member *m = &e->m[i];
	char datadir[PATH_MAX + 16], ttl[32], listen[160];
	const char *argv[64];
	int a = 0;
	const char *bin = getenv("ETCD_BIN") ? getenv("ETCD_BIN") : "/usr/bin/etcd";

	snprintf(datadir, sizeof datadir, "%s/%s.etcd", e->dir, m->name);
	argv[a++] = bin;
	argv[a++] = "--name";
	argv[a++] = m->name;
	argv[a++] = "--data-dir";
	argv[a++] = datadir;
	snprintf(listen, sizeof listen, "%s", m->url);
	if (e->also_listen[0])
		snprintf(listen + strlen(listen), sizeof listen - strlen(listen), ",%s://%s:%d",
		         e->tls ? "https" : "http", e->also_listen, m->client_port);
	argv[a++] = "--listen-client-urls";
	argv[a++] = listen;
	argv[a++] = "--advertise-client-urls";
	argv[a++] = m->url;
	argv[a++] = "--listen-peer-urls";
	argv[a++] = m->peer_url;
	argv[a++] = "--initial-advertise-peer-urls";
	argv[a++] = m->peer_url;
	argv[a++] = "--initial-cluster";
	argv[a++] = e->cluster;
	argv[a++] = "--initial-cluster-state";
	argv[a++] = "new";
	argv[a++] = "--initial-cluster-token";
	argv[a++] = e->token;
	argv[a++] = "--heartbeat-interval";
	argv[a++] = "50";
	argv[a++] = "--election-timeout";
	argv[a++] = "500";
	argv[a++] = "--logger";
	argv[a++] = "zap";
	argv[a++] = "--log-outputs";
	argv[a++] = "stderr";
	if (e->tls) {
		argv[a++] = "--cert-file";
		argv[a++] = e->srv_cert;
		argv[a++] = "--key-file";
		argv[a++] = e->srv_key;
		argv[a++] = "--trusted-ca-file";
		argv[a++] = e->ca;
		argv[a++] = "--client-cert-auth";
	}
	if (e->token_ttl > 0) {
		snprintf(ttl, sizeof ttl, "%d", e->token_ttl);
		argv[a++] = "--auth-token-ttl";
		argv[a++] = ttl;
	}
	for (int k = 0; e->extra && e->extra[k] && a < 62; k++)
		argv[a++] = e->extra[k];
	argv[a] = NULL;

	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid < 0) {
		warnx_("fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(1);
		int fd = open(m->log, O_WRONLY | O_CREAT | O_APPEND, 0644);
		int nul = open("/dev/null", O_RDONLY);
		if (fd < 0 || nul < 0)
			_exit(126);
		dup2(nul, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		for (int k = 3; k < 1024; k++)
			close(k);
		execv(bin, (char *const *)argv);
		_exit(127);
	}
	m->pid = pid;
	janitor_send(e, 'a', pid);
	return 0;
}

/* Reap member i if it has exited. Returns 1 if it is (still) running. */
static int
member_reap(struct th_etcd *e, int i, int block)
{
	struct th_member *m = &e->m[i];
	int st;
	if (m->pid <= 0)
		return 0;
	pid_t r;
	while ((r = waitpid(m->pid, &st, block ? 0 : WNOHANG)) < 0 && errno == EINTR)
		;
	if (r == 0)
		return 1;
	janitor_send(e, 'd', m->pid);
	m->pid = 0;
	return 0;
}

int
th_etcd_running(const struct th_etcd *e, int i)
{
	if (!e || i < 0 || i >= e->n || e->owner != getpid())
		return 0;
	return member_reap((struct th_etcd *)e, i, 0);
}

static int
signal_and_reap(struct th_etcd *e, int i, int sig, double grace)
{
	if (!e || i < 0 || i >= e->n || e->owner != getpid())
		return -1;
	if (!member_reap(e, i, 0))
		return -1;
	kill(e->m[i].pid, sig);
	double deadline = now_s() + grace;
	while (member_reap(e, i, 0)) {
		if (now_s() > deadline) {
			kill(e->m[i].pid, SIGKILL);
			member_reap(e, i, 1);
			break;
		}
		poll_pause();
	}
	return 0;
}

int
th_etcd_kill(struct th_etcd *e, int i)
{
	return signal_and_reap(e, i, SIGKILL, 10);
}

int
th_etcd_stop(struct th_etcd *e, int i)
{
	return signal_and_reap(e, i, SIGTERM, 10);
}

/* ------------------------------------------------------------------------
 * HTTP (synchronous libcurl).
 */
struct buf {
	char *p;
	size_t n;
};

static size_t
buf_write(char *ptr, size_t sz, size_t nm, void *ud)
{
	struct buf *b = ud;
	size_t len = sz * nm;
	char *np = realloc(b->p, b->n + len + 1);
	if (!np)
		return 0;
	b->p = np;
	memcpy(b->p + b->n, ptr, len);
	b->n += len;
	b->p[b->n] = 0;
	return len;
}

/* One request to member i. body NULL = GET. */
static long
http_req(struct th_etcd *e, int i, const char *path, const char *body, const char *token, char **resp, long timeout_ms)
{
	curl_init_once();
	CURL *h = curl_easy_init();
	struct buf b = {NULL, 0};
	struct curl_slist *hdrs = NULL;
	char url[256], auth[512];
	long status = 0;

	if (!h)
		return 0;
	snprintf(url, sizeof url, "%s%s", e->m[i].url, path);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 1000L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, buf_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
	if (e->tls) {
		curl_easy_setopt(h, CURLOPT_CAINFO, e->ca);
		curl_easy_setopt(h, CURLOPT_SSLCERT, e->cert);
		curl_easy_setopt(h, CURLOPT_SSLKEY, e->key);
	}
	if (body) {
		hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
	}
	if (token) {
		snprintf(auth, sizeof auth, "Authorization: %s", token);
		hdrs = curl_slist_append(hdrs, auth);
	}
	if (hdrs)
		curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	if (curl_easy_perform(h) == CURLE_OK)
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(h);
	if (resp)
		*resp = b.p ? b.p : strdup("");
	else
		free(b.p);
	return status;
}

static int
member_healthy(struct th_etcd *e, int i)
{
	char *resp = NULL;
	long st = http_req(e, i, "/health", NULL, NULL, &resp, 1000);
	int ok = st == 200 && resp && strstr(resp, "true");
	free(resp);
	return ok;
}

int
th_etcd_wait_healthy(struct th_etcd *e, int i, double timeout_s)
{
	if (!e || i < 0 || i >= e->n)
		return -1;
	double deadline = now_s() + timeout_s;
	for (;;) {
		if (e->owner == getpid() && !member_reap(e, i, 0)) {
			e->port_clash = log_contains(e->m[i].log, "address already in use");
			warnx_("member %s exited", e->m[i].name);
			log_tail(e->m[i].log);
			return -1;
		}
		if (member_healthy(e, i))
			return 0;
		if (now_s() > deadline) {
			warnx_("member %s not healthy after %.0f s", e->m[i].name, timeout_s);
			log_tail(e->m[i].log);
			return -1;
		}
		poll_pause();
	}
}

long
th_etcd_post(struct th_etcd *e, int i, const char *path, const char *body, char **resp)
{
	return th_etcd_post_as(e, i, e && e->auth ? "root" : NULL, e ? e->password : NULL, path, body, resp);
}

long
th_etcd_post_as(struct th_etcd *e, int i, const char *user, const char *password, const char *path, const char *body,
                char **resp)
{
	char token[256] = "";
	if (resp)
		*resp = NULL;
	if (!e || i < 0 || i >= e->n)
		return 0;
	if (user) {
		json_t *req = json_pack("{s:s,s:s}", "name", user, "password", password ? password : "");
		char *rb = json_dumps(req, JSON_COMPACT);
		char *ar = NULL;
		long st = http_req(e, i, "/v3/auth/authenticate", rb, NULL, &ar, 5000);
		json_t *j = st == 200 ? json_loads(ar, 0, NULL) : NULL;
		const char *t = j ? json_string_value(json_object_get(j, "token")) : NULL;
		if (t)
			snprintf(token, sizeof token, "%s", t);
		if (!t)
			warnx_("authenticate as %s failed (HTTP %ld): %s", user, st, ar ? ar : "");
		json_decref(j);
		json_decref(req);
		free(rb);
		free(ar);
		if (!token[0])
			return 0;
	}
	return http_req(e, i, path, body, token[0] ? token : NULL, resp, 5000);
}

static int
enable_auth(struct th_etcd *e, const char *password)
{
	static const char *const paths[] = {"/v3/auth/user/add", "/v3/auth/role/add", "/v3/auth/user/grant",
	                                    "/v3/auth/enable"};
	json_t *bodies[4] = {
		json_pack("{s:s,s:s}", "name", "root", "password", password),
		json_pack("{s:s}", "name", "root"),
		json_pack("{s:s,s:s}", "user", "root", "role", "root"),
		json_object(),
	};
	int rc = 0;
	for (int k = 0; k < 4; k++) {
		char *b = json_dumps(bodies[k], JSON_COMPACT), *resp = NULL;
		long st = rc == 0 ? http_req(e, 0, paths[k], b, NULL, &resp, 5000) : 0;
		if (rc == 0 && st != 200) {
			warnx_("%s: HTTP %ld: %s", paths[k], st, resp ? resp : "");
			rc = -1;
		}
		free(b);
		free(resp);
		json_decref(bodies[k]);
	}
	if (rc == 0) {
		e->auth = 1;
		e->password = strdup(password);
	}
	return rc;
}

/* ------------------------------------------------------------------------
 * Cluster life cycle.
 */
static struct th_etcd *start_once(int members, const struct th_etcd_opts *o, int *port_clash);

/* Ports are picked by binding port 0 and closing it, so another process can
 * take one before etcd binds it: try again with new ports when that is why
 * a member exited. */
struct th_etcd *
th_etcd_start(int members, const struct th_etcd_opts *o)
{
	for (int attempt = 0;; attempt++) {
		int clash = 0;
		struct th_etcd *e = start_once(members, o, &clash);
		if (e || !clash || attempt == 2)
			return e;
		warnx_("port taken by someone else; starting again with new ports");
	}
}

static struct th_etcd *
start_once(int members, const struct th_etcd_opts *o, int *port_clash)
{
	static int seq;
	struct th_etcd *e;
	int ports[2 * TH_MAX_MEMBERS];
	const char *tmp = getenv("TMPDIR");

	if (members != 1 && members != 3) {
		warnx_("members must be 1 or 3, not %d", members);
		return NULL;
	}
	curl_init_once();
	e = calloc(1, sizeof *e);
	if (!e)
		return NULL;
	e->n = members;
	e->owner = getpid();
	e->janitor_fd = -1;
	e->tls = o && o->tls;
	e->token_ttl = o ? o->auth_token_ttl : 0;
	if (o && o->also_listen)
		snprintf(e->also_listen, sizeof e->also_listen, "%s", o->also_listen);
	if (o && o->extra_args) {
		int k = 0;
		while (o->extra_args[k])
			k++;
		e->extra = calloc(k + 1, sizeof *e->extra);
		for (int j = 0; e->extra && j < k; j++)
			e->extra[j] = strdup(o->extra_args[j]);
	}
	snprintf(e->dir, sizeof e->dir, "%s/th-etcd.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(e->dir)) {
		warnx_("mkdtemp %s: %s", e->dir, strerror(errno));
		e->dir[0] = 0;
		goto fail;
	}
	if (janitor_start(e) < 0) {
		warnx_("cannot start the janitor: %s", strerror(errno));
		goto fail;
	}
	if (e->tls && make_tls(e) < 0)
		goto fail;
	if (pick_ports(ports, 2 * members) < 0) {
		warnx_("cannot pick free ports: %s", strerror(errno));
		goto fail;
	}
	snprintf(e->token, sizeof e->token, "th-%d-%d-%ld", (int)getpid(), ++seq, (long)time(NULL));
	size_t cl = 0, el = 0;
	for (int i = 0; i < members; i++) {
		struct th_member *m = &e->m[i];
		m->client_port = ports[2 * i];
		m->peer_port = ports[2 * i + 1];
		snprintf(m->name, sizeof m->name, "m%d", i % 10);
		snprintf(m->url, sizeof m->url, "%s://127.0.0.1:%d", e->tls ? "https" : "http", m->client_port);
		snprintf(m->peer_url, sizeof m->peer_url, "http://127.0.0.1:%d", m->peer_port);
		snprintf(m->log, sizeof m->log, "%s/m%d.log", e->dir, i % 10);
		cl += snprintf(e->cluster + cl, sizeof e->cluster - cl, "%s%s=%s", i ? "," : "", m->name, m->peer_url);
		el += snprintf(e->endpoints + el, sizeof e->endpoints - el, "%s%s", i ? "," : "", m->url);
	}
	for (int i = 0; i < members; i++)
		if (th_etcd_spawn(e, i) < 0)
			goto fail;
	for (int i = 0; i < members; i++)
		if (th_etcd_wait_healthy(e, i, TH_START_TIMEOUT) < 0)
			goto fail;
	if (o && o->root_password && enable_auth(e, o->root_password) < 0)
		goto fail;
	return e;
fail:
	warnx_("could not start a %d-member etcd in %s", members, e->dir);
	*port_clash = e->port_clash;
	th_etcd_free(e);
	return NULL;
}

void
th_etcd_free(struct th_etcd *e)
{
	if (!e || e->owner != getpid())
		return;
	for (int i = 0; i < e->n; i++)
		if (e->m[i].pid > 0)
			th_etcd_kill(e, i);
	rm_rf(e->dir);
	if (e->janitor_fd >= 0)
		close(e->janitor_fd);
	if (e->janitor > 0)
		while (waitpid(e->janitor, NULL, 0) < 0 && errno == EINTR)
			;
	for (int k = 0; e->extra && e->extra[k]; k++)
		free(e->extra[k]);
	free(e->extra);
	free(e->password);
	free(e);
}

int
th_etcd_restart(struct th_etcd *e, int i)
{
	if (!e || i < 0 || i >= e->n || e->owner != getpid())
		return -1;
	if (member_reap(e, i, 0))
		th_etcd_stop(e, i);
	if (th_etcd_spawn(e, i) < 0)
		return -1;
	return th_etcd_wait_healthy(e, i, TH_START_TIMEOUT);
}

int
th_etcd_members(const struct th_etcd *e)
{
	return e ? e->n : 0;
}
const char *
th_etcd_endpoints(const struct th_etcd *e)
{
	return e->endpoints;
}
const char *
th_etcd_dir(const struct th_etcd *e)
{
	return e->dir;
}
const char *
th_etcd_ca(const struct th_etcd *e)
{
	return e->tls ? e->ca : NULL;
}
const char *
th_etcd_cert(const struct th_etcd *e)
{
	return e->tls ? e->cert : NULL;
}
const char *
th_etcd_key(const struct th_etcd *e)
{
	return e->tls ? e->key : NULL;
}
const char *
th_etcd_other_ca(const struct th_etcd *e)
{
	return e->tls ? e->other_ca : NULL;
}

const char *
th_etcd_endpoint(const struct th_etcd *e, int i)
{
	return e && i >= 0 && i < e->n ? e->m[i].url : NULL;
}

int
th_etcd_member_of(const struct th_etcd *e, const char *url)
{
	for (int i = 0; e && url && i < e->n; i++)
		if (strncmp(url, e->m[i].url, strlen(e->m[i].url)) == 0)
			return i;
	return -1;
}

/* ------------------------------------------------------------------------
 * libev wait and base64.
 */
static void
tick_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)w;
	(void)revents;
}

int
th_wait(struct ev_loop *loop, int (*cond)(void *), void *arg, double timeout_s)
{
	ev_timer tick;
	int rc = -1;
	ev_timer_init(&tick, tick_cb, 0.02, 0.02);
	ev_timer_start(loop, &tick);
	double deadline = now_s() + timeout_s;
	for (;;) {
		if (cond && cond(arg)) {
			rc = 0;
			break;
		}
		if (now_s() >= deadline)
			break;
		ev_run(loop, EVRUN_ONCE);
	}
	ev_timer_stop(loop, &tick);
	return rc;
}

char *
th_b64(const void *p, size_t n)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const unsigned char *s = p;
	char *out = malloc(4 * ((n + 2) / 3) + 1), *o = out;
	if (!out)
		return NULL;
	for (size_t i = 0; i < n; i += 3) {
		unsigned v = s[i] << 16 | (i + 1 < n ? s[i + 1] << 8 : 0) | (i + 2 < n ? s[i + 2] : 0);
		*o++ = tab[v >> 18 & 63];
		*o++ = tab[v >> 12 & 63];
		*o++ = i + 1 < n ? tab[v >> 6 & 63] : '=';
		*o++ = i + 2 < n ? tab[v & 63] : '=';
	}
	*o = 0;
	return out;
}
