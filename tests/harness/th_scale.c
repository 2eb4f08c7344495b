/*
 * th_scale.c: a hollow cluster on one machine (th_scale.h). The processes
 * are th_proc children (killed with the test); the agents log at warn
 * only, so a thousand of them do not write a thousand busy files. It
 * reads etcd and /proc; it does not judge what it reads.
 */
#include <curl/curl.h>
#include <dirent.h>
#include <ftw.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "etcd.h"
#include "etcd_sync.h"
#include "th_proc.h"
#include "th_scale.h"

struct th_scale {
	int n; /* processes */
	struct th_proc **p;
};

static struct th_proc *
start_one(const struct th_scale_opts *o, const char *prog, const char *const *extra)
{
	char bin[512], ep[1024], pfx[256], *argv[24];
	int i = 0;

	snprintf(bin, sizeof(bin), "%s/%s", o->bindir, prog);
	snprintf(ep, sizeof(ep), "--etcd-endpoints=%s", o->endpoints);
	snprintf(pfx, sizeof(pfx), "--prefix=%s", o->prefix);
	argv[i++] = (char *)prog;
	argv[i++] = ep;
	argv[i++] = pfx;
	argv[i++] = "--health-addr=";
	while (extra && *extra && i < 23)
		argv[i++] = (char *)*extra++;
	argv[i] = NULL;
	return th_proc_start(bin, argv, NULL);
}

static struct th_proc *
start_agent(const struct th_scale_opts *o, int k)
{
	char name[64], ip[64], delay[64], buf[1024], *tok, *save = NULL;
	const char *extra[20] = {"--runtime=hollow",
	                         name,
	                         ip,
	                         delay,
	                         "--log-level=warn",
	                         "--capacity-cpu=64",
	                         "--capacity-memory=256Gi",
	                         "--max-pods=250",
	                         "--resolv-conf=/dev/null"};
	int n = 9;

	snprintf(name, sizeof(name), "--node-name=hollow-%d", k);
	snprintf(ip, sizeof(ip), "--node-ip=10.%d.%d.%d", 128 + k / 65536, (k / 256) % 256, k % 256);
	snprintf(delay, sizeof(delay), "--hollow-start-delay=%ldms", o->start_delay_ms);
	snprintf(buf, sizeof(buf), "%s", o->agent_args ? o->agent_args : "");
	for (tok = strtok_r(buf, " ", &save); tok && n < 19; tok = strtok_r(NULL, " ", &save))
		extra[n++] = tok;
	extra[n] = NULL;
	return start_one(o, "skiff-agent", extra);
}

struct th_scale *
th_scale_start(const struct th_scale_opts *o)
{
	static const char *const progs[TH_SCALE_NCP] = {"skiff-scheduler", "skiff-replication-controller",
	                                                "skiff-node-controller", "skiff-endpoints-controller"};
	static const char *const quiet[] = {"--log-level=warn", NULL};
	const char *rc_extra[8] = {"--log-level=warn"};
	char buf[256], *tok, *save = NULL;
	struct th_scale *s = calloc(1, sizeof(*s));
	int i, n = 1;

	if (!s || !(s->p = calloc((size_t)(TH_SCALE_NCP + o->nodes), sizeof(*s->p)))) {
		free(s);
		return NULL;
	}
	s->n = TH_SCALE_NCP + o->nodes;
	snprintf(buf, sizeof(buf), "%s", o->rc_args ? o->rc_args : "");
	for (tok = strtok_r(buf, " ", &save); tok && n < 7; tok = strtok_r(NULL, " ", &save))
		rc_extra[n++] = tok;
	for (i = 0; i < s->n; i++) {
		s->p[i] = i < TH_SCALE_NCP ? start_one(o, progs[i], i == TH_SCALE_RC ? rc_extra : quiet)
		                           : start_agent(o, i - TH_SCALE_NCP);
		if (s->p[i] && i >= TH_SCALE_NCP && o->agent_nice)
			setpriority(PRIO_PROCESS, (id_t)th_proc_pid(s->p[i]), o->agent_nice);
		if (!s->p[i]) {
			fprintf(stderr, "th_scale: cannot start process %d of %d\n", i, s->n);
			th_scale_free(s, 1);
			return NULL;
		}
	}
	return s;
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	remove(path);
	return 0;
}

