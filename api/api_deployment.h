/*
 * api_deployment.h: Deployment (apps/v1, P/deployments/NAME) and
 * DeploymentStatus (P/deploymentstatus/NAME, written by the deployment
 * controller), and what the controller and skiffctl share about the
 * replication controllers a Deployment owns: the pod-template-hash, the
 * name NAME-HASH and the owned controller itself.
 *
 * Decoding applies Kubernetes' defaults: replicas 1, strategy
 * RollingUpdate with maxSurge and maxUnavailable 25%, revisionHistoryLimit
 * 10, progressDeadlineSeconds 600. The selector is required and must match
 * the template's labels; the template's restartPolicy must be Always.
 */
#ifndef SKIFF_API_DEPLOYMENT_H
#define SKIFF_API_DEPLOYMENT_H

#include <stddef.h>
#include <stdint.h>

#include "api_controller.h"
#include "api_errors.h"
#include "api_meta.h"
#include "api_pod.h"
#include "api_selector.h"
#include "api_status.h"

#define API_DEPLOYMENT_KIND "Deployment"
#define API_DEPLOYMENT_VERSION "apps/v1"
#define API_POD_TEMPLATE_HASH "pod-template-hash"
#define API_DEPLOYMENT_REVISION "deployment.kubernetes.io/revision"
#define API_RESTARTED_AT "kubectl.kubernetes.io/restartedAt"
/* A hash is the decimal of a 32-bit number, at most 10 characters; the
 * controller NAME-HASH is a DNS-1123 label, so NAME has at most 52. */
#define API_TEMPLATE_HASH_MAX 10
#define API_DEPLOYMENT_NAME_MAX (API_LABEL_MAX - 1 - API_TEMPLATE_HASH_MAX)

enum api_deployment_strategy { API_ROLLING_UPDATE, API_RECREATE };

/* An IntOrString of maxSurge/maxUnavailable: a count, or a percentage of
 * spec.replicas ("25%"). */
struct api_int_or_percent {
	int value;
	int percent; /* 1: value is a percentage */
};

struct api_deployment_spec {
	int replicas;                 /* >= 0, default 1 */
	struct api_selector selector; /* required, matches the template's labels */
	struct api_pod template;      /* metadata: labels and annotations only */
	enum api_deployment_strategy strategy;
	struct api_int_or_percent max_surge, max_unavailable; /* RollingUpdate; default 25% each, not both 0 */
	int min_ready_seconds;
	int revision_history_limit; /* default 10 */
	int paused;
	int progress_deadline_seconds; /* default 600 */
};

struct api_deployment {
	struct api_meta meta;
	struct api_deployment_spec spec;
};

/* A condition of a DeploymentStatus: type Available or Progressing. */
struct api_deployment_condition {
	char *type;
	enum api_cond_status status;
	char *reason;
	char *message;
	char *last_update_time; /* RFC 3339, or NULL */
	char *last_transition_time;
};

/* P/deploymentstatus/NAME:
 *   {"uid": "1234", "observedRevision": 57, "replicas": 4, "updatedReplicas": 2,
 *    "readyReplicas": 3, "availableReplicas": 3, "unavailableReplicas": 1,
 *    "conditions": [...], "collisionCount": 0}
 * uid: the deployment's create revision; observedRevision: the mod
 * revision of the deployment key the counts answer for. */
struct api_deployment_status {
	char *uid; /* required */
	int64_t observed_revision;
	int replicas, updated_replicas, ready_replicas, available_replicas, unavailable_replicas;
	struct api_deployment_condition *conditions;
	size_t n_conditions;
	int collision_count;
};

/* As api_pod_parse & co. (see api_kind.h). */
struct api_deployment *api_deployment_parse(const char *json, size_t len, struct api_errors *errs);
char *api_deployment_serialize(const struct api_deployment *d);
void api_deployment_free(struct api_deployment *d);
struct api_deployment_status *api_deployment_status_parse(const char *json, size_t len, struct api_errors *errs);
char *api_deployment_status_serialize(const struct api_deployment_status *st);
void api_deployment_status_free(struct api_deployment_status *st);
/* The condition of that type, or NULL. Borrowed. */
const struct api_deployment_condition *api_deployment_condition(const struct api_deployment_status *st,
                                                                const char *type);

/* The pod-template-hash of template, Kubernetes' way: fnv32a of the
 * template (here: its canonical JSON bytes), then, when collision_count >
 * 0, of collision_count as 8 little-endian bytes; the decimal string of
 * the sum, each digit d written as "bcdfghjklmnpqrstvwxz2456789"[d % 27].
 * buf gets at least API_TEMPLATE_HASH_MAX + 1 bytes. 0, or -1 when out of
 * memory. O(size of the template). */
int api_template_hash(const struct api_pod *template, int collision_count, char *buf, size_t len);
/* NAME-HASH into buf (API_LABEL_MAX + 1 bytes): 0, or -1 with err when
 * NAME is longer than API_DEPLOYMENT_NAME_MAX or the result is no label. */
int api_deployment_rc_name(char *buf, size_t len, const char *name, const char *hash, struct api_error *err);
/* The replication controller d owns for hash: named NAME-HASH, label
 * pod-template-hash=HASH on itself, in its selector and in its template's
 * labels, owner reference {Deployment, name, uid, controller: true},
 * annotation deployment.kubernetes.io/revision = revision, spec.replicas
 * replicas. New, NULL when out of memory or the name is too long. */
struct api_controller *api_deployment_new_rc(const struct api_deployment *d, const char *name, const char *uid,
                                             const char *hash, long revision, int replicas);
/* api_deployment_new_rc as the JSON written to P/controllers/NAME-HASH:
 * the owner reference carries apiVersion apps/v1 and spec.minReadySeconds
 * is d's when not 0. New string, NULL when out of memory. */
char *api_deployment_rc_json(const struct api_controller *rc, const struct api_deployment *d);
/* 1 when rc's template, without the pod-template-hash label, equals d's
 * template (the same canonical bytes). */
int api_deployment_template_matches(const struct api_deployment *d, const struct api_controller *rc);
/* The revision annotation of rc (deployment.kubernetes.io/revision), 0
 * when absent or not a number. */
long api_deployment_revision(const struct api_controller *rc);

#endif
