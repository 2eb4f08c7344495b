/*
 * agent_hook.c: lifecycle hooks and the pod copies they need. preStop
 * runs with the prober's runners (agent_probe_run.c) on the container's
 * state (agent_probe.c), bounded by the seconds of the grace period the
 * planner has left, once per container; its end requeues the pod. The
 * agent keeps a copy of each pod as last bound (per pod name, replaced
 * when the binding's revision or uid changes) so that a pod whose binding
 * is gone still stops with its own grace period and hook; the copy goes
 * with the pod's status.
 *
 * postStart is not run (the field policy refuses it). What to do next is
 * the planner's: a failed hook only yields its event.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent_probe.h"

static void
hook_done(void *arg, int ok, const char *msg)
{
	struct pctr *pc = arg;
	struct agent *a = pc->pr->a;

	pc->hook = NULL;
	pc->prestop_done = 1;
	if (!ok) {
		log_kv(LL_WARN, KV("pod", pc->pod_name, "container", pc->c->name),
		       "preStop hook failed: %s; stopping the container anyway", msg);
		recorder_eventf(a->rec, "pods", pc->pod_name, "Warning", "FailedPreStopHook",
		                "PreStopHook failed for container %s: %s", pc->c->name, msg);
	} else {
		log_kv(LL_INFO, KV("pod", pc->pod_name, "container", pc->c->name), "preStop hook done");
	}
	wq_add(a->q, pc->pod_name);
}

int
hook_pre_stop(struct prober *pr, const char *target_id, long grace)
{
	struct pctr *pc = prober_find(pr, target_id);
	const struct api_handler *h;
	struct prun_ctx ctx;

	if (!pc || pc->prestop_done)
		return 0;
	if (pc->hook)
		return 1;
	h = &pc->c->lifecycle.pre_stop;
	if (h->kind == API_HANDLER_NONE || grace <= 0) {
		pc->prestop_done = 1;
		return 0;
	}
	log_kv(LL_INFO, KV("pod", pc->pod_name, "container", pc->c->name), "running preStop hook (at most %lds)",
	       grace);
	prober_ctx(pc, h, (double)grace, &ctx);
	pc->hook = prun_start(&ctx, h, hook_done, pc);
	if (!pc->hook) {
		pc->prestop_done = 1; /* out of memory: the stop goes on */
		return 0;
	}
	return 1;
}

/* ---------------------------------------------------------------- pod copies */

struct lastpod {
	char *name;
	int64_t rev;
	struct api_pod *p;
	struct lastpod *next;
};

static struct lastpod **
lastpod_find(struct agent *a, const char *pod)
{
	struct lastpod **pp;

	for (pp = &a->lastpods; *pp; pp = &(*pp)->next)
		if (strcmp((*pp)->name, pod) == 0)
			break;
	return pp;
}

void
lastpod_keep(struct agent *a, const char *pod, const struct api_pod *p, int64_t rev)
{
	struct lastpod **pp = lastpod_find(a, pod), *l = *pp;
	struct api_pod *copy;

	if (l && l->rev == rev && strcmp(l->p->meta.uid, p->meta.uid) == 0)
		return;
	copy = api_pod_dup(p);
	if (!copy)
		return; /* out of memory: the old copy (or none) stays */
	if (!l) {
		l = calloc(1, sizeof(*l));
		if (!l || !(l->name = strdup(pod))) {
			free(l);
			api_pod_free(copy);
			return;
		}
		l->next = a->lastpods;
		a->lastpods = l;
	}
	api_pod_free(l->p);
	l->p = copy;
	l->rev = rev;
}

const struct api_pod *
lastpod_get(struct agent *a, const char *pod)
{
	struct lastpod *l = *lastpod_find(a, pod);

	return l ? l->p : NULL;
}

void
lastpod_drop(struct agent *a, const char *pod)
{
	struct lastpod **pp = lastpod_find(a, pod), *l = *pp;

	if (!l)
		return;
	*pp = l->next;
	api_pod_free(l->p);
	free(l->name);
	free(l);
}

void
lastpod_free_all(struct agent *a)
{
	while (a->lastpods)
		lastpod_drop(a, a->lastpods->name);
}
