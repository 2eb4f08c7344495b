/*
 * agent_svcenv.c: which services a new container's environment names
 * (agent_svcenv.h). Two informers, P/services/ (decoded Services) and
 * P/endpoints/ (the endpoints controller's clusterIP of each), kept
 * without raw values; the second is the drain gate's when there is one
 * (drain_endpoints: one watch of P/endpoints/ per agent, not two). At
 * container create every service with a cluster IP gives its variables
 * through agent_svcenv_vars.c, sorted by name.
 *
 * It does not restart containers when services change: as in
 * Kubernetes, a container sees the services of the moment it was made.
 * It does not read P/serviceips/ (the node role may not): a service whose
 * IP neither its spec nor its endpoints carry yet has no variables.
 */
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "agent_drain.h"
#include "agent_svcenv.h"

/* Objects whose key is not their name, or that do not decode, are kept
 * as obj NULL and named nowhere. */
static void *
decode_service(const char *name, const char *value, size_t len, void *arg)
{
	struct api_errors e = {0};
	struct api_service *s = api_service_parse(value, len, &e);

	(void)arg;
	api_errors_clear(&e);
	if (s && (!s->meta.name || strcmp(s->meta.name, name) != 0)) {
		api_service_free(s);
		s = NULL;
	}
	return s;
}

static void
free_service(void *obj)
{
	api_service_free(obj);
}

static void *
decode_endpoints(const char *name, const char *value, size_t len, void *arg)
{
	struct api_errors e = {0};
	struct api_endpoints *ep = strchr(name, '/') ? NULL : api_endpoints_parse(value, len, &e);

	(void)arg;
	api_errors_clear(&e);
	return ep;
}

static void
free_endpoints(void *obj)
{
	api_endpoints_free(obj);
}

static void
synced(struct informer *inf, void *arg)
{
	(void)inf;
	agent_maybe_start(arg);
}

static void
shared_synced(void *arg)
{
	agent_maybe_start(arg);
}

static void
watch_error(struct informer *inf, const struct etcd_error *err, void *arg)
{
	(void)arg;
	log_kv(LL_WARN, KV("prefix", informer_prefix(inf)), "watch trouble: %s; recovering by itself", err->msg);
}

int
svcenv_start(struct agent *a)
{
	static const struct informer_handlers h = {NULL, NULL, NULL, synced, watch_error};
	char dir[API_KEY_MAX];

	snprintf(dir, sizeof(dir), "%s/services/", a->prefix);
	if (!(a->services = informer_new(a->d->etcd, dir, decode_service, free_service, &h, a)))
		return -1;
	informer_drop_values(a->services);
	informer_start(a->services);
	if ((a->endpoints = drain_endpoints(a->drain))) { /* one watch of P/endpoints/ for both */
		a->endpoints_shared = 1;
		drain_on_synced(a->drain, shared_synced, a);
		return 0;
	}
	snprintf(dir, sizeof(dir), "%s/endpoints/", a->prefix);
	if (!(a->endpoints = informer_new(a->d->etcd, dir, decode_endpoints, free_endpoints, &h, a)))
		return -1;
	informer_drop_values(a->endpoints);
	informer_start(a->endpoints);
	return 0;
}

void
svcenv_stop(struct agent *a)
{
	informer_free(a->services);
	if (!a->endpoints_shared)
		informer_free(a->endpoints);
	a->services = a->endpoints = NULL;
	a->endpoints_shared = 0;
}

int
svcenv_synced(const struct agent *a)
{
	return a->services && a->endpoints && informer_synced(a->services) && informer_synced(a->endpoints);
}

struct linked {
	const struct informer *endpoints;
	struct link_one {
		const struct api_service *s;
		const char *ip;
	} * v;
	size_t n;
};

static void
collect(const struct informer_obj *o, void *arg)
{
	struct linked *l = arg;
	const struct api_service *s = o->obj;
	const struct informer_obj *e;
	const char *ip;

	if (!s || s->spec.headless || !s->spec.n_ports)
		return;
	ip = s->spec.cluster_ip;
	if (!ip && (e = informer_get(l->endpoints, o->name)) && e->obj)
		ip = ((const struct api_endpoints *)e->obj)->cluster_ip;
	if (ip)
		l->v[l->n++] = (struct link_one){s, ip};
}

static int
by_name(const void *x, const void *y)
{
	const struct link_one *a = x, *b = y;

	return strcmp(a->s->meta.name, b->s->meta.name);
}

void
svcenv_add(struct agent *a, const struct api_pod *pod, svcenv_set_fn set, void *arg)
{
	size_t max = a->services ? informer_count(a->services) : 0;
	struct linked l = {a->endpoints, NULL, 0};

	if (pod->spec.service_links_off || !max)
		return;
	if (!(l.v = calloc(max, sizeof(*l.v)))) {
		log_kv(LL_WARN, KV("pod", pod->meta.name), "out of memory: no service variables");
		return;
	}
	informer_foreach(a->services, collect, &l);
	qsort(l.v, l.n, sizeof(*l.v), by_name);
	for (size_t i = 0; i < l.n; i++)
		svcenv_vars(l.v[i].s->meta.name, l.v[i].ip, l.v[i].s->spec.ports, l.v[i].s->spec.n_ports, set, arg);
	free(l.v);
}
