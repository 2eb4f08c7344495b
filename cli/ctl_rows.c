/*
 * ctl_rows.c: the columns of "skiffctl get", one row per object, drawn
 * from a snapshot (ctl_state.c) only. What each column reads:
 *   pods: READY (containers ready and running / containers, as kubectl)
 *     and RESTARTS from the podstatus of the node the pod is
 *     bound to, when that status and binding carry the pod's create
 *     revision as uid; STATUS Terminating for a pod being deleted that has
 *     not finished, else the status' Init:N/M reason while init
 *     containers run, else a container's waiting (then terminated)
 *     reason, else the phase; Pending when there is no binding or no
 *     status yet, Unschedulable when unbound with a FailedScheduling event.
 *   AGE: etcd keeps no creation time, so a pod's age is its status'
 *     startTime; without one (and for controllers) the earliest
 *     firstTimestamp of the object's events; "-" when neither exists.
 *   nodes: Ready while P/nodeleases/NODE exists; PODS is bound/capacity.
 */
#include <string.h>
#include <time.h>

#include "skiffctl.h"

#define SET(row, i, ...) snprintf((row)[i], CTL_CELL, __VA_ARGS__)

static size_t
header_cells(ctl_row row, const char *const *names)
{
	size_t n;

	for (n = 0; names[n]; n++)
		SET(row, n, "%s", names[n]);
	return n;
}

size_t
ctl_header(enum api_kind k, int wide, ctl_row row)
{
	static const char *const pods[] = {"NAME", "READY", "STATUS",  "RESTARTS", "NODE",
	                                   "IP",   "AGE",   "HOST-IP", "IMAGES",   NULL};
	static const char *const rcs[] = {"NAME",       "DESIRED", "CURRENT",  "READY", "AGE",
	                                  "CONTAINERS", "IMAGES",  "SELECTOR", NULL};
	static const char *const svcs[] = {"NAME", "CLUSTER-IP", "PORT(S)", "ENDPOINTS", "SELECTOR", NULL};
	static const char *const nodes[] = {"NAME", "STATUS",      "ROLES/LABELS", "CPU",     "MEMORY",
	                                    "PODS", "INTERNAL-IP", "POD-CIDR",     "VERSION", NULL};
	static const char *const evs[] = {"LAST SEEN", "TYPE",   "REASON",     "OBJECT", "MESSAGE",
	                                  "COUNT",     "SOURCE", "FIRST SEEN", NULL};
	static const char *const cms[] = {"NAME", "DATA", NULL};
	static const char *const secrets[] = {"NAME", "TYPE", "DATA", NULL};
	static const size_t narrow[] = {[API_POD] = 7,   [API_CONTROLLER] = 5, [API_SERVICE] = 4, [API_NODE] = 6,
	                                [API_EVENT] = 6, [API_CONFIGMAP] = 2,  [API_SECRET] = 3};
	size_t n;

	switch (k) {
	case API_POD: n = header_cells(row, pods); break;
	case API_CONTROLLER: n = header_cells(row, rcs); break;
	case API_SERVICE: n = header_cells(row, svcs); break;
	case API_NODE: n = header_cells(row, nodes); break;
	case API_EVENT: n = header_cells(row, evs); break;
	case API_CONFIGMAP: n = header_cells(row, cms); break;
	case API_SECRET: n = header_cells(row, secrets); break;
	default: return 0;
	}
	return wide ? n : narrow[k];
}

void
ctl_wants(enum api_kind k, int *want)
{
	want[k] = 1;
	want[API_EVENT] = 1;
	switch (k) {
	case API_POD: want[API_BINDING] = want[API_PODSTATUS] = 1; break;
	case API_CONTROLLER:
		want[API_CONTROLLERSTATUS] = want[API_POD] = want[API_BINDING] = want[API_PODSTATUS] = 1;
		break;
	case API_SERVICE: want[API_ENDPOINTS] = 1; break;
	case API_NODE: want[API_NODELEASE] = want[API_BINDING] = want[API_NODESTATUS] = 1; break;
	default: break;
	}
}

