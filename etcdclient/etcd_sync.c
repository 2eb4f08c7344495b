/*
 * etcd_sync.c: blocking calls for command-line tools and tests. Each
 * etcd_sync owns a private libev loop and a client on it; a call submits
 * the asynchronous request and runs the loop until its callback has run.
 */
#include <stdlib.h>
#include <string.h>

#include "etcd_internal.h"
#include "etcd_sync.h"

struct etcd_sync {
	struct ev_loop *loop;
	struct etcd_client *c;
};

struct call {
	struct etcd_result *res;
	int done;
};

struct etcd_sync *
etcd_sync_new(const struct etcd_config *cfg, struct etcd_error *err)
{
	struct etcd_sync *s = calloc(1, sizeof(*s));

	if (!s || !(s->loop = ev_loop_new(EVFLAG_AUTO))) {
		free(s);
		etcd_seterr(err, ETCD_ENOMEM, "out of memory");
		return NULL;
	}
	if (!(s->c = etcd_client_new(s->loop, cfg, err))) {
		ev_loop_destroy(s->loop);
		free(s);
		return NULL;
	}
	return s;
}

void
etcd_sync_free(struct etcd_sync *s)
{
	if (!s)
		return;
	etcd_client_free(s->c);
	ev_loop_destroy(s->loop);
	free(s);
}

struct etcd_client *
etcd_sync_client(struct etcd_sync *s)
{
	return s->c;
}

static void
deadline_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)w;
	(void)revents;
}

int
etcd_sync_run(struct etcd_sync *s, const int *done, long timeout_ms)
{
	double end = ev_time() + (double)timeout_ms / 1000.0;
	ev_timer t;

	/* The timer only wakes ev_run up so that the deadline is checked. */
	ev_timer_init(&t, deadline_cb, 0.05, 0.05);
	ev_timer_start(s->loop, &t);
	while (!*done && ev_time() < end)
		ev_run(s->loop, EVRUN_ONCE);
	ev_timer_stop(s->loop, &t);
	return *done ? 0 : -1;
}

static void
call_cb(struct etcd_result *res, void *arg)
{
	struct call *k = arg;

	k->res = etcd_result_take(res);
	k->done = 1;
}

/* Finish a call that was submitted (rc 0) or refused (rc -1, err). */
static struct etcd_result *
finish(struct etcd_sync *s, struct call *k, int rc, const struct etcd_error *err)
{
	struct etcd_result *res;

	if (rc < 0) {
		if ((res = etcd_result_new()))
			res->err = *err;
		return res;
	}
	while (!k->done)
		ev_run(s->loop, EVRUN_ONCE);
	return k->res;
}

#define SYNC_CALL(s, call_expr)                   \
	do {                                      \
		struct call k = {0};              \
		struct etcd_error err = {0};      \
		int rc = (call_expr);             \
		return finish((s), &k, rc, &err); \
	} while (0)

struct etcd_result *
etcd_sync_range(struct etcd_sync *s, const char *key, const struct etcd_range_opts *o)
{
	SYNC_CALL(s, etcd_range(s->c, key, o, call_cb, &k, &err));
}

struct etcd_result *
etcd_sync_get(struct etcd_sync *s, const char *key)
{
	SYNC_CALL(s, etcd_get(s->c, key, call_cb, &k, &err));
}

struct etcd_result *
etcd_sync_put(struct etcd_sync *s, const char *key, const void *val, size_t len, const struct etcd_put_opts *o)
{
	SYNC_CALL(s, etcd_put(s->c, key, val, len, o, call_cb, &k, &err));
}

struct etcd_result *
etcd_sync_delete(struct etcd_sync *s, const char *key, const struct etcd_delete_opts *o)
{
	SYNC_CALL(s, etcd_delete(s->c, key, o, call_cb, &k, &err));
}

struct etcd_result *
etcd_sync_txn(struct etcd_sync *s, struct etcd_txn *t)
{
	SYNC_CALL(s, etcd_txn_commit(s->c, t, call_cb, &k, &err));
}

struct etcd_result *
etcd_sync_compact(struct etcd_sync *s, int64_t rev, int physical)
{
	SYNC_CALL(s, etcd_compact(s->c, rev, physical, call_cb, &k, &err));
}

struct etcd_result *
etcd_sync_lease_grant(struct etcd_sync *s, int64_t ttl, int64_t id)
{
	SYNC_CALL(s, etcd_lease_grant(s->c, ttl, id, call_cb, &k, &err));
}

struct etcd_result *
etcd_sync_lease_revoke(struct etcd_sync *s, int64_t id)
{
	SYNC_CALL(s, etcd_lease_revoke(s->c, id, call_cb, &k, &err));
}

struct etcd_result *
etcd_sync_lease_keepalive(struct etcd_sync *s, int64_t id)
{
	SYNC_CALL(s, etcd_lease_keepalive(s->c, id, call_cb, &k, &err));
}

struct etcd_result *
etcd_sync_lease_ttl(struct etcd_sync *s, int64_t id, int keys)
{
	SYNC_CALL(s, etcd_lease_ttl(s->c, id, keys, call_cb, &k, &err));
}

struct etcd_result *
etcd_sync_status(struct etcd_sync *s)
{
	SYNC_CALL(s, etcd_status(s->c, call_cb, &k, &err));
}
