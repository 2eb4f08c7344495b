/*
 * opts.c: the common flag table and its checks, the etcd password, and the
 * etcd client configuration drawn from the flags; the refusal of an etcd
 * password over plain http (daemons), and the removal of the secrets from
 * the environment once they are read.
 *
 * The table is built per call so that its destinations point into the
 * caller's struct skiff_opts and the program can choose the health address
 * default and whether --leader-elect exists.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "opts.h"

#define PASSWORD_MAX 4096
#define COMMON_MAX 17

static int
check_level(const struct flag *f, char *err, size_t len)
{
	enum log_level l;

	if (log_level_parse(*(const char **)f->dest, &l) == 0)
		return 0;
	snprintf(err, len, "\"%s\" is not one of debug, info, warn, error", *(const char **)f->dest);
	return -1;
}

static int
check_positive(const struct flag *f, char *err, size_t len)
{
	if (*(long *)f->dest > 0)
		return 0;
	snprintf(err, len, "must be more than 0");
	return -1;
}

/* 1 KiB .. 1 GiB: the limit of one value a daemon decodes (etcd's own
 * request limit is 1.5 MiB unless raised). */
FLAG_BOUNDS(check_value_bytes, 1024, 1L << 30)

int
opts_check_prefix(const struct flag *f, char *err, size_t len)
{
	const char *p = *(const char **)f->dest, *why = NULL;

	if (!p || p[0] != '/')
		why = "must start with '/'";
	else if (p[1] == '\0' || p[strlen(p) - 1] == '/')
		why = "must not end with '/'";
	else if (strstr(p, "//"))
		why = "must not hold an empty segment (\"//\")";
	else if (strstr(p, ".."))
		why = "must not hold \"..\"";
	for (const char *c = p; !why && *c; c++)
		if (isspace((unsigned char)*c) || iscntrl((unsigned char)*c))
			why = "must not hold whitespace or control characters";
	if (!why)
		return 0;
	snprintf(err, len, "\"%.100s\" %s (e.g. /skiff)", p ? p : "", why);
	return -1;
}

/* "" (off), "host:port", ":port", "[v6]:port" with port 0..65535. */
int
opts_check_hostport(const struct flag *f, char *err, size_t len)
{
	const char *a = *(const char **)f->dest, *colon;
	long port = -1;
	char *end;

	if (!a || !*a)
		return 0;
	colon = strrchr(a, ':');
	if (colon && colon[1] >= '0' && colon[1] <= '9') {
		errno = 0;
		port = strtol(colon + 1, &end, 10);
		if (errno || *end)
			port = -1;
	}
	if (port < 0 || port > 65535 || (a[0] == '[' && colon[-1] != ']') ||
	    (a[0] != '[' && memchr(a, ':', (size_t)(colon - a))) || strpbrk(a, " \t/")) {
		snprintf(err, len, "\"%.100s\" is not host:port (e.g. 127.0.0.1:10251, :8080, [::1]:8080; \"\" = off)",
		         a);
		return -1;
	}
	return 0;
}

