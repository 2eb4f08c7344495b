/*
 * rc_sync.c: one reconcile pass of one controller. Reads only the caches:
 * the pods that count for the controller (matching its selector and not
 * owned by someone else), then creates, deletes and a status write, all
 * in flight at once, ending the pass (wq_done) when the last one returns.
 * Creates for the whole shortfall go out under rc_create.c's slow-start
 * window, more as earlier ones return, until the shortfall is sent or the
 * pass must stop: a failure, the controller key changed (it is counted
 * again in a new pass), leadership lost, or the program stopping.
 *
 * Expectations with revisions: a pass that wrote pods remembers the
 * highest revision its pod writes returned (also a create whose name
 * existed: that pod may be our own, from a write resent after a lost
 * answer); the next pass of that controller counts nothing until the pods
 * informer has reached it. A write whose outcome is
 * unknown makes the next pass first read the store's revision (anything
 * the write did lies below it). It does not adopt orphans: a matching pod
 * without an owner counts but keeps no owner reference.
 *
 * A pod being deleted (metadata.deletionGracePeriodSeconds set) is not
 * active, as in Kubernetes' ReplicaSet controller: it is not counted, so
 * its replacement is created while it stops, and it is not counted in the
 * status either. The status counts readyReplicas and availableReplicas
 * (ready for spec.minReadySeconds); a pass that finds a pod still short of
 * that runs again when it will not be.
 *
 * A pod whose believed status (from its bound node, with its uid) is
 * Failed or Succeeded, e.g. evicted by its agent, is not active either:
 * it is replaced and kept, as Kubernetes keeps it, for `describe` to show
 * why; deleting it is the user's (or the controller's deletion's).
 */
#include <ev.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rc.h"

enum rc_op_kind { RC_OP_CREATE, RC_OP_DELETE, RC_OP_STATUS };

struct rc_op {
	struct rc_pass *p;
	enum rc_op_kind kind;
	int n; /* creates in the txn (RC_OP_CREATE) */
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
	p->window = 1;
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
				st->window = 1;
			else if (p->created > 0)
				st->window = p->window;
		}
		if (p->created || p->deleted || p->collided)
			log_kv(LL_INFO, KV("controller", p->name),
			       "created %d (%d names taken) and deleted %d pods; counting again at revision %" PRId64,
			       p->created, p->collided, p->deleted, st ? st->expect_rev : p->max_rev);
		if (p->failed)
			wq_done(rc->q, p->name, WQ_RETRY, 0);
		else if (p->requeue > 0)
			wq_done(rc->q, p->name, WQ_REQUEUE_AFTER, p->requeue);
		else
			wq_done(rc->q, p->name, WQ_OK, 0);
	}
	api_controller_free(p->ctl);
	rc_create_free(p);
	free(p);
	rc->passes--;
	if (rc->q)
		controller_settled(rc->ctl);
}

/* May the pass send more creates? Not after a failure, nor once the
 * controller it counted for has changed or gone (the change enqueued it:
 * the next pass counts again), nor when not leading or stopping. */
static int
may_create(const struct rc_pass *p)
{
	const struct informer_obj *o;

	if (p->want <= 0 || p->failed || !p->rc->q || !controller_leading(p->rc->ctl) || p->rc->d->stopping)
		return 0;
	o = informer_get(p->rc->controllers, p->name);
	return o && o->mod_revision == p->ctl_mod;
}

static int commit(struct rc_pass *p, enum rc_op_kind kind, const char *pod, int n, struct etcd_txn *t);

/* Send creates while the window has room (rc_create.c builds them). */
static void
create_more(struct rc_pass *p)
{
	char first[API_LABEL_MAX + 1] = "";
	struct etcd_txn *t;
	int n;

	while ((n = rc_create_next(p)) > 0) {
		if (!(t = rc_create_txn(p, &n, first, sizeof(first)))) {
			log_kv(LL_ERROR, KV("controller", p->name),
			       "cannot build a pod from the template (out of memory?); retrying");
			p->failed++;
			return;
		}
		p->want -= n;
		p->creating += n;
		if (commit(p, RC_OP_CREATE, first, n, t) < 0)
			p->creating -= n;
	}
}

static void
delete_pod(struct rc_pass *p, const struct informer_obj *pod)
{
	struct etcd_txn *t = rc_delete_txn(pod);

	if (!t) {
		p->failed++;
		return;
	}
	log_kv(LL_DEBUG, KV("controller", p->name, "pod", pod->name), "deleting pod");
	commit(p, RC_OP_DELETE, pod->name, 0, t);
}

