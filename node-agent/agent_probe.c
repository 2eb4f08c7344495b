/*
 * agent_probe.c: the prober. Per running application container (by
 * Docker ID) it keeps a copy of the pod's spec as it was when it first saw
 * the container, one ev_timer per probe (startupProbe first; readiness and
 * liveness only once started; all on a common grid of PROBE_GRID seconds,
 * so that probes share wake-ups), the consecutive successes and failures,
 * and the verdicts the planner reads (started, ready, live_failed,
 * prestop_done). Every failed probe is a Warning event "Unhealthy"; every
 * verdict change requeues the pod on the agent's work queue, so the
 * planner acts on it in a pass. The handlers run in agent_probe_run.c.
 *
 * It decides no action (the planner restarts a container whose liveness
 * failed) and writes no status. A probe whose spec changes while its
 * container runs keeps its old settings until the container is replaced
 * (the probes are not part of the container's spec hash, as in
 * Kubernetes, where a probe change restarts nothing).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent_probe.h"
#include "tp.h"

#define PROBE_GRID 0.25 /* seconds: probes start on multiples of it (on_grid) */

static const char *const kind_names[] = {"Startup", "Readiness", "Liveness"};

struct prober *
prober_new(struct agent *a)
{
	struct prober *pr = calloc(1, sizeof(*pr));

	if (!pr)
		return NULL;
	pr->a = a;
	pr->tp = tp_new(a->d->loop);
	if (!pr->tp) {
		free(pr);
		return NULL;
	}
	return pr;
}

static void
pctr_free(struct pctr *pc)
{
	int k;

	for (k = 0; k < PROBE_KINDS; k++) {
		ev_timer_stop(pc->pr->a->d->loop, &pc->w[k].t);
		prun_cancel(pc->w[k].run);
	}
	prun_cancel(pc->hook);
	api_pod_free(pc->pod);
	free(pc->id);
	free(pc->pod_name);
	free(pc);
}

void
prober_free(struct prober *pr)
{
	if (!pr)
		return;
	while (pr->ctrs) {
		struct pctr *pc = pr->ctrs;

		pr->ctrs = pc->next;
		pctr_free(pc);
	}
	tp_free(pr->tp);
	prun_spare_free();
	free(pr);
}

struct pctr *
prober_find(struct prober *pr, const char *id)
{
	struct pctr *pc;

	for (pc = pr ? pr->ctrs : NULL; pc; pc = pc->next)
		if (strcmp(pc->id, id) == 0)
			return pc;
	return NULL;
}

void
prober_ctx(const struct pctr *pc, const struct api_handler *h, double timeout, struct prun_ctx *out)
{
	memset(out, 0, sizeof(*out));
	out->a = pc->pr->a;
	out->tp = pc->pr->tp;
	out->ctr_id = pc->id;
	out->pod_ip = pc->ip;
	out->port = api_handler_port(h, pc->c);
	out->timeout = timeout;
}

/* ---------------------------------------------------------------- verdicts */

static void
stop_probe(struct pwork *w)
{
	ev_timer_stop(w->pc->pr->a->d->loop, &w->t);
}

/* One result of probe w: count it, report a failure, change the verdict
 * at its threshold. 1 when a verdict changed. */
static int
judge(struct pwork *w, int ok, const char *msg)
{
	struct pctr *pc = w->pc;
	int was;

	w->successes = ok ? w->successes + 1 : 0;
	w->failures = ok ? 0 : w->failures + 1;
	if (!ok) {
		log_kv(LL_INFO, KV("pod", pc->pod_name, "container", pc->c->name), "%s probe failed: %s",
		       kind_names[w->kind], msg);
		recorder_eventf(pc->pr->a->rec, "pods", pc->pod_name, "Warning", "Unhealthy", "%s probe failed: %s",
		                kind_names[w->kind], msg);
		snprintf(pc->why, sizeof(pc->why), "%s probe failed: %s", kind_names[w->kind], msg);
	}
	switch (w->kind) {
	case PROBE_STARTUP:
		if (ok && w->successes >= w->p->success_threshold) {
			pc->started = 1;
			stop_probe(w);
			return 1;
		}
		break;
	case PROBE_READINESS:
		was = pc->ready;
		if (ok && w->successes >= w->p->success_threshold)
			pc->ready = 1;
		else if (!ok && w->failures >= w->p->failure_threshold)
			pc->ready = 0;
		return was != pc->ready;
	default: break;
	}
	if (!ok && w->failures >= w->p->failure_threshold) { /* startup or liveness: restart it */
		pc->live_failed = 1;
		pc->startup_failed = w->kind == PROBE_STARTUP;
		stop_probe(&pc->w[PROBE_STARTUP]);
		stop_probe(&pc->w[PROBE_LIVENESS]);
		return 1;
	}
	return 0;
}

static void
probe_done(void *arg, int ok, const char *msg)
{
	struct pwork *w = arg;

	w->run = NULL;
	if (judge(w, ok, msg))
		wq_add(w->pc->pr->a->q, w->pc->pod_name);
}

static void
probe_tick(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct pwork *w = (struct pwork *)((char *)t - offsetof(struct pwork, t));
	struct pctr *pc = w->pc;
	struct prun_ctx ctx;

	(void)loop;
	(void)revents;
	if (w->run || pc->live_failed || (w->kind != PROBE_STARTUP && !pc->started))
		return;
	prober_ctx(pc, &w->p->h, w->p->timeout_seconds, &ctx);
	w->run = prun_start(&ctx, &w->p->h, probe_done, w);
	if (!w->run)
		log_kv(LL_WARN, KV("pod", pc->pod_name, "container", pc->c->name),
		       "%s probe not run: out of memory; trying again at the next period", kind_names[w->kind]);
}

