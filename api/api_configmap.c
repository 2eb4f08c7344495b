/*
 * api_configmap.c: ConfigMap and Secret decode/encode, their values, and
 * the references a pod makes to them. A Secret's values stay base64 in
 * the object (they are decoded only for whoever uses them, the node
 * agent); nothing here hides them: skiffctl does not print them.
 */
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "api_configmap.h"
#include "api_internal.h"

int
api_check_config_key(const char *key, struct api_error *err)
{
	char q[96];
	size_t i;

	for (i = 0; key[i]; i++)
		if (!((key[i] >= 'a' && key[i] <= 'z') || (key[i] >= 'A' && key[i] <= 'Z') ||
		      (key[i] >= '0' && key[i] <= '9') || key[i] == '-' || key[i] == '_' || key[i] == '.'))
			break;
	if (key[i] || i == 0 || i > 253 || strcmp(key, ".") == 0 || strcmp(key, "..") == 0)
		return api_error_set(err, "%s is not a valid key (1 to 253 of A-Z a-z 0-9 - _ ., not . or ..)",
		                     api_quote(q, sizeof(q), key));
	return 0;
}

static int
b64_val(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	return c == '+' ? 62 : c == '/' ? 63 : -1;
}

unsigned char *
api_base64_decode(const char *s, size_t *len)
{
	size_t n = strlen(s), i, o = 0, pad = 0;
	unsigned char *out;
	int v[4], k;

	if (n % 4)
		return NULL;
	if (n && s[n - 1] == '=')
		pad = n >= 2 && s[n - 2] == '=' ? 2 : 1;
	if (!(out = malloc(n / 4 * 3 + 1)))
		return NULL;
	for (i = 0; i < n; i += 4) {
		for (k = 0; k < 4; k++) {
			v[k] = i + 4 == n && k >= 4 - (int)pad ? 0 : b64_val((unsigned char)s[i + k]);
			if (v[k] < 0) {
				free(out);
				return NULL;
			}
		}
		out[o++] = (unsigned char)(v[0] << 2 | v[1] >> 4);
		out[o++] = (unsigned char)((v[1] & 15) << 4 | v[2] >> 2);
		out[o++] = (unsigned char)((v[2] & 3) << 6 | v[3]);
	}
	o -= pad;
	out[o] = '\0';
	*len = o;
	return out;
}

/* A map member: keys checked as data keys, values as base64 when b64;
 * adds the bytes of the values to *total. */
static void
dec_values(struct api_dec *d, const json_t *j, const char *key, struct api_labels *out, int b64, size_t *total)
{
	struct api_error err;
	unsigned char *raw;
	size_t i, mark, len;

	dec_labels(d, j, key, out, DEC_MAP_ANY);
	for (i = 0; i < out->n; i++) {
		mark = dec_push(d, key);
		dec_check(d, out->items[i].key, api_check_config_key(out->items[i].key, &err), &err);
		len = strlen(out->items[i].value);
		if (b64 && !(raw = api_base64_decode(out->items[i].value, &len)))
			dec_err_at(d, out->items[i].key, "must be base64 (standard alphabet, padded)");
		else if (b64)
			free(raw);
		*total += len;
		dec_pop(d, mark);
	}
}

static void
decode_common(struct api_dec *d, const json_t *j, struct api_configmap *cm, int secret)
{
	size_t total = 0;

	dec_object(d, j, "metadata", &cm->meta, api_meta_decode_subdomain);
	if (!cm->meta.name)
		dec_err_at(d, "metadata.name", "required");
	dec_values(d, j, "data", &cm->data, secret, &total);
	if (secret) {
		dec_values(d, j, "stringData", &cm->string_data, 0, &total);
		cm->type = dec_str(d, j, "type", 0);
	} else {
		dec_values(d, j, "binaryData", &cm->binary_data, 1, &total);
		for (size_t i = 0; i < cm->binary_data.n; i++)
			if (api_labels_get(&cm->data, cm->binary_data.items[i].key))
				dec_err_at(d, "binaryData", "key %s is also in data", cm->binary_data.items[i].key);
	}
	if (total > API_CONFIGMAP_MAX)
		dec_err_at(d, "data", "values add up to %zu bytes, more than %d", total, API_CONFIGMAP_MAX);
}

static void
configmap_decode(struct api_dec *d, const json_t *j, void *out)
{
	decode_common(d, j, out, 0);
}

static void
secret_decode(struct api_dec *d, const json_t *j, void *out)
{
	decode_common(d, j, out, 1);
}

