/*
 * dns_table.c: the cluster's names and their records, by lower-case name
 * in one hash, so that a query costs one lookup. Records are made per
 * service (dns_table_set replaces one service's records and touches no
 * other), so an informer event costs O(that service's records), never a
 * rebuild. Names below the cluster domain that only have names below them
 * (default.svc.DOMAIN, _tcp.SVC.default.svc.DOMAIN) exist too, so that
 * they answer NODATA rather than NXDOMAIN. Pure: no I/O, no logging; it
 * knows nothing of etcd (dns_sync.c) or of the wire (dns_answer.c).
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <ldns/ldns.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns.h"

struct dns_ref {
	struct dns_node *node;
	struct dns_rr *rr;
};

struct dns_owner {
	char *name;
	struct dns_ref *refs;
	size_t n, cap;
	UT_hash_handle hh;
};

void
dns_table_init(struct dns_table *t, const char *domain, uint32_t ttl)
{
	size_t n;

	memset(t, 0, sizeof(*t));
	snprintf(t->domain, sizeof(t->domain), "%s", domain);
	for (char *p = t->domain; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	n = strlen(t->domain);
	if (n && t->domain[n - 1] == '.')
		t->domain[n - 1] = '\0';
	t->ttl = ttl;
}

int
dns_table_in_zone(const struct dns_table *t, const char *name)
{
	size_t n = strlen(name), d = strlen(t->domain);

	if (n < d || strcmp(name + n - d, t->domain) != 0)
		return 0;
	return n == d || name[n - d - 1] == '.';
}

/* Add one to the count of name (made when absent). NULL out of memory. */
static struct dns_node *
node_ref(struct dns_table *t, const char *name, size_t len)
{
	struct dns_node *n;

	HASH_FIND(hh, t->nodes, name, len, n);
	if (!n) {
		if (!(n = calloc(1, sizeof(*n))) || !(n->name = strndup(name, len))) {
			free(n);
			return NULL;
		}
		HASH_ADD_KEYPTR(hh, t->nodes, n->name, len, n);
	}
	n->refs++;
	return n;
}

/* Take one from the count of name; the node goes at 0. */
static void
node_unref(struct dns_table *t, const char *name, size_t len)
{
	struct dns_node *n;

	HASH_FIND(hh, t->nodes, name, len, n);
	if (n && --n->refs <= 0) {
		HASH_DEL(t->nodes, n);
		free(n->name);
		free(n);
	}
}

/* The names a record at name counts for: itself and, in the zone, each
 * name above it up to the domain. fn(t, name, len) for each. */
static void
walk_up(struct dns_table *t, const char *name, void (*fn)(struct dns_table *, const char *, size_t))
{
	int zone = dns_table_in_zone(t, name);
	size_t d = strlen(t->domain);

	for (const char *p = name;;) {
		size_t len = strlen(p);

		fn(t, p, len);
		if (!zone || len <= d || !(p = strchr(p, '.')))
			return;
		p++;
	}
}

static void
up_ref(struct dns_table *t, const char *name, size_t len)
{
	/* The first, the record's own node, is made by add_rr. */
	struct dns_node *n;

	HASH_FIND(hh, t->nodes, name, len, n);
	if (n)
		n->refs++;
	else
		node_ref(t, name, len);
}

static int
owner_push(struct dns_owner *o, struct dns_node *n, struct dns_rr *rr)
{
	if (o->n == o->cap) {
		size_t cap = o->cap ? o->cap * 2 : 8;
		struct dns_ref *r = realloc(o->refs, cap * sizeof(*r));

		if (!r)
			return -1;
		o->refs = r, o->cap = cap;
	}
	o->refs[o->n++] = (struct dns_ref){n, rr};
	return 0;
}

/* Add rr (taken) at name for owner o. 0 or -1 (rr freed). */
static int
add_rr(struct dns_table *t, struct dns_owner *o, const char *name, struct dns_rr *rr)
{
	struct dns_node *n;

	rr->owner = o;
	walk_up(t, name, up_ref);
	HASH_FIND_STR(t->nodes, name, n);
	if (!n || owner_push(o, n, rr) < 0) {
		walk_up(t, name, node_unref);
		free(rr->target);
		free(rr);
		return -1;
	}
	rr->next = n->rrs;
	n->rrs = rr;
	return 0;
}

static int
add_a(struct dns_table *t, struct dns_owner *o, const char *name, uint32_t ip)
{
	struct dns_rr *rr = calloc(1, sizeof(*rr));

	if (!rr)
		return -1;
	rr->type = LDNS_RR_TYPE_A;
	rr->a = ip;
	return add_rr(t, o, name, rr);
}

static int
add_named(struct dns_table *t, struct dns_owner *o, const char *name, uint16_t type, uint16_t port, const char *target)
{
	struct dns_rr *rr = calloc(1, sizeof(*rr));

	if (!rr || !(rr->target = strdup(target))) {
		free(rr);
		return -1;
	}
	rr->type = type;
	rr->port = port;
	return add_rr(t, o, name, rr);
}

