/*
 * dns_table.c: the cluster's names and their records, by lower-case name
 * in one open-addressing hash, so that a query costs one lookup. Records
 * are made per service (dns_table_set replaces one service's records and
 * touches no other), so an informer event costs O(that service's
 * records), never a rebuild. Names below the cluster domain that only
 * have names below them (default.svc.DOMAIN, _tcp.SVC.default.svc.DOMAIN)
 * exist too, so that they answer NODATA rather than NXDOMAIN. Pure: no
 * I/O, no logging; it knows nothing of etcd (dns_sync.c) or of the wire
 * (dns_answer.c).
 *
 * Memory, as skiff-dns's RSS target wants it small (1,000 services in
 * about 0.4 MB): a name is one allocation with its text inside, and its
 * slot a pointer (no per-name hash handle); a service's records, its name
 * and their target names are one block, made once its records are
 * counted, found through its own name's node (no index by service).
 * "SVC" and "SVC.default" are not names of their own: dns_table_find
 * looks them up as SVC.default.svc.DOMAIN, whose records they share; nor
 * is _tcp.SVC.default.svc.DOMAIN, which exists while an SRV record is
 * below it.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <ldns/ldns.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns.h"
#include "probe.h"

/* A service's records: rrs[0..n), then (the pool) the service's name
 * and the target names they point at; one block, replaced whole by each
 * set. rrs[0] is the record of no type at SVC.default.svc.DOMAIN, the
 * only one of its kind there but another service's of the same name in
 * another case: owner_find reaches the block through it. */
struct dns_owner {
	struct dns_owner *prev, *next; /* every service's (dns_table_clear) */
	uint32_t n, cap, pool_used, pool_cap;
	struct dns_rr rrs[];
};

#define OWNER_POOL(o) ((char *)((o)->rrs + (o)->cap))
#define OWNER_NAME(o) OWNER_POOL(o) /* the pool's first string */

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

/* ---- names: open addressing with linear probing ---- */

uint32_t
dns_hash(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint32_t h = 2166136261u; /* FNV-1a */

	for (size_t i = 0; i < len; i++)
		h = (h ^ b[i]) * 16777619u;
	return h;
}

/* The slot of name, or the empty slot where it would go. t->n_slots > 0. */
static size_t
slot_of(const struct dns_table *t, const char *name, size_t len, uint32_t h)
{
	size_t mask = t->n_slots - 1, i = h & mask;
	const struct dns_node *n;

	while ((n = t->slots[i]) && (n->hash != h || strncmp(n->name, name, len) != 0 || n->name[len]))
		i = (i + 1) & mask;
	return i;
}

/* Room for one more name (the load stays under 3/4). 0 or -1. */
static int
slots_reserve(struct dns_table *t)
{
	struct dns_node **old = t->slots;
	size_t n = probe_size(t->n_slots, t->n_nodes, 64), old_n = t->n_slots;

	if (n == old_n)
		return 0;
	if (!(t->slots = calloc(n, sizeof(*t->slots)))) {
		t->slots = old;
		return -1;
	}
	for (t->n_slots = n; old_n-- > 0;)
		if (old[old_n])
			t->slots[slot_of(t, old[old_n]->name, strlen(old[old_n]->name), old[old_n]->hash)] = old[old_n];
	free(old);
	return 0;
}

PROBE_CALLBACKS(node, struct dns_table, slots)

/* Empty slot i, moving back the names after it that probed past it. */
static void
slot_clear(struct dns_table *t, size_t i)
{
	t->slots[i] = NULL;
	probe_close(t->n_slots, i, node_hash, node_move, t);
}

/* Add one to the count of name (made when absent). NULL out of memory. */
static struct dns_node *
node_ref(struct dns_table *t, const char *name, size_t len)
{
	uint32_t h = dns_hash(name, len);
	struct dns_node *n;
	size_t i;

	if (slots_reserve(t) < 0)
		return NULL;
	i = slot_of(t, name, len, h);
	if (!(n = t->slots[i])) {
		if (!(n = malloc(sizeof(*n) + len + 1)))
			return NULL;
		n->rrs = NULL;
		n->refs = 0;
		n->hash = h;
		memcpy(n->name, name, len);
		n->name[len] = '\0';
		t->slots[i] = n;
		t->n_nodes++;
	}
	n->refs++;
	return n;
}

