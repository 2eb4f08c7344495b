/*
 * bench_stats.c: sorting samples, nearest-rank percentiles and the median
 * and range of rounds: the one definition the benchmarks' p50, p99 and
 * "ratio=R (LO-HI over N rounds)" share.
 */
#include <math.h>
#include <stdlib.h>
#include <time.h>

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

double
bench_median(double *v, int n)
{
	if (n <= 0)
		return 0;
	bench_sort(v, n);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

void
bench_range(const double *v, int n, double *lo, double *hi)
{
	*lo = *hi = v[0];
	for (int i = 1; i < n; i++) {
		*lo = v[i] < *lo ? v[i] : *lo;
		*hi = v[i] > *hi ? v[i] : *hi;
	}
}

double
bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
