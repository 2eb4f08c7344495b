/*
 * agent_pods.c: reconcile one pod (a work-queue name) against Docker: the
 * pass and its glue to the work queue, the per-pod memos and the status.
 *
 * A pass is a chain of asynchronous steps: list the pod's containers (our
 * skiff.node and skiff.pod labels), inspect each (not when the binding
 * is gone: the list's answer is all a stop reads; nor in a periodic pass
 * of a pod at rest, pass_steady), then plan
 * (agent_plan.c, pure) on the binding in the informer cache and that
 * snapshot. The plan's action is carried out by agent_exec.c; after an
 * action the pass lists again, so every decision is made on fresh state
 * (level-triggered, idempotent), except after a removal Docker confirmed:
 * the removed container leaves the snapshot and the pass plans again on
 * the rest (a stop: apps, then the sandbox, then the status, with no list
 * in between). When no action is left it writes the pod's status and
 * ends, asking to run again when a back-off expires. A pass never touches
 * containers without our node label, and leaves a pod whose binding does
 * not decode alone.
 */
#include <jansson.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent_config.h"
#include "agent_deadline.h"
#include "agent_drain.h"
#include "agent_evict.h"
#include "agent_exec.h"
#include "agent_probe.h"
#include "agent_volumes.h"
#include "tp.h"

#define MAX_STEPS 24

static void inspect_next(struct pass *p);

/* ---------------------------------------------------------------- memos */

static struct pod_memo *
memo_find(struct agent *a, const char *pod)
{
	struct pod_memo *m;

	for (m = a->memos; m; m = m->next)
		if (strcmp(m->name, pod) == 0)
			break;
	return m;
}

struct pod_memo *
pods_memo(struct agent *a, const char *pod, const char *uid)
{
	struct pod_memo *m = memo_find(a, pod);

	if (m && strcmp(m->uid, uid) != 0) {
		pods_memo_drop(a, pod);
		m = NULL;
	}
	if (!m) {
		m = calloc(1, sizeof(*m));
		if (!m)
			return NULL;
		m->name = strdup(pod);
		m->uid = strdup(uid);
		if (!m->name || !m->uid) {
			free(m->name);
			free(m->uid);
			free(m);
			return NULL;
		}
		m->next = a->memos;
		a->memos = m;
		status_memo_seed(a, m);
	}
	return m;
}

void
pods_memo_drop(struct agent *a, const char *pod)
{
	struct pod_memo **pp;

	for (pp = &a->memos; *pp; pp = &(*pp)->next) {
		if (strcmp((*pp)->name, pod) == 0) {
			struct pod_memo *m = *pp;

			*pp = m->next;
			plan_memo_free(m);
			return;
		}
	}
}

void
pods_free_memos(struct agent *a)
{
	while (a->memos) {
		struct pod_memo *m = a->memos;

		a->memos = m->next;
		plan_memo_free(m);
	}
	pods_img_free(a); /* and the passes' other memories */
	events_own_free(a);
}

/* ---------------------------------------------------------------- binding */

const struct api_binding *
pods_binding(struct agent *a, const char *pod, int *malformed)
{
	const struct informer_obj *o = a->bindings ? informer_get(a->bindings, pod) : NULL;

	*malformed = 0;
	if (!o)
		return NULL;
	if (!o->obj) {
		*malformed = 1;
		return NULL;
	}
	return o->obj;
}

/* ---------------------------------------------------------------- pass life */

static void
pass_reset_snaps(struct pass *p)
{
	size_t i;

	for (i = 0; i < p->n; i++)
		snap_clear(&p->s[i]);
	p->n = 0;
	p->ix = 0;
}

static void
pass_free(struct pass *p)
{
	pass_reset_snaps(p);
	free(p->s);
	free(p->img);
	free(p->victim_id);
	free(p->start_id);
	free(p->failed_start);
	free(p->probes);
	free(p);
}

static void
pass_unlink(struct pass *p)
{
	struct pass **pp;

	for (pp = &p->a->passes; *pp; pp = &(*pp)->next) {
		if (*pp == p) {
			*pp = p->next;
			return;
		}
	}
}

/* After a burst of passes (start-up, a full resync, many bindings) the
 * freed Docker and etcd answers leave free pages all over the heap, which
 * glibc keeps resident, and curl handles kept for reuse (about 32 kB each:
 * its receive buffer and state); give them back once the queue has
 * drained. Costs one walk of the heap and a few handles made again each
 * time the queue drains: once per burst, and once per periodic pass, which
 * come one at a time (small beside the pass's own list and inspects). */
