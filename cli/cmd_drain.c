/*
 * cmd_drain.c: "skiffctl drain NODE": cordon the node, then stop the pods
 * bound to it gracefully so that their replication controllers replace
 * them on other nodes, as kubectl drain does, but never two pods of one
 * controller at once: after a pod of a controller is stopped, the next
 * pod of that controller waits until a replacement (a pod of the same
 * controller that did not exist when the stop began, bound to another
 * node, Ready) is there, or --timeout passes (then drain fails and says
 * so; the node stays cordoned, and running drain again goes on). Pods of
 * different controllers stop side by side, one per controller per round.
 *
 * Stopping a pod is what "skiffctl delete pod --grace-period" does
 * (ctl_graceful.c): metadata.deletionGracePeriodSeconds on the pod (the
 * pod's terminationGracePeriodSeconds, default 30, or --grace-period),
 * the agent stops the containers in its order (endpoints, preStop,
 * SIGTERM, SIGKILL) and removes the status, then the pod key goes,
 * compared on its create revision.
 *
 * Pods without a controller (or whose controller is gone) have nothing to
 * replace them: drain refuses to start while there are any, unless
 * --force, as kubectl does. It does not evict through a disruption budget
 * (Skiff has none) and does not wait for a pod that is not on NODE.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "skiffctl.h"

#define DRAIN_HELP                                                                       \
	"Cordon NODE, then stop its pods gracefully so that their controllers replace\n" \
	"them elsewhere, one pod of a controller at a time: the next waits until a\n"    \
	"replacement of the previous is Ready (at most --timeout). Pods without a\n"     \
	"controller are refused unless --force (nothing replaces them).\n"               \
	"Exit 0 when the node is drained, 1 when something is refused or times out\n"    \
	"(the node stays cordoned; run drain again to go on), 2 on usage errors."

static long grace_flag, timeout_flag;
static int force_flag;

static const struct flag drain_flags[] = {
	{"grace-period", FLAG_INT, &grace_flag, "-1", NULL,
         "seconds each pod gets to stop (-1: its terminationGracePeriodSeconds)", "N", NULL},
	{"timeout", FLAG_DURATION, &timeout_flag, "5m", NULL,
         "longest wait for a stopped pod's replacement to be Ready (0: no limit)", "DURATION", NULL},
	{"force", FLAG_BOOL, &force_flag, "false", NULL, "also stop pods that no controller replaces", NULL, NULL},
	{0}};

static const struct skiff_prog prog = {
	.client = 1, .name = "skiffctl drain", .summary = DRAIN_HELP, .args = "NODE", .flags = drain_flags};

void
cmd_drain_usage(FILE *f)
{
	opts_help(&prog, f);
}

/* A pod to stop. */
struct dpod {
	char *name, *key;
	int64_t create;
	long grace;
	int group; /* index in groups, -1: no controller */
	int done;
};

/* The pods of one controller on the node, stopped in order. */
struct group {
	char *rc;        /* the controller's name */
	int64_t uid;     /* its create revision */
	int64_t *before; /* pods of the controller (create revisions) when its last stop began */
	size_t nbefore;
	int waiting; /* a stopped pod's replacement is awaited */
};

struct drain {
	struct ctl *c;
	const char *node;
	struct dpod *p;
	size_t np;
	struct group *g;
	size_t ng;
};

static void
drain_free(struct drain *d)
{
	size_t i;

	for (i = 0; i < d->np; i++) {
		free(d->p[i].name);
		free(d->p[i].key);
	}
	for (i = 0; i < d->ng; i++) {
		free(d->g[i].rc);
		free(d->g[i].before);
	}
	free(d->p);
	free(d->g);
}

/* The controller (kind ReplicationController, existing with that uid) that
 * owns pod p in st, or NULL. */
static const struct ctl_kv *
owner(const struct ctl_state *st, const struct ctl_kv *p)
{
	json_t *o;
	size_t i;

	json_array_foreach(ctl_jget(p->j, "metadata.ownerReferences"), i, o) {
		const char *kind = ctl_jstr(o, "kind"), *name = ctl_jstr(o, "name");
		const struct ctl_kv *rc;

		if (!json_is_true(json_object_get(o, "controller")) || !kind ||
		    strcmp(kind, "ReplicationController") != 0 || !name)
			continue;
		rc = ctl_state_find(st, API_CONTROLLER, NULL, name);
		return rc && ctl_is_uid(json_object_get(o, "uid"), rc->create) ? rc : NULL;
	}
	return NULL;
}

/* The group of controller rc (added when new); -1 when out of memory. */
static int
group_of(struct drain *d, const struct ctl_kv *rc)
{
	struct group *ng;
	size_t i;

	for (i = 0; i < d->ng; i++)
		if (strcmp(d->g[i].rc, rc->name) == 0)
			return (int)i;
	if (!(ng = realloc(d->g, (d->ng + 1) * sizeof(*ng))))
		return -1;
	d->g = ng;
	memset(&ng[d->ng], 0, sizeof(*ng));
	if (!(ng[d->ng].rc = strdup(rc->name)))
		return -1;
	ng[d->ng].uid = rc->create;
	return (int)d->ng++;
}

