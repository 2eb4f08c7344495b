/*
 * api_binding.c: Binding decode/encode. The pod inside is checked as any
 * pod, plus name and uid, which the agent needs to act on it alone; only
 * its images are held to the old, looser rule, so that a binding written
 * before the reference grammar still reaches the agent, which reports a
 * bad image on the pod (InvalidImageName) rather than losing the pod.
 */
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "api_internal.h"

static void
binding_decode(struct api_dec *d, const json_t *j, void *out)
{
	struct api_binding *b = out;
	const json_t *pod = json_object_get(j, "pod"), *meta;

	b->node = dec_checked(d, j, "node", 1, api_check_dns_subdomain);
	if (!pod || json_is_null(pod)) {
		dec_err_at(d, "pod", "required");
		return;
	}
	d->loose_images = 1; /* the agent checks and escapes them (see api_image.c) */
	dec_object(d, j, "pod", &b->pod, api_pod_decode);
	d->loose_images = 0;
	if (!json_is_object(pod))
		return;
	meta = json_object_get(pod, "metadata");
	if (!json_is_object(meta) && dec_present(pod, "metadata"))
		return;
	if (dec_missing(meta, "name"))
		dec_err_at(d, "pod.metadata.name", "required");
	if (dec_missing(meta, "uid"))
		dec_err_at(d, "pod.metadata.uid", "required");
}

static json_t *
binding_encode(const void *obj)
{
	const struct api_binding *b = obj;
	json_t *j = json_object();
	int rc = !j;

	if (j) {
		rc |= enc_str(j, "node", b->node);
		rc |= enc_set(j, "pod", api_pod_encode(&b->pod));
	}
	return enc_done(j, rc);
}

static void
binding_clear(void *obj)
{
	struct api_binding *b = obj;

	free(b->node);
	api_pod_clear(&b->pod);
	memset(b, 0, sizeof(*b));
}

const struct api_kind_ops api_binding_ops = {"Binding", sizeof(struct api_binding), binding_decode, binding_encode,
                                             binding_clear};

struct api_binding *
api_binding_parse(const char *json, size_t len, struct api_errors *errs)
{
	return api_parse(API_BINDING, json, len, errs);
}

char *
api_binding_serialize(const struct api_binding *b)
{
	return api_serialize(API_BINDING, b);
}

void
api_binding_free(struct api_binding *b)
{
	api_free(API_BINDING, b);
}

char *
api_binding_pod_uid(const char *json, size_t len, struct api_errors *errs)
{
	struct api_binding *b = api_binding_parse(json, len, errs);
	char *uid = b && b->pod.meta.uid ? strdup(b->pod.meta.uid) : NULL;

	api_binding_free(b);
	return uid;
}
