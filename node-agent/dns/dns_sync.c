/*
 * dns_sync.c: from the informers of P/services/, P/endpoints/,
 * P/serviceips/ and P/network/ to the table. Handlers only enqueue the
 * service a change is about; dns_reconcile rebuilds that one service's
 * records from the caches (O(its ports and endpoints)), so a put is
 * answerable on the loop turn after the watch event arrives. A change of
 * the cluster domain, the first sync and each resync rebuild everything.
 * The cluster IP is the service's own, else the endpoints', else its
 * claim in P/serviceips/ (design: "A service's cluster IP"). The caches
 * hold dns_rec.c's compact records, not API objects. It writes nothing
 * to etcd.
 */
#include <arpa/inet.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "controller.h"
#include "dns.h"
#include "log.h"

#define DNS_DEFAULT_DOMAIN "cluster.local"

/* A decoder's end: log why value of name did not decode (what it is),
 * clear errs, return o. */
static void *
decoded(void *o, const char *name, const char *what, struct api_errors *errs)
{
	char *why;

	if (!o && what) {
		why = api_errors_join(errs, "; ");
		log_kv(LL_WARN, KV(what, name), "ignoring a %s that does not decode: %s", what,
		       why ? why : "out of memory");
		free(why);
	}
	api_errors_clear(errs);
	return o;
}

/* The record kept of a decoded API object (freed here), or NULL after
 * logging that there was no memory for it. */
static void *
kept(void *rec, const char *name, const char *what)
{
	if (!rec)
		log_kv(LL_WARN, KV(what, name), "out of memory: the %s is not cached", what);
	return rec;
}

static void *
decode_service(const char *name, const char *value, size_t len, void *arg)
{
	struct api_errors errs = {0};
	struct api_service *s = decoded(api_service_parse(value, len, &errs), name, "service", &errs);
	void *r;

	(void)arg;
	if (!s)
		return NULL;
	r = kept(dns_rec_service(s), name, "service");
	api_service_free(s);
	return r;
}

static void *
decode_endpoints(const char *name, const char *value, size_t len, void *arg)
{
	struct api_errors errs = {0};
	struct api_endpoints *ep = decoded(api_endpoints_parse(value, len, &errs), name, "endpoints", &errs);
	void *r;

	(void)arg;
	if (!ep)
		return NULL;
	r = kept(dns_rec_endpoints(ep), name, "endpoints");
	api_endpoints_free(ep);
	return r;
}

/* Claims are the endpoints controller's: a bad one is its to report. */
static void *
decode_serviceip(const char *name, const char *value, size_t len, void *arg)
{
	struct api_errors errs = {0};
	struct api_service_ip *sip = decoded(api_service_ip_parse(value, len, &errs), name, NULL, &errs);
	void *r;

	(void)arg;
	if (!sip)
		return NULL;
	r = kept(dns_rec_claim(sip), name, "claim");
	api_service_ip_free(sip);
	return r;
}

static void *
decode_network(const char *name, const char *value, size_t len, void *arg)
{
	struct api_errors errs = {0};

	(void)arg;
	if (strcmp(name, "config") != 0)
		return NULL;
	return decoded(api_network_config_parse(value, len, &errs), name, "network", &errs);
}

static void
free_rec(void *o)
{
	free(o);
}

static void
free_network(void *o)
{
	api_network_config_free(o);
}

/* Queue service name, once the table has been built: before that, the
 * first full build reads every cached object anyway, and a queue of
 * names made during the first lists (one per object, freed only after
 * the build) would leave holes all over the heap between the records
 * that stay. */
static void
queue_service(struct dns_state *st, const char *name)
{
	if (st->srv.table.ready)
		controller_add(st->ctl, name);
}

static void
on_name(struct informer *inf, const struct informer_obj *o, void *arg)
{
	(void)inf;
	queue_service(arg, o->name);
}

static void
on_name_update(struct informer *inf, const struct informer_obj *old, const struct informer_obj *o, void *arg)
{
	(void)old;
	on_name(inf, o, arg);
}

/* A claim names its service. */
static void
on_claim(struct informer *inf, const struct informer_obj *o, void *arg)
{
	const struct dns_rec_claim *c = o->obj;

	(void)inf;
	if (c && c->service[0])
		queue_service(arg, c->service);
}

static void
on_claim_update(struct informer *inf, const struct informer_obj *old, const struct informer_obj *o, void *arg)
{
	on_claim(inf, old, arg);
	on_claim(inf, o, arg);
}

static void
on_network(struct informer *inf, const struct informer_obj *o, void *arg)
{
	struct dns_state *st = arg;

	(void)inf;
	if (strcmp(o->name, "config") == 0)
		controller_add(st->ctl, DNS_KEY_ALL);
}

static void
on_network_update(struct informer *inf, const struct informer_obj *old, const struct informer_obj *o, void *arg)
{
	(void)old;
	on_network(inf, o, arg);
}

struct dns_state dns_st;

const struct controller_watch dns_watches[] = {
	{"services", decode_service, free_rec, {on_name, on_name_update, on_name, NULL, NULL}, 1, &dns_st.services},
	{"endpoints", decode_endpoints, free_rec, {on_name, on_name_update, on_name, NULL, NULL}, 1, &dns_st.endpoints},
	{"serviceips",
         decode_serviceip,
         free_rec,
         {on_claim, on_claim_update, on_claim, NULL, NULL},
         1,
         &dns_st.serviceips},
	{"network",
         decode_network,
         free_network,
         {on_network, on_network_update, on_network, NULL, NULL},
         1,
         &dns_st.network},
	{0},
};

