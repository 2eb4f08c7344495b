/*
 * e2e_bed.h: the multi-minion bed of tests/cluster, seen from C (the
 * end-to-end suite and bench/cluster_bench). Starts and removes the bed
 * through the script, reads its settings, and reads and writes the
 * cluster's keys through a synchronous etcd client. Also: HTTP clients
 * run inside a minion's network namespace, and commands run inside a pod.
 *
 * Nothing here asserts or exits: functions return 0/-1 (or NULL) and say
 * why on stderr. Nothing sleeps for synchronisation; waits are the
 * caller's, polling against a deadline.
 */
#ifndef SKIFF_TESTS_E2E_BED_H
#define SKIFF_TESTS_E2E_BED_H

#include <jansson.h>
#include <stddef.h>
#include <sys/types.h>

#define BED_MAXA 64

/* tests/cluster down, then up N with the given extra arguments (e.g.
 * "--labels 3:disk=ssd", may be NULL), owned by this process (a watchdog
 * removes the bed if it dies). Then reads the bed's env and connects to
 * its etcd. Run from the repository root. 0 / -1. */
int bed_up(int n, const char *extra);
/* Disconnect and tests/cluster down; with show_logs, the tail of every
 * log first (stderr). */
void bed_down(int show_logs);

int bed_minions(void);
/* Minion i's address into buf (10.213.0.(10+i), or 10.213.(10+i).2 on a
 * routed bed); returns buf. */
const char *bed_minion_ip(int i, char *buf, size_t len);
const char *bed_etcd(void); /* the endpoint on loopback */
const char *bed_prefix(void);
/* minion i's Docker socket (borrowed static buffer, next call overwrites) */
const char *bed_docker(int i);
/* tests/cluster cut I / heal I; 0 / -1. */
int bed_link(int i, int up);
double bed_now(void); /* CLOCK_MONOTONIC seconds */

/* Keys below the bed's prefix ("pods/x" is P/pods/x). */
json_t *bed_get(const char *rest, long long *mod); /* new ref, NULL when absent */
int bed_put(const char *rest, const char *val);
int bed_put_json(const char *rest, json_t *j);
int bed_del(const char *rest);
/* How many keys start with P/rest (rest ends in '/'); -1 on error. When
 * names is non-NULL it gets up to max last segments. */
int bed_list(const char *rest, char names[][128], int max);

/* Every key below P/rest (a prefix; "" for all) read at one revision: a
 * new object mapping each key without "P/" to its value parsed (values
 * that are not JSON are left out). NULL on error. */
json_t *bed_snapshot(const char *rest);

/* A service's endpoints. */
struct bed_eps {
	int present, n;
	char cip[64];
	char ip[BED_MAXA][64], pod[BED_MAXA][128], node[BED_MAXA][64];
};
void bed_eps_get(const char *svc, struct bed_eps *e);
int bed_eps_has(const struct bed_eps *e, const char *pod);
/* Addresses on node. */
int bed_eps_on(const struct bed_eps *e, const char *node);
void bed_eps_str(const struct bed_eps *e, char *buf, size_t len);

/* A child in minion i's namespace that GETs http://ip/ until max requests
 * or secs have passed, writing one line per request to *rfd's pipe: the
 * "pod=" name, or an empty line when there was no answer. Closing *rfd
 * stops it; reap it with waitpid. Its pid, or -1. */
pid_t bed_http_spawn(int i, const char *ip, int max, double secs, int *rfd);
/* Inside minion i's network namespace, GET http://ip/ up to max times
 * (until every name of want, n_want of them, has answered; with want NULL
 * until max). got gets the distinct "pod=" names seen (up to BED_MAXA);
 * returns how many, or -1 when the namespace could not be entered.
 * *failed counts requests without an answer. Bounded by secs. */
/* As bed_http_spawn, one fresh connection per request, with every seconds
 * between an answered request and the next, until secs have passed or
 * *rfd is closed. */
pid_t bed_http_spawn_every(int i, const char *ip, double every, double secs, int *rfd);
int bed_http_from(int i, const char *ip, char (*want)[128], int n_want, int max, double secs, char got[][128],
                  int *failed);

/* Run argv inside pod's app container (skiff.container=cname) on minion
 * i (docker exec, TTY: plain output). Its output as a new string, or NULL
 * when the container or the exec could not be found/run. */
char *bed_exec_in_pod(int i, const char *pod, const char *cname, const char *const argv[]);
/* image (e.g. "skiff/test-httpd:latest") tagged repo:tag in every
 * minion's dockerd (a second name of one image, for rollouts). 0 / -1. */
int bed_docker_tag(const char *image, const char *repo, const char *tag);
/* Containers on minion i (all=1) with label skiff.pod (any value), or -1. */
int bed_pod_containers(int i);
/* The same containers as Docker lists them (a new array), or NULL. */
json_t *bed_pod_container_list(int i);

#endif
