/*
 * rc_sync.c: one reconcile pass of one controller. Reads only the caches:
 * the pods that count for the controller (matching its selector and not
 * owned by someone else), then creates, deletes and a status write, all
 * in flight at once, ending the pass (wq_done) when the last one returns.
 *
 * Expectations with revisions: a pass that wrote pods remembers the
 * highest revision it wrote at; the next pass of that controller counts
 * nothing until the pods informer has reached it. A write whose outcome is
 * unknown makes the next pass first read the store's revision (anything
 * the write did lies below it). It does not adopt orphans: a matching pod
 * without an owner counts but keeps no owner reference.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rc.h"

struct rc_op {
	struct rc_pass *p;
	enum rc_op_kind kind;
	char pod[API_LABEL_MAX + 1];
};

static const char *const op_verb[] = {"create pod", "delete pod", "write status"};

static struct rc_pass *
pass_new(struct rc *rc, const char *name)
{
	struct rc_pass *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->rc = rc;
	snprintf(p->name, sizeof(p->name), "%s", name);
	p->batch = 1;
	p->pending = 1; /* held by the pass itself until it has sent its writes */
	rc->passes++;
	return p;
}

static void
pass_finish(struct rc_pass *p)
{
	struct rc *rc = p->rc;
	struct rc_state *st;

	if (rc->q) { /* NULL once the program has freed its state */
		if ((st = rc_state_get(rc, p->name, 1))) {
			if (p->max_rev > st->expect_rev)
				st->expect_rev = p->max_rev;
			if (p->unknown)
				st->unknown = 1;
			if (p->created > 0 && !p->failed) {
				free(st->last_error);
				st->last_error = NULL;
			}
			/* Slow start carries over while creates succeed and starts
			 * again from 1 after a failure. */
			if (p->failed)
				st->batch = 1;
			else if (p->created > 0)
				st->batch = p->batch;
		}
		if (p->created || p->deleted)
			log_kv(LL_INFO, KV("controller", p->name),
			       "created %d and deleted %d pods; counting again at revision %" PRId64, p->created,
			       p->deleted, st ? st->expect_rev : p->max_rev);
		if (p->failed)
			wq_done(rc->q, p->name, WQ_RETRY, 0);
		else if (p->requeue > 0)
			wq_done(rc->q, p->name, WQ_REQUEUE_AFTER, p->requeue);
		else
			wq_done(rc->q, p->name, WQ_OK, 0);
	}
	api_controller_free(p->ctl);
	free(p);
	rc->passes--;
	rc_pass_ended(rc);
}

/* One write less in flight: send the next create batch while creates
 * succeed, or end the pass. */
static void
pass_step(struct rc_pass *p)
{
	if (--p->pending > 0)
		return;
	if (p->rc->q && !p->failed && p->requeue == 0 && p->want > 0 && p->rc->leading && !p->rc->d->stopping) {
		p->pending++;
		rc_create_batch(p);
		if (--p->pending > 0)
			return;
	}
	pass_finish(p);
}

static void
op_done(struct etcd_result *res, void *arg)
{
	struct rc_op *op = arg;
	struct rc_pass *p = op->p;
	int pod_write = op->kind != RC_OP_STATUS;

	if (res->err.code == ETCD_ECANCELED) {
		p->failed++;
	} else if (res->err.code != ETCD_OK) {
		p->failed++;
		if (res->err.outcome_unknown && pod_write)
			p->unknown = 1;
		metric_inc(p->rc->m_failures);
		log_kv(LL_WARN, KV("controller", p->name, "pod", op->pod[0] ? op->pod : NULL),
		       "cannot %s: %s (%s); retrying with back-off", op_verb[op->kind], res->err.msg,
		       etcd_code_name(res->err.code));
		if (op->kind == RC_OP_CREATE && p->rc->q) {
			struct rc_state *st = rc_state_get(p->rc, p->name, 1);
			char msg[512];

			snprintf(msg, sizeof(msg), "creating pods failed: %s", res->err.msg);
			recorder_eventf(p->rc->rec, "controllers", p->name, "Warning", "FailedCreate", "%s", msg);
			if (st) {
				free(st->last_error);
				st->last_error = strdup(msg);
			}
		}
	} else if (!res->succeeded) {
		/* Someone changed the key first (or a name collided). */
		p->requeue = 0.05;
	} else {
		if (pod_write && res->revision > p->max_rev)
			p->max_rev = res->revision;
		switch (op->kind) {
		case RC_OP_CREATE:
			p->created++;
			metric_inc(p->rc->m_creates);
			break;
		case RC_OP_DELETE:
			p->deleted++;
			metric_inc(p->rc->m_deletes);
			break;
		case RC_OP_STATUS: metric_inc(p->rc->m_status); break;
		}
	}
	free(op);
	pass_step(p);
}

