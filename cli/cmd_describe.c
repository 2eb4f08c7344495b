/*
 * cmd_describe.c: "skiffctl describe KIND NAME": one object the way
 * kubectl describe reads: its fields, what the components report about it
 * (a pod's binding, status and conditions, a controller's status and pods,
 * a service's endpoints, ready and not, a node's lease, bound pods and
 * their requests) and
 * its events (P/events/KIND/NAME/), oldest first. Reads one snapshot;
 * writes nothing.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "skiffctl.h"

static const struct skiff_prog prog = {.client = 1,
                                       .name = "skiffctl describe",
                                       .summary = "Show an object in detail with its status and events.\n"
                                                  "KIND: pod (po), controller (rc), service (svc), node (no),\n"
                                                  "deployment (deploy).\n"
                                                  "Exit 0 on success, 1 when it does not exist or etcd fails.",
                                       .args = "KIND NAME"};

void
cmd_describe_usage(FILE *f)
{
	opts_help(&prog, f);
}

static void line(FILE *f, int indent, const char *label, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* "LABEL:" padded to a column, then the value. */
static void
line(FILE *f, int indent, const char *label, const char *fmt, ...)
{
	char l[128], *v = NULL;
	va_list ap;
	int n;

	snprintf(l, sizeof(l), "%s:", label);
	fprintf(f, "%*s%-*s", indent, "", 20 - indent > 0 ? 20 - indent : 1, l);
	va_start(ap, fmt);
	n = vasprintf(&v, fmt, ap);
	va_end(ap);
	if (n >= 0)
		ctl_fputs_escaped(v, f);
	free(v);
	fputc('\n', f);
}

static const char *
or_none(const char *s)
{
	return s && *s ? s : "<none>";
}

/* Strings of an array joined with sep into buf. */
static const char *
join(const json_t *a, const char *sep, char *buf, size_t len)
{
	json_t *v;
	size_t i, n = 0;

	buf[0] = '\0';
	json_array_foreach((json_t *)a, i, v) {
		if (n < len)
			n += (size_t)snprintf(buf + n, len - n, "%s%s", i ? sep : "",
			                      json_is_string(v) ? json_string_value(v) : "?");
	}
	return buf;
}

static void
resources(FILE *f, const char *label, const json_t *r)
{
	const char *cpu = ctl_jstr(r, "cpu"), *mem = ctl_jstr(r, "memory");

	if (cpu || mem)
		line(f, 4, label, "cpu=%s, memory=%s", cpu ? cpu : "0", mem ? mem : "0");
}

static void
state(FILE *f, const char *label, const json_t *st)
{
	json_t *w = json_object_get(st, "waiting"), *r = json_object_get(st, "running"),
	       *t = json_object_get(st, "terminated");

	if (w) {
		line(f, 4, label, "Waiting");
		line(f, 6, "Reason", "%s", or_none(ctl_jstr(w, "reason")));
		if (ctl_jstr(w, "message"))
			line(f, 6, "Message", "%s", ctl_jstr(w, "message"));
	} else if (r) {
		line(f, 4, label, "Running");
		line(f, 6, "Started", "%s", or_none(ctl_jstr(r, "startedAt")));
	} else if (t) {
		line(f, 4, label, "Terminated");
		line(f, 6, "Reason", "%s", or_none(ctl_jstr(t, "reason")));
		line(f, 6, "Exit Code", "%lld", ctl_jint(t, "exitCode", 0));
		if (ctl_jstr(t, "finishedAt"))
			line(f, 6, "Finished", "%s", ctl_jstr(t, "finishedAt"));
	} else if (label[0] == 'S') {
		line(f, 4, label, "Unknown (no status reported)");
	}
}

/* The containers (or init containers) list under title, with their
 * statuses when cs is given. */
