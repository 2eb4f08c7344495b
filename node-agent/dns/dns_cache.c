/*
 * dns_cache.c: forwarded answers kept by (name, type, class) until their
 * TTL runs out, at most capacity of them, the least recently used going
 * first (a list in order of use: a hit moves an entry to the end,
 * eviction takes the head). The same cache keyed by raw bytes keeps
 * skiff-dns's own answers by the query's bytes after its id (dns_net.c).
 * Pure: the caller gives the time. It does not rewrite ids or TTLs; the
 * callers set the id of what they send.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns.h"
#include "probe.h"

/* One allocation: the key, then the answer, in data. */
struct entry {
	struct entry *prev, *next; /* least recently used first */
	double expires;
	uint32_t hash;
	uint16_t klen, len;
	uint8_t data[]; /* the key: "TYPE/CLASS/name", or a query's bytes */
};

/* Entries by key in open addressing (linear probing, under 3/4 full:
 * a pointer per slot instead of a hash handle per entry), and in a list
 * from least to most recently used. */
struct dns_cache {
	struct entry **slots;
	size_t n_slots, count, cap; /* n_slots: 0 or a power of two */
	struct entry *head, *tail;
};

struct dns_cache *
dns_cache_new(size_t capacity)
{
	struct dns_cache *c = calloc(1, sizeof(*c));

	if (c)
		c->cap = capacity;
	return c;
}

/* The slot of key, or the empty slot where it would go. n_slots > 0. */
static size_t
slot_of(const struct dns_cache *c, const void *key, size_t klen, uint32_t h)
{
	size_t mask = c->n_slots - 1, i = h & mask;
	const struct entry *e;

	while ((e = c->slots[i]) && (e->hash != h || e->klen != klen || memcmp(e->data, key, klen) != 0))
		i = (i + 1) & mask;
	return i;
}

static void
list_unlink(struct dns_cache *c, struct entry *e)
{
	*(e->prev ? &e->prev->next : &c->head) = e->next;
	*(e->next ? &e->next->prev : &c->tail) = e->prev;
}

/* e goes last: the most recently used. */
static void
list_append(struct dns_cache *c, struct entry *e)
{
	e->next = NULL;
	e->prev = c->tail;
	*(c->tail ? &c->tail->next : &c->head) = e;
	c->tail = e;
}

PROBE_CALLBACKS(entry, struct dns_cache, slots)

static void
drop(struct dns_cache *c, struct entry *e)
{
	size_t i = slot_of(c, e->data, e->klen, e->hash);

	c->slots[i] = NULL;
	probe_close(c->n_slots, i, entry_hash, entry_move, c);
	list_unlink(c, e);
	c->count--;
	free(e);
}

/* Room for one more entry. 0 or -1. */
static int
slots_reserve(struct dns_cache *c)
{
	struct entry **old = c->slots, **grown;
	size_t n = probe_size(c->n_slots, c->count, 16);

	if (n == c->n_slots)
		return 0;
	if (!(grown = calloc(n, sizeof(*grown))))
		return -1;
	c->slots = grown;
	c->n_slots = n;
	for (struct entry *e = c->head; e; e = e->next)
		c->slots[slot_of(c, e->data, e->klen, e->hash)] = e;
	free(old);
	return 0;
}

static struct entry *
find(const struct dns_cache *c, const void *key, size_t klen, uint32_t h)
{
	return c->n_slots ? c->slots[slot_of(c, key, klen, h)] : NULL;
}

void
dns_cache_clear(struct dns_cache *c)
{
	while (c->head)
		drop(c, c->head);
}

void
dns_cache_free(struct dns_cache *c)
{
	if (!c)
		return;
	dns_cache_clear(c);
	free(c->slots);
	free(c);
}

static size_t
make_key(char *key, size_t len, const char *name, uint16_t type, uint16_t qclass)
{
	int n = snprintf(key, len, "%u/%u/%s", type, qclass, name);

	return n < 0 ? 0 : (size_t)n < len ? (size_t)n : len - 1;
}

void
dns_cache_put_raw(struct dns_cache *c, const void *key, size_t klen, const uint8_t *answer, size_t len, double now,
                  double ttl)
{
	uint32_t h = dns_hash(key, klen);
	struct entry *e;

	if (!c->cap || ttl <= 0 || klen > UINT16_MAX || len > UINT16_MAX)
		return;
	if ((e = find(c, key, klen, h)))
		drop(c, e);
	while (c->count >= c->cap)
		drop(c, c->head); /* least recently used */
	if (slots_reserve(c) < 0 || !(e = malloc(sizeof(*e) + klen + len)))
		return;
	e->expires = now + ttl;
	e->hash = h;
	e->klen = (uint16_t)klen;
	e->len = (uint16_t)len;
	memcpy(e->data, key, klen);
	memcpy(e->data + klen, answer, len);
	c->slots[slot_of(c, key, klen, h)] = e;
	list_append(c, e);
	c->count++;
}

const uint8_t *
dns_cache_get_raw(struct dns_cache *c, const void *key, size_t klen, double now, size_t *len)
{
	struct entry *e = find(c, key, klen, dns_hash(key, klen));

	if (!e)
		return NULL;
	if (e->expires <= now) {
		drop(c, e);
		return NULL;
	}
	list_unlink(c, e); /* to the end: most recently used */
	list_append(c, e);
	*len = e->len;
	return e->data + e->klen;
}

void
dns_cache_put(struct dns_cache *c, const char *name, uint16_t type, uint16_t qclass, const uint8_t *answer, size_t len,
              double now, double ttl)
{
	char key[DNS_NAME_MAX + 16];

	dns_cache_put_raw(c, key, make_key(key, sizeof(key), name, type, qclass), answer, len, now, ttl);
}

const uint8_t *
dns_cache_get(struct dns_cache *c, const char *name, uint16_t type, uint16_t qclass, double now, size_t *len)
{
	char key[DNS_NAME_MAX + 16];

	return dns_cache_get_raw(c, key, make_key(key, sizeof(key), name, type, qclass), now, len);
}

size_t
dns_cache_count(const struct dns_cache *c)
{
	return c->count;
}
