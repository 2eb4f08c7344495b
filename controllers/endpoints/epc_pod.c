/*
 * epc_pod.c: what the pods cache keeps of a pod (struct epc_pod), moved
 * out of the whole pod once it is decoded and checked, and the one
 * question asked of a pod's ports. It does not decide which pods a
 * service lists (epc_sync.c) nor which status is believed (epc_trust.c).
 */
#include <stdlib.h>

#include "epc.h"

/* The containers' named ports of s, in order, their names moved out of
 * s; -1 when out of memory (s untouched). */
static int
take_named(struct api_pod_spec *s, struct epc_pod *ep)
{
	size_t n = 0;

	for (size_t i = 0; i < s->n_containers; i++)
		for (size_t j = 0; j < s->containers[i].n_ports; j++)
			n += s->containers[i].ports[j].name != NULL;
	if (n && !(ep->named = calloc(n, sizeof(*ep->named))))
		return -1;
	for (size_t i = 0; i < s->n_containers; i++)
		for (size_t j = 0; j < s->containers[i].n_ports; j++) {
			struct api_container_port *cp = &s->containers[i].ports[j];

			if (cp->name) {
				ep->named[ep->n_named++] = *cp;
				cp->name = NULL; /* moved */
			}
		}
	return 0;
}

struct epc_pod *
epc_pod_new(struct api_pod *p)
{
	struct epc_pod *ep = calloc(1, sizeof(*ep));

	if (!ep || take_named(&p->spec, ep) < 0) {
		free(ep);
		return NULL;
	}
	ep->labels = p->meta.labels;
	p->meta.labels = (struct api_labels){0};
	ep->deletion_grace_p1 = p->meta.deletion_grace_p1;
	ep->host_network = p->spec.host_network;
	return ep;
}

void
epc_pod_free(void *pod)
{
	struct epc_pod *ep = pod;

	if (!ep)
		return;
	api_labels_clear(&ep->labels);
	for (size_t i = 0; i < ep->n_named; i++)
		free(ep->named[i].name);
	free(ep->named);
	free(ep);
}

int
epc_pod_target(const struct api_service_port *sp, const struct epc_pod *pod)
{
	if (!sp->target_port_name)
		return sp->target_port;
	return api_port_by_name(pod->named, pod->n_named, sp->target_port_name, sp->protocol);
}
