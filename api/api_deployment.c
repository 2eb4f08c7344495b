/*
 * api_deployment.c: Deployment decode (defaults, the selector/template
 * and strategy checks), encode, the pod-template-hash and the replication
 * controller a Deployment owns for one hash. The status is in
 * api_deployment_status.c. How many replicas each controller gets during a
 * rollout is the deployment controller's business, not this file's.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "api_internal.h"

static const char *const strategy_names[] = {"RollingUpdate", "Recreate"};

/* maxSurge / maxUnavailable: an integer >= 0 or "N%". */
static int
int_or_percent(struct api_dec *d, const json_t *j, const char *key, struct api_int_or_percent *out)
{
	const json_t *v = json_object_get(j, key);
	const char *s;
	char *end;
	long n;

	if (!v || json_is_null(v))
		return 0;
	if (json_is_integer(v)) {
		if (json_integer_value(v) < 0 || json_integer_value(v) > INT32_MAX) {
			dec_err_at(d, key, "must be 0 or more, got %lld", (long long)json_integer_value(v));
			return 0;
		}
		out->value = (int)json_integer_value(v);
		out->percent = 0;
		return 1;
	}
	s = json_is_string(v) ? json_string_value(v) : "";
	errno = 0;
	n = strtol(s, &end, 10);
	if (!json_is_string(v) || end == s || s[0] < '0' || s[0] > '9' || strcmp(end, "%") != 0 || errno ||
	    n > INT32_MAX) {
		dec_err_at(d, key, "must be an integer or a percentage (e.g. 5 or \"25%%\")");
		return 0;
	}
	out->value = (int)n;
	out->percent = 1;
	return 1;
}

static void
rolling_decode(struct api_dec *d, const json_t *j, void *out)
{
	struct api_deployment_spec *s = out;
	int surge = int_or_percent(d, j, "maxSurge", &s->max_surge);
	int unav = int_or_percent(d, j, "maxUnavailable", &s->max_unavailable);

	(void)surge;
	if (unav && s->max_unavailable.percent && s->max_unavailable.value > 100)
		dec_err_at(d, "maxUnavailable", "must not be more than 100%%, got %d%%", s->max_unavailable.value);
	if (s->max_surge.value == 0 && s->max_unavailable.value == 0)
		dec_err_at(d, "maxUnavailable", "may not be 0 when maxSurge is 0");
}

static void
strategy_decode(struct api_dec *d, const json_t *j, void *out)
{
	struct api_deployment_spec *s = out;

	s->strategy = dec_enum(d, j, "type", strategy_names, 2, API_ROLLING_UPDATE);
	if (s->strategy == API_RECREATE && dec_present(j, "rollingUpdate")) {
		const json_t *r = json_object_get(j, "rollingUpdate");

		if (!json_is_object(r) || json_object_size(r))
			dec_err_at(d, "rollingUpdate", "may not be set when type is Recreate");
		return;
	}
	dec_object(d, j, "rollingUpdate", s, rolling_decode);
}

/* The selector: required, and must match the template's labels. */
static void
selector_check(struct api_dec *d, struct api_deployment_spec *s)
{
	const struct api_labels *tl = &s->template.meta.labels;
	char labels[256];

	if (api_selector_empty(&s->selector))
		dec_err_at(d, "selector", "required (apps/v1 has no default selector)");
	else if (!api_selector_matches(&s->selector, tl)) {
		api_labels_format(tl, labels, sizeof(labels));
		dec_err_at(d, "selector", "does not match template labels %s", labels);
	}
}

static void
spec_decode(struct api_dec *d, const json_t *j, void *out)
{
	struct api_deployment_spec *s = out;
	size_t before;
	int64_t v;
	char q[96];

	s->replicas = 1;
	s->max_surge = s->max_unavailable = (struct api_int_or_percent){25, 1};
	s->revision_history_limit = 10;
	s->progress_deadline_seconds = 600;
	if (dec_int(d, j, "replicas", 0, INT32_MAX, &v))
		s->replicas = (int)v;
	if (dec_int(d, j, "minReadySeconds", 0, INT32_MAX, &v))
		s->min_ready_seconds = (int)v;
	if (dec_int(d, j, "revisionHistoryLimit", 0, INT32_MAX, &v))
		s->revision_history_limit = (int)v;
	if (dec_int(d, j, "progressDeadlineSeconds", 1, INT32_MAX, &v))
		s->progress_deadline_seconds = (int)v;
	dec_bool(d, j, "paused", &s->paused);
	if (s->progress_deadline_seconds <= s->min_ready_seconds)
		dec_err_at(d, "progressDeadlineSeconds", "must be more than minReadySeconds (%d)",
		           s->min_ready_seconds);
	dec_object(d, j, "strategy", s, strategy_decode);
	before = d->errs->n;
	api_selector_decode(d, j, "selector", &s->selector);
	if (!dec_present(j, "template")) {
		dec_err_at(d, "template", "required");
		return;
	}
	dec_object(d, j, "template", &s->template, api_pod_template_decode);
	if (!json_is_object(json_object_get(j, "template")))
		return;
	if (s->template.spec.restart_policy != API_RESTART_ALWAYS)
		dec_err_at(d, "template.spec.restartPolicy", "must be Always for a deployment, got %s",
		           api_quote(q, sizeof(q), api_restart_policy_name(s->template.spec.restart_policy)));
	if (d->errs->n == before && !d->errs->oom)
		selector_check(d, s);
}

