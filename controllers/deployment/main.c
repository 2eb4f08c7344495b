/*
 * skiff-deployment-controller: rolls Deployments (P/deployments/NAME)
 * through replication controllers it owns, one per pod template. Watches
 * deployments, replication controllers, their statuses and the deployment
 * statuses; every change enqueues the deployment it concerns (a
 * controller's change: its owner's); while this process leads,
 * dc_reconcile (dc_sync.c) takes the next step. It does not watch pods:
 * the replication controllers' statuses say how many are ready and
 * available. The informers, the queue, leadership, resync and stop are
 * runtime/controller.c's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon_ctl.h"
#include "dc.h"

static struct dc DC;

static long workers = 4;
FLAG_BOUNDS(check_workers, 1, 1024)
static const struct flag dc_flags[] = {
	{"workers", FLAG_INT, &workers, "4", NULL, "deployments reconciled at once (1..1024)", "N", check_workers},
	{0},
};

static const struct skiff_prog prog = {
	.name = "skiff-deployment-controller",
	.summary = "Rolls Deployments through the replication controllers it owns.",
	.health_addr = "",
	.elects = 1,
	.resyncs = 1,
	.flags = dc_flags,
};

/* ---- decoding ---- */

static void *
dec_deployment(const char *name, const char *value, size_t len, void *arg)
{
	struct api_errors errs = {0};
	struct api_deployment *d = NULL;
	struct api_error e;
	char *why;

	(void)arg;
	if (api_check_dns_label(name, &e) < 0)
		api_errors_add(&errs, "metadata.name", "%s", e.msg);
	else if (strlen(name) > API_DEPLOYMENT_NAME_MAX)
		api_errors_add(&errs, "metadata.name", "must be no more than %d characters", API_DEPLOYMENT_NAME_MAX);
	else if ((d = api_deployment_parse(value, len, &errs)) && api_meta_check_name(&d->meta, name, &errs) < 0) {
		api_deployment_free(d);
		d = NULL;
	}
	if (!d) {
		why = api_errors_join(&errs, "; ");
		log_kv(LL_WARN, KV("deployment", name), "invalid deployment, rolling nothing for it: %s; fix the key",
		       why ? why : "out of memory");
		free(why);
	}
	api_errors_clear(&errs);
	return d;
}

static void
free_deployment(void *o)
{
	api_deployment_free(o);
}

/* Controllers and statuses are others' to report on: decoded quietly,
 * NULL when invalid. */
static void *
dec_quiet(enum api_kind k, const char *value, size_t len)
{
	struct api_errors errs = {0};
	void *o = api_parse(k, value, len, &errs);

	api_errors_clear(&errs);
	return o;
}

static void *
dec_controller(const char *name, const char *value, size_t len, void *arg)
{
	(void)name;
	(void)arg;
	return dec_quiet(API_CONTROLLER, value, len);
}

static void *
dec_cstatus(const char *name, const char *value, size_t len, void *arg)
{
	(void)name;
	(void)arg;
	return dec_quiet(API_CONTROLLERSTATUS, value, len);
}

static void *
dec_dstatus(const char *name, const char *value, size_t len, void *arg)
{
	(void)name;
	(void)arg;
	return dec_quiet(API_DEPLOYMENTSTATUS, value, len);
}

static void
free_controller(void *o)
{
	api_free(API_CONTROLLER, o);
}

static void
free_cstatus(void *o)
{
	api_free(API_CONTROLLERSTATUS, o);
}

static void
free_dstatus(void *o)
{
	api_free(API_DEPLOYMENTSTATUS, o);
}

/* ---- handlers: enqueue the deployment a change concerns ---- */

static void
by_name(struct informer *inf, const struct informer_obj *o, void *arg)
{
	(void)inf;
	(void)arg;
	wq_add(DC.q, o->name);
}

static void
by_name_upd(struct informer *inf, const struct informer_obj *old, const struct informer_obj *o, void *arg)
{
	(void)old;
	by_name(inf, o, arg);
}

/* The deployment owning a controller (its obj), if any. */
static void
enqueue_owner(const struct api_controller *rc)
{
	const struct api_owner_ref *own = rc ? api_meta_owner(&rc->meta, API_DEPLOYMENT_KIND) : NULL;

	if (own && own->name && api_check_dns_label(own->name, NULL) == 0)
		wq_add(DC.q, own->name);
}

