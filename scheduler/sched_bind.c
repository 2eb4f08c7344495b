/*
 * sched_bind.c: scheduling passes and the transactions that write
 * P/bindings/. A pass takes the pending pods oldest first (create
 * revision), filters nodes until enough fit (all of them below 100 nodes,
 * else a share, Kubernetes' percentageOfNodesToScore: sched_nodes_to_find),
 * each decision starting where the last one stopped, scores those, and
 * binds each pod with
 * one guarded transaction, many in flight at once; a pod is counted on its
 * node ("assumed") as soon as its transaction is sent, so the next decision
 * sees it. The binds a pass decides go out at its end: a lone one as its
 * own txn, several as batches, one request each holding one nested guarded
 * txn per pod, so that a stale pod fails alone. Pods that fit nowhere get a FailedScheduling event and wait for
 * a change that could make room (S.gen), never for a timer.
 *
 * The upkeep queue (pod names) keeps existing bindings true: it refreshes
 * the pod copy when the pod changes and deletes the binding of a pod that
 * is gone or was replaced by a new incarnation, or that its node's agent
 * does not allow (its published policy, learnt after the pod was bound):
 * the pod is then placed again, elsewhere.
 *
 * Nothing here runs unless this process leads and every cache has synced.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utlist.h>

#include "elect.h"
#include "hash.h"
#include "sched.h"

struct bindreq {
	char *pod, *node;
	char *bkey, *pkey; /* the binding's and the pod's keys */
	char *value;
	int64_t podmod, uid;
	int tries;
	ev_timer retry;
	struct bindreq *prev, *next; /* S-wide list, for the stop hook */
};

/* Most pods bound by one request (each is one nested txn of 1 put or 1
 * get; etcd allows 128 operations per list by default). */
#define BIND_BATCH 32

struct upkeep {
	char *pod;
};

static struct bindreq *reqs;

static void maybe_stop_done(void);

static int
leading(void)
{
	return S.ctl && controller_leading(S.ctl);
}

/* ---- the binding value ---- */

/* {"node":NODE,"pod":POD with metadata.name and metadata.uid}: new string
 * or NULL. Written from the copy the pods cache keeps (sched_copy.c),
 * without decoding the pod again. */
static char *
binding_value(const char *node, const struct informer_obj *po)
{
	return po->obj ? sched_binding_value(node, po->obj, po->create_revision) : NULL;
}

/* ---- bind transactions ---- */

static void bind_send(struct bindreq *r);

static void
req_free(struct bindreq *r)
{
	free(r->pod);
	free(r->node);
	free(r->bkey);
	free(r->pkey);
	free(r->value);
	free(r);
}

/* Our assumption about r did not come true: uncount it, try the pod again. */
static void
release(struct bindreq *r, double delay)
{
	struct sched_place *pl = sched_place_find(r->pod);
	const struct informer_obj *po;
	struct sched_pending *w;

	if (pl && pl->assumed && strcmp(pl->node->name, r->node) == 0)
		sched_place_del(pl);
	if (!S.dead && !sched_place_find(r->pod) && (po = informer_get(S.pods, r->pod)) && po->obj) {
		sched_pending_add(r->pod, po->create_revision);
		if ((w = sched_pending_find(r->pod)) && delay > 0)
			w->not_before = ev_now(S.d->loop) + delay;
		sched_kick();
	}
}

static void
req_done(struct bindreq *r)
{
	DL_DELETE(reqs, r);
	req_free(r);
	S.inflight--;
	sched_kick();
	maybe_stop_done();
}

static void
retry_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct bindreq *r = w->data;

	(void)loop;
	(void)revents;
	bind_send(r);
}

static int
ours(const struct etcd_result *fr, int64_t uid)
{
	struct api_errors errs = {0};
	struct api_binding *b;
	int yes = 0;

	if (!fr || fr->nkvs == 0)
		return 0;
	if ((b = api_binding_parse(fr->kvs[0].value, fr->kvs[0].value_len, &errs)))
		yes = b->pod.meta.uid && strtoll(b->pod.meta.uid, NULL, 10) == uid;
	api_binding_free(b);
	api_errors_clear(&errs);
	return yes;
}

/* The request failed (no answer, or an error from etcd): retry the same
 * binding alone after a back-off, or give the pod up when not leading. */
