/*
 * rc_pod.c: what the pods cache keeps of a pod (struct rc_pod), moved out
 * of the whole pod once it is decoded and checked. It does not decide
 * what a pod counts for (rc_sync.c does).
 */
#include <stdlib.h>
#include <string.h>

#include "rc.h"

struct rc_pod *
rc_pod_new(struct api_pod *p)
{
	struct rc_pod *rp = calloc(1, sizeof(*rp));
	const struct api_owner_ref *own = api_meta_owner(&p->meta, API_CONTROLLER_KIND);

	if (!rp)
		return NULL;
	rp->labels = p->meta.labels;
	p->meta.labels = (struct api_labels){0};
	if ((rp->owned = own != NULL)) {
		struct api_owner_ref *mine = &p->meta.owners[own - p->meta.owners]; /* ours to move */

		rp->owner = mine->name;
		rp->owner_uid = mine->uid;
		mine->name = mine->uid = NULL;
	}
	rp->deletion_grace_p1 = p->meta.deletion_grace_p1;
	return rp;
}

struct rc_pod *
rc_pod_clone(const struct rc_pod *rp)
{
	struct rc_pod *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->owned = rp->owned;
	c->deletion_grace_p1 = rp->deletion_grace_p1;
	if (api_labels_copy(&c->labels, &rp->labels) < 0 || (rp->owner && !(c->owner = strdup(rp->owner))) ||
	    (rp->owner_uid && !(c->owner_uid = strdup(rp->owner_uid)))) {
		rc_pod_free(c);
		return NULL;
	}
	return c;
}

void
rc_pod_free(void *obj)
{
	struct rc_pod *rp = obj;

	if (rp) {
		api_labels_clear(&rp->labels);
		free(rp->owner);
		free(rp->owner_uid);
		free(rp);
	}
}
