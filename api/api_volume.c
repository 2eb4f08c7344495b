/*
 * api_volume.c: decode, check, encode and free a pod's volumes and its
 * containers' volumeMounts (api_volume.h). Checks: volume names are DNS
 * labels, unique in the pod, each with exactly one source Skiff has;
 * hostPath paths absolute without ".."; configMap/secret item paths
 * relative without "..", unique, modes within 0777; mountPath absolute and unique in
 * its container; subPath relative without ".."; a mount names a volume.
 * It does not judge whether a node may mount a hostPath (the agent's
 * --allow-host-path does), nor which fields are refused (api_fields.c).
 */
#include <stdlib.h>
#include <string.h>

#include "api_configmap.h"
#include "api_internal.h"
#include "api_names.h"
#include "api_pod.h"
#include "api_volume.h"

#define API_MAX_PATH 4096

/* Indexed by source - API_VOL_EMPTY_DIR. */
static const char *const src_keys[] = {"emptyDir", "hostPath", "configMap", "secret"};
static const char *const hp_names[] = {"", "Directory", "DirectoryOrCreate", "File"};

const char *
api_host_path_type_name(enum api_host_path_type t)
{
	return (unsigned)t < 4 ? hp_names[t] : "?";
}

const struct api_volume *
api_volume_find(const struct api_pod_spec *s, const char *name)
{
	size_t i;

	for (i = 0; name && i < s->n_volumes; i++)
		if (s->volumes[i].name && strcmp(s->volumes[i].name, name) == 0)
			return &s->volumes[i];
	return NULL;
}

int
api_path_has_backstep(const char *p)
{
	const char *c = p;

	for (;;) {
		size_t n = strcspn(c, "/");

		if (n == 2 && c[0] == '.' && c[1] == '.')
			return 1;
		if (!c[n])
			return 0;
		c += n + 1;
	}
}

int
api_path_under(const char *path, char *const *prefixes, size_t n)
{
	size_t i, l;

	for (i = 0; i < n; i++) {
		const char *p = prefixes[i];

		for (l = strlen(p); l > 1 && p[l - 1] == '/';)
			l--;
		if (strncmp(path, p, l) == 0 && (path[l] == '\0' || path[l] == '/' || l == 1))
			return 1;
	}
	return 0;
}

/* A path member: absolute (or relative when !absolute), without "..".
 * New string or NULL (absent, or reported). */
static char *
dec_path(struct api_dec *d, const json_t *j, const char *key, int required, int absolute)
{
	char *s = dec_str(d, j, key, required);
	const char *why = NULL;

	if (!s)
		return NULL;
	if (strlen(s) > API_MAX_PATH)
		why = "must be at most 4096 bytes";
	else if (absolute && s[0] != '/')
		why = "must be an absolute path";
	else if (!absolute && s[0] == '/')
		why = "must be a relative path";
	else if (api_path_has_backstep(s))
		why = "must not contain '..'";
	if (!why)
		return s;
	dec_err_at(d, key, "%s", why);
	free(s);
	return NULL;
}

static void check_unique_names(struct api_dec *d, const char *key, const void *a, size_t n, size_t size, size_t off,
                               const char *field, const char *what);

/* ------------------------------------------------------------------------
 * Volumes
 */
static void
host_path_decode(struct api_dec *d, const json_t *j, void *out)
{
	struct api_volume *v = out;

	const json_t *t = dec_member(d, j, "type", JSON_STRING);
	int i;

	v->path = dec_path(d, j, "path", 1, 1);
	for (i = 0; t && i < 4 && strcmp(json_string_value(t), hp_names[i]) != 0; i++)
		;
	if (i < 4)
		v->type = (enum api_host_path_type)i;
	else
		dec_err_at(d, "type",
		           "must be \"\", Directory, DirectoryOrCreate or File, got \"%.100s\" (FileOrCreate, Socket, "
		           "CharDevice and BlockDevice are refused, see docs/keys.md)",
		           json_string_value(t));
}

/* A file mode member (0..0777) into *out, else *out = -1. */
static void
dec_mode(struct api_dec *d, const json_t *j, const char *key, int *out)
{
	int64_t m;

	*out = dec_int(d, j, key, 0, 0777, &m) ? (int)m : -1;
}

static void
item_decode(struct api_dec *d, const json_t *j, void *out)
{
	struct api_key_to_path *it = out;

	it->key = dec_checked(d, j, "key", 1, api_check_config_key);
	it->path = dec_path(d, j, "path", 1, 0);
	dec_mode(d, j, "mode", &it->mode);
}

/* configMap (name) or secret (secretName) of volume v. */
static void
config_source_decode(struct api_dec *d, const json_t *j, struct api_volume *v, const char *name_key)
{
	v->object = dec_checked(d, j, name_key, 1, api_check_dns_subdomain);
	dec_mode(d, j, "defaultMode", &v->default_mode);
	dec_bool(d, j, "optional", &v->optional);
	if (dec_too_many(d, j, "items", API_MAX_VOLUMES))
		return;
	v->items = dec_array(d, j, "items", sizeof(*v->items), &v->n_items, item_decode);
	check_unique_names(d, "items", v->items, v->n_items, sizeof(*v->items), offsetof(struct api_key_to_path, path),
	                   "path", "path");
}

