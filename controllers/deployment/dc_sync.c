/*
 * dc_sync.c: one reconcile pass of one deployment. Reads only the caches:
 * the deployment, the replication controllers whose owner reference names
 * it (with its uid: others of that name are left over from an earlier
 * incarnation and deleted), their statuses and the deployment's status.
 * Makes at most one change of replica counts (create the current
 * template's controller, scale it, scale old ones down, or bump its
 * revision) in a transaction comparing the mod revision of the deployment
 * and of every owned controller, deletes controllers beyond
 * revisionHistoryLimit once the rollout is complete, and writes the status
 * when its bytes change. The next pass waits until the caches hold these
 * writes. It never adopts a controller it does not own, never touches
 * pods (the replication controller does) and never changes a template.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <uthash.h>

#include "dc.h"

/* ---- writes ---- */

struct write {
	struct dc *dc;
	int status; /* a status write: wait on the status cache, else on the controllers' */
	char name[API_LABEL_MAX + 1];
};

/* Deployments with writes in flight: not decided on again before they
 * return. */
struct busy {
	char name[API_LABEL_MAX + 1];
	int n;
	UT_hash_handle hh;
};

static struct busy *busy_set;
static size_t inflight;
static int64_t rc_rev, st_rev; /* newest revisions of our own writes that took effect */

static int
busy_add(const char *name, int delta)
{
	struct busy *b = NULL;

	HASH_FIND_STR(busy_set, name, b);
	if (!b && delta > 0) {
		if (!(b = calloc(1, sizeof(*b))))
			return -1;
		snprintf(b->name, sizeof(b->name), "%s", name);
		HASH_ADD_STR(busy_set, name, b);
	}
	if (b && (b->n += delta) <= 0) {
		HASH_DEL(busy_set, b);
		free(b);
	}
	return 0;
}

static int
is_busy(const char *name)
{
	struct busy *b = NULL;

	HASH_FIND_STR(busy_set, name, b);
	return b != NULL;
}

static void
write_done(struct etcd_result *res, void *arg)
{
	struct write *w = arg;

	if (res->err.code != ETCD_OK && res->err.code != ETCD_ECANCELED) {
		log_kv(LL_WARN, KV("deployment", w->name), "write failed: %s; will retry", res->err.msg);
		wq_add_after(w->dc->q, w->name, 1.0);
	} else if (res->err.code == ETCD_OK) {
		int64_t *rev = w->status ? &st_rev : &rc_rev;

		/* A failed compare wrote nothing: there is nothing to wait for
		 * (and its revision may be one the cache never sees). */
		if (res->succeeded && res->revision > *rev)
			*rev = res->revision;
		if (!res->succeeded) /* something moved meanwhile: decide again once the caches have it */
			wq_add_after(w->dc->q, w->name, 0.05);
	}
	busy_add(w->name, -1);
	inflight--;
	controller_settled(w->dc->ctl);
	free(w);
}

int
dc_busy(void *arg)
{
	(void)arg;
	return inflight > 0;
}

static void
commit(struct dc *dc, const char *name, struct etcd_txn *t, int status)
{
	struct etcd_error err = {0};
	struct write *w = calloc(1, sizeof(*w));

	if (w) {
		w->dc = dc;
		w->status = status;
		snprintf(w->name, sizeof(w->name), "%s", name);
	}
	if (!w || busy_add(name, 1) < 0) {
		free(w);
		etcd_txn_free(t);
		wq_add_after(dc->q, name, 1.0);
		return;
	}
	if (etcd_txn_commit(dc->d->etcd, t, write_done, w, &err) < 0) {
		busy_add(name, -1);
		free(w);
		log_kv(LL_WARN, KV("deployment", name), "cannot write: %s; will retry",
		       err.msg[0] ? err.msg : "out of memory");
		wq_add_after(dc->q, name, 1.0);
		return;
	}
	inflight++;
}

/* Delete one key, guarded by the mod revision read. */
static void
delete_key(struct dc *dc, const char *name, const struct informer_obj *o, int status)
{
	struct etcd_txn *t = etcd_txn_new();

	etcd_txn_cmp(t, o->key, ETCD_CMP_MOD, ETCD_CMP_EQUAL, o->mod_revision);
	etcd_txn_delete(t, ETCD_TXN_SUCCESS, o->key, 0);
	commit(dc, name, t, status);
}

