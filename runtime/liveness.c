/*
 * liveness.c: the heartbeat judge (see liveness.h). It reads two fields of
 * a NodeLease value with jansson and keeps revisions and times; it does not
 * decode the whole object, watch etcd or keep a table of nodes.
 */
#include <jansson.h>

#include "liveness.h"

#define NEVER 1e300

/* Fill b->heartbeat and b->duration from the value. */
static void
read_value(struct liveness_beat *b, const char *value, size_t len)
{
	json_t *root = value ? json_loadb(value, len, 0, NULL) : NULL;
	json_t *spec = json_object_get(root, "spec");
	json_t *d = json_object_get(spec, "leaseDurationSeconds");

	b->heartbeat = json_is_string(json_object_get(spec, "renewTime"));
	b->duration = LIVENESS_DEFAULT_DURATION;
	if (json_is_integer(d) && json_integer_value(d) > 0 && json_integer_value(d) <= 3600)
		b->duration = (double)json_integer_value(d);
	json_decref(root);
}

void
liveness_observe(struct liveness_beat *b, const char *value, size_t len, int64_t mod_rev, double now)
{
	if (!b->present || mod_rev != b->rev)
		b->changed = now;
	b->present = 1;
	b->rev = mod_rev;
	read_value(b, value, len);
}

void
liveness_lost(struct liveness_beat *b)
{
	b->present = 0;
	b->heartbeat = 0;
	b->rev = 0;
}

double
liveness_expires(const struct liveness_beat *b)
{
	if (!b->heartbeat)
		return NEVER;
	return b->changed + b->duration + LIVENESS_SLACK;
}

int
liveness_ready(const struct liveness_beat *b, double now)
{
	return b->present && now <= liveness_expires(b);
}