static void
trim_if_idle(struct agent *a)
{
	if (a->passes || wq_len(a->q) != 0 || wq_inflight(a->q) != 0)
		return;
	dk_trim(a->dk);
	etcd_client_trim(a->d->etcd);
	if (a->prober)
		tp_trim(a->prober->tp);
	malloc_trim(0);
}

/* A bound pod is reconciled again --resync-interval after its last pass,
 * plus up to a quarter of it at random, as kubelet's pod workers: the
 * periodic passes of a node's pods are spread out, not all at one tick,
 * and a pod just started is not looked at again at once. An earlier
 * requeue (a back-off, a probe, an event) comes first; the queue keeps
 * the earliest. */
static void
periodic_pass(struct agent *a, const char *pod)
{
	int mal;
	double iv = (double)a->o.resync_ms / 1000.0;

	if (iv > 0 && pods_binding(a, pod, &mal) && !mal)
		wq_add_after(a->q, pod, iv * (1.0 + 0.25 * ((double)rand() / ((double)RAND_MAX + 1.0))));
}

void
pass_finish(struct pass *p, enum wq_result r)
{
	struct agent *a = p->a;
	char pod[sizeof(p->pod)];
	double after = p->requeue;
	struct pod_memo *m = memo_find(a, p->pod);

	if (m)
		m->quiet_rev = r == WQ_OK && after <= 0 ? p->status_rev : 0;
	memcpy(pod, p->pod, sizeof(pod));
	pass_unlink(p);
	pass_free(p);
	if (r == WQ_OK && after > 0)
		wq_done(a->q, pod, WQ_REQUEUE_AFTER, after);
	else
		wq_done(a->q, pod, r, 0);
	if (r == WQ_OK && !a->stopping)
		periodic_pass(a, pod);
	trim_if_idle(a);
}

void
pass_fail(struct pass *p, const char *what, const char *msg)
{
	log_kv(LL_WARN, KV("pod", p->pod, "node", p->a->o.node_name), "%s: %s; will retry with back-off", what, msg);
	pass_finish(p, WQ_RETRY);
}

void
pods_sandbox_retry(struct agent *a)
{
	for (struct pod_memo *m = a->memos; m; m = m->next)
		if (m->sandbox_err[0]) {
			m->sandbox_retry_at = 0;
			wq_add(a->q, m->name);
		}
}

void
pass_requeue(struct pass *p, double after)
{
	if (after < 0.05)
		after = 0.05;
	if (p->requeue <= 0 || after < p->requeue)
		p->requeue = after;
}

/* A pass is sequential: one Docker call at a time (agent_deadline.h's bound
 * per pod). A second one while the first is open would be a bug here: it
 * is logged and the first one dropped, so the bound holds. */
int
pass_call(struct pass *p, const char *method, const char *path, const char *body, long timeout_ms, dk_done_fn done)
{
	if (p->req) {
		log_kv(LL_ERROR, KV("pod", p->pod),
		       "bug: a second Docker call (%s %s) while one is open; dropping the first", method, path);
		dk_cancel(p->req);
	}
	p->req = dk_call(p->a->dk, &(struct dk_call_opts){.method = method,
	                                                  .path = path,
	                                                  .body = body,
	                                                  .len = body ? strlen(body) : 0,
	                                                  .timeout_ms = timeout_ms,
	                                                  .done = done,
	                                                  .arg = p});
	if (!p->req) {
		pass_fail(p, "docker request", "out of memory");
		return -1;
	}
	return 0;
}

/* ---------------------------------------------------------------- list + inspect */

static void
inspect_done(struct dk_resp *r, void *arg)
{
	struct pass *p = arg;

	p->req = NULL;
	if (r->status == 200)
		snap_from_inspect(&p->s[p->ix], r->body, r->len, p->a->o.docker_network, p->a->host_ip);
	else if (r->status != 404) {
		char m[256];

		pass_fail(p, "inspect container", dk_errmsg(r, m, sizeof(m)));
		return;
	}
	p->ix++;
	inspect_next(p);
}