/* The common flags of program p, writing into o; returns the table. */
static const struct flag *
common_table(struct skiff_opts *o, const struct skiff_prog *p, struct flag t[COMMON_MAX])
{
	const struct flag all[] = {
		{"etcd-endpoints", FLAG_STRING, &o->etcd_endpoints, "http://127.0.0.1:2379", "SKIFF_ETCD_ENDPOINTS",
	         "etcd client URLs, comma-separated", "URLS", NULL},
		{"prefix", FLAG_STRING, &o->prefix, "/skiff", NULL, "key prefix of this Skiff cluster in etcd", "PATH",
	         opts_check_prefix},
		{"etcd-cacert", FLAG_STRING, &o->etcd_cacert, NULL, NULL, "CA bundle for https endpoints (PEM)", "FILE",
	         NULL},
		{"etcd-cert", FLAG_STRING, &o->etcd_cert, NULL, NULL, "client certificate (PEM)", "FILE", NULL},
		{"etcd-key", FLAG_STRING, &o->etcd_key, NULL, NULL, "client key (PEM)", "FILE", NULL},
		{"etcd-user", FLAG_STRING, &o->etcd_user, NULL, NULL,
	         "etcd user; the password comes from SKIFF_ETCD_PASSWORD or --etcd-password-file", "NAME", NULL},
		{"etcd-password-file", FLAG_STRING, &o->etcd_password_file, NULL, NULL,
	         "file holding the etcd password (one line)", "FILE", NULL},
		{"etcd-timeout", FLAG_DURATION, &o->etcd_timeout_ms, "5s", NULL,
	         "timeout of one etcd request, and of the check that etcd answers at start", NULL, check_positive},
		{"log-level", FLAG_STRING, &o->log_level_name, "info", NULL,
	         "lowest level logged: debug, info, warn or error", "LEVEL", check_level},
		{"health-addr", FLAG_STRING, &o->health_addr, p->health_addr ? p->health_addr : "", NULL,
	         "serve /healthz and /metrics on this address; empty = off", "HOST:PORT", opts_check_hostport},
		{"leader-elect", FLAG_BOOL, &o->leader_elect, "true", NULL,
	         "run only while holding leadership, so that replicas can stand by", NULL, NULL},
		{"resync-interval", FLAG_DURATION, &o->resync_ms, "60s", NULL,
	         "reconcile every object again this often, events or not", NULL, check_positive},
		{"max-value-bytes", FLAG_INT, &o->max_value_bytes, "1433600", NULL,
	         "ignore (as malformed) any watched value larger than this; statuses and events: at most 262144",
	         "BYTES", check_value_bytes},
		{"allow-insecure-auth", FLAG_BOOL, &o->allow_insecure_auth, "false", NULL,
	         "allow --etcd-user with http:// endpoints (the password crosses the network in clear)", NULL, NULL},
		{0}};
	size_t n = 0;

	for (size_t i = 0; all[i].name; i++)
		if ((p->elects || strcmp(all[i].name, "leader-elect") != 0) &&
		    (p->resyncs || strcmp(all[i].name, "resync-interval") != 0) &&
		    (!p->client ||
		     (strcmp(all[i].name, "health-addr") != 0 && strcmp(all[i].name, "max-value-bytes") != 0 &&
		      strcmp(all[i].name, "allow-insecure-auth") != 0)))
			t[n++] = all[i];
	t[n] = (struct flag){0};
	return t;
}

/* Read the first line's worth of a small file, trailing newlines cut. */
static int
read_password(const char *path, char **out, char *err, size_t len)
{
	char buf[PASSWORD_MAX + 1];
	ssize_t n;
	size_t got = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		snprintf(err, len, "--etcd-password-file: cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	while (got < sizeof(buf) && (n = read(fd, buf + got, sizeof(buf) - got)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	if (got > PASSWORD_MAX || n < 0) {
		snprintf(err, len, "--etcd-password-file: cannot read %s: %s", path,
		         n < 0 ? strerror(errno) : "larger than 4 KiB");
		return -1;
	}
	while (got > 0 && (buf[got - 1] == '\n' || buf[got - 1] == '\r'))
		got--;
	*out = strndup(buf, got);
	memset(buf, 0, sizeof(buf));
	return *out ? 0 : (snprintf(err, len, "out of memory"), -1);
}

static int
find_password(struct skiff_opts *o, char *err, size_t len)
{
	const char *env = getenv("SKIFF_ETCD_PASSWORD");

	if (o->etcd_password_file && *o->etcd_password_file) {
		if (!o->etcd_user || !*o->etcd_user) {
			snprintf(err, len, "--etcd-password-file needs --etcd-user");
			return -1;
		}
		return read_password(o->etcd_password_file, &o->etcd_password, err, len);
	}
	if (env && o->etcd_user && *o->etcd_user && !(o->etcd_password = strdup(env))) {
		snprintf(err, len, "out of memory");
		return -1;
	}
	return 0;
}

/* A daemon sends no password over http:// unless told it may. */
static int
check_insecure_auth(const struct skiff_opts *o, const struct skiff_prog *p, char *err, size_t len)
{
	const char *e = o->etcd_endpoints;

	if (p->client || o->allow_insecure_auth || !o->etcd_user || !*o->etcd_user || !e)
		return 0;
	for (; e; e = strchr(e, ',') ? strchr(e, ',') + 1 : NULL) {
		while (*e == ' ')
			e++;
		if (strncasecmp(e, "http://", 7) == 0) {
			snprintf(err, len,
			         "--etcd-user over a plain http:// endpoint would send the password in clear; use "
			         "https:// endpoints (--etcd-cacert), or --allow-insecure-auth on a trusted network");
			return -1;
		}
	}
	return 0;
}

/* etcd's HTTP gateway (3.4 and later) answers 400 "CommonName of client
 * sending a request against gateway will be ignored" to every request that
 * carries a client certificate once auth is on: a user and a client
 * certificate cannot be combined, so say so before the first request. */
