/*
 * dns_rec.c: what skiff-dns keeps of each service, endpoints and cluster
 * IP claim in its informers' caches: one allocation per object holding
 * only what the table is built from (addresses as numbers, ports, the
 * names a lookup compares), made from the API's decoded object, which is
 * freed at once. The API objects took a dozen allocations each (metadata,
 * labels, selector, strings); with 1,000 services the caches held about
 * 1 MB of them. Validation stays the API parsers': what does not decode
 * there does not decode here. It keeps no raw JSON and nothing the table
 * does not read (selectors, labels, node ports, not-ready addresses).
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "dns.h"

/* The address of ip, network order; 0 when absent or not IPv4. */
static uint32_t
ipv4(const char *ip)
{
	struct in_addr a;

	return ip && inet_pton(AF_INET, ip, &a) == 1 ? a.s_addr : 0;
}

static size_t
names_size(const struct api_service_port *p, size_t n)
{
	size_t len = 0;

	for (size_t i = 0; i < n; i++)
		len += p[i].name ? strlen(p[i].name) + 1 : 0;
	return len;
}

/* Copy ports p[0..n) into out, their names into pool; the pool's end. */
static char *
pack_ports(struct dns_rec_port *out, const struct api_service_port *p, size_t n, char *pool)
{
	for (size_t i = 0; i < n; i++) {
		out[i] = (struct dns_rec_port){NULL, (uint16_t)p[i].port, (uint16_t)p[i].target_port,
		                               p[i].protocol == API_PROTO_UDP};
		if (p[i].name) {
			size_t len = strlen(p[i].name) + 1;

			out[i].name = memcpy(pool, p[i].name, len);
			pool += len;
		}
	}
	return pool;
}

struct dns_rec_service *
dns_rec_service(const struct api_service *s)
{
	size_t n = s->spec.n_ports, size = sizeof(struct dns_rec_service) + n * sizeof(struct dns_rec_port);
	struct dns_rec_service *r = malloc(size + names_size(s->spec.ports, n));

	if (!r)
		return NULL;
	r->cluster_ip = ipv4(s->spec.cluster_ip);
	r->headless = s->spec.headless != 0;
	r->n_ports = (uint32_t)n;
	pack_ports(r->ports, s->spec.ports, n, (char *)r + size);
	return r;
}

struct dns_rec_endpoints *
dns_rec_endpoints(const struct api_endpoints *ep)
{
	size_t n = ep->n_ports, ports = sizeof(struct dns_rec_endpoints) + n * sizeof(struct dns_rec_port);
	size_t size = ports + ep->n_addresses * sizeof(uint32_t);
	struct dns_rec_endpoints *r = malloc(size + names_size(ep->ports, n));
	uint32_t *ready;

	if (!r)
		return NULL;
	r->cluster_ip = ipv4(ep->cluster_ip);
	r->n_ports = (uint32_t)n;
	r->n_ready = 0;
	r->ready = ready = (uint32_t *)((char *)r + ports);
	for (size_t i = 0; i < ep->n_addresses; i++)
		if ((ready[r->n_ready] = ipv4(ep->addresses[i].ip)))
			r->n_ready++;
	pack_ports(r->ports, ep->ports, n, (char *)r + size);
	return r;
}

struct dns_rec_claim *
dns_rec_claim(const struct api_service_ip *sip)
{
	const char *svc = sip->service ? sip->service : "", *uid = sip->uid ? sip->uid : "";
	size_t ls = strlen(svc) + 1, lu = strlen(uid) + 1;
	struct dns_rec_claim *r = malloc(sizeof(*r) + ls + lu);

	if (!r)
		return NULL;
	memcpy(r->service, svc, ls);
	r->uid = memcpy(r->service + ls, uid, lu);
	return r;
}