/* The earliest firstTimestamp of the events about (k, name), or NULL. */
static const char *
first_event_time(const struct ctl_state *st, enum api_kind k, const char *name)
{
	const struct ctl_list *l = &st->l[API_EVENT];
	const char *best = NULL;
	time_t bt = 0, t;
	size_t i;

	for (i = 0; i < l->n; i++) {
		const char *ft = ctl_jstr(l->kv[i].j, "firstTimestamp");

		if (l->kv[i].object != k || strcmp(l->kv[i].name, name) != 0 || !ft || api_time_parse(ft, &t, NULL) < 0)
			continue;
		if (!best || t < bt) {
			best = ft;
			bt = t;
		}
	}
	return best;
}

static int
has_event(const struct ctl_state *st, enum api_kind k, const char *name, const char *reason)
{
	const struct ctl_list *l = &st->l[API_EVENT];
	size_t i;

	for (i = 0; i < l->n; i++) {
		const char *r = ctl_jstr(l->kv[i].j, "reason");

		if (l->kv[i].object == k && strcmp(l->kv[i].name, name) == 0 && r && strcmp(r, reason) == 0)
			return 1;
	}
	return 0;
}

static void
pod_status_base(const struct ctl_state *st, const struct ctl_kv *p, char *buf, size_t len)
{
	struct ctl_kv *b = ctl_pod_binding(st, p), *s = b ? ctl_pod_status(st, p, b->node) : NULL;
	const char *phase, *init, *term = NULL;
	json_t *cs, *c;
	size_t i;

	if (!json_is_object(p->j) || !json_is_array(ctl_jget(p->j, "spec.containers"))) {
		snprintf(buf, len, "Invalid");
		return;
	}
	if (!b) {
		snprintf(buf, len, "%s",
		         has_event(st, API_POD, p->name, "FailedScheduling") ? "Unschedulable" : "Pending");
		return;
	}
	phase = s ? ctl_jstr(s->j, "phase") : NULL;
	init = s ? ctl_jstr(s->j, "reason") : NULL;
	if (init && strncmp(init, "Init:", 5) == 0) { /* init containers still running, as kubectl shows it */
		snprintf(buf, len, "%s", init);
		return;
	}
	cs = s ? ctl_jget(s->j, "containerStatuses") : NULL;
	json_array_foreach(cs, i, c) {
		const char *w = ctl_jstr(c, "state.waiting.reason"), *t = ctl_jstr(c, "state.terminated.reason");

		if (w && *w) {
			snprintf(buf, len, "%s", w);
			return;
		}
		if (t && *t && !term)
			term = t;
	}
	snprintf(buf, len, "%s", term ? term : phase ? phase : "Pending");
}

/* As kubectl: a pod being deleted (here: metadata.deletionGracePeriodSeconds
 * set) that has not finished is Terminating, whatever else it says. */
void
ctl_pod_status_text(const struct ctl_state *st, const struct ctl_kv *p, char *buf, size_t len)
{
	struct ctl_kv *b = ctl_pod_binding(st, p), *s = b ? ctl_pod_status(st, p, b->node) : NULL;
	const char *phase = s ? ctl_jstr(s->j, "phase") : NULL;

	pod_status_base(st, p, buf, len);
	if (strcmp(buf, "Invalid") != 0 && json_is_integer(ctl_jget(p->j, "metadata.deletionGracePeriodSeconds")) &&
	    (!phase || (strcmp(phase, "Succeeded") != 0 && strcmp(phase, "Failed") != 0)))
		snprintf(buf, len, "Terminating");
}

