/*
 * dns_cache.c: forwarded answers kept by (name, type, class) until their
 * TTL runs out, at most capacity of them, the least recently used going
 * first (uthash keeps insertion order: a hit moves an entry to the end,
 * eviction takes the head). The same cache keyed by raw bytes keeps
 * skiff-dns's own answers by the query's bytes after its id (dns_net.c).
 * Pure: the caller gives the time. It does not rewrite ids or TTLs; the
 * callers set the id of what they send.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns.h"

/* One allocation: the key, then the answer, in data. */
struct entry {
	uint8_t *msg; /* data + klen */
	size_t klen, len;
	double expires;
	UT_hash_handle hh;
	uint8_t data[]; /* the key: "TYPE/CLASS/name", or a query's bytes */
};

struct dns_cache {
	struct entry *map;
	size_t cap;
};

struct dns_cache *
dns_cache_new(size_t capacity)
{
	struct dns_cache *c = calloc(1, sizeof(*c));

	if (c)
		c->cap = capacity;
	return c;
}

static void
drop(struct dns_cache *c, struct entry *e)
{
	HASH_DEL(c->map, e);
	free(e);
}

void
dns_cache_free(struct dns_cache *c)
{
	struct entry *e, *tmp;

	if (!c)
		return;
	HASH_ITER(hh, c->map, e, tmp)
		drop(c, e);
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
	struct entry *e;

	if (!c->cap || ttl <= 0)
		return;
	HASH_FIND(hh, c->map, key, klen, e);
	if (e)
		drop(c, e);
	while (HASH_COUNT(c->map) >= c->cap)
		drop(c, c->map); /* the head: least recently used */
	if (!(e = calloc(1, sizeof(*e) + klen + len)))
		return;
	memcpy(e->data, key, klen);
	e->klen = klen;
	e->msg = memcpy(e->data + klen, answer, len);
	e->len = len;
	e->expires = now + ttl;
	HASH_ADD_KEYPTR(hh, c->map, e->data, klen, e);
}

const uint8_t *
dns_cache_get_raw(struct dns_cache *c, const void *key, size_t klen, double now, size_t *len)
{
	struct entry *e;

	HASH_FIND(hh, c->map, key, klen, e);
	if (!e)
		return NULL;
	if (e->expires <= now) {
		drop(c, e);
		return NULL;
	}
	HASH_DEL(c->map, e); /* to the end: most recently used */
	HASH_ADD_KEYPTR(hh, c->map, e->data, e->klen, e);
	*len = e->len;
	return e->msg;
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

void
dns_cache_clear(struct dns_cache *c)
{
	struct entry *e, *tmp;

	HASH_ITER(hh, c->map, e, tmp)
		drop(c, e);
}

size_t
dns_cache_count(const struct dns_cache *c)
{
	return HASH_COUNT(c->map);
}
