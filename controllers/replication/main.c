/*
 * skiff-replication-controller: keeps spec.replicas pods for every
 * replication controller. Watches controllers, pods, bindings, pod status
 * and controller status; every change enqueues the controllers it
 * concerns; while this process leads, rc_reconcile (rc_sync.c) brings each
 * one up to date. Invalid controllers get a Warning event and a status
 * message and are otherwise left alone. The informers, the queue,
 * leadership, resync and stop are runtime/controller.c's.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon_ctl.h"
#include "rc.h"

struct rc RC;

static long workers = 8, max_replicas = RC_MAX_REPLICAS;
FLAG_BOUNDS(check_workers, 1, 1024)
FLAG_BOUNDS(check_max_replicas, 1, INT32_MAX)
static const struct flag rc_flags[] = {
	{"workers", FLAG_INT, &workers, "8", NULL, "controllers reconciled at once (1..1024)", "N", check_workers},
	{"max-replicas", FLAG_INT, &max_replicas, "10000", NULL,
         "keep at most N pods for one controller; one asking for more gets a Warning event", "N", check_max_replicas},
	{0},
};

static const struct skiff_prog prog = {
	.name = "skiff-replication-controller",
	.summary = "Keeps the number of pods each replication controller asks for.",
	.health_addr = "",
	.elects = 1,
	.resyncs = 1,
	.flags = rc_flags,
};

struct rc_state *
rc_state_get(struct rc *rc, const char *name, int create)
{
	struct rc_state *st = NULL;

	HASH_FIND_STR(rc->states, name, st);
	if (st || !create)
		return st;
	if (!(st = calloc(1, sizeof(*st))) || !(st->name = strdup(name))) {
		free(st);
		return NULL;
	}
	HASH_ADD_KEYPTR(hh, rc->states, st->name, strlen(st->name), st);
	return st;
}

/* ---- decoding ---- */

static void *
dec_controller(const char *name, const char *value, size_t len, void *arg)
{
	struct api_errors errs = {0};
	struct api_controller *c = NULL;
	struct api_error e;
	struct rc_state *st;
	char *why = NULL;

	(void)arg;
	if (api_check_dns_label(name, &e) < 0)
		api_errors_add(&errs, "metadata.name", "%s", e.msg);
	else if ((c = api_controller_parse(value, len, &errs)) && api_meta_check_name(&c->meta, name, &errs) < 0) {
		api_controller_free(c);
		c = NULL;
	}
	st = rc_state_get(&RC, name, 1);
	if (st) {
		free(st->invalid);
		st->invalid = NULL;
	}
	if (!c) {
		why = api_errors_join(&errs, "; ");
		if (st)
			st->invalid = strdup(why ? why : "out of memory");
		log_kv(LL_WARN, KV("controller", name), "invalid controller, creating nothing for it: %s; fix the key",
		       why ? why : "out of memory");
		free(why);
	}
	api_errors_clear(&errs);
	return c;
}

static void
free_controller(void *o)
{
	api_controller_free(o);
}

/* Cached pods, statuses and bindings keep only what this controller
 * reads (after the whole value is checked): of a pod a struct rc_pod
 * (rc_sync.c, rc_enqueue_for_pod); of a status its uid, phase and
 * readiness (rc_index.c); of a binding its pod's uid. New pods are made
 * from the controller's template, never from a cached pod. */
static void *
dec_pod(const char *name, const char *value, size_t len, void *arg)
{
	struct api_errors errs = {0};
	struct api_pod *p;
	struct rc_pod *rp = NULL;

	(void)arg;
	if ((rp = rc_expect_take(&RC, name, value, len)))
		return rp; /* one of ours, as sent */
	if ((p = api_pod_parse(value, len, &errs)) && api_meta_check_name(&p->meta, name, &errs) == 0)
		rp = rc_pod_new(p);
	if (!rp)
		log_kv(LL_DEBUG, KV("pod", name), "pod does not decode; not counting it for any controller");
	api_pod_free(p);
	api_errors_clear(&errs);
	return rp;
}

static void *
dec_status(const char *name, const char *value, size_t len, void *arg)
{
	struct api_errors errs = {0};
	struct api_pod_status *st = api_pod_status_parse(value, len, &errs);

	(void)name;
	(void)arg;
	if (st)
		api_pod_status_slim(st, API_SLIM_STATUS_READY); /* out of memory: kept whole */
	api_errors_clear(&errs);
	return st;
}