static void
pod_row(const struct ctl_state *st, const struct ctl_kv *p, int wide, ctl_row row)
{
	struct ctl_kv *b = ctl_pod_binding(st, p), *s = b ? ctl_pod_status(st, p, b->node) : NULL;
	json_t *cs = s ? ctl_jget(s->j, "containerStatuses") : NULL, *c;
	json_t *containers = ctl_jget(p->j, "spec.containers");
	const char *start = s ? ctl_jstr(s->j, "startTime") : NULL, *ip = s ? ctl_jstr(s->j, "podIP") : NULL;
	const char *hip = s ? ctl_jstr(s->j, "hostIP") : NULL;
	long long ready = 0, restarts = 0;
	size_t i, n = 0;

	json_array_foreach(cs, i, c) {
		/* As kubectl: ready and running (a stale ready flag of a stopped
		 * container does not count). */
		ready += json_is_true(json_object_get(c, "ready")) && json_is_object(ctl_jget(c, "state.running"));
		restarts += ctl_jint(c, "restartCount", 0);
	}
	SET(row, 0, "%s", p->name);
	SET(row, 1, "%lld/%zu", ready, json_array_size(containers));
	ctl_pod_status_text(st, p, row[2], CTL_CELL);
	SET(row, 3, "%lld", restarts);
	SET(row, 4, "%s", b ? b->node : "<none>");
	SET(row, 5, "%s", ip && *ip ? ip : "<none>");
	ctl_age(start ? start : first_event_time(st, API_POD, p->name), row[6], CTL_CELL);
	if (!wide)
		return;
	SET(row, 7, "%s", hip && *hip ? hip : "<none>");
	row[8][0] = '\0';
	json_array_foreach(containers, i, c) {
		const char *img = ctl_jstr(c, "image");

		if (n < CTL_CELL)
			n += (size_t)snprintf(row[8] + n, CTL_CELL - n, "%s%s", i ? "," : "", img ? img : "?");
	}
}

/* "app=web,tier=fe" of a selector in either form, "<none>" when empty. */
static void
selector_text(const json_t *sel, char *buf, size_t len)
{
	struct api_selector s;
	struct api_errors e = {0};

	if (sel && api_selector_from_json(sel, &s, &e) == 0) {
		api_selector_format(&s, buf, len);
		api_selector_clear(&s);
		/* strip the braces */
		if (buf[0] == '{') {
			size_t n = strlen(buf);

			memmove(buf, buf + 1, n);
			if (n >= 2)
				buf[n - 2] = '\0';
		}
	} else {
		buf[0] = '\0';
	}
	api_errors_clear(&e);
	if (!buf[0])
		snprintf(buf, len, "<none>");
}

static void
controller_row(const struct ctl_state *st, const struct ctl_kv *rc, int wide, ctl_row row)
{
	struct ctl_kv *s = ctl_state_find(st, API_CONTROLLERSTATUS, NULL, rc->name);
	json_t *containers = ctl_jget(rc->j, "spec.template.spec.containers"), *c, *sel;
	const char *u = s ? ctl_jstr(s->j, "uid") : NULL;
	char uid[24];
	size_t i, n = 0, m = 0;

	snprintf(uid, sizeof(uid), "%lld", (long long)rc->create);
	if (!u || strcmp(u, uid) != 0)
		s = NULL;
	SET(row, 0, "%s", rc->name);
	SET(row, 1, "%lld", ctl_jint(rc->j, "spec.replicas", 1));
	SET(row, 2, "%lld", s ? ctl_jint(s->j, "replicas", 0) : 0);
	SET(row, 3, "%lld", s ? ctl_jint(s->j, "readyReplicas", 0) : 0);
	ctl_age(first_event_time(st, API_CONTROLLER, rc->name), row[4], CTL_CELL);
	if (!wide)
		return;
	row[5][0] = row[6][0] = '\0';
	json_array_foreach(containers, i, c) {
		const char *nm = ctl_jstr(c, "name"), *img = ctl_jstr(c, "image");

		if (n < CTL_CELL)
			n += (size_t)snprintf(row[5] + n, CTL_CELL - n, "%s%s", i ? "," : "", nm ? nm : "?");
		if (m < CTL_CELL)
			m += (size_t)snprintf(row[6] + m, CTL_CELL - m, "%s%s", i ? "," : "", img ? img : "?");
	}
	sel = ctl_jget(rc->j, "spec.selector");
	if (!sel || (json_is_object(sel) && json_object_size(sel) == 0))
		sel = ctl_jget(rc->j, "spec.template.metadata.labels");
	selector_text(sel, row[7], CTL_CELL);
}