static void
owner_drop(struct dns_table *t, struct dns_owner *o)
{
	for (size_t i = 0; i < o->n; i++) {
		struct dns_node *n = o->refs[i].node;
		struct dns_rr **pp = &n->rrs;
		char name[DNS_NAME_MAX];

		while (*pp && *pp != o->refs[i].rr)
			pp = &(*pp)->next;
		if (*pp)
			*pp = (*pp)->next;
		free(o->refs[i].rr->target);
		free(o->refs[i].rr);
		/* n may go inside the walk: copy its name first. */
		snprintf(name, sizeof(name), "%s", n->name);
		walk_up(t, name, node_unref);
	}
	o->n = 0;
}

void
dns_table_remove(struct dns_table *t, const char *name)
{
	struct dns_owner *o;

	HASH_FIND_STR(t->owners, name, o);
	if (!o)
		return;
	owner_drop(t, o);
	HASH_DEL(t->owners, o);
	free(o->refs);
	free(o->name);
	free(o);
	t->serial++;
}

void
dns_table_clear(struct dns_table *t)
{
	struct dns_owner *o, *tmp;

	HASH_ITER(hh, t->owners, o, tmp)
		dns_table_remove(t, o->name);
}

/* "10-244-1-5" for 10.244.1.5. */
static void
dashed(uint32_t ip, char *buf, size_t len)
{
	const uint8_t *b = (const uint8_t *)&ip;

	snprintf(buf, len, "%u-%u-%u-%u", b[0], b[1], b[2], b[3]);
}

/* The SRV records of s's named ports at _NAME._PROTO.FQDN. */
static int
add_srv(struct dns_table *t, struct dns_owner *o, const struct dns_service *s, const char *fqdn)
{
	char name[DNS_NAME_MAX], target[DNS_NAME_MAX], pod[16];
	int rc = 0;

	for (size_t i = 0; i < s->n_ports; i++) {
		const struct dns_port *p = &s->ports[i];

		if (!p->name || !*p->name)
			continue;
		snprintf(name, sizeof(name), "_%s._%s.%s", p->name, p->proto, fqdn);
		if (!s->headless) {
			rc |= add_named(t, o, name, LDNS_RR_TYPE_SRV, (uint16_t)p->port, fqdn);
			continue;
		}
		for (size_t j = 0; j < s->n_ready; j++) {
			dashed(s->ready[j], pod, sizeof(pod));
			snprintf(target, sizeof(target), "%s.%s", pod, fqdn);
			rc |= add_named(t, o, name, LDNS_RR_TYPE_SRV,
			                (uint16_t)(p->target_port ? p->target_port : p->port), target);
		}
	}
	return rc;
}

/* A records of names[0..2] for the cluster IP, or (headless) for every
 * ready address, each of which also gets a name of its own. */
static int
add_addresses(struct dns_table *t, struct dns_owner *o, const struct dns_service *s, char names[3][DNS_NAME_MAX])
{
	char pod[DNS_NAME_MAX], dash[16], rev[DNS_NAME_MAX];
	const uint8_t *b = (const uint8_t *)&s->cluster_ip;
	int rc = 0;

	if (!s->headless) {
		if (!s->cluster_ip)
			return 0;
		for (int i = 0; i < 3; i++)
			rc |= add_a(t, o, names[i], s->cluster_ip);
		snprintf(rev, sizeof(rev), "%u.%u.%u.%u.in-addr.arpa", b[3], b[2], b[1], b[0]);
		return rc | add_named(t, o, rev, LDNS_RR_TYPE_PTR, 0, names[2]);
	}
	for (size_t j = 0; j < s->n_ready; j++) {
		for (int i = 0; i < 3; i++)
			rc |= add_a(t, o, names[i], s->ready[j]);
		dashed(s->ready[j], dash, sizeof(dash));
		snprintf(pod, sizeof(pod), "%s.%s", dash, names[2]);
		rc |= add_a(t, o, pod, s->ready[j]);
	}
	return rc;
}

int
dns_table_set(struct dns_table *t, const struct dns_service *s)
{
	struct dns_owner *o;
	char names[3][DNS_NAME_MAX];

	HASH_FIND_STR(t->owners, s->name, o);
	if (o)
		owner_drop(t, o);
	else {
		if (!(o = calloc(1, sizeof(*o))) || !(o->name = strdup(s->name))) {
			free(o);
			return -1;
		}
		HASH_ADD_KEYPTR(hh, t->owners, o->name, strlen(o->name), o);
	}
	t->serial++;
	snprintf(names[0], sizeof(names[0]), "%s", s->name);
	snprintf(names[1], sizeof(names[1]), "%s.default", s->name);
	snprintf(names[2], sizeof(names[2]), "%s.default.svc.%s", s->name, t->domain);
	for (int i = 0; i < 3; i++)
		for (char *p = names[i]; *p; p++)
			*p = (char)tolower((unsigned char)*p);
	/* A record of no type: the service's name exists even without
	 * addresses (NODATA, not NXDOMAIN). */
	if (add_named(t, o, names[2], 0, 0, "") < 0 || add_addresses(t, o, s, names) < 0 ||
	    add_srv(t, o, s, names[2]) < 0) {
		owner_drop(t, o);
		return -1;
	}
	return 0;
}

const struct dns_node *
dns_table_find(const struct dns_table *t, const char *name)
{
	struct dns_node *n;

	HASH_FIND_STR(t->nodes, name, n);
	return n;
}

size_t
dns_table_services(const struct dns_table *t)
{
	return HASH_COUNT(t->owners);
}

size_t
dns_table_names(const struct dns_table *t)
{
	return HASH_COUNT(t->nodes);
}