static void
bind_failed(struct bindreq *r, const struct etcd_error *err)
{
	if (S.stopping || !leading()) {
		release(r, 0);
		req_done(r);
		return;
	}
	r->tries++;
	log_kv(LL_WARN, KV("pod", r->pod, "node", r->node, "error", etcd_code_name(err->code)),
	       "bind failed: %s; retrying the same binding (attempt %d)", err->msg, r->tries + 1);
	ev_timer_set(&r->retry, r->tries < 6 ? 0.1 * (1 << r->tries) : 5.0, 0);
	ev_timer_start(S.d->loop, &r->retry);
}

/* The txn of r was judged: res is its (possibly nested) txn result, or
 * NULL when an enclosing compare (the fence) failed. 1 when bound. */
static int
bind_judged(struct bindreq *r, const struct etcd_result *res)
{
	int ok = res && (res->succeeded || ours(res->nresponses ? &res->responses[0] : NULL, r->uid));

	if (ok) {
		metric_inc(S.m_binds);
		log_kv(LL_INFO, KV("pod", r->pod, "node", r->node), "bound pod to node");
	} else {
		/* The pod changed or a binding appeared since we read them: the
		 * watch brings the news; try again once the cache has it. */
		metric_inc(S.m_conflicts);
		log_kv(LL_DEBUG, KV("pod", r->pod, "node", r->node), "bind conflict; the pod is tried again");
		release(r, 0.2);
	}
	req_done(r);
	return ok;
}

static void
bind_cb(struct etcd_result *res, void *arg)
{
	struct bindreq *r = arg;

	if (S.dead) {
		req_free(r); /* cancelled at exit; everything else is gone */
		return;
	}
	if (res->err.code != ETCD_OK)
		bind_failed(r, &res->err);
	else
		bind_judged(r, res);
}

/* What binds r: the pod is as we read it and has no binding on the node. */
static void
bind_guard(struct etcd_txn *t, const struct bindreq *r)
{
	etcd_txn_cmp(t, r->pkey, ETCD_CMP_MOD, ETCD_CMP_EQUAL, r->podmod);
	etcd_txn_cmp(t, r->bkey, ETCD_CMP_CREATE, ETCD_CMP_EQUAL, 0);
	etcd_txn_put(t, ETCD_TXN_SUCCESS, r->bkey, r->value, strlen(r->value), 0);
	etcd_txn_get(t, ETCD_TXN_FAILURE, r->bkey, NULL);
}

/* Fenced: a scheduler that lost the election cannot bind. */
static void
bind_fence(struct etcd_txn *t)
{
	const char *lkey;
	int64_t lrev;

	if (S.elect && daemon_elect_fence(S.elect, &lkey, &lrev) == 1)
		etcd_txn_cmp(t, lkey, ETCD_CMP_CREATE, ETCD_CMP_EQUAL, lrev);
}

static void
bind_send(struct bindreq *r)
{
	struct etcd_txn *t = etcd_txn_new();
	struct etcd_error err;

	if (t) {
		bind_fence(t);
		bind_guard(t, r);
	}
	if (!t || etcd_txn_commit(S.d->etcd, t, bind_cb, r, &err) < 0) {
		log_kv(LL_ERROR, KV("pod", r->pod, "node", r->node), "cannot send bind: %s",
		       t ? err.msg : "out of memory");
		release(r, 1.0);
		req_done(r);
	}
}

/* ---- batched binds: one request, one nested txn per pod ---- */

struct batch {
	struct bindreq **v;
	size_t n;
};

static void
batch_cb(struct etcd_result *res, void *arg)
{
	struct batch *b = arg;
	struct etcd_error no_result = {.code = ETCD_EBADRESP};
	size_t nok = 0;

	snprintf(no_result.msg, sizeof(no_result.msg), "no result for this pod in a batched bind");
	for (size_t i = 0; i < b->n; i++) {
		struct bindreq *r = b->v[i];

		if (S.dead)
			req_free(r);
		else if (res->err.code != ETCD_OK)
			bind_failed(r, &res->err);
		else if (!res->succeeded) /* the fence failed: nothing was written */
			bind_judged(r, NULL);
		else if (i < res->nresponses && res->responses[i].op == ETCD_OP_TXN)
			nok += bind_judged(r, &res->responses[i]);
		else
			bind_failed(r, &no_result);
	}
	if (!S.dead && res->err.code == ETCD_OK)
		log_debug("batched bind of %zu pods: %zu bound, %zu conflicts", b->n, nok, b->n - nok);
	free(b->v);
	free(b);
}