/* Add pod p (bound to the node) to d. 0, or -1 when out of memory. */
static int
add_pod(struct drain *d, const struct ctl_state *st, const struct ctl_kv *p)
{
	const struct ctl_kv *rc = owner(st, p);
	struct dpod *np = realloc(d->p, (d->np + 1) * sizeof(*np)), *x;

	if (!np)
		return -1;
	d->p = np;
	x = &np[d->np];
	memset(x, 0, sizeof(*x));
	x->create = p->create;
	x->grace = grace_flag >= 0 ? grace_flag : ctl_jint(p->j, "spec.terminationGracePeriodSeconds", 30);
	x->group = rc ? group_of(d, rc) : -1;
	x->name = strdup(p->name);
	x->key = strdup(p->key);
	if (!x->name || !x->key || (rc && x->group < 0)) {
		free(x->name);
		free(x->key);
		return -1;
	}
	d->np++;
	return 0;
}

/* The pods bound to the node; refuses (1) pods without a controller
 * unless --force. 0, 1, or -1 (reported). */
static int
find_pods(struct drain *d)
{
	int want[API_KIND_COUNT] = {[API_POD] = 1, [API_BINDING] = 1, [API_CONTROLLER] = 1};
	const struct ctl_list *l;
	struct ctl_state st;
	size_t i, lone = 0;

	if (ctl_state_load(d->c, &st, want) < 0)
		return -1;
	l = &st.l[API_POD];
	for (i = 0; i < l->n; i++) {
		const struct ctl_kv *b = ctl_pod_binding(&st, &l->kv[i]);

		if (!b || strcmp(b->node, d->node) != 0)
			continue;
		if (add_pod(d, &st, &l->kv[i]) < 0) {
			fprintf(d->c->err, "%s: out of memory\n", d->c->name);
			ctl_state_free(&st);
			return -1;
		}
		lone += d->p[d->np - 1].group < 0;
	}
	ctl_state_free(&st);
	if (!lone)
		return 0;
	fprintf(d->c->err, "%s: %s: pods without a controller, which nothing replaces:", d->c->name,
	        force_flag ? "warning: stopping" : "cannot stop");
	for (i = 0; i < d->np; i++)
		if (d->p[i].group < 0)
			fprintf(d->c->err, " %s", d->p[i].name);
	fprintf(d->c->err, "%s\n", force_flag ? "" : " (use --force to stop them anyway)");
	return force_flag ? 0 : 1;
}

/* The pods of group g now (create revisions) into g->before. */
static int
remember(const struct ctl_state *st, struct group *g)
{
	const struct ctl_list *l = &st->l[API_POD];
	size_t i;

	free(g->before);
	g->nbefore = 0;
	if (!(g->before = calloc(l->n + 1, sizeof(*g->before))))
		return -1;
	for (i = 0; i < l->n; i++) {
		const struct ctl_kv *rc = owner(st, &l->kv[i]);

		if (rc && rc->create == g->uid)
			g->before[g->nbefore++] = l->kv[i].create;
	}
	return 0;
}

/* 1 when pod p (a pod of g's controller) is new since g->before, bound to
 * another node than the drained one, and Ready. */
static int
replacement(const struct drain *d, const struct ctl_state *st, const struct group *g, const struct ctl_kv *p)
{
	const struct ctl_kv *b = ctl_pod_binding(st, p), *s, *rc = owner(st, p);
	struct api_errors e = {0};
	struct api_pod_status *ps;
	size_t i;
	int ready;

	if (!rc || rc->create != g->uid || !b || strcmp(b->node, d->node) == 0 || !(s = ctl_pod_status(st, p, b->node)))
		return 0;
	for (i = 0; i < g->nbefore; i++)
		if (g->before[i] == p->create)
			return 0;
	ps = api_pod_status_parse(s->value, s->len, &e);
	ready = ps && api_pod_status_ready(ps);
	api_pod_status_free(ps);
	api_errors_clear(&e);
	return ready;
}

/* Load what replacements need. 0 or -1 (reported). */
static int
load(struct drain *d, struct ctl_state *st)
{
	int want[API_KIND_COUNT] = {[API_POD] = 1, [API_BINDING] = 1, [API_PODSTATUS] = 1, [API_CONTROLLER] = 1};

	return ctl_state_load(d->c, st, want);
}

/* Clear the waiting flag of every group whose replacement is there.
 * Returns how many still wait, or -1 (reported). */