void
th_scale_free(struct th_scale *s, int show_logs)
{
	int i;

	if (!s)
		return;
	for (i = 0; i < s->n; i++)
		if (s->p[i])
			th_proc_signal(s->p[i], SIGTERM);
	for (i = 0; i < s->n; i++) {
		char dir[512];
		const char *t = getenv("TMPDIR");

		if (s->p[i] && th_proc_wait(s->p[i], 5.0) < 0)
			th_proc_kill(s->p[i]);
		th_proc_free(s->p[i], show_logs && i <= TH_SCALE_NCP);
		/* the agent's --pod-dir (its pods' resolv.conf files) */
		snprintf(dir, sizeof(dir), "%s/skiff-hollow-hollow-%d", t && *t ? t : "/tmp", i - TH_SCALE_NCP);
		if (i >= TH_SCALE_NCP)
			nftw(dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
	}
	free(s->p);
	free(s);
}

pid_t
th_scale_pid(const struct th_scale *s, int which)
{
	return which >= 0 && which < s->n && s->p[which] ? th_proc_pid(s->p[which]) : 0;
}

int
th_scale_procs(const struct th_scale *s)
{
	return s->n;
}

int
th_scale_running(struct th_scale *s)
{
	int i, n = 0;

	for (i = 0; i < s->n; i++)
		n += s->p[i] && th_proc_running(s->p[i]);
	return n;
}

/* Puts keys[i] = vals[i] (n of them) in one transaction, sent again after
 * an answer that is no answer (an overloaded etcd times the proposal out,
 * or refuses it while its apply lags: `request timed out`, `too many
 * requests`), after 1, 2, 4 ... s; a put is idempotent, so a proposal
 * that was applied after all does no harm. what names the batch in the
 * log lines. 0 or -1. */
static int
put_txn_retrying(struct etcd_sync *S, char *const *keys, char *const *vals, int n, const char *what)
{
	struct etcd_result *r = NULL;
	struct etcd_txn *t;
	int tries, i, rc = -1;

	for (tries = 1; tries <= TH_SCALE_PUT_TRIES && rc < 0; tries++) {
		if (tries > 1) {
			fprintf(stderr, "th_scale: %s: %s; again in %d s (try %d of %d)\n", what,
			        r ? r->err.msg : "out of memory", 1 << (tries - 2), tries, TH_SCALE_PUT_TRIES);
			sleep(1u << (tries - 2)); /* a back-off between tries, not a wait for a condition */
		}
		etcd_result_free(r);
		r = NULL;
		if (!(t = etcd_txn_new()))
			continue;
		for (i = 0; i < n; i++)
			etcd_txn_put(t, ETCD_TXN_SUCCESS, keys[i], vals[i], strlen(vals[i]), 0);
		r = etcd_sync_txn(S, t);
		rc = r && r->err.code == ETCD_OK && r->succeeded ? 0 : -1;
	}
	if (rc < 0)
		fprintf(stderr, "th_scale: %s: %s; giving up after %d tries\n", what, r ? r->err.msg : "out of memory",
		        TH_SCALE_PUT_TRIES);
	etcd_result_free(r);
	return rc;
}

int
th_scale_put_rcs(struct etcd_sync *S, const char *prefix, const char *name, int first, int n, int replicas)
{
	char *keys[TH_SCALE_RCS_PER_TXN], *vals[TH_SCALE_RCS_PER_TXN], what[256];
	int i, j, rc = 0, in = 0;

	for (i = first; i < first + n && rc == 0; i++) {
		if (asprintf(&keys[in], "%s/controllers/%s%d", prefix, name, i) < 0)
			return -1;
		if (asprintf(&vals[in],
		             "{\"metadata\":{\"name\":\"%s%d\"},\"spec\":{\"replicas\":%d,\"selector\":{"
		             "\"app\":\"%s%d\"},\"template\":{\"metadata\":{\"labels\":{\"app\":\"%s%d\"}},"
		             "\"spec\":{\"containers\":[{\"name\":\"web\",\"image\":\"hollow/web:1\"}]}}}}",
		             name, i, replicas, name, i, name, i) < 0) {
			free(keys[in]);
			return -1;
		}
		if (++in == TH_SCALE_RCS_PER_TXN || i == first + n - 1) {
			snprintf(what, sizeof(what), "put of controllers %s%d..%s%d (%d in one transaction)", name,
			         i - in + 1, name, i, in);
			rc = put_txn_retrying(S, keys, vals, in, what);
			for (j = 0; j < in; j++) {
				free(keys[j]);
				free(vals[j]);
			}
			in = 0;
		}
	}
	return rc;
}

int
th_scale_put_network(struct etcd_sync *S, const char *prefix, int nodes)
{
	static char val[] = "{\"podCIDR\":\"10.64.0.0/12\",\"subnetLength\":24,\"serviceCIDR\":\"10.0.0.0/24\"}";
	char key[256], *k = key, *v = val;

	if (nodes <= 250)
		return 0;
	snprintf(key, sizeof(key), "%s/network/config", prefix);
	return put_txn_retrying(S, &k, &v, 1, "put of the network config");
}

/* Every key under prefix/dir/ (new result, NULL on failure). */
static struct etcd_result *
range(struct etcd_sync *S, const char *prefix, const char *dir, int keys_only)
{
	/* pages of 5,000 keys at one revision: 30,000 statuses in one answer
	 * would be one message of tens of MB through the gateway */
	struct etcd_range_opts o = {.prefix = 1, .keys_only = keys_only, .page_size = 5000};
	char key[256];
	struct etcd_result *r;

	snprintf(key, sizeof(key), "%s/%s/", prefix, dir);
	r = etcd_sync_range(S, key, &o);
	if (r && r->err.code != ETCD_OK) {
		fprintf(stderr, "th_scale: range %s: %s\n", key, r->err.msg);
		etcd_result_free(r);
		return NULL;
	}
	return r;
}

/* Bindings per pod name (P/bindings/NODE/POD) into counts (name -> n). */
static void
count_bindings(const struct etcd_result *b, size_t plen, json_t *counts, int *stray)
{
	size_t i;

	for (i = 0; i < b->nkvs; i++) {
		const char *pod = strrchr(b->kvs[i].key, '/');
		json_t *c;

		if (!pod || strlen(b->kvs[i].key) <= plen)
			continue;
		c = json_object_get(counts, pod + 1);
		if (c)
			json_integer_set(c, json_integer_value(c) + 1);
		else
			(*stray)++;
	}
}

int
th_scale_pods(struct etcd_sync *S, const char *prefix, struct th_scale_pods *p)
{
	struct etcd_result *pods = range(S, prefix, "pods", 1), *b = range(S, prefix, "bindings", 1);
	struct etcd_result *st = range(S, prefix, "podstatus", 0), *nodes = range(S, prefix, "nodestatus", 1);
	json_t *counts = json_object(), *v;
	const char *k;
	size_t i;
	int rc = -1;

	memset(p, 0, sizeof(*p));
	if (pods && b && st && nodes && counts) {
		for (i = 0; i < pods->nkvs; i++) {
			const char *name = strrchr(pods->kvs[i].key, '/');

			json_object_set_new(counts, name ? name + 1 : pods->kvs[i].key, json_integer(0));
		}
		p->pods = (int)pods->nkvs;
		count_bindings(b, strlen(prefix), counts, &p->stray);
		json_object_foreach(counts, k, v) {
			p->bound += json_integer_value(v) == 1;
			p->bound_twice += json_integer_value(v) > 1;
		}
		for (i = 0; i < st->nkvs; i++) {
			int run = st->kvs[i].value &&
			          memmem(st->kvs[i].value, st->kvs[i].value_len, "\"phase\":\"Running\"", 17) != NULL;

			p->running += run;
			if (run && st->kvs[i].mod_revision > p->last_running_rev)
				p->last_running_rev = st->kvs[i].mod_revision;
		}
		p->nodes = (int)nodes->nkvs;
		rc = 0;
	}
	json_decref(counts);
	etcd_result_free(pods);
	etcd_result_free(b);
	etcd_result_free(st);
	etcd_result_free(nodes);
	return rc;
}

static size_t
grow(char *ptr, size_t sz, size_t n, void *arg)
{
	char **buf = arg;
	size_t have = *buf ? strlen(*buf) : 0;
	char *nb = realloc(*buf, have + sz * n + 1);

	if (!nb)
		return 0;
	memcpy(nb + have, ptr, sz * n);
	nb[have + sz * n] = '\0';
	*buf = nb;
	return sz * n;
}

/* The value of the sample named exactly name (no labels), or -1. */
static double
sample(const char *text, const char *name)
{
	size_t l = strlen(name);
	const char *p;

	for (p = text; (p = strstr(p, name)); p += l)
		if ((p == text || p[-1] == '\n') && p[l] == ' ')
			return strtod(p + l + 1, NULL);
	return -1;
}

int
th_scale_etcd_metrics(const char *url, struct th_scale_etcd *m)
{
	CURL *c = curl_easy_init();
	char u[512], *buf = NULL;
	CURLcode rc;

	if (!c)
		return -1;
	snprintf(u, sizeof(u), "%s/metrics", url);
	curl_easy_setopt(c, CURLOPT_URL, u);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, grow);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &buf);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
	rc = curl_easy_perform(c);
	curl_easy_cleanup(c);
	if (rc != CURLE_OK || !buf) {
		free(buf);
		return -1;
	}
	m->proposals = sample(buf, "etcd_server_proposals_committed_total");
	m->puts = sample(buf, "etcd_mvcc_put_total");
	m->deletes = sample(buf, "etcd_mvcc_delete_total");
	m->txns = sample(buf, "etcd_mvcc_txn_total");
	m->wal_bytes = sample(buf, "etcd_disk_wal_write_bytes_total");
	m->events = sample(buf, "etcd_debugging_mvcc_events_total");
	m->watchers = sample(buf, "etcd_debugging_mvcc_watcher_total");
	m->slow = sample(buf, "etcd_debugging_mvcc_slow_watcher_total");
	m->pending = sample(buf, "etcd_debugging_mvcc_pending_events_total");
	free(buf);
	return 0;
}