void
rc_op_commit(struct rc_pass *p, enum rc_op_kind kind, const char *pod, struct etcd_txn *t)
{
	struct etcd_error err = {0};
	struct rc_op *op = calloc(1, sizeof(*op));

	if (!op) {
		etcd_txn_free(t);
		p->failed++;
		return;
	}
	op->p = p;
	op->kind = kind;
	snprintf(op->pod, sizeof(op->pod), "%s", pod ? pod : "");
	if (etcd_txn_commit(p->rc->d->etcd, t, op_done, op, &err) < 0) {
		log_kv(LL_WARN, KV("controller", p->name, "pod", pod), "cannot %s: %s; retrying with back-off",
		       op_verb[kind], err.msg);
		free(op);
		p->failed++;
		return;
	}
	p->pending++;
}

/* ---- reading the caches ---- */

struct collect {
	const struct rc *rc;
	const char *name, *uid;           /* uid NULL: the controller is gone */
	const struct api_controller *ctl; /* NULL: only stale pods are wanted */
	const struct informer_obj **match, **stale;
	size_t nmatch, nstale, cap;
	int ready, oom;
};

static int
push(const struct informer_obj ***v, size_t *n, size_t cap, const struct informer_obj *o)
{
	if (*n >= cap)
		return -1;
	(*v)[(*n)++] = o;
	return 0;
}

static void
collect_cb(const struct informer_obj *o, void *arg)
{
	struct collect *c = arg;
	const struct api_pod *pod = o->obj;
	const struct api_owner_ref *own;
	const struct rc_podinfo *pi;
	char uid[24];

	if (!pod)
		return;
	own = api_meta_owner(&pod->meta, API_CONTROLLER_KIND);
	if (own && own->name && strcmp(own->name, c->name) == 0 &&
	    (!c->uid || !own->uid || strcmp(own->uid, c->uid) != 0)) {
		/* Owned by a controller of this name that no longer exists. */
		c->oom |= push(&c->stale, &c->nstale, c->cap, o);
		return;
	}
	if (!c->ctl || (own && (!own->name || strcmp(own->name, c->name) != 0)) || !api_controller_selects(c->ctl, pod))
		return;
	c->oom |= push(&c->match, &c->nmatch, c->cap, o);
	snprintf(uid, sizeof(uid), "%" PRId64, o->create_revision);
	if ((pi = rc_podinfo(c->rc, o->name)) && pi->ready && pi->status_uid && strcmp(pi->status_uid, uid) == 0)
		c->ready++;
}

static int
collect(struct collect *c)
{
	c->cap = informer_count(c->rc->pods) + 1;
	c->match = calloc(c->cap, sizeof(*c->match));
	c->stale = calloc(c->cap, sizeof(*c->stale));
	if (!c->match || !c->stale)
		return -1;
	informer_foreach(c->rc->pods, collect_cb, c);
	return c->oom ? -1 : 0;
}

static void
collect_free(struct collect *c)
{
	free(c->match);
	free(c->stale);
}

/* ---- the pass ---- */

static void
delete_stale(struct rc_pass *p, struct collect *c, int *budget)
{
	for (size_t i = 0; i<c->nstale && * budget> 0; i++, (*budget)--)
		rc_delete_pod(p, c->stale[i]);
}

static void
report_invalid(struct rc *rc, struct rc_state *st, const char *name)
{
	if (!st->invalid) {
		free(st->reported);
		st->reported = NULL;
		return;
	}
	if (st->reported && strcmp(st->reported, st->invalid) == 0)
		return;
	recorder_eventf(rc->rec, "controllers", name, "Warning", "Invalid", "%s", st->invalid);
	free(st->reported);
	st->reported = strdup(st->invalid);
}

static void
sync_gone(struct rc_pass *p, struct collect *c)
{
	int budget = RC_BURST;

	delete_stale(p, c, &budget);
	if (budget == 0)
		p->requeue = 0.05;
	rc_status_write(p, NULL);
}

