/*
 * leader_beat.c: heartbeats of election keys (leader.h). From its creation
 * a candidate's key is rewritten every TTL/4 (a put on its lease, guarded
 * by its create revision); the term ends when that has not succeeded for
 * 3/4 TTL. The predecessor's key is judged by when this process last saw
 * it change, on its own clock, and deleted (guarded by the mod revision
 * seen) once unchanged for TTL + 1 s: a lease that someone else keeps
 * alive does not keep a dead candidate in the line. It does not campaign
 * or decide who leads (leader.c).
 */
#include <ev.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "leader_int.h"

/* ---- my key's heartbeat ---- */

static void
beat_done(struct etcd_result *res, void *arg)
{
	struct leader *l = lead_step_end(arg);
	struct etcd_error e = {0};

	if (!l)
		return;
	l->beating = 0;
	if (res->err.code != ETCD_OK) {
		lead_report(l, &res->err); /* the next beat tries again; a long silence ends the term */
	} else if (!res->succeeded) {
		e.code = ETCD_ENOTFOUND;
		snprintf(e.msg, sizeof(e.msg), "election key %s is gone; campaigning again", l->key);
		lead_abandon(l, &e);
	} else {
		l->beat_ok = ev_now(lead_loop(l));
	}
}

static void
beat_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct leader *l = (struct leader *)((char *)t - offsetof(struct leader, beat));
	struct etcd_error err = {0};
	struct etcd_txn *t2;
	struct step *s;

	(void)revents;
	if (ev_now(loop) - l->beat_ok > 0.75 * (double)l->ttl) {
		err.code = ETCD_ETIMEOUT;
		snprintf(err.msg, sizeof(err.msg), "election key %s not rewritten for %.1fs; a standby may take over",
		         l->key, ev_now(loop) - l->beat_ok);
		lead_abandon(l, &err);
		return;
	}
	if (l->beating || !(t2 = etcd_txn_new()))
		return;
	etcd_txn_cmp(t2, l->key, ETCD_CMP_CREATE, ETCD_CMP_EQUAL, l->rev);
	etcd_txn_put(t2, ETCD_TXN_SUCCESS, l->key, l->identity, strlen(l->identity), l->lease);
	if (!(s = lead_step_new(l))) {
		etcd_txn_free(t2);
		return;
	}
	l->beating = 1;
	if (etcd_txn_commit(l->c, t2, beat_done, s, &err) < 0) {
		l->beating = 0;
		lead_step_end(s);
		lead_report(l, &err);
	}
}

void
lead_beat_start(struct leader *l)
{
	double every = (double)l->ttl / 4.0;

	l->beat_ok = ev_now(lead_loop(l));
	ev_timer_set(&l->beat, every, every);
	ev_timer_start(lead_loop(l), &l->beat);
}

/* ---- the predecessor's heartbeat ---- */

static void
judge_done(struct etcd_result *res, void *arg)
{
	struct leader *l = lead_step_end(arg);
	double age;

	if (!l)
		return;
	age = ev_now(lead_loop(l)) - l->pred_seen;
	if (res->err.code != ETCD_OK)
		lead_report(l, &res->err);
	else if (res->succeeded && l->cb.stale)
		l->cb.stale(l, l->pred, age, l->arg);
	/* Gone, changed meanwhile, or unknown: the range tells the truth. */
	lead_judge_stop(l);
	lead_check_predecessor(l);
}

/* Unchanged for ttl + 1 s on my clock: delete it, if it is still the
 * version I saw. */
static void
judge_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct leader *l = (struct leader *)((char *)t - offsetof(struct leader, judge));
	double left = l->pred_seen + (double)l->ttl + 1.0 - ev_now(loop);
	struct etcd_error err = {0};
	struct etcd_txn *t2;
	struct step *s;

	(void)revents;
	if (left > 0) {
		ev_timer_set(&l->judge, left, 0.0);
		ev_timer_start(loop, &l->judge);
		return;
	}
	if (!(t2 = etcd_txn_new())) {
		ev_timer_set(&l->judge, 1.0, 0.0); /* out of memory: later */
		ev_timer_start(loop, &l->judge);
		return;
	}
	/* From here judge_done looks again, and only it: no watch may race it. */
	etcd_watch_cancel(l->watch);
	l->watch = NULL;
	etcd_txn_cmp(t2, l->pred, ETCD_CMP_MOD, ETCD_CMP_EQUAL, l->pred_mod);
	etcd_txn_delete(t2, ETCD_TXN_SUCCESS, l->pred, 0);
	if (!(s = lead_step_new(l))) {
		etcd_txn_free(t2);
		err.code = ETCD_ENOMEM;
		snprintf(err.msg, sizeof(err.msg), "out of memory campaigning");
		lead_abandon(l, &err);
		return;
	}
	if (etcd_txn_commit(l->c, t2, judge_done, s, &err) < 0) {
		lead_step_end(s);
		lead_abandon(l, &err);
	}
}

void
lead_judge_start(struct leader *l, const struct etcd_kv *kv)
{
	snprintf(l->pred, sizeof(l->pred), "%s", kv->key);
	l->pred_mod = kv->mod_revision;
	l->pred_seen = ev_now(lead_loop(l));
	ev_timer_set(&l->judge, (double)l->ttl + 1.0, 0.0);
	ev_timer_start(lead_loop(l), &l->judge);
}

void
lead_judge_seen(struct leader *l, int64_t mod_rev)
{
	l->pred_mod = mod_rev;
	l->pred_seen = ev_now(lead_loop(l));
}

void
lead_judge_stop(struct leader *l)
{
	ev_timer_stop(lead_loop(l), &l->judge);
	l->pred[0] = '\0';
}

void
lead_beat_stop(struct leader *l)
{
	ev_timer_stop(lead_loop(l), &l->beat);
	l->beating = 0;
	lead_judge_stop(l);
}

void
lead_beat_init(struct leader *l)
{
	ev_timer_init(&l->beat, beat_cb, 0.0, 0.0);
	ev_timer_init(&l->judge, judge_cb, 0.0, 0.0);
}
