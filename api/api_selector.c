/*
 * api_selector.c: matching and printing label selectors. Decoding and
 * encoding live in api_selector_json.c.
 */
#include <stdlib.h>
#include <string.h>

#include "api_internal.h"
#include "api_selector.h"

static const char *op_names[] = {"In", "NotIn", "Exists", "DoesNotExist"};

const char *
api_selector_op_name(enum api_selector_op op)
{
	return (unsigned)op < 4 ? op_names[op] : "?";
}

int
api_selector_empty(const struct api_selector *s)
{
	return s->match_labels.n == 0 && s->n_exprs == 0;
}

static int
has_value(const struct api_selector_req *r, const char *v)
{
	size_t i;

	for (i = 0; i < r->n_values; i++)
		if (strcmp(r->values[i], v) == 0)
			return 1;
	return 0;
}

static int
req_matches(const struct api_selector_req *r, const struct api_labels *labels)
{
	const char *v = api_labels_get(labels, r->key);

	switch (r->op) {
	case API_SEL_IN: return v && has_value(r, v);
	case API_SEL_NOT_IN: return !v || !has_value(r, v);
	case API_SEL_EXISTS: return v != NULL;
	case API_SEL_DOES_NOT_EXIST: return v == NULL;
	}
	return 0;
}

int
api_selector_matches(const struct api_selector *s, const struct api_labels *labels)
{
	size_t i;

	if (!api_labels_subset(&s->match_labels, labels))
		return 0;
	for (i = 0; i < s->n_exprs; i++)
		if (!req_matches(&s->exprs[i], labels))
			return 0;
	return 1;
}

size_t
api_selector_format(const struct api_selector *s, char *buf, size_t len)
{
	struct api_sbuf sb;
	const char *sep = "";
	size_t i, j;

	api_sbuf_init(&sb, buf, len);
	api_sbuf_puts(&sb, "{");
	for (i = 0; i < s->match_labels.n; i++, sep = ",")
		api_sbuf_printf(&sb, "%s%s=%s", sep, s->match_labels.items[i].key, s->match_labels.items[i].value);
	for (i = 0; i < s->n_exprs; i++, sep = ",") {
		const struct api_selector_req *r = &s->exprs[i];

		switch (r->op) {
		case API_SEL_IN:
		case API_SEL_NOT_IN:
			api_sbuf_printf(&sb, "%s%s %s (", sep, r->key, r->op == API_SEL_IN ? "in" : "notin");
			for (j = 0; j < r->n_values; j++)
				api_sbuf_printf(&sb, "%s%s", j ? "," : "", r->values[j]);
			api_sbuf_puts(&sb, ")");
			break;
		case API_SEL_EXISTS: api_sbuf_printf(&sb, "%s%s", sep, r->key); break;
		case API_SEL_DOES_NOT_EXIST: api_sbuf_printf(&sb, "%s!%s", sep, r->key); break;
		}
	}
	api_sbuf_puts(&sb, "}");
	return sb.need;
}

void
api_selector_clear(struct api_selector *s)
{
	size_t i;

	api_labels_clear(&s->match_labels);
	for (i = 0; i < s->n_exprs; i++) {
		free(s->exprs[i].key);
		api_strv_free(s->exprs[i].values, s->exprs[i].n_values);
	}
	free(s->exprs);
	memset(s, 0, sizeof(*s));
}