static void
free_status(void *o)
{
	api_pod_status_free(o);
}

/* A binding is kept as its pod's uid (new). Bindings are the scheduler's;
 * one that does not decode binds no incarnation (it still counts as a
 * binding for scale-down). */
static void *
dec_binding(const char *name, const char *value, size_t len, void *arg)
{
	struct api_errors errs = {0};
	char *uid = api_binding_pod_uid(value, len, &errs);

	(void)name;
	(void)arg;
	api_errors_clear(&errs);
	return uid;
}

/* ---- handlers: enqueue what a change concerns ---- */

static void
ctl_add(struct informer *inf, const struct informer_obj *o, void *arg)
{
	(void)inf;
	(void)arg;
	wq_add(RC.q, o->name);
}

static void
ctl_update(struct informer *inf, const struct informer_obj *old, const struct informer_obj *o, void *arg)
{
	(void)old;
	ctl_add(inf, o, arg);
}

static void
enqueue_selecting(const struct informer_obj *o, void *arg)
{
	const struct rc_pod *pod = arg;
	const struct api_controller *ctl = o->obj;

	if (ctl && api_selector_matches(&ctl->spec.selector, &pod->labels))
		wq_add(RC.q, o->name);
}

void
rc_enqueue_for_pod(struct rc *rc, const struct rc_pod *pod)
{
	if (!pod)
		return;
	if (pod->owned && pod->owner && api_check_dns_label(pod->owner, NULL) == 0)
		wq_add(rc->q, pod->owner);
	else if (!pod->owned)
		informer_foreach(rc->controllers, enqueue_selecting, (void *)pod);
}

static void
pod_add(struct informer *inf, const struct informer_obj *o, void *arg)
{
	(void)inf;
	(void)arg;
	rc_enqueue_for_pod(&RC, o->obj);
}

static void
pod_update(struct informer *inf, const struct informer_obj *old, const struct informer_obj *o, void *arg)
{
	pod_add(inf, old, arg);
	pod_add(inf, o, arg);
}

static void
enqueue_pod_named(const char *pod)
{
	const struct informer_obj *o = informer_get(RC.pods, pod);

	if (o)
		rc_enqueue_for_pod(&RC, o->obj);
}

static void
binding_add(struct informer *inf, const struct informer_obj *o, void *arg)
{
	const char *slash = strchr(o->name, '/');

	(void)inf;
	(void)arg;
	rc_index_binding(&RC, o->name, o->obj, 1);
	if (slash)
		enqueue_pod_named(slash + 1);
}

static void
binding_update(struct informer *inf, const struct informer_obj *old, const struct informer_obj *o, void *arg)
{
	(void)old;
	binding_add(inf, o, arg); /* the same node; the copy of the pod refreshed */
}

static void
binding_del(struct informer *inf, const struct informer_obj *o, void *arg)
{
	const char *slash = strchr(o->name, '/');

	(void)inf;
	(void)arg;
	rc_index_binding(&RC, o->name, NULL, 0);
	if (slash)
		enqueue_pod_named(slash + 1);
}

static void
status_add(struct informer *inf, const struct informer_obj *o, void *arg)
{
	const char *slash = strchr(o->name, '/');
	const struct api_pod_status *st = o->obj;
	const char *bound;

	(void)inf;
	(void)arg;
	rc_index_status(&RC, o->name, st, 1);
	if (slash && st && (bound = rc_index_stranger(&RC, o->name, st->uid))) {
		log_kv(LL_WARN, KV("pod", slash + 1, "status", o->name),
		       "ignoring a status from a node the pod is not bound to");
		recorder_eventf(RC.rec, "pods", slash + 1, "Warning", "UntrustedStatus",
		                "status from node %.*s ignored: the pod is bound to node %s", (int)(slash - o->name),
		                o->name, bound);
	}
	if (slash)
		enqueue_pod_named(slash + 1);
}

static void
status_update(struct informer *inf, const struct informer_obj *old, const struct informer_obj *o, void *arg)
{
	(void)old;
	status_add(inf, o, arg);
}