static void
deployment_decode(struct api_dec *d, const json_t *j, void *out)
{
	struct api_deployment *dep = out;

	dec_object(d, j, "metadata", &dep->meta, api_meta_decode_label);
	if (dep->meta.name && strlen(dep->meta.name) > API_DEPLOYMENT_NAME_MAX)
		dec_err_at(d, "metadata.name",
		           "must be no more than %d characters (its controllers are NAME-HASH), got %zu",
		           API_DEPLOYMENT_NAME_MAX, strlen(dep->meta.name));
	dec_object(d, j, "spec", &dep->spec, spec_decode);
}

static int
enc_iop(json_t *o, const char *key, const struct api_int_or_percent *v)
{
	char buf[24];

	if (!v->percent)
		return enc_int(o, key, v->value);
	snprintf(buf, sizeof(buf), "%d%%", v->value);
	return enc_str(o, key, buf);
}

static json_t *
strategy_encode(const struct api_deployment_spec *s)
{
	json_t *j = json_object(), *r = NULL;
	int rc = !j;

	if (j)
		rc |= enc_str(j, "type", strategy_names[s->strategy == API_RECREATE]);
	if (j && s->strategy == API_ROLLING_UPDATE) {
		r = json_object();
		rc |= !r;
		if (r) {
			rc |= enc_iop(r, "maxSurge", &s->max_surge);
			rc |= enc_iop(r, "maxUnavailable", &s->max_unavailable);
			rc |= enc_set(j, "rollingUpdate", r);
		}
	}
	return enc_done(j, rc);
}

static json_t *
spec_encode(const struct api_deployment_spec *s)
{
	json_t *j = json_object();
	int rc = !j;

	if (j) {
		rc |= enc_int(j, "replicas", s->replicas);
		rc |= enc_set(j, "selector", api_selector_encode(&s->selector));
		rc |= enc_set(j, "template", api_pod_encode(&s->template));
		rc |= enc_set(j, "strategy", strategy_encode(s));
		rc |= enc_int(j, "minReadySeconds", s->min_ready_seconds);
		rc |= enc_int(j, "revisionHistoryLimit", s->revision_history_limit);
		rc |= enc_bool(j, "paused", s->paused);
		rc |= enc_int(j, "progressDeadlineSeconds", s->progress_deadline_seconds);
	}
	return enc_done(j, rc);
}

static json_t *
deployment_encode(const void *obj)
{
	const struct api_deployment *d = obj;
	json_t *j = json_object();
	int rc = !j;

	if (j) {
		rc |= enc_set(j, "metadata", api_meta_encode(&d->meta));
		rc |= enc_set(j, "spec", spec_encode(&d->spec));
	}
	return enc_done(j, rc);
}

static void
deployment_clear(void *obj)
{
	struct api_deployment *d = obj;

	api_meta_clear(&d->meta);
	api_selector_clear(&d->spec.selector);
	api_pod_clear(&d->spec.template);
	memset(d, 0, sizeof(*d));
}

const struct api_kind_ops api_deployment_ops = {API_DEPLOYMENT_KIND, sizeof(struct api_deployment), deployment_decode,
                                                deployment_encode, deployment_clear};

struct api_deployment *
api_deployment_parse(const char *json, size_t len, struct api_errors *errs)
{
	return api_parse(API_DEPLOYMENT, json, len, errs);
}

char *
api_deployment_serialize(const struct api_deployment *d)
{
	return api_serialize(API_DEPLOYMENT, d);
}

void
api_deployment_free(struct api_deployment *d)
{
	api_free(API_DEPLOYMENT, d);
}

/* ------------------------------------------------------------------------
 * The controllers a Deployment owns
 */
#define FNV32_BASIS 2166136261u
#define FNV32_PRIME 16777619u

static uint32_t
fnv32a(uint32_t h, const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * FNV32_PRIME;
	return h;
}

int
api_template_hash(const struct api_pod *template, int collision_count, char *buf, size_t len)
{
	static const char safe[] = "bcdfghjklmnpqrstvwxz2456789";
	char *bytes = api_serialize(API_POD, template), dec[16];
	unsigned char cc[8] = {0};
	uint32_t h;
	size_t i;

	if (!bytes || len < API_TEMPLATE_HASH_MAX + 1) {
		free(bytes);
		return -1;
	}
	h = fnv32a(FNV32_BASIS, (const unsigned char *)bytes, strlen(bytes));
	free(bytes);
	if (collision_count > 0) {
		for (i = 0; i < 4; i++)
			cc[i] = (unsigned char)(((uint32_t)collision_count >> (8 * i)) & 0xff);
		h = fnv32a(h, cc, sizeof(cc));
	}
	snprintf(dec, sizeof(dec), "%u", (unsigned)h);
	for (i = 0; dec[i]; i++)
		buf[i] = safe[(unsigned char)dec[i] % (sizeof(safe) - 1)];
	buf[i] = '\0';
	return 0;
}

