/*
 * api_envsource.c: decode/encode env valueFrom and envFrom, and $(VAR)
 * expansion (api_envsource.h). Field paths are checked against the list
 * Skiff can resolve; names of ConfigMaps and Secrets only as names (their
 * presence is the agent's business, at container creation).
 */
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "api_envsource.h"
#include "api_internal.h"

static const char *const field_paths[] = {
	"metadata.name", "metadata.namespace", "metadata.uid", "spec.nodeName", "status.podIP", "status.hostIP", NULL};
static const char *const resources[] = {"limits.cpu", "limits.memory", "requests.cpu", "requests.memory", NULL};

static int
one_of(const char *s, const char *const *list)
{
	for (; *list; list++)
		if (strcmp(s, *list) == 0)
			return 1;
	return 0;
}

/* metadata.labels['k'] or metadata.annotations['k'] with a label key k. */
static int
map_path(const char *s)
{
	const char *p = strncmp(s, "metadata.labels['", 17) == 0        ? s + 17
	                : strncmp(s, "metadata.annotations['", 22) == 0 ? s + 22
	                                                                : NULL;
	size_t n = p ? strlen(p) : 0;
	char key[320];

	if (!p || n < 3 || n - 2 >= sizeof(key) || strcmp(p + n - 2, "']") != 0)
		return 0;
	memcpy(key, p, n - 2);
	key[n - 2] = '\0';
	return api_check_label_key(key, NULL) == 0;
}

static int
check_field_path(const char *s, struct api_error *err)
{
	if (one_of(s, field_paths) || map_path(s))
		return 0;
	return api_error_set(err, "Skiff resolves metadata.name, metadata.namespace, metadata.uid, "
	                          "metadata.labels['KEY'], metadata.annotations['KEY'], spec.nodeName, "
	                          "status.podIP and status.hostIP");
}

static int
check_resource(const char *s, struct api_error *err)
{
	return one_of(s, resources) ? 0
	                            : api_error_set(err, "must be limits.cpu, limits.memory, requests.cpu or "
	                                                 "requests.memory");
}

static void
field_ref(struct api_dec *d, const json_t *j, void *out)
{
	struct api_env_value_from *v = out;
	const char *av = json_string_value(json_object_get(j, "apiVersion"));

	if (!dec_missing(j, "apiVersion") && (!av || strcmp(av, "v1") != 0))
		dec_err_at(d, "apiVersion", "must be v1");
	v->field_path = dec_checked(d, j, "fieldPath", 1, check_field_path);
}

static void
resource_ref(struct api_dec *d, const json_t *j, void *out)
{
	struct api_env_value_from *v = out;
	struct api_error err;
	size_t mark;

	v->container_name = dec_checked(d, j, "containerName", 0, api_check_dns_label);
	v->resource = dec_checked(d, j, "resource", 1, check_resource);
	v->divisor = 1000;
	if ((v->divisor_text = dec_str(d, j, "divisor", 0))) {
		mark = dec_push(d, "divisor");
		if (api_quantity_parse(v->divisor_text, 3, &v->divisor, &err) < 0)
			dec_err(d, "%s", err.msg);
		else if (v->divisor <= 0)
			dec_err(d, "must be more than 0");
		dec_pop(d, mark);
	}
}

static void
key_ref(struct api_dec *d, const json_t *j, void *out)
{
	struct api_env_value_from *v = out;

	v->name = dec_checked(d, j, "name", 1, api_check_dns_subdomain);
	v->key = dec_checked(d, j, "key", 1, api_check_config_key);
	dec_bool(d, j, "optional", &v->optional);
}

void
api_env_value_from_decode(struct api_dec *d, const json_t *j, struct api_env_value_from **out)
{
	static const char *const kinds[] = {"fieldRef", "resourceFieldRef", "configMapKeyRef", "secretKeyRef"};
	static const dec_fn fns[] = {field_ref, resource_ref, key_ref, key_ref};
	struct api_env_value_from *v;
	int n = 0;

	*out = NULL;
	if (!j)
		return;
	if (!(v = calloc(1, sizeof(*v)))) {
		dec_oom(d);
		return;
	}
	for (int i = 0; i < 4; i++) {
		if (!dec_present(j, kinds[i]))
			continue;
		if (n++ == 0)
			v->source = (enum api_env_source)(i + 1);
		dec_object(d, j, kinds[i], v, fns[i]);
	}
	if (n != 1)
		dec_err(d, "must have exactly one of fieldRef, resourceFieldRef, configMapKeyRef, secretKeyRef");
	*out = v;
}

