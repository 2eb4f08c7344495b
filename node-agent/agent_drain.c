/*
 * agent_drain.c: the drain gate of agent_drain.h. For now a stub that never
 * holds a stop back (drain_busy is 0); the watches come next.
 */
#include <stdlib.h>

#include "agent.h"
#include "agent_drain.h"

struct drain {
	struct agent *a;
	drain_kick_fn kick;
	void *arg;
};

struct drain *
drain_new(struct agent *a, drain_kick_fn kick, void *arg)
{
	struct drain *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	d->a = a;
	d->kick = kick;
	d->arg = arg;
	return d;
}

int
drain_busy(struct drain *d, const char *pod_ip)
{
	(void)d;
	(void)pod_ip;
	return 0;
}

void
drain_forget(struct drain *d, const char *pod_ip)
{
	(void)d;
	(void)pod_ip;
}

void
drain_free(struct drain *d)
{
	free(d);
}
