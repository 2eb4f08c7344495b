/*
 * api_selector.h: label selectors. The contract's form is a plain map
 * ({"app": "apache"}: every pair must match). The Kubernetes LabelSelector
 * form is accepted too:
 *   {"matchLabels": {...}, "matchExpressions": [{"key": "tier",
 *    "operator": "In", "values": ["fe", "be"]}]}
 * with operators In, NotIn, Exists, DoesNotExist; it is written back in the
 * form it was read in.
 */
#ifndef SKIFF_API_SELECTOR_H
#define SKIFF_API_SELECTOR_H

#include <jansson.h>
#include <stddef.h>

#include "api_errors.h"
#include "api_labels.h"

enum api_selector_op {
	API_SEL_IN,
	API_SEL_NOT_IN,
	API_SEL_EXISTS,
	API_SEL_DOES_NOT_EXIST,
};

struct api_selector_req {
	char *key;
	enum api_selector_op op;
	char **values; /* In / NotIn: at least one; others: none */
	size_t n_values;
};

struct api_selector {
	struct api_labels match_labels;
	struct api_selector_req *exprs;
	size_t n_exprs;
	int structured; /* read (and written) as matchLabels/matchExpressions */
};

/* 1 when s has no requirement at all. An empty selector matches every set
 * of labels; callers decide what "no selector" means for them. */
int api_selector_empty(const struct api_selector *s);
/* 1 when labels satisfy every requirement of s. O(|s| log |labels|). */
int api_selector_matches(const struct api_selector *s, const struct api_labels *labels);
/* "{app=web,tier in (be,fe),env notin (dev),gpu,!legacy}", snprintf-style. */
size_t api_selector_format(const struct api_selector *s, char *buf, size_t len);
/* Name of an operator as in JSON ("In", ...). */
const char *api_selector_op_name(enum api_selector_op op);
void api_selector_clear(struct api_selector *s);
/* Decode a selector value j (borrowed) into *out (zeroed first). Returns 0,
 * or -1 with every problem in errs (paths relative to the selector, e.g.
 * "matchExpressions[0].operator") and *out empty. */
int api_selector_from_json(const json_t *j, struct api_selector *out, struct api_errors *errs);
/* New JSON value in the form s was read in, NULL when out of memory. */
json_t *api_selector_to_json(const struct api_selector *s);

#endif
