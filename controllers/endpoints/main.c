/*
 * skiff-endpoints-controller: cluster IPs and endpoint lists for services.
 * Watches services, pods, bindings, pod status, cluster IP claims,
 * endpoints and the network config and subnets; every change enqueues the services it concerns; while
 * this process leads, epc_reconcile (epc_sync.c) brings each one up to
 * date. Invalid objects get a Warning event and are left alone. The
 * informers, the queue, leadership, resync and stop are
 * runtime/controller.c's; work starts only once every cache holds a full
 * list (deciding from a half-filled cache would allocate addresses that
 * are already taken).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "daemon_ctl.h"
#include "epc.h"

static struct epc E;
static const char *np_range;

static int
check_range(const struct flag *f, char *err, size_t len)
{
	(void)f;
	return epc_node_port_range_parse(np_range, &E.np_lo, &E.np_hi, err, len);
}

static const struct flag flags[] = {
	{"node-port-range", FLAG_STRING, &np_range, "30000-32767", NULL,
         "the ports NodePort and LoadBalancer services get on every node", "LOW-HIGH", check_range},
	{0},
};

static const struct skiff_prog prog = {
	.name = "skiff-endpoints-controller",
	.summary = "Gives services cluster IPs and node ports and keeps their endpoint lists.",
	.health_addr = "",
	.elects = 1,
	.resyncs = 1,
	.flags = flags,
};

/* ---- decoding: one small context per informer ---- */

struct src {
	enum api_kind kind;
	const char *dir; /* for events: "services", "pods", or NULL */
};

static const struct src SERVICES = {API_SERVICE, "services"}, PODS = {API_POD, "pods"}, STATUS = {API_PODSTATUS, NULL},
			IPS = {API_SERVICEIP, NULL}, ENDPOINTS = {API_ENDPOINTS, NULL},
			NETWORK = {API_NETWORKCONFIG, NULL};

static void *
decode(const char *name, const char *value, size_t len, void *arg, const struct src *s)
{
	struct api_errors errs = {0};
	void *obj;
	char *why;

	(void)arg;
	if (s->kind == API_NETWORKCONFIG && strcmp(name, "config") != 0)
		return NULL; /* P/network/subnets/…: not ours */
	if ((obj = api_parse(s->kind, value, len, &errs))) {
		const struct api_meta *m = api_object_meta(s->kind, obj);

		if (!m || api_meta_check_name(m, name, &errs) == 0) {
			api_errors_clear(&errs);
			if (s->kind == API_PODSTATUS) /* out of memory: kept whole, which reads the same */
				api_pod_status_slim(obj, API_SLIM_STATUS_READY | API_SLIM_STATUS_POD_IP);
			return obj;
		}
		api_free(s->kind, obj);
		obj = NULL;
	}
	why = api_errors_join(&errs, "; ");
	log_kv(LL_WARN, KV("kind", api_kind_name(s->kind), "name", name), "ignoring invalid object: %s; fix the key",
	       why ? why : "out of memory");
	if (s->dir)
		recorder_eventf(E.rec, s->dir, name, "Warning", "Invalid", "%s", why ? why : "out of memory");
	free(why);
	api_errors_clear(&errs);
	return NULL;
}

#define DECODER(fn, src, kind)                                                      \
	static void *fn(const char *name, const char *value, size_t len, void *arg) \
	{                                                                           \
		return decode(name, value, len, arg, &src);                         \
	}                                                                           \
	static void fn##_free(void *obj)                                            \
	{                                                                           \
		api_free(kind, obj);                                                \
	}

DECODER(dec_service, SERVICES, API_SERVICE)
DECODER(dec_status, STATUS, API_PODSTATUS)
DECODER(dec_ip, IPS, API_SERVICEIP)
DECODER(dec_endpoints, ENDPOINTS, API_ENDPOINTS)
DECODER(dec_network, NETWORK, API_NETWORKCONFIG)