static int
check_replacements(struct drain *d)
{
	struct ctl_state st;
	size_t i, j;
	int left = 0;

	if (load(d, &st) < 0)
		return -1;
	for (i = 0; i < d->ng; i++) {
		for (j = 0; d->g[i].waiting && j < st.l[API_POD].n; j++)
			if (replacement(d, &st, &d->g[i], &st.l[API_POD].kv[j])) {
				d->g[i].waiting = 0;
				fprintf(d->c->out, "pod/%s replaces a stopped pod of controller/%s\n",
				        st.l[API_POD].kv[j].name, d->g[i].rc);
			}
		left += d->g[i].waiting;
	}
	ctl_state_free(&st);
	fflush(d->c->out);
	return left;
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Wait (polling, bounded by --timeout) until no group waits. 0, or -1
 * (reported). */
static int
wait_replacements(struct drain *d)
{
	double deadline = now_s() + (double)timeout_flag / 1e3;
	size_t i;
	int left;

	while ((left = check_replacements(d)) > 0 && (timeout_flag == 0 || now_s() < deadline))
		usleep(200 * 1000);
	if (left <= 0)
		return left;
	for (i = 0; i < d->ng; i++)
		if (d->g[i].waiting)
			fprintf(d->c->err,
			        "%s: timed out after %lds waiting for a Ready replacement of a pod of controller/%s; node/%s "
			        "stays cordoned; run drain again to go on\n",
			        d->c->name, timeout_flag / 1000, d->g[i].rc, d->node);
	return -1;
}

/* Mark the pods of this round: the next of each controller, every one
 * without a controller. Returns how many, or -1 (reported). */
static int
mark_round(struct drain *d)
{
	struct ctl_state st;
	size_t i;
	int n = 0, u;

	if (load(d, &st) < 0)
		return -1;
	for (i = 0; i < d->np; i++) {
		struct dpod *p = &d->p[i];
		struct group *g = p->group >= 0 ? &d->g[p->group] : NULL;

		if (p->done || (g && g->waiting))
			continue;
		if (g && remember(&st, g) < 0)
			break;
		if ((u = ctl_pod_mark(d->c, p->key, p->grace, &p->create)) < 0)
			break;
		if (g)
			g->waiting = 1; /* also when the pod is gone already: its controller replaces it */
		p->done = u == CTL_NOT_FOUND ? 2 : 1;
		if (u != CTL_NOT_FOUND)
			fprintf(d->c->out, "stopping pod/%s (grace period %lds)\n", p->name, p->grace);
		n++;
	}
	ctl_state_free(&st);
	fflush(d->c->out);
	return i < d->np ? -1 : n;
}

/* Wait for the agent to stop the pods marked in this round (done 1), each
 * for at most its grace period + 30 s, then delete them. 0 or -1. */
static int
finish_round(struct drain *d)
{
	double start = now_s();
	size_t i;

	for (i = 0; i < d->np; i++) {
		struct dpod *p = &d->p[i];
		int s;

		if (p->done != 1)
			continue;
		while ((s = ctl_pod_stopped(d->c, p->name, p->create)) == 0 && now_s() < start + p->grace + 30)
			usleep(200 * 1000);
		if (s < 0)
			return -1;
		if (s == 0)
			fprintf(d->c->err,
			        "%s: warning: the agent did not confirm that pod \"%s\" stopped; deleting it anyway\n",
			        d->c->name, p->name);
		if (ctl_delete_if(d->c, p->key, ETCD_CMP_CREATE, ETCD_CMP_EQUAL, p->create) < 0)
			return -1;
		p->done = 3;
		fprintf(d->c->out, "pod/%s stopped\n", p->name);
	}
	fflush(d->c->out);
	return 0;
}

static int
run(struct drain *d)
{
	char key[API_KEY_MAX];
	int u, n;

	if (ctl_key(d->c, key, API_NODE, d->node) < 0 || ctl_connect(d->c) < 0)
		return SKIFFCTL_EXIT_FAIL;
	if ((u = ctl_node_cordon(d->c, key, 1)) == CTL_NOT_FOUND)
		fprintf(d->c->err, "%s: node \"%s\" not found under %s (skiffctl get nodes lists them)\n", d->c->name,
		        d->node, d->c->opts.prefix);
	if (u < 0 || u == CTL_NOT_FOUND)
		return SKIFFCTL_EXIT_FAIL;
	fprintf(d->c->out, "node/%s cordoned\n", d->node);
	if ((u = find_pods(d)) != 0)
		return SKIFFCTL_EXIT_FAIL;
	while ((n = mark_round(d)) > 0)
		if (finish_round(d) < 0 || wait_replacements(d) < 0)
			return SKIFFCTL_EXIT_FAIL;
	if (n < 0)
		return SKIFFCTL_EXIT_FAIL;
	fprintf(d->c->out, "node/%s drained\n", d->node);
	return SKIFFCTL_EXIT_OK;
}

int
cmd_drain(int argc, char **argv, FILE *out, FILE *err)
{
	struct drain d = {0};
	struct ctl c;
	int rc;

	grace_flag = -1;
	timeout_flag = 300 * 1000;
	force_flag = 0;
	if ((rc = ctl_parse(&c, &prog, argc, argv, out, err, 0)) != CTL_CONTINUE)
		goto done;
	if (c.nargs != 1) {
		rc = ctl_usage_error(&c, &prog, "expected one NODE");
		goto done;
	}
	if (grace_flag < -1 || timeout_flag < 0) {
		rc = ctl_usage_error(&c, &prog, "--grace-period is -1 or more, --timeout not negative");
		goto done;
	}
	d.c = &c;
	d.node = c.args[0];
	rc = run(&d);
done:
	drain_free(&d);
	ctl_done(&c);
	return rc;
}
