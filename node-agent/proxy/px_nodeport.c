/*
 * px_nodeport.c: node ports. A service port whose endpoints carry a
 * nodePort, and whose claim P/nodeports/PORT (the endpoints controller's)
 * names that service and port, is served on every local address of the
 * node at that port as well as at its cluster IP: in userspace mode by a
 * listener on 0.0.0.0:PORT whose connections px_conn.c forwards like the
 * cluster IP listener's; in nftables mode by a map from the node port to
 * the port's chain, looked up for packets whose destination is a local
 * address (fib daddr type local), from outside (prerouting) and from the
 * node itself (output).
 *
 * A UDP port's node port is a kernel rule in both modes, as its cluster
 * IP is (px_nft.c): the map "nodeports_udp" jumps to the same np_N chain.
 *
 * It does not allocate ports (the endpoints controller does), or answer
 * on loopback addresses in kernel rules (a rewritten packet from
 * 127.0.0.1 could not leave the node).
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "proxy.h"

void *
px_nodeport_decode(const char *name, const char *value, size_t len, void *arg)
{
	struct api_errors errs = {0};
	struct api_service_ip *c = api_service_ip_parse(value, len, &errs);
	char *why;

	(void)arg;
	if (!c) {
		why = api_errors_join(&errs, "; ");
		log_kv(LL_WARN, KV("nodePort", name), "ignoring an invalid node-port claim: %s",
		       why ? why : "out of memory");
		free(why);
	}
	api_errors_clear(&errs);
	return c;
}

void
px_nodeport_free(void *obj)
{
	api_service_ip_free(obj);
}

/* The node port sp of service svc may be served at: its nodePort when the
 * claim of that port names it, else 0. */
static int
claimed(struct px_proxy *px, const char *svc, const struct api_service_port *sp)
{
	const struct informer_obj *o;
	const struct api_service_ip *c;
	char s[8];

	if (!sp->node_port || !px->nodeports)
		return 0;
	snprintf(s, sizeof(s), "%d", sp->node_port);
	if (!(o = informer_get(px->nodeports, s)) || !(c = o->obj))
		return 0;
	if (!c->service || strcmp(c->service, svc) != 0 || c->port != sp->port || c->protocol != sp->protocol)
		return 0;
	return sp->node_port;
}

/* A listening socket on 0.0.0.0:port, or -1 (errno set). */
static int
listen_port(int port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1, e;

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 && listen(fd, 1024) == 0)
		return fd;
	e = errno;
	close(fd);
	errno = e;
	return -1;
}

void
px_nodeport_close(struct px_proxy *px, struct px_port *p)
{
	if (p->np_fd > 0) {
		ev_io_stop(px->d->loop, &p->np_w);
		close(p->np_fd);
	}
	p->np_fd = -1;
}

void
px_nodeport_set(struct px_proxy *px, struct px_port *p, const char *svc, const struct api_service_port *sp)
{
	int np = claimed(px, svc, sp);

	if (np == p->node_port && (px->mode == PX_NFTABLES || p->udp || !np || p->np_fd > 0))
		return;
	if (px->mode == PX_USERSPACE && !p->udp) {
		px_nodeport_close(px, p);
		if (np && (p->np_fd = listen_port(np)) < 0) {
			log_kv(LL_ERROR, KV("service", svc, "port", p->key),
			       "cannot listen on node port %d: %s; will retry at the next sync", np, strerror(errno));
			np = 0;
		} else if (np) {
			ev_io_init(&p->np_w, px_accept_cb, p->np_fd, EV_READ);
			p->np_w.data = p;
			ev_io_start(px->d->loop, &p->np_w);
		}
	}
	if (np)
		log_kv(LL_INFO, KV("service", svc, "port", p->key), "serving node port %d", np);
	else if (p->node_port)
		log_kv(LL_INFO, KV("service", svc, "port", p->key), "node port %d no longer served", p->node_port);
	p->node_port = np;
}

/* p's node port is served by kernel rules (px_nft.c numbers its chain). */
static int
in_kernel(const struct px_proxy *px, const struct px_port *p)
{
	return p->node_port && (px->mode == PX_NFTABLES || p->udp);
}

/* The map nodeports (udp 0) or nodeports_udp of the ports in kernel
 * rules with that protocol, or nothing when there are none; how many. */
static size_t
np_map(struct px_proxy *px, FILE *f, int udp)
{
	struct px_port *p, *tmp;
	size_t i = 0, n = 0;

	HASH_ITER(hh, px->ports, p, tmp) {
		if (in_kernel(px, p) && p->udp == udp) {
			if (!n++)
				fprintf(f, "\tmap nodeports%s {\n\t\ttype inet_service : verdict\n\t\telements = { ",
				        udp ? "_udp" : "");
			fprintf(f, "%s%d : jump np_%zu", n > 1 ? ", " : "", p->node_port, i);
		}
		i++;
	}
	if (n)
		fprintf(f, " }\n\t}\n");
	return n;
}

char *
px_nodeport_map(struct px_proxy *px, int *maps)
{
	struct px_port *p, *tmp;
	size_t i = 0, n = 0, len = 0;
	char *out = NULL;
	FILE *f;

	*maps = 0;
	HASH_ITER(hh, px->ports, p, tmp)
		n += in_kernel(px, p);
	if (!n || !(f = open_memstream(&out, &len)))
		return NULL;
	*maps |= np_map(px, f, 0) ? PX_NP_TCP : 0;
	*maps |= np_map(px, f, 1) ? PX_NP_UDP : 0;
	/* The connection is marked (conntrack's mark: every packet of it, both
	 * ways) on the way to the port's chain: the agent's firewall forwards
	 * marked connections whoever sent them (a node port is for clients
	 * outside the cluster, and its endpoint may be on another node), as
	 * kube-proxy's mark does. */
	i = 0;
	HASH_ITER(hh, px->ports, p, tmp) {
		if (in_kernel(px, p))
			fprintf(f, "\tchain np_%zu {\n\t\tct mark set ct mark | %s\n\t\tjump svc_%zu\n\t}\n", i,
			        SKIFF_NODEPORT_MARK, i);
		i++;
	}
	if (fclose(f) != 0) {
		free(out);
		return NULL;
	}
	return out;
}