/* ---------------------------------------------------------------- sync */

/* Seconds from now to the first instant on the prober's grid (multiples
 * of PROBE_GRID seconds of the loop's clock) at least after seconds away.
 * Probes of whole-second periods that start on the grid stay on it, so the
 * probes of every container share a few wake-ups a second instead of one
 * each (and their answers come back together). A probe runs at most
 * PROBE_GRID later than without it: within the kubelet's own slack, which
 * runs the first probe at a tick of the period after initialDelaySeconds. */
static double
on_grid(struct ev_loop *loop, double after)
{
	double now = ev_now(loop), at = ceil((now + after) / PROBE_GRID) * PROBE_GRID;

	return at - now > 0 ? at - now : 0;
}

static struct pctr *
pctr_new(struct prober *pr, const char *pod, const struct api_pod *p, size_t j, const char *id)
{
	struct pctr *pc = calloc(1, sizeof(*pc));
	const struct api_probe *probes[PROBE_KINDS];
	int k;

	if (!pc)
		return NULL;
	pc->pr = pr;
	pc->id = strdup(id);
	pc->pod_name = strdup(pod);
	pc->pod = api_pod_dup(p);
	if (!pc->id || !pc->pod_name || !pc->pod) {
		api_pod_free(pc->pod);
		free(pc->id);
		free(pc->pod_name);
		free(pc);
		return NULL;
	}
	pc->c = &pc->pod->spec.containers[j];
	probes[PROBE_STARTUP] = &pc->c->startup;
	probes[PROBE_READINESS] = &pc->c->readiness;
	probes[PROBE_LIVENESS] = &pc->c->liveness;
	pc->started = !pc->c->startup.set;
	pc->ready = !pc->c->readiness.set;
	pc->prestop_done = pc->c->lifecycle.pre_stop.kind == API_HANDLER_NONE;
	for (k = 0; k < PROBE_KINDS; k++) {
		struct pwork *w = &pc->w[k];

		w->pc = pc;
		w->kind = k;
		w->p = probes[k];
		ev_timer_init(&w->t, probe_tick, on_grid(pr->a->d->loop, w->p->initial_delay_seconds + 0.01),
		              w->p->period_seconds);
		if (w->p->set)
			ev_timer_start(pr->a->d->loop, &w->t);
	}
	pc->next = pr->ctrs;
	pr->ctrs = pc;
	return pc;
}

/* The running container of spec container c among s[0..n), or NULL. */
static const struct snap *
running_of(const struct api_container *c, const struct snap *s, size_t n)
{
	const struct snap *cur = NULL;
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i].running && s[i].ctr && strcmp(s[i].ctr, c->name) == 0 &&
		    (!cur || s[i].restarts > cur->restarts))
			cur = &s[i];
	return cur;
}

/* Drop the state of pod's containers not seen in this generation. */
static void
sweep(struct prober *pr, const char *pod)
{
	struct pctr **pp = &pr->ctrs;

	while (*pp) {
		struct pctr *pc = *pp;

		if (strcmp(pc->pod_name, pod) == 0 && pc->seen != pr->gen) {
			*pp = pc->next;
			pctr_free(pc);
		} else {
			pp = &pc->next;
		}
	}
}

/* A container with no probe and no preStop hook has nothing to track: it
 * is started and ready once running, and its stop runs no hook, which is
 * what prober_sync reports without state (a copy of the pod and timers
 * each, about 2 kB, saved). */
static int
needs_state(const struct api_container *c)
{
	return c->startup.set || c->readiness.set || c->liveness.set || c->lifecycle.pre_stop.kind != API_HANDLER_NONE;
}

int
prober_sync(struct prober *pr, const char *pod, const struct api_pod *p, const struct snap *s, size_t n,
            const struct snap *infra, struct plan_probe *out)
{
	size_t j, n_all = api_spec_n_all(&p->spec);
	int rc = 0;

	pr->gen++;
	for (j = 0; j < n_all; j++)
		out[j] = (struct plan_probe){.started = 1, .ready = 1, .prestop_done = 1};
	for (j = 0; j < p->spec.n_containers; j++) {
		const struct api_container *c = &p->spec.containers[j];
		const struct snap *cur = running_of(c, s, n);
		struct pctr *pc = cur ? prober_find(pr, cur->id) : NULL;

		if (cur && !pc && needs_state(c) && !(pc = pctr_new(pr, pod, p, j, cur->id)))
			rc = -1;
		if (!pc) {
			out[j].started = out[j].ready = !c->startup.set && !c->readiness.set;
			continue;
		}
		pc->seen = pr->gen;
		snprintf(pc->ip, sizeof(pc->ip), "%s", infra && infra->ip ? infra->ip : "");
		out[j] = (struct plan_probe){pc->started,      pc->started && pc->ready,
		                             pc->live_failed,  pc->why[0] ? pc->why : NULL,
		                             pc->prestop_done, pc->startup_failed};
	}
	sweep(pr, pod);
	return rc;
}

void
prober_drop_pod(struct prober *pr, const char *pod)
{
	if (!pr)
		return;
	pr->gen++;
	sweep(pr, pod);
}
