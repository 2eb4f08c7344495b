/*
 * docker_replay.c: makes a pod's recorded writes again (docker_replay.h),
 * each request a synchronous libcurl call of tests/harness (a new
 * connection to the unix socket each time: microseconds against Docker's
 * tens of milliseconds per write). It does not read the trace
 * (docker_trace.c) and knows no pod spec: what it sends is the template's
 * text with names and IDs replaced.
 */
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "docker_harness.h"
#include "docker_replay.h"

struct run {
	struct rp_job *jobs;
	int n, phase, ngroups;
	int *next; /* per group: the first job not yet taken */
	const char *who;
	pthread_mutex_t mu;
};

struct worker {
	struct run *run;
	int group;
	pthread_t th;
};

static double
mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void
rp_job_init(struct rp_job *j, const struct tr_pod *tp, const char *sock, int group, const char *pod, const char *uid,
            const char *node)
{
	memset(j, 0, sizeof(*j));
	j->tp = tp;
	j->sock = sock;
	j->group = group;
	snprintf(j->pod, sizeof(j->pod), "%s", pod);
	snprintf(j->uid, sizeof(j->uid), "%s", uid);
	snprintf(j->node, sizeof(j->node), "%s", node);
}

/* How many bytes of s the pair's old string matches: all of it, or for a
 * container ID (nids > 0, counted down) a prefix of 12 or more ending
 * where the hex does (the agent writes "container:ID" shortened). */
static size_t
match(const char *s, const char *old, int is_id)
{
	size_t n = 0;

	if (!is_id)
		return *old && strncmp(s, old, strlen(old)) == 0 ? strlen(old) : 0;
	while (old[n] && s[n] == old[n])
		n++;
	return n == strlen(old) || (n >= 12 && !strchr("0123456789abcdef", s[n] ? s[n] : 'x')) ? n : 0;
}

/* s with every old string of pairs replaced by its new one (the first
 * nids pairs are IDs: a prefix is replaced by as long a prefix); one
 * left to right scan, a replacement is not looked at again. */
static char *
replace(const char *s, const char *(*pairs)[2], int np, int nids)
{
	size_t cap = strlen(s) * 2 + 256, o = 0;
	char *out = malloc(cap);

	while (out && *s) {
		size_t m = 0, len = 1;
		int k;

		for (k = 0; k < np && !(m = match(s, pairs[k][0], k < nids)); k++)
			;
		const char *add = k < np ? pairs[k][1] : s;

		len = k < np ? strlen(add) : 1;
		len = k < nids && m < len ? m : len;
		if (o + len + 1 > cap) {
			char *no = realloc(out, cap = (o + len + 1) * 2);

			if (!no) {
				free(out);
				return NULL;
			}
			out = no;
		}
		memcpy(out + o, add, len);
		o += len;
		s += k < np ? m : 1;
	}
	if (out)
		out[o] = '\0';
	return out;
}

/* The template's text under the job's names and IDs: the IDs first (so
 * nothing inside one is replaced), then "_NODE_UID" (in container names),
 * then the pod's name. */
static char *
subst(const struct rp_job *j, const char *s)
{
	const char *pairs[2 + RP_MAXIDS][2];
	char on[200], nn[200];
	int np = 0;

	if (!s)
		return NULL;
	for (int i = 0; i < j->nids; i++)
		pairs[np][0] = j->ids[i][0], pairs[np++][1] = j->ids[i][1];
	snprintf(on, sizeof(on), "_%s_%s", j->tp->node, j->tp->uid);
	snprintf(nn, sizeof(nn), "_%s_%s", j->node, j->uid);
	pairs[np][0] = on, pairs[np++][1] = nn;
	pairs[np][0] = j->tp->pod, pairs[np++][1] = j->pod;
	return replace(s, pairs, np, j->nids);
}

/* The files the agent writes before a create and binds into the
 * container (the pod's resolv.conf): the baseline writes them too, as the
 * agent does, or Docker refuses the bind. */
static void
bind_files(const json_t *body)
{
	const json_t *m;
	size_t i;

	json_array_foreach(json_object_get(json_object_get(body, "HostConfig"), "Mounts"), i, m) {
		const char *src = json_string_value(json_object_get(m, "Source"));
		char cmd[1200];

		if (!src || access(src, F_OK) == 0 || strlen(src) < 12 ||
		    strcmp(src + strlen(src) - 12, "/resolv.conf") != 0 || strchr(src, '\''))
			continue;
		snprintf(cmd, sizeof(cmd), "mkdir -p \"$(dirname '%s')\" && echo 'nameserver 169.254.20.10' > '%s'",
		         src, src);
		if (system(cmd) != 0)
			fprintf(stderr, "replay: cannot write %s\n", src);
	}
}

/* A create's body: also its skiff.node and skiff.uid labels (as text,
 * the node's name or a uid alone could be part of anything). */
static char *
subst_body(const struct rp_job *j, const char *body)
{
	char *s = subst(j, body), *out;
	json_t *b = s ? json_loads(s, 0, NULL) : NULL, *l = json_object_get(b, "Labels");

	bind_files(b);
	if (!json_is_string(json_object_get(l, "skiff.node"))) {
		json_decref(b);
		return s;
	}
	json_object_set_new(l, "skiff.node", json_string(j->node));
	if (json_is_string(json_object_get(l, "skiff.uid")))
		json_object_set_new(l, "skiff.uid", json_string(j->uid));
	out = json_dumps(b, JSON_COMPACT);
	json_decref(b);
	free(s);
	return out;
}

static const char *
id_in(const char *resp, char *buf, size_t len)
{
	json_t *j = resp ? json_loads(resp, 0, NULL) : NULL;

	snprintf(buf, len, "%s", json_string_value(json_object_get(j, "Id")) ?: "");
	json_decref(j);
	return buf;
}

