/*
 * agent_plan_status.c: the pod status value a plan's rows make (phase, pod
 * IP, start time, one container status per row with Docker's times in
 * RFC 3339, its ready and started, and the pod's conditions PodScheduled,
 * Initialized, ContainersReady and Ready as kubelet words them),
 * serialized canonically. Pure like the planner: it writes nothing
 * (agent_status.c writes it to etcd only when the bytes differ) and reads
 * no clock: the only time that is not Docker's, Ready's lastTransitionTime,
 * is the plan's (agent_plan.c keeps it while Ready does not flip). And
 * back (plan_status_started): the start times a status holds, for
 * snapshots made from a list alone.
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
		c->started = init ? -1 : cs[i].started;
		c->restart_count = cs[i].restarts;
		c->ready =
			init ? cs[i].state == API_STATE_TERMINATED && cs[i].s && cs[i].s->exit_code == 0 : cs[i].ready;
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

/* Every app container of the plan's rows is ready. */
static int
plan_ready_rows(const struct plan_out *o)
{
	size_t i;

	for (i = 0; i < o->n && o->cs[i].ready; i++)
		;
	return i == o->n;
}

int
plan_ready(const struct plan_out *o)
{
	return plan_ready_rows(o) && !o->terminating && plan_phase(o->infra, o->cs, o->n) == API_PHASE_RUNNING;
}

/* "containers with WHAT status: [a b]" naming each row of rows[0..n) not
 * ready (an init container's: not completed) into buf; NULL when all are. */
static const char *
not_ready(const struct api_container_status *rows, size_t n, const char *what, char *buf, size_t len)
{
	size_t l = (size_t)snprintf(buf, len, "containers with %s status: [", what), bad = 0;

	for (size_t i = 0; i < n; i++)
		if (!rows[i].ready && l < len)
			l += (size_t)snprintf(buf + l, len - l, "%s%s", bad++ ? " " : "", rows[i].name);
	if (l < len)
		snprintf(buf + l, len - l, "]");
	return bad ? buf : NULL;
}

static void
cond_set(struct api_pod_condition *c, const char *type, int ok, const char *reason, const char *message,
         const char *since)
{
	api_set_string(&c->type, type);
	c->status = ok ? API_COND_TRUE : API_COND_FALSE;
	api_set_string(&c->reason, ok ? NULL : reason);
	api_set_string(&c->message, ok ? NULL : message);
	api_set_string(&c->last_transition_time, since && *since ? since : NULL);
}

/* st's conditions from its rows and the plan: only Ready carries a time,
 * the plan's. 0, or -1 when out of memory. */
static int
conditions(struct api_pod_status *st, const struct plan_out *o)
{
	char b1[512], b2[512];
	const char *init = not_ready(st->init_containers, st->n_init_containers, "incomplete", b1, sizeof(b1));
	const char *unready = not_ready(st->containers, st->n_containers, "unready", b2, sizeof(b2));
	const char *why = st->phase == API_PHASE_SUCCEEDED ? "PodCompleted" : "ContainersNotReady";
	struct api_pod_condition *c = calloc(4, sizeof(*c));

	if (!c)
		return -1;
	if (st->phase == API_PHASE_SUCCEEDED)
		unready = NULL; /* kubelet's PodCompleted has no message */
	st->conditions = c;
	st->n_conditions = 4;
	cond_set(&c[0], "PodScheduled", 1, NULL, NULL, NULL);
	cond_set(&c[1], "Initialized", !init, "ContainersNotInitialized", init, NULL);
	cond_set(&c[2], "ContainersReady", plan_ready_rows(o), why, unready, NULL);
	if (o->terminating)
		cond_set(&c[3], "Ready", 0, "Terminating", NULL, o->ready_time);
	else
		cond_set(&c[3], "Ready", plan_ready(o), plan_ready_rows(o) ? NULL : why, unready, o->ready_time);
	return 0;
}

