/*
 * agent_plan.c: the planner. From one pod's binding, its containers'
 * snapshots and its memo it picks at most one action, in this order: an
 * older incarnation's containers, then containers not in the spec, go; a
 * pod asking for a host port outside --host-port-range, or for privilege
 * without --allow-privileged, does not run (its containers go, its rows
 * say HostPortNotAllowed or PrivilegedNotAllowed); the sandbox (the infrastructure container with the right hash) is made,
 * started or replaced first; then, per spec container, wrong-hash and
 * duplicate copies go, a created one is started, an exited one restarted
 * after its crash-loop back-off (as the restart policy says), a missing one
 * has its image checked or pulled and is created; a running one whose
 * liveness (or startup) probe failed (plan_in.probes, from the prober) is
 * removed and restarted after the crash-loop back-off, or under
 * restartPolicy Never only stopped. When nothing is left to do it
 * returns the status rows (ready and started as the probes say) and when
 * to look again. A pod stopped for good (binding gone, deletion mark)
 * waits at the drain gate, runs its preStop hooks, then goes, apps first,
 * all within one grace period; then its status is deleted.
 *
 * Identity: labels skiff.uid (binding's metadata.uid) and skiff.hash (the
 * container's spec) decide adoption; skiff.restarts carries the restart
 * count across recreations and agent restarts.
 *
 * It does no I/O and reads no clock: the executor (agent_pods.c,
 * agent_exec.c) lists and inspects, carries out the action and plans again.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent_plan.h"
#include "hash.h"

/* ---------------------------------------------------------------- snapshots, memos */

void
snap_clear(struct snap *s)
{
	free(s->id);
	free(s->pod);
	free(s->uid);
	free(s->ctr);
	free(s->hash);
	free(s->sandbox);
	free(s->error);
	free(s->started_at);
	free(s->finished_at);
	free(s->ip);
	free(s->image);
	memset(s, 0, sizeof(*s));
}

/* The entry of container name in m, or NULL (none made). */
static struct ctr_memo *
ctr_memo_peek(const struct pod_memo *m, const char *name)
{
	for (struct ctr_memo *c = m ? m->ctrs : NULL; c; c = c->next)
		if (strcmp(c->name, name) == 0)
			return c;
	return NULL;
}

struct ctr_memo *
plan_ctr_memo(struct pod_memo *m, const char *name)
{
	struct ctr_memo *c;

	if (!m)
		return NULL;
	if ((c = ctr_memo_peek(m, name)))
		return c;
	c = calloc(1, sizeof(*c));
	if (!c || !(c->name = strdup(name))) {
		free(c);
		return NULL;
	}
	c->next = m->ctrs;
	m->ctrs = c;
	return c;
}

void
plan_memo_free(struct pod_memo *m)
{
	while (m->ctrs) {
		struct ctr_memo *c = m->ctrs;

		m->ctrs = c->next;
		free(c->name);
		free(c->img_reason);
		free(c->img_message);
		free(c);
	}
	free(m->name);
	free(m->uid);
	free(m);
}

/* Doubled by hand: nothing else in the agent needs libm, and not loading
 * it saves its pages. */
double
plan_backoff(long base_ms, long max_ms, int n)
{
	double d = (double)base_ms / 1000.0, max = (double)max_ms / 1000.0;

	if (n <= 0)
		return 0;
	while (--n > 0 && d < max)
		d *= 2;
	return d > max ? max : d;
}

/* Container c waits until retry_at (monotonic) with reason and msg
 * (copied) in its row. */
static void
memo_wait_until(struct ctr_memo *c, const char *reason, const char *msg, double retry_at)
{
	free(c->img_reason);
	free(c->img_message);
	c->img_reason = strdup(reason);
	c->img_message = strdup(msg);
	c->retry_at = retry_at;
}

void
plan_memo_error(struct ctr_memo *c, const char *reason, const char *msg, double now, long base_ms, long max_ms)
{
	if (!c)
		return;
	c->failures++;
	memo_wait_until(c, reason, msg, now + plan_backoff(base_ms, max_ms, c->failures));
}

static void
memo_ok(struct ctr_memo *c)
{
	if (!c)
		return;
	free(c->img_reason);
	free(c->img_message);
	c->img_reason = c->img_message = NULL;
	c->failures = 0;
	c->retry_at = 0;
}

/* Raise the memo's restart count to at least n. */
static void
memo_restarts(struct ctr_memo *c, int n)
{
	if (c && n > c->restarts)
		c->restarts = n;
}

/* ---------------------------------------------------------------- hashes */

static uint64_t
fnv(uint64_t h, const char *s)
{
	h = fnv1a64(h, s, s ? strlen(s) : 0);
	h ^= 0xff; /* field separator */
	return h * FNV64_PRIME;
}

static uint64_t
fnv_int(uint64_t h, long long v)
{
	char b[32];

	snprintf(b, sizeof(b), "%lld", v);
	return fnv(h, b);
}

