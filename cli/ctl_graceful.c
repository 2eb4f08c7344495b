/*
 * ctl_graceful.c: "skiffctl delete pod NAME --grace-period=N [--force]".
 *
 * Graceful: the pod gets metadata.deletionGracePeriodSeconds = N (a guarded
 * read-modify-write); the scheduler copies it into the binding, and the
 * agent then stops the pod's containers giving each at most N seconds and
 * deletes the pod's status last. skiffctl waits for that (the status gone,
 * the binding's copy marked) for at most N + 30 s, then deletes the pod
 * comparing its create revision. An agent that does not answer in time
 * (its node is down) does not block the delete: it is said, and the pod
 * goes anyway, as kubectl does after the grace period.
 *
 * Forced (--force, only with --grace-period=0, as kubectl asks): the mark
 * is written, then the pod and its binding are deleted at once without
 * waiting for any agent; an agent still running stops the containers when
 * it sees the binding go (with the grace it last saw). It is for a pod on a
 * node that will not come back.
 *
 * What it does not do: nothing here bypasses the agent's own cap
 * (--max-grace-period), and nothing touches containers directly.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "skiffctl.h"

static int
mark(json_t *j, void *arg)
{
	json_t *meta = json_object_get(j, "metadata");
	long long n = *(const long *)arg;

	if (!json_is_object(j))
		return 0;
	if (!json_is_object(meta)) {
		meta = json_object();
		if (!meta || json_object_set_new(j, "metadata", meta) < 0)
			return 0;
	}
	if (json_integer_value(json_object_get(meta, "deletionGracePeriodSeconds")) == n &&
	    json_is_integer(json_object_get(meta, "deletionGracePeriodSeconds")))
		return 0;
	return json_object_set_new(meta, "deletionGracePeriodSeconds", json_integer(n)) == 0;
}

/* The binding of pod (incarnation create) in st, NULL when unbound. */
static struct ctl_kv *
bound(const struct ctl_state *st, const char *pod, int64_t create)
{
	const struct ctl_list *l = &st->l[API_BINDING];
	char uid[24];
	size_t i;

	snprintf(uid, sizeof(uid), "%lld", (long long)create);
	for (i = 0; i < l->n; i++) {
		const char *u = ctl_jstr(l->kv[i].j, "pod.metadata.uid");

		if (strcmp(l->kv[i].name, pod) == 0 && u && strcmp(u, uid) == 0)
			return &l->kv[i];
	}
	return NULL;
}

/* 1 when the agent has done its part: not bound, or the binding carries
 * the mark and the pod's status is gone; 0 not yet; -1 etcd failed.
 * *key_out gets the binding's key (for --force). */
static int
agent_done(struct ctl *c, const char *pod, int64_t create, char *bkey, size_t blen, int64_t *bmod)
{
	int want[API_KIND_COUNT] = {[API_BINDING] = 1, [API_PODSTATUS] = 1};
	struct ctl_state st;
	struct ctl_kv *b;
	int done = 1;

	if (ctl_state_load(c, &st, want) < 0)
		return -1;
	*bkey = '\0';
	if ((b = bound(&st, pod, create))) {
		snprintf(bkey, blen, "%s", b->key);
		*bmod = b->mod;
		done = json_is_integer(ctl_jget(b->j, "pod.metadata.deletionGracePeriodSeconds")) &&
		       !ctl_state_find(&st, API_PODSTATUS, b->node, pod);
	}
	ctl_state_free(&st);
	return done;
}

/* Wait (polling, bounded) until the agent has stopped the pod. */
static int
wait_agent(struct ctl *c, const char *pod, int64_t create, long grace, char *bkey, size_t blen, int64_t *bmod)
{
	time_t deadline = time(NULL) + grace + 30;
	int d;

	while ((d = agent_done(c, pod, create, bkey, blen, bmod)) == 0 && time(NULL) < deadline)
		usleep(200 * 1000);
	if (d == 0)
		fprintf(c->err,
		        "%s: warning: the agent did not confirm that pod \"%s\" stopped within %lds; deleting it anyway\n",
		        c->name, pod, grace + 30);
	return d < 0 ? -1 : 0;
}

int
ctl_pod_mark(struct ctl *c, const char *key, long grace, int64_t *create)
{
	return ctl_update(c, key, mark, &grace, create);
}

int
ctl_pod_stopped(struct ctl *c, const char *pod, int64_t create)
{
	char bkey[API_KEY_MAX];
	int64_t bmod;

	return agent_done(c, pod, create, bkey, sizeof(bkey), &bmod);
}

int
ctl_delete_pod_graceful(struct ctl *c, const char *key, const char *pod, long grace, int force)
{
	char bkey[API_KEY_MAX];
	int64_t create = 0, bmod = 0;
	int u, d;

	u = ctl_pod_mark(c, key, grace, &create);
	if (u < 0)
		return -1;
	if (u == CTL_NOT_FOUND)
		return 0;
	if (force) {
		fprintf(c->err,
		        "%s: warning: immediate deletion does not wait for the agent to stop the pod's "
		        "containers; they may keep running on their node for a while\n",
		        c->name);
		if (agent_done(c, pod, create, bkey, sizeof(bkey), &bmod) < 0)
			return -1;
	} else if (wait_agent(c, pod, create, grace, bkey, sizeof(bkey), &bmod) < 0) {
		return -1;
	}
	if ((d = ctl_delete_if(c, key, ETCD_CMP_CREATE, ETCD_CMP_EQUAL, create)) <= 0)
		return d;
	if (force && *bkey && ctl_delete_if(c, bkey, ETCD_CMP_MOD, ETCD_CMP_EQUAL, bmod) < 0)
		return -1;
	return 1;
}
