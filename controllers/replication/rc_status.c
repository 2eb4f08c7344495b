/*
 * rc_status.c: P/controllerstatus/NAME, written only when its canonical
 * bytes differ from what the status informer holds, with a transaction
 * that compares the mod revision read (or absence). Deleted with the
 * controller.
 */
#include <stdlib.h>
#include <string.h>

#include "rc.h"

void
rc_status_write(struct rc_pass *p, const struct api_controller_status *st)
{
	const struct informer_obj *cur = informer_get(p->rc->cstatus, p->name);
	char key[API_KEY_MAX];
	struct api_error err;
	struct etcd_txn *t;
	char *json = NULL;

	if (api_key_object(key, sizeof(key), p->rc->prefix, API_CONTROLLERSTATUS, p->name, &err) < 0)
		return;
	if (!st && !cur)
		return;
	if (st) {
		if (!(json = api_controller_status_serialize(st))) {
			p->failed++;
			return;
		}
		if (cur && cur->value_len == strlen(json) && memcmp(cur->value, json, cur->value_len) == 0) {
			free(json);
			return;
		}
	}
	if (!(t = etcd_txn_new())) {
		free(json);
		p->failed++;
		return;
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
	rc_op_commit(p, RC_OP_STATUS, NULL, t);
}
