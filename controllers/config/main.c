/*
 * skiff-config-controller: gives each node copies of the ConfigMaps and
 * Secrets its pods refer to, under P/nodeconfig/NODE/, and nothing else,
 * so that a node's etcd user reads only its own P/nodeconfig/NODE/ and
 * never P/configmaps/ or P/secrets/. Watches bindings, ConfigMaps,
 * Secrets and the copies; every change enqueues the nodes it concerns;
 * while this process leads, cfgc_reconcile (cfgc_sync.c) brings a node's
 * copies up to date. It does not read pods' values nor check what a pod
 * may use: the agent does, from the copies.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfgc.h"
#include "daemon_ctl.h"

static struct cfgc C;

static const struct skiff_prog prog = {
	.name = "skiff-config-controller",
	.summary = "Copies the ConfigMaps and Secrets of each node's pods to P/nodeconfig/NODE/.",
	.health_addr = "",
	.elects = 1,
	.resyncs = 1,
};

/* ---- decoding ---- */

static void *
decode_original(enum api_kind k, const char *name, const char *value, size_t len)
{
	struct api_errors errs = {0};
	struct api_configmap *cm = api_parse(k, value, len, &errs);
	char *why;

	if (cm && api_meta_check_name(&cm->meta, name, &errs) < 0) {
		api_free(k, cm);
		cm = NULL;
	}
	if (!cm) {
		why = api_errors_join(&errs, "; ");
		log_kv(LL_WARN, KV("kind", api_kind_name(k), "name", name),
		       "invalid object, not copied to any node: %s; fix the key", why ? why : "out of memory");
		free(why);
	}
	api_errors_clear(&errs);
	return cm;
}

static void *
dec_configmap(const char *name, const char *value, size_t len, void *arg)
{
	(void)arg;
	return decode_original(API_CONFIGMAP, name, value, len);
}

static void *
dec_secret(const char *name, const char *value, size_t len, void *arg)
{
	(void)arg;
	return decode_original(API_SECRET, name, value, len);
}

static void
free_original(void *obj)
{
	api_free(API_CONFIGMAP, obj); /* one struct for both kinds */
}

static void *
dec_binding(const char *name, const char *value, size_t len, void *arg)
{
	struct cfgc_refs *r = cfgc_refs_of_binding(value, len);

	(void)arg;
	if (!r)
		log_kv(LL_WARN, KV("binding", name), "binding does not parse: its pod gets no config copies");
	return r;
}

/* ---- handlers: enqueue the nodes a change concerns ---- */

static void
node_changed(struct informer *inf, const struct informer_obj *o, void *arg)
{
	(void)inf;
	cfgc_enqueue_node_of(arg, o->name);
}

static void
node_updated(struct informer *inf, const struct informer_obj *old, const struct informer_obj *o, void *arg)
{
	(void)old;
	node_changed(inf, o, arg);
}

static void
original_changed(struct informer *inf, const struct informer_obj *o, void *arg)
{
	char ref[300];

	snprintf(ref, sizeof(ref), "%s/%s", inf == C.secrets ? "secrets" : "configmaps", o->name);
	cfgc_enqueue_for(arg, ref);
}

static void
original_updated(struct informer *inf, const struct informer_obj *old, const struct informer_obj *o, void *arg)
{
	(void)old;
	original_changed(inf, o, arg);
}

static void
enqueue_all(struct controller *ctl, void *arg)
{
	(void)ctl;
	cfgc_enqueue_for(arg, NULL);
}

static const struct controller_watch watches[] = {
	{"nodeconfig", NULL, NULL, {node_changed, node_updated, node_changed, NULL, NULL}, 0, &C.copies},
	{"configmaps",
         dec_configmap,
         free_original,
         {original_changed, original_updated, original_changed, NULL, NULL},
         0,
         &C.configmaps},
	{"secrets",
         dec_secret,
         free_original,
         {original_changed, original_updated, original_changed, NULL, NULL},
         0,
         &C.secrets},
	{"bindings",
         dec_binding,
         cfgc_refs_free,
         {node_changed, node_updated, node_changed, NULL, NULL},
         0,
         &C.bindings},
	{0},
};

int
main(int argc, char **argv)
{
	static struct skiff_daemon d;
	static const struct controller_config cfg = {
		.watches = watches,
		.reconcile = cfgc_reconcile,
		.workers = 4,
		.enqueue_all = enqueue_all,
		.busy = cfgc_busy,
		.arg = &C,
	};
	int rc;

	daemon_init(&d, &prog, argc, argv);
	C.d = &d;
	C.prefix = d.opts.prefix;
	C.writes = metrics_add(d.metrics, "skiff_config_copy_writes_total", NULL, METRIC_COUNTER,
	                       "ConfigMap and Secret copies written to nodes");
	C.deletes = metrics_add(d.metrics, "skiff_config_copy_deletes_total", NULL, METRIC_COUNTER,
	                        "ConfigMap and Secret copies removed from nodes");
	C.ctl = daemon_controller(&d, &cfg);
	C.q = controller_queue(C.ctl);
	log_info("copying configmaps and secrets to %s/nodeconfig/NODE/", C.prefix);
	rc = daemon_controller_run(&d, C.ctl, "config-controller", NULL);
	controller_free(C.ctl);
	daemon_free(&d);
	return rc;
}
