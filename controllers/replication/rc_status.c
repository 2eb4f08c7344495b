/*
 * rc_status.c: P/controllerstatus/NAME, written only when its canonical
 * bytes differ from what the status informer holds, with a transaction
 * that compares the mod revision read (or absence). Deleted with the
 * controller. It builds the transaction; rc_sync.c commits it.
 */
#include <stdlib.h>
#include <string.h>

#include "rc.h"

int
rc_status_txn(const struct rc *rc, const char *name, const struct api_controller_status *st, struct etcd_txn **out)
{
	const struct informer_obj *cur = informer_get(rc->cstatus, name);
	char key[API_KEY_MAX];
	struct api_error err;
	struct etcd_txn *t;
	char *json = NULL;

	*out = NULL;
	if (api_key_object(key, sizeof(key), rc->prefix, API_CONTROLLERSTATUS, name, &err) < 0 || (!st && !cur))
		return 0;
	if (st) {
		if (!(json = api_controller_status_serialize(st)))
			return -1;
		if (cur && cur->value_len == strlen(json) && memcmp(cur->value, json, cur->value_len) == 0) {
			free(json);
			return 0;
		}
	}
	if (!(t = etcd_txn_new())) {
		free(json);
		return -1;
	}
	if (cur)
		etcd_txn_cmp(t, key, ETCD_CMP_MOD, ETCD_CMP_EQUAL, cur->mod_revision);
	else
		etcd_txn_cmp(t, key, ETCD_CMP_CREATE, ETCD_CMP_EQUAL, 0);
	if (json)
		etcd_txn_put(t, ETCD_TXN_SUCCESS, key, json, strlen(json), 0);
	else
		etcd_txn_delete(t, ETCD_TXN_SUCCESS, key, 0);
	free(json);
	*out = t;
	return 0;
}
