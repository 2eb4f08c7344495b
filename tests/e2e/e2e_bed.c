/*
 * e2e_bed.c: the bed's lifecycle (through tests/cluster) and its keys
 * (e2e_bed.h). One synchronous etcd client per process, made by bed_up;
 * a forked test inherits the settings and makes its own client on first
 * use (a client is not shared across fork).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "e2e_bed.h"
#include "etcd.h"
#include "etcd_sync.h"

static char ETCD_EP[256], PFX[128], DIR_[256];
static int NMIN, ROUTED;
static struct etcd_sync *S;
static pid_t S_PID; /* the process S belongs to */

double
bed_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Read KEY=VALUE lines of $DIR/env into the settings. */
static int
read_env(void)
{
	char path[300], line[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/env", DIR_);
	if (!(f = fopen(path, "r"))) {
		fprintf(stderr, "e2e_bed: cannot read %s\n", path);
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		if (strncmp(line, "ETCD=", 5) == 0)
			snprintf(ETCD_EP, sizeof(ETCD_EP), "%s", line + 5);
		else if (strncmp(line, "PREFIX=", 7) == 0)
			snprintf(PFX, sizeof(PFX), "%s", line + 7);
		else if (strncmp(line, "MINIONS=", 8) == 0)
			NMIN = atoi(line + 8);
		else if (strncmp(line, "ROUTED=", 7) == 0)
			ROUTED = atoi(line + 7);
	}
	fclose(f);
	return ETCD_EP[0] && PFX[0] && NMIN > 0 ? 0 : -1;
}

static struct etcd_sync *
sync_client(void)
{
	struct etcd_config cfg = {0};
	struct etcd_error err = {0};

	if (S && S_PID == getpid())
		return S;
	S = NULL; /* a parent's client: leave it alone */
	cfg.endpoints = ETCD_EP;
	cfg.request_timeout_ms = 3000;
	cfg.connect_timeout_ms = 1000;
	if (!(S = etcd_sync_new(&cfg, &err)))
		fprintf(stderr, "e2e_bed: etcd client: %s\n", err.msg);
	S_PID = getpid();
	return S;
}

int
bed_up(int n, const char *extra)
{
	char cmd[512];
	const char *d = getenv("SKIFF_CLUSTER_DIR");

	snprintf(DIR_, sizeof(DIR_), "%s", d && *d ? d : "/run/skiff-cluster");
	if (system("tests/cluster down") != 0)
		fprintf(stderr, "e2e_bed: tests/cluster down (of leftovers) failed; trying up anyway\n");
	snprintf(cmd, sizeof(cmd), "tests/cluster up %d %s --owner %d", n, extra ? extra : "", (int)getpid());
	if (system(cmd) != 0 || read_env() < 0 || !sync_client()) {
		fprintf(stderr, "e2e_bed: the bed did not come up (%s)\n", cmd);
		return -1;
	}
	return 0;
}

void
bed_down(int show_logs)
{
	if (S && S_PID == getpid())
		etcd_sync_free(S);
	S = NULL;
	if (show_logs && system("LINES_PER_LOG=60 tests/cluster logs >&2") != 0)
		fprintf(stderr, "e2e_bed: no logs\n");
	if (system("tests/cluster down") != 0)
		fprintf(stderr, "e2e_bed: tests/cluster down failed\n");
}

int
bed_minions(void)
{
	return NMIN;
}

const char *
bed_minion_ip(int i, char *buf, size_t len)
{
	if (ROUTED)
		snprintf(buf, len, "10.213.%d.2", 10 + i);
	else
		snprintf(buf, len, "10.213.0.%d", 10 + i);
	return buf;
}

const char *
bed_etcd(void)
{
	return ETCD_EP;
}

const char *
bed_prefix(void)
{
	return PFX;
}

const char *
bed_docker(int i)
{
	static char path[320];

	snprintf(path, sizeof(path), "%s/m%d/docker.sock", DIR_, i);
	return path;
}

int
bed_link(int i, int up)
{
	char cmd[64];

	snprintf(cmd, sizeof(cmd), "tests/cluster %s %d", up ? "heal" : "cut", i);
	return system(cmd) == 0 ? 0 : -1;
}

/* ---------------------------------------------------------------- keys */

static struct etcd_result *
range(const char *rest, int prefix)
{
	char k[512];
	struct etcd_range_opts o = {0};
	struct etcd_result *r;

	if (!sync_client())
		return NULL;
	snprintf(k, sizeof(k), "%s/%s", PFX, rest);
	o.prefix = prefix;
	r = etcd_sync_range(S, k, &o);
	if (r && r->err.code != ETCD_OK) {
		fprintf(stderr, "e2e_bed: range %s: %s\n", k, r->err.msg);
		etcd_result_free(r);
		r = NULL;
	}
	return r;
}

json_t *
bed_get(const char *rest, long long *mod)
{
	struct etcd_result *r = range(rest, 0);
	json_t *j = NULL;

	if (r && r->nkvs == 1) {
		j = json_loadb(r->kvs[0].value, r->kvs[0].value_len, 0, NULL);
		if (mod)
			*mod = (long long)r->kvs[0].mod_revision;
	}
	if (r)
		etcd_result_free(r);
	return j;
}

int
bed_list(const char *rest, char names[][128], int max)
{
	struct etcd_result *r = range(rest, 1);
	int n;

	if (!r)
		return -1;
	n = (int)r->nkvs;
	for (int i = 0; names && i < n && i < max; i++) {
		const char *slash = strrchr(r->kvs[i].key, '/');

		snprintf(names[i], 128, "%s", slash ? slash + 1 : r->kvs[i].key);
	}
	etcd_result_free(r);
	return n;
}

int
bed_put(const char *rest, const char *val)
{
	char k[512];
	struct etcd_result *r;
	int rc;

	if (!sync_client())
		return -1;
	snprintf(k, sizeof(k), "%s/%s", PFX, rest);
	r = etcd_sync_put(S, k, val, strlen(val), NULL);
	rc = r && r->err.code == ETCD_OK ? 0 : -1;
	if (rc < 0)
		fprintf(stderr, "e2e_bed: put %s: %s\n", k, r ? r->err.msg : "no memory");
	if (r)
		etcd_result_free(r);
	return rc;
}

int
bed_put_json(const char *rest, json_t *j)
{
	char *s = json_dumps(j, JSON_COMPACT);
	int rc = s ? bed_put(rest, s) : -1;

	free(s);
	return rc;
}

int
bed_del(const char *rest)
{
	char k[512];
	struct etcd_result *r;
	int rc;

	if (!sync_client())
		return -1;
	snprintf(k, sizeof(k), "%s/%s", PFX, rest);
	r = etcd_sync_delete(S, k, NULL);
	rc = r && r->err.code == ETCD_OK ? 0 : -1;
	if (r)
		etcd_result_free(r);
	return rc;
}

/* ---------------------------------------------------------------- endpoints */

static void
copy_str(char *dst, size_t len, json_t *v, const char *field)
{
	snprintf(dst, len, "%s", json_string_value(json_object_get(v, field)) ?: "");
}

void
bed_eps_get(const char *svc, struct bed_eps *e)
{
	char rest[200];
	json_t *j, *v;
	size_t i;

	memset(e, 0, sizeof(*e));
	snprintf(rest, sizeof(rest), "endpoints/%s", svc);
	if (!(j = bed_get(rest, NULL)))
		return;
	e->present = 1;
	copy_str(e->cip, sizeof(e->cip), j, "clusterIP");
	json_array_foreach(json_object_get(j, "addresses"), i, v) {
		if (e->n >= BED_MAXA)
			break;
		copy_str(e->ip[e->n], sizeof(e->ip[0]), v, "ip");
		copy_str(e->pod[e->n], sizeof(e->pod[0]), v, "pod");
		copy_str(e->node[e->n], sizeof(e->node[0]), v, "node");
		e->n++;
	}
	json_decref(j);
}

int
bed_eps_has(const struct bed_eps *e, const char *pod)
{
	for (int i = 0; i < e->n; i++)
		if (strcmp(e->pod[i], pod) == 0)
			return 1;
	return 0;
}

int
bed_eps_on(const struct bed_eps *e, const char *node)
{
	int n = 0;

	for (int i = 0; i < e->n; i++)
		n += strcmp(e->node[i], node) == 0;
	return n;
}

void
bed_eps_str(const struct bed_eps *e, char *buf, size_t len)
{
	size_t l = (size_t)snprintf(buf, len, "present=%d cip=%s n=%d:", e->present, e->cip, e->n);

	for (int i = 0; i < e->n && l < len; i++)
		l += (size_t)snprintf(buf + l, len - l, " %s=%s@%s", e->pod[i], e->ip[i], e->node[i]);
}

/* ---------------------------------------------------------------- snapshot */

json_t *
bed_snapshot(const char *rest)
{
	struct etcd_result *r = range(rest, 1);
	size_t pl = strlen(PFX) + 1;
	json_t *all;

	if (!r)
		return NULL;
	all = json_object();
	for (size_t i = 0; all && i < r->nkvs; i++) {
		json_t *v = json_loadb(r->kvs[i].value, r->kvs[i].value_len, 0, NULL);

		if (v && strlen(r->kvs[i].key) > pl)
			json_object_set_new(all, r->kvs[i].key + pl, v);
		else
			json_decref(v);
	}
	etcd_result_free(r);
	return all;
}
