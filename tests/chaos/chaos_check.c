/*
 * chaos_check.c: the chaos suite's invariants, read from etcd (one
 * snapshot of every key below the prefix, at one revision) and from each
 * minion's dockerd (its containers with a skiff.pod label, all states).
 * Each failed invariant gets its evidence: the objects, counts and
 * containers that break it.
 *
 * It only reads; it does not wait (the caller polls it until everything
 * holds or its deadline passes) and reads no log.
 */
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chaos.h"
#include "e2e_bed.h"

static const char *const NAMES[INV_N] = {
	[INV_COUNTS] = "exact-counts",
	[INV_ONE_BINDING] = "one-binding-per-pod",
	[INV_BINDING_NODE] = "binding-node-exists",
	[INV_ORPHANS] = "no-orphan-container",
	[INV_ENDPOINTS] = "endpoints-ready-pods",
	[INV_DUPLICATES] = "no-duplicate-container",
	[INV_RUNTIME] = "runtime-ready-false-while-frozen",
};

void
chaos_note(struct chaos_inv *inv, const char *fmt, ...)
{
	size_t l = strlen(inv->evidence);
	va_list ap;

	inv->ok = 0;
	if (l + 4 >= sizeof(inv->evidence))
		return;
	if (l)
		l += (size_t)snprintf(inv->evidence + l, sizeof(inv->evidence) - l, "; ");
	va_start(ap, fmt);
	vsnprintf(inv->evidence + l, sizeof(inv->evidence) - l, fmt, ap);
	va_end(ap);
}

static const char *
str_at(json_t *j, const char *a, const char *b)
{
	json_t *v = json_object_get(j, a);

	if (b)
		v = json_object_get(v, b);
	return json_string_value(v);
}

/* The name of obj's owner of that kind, or NULL. */
static const char *
owner(json_t *obj, const char *kind)
{
	json_t *r;
	size_t i;

	json_array_foreach(json_object_get(json_object_get(obj, "metadata"), "ownerReferences"), i, r) {
		if (strcmp(str_at(r, "kind", NULL) ?: "", kind) == 0)
			return str_at(r, "name", NULL);
	}
	return NULL;
}

/* pod name -> array of the nodes it is bound to (new object). */
static json_t *
bindings_of(json_t *snap)
{
	json_t *b = json_object(), *v;
	const char *k;

	json_object_foreach(snap, k, v) {
		const char *slash;
		char node[128];

		if (strncmp(k, "bindings/", 9) != 0 || !(slash = strchr(k + 9, '/')))
			continue;
		snprintf(node, sizeof(node), "%.*s", (int)(slash - (k + 9)), k + 9);
		if (!json_object_get(b, slash + 1))
			json_object_set_new(b, slash + 1, json_array());
		json_array_append_new(json_object_get(b, slash + 1), json_string(node));
	}
	return b;
}

/* The status of pod (borrowed) on the one node it is bound to, or NULL. */
static json_t *
status_of(json_t *snap, json_t *bound, const char *pod)
{
	json_t *nodes = json_object_get(bound, pod);
	char k[256];

	if (json_array_size(nodes) != 1)
		return NULL;
	snprintf(k, sizeof(k), "podstatus/%s/%s", json_string_value(json_array_get(nodes, 0)), pod);
	return json_object_get(snap, k);
}

static int
running(json_t *st)
{
	return strcmp(str_at(st, "phase", NULL) ?: "", "Running") == 0;
}

static int
ready(json_t *st)
{
	json_t *c;
	size_t i;

	json_array_foreach(json_object_get(st, "conditions"), i, c) {
		if (strcmp(str_at(c, "type", NULL) ?: "", "Ready") == 0)
			return strcmp(str_at(c, "status", NULL) ?: "", "True") == 0;
	}
	return 0;
}

/* Pods owned by controller rc: how many, how many Running. */
static void
count_rc(json_t *snap, json_t *bound, const char *rc, int *owned, int *run)
{
	json_t *v;
	const char *k;

	*owned = *run = 0;
	json_object_foreach(snap, k, v) {
		if (strncmp(k, "pods/", 5) != 0 || strcmp(owner(v, "ReplicationController") ?: "", rc) != 0)
			continue;
		(*owned)++;
		*run += running(status_of(snap, bound, k + 5));
	}
}

