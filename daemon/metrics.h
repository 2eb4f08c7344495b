/*
 * metrics.h: a registry of counters and gauges, rendered in Prometheus text
 * format (version 0.0.4) for GET /metrics.
 *
 *   struct metric *binds = metrics_add(m, "skiff_scheduler_bindings_total", NULL,
 *                                      METRIC_COUNTER, "Pods bound to a node.");
 *   metric_inc(binds);
 *
 * A series either holds its value (metric_inc/add/set) or reads it through a
 * callback at each scrape. Series of one name (differing by labels) share
 * one HELP and TYPE and must have one type.
 */
#ifndef SKIFF_METRICS_H
#define SKIFF_METRICS_H

#include <stddef.h>

enum metric_type { METRIC_COUNTER, METRIC_GAUGE };

struct metrics;
struct metric;
typedef double (*metric_fn)(void *arg);

struct metrics *metrics_new(void);
/* Frees every series; handles returned earlier become invalid. */
void metrics_free(struct metrics *m);

/* Register a series. name matches [a-zA-Z_:][a-zA-Z0-9_:]*; labels is NULL
 * or what goes between the braces, already escaped (`result="ok"`); both and
 * help are copied. Returns the series (owned by m, valid until metrics_free),
 * or NULL on a bad name, a type unlike that of an earlier series of the name,
 * a duplicate name+labels, or no memory. */
struct metric *metrics_add(struct metrics *m, const char *name, const char *labels, enum metric_type type,
                           const char *help);
/* The same, with the value read by fn(arg) at each scrape. */
struct metric *metrics_add_fn(struct metrics *m, const char *name, const char *labels, enum metric_type type,
                              const char *help, metric_fn fn, void *arg);

/* Update a series' own value; all do nothing when s is NULL. */
void metric_inc(struct metric *s);
void metric_add(struct metric *s, double v);
void metric_set(struct metric *s, double v);
double metric_value(const struct metric *s);

/* The exposition text: new string (free it), *len its length; NULL when out
 * of memory. Series appear grouped by name in registration order. O(n²) in
 * the number of series, which is small. */
char *metrics_render(struct metrics *m, size_t *len);

#endif
