/*
 * hash.h: FNV-1a 64, the one hash the components use to notice changes
 * (the scheduler's binding values, the agent's container specs) and to
 * name events. Not for anything an attacker chooses to collide.
 */
#ifndef SKIFF_HASH_H
#define SKIFF_HASH_H

#include <stddef.h>
#include <stdint.h>

#define FNV64_BASIS 14695981039346656037ULL
#define FNV64_PRIME 1099511628211ULL

/* h extended by len bytes of p. */
static inline uint64_t
fnv1a64(uint64_t h, const void *p, size_t len)
{
	const unsigned char *s = p;

	for (size_t i = 0; i < len; i++) {
		h ^= s[i];
		h *= FNV64_PRIME;
	}
	return h;
}

#endif