/* ---- what the deployment owns ---- */

struct owned {
	const struct informer_obj *o;
	const struct api_controller *rc;
	long revision;
	int pods, ready, observed;
	struct dc_rs rs;
};

struct scan {
	struct dc *dc;
	const char *name, *uid; /* uid NULL: the deployment is gone */
	int min_ready;
	struct owned *v;
	size_t n, cap;
	const struct informer_obj **stale;
	size_t nstale;
	int oom;
};

/* What the controller's status says, when it is about this incarnation. */
static void
owned_counts(struct dc *dc, struct owned *w, int min_ready)
{
	const struct informer_obj *so = informer_get(dc->cstatus, w->o->name);
	const struct api_controller_status *st = so ? so->obj : NULL;
	char uid[24];
	int avail;

	snprintf(uid, sizeof(uid), "%" PRId64, w->o->create_revision);
	w->rs.spec = w->rc->spec.replicas;
	w->pods = w->rs.spec; /* unknown: as many as asked for */
	if (!st || !st->uid || strcmp(st->uid, uid) != 0)
		return;
	w->observed = st->observed_revision >= w->o->mod_revision;
	w->pods = st->replicas;
	w->ready = st->ready_replicas;
	/* Without minReadySeconds a ready pod is available (a replication
	 * controller that does not fill availableReplicas still counts ready). */
	avail = min_ready == 0 ? st->ready_replicas : st->available_replicas;
	w->rs.available = avail < w->rs.spec ? avail : w->rs.spec;
}

static void
scan_cb(const struct informer_obj *o, void *arg)
{
	struct scan *s = arg;
	const struct api_controller *rc = o->obj;
	const struct api_owner_ref *own = rc ? api_meta_owner(&rc->meta, API_DEPLOYMENT_KIND) : NULL;
	struct owned *nv;

	if (!own || !own->name || strcmp(own->name, s->name) != 0)
		return;
	if (!s->uid || !own->uid || strcmp(own->uid, s->uid) != 0) {
		s->stale = realloc(s->stale, (s->nstale + 1) * sizeof(*s->stale));
		if (!s->stale) {
			s->oom = 1;
			s->nstale = 0;
			return;
		}
		s->stale[s->nstale++] = o;
		return;
	}
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 8;
		if (!(nv = realloc(s->v, s->cap * sizeof(*nv)))) {
			s->oom = 1;
			return;
		}
		s->v = nv;
	}
	memset(&s->v[s->n], 0, sizeof(s->v[0]));
	s->v[s->n].o = o;
	s->v[s->n].rc = rc;
	s->v[s->n].revision = api_deployment_revision(rc);
	owned_counts(s->dc, &s->v[s->n], s->min_ready);
	s->n++;
}

static int
by_revision(const void *a, const void *b)
{
	const struct owned *x = a, *y = b;

	if (x->revision != y->revision)
		return x->revision < y->revision ? -1 : 1;
	return x->o->create_revision < y->o->create_revision ? -1 : x->o->create_revision > y->o->create_revision;
}

/* ---- one pass of a valid deployment ---- */

struct pass {
	struct dc *dc;
	const char *name;
	const struct informer_obj *dep_o;
	const struct api_deployment *dep;
	struct scan *s;
	struct owned *cur; /* the current template's controller, or NULL */
	struct owned *old; /* the others, oldest first (pointers into s->v) */
	size_t n_old;
	char hash[API_TEMPLATE_HASH_MAX + 1], rcname[API_LABEL_MAX + 1];
	long max_rev;  /* highest revision of an old controller */
	int collision; /* collisionCount to write */
	const char *action;
};

/* A transaction guarded by the deployment's and every owned controller's
 * mod revision: nothing it decided from may have changed. */
static struct etcd_txn *
guarded(const struct pass *p)
{
	struct etcd_txn *t = etcd_txn_new();

	etcd_txn_cmp(t, p->dep_o->key, ETCD_CMP_MOD, ETCD_CMP_EQUAL, p->dep_o->mod_revision);
	for (size_t i = 0; i < p->s->n; i++)
		etcd_txn_cmp(t, p->s->v[i].o->key, ETCD_CMP_MOD, ETCD_CMP_EQUAL, p->s->v[i].o->mod_revision);
	return t;
}

/* Add to t the put of w's controller with replicas (and revision, when
 * > 0), edited in its raw JSON so nothing else changes. 0 or -1. */
