/*
 * skiff-replication-controller: keeps spec.replicas pods for every
 * replication controller. Watches controllers, pods, bindings, pod status
 * and controller status; every change enqueues the controllers it
 * concerns; while this process leads, rc_reconcile (rc_sync.c) brings each
 * one up to date. Invalid controllers get a Warning event and a status
 * message and are otherwise left alone.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "elect.h"
#include "rc.h"

struct rc RC;

static long workers = 8;
static const struct flag rc_flags[] = {
	{"workers", FLAG_INT, &workers, "8", NULL, "controllers reconciled at once", "N", NULL},
	{0},
};

static const struct skiff_prog prog = {
	.name = "skiff-replication-controller",
	.summary = "Keeps the number of pods each replication controller asks for.",
	.health_addr = "",
	.elects = 1,
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

static void *
dec_pod(const char *name, const char *value, size_t len, void *arg)
{
	struct api_errors errs = {0};
	struct api_pod *p;

	(void)arg;
	if ((p = api_pod_parse(value, len, &errs)) && api_meta_check_name(&p->meta, name, &errs) < 0) {
		api_pod_free(p);
		p = NULL;
	}
	if (!p)
		log_kv(LL_DEBUG, KV("pod", name), "pod does not decode; not counting it for any controller");
	api_errors_clear(&errs);
	return p;
}

static void
free_pod(void *o)
{
	api_pod_free(o);
}

static void *
dec_status(const char *name, const char *value, size_t len, void *arg)
{
	struct api_errors errs = {0};
	void *st = api_pod_status_parse(value, len, &errs);

	(void)name;
	(void)arg;
	api_errors_clear(&errs);
	return st;
}

static void
free_status(void *o)
{
	api_pod_status_free(o);
}

/* ---- handlers: enqueue what a change concerns ---- */

int
rc_synced(void)
{
	return informer_synced(RC.controllers) && informer_synced(RC.pods) && informer_synced(RC.bindings) &&
	       informer_synced(RC.podstatus) && informer_synced(RC.cstatus);
}

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
	const struct api_pod *pod = arg;

	if (o->obj && api_controller_selects(o->obj, pod))
		wq_add(RC.q, o->name);
}

void
rc_enqueue_for_pod(struct rc *rc, const struct api_pod *pod)
{
	const struct api_owner_ref *own;

	if (!pod)
		return;
	own = api_meta_owner(&pod->meta, API_CONTROLLER_KIND);
	if (own && own->name && api_check_dns_label(own->name, NULL) == 0)
		wq_add(rc->q, own->name);
	else if (!own)
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
	rc_index_binding(&RC, o->name, 1);
	if (slash)
		enqueue_pod_named(slash + 1);
}

static void
binding_update(struct informer *inf, const struct informer_obj *old, const struct informer_obj *o, void *arg)
{
	(void)inf;
	(void)old;
	(void)o;
	(void)arg; /* still bound to the same node */
}

static void
binding_del(struct informer *inf, const struct informer_obj *o, void *arg)
{
	const char *slash = strchr(o->name, '/');

	(void)inf;
	(void)arg;
	rc_index_binding(&RC, o->name, 0);
	if (slash)
		enqueue_pod_named(slash + 1);
}

