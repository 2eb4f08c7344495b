/*
 * leader.c: the campaign as a chain of asynchronous steps (leader.h):
 *   grant lease → create my key (create-if-absent) → look for a predecessor
 *   → none: lead (and watch my own key) / some: watch it until deleted,
 *   then look again.
 * The heartbeat of my key and the judging of my predecessor's are
 * leader_beat.c's. Any failure, a lease in doubt or lost, my key deleted
 * under me or not rewritten for 3/4 TTL, ends the term: stop acting first,
 * then start over with a new lease after a back-off. Each step's callback
 * checks the term it belongs to, so answers to a previous term are
 * ignored.
 */
#include <ev.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "leader_int.h"

static void campaign(struct leader *l);

struct step *
lead_step_new(struct leader *l)
{
	struct step *s = malloc(sizeof(*s));

	if (s) {
		s->l = l;
		s->term = l->term;
		l->pending++;
	}
	return s;
}

/* Take back the step; returns the leader if the step is still current. */
struct leader *
lead_step_end(struct step *s)
{
	struct leader *l = s->l;
	unsigned term = s->term;

	free(s);
	l->pending--;
	if (l->freed) {
		if (l->pending == 0)
			free(l);
		return NULL;
	}
	return term == l->term ? l : NULL;
}

void
lead_report(struct leader *l, const struct etcd_error *err)
{
	if (l->cb.error)
		l->cb.error(l, err, l->arg);
}

static void
stop_leading(struct leader *l)
{
	if (l->leading) {
		l->leading = 0;
		if (l->cb.stopped)
			l->cb.stopped(l, l->arg);
	}
}

struct ev_loop *
lead_loop(struct leader *l)
{
	return etcd_client_loop(l->c);
}

/* Drop the watch, the keeper, the heartbeat and the judge of the term. */
static void
stop_watching(struct leader *l)
{
	etcd_watch_cancel(l->watch);
	l->watch = NULL;
	etcd_keeper_stop(l->keeper);
	l->keeper = NULL;
	lead_beat_stop(l);
}

static void
revoke_done(struct etcd_result *res, void *arg)
{
	(void)res;
	(void)arg;
}

/* End the current term: stop acting, drop the watch and keeper, revoke the
 * lease (best effort), and campaign again after a back-off. */
void
lead_abandon(struct leader *l, const struct etcd_error *err)
{
	struct etcd_error e = {0};
	double d = 0.2;

	stop_leading(l);
	l->term++;
	stop_watching(l);
	if (l->lease)
		etcd_lease_revoke(l->c, l->lease, revoke_done, NULL, &e);
	l->lease = 0;
	l->rev = 0;
	l->key[0] = '\0';
	if (err)
		lead_report(l, err);
	if (!l->running)
		return;
	for (int i = 0; i < l->failures && d < 5.0; i++)
		d *= 2;
	l->failures++;
	ev_timer_set(&l->retry, d > 5.0 ? 5.0 : d, 0.0);
	ev_timer_start(etcd_client_loop(l->c), &l->retry);
}

static void
keeper_cb(struct etcd_keeper *k, enum etcd_lease_state st, const struct etcd_error *err, void *arg)
{
	struct leader *l = arg;

	(void)k;
	if (st == ETCD_LEASE_ALIVE)
		return;
	/* In doubt or lost: whoever leads stops now, and we start over. */
	lead_abandon(l, err);
}

static void
own_key_cb(struct etcd_watch *w, const struct etcd_watch_msg *m, void *arg)
{
	struct leader *l = arg;
	struct etcd_error e = {0};

	(void)w;
	if (m->kind == ETCD_WATCH_EVENTS) {
		for (size_t i = 0; i < m->nevents; i++) {
			if (m->events[i].type == ETCD_EVENT_DELETE) {
				e.code = ETCD_ENOTFOUND;
				snprintf(e.msg, sizeof(e.msg), "election key %s was deleted; campaigning again",
				         l->key);
				lead_abandon(l, &e);
				return;
			}
		}
	} else if (m->kind == ETCD_WATCH_ERROR) {
		lead_abandon(l, m->err);
	}
}

