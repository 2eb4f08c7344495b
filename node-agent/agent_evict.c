/*
 * agent_evict.c: emptyDir sizeLimit on the node's disk (medium ""), kept
 * as the kubelet's eviction manager keeps it. Every EVICT_PERIOD seconds a
 * round measures each bound pod's limited disk emptyDir volumes, one at a
 * time, with `du -skx DIR` in a child (daemon/run.c: the loop never walks
 * a directory itself). A pod whose volume uses more than its limit is
 * evicted: agent_pods.c hands evict_reason to the planner, which refuses
 * the pod (its containers go, rows waiting with reason Evicted, a Warning
 * event Evicted with Kubernetes' message), and status_write gives its
 * status phase Failed, reason Evicted and that message (evict_status).
 * Evictions are kept by pod uid while the binding lasts, and read back
 * from the pod's status after an agent restart.
 *
 * It does not: measure medium Memory (the tmpfs' size is the limit
 * itself), limit containers' writable layers or logs (ephemeral-storage
 * is refused by the field policy), time out a du that runs long (the next
 * round waits for it), or replace the pod (its controller does).
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uthash.h>

#include "agent.h"
#include "agent_evict.h"
#include "daemon/log.h"
#include "daemon/run.h"

struct evicted {
	char *uid;
	char *msg;
	UT_hash_handle hh;
};

/* One volume to measure in this round. */
struct measure {
	char *pod, *uid, *vol, *limit_text;
	int64_t limit;
};

struct evict {
	struct agent *a;
	ev_timer timer;
	struct run_job *run;
	struct measure *todo; /* this round's volumes */
	size_t n, cap, at;
	struct evicted *gone; /* by uid */
};

static struct evict *E;

void
evict_message(char *buf, size_t len, const char *name, const char *limit)
{
	snprintf(buf, len, "Usage of EmptyDir volume \"%s\" exceeds the limit \"%s\".", name, limit);
}

static struct evicted *
find(const char *uid)
{
	struct evicted *g = NULL;

	if (E && uid)
		HASH_FIND_STR(E->gone, uid, g);
	return g;
}

static void
forget(struct evicted *g)
{
	HASH_DEL(E->gone, g);
	free(g->uid);
	free(g->msg);
	free(g);
}

/* Remember uid as evicted with msg. The entry, or NULL (out of memory). */
static struct evicted *
remember(const char *uid, const char *msg)
{
	struct evicted *g = calloc(1, sizeof(*g));

	if (!g || !(g->uid = strdup(uid)) || !(g->msg = strdup(msg))) {
		if (g)
			free(g->uid);
		free(g);
		return NULL;
	}
	HASH_ADD_KEYPTR(hh, E->gone, g->uid, strlen(g->uid), g);
	return g;
}

/* ---------------------------------------------------------------- a round */

static void
round_clear(void)
{
	for (size_t i = 0; i < E->n; i++) {
		free(E->todo[i].pod);
		free(E->todo[i].uid);
		free(E->todo[i].vol);
		free(E->todo[i].limit_text);
	}
	E->n = E->at = 0;
}

static void
add_measure(const char *pod, const char *uid, const struct api_volume *v)
{
	struct measure *m;

	if (E->n == E->cap) {
		size_t cap = E->cap ? 2 * E->cap : 16;
		struct measure *t = realloc(E->todo, cap * sizeof(*t));

		if (!t)
			return;
		E->todo = t;
		E->cap = cap;
	}
	m = &E->todo[E->n];
	*m = (struct measure){strdup(pod), strdup(uid), strdup(v->name), strdup(v->size_limit.text),
	                      v->size_limit.value};
	if (m->pod && m->uid && m->vol && m->limit_text)
		E->n++;
	else
		free(m->pod), free(m->uid), free(m->vol), free(m->limit_text);
}

/* The limited disk emptyDirs of one bound pod not evicted yet. */
static void
collect(const struct informer_obj *o, void *arg)
{
	const struct api_binding *b = o->obj;

	(void)arg;
	if (!b || !b->pod.meta.uid || find(b->pod.meta.uid))
		return;
	for (size_t i = 0; i < b->pod.spec.n_volumes; i++) {
		const struct api_volume *v = &b->pod.spec.volumes[i];

		if (v->source == API_VOL_EMPTY_DIR && !v->memory && v->size_limit.text)
			add_measure(o->name, b->pod.meta.uid, v);
	}
}

struct uid_seen {
	const char *uid;
	int seen;
};

static void
uid_bound(const struct informer_obj *o, void *arg)
{
	const struct api_binding *b = o->obj;
	struct uid_seen *u = arg;

	if (b && b->pod.meta.uid && strcmp(b->pod.meta.uid, u->uid) == 0)
		u->seen = 1;
}

/* Evictions whose binding is gone are over. O(evictions × bindings). */
static void
prune(void)
{
	struct evicted *g, *tmp;

	HASH_ITER(hh, E->gone, g, tmp) {
		struct uid_seen u = {g->uid, 0};

		informer_foreach(E->a->bindings, uid_bound, &u);
		if (!u.seen)
			forget(g);
	}
}

