/*
 * fuzz_manifest_yaml.c: libFuzzer target for skiffctl's manifest reader:
 * YAML text (any number of documents, anchors and aliases) to JSON, then
 * each object through the field policy and the decoder of its kind, as
 * validate and apply judge it. Nothing may crash, leak or expand beyond
 * the reader's bound; what converts must dump to JSON text; the policy
 * reports a refused field exactly when the decoder refuses the object for
 * it (an object with policy errors never decodes).
 */
#include <stdint.h>
#include <stdlib.h>

#include "api/api.h"
#include "cli/skiffctl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
judge(const json_t *j)
{
	struct api_errors errs = {0}, warns = {0}, dec = {0};
	enum api_kind k = api_kind_detect(j);
	void *obj;
	int n;

	if (k == API_KIND_UNKNOWN || k == API_LEADER)
		return;
	n = api_fields_check(k, j, &errs, &warns);
	obj = api_decode(k, j, &dec);
	if (obj && n > 0)
		abort(); /* decoded despite a refused field */
	api_free(k, obj);
	api_errors_clear(&errs);
	api_errors_clear(&warns);
	api_errors_clear(&dec);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char msg[512], *text;
	json_t *j, *it;
	size_t i;

	if (!(j = ctl_yaml_to_json((const char *)data, size, msg, sizeof(msg))))
		return 0;
	if (!(text = json_dumps(j, JSON_ENCODE_ANY)))
		abort();
	free(text);
	if (json_is_object(j))
		judge(j);
	json_array_foreach(j, i, it) {
		if (json_is_object(it))
			judge(it);
	}
	json_decref(j);
	return 0;
}
