/*
 * agent_plan.h: the agent's planner, a pure function from what the agent
 * knows about one pod (its binding, Docker's snapshots of its containers,
 * the pod's memo, the clocks) to the one next step: a Docker action, the
 * deletion of its status, or its status rows and when to look again. It
 * does no I/O: no Docker, no etcd, no clock, no logging (agent_pods.c and
 * agent_exec.c do those). Links with the object model alone.
 */
#ifndef SKIFF_AGENT_PLAN_H
#define SKIFF_AGENT_PLAN_H

#include <stddef.h>
#include <time.h>

#include "api/api.h"

#define INFRA_NAME "POD" /* skiff.container (label) of the infrastructure container */

/* One snapshot of a container as Docker reports it (agent_status.c fills
 * it from a list item and an inspect). */
struct snap {
	char *id;
	char *pod, *uid, *ctr, *hash, *sandbox;
	int restarts;
	long grace;     /* from LBL_GRACE, default 10 */
	char state[16]; /* created, running, exited, ... */
	int running;
	int exit_code;
	int oom;
	char *error;
	char *started_at, *finished_at;
	char *ip; /* infra: NetworkSettings IP */
	char *image;
};
/* Free what s owns and zero it. */
void snap_clear(struct snap *s);

/* Per-pod memory that survives passes (not restarts of the agent). */
struct ctr_memo {
	char *name;
	int restarts;     /* lowest restart count for the next container */
	char *img_reason; /* ErrImagePull / ErrImageNeverPull / CreateContainerError */
	char *img_message;
	double retry_at; /* monotonic time of the next attempt */
	int failures;
	struct ctr_memo *next;
};

struct pod_memo {
	char *name;
	char *uid;
	struct ctr_memo *ctrs;
	struct pod_memo *next;
	/* issue 17 */
	double stop_began;   /* monotonic time the pod's stop began (plan_stop); 0: not stopping */
	int ready_was;       /* the Ready condition the planner last chose: 0 unknown, 1 False, 2 True */
	char ready_time[32]; /* and its lastTransitionTime (RFC 3339) */
	/* issue 22: the sandbox could not be made (pause image, create) */
	char sandbox_err[600]; /* "failed to create pod sandbox: " Docker's answer; "" once one was made */
	int sandbox_failures;
	double sandbox_retry_at; /* monotonic: no new try before */
	/* When its last pass ended with nothing left to do and the status as
	 * planned: that status's mod revision (pass_finish); else 0. */
	int64_t quiet_rev;
};

/* The entry of container name in m, made when missing (owned by m).
 * NULL when m is NULL or out of memory. */
struct ctr_memo *plan_ctr_memo(struct pod_memo *m, const char *name);
/* Free m and its entries (not the rest of its list). */
void plan_memo_free(struct pod_memo *m);
/* Seconds before attempt n + 1 after n failures: 0 for n <= 0, then
 * base_ms doubling up to max_ms. */
double plan_backoff(long base_ms, long max_ms, int n);
/* A failure of container c's image or creation (reason, msg copied): one
 * more failure, the next attempt after the back-off from now. c may be
 * NULL (nothing happens). */
void plan_memo_error(struct ctr_memo *c, const char *reason, const char *msg, double now, long base_ms, long max_ms);
/* The pod's sandbox could not be made (msg copied): one more failure, the
 * next try after the back-off from now. m may be NULL. */
void plan_memo_sandbox_error(struct pod_memo *m, const char *msg, double now, long base_ms, long max_ms);

/* FNV-1a 64 of the container's spec, as 16 hex digits. */
void pods_hash_container(const struct api_container *c, char *out, size_t len);
/* net: the --docker-network, part of the hash when set. */
void pods_hash_infra(const struct api_pod *p, const char *net, char *out, size_t len);

