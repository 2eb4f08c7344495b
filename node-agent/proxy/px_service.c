/*
 * px_service.c: what the proxy takes from P/services/ and P/serviceips/
 * beside an endpoints list. A headless service (clusterIP "None") gets no
 * rules. The address to serve is the service's spec.clusterIP, else the
 * list's clusterIP (the endpoints controller writes it), else the claim in
 * P/serviceips/ naming the service and its uid (the create revision): a
 * service without a selector has endpoints its user wrote, which carry
 * none. With the service known, each port of the list is served on the
 * service's port of the same name (Kubernetes' subsets give the endpoints'
 * own port); a list whose service is not known yet is served as it says.
 *
 * Not here: the endpoint addresses (px_check.c judges them) and the
 * cluster IP allocation (the endpoints controller's). Finding a claim is a
 * scan of P/serviceips/, done only for lists without a clusterIP.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proxy.h"

static void *
decode_logged(enum api_kind kind, const char *name, const char *value, size_t len)
{
	struct api_errors errs = {0};
	void *obj = api_parse(kind, value, len, &errs);
	char *why;

	if (!obj) {
		why = api_errors_join(&errs, "; ");
		log_kv(LL_WARN, KV("kind", api_kind_name(kind), "name", name), "ignoring invalid object: %s",
		       why ? why : "out of memory");
		free(why);
	}
	api_errors_clear(&errs);
	return obj;
}

void *
px_service_decode(const char *name, const char *value, size_t len, void *arg)
{
	(void)arg;
	return decode_logged(API_SERVICE, name, value, len);
}

void
px_service_free(void *obj)
{
	api_service_free(obj);
}

void *
px_service_ip_decode(const char *name, const char *value, size_t len, void *arg)
{
	(void)arg;
	return decode_logged(API_SERVICEIP, name, value, len);
}

void
px_service_ip_free(void *obj)
{
	api_service_ip_free(obj);
}

struct find_claim {
	const char *name;
	char uid[32];
	const char *ip; /* the key's name */
};

static void
find_claim(const struct informer_obj *o, void *arg)
{
	struct find_claim *f = arg;
	const struct api_service_ip *sip = o->obj;

	if (!f->ip && sip && sip->service && sip->uid && strcmp(sip->service, f->name) == 0 &&
	    strcmp(sip->uid, f->uid) == 0)
		f->ip = o->name;
}

int
px_service_view(struct px_proxy *px, const char *name, const struct api_endpoints *ep, struct px_svc_view *v)
{
	const struct informer_obj *so = px->services ? informer_get(px->services, name) : NULL;
	struct find_claim f = {.name = name};
	const char *ip = NULL;
	struct api_error err;

	memset(v, 0, sizeof(*v));
	v->svc = so ? so->obj : NULL;
	if (v->svc && v->svc->spec.headless)
		return -1; /* no cluster IP, no rules: DNS names the pods */
	if (v->svc && v->svc->spec.affinity == API_AFFINITY_CLIENT_IP)
		v->affinity = v->svc->spec.affinity_timeout;
	if (v->svc && v->svc->spec.cluster_ip)
		ip = v->svc->spec.cluster_ip;
	else if (ep->cluster_ip)
		ip = ep->cluster_ip;
	else if (so && px->serviceips) {
		snprintf(f.uid, sizeof(f.uid), "%" PRId64, so->create_revision);
		informer_foreach(px->serviceips, find_claim, &f);
		ip = f.ip;
	}
	if (!ip || api_ipv4_parse(ip, &v->cluster_ip, &err) < 0)
		return -1;
	return 0;
}

int
px_service_port(const struct px_svc_view *v, const struct api_service_port *sp)
{
	if (!v->svc)
		return sp->port;
	for (size_t i = 0; i < v->svc->spec.n_ports; i++) {
		const struct api_service_port *p = &v->svc->spec.ports[i];

		if (p->protocol == sp->protocol && strcmp(p->name ? p->name : "", sp->name ? sp->name : "") == 0)
			return p->port;
	}
	return 0;
}
