/*
 * px_check.c: what the proxy refuses to forward to, and whom it refuses
 * to forward for.
 *
 * Endpoints: an address api_endpoint_ip_check refuses (loopback,
 * 0.0.0.0/8, link-local, multicast and reserved, the service network of
 * P/network/config) is never programmed, in either mode; the refusal is
 * logged and recorded as a Warning event on the service (InvalidEndpoint)
 * once per revision of the endpoints key, not at every sync.
 * Connections: a userspace listener binds 0.0.0.0:ephemeral, so anyone who
 * reaches the node reaches it; a connection is served only when its
 * original destination (SO_ORIGINAL_DST, from conntrack) is the service's
 * clusterIP:port, that is when the node's own redirect brought it here.
 * Not here: which endpoints are ready (the endpoints controller's job).
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "events.h"
#include "proxy.h"

#ifndef SO_ORIGINAL_DST
#define SO_ORIGINAL_DST 80 /* linux/netfilter_ipv4.h, which clashes with netinet/in.h */
#endif

/* A service warned about, at the revision warned about. */
struct px_warned {
	char name[256];
	int64_t rev;
	unsigned gen;
	UT_hash_handle hh;
};

/* Decoded in place of the keys of P/network/ other than "config" (the
 * subnets): not an error, just nothing the proxy needs. */
static char not_config;

void *
px_network_decode(const char *name, const char *value, size_t len, void *arg)
{
	struct api_errors errs = {0};
	struct api_network_config *nc;
	char *why;

	(void)arg;
	if (strcmp(name, "config") != 0)
		return &not_config;
	if (!(nc = api_network_config_parse(value, len, &errs))) {
		why = api_errors_join(&errs, "; ");
		log_kv(LL_WARN, KV("key", "network/config"),
		       "ignoring invalid network config: %s; the default service network %s is assumed",
		       why ? why : "out of memory", API_DEFAULT_SERVICE_CIDR);
		free(why);
	}
	api_errors_clear(&errs);
	return nc;
}

void
px_network_free(void *obj)
{
	if (obj != &not_config)
		api_network_config_free(obj);
}

/* The service network endpoints must not lie in: P/network/config's, or
 * the default when there is none (or it is invalid). */
static void
service_cidr(struct px_proxy *px, struct api_cidr *out)
{
	const struct informer_obj *o = px->network ? informer_get(px->network, "config") : NULL;
	struct api_network_config def;

	if (o && o->obj) {
		*out = ((const struct api_network_config *)o->obj)->service_cidr;
		return;
	}
	api_network_config_default(&def);
	*out = def.service_cidr;
}

/* Report the refusals of endpoints o once per revision of its key. */
static void
report(struct px_proxy *px, const struct informer_obj *o, size_t bad, const char *first, const char *why)
{
	struct px_warned *w = NULL;

	HASH_FIND_STR(px->warned, o->name, w);
	if (!w && (w = calloc(1, sizeof(*w)))) {
		snprintf(w->name, sizeof(w->name), "%s", o->name);
		HASH_ADD_STR(px->warned, name, w);
	}
	if (!w)
		return;
	w->gen = px->gen;
	if (w->rev == o->mod_revision)
		return;
	w->rev = o->mod_revision;
	log_kv(LL_WARN, KV("service", o->name), "refusing %zu endpoint address%s, first %s: %s", bad,
	       bad == 1 ? "" : "es", first, why);
	if (px->rec)
		recorder_eventf(px->rec, "services", o->name, "Warning", "InvalidEndpoint",
		                "proxy on %s refused %zu endpoint address%s, first %s: %s", px->node, bad,
		                bad == 1 ? "" : "es", first, why);
}

unsigned char *
px_endpoints_judge(struct px_proxy *px, const struct informer_obj *o)
{
	const struct api_endpoints *ep = o->obj;
	unsigned char *ok = calloc(ep->n_addresses ? ep->n_addresses : 1, 1);
	struct api_cidr svc;
	char why[160] = "", first[64] = "";
	size_t bad = 0;

	if (!ok)
		return NULL;
	service_cidr(px, &svc);
	for (size_t i = 0; i < ep->n_addresses; i++) {
		const char *ip = ep->addresses[i].ip ? ep->addresses[i].ip : "";

		if (api_endpoint_ip_check(ip, &svc, bad ? NULL : why, sizeof(why)) == 0) {
			ok[i] = 1;
		} else if (bad++ == 0) {
			snprintf(first, sizeof(first), "%.60s", ip);
		}
	}
	if (bad)
		report(px, o, bad, first, why);
	return ok;
}

void
px_warned_prune(struct px_proxy *px, int all)
{
	struct px_warned *w, *tmp;

	HASH_ITER(hh, px->warned, w, tmp) {
		if (all || w->gen != px->gen) {
			HASH_DEL(px->warned, w);
			free(w);
		}
	}
}

int
px_redirected(const struct px_port *p, int fd)
{
	struct sockaddr_in dst;
	socklen_t len = sizeof(dst);

	if (getsockopt(fd, SOL_IP, SO_ORIGINAL_DST, &dst, &len) < 0 || dst.sin_family != AF_INET)
		return 0;
	return ntohl(dst.sin_addr.s_addr) == p->cluster_ip && ntohs(dst.sin_port) == p->port;
}