static void
status_write(struct rc_pass *p, const struct api_controller_status *st)
{
	struct etcd_txn *t;

	if (rc_status_txn(p->rc, p->name, st, &t) < 0)
		p->failed++;
	else if (t)
		commit(p, RC_OP_STATUS, NULL, 0, t);
}

/* One write less in flight: let more creates out while the window has
 * room, or end the pass when nothing is left in flight. */
static void
pass_step(struct rc_pass *p)
{
	if (may_create(p))
		create_more(p);
	if (--p->pending == 0)
		pass_finish(p);
}

/* A create txn of op->n creates came back (res->err.code == ETCD_OK). */
static void
creates_done(struct rc_op *op, struct etcd_result *res)
{
	struct rc_pass *p = op->p;
	int created = 0, collided = 0;

	if (rc_batch_tally(res, op->n, &created, &collided) < 0) {
		log_kv(LL_WARN, KV("controller", p->name),
		       "etcd's answer to %d creates has %zu results; counting again", op->n, res->nresponses);
		p->failed++;
	}
	p->created += created;
	p->collided += collided;
	metric_add(p->rc->m_creates, created);
	if (collided)
		p->requeue = 0.05; /* a name was taken: count again soon */
	rc_create_done(p, op->n, created);
}

/* A write failed (not a failed compare): back off, and say why when
 * pods cannot be created. */
static void
op_failed(struct rc_op *op, const struct etcd_result *res)
{
	struct rc_pass *p = op->p;
	struct rc_state *st;
	char msg[512];

	p->failed++;
	if (res->err.code == ETCD_ECANCELED)
		return;
	if (res->err.outcome_unknown && op->kind != RC_OP_STATUS)
		p->unknown = 1;
	metric_inc(p->rc->m_failures);
	log_kv(LL_WARN, KV("controller", p->name, "pod", op->pod[0] ? op->pod : NULL),
	       "cannot %s: %s (%s); retrying with back-off", op_verb[op->kind], res->err.msg,
	       etcd_code_name(res->err.code));
	if (op->kind != RC_OP_CREATE || !p->rc->q)
		return;
	snprintf(msg, sizeof(msg), "creating pods failed: %s", res->err.msg);
	recorder_eventf(p->rc->rec, "controllers", p->name, "Warning", "FailedCreate", "%s", msg);
	if ((st = rc_state_get(p->rc, p->name, 1))) {
		free(st->last_error);
		st->last_error = strdup(msg);
	}
}

static void
op_done(struct etcd_result *res, void *arg)
{
	struct rc_op *op = arg;
	struct rc_pass *p = op->p;

	if (op->kind != RC_OP_STATUS && res->err.code == ETCD_OK && res->revision > p->max_rev)
		p->max_rev = res->revision;
	if (res->err.code != ETCD_OK) {
		if (op->kind == RC_OP_CREATE)
			rc_create_done(p, op->n, 0);
		op_failed(op, res);
	} else if (op->kind == RC_OP_CREATE) {
		creates_done(op, res);
	} else if (!res->succeeded) {
		p->requeue = 0.05; /* someone changed the key first */
	} else if (op->kind == RC_OP_DELETE) {
		p->deleted++;
		metric_inc(p->rc->m_deletes);
	} else {
		metric_inc(p->rc->m_status);
	}
	free(op);
	pass_step(p);
}

static int
commit(struct rc_pass *p, enum rc_op_kind kind, const char *pod, int n, struct etcd_txn *t)
{
	struct etcd_error err = {0};
	struct rc_op *op = calloc(1, sizeof(*op));

	if (!op) {
		etcd_txn_free(t);
		p->failed++;
		return -1;
	}
	op->p = p;
	op->kind = kind;
	op->n = n;
	snprintf(op->pod, sizeof(op->pod), "%s", pod ? pod : "");
	if (etcd_txn_commit(p->rc->d->etcd, t, op_done, op, &err) < 0) {
		log_kv(LL_WARN, KV("controller", p->name, "pod", pod), "cannot %s: %s; retrying with back-off",
		       op_verb[kind], err.msg);
		free(op);
		p->failed++;
		return -1;
	}
	p->pending++;
	return 0;
}

/* ---- reading the caches ---- */

struct collect {
	const struct rc *rc;
	const char *name, *uid;           /* uid NULL: the controller is gone */
	const struct api_controller *ctl; /* NULL: only stale pods are wanted */
	const struct informer_obj **match, **stale;
	size_t nmatch, nstale, cap;
	int ready, oom;
	int available; /* ready for at least spec.minReadySeconds */
	double now;    /* wall clock, when counting began */
	double next;   /* when the next ready pod becomes available, 0: none will */
};

