/*
 * api_bounds.c: what keeps the cost of decoding one document bounded:
 * refusing arrays longer than a limit before decoding their items, and
 * finding duplicates by sorting (O(n log n), whatever keys an attacker
 * picks) instead of comparing every pair. Which limits apply where is the
 * business of each object's file.
 */
#include <stdlib.h>
#include <string.h>

#include "api_internal.h"

int
dec_too_many(struct api_dec *d, const json_t *obj, const char *key, size_t max)
{
	const json_t *a = obj ? json_object_get(obj, key) : NULL;

	if (!json_is_array(a) || json_array_size(a) <= max)
		return 0;
	dec_err_at(d, key, "must have at most %zu entries, got %zu", max, json_array_size(a));
	return 1;
}

static int
ref_cmp(const void *x, const void *y)
{
	const struct api_key_ref *a = x, *b = y;
	int c;

	if (a->num != b->num)
		return a->num < b->num ? -1 : 1;
	if ((c = strcmp(a->str ? a->str : "", b->str ? b->str : "")) != 0)
		return c;
	return a->idx < b->idx ? -1 : a->idx > b->idx;
}

void
api_mark_dups(struct api_key_ref *refs, size_t n, unsigned char *dup)
{
	size_t i;

	qsort(refs, n, sizeof(*refs), ref_cmp);
	for (i = 1; i < n; i++)
		if (refs[i].num == refs[i - 1].num &&
		    strcmp(refs[i].str ? refs[i].str : "", refs[i - 1].str ? refs[i - 1].str : "") == 0)
			dup[refs[i].idx] = 1;
}