/* Per-container status row: what agent_status.c writes. */
struct cstat {
	enum api_state state;
	const char *reason; /* borrowed */
	const char *message;
	const struct snap *s;    /* current container, or NULL */
	const struct snap *last; /* exited container (lastState), or NULL */
	int restarts;
	int started, ready; /* app containers: running and past its startup probe; and its readiness too */
};
/* agent_plan_status.c: the pod's phase from its sandbox and its rows. */
enum api_pod_phase plan_phase(const struct snap *infra, const struct cstat *cs, size_t n);
struct plan_out;
/* The canonical P/podstatus value for pod p from a PLAN_STATUS plan o:
 * its rows (one per spec container, then one per init container when
 * o->n is p's n_containers), sandbox, message, the conditions (PodScheduled,
 * Initialized, ContainersReady, Ready with o->ready_time) and the node's
 * address. Nothing in it moves while the pod does not change. New string;
 * NULL when out of memory. */
char *plan_status_value(const struct api_pod *p, const struct plan_out *o, const char *host_ip);
/* 1 when the plan's rows make the pod Ready: phase Running, every app
 * container ready, its stop not begun. */
int plan_ready(const struct plan_out *o);
/* The way back, for a periodic pass on a quiet pod (agent_pods.c, pass_steady):
 * snapshots s[0..n) made from a list alone get their start times from st,
 * the status this agent wrote last, instead of an inspect each. 1 when
 * every snapshot is running and st shows it running under the same ID
 * (an app or init container: its row's startedAt; the sandbox: st's
 * startTime and podIP, when the list had no IP), each then filled in; 0
 * otherwise, or when out of memory, with s unchanged. */
int plan_status_started(struct snap *s, size_t n, const struct api_pod_status *st);

/* What this pass learned about a spec container's image. */
enum plan_img { PLAN_IMG_UNKNOWN, PLAN_IMG_PRESENT, PLAN_IMG_ABSENT };

/* What the prober (agent_probe.c) knows about the current container of a
 * spec container (issue 17). A container without probes is started and
 * ready once running; so is every container when plan_in.probes is NULL. */
struct plan_probe {
	int started;        /* startupProbe succeeded (or none) */
	int ready;          /* readinessProbe's verdict (or none: running) */
	int live_failed;    /* livenessProbe reached failureThreshold: restart it */
	const char *why;    /* the last failure, for the Killing event */
	int prestop_done;   /* its lifecycle.preStop hook ran (or there is none) */
	int startup_failed; /* live_failed came from the startupProbe, not the livenessProbe */
};

struct plan_in {
	const struct api_binding *binding; /* NULL: the binding is gone */
	const struct snap *s;              /* the pod's containers (our node's) */
	size_t n;
	struct pod_memo *memo; /* the pod's (uid's) memo, updated; NULL: none */
	double now;            /* monotonic seconds, the clock of memo retry_at */
	time_t wall;           /* wall clock, the clock of Docker's times */
	const char *network;   /* --docker-network or NULL */
	long backoff_base_ms, backoff_max_ms;
	int pause_ready;                /* the pause image is known present */
	const unsigned char *img;       /* enum plan_img per spec container; NULL: all unknown */
	const char *failed_start;       /* IDs whose start failed in this pass, each + ' ' */
	const char *start_err;          /* why the last start failed */
	int host_port_lo, host_port_hi; /* --host-port-range; 0, 0: any port */
	int allow_privileged;           /* --allow-privileged (agent_security.c) */
	const char *vol_reason;         /* the pod's volumes may not be mounted here (agent_volumes.c), or NULL */
	const char *vol_container, *vol_message;
	/* issue 17 */
	const struct plan_probe *probes; /* per spec container (api_spec_container's index); NULL: no prober */
	const struct api_pod *last_pod;  /* binding gone: the pod as last bound (hooks, grace), or NULL */
	int draining;                    /* 1: proxies may still send this pod new connections (agent_drain.c) */
	const char *ready_since; /* api_pod_status_ready_since() of the status written last: NULL unless it was Ready */
	double wall_frac;        /* wall's sub-second part (0 <= f < 1): Docker's times have nanoseconds */
};

/* in->wall and in->wall_frac from the real-time clock. */
void plan_wall_now(struct plan_in *in);