/* Send v[0..n) in one request: an outer txn (the fence) whose success
 * branch holds one guarded txn per pod, so a pod that changed meanwhile
 * fails alone. Falls back to one txn each when that cannot be built. */
static void
batch_send(struct bindreq **v, size_t n)
{
	struct etcd_txn *t = etcd_txn_new();
	struct batch *b = calloc(1, sizeof(*b));
	struct etcd_error err;

	if (!t || !b || !(b->v = malloc(n * sizeof(*v))))
		goto single;
	memcpy(b->v, v, n * sizeof(*v));
	b->n = n;
	bind_fence(t);
	for (size_t i = 0; i < n; i++) {
		struct etcd_txn *in = etcd_txn_new();

		if (in)
			bind_guard(in, v[i]);
		if (etcd_txn_txn(t, ETCD_TXN_SUCCESS, in) < 0)
			goto single;
	}
	if (etcd_txn_commit(S.d->etcd, t, batch_cb, b, &err) == 0)
		return;
	t = NULL; /* consumed */
	log_kv(LL_WARN, KV("pods", "batch"), "cannot send a batched bind: %s; binding one by one", err.msg);
single:
	etcd_txn_free(t);
	if (b)
		free(b->v);
	free(b);
	for (size_t i = 0; i < n; i++)
		bind_send(v[i]);
}

/* Binds decided in this pass, sent together at its end. */
static struct bindreq **outbox;
static size_t outbox_n, outbox_cap;

/* Send what the pass decided: alone when there is one (no added latency),
 * else in batches of at most BIND_BATCH pods, as evenly as possible. */
static void
flush(void)
{
	size_t nb = (outbox_n + BIND_BATCH - 1) / BIND_BATCH, at = 0;

	for (size_t k = 0; k < nb; k++) {
		size_t len = (outbox_n - at) / (nb - k);

		if (len == 1)
			bind_send(outbox[at]);
		else
			batch_send(outbox + at, len);
		at += len;
	}
	outbox_n = 0;
}

static int
outbox_add(struct bindreq *r)
{
	struct bindreq **v;

	if (outbox_n == outbox_cap) {
		size_t cap = outbox_cap ? 2 * outbox_cap : 64;

		if (!(v = realloc(outbox, cap * sizeof(*v))))
			return -1;
		outbox = v;
		outbox_cap = cap;
	}
	outbox[outbox_n++] = r;
	return 0;
}

static int
bind(const struct informer_obj *po, struct sched_node *n)
{
	char bkey[API_KEY_MAX], pkey[API_KEY_MAX];
	struct sched_place *pl;
	struct bindreq *r;
	struct api_error e;

	if (!(r = calloc(1, sizeof(*r))) || !(r->pod = strdup(po->name)) || !(r->node = strdup(n->name)) ||
	    !(r->value = binding_value(n->name, po))) {
		if (r)
			req_free(r);
		log_kv(LL_ERROR, KV("pod", po->name), "out of memory binding; trying again later");
		return -1;
	}
	if (api_key_on_node(bkey, sizeof(bkey), S.prefix, API_BINDING, n->name, po->name, &e) < 0 ||
	    api_key_object(pkey, sizeof(pkey), S.prefix, API_POD, po->name, &e) < 0) {
		log_kv(LL_WARN, KV("pod", po->name, "node", n->name), "cannot build the binding key: %s", e.msg);
		req_free(r);
		return -1;
	}
	if (!(r->bkey = strdup(bkey)) || !(r->pkey = strdup(pkey))) {
		log_kv(LL_ERROR, KV("pod", po->name), "out of memory binding; trying again later");
		req_free(r);
		return -1;
	}
	r->podmod = po->mod_revision;
	r->uid = po->create_revision;
	r->retry.data = r;
	ev_timer_init(&r->retry, retry_cb, 0, 0);
	if (!(pl = sched_place_add(po->name, n->name, po->create_revision, po->obj, 1))) {
		req_free(r);
		return -1;
	}
	pl->bhash = fnv1a64(FNV64_BASIS, r->value, strlen(r->value)); /* what the watch will bring back */
	sched_pending_del(po->name);
	DL_APPEND(reqs, r);
	S.inflight++;
	if (outbox_add(r) < 0)
		bind_send(r);
	return 0;
}

/* ---- decisions ---- */

struct cands {
	struct sched_node **v;
	size_t n;
};