static void
status_del(struct informer *inf, const struct informer_obj *o, void *arg)
{
	const char *slash = strchr(o->name, '/');

	(void)inf;
	(void)arg;
	rc_index_status(&RC, o->name, NULL, 0);
	if (slash)
		enqueue_pod_named(slash + 1);
}

static void
enqueue_name_cb(const struct informer_obj *o, void *arg)
{
	(void)arg;
	wq_add(RC.q, o->name);
}

static void
enqueue_owner_cb(const struct informer_obj *o, void *arg)
{
	(void)arg;
	rc_enqueue_for_pod(&RC, o->obj);
}

/* Every controller, every status of one, and every owner of a pod: what
 * a new leader, a fresh cache or a resync must look at (controllers
 * deleted while nobody watched leave owned pods and a status behind). */
static void
enqueue_all(struct controller *c, void *arg)
{
	(void)c;
	(void)arg;
	informer_foreach(RC.controllers, enqueue_name_cb, NULL);
	informer_foreach(RC.cstatus, enqueue_name_cb, NULL);
	informer_foreach(RC.pods, enqueue_owner_cb, NULL);
}

/* Writes in flight: a stop waits for them, so their callbacks never see
 * freed state. */
static int
busy(void *arg)
{
	(void)arg;
	return RC.passes;
}

static void
free_all(void)
{
	struct rc_state *st, *tmp;

	controller_free(RC.ctl);
	RC.ctl = NULL;
	RC.q = NULL;
	recorder_free(RC.rec);
	RC.rec = NULL;
	rc_index_free(&RC);
	rc_expect_free(&RC);
	HASH_ITER(hh, RC.states, st, tmp) {
		HASH_DEL(RC.states, st);
		free(st->name);
		free(st->invalid);
		free(st->reported);
		free(st->last_error);
		free(st);
	}
}

static void
metrics_init(struct metrics *m)
{
	RC.m_creates = metrics_add(m, "skiff_replication_pod_creates_total", NULL, METRIC_COUNTER, "pods created");
	RC.m_deletes = metrics_add(m, "skiff_replication_pod_deletes_total", NULL, METRIC_COUNTER, "pods deleted");
	RC.m_status = metrics_add(m, "skiff_replication_status_writes_total", NULL, METRIC_COUNTER,
	                          "controller status writes");
	RC.m_failures = metrics_add(m, "skiff_replication_write_failures_total", NULL, METRIC_COUNTER,
	                            "writes that failed (not counting failed compares)");
}

/* Started in this order: the controllers last, so that their first passes
 * find the other caches filled. */
static const struct controller_watch watches[] = {
	{"controllerstatus", NULL, NULL, {NULL, ctl_update, ctl_add, NULL, NULL}, 0, &RC.cstatus},
	{"podstatus", dec_status, free_status, {status_add, status_update, status_del, NULL, NULL}, 1, &RC.podstatus},
	{"bindings", dec_binding, free, {binding_add, binding_update, binding_del, NULL, NULL}, 1, &RC.bindings},
	{"pods", dec_pod, rc_pod_free, {pod_add, pod_update, pod_add, NULL, NULL}, 1, &RC.pods},
	{"controllers",
         dec_controller,
         free_controller,
         {ctl_add, ctl_update, ctl_add, NULL, NULL},
         0,
         &RC.controllers},
	{0},
};

int
main(int argc, char **argv)
{
	static struct skiff_daemon d;
	struct controller_config cfg = {
		.watches = watches,
		.reconcile = rc_reconcile,
		.enqueue_all = enqueue_all,
		.busy = busy,
		.arg = &RC,
	};
	int rc;

	daemon_init(&d, &prog, argc, argv);
	RC.d = &d;
	RC.prefix = d.opts.prefix;
	if (!(RC.rec = recorder_new(d.etcd, RC.prefix, "replication-controller")))
		fatalx("out of memory");
	metrics_init(d.metrics);
	cfg.workers = (int)workers;
	RC.max_replicas = (int)max_replicas;
	RC.ctl = daemon_controller(&d, &cfg);
	RC.q = controller_queue(RC.ctl);
	log_info("watching replication controllers under %s/controllers/", RC.prefix);
	rc = daemon_controller_run(&d, RC.ctl, "replication-controller", NULL);
	free_all();
	daemon_free(&d);
	return rc;
}