static void
rc_changed(struct informer *inf, const struct informer_obj *o, void *arg)
{
	(void)inf;
	(void)arg;
	enqueue_owner(o->obj);
}

static void
rc_updated(struct informer *inf, const struct informer_obj *old, const struct informer_obj *o, void *arg)
{
	rc_changed(inf, old, arg);
	rc_changed(inf, o, arg);
}

static void
cstatus_changed(struct informer *inf, const struct informer_obj *o, void *arg)
{
	const struct informer_obj *rc = informer_get(DC.controllers, o->name);

	(void)inf;
	(void)arg;
	if (rc)
		enqueue_owner(rc->obj);
}

static void
cstatus_updated(struct informer *inf, const struct informer_obj *old, const struct informer_obj *o, void *arg)
{
	(void)old;
	cstatus_changed(inf, o, arg);
}

static void
enqueue_name_cb(const struct informer_obj *o, void *arg)
{
	(void)arg;
	wq_add(DC.q, o->name);
}

static void
enqueue_owner_cb(const struct informer_obj *o, void *arg)
{
	(void)arg;
	enqueue_owner(o->obj);
}

/* Every deployment, every status (of deployments perhaps gone) and every
 * owner of a controller (deleted while nobody watched). */
static void
enqueue_all(struct controller *c, void *arg)
{
	(void)c;
	(void)arg;
	informer_foreach(DC.deployments, enqueue_name_cb, NULL);
	informer_foreach(DC.dstatus, enqueue_name_cb, NULL);
	informer_foreach(DC.controllers, enqueue_owner_cb, NULL);
}

/* Started in this order: the deployments last, so that their first
 * passes find the other caches filled. */
static const struct controller_watch watches[] = {
	{"deploymentstatus", dec_dstatus, free_dstatus, {by_name, by_name_upd, by_name, NULL, NULL}, 0, &DC.dstatus},
	{"controllerstatus",
         dec_cstatus,
         free_cstatus,
         {cstatus_changed, cstatus_updated, cstatus_changed, NULL, NULL},
         1,
         &DC.cstatus},
	{"controllers",
         dec_controller,
         free_controller,
         {rc_changed, rc_updated, rc_changed, NULL, NULL},
         0,
         &DC.controllers},
	{"deployments",
         dec_deployment,
         free_deployment,
         {by_name, by_name_upd, by_name, NULL, NULL},
         0,
         &DC.deployments},
	{0},
};

static void
metrics_init(struct metrics *m)
{
	DC.m_scales =
		metrics_add(m, "skiff_deployment_scales_total", NULL, METRIC_COUNTER, "replication controllers scaled");
	DC.m_creates = metrics_add(m, "skiff_deployment_controller_creates_total", NULL, METRIC_COUNTER,
	                           "replication controllers created for a new template");
	DC.m_deletes = metrics_add(m, "skiff_deployment_controller_deletes_total", NULL, METRIC_COUNTER,
	                           "replication controllers deleted (history limit, deployment gone)");
	DC.m_status = metrics_add(m, "skiff_deployment_status_writes_total", NULL, METRIC_COUNTER,
	                          "deployment status writes");
}

int
main(int argc, char **argv)
{
	static struct skiff_daemon d;
	struct controller_config cfg = {
		.watches = watches,
		.reconcile = dc_reconcile,
		.enqueue_all = enqueue_all,
		.busy = dc_busy,
		.arg = &DC,
	};
	int rc;

	daemon_init(&d, &prog, argc, argv);
	DC.d = &d;
	DC.prefix = d.opts.prefix;
	if (!(DC.rec = recorder_new(d.etcd, DC.prefix, "deployment-controller")))
		fatalx("out of memory");
	metrics_init(d.metrics);
	cfg.workers = (int)workers;
	DC.ctl = daemon_controller(&d, &cfg);
	DC.q = controller_queue(DC.ctl);
	log_info("rolling deployments under %s/deployments/", DC.prefix);
	rc = daemon_controller_run(&d, DC.ctl, "deployment-controller", NULL);
	controller_free(DC.ctl);
	DC.ctl = NULL;
	DC.q = NULL;
	recorder_free(DC.rec);
	daemon_free(&d);
	return rc;
}