static int
put_scaled(struct etcd_txn *t, const struct owned *w, int replicas, long revision)
{
	json_t *j = json_loadb(w->o->value, w->o->value_len, 0, NULL), *spec, *meta, *ann;
	char rev[24], *s = NULL;
	int err = !j;

	spec = j ? json_object_get(j, "spec") : NULL;
	err = err || !json_is_object(spec) || json_object_set_new(spec, "replicas", json_integer(replicas)) < 0;
	if (!err && revision > 0) {
		meta = json_object_get(j, "metadata");
		if (!json_is_object(json_object_get(meta, "annotations")))
			json_object_set_new(meta, "annotations", json_object());
		ann = json_object_get(meta, "annotations");
		snprintf(rev, sizeof(rev), "%ld", revision);
		err = !json_is_object(ann) || json_object_set_new(ann, API_DEPLOYMENT_REVISION, json_string(rev)) < 0;
	}
	if (!err && (s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS)))
		err = etcd_txn_put(t, ETCD_TXN_SUCCESS, w->o->key, s, strlen(s), 0) < 0;
	free(s);
	json_decref(j);
	return err || !s ? -1 : 0;
}

static void
scale_event(struct pass *p, const struct owned *w, int to)
{
	recorder_eventf(p->dc->rec, "deployments", p->name, "Normal", "ScalingReplicaSet",
	                "Scaled %s replication controller %s from %d to %d", to > w->rs.spec ? "up" : "down",
	                w->o->name, w->rs.spec, to);
	log_kv(LL_INFO, KV("deployment", p->name, "controller", w->o->name), "scaling from %d to %d", w->rs.spec, to);
	metric_inc(p->dc->m_scales);
}

/* Scale n controllers at once (to[i] for w[i]; equal ones are left out). */
static void
scale(struct pass *p, struct owned *const *w, const int *to, size_t n)
{
	struct etcd_txn *t = guarded(p);
	int err = 0;

	for (size_t i = 0; i < n; i++)
		if (to[i] != w[i]->rs.spec)
			err |= put_scaled(t, w[i], to[i], 0);
	if (err) {
		etcd_txn_free(t);
		wq_add_after(p->dc->q, p->name, 1.0);
		return;
	}
	for (size_t i = 0; i < n; i++)
		if (to[i] != w[i]->rs.spec)
			scale_event(p, w[i], to[i]);
	commit(p->dc, p->name, t, 0);
	p->action = "ReplicaSetUpdated";
}

static void
scale_one(struct pass *p, struct owned *w, int to)
{
	scale(p, &w, &to, 1);
}

/* ---- the decisions ---- */

/* The pods there may be: per controller the larger of its spec and what
 * its status counted (a status written just before the replication
 * controller's deletes still counts them). */
static int
total_pods(const struct pass *p)
{
	int64_t n = 0;

	for (size_t i = 0; i < p->s->n; i++)
		n += p->s->v[i].rs.spec > p->s->v[i].pods ? p->s->v[i].rs.spec : p->s->v[i].pods;
	return n > INT32_MAX ? INT32_MAX : (int)n;
}

/* 1 when every owned controller's status answers for its current spec:
 * before that its counts may be too low (pods) or too high (available). */
static int
all_observed(const struct pass *p)
{
	for (size_t i = 0; i < p->s->n; i++)
		if (!p->s->v[i].observed)
			return 0;
	return 1;
}

/* 1 when no old controller asks for pods nor has any left. */
static int
olds_gone(const struct pass *p)
{
	for (size_t i = 0; i < p->n_old; i++)
		if (p->old[i].rs.spec > 0 || p->old[i].pods > 0 || !p->old[i].observed)
			return 0;
	return 1;
}

