/*
 * rc_batch.c: several pod creates in one etcd transaction. Each create is
 * a nested txn guarded by its own create_revision == 0, so a name that
 * exists fails only its own create and the others are written, all at the
 * transaction's one revision. Knows etcd, not controllers: it builds the
 * txn and reads the answer; rc_create.c decides what to create.
 */
#include <string.h>

#include "rc.h"

int
rc_batch_add(struct etcd_txn *t, const char *key, const char *json)
{
	struct etcd_txn *in = etcd_txn_new();

	etcd_txn_cmp(in, key, ETCD_CMP_CREATE, ETCD_CMP_EQUAL, 0);
	etcd_txn_put(in, ETCD_TXN_SUCCESS, key, json, strlen(json), 0);
	return etcd_txn_txn(t, ETCD_TXN_SUCCESS, in);
}

int
rc_batch_tally(const struct etcd_result *res, int n, int *created, int *collided)
{
	*created = *collided = 0;
	if (!res->succeeded || res->nresponses != (size_t)n)
		return -1;
	for (int i = 0; i < n; i++) {
		if (res->responses[i].op != ETCD_OP_TXN)
			return -1;
		if (res->responses[i].succeeded)
			(*created)++;
		else
			(*collided)++;
	}
	return 0;
}