/* Security settings (api_security.c) are hashed only when set (n > 0), so
 * containers of pods without any keep their hash; a change of a pod's
 * replaces its sandbox and so every container. */
static uint64_t
fnv_security(uint64_t h, const char *text, size_t n)
{
	return n ? fnv(fnv(h, "security"), text) : h;
}

/* The hashes below start from 1469598103934665603, not FNV's basis (a
 * digit went missing): kept, since a new start would change every
 * container's skiff.hash and so recreate every container on upgrade. */
#define SPEC_HASH_BASIS 1469598103934665603ULL

void
pods_hash_container(const struct api_container *c, char *out, size_t len)
{
	uint64_t h = SPEC_HASH_BASIS;
	char sec[8192];
	size_t i;

	h = fnv(h, c->name);
	h = fnv(h, c->image);
	h = fnv_int(h, (long long)c->n_command);
	for (i = 0; i < c->n_command; i++)
		h = fnv(h, c->command[i]);
	h = fnv_int(h, (long long)c->n_args);
	for (i = 0; i < c->n_args; i++)
		h = fnv(h, c->args[i]);
	h = fnv_int(h, (long long)c->n_env);
	for (i = 0; i < c->n_env; i++) {
		h = fnv(h, c->env[i].name);
		h = fnv(h, c->env[i].value);
	}
	h = fnv_int(h, c->resources.limits.cpu.value);
	h = fnv_int(h, c->resources.limits.memory.value);
	h = fnv_security(h, sec, api_sec_container_text(c, sec, sizeof(sec)));
	for (i = 0; i < c->n_volume_mounts; i++) { /* only when present: other containers keep their hash */
		h = fnv(h, c->volume_mounts[i].name);
		h = fnv(h, c->volume_mounts[i].mount_path);
		h = fnv(h, c->volume_mounts[i].sub_path);
		h = fnv_int(h, c->volume_mounts[i].read_only);
	}
	snprintf(out, len, "%016llx", (unsigned long long)h);
}

void
pods_hash_infra(const struct api_pod *p, const char *net, char *out, size_t len)
{
	uint64_t h = SPEC_HASH_BASIS;
	char sec[8192];
	size_t i, j;

	h = fnv(h, "infra-v1");
	if (net) /* only then: infra containers made without the flag keep their hash */
		h = fnv(h, net);
	h = fnv_security(h, sec, api_sec_pod_text(&p->spec, sec, sizeof(sec)));
	for (i = 0; i < p->spec.n_containers; i++) {
		const struct api_container *c = &p->spec.containers[i];

		for (j = 0; j < c->n_ports; j++) {
			h = fnv_int(h, c->ports[j].container_port);
			h = fnv_int(h, c->ports[j].host_port);
			h = fnv_int(h, c->ports[j].protocol);
		}
	}
	for (i = 0; i < p->spec.n_volumes; i++) { /* only when present: a volume's change replaces the sandbox */
		h = fnv(h, p->spec.volumes[i].name);
		h = fnv_int(h, p->spec.volumes[i].source);
		h = fnv(h, p->spec.volumes[i].path);
		h = fnv_int(h, p->spec.volumes[i].type);
	}
	snprintf(out, len, "%016llx", (unsigned long long)h);
}

/* ---------------------------------------------------------------- helpers */

static int
is_infra(const struct snap *s)
{
	return strcmp(s->ctr, INFRA_NAME) == 0;
}

static int
failed_to_start(const struct plan_in *in, const char *id)
{
	const char *s = in->failed_start;
	size_t l = strlen(id);

	while (s && (s = strstr(s, id))) {
		if (s[l] == ' ')
			return 1;
		s += l;
	}
	return 0;
}

static void
want_requeue(struct plan_out *out, double after)
{
	if (after < 0.05)
		after = 0.05;
	if (out->requeue <= 0 || after < out->requeue)
		out->requeue = after;
}

/* Remove s: a running container is stopped first with its grace period. */
static int
act_remove(struct plan_out *out, const struct snap *s, const char *why)
{
	out->act = PLAN_REMOVE;
	out->target = s;
	out->grace = s->running ? s->grace : -1;
	out->why = why;
	return 1;
}

static int
act_start(struct plan_out *out, const struct snap *s)
{
	out->act = PLAN_START;
	out->target = s;
	return 1;
}

static int
act_image(struct plan_out *out, enum plan_act act, size_t ci)
{
	out->act = act;
	out->ci = (int)ci;
	return 1;
}

static int
alloc_rows(const struct plan_in *in, struct plan_out *out)
{
	size_t n = api_spec_n_all(&in->binding->pod.spec); /* the init containers' rows follow (agent_plan_init.c) */

	out->cs = calloc(n ? n : 1, sizeof(*out->cs));
	out->events = calloc(n ? n : 1, sizeof(*out->events));
	if (!out->cs || !out->events)
		return -1;
	out->n = in->binding->pod.spec.n_containers;
	return 0;
}

