/*
 * skiff-dns: the cluster DNS of one node (as Kubernetes' node-local DNS
 * cache), so that a pod's lookup never crosses the network. Watches
 * P/services/, P/endpoints/, P/serviceips/ and P/network/config and
 * answers, over UDP and TCP on --listen, for the services' names (A,
 * SRV, PTR, NXDOMAIN/NODATA with the domain's SOA); every other name goes
 * to the nameservers of --resolv-conf, with a small cache. It runs on
 * every node, without election, and writes nothing to etcd; the node's
 * DNS address is the agent's to add (--cluster-dns).
 */
#include <arpa/inet.h>
#include <limits.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api.h"
#include "controller.h"
#include "daemon_ctl.h"
#include "dns.h"

static const char *listen_addr, *domain_flag, *resolv_conf;
static long ttl, cache_size, forward_timeout_ms, tcp_idle_ms, tcp_max_conns;

static int
check_listen(const struct flag *f, char *err, size_t len)
{
	struct sockaddr_in *a = &dns_st.srv.cfg.listen;
	char ip[64];
	int port;

	(void)f;
	memset(a, 0, sizeof(*a));
	a->sin_family = AF_INET;
	if (sscanf(listen_addr, "%63[0-9.]:%d", ip, &port) != 2 || port < 1 || port > 65535 ||
	    inet_pton(AF_INET, ip, &a->sin_addr) != 1) {
		snprintf(err, len, "--listen must be IPv4:PORT, got \"%s\"", listen_addr);
		return -1;
	}
	a->sin_port = htons((uint16_t)port);
	return 0;
}

static int
check_domain(const struct flag *f, char *err, size_t len)
{
	struct api_error e;

	(void)f;
	if (domain_flag && *domain_flag && api_check_dns_subdomain(domain_flag, &e) < 0) {
		snprintf(err, len, "--cluster-domain: %s", e.msg);
		return -1;
	}
	return 0;
}

FLAG_BOUNDS(check_ttl, 0, 86400)
FLAG_BOUNDS(check_cache, 0, 1000000)
FLAG_BOUNDS(check_timeout, 10, 60000)
FLAG_BOUNDS(check_idle, 100, 3600000)
FLAG_BOUNDS(check_conns, 1, 65536)

static const struct flag flags[] = {
	{"listen", FLAG_STRING, &listen_addr, "169.254.20.10:53", NULL,
         "UDP and TCP address to answer on (may not exist yet)", "IP:PORT", check_listen},
	{"cluster-domain", FLAG_STRING, &domain_flag, NULL, NULL,
         "the cluster domain (default: clusterDomain of P/network/config, else cluster.local)", "DOMAIN", check_domain},
	{"ttl", FLAG_INT, &ttl, "5", NULL, "TTL of the cluster's answers, seconds", "SECONDS", check_ttl},
	{"resolv-conf", FLAG_STRING, &resolv_conf, "/etc/resolv.conf", NULL,
         "nameservers to forward other names to (read at start)", "FILE", NULL},
	{"cache-size", FLAG_INT, &cache_size, "1000", NULL,
         "forwarded answers kept, and as many of our own (0 = no cache)", "N", check_cache},
	{"forward-timeout", FLAG_DURATION, &forward_timeout_ms, "2s", NULL,
         "how long each upstream nameserver gets to answer", "DURATION", check_timeout},
	{"tcp-idle-timeout", FLAG_DURATION, &tcp_idle_ms, "10s", NULL, "close a TCP connection idle this long",
         "DURATION", check_idle},
	{"tcp-max-conns", FLAG_INT, &tcp_max_conns, "256", NULL, "TCP connections at once", "N", check_conns},
	{0},
};

static const struct skiff_prog prog = {
	.name = "skiff-dns",
	.summary = "Answers DNS for the cluster's services; forwards other names.",
	.health_addr = "",
	.elects = 0,
	.resyncs = 1,
	.flags = flags,
};

static int
health_dns(void *arg, char *reason, size_t len)
{
	const struct dns_state *st = arg;

	if (st->srv.table.ready)
		return 0;
	snprintf(reason, len, "the services are not loaded yet");
	return -1;
}

static double
names_fn(void *arg)
{
	return (double)dns_table_names(&((struct dns_state *)arg)->srv.table);
}

static double
services_fn(void *arg)
{
	return (double)dns_table_services(&((struct dns_state *)arg)->srv.table);
}

static double
cache_fn(void *arg)
{
	return (double)dns_cache_count(((struct dns_state *)arg)->srv.cache);
}

