/*
 * leader_int.h: what the two halves of leader election share inside the
 * runtime library: the campaign (leader.c) and the heartbeats of the
 * candidates' keys (leader_beat.c). Not for programs: they use leader.h.
 */
#ifndef SKIFF_LEADER_INT_H
#define SKIFF_LEADER_INT_H

#include <ev.h>

#include "leader.h"

struct leader {
	struct etcd_client *c;
	char *election, *identity;
	int64_t ttl;
	struct leader_callbacks cb;
	void *arg;
	unsigned term; /* bumped whenever a campaign is abandoned */
	int64_t lease, rev;
	char key[256];
	int leading, running, failures;
	struct etcd_keeper *keeper;
	struct etcd_watch *watch;
	ev_timer retry;
	ev_timer beat;    /* my key rewritten every ttl/4 while I hold one */
	double beat_ok;   /* ev_now of its creation or last successful rewrite */
	int beating;      /* a rewrite is in flight */
	ev_timer judge;   /* the predecessor's key, judged by when it last changed */
	char pred[256];   /* that key while I wait for it, else "" */
	int64_t pred_mod; /* its mod revision as last seen */
	double pred_seen; /* ev_now when it was first seen or last changed */
	void (*resign_done)(void *);
	void *resign_arg;
	int pending; /* calls in flight that point at us */
	int freed;
};

/* Every asynchronous call carries this, so that a late answer can tell it
 * belongs to an abandoned term (or a freed leader). */
struct step {
	struct leader *l;
	unsigned term;
};

/* leader.c */
struct step *lead_step_new(struct leader *l);
/* Take back the step; returns the leader if the step is still current. */
struct leader *lead_step_end(struct step *s);
void lead_report(struct leader *l, const struct etcd_error *err);
/* End the current term (stop acting) and campaign again after a back-off. */
void lead_abandon(struct leader *l, const struct etcd_error *err);
/* Range for the key just before mine: lead, or wait for it. */
void lead_check_predecessor(struct leader *l);
struct ev_loop *lead_loop(struct leader *l);

/* leader_beat.c */
void lead_beat_init(struct leader *l);
/* My key exists (just created): rewrite it every ttl/4 from now on. */
void lead_beat_start(struct leader *l);
/* I wait for the predecessor kv: judge it from now on. */
void lead_judge_start(struct leader *l, const struct etcd_kv *kv);
/* The predecessor's key changed (a put at mod_rev): it lives. */
void lead_judge_seen(struct leader *l, int64_t mod_rev);
void lead_judge_stop(struct leader *l);
/* Stop both timers (end of a term). */
void lead_beat_stop(struct leader *l);

#endif