static const struct snap *find_infra(const struct plan_in *in);

/* A running app container's row: started once past its startup probe,
 * ready once started and its readiness probe says so (no prober: both). */
static void
probe_row(const struct plan_in *in, size_t j, struct cstat *row)
{
	const struct plan_probe *pr = in->probes ? &in->probes[j] : NULL;

	row->state = API_STATE_RUNNING;
	row->started = !pr || pr->started;
	row->ready = row->started && (!pr || pr->ready);
}

/* ---------------------------------------------------------------- stopping a pod */

/* Pod p's own container s (p NULL: nobody's), for its grace period and hooks. */
static const struct api_pod *
stop_owner(const struct api_pod *p, const struct snap *s)
{
	return p && strcmp(s->uid, p->meta.uid) == 0 ? p : NULL;
}

/* Seconds of s's grace period (its pod's, or its label's when the pod is
 * unknown; at most cap when cap >= 0) left since the stop began. */
static double
stop_left(const struct plan_in *in, const struct api_pod *p, const struct snap *s, long cap)
{
	long g = stop_owner(p, s) ? (long)p->spec.termination_grace_period_seconds : s->grace;

	if (cap >= 0 && g > cap)
		g = cap;
	return (double)g - (in->memo ? in->now - in->memo->stop_began : 0);
}

/* Whole seconds left, rounded up, never below 0. */
static long
stop_seconds(double left)
{
	long l = (long)left;

	return left <= 0 ? 0 : l < left ? l + 1 : l;
}

/* The gate's status rows while a deleted pod waits: each spec container's
 * copy of this pod, a running one first. 0, or -1 when out of memory. */
static int
stop_rows(const struct plan_in *in, struct plan_out *out)
{
	const struct api_pod *pod = &in->binding->pod;

	if (alloc_rows(in, out) < 0)
		return -1;
	out->infra = find_infra(in);
	for (size_t j = 0; j < api_spec_n_all(&pod->spec); j++) {
		const char *name = api_spec_container(&pod->spec, j)->name;
		struct ctr_memo *cm = ctr_memo_peek(in->memo, name);
		struct cstat *row = &out->cs[j];

		row->state = API_STATE_WAITING;
		row->restarts = cm ? cm->restarts : 0;
		for (size_t i = 0; i < in->n; i++) {
			const struct snap *s = &in->s[i];

			if (strcmp(s->ctr, name) != 0 || !stop_owner(pod, s) || (row->s && row->s->running))
				continue;
			row->s = s;
			row->restarts = s->restarts;
			row->state = s->running ? API_STATE_RUNNING : API_STATE_TERMINATED;
		}
		if (row->state == API_STATE_RUNNING && j < pod->spec.n_containers)
			probe_row(in, j, row);
	}
	return 0;
}

/* The gate: while the proxies may still send the pod new connections
 * (in->draining) and the grace period of a running app container lasts,
 * the pod waits, written as not Ready. Without a memo the stop's start is
 * unknown, so nothing bounds the wait: no gate. 1 when it waits, -1 when
 * out of memory. */
static int
stop_gate(const struct plan_in *in, const struct api_pod *p, long cap, struct plan_out *out)
{
	double wait = 0;

	for (size_t i = 0; i < in->n; i++) {
		const struct snap *s = &in->s[i];
		double l = stop_left(in, p, s, cap);

		if (s->running && !is_infra(s) && (!p || stop_owner(p, s)) && l > wait)
			wait = l;
	}
	if (!in->draining || !in->memo || wait <= 0)
		return 0;
	if (in->binding && stop_rows(in, out) < 0)
		return -1;
	out->act = PLAN_STATUS;
	out->terminating = 1;
	out->message = "waiting for the proxies";
	want_requeue(out, wait < 0.2 ? wait : 0.2);
	return 1;
}

/* preStop: the first running app container of pod p whose hook the
 * executor has not run (in->probes says; without a prober none runs),
 * while its grace period lasts. 1 with PLAN_PRE_STOP in out. */
static int
stop_hooks(const struct plan_in *in, const struct api_pod *p, long cap, struct plan_out *out)
{
	for (size_t i = 0; i < in->n && p && in->probes; i++) {
		const struct snap *s = &in->s[i];
		double left = stop_left(in, p, s, cap);

		if (!s->running || is_infra(s) || !stop_owner(p, s) || left <= 0)
			continue;
		for (size_t j = 0; j < p->spec.n_containers; j++) {
			const struct api_container *c = &p->spec.containers[j];

			if (strcmp(c->name, s->ctr) != 0 || c->lifecycle.pre_stop.kind == API_HANDLER_NONE ||
			    in->probes[j].prestop_done)
				continue;
			out->act = PLAN_PRE_STOP;
			out->target = s;
			out->ci = (int)j;
			out->grace = stop_seconds(left);
			return 1;
		}
	}
	return 0;
}