static void
containers(FILE *f, const char *title, const json_t *list, const json_t *cs)
{
	json_t *c, *s, *p, *e;
	size_t i, k;
	char buf[2048];

	fprintf(f, "%s:\n", title);
	json_array_foreach((json_t *)list, i, c) {
		const char *name = ctl_jstr(c, "name");
		size_t n = 0;

		fputs("  ", f);
		ctl_fputs_escaped(or_none(name), f);
		fputs(":\n", f);
		line(f, 4, "Image", "%s", or_none(ctl_jstr(c, "image")));
		if (json_array_size(json_object_get(c, "command")))
			line(f, 4, "Command", "%s", join(json_object_get(c, "command"), " ", buf, sizeof(buf)));
		if (json_array_size(json_object_get(c, "args")))
			line(f, 4, "Args", "%s", join(json_object_get(c, "args"), " ", buf, sizeof(buf)));
		buf[0] = '\0';
		json_array_foreach(json_object_get(c, "ports"), k, p) {
			const char *proto = ctl_jstr(p, "protocol");

			if (n < sizeof(buf))
				n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%lld/%s", k ? ", " : "",
				                      ctl_jint(p, "containerPort", 0), proto ? proto : "TCP");
			if (ctl_jint(p, "hostPort", 0) && n < sizeof(buf))
				n += (size_t)snprintf(buf + n, sizeof(buf) - n, " (host %lld)",
				                      ctl_jint(p, "hostPort", 0));
		}
		line(f, 4, "Ports", "%s", or_none(buf));
		resources(f, "Requests", ctl_jget(c, "resources.requests"));
		resources(f, "Limits", ctl_jget(c, "resources.limits"));
		n = 0;
		buf[0] = '\0';
		json_array_foreach(json_object_get(c, "env"), k, e) {
			if (n < sizeof(buf))
				n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%s=%s", k ? ", " : "",
				                      or_none(ctl_jstr(e, "name")),
				                      ctl_jstr(e, "value") ? ctl_jstr(e, "value") : "");
		}
		line(f, 4, "Environment", "%s", or_none(buf));
		json_array_foreach((json_t *)cs, k, s) {
			const char *sn = ctl_jstr(s, "name");

			if (!name || !sn || strcmp(sn, name) != 0)
				continue;
			if (ctl_jstr(s, "containerID"))
				line(f, 4, "Container ID", "%s", ctl_jstr(s, "containerID"));
			state(f, "State", json_object_get(s, "state"));
			state(f, "Last State", json_object_get(s, "lastState"));
			line(f, 4, "Ready", "%s", json_is_true(json_object_get(s, "ready")) ? "True" : "False");
			if (json_is_boolean(json_object_get(s, "started"))) /* absent from a version-1 status */
				line(f, 4, "Started", "%s",
				     json_is_true(json_object_get(s, "started")) ? "True" : "False");
			line(f, 4, "Restart Count", "%lld", ctl_jint(s, "restartCount", 0));
		}
	}
}

/* Conditions as kubectl describe shows them: Type and Status, with the
 * reason of one that is not True (contract version 2; a version-1 status
 * has none); nodes (full) also with since when and the message. */
static void
conditions_table(FILE *f, const json_t *conds, int full)
{
	struct ctl_table t = {.ncols = full ? 5 : 3};
	ctl_row *row;
	json_t *c;
	size_t i;

	if (!json_array_size(conds) || !(row = calloc(1, sizeof(*row))))
		return;
	fprintf(f, "Conditions:\n");
	snprintf((*row)[0], CTL_CELL, "  Type");
	snprintf((*row)[1], CTL_CELL, "Status");
	snprintf((*row)[2], CTL_CELL, "%s", full ? "LastTransitionTime" : "Reason");
	snprintf((*row)[3], CTL_CELL, "Reason");
	snprintf((*row)[4], CTL_CELL, "Message");
	ctl_table_add(&t, *row);
	json_array_foreach((json_t *)conds, i, c) {
		const char *st = ctl_jstr(c, "status");
		const char *why = st && strcmp(st, "True") == 0 && !full ? "" : or_none(ctl_jstr(c, "reason"));

		snprintf((*row)[0], CTL_CELL, "  %s", or_none(ctl_jstr(c, "type")));
		snprintf((*row)[1], CTL_CELL, "%s", st ? st : "Unknown");
		snprintf((*row)[2], CTL_CELL, "%s", full ? or_none(ctl_jstr(c, "lastTransitionTime")) : why);
		snprintf((*row)[3], CTL_CELL, "%s", why);
		snprintf((*row)[4], CTL_CELL, "%s", ctl_jstr(c, "message") ? ctl_jstr(c, "message") : "");
		ctl_table_add(&t, *row);
	}
	ctl_table_print(&t, f);
	ctl_table_free(&t);
	free(row);
}