static void
config_map_decode(struct api_dec *d, const json_t *j, void *out)
{
	config_source_decode(d, j, out, "name");
}

static void
secret_decode(struct api_dec *d, const json_t *j, void *out)
{
	config_source_decode(d, j, out, "secretName");
}

/* emptyDir: medium "" or Memory; sizeLimit more than 0 (the tmpfs size
 * with Memory; on disk the agent evicts the pod that exceeds it). */
static void
empty_dir_decode(struct api_dec *d, const json_t *j, void *out)
{
	struct api_volume *v = out;
	const json_t *m = dec_member(d, j, "medium", JSON_STRING);

	v->memory = m && strcmp(json_string_value(m), "Memory") == 0;
	if (m && !v->memory && json_string_length(m))
		dec_err_at(d, "medium",
		           "must be \"\" or Memory, got \"%.100s\" (HugePages is refused, see docs/keys.md)",
		           json_string_value(m));
	dec_quantity(d, j, "sizeLimit", 0, &v->size_limit);
	if (v->size_limit.text && v->size_limit.value <= 0)
		dec_err_at(d, "sizeLimit", "must be more than 0");
}

static void
volume_decode(struct api_dec *d, const json_t *j, void *item)
{
	static const dec_fn fns[] = {empty_dir_decode, host_path_decode, config_map_decode, secret_decode};
	struct api_volume *v = item;
	int i, k = -1, k2 = -1;

	v->name = dec_checked(d, j, "name", 1, api_check_dns_label);
	v->default_mode = -1;
	for (i = 3; i >= 0; i--)
		if (dec_present(j, src_keys[i]))
			k2 = k, k = i;
	if (k2 >= 0)
		dec_err(d, "must have exactly one source, got %s and %s", src_keys[k], src_keys[k2]);
	else if (k < 0)
		dec_err(d, "must have a source: emptyDir, hostPath, configMap or secret (the others are refused, see "
		           "docs/keys.md)");
	else if (dec_member(d, j, src_keys[k], JSON_OBJECT)) {
		v->source = (enum api_volume_source)(API_VOL_EMPTY_DIR + k);
		dec_object(d, j, src_keys[k], v, fns[k]);
	}
}

/* Report the later of each pair of items of a (n items of size bytes, a
 * name at offset off) with equal names, at key[i].field. */
static void
check_unique_names(struct api_dec *d, const char *key, const void *a, size_t n, size_t size, size_t off,
                   const char *field, const char *what)
{
	struct api_key_ref *refs = malloc((n + 1) * sizeof(*refs));
	unsigned char *dup = calloc(n + 1, 1);
	size_t i, k = 0, mark;

	if (!refs || !dup) {
		dec_oom(d);
		goto done;
	}
	for (i = 0; i < n; i++) {
		const char *s = *(char *const *)((const char *)a + i * size + off);

		if (s)
			refs[k++] = (struct api_key_ref){s, 0, i};
	}
	api_mark_dups(refs, k, dup);
	for (i = 0; i < n; i++) {
		if (!dup[i])
			continue;
		mark = dec_push(d, key);
		dec_push_index(d, i);
		dec_err_at(d, field, "duplicate %s \"%s\"", what, *(char *const *)((const char *)a + i * size + off));
		dec_pop(d, mark);
	}
done:
	free(refs);
	free(dup);
}

void
api_volumes_decode(struct api_dec *d, const json_t *j, struct api_pod_spec *s)
{
	if (dec_too_many(d, j, "volumes", API_MAX_VOLUMES))
		return;
	s->volumes = dec_array(d, j, "volumes", sizeof(*s->volumes), &s->n_volumes, volume_decode);
	check_unique_names(d, "volumes", s->volumes, s->n_volumes, sizeof(*s->volumes),
	                   offsetof(struct api_volume, name), "name", "volume name");
}

/* ------------------------------------------------------------------------
 * Mounts
 */
static void
mount_decode(struct api_dec *d, const json_t *j, void *item)
{
	struct api_volume_mount *m = item;

	m->name = dec_str(d, j, "name", 1);
	m->mount_path = dec_path(d, j, "mountPath", 1, 1);
	m->sub_path = dec_path(d, j, "subPath", 0, 0);
	dec_bool(d, j, "readOnly", &m->read_only);
}

void
api_volume_mounts_decode(struct api_dec *d, const json_t *j, struct api_container *c)
{
	if (dec_too_many(d, j, "volumeMounts", API_MAX_VOLUMES))
		return;
	c->volume_mounts =
		dec_array(d, j, "volumeMounts", sizeof(*c->volume_mounts), &c->n_volume_mounts, mount_decode);
	check_unique_names(d, "volumeMounts", c->volume_mounts, c->n_volume_mounts, sizeof(*c->volume_mounts),
	                   offsetof(struct api_volume_mount, mount_path), "mountPath", "mountPath");
}

