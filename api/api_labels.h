/*
 * api_labels.h: string-to-string maps kept sorted by key: metadata.labels,
 * metadata.annotations, spec.nodeSelector and equality selectors.
 */
#ifndef SKIFF_API_LABELS_H
#define SKIFF_API_LABELS_H

#include <stddef.h>

struct api_label {
	char *key;
	char *value;
};

/* Sorted by key (strcmp), keys unique. Zero-initialised = empty. Owns its
 * strings. */
struct api_labels {
	struct api_label *items;
	size_t n;
};

/* Borrowed value of key, or NULL. O(log n). */
const char *api_labels_get(const struct api_labels *l, const char *key);
/* Insert or replace (copies both). Returns 0, -1 when out of memory. O(n). */
int api_labels_set(struct api_labels *l, const char *key, const char *value);
/* Remove key if present. O(n). */
void api_labels_unset(struct api_labels *l, const char *key);
/* dst = copy of src (dst's old content freed). 0 or -1 (dst left empty). */
int api_labels_copy(struct api_labels *dst, const struct api_labels *src);
void api_labels_clear(struct api_labels *l);
int api_labels_equal(const struct api_labels *a, const struct api_labels *b);
/* 1 when every pair of sub is in l (an empty sub is in everything). */
int api_labels_subset(const struct api_labels *sub, const struct api_labels *l);
/* "{app=web,tier=fe}" ("{}" when empty), snprintf-style. */
size_t api_labels_format(const struct api_labels *l, char *buf, size_t len);

#endif
