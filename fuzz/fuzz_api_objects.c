/*
 * fuzz_api_objects.c: libFuzzer target for every object decoder. The
 * first byte picks the kind, the rest is the JSON document. Decoding must
 * never crash or leak; a document that decodes must serialize to bytes
 * that decode again to the same bytes (stable serialization), and copy.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The object kinds (API_LEADER has none; NodeStatus and NodeEvent share
 * Node's and Event's decoders). The first byte modulo N_KINDS picks one. */
static const enum api_kind kinds[] = {
	API_POD,       API_CONTROLLER,       API_SERVICE,   API_NODE,       API_NODELEASE,        API_BINDING,
	API_PODSTATUS, API_CONTROLLERSTATUS, API_ENDPOINTS, API_SERVICEIP,  API_NETWORKCONFIG,    API_SUBNET,
	API_EVENT,     API_CONFIGMAP,        API_SECRET,    API_DEPLOYMENT, API_DEPLOYMENTSTATUS, API_PROXYSTATUS,
};
#define N_KINDS (sizeof(kinds) / sizeof(kinds[0]))

static void
check_round_trip(enum api_kind k, const void *obj)
{
	struct api_errors errs = {0};
	char *s1 = api_serialize(k, obj), *s2;
	void *again, *copy;

	if (!s1)
		abort();
	again = api_parse(k, s1, strlen(s1), &errs);
	if (!again)
		abort(); /* what we wrote does not read back */
	s2 = api_serialize(k, again);
	if (!s2 || strcmp(s1, s2) != 0)
		abort(); /* serialization is not stable */
	free(s2);
	copy = api_dup(k, obj);
	if (!copy || !(s2 = api_serialize(k, copy)) || strcmp(s1, s2) != 0)
		abort();
	free(s2);
	free(s1);
	api_free(k, again);
	api_free(k, copy);
	api_errors_clear(&errs);
}

/* A deployment's own controller selects its pods and not the others'
 * (the pod-template-hash label), and its template is the deployment's. */
static void
check_deployment(const struct api_deployment *d)
{
	struct api_controller *rc;
	char hash[16];

	if (api_template_hash(&d->spec.template, 0, hash, sizeof(hash)) < 0)
		return; /* out of memory */
	if (!(rc = api_deployment_new_rc(d, "web", "1", hash, 1, d->spec.replicas)))
		return;
	if (!api_selector_matches(&rc->spec.selector, &rc->spec.template.meta.labels) ||
	    api_selector_matches(&rc->spec.selector, &d->spec.template.meta.labels) ||
	    !api_deployment_template_matches(d, rc))
		abort();
	api_controller_free(rc);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct api_errors errs = {0};
	enum api_kind k;
	json_t *root;
	char *joined;
	void *obj;

	if (size < 1)
		return 0;
	k = kinds[data[0] % N_KINDS];
	obj = api_parse(k, (const char *)data + 1, size - 1, &errs);
	if (obj) {
		if (api_errors_any(&errs))
			abort();
		check_round_trip(k, obj);
		if (k == API_CONTROLLER) {
			struct api_pod *pod = api_controller_new_pod(obj, "rc", "1", "rc-abcde");

			if (pod && !api_controller_selects(obj, pod))
				abort(); /* a controller's own pod must match its selector */
			api_pod_free(pod);
		}
		if (k == API_DEPLOYMENT)
			check_deployment(obj);
		api_free(k, obj);
	} else {
		if (!api_errors_any(&errs))
			abort(); /* refused without saying why */
		joined = api_errors_join(&errs, "\n");
		free(joined);
	}
	api_errors_clear(&errs);
	if ((root = json_loadb((const char *)data + 1, size - 1, 0, NULL))) {
		k = api_kind_detect(root);
		if (k != API_KIND_UNKNOWN && k != API_LEADER)
			api_free(k, api_decode(k, root, &errs));
		api_errors_clear(&errs);
		json_decref(root);
	}
	return 0;
}