/* Docker's message in an answer, or the start of its body. */
static void
print_failure(const char *who, const char *method, const char *path, long status, const char *resp)
{
	json_t *j = json_loads(resp, 0, NULL);
	const char *m = json_string_value(json_object_get(j, "message"));

	fprintf(stderr, "%s: %s %s: Docker answered %ld: %.300s\n", who, method, path, status,
	        m        ? m
	        : status ? resp
	                 : "(no answer: transport error)");
	json_decref(j);
}

/* One call of the template, made for j; its status (0: no answer). */
static long
replay_call(struct rp_job *j, const struct tr_call *tc, const char *who)
{
	char *path = subst(j, tc->path), *body = subst_body(j, tc->body), *resp = NULL, old[72], new[72];
	double t0 = mono();
	long st = path && (body || !tc->body) ? dh_request_on(j->sock, tc->method, path, body, &resp) : 0;

	j->calls++;
	j->call_time += mono() - t0;
	if (tr_path_ends(tc->path, "/start")) {
		j->start_time += mono() - t0;
		j->starts++;
	}
	if (tr_path_ends(tc->path, "/stop"))
		j->stop_time += mono() - t0;
	if (st == 201 && *id_in(tc->resp, old, sizeof(old)) && *id_in(resp, new, sizeof(new)) && j->nids < RP_MAXIDS) {
		snprintf(j->ids[j->nids][0], sizeof(j->ids[0][0]), "%s", old);
		snprintf(j->ids[j->nids++][1], sizeof(j->ids[0][1]), "%s", new);
	}
	if (!((st >= 200 && st < 300) || st == 304) && st == tc->status)
		st = 200; /* the agent got the same answer and went on */
	else if (!((st >= 200 && st < 300) || st == 304))
		print_failure(who, tc->method, path ? path : tc->path, st, resp ? resp : "");
	free(path);
	free(body);
	free(resp);
	return st;
}

static int
ok(long st)
{
	return (st >= 200 && st < 300) || st == 304;
}

/* Force-removes the containers j made from ids[from] on. */
static void
remove_from(struct rp_job *j, int from)
{
	char path[160];

	for (int i = j->nids - 1; i >= from; i--) {
		snprintf(path, sizeof(path), "/containers/%s?force=1&v=1", j->ids[i][1]);
		dh_request_on(j->sock, "DELETE", path, NULL, NULL);
	}
	j->nids = from;
}

/* The start: made once more from scratch when Docker answered 5xx. */
static void
replay_start(struct rp_job *j, const char *who)
{
	for (int attempt = 0; attempt < 2; attempt++) {
		int from = j->nids, i;
		long st = 200;

		for (i = 0; i < j->tp->n_start && ok(st); i++)
			st = replay_call(j, j->tp->start[i], who);
		if (ok(st))
			return;
		remove_from(j, from);
		if (st < 500 || attempt == 1)
			break;
		fprintf(stderr, "%s: pod %s: a transient failure; making it once more\n", who, j->pod);
	}
	j->failed = 1;
}

static void
replay_stop(struct rp_job *j, const char *who)
{
	for (int i = 0; i < j->tp->n_stop && !j->failed; i++) {
		long st = replay_call(j, j->tp->stop[i], who);

		if (st >= 500)
			st = replay_call(j, j->tp->stop[i], who);
		j->failed = !ok(st);
	}
}

static void *
worker(void *arg)
{
	struct worker *w = arg;
	struct run *r = w->run;
	for (;;) {
		struct rp_job *j = NULL;

		pthread_mutex_lock(&r->mu);
		while (r->next[w->group] < r->n && r->jobs[r->next[w->group]].group != w->group)
			r->next[w->group]++;
		if (r->next[w->group] < r->n)
			j = &r->jobs[r->next[w->group]++];
		pthread_mutex_unlock(&r->mu);
		if (!j)
			break;
		if (r->phase == 0)
			replay_start(j, r->who);
		else
			replay_stop(j, r->who);
		j->done = mono();
	}
	return NULL;
}

int
rp_run(struct rp_job *jobs, int n, int phase, int workers, const char *who)
{
	struct run r = {.jobs = jobs, .n = n, .phase = phase, .who = who};
	struct worker *w;
	int nw, failed = 0;

	for (int i = 0; i < n; i++)
		r.ngroups = jobs[i].group + 1 > r.ngroups ? jobs[i].group + 1 : r.ngroups;
	nw = r.ngroups * workers;
	r.next = calloc((size_t)r.ngroups + 1, sizeof(int));
	w = calloc((size_t)nw + 1, sizeof(*w));
	if (!r.next || !w) {
		free(r.next);
		free(w);
		return n;
	}
	pthread_mutex_init(&r.mu, NULL);
	for (int i = 0; i < n; i++) {
		jobs[i].failed = jobs[i].failed && phase == 1 ? 1 : 0;
		jobs[i].done = 0;
	}
	for (int i = 0; i < nw; i++) {
		w[i] = (struct worker){.run = &r, .group = i / workers};
		if (pthread_create(&w[i].th, NULL, worker, &w[i]) != 0)
			w[i].run = NULL;
	}
	for (int i = 0; i < nw; i++)
		if (w[i].run)
			pthread_join(w[i].th, NULL);
	for (int i = 0; i < n; i++) {
		jobs[i].failed |= jobs[i].done == 0; /* no worker took it */
		failed += jobs[i].failed;
	}
	pthread_mutex_destroy(&r.mu);
	free(r.next);
	free(w);
	return failed;
}

void
rp_cleanup(struct rp_job *jobs, int n)
{
	for (int i = 0; i < n; i++)
		remove_from(&jobs[i], 0);
}
