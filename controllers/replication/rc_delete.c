/*
 * rc_delete.c: which pods go first when a controller has too many, and
 * the guarded delete itself (it compares the pod's mod revision, so a pod
 * changed since it was read is left alone and looked at again). It builds
 * the transaction; rc_sync.c commits it.
 */
#include <stdlib.h>

#include "rc.h"

static const struct rc *rank_rc; /* for qsort's comparator; one thread */

/* 0 unbound, 1 bound but not running, 2 running but not ready, 3 ready. */
static int
stage(const struct informer_obj *o)
{
	const struct rc_podinfo *pi = rc_podinfo(rank_rc, o->name);

	if (!pi || pi->bindings == 0)
		return 0;
	if (!pi->running)
		return 1;
	return pi->ready ? 3 : 2;
}

static int
cmp_rank(const void *a, const void *b)
{
	const struct informer_obj *x = *(const struct informer_obj *const *)a;
	const struct informer_obj *y = *(const struct informer_obj *const *)b;
	int sx = stage(x), sy = stage(y);

	if (sx != sy)
		return sx < sy ? -1 : 1;
	/* Youngest (highest create revision) first. */
	return x->create_revision > y->create_revision ? -1 : x->create_revision < y->create_revision;
}

void
rc_rank_for_delete(const struct rc *rc, const struct informer_obj **pods, size_t n)
{
	rank_rc = rc;
	qsort(pods, n, sizeof(*pods), cmp_rank);
	rank_rc = NULL;
}

struct etcd_txn *
rc_delete_txn(const struct informer_obj *pod)
{
	struct etcd_txn *t = etcd_txn_new();

	if (!t)
		return NULL;
	etcd_txn_cmp(t, pod->key, ETCD_CMP_MOD, ETCD_CMP_EQUAL, pod->mod_revision);
	etcd_txn_delete(t, ETCD_TXN_SUCCESS, pod->key, 0);
	return t;
}