static void
unschedulable(struct sched_pending *w, const unsigned counts[SF_COUNT], size_t nnodes)
{
	char msg[512];

	sched_filter_summary(counts, nnodes, msg, sizeof(msg));
	w->state = SP_UNSCHED;
	w->gen = S.gen;
	metric_inc(S.m_unsched);
	log_kv(LL_WARN, KV("pod", w->pod),
	       "%s; the pod waits until a node changes, a node becomes ready or room "
	       "is freed",
	       msg);
	recorder_eventf(S.rec, "pods", w->pod, "Warning", "FailedScheduling", "%s", msg);
}

static void
schedule_one(struct sched_pending *w, const struct cands *c, struct sched_node **feas)
{
	const struct informer_obj *po = informer_get(S.pods, w->pod);
	struct sched_podreq req;
	struct sched_hostport *ports;
	struct sched_score best_s, s;
	struct sched_node *best = NULL;
	unsigned counts[SF_COUNT] = {0};
	struct sched_spread sp;
	size_t nf = 0, looked = 0, want = sched_nodes_to_find(c->n, S.score_pct);
	int max_same = 0;

	if (!po || !po->obj || sched_place_find(w->pod)) {
		sched_pending_del(w->pod);
		return;
	}
	if (sched_pod_req(po->obj, &req, &ports, &sp) < 0) {
		w->not_before = ev_now(S.d->loop) + 1.0;
		return;
	}
	sched_spread_apply(&sp);
	/* Look from where the last decision stopped until enough nodes fit
	 * (all of them when none does, for the reasons). */
	for (size_t k = 0; k < c->n && nf < want; k++) {
		struct sched_node *n = c->v[(S.next_start + k) % c->n];
		unsigned why;

		looked++;
		if ((why = sched_filter(&n->v, &req)) == 0) {
			feas[nf++] = n;
			if (n->v.same_owner > max_same)
				max_same = n->v.same_owner;
			continue;
		}
		for (unsigned b = 0; b < SF_COUNT; b++)
			counts[b] += (why >> b) & 1;
	}
	S.next_start = c->n ? (S.next_start + looked) % c->n : 0;
	if (nf == 0) {
		unschedulable(w, counts, c->n);
	} else {
		size_t i = S.rr++ % nf; /* ties go to the first seen: rotate the start */

		for (size_t j = 0; j < nf; j++, i = i + 1 == nf ? 0 : i + 1) {
			struct sched_node *n = feas[i];

			if (best && sched_score_spread(&n->v, &req, max_same) < best_s.spread)
				continue; /* cannot win: spread compares first */
			sched_score(&n->v, &req, max_same, &s);
			if (!best || sched_score_cmp(&s, &best_s) > 0) {
				best = n;
				best_s = s;
			}
		}
		if (bind(po, best) < 0) {
			w->not_before = ev_now(S.d->loop) + 1.0;
		}
	}
	sched_spread_reset(&sp);
	free(ports);
	sched_spread_free(&sp);
}

static int
by_age(const void *a, const void *b)
{
	const struct sched_pending *x = *(struct sched_pending *const *)a, *y = *(struct sched_pending *const *)b;

	if (x->create_rev != y->create_rev)
		return x->create_rev < y->create_rev ? -1 : 1;
	return strcmp(x->pod, y->pod);
}

static void
order_clear(void)
{
	for (size_t i = 0; i < S.order_n; i++)
		free(S.order[i]);
	free(S.order);
	S.order = NULL;
	S.order_n = S.order_at = 0;
}

/* Sort the pending pods worth trying, oldest first. O(n log n); done only
 * when the pending set or S.gen changed, not on every pass. */
static void
order_build(void)
{
	struct sched_pending *w, *tmp, **v;
	size_t k = 0, np = HASH_COUNT(S.pending);

	order_clear();
	S.order_dirty = 0;
	S.order_gen = S.gen;
	if (np == 0 || !(v = calloc(np, sizeof(*v))))
		return;
	HASH_ITER(hh, S.pending, w, tmp) {
		if (w->state != SP_UNSCHED || w->gen != S.gen)
			v[k++] = w;
	}
	qsort(v, k, sizeof(*v), by_age);
	if ((S.order = calloc(k + 1, sizeof(*S.order)))) {
		for (size_t i = 0; i < k; i++)
			if ((S.order[S.order_n] = strdup(v[i]->pod)))
				S.order_n++;
	}
	free(v);
}

