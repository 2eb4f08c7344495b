/*
 * skiff-proxy: the service proxy of one node. Watches P/endpoints/ (each
 * holds a service's cluster IP, ports and ready endpoints) and makes
 * connections to clusterIP:port reach those endpoints, in userspace mode
 * (listeners + forwarding, nftables redirects) or nftables mode (the
 * kernel rewrites the destination). Endpoint changes apply without
 * touching established connections; our nftables table is replaced at
 * start (stale rules of a crashed run) and removed on exit.
 */
#include <ctype.h>
#include <sys/resource.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
	{"node-name", FLAG_STRING, &node_name, NULL, "SKIFF_NODE_NAME", "the node this proxy runs on", "NAME", check_node},
	{"mode", FLAG_STRING, &mode_name, "userspace", NULL, "userspace (listeners + redirects) or nftables (kernel DNAT)",
	 "MODE", check_mode},
	{0},
};

static const struct skiff_prog prog = {
	.name = "skiff-proxy",
	.summary = "Forwards connections for service cluster IPs to their endpoints.",
	.health_addr = "",
	.elects = 0,
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

static void
sync_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)loop;
	(void)t;
	(void)revents;
	px_sync(&PX);
}

/* Many changes in one loop turn make one sync. */
static void
changed(void)
{
	if (!ev_is_active(&PX.sync) && informer_synced(PX.endpoints)) {
		ev_timer_set(&PX.sync, 0.0, 0.0);
		ev_timer_start(PX.d->loop, &PX.sync);
	}
}

static void
on_add(struct informer *inf, const struct informer_obj *o, void *arg)
{
	(void)inf;
	(void)o;
	(void)arg;
	changed();
}

static void
on_update(struct informer *inf, const struct informer_obj *old, const struct informer_obj *o, void *arg)
{
	(void)old;
	on_add(inf, o, arg);
}

static void
on_synced(struct informer *inf, void *arg)
{
	(void)inf;
	(void)arg;
	changed();
}

static void
on_error(struct informer *inf, const struct etcd_error *err, void *arg)
{
	(void)arg;
	log_kv(LL_WARN, KV("prefix", informer_prefix(inf)), "%s", err->msg);
}

static int
stop_hook(struct skiff_daemon *d, void *arg)
{
	(void)d;
	(void)arg;
	return px_nft_stop(&PX);
}

int
main(int argc, char **argv)
{
	static struct skiff_daemon d;
	static const struct informer_handlers h = {on_add, on_update, on_add, on_synced, on_error};
	char prefix[300];
	struct rlimit rl;
	size_t i, n;
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
	/* nft names: letters, digits, underscores. */
	n = (size_t)snprintf(PX.table, sizeof(PX.table), "skiff_%s", node_name);
	for (i = 6; i < n && i < sizeof(PX.table); i++)
		if (!isalnum((unsigned char)PX.table[i]))
			PX.table[i] = '_';
	PX.m_conns = metrics_add(d.metrics, "skiff_proxy_connections", NULL, METRIC_GAUGE, "open proxied connections");
	PX.m_fail = metrics_add(d.metrics, "skiff_proxy_connect_failures_total", NULL, METRIC_COUNTER,
	                        "connects to an endpoint that failed");
	ev_timer_init(&PX.sync, sync_cb, 0.0, 0.0);
	/* Replace whatever a crashed run left with an empty table. */
	px_nft_apply(&PX, NULL);
	snprintf(prefix, sizeof(prefix), "%s/endpoints/", d.opts.prefix);
	if (!(PX.endpoints = informer_new(d.etcd, prefix, decode, free_ep, &h, NULL)))
		fatalx("out of memory");
	informer_start(PX.endpoints);
	daemon_on_stop(&d, "nftables rules", stop_hook, NULL);
	log_kv(LL_INFO, KV("node", node_name, "mode", mode_name), "proxying services of %s", prefix);
	rc = daemon_run(&d);
	ev_timer_stop(d.loop, &PX.sync);
	px_conn_close_all(&PX);
	px_free_ports(&PX);
	informer_free(PX.endpoints);
	daemon_free(&d);
	return rc;
}