/* Take one from the count of name; the node goes at 0. */
static void
node_unref(struct dns_table *t, const char *name, size_t len)
{
	struct dns_node *n;
	size_t i;

	if (!t->n_slots)
		return;
	i = slot_of(t, name, len, dns_hash(name, len));
	if ((n = t->slots[i]) && --n->refs == 0) {
		slot_clear(t, i);
		t->n_nodes--;
		free(n);
	}
}

/* The next name a record at name counts for, after p: a record counts
 * for its own name and, in the zone, each name above it up to the domain
 * but those starting with '_' (_tcp.SVC.default.svc.DOMAIN: dns_table_find
 * finds them through the SRV records below). NULL after the last. */
static const char *
next_up(const struct dns_table *t, const char *p, int zone)
{
	while (zone && strlen(p) > strlen(t->domain) && (p = strchr(p, '.')))
		if (*++p != '_')
			return p;
	return NULL;
}

/* Count a record at name for its names. 0, or -1 (nothing counted). */
static int
names_ref(struct dns_table *t, const char *name)
{
	int zone = dns_table_in_zone(t, name);

	for (const char *p = name; p; p = next_up(t, p, zone))
		if (!node_ref(t, p, strlen(p))) {
			for (const char *q = name; q != p; q = next_up(t, q, zone))
				node_unref(t, q, strlen(q));
			return -1;
		}
	return 0;
}

static void
names_unref(struct dns_table *t, const char *name)
{
	int zone = dns_table_in_zone(t, name);

	for (const char *p = name; p; p = next_up(t, p, zone))
		node_unref(t, p, strlen(p));
}

/* ---- a service's records ---- */

/* Add a record at name for o (in the room its block has). 0 or -1. */
static int
add_rr(struct dns_table *t, struct dns_owner *o, const char *name, const struct dns_rr *proto)
{
	struct dns_rr *rr = &o->rrs[o->n];
	struct dns_node *n;
	size_t len = strlen(name);

	if (o->n == o->cap || names_ref(t, name) < 0)
		return -1;
	n = t->slots[slot_of(t, name, len, dns_hash(name, len))];
	*rr = *proto;
	rr->node = n;
	rr->next = n->rrs;
	n->rrs = rr;
	o->n++;
	return 0;
}

static int
add_a(struct dns_table *t, struct dns_owner *o, const char *name, uint32_t ip)
{
	struct dns_rr rr = {.type = LDNS_RR_TYPE_A, .a = ip};

	return add_rr(t, o, name, &rr);
}

/* A copy of s in o's pool; NULL when it is full. */
static const char *
pool_add(struct dns_owner *o, const char *s)
{
	size_t len = strlen(s) + 1;

	if (o->pool_cap - o->pool_used < len)
		return NULL;
	memcpy(OWNER_POOL(o) + o->pool_used, s, len);
	o->pool_used += (uint32_t)len;
	return OWNER_POOL(o) + o->pool_used - len;
}

/* A record of type pointing at target, which is o's (in its pool). */
static int
add_named(struct dns_table *t, struct dns_owner *o, const char *name, uint16_t type, uint16_t port, const char *target)
{
	struct dns_rr rr = {.type = type, .port = port, .target = target};

	return target ? add_rr(t, o, name, &rr) : -1;
}

/* Drop o's records, the names only they kept, and o. */
static void
owner_drop(struct dns_table *t, struct dns_owner *o)
{
	for (size_t i = 0; i < o->n; i++) {
		struct dns_node *n = o->rrs[i].node;
		struct dns_rr **pp = &n->rrs;
		char name[DNS_NAME_MAX];

		while (*pp && *pp != &o->rrs[i])
			pp = &(*pp)->next;
		if (*pp)
			*pp = (*pp)->next;
		/* n may go inside the walk: copy its name first. */
		snprintf(name, sizeof(name), "%s", n->name);
		names_unref(t, name);
	}
	if (o->prev)
		o->prev->next = o->next;
	else
		t->owners = o->next;
	if (o->next)
		o->next->prev = o->prev;
	t->n_owners--;
	free(o);
}

