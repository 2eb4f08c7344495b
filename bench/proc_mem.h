/*
 * proc_mem.h: what a running process costs, read from /proc: CPU time
 * (utime + stime) and memory (VmRSS, Pss, private pages), for the idle
 * lines of the benchmarks. Linux only; it reads, never changes, the process.
 */
#ifndef SKIFF_BENCH_PROC_MEM_H
#define SKIFF_BENCH_PROC_MEM_H

#include <sys/types.h>

struct proc_mem {
	long rss_kb;     /* VmRSS: every resident page mapped, shared or not */
	long pss_kb;     /* Pss: each page divided by the processes mapping it */
	long private_kb; /* Private_Clean + Private_Dirty: pages only it maps */
	long anon_kb;    /* Anonymous: heap, stacks, written library data */
};

/* CPU seconds (user + system) used by pid so far; -1 if it is gone. */
double proc_cpu_seconds(pid_t pid);
/* The same split into user and system seconds (the kernel's tick-sampled
 * split of a precise total); 0, or -1 if pid is gone. */
int proc_cpu_split(pid_t pid, double *user, double *sys);

/* Fill m from /proc/pid/status and /proc/pid/smaps_rollup; 0 or -1. */
int proc_mem_read(pid_t pid, struct proc_mem *m);

#endif