static void
conditions(FILE *f, const json_t *conds)
{
	conditions_table(f, conds, 0);
}

static int
by_last(const void *a, const void *b)
{
	const struct ctl_kv *x = *(struct ctl_kv *const *)a, *y = *(struct ctl_kv *const *)b;
	time_t tx = 0, ty = 0;

	if (ctl_jstr(x->j, "lastTimestamp"))
		api_time_parse(ctl_jstr(x->j, "lastTimestamp"), &tx, NULL);
	if (ctl_jstr(y->j, "lastTimestamp"))
		api_time_parse(ctl_jstr(y->j, "lastTimestamp"), &ty, NULL);
	return tx < ty ? -1 : tx > ty;
}

static void
events(FILE *f, const struct ctl_state *st, enum api_kind k, const char *name)
{
	const struct ctl_list *l = &st->l[API_EVENT];
	struct ctl_kv **ev = calloc(l->n + 1, sizeof(*ev));
	struct ctl_table t = {.ncols = 5};
	ctl_row *row = malloc(sizeof(*row));
	size_t i, n = 0;

	if (!ev || !row) {
		free(ev);
		free(row);
		return;
	}
	for (i = 0; i < l->n; i++)
		if (l->kv[i].object == k && strcmp(l->kv[i].name, name) == 0)
			ev[n++] = &l->kv[i];
	qsort(ev, n, sizeof(*ev), by_last);
	if (n == 0) {
		fprintf(f, "Events:             <none>\n");
		goto out;
	}
	fprintf(f, "Events:\n");
	memcpy((*row)[0], "  TYPE", 7);
	memcpy((*row)[1], "REASON", 7);
	memcpy((*row)[2], "AGE", 4);
	memcpy((*row)[3], "FROM", 5);
	memcpy((*row)[4], "MESSAGE", 8);
	ctl_table_add(&t, *row);
	for (i = 0; i < n; i++) {
		const json_t *j = ev[i]->j;
		char last[32], first[32];
		long long count = ctl_jint(j, "count", 1);

		snprintf((*row)[0], CTL_CELL, "  %s", or_none(ctl_jstr(j, "type")));
		snprintf((*row)[1], CTL_CELL, "%s", or_none(ctl_jstr(j, "reason")));
		ctl_age(ctl_jstr(j, "lastTimestamp"), last, sizeof(last));
		ctl_age(ctl_jstr(j, "firstTimestamp"), first, sizeof(first));
		if (count > 1)
			snprintf((*row)[2], CTL_CELL, "%s (x%lld over %s)", last, count, first);
		else
			snprintf((*row)[2], CTL_CELL, "%s", last);
		ctl_event_source(ev[i], (*row)[3], CTL_CELL);
		snprintf((*row)[4], CTL_CELL, "%s", ctl_jstr(j, "message") ? ctl_jstr(j, "message") : "");
		ctl_table_add(&t, *row);
	}
	ctl_table_print(&t, f);
out:
	ctl_table_free(&t);
	free(ev);
	free(row);
}