/* Cached pods, statuses and bindings keep only what this controller reads
 * (after the whole value is checked): a pod as a struct epc_pod (its
 * labels, deletion grace, hostNetwork, named container ports), a status
 * slimmed to its uid, phase, readiness and podIP (decode above). */
static void *
dec_pod(const char *name, const char *value, size_t len, void *arg)
{
	struct api_pod *p = decode(name, value, len, arg, &PODS);
	struct epc_pod *ep = p ? epc_pod_new(p) : NULL;

	if (p && !ep)
		log_kv(LL_WARN, KV("pod", name), "out of memory keeping the pod; it is left out until it changes");
	api_pod_free(p);
	return ep;
}

/* A binding is kept as its pod uid (new): all this controller needs of it.
 * Bindings are the scheduler's; one that does not decode binds nothing. */
static void *
dec_binding(const char *name, const char *value, size_t len, void *arg)
{
	struct api_errors errs = {0};
	char *uid = api_binding_pod_uid(value, len, &errs);

	(void)arg;
	if (!uid)
		log_kv(LL_WARN, KV("binding", name), "ignoring a binding that does not decode");
	api_errors_clear(&errs);
	return uid;
}

/* ---- handlers: enqueue what a change concerns ---- */

static void enqueue_all(void);

static void
enqueue_name(struct informer *inf, const struct informer_obj *o, void *arg)
{
	(void)inf;
	(void)arg;
	wq_add(E.q, o->name);
}

static void
enqueue_name2(struct informer *inf, const struct informer_obj *old, const struct informer_obj *o, void *arg)
{
	(void)old;
	enqueue_name(inf, o, arg);
}

static void
pod_changed(struct informer *inf, const struct informer_obj *o, void *arg)
{
	(void)inf;
	(void)arg;
	if (o->obj)
		epc_enqueue_for_labels(&E, &((const struct epc_pod *)o->obj)->labels);
}

static void
pod_updated(struct informer *inf, const struct informer_obj *old, const struct informer_obj *o, void *arg)
{
	pod_changed(inf, old, arg); /* services that selected it before… */
	pod_changed(inf, o, arg);   /* …and those that select it now */
}

/* A NODE/POD key of the bindings or the statuses: index it, and look again
 * at the services selecting POD. */
static void
keyed_set(struct informer *inf, const struct informer_obj *o, int present)
{
	const char *slash = strchr(o->name, '/');

	epc_index_set(inf == E.bindings ? &E.bound : &E.reported, o, present);
	if (inf == E.status && !present)
		epc_refusal_forget(&E, o->name);
	if (slash)
		epc_enqueue_for_pod(&E, slash + 1);
}

static void
keyed_added(struct informer *inf, const struct informer_obj *o, void *arg)
{
	(void)arg;
	keyed_set(inf, o, 1);
}

static void
keyed_updated(struct informer *inf, const struct informer_obj *old, const struct informer_obj *o, void *arg)
{
	(void)old;
	(void)arg;
	keyed_set(inf, o, 1);
}

static void
keyed_deleted(struct informer *inf, const struct informer_obj *o, void *arg)
{
	(void)arg;
	keyed_set(inf, o, 0);
}

static void
ip_changed(struct informer *inf, const struct informer_obj *o, void *arg)
{
	const struct api_service_ip *sip = o->obj;

	(void)inf;
	(void)arg;
	if (sip && sip->service)
		wq_add(E.q, sip->service);
}

/* A released address may be the one another service asked for. */
static void
ip_deleted(struct informer *inf, const struct informer_obj *o, void *arg)
{
	(void)inf;
	(void)o;
	(void)arg;
	enqueue_all();
}

static void
ip_updated(struct informer *inf, const struct informer_obj *old, const struct informer_obj *o, void *arg)
{
	ip_changed(inf, old, arg);
	ip_changed(inf, o, arg);
}