int
th_scale_proc(pid_t pid, double *cpu_s, long *hwm_kb, long *rss_kb)
{
	char path[64], line[512], *p;
	unsigned long ut = 0, st = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (!(f = fopen(path, "r")))
		return -1;
	p = fgets(line, sizeof(line), f) ? strrchr(line, ')') : NULL;
	fclose(f);
	/* after ")": state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime */
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
		return -1;
	*cpu_s = (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
	*hwm_kb = *rss_kb = 0;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if (!(f = fopen(path, "r")))
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "VmHWM:", 6) == 0)
			*hwm_kb = atol(line + 6);
		else if (strncmp(line, "VmRSS:", 6) == 0)
			*rss_kb = atol(line + 6);
	}
	fclose(f);
	return 0;
}

pid_t
th_scale_find_etcd(const char *dir)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	pid_t found = 0;

	while (d && !found && (e = readdir(d))) {
		char path[300], cmd[4096];
		size_t n, i;
		FILE *f;

		if (e->d_name[0] < '1' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/cmdline", e->d_name);
		if (!(f = fopen(path, "r")))
			continue;
		n = fread(cmd, 1, sizeof(cmd) - 1, f);
		fclose(f);
		for (i = 0; i < n; i++)
			if (!cmd[i])
				cmd[i] = ' ';
		cmd[n] = '\0';
		if (strstr(cmd, "etcd") && strstr(cmd, dir))
			found = (pid_t)atoi(e->d_name);
	}
	if (d)
		closedir(d);
	return found;
}
