/*
 * ctl_config.c: how skiffctl shows ConfigMaps and Secrets: the rows of
 * get, the lines of describe, and the -o json of a Secret. A Secret's
 * values are never printed (its keys and sizes are); read them with
 * etcdctl as an admin. This file does not decode or check them: apply
 * does that through api/.
 */
#include <stdlib.h>
#include <string.h>

#include "skiffctl.h"

/* The keys of a ConfigMap or Secret: data, binaryData and stringData
 * together (a key in two of them counts once). */
size_t
ctl_config_count(const json_t *j)
{
	static const char *const maps[] = {"data", "binaryData", "stringData"};
	const char *key;
	size_t n = 0, m, k;
	json_t *v;

	for (m = 0; m < 3; m++)
		json_object_foreach(json_object_get(j, maps[m]), key, v) {
			for (k = 0; k < m && !json_object_get(json_object_get(j, maps[k]), key); k++)
				;
			n += k == m;
		}
	return n;
}

size_t
ctl_config_row(enum api_kind k, const struct ctl_kv *kv, ctl_row row)
{
	const char *type = ctl_jstr(kv->j, "type");

	snprintf(row[0], CTL_CELL, "%s", kv->name);
	if (!json_is_object(kv->j)) {
		snprintf(row[1], CTL_CELL, "Invalid");
		return k == API_SECRET ? 3 : 2;
	}
	if (k == API_CONFIGMAP) {
		snprintf(row[1], CTL_CELL, "%zu", ctl_config_count(kv->j));
		return 2;
	}
	snprintf(row[1], CTL_CELL, "%s", type ? type : "Opaque");
	snprintf(row[2], CTL_CELL, "%zu", ctl_config_count(kv->j));
	return 3;
}

/* Replace every value of member map of o by "(hidden, N bytes)": N the
 * decoded length when b64. */
static void
hide(json_t *o, const char *map, int b64)
{
	json_t *m = json_object_get(o, map), *v;
	const char *key;
	unsigned char *raw;
	char buf[64];
	size_t len;

	json_object_foreach(m, key, v) {
		len = json_is_string(v) ? json_string_length(v) : 0;
		if (b64 && json_is_string(v) && (raw = api_base64_decode(json_string_value(v), &len)))
			free(raw);
		snprintf(buf, sizeof(buf), "(hidden, %zu bytes)", len);
		json_object_set_new(m, key, json_string(buf));
	}
}

void
ctl_secret_redact(json_t *o)
{
	hide(o, "data", 1);
	hide(o, "stringData", 0);
}

/* One line per key: a ConfigMap's text values as they are (they are not
 * secret), sizes only for binary values and every Secret value. */
void
ctl_config_describe(FILE *f, enum api_kind k, const struct ctl_kv *kv,
                    void (*line)(FILE *f, const char *key, const char *value))
{
	json_t *copy = json_deep_copy(kv->j), *v;
	const char *key;

	if (!copy)
		return;
	if (k == API_SECRET)
		ctl_secret_redact(copy);
	else
		hide(copy, "binaryData", 1);
	json_object_foreach(json_object_get(copy, "data"), key, v) {
		if (!json_object_get(json_object_get(copy, "stringData"), key))
			line(f, key, json_string_value(v) ? json_string_value(v) : "?");
	}
	json_object_foreach(json_object_get(copy, "binaryData"), key, v)
		line(f, key, json_string_value(v) ? json_string_value(v) : "?");
	json_object_foreach(json_object_get(copy, "stringData"), key, v)
		line(f, key, json_string_value(v) ? json_string_value(v) : "?");
	json_decref(copy);
}
