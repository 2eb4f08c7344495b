/*
 * bench_stats.h: what the benchmarks share to summarise samples and rounds.
 */
#ifndef SKIFF_BENCH_STATS_H
#define SKIFF_BENCH_STATS_H

/* Sort v[0..n) ascending, in place. O(n log n). */
void bench_sort(double *v, int n);
/* Nearest-rank percentile p (0-100) of sorted v[0..n); n > 0. */
double bench_percentile(const double *v, int n, double p);

/* The median of v[0..n) (sorts v); 0 when n is 0. */
double bench_median(double *v, int n);
/* The smallest and largest of v[0..n); n > 0. */
void bench_range(const double *v, int n, double *lo, double *hi);

/* Seconds on CLOCK_MONOTONIC. */
double bench_now(void);

#endif
