/*
 * px_conntrack.c: forget the UDP flows of a service port that lost an
 * endpoint. The kernel rewrites only the first datagram of a flow; the
 * rest follow its conntrack entry, so a client that keeps sending from the
 * same address and port (a resolver, a syslog or statsd client) would keep
 * reaching the gone endpoint until the entry idles out (30 s, 120 s once
 * answered), which is forever for a steady sender. Once the rules without
 * that endpoint are in force (px_nft.c calls here after nft succeeded),
 * the port's entries are deleted ("conntrack -D -p udp --orig-dst CIP
 * --orig-port-dst PORT", as kube-proxy does), so the next datagram picks
 * a live endpoint. TCP needs none of this: a connection to a gone endpoint
 * fails and the client connects again.
 *
 * It runs the conntrack program (Debian: conntrack) as a child and does
 * not wait for it; a failure is logged. It deletes a whole port's flows,
 * not only the gone endpoint's: a datagram of the others' picks again.
 */
#include <stdio.h>
#include <string.h>

#include "daemon/run.h"
#include "proxy.h"

struct ct_job {
	struct px_proxy *px;
	char what[96];
};

static void
ct_done(const struct run_result *r, void *arg)
{
	struct ct_job *j = arg;

	/* conntrack says "0 flow entries have been deleted" and exits 1 when
	 * there were none: that is success too. */
	if (r->status == 127 && !j->px->ct_missing) {
		j->px->ct_missing = 1;
		log_kv(LL_ERROR, KV("table", j->px->table),
		       "conntrack not found (install the conntrack package): UDP clients may keep sending to a "
		       "gone endpoint until their flow idles out");
	} else if (r->status != 0 && r->status != 127 && !(r->out && strstr(r->out, "0 flow entries"))) {
		log_kv(LL_WARN, KV("table", j->px->table), "cannot delete the UDP flows of %s: %s", j->what,
		       r->len ? r->out : "conntrack failed");
	}
	free(j);
}

/* Start the delete of p's flows (the job owns a copy of what it needs). */
static void
flush_port(struct px_proxy *px, const struct px_port *p)
{
	struct ct_job *j = calloc(1, sizeof(*j));
	char ip[20], port[8];

	if (!j)
		return;
	j->px = px;
	api_ipv4_format(p->cluster_ip, ip, sizeof(ip));
	snprintf(port, sizeof(port), "%d", p->port);
	snprintf(j->what, sizeof(j->what), "%s (%s:%d/udp)", p->key, ip, p->port);
	if (!run_program_async(px->d->loop,
	                       (const char *const[]){"conntrack", "-D", "-p", "udp", "--orig-dst", ip,
	                                             "--orig-port-dst", port, NULL},
	                       NULL, 0, ct_done, j)) {
		log_kv(LL_WARN, KV("table", px->table), "cannot run conntrack for %s", j->what);
		free(j);
		return;
	}
	log_kv(LL_DEBUG, KV("service", p->service, "port", p->key), "deleting the UDP flows of %s", j->what);
}

void
px_conntrack_flush(struct px_proxy *px, unsigned gen)
{
	struct px_port *p, *tmp;

	HASH_ITER(hh, px->ports, p, tmp) {
		if (p->ct_flush_gen && p->ct_flush_gen <= gen) {
			p->ct_flush_gen = 0;
			flush_port(px, p);
		}
	}
}
