/*
 * sched_filter.c: the predicates that decide whether a pod fits a node,
 * and the summary Kubernetes gives when it fits none. Pure functions over
 * struct sched_nodeview / sched_podreq: no etcd, no state, no allocation.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sched.h"

static const char *const reasons[SF_COUNT] = {
	"node(s) were not ready",
	"node(s) were unschedulable",
	"node(s) didn't match node selector",
	"Insufficient cpu",
	"Insufficient memory",
	"Too many pods",
	"node(s) didn't have free ports for the requested pod ports",
	"node(s) didn't allow privileged pods (skiff-agent --allow-privileged)",
	"node(s) didn't allow the pod's hostPath volumes (skiff-agent --allow-host-path)",
	"node(s) didn't allow the pod's host ports (skiff-agent --host-port-range)",
	"node(s) had untolerated taint {node.kubernetes.io/disk-pressure: }",
};

const char *
sched_filter_reason(unsigned bit)
{
	return bit < SF_COUNT ? reasons[bit] : "unknown";
}

static int
port_taken(const struct sched_nodeview *n, const struct sched_hostport *hp)
{
	for (size_t i = 0; i < n->nports; i++)
		if (n->ports[i].count > 0 && n->ports[i].port == hp->port && n->ports[i].proto == hp->proto)
			return 1;
	return 0;
}

/* used + want > cap, with SCHED_UNLIMITED never exceeded. */
static int
over(int64_t cap, int64_t used, int64_t want)
{
	return cap != SCHED_UNLIMITED && want > 0 && sched_add_sat(used, want) > cap;
}

unsigned
sched_filter_policy(const struct api_node_status *st, const struct sched_podreq *p)
{
	unsigned why = 0;

	if (!st)
		return 0;
	if (p->privileged && !st->allow_privileged)
		why |= SF_PRIVILEGED;
	for (size_t i = 0; i < p->nvolumes; i++)
		if (p->volumes[i].source == API_VOL_HOST_PATH &&
		    !api_path_under(p->volumes[i].path, st->allowed_host_paths, st->n_allowed_host_paths)) {
			why |= SF_HOST_PATH;
			break;
		}
	for (size_t i = 0; i < p->nports && st->host_port_lo > 0; i++)
		if (p->ports[i].port < st->host_port_lo || p->ports[i].port > st->host_port_hi) {
			why |= SF_PORT_RANGE;
			break;
		}
	return why;
}

unsigned
sched_filter(const struct sched_nodeview *n, const struct sched_podreq *p)
{
	unsigned why = 0;

	if (!n->ready)
		why |= SF_NOT_READY;
	if (n->unschedulable)
		why |= SF_UNSCHEDULABLE;
	if (n->disk_pressure)
		why |= SF_DISK_PRESSURE;
	if (p->selector && p->selector->n > 0 && (!n->labels || !api_labels_subset(p->selector, n->labels)))
		why |= SF_SELECTOR;
	if (over(n->cap_cpu, n->used_cpu, p->cpu))
		why |= SF_CPU;
	if (over(n->cap_mem, n->used_mem, p->mem))
		why |= SF_MEMORY;
	if (over(n->cap_pods, n->used_pods, 1))
		why |= SF_PODS;
	for (size_t i = 0; i < p->nports; i++)
		if (port_taken(n, &p->ports[i])) {
			why |= SF_PORTS;
			break;
		}
	return why | sched_filter_policy(n->policy, p);
}

struct reason_count {
	unsigned count;
	const char *text;
};

static int
by_count(const void *a, const void *b)
{
	const struct reason_count *x = a, *y = b;

	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	return strcmp(x->text, y->text);
}

size_t
sched_filter_summary(const unsigned counts[SF_COUNT], size_t nnodes, char *buf, size_t len)
{
	struct reason_count rc[SF_COUNT];
	size_t n = 0, off;
	int w;

	for (unsigned i = 0; i < SF_COUNT; i++)
		if (counts[i])
			rc[n++] = (struct reason_count){counts[i], reasons[i]};
	qsort(rc, n, sizeof(rc[0]), by_count);
	w = snprintf(buf, len, "0/%zu nodes are available%s", nnodes, n ? ":" : ".");
	off = w > 0 ? (size_t)w : 0;
	for (size_t i = 0; i < n; i++) {
		w = snprintf(off < len ? buf + off : NULL, off < len ? len - off : 0, " %u %s%s", rc[i].count,
		             rc[i].text, i + 1 < n ? "," : ".");
		off += w > 0 ? (size_t)w : 0;
	}
	return off;
}