json_t *
api_env_value_from_encode(const struct api_env_value_from *v)
{
	json_t *j = json_object(), *r = json_object();
	int rc = !j || !r;

	if (rc) {
		json_decref(r);
		return enc_done(j, rc);
	}
	rc |= enc_str(r, "fieldPath", v->field_path);
	rc |= enc_str(r, "containerName", v->container_name);
	rc |= enc_str(r, "resource", v->resource);
	rc |= enc_str(r, "divisor", v->divisor_text);
	rc |= enc_str(r, "name", v->name);
	rc |= enc_str(r, "key", v->key);
	rc |= enc_bool(r, "optional", v->optional);
	switch (v->source) {
	case API_ENV_FIELD: rc |= enc_set(j, "fieldRef", r); break;
	case API_ENV_RESOURCE: rc |= enc_set(j, "resourceFieldRef", r); break;
	case API_ENV_CONFIGMAP: rc |= enc_set(j, "configMapKeyRef", r); break;
	default: rc |= enc_set(j, "secretKeyRef", r); break;
	}
	return enc_done(j, rc);
}

void
api_env_value_from_free(struct api_env_value_from *v)
{
	if (!v)
		return;
	free(v->field_path);
	free(v->container_name);
	free(v->resource);
	free(v->divisor_text);
	free(v->name);
	free(v->key);
	free(v);
}

static void
source_ref(struct api_dec *d, const json_t *j, void *out)
{
	struct api_env_from *v = out;

	v->name = dec_checked(d, j, "name", 1, api_check_dns_subdomain);
	dec_bool(d, j, "optional", &v->optional);
}

static int
check_prefix(const char *s, struct api_error *err)
{
	/* PREFIX + a key must make a variable name: the prefix's own chars. */
	for (const char *p = s; *p; p++)
		if (*p == '=')
			return api_error_set(err, "must not contain '='");
	return 0;
}

void
api_env_from_decode(struct api_dec *d, const json_t *j, void *item)
{
	struct api_env_from *v = item;
	int cm = dec_present(j, "configMapRef"), sec = dec_present(j, "secretRef");

	v->prefix = dec_checked(d, j, "prefix", 0, check_prefix);
	if (cm + sec != 1) {
		dec_err(d, "must have exactly one of configMapRef, secretRef");
		return;
	}
	v->secret = sec && !cm;
	dec_object(d, j, v->secret ? "secretRef" : "configMapRef", v, source_ref);
}

json_t *
api_env_from_encode(const void *item)
{
	const struct api_env_from *v = item;
	json_t *j = json_object(), *r = json_object();
	int rc = !j || !r;

	if (rc) {
		json_decref(r);
		return enc_done(j, rc);
	}
	rc |= enc_str(j, "prefix", v->prefix);
	rc |= enc_str(r, "name", v->name);
	rc |= enc_bool(r, "optional", v->optional);
	rc |= enc_set(j, v->secret ? "secretRef" : "configMapRef", r);
	return enc_done(j, rc);
}

void
api_env_from_clear(struct api_env_from *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].prefix);
		free(v[i].name);
	}
	free(v);
}

char *
api_env_expand(const char *s, api_env_lookup_fn lookup, void *arg)
{
	size_t n = strlen(s), cap = n + 1, o = 0, add;
	char *out = malloc(cap), *nb;
	const char *p = s, *q, *val, *from;

	while (out && *p) {
		from = p;
		add = 1;
		if (p[0] == '$' && p[1] == '$') {
			add = 1;
			p += 2;
		} else if (p[0] == '$' && p[1] == '(' && (q = strchr(p + 2, ')')) &&
		           (val = lookup(p + 2, (size_t)(q - p - 2), arg))) {
			from = val;
			add = strlen(val);
			p = q + 1;
		} else {
			p++;
		}
		if (o + add + 1 > cap) {
			cap = 2 * (o + add + 1);
			if (!(nb = realloc(out, cap))) {
				free(out);
				return NULL;
			}
			out = nb;
		}
		memcpy(out + o, from, add);
		o += add;
	}
	if (out)
		out[o] = '\0';
	return out;
}
