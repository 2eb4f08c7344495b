/*
 * agent_status.c: what Docker says about a container (struct snap, from a
 * list item and an inspect), and the pod's status key
 * P/podstatus/NODE/POD: built from a pass's view, serialized canonically,
 * written with a transaction comparing the mod revision the podstatus
 * informer holds (create-if-absent when absent) and the create revision of
 * the pod's binding (so no status outlives its binding), only when the
 * bytes differ. It decides nothing: the rows and the phase come from the
 * planner (agent_plan.c).
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"

static char *
dupstr(json_t *j)
{
	return json_is_string(j) ? strdup(json_string_value(j)) : NULL;
}

int
snap_from_list(struct snap *s, void *item)
{
	json_t *it = item, *l = json_object_get(it, "Labels");
	const char *st = json_string_value(json_object_get(it, "State"));

	memset(s, 0, sizeof(*s));
	s->id = dupstr(json_object_get(it, "Id"));
	s->pod = dupstr(json_object_get(l, LBL_POD));
	s->uid = dupstr(json_object_get(l, LBL_UID));
	s->ctr = dupstr(json_object_get(l, LBL_CTR));
	s->hash = dupstr(json_object_get(l, LBL_HASH));
	s->sandbox = dupstr(json_object_get(l, LBL_SANDBOX));
	s->image = dupstr(json_object_get(it, "Image"));
	if (json_is_string(json_object_get(l, LBL_RESTARTS)))
		s->restarts = atoi(json_string_value(json_object_get(l, LBL_RESTARTS)));
	s->grace = API_DEFAULT_GRACE_SECONDS;
	if (json_is_string(json_object_get(l, LBL_GRACE)))
		s->grace = atol(json_string_value(json_object_get(l, LBL_GRACE)));
	if (s->grace < 0 || s->grace > 3600)
		s->grace = API_DEFAULT_GRACE_SECONDS;
	snprintf(s->state, sizeof(s->state), "%s", st ? st : "");
	s->running = st && strcmp(st, "running") == 0;
	if (!s->id || !s->pod || !s->uid || !s->ctr) {
		snap_clear(s);
		return -1;
	}
	return 0;
}

int
snap_from_inspect(struct snap *s, const char *body, size_t len, const char *net)
{
	json_t *j = json_loadb(body, len, 0, NULL), *st, *ns, *nets, *v;
	const char *k, *ip;

	if (!j)
		return -1;
	st = json_object_get(j, "State");
	if (json_is_string(json_object_get(st, "Status")))
		snprintf(s->state, sizeof(s->state), "%s", json_string_value(json_object_get(st, "Status")));
	s->running = json_is_true(json_object_get(st, "Running"));
	s->exit_code = (int)json_integer_value(json_object_get(st, "ExitCode"));
	s->oom = json_is_true(json_object_get(st, "OOMKilled"));
	free(s->error);
	s->error = dupstr(json_object_get(st, "Error"));
	free(s->started_at);
	s->started_at = dupstr(json_object_get(st, "StartedAt"));
	free(s->finished_at);
	s->finished_at = dupstr(json_object_get(st, "FinishedAt"));
	ns = json_object_get(j, "NetworkSettings");
	nets = json_object_get(ns, "Networks");
	ip = json_string_value(json_object_get(net ? json_object_get(nets, net) : ns, "IPAddress"));
	if (!net && (!ip || !*ip)) {
		ip = NULL;
		json_object_foreach(nets, k, v)
		{
			const char *x = json_string_value(json_object_get(v, "IPAddress"));

			if (x && *x) {
				ip = x;
				break;
			}
		}
	}
	free(s->ip);
	s->ip = ip && *ip ? strdup(ip) : NULL;
	json_decref(j);
	return 0;
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

struct swrite {
	struct agent *a;
	status_done_fn done;
	void *arg;
};

static void
write_done(struct etcd_result *res, void *arg)
{
	struct swrite *w = arg;
	int ok = res->err.code == ETCD_OK && res->succeeded;

	if (res->err.code != ETCD_OK)
		log_kv(LL_WARN, KV("node", w->a->o.node_name), "pod status write failed: %s; will retry", res->err.msg);
	else if (ok)
		metric_inc(w->a->m_status_writes);
	w->done(w->arg, ok);
	free(w);
}

static void
commit(struct agent *a, struct etcd_txn *t, status_done_fn done, void *arg)
{
	struct swrite *w = calloc(1, sizeof(*w));
	struct etcd_error err = {0};

	if (!w) {
		etcd_txn_free(t);
		done(arg, 0);
		return;
	}
	w->a = a;
	w->done = done;
	w->arg = arg;
	if (etcd_txn_commit(a->d->etcd, t, write_done, w, &err) < 0) {
		free(w);
		done(arg, 0);
	}
}

/* Write only while the binding we act on is still in etcd: an agent back
 * from a partition acts on a cache that may still hold bindings deleted
 * (and pods evicted, now running elsewhere) while it was away, and a
 * status written for one of those would tell the endpoints controller
 * that the pod runs here again. -1 when the cache has no binding. */
