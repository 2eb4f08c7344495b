/*
 * unit_fixtures.h: the cases of tests/fixtures/api/ for the unit tests
 * that ask questions of every object there (check_api_slim.c, check_rc.c,
 * check_scheduler_logic.c). Static: each test program includes it once;
 * it runs from the source tree.
 */
#ifndef SKIFF_UNIT_FIXTURES_H
#define SKIFF_UNIT_FIXTURES_H

#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>

#include "api/api.h"

typedef void (*uf_keep_fn)(const char *name, const char *text, size_t len, unsigned keep);

/* For the input.json of every case of suite that decodes as kind, fn
 * with keep 0 .. nkeep-1; with nkeep 0, fn once (keep 0) for every case,
 * decoding or not. Returns how many cases fn saw. */
static size_t
uf_each_case(const char *suite, enum api_kind kind, uf_keep_fn fn, unsigned nkeep)
{
	char path[600];
	struct dirent *de;
	size_t n = 0;
	DIR *d;

	snprintf(path, sizeof(path), "tests/fixtures/api/%s", suite);
	ck_assert_msg((d = opendir(path)) != NULL, "%s: run from the source tree", path);
	while ((de = readdir(d))) {
		struct api_errors errs = {0};
		void *obj = NULL;
		FILE *f;
		long len;
		char *text;

		snprintf(path, sizeof(path), "tests/fixtures/api/%s/%s/input.json", suite, de->d_name);
		if (de->d_name[0] == '.' || !(f = fopen(path, "rb")))
			continue;
		fseek(f, 0, SEEK_END);
		len = ftell(f);
		rewind(f);
		text = calloc(1, (size_t)len + 1);
		ck_assert_int_eq(fread(text, 1, (size_t)len, f), (size_t)len);
		fclose(f);
		if (nkeep == 0 || (obj = api_parse(kind, text, (size_t)len, &errs))) {
			for (unsigned keep = 0; keep < (nkeep ? nkeep : 1); keep++)
				fn(de->d_name, text, (size_t)len, keep);
			n++;
		}
		api_free(kind, obj); /* an invalid one is reported, never cached */
		api_errors_clear(&errs);
		free(text);
	}
	closedir(d);
	return n;
}

/* api_controller_selects on the whole pod and the same selectors on the
 * labels a cache kept of it give the same answers. */
__attribute__((unused)) static void
uf_selects_alike(const char *name, const struct api_pod *full, const struct api_labels *kept)
{
	static const char *const selectors[] = {
		"{\"app\": \"web\"}",
		"{\"app\": \"apache\", \"tier\": \"frontend\"}",
		"{\"matchExpressions\": [{\"key\": \"app\", \"operator\": \"Exists\"}]}",
		"{\"matchExpressions\": [{\"key\": \"tier\", \"operator\": \"NotIn\", \"values\": [\"backend\"]}]}",
		"{\"matchExpressions\": [{\"key\": \"app\", \"operator\": \"DoesNotExist\"}]}",
	};

	for (size_t i = 0; i < sizeof(selectors) / sizeof(selectors[0]); i++) {
		struct api_controller c = {0};
		struct api_errors errs = {0};
		json_t *j = json_loads(selectors[i], 0, NULL);

		ck_assert_int_eq(api_selector_from_json(j, &c.spec.selector, &errs), 0);
		ck_assert_msg(api_controller_selects(&c, full) == api_selector_matches(&c.spec.selector, kept),
		              "%s: selector %zu", name, i);
		api_selector_clear(&c.spec.selector);
		json_decref(j);
	}
}

#endif