static void
meta(FILE *f, const char *kind, const struct ctl_kv *kv)
{
	char buf[2048];
	json_t *o;
	size_t i;

	line(f, 0, "Name", "%s", kv->name);
	line(f, 0, "Kind", "%s", kind);
	line(f, 0, "UID", "%lld (create revision)", (long long)kv->create);
	ctl_labels_text(ctl_jget(kv->j, "metadata.labels"), buf, sizeof(buf));
	line(f, 0, "Labels", "%s", buf);
	ctl_labels_text(ctl_jget(kv->j, "metadata.annotations"), buf, sizeof(buf));
	line(f, 0, "Annotations", "%s", buf);
	json_array_foreach(ctl_jget(kv->j, "metadata.ownerReferences"), i, o)
		line(f, 0, "Controlled By", "%s/%s (uid %s)", or_none(ctl_jstr(o, "kind")),
		     or_none(ctl_jstr(o, "name")), or_none(ctl_jstr(o, "uid")));
	if (!json_is_object(kv->j))
		line(f, 0, "Invalid", "the stored value is not a JSON object: %.200s", kv->value);
}

static void
data_line(FILE *f, const char *key, const char *value)
{
	line(f, 2, key, "%s", value);
}

static void
describe_config(FILE *f, enum api_kind k, const struct ctl_kv *kv)
{
	const char *type = ctl_jstr(kv->j, "type");

	meta(f, api_kind_name(k), kv);
	if (k == API_SECRET)
		line(f, 0, "Type", "%s", type ? type : "Opaque");
	line(f, 0, "Data", "%zu key%s", ctl_config_count(kv->j), ctl_config_count(kv->j) == 1 ? "" : "s");
	ctl_config_describe(f, k, kv, data_line);
}

static void
describe_pod(FILE *f, const struct ctl_state *st, const struct ctl_kv *p)
{
	struct ctl_kv *b = ctl_pod_binding(st, p), *s = b ? ctl_pod_status(st, p, b->node) : NULL;
	char buf[2048];

	meta(f, "Pod", p);
	line(f, 0, "Node", "%s%s%s", b ? b->node : "<none>", s && ctl_jstr(s->j, "hostIP") ? "/" : "",
	     s && ctl_jstr(s->j, "hostIP") ? ctl_jstr(s->j, "hostIP") : "");
	line(f, 0, "Start Time", "%s", or_none(s ? ctl_jstr(s->j, "startTime") : NULL));
	ctl_pod_status_text(st, p, buf, sizeof(buf));
	line(f, 0, "Status", "%s", buf);
	if (s && ctl_jstr(s->j, "phase") && strcmp(ctl_jstr(s->j, "phase"), buf) != 0)
		line(f, 0, "Phase", "%s", ctl_jstr(s->j, "phase"));
	if (s && ctl_jstr(s->j, "reason"))
		line(f, 0, "Reason", "%s", ctl_jstr(s->j, "reason"));
	if (s && ctl_jstr(s->j, "message") && *ctl_jstr(s->j, "message"))
		line(f, 0, "Message", "%s", ctl_jstr(s->j, "message"));
	line(f, 0, "IP", "%s", or_none(s ? ctl_jstr(s->j, "podIP") : NULL));
	if (json_array_size(ctl_jget(p->j, "spec.initContainers")))
		containers(f, "Init Containers", ctl_jget(p->j, "spec.initContainers"),
		           s ? ctl_jget(s->j, "initContainerStatuses") : NULL);
	containers(f, "Containers", ctl_jget(p->j, "spec.containers"), s ? ctl_jget(s->j, "containerStatuses") : NULL);
	conditions(f, s ? ctl_jget(s->j, "conditions") : NULL);
	line(f, 0, "Restart Policy", "%s",
	     ctl_jstr(p->j, "spec.restartPolicy") ? ctl_jstr(p->j, "spec.restartPolicy") : "Always");
	ctl_labels_text(ctl_jget(p->j, "spec.nodeSelector"), buf, sizeof(buf));
	line(f, 0, "Node-Selectors", "%s", buf);
	line(f, 0, "Grace Period", "%llds",
	     ctl_jint(p->j, "spec.terminationGracePeriodSeconds", API_DEFAULT_GRACE_SECONDS));
	events(f, st, API_POD, p->name);
}