int
api_deployment_rc_name(char *buf, size_t len, const char *name, const char *hash, struct api_error *err)
{
	int n;

	if (strlen(name) > API_DEPLOYMENT_NAME_MAX)
		return api_error_set(err, "deployment name is longer than %d characters", API_DEPLOYMENT_NAME_MAX);
	n = snprintf(buf, len, "%s-%s", name, hash);
	if (n < 0 || (size_t)n >= len)
		return api_error_set(err, "controller name does not fit");
	return api_check_dns_label(buf, err);
}

/* A copy of d's selector with pod-template-hash=hash added (through
 * JSON: selectors have no copy of their own). 0 or -1. */
static int
selector_with_hash(const struct api_selector *from, const char *hash, struct api_selector *to)
{
	struct api_errors errs = {0};
	json_t *j = api_selector_to_json(from);
	int rc = j ? api_selector_from_json(j, to, &errs) : -1;

	json_decref(j);
	api_errors_clear(&errs);
	if (rc == 0 && api_labels_set(&to->match_labels, API_POD_TEMPLATE_HASH, hash) < 0)
		rc = -1;
	return rc;
}

static int
fill_rc(struct api_controller *rc, const struct api_deployment *d, const char *name, const char *uid, const char *hash,
        long revision)
{
	struct api_pod *t = api_pod_dup(&d->spec.template);
	char rcname[API_LABEL_MAX + 1], rev[24];
	int err = !t;

	if (t) {
		rc->spec.template = *t; /* take over what t owns */
		free(t);
	}
	snprintf(rev, sizeof(rev), "%ld", revision);
	err = err || api_deployment_rc_name(rcname, sizeof(rcname), name, hash, NULL) < 0;
	err = err || api_set_string(&rc->meta.name, rcname) < 0;
	err = err || api_labels_copy(&rc->meta.labels, &d->spec.template.meta.labels) < 0;
	err = err || api_labels_set(&rc->meta.labels, API_POD_TEMPLATE_HASH, hash) < 0;
	err = err || api_labels_set(&rc->spec.template.meta.labels, API_POD_TEMPLATE_HASH, hash) < 0;
	err = err || api_labels_set(&rc->meta.annotations, API_DEPLOYMENT_REVISION, rev) < 0;
	err = err || api_meta_set_owner(&rc->meta, API_DEPLOYMENT_KIND, name, uid) < 0;
	err = err || selector_with_hash(&d->spec.selector, hash, &rc->spec.selector) < 0;
	return err ? -1 : 0;
}

struct api_controller *
api_deployment_new_rc(const struct api_deployment *d, const char *name, const char *uid, const char *hash,
                      long revision, int replicas)
{
	struct api_controller *rc = calloc(1, sizeof(*rc));

	if (!rc)
		return NULL;
	rc->spec.replicas = replicas;
	if (fill_rc(rc, d, name, uid, hash, revision) < 0) {
		api_controller_free(rc);
		return NULL;
	}
	return rc;
}

char *
api_deployment_rc_json(const struct api_controller *rc, const struct api_deployment *d)
{
	json_t *j = api_encode(API_CONTROLLER, rc), *owners, *spec;
	char *s = NULL;
	int err = !j;

	owners = j ? json_object_get(json_object_get(j, "metadata"), "ownerReferences") : NULL;
	if (json_is_array(owners) && json_array_size(owners) > 0)
		err |= json_object_set_new(json_array_get(owners, 0), "apiVersion",
		                           json_string(API_DEPLOYMENT_VERSION));
	spec = j ? json_object_get(j, "spec") : NULL;
	if (spec && d->spec.min_ready_seconds > 0)
		err |= json_object_set_new(spec, "minReadySeconds", json_integer(d->spec.min_ready_seconds));
	if (!err)
		s = api_json_dumps(j);
	json_decref(j);
	return s;
}

int
api_deployment_template_matches(const struct api_deployment *d, const struct api_controller *rc)
{
	struct api_pod *t = api_pod_dup(&rc->spec.template);
	char *a = NULL, *b = NULL;
	int same = 0;

	if (t) {
		api_labels_unset(&t->meta.labels, API_POD_TEMPLATE_HASH);
		a = api_serialize(API_POD, t);
		b = api_serialize(API_POD, &d->spec.template);
		same = a && b && strcmp(a, b) == 0;
	}
	free(a);
	free(b);
	api_pod_free(t);
	return same;
}

long
api_deployment_revision(const struct api_controller *rc)
{
	const char *v = api_labels_get(&rc->meta.annotations, API_DEPLOYMENT_REVISION);
	char *end;
	long n;

	if (!v || !*v)
		return 0;
	errno = 0;
	n = strtol(v, &end, 10);
	return *end || errno || n < 0 ? 0 : n;
}