void
api_volume_mounts_check(struct api_dec *d, const struct api_pod_spec *s)
{
	size_t i, k, mark;

	for (i = 0; i < s->n_containers; i++) {
		const struct api_container *c = &s->containers[i];

		for (k = 0; k < c->n_volume_mounts; k++) {
			const char *n = c->volume_mounts[k].name;

			if (!n || api_volume_find(s, n))
				continue;
			mark = dec_push(d, "containers");
			dec_push_index(d, i);
			dec_push(d, "volumeMounts");
			dec_push_index(d, k);
			dec_err_at(d, "name", "no volume named \"%s\" in spec.volumes", n);
			dec_pop(d, mark);
		}
	}
}

/* ------------------------------------------------------------------------
 * Encoding and freeing
 */
static json_t *
item_encode(const void *item)
{
	const struct api_key_to_path *it = item;
	json_t *j = json_object();
	int rc = !j;

	if (j) {
		rc |= enc_str(j, "key", it->key);
		rc |= enc_str(j, "path", it->path);
		if (it->mode >= 0)
			rc |= enc_int(j, "mode", it->mode);
	}
	return enc_done(j, rc);
}

/* The members of a configMap or secret source into src. */
static int
config_source_encode(json_t *src, const struct api_volume *v)
{
	int rc = enc_str(src, v->source == API_VOL_SECRET ? "secretName" : "name", v->object);

	if (v->n_items)
		rc |= enc_set(src, "items", enc_array(v->items, v->n_items, sizeof(*v->items), item_encode));
	if (v->default_mode >= 0)
		rc |= enc_int(src, "defaultMode", v->default_mode);
	return rc | enc_bool(src, "optional", v->optional);
}

static json_t *
volume_encode(const void *item)
{
	const struct api_volume *v = item;
	json_t *j = json_object(), *src = json_object();
	int rc = !j || !src;

	if (!rc) {
		rc |= enc_str(j, "name", v->name);
		if (v->source == API_VOL_HOST_PATH) {
			rc |= enc_str(src, "path", v->path);
			rc |= enc_str(src, "type", api_host_path_type_name(v->type));
		} else if (v->source == API_VOL_CONFIG_MAP || v->source == API_VOL_SECRET) {
			rc |= config_source_encode(src, v);
		} else if (v->memory) {
			rc |= enc_str(src, "medium", "Memory");
			rc |= enc_str(src, "sizeLimit", v->size_limit.text);
		}
		/* json_object_set keeps {}: an emptyDir has no members */
		if (v->source != API_VOL_NONE)
			rc |= json_object_set(j, src_keys[v->source - API_VOL_EMPTY_DIR], src);
	}
	json_decref(src);
	return enc_done(j, rc);
}

static json_t *
mount_encode(const void *item)
{
	const struct api_volume_mount *m = item;
	json_t *j = json_object();
	int rc = !j;

	if (j) {
		rc |= enc_str(j, "name", m->name);
		rc |= enc_str(j, "mountPath", m->mount_path);
		rc |= enc_str(j, "subPath", m->sub_path);
		rc |= enc_bool(j, "readOnly", m->read_only);
	}
	return enc_done(j, rc);
}

int
api_volumes_encode(json_t *o, const struct api_pod_spec *s)
{
	if (!s->n_volumes)
		return 0;
	return enc_set(o, "volumes", enc_array(s->volumes, s->n_volumes, sizeof(*s->volumes), volume_encode));
}

int
api_volume_mounts_encode(json_t *o, const struct api_container *c)
{
	if (!c->n_volume_mounts)
		return 0;
	return enc_set(o, "volumeMounts",
	               enc_array(c->volume_mounts, c->n_volume_mounts, sizeof(*c->volume_mounts), mount_encode));
}

void
api_volumes_free(struct api_pod_spec *s)
{
	size_t i;

	for (i = 0; i < s->n_volumes; i++) {
		struct api_volume *v = &s->volumes[i];
		size_t k;

		free(v->name);
		free(v->path);
		free(v->object);
		free(v->size_limit.text);
		for (k = 0; k < v->n_items; k++) {
			free(v->items[k].key);
			free(v->items[k].path);
		}
		free(v->items);
	}
	free(s->volumes);
	s->volumes = NULL;
	s->n_volumes = 0;
}

void
api_volume_mounts_free(struct api_container *c)
{
	size_t i;

	for (i = 0; i < c->n_volume_mounts; i++) {
		free(c->volume_mounts[i].name);
		free(c->volume_mounts[i].mount_path);
		free(c->volume_mounts[i].sub_path);
	}
	free(c->volume_mounts);
	c->volume_mounts = NULL;
	c->n_volume_mounts = 0;
}
