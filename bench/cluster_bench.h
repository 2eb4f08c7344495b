/*
 * cluster_bench.h: what bench/cluster_bench.c takes from its baseline,
 * cluster_bench_raw.c.
 */
#ifndef SKIFF_BENCH_CLUSTER_BENCH_H
#define SKIFF_BENCH_CLUSTER_BENCH_H

#include "docker_trace.h"

/* The writes of the n pods of tp (each with its minion in tp[i].node,
 * "mI") replayed on their minions under names TAG-K, all asked for at
 * once. lat gets each started pod's seconds from then to its last start
 * answer, *calls the requests per pod. Returns how many pods started (a
 * pod that never did is printed with Docker's answer), -1 on no memory. */
int raw_docker_starts(const struct tr_pod *tp, int n, const char *tag, double *lat, double *calls);

#endif