static void
sync_invalid(struct rc_pass *p, struct rc_state *st, const struct informer_obj *o)
{
	struct api_controller_status s = {0};
	char uid[24];

	report_invalid(p->rc, st, o->name);
	snprintf(uid, sizeof(uid), "%" PRId64, o->create_revision);
	s.uid = uid;
	s.observed_revision = o->mod_revision;
	s.message = st->invalid;
	if (api_check_dns_label(o->name, NULL) == 0)
		rc_status_write(p, &s);
}

static void
sync_valid(struct rc_pass *p, struct rc_state *st, const struct informer_obj *o, struct collect *c)
{
	const struct api_controller *ctl = o->obj;
	struct api_controller_status s = {0};
	int budget = RC_BURST;
	long diff;

	report_invalid(p->rc, st, o->name);
	delete_stale(p, c, &budget);
	diff = (long)ctl->spec.replicas - (long)c->nmatch;
	if (diff > 0) {
		p->want = diff < budget ? (int)diff : budget;
		if (!(p->ctl = api_dup(API_CONTROLLER, ctl))) {
			p->failed++;
			p->want = 0;
		}
		rc_create_batch(p);
	} else if (diff < 0) {
		rc_rank_for_delete(p->rc, c->match, c->nmatch);
		for (long i = 0; i < -diff && budget > 0; i++, budget--)
			rc_delete_pod(p, c->match[i]);
	}
	s.uid = p->uid;
	s.observed_revision = o->mod_revision;
	s.replicas = (int)c->nmatch;
	s.ready_replicas = c->ready;
	s.message = st->last_error;
	rc_status_write(p, &s);
}

static void
learn_done(struct etcd_result *res, void *arg)
{
	struct rc_pass *p = arg;
	struct rc_state *st;

	if (res->err.code != ETCD_OK) {
		p->failed++;
	} else if (p->rc->q && (st = rc_state_get(p->rc, p->name, 0))) {
		if (res->revision > st->expect_rev)
			st->expect_rev = res->revision;
		st->unknown = 0;
		p->requeue = 0.01;
	}
	pass_step(p);
}

/* A write's outcome is unknown: whatever it did lies at or below the
 * store's current revision, so wait for that. */
static void
learn_revision(struct rc_pass *p)
{
	struct etcd_error err = {0};
	char key[API_PREFIX_MAX + 16];

	snprintf(key, sizeof(key), "%s/pods/", p->rc->prefix);
	if (etcd_get(p->rc->d->etcd, key, learn_done, p, &err) < 0) {
		p->failed++;
		return;
	}
	p->pending++;
}

void
rc_reconcile(struct wq *q, const char *name, void *arg)
{
	struct rc *rc = arg;
	const struct informer_obj *o;
	struct collect c = {0};
	struct rc_state *st;
	struct rc_pass *p;

	if (!rc_synced()) {
		wq_done(q, name, WQ_OK, 0); /* enqueued again once every cache has listed */
		return;
	}
	if (!(st = rc_state_get(rc, name, 1)) || !(p = pass_new(rc, name))) {
		wq_done(q, name, WQ_RETRY, 0);
		return;
	}
	if (st->batch > 1)
		p->batch = st->batch;
	if (st->unknown) {
		learn_revision(p);
		pass_step(p);
		return;
	}
	if (informer_revision(rc->pods) < st->expect_rev) {
		/* Our own writes are not in the cache yet: their events enqueue
		 * us; the delay is only a safety net. */
		log_kv(LL_DEBUG, KV("controller", name), "waiting for the pods cache to reach revision %" PRId64,
		       st->expect_rev);
		p->requeue = 1.0;
		pass_step(p);
		return;
	}
	o = informer_get(rc->controllers, name);
	if (o)
		snprintf(p->uid, sizeof(p->uid), "%" PRId64, o->create_revision);
	c.rc = rc;
	c.name = name;
	c.uid = o ? p->uid : NULL;
	c.ctl = o ? o->obj : NULL;
	if (o && !o->obj) {
		sync_invalid(p, st, o);
	} else if (collect(&c) < 0) {
		log_kv(LL_ERROR, KV("controller", name), "out of memory while counting pods; retrying");
		p->failed++;
	} else if (!o) {
		sync_gone(p, &c);
	} else {
		sync_valid(p, st, o, &c);
	}
	collect_free(&c);
	pass_step(p);
}
