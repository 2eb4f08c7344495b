/*
 * agent_events_own.c: the changes the agent itself is making, so that
 * their echoes do not queue another pass of the pod. A pass that starts a
 * container inspects it right after Docker's answer, and a pass that
 * removes one drops it from its snapshot (agent_pods.c); the "start",
 * "die" and "destroy" events of those containers, and the watch's delete
 * of a status the pass deleted, bring nothing that pass did not already
 * know, yet each would queue one more pass that lists and finds nothing
 * new.
 *
 * An expectation is kept for one container ID (or one pod's status) and
 * the events named, for OWN_TTL seconds, and each is used up by the
 * first event that matches it. It is recorded when the request is sent,
 * not when it is answered: Docker emits the event before it answers. A
 * request Docker does not confirm ends its pass with a new list or a
 * retry, so the pod is looked at again all the same.
 *
 * It deliberately ignores nothing else: events of containers the agent
 * did not act on, "oom", a "die" of a container it started (a crash), a
 * status deleted while the pod is bound. A full table forgets the oldest
 * expectation, which costs one pass at most.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"

#define OWN_MAX 256  /* expectations kept at once */
#define OWN_TTL 30.0 /* seconds an expectation is kept */

struct own_ev {
	char key[72]; /* a container ID (64 hex digits), or "status/POD" */
	unsigned what;
	double until; /* agent_now() after which it is forgotten; 0: a free slot */
};

/* The slot of key, or (make) a free or expired one, else the oldest. */
static struct own_ev *
own_slot(struct agent *a, const char *key, int make)
{
	double now = agent_now(a);
	struct own_ev *free_slot = NULL, *oldest = NULL;

	if (!a->own && (!make || !(a->own = calloc(OWN_MAX, sizeof(*a->own)))))
		return NULL;
	for (size_t i = 0; i < OWN_MAX; i++) {
		struct own_ev *e = &a->own[i];

		if (e->until > now && strcmp(e->key, key) == 0)
			return e;
		if (e->until <= now && !free_slot)
			free_slot = e;
		if (!oldest || e->until < oldest->until)
			oldest = e;
	}
	if (!make)
		return NULL;
	return free_slot ? free_slot : oldest;
}

void
events_own(struct agent *a, const char *key, unsigned what)
{
	struct own_ev *e;

	if (!key || strlen(key) >= sizeof(e->key) || !(e = own_slot(a, key, 1)))
		return; /* out of memory: the event will queue a pass, as before */
	if (strcmp(e->key, key) != 0 || e->until <= agent_now(a)) {
		snprintf(e->key, sizeof(e->key), "%s", key);
		e->what = 0;
	}
	e->what |= what;
	e->until = agent_now(a) + OWN_TTL;
}

int
events_own_match(struct agent *a, const char *key, unsigned what)
{
	struct own_ev *e = key ? own_slot(a, key, 0) : NULL;

	if (!e || !(e->what & what))
		return 0;
	e->what &= ~what;
	if (!e->what)
		e->until = 0;
	return 1;
}

unsigned
events_own_action(const char *action)
{
	if (!action)
		return 0;
	if (strcmp(action, "start") == 0)
		return OWN_START;
	if (strcmp(action, "die") == 0)
		return OWN_DIE;
	if (strcmp(action, "destroy") == 0)
		return OWN_DESTROY;
	return 0;
}

/* "status/POD" into buf: 0, or -1 when pod is too long. */
static int
status_key(const char *pod, char *buf, size_t len)
{
	return (size_t)snprintf(buf, len, "status/%s", pod) < len ? 0 : -1;
}

void
events_own_status(struct agent *a, const char *pod)
{
	char key[80];

	if (status_key(pod, key, sizeof(key)) == 0)
		events_own(a, key, OWN_STATUS);
}

int
events_own_status_deleted(struct agent *a, const char *pod)
{
	char key[80];

	if (informer_get(a->bindings, pod) || status_key(pod, key, sizeof(key)) < 0)
		return 0;
	return events_own_match(a, key, OWN_STATUS);
}

void
events_own_free(struct agent *a)
{
	free(a->own);
	a->own = NULL;
}
