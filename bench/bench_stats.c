/*
 * bench_stats.c: sorting samples and nearest-rank percentiles, the one
 * definition the benchmarks' p50 and p99 share.
 */
#include <math.h>
#include <stdlib.h>

#include "bench_stats.h"

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

void
bench_sort(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
}

double
bench_percentile(const double *v, int n, double p)
{
	int k = (int)ceil(p / 100.0 * n) - 1;

	return v[k < 0 ? 0 : k >= n ? n - 1 : k];
}