static void
become_leader(struct leader *l, int64_t rev)
{
	struct etcd_watch_opts o = {.start_revision = rev + 1, .no_put = 1};
	struct etcd_error err = {0};

	l->failures = 0;
	l->watch = etcd_watch_start(l->c, l->key, &o, own_key_cb, l, &err);
	if (!l->watch) {
		lead_abandon(l, &err);
		return;
	}
	l->leading = 1;
	if (l->cb.started)
		l->cb.started(l, l->arg);
}

static void
predecessor_cb(struct etcd_watch *w, const struct etcd_watch_msg *m, void *arg)
{
	struct leader *l = arg;

	if (m->kind == ETCD_WATCH_EVENTS) {
		for (size_t i = 0; i < m->nevents; i++) {
			if (m->events[i].type == ETCD_EVENT_DELETE) {
				/* Never assume leadership from a delete: look again. */
				etcd_watch_cancel(w);
				l->watch = NULL;
				lead_judge_stop(l);
				lead_check_predecessor(l);
				return;
			}
			lead_judge_seen(l, m->events[i].kv.mod_revision);
		}
	} else if (m->kind == ETCD_WATCH_ERROR) {
		etcd_watch_cancel(w);
		l->watch = NULL;
		lead_judge_stop(l);
		lead_check_predecessor(l); /* e.g. compacted: the range tells the truth */
	}
}

static void
predecessor_done(struct etcd_result *res, void *arg)
{
	struct leader *l = lead_step_end(arg);
	struct etcd_watch_opts o = {0};
	struct etcd_error err = {0};

	if (!l)
		return;
	if (res->err.code != ETCD_OK) {
		lead_abandon(l, &res->err);
		return;
	}
	if (res->nkvs == 0) {
		become_leader(l, res->revision);
		return;
	}
	o.start_revision = res->revision + 1;
	l->watch = etcd_watch_start(l->c, res->kvs[0].key, &o, predecessor_cb, l, &err);
	if (!l->watch)
		lead_abandon(l, &err);
	else
		lead_judge_start(l, &res->kvs[0]);
}

void
lead_check_predecessor(struct leader *l)
{
	struct etcd_range_opts o = {
		.prefix = 1,
		.limit = 1,
		.keys_only = 1,
		.sort_target = ETCD_SORT_CREATE,
		.sort_order = ETCD_SORT_DESCEND,
		.max_create_revision = l->rev - 1,
	};
	struct etcd_error err = {0};
	char pfx[300];
	struct step *s = lead_step_new(l);

	snprintf(pfx, sizeof(pfx), "%s/", l->election);
	if (!s || etcd_range(l->c, pfx, &o, predecessor_done, s, &err) < 0) {
		if (s)
			lead_step_end(s);
		lead_abandon(l, &err);
	}
}

static void
create_done(struct etcd_result *res, void *arg)
{
	struct leader *l = lead_step_end(arg);

	if (!l)
		return;
	if (res->err.code != ETCD_OK) {
		lead_abandon(l, &res->err);
		return;
	}
	if (res->succeeded)
		l->rev = res->revision;
	else if (res->nresponses == 1 && res->responses[0].nkvs == 1)
		l->rev = res->responses[0].kvs[0].create_revision; /* resumed */
	if (!l->rev) {
		struct etcd_error e = {.code = ETCD_EBADRESP};

		snprintf(e.msg, sizeof(e.msg), "election key %s: unexpected answer to create", l->key);
		lead_abandon(l, &e);
		return;
	}
	lead_beat_start(l);
	lead_check_predecessor(l);
}

static void
granted(struct etcd_result *res, void *arg)
{
	struct leader *l = lead_step_end(arg);
	struct etcd_error err = {0};
	struct etcd_txn *t;
	struct step *s;

	if (!l)
		return;
	if (res->err.code != ETCD_OK) {
		lead_abandon(l, &res->err);
		return;
	}
	l->lease = res->lease_id;
	l->keeper = etcd_keeper_start(l->c, l->lease, res->ttl > 0 ? res->ttl : l->ttl, keeper_cb, l);
	snprintf(l->key, sizeof(l->key), "%s/%" PRIx64, l->election, (uint64_t)l->lease);
	t = etcd_txn_new();
	etcd_txn_cmp(t, l->key, ETCD_CMP_CREATE, ETCD_CMP_EQUAL, 0);
	etcd_txn_put(t, ETCD_TXN_SUCCESS, l->key, l->identity, strlen(l->identity), l->lease);
	etcd_txn_get(t, ETCD_TXN_FAILURE, l->key, NULL);
	if (!l->keeper || !(s = lead_step_new(l))) {
		etcd_txn_free(t);
		err.code = ETCD_ENOMEM;
		snprintf(err.msg, sizeof(err.msg), "out of memory campaigning");
		lead_abandon(l, &err);
		return;
	}
	if (etcd_txn_commit(l->c, t, create_done, s, &err) < 0) {
		lead_step_end(s);
		lead_abandon(l, &err);
	}
}