/* One pass: take pending pods in order while binds may start. */
static void
pass(void)
{
	struct sched_node *n, *nt, **feas = NULL;
	struct cands c = {0};
	size_t nn = HASH_COUNT(S.nodetab);
	double now = ev_now(S.d->loop), next = 0;

	if (S.dead || !leading() || S.stopping || !controller_synced(S.ctl) || S.inflight >= S.max_inflight)
		return;
	if (S.order_dirty || S.order_gen != S.gen)
		order_build();
	if (S.order_at >= S.order_n)
		return;
	sched_nodes_judge(now); /* Ready exactly as of now */
	if (!(c.v = calloc(nn + 1, sizeof(*c.v))) || !(feas = calloc(nn + 1, sizeof(*feas))))
		goto out;
	HASH_ITER(hh, S.nodetab, n, nt) {
		if (n->has_key && n->node)
			c.v[c.n++] = n;
	}
	while (S.order_at < S.order_n && S.inflight < S.max_inflight) {
		char *name = S.order[S.order_at];
		struct sched_pending *w = sched_pending_find(name);

		S.order[S.order_at++] = NULL; /* taken: its memory serves what comes next */
		free(name);
		if (!w || (w->state == SP_UNSCHED && w->gen == S.gen))
			continue;
		if (w->not_before > now) {
			if (!next || w->not_before < next)
				next = w->not_before;
			continue;
		}
		schedule_one(w, &c, feas);
	}
	flush();
	if (next) {
		ev_timer_stop(S.d->loop, &S.later);
		ev_timer_set(&S.later, next - now + 0.001, 0);
		ev_timer_start(S.d->loop, &S.later);
	}
out:
	free(c.v);
	free(feas);
}

static void
kick_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)w;
	(void)revents;
	pass();
}

void
sched_kick(void)
{
	if (!S.dead && !ev_is_active(&S.kick))
		ev_timer_start(S.d->loop, &S.kick);
}

/* ---- upkeep of existing bindings ---- */

static void
upkeep_cb(struct etcd_result *res, void *arg)
{
	struct upkeep *u = arg;

	if (!S.dead) {
		if (res->err.code != ETCD_OK)
			log_kv(LL_WARN, KV("pod", u->pod), "binding upkeep failed: %s; retrying", res->err.msg);
		wq_done(S.q, u->pod, res->err.code == ETCD_OK ? WQ_OK : WQ_RETRY, 0);
		maybe_stop_done();
	}
	free(u->pod);
	free(u);
}

/* One guarded write on the binding key (and the pod key when pmod > 0). */
static void
upkeep_txn(const char *pod, const char *bkey, int64_t bmod, const char *pkey, int64_t pmod, const char *value)
{
	struct etcd_txn *t = etcd_txn_new();
	struct upkeep *u = calloc(1, sizeof(*u));
	struct etcd_error err;

	if (!t || !u || !(u->pod = strdup(pod))) {
		etcd_txn_free(t);
		free(u);
		wq_done(S.q, pod, WQ_RETRY, 0);
		return;
	}
	etcd_txn_cmp(t, bkey, ETCD_CMP_MOD, ETCD_CMP_EQUAL, bmod);
	if (pmod > 0)
		etcd_txn_cmp(t, pkey, ETCD_CMP_MOD, ETCD_CMP_EQUAL, pmod);
	if (value)
		etcd_txn_put(t, ETCD_TXN_SUCCESS, bkey, value, strlen(value), 0);
	else
		etcd_txn_delete(t, ETCD_TXN_SUCCESS, bkey, 0);
	if (etcd_txn_commit(S.d->etcd, t, upkeep_cb, u, &err) < 0) {
		log_kv(LL_WARN, KV("pod", pod), "binding upkeep failed: %s; retrying", err.msg);
		free(u->pod);
		free(u);
		wq_done(S.q, pod, WQ_RETRY, 0);
	}
}

unsigned
sched_refused(const struct sched_node *n, const struct sched_pod *pod)
{
	struct sched_podreq req;
	struct sched_hostport *ports;
	struct sched_spread sp;
	unsigned why;

	if (!n->v.policy || sched_pod_req(pod, &req, &ports, &sp) < 0)
		return 0;
	why = sched_filter_policy(n->v.policy, &req);
	free(ports);
	sched_spread_free(&sp);
	return why;
}