static json_t *
encode_common(const struct api_configmap *cm, const char *kind)
{
	json_t *j = json_object();
	int rc = !j;

	if (j) {
		rc |= enc_str(j, "apiVersion", "v1");
		rc |= enc_str(j, "kind", kind);
		rc |= enc_set(j, "metadata", api_meta_encode(&cm->meta));
		rc |= enc_labels(j, "data", &cm->data);
		rc |= enc_labels(j, "binaryData", &cm->binary_data);
		rc |= enc_labels(j, "stringData", &cm->string_data);
		rc |= enc_str(j, "type", cm->type);
	}
	return enc_done(j, rc);
}

static json_t *
configmap_encode(const void *obj)
{
	return encode_common(obj, "ConfigMap");
}

static json_t *
secret_encode(const void *obj)
{
	return encode_common(obj, "Secret");
}

static void
configmap_clear(void *obj)
{
	struct api_configmap *cm = obj;

	api_meta_clear(&cm->meta);
	api_labels_clear(&cm->data);
	api_labels_clear(&cm->binary_data);
	api_labels_clear(&cm->string_data);
	free(cm->type);
	memset(cm, 0, sizeof(*cm));
}

const struct api_kind_ops api_configmap_ops = {"ConfigMap", sizeof(struct api_configmap), configmap_decode,
                                               configmap_encode, configmap_clear};
const struct api_kind_ops api_secret_ops = {"Secret", sizeof(struct api_configmap), secret_decode, secret_encode,
                                            configmap_clear};

/* Set the values of l into o, base64 decoded when b64. -1 when out of memory. */
static int
put_values(json_t *o, const struct api_labels *l, int b64)
{
	unsigned char *raw;
	size_t i, len;
	int rc;

	for (i = 0; i < l->n; i++) {
		raw = b64 ? api_base64_decode(l->items[i].value, &len) : (unsigned char *)l->items[i].value;
		if (!raw)
			continue; /* refused by the decoder; only a hand-made struct gets here */
		rc = json_object_set_new(o, l->items[i].key, json_string_nocheck((const char *)raw));
		if (b64)
			free(raw);
		if (rc < 0)
			return -1;
	}
	return 0;
}

json_t *
api_configmap_values(const struct api_configmap *cm, int secret)
{
	json_t *o = json_object();

	if (!o || put_values(o, &cm->data, secret) < 0 || put_values(o, &cm->binary_data, 1) < 0 ||
	    put_values(o, &cm->string_data, 0) < 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* ---- references of a pod ---- */

static void
ref(const json_t *o, const char *key, enum api_kind kind, api_config_ref_fn fn, void *arg)
{
	const char *name = json_string_value(json_object_get(o, key));

	if (name && *name)
		fn(kind, name, arg);
}

static void
container_refs(const json_t *c, api_config_ref_fn fn, void *arg)
{
	const json_t *vf;
	size_t i;
	json_t *e;

	json_array_foreach(json_object_get(c, "env"), i, e) {
		vf = json_object_get(e, "valueFrom");
		ref(json_object_get(vf, "configMapKeyRef"), "name", API_CONFIGMAP, fn, arg);
		ref(json_object_get(vf, "secretKeyRef"), "name", API_SECRET, fn, arg);
	}
	json_array_foreach(json_object_get(c, "envFrom"), i, e) {
		ref(json_object_get(e, "configMapRef"), "name", API_CONFIGMAP, fn, arg);
		ref(json_object_get(e, "secretRef"), "name", API_SECRET, fn, arg);
	}
}

void
api_pod_config_refs(const json_t *pod, api_config_ref_fn fn, void *arg)
{
	const json_t *spec = json_object_get(pod, "spec");
	size_t i, k;
	json_t *c, *v, *s;

	json_array_foreach(json_object_get(spec, "containers"), i, c)
		container_refs(c, fn, arg);
	json_array_foreach(json_object_get(spec, "initContainers"), i, c)
		container_refs(c, fn, arg);
	json_array_foreach(json_object_get(spec, "volumes"), i, v) {
		ref(json_object_get(v, "configMap"), "name", API_CONFIGMAP, fn, arg);
		ref(json_object_get(v, "secret"), "secretName", API_SECRET, fn, arg);
		json_array_foreach(json_object_get(json_object_get(v, "projected"), "sources"), k, s) {
			ref(json_object_get(s, "configMap"), "name", API_CONFIGMAP, fn, arg);
			ref(json_object_get(s, "secret"), "name", API_SECRET, fn, arg);
		}
	}
}