static void
add_metrics(struct skiff_daemon *d, struct dns_server *s)
{
	struct metrics *m = d->metrics;

	s->m_udp = metrics_add(m, "skiff_dns_queries_total", "transport=\"udp\"", METRIC_COUNTER, "queries received");
	s->m_tcp = metrics_add(m, "skiff_dns_queries_total", "transport=\"tcp\"", METRIC_COUNTER, "queries received");
	s->m_malformed = metrics_add(m, "skiff_dns_malformed_total", NULL, METRIC_COUNTER,
	                             "queries answered FORMERR or dropped");
	s->m_fwd = metrics_add(m, "skiff_dns_forwarded_total", NULL, METRIC_COUNTER, "queries sent upstream");
	s->m_hits = metrics_add(m, "skiff_dns_cache_hits_total", NULL, METRIC_COUNTER, "answers from the cache");
	s->m_fwd_fail = metrics_add(m, "skiff_dns_forward_failures_total", NULL, METRIC_COUNTER,
	                            "forwarded queries answered SERVFAIL");
	s->m_trunc = metrics_add(m, "skiff_dns_truncated_total", NULL, METRIC_COUNTER, "UDP answers sent with TC");
	s->m_conns = metrics_add(m, "skiff_dns_tcp_connections", NULL, METRIC_GAUGE, "open TCP connections");
	metrics_add_fn(m, "skiff_dns_names", NULL, METRIC_GAUGE, "names in the table", names_fn, &dns_st);
	metrics_add_fn(m, "skiff_dns_services", NULL, METRIC_GAUGE, "services in the table", services_fn, &dns_st);
	metrics_add_fn(m, "skiff_dns_cache_entries", NULL, METRIC_GAUGE, "forwarded answers cached", cache_fn, &dns_st);
}

static void
start_server(struct skiff_daemon *d)
{
	struct dns_server *s = &dns_st.srv;
	char err[256];

	s->loop = d->loop;
	s->cfg.resolv_conf = resolv_conf;
	s->cfg.cache_size = cache_size;
	s->cfg.forward_timeout = (double)forward_timeout_ms / 1000.0;
	s->cfg.tcp_idle = (double)tcp_idle_ms / 1000.0;
	s->cfg.tcp_max_conns = tcp_max_conns;
	dns_table_init(&s->table, "cluster.local", (uint32_t)ttl);
	if (!(s->cache = dns_cache_new((size_t)cache_size)) || !(s->answers = dns_cache_new((size_t)cache_size)))
		fatalx("out of memory");
	if (dns_fwd_load(s, resolv_conf, err, sizeof(err)) < 0)
		log_kv(LL_WARN, KV("file", resolv_conf), "%s: other names will get SERVFAIL", err);
	else if (!s->n_upstreams)
		log_kv(LL_WARN, KV("file", resolv_conf), "no usable IPv4 nameserver: other names will get SERVFAIL");
	if (dns_net_start(s, err, sizeof(err)) < 0)
		fatalx("%s", err);
	add_metrics(d, s);
	health_check_add(d->health, "dns", health_dns, &dns_st);
}

/* skiff-dns is single-threaded and small: one malloc arena (a thread,
 * such as curl's resolver, would otherwise get one of its own), and
 * buffers over 128 KiB (list responses) always mapped apart, so that
 * they go back to the system when freed instead of raising the heap. */
static void
tune_malloc(void)
{
	mallopt(M_ARENA_MAX, 1);
	mallopt(M_MMAP_THRESHOLD, 128 * 1024);
}

int
main(int argc, char **argv)
{
	static struct skiff_daemon d;
	static const struct controller_config cfg = {
		.watches = dns_watches,
		.reconcile = dns_reconcile,
		.enqueue_all = dns_enqueue_all,
		.arg = &dns_st,
	};
	int rc;

	tune_malloc();
	daemon_init(&d, &prog, argc, argv);
	dns_st.domain_flag = domain_flag;
	start_server(&d);
	dns_st.ctl = daemon_controller(&d, &cfg);
	log_kv(LL_INFO, KV("listen", listen_addr), "answering DNS on %s (udp, tcp), %d upstream nameserver(s)",
	       listen_addr, dns_st.srv.n_upstreams);
	rc = daemon_controller_run(&d, dns_st.ctl, "dns", NULL);
	dns_net_stop(&dns_st.srv);
	controller_free(dns_st.ctl);
	dns_table_clear(&dns_st.srv.table);
	dns_cache_free(dns_st.srv.cache);
	dns_cache_free(dns_st.srv.answers);
	daemon_free(&d);
	return rc;
}
