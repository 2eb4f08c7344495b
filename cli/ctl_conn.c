/*
 * ctl_conn.c: what every etcd-reading command of skiffctl does first:
 * parse its flags (the daemons' connection flags plus its own, with the
 * short forms people expect from kubectl), connect, and explain failures
 * in words that say what to check. Also the table of kinds.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "skiffctl.h"

static const struct ctl_kind kinds[] = {
	{API_POD, "pods", "pod", "po"},
	{API_CONTROLLER, "controllers", "controller", "rc"},
	{API_SERVICE, "services", "service", "svc"},
	{API_NODE, "nodes", "node", "no"},
	{API_EVENT, "events", "event", "ev"},
	{API_CONFIGMAP, "configmaps", "configmap", "cm"},
	{API_SECRET, "secrets", "secret", "secret"},
	{API_DEPLOYMENT, "deployments", "deployment", "deploy"},
};
#define N_KINDS (sizeof(kinds) / sizeof(kinds[0]))

const struct ctl_kind *
ctl_kind_lookup(const char *w)
{
	size_t i;

	if (!w)
		return NULL;
	for (i = 0; i < N_KINDS; i++) {
		const struct ctl_kind *k = &kinds[i];

		if (!strcasecmp(w, k->plural) || !strcasecmp(w, k->singular) || !strcasecmp(w, k->shortname) ||
		    !strcasecmp(w, api_kind_name(k->kind)))
			return k;
	}
	if (!strcasecmp(w, "replicationcontrollers") || !strcasecmp(w, "replicationcontroller"))
		return &kinds[1];
	return NULL;
}

const struct ctl_kind *
ctl_kind_of(enum api_kind k)
{
	size_t i;

	for (i = 0; i < N_KINDS; i++)
		if (kinds[i].kind == k)
			return &kinds[i];
	return NULL;
}

const char *
ctl_kind_list(void)
{
	return "pods (po), controllers (rc), services (svc), nodes (no), events (ev), configmaps (cm), secrets";
}

/* The long name of a short flag, or NULL. */
static const char *
long_of(const char *a)
{
	static const char *const map[][2] = {
		{"-o", "--output"}, {"-l", "--selector"}, {"-w", "--watch"}, {"-h", "--help"}, {"-f", "--filename"}};
	size_t i;

	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(a, map[i][0]) == 0)
			return map[i][1];
	return NULL;
}

/* "-ojson", "-o=json", "-lapp=web": a short flag glued to its value, as
 * new "--output=json" (or NULL). */
static char *
glued(const char *a)
{
	const char *l = NULL;
	char *r;

	if (a[0] != '-' || (a[1] != 'o' && a[1] != 'l') || a[2] == '\0')
		return NULL;
	l = a[1] == 'o' ? "--output=" : "--selector=";
	if (!(r = malloc(strlen(l) + strlen(a))))
		return NULL;
	strcpy(r, l);
	strcat(r, a + (a[2] == '=' ? 3 : 2));
	return r;
}

int
ctl_usage_error(struct ctl *c, const struct skiff_prog *prog, const char *fmt, ...)
{
	va_list ap;

	fprintf(c->err, "%s: ", prog->name);
	va_start(ap, fmt);
	vfprintf(c->err, fmt, ap);
	va_end(ap);
	fputc('\n', c->err);
	opts_usage(prog, c->err);
	return SKIFFCTL_EXIT_USAGE;
}

