/*
 * sched_score.c: how feasible nodes are ranked, in the manner of the first
 * Kubernetes priorities, each 0..10: spreading of pods with the same owner,
 * least requested cpu/memory, balanced cpu/memory. Scores compare in that
 * order (spreading first). Ties are broken by the caller (sched_bind.c
 * rotates its starting node). Pure functions.
 */
#include <stdlib.h>

#include "sched.h"

/* Free fraction after placing want, 0..10; 10 when capacity is not stated. */
static int
least(int64_t cap, int64_t used, int64_t want)
{
	int64_t after = sched_add_sat(used, want);

	if (cap == SCHED_UNLIMITED)
		return 10;
	if (cap <= 0 || after >= cap)
		return 0;
	if (cap - after > INT64_MAX / 10) /* the product would overflow */
		return (int)((cap - after) / (cap / 10));
	return (int)(((cap - after) * 10) / cap);
}

/* Used fraction after placing want, 0..1; 0 when capacity is not stated. */
static double
frac(int64_t cap, int64_t used, int64_t want)
{
	if (cap == SCHED_UNLIMITED || cap <= 0)
		return 0.0;
	double f = (double)sched_add_sat(used, want) / (double)cap;
	return f > 1.0 ? 1.0 : f;
}

int
sched_score_spread(const struct sched_nodeview *n, const struct sched_podreq *p, int max_same)
{
	if (!p->owner || max_same <= 0)
		return 10;
	return (int)(10 * (max_same - n->same_owner) / max_same);
}

void
sched_score(const struct sched_nodeview *n, const struct sched_podreq *p, int max_same, struct sched_score *out)
{
	double d;

	out->spread = sched_score_spread(n, p, max_same);
	out->least = (least(n->cap_cpu, n->used_cpu, p->cpu) + least(n->cap_mem, n->used_mem, p->mem)) / 2;
	d = frac(n->cap_cpu, n->used_cpu, p->cpu) - frac(n->cap_mem, n->used_mem, p->mem);
	out->balanced = (int)(10 - (d < 0 ? -d : d) * 10);
}

int
sched_score_cmp(const struct sched_score *a, const struct sched_score *b)
{
	if (a->spread != b->spread)
		return a->spread - b->spread;
	if (a->least != b->least)
		return a->least - b->least;
	return a->balanced - b->balanced;
}

size_t
sched_nodes_to_find(size_t nnodes, int percentage)
{
	size_t want;
	long adaptive;

	if (nnodes < SCHED_MIN_NODES_TO_FIND || percentage >= 100)
		return nnodes;
	if (percentage <= 0) {
		adaptive = 50 - (long)(nnodes / 125);
		percentage = adaptive < 5 ? 5 : (int)adaptive;
	}
	want = nnodes * (size_t)percentage / 100;
	return want < SCHED_MIN_NODES_TO_FIND ? SCHED_MIN_NODES_TO_FIND : want;
}