enum plan_act {
	PLAN_STATUS,        /* nothing to do: write the status rows and end */
	PLAN_DELETE_STATUS, /* binding and containers gone: delete the status, drop the memo */
	PLAN_REMOVE,        /* stop target (grace >= 0) then remove it */
	PLAN_START,         /* start target */
	PLAN_PAUSE_IMAGE,   /* make sure the pause image exists */
	PLAN_CREATE_INFRA,  /* create the pod's sandbox */
	PLAN_CREATE_APP,    /* create spec container ci (restarts) in infra */
	PLAN_INSPECT_IMAGE, /* is spec container ci's image present? */
	PLAN_PULL_IMAGE,    /* pull spec container ci's image */
	PLAN_PRE_STOP,      /* run target's lifecycle.preStop (spec container ci), for at most grace seconds */
};

/* A warning for the log and the pod's events. */
struct plan_event {
	const char *reason;
	const char *container;
	const char *message;
	const char *type; /* "Normal", or NULL: a Warning */
};

struct plan_out {
	enum plan_act act;
	const struct snap *target; /* REMOVE, START */
	long grace;                /* REMOVE: stop with this timeout first; -1: remove at once */
	const char *why;           /* REMOVE: for the log */
	int restart;               /* REMOVE: it exited and the restart policy restarts it */
	int ci;                    /* CREATE_APP, *_IMAGE: spec container index */
	int restarts;              /* CREATE_APP: its restart count */
	const struct snap *infra;  /* CREATE_APP, STATUS: the sandbox (STATUS: NULL = none) */
	struct cstat *cs;          /* STATUS: one row per spec container, then one per init container */
	size_t n;
	const char *message; /* STATUS: the pod's message, or NULL */
	int retry;           /* STATUS: end the pass with the queue's back-off */
	double requeue;      /* > 0: look again after this many seconds */
	struct plan_event *events;
	size_t n_events;
	char text[160]; /* a message of the plan's own, for rows and events */
	/* issue 17 */
	int terminating;     /* STATUS: the pod's stop began (Ready False, reason Terminating) */
	char ready_time[32]; /* STATUS: the Ready condition's lastTransitionTime, RFC 3339 */
	int keep;            /* REMOVE: only stop the target and keep it (a failed probe under restartPolicy Never) */
};

/* For agent_plan_init.c: spec container j (api_spec_container's index) in
 * sandbox infra: 1 with an action in out, 0 with its row out->cs[j] filled. */
int plan_container(const struct plan_in *in, size_t j, const struct snap *infra, struct plan_out *out);
/* agent_plan_init.c: the init containers in order, each to exit 0 before
 * the next. 1 with an action in out; 2 with every row filled while one has
 * not completed (out->act PLAN_STATUS); 0 when all have (the app
 * containers go on); -1 when out of memory. */
int plan_init(const struct plan_in *in, const struct snap *infra, struct plan_out *out);
/* Whether spec container j is an init container that exited 0 as cur (then
 * its row says so). */
int plan_init_exited_ok(const struct plan_in *in, size_t j, const struct snap *cur, struct cstat *row);
/* The pod's status reason while its init containers run ("Init:N/M",
 * "Init:Error", "Init:" and the waiting reason of the first one not done,
 * e.g. CrashLoopBackOff; "PodInitializing" once all have
 * completed and the pod is still Pending), or NULL; may turn *phase to
 * Failed (an init container failed for good). rows: one per init
 * container; buf holds the text. */
const char *plan_init_reason(const struct api_pod *p, const struct cstat *rows, enum api_pod_phase *phase, char *buf,
                             size_t len);

/* Decide the next step for one pod. Everything out points to is borrowed
 * from in (snapshots, memo) or owned by out (plan_out_clear frees it).
 * Updates in->memo. 0, or -1 when out of memory. Cost: O(n * containers). */
int plan(const struct plan_in *in, struct plan_out *out);
void plan_out_clear(struct plan_out *out);
/* "A-B" with 1 <= A <= B <= 65535 into *lo, *hi: 0, or -1 with why in err. */
int plan_port_range_parse(const char *s, int *lo, int *hi, char *err, size_t len);
/* The name of an action, as the fixtures spell it. */
const char *plan_act_name(enum plan_act a);

#endif