/* A block with room for the records s makes (fqdn: its name), s's name
 * and their target names, first of t's owners; NULL out of memory. */
static struct dns_owner *
owner_new(struct dns_table *t, const struct dns_service *s, const char *fqdn)
{
	size_t named = 0, len = strlen(fqdn) + 1, cap, pool;
	struct dns_owner *o;

	for (size_t i = 0; i < s->n_ports; i++)
		named += s->ports[i].name && *s->ports[i].name;
	if (!s->headless) {
		cap = 1 + (s->cluster_ip ? 2 : 0) + named;
		pool = 0; /* the targets are the name's own node's text */
	} else {
		cap = 1 + s->n_ready * (2 + named);
		pool = s->n_ready * named * (sizeof("255-255-255-255.") - 1 + len);
	}
	pool += strlen(s->name) + 1;
	if (cap > UINT32_MAX / sizeof(struct dns_rr) || pool > UINT32_MAX ||
	    !(o = malloc(sizeof(*o) + cap * sizeof(struct dns_rr) + pool)))
		return NULL;
	*o = (struct dns_owner){.next = t->owners, .cap = (uint32_t)cap, .pool_cap = (uint32_t)pool};
	pool_add(o, s->name);
	if (t->owners)
		t->owners->prev = o;
	t->owners = o;
	t->n_owners++;
	return o;
}

/* name's node, NULL when absent (name as stored: lower case). */
static struct dns_node *
lookup(const struct dns_table *t, const char *name)
{
	size_t len = strlen(name);

	return t->n_slots ? t->slots[slot_of(t, name, len, dns_hash(name, len))] : NULL;
}

/* SVC.default.svc.DOMAIN of service name, lower case, into out. */
static void
service_fqdn(const struct dns_table *t, const char *name, char *out, size_t len)
{
	snprintf(out, len, "%s.default.svc.%s", name, t->domain);
	for (char *p = out; *p; p++)
		*p = (char)tolower((unsigned char)*p);
}

/* The block whose first record r is (a record of no type). */
static struct dns_owner *
owner_of(const struct dns_rr *r)
{
	return (struct dns_owner *)(void *)((char *)(uintptr_t)r - offsetof(struct dns_owner, rrs));
}

/* The block of service name (exactly), NULL when it has none. O(records
 * at its name). */
static struct dns_owner *
owner_find(const struct dns_table *t, const char *name)
{
	char fqdn[DNS_NAME_MAX];
	const struct dns_node *n;

	service_fqdn(t, name, fqdn, sizeof(fqdn));
	for (const struct dns_rr *r = (n = lookup(t, fqdn)) ? n->rrs : NULL; r; r = r->next)
		if (!r->type && strcmp(OWNER_NAME(owner_of(r)), name) == 0)
			return owner_of(r);
	return NULL;
}

void
dns_table_remove(struct dns_table *t, const char *name)
{
	struct dns_owner *o = owner_find(t, name);

	if (!o)
		return;
	owner_drop(t, o);
	t->serial++;
}

void
dns_table_clear(struct dns_table *t)
{
	while (t->owners) {
		owner_drop(t, t->owners);
		t->serial++;
	}
	if (!t->n_nodes) {
		free(t->slots);
		t->slots = NULL;
		t->n_slots = 0;
	}
}

/* "10-244-1-5" for 10.244.1.5. */
static void
dashed(uint32_t ip, char *buf, size_t len)
{
	const uint8_t *b = (const uint8_t *)&ip;

	snprintf(buf, len, "%u-%u-%u-%u", b[0], b[1], b[2], b[3]);
}

/* The SRV records of s's named ports at _NAME._PROTO.FQDN (fqdn: what
 * the targets point at). */
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
			                (uint16_t)(p->target_port ? p->target_port : p->port), pool_add(o, target));
		}
	}
	return rc;
}

/* A records of the service's name (name) for the cluster IP, or
 * (headless) for every ready address, each of which also gets a name of
 * its own. fqdn: name, where records pointing at it may keep it. */