static void
campaign(struct leader *l)
{
	struct etcd_error err = {0};
	struct step *s = lead_step_new(l);

	if (!s || etcd_lease_grant(l->c, l->ttl, 0, granted, s, &err) < 0) {
		if (s)
			lead_step_end(s);
		lead_abandon(l, &err);
	}
}

static void
retry_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct leader *l = (struct leader *)((char *)t - offsetof(struct leader, retry));

	(void)loop;
	(void)revents;
	if (l->running)
		campaign(l);
}

struct leader *
leader_new(struct etcd_client *c, const char *election, const char *identity, int64_t ttl,
           const struct leader_callbacks *cb, void *arg)
{
	struct leader *l;

	if (!election || strlen(election) > 200 || !identity || !(l = calloc(1, sizeof(*l))))
		return NULL;
	if (!(l->election = strdup(election)) || !(l->identity = strdup(identity))) {
		free(l->election);
		free(l);
		return NULL;
	}
	l->c = c;
	l->ttl = ttl < 2 ? 2 : ttl;
	if (cb)
		l->cb = *cb;
	l->arg = arg;
	ev_timer_init(&l->retry, retry_cb, 0.0, 0.0);
	lead_beat_init(l);
	return l;
}

void
leader_start(struct leader *l)
{
	if (l->running)
		return;
	l->running = 1;
	campaign(l);
}

int
leader_is_leader(const struct leader *l)
{
	return l->leading;
}

const char *
leader_key(const struct leader *l)
{
	return l->key[0] ? l->key : NULL;
}

int64_t
leader_revision(const struct leader *l)
{
	return l->rev;
}

static void
resign_finish(struct leader *l)
{
	void (*done)(void *) = l->resign_done;

	l->resign_done = NULL;
	if (done)
		done(l->resign_arg);
}

static void
resign_revoked(struct etcd_result *res, void *arg)
{
	struct leader *l = lead_step_end(arg);

	(void)res;
	if (l)
		resign_finish(l);
}

static void
resign_deleted(struct etcd_result *res, void *arg)
{
	struct leader *l = lead_step_end(arg);
	struct etcd_error err = {0};
	int64_t lease;
	struct step *s;

	(void)res;
	if (!l)
		return;
	lease = l->lease;
	l->lease = 0;
	if (!(s = lead_step_new(l)) || etcd_lease_revoke(l->c, lease, resign_revoked, s, &err) < 0) {
		if (s)
			lead_step_end(s);
		resign_finish(l);
	}
}

void
leader_resign(struct leader *l, void (*done)(void *arg), void *arg)
{
	struct etcd_error err = {0};
	struct etcd_txn *t;
	struct step *s;

	l->running = 0;
	ev_timer_stop(etcd_client_loop(l->c), &l->retry);
	stop_leading(l);
	stop_watching(l);
	l->term++;
	l->resign_done = done;
	l->resign_arg = arg;
	if (!l->lease || !l->rev) {
		resign_finish(l);
		return;
	}
	t = etcd_txn_new();
	etcd_txn_cmp(t, l->key, ETCD_CMP_CREATE, ETCD_CMP_EQUAL, l->rev);
	etcd_txn_delete(t, ETCD_TXN_SUCCESS, l->key, 0);
	if (!(s = lead_step_new(l)) || etcd_txn_commit(l->c, t, resign_deleted, s, &err) < 0) {
		if (s)
			lead_step_end(s);
		else
			etcd_txn_free(t);
		resign_finish(l);
	}
}

void
leader_free(struct leader *l)
{
	if (!l)
		return;
	ev_timer_stop(etcd_client_loop(l->c), &l->retry);
	stop_watching(l);
	free(l->election);
	free(l->identity);
	l->freed = 1;
	if (l->pending == 0)
		free(l);
}
