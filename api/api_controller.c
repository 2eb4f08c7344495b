/*
 * api_controller.c: ReplicationController decode (with the selector
 * default and the selector/template checks), encode, and making a pod from
 * its template. Counting and choosing pods is the controller's job.
 */
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "api_internal.h"

/* Problems that only repeat an earlier one (no template, a selector of
 * the wrong type) are not reported twice. */
static void
spec_decode(struct api_dec *d, const json_t *j, void *out)
{
	struct api_controller_spec *s = out;
	const struct api_labels *tl = &s->template.meta.labels;
	char labels[256], q[96];
	size_t before;
	int64_t v;
	int sel_bad;

	s->replicas = 1;
	if (dec_int(d, j, "replicas", 0, INT32_MAX, &v))
		s->replicas = (int)v;
	if (dec_int(d, j, "minReadySeconds", 0, INT32_MAX, &v))
		s->min_ready_seconds = (int)v;
	before = d->errs->n;
	api_selector_decode(d, j, "selector", &s->selector);
	sel_bad = d->errs->n > before || d->errs->oom; /* half a selector when out of memory */
	if (!dec_present(j, "template")) {
		dec_err_at(d, "template", "required");
		return;
	}
	dec_object(d, j, "template", &s->template, api_pod_template_decode);
	if (!json_is_object(json_object_get(j, "template")))
		return;
	if (s->template.spec.restart_policy != API_RESTART_ALWAYS)
		dec_err_at(d, "template.spec.restartPolicy", "must be Always for a replication controller, got %s",
		           api_quote(q, sizeof(q), api_restart_policy_name(s->template.spec.restart_policy)));
	if (sel_bad)
		return; /* the selector was reported; matching it means little */
	if (api_selector_empty(&s->selector)) {
		if (tl->n == 0)
			dec_err_at(d, "selector", "required (or labels in spec.template.metadata.labels)");
		else if (api_labels_copy(&s->selector.match_labels, tl) < 0)
			dec_oom(d);
	} else if (!api_selector_matches(&s->selector, tl)) {
		api_labels_format(tl, labels, sizeof(labels));
		dec_err_at(d, "selector", "does not match template labels %s", labels);
	}
}

static void
controller_decode(struct api_dec *d, const json_t *j, void *out)
{
	struct api_controller *rc = out;

	dec_object(d, j, "metadata", &rc->meta, api_meta_decode_label);
	dec_object(d, j, "spec", &rc->spec, spec_decode);
}

static json_t *
spec_encode(const struct api_controller_spec *s)
{
	json_t *j = json_object();
	int rc = !j;

	if (j) {
		rc |= enc_int(j, "replicas", s->replicas);
		rc |= enc_set(j, "selector", api_selector_encode(&s->selector));
		rc |= enc_set(j, "template", api_pod_encode(&s->template));
		if (s->min_ready_seconds)
			rc |= enc_int(j, "minReadySeconds", s->min_ready_seconds);
	}
	return enc_done(j, rc);
}

static json_t *
controller_encode(const void *obj)
{
	const struct api_controller *c = obj;
	json_t *j = json_object();
	int rc = !j;

	if (j) {
		rc |= enc_set(j, "metadata", api_meta_encode(&c->meta));
		rc |= enc_set(j, "spec", spec_encode(&c->spec));
	}
	return enc_done(j, rc);
}

static void
controller_clear(void *obj)
{
	struct api_controller *rc = obj;

	api_meta_clear(&rc->meta);
	api_selector_clear(&rc->spec.selector);
	api_pod_clear(&rc->spec.template);
	memset(rc, 0, sizeof(*rc));
}

const struct api_kind_ops api_controller_ops = {API_CONTROLLER_KIND, sizeof(struct api_controller), controller_decode,
                                                controller_encode, controller_clear};

struct api_controller *
api_controller_parse(const char *json, size_t len, struct api_errors *errs)
{
	return api_parse(API_CONTROLLER, json, len, errs);
}

char *
api_controller_serialize(const struct api_controller *rc)
{
	return api_serialize(API_CONTROLLER, rc);
}

void
api_controller_free(struct api_controller *rc)
{
	api_free(API_CONTROLLER, rc);
}

struct api_pod *
api_controller_new_pod(const struct api_controller *rc, const char *rc_name, const char *rc_uid, const char *pod_name)
{
	struct api_pod *pod = api_pod_dup(&rc->spec.template);

	if (!pod)
		return NULL;
	if (api_set_string(&pod->meta.name, pod_name) < 0 ||
	    api_meta_set_owner(&pod->meta, API_CONTROLLER_KIND, rc_name, rc_uid) < 0) {
		api_pod_free(pod);
		return NULL;
	}
	return pod;
}

int
api_controller_selects(const struct api_controller *rc, const struct api_pod *pod)
{
	return api_selector_matches(&rc->spec.selector, &pod->meta.labels);
}