/* Stop pod p (NULL: unknown, as after an agent restart with the binding
 * gone) for good: the gate, then the preStop hooks, then its containers go
 * (apps first, then the sandbox), each stopped with what is left of the
 * grace period (at most cap when cap >= 0), which bounds the whole stop
 * from when it began (kept in the memo); then the status. 0, or -1 when
 * out of memory. */
static int
plan_stop(const struct plan_in *in, const struct api_pod *p, long cap, const char *why, struct plan_out *out)
{
	const struct snap *victim = NULL;
	int rc;

	if (in->memo && in->memo->stop_began <= 0)
		in->memo->stop_began = in->now;
	if ((rc = stop_gate(in, p, cap, out)) != 0 || (rc = stop_hooks(in, p, cap, out)) != 0)
		return rc < 0 ? -1 : 0;
	for (size_t i = 0; i < in->n && !victim; i++)
		if (!is_infra(&in->s[i]))
			victim = &in->s[i];
	if (!victim && in->n > 0)
		victim = &in->s[0];
	if (!victim) {
		out->act = PLAN_DELETE_STATUS;
		return 0;
	}
	act_remove(out, victim, why);
	if (out->grace >= 0)
		out->grace = stop_seconds(stop_left(in, p, victim, cap));
	return 0;
}

/* The pod is being deleted (its binding's copy carries
 * metadata.deletionGracePeriodSeconds, from skiffctl delete --grace-period):
 * as a teardown, but no container is given longer than that to stop. The
 * status goes last, which is what skiffctl waits for before it deletes
 * the pod. */
static int
plan_deleting(const struct plan_in *in, struct plan_out *out)
{
	long dg = (long)(in->binding->pod.meta.deletion_grace_p1 - 1);

	return plan_stop(in, &in->binding->pod, dg, "the pod is being deleted", out);
}

/* ---------------------------------------------------------------- sandbox */

/* Containers of an older incarnation (apps first), then ones not in the
 * spec: 1 when one is to be removed. */
static int
plan_strangers(const struct plan_in *in, struct plan_out *out)
{
	const struct api_pod *pod = &in->binding->pod;
	const char *old = "it belongs to an older incarnation of the pod";
	size_t i, j;

	for (i = 0; i < in->n; i++)
		if (strcmp(in->s[i].uid, pod->meta.uid) != 0 && !is_infra(&in->s[i]))
			return act_remove(out, &in->s[i], old);
	for (i = 0; i < in->n; i++)
		if (strcmp(in->s[i].uid, pod->meta.uid) != 0)
			return act_remove(out, &in->s[i], old);
	for (i = 0; i < in->n; i++) {
		int known = is_infra(&in->s[i]);

		for (j = 0; j < api_spec_n_all(&pod->spec) && !known; j++) /* init containers too */
			known = strcmp(in->s[i].ctr, api_spec_container(&pod->spec, j)->name) == 0;
		if (!known)
			return act_remove(out, &in->s[i], "it is not in the pod's spec");
	}
	return 0;
}

/* The infrastructure container: the right hash, a running one first. */
static const struct snap *
find_infra(const struct plan_in *in)
{
	const struct snap *infra = NULL;
	char ih[32];
	size_t i;

	pods_hash_infra(&in->binding->pod, in->network, ih, sizeof(ih));
	for (i = 0; i < in->n; i++) {
		const struct snap *s = &in->s[i];

		if (!is_infra(s) || !s->hash || strcmp(s->hash, ih) != 0)
			continue;
		if (!infra || (s->running && !infra->running))
			infra = s;
	}
	return infra;
}

void
plan_memo_sandbox_error(struct pod_memo *m, const char *msg, double now, long base_ms, long max_ms)
{
	if (!m)
		return;
	snprintf(m->sandbox_err, sizeof(m->sandbox_err), "failed to create pod sandbox: %s", msg);
	m->sandbox_failures++;
	m->sandbox_retry_at = now + plan_backoff(base_ms, max_ms, m->sandbox_failures);
}

/* Docker cannot start the sandbox (a host port in use, ...) or could not
 * make it (sandbox_err, a full disk, ...): report it and try again after
 * the back-off. */
static int
plan_sandbox_failed(const struct plan_in *in, struct plan_out *out, const char *why)
{
	const struct api_pod *pod = &in->binding->pod;
	size_t j;

	if (alloc_rows(in, out) < 0)
		return -1;
	for (j = 0; j < out->n; j++) {
		struct ctr_memo *cm = plan_ctr_memo(in->memo, pod->spec.containers[j].name);

		out->cs[j].state = API_STATE_WAITING;
		out->cs[j].reason = "ContainerCreating";
		out->cs[j].restarts = cm ? cm->restarts : 0;
	}
	out->act = PLAN_STATUS;
	out->message = why;
	out->retry = 1;
	return 0;
}

