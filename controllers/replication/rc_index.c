/*
 * rc_index.c: pod name → what the bindings and podstatus informers say
 * about it (bound or not, phase, readiness), so that scale-down can pick
 * unbound and not-running pods first and status can count ready pods
 * without scanning those informers. Names are NODE/POD keys; a pod moving
 * between nodes may briefly have two bindings, hence their count.
 *
 * A status is believed only from the node of the pod's binding (the one
 * last seen) and only with that binding's pod uid: whatever another node
 * writes under its own prefix about the pod is kept aside and never
 * counted. It does not compare with the pod's current uid (rc_sync.c does).
 *
 * When a pod became ready (for availableReplicas) is its Ready condition's
 * lastTransitionTime, on the agent's clock, but never later than when this
 * process first saw it ready with that time: an agent clock running ahead
 * cannot hold a pod back longer than minReadySeconds after it was seen. A
 * version-1 status (no conditions) is ready from when it was first seen.
 */
#include <ev.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rc.h"

static struct rc_podinfo *
info_get(struct rc *rc, const char *pod, int create)
{
	struct rc_podinfo *pi = NULL;

	HASH_FIND_STR(rc->podinfo, pod, pi);
	if (pi || !create)
		return pi;
	if (!(pi = calloc(1, sizeof(*pi))) || !(pi->pod = strdup(pod))) {
		free(pi);
		return NULL;
	}
	HASH_ADD_KEYPTR(hh, rc->podinfo, pi->pod, strlen(pi->pod), pi);
	return pi;
}

static void
key_clear(struct rc_key *k)
{
	free(k->node);
	free(k->uid);
}

/* Take node (len bytes) out of the list, keeping the others' order. */
static void
key_remove(struct rc_key *v, size_t *n, const char *node, size_t len)
{
	for (size_t i = 0; i < *n; i++) {
		if (strlen(v[i].node) == len && strncmp(v[i].node, node, len) == 0) {
			key_clear(&v[i]);
			memmove(&v[i], &v[i + 1], (*n - i - 1) * sizeof(*v));
			(*n)--;
			return;
		}
	}
}

/* Append k (its strings are taken) after removing node's old entry;
 * frees them when out of memory. */
static void
key_add(struct rc_key **v, size_t *n, struct rc_key k)
{
	struct rc_key *nv;

	if (!k.node || !(nv = realloc(*v, (*n + 1) * sizeof(*nv)))) {
		key_clear(&k);
		return;
	}
	*v = nv;
	key_remove(nv, n, k.node, strlen(k.node));
	nv[(*n)++] = k;
}

/* Derive what is believed: the status from the bound node, with its uid. */
static void
settle(struct rc_podinfo *pi)
{
	const struct rc_key *b = pi->nbound ? &pi->bound[pi->nbound - 1] : NULL;

	pi->bindings = (int)pi->nbound;
	pi->status_node = pi->status_uid = NULL;
	pi->running = pi->ready = pi->terminal = 0;
	pi->ready_at = 0;
	for (size_t i = 0; b && b->uid && i < pi->nreports; i++) {
		const struct rc_key *r = &pi->reports[i];

		if (strcmp(r->node, b->node) == 0 && r->uid && strcmp(r->uid, b->uid) == 0) {
			pi->status_node = r->node;
			pi->status_uid = r->uid;
			pi->running = r->running;
			pi->ready = r->ready;
			pi->terminal = r->terminal;
			pi->ready_at = r->ready ? (r->since > 0 && r->since < r->seen ? r->since : r->seen) : 0;
		}
	}
}

static void
info_free(struct rc_podinfo *pi)
{
	for (size_t i = 0; i < pi->nbound; i++)
		key_clear(&pi->bound[i]);
	for (size_t i = 0; i < pi->nreports; i++)
		key_clear(&pi->reports[i]);
	free(pi->bound);
	free(pi->reports);
	free(pi->pod);
	free(pi);
}

