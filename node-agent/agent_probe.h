/*
 * agent_probe.h: the agent's prober (agent_probe.c: state per container
 * ID, timers, verdicts), its handler runners (agent_probe_run.c: exec
 * through Docker's exec API, httpGet through the transport, tcpSocket by
 * a non-blocking connect, sleep by a timer) and the lifecycle hooks and
 * pod copies of agent_hook.c. Private to the agent.
 */
#ifndef SKIFF_AGENT_PROBE_H
#define SKIFF_AGENT_PROBE_H

#include "agent.h"

/* ------------------------------------------------------------------------
 * agent_probe_run.c: run one handler, never blocking the loop.
 */
struct prun;
/* The verdict: ok 1 or 0, msg the failure as Kubernetes words it
 * ("HTTP probe failed with statuscode: 500"), "" on success; borrowed. */
typedef void (*prun_done_fn)(void *arg, int ok, const char *msg);
struct prun_ctx {
	struct agent *a;
	struct tp *tp;      /* httpGet */
	const char *ctr_id; /* exec: the container */
	const char *pod_ip; /* httpGet, tcpSocket: the host when the handler names none */
	int port;           /* httpGet, tcpSocket: resolved (api_handler_port) */
	double timeout;     /* seconds; sleep is cut short at it */
};
/* Start handler h; done runs exactly once, never before prun_start
 * returns, unless prun_cancel came first. NULL when out of memory. */
struct prun *prun_start(const struct prun_ctx *c, const struct api_handler *h, prun_done_fn done, void *arg);
/* Stop r without its callback (NULL is fine). */
void prun_cancel(struct prun *r);
/* Free the finished runs kept for reuse (prober_free does). */
void prun_spare_free(void);

/* ------------------------------------------------------------------------
 * agent_probe.c: probes per container ID.
 */
enum { PROBE_STARTUP, PROBE_READINESS, PROBE_LIVENESS, PROBE_KINDS };

/* One probe of one container: its timer and counts. */
struct pwork {
	struct pctr *pc;
	int kind;
	const struct api_probe *p; /* in pc->pod */
	ev_timer t;
	struct prun *run;
	int successes, failures;
};

/* What the prober keeps per container ID. */
struct pctr {
	struct prober *pr;
	char *id, *pod_name;
	struct api_pod *pod;           /* the spec as it was when the container was first seen (copy) */
	const struct api_container *c; /* in pod */
	char ip[64];
	int started, ready, live_failed;
	char why[600];
	int prestop_done;
	struct prun *hook;
	struct pwork w[PROBE_KINDS];
	unsigned seen;
	struct pctr *next;
	int startup_failed; /* live_failed came from the startupProbe */
};

struct prober {
	struct agent *a;
	struct tp *tp;
	struct pctr *ctrs;
	unsigned gen;
};

struct prober *prober_new(struct agent *a);
/* Cancels every probe and hook in flight, frees all. NULL is fine. */
void prober_free(struct prober *pr);
/* The current containers of pod (snapshots s[0..n), sandbox infra or
 * NULL) as spec p has them: start probing the running ones not known,
 * drop the state of containers that are gone, and fill out[j] for each
 * spec container j (api_spec_n_all(&p->spec) entries). Cost: O(n * spec
 * containers). 0, or -1 when out of memory (out then says "no prober"). */
/* The state of container id, or NULL. O(containers). */
struct pctr *prober_find(struct prober *pr, const char *id);
/* The context to run a handler of pc in, bounded by timeout seconds. */
void prober_ctx(const struct pctr *pc, const struct api_handler *h, double timeout, struct prun_ctx *out);
int prober_sync(struct prober *pr, const char *pod, const struct api_pod *p, const struct snap *s, size_t n,
                const struct snap *infra, struct plan_probe *out);
/* Forget every container of pod (its status is gone). */
void prober_drop_pod(struct prober *pr, const char *pod);

/* ------------------------------------------------------------------------
 * agent_hook.c
 */
/* Run the lifecycle.preStop of container target_id (as the spec was when
 * the prober first saw it) for at most grace seconds, once per container:
 * 1 while it runs (the pod is requeued when it ends, prestop_done then
 * set), 0 when it ran already or the prober does not know the container.
 * A failure is a Warning event FailedPreStopHook. */
int hook_pre_stop(struct prober *pr, const char *target_id, long grace);
/* The pod as last bound (a copy the agent takes per pod name when the
 * binding goes, for the stop that follows; dropped with the pod's status),
 * or NULL. */
void lastpod_keep(struct agent *a, const char *pod, const struct api_pod *p, int64_t rev);
const struct api_pod *lastpod_get(struct agent *a, const char *pod);
void lastpod_drop(struct agent *a, const char *pod);
void lastpod_free_all(struct agent *a);

#endif
