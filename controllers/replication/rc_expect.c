/*
 * rc_expect.c: the pods this controller has just sent creates for, so
 * that its own pods cache takes each one back without decoding it: pod
 * name → the JSON sent and what the cache keeps of that pod (struct
 * rc_pod, made once per pass from the template). The first value the
 * cache sees for the name takes the entry: when its bytes are the JSON
 * sent, the kept digest is what decoding them would give (check_rc tests
 * that), else the entry is dropped and the value decoded as any other.
 * So a create that failed, or someone else's pod of that name, costs
 * nothing but a decode. At most RC_EXPECT_MAX entries; when full, those
 * older than RC_EXPECT_AGE seconds go (their pod was never seen, e.g.
 * deleted while the watch was down), and past that nothing is added.
 */
#include <stdlib.h>
#include <string.h>

#include "rc.h"

#define RC_EXPECT_MAX 8192
#define RC_EXPECT_AGE 60.0

struct rc_expect {
	char *pod, *json;
	size_t len;
	struct rc_pod *digest;
	double added; /* the loop's time (ev_now) */
	UT_hash_handle hh;
};

static void
entry_free(struct rc_expect *e)
{
	free(e->pod);
	free(e->json);
	rc_pod_free(e->digest);
	free(e);
}

static void
drop(struct rc *rc, struct rc_expect *e)
{
	HASH_DEL(rc->expect, e);
	entry_free(e);
}

/* Full: drop what is older than RC_EXPECT_AGE. Is there room now? */
static int
room(struct rc *rc, double now)
{
	struct rc_expect *e, *tmp;

	if (HASH_COUNT(rc->expect) < RC_EXPECT_MAX)
		return 1;
	HASH_ITER(hh, rc->expect, e, tmp) {
		if (now - e->added > RC_EXPECT_AGE)
			drop(rc, e);
	}
	return HASH_COUNT(rc->expect) < RC_EXPECT_MAX;
}

void
rc_expect_add(struct rc *rc, const char *pod, const char *json, const struct rc_pod *digest, double now)
{
	struct rc_expect *e = NULL;

	HASH_FIND_STR(rc->expect, pod, e);
	if (e)
		drop(rc, e);
	if (!room(rc, now) || !(e = calloc(1, sizeof(*e))))
		return;
	e->len = strlen(json);
	e->added = now;
	if (!(e->pod = strdup(pod)) || !(e->json = strdup(json)) || !(e->digest = rc_pod_clone(digest))) {
		entry_free(e);
		return; /* out of memory: the pod is decoded when it comes */
	}
	HASH_ADD_KEYPTR(hh, rc->expect, e->pod, strlen(e->pod), e);
}

struct rc_pod *
rc_expect_take(struct rc *rc, const char *pod, const char *value, size_t len)
{
	struct rc_expect *e = NULL;
	struct rc_pod *rp = NULL;

	HASH_FIND_STR(rc->expect, pod, e);
	if (!e)
		return NULL;
	if (e->len == len && memcmp(e->json, value, len) == 0) {
		rp = e->digest;
		e->digest = NULL;
	}
	drop(rc, e);
	return rp;
}

void
rc_expect_free(struct rc *rc)
{
	struct rc_expect *e, *tmp;

	HASH_ITER(hh, rc->expect, e, tmp) {
		drop(rc, e);
	}
}