static void
inspect_next(struct pass *p)
{
	char path[256];

	if (p->ix >= p->n) {
		pass_decide(p);
		return;
	}
	snprintf(path, sizeof(path), "/containers/%s/json", p->s[p->ix].id);
	pass_call(p, "GET", path, NULL, deadline_ms(DEADLINE_INSPECT_MS), inspect_done);
}

/* Append s (its contents now owned by p): 0, or -1 (s cleared) when out
 * of memory. */
static int
pass_add_snap(struct pass *p, struct snap *s)
{
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 8;
		struct snap *ns = realloc(p->s, cap * sizeof(*ns));

		if (!ns) {
			snap_clear(s);
			return -1;
		}
		p->s = ns;
		p->cap = cap;
	}
	p->s[p->n++] = *s;
	return 0;
}

/* A pod whose binding is gone is only stopped, and no status is written
 * on the way: its plan reads, of each container, the labels, the State
 * (running: stopped with the grace period; else removed) and the
 * sandbox's IP (the drain gate, the probes), all in the list's answer:
 * the IP there (NetworkSettings.Networks), or else the podIP of the
 * status the agent wrote, which outlives the containers. So no container
 * is inspected (each inspect waits on the container's lock in Docker,
 * behind the stops). A pod still bound, or being deleted with its
 * Terminating status to write (exit codes, times), is inspected. 1 when
 * the list is enough. */
static int
pass_list_enough(struct pass *p)
{
	int mal;
	char ip[64];

	if (pods_binding(p->a, p->pod, &mal) || mal)
		return mal; /* a malformed one is left alone: nothing to inspect */
	pods_status_ip(p->a, p->pod, ip, sizeof(ip));
	for (size_t i = 0; ip[0] && i < p->n; i++)
		if (p->s[i].running && !p->s[i].ip && strcmp(p->s[i].ctr, INFRA_NAME) == 0)
			p->s[i].ip = strdup(ip); /* NULL when out of memory: no gate, as before */
	return 1;
}

/* A periodic pass of a quiet pod (p->steady_rev) that is bound and not
 * being deleted inspects nothing when its status is still the one the
 * pass before left (same mod revision: planned from inspected containers,
 * touched by nobody since) and vouches for every container the list found
 * (plan_status_started): a node at rest costs one list per pod a minute,
 * not also an inspect per container. Whatever else brings a pass (a
 * Docker event, the binding, a probe, a back-off) inspects, and so does a
 * pass that lists again after acting. 1 when the snapshots are complete. */
static int
pass_steady(struct pass *p)
{
	int mal, ok;
	const struct api_binding *b = p->steady_rev ? pods_binding(p->a, p->pod, &mal) : NULL;
	const struct informer_obj *o =
		b && !b->pod.meta.deletion_grace_p1 && p->a->statuses ? informer_get(p->a->statuses, p->pod) : NULL;
	struct api_errors errs = {0};
	struct api_pod_status *st =
		o && o->mod_revision == p->steady_rev ? api_pod_status_parse(o->value, o->value_len, &errs) : NULL;

	ok = st && plan_status_started(p->s, p->n, st);
	api_pod_status_free(st);
	api_errors_clear(&errs);
	p->steady_rev = 0;
	return ok;
}

static void
list_done(struct dk_resp *r, void *arg)
{
	struct pass *p = arg;
	json_t *j, *it;
	size_t i;
	char m[256];

	p->req = NULL;
	if (r->status != 200) {
		pass_fail(p, "list containers", dk_errmsg(r, m, sizeof(m)));
		return;
	}
	j = json_loadb(r->body, r->len, 0, NULL);
	if (!json_is_array(j)) {
		json_decref(j);
		pass_fail(p, "list containers", "not a JSON array");
		return;
	}
	json_array_foreach(j, i, it) {
		struct snap s;

		if (snap_from_list(&s, it) < 0)
			continue;
		snap_ip(&s, it, p->a->o.docker_network, p->a->host_ip);
		if (pass_add_snap(p, &s) < 0)
			break;
	}
	json_decref(j);
	p->ix = 0;
	if (pass_list_enough(p) || pass_steady(p))
		pass_decide(p);
	else
		inspect_next(p);
}

