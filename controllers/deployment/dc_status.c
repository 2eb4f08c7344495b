/*
 * dc_status.c: the DeploymentStatus a pass writes, from what it counted
 * and did and from the status in etcd: the sums, observedRevision, and
 * the conditions Available and Progressing with Kubernetes' reasons.
 * Times change only when a condition changes or the rollout moves, so an
 * idle deployment's status keeps the same bytes (and is not rewritten).
 * The progress deadline is judged from lastUpdateTime in etcd, so a new
 * leader judges it as the old one would. It writes nothing itself.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dc.h"

struct cond_want {
	const char *type;
	enum api_cond_status status;
	const char *reason;
	char message[160];
	int moved; /* the rollout moved: lastUpdateTime is now even when nothing else changes */
};

static int
same_str(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "") == 0;
}

/* c from w, keeping prev's times when nothing changed. 0 or -1. */
static int
cond_fill(struct api_deployment_condition *c, const struct cond_want *w, const struct api_deployment_condition *prev,
          const char *now)
{
	int same = prev && prev->status == w->status && same_str(prev->reason, w->reason) &&
	           same_str(prev->message, w->message);
	const char *upd = same && !w->moved && prev->last_update_time ? prev->last_update_time : now;
	const char *tr =
		prev && prev->status == w->status && prev->last_transition_time ? prev->last_transition_time : now;

	c->status = w->status;
	if (!(c->type = strdup(w->type)) || !(c->reason = strdup(w->reason)) || !(c->message = strdup(w->message)) ||
	    !(c->last_update_time = strdup(upd)) || !(c->last_transition_time = strdup(tr)))
		return -1;
	return 0;
}

static void
want_available(const struct dc_view *v, struct cond_want *w)
{
	int surge, unavailable;

	dc_fenceposts(&v->dep->spec, &surge, &unavailable);
	w->type = "Available";
	if (v->available >= v->dep->spec.replicas - unavailable) {
		w->status = API_COND_TRUE;
		w->reason = "MinimumReplicasAvailable";
		snprintf(w->message, sizeof(w->message), "Deployment has minimum availability.");
	} else {
		w->status = API_COND_FALSE;
		w->reason = "MinimumReplicasUnavailable";
		snprintf(w->message, sizeof(w->message), "Deployment does not have minimum availability.");
	}
}

/* 1 when the rollout is done: every pod is of the current template and
 * available, none of an old one is left. */
static int
complete(const struct dc_view *v)
{
	int r = v->dep->spec.replicas;

	return v->newrc && v->updated == r && v->replicas == r && v->available >= r && v->old_pods == 0;
}

/* Progressing; *recheck: seconds until its deadline passes. */
static void
want_progressing(const struct dc_view *v, const struct api_deployment_status *prev, struct cond_want *w,
                 double *recheck)
{
	const struct api_deployment_condition *pc = api_deployment_condition(prev, "Progressing");
	const char *rc = v->newrc ? v->newrc : v->dep->meta.name;
	time_t last;

	w->type = "Progressing";
	w->status = API_COND_TRUE;
	w->moved = v->action != NULL ||
	           (prev && (prev->updated_replicas != v->updated || prev->available_replicas != v->available));
	if (v->dep->spec.paused) {
		w->status = API_COND_UNKNOWN;
		w->reason = "DeploymentPaused";
		snprintf(w->message, sizeof(w->message), "Deployment is paused");
		w->moved = 0;
		return;
	}
	if (complete(v)) {
		w->reason = "NewReplicaSetAvailable";
		snprintf(w->message, sizeof(w->message), "ReplicationController \"%s\" has successfully progressed.",
		         rc);
		return;
	}
	w->reason = v->action ? v->action : "ReplicaSetUpdated";
	if (v->action && strcmp(v->action, "NewReplicaSetCreated") == 0)
		snprintf(w->message, sizeof(w->message), "Created new ReplicationController \"%s\"", rc);
	else
		snprintf(w->message, sizeof(w->message), "ReplicationController \"%s\" is progressing.", rc);
	if (w->moved || !pc || !pc->last_update_time || api_time_parse(pc->last_update_time, &last, NULL) < 0)
		return;
	if (pc->status == API_COND_FALSE || difftime(v->now, last) > v->dep->spec.progress_deadline_seconds) {
		w->status = API_COND_FALSE;
		w->reason = "ProgressDeadlineExceeded";
		snprintf(w->message, sizeof(w->message), "ReplicationController \"%s\" has timed out progressing.", rc);
		return;
	}
	if (pc->status == API_COND_TRUE && same_str(pc->reason, w->reason) && same_str(pc->message, w->message))
		*recheck = v->dep->spec.progress_deadline_seconds - difftime(v->now, last) + 0.5;
	else if (pc->status == API_COND_TRUE)
		*recheck = v->dep->spec.progress_deadline_seconds + 0.5; /* the time restarts with this pass */
}

struct api_deployment_status *
dc_status_build(const struct dc_view *v, const struct api_deployment_status *prev, double *recheck)
{
	struct api_deployment_status *s = calloc(1, sizeof(*s));
	struct cond_want w[2] = {{0}};
	char now[40];
	int err;

	*recheck = 0;
	if (!s)
		return NULL;
	api_time_format(v->now, now, sizeof(now));
	want_available(v, &w[0]);
	want_progressing(v, prev, &w[1], recheck);
	if (w[1].status == API_COND_TRUE && w[1].moved && !complete(v))
		*recheck = v->dep->spec.progress_deadline_seconds + 0.5;
	s->observed_revision = v->observed ? v->dep_mod : prev ? prev->observed_revision : 0;
	s->replicas = v->replicas;
	s->updated_replicas = v->updated;
	s->ready_replicas = v->ready;
	s->available_replicas = v->available;
	s->unavailable_replicas = v->dep->spec.replicas > v->available ? v->dep->spec.replicas - v->available : 0;
	s->collision_count = v->collision_count;
	err = !(s->uid = strdup(v->uid)) || !(s->conditions = calloc(2, sizeof(*s->conditions)));
	if (!err) {
		s->n_conditions = 2;
		for (int i = 0; i < 2 && !err; i++)
			err = cond_fill(&s->conditions[i], &w[i], api_deployment_condition(prev, w[i].type), now) < 0;
	}
	if (err) {
		api_deployment_status_free(s);
		return NULL;
	}
	return s;
}
