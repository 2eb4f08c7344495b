/*
 * api_selector_json.c: decode and encode label selectors (plain map or
 * matchLabels/matchExpressions), checking keys, values and operators.
 */
#include <stdlib.h>
#include <string.h>

#include "api_internal.h"
#include "api_names.h"
#include "api_selector.h"

static const char *const op_names[] = {"In", "NotIn", "Exists", "DoesNotExist"};

static void
req_decode(struct api_dec *d, const json_t *j, void *item)
{
	struct api_selector_req *r = item;
	struct api_error err;
	size_t i, mark;
	int o = -1;

	r->key = dec_checked(d, j, "key", 1, api_check_label_key);
	if (dec_missing(j, "operator"))
		dec_err_at(d, "operator", "required");
	else
		o = dec_enum(d, j, "operator", op_names, 4, -1);
	r->op = o < 0 ? API_SEL_IN : (enum api_selector_op)o;
	dec_strv(d, j, "values", &r->values, &r->n_values);
	if ((o == API_SEL_IN || o == API_SEL_NOT_IN) && r->n_values == 0)
		dec_err_at(d, "values", "must not be empty for In and NotIn");
	if ((o == API_SEL_EXISTS || o == API_SEL_DOES_NOT_EXIST) && r->n_values > 0)
		dec_err_at(d, "values", "must be empty for Exists and DoesNotExist");
	mark = dec_push(d, "values");
	for (i = 0; i < r->n_values; i++) {
		if (api_check_label_value(r->values[i], &err) < 0) {
			size_t m = dec_push_index(d, i);

			dec_err(d, "%s", err.msg);
			dec_pop(d, m);
		}
	}
	dec_pop(d, mark);
}

void
api_selector_decode(struct api_dec *d, const json_t *obj, const char *key, struct api_selector *s)
{
	const json_t *m = dec_member(d, obj, key, JSON_OBJECT);
	size_t mark;

	memset(s, 0, sizeof(*s));
	if (!m)
		return;
	if (!json_is_object(json_object_get(m, "matchLabels")) &&
	    !json_is_array(json_object_get(m, "matchExpressions"))) {
		dec_labels(d, obj, key, &s->match_labels, DEC_MAP_LABELS);
		return;
	}
	s->structured = 1;
	mark = dec_push(d, key);
	dec_labels(d, m, "matchLabels", &s->match_labels, DEC_MAP_LABELS);
	s->exprs = dec_array(d, m, "matchExpressions", sizeof(*s->exprs), &s->n_exprs, req_decode);
	dec_pop(d, mark);
}

static json_t *
req_encode(const void *item)
{
	const struct api_selector_req *r = item;
	json_t *j = json_object();
	int rc = !j;

	if (j) {
		rc |= enc_str(j, "key", r->key);
		rc |= enc_str(j, "operator", api_selector_op_name(r->op));
		rc |= enc_strv(j, "values", r->values, r->n_values);
	}
	return enc_done(j, rc);
}

json_t *
api_selector_encode(const struct api_selector *s)
{
	json_t *j;
	int rc;

	if (!s->structured)
		return api_labels_to_json(&s->match_labels);
	if (!(j = json_object()))
		return NULL;
	rc = enc_set(j, "matchLabels", api_labels_to_json(&s->match_labels));
	if (s->n_exprs)
		rc |= enc_set(j, "matchExpressions", enc_array(s->exprs, s->n_exprs, sizeof(*s->exprs), req_encode));
	return enc_done(j, rc);
}

int
api_selector_from_json(const json_t *j, struct api_selector *out, struct api_errors *errs)
{
	size_t before = errs->n, i;
	struct api_dec d;
	json_t *wrap = json_object();

	memset(out, 0, sizeof(*out));
	if (!wrap || json_object_set(wrap, "selector", (json_t *)j) < 0) {
		json_decref(wrap);
		errs->oom = 1;
		return -1;
	}
	/* Decode as member "selector" of a wrapper, then drop that prefix. */
	dec_init(&d, errs);
	api_selector_decode(&d, wrap, "selector", out);
	json_decref(wrap);
	for (i = before; i < errs->n; i++) {
		char *f = errs->items[i].field;
		size_t skip = strncmp(f, "selector", 8) == 0 ? (f[8] == '.' ? 9 : 8) : 0;

		memmove(f, f + skip, strlen(f + skip) + 1);
	}
	if (errs->n > before || errs->oom) {
		api_selector_clear(out);
		return -1;
	}
	return 0;
}

json_t *
api_selector_to_json(const struct api_selector *s)
{
	return api_selector_encode(s);
}
