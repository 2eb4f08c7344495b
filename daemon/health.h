/*
 * health.h: the --health-addr server: GET /healthz and GET /metrics, served
 * by libmicrohttpd from the program's own libev loop (no thread).
 *
 * /healthz answers 200 "ok" when every registered check passes, else 503
 * with one "name: reason" line per failing check. /metrics renders the
 * metrics registry (metrics.h). Anything else is 404; other methods than
 * GET and HEAD are 405.
 */
#ifndef SKIFF_HEALTH_H
#define SKIFF_HEALTH_H

#include <stddef.h>

struct ev_loop;
struct metrics;
struct health;

/* A check: 0 when healthy, or -1 with a short reason in reason[len]. Runs
 * at each GET /healthz, inside the loop; must not block. */
typedef int (*health_check_fn)(void *arg, char *reason, size_t len);

/* A server in waiting: checks can be added before and after it listens.
 * m is borrowed (NULL = empty /metrics) and must outlive h. NULL if out of
 * memory. */
struct health *health_new(struct metrics *m);
/* Stop listening, close connections and free h (NULL is fine). */
void health_free(struct health *h);

/* Add a check (name copied). 0, or -1 when out of memory. */
int health_check_add(struct health *h, const char *name, health_check_fn fn, void *arg);
/* Run every check as /healthz would: 0 when all pass, else -1 with the
 * failing "name: reason" lines in out[len]. */
int health_check_all(struct health *h, char *out, size_t len);

/* Listen on addr ("host:port", ":port" for every interface, "[::1]:port";
 * port 0 picks a free one) and serve from loop. Returns 0, or -1 with a
 * message in err (bad address, bind failed, already listening). May resolve
 * a host name, which can block: call at start-up. */
int health_listen(struct health *h, struct ev_loop *loop, const char *addr, char *err, size_t len);
/* The port listened on, 0 when not listening. */
int health_port(const struct health *h);

#endif
