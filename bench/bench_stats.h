/*
 * bench_stats.h: what the benchmarks share to summarise samples and
 * rounds, and to start each round on a quiet machine.
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

/* Wait until the machine is quiet: a 0.5 s window of /proc/stat in which
 * the CPUs were idle (or waiting for I/O) at least idle_share (0..1) of
 * the time, at most max_s seconds. What the last phase left behind
 * (dockerd's and the kernel's cleanup of removed containers and network
 * namespaces) then does not land in the next one. With who, says on
 * stderr "WHO: machine N % idle after S s". Returns the seconds waited,
 * or -1 when /proc/stat cannot be read. */
double bench_settle(double idle_share, double max_s, const char *who);

#endif
