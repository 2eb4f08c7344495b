/*
 * ctl_check.c: judge one object a manifest held, with the same messages for
 * validate, apply and create: its kind, its apiVersion (a v1beta1 manifest
 * is refused for that, not for what v1 would miss), the field policy of
 * api_fields.c (refused fields are errors, unknown ones warnings) and the
 * object model's decoder. It reads no etcd and does not check names against
 * keys; which kinds a command accepts is the command's business.
 */
#include <string.h>

#include "skiffctl.h"

/* Print every item of l as "PREFIXWHERE: field: msg". */
static void
print_all(FILE *err, const char *prefix, const char *where, const struct api_errors *l)
{
	char line[1200];
	size_t i;

	for (i = 0; i < l->n; i++) {
		api_errors_format(l, i, line, sizeof(line));
		fprintf(err, "%s%s: %s\n", prefix, where, line);
	}
	if (l->oom)
		fprintf(err, "%s%s: out of memory\n", prefix, where);
}

/* The kind of o->j, or API_KIND_UNKNOWN after reporting why not. */
static enum api_kind
kind_of(const struct ctl_object *o, enum api_kind force, FILE *err)
{
	const json_t *kj = json_object_get(o->j, "kind");
	enum api_kind k;

	if (!json_is_object(o->j)) {
		fprintf(err, "%s: must be a JSON object\n", o->where);
		return API_KIND_UNKNOWN;
	}
	k = force ? force : api_kind_detect(o->j);
	if (k != API_KIND_UNKNOWN && k != API_LEADER)
		return k;
	if (json_is_string(kj))
		fprintf(err, "%s: kind: unknown kind \"%s\" (see skiffctl validate --help)\n", o->where,
		        json_string_value(kj));
	else
		fprintf(err, "%s: cannot tell what kind of object this is; set \"kind\" or --kind\n", o->where);
	return API_KIND_UNKNOWN;
}

void *
ctl_object_check(const struct ctl_object *o, enum api_kind force, enum api_kind *kind, FILE *err)
{
	struct api_errors errs = {0}, warns = {0}, again = {0};
	const char *kn;
	void *obj = NULL;

	if ((*kind = kind_of(o, force, err)) == API_KIND_UNKNOWN)
		return NULL;
	kn = json_string_value(json_object_get(o->j, "kind"));
	if (api_fields_check_version(*kind, o->j, &errs) == 0) {
		/* api_decode reports the refused fields again; the unknown ones of
		 * an object of another kind than --kind would be noise */
		if (!kn || strcmp(kn, api_kind_name(*kind)) == 0)
			api_fields_check(*kind, o->j, &again, &warns);
		obj = api_decode(*kind, o->j, &errs);
	}
	print_all(err, "warning: ", o->where, &warns);
	print_all(err, "", o->where, &errs);
	api_errors_clear(&errs);
	api_errors_clear(&warns);
	api_errors_clear(&again);
	return obj;
}