static void
service_row(const struct ctl_state *st, const struct ctl_kv *svc, int wide, ctl_row row)
{
	struct ctl_kv *ep = ctl_state_find(st, API_ENDPOINTS, NULL, svc->name);
	const char *ip = ctl_jstr(svc->j, "spec.clusterIP");
	json_t *ports = ctl_jget(svc->j, "spec.ports"), *p, *addrs = ep ? ctl_jget(ep->j, "addresses") : NULL;
	long long tport = ep ? ctl_jint(json_array_get(ctl_jget(ep->j, "ports"), 0), "targetPort", 0) : 0;
	size_t i, n = 0;

	if (!ip && ep)
		ip = ctl_jstr(ep->j, "clusterIP");
	SET(row, 0, "%s", svc->name);
	SET(row, 1, "%s", ip ? ip : "<pending>");
	row[2][0] = '\0';
	json_array_foreach(ports, i, p) {
		const char *proto = ctl_jstr(p, "protocol");
		/* The node port allocated (the endpoints' port i): "80:30080/TCP". */
		long long np = ep ? ctl_jint(json_array_get(ctl_jget(ep->j, "ports"), i), "nodePort", 0) : 0;
		char nps[16] = "";

		if (np > 0)
			snprintf(nps, sizeof(nps), ":%lld", np);
		if (n < CTL_CELL)
			n += (size_t)snprintf(row[2] + n, CTL_CELL - n, "%s%lld%s/%s", i ? "," : "",
			                      ctl_jint(p, "port", 0), nps, proto ? proto : "TCP");
	}
	n = 0;
	row[3][0] = '\0';
	json_array_foreach(addrs, i, p) {
		if (i == 3) {
			snprintf(row[3] + n, CTL_CELL - n, " + %zu more...", json_array_size(addrs) - 3);
			break;
		}
		if (n < CTL_CELL)
			n += (size_t)snprintf(row[3] + n, CTL_CELL - n, "%s%s:%lld", i ? "," : "",
			                      ctl_jstr(p, "ip") ? ctl_jstr(p, "ip") : "?", tport);
	}
	if (!row[3][0])
		SET(row, 3, "<none>");
	if (wide)
		selector_text(ctl_jget(svc->j, "spec.selector"), row[4], CTL_CELL);
}

/* Ready while the lease key exists and, for an agent that heartbeats
 * (spec.renewTime, version 2), its last beat is younger than the lease
 * duration plus a second. The control plane judges by its own clock; this
 * is only a display, from the key's own time. */
int
ctl_node_ready(const struct ctl_state *st, const char *node)
{
	const struct ctl_kv *lease = ctl_state_find(st, API_NODELEASE, NULL, node);
	const char *rt = lease ? ctl_jstr(lease->j, "spec.renewTime") : NULL;
	long long d = lease ? ctl_jint(lease->j, "spec.leaseDurationSeconds", 10) : 0;
	time_t t;

	if (!lease)
		return 0;
	if (!rt || api_time_parse(rt, &t, NULL) < 0)
		return 1;
	return (long long)(time(NULL) - t) <= d + 1 ? 1 : -1;
}