struct claim_find {
	const char *service;
	char uid[32];
	uint32_t ip;
};

static void
claim_visit(const struct informer_obj *o, void *arg)
{
	const struct dns_rec_claim *c = o->obj;
	struct claim_find *f = arg;
	struct in_addr a;

	if (c && c->uid[0] && strcmp(c->service, f->service) == 0 && strcmp(c->uid, f->uid) == 0 &&
	    inet_pton(AF_INET, o->name, &a) == 1)
		f->ip = a.s_addr;
}

/* The cluster IP of service o (network order), 0 when it has none yet.
 * O(claims) only when neither the service nor its endpoints say it. */
static uint32_t
cluster_ip(struct dns_state *st, const struct informer_obj *o, const struct dns_rec_endpoints *ep)
{
	const struct dns_rec_service *svc = o->obj;
	struct claim_find f = {.service = o->name};

	if (svc->cluster_ip)
		return svc->cluster_ip;
	if (ep && ep->cluster_ip)
		return ep->cluster_ip;
	snprintf(f.uid, sizeof(f.uid), "%lld", (long long)o->create_revision);
	informer_foreach(st->serviceips, claim_visit, &f);
	return f.ip;
}

/* The endpoints port named like sp (or the only one): its target port. */
static int
target_port(const struct dns_rec_endpoints *ep, const struct dns_rec_port *sp)
{
	for (size_t i = 0; ep && i < ep->n_ports; i++)
		if ((!sp->name && ep->n_ports == 1) ||
		    (sp->name && ep->ports[i].name && !strcmp(sp->name, ep->ports[i].name)))
			return ep->ports[i].target_port ? ep->ports[i].target_port : ep->ports[i].port;
	return sp->target_port;
}

/* Rebuild the records of service name from the caches. */
static void
sync_service(struct dns_state *st, const char *name)
{
	const struct informer_obj *o = informer_get(st->services, name), *eo = informer_get(st->endpoints, name);
	const struct dns_rec_endpoints *ep = eo ? eo->obj : NULL;
	const struct dns_rec_service *svc = o ? o->obj : NULL;
	struct dns_service ds = {.name = name};
	struct dns_port *ports;

	if (!svc) {
		dns_table_remove(&st->srv.table, name);
		return;
	}
	if (!(ports = calloc(svc->n_ports + 1, sizeof(*ports))))
		goto fail;
	ds.headless = svc->headless;
	ds.cluster_ip = ds.headless ? 0 : cluster_ip(st, o, ep);
	for (size_t i = 0; i < svc->n_ports; i++) {
		const struct dns_rec_port *sp = &svc->ports[i];

		ports[i] = (struct dns_port){sp->name, sp->udp ? "udp" : "tcp", sp->port, target_port(ep, sp)};
	}
	ds.ports = ports, ds.n_ports = svc->n_ports;
	ds.ready = ep ? ep->ready : NULL;
	ds.n_ready = ep ? ep->n_ready : 0;
	if (dns_table_set(&st->srv.table, &ds) == 0)
		goto done;
fail:
	log_kv(LL_WARN, KV("service", name), "out of memory: the service has no DNS records");
done:
	free(ports);
}

static void
sync_visit(const struct informer_obj *o, void *arg)
{
	sync_service(arg, o->name);
}

/* Everything again, under the domain P/network/config (or the flag) names. */
static void
sync_all(struct dns_state *st)
{
	const struct informer_obj *o = informer_get(st->network, "config");
	const struct api_network_config *nc = o ? o->obj : NULL;
	const char *domain = st->domain_flag && *st->domain_flag ? st->domain_flag
	                     : nc && nc->cluster_domain[0]       ? nc->cluster_domain
	                                                         : DNS_DEFAULT_DOMAIN;
	uint32_t ttl = st->srv.table.ttl, serial = st->srv.table.serial;

	dns_table_clear(&st->srv.table);
	if (strcasecmp(domain, st->srv.table.domain) != 0)
		log_kv(LL_INFO, KV("domain", domain), "answering for the cluster domain %s", domain);
	dns_table_init(&st->srv.table, domain, ttl);
	st->srv.table.serial = serial + 1;
	informer_foreach(st->services, sync_visit, st);
	st->srv.table.ready = 1;
	st->trim_pending = 1;
}

void
dns_reconcile(struct wq *q, const char *name, void *arg)
{
	struct dns_state *st = arg;

	if (strcmp(name, DNS_KEY_ALL) == 0)
		sync_all(st);
	else if (st->srv.table.ready)
		sync_service(st, name);
	wq_done(q, name, WQ_OK, 0);
	/* A full build follows a list: the lists' JSON and the old table
	 * leave free pages all over the heap. Give them back once the queue
	 * is empty (O(heap), once per full build). */
	if (st->trim_pending && wq_len(q) == 0) {
		st->trim_pending = 0;
		malloc_trim(0);
	}
}

void
dns_enqueue_all(struct controller *c, void *arg)
{
	(void)arg;
	controller_add(c, DNS_KEY_ALL);
}