static int
push(const struct informer_obj ***v, size_t *n, size_t cap, const struct informer_obj *o)
{
	if (*n >= cap)
		return -1;
	(*v)[(*n)++] = o;
	return 0;
}

/* A ready pod: available once it has been ready for minReadySeconds;
 * until then remember when, for the pass to look again. */
static void
count_ready(struct collect *c, const struct rc_podinfo *pi)
{
	double at = pi->ready_at + (double)c->ctl->spec.min_ready_seconds;

	c->ready++;
	if (c->ctl->spec.min_ready_seconds == 0 || at <= c->now)
		c->available++;
	else if (c->next == 0 || at < c->next)
		c->next = at;
}

static void
collect_cb(const struct informer_obj *o, void *arg)
{
	struct collect *c = arg;
	const struct rc_pod *pod = o->obj;
	const struct rc_podinfo *pi;
	char uid[24];

	if (!pod)
		return;
	if (pod->owner && strcmp(pod->owner, c->name) == 0 &&
	    (!c->uid || !pod->owner_uid || strcmp(pod->owner_uid, c->uid) != 0)) {
		/* Owned by a controller of this name that no longer exists. */
		c->oom |= push(&c->stale, &c->nstale, c->cap, o);
		return;
	}
	if (!c->ctl || (pod->owned && (!pod->owner || strcmp(pod->owner, c->name) != 0)) ||
	    !api_selector_matches(&c->ctl->spec.selector, &pod->labels))
		return;
	if (pod->deletion_grace_p1 > 0)
		return; /* being deleted: not active, as Kubernetes counts it; replaced now */
	snprintf(uid, sizeof(uid), "%" PRId64, o->create_revision);
	pi = rc_podinfo(c->rc, o->name);
	if (pi && pi->status_uid && strcmp(pi->status_uid, uid) == 0 && pi->terminal)
		return; /* Failed or Succeeded: not active; replaced, kept */
	c->oom |= push(&c->match, &c->nmatch, c->cap, o);
	if (pi && pi->ready && pi->status_uid && strcmp(pi->status_uid, uid) == 0)
		count_ready(c, pi);
}

static int
collect(struct collect *c)
{
	c->cap = informer_count(c->rc->pods) + 1;
	c->now = ev_time();
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
		delete_pod(p, c->stale[i]);
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
	status_write(p, NULL);
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
		status_write(p, &s);
}

/* spec.replicas, or --max-replicas when it asks for more (a Warning event
 * once for each value over it). */
static int
replicas_capped(struct rc *rc, struct rc_state *st, const char *name, int replicas)
{
	if (replicas <= rc->max_replicas) {
		st->capped = 0;
		return replicas;
	}
	if (st->capped != replicas) {
		recorder_eventf(rc->rec, "controllers", name, "Warning", "TooManyReplicas",
		                "spec.replicas %d is over this cluster's limit of %d (--max-replicas); keeping %d",
		                replicas, rc->max_replicas, rc->max_replicas);
		log_kv(LL_WARN, KV("controller", name), "spec.replicas %d over --max-replicas %d; keeping %d", replicas,
		       rc->max_replicas, rc->max_replicas);
		st->capped = replicas;
	}
	return rc->max_replicas;
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
	diff = (long)replicas_capped(p->rc, st, o->name, ctl->spec.replicas) - (long)c->nmatch;
	if (diff > 0) {
		p->want = (int)diff; /* replicas is an int: so is the shortfall */
		p->ctl_mod = o->mod_revision;
		if (!(p->ctl = api_dup(API_CONTROLLER, ctl))) {
			p->failed++;
			p->want = 0;
		}
		create_more(p);
	} else if (diff < 0) {
		rc_rank_for_delete(p->rc, c->match, c->nmatch);
		for (long i = 0; i < -diff && budget > 0; i++, budget--)
			delete_pod(p, c->match[i]);
	}
	s.uid = p->uid;
	s.observed_revision = o->mod_revision;
	s.replicas = (int)c->nmatch;
	s.ready_replicas = c->ready;
	s.available_replicas = c->available;
	s.message = st->last_error;
	status_write(p, &s);
	if (c->next > 0) {
		/* A pod becomes available then: count again (a little after, so
		 * that it has). */
		double after = c->next - c->now + 0.01;

		if (p->requeue <= 0 || after < p->requeue)
			p->requeue = after;
	}
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

	if (!controller_synced(rc->ctl)) {
		wq_done(q, name, WQ_OK, 0); /* enqueued again once every cache has listed */
		return;
	}
	if (!(st = rc_state_get(rc, name, 1)) || !(p = pass_new(rc, name))) {
		wq_done(q, name, WQ_RETRY, 0);
		return;
	}
	if (st->window > 1)
		p->window = st->window;
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
