/*
 * px_affinity.c: sessionAffinity ClientIP, in both modes. A client's new
 * connections go to the endpoint its last one went to, for as long as that
 * is still an endpoint and the client came back within the timeout
 * (sessionAffinityConfig.clientIP.timeoutSeconds) of its last connection;
 * otherwise the usual round-robin pick, remembered.
 *
 * Userspace: a table per service port, client IP → endpoint and last use,
 * kept in least-recently-used order, so expired entries are dropped from
 * its head as new clients come; bounded at PX_AFFINITY_MAX clients (the
 * least recently used one goes first).
 * nftables: one set of client addresses per endpoint ("dynamic, timeout"),
 * checked before the round-robin pick and refreshed by every new
 * connection, as kube-proxy's nftables mode (and the `recent` match of its
 * iptables mode) do.
 *
 * Not here: affinity across a rewrite of the nftables table (each rewrite
 * starts with empty sets) or across a restart of the proxy; UDP.
 */
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "proxy.h"

struct px_aff_entry {
	uint32_t client;
	struct px_backend be;
	double last;
	UT_hash_handle hh;
};

struct px_affinity {
	struct px_aff_entry *by_client; /* least recently used first */
	size_t n;
};

static void
entry_drop(struct px_affinity *a, struct px_aff_entry *e)
{
	HASH_DEL(a->by_client, e);
	free(e);
	a->n--;
}

void
px_affinity_free(struct px_port *p)
{
	struct px_aff_entry *e, *tmp;

	if (!p->aff)
		return;
	HASH_ITER(hh, p->aff->by_client, e, tmp)
		entry_drop(p->aff, e);
	free(p->aff);
	p->aff = NULL;
}

void
px_affinity_set(struct px_port *p, int timeout)
{
	p->affinity = timeout > 0 ? timeout : 0;
	if (!p->affinity)
		px_affinity_free(p);
}

/* The index of b among p's endpoints, or p->nbe. */
static size_t
backend_index(const struct px_port *p, const struct px_backend *b)
{
	size_t i;

	for (i = 0; i < p->nbe; i++)
		if (p->be[i].ip == b->ip && p->be[i].port == b->port)
			break;
	return i;
}

/* Drop expired entries (from the head: least recently used first), and the
 * oldest one when the table is full. */
static void
expire(struct px_affinity *a, int timeout, double now)
{
	while (a->by_client && (now - a->by_client->last >= timeout || a->n >= PX_AFFINITY_MAX))
		entry_drop(a, a->by_client);
}

size_t
px_affinity_pick(struct px_port *p, uint32_t client, double now)
{
	struct px_aff_entry *e = NULL;
	size_t i;

	if (!p->affinity)
		return p->rr++ % p->nbe;
	if (!p->aff && !(p->aff = calloc(1, sizeof(*p->aff))))
		return p->rr++ % p->nbe;
	expire(p->aff, p->affinity, now);
	HASH_FIND(hh, p->aff->by_client, &client, sizeof(client), e);
	if (e) {
		HASH_DEL(p->aff->by_client, e); /* re-added at the tail: most recent */
		p->aff->n--;
		if ((i = backend_index(p, &e->be)) == p->nbe)
			i = p->rr++ % p->nbe; /* no longer an endpoint: pick again */
	} else {
		if (!(e = calloc(1, sizeof(*e))))
			return p->rr++ % p->nbe;
		e->client = client;
		i = p->rr++ % p->nbe;
	}
	e->be = p->be[i];
	e->last = now;
	HASH_ADD(hh, p->aff->by_client, client, sizeof(e->client), e);
	p->aff->n++;
	return i;
}

size_t
px_affinity_pick_conn(struct px_port *p, int fd, double now)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);

	if (!p->affinity || getpeername(fd, (struct sockaddr *)&sa, &len) < 0 || sa.sin_family != AF_INET)
		return p->rr++ % p->nbe;
	return px_affinity_pick(p, ntohl(sa.sin_addr.s_addr), now);
}

char *
px_affinity_nft(const struct px_port *p, size_t i, const char *comment)
{
	char *out = NULL, bip[20];
	size_t len = 0, j;
	FILE *f = open_memstream(&out, &len);

	if (!f)
		return NULL;
	for (j = 0; j < p->nbe; j++) {
		api_ipv4_format(p->be[j].ip, bip, sizeof(bip));
		fprintf(f, "\tset aff_%zu_%zu {\n\t\ttype ipv4_addr\n\t\tflags dynamic,timeout\n\t\ttimeout %ds\n", i,
		        j, p->affinity);
		fprintf(f, "\t\tsize %d\n\t}\n", PX_AFFINITY_MAX);
		fprintf(f, "\tchain ep_%zu_%zu {\n\t\tupdate @aff_%zu_%zu { ip saddr }\n", i, j, i, j);
		fprintf(f, "\t\tmeta l4proto %s dnat to %s:%d\n\t}\n", PX_L4(p), bip, p->be[j].port);
	}
	fprintf(f, "\tchain svc_%zu {\n\t\tcomment \"%s\"\n", i, comment);
	for (j = 0; j < p->nbe; j++)
		fprintf(f, "\t\tip saddr @aff_%zu_%zu goto ep_%zu_%zu\n", i, j, i, j);
	fprintf(f, "\t\tnumgen inc mod %zu vmap { ", p->nbe);
	for (j = 0; j < p->nbe; j++)
		fprintf(f, "%s%zu : goto ep_%zu_%zu", j ? ", " : "", j, i, j);
	fprintf(f, " }\n\t}\n");
	if (fclose(f) != 0) {
		free(out);
		return NULL;
	}
	return out;
}
