/*
 * probe.h: open addressing with linear probing, for tables that keep one
 * pointer per slot instead of a hash handle in every entry (the
 * informer's cache, skiff-dns's names and answers): a handle is 56 bytes,
 * a slot 8 at most 3/4 full. Header-only; each table owns its slots and
 * entries, finds with its own comparison, and calls these two for the
 * parts every such table shares. Deletion moves entries back (no
 * tombstones), so a table never needs rebuilding after deletes.
 */
#ifndef SKIFF_PROBE_H
#define SKIFF_PROBE_H

#include <stddef.h>
#include <stdint.h>

/* The number of slots for count + 1 entries under 3/4 full: n (min when
 * n is 0), doubled as often as needed. n and min: powers of two. */
static inline size_t
probe_size(size_t n, size_t count, size_t min)
{
	if (!n)
		n = min;
	while ((count + 1) * 4 > n * 3)
		n *= 2;
	return n;
}

/* Slot i of n (a power of two) has just been emptied: move back each
 * entry after it that probed past it. hash(arg, j) is the hash of slot
 * j's entry, -1 when j is empty; move(arg, from, to) moves one, leaving
 * from empty. O(the run of entries after i). */
static inline void
probe_close(size_t n, size_t i, int64_t (*hash)(void *arg, size_t j), void (*move)(void *arg, size_t from, size_t to),
            void *arg)
{
	size_t mask = n - 1, j = i, k;
	int64_t h;

	for (;;) {
		j = (j + 1) & mask;
		if ((h = hash(arg, j)) < 0)
			return;
		k = (size_t)h & mask;
		/* j stays when its home k lies cyclically in (i, j]. */
		if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
			continue;
		move(arg, j, i);
		i = j;
	}
}

/* probe_close's two callbacks, PREFIX_hash and PREFIX_move, for a table
 * of type T whose member SLOTS holds pointers to entries that keep their
 * hash in a member named hash. */
#define PROBE_CALLBACKS(PREFIX, T, SLOTS)                               \
	static int64_t PREFIX##_hash(void *arg, size_t j)               \
	{                                                               \
		const T *t_ = arg;                                      \
		return t_->SLOTS[j] ? (int64_t)t_->SLOTS[j]->hash : -1; \
	}                                                               \
	static void PREFIX##_move(void *arg, size_t from, size_t to)    \
	{                                                               \
		T *t_ = arg;                                            \
		t_->SLOTS[to] = t_->SLOTS[from];                        \
		t_->SLOTS[from] = NULL;                                 \
	}

#endif