/* Lists the pod's containers, then inspects each, then plans. */
static void
pass_list(struct pass *p)
{
	char f[512], enc[1024], path[1200];

	if (++p->steps > MAX_STEPS) {
		pass_fail(p, "reconcile", "too many steps in one pass");
		return;
	}
	pass_reset_snaps(p);
	snprintf(f, sizeof(f), "{\"label\":[\"%s=%s\",\"%s=%s\"]}", LBL_NODE, p->a->o.node_name, LBL_POD, p->pod);
	snprintf(path, sizeof(path), "/containers/json?all=1&filters=%s", dk_escape(f, enc, sizeof(enc)));
	pass_call(p, "GET", path, NULL, deadline_ms(DEADLINE_LIST_MS), list_done);
}

void
pass_removed(struct pass *p, const char *id)
{
	for (size_t i = 0; id && i < p->n; i++) {
		if (!p->s[i].id || strcmp(p->s[i].id, id) != 0)
			continue;
		snap_clear(&p->s[i]);
		memmove(&p->s[i], &p->s[i + 1], (p->n - i - 1) * sizeof(*p->s));
		p->n--;
		pass_decide(p);
		return;
	}
	pass_relist(p);
}

/* A snapshot from an inspect answer alone (its Id, Config.Labels and
 * Config.Image stand in for the list's item): 0, or -1. */
static int
snap_from_inspect_only(struct pass *p, struct snap *s, const struct dk_resp *r)
{
	json_t *j = json_loadb(r->body, r->len, 0, NULL), *cfg = json_object_get(j, "Config");
	json_t *item = json_pack("{s:O?,s:O?,s:O?,s:O?}", "Id", json_object_get(j, "Id"), "Labels",
	                         json_object_get(cfg, "Labels"), "Image", json_object_get(cfg, "Image"), "State",
	                         json_object_get(json_object_get(j, "State"), "Status"));
	int rc = item ? snap_from_list(s, item) : -1;

	json_decref(item);
	json_decref(j);
	if (rc == 0 && snap_from_inspect(s, r->body, r->len, p->a->o.docker_network, p->a->host_ip) < 0) {
		snap_clear(s);
		rc = -1;
	}
	return rc;
}

/* The inspect of the container the pass started: its snapshot replaced
 * (or added: made in this pass), then the plan made again. Anything else
 * than a usable answer lists again. */
static void
started_done(struct dk_resp *r, void *arg)
{
	struct pass *p = arg;
	struct snap s;
	size_t i;

	p->req = NULL;
	if (r->status != 200 || snap_from_inspect_only(p, &s, r) < 0) {
		pass_relist(p);
		return;
	}
	for (i = 0; i < p->n; i++)
		if (p->s[i].id && strcmp(p->s[i].id, s.id) == 0)
			break;
	if (i < p->n) {
		snap_clear(&p->s[i]);
		p->s[i] = s;
	} else if (pass_add_snap(p, &s) < 0) {
		pass_fail(p, "reconcile", "out of memory");
		return;
	}
	pass_decide(p);
}

void
pass_started(struct pass *p, const char *id)
{
	char path[256];

	if (++p->steps > MAX_STEPS) {
		pass_fail(p, "reconcile", "too many steps in one pass");
		return;
	}
	snprintf(path, sizeof(path), "/containers/%s/json", id);
	pass_call(p, "GET", path, NULL, deadline_ms(DEADLINE_INSPECT_MS), started_done);
}

void
pass_relist(struct pass *p)
{
	p->ix = 0;
	pass_list(p);
}

void
pods_process(struct wq *q, const char *name, void *arg)
{
	struct agent *a = arg;
	struct pass *p;
	struct pod_memo *m;

	if (a->stopping || strlen(name) >= sizeof(p->pod)) {
		wq_done(q, name, WQ_OK, 0);
		return;
	}
	p = calloc(1, sizeof(*p));
	if (!p) {
		wq_done(q, name, WQ_RETRY, 0);
		return;
	}
	p->a = a;
	snprintf(p->pod, sizeof(p->pod), "%s", name);
	m = wq_by_timer(q) ? memo_find(a, name) : NULL;
	p->steady_rev = m ? m->quiet_rev : 0;
	p->next = a->passes;
	a->passes = p;
	metric_inc(a->m_passes);
	pass_relist(p);
}

static void
status_done(void *arg, int ok, int64_t rev)
{
	struct pass *p = arg;

	p->etcd_busy = 0;
	p->status_rev = rev;
	if (p->orphan) {
		p->a->orphans--;
		pass_free(p);
		return;
	}
	if (!ok)
		pass_requeue(p, 0.5);
	if (p->sandbox_failed) {
		pass_finish(p, WQ_RETRY);
		return;
	}
	log_kv(LL_DEBUG, KV("pod", p->pod), "reconciled");
	pass_finish(p, WQ_OK);
}

