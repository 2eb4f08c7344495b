/*
 * epc_modes.c: which endpoint lists are this controller's. A service with
 * a selector has its P/endpoints/NAME written (and deleted with it) by the
 * controller; one without a selector has endpoints its user writes, which
 * the controller never writes nor deletes (it still gets a cluster IP).
 * When a service is deleted its object is gone, so what it was is
 * remembered here, by name, from the last reconcile that saw it.
 *
 * Not here: anything persistent. A list whose service was deleted while no
 * controller ran (or before this one saw it) is not known to be ours and
 * is left alone: deleting a user's endpoints is worse than leaving a stale
 * list for `skiffctl delete` (a list without its service has no proxy
 * rules unless it carries a clusterIP of its own).
 */
#include <stdlib.h>
#include <string.h>

#include <uthash.h>

#include "epc.h"

struct epc_mode {
	char *name;
	int selectorless;
	UT_hash_handle hh;
};

void
epc_mode_seen(struct epc *e, const char *name, int selectorless)
{
	struct epc_mode *m = NULL;

	HASH_FIND_STR(e->modes, name, m);
	if (!m) {
		if (!(m = calloc(1, sizeof(*m))) || !(m->name = strdup(name))) {
			free(m);
			return; /* out of memory: the list is left alone when the service goes */
		}
		HASH_ADD_KEYPTR(hh, e->modes, m->name, strlen(m->name), m);
	}
	m->selectorless = selectorless;
}

int
epc_mode_gone(struct epc *e, const char *name)
{
	struct epc_mode *m = NULL;
	int ours;

	HASH_FIND_STR(e->modes, name, m);
	if (!m)
		return 0;
	ours = !m->selectorless;
	HASH_DEL(e->modes, m);
	free(m->name);
	free(m);
	return ours;
}

void
epc_modes_free(struct epc *e)
{
	struct epc_mode *m, *tmp;

	HASH_ITER(hh, e->modes, m, tmp) {
		HASH_DEL(e->modes, m);
		free(m->name);
		free(m);
	}
}
