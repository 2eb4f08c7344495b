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

/* Free the strings and rows of st (not st). */
static void
status_clear(struct api_pod_status *st)
{
	size_t i;

	for (i = 0; i < st->n_containers; i++) {
		struct api_container_status *c = &st->containers[i];

		free(c->name);
		free(c->image);
		free(c->container_id);
		free(c->state.reason);
		free(c->state.message);
		free(c->state.started_at);
		free(c->state.finished_at);
		free(c->last_state.reason);
		free(c->last_state.message);
		free(c->last_state.started_at);
		free(c->last_state.finished_at);
	}
	free(st->containers);
	free(st->uid);
	free(st->host_ip);
	free(st->pod_ip);
	free(st->start_time);
	free(st->message);
}

char *
plan_status_value(const struct api_pod *p, const struct snap *infra, const struct cstat *cs, size_t n,
                  const char *message, const char *host_ip)
{
	struct api_pod_status st;
	char b[32], *val;
	size_t i;

	memset(&st, 0, sizeof(st));
	st.containers = calloc(n ? n : 1, sizeof(*st.containers));
	if (!st.containers)
		return NULL;
	st.n_containers = n;
	api_set_string(&st.uid, p->meta.uid);
	st.phase = plan_phase(infra, cs, n);
	api_set_string(&st.host_ip, host_ip);
	api_set_string(&st.pod_ip, infra && infra->running ? infra->ip : NULL);
	api_set_string(&st.start_time, infra ? rfc3339(infra->started_at, b, sizeof(b)) : NULL);
	api_set_string(&st.message, message && *message ? message : NULL);
	for (i = 0; i < n; i++) {
		struct api_container_status *c = &st.containers[i];
		char id[80];

		api_set_string(&c->name, p->spec.containers[i].name);
		api_set_string(&c->image, p->spec.containers[i].image);
		c->restart_count = cs[i].restarts;
		c->ready = cs[i].state == API_STATE_RUNNING;
		if (cs[i].s) {
			snprintf(id, sizeof(id), "docker://%s", cs[i].s->id);
			api_set_string(&c->container_id, id);
		}
		fill_state(&c->state, cs[i].s, cs[i].state, cs[i].reason, cs[i].message);
		if (cs[i].last)
			fill_state(&c->last_state, cs[i].last, API_STATE_TERMINATED, NULL, NULL);
	}
	val = api_pod_status_serialize(&st);
	status_clear(&st);
	return val;
}
