/*
 * rc_create.c: new pods from a controller's template, named NAME-xxxxx
 * (5 random [a-z0-9]), each in a create-if-absent transaction. Creates go
 * out in batches of 1, 2, 4, 8, … (slow start, as Kubernetes does): the
 * next batch leaves only when every create of the previous one succeeded,
 * so a template etcd refuses costs one write per pass, not a flood. The
 * batch size reached carries over to the controller's next pass (up to
 * RC_BATCH_MAX) and falls back to 1 after a failure.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "rc.h"

static void
random_suffix(char *out)
{
	static const char alnum[] = "abcdefghijklmnopqrstuvwxyz0123456789";
	unsigned char b[API_RANDOM_SUFFIX];

	if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b))
		for (size_t i = 0; i < sizeof(b); i++)
			b[i] = (unsigned char)random();
	for (size_t i = 0; i < sizeof(b); i++)
		out[i] = alnum[b[i] % 36];
	out[API_RANDOM_SUFFIX] = '\0';
}

/* Build and send one create. 0, or -1 (counted as a failure). */
static int
create_one(struct rc_pass *p)
{
	char pod[API_LABEL_MAX + 1], suffix[API_RANDOM_SUFFIX + 1], key[API_KEY_MAX];
	struct api_error err;
	struct api_pod *obj;
	struct etcd_txn *t;
	char *json;
	int tries = 0;

	do {
		random_suffix(suffix);
		if (api_generate_name(pod, sizeof(pod), p->name, suffix) < 0)
			return -1;
	} while (informer_get(p->rc->pods, pod) && ++tries < 8);
	if (api_key_object(key, sizeof(key), p->rc->prefix, API_POD, pod, &err) < 0)
		return -1;
	if (!(obj = api_controller_new_pod(p->ctl, p->name, p->uid, pod)))
		return -1;
	json = api_pod_serialize(obj);
	api_pod_free(obj);
	if (!json || !(t = etcd_txn_new())) {
		free(json);
		return -1;
	}
	etcd_txn_cmp(t, key, ETCD_CMP_CREATE, ETCD_CMP_EQUAL, 0);
	etcd_txn_put(t, ETCD_TXN_SUCCESS, key, json, strlen(json), 0);
	free(json);
	log_kv(LL_DEBUG, KV("controller", p->name, "pod", pod), "creating pod");
	rc_op_commit(p, RC_OP_CREATE, pod, t);
	return 0;
}

void
rc_create_batch(struct rc_pass *p)
{
	int n = p->batch < p->want ? p->batch : p->want;

	for (int i = 0; i < n; i++) {
		if (create_one(p) < 0) {
			log_kv(LL_ERROR, KV("controller", p->name),
			       "cannot build a pod from the template (out of memory?); retrying");
			p->failed++;
			break;
		}
		p->want--;
	}
	if (p->batch < RC_BATCH_MAX)
		p->batch *= 2;
}
