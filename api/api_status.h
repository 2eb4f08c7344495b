/*
 * api_status.h: what components report: PodStatus (P/podstatus/NODE/POD,
 * by the agent) and ControllerStatus (P/controllerstatus/NAME, by the
 * replication controller).
 *
 * The contract leaves ControllerStatus open; Skiff writes
 *   {"uid": "1234", "observedRevision": 57, "replicas": 4,
 *    "readyReplicas": 3, "availableReplicas": 3, "message": "..."}
 * uid: the controller's create revision; observedRevision: the mod
 * revision of the controller key last acted on; message: why the
 * controller is invalid or stuck (absent when all is well).
 */
#ifndef SKIFF_API_STATUS_H
#define SKIFF_API_STATUS_H

#include <stddef.h>
#include <stdint.h>

#include "api_errors.h"

enum api_pod_phase { API_PHASE_PENDING, API_PHASE_RUNNING, API_PHASE_SUCCEEDED, API_PHASE_FAILED };

enum api_state { API_STATE_NONE, API_STATE_WAITING, API_STATE_RUNNING, API_STATE_TERMINATED };

/* One of waiting {reason, message}, running {startedAt} or terminated
 * {exitCode, signal, reason, message, startedAt, finishedAt}. */
struct api_container_state {
	enum api_state state;
	char *reason;
	char *message;
	char *started_at; /* RFC 3339 */
	char *finished_at;
	int exit_code;
	int signal;
};

struct api_container_status {
	char *name;
	int ready;
	int started; /* -1: absent (a version-1 writer), else 0 or 1 */
	int restart_count;
	char *image;
	char *image_id;
	char *container_id; /* "docker://…" */
	struct api_container_state state;
	struct api_container_state last_state;
};

/* One of a pod's conditions (contract version 2): type Ready,
 * ContainersReady, Initialized or PodScheduled (others are kept as they
 * are), status True, False or Unknown. */
enum api_cond_status { API_COND_UNKNOWN, API_COND_TRUE, API_COND_FALSE };
struct api_pod_condition {
	char *type;
	enum api_cond_status status;
	char *reason;
	char *message;
	char *last_transition_time; /* RFC 3339, or NULL */
};

struct api_pod_status {
	char *uid;                /* the pod's create revision; required */
	enum api_pod_phase phase; /* default Pending */
	char *host_ip;
	char *pod_ip;
	char *start_time;
	char *reason;
	char *message;
	struct api_container_status *containers; /* "containerStatuses" */
	size_t n_containers;
	struct api_container_status *init_containers; /* "initContainerStatuses", same rows */
	size_t n_init_containers;
	struct api_pod_condition *conditions; /* "conditions" */
	size_t n_conditions;
	int slim; /* 1 once api_pod_status_slim freed parts of it (then never serialized) */
};

struct api_pod_status *api_pod_status_parse(const char *json, size_t len, struct api_errors *errs);
char *api_pod_status_serialize(const struct api_pod_status *st);
void api_pod_status_free(struct api_pod_status *st);
/* What api_pod_status_slim keeps besides uid and phase: */
#define API_SLIM_STATUS_READY (1u << 0)  /* what api_pod_status_ready and _ready_since read */
#define API_SLIM_STATUS_POD_IP (1u << 1) /* podIP */
/* Free everything of a decoded status but uid, phase and what keep names
 * (a cache that reads only these). API_SLIM_STATUS_READY keeps the first
 * Ready condition (type, status, lastTransitionTime) alone, and only when
 * there is none, the container statuses with their ready flag alone, so
 * that api_pod_status_ready and api_pod_status_ready_since answer as on
 * the whole status. A slimmed status must not be serialized or checked
 * again: api_pod_status_serialize gives NULL for it (st->slim set). 0, or
 * -1 when out of memory (st left whole). O(size of the status). */
int api_pod_status_slim(struct api_pod_status *st, unsigned keep);
/* "Pending", "Running", ... */
const char *api_pod_phase_name(enum api_pod_phase p);
/* 1 when Running and ready (what Endpoints selects): the Ready condition
 * is True when the status has one; a version-1 status without conditions
 * is ready with at least one container status and every container ready. */
int api_pod_status_ready(const struct api_pod_status *st);
/* The condition of that type, or NULL. */
const struct api_pod_condition *api_pod_status_condition(const struct api_pod_status *st, const char *type);
/* When the pod last became ready (the Ready condition's
 * lastTransitionTime, RFC 3339), or NULL when it is not ready or the
 * status does not say (borrowed from st). */
const char *api_pod_status_ready_since(const struct api_pod_status *st);

struct api_controller_status {
	char *uid; /* required */
	int64_t observed_revision;
	int replicas;
	int ready_replicas;
	int available_replicas; /* ready for at least the controller's minReadySeconds */
	char *message;
};

struct api_controller_status *api_controller_status_parse(const char *json, size_t len, struct api_errors *errs);
char *api_controller_status_serialize(const struct api_controller_status *st);
void api_controller_status_free(struct api_controller_status *st);

#endif