static void
create_current(struct pass *p)
{
	const struct api_deployment_spec *sp = &p->dep->spec;
	struct api_controller *rc;
	struct etcd_txn *t;
	char key[API_KEY_MAX + 1], *json = NULL;
	int surge, unav, n;

	dc_fenceposts(sp, &surge, &unav);
	if (sp->strategy == API_RECREATE)
		n = olds_gone(p) ? sp->replicas : 0;
	else
		n = all_observed(p) ? dc_new_replicas(sp->replicas, surge, total_pods(p), 0) : 0;
	rc = api_deployment_new_rc(p->dep, p->name, p->s->uid, p->hash, p->max_rev + 1, n);
	if (!rc || !(json = api_deployment_rc_json(rc, p->dep)) ||
	    api_key_object(key, sizeof(key), p->dc->prefix, API_CONTROLLER, p->rcname, NULL) < 0) {
		api_controller_free(rc);
		free(json);
		wq_add_after(p->dc->q, p->name, 1.0);
		return;
	}
	t = guarded(p);
	etcd_txn_cmp(t, key, ETCD_CMP_CREATE, ETCD_CMP_EQUAL, 0);
	etcd_txn_put(t, ETCD_TXN_SUCCESS, key, json, strlen(json), 0);
	commit(p->dc, p->name, t, 0);
	recorder_eventf(p->dc->rec, "deployments", p->name, "Normal", "ScalingReplicaSet",
	                "Created replication controller %s (revision %ld) with %d replicas", p->rcname, p->max_rev + 1,
	                n);
	log_kv(LL_INFO, KV("deployment", p->name, "controller", p->rcname), "created with %d replicas", n);
	metric_inc(p->dc->m_creates);
	p->action = "NewReplicaSetCreated";
	api_controller_free(rc);
	free(json);
}

/* RollingUpdate: scale the current one up, else the old ones down. */
static void
roll(struct pass *p)
{
	const struct api_deployment_spec *sp = &p->dep->spec;
	struct owned **w;
	struct dc_rs *rs;
	int surge, unav, to, *out;

	if (!all_observed(p))
		return; /* the replication controller's statuses catch up first */
	dc_fenceposts(sp, &surge, &unav);
	to = dc_new_replicas(sp->replicas, surge, total_pods(p), p->cur->rs.spec);
	if (to != p->cur->rs.spec) {
		scale_one(p, p->cur, to);
		return;
	}
	w = calloc(p->n_old + 1, sizeof(*w));
	out = calloc(p->n_old + 1, sizeof(*out));
	rs = calloc(p->n_old + 1, sizeof(*rs));
	for (size_t i = 0; w && out && rs && i < p->n_old; i++) {
		rs[i] = p->old[i].rs;
		w[i] = &p->old[i];
	}
	if (w && out && rs && dc_scale_down_old(sp->replicas, unav, &p->cur->rs, rs, p->n_old, out) > 0)
		scale(p, w, out, p->n_old);
	else if (!w || !out || !rs)
		wq_add_after(p->dc->q, p->name, 1.0);
	free(w);
	free(out);
	free(rs);
}

/* Recreate: every old pod gone before the current one scales up. */
static void
recreate(struct pass *p)
{
	struct owned **w = calloc(p->n_old + 1, sizeof(*w));
	int *zero = calloc(p->n_old + 1, sizeof(*zero)), any = 0;

	for (size_t i = 0; w && zero && i < p->n_old; i++) {
		w[i] = &p->old[i];
		any |= p->old[i].rs.spec > 0;
	}
	if (w && zero && any)
		scale(p, w, zero, p->n_old);
	else if (w && zero && olds_gone(p) && p->cur->rs.spec != p->dep->spec.replicas)
		scale_one(p, p->cur, p->dep->spec.replicas);
	free(w);
	free(zero);
}

/* Old controllers at 0 replicas with no pod left, beyond
 * revisionHistoryLimit, oldest first: deleted (with the replication
 * controller's status, which it removes itself). */
static void
cleanup_history(struct pass *p)
{
	size_t idle = 0, drop;

	for (size_t i = 0; i < p->n_old; i++)
		idle += p->old[i].rs.spec == 0 && p->old[i].pods == 0 && p->old[i].observed;
	if (idle <= (size_t)p->dep->spec.revision_history_limit)
		return;
	drop = idle - (size_t)p->dep->spec.revision_history_limit;
	for (size_t i = 0; i < p->n_old && drop > 0; i++) {
		if (p->old[i].rs.spec != 0 || p->old[i].pods != 0 || !p->old[i].observed)
			continue;
		log_kv(LL_INFO, KV("deployment", p->name, "controller", p->old[i].o->name),
		       "deleting an old controller beyond revisionHistoryLimit");
		delete_key(p->dc, p->name, p->old[i].o, 0);
		metric_inc(p->dc->m_deletes);
		drop--;
	}
}

