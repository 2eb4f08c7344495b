/*
 * dc_math.c: the rollout arithmetic of a Deployment, as Kubernetes'
 * deployment controller does it (pkg/controller/deployment/rolling.go and
 * util): maxSurge rounds up, maxUnavailable down, a scale-up step never
 * passes replicas + maxSurge pods, a scale-down step never leaves fewer
 * than replicas - maxUnavailable available. Pure functions of counts; it
 * reads no cache and decides nothing about which controller is new.
 */
#include <stdint.h>

#include "dc.h"

static int
min_int(int a, int b)
{
	return a < b ? a : b;
}

int
dc_scaled(const struct api_int_or_percent *v, int total, int round_up)
{
	int64_t p;

	if (!v->percent)
		return v->value;
	p = (int64_t)v->value * total;
	return (int)(round_up ? (p + 99) / 100 : p / 100);
}

void
dc_fenceposts(const struct api_deployment_spec *s, int *surge, int *unavailable)
{
	*surge = *unavailable = 0;
	if (s->strategy != API_ROLLING_UPDATE)
		return;
	*surge = dc_scaled(&s->max_surge, s->replicas, 1);
	*unavailable = dc_scaled(&s->max_unavailable, s->replicas, 0);
	if (*surge == 0 && *unavailable == 0)
		*unavailable = 1; /* rounding down made both 0: progress one pod at a time */
	if (*unavailable > s->replicas)
		*unavailable = s->replicas;
}

int
dc_new_replicas(int replicas, int surge, int total_spec, int new_spec)
{
	int64_t max_total = (int64_t)replicas + surge;

	if (new_spec >= replicas)
		return replicas;
	if (total_spec >= max_total)
		return new_spec;
	return new_spec +
	       (int)(max_total - total_spec < replicas - new_spec ? max_total - total_spec : replicas - new_spec);
}

/* Step 1 (cleanupUnhealthyReplicas): take away old pods that are not
 * available, up to max in all. */
static int
drop_unhealthy(const struct dc_rs *old, size_t n, int max, int *out)
{
	int done = 0, k;

	for (size_t i = 0; i < n && done < max; i++) {
		if (out[i] == 0 || out[i] == old[i].available)
			continue;
		k = min_int(max - done, out[i] - old[i].available);
		out[i] -= k;
		done += k;
	}
	return done;
}

int
dc_scale_down_old(int replicas, int unavailable, const struct dc_rs *newrs, const struct dc_rs *old, size_t n_old,
                  int *out)
{
	int64_t all = newrs->spec, avail = newrs->available, min_avail = (int64_t)replicas - unavailable, max_down;
	int done, total, k;

	for (size_t i = 0; i < n_old; i++) {
		out[i] = old[i].spec;
		all += old[i].spec;
		avail += old[i].available;
	}
	max_down = all - min_avail - (newrs->spec - newrs->available);
	if (max_down <= 0)
		return 0;
	done = drop_unhealthy(old, n_old, (int)max_down, out);
	/* Step 2 (scaleDownOldReplicaSetsForRollingUpdate): available pods,
	 * oldest controllers first, while more than min_avail are available. */
	if (avail <= min_avail)
		return done;
	total = (int)(avail - min_avail);
	for (size_t i = 0, down = 0; i < n_old && (int)down < total; i++) {
		if (out[i] == 0)
			continue;
		k = min_int(out[i], total - (int)down);
		out[i] -= k;
		down += (size_t)k;
		done += k;
	}
	return done;
}
