/*
 * docker_trace.c: reads the agent's Docker trace (docker_trace.h): matches
 * answers to requests, names the pod of each write by the skiff.pod label
 * of the create that made its container, and sums up windows of it. It
 * does not talk to Docker; replaying is bench/docker_replay.c.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "docker_trace.h"

static char *
dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

static const char *
label(json_t *body, const char *key)
{
	return json_string_value(json_object_get(json_object_get(body, "Labels"), key));
}

static int
add_request(struct trace *t, json_t *j)
{
	struct tr_call *c;

	if (t->n == t->cap) {
		int cap = t->cap ? t->cap * 2 : 256;
		struct tr_call *nc = realloc(t->c, (size_t)cap * sizeof(*nc));

		if (!nc)
			return -1;
		t->c = nc;
		t->cap = cap;
	}
	c = &t->c[t->n++];
	memset(c, 0, sizeof(*c));
	c->t0 = json_real_value(json_object_get(j, "t"));
	c->pid = (int)json_integer_value(json_object_get(j, "pid"));
	snprintf(c->req, sizeof(c->req), "%s", json_string_value(json_object_get(j, "req")) ?: "");
	c->method = strdup(json_string_value(json_object_get(j, "method")) ?: "GET");
	c->path = strdup(json_string_value(json_object_get(j, "path")) ?: "");
	c->ctype = strdup(json_string_value(json_object_get(j, "ctype")) ?: "");
	c->body = dup_or_null(json_string_value(json_object_get(j, "body")));
	return 0;
}

/* The latest request of the same process and handle still waiting. */
static void
add_answer(struct trace *t, json_t *j)
{
	const char *req = json_string_value(json_object_get(j, "req")) ?: "";
	int pid = (int)json_integer_value(json_object_get(j, "pid"));

	for (int i = t->n - 1; i >= 0; i--) {
		struct tr_call *c = &t->c[i];

		if (c->t1 == 0 && c->pid == pid && strcmp(c->req, req) == 0) {
			c->t1 = json_real_value(json_object_get(j, "t"));
			c->status = (long)json_integer_value(json_object_get(j, "status"));
			c->resp = dup_or_null(json_string_value(json_object_get(j, "resp")));
			return;
		}
	}
}

/* The container ID a path names (/containers/ID/... or /containers/ID?...). */
static int
path_id(const char *path, char *id, size_t len)
{
	const char *p = strncmp(path, "/containers/", 12) == 0 ? path + 12 : NULL;
	size_t n = p ? strcspn(p, "/?") : 0;

	if (n != 64 || n >= len)
		return -1;
	memcpy(id, p, n);
	id[n] = '\0';
	return 0;
}

/* Every write gets the pod of the create that made its container. */
static void
name_pods(struct trace *t)
{
	for (int i = 0; i < t->n; i++) {
		struct tr_call *c = &t->c[i];
		json_t *b;

		if (strcmp(c->method, "POST") == 0 && strncmp(c->path, "/containers/create", 18) == 0 && c->body &&
		    (b = json_loads(c->body, 0, NULL))) {
			c->pod = dup_or_null(label(b, "skiff.pod"));
			json_decref(b);
		}
	}
	for (int i = 0; i < t->n; i++) {
		struct tr_call *c = &t->c[i];
		char id[80];

		if (c->pod || strcmp(c->method, "GET") == 0 || path_id(c->path, id, sizeof(id)) < 0)
			continue;
		for (int k = 0; k < t->n && !c->pod; k++)
			if (t->c[k].pod && t->c[k].resp && strstr(t->c[k].resp, id) && k < i)
				c->pod = strdup(t->c[k].pod);
	}
}