static void
check_counts(json_t *snap, json_t *bound, struct chaos_inv *inv)
{
	json_t *v, *d;
	const char *k, *dk;
	int owned, run;

	json_object_foreach(snap, k, v) {
		long long want = json_integer_value(json_object_get(json_object_get(v, "spec"), "replicas"));

		if (strncmp(k, "controllers/", 12) == 0) {
			count_rc(snap, bound, k + 12, &owned, &run);
			if (owned != want || run != want)
				chaos_note(inv, "rc %s: spec.replicas=%lld, pods=%d, Running=%d", k + 12, want, owned,
				           run);
		} else if (strncmp(k, "pods/", 5) == 0 && !owner(v, "ReplicationController") &&
		           !running(status_of(snap, bound, k + 5))) {
			chaos_note(inv, "bare pod %s: not Running (phase %s)", k + 5,
			           str_at(status_of(snap, bound, k + 5), "phase", NULL) ?: "none");
		}
	}
	json_object_foreach(snap, dk, d) {
		long long want = json_integer_value(json_object_get(json_object_get(d, "spec"), "replicas"));
		long long rcs = 0, pods = 0;

		if (strncmp(dk, "deployments/", 12) != 0)
			continue;
		json_object_foreach(snap, k, v) {
			if (strncmp(k, "controllers/", 12) != 0 || strcmp(owner(v, "Deployment") ?: "", dk + 12) != 0)
				continue;
			rcs += json_integer_value(json_object_get(json_object_get(v, "spec"), "replicas"));
			count_rc(snap, bound, k + 12, &owned, &run);
			pods += run;
		}
		if (rcs != want || pods != want)
			chaos_note(inv,
			           "deployment %s: spec.replicas=%lld, its controllers' replicas=%lld, Running=%lld",
			           dk + 12, want, rcs, pods);
	}
}

static void
check_bindings(json_t *snap, json_t *bound, struct chaos_inv *one, struct chaos_inv *node)
{
	json_t *v;
	const char *k;
	size_t i;

	json_object_foreach(snap, k, v) {
		size_t n = json_array_size(json_object_get(bound, k + 5));

		if (strncmp(k, "pods/", 5) == 0 && n != 1)
			chaos_note(one, "pod %s: %zu bindings", k + 5, n);
	}
	json_object_foreach(bound, k, v) {
		char key[256], *s;
		json_t *n;

		snprintf(key, sizeof(key), "pods/%s", k);
		if (!json_object_get(snap, key)) {
			s = json_dumps(v, JSON_COMPACT);
			chaos_note(one, "binding of pod %s (nodes %s) without its pod", k, s ?: "?");
			free(s);
		}
		json_array_foreach(v, i, n) {
			snprintf(key, sizeof(key), "nodes/%s", json_string_value(n));
			if (!json_object_get(snap, key))
				chaos_note(node, "pod %s bound to %s, which has no P/nodes key", k,
				           json_string_value(n));
		}
	}
}

/* Pod p's labels include every pair of sel. */
static int
matches(json_t *p, json_t *sel)
{
	json_t *labels = json_object_get(json_object_get(p, "metadata"), "labels"), *v;
	const char *k;

	if (!json_object_size(sel))
		return 0;
	json_object_foreach(sel, k, v) {
		if (!json_equal(json_object_get(labels, k), v))
			return 0;
	}
	return 1;
}