void
sched_upkeep(struct wq *q, const char *pod, void *arg)
{
	struct sched_place *pl = sched_place_find(pod);
	const struct informer_obj *bo, *po;
	char bname[API_SUBDOMAIN_MAX + API_LABEL_MAX + 2], bkey[API_KEY_MAX], pkey[API_KEY_MAX];
	struct api_error e;
	unsigned why;
	char *value;

	(void)arg;
	if (!pl || pl->assumed)
		goto done;
	snprintf(bname, sizeof(bname), "%s/%s", pl->node->name, pod);
	if (!(bo = informer_get(S.bindings, bname)) ||
	    api_key_on_node(bkey, sizeof(bkey), S.prefix, API_BINDING, pl->node->name, pod, &e) < 0 ||
	    api_key_object(pkey, sizeof(pkey), S.prefix, API_POD, pod, &e) < 0)
		goto done;
	po = informer_get(S.pods, pod);
	if (!po || pl->uid != po->create_revision) {
		log_kv(LL_INFO, KV("pod", pod, "node", pl->node->name), "%s; deleting its binding",
		       po ? "pod was replaced by a new incarnation" : "pod was deleted");
		metric_inc(S.m_unbind);
		upkeep_txn(pod, bkey, bo->mod_revision, NULL, 0, NULL);
		return;
	}
	if (po->obj && (why = sched_refused(pl->node, po->obj)) != 0) {
		log_kv(LL_INFO, KV("pod", pod, "node", pl->node->name),
		       "the node's agent does not allow this pod (%s); deleting its binding to place it again",
		       sched_filter_reason((unsigned)__builtin_ctz(why)));
		metric_inc(S.m_unbind);
		upkeep_txn(pod, bkey, bo->mod_revision, NULL, 0, NULL);
		return;
	}
	/* A binding is written (and refreshed) comparing the pod's mod
	 * revision, so a binding newer than the pod already holds its copy. */
	if (!po->obj || po->mod_revision < bo->mod_revision)
		goto done;
	if (!(value = binding_value(pl->node->name, po))) {
		wq_done(q, pod, WQ_RETRY, 0);
		return;
	}
	if (pl->bhash == fnv1a64(FNV64_BASIS, value, strlen(value))) {
		free(value);
		goto done;
	}
	log_kv(LL_INFO, KV("pod", pod, "node", pl->node->name), "pod changed; refreshing the copy in its binding");
	metric_inc(S.m_refresh);
	upkeep_txn(pod, bkey, bo->mod_revision, pkey, po->mod_revision, value);
	free(value);
	return;
done:
	wq_done(q, pod, WQ_OK, 0);
}

/* ---- life ---- */

/* Work in flight ended: a stop waiting for it may be over. */
static void
maybe_stop_done(void)
{
	if (S.stopping && S.ctl)
		controller_settled(S.ctl);
}

void
sched_stopping(void *arg)
{
	struct bindreq *r, *tmp;

	(void)arg;
	S.stopping = 1;
	ev_timer_stop(S.d->loop, &S.live);
	DL_FOREACH_SAFE(reqs, r, tmp) {
		if (ev_is_active(&r->retry)) { /* waiting to retry, not in flight */
			ev_timer_stop(S.d->loop, &r->retry);
			release(r, 0);
			req_done(r);
		}
	}
}

int
sched_busy(void *arg)
{
	(void)arg;
	return S.inflight;
}

static void
later_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	S.order_dirty = 1; /* pods whose back-off ended */
	kick_cb(loop, w, revents);
}

/* Heartbeats that stop are noticed by time, not by an event: judge the
 * nodes again twice a second; a node Ready again makes room. */
static void
live_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)w;
	(void)revents;
	if (sched_nodes_judge(ev_now(loop))) {
		S.gen++;
		sched_kick();
	}
}

void
sched_init_bind(void)
{
	ev_timer_init(&S.kick, kick_cb, 0, 0);
	ev_timer_init(&S.later, later_cb, 0, 0);
	ev_timer_init(&S.live, live_cb, 0.5, 0.5);
	ev_timer_start(S.d->loop, &S.live);
}

/* After daemon_run. Requests still in flight are freed by their callbacks
 * when the client is freed (S.dead). */
void
sched_bind_free(void)
{
	struct bindreq *r, *tmp;

	S.dead = 1;
	order_clear();
	free(outbox);
	outbox = NULL;
	outbox_n = outbox_cap = 0;
	ev_timer_stop(S.d->loop, &S.kick);
	ev_timer_stop(S.d->loop, &S.later);
	ev_timer_stop(S.d->loop, &S.live);
	DL_FOREACH_SAFE(reqs, r, tmp) {
		DL_DELETE(reqs, r);
		if (ev_is_active(&r->retry)) {
			ev_timer_stop(S.d->loop, &r->retry);
			req_free(r);
		}
	}
}