static void
describe_controller(FILE *f, const struct ctl_state *st, const struct ctl_kv *rc)
{
	struct ctl_kv *s = ctl_state_find(st, API_CONTROLLERSTATUS, NULL, rc->name);
	const struct ctl_list *pl = &st->l[API_POD];
	int phases[5] = {0}; /* Running, Pending, Succeeded, Failed, other */
	ctl_row *row = malloc(sizeof(*row));
	char uid[24], buf[2048];
	size_t i, owned = 0;

	snprintf(uid, sizeof(uid), "%lld", (long long)rc->create);
	if (s && (!ctl_jstr(s->j, "uid") || strcmp(ctl_jstr(s->j, "uid"), uid) != 0))
		s = NULL;
	meta(f, "ReplicationController", rc);
	ctl_row_of(st, API_CONTROLLER, rc, 1, *row);
	line(f, 0, "Selector", "%s", (*row)[7]);
	line(f, 0, "Replicas", "%lld current / %lld desired", s ? ctl_jint(s->j, "replicas", 0) : 0,
	     ctl_jint(rc->j, "spec.replicas", 1));
	line(f, 0, "Ready Replicas", "%lld", s ? ctl_jint(s->j, "readyReplicas", 0) : 0);
	line(f, 0, "Available Replicas", "%lld (ready for at least %llds)",
	     s ? ctl_jint(s->j, "availableReplicas", 0) : 0, ctl_jint(rc->j, "spec.minReadySeconds", 0));
	if (s) {
		line(f, 0, "Observed Revision", "%lld (controller key at %lld)", ctl_jint(s->j, "observedRevision", 0),
		     (long long)rc->mod);
		if (ctl_jstr(s->j, "message"))
			line(f, 0, "Status Message", "%s", ctl_jstr(s->j, "message"));
	} else {
		line(f, 0, "Status", "not reported yet by the replication controller");
	}
	for (i = 0; i < pl->n; i++) {
		json_t *o;
		size_t k;
		int mine = 0;

		json_array_foreach(ctl_jget(pl->kv[i].j, "metadata.ownerReferences"), k, o)
			mine |= ctl_jstr(o, "name") && ctl_jstr(o, "uid") && !strcmp(ctl_jstr(o, "name"), rc->name) &&
			        !strcmp(ctl_jstr(o, "uid"), uid);
		if (!mine)
			continue;
		owned++;
		ctl_pod_status_text(st, &pl->kv[i], buf, sizeof(buf));
		phases[!strcmp(buf, "Running")     ? 0
		       : !strcmp(buf, "Pending")   ? 1
		       : !strcmp(buf, "Succeeded") ? 2
		       : !strcmp(buf, "Failed")    ? 3
		                                   : 4]++;
	}
	line(f, 0, "Pods Status", "%zu owned: %d Running / %d Pending / %d Succeeded / %d Failed / %d other", owned,
	     phases[0], phases[1], phases[2], phases[3], phases[4]);
	fprintf(f, "Pod Template:\n");
	ctl_labels_text(ctl_jget(rc->j, "spec.template.metadata.labels"), buf, sizeof(buf));
	line(f, 2, "Labels", "%s", buf);
	if (json_array_size(ctl_jget(rc->j, "spec.template.spec.initContainers")))
		containers(f, "Init Containers", ctl_jget(rc->j, "spec.template.spec.initContainers"), NULL);
	containers(f, "Containers", ctl_jget(rc->j, "spec.template.spec.containers"), NULL);
	events(f, st, API_CONTROLLER, rc->name);
	free(row);
}