static void
view_counts(const struct pass *p, struct dc_view *v)
{
	v->observed = 1;
	for (size_t i = 0; i < p->s->n; i++) {
		const struct owned *w = &p->s->v[i];

		v->observed &= w->observed;
		v->replicas += w->pods;
		v->ready += w->ready;
		v->available += w->rs.available;
		if (w == p->cur)
			v->updated = w->pods;
		else
			v->old_pods += w->pods;
	}
}

/* Write P/deploymentstatus/NAME when its bytes change; *recheck: when to
 * look again for the progress deadline. */
static void
write_status(struct pass *p, const struct api_deployment_status *prev, const struct informer_obj *prev_o,
             double *recheck)
{
	struct dc_view v = {.dep = p->dep,
	                    .uid = p->s->uid,
	                    .dep_mod = p->dep_o->mod_revision,
	                    .newrc = p->cur ? p->cur->o->name : NULL,
	                    .collision_count = p->collision,
	                    .action = p->action,
	                    .now = time(NULL)};
	struct api_deployment_status *st;
	char key[API_KEY_MAX + 1], *json = NULL;
	struct etcd_txn *t;

	view_counts(p, &v);
	if (!(st = dc_status_build(&v, prev, recheck)) || !(json = api_deployment_status_serialize(st)) ||
	    api_key_object(key, sizeof(key), p->dc->prefix, API_DEPLOYMENTSTATUS, p->name, NULL) < 0) {
		*recheck = 1.0;
		goto out;
	}
	if (prev_o && prev_o->value_len == strlen(json) && memcmp(prev_o->value, json, prev_o->value_len) == 0)
		goto out;
	t = etcd_txn_new();
	etcd_txn_cmp(t, key, ETCD_CMP_MOD, ETCD_CMP_EQUAL, prev_o ? prev_o->mod_revision : 0);
	etcd_txn_put(t, ETCD_TXN_SUCCESS, key, json, strlen(json), 0);
	commit(p->dc, p->name, t, 1);
	metric_inc(p->dc->m_status);
out:
	api_deployment_status_free(st);
	free(json);
}

/* The current template's controller: p->cur, p->old, p->max_rev. A
 * controller of that name that is not ours or holds another template is a
 * hash collision: 0 then (and p->collision grows); one that does not
 * decode: 2 (wait); else 1; -1 when out of memory. */
static int
find_current(struct pass *p)
{
	const struct informer_obj *other;
	size_t k = 0;

	if (api_template_hash(&p->dep->spec.template, p->collision, p->hash, sizeof(p->hash)) < 0 ||
	    api_deployment_rc_name(p->rcname, sizeof(p->rcname), p->name, p->hash, NULL) < 0)
		return -1;
	if (p->s->n > 1)
		qsort(p->s->v, p->s->n, sizeof(*p->s->v), by_revision);
	if (!(p->old = calloc(p->s->n + 1, sizeof(*p->old))))
		return -1;
	for (size_t i = 0; i < p->s->n; i++) {
		if (strcmp(p->s->v[i].o->name, p->rcname) == 0) {
			p->cur = &p->s->v[i];
			continue;
		}
		p->old[k++] = p->s->v[i];
		if (p->s->v[i].revision > p->max_rev)
			p->max_rev = p->s->v[i].revision;
	}
	p->n_old = k;
	other = informer_get(p->dc->controllers, p->rcname);
	if (other && !other->obj) {
		/* Ours or not, it does not decode (the replication controller
		 * says why): neither a collision nor to be written over. */
		recorder_eventf(p->dc->rec, "deployments", p->name, "Warning", "InvalidReplicationController",
		                "controller %s does not decode; fix or delete it, nothing rolls until then", p->rcname);
		return 2;
	}
	if (other && (!p->cur || !api_deployment_template_matches(p->dep, p->cur->rc))) {
		recorder_eventf(p->dc->rec, "deployments", p->name, "Warning", "HashCollision",
		                "controller %s exists with another template or owner; collisionCount is now %d",
		                p->rcname, p->collision + 1);
		p->cur = NULL;
		p->collision++;
		return 0;
	}
	return 1;
}

/* Paused: no new controller and no rollout; only a deployment that has
 * nothing to roll follows a change of replicas. */
static void
paused(struct pass *p)
{
	for (size_t i = 0; i < p->n_old; i++)
		if (p->old[i].rs.spec > 0)
			return;
	if (p->cur && p->cur->rs.spec != p->dep->spec.replicas)
		scale_one(p, p->cur, p->dep->spec.replicas);
}