static void
info_settle(struct rc *rc, struct rc_podinfo *pi)
{
	settle(pi);
	if (pi->nbound > 0 || pi->nreports > 0)
		return;
	HASH_DEL(rc->podinfo, pi);
	info_free(pi);
}

void
rc_index_binding(struct rc *rc, const char *name, const char *uid, int add)
{
	const char *slash = strchr(name, '/');
	size_t nlen = slash ? (size_t)(slash - name) : 0;
	struct rc_podinfo *pi;

	if (!slash || !(pi = info_get(rc, slash + 1, add)))
		return;
	if (add)
		key_add(&pi->bound, &pi->nbound,
		        (struct rc_key){.node = strndup(name, nlen), .uid = uid ? strdup(uid) : NULL});
	else
		key_remove(pi->bound, &pi->nbound, name, nlen);
	info_settle(rc, pi);
}

/* Fill k's since and seen for a ready status st, carrying seen over from
 * the node's previous report when that was ready with the same uid and
 * the same since. */
static void
ready_times(const struct rc_podinfo *pi, struct rc_key *k, const struct api_pod_status *st)
{
	const char *s = api_pod_status_ready_since(st);
	time_t t;

	k->since = s && api_time_parse(s, &t, NULL) == 0 ? (double)t : 0;
	k->seen = ev_time();
	for (size_t i = 0; i < pi->nreports; i++) {
		const struct rc_key *r = &pi->reports[i];

		if (strcmp(r->node, k->node) == 0 && r->ready && r->uid && k->uid && strcmp(r->uid, k->uid) == 0 &&
		    r->since == k->since && r->seen < k->seen)
			k->seen = r->seen;
	}
}

void
rc_index_status(struct rc *rc, const char *name, const struct api_pod_status *st, int add)
{
	const char *slash = strchr(name, '/');
	size_t nlen = slash ? (size_t)(slash - name) : 0;
	struct rc_podinfo *pi;
	struct rc_key k = {0};

	if (!slash || !(pi = info_get(rc, slash + 1, add)))
		return;
	if (!add) {
		key_remove(pi->reports, &pi->nreports, name, nlen);
	} else {
		k.node = strndup(name, nlen);
		k.uid = st && st->uid ? strdup(st->uid) : NULL;
		k.running = st && st->phase == API_PHASE_RUNNING;
		k.ready = st && api_pod_status_ready(st);
		k.terminal = st && (st->phase == API_PHASE_FAILED || st->phase == API_PHASE_SUCCEEDED);
		if (k.ready && k.node)
			ready_times(pi, &k, st);
		key_add(&pi->reports, &pi->nreports, k);
	}
	info_settle(rc, pi);
}

const char *
rc_index_stranger(const struct rc *rc, const char *name, const char *uid)
{
	const char *slash = strchr(name, '/');
	const struct rc_podinfo *pi = slash ? rc_podinfo(rc, slash + 1) : NULL;
	const struct rc_key *b = pi && pi->nbound ? &pi->bound[pi->nbound - 1] : NULL;
	size_t nlen = slash ? (size_t)(slash - name) : 0;

	if (!b || !b->uid || !uid || strcmp(b->uid, uid) != 0)
		return NULL;
	if (strlen(b->node) == nlen && strncmp(b->node, name, nlen) == 0)
		return NULL;
	return b->node;
}

const struct rc_podinfo *
rc_podinfo(const struct rc *rc, const char *pod)
{
	struct rc_podinfo *pi = NULL;

	HASH_FIND_STR(rc->podinfo, pod, pi);
	return pi;
}

void
rc_index_free(struct rc *rc)
{
	struct rc_podinfo *pi, *tmp;

	HASH_ITER(hh, rc->podinfo, pi, tmp) {
		HASH_DEL(rc->podinfo, pi);
		info_free(pi);
	}
}
