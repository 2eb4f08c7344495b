/*
 * th_scale.h: a hollow cluster for the scale test (check_scale) and bench
 * (bench/scale_bench): the real control plane (skiff-scheduler,
 * skiff-replication-controller, skiff-node-controller,
 * skiff-endpoints-controller) and N `skiff-agent
 * --runtime hollow` processes against a given etcd, replication
 * controllers written straight to etcd, and what is read back to judge
 * the run: pods bound and Running, etcd's own /metrics counters, CPU and
 * peak memory of each process from /proc. Nothing here asserts or sleeps
 * for synchronisation; callers wait with a deadline.
 */
#ifndef SKIFF_TESTS_TH_SCALE_H
#define SKIFF_TESTS_TH_SCALE_H

#include <stddef.h>
#include <sys/types.h>

struct etcd_sync;
struct th_scale;

struct th_scale_opts {
	const char *endpoints;  /* etcd client URLs */
	const char *prefix;     /* --prefix of every process */
	const char *bindir;     /* where skiff-* are, e.g. "build/bin" */
	int nodes;              /* hollow agents: hollow-0 … */
	long start_delay_ms;    /* --hollow-start-delay */
	const char *agent_args; /* more agent flags, space-separated, or NULL */
	int agent_nice;         /* the agents' nice value (setpriority), 0: as ours */
	const char *rc_args;    /* more replication-controller flags, space-separated, or NULL */
};

/* Start the control plane and the agents. NULL on failure (reported on
 * stderr, whatever started is stopped). */
struct th_scale *th_scale_start(const struct th_scale_opts *o);
/* Stop everything (SIGTERM, then SIGKILL); print the control plane's log
 * tails and one agent's when show_logs. NULL is fine. */
void th_scale_free(struct th_scale *s, int show_logs);

enum { TH_SCALE_SCHED, TH_SCALE_RC, TH_SCALE_NODECTL, TH_SCALE_EPC, TH_SCALE_NCP };
/* The pid of control-plane process which (TH_SCALE_*) or of agent i
 * (which = TH_SCALE_NCP + i); 0 when there is none. */
pid_t th_scale_pid(const struct th_scale *s, int which);
/* How many processes th_scale_pid knows (TH_SCALE_NCP + nodes). */
int th_scale_procs(const struct th_scale *s);
/* How many are still running (a crashed one is reaped). */
int th_scale_running(struct th_scale *s);

/* Write n replication controllers NAMEi (i from first) with replicas
 * pods each, image "hollow/web:1": TH_SCALE_RCS_PER_TXN to a transaction
 * (one proposal each; etcd's --max-txn-ops is 128), each transaction sent
 * again (a line on stderr says why) when etcd answers `request timed out`
 * or `too many requests`, at most TH_SCALE_PUT_TRIES times. 0 or -1. */
enum { TH_SCALE_RCS_PER_TXN = 100, TH_SCALE_PUT_TRIES = 8 };
int th_scale_put_rcs(struct etcd_sync *S, const char *prefix, const char *name, int first, int n, int replicas);
/* For more than 250 nodes (the default podCIDR, 10.244.0.0/16 in /24s,
 * has 255 node subnets), P/network/config with podCIDR 10.64.0.0/12 (4,096
 * subnets of /24; the agents' --node-ip are 10.128.0.0 up, outside it).
 * 0 (nothing to do, or written) or -1. */
int th_scale_put_network(struct etcd_sync *S, const char *prefix, int nodes);

/* What etcd holds under the prefix. */
struct th_scale_pods {
	int pods;                   /* P/pods/ keys */
	int bound;                  /* pods with exactly one binding */
	int bound_twice;            /* pods with more than one */
	int stray;                  /* bindings of no pod */
	int running;                /* statuses with phase Running */
	int nodes;                  /* P/nodestatus/ keys */
	long long last_running_rev; /* the largest mod revision of a Running status */
};
int th_scale_pods(struct etcd_sync *S, const char *prefix, struct th_scale_pods *p);

/* etcd's own counters from GET URL/metrics (-1 when absent). */
struct th_scale_etcd {
	double proposals; /* etcd_server_proposals_committed_total: one per write request (a txn once) */
	double puts;      /* etcd_mvcc_put_total: keys put */
	double deletes;   /* etcd_mvcc_delete_total */
	double txns;      /* etcd_mvcc_txn_total */
	double wal_bytes; /* etcd_disk_wal_write_bytes_total */
	double events;    /* etcd_debugging_mvcc_events_total: events sent to watchers */
	double watchers;  /* etcd_debugging_mvcc_watcher_total (a gauge) */
	double slow;      /* etcd_debugging_mvcc_slow_watcher_total (a gauge): watchers behind, sent in batches */
	double pending;   /* etcd_debugging_mvcc_pending_events_total: events held for slow watchers */
};
int th_scale_etcd_metrics(const char *url, struct th_scale_etcd *m);

/* /proc of pid: CPU seconds (utime + stime) and VmHWM, VmRSS in kB.
 * 0, or -1 when it is gone. */
int th_scale_proc(pid_t pid, double *cpu_s, long *hwm_kb, long *rss_kb);
/* The pid of the etcd whose command line holds dir (a harness etcd's
 * data directory), 0 when none. */
pid_t th_scale_find_etcd(const char *dir);

#endif