/* Decide and write; returns the delay before looking again (0: none). */
static double
sync_valid(struct dc *dc, const char *name, const struct informer_obj *dep_o, struct scan *s)
{
	const struct informer_obj *so = informer_get(dc->dstatus, name);
	const struct api_deployment_status *prev = so ? so->obj : NULL;
	struct pass p = {.dc = dc, .name = name, .dep_o = dep_o, .dep = dep_o->obj, .s = s};
	double recheck = 0;
	int found;

	if (prev && (!prev->uid || strcmp(prev->uid, s->uid) != 0))
		prev = NULL; /* an earlier incarnation's */
	p.collision = prev ? prev->collision_count : 0;
	if ((found = find_current(&p)) < 0) {
		free(p.old);
		return -1;
	}
	if (found == 2) {
		free(p.old);
		return 10.0;
	}
	if (found && p.dep->spec.paused)
		paused(&p);
	else if (found && !p.cur)
		create_current(&p);
	else if (found && p.cur->revision <= p.max_rev) {
		struct etcd_txn *t = guarded(&p); /* a template that came back: the newest revision */

		if (put_scaled(t, p.cur, p.cur->rs.spec, p.max_rev + 1) < 0) {
			etcd_txn_free(t);
			wq_add_after(dc->q, name, 1.0);
		} else {
			commit(dc, name, t, 0);
			p.action = "ReplicaSetUpdated";
		}
	} else if (found && p.dep->spec.strategy == API_RECREATE)
		recreate(&p);
	else if (found)
		roll(&p);
	if (found && !p.action && p.cur && p.cur->rs.spec == p.dep->spec.replicas)
		cleanup_history(&p);
	write_status(&p, prev, so, &recheck);
	free(p.old);
	return recheck;
}

/* The deployment is gone (or another incarnation): its controllers go,
 * and its status. */
static void
delete_stale(struct dc *dc, const char *name, const struct scan *s, int gone)
{
	const struct informer_obj *so = informer_get(dc->dstatus, name);

	for (size_t i = 0; i < s->nstale; i++) {
		log_kv(LL_INFO, KV("deployment", name, "controller", s->stale[i]->name),
		       "deleting a controller of a deployment that is gone");
		delete_key(dc, name, s->stale[i], 0);
		metric_inc(dc->m_deletes);
	}
	if (gone && so)
		delete_key(dc, name, so, 1);
}

static void
report_invalid(struct dc *dc, const struct informer_obj *o)
{
	struct api_errors errs = {0};
	struct api_deployment *d = api_deployment_parse(o->value, o->value_len, &errs);
	char *why = api_errors_join(&errs, "; ");

	recorder_eventf(dc->rec, "deployments", o->name, "Warning", "Invalid",
	                "deployment is invalid, nothing rolls: %s", why ? why : "metadata.name does not match the key");
	free(why);
	api_deployment_free(d);
	api_errors_clear(&errs);
}

void
dc_reconcile(struct wq *q, const char *name, void *arg)
{
	struct dc *dc = arg;
	const struct informer_obj *o;
	struct scan s = {.dc = dc, .name = name};
	char uid[24];
	double again = 0;

	if (!controller_synced(dc->ctl)) {
		wq_done(q, name, WQ_OK, 0);
		return;
	}
	if (is_busy(name) || informer_revision(dc->controllers) < rc_rev || informer_revision(dc->dstatus) < st_rev) {
		wq_done(q, name, WQ_REQUEUE_AFTER, 0.05); /* our last writes are not back or not in the caches yet */
		return;
	}
	o = informer_get(dc->deployments, name);
	if (o) {
		snprintf(uid, sizeof(uid), "%" PRId64, o->create_revision);
		s.uid = uid;
		s.min_ready = o->obj ? ((const struct api_deployment *)o->obj)->spec.min_ready_seconds : 0;
	}
	informer_foreach(dc->controllers, scan_cb, &s);
	if (!s.oom) {
		delete_stale(dc, name, &s, !o);
		if (o && !o->obj)
			report_invalid(dc, o);
		else if (o)
			again = sync_valid(dc, name, o, &s);
	}
	free(s.v);
	free(s.stale);
	if (s.oom || again < 0)
		wq_done(q, name, WQ_RETRY, 0);
	else
		wq_done(q, name, again > 0 ? WQ_REQUEUE_AFTER : WQ_OK, again);
}