/* The last try to make the sandbox failed and its back-off has not ended:
 * the rows wait with Docker's answer, and the pass looks again then. */
static int
plan_sandbox_backoff(const struct plan_in *in, struct plan_out *out)
{
	struct pod_memo *m = in->memo;

	if (plan_sandbox_failed(in, out, m->sandbox_err) < 0)
		return -1;
	out->retry = 0;
	want_requeue(out, m->sandbox_retry_at - in->now);
	return 0;
}

/* No usable sandbox: clear the apps, then the old sandbox, then make one. */
static int
plan_no_sandbox(const struct plan_in *in, const struct snap *infra, struct plan_out *out)
{
	size_t i;

	for (i = 0; i < in->n; i++) {
		if (!is_infra(&in->s[i])) {
			if (infra)
				memo_restarts(plan_ctr_memo(in->memo, in->s[i].ctr), in->s[i].restarts + 1);
			return act_remove(out, &in->s[i], "the pod's sandbox is gone");
		}
	}
	if (infra && strcmp(infra->state, "created") == 0 && !failed_to_start(in, infra->id))
		return act_start(out, infra);
	if (in->n > 0)
		return act_remove(out, &in->s[0], "the pod's sandbox is not running");
	out->act = in->pause_ready ? PLAN_CREATE_INFRA : PLAN_PAUSE_IMAGE;
	return 1;
}

/* The pod may not run on this node: its containers go (apps first), then
 * its rows wait with reason and text, with a Warning about container
 * cname. 1, or -1 when out of memory. */
static int
plan_refuse_pod(const struct plan_in *in, struct plan_out *out, const char *reason, const char *cname, const char *text)
{
	for (size_t i = 0; i < in->n; i++)
		if (!is_infra(&in->s[i]))
			return act_remove(out, &in->s[i], text);
	if (in->n > 0)
		return act_remove(out, &in->s[0], text);
	if (alloc_rows(in, out) < 0)
		return -1;
	for (size_t j = 0; j < api_spec_n_all(&in->binding->pod.spec); j++) { /* init rows too */
		out->cs[j].state = API_STATE_WAITING;
		out->cs[j].reason = reason;
		out->cs[j].message = text;
	}
	out->events[0] = (struct plan_event){reason, cname, text, NULL};
	out->n_events = 1;
	out->message = text;
	out->act = PLAN_STATUS;
	return 1;
}

/* A host port outside --host-port-range: the pod does not run here
 * (HostPortNotAllowed). 0 when every host port is allowed. */
static int
plan_host_ports(const struct plan_in *in, struct plan_out *out)
{
	const struct api_pod_spec *sp = &in->binding->pod.spec;
	const struct api_container *bad = NULL;
	int port = 0;

	for (size_t j = 0; j < sp->n_containers && !bad && in->host_port_lo > 0; j++)
		for (size_t k = 0; k < sp->containers[j].n_ports && !bad; k++) {
			port = sp->containers[j].ports[k].host_port;
			if (port && (port < in->host_port_lo || port > in->host_port_hi))
				bad = &sp->containers[j];
		}
	if (!bad)
		return 0;
	snprintf(out->text, sizeof(out->text), "host port %d is outside this node's --host-port-range %d-%d", port,
	         in->host_port_lo, in->host_port_hi);
	return plan_refuse_pod(in, out, "HostPortNotAllowed", bad->name, out->text);
}

/* A pod asking for privilege (a privileged container, hostPID, hostIPC) on
 * a node without --allow-privileged does not run here, as a host port
 * outside the range. 0 when it asks for none or the node allows it. */
static int
plan_privilege(const struct plan_in *in, struct plan_out *out)
{
	const struct api_pod_spec *sp = &in->binding->pod.spec;
	const char *what, *ctr;

	if (in->allow_privileged || !api_sec_privileged(sp, &what, &ctr))
		return 0;
	if (ctr)
		snprintf(
			out->text, sizeof(out->text),
			"container %.63s is privileged, which this node does not allow (skiff-agent --allow-privileged)",
			ctr);
	else
		snprintf(out->text, sizeof(out->text),
		         "%s is not allowed on this node (skiff-agent --allow-privileged)", what);
	return plan_refuse_pod(in, out, "PrivilegedNotAllowed", ctr ? ctr : sp->containers[0].name, out->text);
}

/* A volume this node may not mount (agent_volumes.c judged it: a hostPath
 * outside --allow-host-path, or of the wrong type): the pod does not run
 * here. 0 when there is none. */
static int
plan_volumes(const struct plan_in *in, struct plan_out *out)
{
	if (!in->vol_reason)
		return 0;
	return plan_refuse_pod(in, out, in->vol_reason, in->vol_container, in->vol_message);
}