int
tr_load(struct trace *t, const char *file, long offset)
{
	FILE *f = fopen(file, "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	memset(t, 0, sizeof(*t));
	if (!f || fseek(f, offset, SEEK_SET) < 0) {
		if (f)
			fclose(f);
		return -1;
	}
	while ((n = getline(&line, &cap, f)) > 0) {
		json_t *j = line[n - 1] == '\n' ? json_loads(line, 0, NULL) : NULL;

		if (j && json_object_get(j, "method"))
			add_request(t, j);
		else if (j)
			add_answer(t, j);
		json_decref(j);
	}
	free(line);
	fclose(f);
	name_pods(t);
	return 0;
}

void
tr_free(struct trace *t)
{
	for (int i = 0; i < t->n; i++) {
		free(t->c[i].method);
		free(t->c[i].path);
		free(t->c[i].ctype);
		free(t->c[i].body);
		free(t->c[i].resp);
		free(t->c[i].pod);
	}
	free(t->c);
	memset(t, 0, sizeof(*t));
}

long
tr_size(const char *file)
{
	struct stat st;

	return stat(file, &st) == 0 ? (long)st.st_size : 0;
}

static int
in(const struct tr_call *c, double w0, double w1)
{
	return c->t0 >= w0 && c->t0 <= w1;
}

int
tr_count(const struct trace *t, double w0, double w1)
{
	int n = 0;

	for (int i = 0; i < t->n; i++)
		n += in(&t->c[i], w0, w1);
	return n;
}

static int
cmp_start(const void *a, const void *b)
{
	const double *x = a, *y = b;

	return (x[0] > y[0]) - (x[0] < y[0]);
}

double
tr_busy(const struct trace *t, double w0, double w1)
{
	double(*iv)[2] = calloc((size_t)t->n + 1, sizeof(*iv)), busy = 0, end = w0;
	int n = 0;

	if (!iv)
		return 0;
	for (int i = 0; i < t->n; i++)
		if (in(&t->c[i], w0, w1) && t->c[i].t1 > 0) {
			iv[n][0] = t->c[i].t0;
			iv[n++][1] = t->c[i].t1 < w1 ? t->c[i].t1 : w1;
		}
	qsort(iv, (size_t)n, sizeof(*iv), cmp_start);
	for (int i = 0; i < n; i++) {
		double s = iv[i][0] > end ? iv[i][0] : end;

		if (iv[i][1] > s)
			busy += iv[i][1] - s;
		end = iv[i][1] > end ? iv[i][1] : end;
	}
	free(iv);
	return busy;
}

int
tr_path_ends(const char *path, const char *suffix)
{
	size_t n = strcspn(path, "?"), l = suffix ? strlen(suffix) : 0;

	return !suffix || (n >= l && strncmp(path + n - l, suffix, l) == 0);
}

double
tr_call_time(const struct trace *t, double w0, double w1, const char *suffix, int *n)
{
	double sum = 0;
	int k = 0;

	for (int i = 0; i < t->n; i++)
		if (in(&t->c[i], w0, w1) && t->c[i].t1 > 0 && tr_path_ends(t->c[i].path, suffix)) {
			sum += t->c[i].t1 - t->c[i].t0;
			k++;
		}
	if (n)
		*n = k;
	return sum;
}

int
tr_failures(const struct trace *t, double w0, double w1, const char *who)
{
	int n = 0;

	for (int i = 0; i < t->n; i++) {
		const struct tr_call *c = &t->c[i];

		if (!in(c, w0, w1) || c->t1 == 0 || (c->status >= 200 && c->status < 300) || c->status == 304)
			continue;
		if (c->status == 404 && strcmp(c->method, "GET") == 0)
			continue; /* a lookup that found nothing (the network before it is made) */
		if (n++ < 20)
			fprintf(stderr, "%s: %s %s: Docker answered %ld: %s\n", who, c->method, c->path, c->status,
			        c->resp ? c->resp : "(no short body)");
	}
	if (n > 20)
		fprintf(stderr, "%s: ... %d failed answers in all\n", who, n);
	return n;
}

/* method + path without query, a 64-hex ID as {id}. */
static void
kind_of(const struct tr_call *c, char *k, size_t len)
{
	size_t o = (size_t)snprintf(k, len, "%s ", c->method);

	for (const char *p = c->path; *p && *p != '?' && o + 5 < len;) {
		if (strspn(p, "0123456789abcdef") == 64) {
			memcpy(k + o, "{id}", 4);
			o += 4;
			p += 64;
		} else {
			k[o++] = *p++;
		}
	}
	k[o] = '\0';
}

void
tr_kinds(const struct trace *t, double w0, double w1, int npods, char *out, size_t len)
{
	char kinds[32][160];
	int count[32] = {0}, nk = 0;
	size_t o = 0;

	out[0] = '\0';
	for (int i = 0; i < t->n; i++) {
		char k[160];
		int j;

		if (!in(&t->c[i], w0, w1))
			continue;
		kind_of(&t->c[i], k, sizeof(k));
		for (j = 0; j < nk && strcmp(kinds[j], k) != 0; j++)
			;
		if (j == nk && nk < 32)
			snprintf(kinds[nk++], sizeof(kinds[0]), "%s", k);
		if (j < nk)
			count[j]++;
	}
	for (int j = 0; j < nk && o < len; j++)
		o += (size_t)snprintf(out + o, len - o, "%s%s=%.2f", j ? " " : "", kinds[j],
		                      (double)count[j] / (npods > 0 ? npods : 1));
}

static struct tr_pod *
pod_of(struct tr_pod *p, int n, const char *name)
{
	for (int i = 0; i < n; i++)
		if (strcmp(p[i].pod, name) == 0)
			return &p[i];
	return NULL;
}

static int
append(const struct tr_call ***v, int *n, const struct tr_call *c)
{
	const struct tr_call **nv = realloc(*v, (size_t)(*n + 1) * sizeof(*nv));

	if (!nv)
		return -1;
	nv[(*n)++] = c;
	*v = nv;
	return 0;
}

/* A new pod from the create c (labels skiff.pod, skiff.node, skiff.uid). */
static void
pod_new(struct tr_pod *p, const struct tr_call *c)
{
	json_t *b = json_loads(c->body, 0, NULL);

	memset(p, 0, sizeof(*p));
	snprintf(p->pod, sizeof(p->pod), "%s", c->pod);
	snprintf(p->node, sizeof(p->node), "%s", label(b, "skiff.node") ?: "");
	snprintf(p->uid, sizeof(p->uid), "%s", label(b, "skiff.uid") ?: "");
	json_decref(b);
}

int
tr_pods(const struct trace *t, double s0, double s1, double e0, double e1, struct tr_pod **out)
{
	struct tr_pod *p = calloc((size_t)t->n + 1, sizeof(*p)), *q;
	int n = 0, rc = 0;

	if (!p)
		return -1;
	for (int i = 0; i < t->n && rc == 0; i++) {
		const struct tr_call *c = &t->c[i];

		if (!c->pod || strcmp(c->method, "GET") == 0)
			continue;
		q = pod_of(p, n, c->pod);
		if (!q && in(c, s0, s1) && c->body)
			pod_new(q = &p[n++], c);
		if (q && in(c, s0, s1))
			rc = append(&q->start, &q->n_start, c);
		else if (q && in(c, e0, e1))
			rc = append(&q->stop, &q->n_stop, c);
	}
	*out = p;
	if (rc < 0) {
		tr_pods_free(p, n);
		*out = NULL;
		return -1;
	}
	return n;
}

void
tr_pods_free(struct tr_pod *p, int n)
{
	for (int i = 0; p && i < n; i++) {
		free(p[i].start);
		free(p[i].stop);
	}
	free(p);
}
