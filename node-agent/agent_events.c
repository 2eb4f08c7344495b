/*
 * agent_events.c: what makes pods get reconciled besides binding changes:
 * Docker's event stream (die, oom, destroy, start of containers with our
 * skiff.node label; reconnected after a second when it ends, with a full
 * resync since events may have been missed) and the resync timer. A bound
 * pod is reconciled again --resync-interval after its own last pass
 * (agent_pods.c, as kubelet's pod workers), so the timer queues only what
 * has no binding: statuses, and containers of ours found by one list of
 * the node's containers. A full resync (start, a new event stream, Docker
 * answering again) queues every pod that has a binding, a status or a
 * container of ours. It only queues names; agent_pods.c does the work.
 * The echoes of the agent's own starts and removals queue nothing
 * (agent_events_own.c).
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "agent_deadline.h"

static void
queue_pod(struct agent *a, const char *pod)
{
	if (pod && api_check_dns_label(pod, NULL) == 0)
		wq_add(a->q, pod);
}

/* A pod the periodic resync leaves to its own timer: bound. */
static int
bound(struct agent *a, const char *pod)
{
	return pod && informer_get(a->bindings, pod) != NULL;
}

static int
event_line(const char *line, size_t len, void *arg)
{
	struct agent *a = arg;
	json_t *j = json_loadb(line, len, 0, NULL);
	json_t *attrs = json_object_get(json_object_get(j, "Actor"), "Attributes");
	const char *node = json_string_value(json_object_get(attrs, LBL_NODE));
	const char *action = json_string_value(json_object_get(j, "Action"));
	const char *id = json_string_value(json_object_get(json_object_get(j, "Actor"), "ID"));

	if (node && strcmp(node, a->o.node_name) == 0) {
		int own = events_own_match(a, id, events_own_action(action));

		log_kv(LL_DEBUG, KV("pod", json_string_value(json_object_get(attrs, LBL_POD))), "docker event %s%s",
		       action ? action : "?", own ? " (the agent's own: no new pass)" : "");
		if (!own)
			queue_pod(a, json_string_value(json_object_get(attrs, LBL_POD)));
	}
	json_decref(j);
	return 0;
}

static void
events_done(struct dk_resp *r, void *arg)
{
	struct agent *a = arg;
	char m[256];

	a->events_req = NULL;
	if (a->stopping)
		return;
	log_kv(LL_WARN, KV("node", a->o.node_name), "docker event stream ended (%s); reconnecting in 1s",
	       dk_errmsg(r, m, sizeof(m)));
	ev_timer_set(&a->events_timer, 1.0, 0.0);
	ev_timer_start(a->d->loop, &a->events_timer);
}

static void
events_connect(struct agent *a)
{
	char f[512], enc[1024], path[1200];

	snprintf(f, sizeof(f),
	         "{\"type\":[\"container\"],\"label\":[\"%s=%s\"],\"event\":[\"die\",\"oom\",\"destroy\",\"start\"]}",
	         LBL_NODE, a->o.node_name);
	snprintf(path, sizeof(path), "/events?filters=%s", dk_escape(f, enc, sizeof(enc)));
	a->events_req = dk_call(
		a->dk, &(struct dk_call_opts){.path = path, .on_line = event_line, .done = events_done, .arg = a});
	if (!a->events_req) {
		ev_timer_set(&a->events_timer, 1.0, 0.0);
		ev_timer_start(a->d->loop, &a->events_timer);
	}
}

static void
events_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct agent *a = (struct agent *)((char *)w - offsetof(struct agent, events_timer));

	(void)loop;
	(void)revents;
	events_connect(a);
	events_resync(a);
}

static void
queue_obj(const struct informer_obj *o, void *arg)
{
	queue_pod(arg, o->name);
}

static void
list_done(struct dk_resp *r, void *arg)
{
	struct agent *a = arg;
	json_t *j;
	json_t *it;
	size_t i;
	char m[256];

	a->list_req = NULL;
	if (r->status != 200) {
		log_kv(LL_WARN, KV("node", a->o.node_name), "cannot list containers: %s; is dockerd running?",
		       dk_errmsg(r, m, sizeof(m)));
		return;
	}
	j = json_loadb(r->body, r->len, 0, NULL);
	json_array_foreach(j, i, it) {
		const char *pod = json_string_value(json_object_get(json_object_get(it, "Labels"), LBL_POD));

		if (!a->list_unbound_only || !bound(a, pod))
			queue_pod(a, pod);
	}
	json_decref(j);
}

static void
queue_unbound(const struct informer_obj *o, void *arg)
{
	if (!bound(arg, o->name))
		queue_pod(arg, o->name);
}

/* One list of the node's containers, whose pods list_done queues (only
 * the unbound ones when unbound_only). */
static void
list_node(struct agent *a, int unbound_only)
{
	char f[512], enc[1024], path[1200];

	if (a->list_req) {
		a->list_unbound_only &= unbound_only; /* a full one asked for wins */
		return;
	}
	a->list_unbound_only = unbound_only;
	snprintf(f, sizeof(f), "{\"label\":[\"%s=%s\"]}", LBL_NODE, a->o.node_name);
	snprintf(path, sizeof(path), "/containers/json?all=1&filters=%s", dk_escape(f, enc, sizeof(enc)));
	a->list_req = dk_call(
		a->dk,
		&(struct dk_call_opts){.path = path, .timeout_ms = DEADLINE_LIST_MS, .done = list_done, .arg = a});
}

void
events_resync(struct agent *a)
{
	if (a->stopping)
		return;
	informer_foreach(a->bindings, queue_obj, a);
	informer_foreach(a->statuses, queue_obj, a);
	list_node(a, 0);
}

/* The timer's resync: what has no binding (bound pods have their own). */
static void
resync_unbound(struct agent *a)
{
	if (a->stopping)
		return;
	informer_foreach(a->statuses, queue_unbound, a);
	list_node(a, 1);
}

static void
resync_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct agent *a = (struct agent *)((char *)w - offsetof(struct agent, resync));

	(void)loop;
	(void)revents;
	resync_unbound(a);
}

void
events_start(struct agent *a)
{
	double iv = (double)a->o.resync_ms / 1000.0;

	ev_timer_init(&a->events_timer, events_timer_cb, 1.0, 0.0);
	ev_timer_init(&a->resync, resync_cb, iv, iv);
	ev_timer_start(a->d->loop, &a->resync);
	events_connect(a);
	events_resync(a);
}

void
events_stop(struct agent *a)
{
	ev_timer_stop(a->d->loop, &a->events_timer);
	ev_timer_stop(a->d->loop, &a->resync);
	if (a->events_req)
		dk_cancel(a->events_req);
	a->events_req = NULL;
	if (a->list_req)
		dk_cancel(a->list_req);
	a->list_req = NULL;
}