static int
guard_binding(struct agent *a, struct etcd_txn *t, const char *pod)
{
	const struct informer_obj *b = informer_get(a->bindings, pod);
	char key[API_KEY_MAX];

	if (!b || api_key_on_node(key, sizeof(key), a->prefix, API_BINDING, a->o.node_name, pod, NULL) < 0)
		return -1;
	etcd_txn_cmp(t, key, ETCD_CMP_CREATE, ETCD_CMP_EQUAL, b->create_revision);
	return 0;
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

/* The status value for the rows (new, canonical), NULL when out of memory. */
static char *
status_value(struct agent *a, const struct api_pod *p, const struct snap *infra, const struct cstat *cs, size_t n,
             const char *message)
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
	api_set_string(&st.host_ip, a->host_ip);
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

void
status_write(struct agent *a, const char *pod, const struct api_pod *p, const struct snap *infra,
             const struct cstat *cs, size_t n, const char *message, status_done_fn done, void *arg)
{
	const struct informer_obj *cur;
	struct etcd_txn *t;
	char key[API_KEY_MAX], *val = status_value(a, p, infra, cs, n, message);

	if (!val || api_key_on_node(key, sizeof(key), a->prefix, API_PODSTATUS, a->o.node_name, pod, NULL) < 0) {
		free(val);
		done(arg, 0);
		return;
	}
	cur = informer_get(a->statuses, pod);
	if (cur && cur->value_len == strlen(val) && memcmp(cur->value, val, cur->value_len) == 0) {
		free(val);
		done(arg, 1);
		return;
	}
	t = etcd_txn_new();
	if (cur)
		etcd_txn_cmp(t, key, ETCD_CMP_MOD, ETCD_CMP_EQUAL, cur->mod_revision);
	else
		etcd_txn_cmp(t, key, ETCD_CMP_CREATE, ETCD_CMP_EQUAL, 0);
	if (guard_binding(a, t, pod) < 0) {
		etcd_txn_free(t);
		free(val);
		done(arg, 1); /* no binding: the pod is on its way out, with no status */
		return;
	}
	etcd_txn_put(t, ETCD_TXN_SUCCESS, key, val, strlen(val), 0);
	free(val);
	commit(a, t, done, arg);
}

void
status_delete(struct agent *a, const char *pod, status_done_fn done, void *arg)
{
	const struct informer_obj *cur = informer_get(a->statuses, pod);
	struct etcd_txn *t;
	char key[API_KEY_MAX];

	if (!cur || api_key_on_node(key, sizeof(key), a->prefix, API_PODSTATUS, a->o.node_name, pod, NULL) < 0) {
		done(arg, 1);
		return;
	}
	t = etcd_txn_new();
	etcd_txn_cmp(t, key, ETCD_CMP_MOD, ETCD_CMP_EQUAL, cur->mod_revision);
	etcd_txn_delete(t, ETCD_TXN_SUCCESS, key, 0);
	commit(a, t, done, arg);
}
