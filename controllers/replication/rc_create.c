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

/* The pod of this pass named pod, serialised. New, or NULL. */
static char *
pod_json(const struct rc_pass *p, const char *pod)
{
	struct api_pod *obj = api_controller_new_pod(p->ctl, p->name, p->uid, pod);
	char *json = obj ? api_pod_serialize(obj) : NULL;

	api_pod_free(obj);
	return json;
}

/* Where mark occurs in s when it occurs exactly once, else NULL. */
static char *
only(char *s, const char *mark)
{
	char *at = strstr(s, mark);

	return at && !strstr(at + 1, mark) ? at : NULL;
}

/* The pass's pod JSON, serialised once with a stand-in name and cut
 * around it. The name is nowhere else in a pod made from the template
 * unless the template holds it: then the stand-in shows up more than
 * once, there is no template, and every pod is serialised. */
static void
template_make(struct rc_pass *p)
{
	char mark[API_LABEL_MAX + 1];
	struct api_pod *obj = NULL;
	char *json = NULL, *at;

	p->tpl_tried = 1;
	if (api_generate_name(mark, sizeof(mark), p->name, "00000") < 0 ||
	    !(obj = api_controller_new_pod(p->ctl, p->name, p->uid, mark)) || !(json = api_pod_serialize(obj)) ||
	    !(at = only(json, mark)) || !(p->tpl_tail = strdup(at + strlen(mark))))
		goto out;
	*at = '\0';
	p->tpl_head = json;
	json = NULL;
	p->tpl_digest = rc_pod_new(obj); /* NULL: the pods are decoded when they come */
out:
	free(json);
	api_pod_free(obj);
}

char *
rc_create_json(struct rc_pass *p, const char *pod)
{
	size_t hl, nl, tl;
	char *json;

	if (!p->tpl_tried)
		template_make(p);
	if (!p->tpl_head)
		return pod_json(p, pod);
	hl = strlen(p->tpl_head), nl = strlen(pod), tl = strlen(p->tpl_tail);
	if (!(json = malloc(hl + nl + tl + 1)))
		return NULL;
	memcpy(json, p->tpl_head, hl);
	memcpy(json + hl, pod, nl);
	memcpy(json + hl + nl, p->tpl_tail, tl + 1);
	return json;
}

/* Add one create to t. Bytes of the pod's JSON, or -1. */
static long
add_create(struct rc_pass *p, struct etcd_txn *t, char *pod)
{
	char key[API_KEY_MAX];
	struct api_error err;
	char *json;
	long len;

	if (pick_name(p, pod, API_LABEL_MAX + 1) < 0 ||
	    api_key_object(key, sizeof(key), p->rc->prefix, API_POD, pod, &err) < 0)
		return -1;
	if (!(json = rc_create_json(p, pod)))
		return -1;
	len = rc_batch_add(t, key, json) < 0 ? -1 : (long)strlen(json);
	if (len > 0 && p->tpl_digest)
		rc_expect_add(p->rc, pod, json, p->tpl_digest, ev_now(p->rc->d->loop));
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
rc_create_free(struct rc_pass *p)
{
	struct rc_name *n, *tmp;

	HASH_ITER(hh, p->names, n, tmp) {
		HASH_DEL(p->names, n);
		free(n);
	}
	free(p->tpl_head);
	free(p->tpl_tail);
	p->tpl_head = p->tpl_tail = NULL;
	rc_pod_free(p->tpl_digest);
	p->tpl_digest = NULL;
}