static void measure_next(void);

/* m is over its limit: evict its pod and have the planner look at it. */
static void
evict(const struct measure *m, long long used)
{
	char msg[256];

	evict_message(msg, sizeof(msg), m->vol, m->limit_text);
	if (!remember(m->uid, msg))
		return;
	log_kv(LL_WARN, KV("pod", m->pod, "uid", m->uid, "volume", m->vol),
	       "emptyDir uses %lld bytes, over its sizeLimit %s: evicting the pod", used, m->limit_text);
	wq_add(E->a->q, m->pod);
}

static void
du_done(const struct run_result *r, void *arg)
{
	const struct measure *m = &E->todo[E->at];
	long long kib;
	char *end;

	(void)arg;
	E->run = NULL;
	errno = 0;
	kib = strtoll(r->out, &end, 10);
	if (r->status != 0 || errno || end == r->out)
		log_kv(LL_DEBUG, KV("pod", m->pod, "volume", m->vol), "cannot measure the emptyDir: %.200s", r->out);
	else if (kib * 1024 > m->limit && !find(m->uid))
		evict(m, kib * 1024);
	E->at++;
	measure_next();
}

/* Start du on the next volume of the round that still exists. */
static void
measure_next(void)
{
	char path[4096];

	for (; E->at < E->n; E->at++) {
		const struct measure *m = &E->todo[E->at];
		const char *argv[] = {"du", "-skx", path, NULL};

		if (find(m->uid) ||
		    snprintf(path, sizeof(path), "%s/%s/volumes/%s", E->a->o.pod_dir, m->uid, m->vol) >=
		            (int)sizeof(path) ||
		    access(path, F_OK) < 0)
			continue;
		if ((E->run = run_program_async(E->a->d->loop, argv, NULL, 0, du_done, NULL)))
			return;
		log_kv(LL_WARN, KV("path", path), "cannot run du: %s; trying again next round", strerror(errno));
		break;
	}
	round_clear();
}

static void
tick(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)w;
	(void)revents;
	if (E->run || E->a->stopping)
		return; /* the last round is still measuring */
	prune();
	round_clear();
	informer_foreach(E->a->bindings, collect, NULL);
	measure_next();
}

/* ---------------------------------------------------------------- interface */

void
evict_start(struct agent *a)
{
	if (E || !(E = calloc(1, sizeof(*E))))
		return;
	E->a = a;
	ev_timer_init(&E->timer, tick, EVICT_PERIOD, EVICT_PERIOD);
	ev_timer_start(a->d->loop, &E->timer);
}

void
evict_stop(struct agent *a)
{
	struct evicted *g, *tmp;

	if (!E)
		return;
	ev_timer_stop(a->d->loop, &E->timer);
	run_cancel(E->run);
	round_clear();
	free(E->todo);
	HASH_ITER(hh, E->gone, g, tmp)
		forget(g);
	free(E);
	E = NULL;
}

/* Does pod have a disk emptyDir with a sizeLimit? */
static int
limited(const struct api_pod *pod)
{
	for (size_t i = 0; i < pod->spec.n_volumes; i++)
		if (pod->spec.volumes[i].source == API_VOL_EMPTY_DIR && !pod->spec.volumes[i].memory &&
		    pod->spec.volumes[i].size_limit.text)
			return 1;
	return 0;
}

/* An eviction written in pod's status before (an agent restart): its
 * message remembered, or NULL. */
static struct evicted *
from_status(struct agent *a, const struct api_pod *pod)
{
	const struct informer_obj *o = informer_get(a->statuses, pod->meta.name);
	json_t *j = o && o->value ? json_loadb(o->value, o->value_len, 0, NULL) : NULL;
	const char *uid = json_string_value(json_object_get(j, "uid"));
	const char *reason = json_string_value(json_object_get(j, "reason"));
	const char *msg = json_string_value(json_object_get(j, "message"));
	struct evicted *g = NULL;

	if (uid && reason && strcmp(uid, pod->meta.uid) == 0 && strcmp(reason, "Evicted") == 0)
		g = remember(pod->meta.uid, msg ? msg : "");
	json_decref(j);
	return g;
}

int
evict_reason(struct agent *a, const struct api_pod *pod, const char **reason, const char **cname, const char **msg)
{
	struct evicted *g;

	if (!E || !pod->meta.uid || !limited(pod))
		return 0;
	if (!(g = find(pod->meta.uid)) && !(g = from_status(a, pod)))
		return 0;
	*reason = "Evicted";
	*cname = pod->spec.containers[0].name;
	*msg = g->msg;
	return 1;
}

char *
evict_status(struct agent *a, const struct api_pod *pod, char *val)
{
	const char *reason, *cname, *msg;
	json_t *j;
	char *out;

	if (!val || !evict_reason(a, pod, &reason, &cname, &msg) || !(j = json_loads(val, 0, NULL)))
		return val;
	json_object_set_new(j, "phase", json_string("Failed"));
	json_object_set_new(j, "reason", json_string(reason));
	json_object_set_new(j, "message", json_string(msg));
	out = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(j);
	free(val);
	return out;
}
