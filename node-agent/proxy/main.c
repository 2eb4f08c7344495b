/*
 * skiff-proxy: the service proxy of one node. Watches P/endpoints/ (each
 * holds a service's cluster IP, ports and ready endpoints) and makes
 * connections to clusterIP:port reach those endpoints, in userspace mode
 * (listeners + forwarding, nftables redirects) or nftables mode (the
 * kernel rewrites the destination). Endpoint changes apply without
 * touching established connections; our nftables table is replaced at
 * start (stale rules of a crashed run) and removed on exit. The informer,
 * the queue (one key: a sync covers every service), resync and stop are
 * runtime/controller.c's; the proxy runs on every node, without election.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "daemon_ctl.h"
#include "events.h"
#include "proxy.h"

static struct px_proxy PX;
static const char *node_name, *mode_name = "userspace";

static int
check_mode(const struct flag *f, char *err, size_t len)
{
	(void)f;
	if (strcmp(mode_name, "userspace") == 0 || strcmp(mode_name, "nftables") == 0)
		return 0;
	snprintf(err, len, "--mode must be userspace or nftables, got \"%s\"", mode_name);
	return -1;
}

static int
check_node(const struct flag *f, char *err, size_t len)
{
	struct api_error e;

	(void)f;
	if (!node_name || !*node_name) {
		snprintf(err, len, "--node-name is required (the node this proxy serves)");
		return -1;
	}
	if (api_check_dns_subdomain(node_name, &e) < 0) {
		snprintf(err, len, "--node-name: %s", e.msg);
		return -1;
	}
	return 0;
}

static const struct flag flags[] = {
	{"node-name", FLAG_STRING, &node_name, NULL, "SKIFF_NODE_NAME", "the node this proxy runs on", "NAME",
         check_node},
	{"mode", FLAG_STRING, &mode_name, "userspace", NULL,
         "userspace (listeners + redirects) or nftables (kernel DNAT)", "MODE", check_mode},
	{0},
};

static const struct skiff_prog prog = {
	.name = "skiff-proxy",
	.summary = "Forwards connections for service cluster IPs and node ports to their endpoints.",
	.health_addr = "",
	.elects = 0,
	.resyncs = 1,
	.flags = flags,
};

static void *
decode(const char *name, const char *value, size_t len, void *arg)
{
	struct api_errors errs = {0};
	struct api_endpoints *ep = api_endpoints_parse(value, len, &errs);
	char *why;

	(void)arg;
	if (!ep) {
		why = api_errors_join(&errs, "; ");
		log_kv(LL_WARN, KV("service", name), "ignoring invalid endpoints: %s", why ? why : "out of memory");
		free(why);
	}
	api_errors_clear(&errs);
	return ep;
}

static void
free_ep(void *obj)
{
	api_endpoints_free(obj);
}

#define PX_KEY "endpoints" /* the queue's one key: a sync covers every service */

static void
reconcile(struct wq *q, const char *name, void *arg)
{
	px_sync(arg);
	wq_done(q, name, WQ_OK, 0);
}

/* Many changes in one loop turn make one sync (the queue holds the key
 * once, and once more while a sync runs). */
static void
on_add(struct informer *inf, const struct informer_obj *o, void *arg)
{
	(void)inf;
	(void)o;
	(void)arg;
	controller_add(PX.ctl, PX_KEY);
}

static void
on_update(struct informer *inf, const struct informer_obj *old, const struct informer_obj *o, void *arg)
{
	(void)old;
	on_add(inf, o, arg);
}

static void
resync(struct controller *c, void *arg)
{
	(void)arg;
	controller_add(c, PX_KEY);
}

static int
stop_hook(struct skiff_daemon *d, void *arg)
{
	(void)d;
	(void)arg;
	return px_nft_stop(&PX);
}

static const struct controller_watch watches[] = {
	{"endpoints", decode, free_ep, {on_add, on_update, on_add, NULL, NULL}, 0, &PX.endpoints},
	/* The service network of "config", which no endpoint may lie in. */
	{"network", px_network_decode, px_network_free, {on_add, on_update, on_add, NULL, NULL}, 1, &PX.network},
	/* Headless, affinity and port names; the cluster IP of a service whose
	 * endpoints carry none (px_service.c). */
	{"services", px_service_decode, px_service_free, {on_add, on_update, on_add, NULL, NULL}, 0, &PX.services},
	{"serviceips",
         px_service_ip_decode,
         px_service_ip_free,
         {on_add, on_update, on_add, NULL, NULL},
         0,
         &PX.serviceips},
	/* Which service port holds which node port (px_nodeport.c). */
	{"nodeports", px_nodeport_decode, px_nodeport_free, {on_add, on_update, on_add, NULL, NULL}, 0, &PX.nodeports},
	{0},
};

/* The nftables table: "skiff_<node>", letters, digits and underscores. */
static void
table_name(struct px_proxy *px, const char *node)
{
	size_t n = (size_t)snprintf(px->table, sizeof(px->table), "skiff_%s", node);

	for (size_t i = 6; i < n && i < sizeof(px->table); i++)
		if (!isalnum((unsigned char)px->table[i]))
			px->table[i] = '_';
}

int
main(int argc, char **argv)
{
	static struct skiff_daemon d;
	static const struct controller_config cfg = {
		.watches = watches,
		.reconcile = reconcile,
		.enqueue_all = resync,
		.arg = &PX,
	};
	struct rlimit rl;
	int rc;

	daemon_init(&d, &prog, argc, argv);
	/* Two descriptors per proxied connection: take all we may have. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	PX.d = &d;
	PX.node = node_name;
	PX.mode = strcmp(mode_name, "nftables") == 0 ? PX_NFTABLES : PX_USERSPACE;
	table_name(&PX, node_name);
	PX.m_conns = metrics_add(d.metrics, "skiff_proxy_connections", NULL, METRIC_GAUGE, "open proxied connections");
	PX.m_fail = metrics_add(d.metrics, "skiff_proxy_connect_failures_total", NULL, METRIC_COUNTER,
	                        "connects to an endpoint that failed");
	/* In userspace mode a crashed run's table redirects to ports no one
	 * listens on any more: replace it with an empty one. In nftables mode
	 * its DNAT rules name pods, mostly still there: they stay until the
	 * first sync replaces the table in one transaction. An empty table in
	 * between would let a connection's first packet pass un-NATed, and
	 * conntrack would keep every later packet of it that way (a lost
	 * connect after each proxy restart or upgrade). */
	if (PX.mode != PX_NFTABLES)
		px_nft_apply(&PX, NULL);
	if (!(PX.rec = recorder_new_node(d.etcd, d.opts.prefix, node_name, "proxy")))
		fatalx("out of memory");
	PX.ctl = daemon_controller(&d, &cfg);
	daemon_on_stop(&d, "nftables rules", stop_hook, NULL);
	daemon_on_stop(&d, "proxy status", px_status_stop, &PX);
	log_kv(LL_INFO, KV("node", node_name, "mode", mode_name), "proxying services of %s",
	       informer_prefix(PX.endpoints));
	rc = daemon_controller_run(&d, PX.ctl, "proxy", NULL);
	px_conn_close_all(&PX);
	px_free_ports(&PX);
	controller_free(PX.ctl);
	recorder_free(PX.rec);
	daemon_free(&d);
	return rc;
}