static void
status_add(struct informer *inf, const struct informer_obj *o, void *arg)
{
	const char *slash = strchr(o->name, '/');

	(void)inf;
	(void)arg;
	rc_index_status(&RC, o->name, o->obj, 1);
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
 * a new leader or a fresh cache must look at (controllers deleted while
 * nobody watched leave owned pods and a status behind). */
static void
enqueue_all(void)
{
	if (!rc_synced())
		return;
	informer_foreach(RC.controllers, enqueue_name_cb, NULL);
	informer_foreach(RC.cstatus, enqueue_name_cb, NULL);
	informer_foreach(RC.pods, enqueue_owner_cb, NULL);
}

static void
synced(struct informer *inf, void *arg)
{
	(void)inf;
	(void)arg;
	enqueue_all();
}

static void
watch_error(struct informer *inf, const struct etcd_error *err, void *arg)
{
	(void)arg;
	log_kv(LL_WARN, KV("prefix", informer_prefix(inf)), "%s", err->msg);
}

/* ---- leadership and stop ---- */

static void
lead(void *arg)
{
	(void)arg;
	RC.leading = 1;
	wq_resume(RC.q);
	enqueue_all();
}

static void
follow(void *arg)
{
	(void)arg;
	RC.leading = 0;
	wq_pause(RC.q);
}

void
rc_pass_ended(struct rc *rc)
{
	if (rc->passes == 0 && rc->stopping_hook) {
		rc->stopping_hook = 0;
		daemon_stop_done(rc->d);
	}
}

/* Let the writes in flight finish, so their callbacks never see freed state. */
static int
stop_hook(struct skiff_daemon *d, void *arg)
{
	(void)d;
	(void)arg;
	wq_pause(RC.q);
	if (RC.passes == 0)
		return DAEMON_DONE;
	RC.stopping_hook = 1;
	return DAEMON_PENDING;
}

static struct informer *
watch(const char *dir, informer_decode_fn dec, informer_free_fn fr, const struct informer_handlers *h)
{
	char prefix[API_PREFIX_MAX + 32];
	struct informer *inf;

	snprintf(prefix, sizeof(prefix), "%s/%s/", RC.prefix, dir);
	if (!(inf = informer_new(RC.d->etcd, prefix, dec, fr, h, NULL)))
		fatalx("out of memory");
	informer_start(inf);
	return inf;
}

static void
free_all(void)
{
	struct rc_state *st, *tmp;

	informer_free(RC.controllers);
	informer_free(RC.pods);
	informer_free(RC.bindings);
	informer_free(RC.podstatus);
	informer_free(RC.cstatus);
	wq_free(RC.q);
	RC.q = NULL;
	recorder_free(RC.rec);
	RC.rec = NULL;
	rc_index_free(&RC);
	HASH_ITER(hh, RC.states, st, tmp) {
		HASH_DEL(RC.states, st);
		free(st->name);
		free(st->invalid);
		free(st->reported);
		free(st->last_error);
		free(st);
	}
}

int
main(int argc, char **argv)
{
	static struct skiff_daemon d;
	static const struct informer_handlers h_ctl = {ctl_add, ctl_update, ctl_add, synced, watch_error};
	static const struct informer_handlers h_pod = {pod_add, pod_update, pod_add, synced, watch_error};
	static const struct informer_handlers h_bind = {binding_add, binding_update, binding_del, synced, watch_error};
	static const struct informer_handlers h_stat = {status_add, status_update, status_del, synced, watch_error};
	static const struct informer_handlers h_cst = {NULL, ctl_update, ctl_add, synced, watch_error};
	struct daemon_elect *el;
	int rc;

	daemon_init(&d, &prog, argc, argv);
	if (workers < 1 || workers > 1024) {
		log_errorx("--workers must be between 1 and 1024, got %ld", workers);
		daemon_free(&d);
		return 2;
	}
	RC.d = &d;
	RC.prefix = d.opts.prefix;
	if (!(RC.rec = recorder_new(d.etcd, RC.prefix, "replication-controller")) ||
	    !(RC.q = wq_new(d.loop, rc_reconcile, &RC, (int)workers)))
		fatalx("out of memory");
	wq_pause(RC.q);
	RC.m_creates =
		metrics_add(d.metrics, "skiff_replication_pod_creates_total", NULL, METRIC_COUNTER, "pods created");
	RC.m_deletes =
		metrics_add(d.metrics, "skiff_replication_pod_deletes_total", NULL, METRIC_COUNTER, "pods deleted");
	RC.m_status = metrics_add(d.metrics, "skiff_replication_status_writes_total", NULL, METRIC_COUNTER,
	                          "controller status writes");
	RC.m_failures = metrics_add(d.metrics, "skiff_replication_write_failures_total", NULL, METRIC_COUNTER,
	                            "writes that failed (not counting failed compares)");
	RC.cstatus = watch("controllerstatus", NULL, NULL, &h_cst);
	RC.podstatus = watch("podstatus", dec_status, free_status, &h_stat);
	RC.bindings = watch("bindings", NULL, NULL, &h_bind);
	RC.pods = watch("pods", dec_pod, free_pod, &h_pod);
	RC.controllers = watch("controllers", dec_controller, free_controller, &h_ctl);
	if (daemon_on_stop(&d, "replication passes", stop_hook, NULL) < 0)
		fatalx("out of memory");
	el = daemon_elect(&d, "replication-controller", lead, follow, NULL);
	log_info("watching replication controllers under %s/controllers/", RC.prefix);
	rc = daemon_run(&d);
	daemon_elect_free(el);
	free_all();
	daemon_free(&d);
	return rc;
}
