/*
 * api_status.h: what components report: PodStatus (P/podstatus/NODE/POD,
 * by the agent) and ControllerStatus (P/controllerstatus/NAME, by the
 * replication controller).
 *
 * The contract leaves ControllerStatus open; Skiff writes
 *   {"uid": "1234", "observedRevision": 57, "replicas": 4,
 *    "readyReplicas": 3, "message": "..."}
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
	int restart_count;
	char *image;
	char *image_id;
	char *container_id; /* "docker://…" */
	struct api_container_state state;
	struct api_container_state last_state;
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
};

struct api_pod_status *api_pod_status_parse(const char *json, size_t len, struct api_errors *errs);
char *api_pod_status_serialize(const struct api_pod_status *st);
void api_pod_status_free(struct api_pod_status *st);
/* "Pending", "Running", ... */
const char *api_pod_phase_name(enum api_pod_phase p);
/* 1 when Running with at least one container status and every container
 * ready (what Endpoints selects). */
int api_pod_status_ready(const struct api_pod_status *st);

struct api_controller_status {
	char *uid; /* required */
	int64_t observed_revision;
	int replicas;
	int ready_replicas;
	char *message;
};

struct api_controller_status *api_controller_status_parse(const char *json, size_t len, struct api_errors *errs);
char *api_controller_status_serialize(const struct api_controller_status *st);
void api_controller_status_free(struct api_controller_status *st);

#endif