static void
delete_done(void *arg, int ok, int64_t rev)
{
	struct pass *p = arg;

	(void)rev;
	p->etcd_busy = 0;
	if (p->orphan) {
		p->a->orphans--;
		pass_free(p);
		return;
	}
	if (ok) {
		log_kv(LL_INFO, KV("pod", p->pod), "pod gone: containers removed, status deleted");
		pods_memo_drop(p->a, p->pod);
		lastpod_drop(p->a, p->pod);
		prober_drop_pod(p->a->prober, p->pod);
		vol_sweep(p->a);
	} else {
		pass_requeue(p, 0.5);
	}
	pass_finish(p, WQ_OK);
}

/* ---------------------------------------------------------------- plan */

/* The pass's image knowledge sized for n spec containers (reset when the
 * spec's size changed). 0 or -1. */
static int
pass_img(struct pass *p, size_t n)
{
	if (p->n_img == n && p->img)
		return 0;
	free(p->img);
	p->img = calloc(n ? n : 1, 1);
	p->n_img = n;
	return p->img ? 0 : -1;
}

/* The Ready condition's lastTransitionTime in the status written last
 * (the informer's raw value), while it was Ready; "" otherwise. */
static void
pass_ready_since(struct pass *p)
{
	const struct informer_obj *o = p->a->statuses ? informer_get(p->a->statuses, p->pod) : NULL;
	struct api_errors errs = {0};
	struct api_pod_status *st = o ? api_pod_status_parse(o->value, o->value_len, &errs) : NULL;
	const char *t = st ? api_pod_status_ready_since(st) : NULL;

	snprintf(p->ready_since, sizeof(p->ready_since), "%s", t ? t : "");
	api_pod_status_free(st);
	api_errors_clear(&errs);
}

/* The running sandbox of the pod among the pass's snapshots, or NULL. */
static const struct snap *
pass_infra(const struct pass *p)
{
	for (size_t i = 0; i < p->n; i++)
		if (p->s[i].running && p->s[i].ctr && strcmp(p->s[i].ctr, INFRA_NAME) == 0)
			return &p->s[i];
	return NULL;
}

/* The prober's side of the plan's input: the probes of the current
 * containers, the pod as last bound (copied when its binding went), the Ready time. */
static void
plan_input_probes(struct pass *p, const struct api_binding *b, struct plan_in *in)
{
	struct agent *a = p->a;
	const struct api_pod *spec;

	in->last_pod = b ? NULL : lastpod_get(a, p->pod);
	spec = b ? &b->pod : in->last_pod;
	free(p->probes);
	p->probes = spec ? calloc(api_spec_n_all(&spec->spec) + 1, sizeof(*p->probes)) : NULL;
	if (p->probes && a->prober && prober_sync(a->prober, p->pod, spec, p->s, p->n, pass_infra(p), p->probes) == 0)
		in->probes = p->probes;
	if (!spec)
		prober_drop_pod(a->prober, p->pod);
	pass_ready_since(p);
	in->ready_since = p->ready_since[0] ? p->ready_since : NULL;
	/* A pod being stopped waits until no proxy sends it new connections. */
	if (!b || b->pod.meta.deletion_grace_p1 > 0) {
		const struct snap *infra = pass_infra(p);

		in->draining = infra && infra->ip ? drain_busy(a->drain, infra->ip) : 0;
	}
}

void
pods_status_ip(struct agent *a, const char *pod, char *buf, size_t len)
{
	const struct informer_obj *o = informer_get(a->statuses, pod);
	json_t *j = o ? json_loadb(o->value, o->value_len, 0, NULL) : NULL;
	const char *ip = json_string_value(json_object_get(j, "podIP"));

	snprintf(buf, len, "%s", ip ? ip : "");
	json_decref(j);
}

struct kick {
	struct agent *a;
	const char *ip;
};

static void
kick_one(const struct informer_obj *o, void *arg)
{
	struct kick *k = arg;
	char ip[64];

	pods_status_ip(k->a, o->name, ip, sizeof(ip));
	if (strcmp(ip, k->ip) == 0)
		wq_add(k->a->q, o->name);
}

