/*
 * api_meta.c: decode, check and encode "metadata". Which name rule applies
 * (label, subdomain, none for templates) is the caller's choice; whether a
 * uid is required is too.
 */
#include <stdlib.h>
#include <string.h>

#include "api_internal.h"
#include "api_meta.h"
#include "api_names.h"
#include "api_pod.h"

static void
owner_decode(struct api_dec *d, const json_t *j, void *item)
{
	struct api_owner_ref *o = item;

	o->kind = dec_str(d, j, "kind", 1);
	o->name = dec_str(d, j, "name", 1);
	o->uid = dec_checked(d, j, "uid", 1, api_check_uid);
	dec_bool(d, j, "controller", &o->controller);
}

void
api_meta_decode(struct api_dec *d, const json_t *j, struct api_meta *m, enum api_name_rule rule)
{
	if (rule == API_NAME_LABEL)
		m->name = dec_checked(d, j, "name", 0, api_check_dns_label);
	else if (rule == API_NAME_SUBDOMAIN)
		m->name = dec_checked(d, j, "name", 0, api_check_dns_subdomain);
	if (rule != API_NAME_NONE) {
		m->uid = dec_checked(d, j, "uid", 0, api_check_uid);
		m->owners = dec_array(d, j, "ownerReferences", sizeof(*m->owners), &m->n_owners, owner_decode);
		if (dec_int(d, j, "deletionGracePeriodSeconds", 0, API_MAX_GRACE_SECONDS, &m->deletion_grace_p1))
			m->deletion_grace_p1++;
	}
	dec_labels(d, j, "labels", &m->labels, DEC_MAP_LABELS);
	dec_labels(d, j, "annotations", &m->annotations, DEC_MAP_LABEL_KEYS);
}

void
api_meta_decode_label(struct api_dec *d, const json_t *j, void *out)
{
	api_meta_decode(d, j, out, API_NAME_LABEL);
}

void
api_meta_decode_subdomain(struct api_dec *d, const json_t *j, void *out)
{
	api_meta_decode(d, j, out, API_NAME_SUBDOMAIN);
}

void
api_meta_decode_template(struct api_dec *d, const json_t *j, void *out)
{
	api_meta_decode(d, j, out, API_NAME_NONE);
}

static json_t *
owner_encode(const void *item)
{
	const struct api_owner_ref *o = item;
	json_t *j = json_object();
	int rc = !j;

	if (j) {
		rc |= enc_str(j, "kind", o->kind);
		rc |= enc_str(j, "name", o->name);
		rc |= enc_str(j, "uid", o->uid);
		rc |= enc_bool(j, "controller", o->controller);
	}
	return enc_done(j, rc);
}

json_t *
api_meta_encode(const struct api_meta *m)
{
	json_t *j = json_object();
	int rc = !j;

	if (j) {
		rc |= enc_str(j, "name", m->name);
		rc |= enc_str(j, "uid", m->uid);
		rc |= enc_labels(j, "labels", &m->labels);
		rc |= enc_labels(j, "annotations", &m->annotations);
		if (m->n_owners)
			rc |= enc_set(j, "ownerReferences",
			              enc_array(m->owners, m->n_owners, sizeof(*m->owners), owner_encode));
		if (m->deletion_grace_p1 > 0)
			rc |= enc_int(j, "deletionGracePeriodSeconds", m->deletion_grace_p1 - 1);
	}
	return enc_done(j, rc);
}

int
api_meta_check_name(const struct api_meta *m, const char *key_name, struct api_errors *errs)
{
	char q1[96], q2[96];

	if (!m->name || strcmp(m->name, key_name) == 0)
		return 0;
	api_errors_add(errs, "metadata.name", "must equal the name in the key %s, got %s",
	               api_quote(q1, sizeof(q1), key_name), api_quote(q2, sizeof(q2), m->name));
	return -1;
}

const struct api_owner_ref *
api_meta_owner(const struct api_meta *m, const char *kind)
{
	size_t i;

	for (i = 0; i < m->n_owners; i++)
		if (m->owners[i].kind && strcmp(m->owners[i].kind, kind) == 0)
			return &m->owners[i];
	return NULL;
}

static void
owners_free(struct api_owner_ref *o, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(o[i].kind);
		free(o[i].name);
		free(o[i].uid);
	}
	free(o);
}

int
api_meta_set_owner(struct api_meta *m, const char *kind, const char *name, const char *uid)
{
	struct api_owner_ref *o = calloc(1, sizeof(*o));

	if (!o || !(o->kind = strdup(kind)) || !(o->name = strdup(name)) || !(o->uid = strdup(uid))) {
		if (o)
			owners_free(o, 1);
		return -1;
	}
	o->controller = 1;
	owners_free(m->owners, m->n_owners);
	m->owners = o;
	m->n_owners = 1;
	return 0;
}

int
api_set_string(char **field, const char *s)
{
	char *c = NULL;

	if (s && !(c = strdup(s)))
		return -1;
	free(*field);
	*field = c;
	return 0;
}

void
api_meta_clear(struct api_meta *m)
{
	free(m->name);
	free(m->uid);
	api_labels_clear(&m->labels);
	api_labels_clear(&m->annotations);
	owners_free(m->owners, m->n_owners);
	memset(m, 0, sizeof(*m));
}
