/*
 * agent_status.c: what Docker says about a container (struct snap, from a
 * list item and an inspect), and the pod's status key
 * P/podstatus/NODE/POD: its value (agent_plan_status.c) from a plan's rows,
 * written with a transaction comparing the mod revision the podstatus
 * informer holds (create-if-absent when absent) and the create revision of
 * the pod's binding (so no status outlives its binding), only when the
 * bytes differ. It decides nothing: the rows come from the planner
 * (agent_plan.c).
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "agent_evict.h"
#include "agent_security.h"

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
snap_from_inspect(struct snap *s, const char *body, size_t len, const char *net, const char *host_ip)
{
	json_t *j = json_loadb(body, len, 0, NULL), *st;

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
	snap_ip(s, j, net, host_ip);
	json_decref(j);
	return 0;
}

void
snap_ip(struct snap *s, void *json, const char *net, const char *host_ip)
{
	json_t *j = json, *ns, *nets, *v;
	const char *k, *ip;

	ns = json_object_get(j, "NetworkSettings");
	nets = json_object_get(ns, "Networks");
	ip = json_string_value(json_object_get(net ? json_object_get(nets, net) : ns, "IPAddress"));
	if (!net && (!ip || !*ip)) {
		ip = NULL;
		json_object_foreach(nets, k, v) {
			const char *x = json_string_value(json_object_get(v, "IPAddress"));

			if (x && *x) {
				ip = x;
				break;
			}
		}
	}
	if (sec_host_network(j))
		ip = host_ip;
	free(s->ip);
	s->ip = ip && *ip ? strdup(ip) : NULL;
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
	w->done(w->arg, ok, ok ? res->revision : 0);
	free(w);
}

static void
commit(struct agent *a, struct etcd_txn *t, status_done_fn done, void *arg)
{
	struct swrite *w = calloc(1, sizeof(*w));
	struct etcd_error err = {0};

	if (!w) {
		etcd_txn_free(t);
		done(arg, 0, 0);
		return;
	}
	w->a = a;
	w->done = done;
	w->arg = arg;
	if (etcd_txn_commit(a->d->etcd, t, write_done, w, &err) < 0) {
		free(w);
		done(arg, 0, 0);
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

void
status_write(struct agent *a, const char *pod, const struct api_pod *p, const struct plan_out *o, status_done_fn done,
             void *arg)
{
	const struct informer_obj *cur;
	struct etcd_txn *t;
	char key[API_KEY_MAX], *val = plan_status_value(p, o, a->host_ip);

	val = evict_status(a, p, val); /* phase Failed, reason Evicted when it was */

	if (!val || api_key_on_node(key, sizeof(key), a->prefix, API_PODSTATUS, a->o.node_name, pod, NULL) < 0) {
		free(val);
		done(arg, 0, 0);
		return;
	}
	cur = informer_get(a->statuses, pod);
	if (cur && cur->value_len == strlen(val) && memcmp(cur->value, val, cur->value_len) == 0) {
		free(val);
		done(arg, 1, cur->mod_revision);
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
		done(arg, 1, 0); /* no binding: the pod is on its way out, with no status */
		return;
	}
	etcd_txn_put(t, ETCD_TXN_SUCCESS, key, val, strlen(val), 0);
	free(val);
	commit(a, t, done, arg);
}

void
status_memo_seed(struct agent *a, struct pod_memo *m)
{
	const struct informer_obj *cur = informer_get(a->statuses, m->name);
	struct api_errors errs = {0};
	struct api_pod_status *st = cur ? api_pod_status_parse(cur->value, cur->value_len, &errs) : NULL;
	const struct api_pod_condition *c = st ? api_pod_status_condition(st, "Ready") : NULL;

	if (c && c->last_transition_time && c->status != API_COND_UNKNOWN && st->uid && strcmp(st->uid, m->uid) == 0) {
		m->ready_was = c->status == API_COND_TRUE ? 2 : 1;
		snprintf(m->ready_time, sizeof(m->ready_time), "%s", c->last_transition_time);
	}
	api_pod_status_free(st);
	api_errors_clear(&errs);
}

void
status_delete(struct agent *a, const char *pod, status_done_fn done, void *arg)
{
	const struct informer_obj *cur = informer_get(a->statuses, pod);
	struct etcd_txn *t;
	char key[API_KEY_MAX];

	if (!cur || api_key_on_node(key, sizeof(key), a->prefix, API_PODSTATUS, a->o.node_name, pod, NULL) < 0) {
		done(arg, 1, 0);
		return;
	}
	t = etcd_txn_new();
	etcd_txn_cmp(t, key, ETCD_CMP_MOD, ETCD_CMP_EQUAL, cur->mod_revision);
	etcd_txn_delete(t, ETCD_TXN_SUCCESS, key, 0);
	commit(a, t, done, arg);
}