static void
describe_service(FILE *f, const struct ctl_state *st, const struct ctl_kv *svc)
{
	struct ctl_kv *ep = ctl_state_find(st, API_ENDPOINTS, NULL, svc->name);
	ctl_row *row = malloc(sizeof(*row));
	json_t *p, *a;
	size_t i;

	meta(f, "Service", svc);
	ctl_row_of(st, API_SERVICE, svc, 1, *row);
	line(f, 0, "Selector", "%s", (*row)[4]);
	line(f, 0, "IP", "%s", (*row)[1]);
	json_array_foreach(ctl_jget(svc->j, "spec.ports"), i, p) {
		const char *tn = ctl_jstr(p, "targetPort");
		char tp[64];

		if (tn)
			snprintf(tp, sizeof(tp), "%s", tn);
		else
			snprintf(tp, sizeof(tp), "%lld", ctl_jint(p, "targetPort", ctl_jint(p, "port", 0)));
		line(f, 0, "Port", "%s %lld/%s -> %s", ctl_jstr(p, "name") ? ctl_jstr(p, "name") : "<unset>",
		     ctl_jint(p, "port", 0), ctl_jstr(p, "protocol") ? ctl_jstr(p, "protocol") : "TCP", tp);
	}
	if (!ep || json_array_size(ctl_jget(ep->j, "addresses")) == 0)
		line(f, 0, "Endpoints", "<none>");
	json_array_foreach(ep ? ctl_jget(ep->j, "addresses") : NULL, i, a)
		line(f, 0, "Endpoints", "%s (pod %s on %s)", or_none(ctl_jstr(a, "ip")), or_none(ctl_jstr(a, "pod")),
		     or_none(ctl_jstr(a, "node")));
	json_array_foreach(ep ? ctl_jget(ep->j, "notReadyAddresses") : NULL, i, a)
		line(f, 0, "Not Ready", "%s (pod %s on %s)", or_none(ctl_jstr(a, "ip")), or_none(ctl_jstr(a, "pod")),
		     or_none(ctl_jstr(a, "node")));
	events(f, st, API_SERVICE, svc->name);
	free(row);
}

static void
describe_node(FILE *f, const struct ctl_state *st, const struct ctl_kv *no)
{
	const struct ctl_list *bl = &st->l[API_BINDING];
	int64_t cpu = 0, mem = 0;
	char buf[64], buf2[64], name[CTL_CELL];
	json_t *a;
	size_t i, n = 0;

	const struct ctl_kv *ns = ctl_state_find(st, API_NODESTATUS, NULL, no->name);
	const json_t *sj = ns ? ns->j : no->j; /* version 2: the agent's status has its own key */
	int ready = ctl_node_ready(st, no->name);

	meta(f, "Node", no);
	line(f, 0, "Ready", "%s",
	     ready > 0   ? "True (its lease key exists and its heartbeat is fresh)"
	     : ready < 0 ? "False (its heartbeat stopped: the agent is down, stuck or cut off)"
	                 : "False (no lease key: the agent is down or cut off)");
	line(f, 0, "Unschedulable", "%s", json_is_true(ctl_jget(no->j, "spec.unschedulable")) ? "true" : "false");
	json_array_foreach(ctl_jget(sj, "status.addresses"), i, a)
		line(f, 0, "Address", "%s: %s", or_none(ctl_jstr(a, "type")), or_none(ctl_jstr(a, "address")));
	fprintf(f, "Capacity:\n");
	line(f, 2, "cpu", "%s", or_none(ctl_jstr(sj, "status.capacity.cpu")));
	line(f, 2, "memory", "%s", or_none(ctl_jstr(sj, "status.capacity.memory")));
	line(f, 2, "pods", "%s", or_none(ctl_jstr(sj, "status.capacity.pods")));
	line(f, 0, "PodCIDR", "%s", or_none(ctl_jstr(sj, "status.podCIDR")));
	line(f, 0, "Agent Version", "%s", or_none(ctl_jstr(sj, "status.agentVersion")));
	conditions_table(f, ctl_jget(sj, "status.conditions"), 1);
	fprintf(f, "Bound Pods:\n");
	for (i = 0; i < bl->n; i++) {
		struct api_errors e = {0};
		struct api_binding *b;
		int64_t c = 0, m = 0;

		if (strcmp(bl->kv[i].node, no->name) != 0)
			continue;
		n++;
		if ((b = api_binding_parse(bl->kv[i].value, bl->kv[i].len, &e))) {
			api_pod_requests(&b->pod, &c, &m);
			api_binding_free(b);
		}
		api_errors_clear(&e);
		cpu = c > INT64_MAX - cpu ? INT64_MAX : cpu + c;
		mem = m > INT64_MAX - mem ? INT64_MAX : mem + m;
		api_quantity_format_milli(c, buf, sizeof(buf));
		api_quantity_format_bytes(m, buf2, sizeof(buf2));
		ctl_escape(bl->kv[i].name, name, sizeof(name));
		fprintf(f, "  %-40s cpu=%s memory=%s\n", name, buf, buf2);
	}
	if (!n)
		fprintf(f, "  <none>\n");
	api_quantity_format_milli(cpu, buf, sizeof(buf));
	api_quantity_format_bytes(mem, buf2, sizeof(buf2));
	line(f, 0, "Requested", "cpu=%s, memory=%s by %zu pod%s", buf, buf2, n, n == 1 ? "" : "s");
	events(f, st, API_NODE, no->name);
}

