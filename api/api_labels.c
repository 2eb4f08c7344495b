/*
 * api_labels.c: sorted string maps. Arrays, not hash tables: label sets
 * are small (a handful of pairs) and the sorted order makes serialization
 * and comparison trivial.
 */
#include <stdlib.h>
#include <string.h>

#include "api_internal.h"
#include "api_labels.h"

/* Index of key, or of where it would go (*found = 0). */
static size_t
find(const struct api_labels *l, const char *key, int *found)
{
	size_t lo = 0, hi = l->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(l->items[mid].key, key);

		if (c == 0) {
			*found = 1;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = 0;
	return lo;
}

const char *
api_labels_get(const struct api_labels *l, const char *key)
{
	int found;
	size_t i = find(l, key, &found);

	return found ? l->items[i].value : NULL;
}

int
api_labels_set(struct api_labels *l, const char *key, const char *value)
{
	struct api_label *items;
	int found;
	size_t i = find(l, key, &found);
	char *v = strdup(value), *k = NULL;

	if (!v)
		return -1;
	if (found) {
		free(l->items[i].value);
		l->items[i].value = v;
		return 0;
	}
	if (!(k = strdup(key)) || !(items = realloc(l->items, (l->n + 1) * sizeof(*items)))) {
		free(k);
		free(v);
		return -1;
	}
	memmove(items + i + 1, items + i, (l->n - i) * sizeof(*items));
	items[i].key = k;
	items[i].value = v;
	l->items = items;
	l->n++;
	return 0;
}

void
api_labels_unset(struct api_labels *l, const char *key)
{
	int found;
	size_t i = find(l, key, &found);

	if (!found)
		return;
	free(l->items[i].key);
	free(l->items[i].value);
	memmove(l->items + i, l->items + i + 1, (l->n - i - 1) * sizeof(*l->items));
	l->n--;
}

void
api_labels_clear(struct api_labels *l)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		free(l->items[i].key);
		free(l->items[i].value);
	}
	free(l->items);
	l->items = NULL;
	l->n = 0;
}

int
api_labels_copy(struct api_labels *dst, const struct api_labels *src)
{
	size_t i;

	api_labels_clear(dst);
	if (!src->n)
		return 0;
	if (!(dst->items = calloc(src->n, sizeof(*dst->items))))
		return -1;
	for (dst->n = 0; dst->n < src->n; dst->n++) {
		i = dst->n;
		dst->items[i].key = strdup(src->items[i].key);
		dst->items[i].value = strdup(src->items[i].value);
		if (!dst->items[i].key || !dst->items[i].value) {
			dst->n++;
			api_labels_clear(dst);
			return -1;
		}
	}
	return 0;
}

int
api_labels_equal(const struct api_labels *a, const struct api_labels *b)
{
	size_t i;

	if (a->n != b->n)
		return 0;
	for (i = 0; i < a->n; i++)
		if (strcmp(a->items[i].key, b->items[i].key) || strcmp(a->items[i].value, b->items[i].value))
			return 0;
	return 1;
}

int
api_labels_subset(const struct api_labels *sub, const struct api_labels *l)
{
	size_t i;

	for (i = 0; i < sub->n; i++) {
		const char *v = api_labels_get(l, sub->items[i].key);

		if (!v || strcmp(v, sub->items[i].value))
			return 0;
	}
	return 1;
}

size_t
api_labels_format(const struct api_labels *l, char *buf, size_t len)
{
	struct api_sbuf sb;
	size_t i;

	api_sbuf_init(&sb, buf, len);
	api_sbuf_puts(&sb, "{");
	for (i = 0; i < l->n; i++)
		api_sbuf_printf(&sb, "%s%s=%s", i ? "," : "", l->items[i].key, l->items[i].value);
	api_sbuf_puts(&sb, "}");
	return sb.need;
}
