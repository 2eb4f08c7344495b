/*
 * rc_create.c: new pods from a controller's template, named NAME-xxxxx
 * (5 random [a-z0-9]), each created only if absent. Creates go out in
 * transactions of up to RC_TXN_CREATES (rc_batch.c), under a slow-start
 * window: one create in flight at first, and every create that succeeds
 * lets one more out, so the window doubles each round trip (1, 2, 4, …, as
 * Kubernetes does) up to RC_WINDOW_MAX. A failure stops the pass's creates,
 * so a template etcd refuses costs one write per pass, not a flood. The
 * window reached carries over to the controller's next pass and falls
 * back to 1 after a failure. The pass never sends more creates than the
 * shortfall it counted (p->want). It builds the transactions; sending
 * them, and when to stop (the controller changed, leadership lost), is
 * rc_sync.c's.
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

static int
name_used(const struct rc_pass *p, const char *pod)
{
	struct rc_name *n = NULL;

	HASH_FIND_STR(p->names, pod, n);
	return n != NULL || informer_get(p->rc->pods, pod) != NULL;
}

/* A name neither in the pods cache nor used by this pass, remembered in
 * the pass. 0, or -1 when out of memory. */
static int
pick_name(struct rc_pass *p, char *pod, size_t len)
{
	char suffix[API_RANDOM_SUFFIX + 1];
	struct rc_name *n;
	int tries = 0;

	do {
		random_suffix(suffix);
		if (api_generate_name(pod, len, p->name, suffix) < 0)
			return -1;
	} while (name_used(p, pod) && ++tries < 8);
	if (!(n = calloc(1, sizeof(*n))))
		return -1;
	snprintf(n->name, sizeof(n->name), "%s", pod);
	HASH_ADD_STR(p->names, name, n);
	return 0;
}

/* Add one create to t. Bytes of the pod's JSON, or -1. */
static long
add_create(struct rc_pass *p, struct etcd_txn *t, char *pod)
{
	char key[API_KEY_MAX];
	struct api_error err;
	struct api_pod *obj;
	char *json;
	long len;

	if (pick_name(p, pod, API_LABEL_MAX + 1) < 0 ||
	    api_key_object(key, sizeof(key), p->rc->prefix, API_POD, pod, &err) < 0)
		return -1;
	if (!(obj = api_controller_new_pod(p->ctl, p->name, p->uid, pod)))
		return -1;
	json = api_pod_serialize(obj);
	api_pod_free(obj);
	if (!json)
		return -1;
	len = rc_batch_add(t, key, json) < 0 ? -1 : (long)strlen(json);
	free(json);
	log_kv(LL_DEBUG, KV("controller", p->name, "pod", pod), "creating pod");
	return len;
}

struct etcd_txn *
rc_create_txn(struct rc_pass *p, int *n, char *first, size_t len)
{
	char pod[API_LABEL_MAX + 1];
	struct etcd_txn *t = etcd_txn_new();
	long one, bytes = 0;
	int i;

	for (i = 0; t && i < *n && bytes < RC_TXN_BYTES; i++) {
		if ((one = add_create(p, t, pod)) < 0) {
			etcd_txn_free(t);
			return NULL;
		}
		if (i == 0)
			snprintf(first, len, "%s", pod);
		bytes += one;
	}
	*n = i;
	return t;
}

int
rc_create_next(const struct rc_pass *p)
{
	int full = p->want < RC_TXN_CREATES ? p->want : RC_TXN_CREATES;
	int room = p->window - p->creating;
	int n = room < full ? room : full;

	/* A small txn only when nothing is in flight: otherwise wait until a
	 * whole one fits. */
	if (p->want <= 0 || p->failed || n <= 0 || (n < full && p->creating > 0))
		return 0;
	return n;
}

void
rc_create_done(struct rc_pass *p, int n, int created)
{
	p->creating -= n;
	p->window += created;
	if (p->window > RC_WINDOW_MAX)
		p->window = RC_WINDOW_MAX;
}

void
rc_create_names_free(struct rc_pass *p)
{
	struct rc_name *n, *tmp;

	HASH_ITER(hh, p->names, n, tmp) {
		HASH_DEL(p->names, n);
		free(n);
	}
}
