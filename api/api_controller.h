/*
 * api_controller.h: ReplicationController (P/controllers/NAME).
 *
 * Decoding applies Kubernetes' defaults: replicas 1, minReadySeconds 0,
 * and an absent or empty selector becomes the template's labels. The selector must match the
 * template's labels and the template's restartPolicy must be Always.
 */
#ifndef SKIFF_API_CONTROLLER_H
#define SKIFF_API_CONTROLLER_H

#include <stddef.h>

#include "api_errors.h"
#include "api_meta.h"
#include "api_pod.h"
#include "api_selector.h"

#define API_CONTROLLER_KIND "ReplicationController"

struct api_controller_spec {
	int replicas;                 /* >= 0, default 1 */
	struct api_selector selector; /* never empty once decoded */
	struct api_pod template;      /* metadata: labels and annotations only */
	int min_ready_seconds;        /* >= 0, default 0: how long a ready pod must stay ready to be available */
};

struct api_controller {
	struct api_meta meta;
	struct api_controller_spec spec;
};

/* As api_pod_parse & co. (see api_kind.h). */
struct api_controller *api_controller_parse(const char *json, size_t len, struct api_errors *errs);
char *api_controller_serialize(const struct api_controller *rc);
void api_controller_free(struct api_controller *rc);

/* A new pod from rc's template: named pod_name, with the template's labels
 * and an owner reference {ReplicationController, rc_name, rc_uid,
 * controller: true}. rc_name and rc_uid come from the controller's key
 * (name, create revision). NULL when out of memory. */
struct api_pod *api_controller_new_pod(const struct api_controller *rc, const char *rc_name, const char *rc_uid,
                                       const char *pod_name);
/* 1 when pod is one of rc's: it matches the selector (owner references are
 * the caller's business). */
int api_controller_selects(const struct api_controller *rc, const struct api_pod *pod);

#endif
