/*
 * ctl_update.c: the guarded read-modify-write every editing command uses
 * (scale, cordon, uncordon, drain, delete --cascade=false, rollout, set
 * image), and the guarded delete: never a blind
 * overwrite of a key another component may write at the same moment.
 */
#include <stdlib.h>
#include <string.h>

#include "skiffctl.h"

#define RETRIES 10

int
ctl_update(struct ctl *c, const char *key, ctl_edit_fn edit, void *arg, int64_t *create)
{
	int attempt;

	for (attempt = 0; attempt < RETRIES; attempt++) {
		struct etcd_result *r = etcd_sync_get(c->s, key);
		struct etcd_txn *t;
		json_error_t jerr;
		json_t *j;
		int64_t mod;
		char *val;
		int rc;

		if (!r || r->err.code != ETCD_OK) {
			ctl_etcd_fail(c, key, r);
			etcd_result_free(r);
			return -1;
		}
		if (r->nkvs == 0) {
			etcd_result_free(r);
			return CTL_NOT_FOUND;
		}
		mod = r->kvs[0].mod_revision;
		if (create)
			*create = r->kvs[0].create_revision;
		j = json_loadb(r->kvs[0].value, r->kvs[0].value_len, 0, &jerr);
		etcd_result_free(r);
		if (!json_is_object(j)) {
			fprintf(c->err, "%s: %s does not hold a JSON object (%s); fix it with etcdctl put\n", c->name,
			        key, j ? "not an object" : jerr.text);
			json_decref(j);
			return -1;
		}
		if ((rc = edit(j, arg)) <= 0) {
			json_decref(j);
			return rc < 0 ? -1 : CTL_UNCHANGED;
		}
		val = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
		json_decref(j);
		if (!val || !(t = etcd_txn_new())) {
			free(val);
			fprintf(c->err, "%s: out of memory\n", c->name);
			return -1;
		}
		etcd_txn_cmp(t, key, ETCD_CMP_MOD, ETCD_CMP_EQUAL, mod);
		etcd_txn_put(t, ETCD_TXN_SUCCESS, key, val, strlen(val), 0);
		free(val);
		r = etcd_sync_txn(c->s, t);
		if (!r || r->err.code != ETCD_OK) {
			ctl_etcd_fail(c, key, r);
			etcd_result_free(r);
			return -1;
		}
		rc = r->succeeded;
		etcd_result_free(r);
		if (rc)
			return CTL_UPDATED;
	}
	fprintf(c->err, "%s: %s keeps changing under us; try again\n", c->name, key);
	return -1;
}

int
ctl_delete_if(struct ctl *c, const char *key, enum etcd_cmp_target what, enum etcd_cmp_result op, int64_t rev)
{
	struct etcd_txn *t = etcd_txn_new();
	struct etcd_result *r;
	int ok;

	if (!t)
		return -1;
	etcd_txn_cmp(t, key, what, op, rev);
	etcd_txn_delete(t, ETCD_TXN_SUCCESS, key, 0);
	r = etcd_sync_txn(c->s, t);
	if (!r || r->err.code != ETCD_OK) {
		ctl_etcd_fail(c, key, r);
		etcd_result_free(r);
		return -1;
	}
	ok = r->succeeded;
	etcd_result_free(r);
	return ok;
}