int
ctl_parse(struct ctl *c, const struct skiff_prog *prog, int argc, char **argv, FILE *out, FILE *err, int take_files)
{
	char msg[512];
	const char *val;
	int i, n = 1, rc, only_args = 0;

	memset(c, 0, sizeof(*c));
	c->name = prog->name;
	c->out = out;
	c->err = err;
	c->argv = calloc((size_t)argc + 1, sizeof(char *));
	c->files = calloc((size_t)argc + 1, sizeof(char *));
	c->owned = calloc((size_t)argc + 1, sizeof(char *));
	if (!c->argv || !c->files || !c->owned) {
		fprintf(err, "%s: out of memory\n", prog->name);
		return SKIFFCTL_EXIT_FAIL;
	}
	c->argv[0] = argv[0];
	for (i = 1; i < argc; i++) {
		const char *l = only_args ? NULL : long_of(argv[i]);

		if (strcmp(argv[i], "--") == 0)
			only_args = 1;
		if (!only_args && take_files && skiffctl_flag(argc, argv, &i, "--filename", "-f", &val)) {
			if (!val || !*val)
				return ctl_usage_error(c, prog, "-f needs a file name");
			c->files[c->nfiles++] = val;
			continue;
		}
		if (!l && !only_args && (c->owned[c->nowned] = glued(argv[i])))
			l = c->owned[c->nowned++];
		c->argv[n++] = l ? (char *)l : argv[i];
	}
	rc = opts_parse(&c->opts, prog, n, c->argv, msg, sizeof(msg));
	if (rc == FLAGS_HELP) {
		opts_help(prog, out);
		return SKIFFCTL_EXIT_OK;
	}
	if (rc == FLAGS_VERSION) {
		flags_version(out, "skiffctl");
		return SKIFFCTL_EXIT_OK;
	}
	if (rc != FLAGS_OK)
		return ctl_usage_error(c, prog, "%s", msg);
	c->args = c->argv + 1;
	c->nargs = c->opts.nargs;
	return CTL_CONTINUE;
}

int
ctl_connect(struct ctl *c)
{
	struct etcd_config cfg;
	struct etcd_error e = {0};

	opts_etcd_config(&c->opts, &cfg);
	if (!(c->s = etcd_sync_new(&cfg, &e))) {
		fprintf(c->err, "%s: cannot use etcd endpoints %s: %s\n", c->name, c->opts.etcd_endpoints, e.msg);
		return -1;
	}
	return 0;
}

static const char *
advice(enum etcd_code code)
{
	switch (code) {
	case ETCD_ECONN:
	case ETCD_ETIMEOUT:
	case ETCD_EUNAVAIL:
		return "check that etcd is running and reachable there, and that --etcd-endpoints (or "
		       "SKIFF_ETCD_ENDPOINTS) names it";
	case ETCD_EAUTH: return "check --etcd-user and the password (SKIFF_ETCD_PASSWORD or --etcd-password-file)";
	case ETCD_EPERM: return "the etcd user lacks permission on the keys under --prefix";
	case ETCD_ETLS: return "check --etcd-cacert, --etcd-cert and --etcd-key, and https:// in the endpoints";
	case ETCD_ENOSPACE: return "etcd is out of space: compact and defragment it (etcdctl compact, defrag)";
	default: return "see etcd's log";
	}
}

void
ctl_etcd_fail(struct ctl *c, const char *what, const struct etcd_result *res)
{
	if (!res) {
		fprintf(c->err, "%s: %s: out of memory\n", c->name, what);
		return;
	}
	fprintf(c->err, "%s: %s: %s (%s)\n  etcd endpoints: %s\n  %s\n", c->name, what,
	        res->err.msg[0] ? res->err.msg : etcd_code_name(res->err.code), etcd_code_name(res->err.code),
	        c->opts.etcd_endpoints, advice(res->err.code));
}

int
ctl_key(struct ctl *c, char *buf, enum api_kind k, const char *name)
{
	struct api_error e;

	if (api_key_object(buf, API_KEY_MAX, c->opts.prefix, k, name, &e) == 0)
		return 0;
	fprintf(c->err, "%s: \"%s\" is not a valid %s name: %s\n", c->name, name,
	        ctl_kind_of(k) ? ctl_kind_of(k)->singular : api_kind_name(k), e.msg);
	return -1;
}

void
ctl_done(struct ctl *c)
{
	if (c->s)
		etcd_sync_free(c->s);
	opts_free(&c->opts);
	while (c->owned && c->nowned > 0)
		free(c->owned[--c->nowned]);
	free(c->owned);
	free(c->argv);
	free(c->files);
	memset(c, 0, sizeof(*c));
}
