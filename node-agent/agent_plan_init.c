/*
 * agent_plan_init.c: the planner's rule for init containers. After the
 * sandbox runs and before any app container, the pod's init containers run
 * one at a time in their order, each to exit 0 before the next; a failure
 * follows the pod's restart policy with the crash-loop back-off
 * (plan_exited, as for app containers; Always acts as OnFailure, exit 0
 * ends an init container for good), and with Never the pod fails. A
 * completed init container (exited 0, same spec hash, uid and sandbox) is
 * kept, so an agent restart adopts it instead of running it again. It also
 * names the pod's reason while it initializes ("Init:N/M").
 *
 * It does not rerun init containers while app containers run (a sandbox
 * replacement removes everything, which reruns them), and it does no I/O.
 */
#include <stdio.h>
#include <string.h>

#include "agent_plan.h"

int
plan_init_exited_ok(const struct plan_in *in, size_t j, const struct snap *cur, struct cstat *row)
{
	if (j < in->binding->pod.spec.n_containers || cur->running || cur->exit_code != 0)
		return 0;
	row->state = API_STATE_TERMINATED;
	return 1;
}

static int
completed(const struct cstat *row)
{
	return row->state == API_STATE_TERMINATED && row->s && row->s->exit_code == 0;
}

/* While an init container has not completed the app containers wait. */
static void
apps_wait(const struct plan_in *in, struct plan_out *out)
{
	const struct api_pod_spec *sp = &in->binding->pod.spec;

	for (size_t a = 0; a < sp->n_containers; a++) {
		struct ctr_memo *cm = plan_ctr_memo(in->memo, sp->containers[a].name);

		out->cs[a].state = API_STATE_WAITING;
		out->cs[a].reason = "PodInitializing";
		out->cs[a].restarts = cm ? cm->restarts : 0;
	}
}

int
plan_init(const struct plan_in *in, const struct snap *infra, struct plan_out *out)
{
	const struct api_pod_spec *sp = &in->binding->pod.spec;

	for (size_t k = 0; k < sp->n_init_containers; k++) {
		size_t j = sp->n_containers + k;

		if (plan_container(in, j, infra, out))
			return 1;
		if (completed(&out->cs[j]))
			continue;
		apps_wait(in, out);
		out->act = PLAN_STATUS;
		return 2;
	}
	return 0;
}

const char *
plan_init_reason(const struct api_pod *p, const struct cstat *rows, enum api_pod_phase *phase, char *buf, size_t len)
{
	size_t k, m = p->spec.n_init_containers;

	for (k = 0; k < m && completed(&rows[k]); k++)
		;
	if (m == 0)
		return NULL;
	if (k == m)
		return *phase == API_PHASE_PENDING ? "PodInitializing" : NULL;
	*phase = API_PHASE_PENDING;
	if (rows[k].state == API_STATE_TERMINATED) { /* exited non-zero, not to be restarted */
		*phase = API_PHASE_FAILED;
		return "Init:Error";
	}
	if (rows[k].state == API_STATE_WAITING && rows[k].reason && *rows[k].reason &&
	    strcmp(rows[k].reason, "PodInitializing") != 0) /* as kubectl: Init:CrashLoopBackOff, Init:ErrImagePull */
		snprintf(buf, len, "Init:%s", rows[k].reason);
	else
		snprintf(buf, len, "Init:%zu/%zu", k, m);
	return buf;
}
