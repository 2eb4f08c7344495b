/*
 * fuzz_api_selector.c: libFuzzer target for label selectors. The input is
 * a selector (JSON) and, after the first newline, a label set (a JSON
 * object of strings). Decoding, matching and printing must not crash or
 * leak; an accepted selector must encode and decode to the same JSON, and
 * the printed length must not depend on the buffer.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_selector.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
labels_from(const char *text, size_t len, struct api_labels *l)
{
	json_t *j = json_loadb(text, len, 0, NULL), *v;
	const char *k;

	if (json_is_object(j))
		json_object_foreach(j, k, v)
			if (json_is_string(v) && api_labels_set(l, k, json_string_value(v)) < 0)
				abort();
	json_decref(j);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data, *nl = memchr(data, '\n', size);
	size_t slen = nl ? (size_t)(nl - text) : size;
	struct api_errors errs = {0};
	struct api_labels labels = {0};
	struct api_selector sel, again;
	json_t *j = json_loadb(text, slen, JSON_DECODE_ANY, NULL), *e1, *e2;
	char small[8], big[4096], *s1, *s2;
	size_t need;

	if (nl)
		labels_from(nl + 1, size - slen - 1, &labels);
	if (j && api_selector_from_json(j, &sel, &errs) == 0) {
		api_selector_matches(&sel, &labels);
		need = api_selector_format(&sel, small, sizeof(small));
		if (api_selector_format(&sel, big, sizeof(big)) != need || api_selector_format(&sel, NULL, 0) != need)
			abort();
		e1 = api_selector_to_json(&sel);
		if (!e1 || api_selector_from_json(e1, &again, &errs) < 0)
			abort();
		e2 = api_selector_to_json(&again);
		s1 = json_dumps(e1, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
		s2 = json_dumps(e2, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
		if (!s1 || !s2 || strcmp(s1, s2) != 0)
			abort();
		free(s1);
		free(s2);
		json_decref(e1);
		json_decref(e2);
		api_selector_clear(&sel);
		api_selector_clear(&again);
	}
	api_labels_format(&labels, small, sizeof(small));
	api_errors_clear(&errs);
	api_labels_clear(&labels);
	json_decref(j);
	return 0;
}
