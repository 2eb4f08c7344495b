/*
 * etcd_lease.c: the lease service (grant, revoke, keep-alive, time-to-live)
 * and the keeper, which keeps one lease alive with a keep-alive every TTL/3
 * and says when the lease is lost (etcd says it is gone) or in doubt (no
 * keep-alive succeeded for a whole TTL, so etcd may already have expired
 * it: whoever holds leadership on it must stop acting at once).
 */
#include <stdlib.h>
#include <string.h>

#include "etcd_internal.h"

struct etcd_keeper {
	struct etcd_client *c;
	int64_t id, ttl;
	etcd_lease_cb cb;
	void *arg;
	ev_timer tick;
	ev_timer deadline; /* fires DOUBT 3/4 TTL after the last good send */
	double last_ok;    /* when the last successful keep-alive was sent */
	double sent_at;
	enum etcd_lease_state state;
	int inflight, stopped, lost, in_cb;
	struct etcd_keeper *next, *prev;
};

static int
parse_lease(struct etcd_req *r, json_t *root, struct etcd_result *res)
{
	(void)r;
	if (etcd_parse_header(root, res) < 0 || etcd_json_get_i64(root, "ID", &res->lease_id) < 0 ||
	    etcd_json_get_i64(root, "TTL", &res->ttl) < 0 ||
	    etcd_json_get_i64(root, "grantedTTL", &res->granted_ttl) < 0)
		return -1;
	return 0;
}

static int
lease_call(struct etcd_client *c, const char *path, json_t *body, int flags, etcd_parse_fn parse, etcd_cb cb, void *arg,
           struct etcd_error *err)
{
	struct etcd_req *r = etcd_req_new(c, path, body, flags, parse, cb, arg, err);

	return r ? etcd_req_submit(r, err) : -1;
}

int
etcd_lease_grant(struct etcd_client *c, int64_t ttl, int64_t id, etcd_cb cb, void *arg, struct etcd_error *err)
{
	if (ttl <= 0)
		return etcd_seterr(err, ETCD_EINVAL, "lease grant: TTL must be positive, got %lld", (long long)ttl);
	/* With a chosen id a resent grant fails with "lease already exists"
	 * instead of granting twice, so it is safe to resend. */
	return lease_call(c, "/v3/lease/grant",
	                  json_pack("{s:o, s:o}", "TTL", etcd_json_i64(ttl), "ID", etcd_json_i64(id)),
	                  id ? ETCD_REQ_SAFE : 0, parse_lease, cb, arg, err);
}

int
etcd_lease_revoke(struct etcd_client *c, int64_t id, etcd_cb cb, void *arg, struct etcd_error *err)
{
	return lease_call(c, "/v3/lease/revoke", json_pack("{s:o}", "ID", etcd_json_i64(id)), ETCD_REQ_SAFE,
	                  parse_lease, cb, arg, err);
}

/* A keep-alive answer without TTL means the lease is gone. */
static int
parse_keepalive(struct etcd_req *r, json_t *root, struct etcd_result *res)
{
	if (parse_lease(r, root, res) < 0)
		return -1;
	if (res->ttl <= 0)
		return etcd_seterr(&res->err, ETCD_ENOLEASE, "lease %llx has expired or was revoked",
		                   (unsigned long long)res->lease_id);
	return 0;
}

int
etcd_lease_keepalive(struct etcd_client *c, int64_t id, etcd_cb cb, void *arg, struct etcd_error *err)
{
	return lease_call(c, "/v3/lease/keepalive", json_pack("{s:o}", "ID", etcd_json_i64(id)),
	                  ETCD_REQ_SAFE | ETCD_REQ_STREAM, parse_keepalive, cb, arg, err);
}

static int
parse_ttl(struct etcd_req *r, json_t *root, struct etcd_result *res)
{
	json_t *keys = json_object_get(root, "keys");
	size_t i, n;

	if (parse_lease(r, root, res) < 0 || (keys && !json_is_array(keys)))
		return -1;
	n = json_array_size(keys);
	if (n == 0)
		return 0;
	if (!(res->kvs = calloc(n, sizeof(*res->kvs))))
		return -1;
	for (i = 0; i < n; i++) {
		json_t *k = json_array_get(keys, i);

		res->nkvs = i + 1;
		if (!json_is_string(k) ||
		    etcd_b64_decode(json_string_value(k), json_string_length(k), &res->kvs[i].key,
		                    &res->kvs[i].key_len) < 0 ||
		    !(res->kvs[i].value = calloc(1, 1)))
			return -1;
	}
	return 0;
}

int
etcd_lease_ttl(struct etcd_client *c, int64_t id, int keys, etcd_cb cb, void *arg, struct etcd_error *err)
{
	return lease_call(c, "/v3/lease/timetolive",
	                  json_pack("{s:o, s:b}", "ID", etcd_json_i64(id), "keys", keys ? 1 : 0), ETCD_REQ_SAFE,
	                  parse_ttl, cb, arg, err);
}

/* ---- keeper ---- */

static void
keeper_unlink_free(struct etcd_keeper *k)
{
	struct etcd_client *c = k->c;

	ev_timer_stop(c->loop, &k->tick);
	ev_timer_stop(c->loop, &k->deadline);
	if (k->prev)
		k->prev->next = k->next;
	else if (c->keepers == k)
		c->keepers = k->next;
	if (k->next)
		k->next->prev = k->prev;
	free(k);
}