static void
node_row(const struct ctl_state *st, const struct ctl_kv *no, int wide, ctl_row row)
{
	const struct ctl_list *bl = &st->l[API_BINDING];
	const struct ctl_kv *ns = ctl_state_find(st, API_NODESTATUS, NULL, no->name);
	const json_t *sj = ns ? ns->j : no->j; /* version 2: the agent's status has its own key */
	const char *cpu = ctl_jstr(sj, "status.capacity.cpu"), *mem = ctl_jstr(sj, "status.capacity.memory");
	const char *pods = ctl_jstr(sj, "status.capacity.pods");
	json_t *addrs = ctl_jget(sj, "status.addresses"), *a;
	size_t i, bound = 0;

	for (i = 0; i < bl->n; i++)
		bound += strcmp(bl->kv[i].node, no->name) == 0;
	SET(row, 0, "%s", no->name);
	SET(row, 1, "%s%s", ctl_node_ready(st, no->name) > 0 ? "Ready" : "NotReady",
	    json_is_true(ctl_jget(no->j, "spec.unschedulable")) ? ",SchedulingDisabled" : "");
	ctl_labels_text(ctl_jget(no->j, "metadata.labels"), row[2], CTL_CELL);
	SET(row, 3, "%s", cpu ? cpu : "-");
	SET(row, 4, "%s", mem ? mem : "-");
	SET(row, 5, "%zu/%s", bound, pods ? pods : "-");
	if (!wide)
		return;
	SET(row, 6, "<none>");
	json_array_foreach(addrs, i, a) {
		const char *t = ctl_jstr(a, "type"), *ad = ctl_jstr(a, "address");

		if (t && ad && strcmp(t, "InternalIP") == 0) {
			SET(row, 6, "%s", ad);
			break;
		}
	}
	SET(row, 7, "%s", ctl_jstr(sj, "status.podCIDR") ? ctl_jstr(sj, "status.podCIDR") : "<none>");
	SET(row, 8, "%s", ctl_jstr(sj, "status.agentVersion") ? ctl_jstr(sj, "status.agentVersion") : "<none>");
}

void
ctl_event_source(const struct ctl_kv *ev, char *buf, size_t len)
{
	const char *src = ctl_jstr(ev->j, "source");

	/* A node's event names the node that wrote it, whatever it claims. */
	if (ev->node && *ev->node)
		snprintf(buf, len, "%s, %s", src ? src : "?", ev->node);
	else
		snprintf(buf, len, "%s", src ? src : "?");
}

static void
event_row(const struct ctl_kv *ev, int wide, ctl_row row)
{
	const struct ctl_kind *k = ctl_kind_of(ev->object);
	const char *t = ctl_jstr(ev->j, "type"), *r = ctl_jstr(ev->j, "reason"), *m = ctl_jstr(ev->j, "message");

	ctl_age(ctl_jstr(ev->j, "lastTimestamp"), row[0], CTL_CELL);
	SET(row, 1, "%s", t ? t : "?");
	SET(row, 2, "%s", r ? r : "?");
	SET(row, 3, "%s/%s", k ? k->singular : "?", ev->name);
	SET(row, 4, "%s", m ? m : "");
	SET(row, 5, "%lld", ctl_jint(ev->j, "count", 1));
	if (!wide)
		return;
	ctl_event_source(ev, row[6], CTL_CELL);
	ctl_age(ctl_jstr(ev->j, "firstTimestamp"), row[7], CTL_CELL);
}

size_t
ctl_row_of(const struct ctl_state *st, enum api_kind k, const struct ctl_kv *kv, int wide, ctl_row row)
{
	size_t n = ctl_header(k, wide, row);

	switch (k) {
	case API_POD: pod_row(st, kv, wide, row); break;
	case API_CONTROLLER: controller_row(st, kv, wide, row); break;
	case API_SERVICE: service_row(st, kv, wide, row); break;
	case API_NODE: node_row(st, kv, wide, row); break;
	case API_EVENT: event_row(kv, wide, row); break;
	case API_CONFIGMAP:
	case API_SECRET: ctl_config_row(k, kv, row); break;
	default: return 0;
	}
	return n;
}