int
cmd_describe(int argc, char **argv, FILE *out, FILE *err)
{
	int want[API_KIND_COUNT] = {0}, rc;
	const struct ctl_kind *k;
	struct ctl_state st = {0};
	struct ctl_kv *kv;
	struct ctl c;
	char key[API_KEY_MAX];

	if ((rc = ctl_parse(&c, &prog, argc, argv, out, err, 0)) != CTL_CONTINUE)
		goto done;
	if (c.nargs != 2) {
		rc = ctl_usage_error(&c, &prog, "expected KIND NAME");
		goto done;
	}
	if (ctl_deploy_word(c.args[0])) {
		rc = ctl_deploy_describe(&c, c.args[1]);
		goto done;
	}
	rc = SKIFFCTL_EXIT_FAIL;
	if (!(k = ctl_kind_lookup(c.args[0])) || k->kind == API_EVENT) {
		fprintf(err,
		        "%s: %s kind \"%s\"; use one of pod (po), controller (rc), service (svc), node (no), configmap (cm), secret\n",
		        c.name, k ? "cannot describe" : "unknown", c.args[0]);
		goto done;
	}
	ctl_wants(k->kind, want);
	want[API_POD] = want[API_BINDING] = want[API_PODSTATUS] = 1;
	if (ctl_key(&c, key, k->kind, c.args[1]) < 0 || ctl_connect(&c) < 0 || ctl_state_load(&c, &st, want) < 0)
		goto done;
	if (!(kv = ctl_state_find(&st, k->kind, NULL, c.args[1]))) {
		fprintf(err, "%s: %s \"%s\" not found under %s\n", c.name, k->singular, c.args[1], c.opts.prefix);
		goto done;
	}
	switch (k->kind) {
	case API_POD: describe_pod(out, &st, kv); break;
	case API_CONTROLLER: describe_controller(out, &st, kv); break;
	case API_SERVICE: describe_service(out, &st, kv); break;
	case API_CONFIGMAP:
	case API_SECRET: describe_config(out, k->kind, kv); break;
	default: describe_node(out, &st, kv); break;
	}
	rc = SKIFFCTL_EXIT_OK;
done:
	ctl_state_free(&st);
	ctl_done(&c);
	return rc;
}