int
plan_port_range_parse(const char *s, int *lo, int *hi, char *err, size_t len)
{
	char *end;
	long a, b;

	errno = 0;
	a = s && *s >= '0' && *s <= '9' ? strtol(s, &end, 10) : -1;
	b = a >= 0 && *end == '-' && end[1] >= '0' && end[1] <= '9' ? strtol(end + 1, &end, 10) : -1;
	if (errno || b < 0 || *end || a < 1 || a > b || b > 65535) {
		snprintf(err, len, "\"%.40s\" is not a port range A-B with 1 <= A <= B <= 65535 (e.g. 30000-32767)",
		         s ? s : "");
		return -1;
	}
	*lo = (int)a;
	*hi = (int)b;
	return 0;
}

/* ---------------------------------------------------------------- app containers */

/* The copy of spec container c to keep (right hash and sandbox, running
 * first, then the highest restart count), or an action removing another
 * one (1). */
static int
pick_current(const struct plan_in *in, const struct api_container *c, const struct snap *infra, struct ctr_memo *cm,
             const struct snap **curp, struct plan_out *out)
{
	const struct snap *cur = NULL;
	char h[32];
	size_t i;

	pods_hash_container(c, h, sizeof(h));
	for (i = 0; i < in->n; i++) {
		const struct snap *s = &in->s[i];

		if (strcmp(s->ctr, c->name) != 0)
			continue;
		if (!s->hash || strcmp(s->hash, h) != 0 || !s->sandbox || strcmp(s->sandbox, infra->id) != 0) {
			memo_restarts(cm, s->restarts);
			return act_remove(out, s, "its spec changed or its sandbox was replaced");
		}
		if (!cur || (s->running && !cur->running) ||
		    (s->running == cur->running && s->restarts > cur->restarts))
			cur = s;
	}
	for (i = 0; i < in->n; i++)
		if (strcmp(in->s[i].ctr, c->name) == 0 && &in->s[i] != cur)
			return act_remove(out, &in->s[i], "a duplicate");
	*curp = cur;
	return 0;
}

/* The sub-second part of an RFC 3339 time Docker wrote
 * ("...:05.123456789Z"), 0 when it has none. Whole seconds alone made a
 * 1 s back-off end at once when the second ticked between a crash and the
 * pass that saw it. */
static double
time_frac(const char *t)
{
	double f = 0, scale = 0.1;

	if (!t || strlen(t) < 21 || t[19] != '.')
		return 0;
	for (t += 20; *t >= '0' && *t <= '9' && scale > 1e-10; t++, scale /= 10)
		f += (*t - '0') * scale;
	return f;
}

void
plan_wall_now(struct plan_in *in)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	in->wall = ts.tv_sec;
	in->wall_frac = (double)ts.tv_nsec / 1e9;
}

/* The crash-loop back-off before container cur, ended at fin (0:
 * unknown), runs again: none when it ran long enough, as kubelet. */
static double
restart_delay(const struct plan_in *in, const struct snap *cur, time_t fin)
{
	time_t began = 0;

	if (cur->started_at && api_time_parse(cur->started_at, &began, NULL) == 0 && fin &&
	    difftime(fin, began) >= 2.0 * (double)in->backoff_max_ms / 1000.0)
		return 0;
	return plan_backoff(in->backoff_base_ms, in->backoff_max_ms, cur->restarts);
}

/* An exited (or dead) container: terminated for good, restarted, or
 * waiting out its crash-loop back-off. */
static int
plan_exited(const struct plan_in *in, const struct snap *cur, struct ctr_memo *cm, struct cstat *row,
            struct plan_out *out)
{
	const struct api_pod *pod = &in->binding->pod;
	int again = pod->spec.restart_policy == API_RESTART_ALWAYS ||
	            (pod->spec.restart_policy == API_RESTART_ON_FAILURE && cur->exit_code != 0);
	time_t fin = 0;
	double delay, waited;

	if (!again) {
		row->state = API_STATE_TERMINATED;
		return 0;
	}
	if (cur->finished_at)
		api_time_parse(cur->finished_at, &fin, NULL);
	delay = restart_delay(in, cur, fin);
	waited = fin ? difftime(in->wall, fin) + in->wall_frac - time_frac(cur->finished_at) : delay;
	if (waited + 0.001 >= delay) {
		memo_restarts(cm, cur->restarts + 1);
		act_remove(out, cur, "it exited and the restart policy restarts it");
		out->restart = 1;
		return 1;
	}
	row->state = API_STATE_WAITING;
	row->reason = "CrashLoopBackOff";
	row->message = "back-off restarting failed container";
	row->last = cur;
	row->s = cur;
	want_requeue(out, delay - waited);
	return 0;
}

