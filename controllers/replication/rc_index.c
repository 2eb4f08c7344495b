/*
 * rc_index.c: pod name → what the bindings and podstatus informers say
 * about it (bound or not, phase, readiness), so that scale-down can pick
 * unbound and not-running pods first and status can count ready pods
 * without scanning those informers. Names are NODE/POD keys; a pod moving
 * between nodes may briefly have two, hence the count of bindings and the
 * node of the status last seen.
 */
#include <stdlib.h>
#include <string.h>

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
info_maybe_free(struct rc *rc, struct rc_podinfo *pi)
{
	if (pi->bindings > 0 || pi->status_node)
		return;
	HASH_DEL(rc->podinfo, pi);
	free(pi->pod);
	free(pi->status_uid);
	free(pi);
}

void
rc_index_binding(struct rc *rc, const char *name, int add)
{
	const char *slash = strchr(name, '/');
	struct rc_podinfo *pi;

	if (!slash || !(pi = info_get(rc, slash + 1, add)))
		return;
	pi->bindings += add ? 1 : -1;
	if (pi->bindings < 0)
		pi->bindings = 0;
	info_maybe_free(rc, pi);
}

void
rc_index_status(struct rc *rc, const char *name, const struct api_pod_status *st, int add)
{
	const char *slash = strchr(name, '/');
	size_t nlen;
	struct rc_podinfo *pi;

	if (!slash || !(pi = info_get(rc, slash + 1, add)))
		return;
	nlen = (size_t)(slash - name);
	if (!add) {
		/* Only the status we remember is forgotten. */
		if (pi->status_node && strlen(pi->status_node) == nlen && strncmp(pi->status_node, name, nlen) == 0) {
			free(pi->status_node);
			free(pi->status_uid);
			pi->status_node = pi->status_uid = NULL;
			pi->running = pi->ready = 0;
		}
		info_maybe_free(rc, pi);
		return;
	}
	free(pi->status_node);
	free(pi->status_uid);
	pi->status_node = strndup(name, nlen);
	pi->status_uid = st && st->uid ? strdup(st->uid) : NULL;
	pi->running = st && st->phase == API_PHASE_RUNNING;
	pi->ready = st && api_pod_status_ready(st);
	info_maybe_free(rc, pi);
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
		free(pi->pod);
		free(pi->status_node);
		free(pi->status_uid);
		free(pi);
	}
}