/* A keeper stopped inside its own callback, or with a keep-alive in
 * flight, is freed here once neither holds it. Returns 1 if freed. */
static int
maybe_free(struct etcd_keeper *k)
{
	if (k->stopped && !k->inflight && !k->in_cb) {
		keeper_unlink_free(k);
		return 1;
	}
	return 0;
}

static void
set_state(struct etcd_keeper *k, enum etcd_lease_state st, const struct etcd_error *err)
{
	if (k->state == st || k->stopped)
		return;
	k->state = st;
	k->in_cb++;
	k->cb(k, st, err, k->arg);
	k->in_cb--;
}

/* etcd refreshes the lease at some moment after we sent the keep-alive,
 * so it expires no earlier than sent + TTL. Doubt at 3/4 of that leaves a
 * quarter TTL for a leader to stop before anyone else can start. */
static double
doubt_after(const struct etcd_keeper *k)
{
	return (double)k->ttl * 0.75;
}

static void
arm_deadline(struct etcd_keeper *k)
{
	double left = k->last_ok + doubt_after(k) - ev_now(k->c->loop);

	ev_timer_stop(k->c->loop, &k->deadline);
	ev_timer_set(&k->deadline, left > 0 ? left : 0.0, 0.0);
	ev_timer_start(k->c->loop, &k->deadline);
}

static void
doubt_check(struct etcd_keeper *k, const struct etcd_error *err)
{
	struct etcd_error e = {0};

	if (ev_now(k->c->loop) - k->last_ok < doubt_after(k) || k->state != ETCD_LEASE_ALIVE)
		return;
	if (!err) {
		etcd_seterr(&e, ETCD_ETIMEOUT, "no keep-alive of lease %llx succeeded for %.1fs (3/4 of its TTL)",
		            (unsigned long long)k->id, doubt_after(k));
		err = &e;
	}
	set_state(k, ETCD_LEASE_DOUBT, err);
}

static void
deadline_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct etcd_keeper *k = ETCD_CONTAINER_OF(w, struct etcd_keeper, deadline);

	(void)loop;
	(void)revents;
	doubt_check(k, NULL);
	maybe_free(k);
}

static void
keepalive_done(struct etcd_result *res, void *arg)
{
	struct etcd_keeper *k = arg;

	k->inflight = 0;
	if (maybe_free(k))
		return;
	if (res->err.code == ETCD_OK) {
		k->last_ok = k->sent_at;
		arm_deadline(k);
		set_state(k, ETCD_LEASE_ALIVE, NULL);
	} else if (res->err.code == ETCD_ENOLEASE) {
		k->lost = 1;
		ev_timer_stop(k->c->loop, &k->tick);
		ev_timer_stop(k->c->loop, &k->deadline);
		set_state(k, ETCD_LEASE_LOST, &res->err);
	} else if (res->err.code != ETCD_ECANCELED) {
		doubt_check(k, &res->err);
	}
	maybe_free(k);
}

static void
tick_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct etcd_keeper *k = ETCD_CONTAINER_OF(w, struct etcd_keeper, tick);
	struct etcd_error err = {0};

	(void)loop;
	(void)revents;
	doubt_check(k, NULL);
	if (maybe_free(k) || k->stopped || k->inflight || k->lost)
		return;
	k->sent_at = ev_now(k->c->loop);
	if (etcd_lease_keepalive(k->c, k->id, keepalive_done, k, &err) == 0)
		k->inflight = 1;
}

struct etcd_keeper *
etcd_keeper_start(struct etcd_client *c, int64_t id, int64_t ttl, etcd_lease_cb cb, void *arg)
{
	struct etcd_keeper *k;
	double every;

	if (!cb || ttl <= 0 || !(k = calloc(1, sizeof(*k))))
		return NULL;
	k->c = c;
	k->id = id;
	k->ttl = ttl;
	k->cb = cb;
	k->arg = arg;
	k->state = ETCD_LEASE_ALIVE;
	k->last_ok = ev_now(c->loop);
	every = (double)ttl / 3.0;
	if (every < 0.2)
		every = 0.2;
	ev_timer_init(&k->tick, tick_cb, every, every);
	ev_timer_start(c->loop, &k->tick);
	ev_timer_init(&k->deadline, deadline_cb, 0.0, 0.0);
	arm_deadline(k);
	k->next = c->keepers;
	if (c->keepers)
		c->keepers->prev = k;
	c->keepers = k;
	return k;
}

void
etcd_keeper_stop(struct etcd_keeper *k)
{
	if (!k || k->stopped)
		return;
	k->stopped = 1;
	ev_timer_stop(k->c->loop, &k->tick);
	ev_timer_stop(k->c->loop, &k->deadline);
	maybe_free(k);
}

void
etcd_keeper_free_all(struct etcd_client *c)
{
	/* In-flight keep-alives are canceled by etcd_req_cancel_all, which
	 * frees stopped keepers in keepalive_done. */
	struct etcd_keeper *k = c->keepers;

	while (k) {
		struct etcd_keeper *next = k->next;

		etcd_keeper_stop(k);
		k = next;
	}
}