static int
image_path_ok(const char *img)
{
	for (; *img; img++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/:._@-", *img))
			return 0;
	return 1;
}

/* Waiting for the memo's next attempt at the image or the creation. */
static int
plan_memo_wait(const struct plan_in *in, struct ctr_memo *cm, struct cstat *row, struct plan_out *out)
{
	row->state = API_STATE_WAITING;
	row->reason = cm ? cm->img_reason : NULL;
	row->message = cm ? cm->img_message : NULL;
	want_requeue(out, cm ? cm->retry_at - in->now : 0);
	return 0;
}

/* An image failure found here (not by a Docker call): remember it, warn,
 * and wait. */
static int
plan_image_failed(const struct plan_in *in, const struct api_container *c, struct ctr_memo *cm, const char *reason,
                  const char *msg, struct cstat *row, struct plan_out *out)
{
	plan_memo_error(cm, reason, msg, in->now, in->backoff_base_ms, in->backoff_max_ms);
	if (cm) {
		struct plan_event *e = &out->events[out->n_events++];

		e->reason = cm->img_reason;
		e->container = c->name;
		e->message = cm->img_message;
	}
	return plan_memo_wait(in, cm, row, out);
}

/* No container yet: its image first (checked, pulled), then create it. */
static int
plan_missing(const struct plan_in *in, size_t j, struct ctr_memo *cm, struct cstat *row, struct plan_out *out)
{
	const struct api_container *c = api_spec_container(&in->binding->pod.spec, j);
	enum plan_img img = in->img ? (enum plan_img)in->img[j] : PLAN_IMG_UNKNOWN;
	char m[512];

	if (cm && cm->img_reason && cm->retry_at > in->now)
		return plan_memo_wait(in, cm, row, out);
	if (img == PLAN_IMG_UNKNOWN && !image_path_ok(c->image)) {
		snprintf(m, sizeof(m), "invalid image reference \"%.200s\"", c->image);
		return plan_image_failed(in, c, cm, "InvalidImageName", m, row, out);
	}
	if (img == PLAN_IMG_UNKNOWN)
		return act_image(out, c->image_pull_policy == API_PULL_ALWAYS ? PLAN_PULL_IMAGE : PLAN_INSPECT_IMAGE,
		                 j);
	if (img == PLAN_IMG_ABSENT && c->image_pull_policy == API_PULL_NEVER) {
		snprintf(m, sizeof(m), "container image \"%s\" is not present with pull policy of Never", c->image);
		return plan_image_failed(in, c, cm, "ErrImageNeverPull", m, row, out);
	}
	if (img == PLAN_IMG_ABSENT)
		return act_image(out, PLAN_PULL_IMAGE, j);
	out->act = PLAN_CREATE_APP;
	out->ci = (int)j;
	out->restarts = cm ? cm->restarts : 0;
	return 1;
}

/* A running app container whose liveness (or startup) probe failed: it
 * is killed (event Killing, type Normal, as the kubelet words it). Unless
 * the restart policy is Never, a new one follows after the crash-loop
 * back-off (as if it had exited now), with one more restart; under Never
 * it is only stopped and stays, terminated, as its row. */
static int
plan_liveness(const struct plan_in *in, size_t j, const struct snap *cur, struct ctr_memo *cm, struct plan_out *out)
{
	const struct api_container *c = api_spec_container(&in->binding->pod.spec, j);
	int startup = in->probes[j].startup_failed;
	int never = in->binding->pod.spec.restart_policy == API_RESTART_NEVER;
	double delay = restart_delay(in, cur, in->wall);

	snprintf(out->text, sizeof(out->text), "Container %.100s failed %s probe%s", c->name,
	         startup ? "startup" : "liveness", never ? "" : ", will be restarted");
	out->events[out->n_events++] = (struct plan_event){"Killing", c->name, out->text, "Normal"};
	act_remove(out, cur, startup ? "it failed its startup probe" : "it failed its liveness probe");
	if (never) {
		out->keep = 1;
		return 1;
	}
	memo_restarts(cm, cur->restarts + 1);
	if (cm && delay > 0)
		memo_wait_until(cm, "CrashLoopBackOff", "back-off restarting failed container", in->now + delay);
	out->restart = 1;
	return 1;
}

int
plan_container(const struct plan_in *in, size_t j, const struct snap *infra, struct plan_out *out)
{
	const struct api_container *c = api_spec_container(&in->binding->pod.spec, j);
	struct ctr_memo *cm = plan_ctr_memo(in->memo, c->name);
	struct cstat *row = &out->cs[j];
	const struct snap *cur = NULL;

	if (pick_current(in, c, infra, cm, &cur, out))
		return 1;
	row->s = cur;
	row->restarts = cur ? cur->restarts : cm ? cm->restarts : 0;
	if (cur && cur->running && j < in->binding->pod.spec.n_containers) { /* an app container */
		if (in->probes && in->probes[j].live_failed)
			return plan_liveness(in, j, cur, cm, out);
		probe_row(in, j, row);
		memo_ok(cm);
		return 0;
	}
	if (cur && cur->running) { /* an init container */
		row->state = API_STATE_RUNNING;
		memo_ok(cm);
		return 0;
	}
	if (cur && strcmp(cur->state, "created") == 0 && !failed_to_start(in, cur->id))
		return act_start(out, cur);
	if (cur && strcmp(cur->state, "created") == 0) {
		/* Docker could not start it: report, remove, retry later. */
		plan_memo_error(cm, "RunContainerError", cur->error && *cur->error ? cur->error : "start failed",
		                in->now, in->backoff_base_ms, in->backoff_max_ms);
		return act_remove(out, cur, "it could not be started");
	}
	if (cur && plan_init_exited_ok(in, j, cur, row))
		return memo_ok(cm), 0;
	if (cur)
		return plan_exited(in, cur, cm, row, out);
	return plan_missing(in, j, cm, row, out);
}

/* ---------------------------------------------------------------- plan */

/* Ready's lastTransitionTime for a status plan: kept while Ready stays as
 * the planner last chose it (the memo; after an agent restart, the status
 * written last: in->ready_since while it was Ready), else now. */
static void
plan_ready_time(const struct plan_in *in, struct plan_out *out)
{
	struct pod_memo *m = in->memo;
	int ready = plan_ready(out) ? 2 : 1;
	const char *keep = m && m->ready_was ? (m->ready_was == ready ? m->ready_time : NULL)
	                   : ready == 2      ? in->ready_since
	                                     : NULL;

	if (keep && *keep)
		snprintf(out->ready_time, sizeof(out->ready_time), "%s", keep);
	else
		api_time_format(in->wall, out->ready_time, sizeof(out->ready_time));
	if (m) {
		m->ready_was = ready;
		memcpy(m->ready_time, out->ready_time, sizeof(m->ready_time));
	}
}

/* plan() but for the Ready condition's time. */
static int
plan_pass(const struct plan_in *in, struct plan_out *out)
{
	const struct snap *infra;
	size_t i, j;
	int rc;

	memset(out, 0, sizeof(*out));
	out->ci = -1;
	out->grace = -1;
	if (!in->binding)
		return plan_stop(in, in->last_pod, -1, "its binding is gone", out);
	if (in->binding->pod.meta.deletion_grace_p1 > 0)
		return plan_deleting(in, out);
	if (in->memo)
		in->memo->stop_began = 0; /* bound and not deleted: not stopping */
	if (plan_strangers(in, out))
		return 0;
	if ((rc = plan_host_ports(in, out)) != 0 || (rc = plan_privilege(in, out)) != 0 ||
	    (rc = plan_volumes(in, out)) != 0)
		return rc < 0 ? -1 : 0;
	infra = find_infra(in);
	if (infra && failed_to_start(in, infra->id))
		return plan_sandbox_failed(in, out, in->start_err);
	if (!infra && in->memo && in->memo->sandbox_err[0] && in->now < in->memo->sandbox_retry_at)
		return plan_sandbox_backoff(in, out);
	if (!infra || !infra->running)
		return plan_no_sandbox(in, infra, out), 0;
	out->infra = infra;
	for (i = 0; i < in->n; i++)
		if (&in->s[i] != infra && is_infra(&in->s[i]))
			return act_remove(out, &in->s[i], "a duplicate sandbox"), 0;
	if (alloc_rows(in, out) < 0)
		return -1;
	rc = plan_init(in, infra, out);
	for (j = 0; j < out->n && rc == 0; j++)
		rc = plan_container(in, j, infra, out);
	if (rc < 0)
		return -1;
	if (rc == 1) {
		out->n = 0;
		free(out->cs);
		out->cs = NULL;
		return 0;
	}
	out->act = PLAN_STATUS;
	return 0;
}

int
plan(const struct plan_in *in, struct plan_out *out)
{
	int rc = plan_pass(in, out);

	if (rc == 0 && out->act == PLAN_STATUS && out->cs && in->binding)
		plan_ready_time(in, out);
	return rc;
}

void
plan_out_clear(struct plan_out *out)
{
	free(out->cs);
	free(out->events);
	out->cs = NULL;
	out->events = NULL;
	out->n = out->n_events = 0;
}

const char *
plan_act_name(enum plan_act a)
{
	static const char *const names[] = {
		[PLAN_STATUS] = "status",           [PLAN_DELETE_STATUS] = "delete-status",
		[PLAN_REMOVE] = "remove",           [PLAN_START] = "start",
		[PLAN_PAUSE_IMAGE] = "pause-image", [PLAN_CREATE_INFRA] = "create-infra",
		[PLAN_CREATE_APP] = "create-app",   [PLAN_INSPECT_IMAGE] = "inspect-image",
		[PLAN_PULL_IMAGE] = "pull-image",   [PLAN_PRE_STOP] = "pre-stop",
	};

	return (size_t)a < sizeof(names) / sizeof(names[0]) ? names[a] : "?";
}