static int
add_addresses(struct dns_table *t, struct dns_owner *o, const struct dns_service *s, const char *name, const char *fqdn)
{
	char pod[DNS_NAME_MAX], dash[16], rev[DNS_NAME_MAX];
	const uint8_t *b = (const uint8_t *)&s->cluster_ip;
	int rc = 0;

	if (!s->headless) {
		if (!s->cluster_ip)
			return 0;
		rc |= add_a(t, o, name, s->cluster_ip);
		snprintf(rev, sizeof(rev), "%u.%u.%u.%u.in-addr.arpa", b[3], b[2], b[1], b[0]);
		return rc | add_named(t, o, rev, LDNS_RR_TYPE_PTR, 0, fqdn);
	}
	for (size_t j = 0; j < s->n_ready; j++) {
		rc |= add_a(t, o, name, s->ready[j]);
		dashed(s->ready[j], dash, sizeof(dash));
		snprintf(pod, sizeof(pod), "%s.%s", dash, name);
		rc |= add_a(t, o, pod, s->ready[j]);
	}
	return rc;
}

int
dns_table_set(struct dns_table *t, const struct dns_service *s)
{
	struct dns_owner *o = owner_find(t, s->name);
	char name[DNS_NAME_MAX];
	const char *fqdn;
	struct dns_rr exists = {0};

	if (o)
		owner_drop(t, o);
	t->serial++;
	service_fqdn(t, s->name, name, sizeof(name));
	if (!(o = owner_new(t, s, name)))
		return -1;
	/* A record of no type, first (owner_find): the service's name exists
	 * even without addresses (NODATA, not NXDOMAIN). Non-headless records
	 * point at the service's name: the text of its node, which that
	 * record keeps while the block lives. */
	if (add_rr(t, o, name, &exists) < 0 || !(fqdn = s->headless ? name : o->rrs[0].node->name) ||
	    add_addresses(t, o, s, name, fqdn) < 0 || add_srv(t, o, s, fqdn) < 0) {
		owner_drop(t, o);
		return -1;
	}
	return 0;
}

/* The full name a short one stands for ("SVC" and "SVC.default" are
 * SVC.default.svc.DOMAIN's), into out; 0 when name is not one. */
static int
short_name(const struct dns_table *t, const char *name, char *out, size_t len)
{
	const char *dot = strchr(name, '.');
	int n;

	if (!*name || *name == '.')
		return 0;
	if (!dot)
		n = snprintf(out, len, "%s.default.svc.%s", name, t->domain);
	else if (strcmp(dot, ".default") == 0)
		n = snprintf(out, len, "%s.svc.%s", name, t->domain);
	else
		return 0;
	return n > 0 && (size_t)n < len;
}

/* 1 when _PROTO.SVC... (name) has an SRV record right below it, in the
 * blocks of the services at its parent. O(those services' records). */
static int
srv_below(const struct dns_table *t, const char *name)
{
	const char *dot = name[0] == '_' ? strchr(name, '.') : NULL;
	const struct dns_node *n = dot ? lookup(t, dot + 1) : NULL;
	size_t len = strlen(name);

	for (const struct dns_rr *r = n ? n->rrs : NULL; r; r = r->next) {
		const struct dns_owner *o = r->type ? NULL : owner_of(r);

		for (size_t i = 0; o && i < o->n; i++) {
			const char *at = o->rrs[i].node->name;
			size_t l = strlen(at);

			if (o->rrs[i].type == LDNS_RR_TYPE_SRV && l > len + 1 && at[l - len - 1] == '.' &&
			    strcmp(at + l - len, name) == 0)
				return 1;
		}
	}
	return 0;
}

const struct dns_node *
dns_table_find(const struct dns_table *t, const char *name)
{
	static const struct dns_node ent; /* a name with names below it only */
	const struct dns_node *n = lookup(t, name);
	char full[DNS_NAME_MAX];

	if (n)
		return n;
	if (short_name(t, name, full, sizeof(full)))
		return lookup(t, full);
	return srv_below(t, name) ? &ent : NULL;
}

size_t
dns_table_services(const struct dns_table *t)
{
	return t->n_owners;
}

size_t
dns_table_names(const struct dns_table *t)
{
	return t->n_nodes;
}
