/*
 * bench_stats.c: sorting samples, nearest-rank percentiles and the median
 * and range of rounds: the one definition the benchmarks' p50, p99 and
 * "ratio=R (LO-HI over N rounds)" share; and the wait for a quiet machine
 * before a round.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

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

/* The idle and total jiffies of all CPUs so far: 0, or -1. */
static int
cpu_jiffies(double *idle, double *total)
{
	unsigned long long v[8] = {0};
	FILE *f = fopen("/proc/stat", "r");
	int n = f ? fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
	                   &v[6], &v[7])
	          : 0;

	if (f)
		fclose(f);
	if (n < 5)
		return -1;
	*idle = (double)(v[3] + v[4]);
	*total = 0;
	for (int i = 0; i < 8; i++)
		*total += (double)v[i];
	return 0;
}

double
bench_settle(double idle_share, double max_s, const char *who)
{
	double t0 = bench_now(), i0, a0, i1, a1, got = 0;

	if (cpu_jiffies(&i0, &a0) < 0)
		return -1;
	do {
		usleep(500 * 1000);
		if (cpu_jiffies(&i1, &a1) < 0)
			return -1;
		got = a1 > a0 ? (i1 - i0) / (a1 - a0) : 1;
		i0 = i1, a0 = a1;
	} while (got < idle_share && bench_now() - t0 < max_s);
	if (who)
		fprintf(stderr, "%s: machine %.0f %% idle after %.1f s\n", who, got * 100, bench_now() - t0);
	return bench_now() - t0;
}