void
pods_drain_kick(void *arg, const char *pod_ip)
{
	struct kick k = {arg, pod_ip};

	informer_foreach(k.a->statuses, kick_one, &k);
}

static void
plan_input(struct pass *p, const struct api_binding *b, struct plan_in *in)
{
	struct agent *a = p->a;

	memset(in, 0, sizeof(*in));
	in->binding = b;
	in->s = p->s;
	in->n = p->n;
	plan_input_probes(p, b, in);
	in->memo = b              ? pods_memo(a, p->pod, b->pod.meta.uid)
	           : in->last_pod ? pods_memo(a, p->pod, in->last_pod->meta.uid)
	                          : NULL;
	in->now = agent_now(a);
	plan_wall_now(in);
	in->network = a->o.docker_network;
	in->backoff_base_ms = a->o.backoff_base_ms;
	in->backoff_max_ms = a->o.backoff_max_ms;
	in->pause_ready = a->pause_ready;
	in->img = b ? p->img : NULL;
	in->failed_start = p->failed_start;
	in->start_err = p->start_err;
	in->host_port_lo = a->o.host_port_lo;
	in->host_port_hi = a->o.host_port_hi;
	in->allow_privileged = a->o.allow_privileged;
	/* configMap and secret files kept up to date; a failure waits in create_app */
	if (b && agent_config_volumes(a, &b->pod, p->vol_msg, sizeof(p->vol_msg)) < 0)
		log_kv(LL_DEBUG, KV("pod", p->pod), "config volumes: %s", p->vol_msg);
	if (b && vol_judge(a, &b->pod, &in->vol_reason, &in->vol_container, p->vol_msg, sizeof(p->vol_msg)))
		in->vol_message = p->vol_msg;
	if (b && !in->vol_reason) /* an emptyDir over its sizeLimit: refused as Evicted */
		evict_reason(a, &b->pod, &in->vol_reason, &in->vol_container, &in->vol_message);
}

/* Write the plan's status rows; the pass ends in status_done. Without a
 * binding (a stop waiting at the drain gate) there is no status to write:
 * the pass ends, to look again when the plan said. */
static void
pass_status(struct pass *p, const struct api_binding *b, const struct plan_out *o)
{
	if (!b) {
		pass_finish(p, WQ_OK);
		return;
	}
	p->etcd_busy = 1;
	p->sandbox_failed = o->retry;
	status_write(p->a, p->pod, &b->pod, o, status_done, p);
}

void
pass_decide(struct pass *p)
{
	int mal;
	const struct api_binding *b = pods_binding(p->a, p->pod, &mal);
	struct plan_in in;
	struct plan_out out;
	size_t i;

	if (mal) {
		pass_finish(p, WQ_OK); /* reported when it arrived; leave its containers alone */
		return;
	}
	if (b && pass_img(p, api_spec_n_all(&b->pod.spec)) < 0) {
		pass_fail(p, "reconcile", "out of memory");
		return;
	}
	if (b)
		pods_img_known(p->a, &b->pod, p->img, p->n_img);
	plan_input(p, b, &in);
	if (plan(&in, &out) < 0) {
		plan_out_clear(&out);
		pass_fail(p, "reconcile", "out of memory");
		return;
	}
	for (i = 0; i < out.n_events; i++)
		exec_event(p, &out.events[i]);
	if (out.requeue > 0)
		pass_requeue(p, out.requeue);
	if (out.act == PLAN_STATUS)
		pass_status(p, b, &out);
	else if (out.act == PLAN_DELETE_STATUS) {
		char ip[64];

		pods_status_ip(p->a, p->pod, ip, sizeof(ip));
		if (ip[0])
			drain_forget(p->a->drain, ip);
		p->etcd_busy = 1;
		events_own_status(p->a, p->pod);
		status_delete(p->a, p->pod, delete_done, p);
	} else
		exec_action(p, b, &out);
	plan_out_clear(&out); /* p may have ended: out's arrays are its own */
}

/* ---------------------------------------------------------------- stop */

void
pods_stop(struct agent *a)
{
	while (a->passes) {
		struct pass *p = a->passes;

		a->passes = p->next;
		if (p->req)
			dk_cancel(p->req);
		p->req = NULL;
		if (p->etcd_busy) {
			p->orphan = 1; /* its etcd callback frees it */
			a->orphans++;
		} else
			pass_free(p);
	}
}
