/*
 * dc.h: skiff-deployment-controller's private header. For every
 * P/deployments/NAME the controller keeps one replication controller per
 * pod template, P/controllers/NAME-HASH (api_deployment_new_rc), rolls the
 * pods from the old ones to the current one under the deployment's
 * strategy, deletes old ones beyond revisionHistoryLimit and reports
 * P/deploymentstatus/NAME. The work queue's keys are deployment names.
 *
 * Level-triggered: every pass decides from the caches alone (the
 * deployment, the controllers it owns, their statuses), makes at most one
 * change of replica counts, in one transaction that compares the mod
 * revision of the deployment and of every controller it owns, and waits
 * until the caches hold its own writes before it decides again. A standby
 * that takes over mid-rollout therefore carries on from etcd, and two
 * leaders for a moment cannot both act on the same state.
 */
#ifndef SKIFF_DC_H
#define SKIFF_DC_H

#include <stddef.h>
#include <stdint.h>

#include "api.h"
#include "controller.h"
#include "daemon.h"
#include "events.h"
#include "informer.h"
#include "workqueue.h"

struct dc {
	struct skiff_daemon *d;
	const char *prefix;
	/* deployments: NAME → struct api_deployment; controllers: NAME →
	 * struct api_controller; cstatus: NAME → struct
	 * api_controller_status; dstatus: NAME → struct api_deployment_status. */
	struct informer *deployments, *controllers, *cstatus, *dstatus;
	struct controller *ctl;
	struct wq *q;
	struct recorder *rec;
	struct metric *m_scales, *m_creates, *m_deletes, *m_status;
};

/* ---- dc_math.c: the rollout arithmetic, pure (Kubernetes' rules) ---- */

/* value of total: a count as it is, a percentage rounded up or down. */
int dc_scaled(const struct api_int_or_percent *v, int total, int round_up);
/* maxSurge (rounded up) and maxUnavailable (rounded down, at most
 * replicas) of a RollingUpdate spec; both 0 makes unavailable 1. Recreate
 * or 0 replicas: both 0. */
void dc_fenceposts(const struct api_deployment_spec *s, int *surge, int *unavailable);

/* One owned controller as the arithmetic sees it. */
struct dc_rs {
	int spec;      /* spec.replicas */
	int available; /* its status's available pods, at most spec */
};

/* The new controller's replicas after a scale-up step of a rolling
 * update: never more pods in all (the sum of every spec, total_spec) than
 * replicas + surge, never more than replicas in the new one. A new one
 * above replicas comes down to replicas. */
int dc_new_replicas(int replicas, int surge, int total_spec, int new_spec);
/* The scale-down step of the old controllers (old[0] the oldest): first
 * their unavailable pods, then available ones while more than replicas -
 * unavailable stay available, counting the new controller's unavailable
 * pods as missing. Writes each old controller's new spec to out[i] and
 * returns how many replicas it took away in all. */
int dc_scale_down_old(int replicas, int unavailable, const struct dc_rs *newrs, const struct dc_rs *old, size_t n_old,
                      int *out);

/* ---- dc_sync.c ---- */
void dc_reconcile(struct wq *q, const char *name, void *arg);
/* Writes in flight (for a clean stop). */
int dc_busy(void *arg);

/* ---- dc_status.c: the status a pass writes ---- */

/* What a pass found and did, for the status. */
struct dc_view {
	const struct api_deployment *dep;
	const char *uid;   /* the deployment's create revision */
	int64_t dep_mod;   /* its mod revision */
	int observed;      /* every owned controller's status answers for its spec */
	const char *newrc; /* the current template's controller name, or NULL */
	int replicas, updated, ready, available;
	int old_pods;        /* pods of the old controllers (their statuses) */
	int collision_count; /* the count to write */
	const char *action;  /* "NewReplicaSetCreated", "ReplicaSetUpdated" or NULL: what this pass wrote */
	time_t now;
};
/* The new status from v and the one in etcd (prev, may be NULL); new, or
 * NULL when out of memory. *recheck: seconds until the progress deadline
 * passes (0: no need to look again for it). */
struct api_deployment_status *dc_status_build(const struct dc_view *v, const struct api_deployment_status *prev,
                                              double *recheck);

#endif
