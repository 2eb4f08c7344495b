/*
 * api_deployment_status.c: DeploymentStatus decode/encode (shape in
 * api_deployment.h). What the counts and conditions should be is the
 * deployment controller's business.
 */
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "api_internal.h"

static const char *const cond_names[] = {"Unknown", "True", "False"};

static void
cond_decode(struct api_dec *d, const json_t *j, void *item)
{
	struct api_deployment_condition *c = item;

	c->type = dec_str(d, j, "type", 1);
	c->status = (enum api_cond_status)dec_enum(d, j, "status", cond_names, 3, API_COND_UNKNOWN);
	c->reason = dec_str(d, j, "reason", 0);
	c->message = dec_str(d, j, "message", 0);
	c->last_update_time = dec_time(d, j, "lastUpdateTime");
	c->last_transition_time = dec_time(d, j, "lastTransitionTime");
}

static int
count(struct api_dec *d, const json_t *j, const char *key, int *out)
{
	int64_t v;

	if (!dec_int(d, j, key, 0, INT32_MAX, &v))
		return 0;
	*out = (int)v;
	return 1;
}

static void
dstatus_decode(struct api_dec *d, const json_t *j, void *out)
{
	struct api_deployment_status *s = out;

	s->uid = dec_checked(d, j, "uid", 1, api_check_uid);
	dec_int(d, j, "observedRevision", 0, INT64_MAX, &s->observed_revision);
	count(d, j, "replicas", &s->replicas);
	count(d, j, "updatedReplicas", &s->updated_replicas);
	count(d, j, "readyReplicas", &s->ready_replicas);
	count(d, j, "availableReplicas", &s->available_replicas);
	count(d, j, "unavailableReplicas", &s->unavailable_replicas);
	count(d, j, "collisionCount", &s->collision_count);
	s->conditions = dec_array(d, j, "conditions", sizeof(*s->conditions), &s->n_conditions, cond_decode);
}

static json_t *
cond_encode(const void *item)
{
	const struct api_deployment_condition *c = item;
	json_t *j = json_object();
	int rc = !j;

	if (j) {
		rc |= enc_str(j, "type", c->type);
		rc |= enc_str(j, "status", (unsigned)c->status < 3 ? cond_names[c->status] : "Unknown");
		rc |= enc_str(j, "reason", c->reason);
		rc |= enc_str(j, "message", c->message);
		rc |= enc_str(j, "lastUpdateTime", c->last_update_time);
		rc |= enc_str(j, "lastTransitionTime", c->last_transition_time);
	}
	return enc_done(j, rc);
}

static json_t *
dstatus_encode(const void *obj)
{
	const struct api_deployment_status *s = obj;
	json_t *j = json_object();
	int rc = !j;

	if (j) {
		rc |= enc_str(j, "uid", s->uid);
		rc |= enc_int(j, "observedRevision", s->observed_revision);
		rc |= enc_int(j, "replicas", s->replicas);
		rc |= enc_int(j, "updatedReplicas", s->updated_replicas);
		rc |= enc_int(j, "readyReplicas", s->ready_replicas);
		rc |= enc_int(j, "availableReplicas", s->available_replicas);
		rc |= enc_int(j, "unavailableReplicas", s->unavailable_replicas);
		if (s->collision_count)
			rc |= enc_int(j, "collisionCount", s->collision_count);
		if (s->n_conditions)
			rc |= enc_set(j, "conditions",
			              enc_array(s->conditions, s->n_conditions, sizeof(*s->conditions), cond_encode));
	}
	return enc_done(j, rc);
}

static void
dstatus_clear(void *obj)
{
	struct api_deployment_status *s = obj;

	for (size_t i = 0; i < s->n_conditions; i++) {
		free(s->conditions[i].type);
		free(s->conditions[i].reason);
		free(s->conditions[i].message);
		free(s->conditions[i].last_update_time);
		free(s->conditions[i].last_transition_time);
	}
	free(s->conditions);
	free(s->uid);
	memset(s, 0, sizeof(*s));
}

const struct api_kind_ops api_deployment_status_ops = {"DeploymentStatus", sizeof(struct api_deployment_status),
                                                       dstatus_decode, dstatus_encode, dstatus_clear};

struct api_deployment_status *
api_deployment_status_parse(const char *json, size_t len, struct api_errors *errs)
{
	return api_parse(API_DEPLOYMENTSTATUS, json, len, errs);
}

char *
api_deployment_status_serialize(const struct api_deployment_status *st)
{
	return api_serialize(API_DEPLOYMENTSTATUS, st);
}

void
api_deployment_status_free(struct api_deployment_status *st)
{
	api_free(API_DEPLOYMENTSTATUS, st);
}

const struct api_deployment_condition *
api_deployment_condition(const struct api_deployment_status *st, const char *type)
{
	for (size_t i = 0; st && i < st->n_conditions; i++)
		if (st->conditions[i].type && strcmp(st->conditions[i].type, type) == 0)
			return &st->conditions[i];
	return NULL;
}
