/*
 * chaos.h: what the chaos suite's files share (tests/chaos/). chaos.c runs
 * the seeded schedule of faults on the bed of tests/cluster; chaos_churn.c
 * makes and changes the objects the faults hit; chaos_check.c checks the
 * invariants, from etcd and from each minion's dockerd, once it stopped.
 */
#ifndef SKIFF_TESTS_CHAOS_H
#define SKIFF_TESTS_CHAOS_H

#include <stdint.h>

#define CHAOS_MINIONS 3
#define CHAOS_EVIDENCE 3072

/* The invariants checked at the end, in the order they are reported. */
enum chaos_inv_kind {
	INV_COUNTS,       /* each RC/Deployment: spec.replicas Running pods, no more; bare pods Running */
	INV_ONE_BINDING,  /* each pod bound exactly once; no binding without its pod */
	INV_BINDING_NODE, /* no binding to a node that does not exist */
	INV_ORPHANS,      /* no skiff container on a minion whose pod is not bound there */
	INV_ENDPOINTS,    /* each service's endpoints are its ready pods */
	INV_DUPLICATES,   /* no two running containers for one pod container */
	INV_RUNTIME,      /* each frozen dockerd: RuntimeReady False while frozen (chaos.c) */
	INV_N
};

struct chaos_inv {
	const char *name;
	int ok;
	char evidence[CHAOS_EVIDENCE]; /* why not, when !ok */
};

/* The schedule's random numbers: xorshift64*, seeded. */
struct chaos_rng {
	uint64_t s;
};
uint64_t chaos_rand(struct chaos_rng *r);
/* Uniform in [lo, hi). */
double chaos_uniform(struct chaos_rng *r, double lo, double hi);
/* Uniform integer in [lo, hi]. */
int chaos_pick(struct chaos_rng *r, int lo, int hi);

/* The objects (chaos_churn.c): two replication controllers, a Deployment,
 * two services, and bare pods. chaos_objects_create writes the first
 * versions; chaos_churn_step makes one random change and describes it in
 * what. 0 / -1 (a write failed: etcd may be between leaders; the caller
 * carries on). */
int chaos_objects_create(void);
int chaos_churn_step(struct chaos_rng *r, char *what, size_t len);

/* Check every invariant but INV_RUNTIME into inv (INV_N entries; names
 * set). Reads one etcd snapshot and each minion's container list. Returns
 * how many held. */
int chaos_check(struct chaos_inv *inv);
/* Append a formatted note to an invariant's evidence (truncates). */
void chaos_note(struct chaos_inv *inv, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
