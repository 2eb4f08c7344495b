/*
 * dns_cache.c: forwarded answers kept by (name, type, class) until their
 * TTL runs out, at most capacity of them, the least recently used going
 * first (uthash keeps insertion order: a hit moves an entry to the end,
 * eviction takes the head). Pure: the caller gives the time. It does not
 * rewrite ids or TTLs; dns_fwd.c sets the id of what it sends.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns.h"

struct entry {
	char key[DNS_NAME_MAX + 16]; /* "TYPE/CLASS/name" */
	uint8_t *msg;
	size_t len;
	double expires;
	UT_hash_handle hh;
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
	free(e->msg);
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

static void
make_key(char *key, size_t len, const char *name, uint16_t type, uint16_t qclass)
{
	snprintf(key, len, "%u/%u/%s", type, qclass, name);
}

void
dns_cache_put(struct dns_cache *c, const char *name, uint16_t type, uint16_t qclass, const uint8_t *answer, size_t len,
              double now, double ttl)
{
	struct entry *e;
	char key[sizeof(e->key)];

	if (!c->cap || ttl <= 0)
		return;
	make_key(key, sizeof(key), name, type, qclass);
	HASH_FIND_STR(c->map, key, e);
	if (e)
		drop(c, e);
	while (HASH_COUNT(c->map) >= c->cap)
		drop(c, c->map); /* the head: least recently used */
	if (!(e = calloc(1, sizeof(*e))) || !(e->msg = malloc(len))) {
		free(e);
		return;
	}
	memcpy(e->key, key, sizeof(key));
	memcpy(e->msg, answer, len);
	e->len = len;
	e->expires = now + ttl;
	HASH_ADD_STR(c->map, key, e);
}

const uint8_t *
dns_cache_get(struct dns_cache *c, const char *name, uint16_t type, uint16_t qclass, double now, size_t *len)
{
	struct entry *e;
	char key[sizeof(e->key)];

	make_key(key, sizeof(key), name, type, qclass);
	HASH_FIND_STR(c->map, key, e);
	if (!e)
		return NULL;
	if (e->expires <= now) {
		drop(c, e);
		return NULL;
	}
	HASH_DEL(c->map, e); /* to the end: most recently used */
	HASH_ADD_STR(c->map, key, e);
	*len = e->len;
	return e->msg;
}

size_t
dns_cache_count(const struct dns_cache *c)
{
	return HASH_COUNT(c->map);
}
