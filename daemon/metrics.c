/*
 * metrics.c: the series list and its Prometheus text rendering.
 *
 * Series are kept in registration order in a singly linked list, each
 * allocated on its own so that handles stay valid. Rendering writes into an
 * open_memstream buffer. No locking: one thread.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"

struct metric {
	struct metric *next;
	char *name, *labels, *help;
	enum metric_type type;
	double value;
	metric_fn fn;
	void *arg;
};

struct metrics {
	struct metric *head, **tail;
};

struct metrics *
metrics_new(void)
{
	struct metrics *m = calloc(1, sizeof(*m));

	if (m)
		m->tail = &m->head;
	return m;
}

static void
series_free(struct metric *s)
{
	free(s->name);
	free(s->labels);
	free(s->help);
	free(s);
}

void
metrics_free(struct metrics *m)
{
	struct metric *s, *next;

	if (!m)
		return;
	for (s = m->head; s; s = next) {
		next = s->next;
		series_free(s);
	}
	free(m);
}

static int
valid_name(const char *n)
{
	if (!n || !*n || (*n >= '0' && *n <= '9'))
		return 0;
	for (; *n; n++)
		if (!((*n >= 'a' && *n <= 'z') || (*n >= 'A' && *n <= 'Z') || (*n >= '0' && *n <= '9') || *n == '_' ||
		      *n == ':'))
			return 0;
	return 1;
}

/* 0 when a series name{labels} of type t may join m. */
static int
conflicts(struct metrics *m, const char *name, const char *labels, enum metric_type t)
{
	for (struct metric *s = m->head; s; s = s->next) {
		if (strcmp(s->name, name) != 0)
			continue;
		if (s->type != t || strcmp(s->labels, labels) == 0)
			return 1;
	}
	return 0;
}

struct metric *
metrics_add_fn(struct metrics *m, const char *name, const char *labels, enum metric_type type, const char *help,
               metric_fn fn, void *arg)
{
	struct metric *s;

	if (!labels)
		labels = "";
	if (!m || !valid_name(name) || conflicts(m, name, labels, type) || !(s = calloc(1, sizeof(*s))))
		return NULL;
	s->name = strdup(name);
	s->labels = strdup(labels);
	s->help = strdup(help ? help : "");
	if (!s->name || !s->labels || !s->help) {
		series_free(s);
		return NULL;
	}
	s->type = type;
	s->fn = fn;
	s->arg = arg;
	*m->tail = s;
	m->tail = &s->next;
	return s;
}

struct metric *
metrics_add(struct metrics *m, const char *name, const char *labels, enum metric_type type, const char *help)
{
	return metrics_add_fn(m, name, labels, type, help, NULL, NULL);
}

void
metric_inc(struct metric *s)
{
	metric_add(s, 1);
}

void
metric_add(struct metric *s, double v)
{
	if (s)
		s->value += v;
}

void
metric_set(struct metric *s, double v)
{
	if (s)
		s->value = v;
}

double
metric_value(const struct metric *s)
{
	if (!s)
		return 0;
	return s->fn ? s->fn(s->arg) : s->value;
}

static void
put_help(FILE *f, const char *h)
{
	for (; *h; h++) {
		if (*h == '\\')
			fputs("\\\\", f);
		else if (*h == '\n')
			fputs("\\n", f);
		else
			fputc(*h, f);
	}
}

/* The shortest of %.15g, %.16g, %.17g that reads back as v. */
static const char *
shortest(double v, char *buf, size_t len)
{
	for (int prec = 15; prec < 17; prec++) {
		snprintf(buf, len, "%.*g", prec, v);
		if (strtod(buf, NULL) == v)
			return buf;
	}
	snprintf(buf, len, "%.17g", v);
	return buf;
}

static void
put_value(FILE *f, double v)
{
	char buf[32];

	if (isnan(v))
		fputs("NaN", f);
	else if (isinf(v))
		fputs(v > 0 ? "+Inf" : "-Inf", f);
	else if (v == floor(v) && fabs(v) < 9007199254740992.0)
		fprintf(f, "%.0f", v);
	else
		fputs(shortest(v, buf, sizeof(buf)), f);
}

static void
put_family(FILE *f, const struct metric *first)
{
	fprintf(f, "# HELP %s ", first->name);
	put_help(f, first->help);
	fprintf(f, "\n# TYPE %s %s\n", first->name, first->type == METRIC_COUNTER ? "counter" : "gauge");
	for (const struct metric *s = first; s; s = s->next) {
		if (strcmp(s->name, first->name) != 0)
			continue;
		fprintf(f, s->labels[0] ? "%s{%s} " : "%s%s ", s->name, s->labels);
		put_value(f, metric_value(s));
		fputc('\n', f);
	}
}

static int
seen_before(const struct metrics *m, const struct metric *s)
{
	for (const struct metric *p = m->head; p != s; p = p->next)
		if (strcmp(p->name, s->name) == 0)
			return 1;
	return 0;
}

char *
metrics_render(struct metrics *m, size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);
	int bad;

	if (!f)
		return NULL;
	for (const struct metric *s = m->head; s; s = s->next)
		if (!seen_before(m, s))
			put_family(f, s);
	bad = ferror(f);
	if (fclose(f) != 0 || bad) {
		free(buf);
		return NULL;
	}
	return buf;
}