/* The ready pods behind service svc (sorted new array of names). */
static json_t *
ready_pods(json_t *snap, json_t *bound, json_t *svc)
{
	json_t *sel = json_object_get(json_object_get(svc, "spec"), "selector"), *want = json_array(), *p;
	const char *k;

	json_object_foreach(snap, k, p) {
		json_t *st;

		if (strncmp(k, "pods/", 5) != 0 || !matches(p, sel) ||
		    json_object_get(json_object_get(p, "metadata"), "deletionGracePeriodSeconds"))
			continue;
		if ((st = status_of(snap, bound, k + 5)) && running(st) && ready(st))
			json_array_append_new(want, json_string(k + 5));
	}
	return want;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* arr's strings, sorted, space-separated, into buf. */
static void
sorted_str(json_t *arr, char *buf, size_t len)
{
	size_t n = json_array_size(arr), l = 0;
	const char **v = calloc(n ? n : 1, sizeof(*v));

	buf[0] = '\0';
	for (size_t i = 0; v && i < n; i++)
		v[i] = json_string_value(json_array_get(arr, i)) ?: "";
	if (v)
		qsort(v, n, sizeof(*v), cmp_str);
	for (size_t i = 0; v && i < n && l < len; i++)
		l += (size_t)snprintf(buf + l, len - l, "%s%s", i ? " " : "", v[i]);
	free(v);
}

static void
check_endpoints(json_t *snap, json_t *bound, struct chaos_inv *inv)
{
	json_t *svc, *a;
	const char *k;
	size_t i;

	json_object_foreach(snap, k, svc) {
		char key[256], want_s[1024], got_s[1024];
		json_t *want, *got, *eps;

		if (strncmp(k, "services/", 9) != 0)
			continue;
		snprintf(key, sizeof(key), "endpoints/%s", k + 9);
		eps = json_object_get(snap, key);
		want = ready_pods(snap, bound, svc);
		got = json_array();
		json_array_foreach(json_object_get(eps, "addresses"), i, a) {
			json_t *nodes = json_object_get(bound, str_at(a, "pod", NULL) ?: "");

			json_array_append_new(got, json_string(str_at(a, "pod", NULL) ?: "?"));
			if (json_array_size(nodes) != 1 ||
			    strcmp(json_string_value(json_array_get(nodes, 0)), str_at(a, "node", NULL) ?: "") != 0)
				chaos_note(inv, "service %s: address of pod %s says node %s, bound to another", k + 9,
				           str_at(a, "pod", NULL) ?: "?", str_at(a, "node", NULL) ?: "?");
		}
		sorted_str(want, want_s, sizeof(want_s));
		sorted_str(got, got_s, sizeof(got_s));
		if (strcmp(want_s, got_s) != 0)
			chaos_note(inv, "service %s: endpoints [%s], ready pods [%s]%s", k + 9, got_s, want_s,
			           eps ? "" : " (no endpoints key)");
		json_decref(want);
		json_decref(got);
	}
}

/* One container c of minion node: orphan? duplicate (seen counts running
 * ones per pod, uid and container)? */
static void
check_container(json_t *snap, const char *node, json_t *c, json_t *seen, struct chaos_inv *orph, struct chaos_inv *dup)
{
	json_t *lb = json_object_get(c, "Labels"), *b;
	const char *pod = str_at(lb, "skiff.pod", NULL) ?: "?", *uid = str_at(lb, "skiff.uid", NULL) ?: "?";
	const char *ctr = str_at(lb, "skiff.container", NULL) ?: "?", *state = str_at(c, "State", NULL) ?: "?";
	char key[384], id[16];
	long long n;

	snprintf(id, sizeof(id), "%.12s", str_at(c, "Id", NULL) ?: "?");
	snprintf(key, sizeof(key), "bindings/%s/%s", node, pod);
	b = json_object_get(json_object_get(snap, key), "pod");
	if (!b || strcmp(str_at(b, "metadata", "uid") ?: "", uid) != 0)
		chaos_note(orph, "%s: container %s (pod %s uid %s, %s, %s) but %s", node, id, pod, uid, ctr, state,
		           b ? "the binding there has another uid" : "the pod is not bound there");
	if (strcmp(state, "running") != 0)
		return;
	snprintf(key, sizeof(key), "%s/%s/%s", pod, uid, ctr);
	n = json_integer_value(json_object_get(seen, key)) + 1;
	json_object_set_new(seen, key, json_integer(n));
	if (n == 2)
		chaos_note(dup, "%s: two running containers for pod %s uid %s container %s (one is %s)", node, pod, uid,
		           ctr, id);
}

static void
check_docker(json_t *snap, struct chaos_inv *orph, struct chaos_inv *dup)
{
	for (int i = 1; i <= bed_minions(); i++) {
		json_t *list = bed_pod_container_list(i), *c, *seen = json_object();
		char node[16];
		size_t k;

		snprintf(node, sizeof(node), "m%d", i);
		if (!list) {
			chaos_note(orph, "%s: dockerd did not list its containers", node);
			chaos_note(dup, "%s: dockerd did not list its containers", node);
		}
		json_array_foreach(list, k, c) {
			check_container(snap, node, c, seen, orph, dup);
		}
		json_decref(list);
		json_decref(seen);
	}
}

int
chaos_check(struct chaos_inv *inv)
{
	json_t *snap = bed_snapshot(""), *bound;
	int ok = 0;

	for (int i = 0; i < INV_N; i++) {
		inv[i].name = NAMES[i];
		if (i != INV_RUNTIME) {
			inv[i].ok = 1;
			inv[i].evidence[0] = '\0';
		}
	}
	if (!snap) {
		for (int i = 0; i < INV_N; i++)
			if (i != INV_RUNTIME)
				chaos_note(&inv[i], "cannot read etcd");
		return 0;
	}
	bound = bindings_of(snap);
	check_counts(snap, bound, &inv[INV_COUNTS]);
	check_bindings(snap, bound, &inv[INV_ONE_BINDING], &inv[INV_BINDING_NODE]);
	check_endpoints(snap, bound, &inv[INV_ENDPOINTS]);
	check_docker(snap, &inv[INV_ORPHANS], &inv[INV_DUPLICATES]);
	json_decref(bound);
	json_decref(snap);
	for (int i = 0; i < INV_N; i++)
		ok += i != INV_RUNTIME && inv[i].ok;
	return ok;
}
