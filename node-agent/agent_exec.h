/*
 * agent_exec.h: one reconcile pass over a pod, shared by agent_pods.c (the
 * pass: list, inspect, plan, status, work queue) and agent_exec.c (the
 * Docker actions the planner picks). Private to those two files.
 */
#ifndef SKIFF_AGENT_EXEC_H
#define SKIFF_AGENT_EXEC_H

#include "agent.h"

struct pass {
	struct agent *a;
	char pod[API_SUBDOMAIN_MAX + 1];
	int steps;
	struct snap *s;
	size_t n, cap, ix;
	unsigned char *img; /* enum plan_img per spec container (this pass) */
	size_t n_img;
	struct dk_req *req;
	int etcd_busy, orphan;
	int sandbox_failed; /* end with WQ_RETRY after the status */
	double requeue;     /* > 0: run again after this many seconds */
	int64_t steady_rev; /* started by its resync timer alone: the memo's quiet_rev (pods_process) */
	int64_t status_rev; /* the status's mod revision once as planned (status_done) */
	/* action context */
	char *victim_id;
	int ci; /* spec container index of a create/pull, -1 infra */
	char pull_err[512];
	char *start_id;
	char *failed_start;  /* IDs whose start failed in this pass, ' '-separated */
	char start_err[512]; /* why the last start failed */
	char vol_msg[512];   /* why the pod's volumes may not be mounted here (agent_volumes.c) */
	struct pass *next;
	/* issue 17 (agent_probe.h) */
	struct plan_probe *probes; /* plan_in.probes of this pass */
	char ready_since[40];      /* plan_in.ready_since */
};

/* agent_pods.c */
/* List the pod's containers again, inspect them, plan. */
void pass_relist(struct pass *p);
/* Plan on the snapshots at hand and carry out the step. */
void pass_decide(struct pass *p);
/* Docker removed container id: drop it from the snapshots and plan again
 * on the rest (pass_decide), or list again when the pass had no such
 * snapshot. O(snapshots). */
void pass_removed(struct pass *p, const char *id);
/* Docker started container id (2xx): inspect it alone, put its
 * snapshot in place of the one the pass had (or add it: made in this
 * pass) and plan again, or list again when the inspect gives nothing
 * usable. One call instead of a list and an inspect per container. */
void pass_started(struct pass *p, const char *id);
/* End the pass (frees p) with the work queue's answer r. */
void pass_finish(struct pass *p, enum wq_result r);
/* Log what failed and end with WQ_RETRY. */
void pass_fail(struct pass *p, const char *what, const char *msg);
/* Run the pod again after this many seconds (the earliest wins). */
void pass_requeue(struct pass *p, double after);
/* A Docker request whose done callback gets p; -1 (pass ended) when out
 * of memory. */
int pass_call(struct pass *p, const char *method, const char *path, const char *body, long timeout_ms, dk_done_fn done);

/* agent_exec.c */
/* Carry out a Docker action of the plan (not STATUS, DELETE_STATUS) for
 * binding b (NULL during teardown); its completion plans again. */
void exec_action(struct pass *p, const struct api_binding *b, const struct plan_out *o);
/* A warning about container cname: logged and emitted as a pod event. */
void exec_warn(struct pass *p, const char *cname, const char *reason, const char *msg);
/* An event of the plan: a Warning as exec_warn, a Normal one (e->type)
 * logged at info and emitted with its message as it is. */
void exec_event(struct pass *p, const struct plan_event *e);

#endif