static void
enqueue_all_cb(const struct informer_obj *o, void *arg)
{
	(void)arg;
	wq_add(E.q, o->name);
}

static void
enqueue_all(void)
{
	informer_foreach(E.services, enqueue_all_cb, NULL);
	informer_foreach(E.endpoints, enqueue_all_cb, NULL); /* lists of deleted services */
	epc_node_ports_enqueue(&E);                          /* claims of deleted services */
}

static void
network_changed(struct informer *inf, const struct informer_obj *o, void *arg)
{
	(void)inf;
	(void)o;
	(void)arg;
	epc_subnets_changed(&E);
	enqueue_all();
}

static void
network_updated(struct informer *inf, const struct informer_obj *old, const struct informer_obj *o, void *arg)
{
	(void)old;
	network_changed(inf, o, arg);
}

static void
free_all(void)
{
	controller_free(E.ctl);
	recorder_free(E.rec);
	epc_alloc_free();
	epc_index_free(&E.bound);
	epc_index_free(&E.reported);
	epc_subnets_free(&E);
	epc_refusals_free(&E);
	epc_modes_free(&E);
}

static void
enqueue_all_ctl(struct controller *c, void *arg)
{
	(void)c;
	(void)arg;
	enqueue_all();
}

static const struct controller_watch watches[] = {
	{"network",
         dec_network,
         dec_network_free,
         {network_changed, network_updated, network_changed, NULL, NULL},
         0,
         &E.network},
	{"serviceips", dec_ip, dec_ip_free, {ip_changed, ip_updated, ip_deleted, NULL, NULL}, 0, &E.ips},
	/* Node-port claims have the shape of cluster IP claims (and a port). */
	{"nodeports", dec_ip, dec_ip_free, {ip_changed, ip_updated, ip_deleted, NULL, NULL}, 0, &E.nodeports},
	{"endpoints",
         dec_endpoints,
         dec_endpoints_free,
         {enqueue_name, enqueue_name2, enqueue_name, NULL, NULL},
         0,
         &E.endpoints},
	{"podstatus",
         dec_status,
         dec_status_free,
         {keyed_added, keyed_updated, keyed_deleted, NULL, NULL},
         1,
         &E.status},
	{"bindings", dec_binding, free, {keyed_added, keyed_updated, keyed_deleted, NULL, NULL}, 1, &E.bindings},
	{"pods", dec_pod, epc_pod_free, {pod_changed, pod_updated, pod_changed, NULL, NULL}, 1, &E.pods},
	{"services",
         dec_service,
         dec_service_free,
         {enqueue_name, enqueue_name2, enqueue_name, NULL, NULL},
         0,
         &E.services},
	{0},
};

int
main(int argc, char **argv)
{
	static struct skiff_daemon d;
	static const struct controller_config cfg = {
		.watches = watches,
		.reconcile = epc_reconcile,
		.workers = 16,
		.enqueue_all = enqueue_all_ctl,
		.arg = &E,
	};
	int rc;

	daemon_init(&d, &prog, argc, argv);
	E.d = &d;
	E.prefix = d.opts.prefix;
	srandom((unsigned)time(NULL) ^ (unsigned)getpid()); /* node ports are looked for from a random start */
	if (!(E.rec = recorder_new(d.etcd, E.prefix, "endpoints-controller")))
		fatalx("out of memory");
	E.writes = metrics_add(d.metrics, "skiff_endpoints_writes_total", NULL, METRIC_COUNTER, "endpoint list writes");
	E.allocs =
		metrics_add(d.metrics, "skiff_cluster_ip_claims_total", NULL, METRIC_COUNTER, "cluster IP claims sent");
	E.ctl = daemon_controller(&d, &cfg);
	E.q = controller_queue(E.ctl);
	log_info("watching services under %s/services/", E.prefix);
	rc = daemon_controller_run(&d, E.ctl, "endpoints-controller", NULL);
	free_all();
	daemon_free(&d);
	return rc;
}
