/*
 * agent_plan_status.c: the pod status value a plan's rows make (phase, pod
 * IP, start time, one container status per row with Docker's times in
 * RFC 3339), serialized canonically. Pure like the planner: it writes
 * nothing (agent_status.c writes it to etcd only when the bytes differ).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent_plan.h"

enum api_pod_phase
plan_phase(const struct snap *infra, const struct cstat *cs, size_t n)
{
	size_t i, running = 0, term = 0, failed = 0, backoff = 0;

	if (!infra || !infra->running)
		return API_PHASE_PENDING;
	for (i = 0; i < n; i++) {
		if (cs[i].state == API_STATE_RUNNING)
			running++;
		else if (cs[i].state == API_STATE_TERMINATED) {
			term++;
			failed += cs[i].s && cs[i].s->exit_code != 0;
		} else if (cs[i].state == API_STATE_WAITING && cs[i].reason &&
		           strcmp(cs[i].reason, "CrashLoopBackOff") == 0)
			backoff++;
	}
	if (running + backoff + term < n)
		return API_PHASE_PENDING; /* something not started yet */
	if (running + backoff > 0)
		return API_PHASE_RUNNING;
	return failed ? API_PHASE_FAILED : API_PHASE_SUCCEEDED;
}

/* Docker's "2026-11-26T15:00:00.123456789Z" → "2026-11-26T15:00:00Z";
 * NULL for the zero time. */
static char *
rfc3339(const char *docker, char *buf, size_t len)
{
	time_t t;

	if (!docker || strncmp(docker, "0001-", 5) == 0 || api_time_parse(docker, &t, NULL) < 0)
		return NULL;
	api_time_format(t, buf, len);
	return buf;
}

static void
fill_state(struct api_container_state *out, const struct snap *s, enum api_state st, const char *reason,
           const char *message)
{
	char b1[32], b2[32];

	memset(out, 0, sizeof(*out));
	out->state = st;
	if (st == API_STATE_RUNNING && s) {
		api_set_string(&out->started_at, rfc3339(s->started_at, b1, sizeof(b1)));
	} else if (st == API_STATE_TERMINATED && s) {
		out->exit_code = s->exit_code;
		api_set_string(&out->reason, reason              ? reason
		                             : s->oom            ? "OOMKilled"
		                             : s->exit_code == 0 ? "Completed"
		                                                 : "Error");
		api_set_string(&out->message, s->error && *s->error ? s->error : NULL);
		api_set_string(&out->started_at, rfc3339(s->started_at, b1, sizeof(b1)));
		api_set_string(&out->finished_at, rfc3339(s->finished_at, b2, sizeof(b2)));
	} else if (st == API_STATE_WAITING) {
		api_set_string(&out->reason, reason);
		api_set_string(&out->message, message && *message ? message : NULL);
	}
}

/* Status rows for containers c[0..n) from plan rows cs (a new array, NULL
 * when out of memory). An init container not reached yet (no row state)
 * waits with PodInitializing, and is ready once it exited 0, as kubelet
 * reports them. */
static struct api_container_status *
rows_make(const struct api_container *ctrs, const struct cstat *cs, size_t n, int init)
{
	struct api_container_status *rows = calloc(n ? n : 1, sizeof(*rows));

	for (size_t i = 0; rows && i < n; i++) {
		struct api_container_status *c = &rows[i];
		char id[80];

		api_set_string(&c->name, ctrs[i].name);
		api_set_string(&c->image, ctrs[i].image);
		c->started = -1; /* the probes (issue 17) set it */
		c->restart_count = cs[i].restarts;
		c->ready = init ? cs[i].state == API_STATE_TERMINATED && cs[i].s && cs[i].s->exit_code == 0
		                : cs[i].state == API_STATE_RUNNING;
		if (cs[i].s) {
			snprintf(id, sizeof(id), "docker://%s", cs[i].s->id);
			api_set_string(&c->container_id, id);
		}
		if (cs[i].state == API_STATE_NONE)
			fill_state(&c->state, NULL, API_STATE_WAITING, "PodInitializing", NULL);
		else
			fill_state(&c->state, cs[i].s, cs[i].state, cs[i].reason, cs[i].message);
		if (cs[i].last)
			fill_state(&c->last_state, cs[i].last, API_STATE_TERMINATED, NULL, NULL);
	}
	return rows;
}

char *
plan_status_value(const struct api_pod *p, const struct snap *infra, const struct cstat *cs, size_t n,
                  const char *message, const char *host_ip)
{
	struct api_pod_status *st = calloc(1, sizeof(*st));
	char b[32], why[64], *val = NULL;
	size_t m = n == p->spec.n_containers ? p->spec.n_init_containers : 0;

	if (!st)
		return NULL;
	st->n_containers = n;
	st->n_init_containers = m;
	st->containers = rows_make(p->spec.containers, cs, n, 0);
	st->init_containers = m ? rows_make(p->spec.init_containers, cs + n, m, 1) : NULL;
	api_set_string(&st->uid, p->meta.uid);
	st->phase = plan_phase(infra, cs, n);
	if (m)
		api_set_string(&st->reason, plan_init_reason(p, cs + n, &st->phase, why, sizeof(why)));
	api_set_string(&st->host_ip, host_ip);
	api_set_string(&st->pod_ip, infra && infra->running ? infra->ip : NULL);
	api_set_string(&st->start_time, infra ? rfc3339(infra->started_at, b, sizeof(b)) : NULL);
	api_set_string(&st->message, message && *message ? message : NULL);
	if (st->containers && (st->init_containers || !m))
		val = api_pod_status_serialize(st);
	else if (!st->containers)
		st->n_containers = 0; /* nothing for the free to walk */
	if (!st->init_containers)
		st->n_init_containers = 0;
	api_pod_status_free(st);
	return val;
}