char *
plan_status_value(const struct api_pod *p, const struct plan_out *o, const char *host_ip)
{
	struct api_pod_status *st = calloc(1, sizeof(*st));
	char b[32], why[64], *val = NULL;
	const struct snap *infra = o->infra;
	size_t n = o->n, m = n == p->spec.n_containers ? p->spec.n_init_containers : 0;

	if (!st)
		return NULL;
	st->n_containers = n;
	st->n_init_containers = m;
	st->containers = rows_make(p->spec.containers, o->cs, n, 0);
	st->init_containers = m ? rows_make(p->spec.init_containers, o->cs + n, m, 1) : NULL;
	api_set_string(&st->uid, p->meta.uid);
	st->phase = plan_phase(infra, o->cs, n);
	if (m)
		api_set_string(&st->reason, plan_init_reason(p, o->cs + n, &st->phase, why, sizeof(why)));
	api_set_string(&st->host_ip, host_ip);
	api_set_string(&st->pod_ip, infra && infra->running ? infra->ip : NULL);
	api_set_string(&st->start_time, infra ? rfc3339(infra->started_at, b, sizeof(b)) : NULL);
	api_set_string(&st->message, o->message && *o->message ? o->message : NULL);
	if (st->containers && (st->init_containers || !m) && conditions(st, o) == 0)
		val = api_pod_status_serialize(st);
	else if (!st->containers)
		st->n_containers = 0; /* nothing for the free to walk */
	if (!st->init_containers)
		st->n_init_containers = 0;
	api_pod_status_free(st);
	return val;
}

/* st's row of the running container named name with Docker ID id, or
 * NULL. */
static const struct api_container_status *
started_row(const struct api_pod_status *st, const char *name, const char *id)
{
	const struct api_container_status *rows[2] = {st->containers, st->init_containers};
	size_t counts[2] = {st->n_containers, st->n_init_containers};

	for (int k = 0; k < 2; k++)
		for (size_t i = 0; i < counts[k]; i++) {
			const struct api_container_status *r = &rows[k][i];

			if (r->name && strcmp(r->name, name) == 0 && r->container_id &&
			    strncmp(r->container_id, "docker://", 9) == 0 && strcmp(r->container_id + 9, id) == 0 &&
			    r->state.state == API_STATE_RUNNING && r->state.started_at)
				return r;
		}
	return NULL;
}

/* What snapshot s gets from st: its start time and the sandbox's IP;
 * NULL start when st does not vouch for s. */
static const char *
started_of(const struct snap *s, const struct api_pod_status *st, const char **ip)
{
	const struct api_container_status *r;

	*ip = NULL;
	if (!s->running || !s->id || !s->ctr)
		return NULL;
	if (strcmp(s->ctr, INFRA_NAME) == 0) {
		if (!s->ip && !(*ip = st->pod_ip))
			return NULL;
		return st->start_time;
	}
	r = started_row(st, s->ctr, s->id);
	return r ? r->state.started_at : NULL;
}

int
plan_status_started(struct snap *s, size_t n, const struct api_pod_status *st)
{
	char **t = calloc(n ? 2 * n : 1, sizeof(*t));
	const char *ip;
	size_t i;
	int ok = t && st;

	for (i = 0; ok && i < n; i++) {
		const char *at = started_of(&s[i], st, &ip);

		ok = at && (t[2 * i] = strdup(at)) && (!ip || (t[2 * i + 1] = strdup(ip)));
	}
	for (i = 0; t && i < n; i++) {
		if (!ok) {
			free(t[2 * i]);
			free(t[2 * i + 1]);
			continue;
		}
		free(s[i].started_at);
		s[i].started_at = t[2 * i];
		if (t[2 * i + 1]) {
			free(s[i].ip);
			s[i].ip = t[2 * i + 1];
		}
	}
	free(t);
	return ok;
}