static int
check_cert_and_user(const struct skiff_opts *o, char *err, size_t len)
{
	if (!o->etcd_user || !*o->etcd_user || !o->etcd_cert || !*o->etcd_cert)
		return 0;
	snprintf(err, len,
	         "--etcd-user and --etcd-cert cannot be combined: etcd's HTTP gateway refuses requests that carry a "
	         "client certificate when auth is on; run etcd with server TLS only (no --client-cert-auth) and give "
	         "--etcd-cacert with the user (docs/operations.md, \"TLS and auth for etcd\")");
	return -1;
}

/* 1 when the variable "NAME=value" at v holds an etcd secret. */
static int
secret_var(const char *v)
{
	size_t n = strcspn(v, "=");
	char name[128];

	if (n >= sizeof(name))
		return 0;
	memcpy(name, v, n);
	name[n] = '\0';
	if (strcmp(name, "ETCDCTL_PASSWORD") == 0 || strcmp(name, "ETCDCTL_USER") == 0)
		return 1;
	return strncmp(name, "SKIFF_", 6) == 0 &&
	       (strstr(name, "PASSWORD") || strstr(name, "SECRET") || strstr(name, "TOKEN"));
}

int
opts_scrub_env(void)
{
	extern char **environ;
	int n = 0;

	for (size_t i = 0; environ && environ[i];) {
		char *v = environ[i], name[128];

		if (!secret_var(v)) {
			i++;
			continue;
		}
		snprintf(name, sizeof(name), "%.*s", (int)strcspn(v, "="), v);
		unsetenv(name); /* drops the pointer; then wipe the bytes it pointed at */
		memset(v, 0, strlen(v));
		n++;
	}
	return n;
}

int
opts_parse(struct skiff_opts *o, const struct skiff_prog *p, int argc, char **argv, char *err, size_t len)
{
	struct flag common[COMMON_MAX];
	const struct flag *tabs[] = {common_table(o, p, common), p->flags, NULL};
	int rc;

	memset(o, 0, sizeof(*o));
	o->health_addr = ""; /* for clients, which have no such flag */
	rc = flags_parse(tabs, argc, argv, p->args ? &o->nargs : NULL, err, len);
	if (rc != FLAGS_OK)
		return rc;
	log_level_parse(o->log_level_name, &o->log_level);
	if (check_insecure_auth(o, p, err, len) < 0 || check_cert_and_user(o, err, len) < 0)
		return FLAGS_ERR;
	return find_password(o, err, len) < 0 ? FLAGS_ERR : FLAGS_OK;
}

void
opts_parse_or_exit(struct skiff_opts *o, const struct skiff_prog *p, int argc, char **argv)
{
	char err[512];

	switch (opts_parse(o, p, argc, argv, err, sizeof(err))) {
	case FLAGS_OK: opts_scrub_env(); return;
	case FLAGS_HELP: opts_help(p, stdout); break;
	case FLAGS_VERSION: flags_version(stdout, p->name); break;
	default:
		fprintf(stderr, "%s: %s\n", p->name, err);
		opts_usage(p, stderr);
		opts_free(o);
		exit(2);
	}
	opts_free(o);
	exit(fflush(stdout) == 0 ? 0 : 1);
}

void
opts_free(struct skiff_opts *o)
{
	if (o->etcd_password) {
		memset(o->etcd_password, 0, strlen(o->etcd_password));
		free(o->etcd_password);
		o->etcd_password = NULL;
	}
}

void
opts_etcd_config(const struct skiff_opts *o, struct etcd_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->endpoints = o->etcd_endpoints;
	cfg->cacert = o->etcd_cacert;
	cfg->cert = o->etcd_cert;
	cfg->key = o->etcd_key;
	cfg->user = o->etcd_user && *o->etcd_user ? o->etcd_user : NULL;
	cfg->password = cfg->user ? (o->etcd_password ? o->etcd_password : "") : NULL;
	cfg->request_timeout_ms = o->etcd_timeout_ms;
	cfg->connect_timeout_ms = o->etcd_timeout_ms < 2000 ? o->etcd_timeout_ms : 2000;
}

void
opts_help(const struct skiff_prog *p, FILE *f)
{
	struct skiff_opts o;
	struct flag common[COMMON_MAX];
	const struct flag *tabs[] = {common_table(&o, p, common), p->flags, NULL};

	flags_help(f, p->name, p->summary, p->args, tabs);
}

void
opts_usage(const struct skiff_prog *p, FILE *f)
{
	flags_usage(f, p->name, p->args);
	fprintf(f, "Try '%s --help' for the flags.\n", p->name);
}
