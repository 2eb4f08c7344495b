/*
 * bench_stats.h: what the benchmarks share to summarise samples.
 */
#ifndef SKIFF_BENCH_STATS_H
#define SKIFF_BENCH_STATS_H

/* Sort v[0..n) ascending, in place. O(n log n). */
void bench_sort(double *v, int n);
/* Nearest-rank percentile p (0-100) of sorted v[0..n); n > 0. */
double bench_percentile(const double *v, int n, double p);

#endif
