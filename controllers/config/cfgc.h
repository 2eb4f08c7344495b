/*
 * cfgc.h: skiff-config-controller's private header. The controller keeps,
 * for every node, P/nodeconfig/NODE/configmaps/NAME and
 * P/nodeconfig/NODE/secrets/NAME equal to the ConfigMaps and Secrets that
 * the pods bound to NODE refer to (the same bytes as P/configmaps/NAME,
 * P/secrets/NAME), and removes the copies no pod there needs any more.
 * The work queue's keys are node names.
 */
#ifndef SKIFF_CFGC_H
#define SKIFF_CFGC_H

#include "api.h"
#include "controller.h"
#include "daemon.h"
#include "informer.h"
#include "workqueue.h"

struct cfgc {
	struct skiff_daemon *d;
	const char *prefix;
	/* bindings: NODE/POD → struct cfgc_refs; configmaps, secrets: NAME →
	 * raw value (obj non-NULL when valid); copies: NODE/KIND/NAME. */
	struct informer *bindings, *configmaps, *secrets, *copies;
	struct controller *ctl;
	struct wq *q;
	struct metric *writes, *deletes;
};

/* What one binding's pod refers to: "configmaps/NAME" and "secrets/NAME",
 * sorted, unique. */
struct cfgc_refs {
	char **refs;
	size_t n;
};

/* cfgc_refs.c */
/* The references of the pod in a binding value (new; cfgc_refs_free), or
 * NULL when it does not parse or out of memory. */
struct cfgc_refs *cfgc_refs_of_binding(const char *value, size_t len);
void cfgc_refs_free(void *refs);
/* 1 when r holds ref ("configmaps/NAME"). O(log n). */
int cfgc_refs_has(const struct cfgc_refs *r, const char *ref);

/* cfgc_sync.c */
void cfgc_reconcile(struct wq *q, const char *node, void *arg);
/* Enqueue every node with a binding referring to ref ("configmaps/NAME"),
 * or holding a copy of it; ref NULL: every node with a binding or a copy.
 * O(bindings + copies). */
void cfgc_enqueue_for(struct cfgc *c, const char *ref);
/* Enqueue NODE of a name NODE/... (bindings, copies). */
void cfgc_enqueue_node_of(struct cfgc *c, const char *name);
/* Writes in flight (for a clean stop). */
int cfgc_busy(void *arg);

#endif
