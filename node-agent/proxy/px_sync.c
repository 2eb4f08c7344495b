/*
 * px_sync.c: bring the proxy's service ports in line with the endpoints
 * cache. Every endpoints object gives its cluster IP and ports; a port new
 * to us gets a listener (userspace mode), a known one just gets the new
 * endpoint list (established connections are not touched), a port gone
 * loses its listener. Endpoint addresses px_check.c refuses are left
 * out. The nftables table is rewritten only when the rules it should hold
 * change.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "proxy.h"

static int
listen_any(int *port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_ANY)};
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 1024) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) < 0) {
		close(fd);
		return -1;
	}
	*port = ntohs(sa.sin_port);
	return fd;
}

static void
port_free(struct px_proxy *px, struct px_port *p)
{
	HASH_DEL(px->ports, p);
	px_nodeport_close(px, p);
	if (p->listen_fd >= 0) {
		ev_io_stop(px->d->loop, &p->accept_w);
		ev_timer_stop(px->d->loop, &p->accept_pause);
		close(p->listen_fd);
	}
	px_affinity_free(p);
	free(p->be);
	free(p);
}

static struct px_port *
port_get(struct px_proxy *px, const char *key, const char *svc, uint32_t cip, int port, int udp)
{
	struct px_port *p = NULL;
	char ip[20];

	HASH_FIND_STR(px->ports, key, p);
	if (p && (p->cluster_ip != cip || p->port != port || p->udp != udp)) {
		port_free(px, p); /* the service moved: start over */
		p = NULL;
	}
	if (p)
		return p;
	if (!(p = calloc(1, sizeof(*p))))
		return NULL;
	snprintf(p->key, sizeof(p->key), "%s", key);
	snprintf(p->service, sizeof(p->service), "%s", svc);
	p->cluster_ip = cip;
	p->port = port;
	p->listen_fd = -1;
	p->px = px;
	p->udp = udp;
	ev_init(&p->accept_pause, NULL);
	if (px->mode == PX_USERSPACE && !udp) {
		if ((p->listen_fd = listen_any(&p->listen_port)) < 0) {
			log_kv(LL_ERROR, KV("service", svc), "cannot listen for %s: %s; will retry", key,
			       strerror(errno));
			free(p);
			return NULL;
		}
		ev_io_init(&p->accept_w, px_accept_cb, p->listen_fd, EV_READ);
		p->accept_w.data = p;
		ev_io_start(px->d->loop, &p->accept_w);
	}
	api_ipv4_format(cip, ip, sizeof(ip));
	if (p->listen_fd >= 0)
		log_kv(LL_INFO, KV("service", svc, "port", key), "serving %s:%d on local port %d", ip, port,
		       p->listen_port);
	else
		log_kv(LL_INFO, KV("service", svc, "port", key), "routing %s:%d/%s in the kernel", ip, port, PX_L4(p));
	HASH_ADD_STR(px->ports, key, p);
	return p;
}

/* 1 when an endpoint of old (n of them) is not in p's list. */
static int
lost_one(const struct px_port *p, const struct px_backend *old, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		size_t j = 0;

		while (j < p->nbe && (p->be[j].ip != old[i].ip || p->be[j].port != old[i].port))
			j++;
		if (j == p->nbe)
			return 1;
	}
	return 0;
}

/* The addresses of ep that ok marks usable become p's backends. A UDP
 * port that lost one has its flows deleted once the rules without it are
 * in force (px_conntrack.c). */
static void
set_backends(struct px_port *p, const struct api_endpoints *ep, const unsigned char *ok, int target)
{
	struct px_backend *old = p->be;
	size_t nold = p->nbe;

	struct px_backend *be = ep->n_addresses ? calloc(ep->n_addresses, sizeof(*be)) : NULL;
	size_t n = 0;
	struct api_error err;

	for (size_t i = 0; be && i < ep->n_addresses; i++) {
		if (ok[i] && api_ipv4_parse(ep->addresses[i].ip, &be[n].ip, &err) == 0) {
			be[n].port = target;
			n++;
		}
	}
	p->be = be;
	p->nbe = n;
	if (p->udp && lost_one(p, old, nold))
		p->ct_flush_gen = p->px->gen;
	free(old);
}

static void
sync_one(const struct informer_obj *o, void *arg)
{
	struct px_proxy *px = arg;
	const struct api_endpoints *ep = o->obj;
	struct px_svc_view v;
	unsigned char *ok;
	int port;

	if (!ep || px_service_view(px, o->name, ep, &v) < 0)
		return; /* headless, or no cluster IP (px_service.c) */
	if (!(ok = px_endpoints_judge(px, o)))
		return;
	for (size_t i = 0; i < ep->n_ports; i++) {
		const struct api_service_port *sp = &ep->ports[i];
		struct px_port *p;
		char key[300];

		int udp = sp->protocol == API_PROTO_UDP;

		if (sp->name)
			snprintf(key, sizeof(key), "%s/%s", o->name, sp->name);
		else
			snprintf(key, sizeof(key), "%s/%d%s", o->name, sp->port, udp ? "/UDP" : "");
		if (!(port = px_service_port(&v, sp)) || !(p = port_get(px, key, o->name, v.cluster_ip, port, udp)))
			continue;
		set_backends(p, ep, ok, sp->target_port ? sp->target_port : sp->port);
		px_affinity_set(p, v.affinity);
		px_nodeport_set(px, p, o->name, sp);
		p->gen = px->gen;
	}
	free(ok);
}

static int
by_key(struct px_port *a, struct px_port *b)
{
	return strcmp(a->key, b->key);
}

/* The rules of the sync at endpoints revision rev are rules: in force
 * now (userspace mode: the backend lists are; rules that nft has applied
 * already), or once the nft run that applies them ends (px_nft.c). */
static void
sync_in_force(struct px_proxy *px, int64_t rev, int same_rules)
{
	if (!px->nft_carries || (same_rules && !px->nft_run))
		px_status_applied(px, rev);
	else if (px->nft_next)
		px->nft_next_rev = rev;
	else if (px->nft_run)
		px->nft_rev = rev;
}

void
px_sync(struct px_proxy *px)
{
	struct px_port *p, *tmp;
	int64_t rev = informer_revision(px->endpoints);
	char *rules;

	px->gen++;
	informer_foreach(px->endpoints, sync_one, px);
	px_warned_prune(px, 0);
	HASH_ITER(hh, px->ports, p, tmp) {
		if (p->gen != px->gen) {
			log_kv(LL_INFO, KV("service", p->service, "port", p->key),
			       "service port gone; listener closed");
			port_free(px, p);
		}
	}
	HASH_SORT(px->ports, by_key); /* the same rules render the same bytes */
	px->nft_carries = px->mode == PX_NFTABLES;
	HASH_ITER(hh, px->ports, p, tmp)
		px->nft_carries |= p->udp;
	if (!(rules = px_nft_render(px)))
		return;
	if (px->rules && strcmp(rules, px->rules) == 0) {
		free(rules);
		sync_in_force(px, rev, 1);
		return;
	}
	if (px_nft_apply(px, rules) == 0) {
		free(px->rules);
		px->rules = rules;
		px->nft_ok = 1;
		sync_in_force(px, rev, 0);
	} else {
		free(rules);
		px->nft_ok = 0;
		sync_in_force(px, rev, 0);
	}
}

void
px_free_ports(struct px_proxy *px)
{
	struct px_port *p, *tmp;

	HASH_ITER(hh, px->ports, p, tmp)
		port_free(px, p);
	px_warned_prune(px, 1);
	free(px->rules);
	px->rules = NULL;
}
