/*
 * agent_pods_img.c: the images Docker said it has, for a short while, so
 * that 50 pods of one image ask Docker once whether it is there, not 50
 * times. A pass fills the planner's image knowledge (plan_in.img) from it
 * for containers whose pull policy is IfNotPresent or Never; the planner
 * then goes straight to the create.
 *
 * It deliberately does not stand for an answer it cannot give: a pull
 * policy Always still pulls, a runAsNonRoot container still inspects (its
 * image's user decides), and an image removed within IMG_TTL is found by
 * the create itself (404 "No such image"), which forgets the entry and
 * lets the planner pull (or report ErrImageNeverPull) as if the inspect
 * had said absent (agent_exec.c, create_done). Only presence is kept, by
 * the reference as the spec writes it.
 */
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "agent_security.h"

#define IMG_MAX 32   /* references kept */
#define IMG_TTL 30.0 /* seconds a "present" answer stands */

struct img_seen {
	char *ref;
	double at; /* agent_now() of the answer */
};

/* The entry of ref, or NULL. */
static struct img_seen *
img_find(struct agent *a, const char *ref)
{
	for (size_t i = 0; a->imgs && i < IMG_MAX; i++)
		if (a->imgs[i].ref && strcmp(a->imgs[i].ref, ref) == 0)
			return &a->imgs[i];
	return NULL;
}

void
pods_img_seen(struct agent *a, const char *ref)
{
	struct img_seen *e = ref ? img_find(a, ref) : NULL, *old = NULL;
	char *dup;

	if (!ref)
		return;
	if (e) {
		e->at = agent_now(a);
		return;
	}
	if (!a->imgs && !(a->imgs = calloc(IMG_MAX, sizeof(*a->imgs))))
		return;
	for (size_t i = 0; i < IMG_MAX && !e; i++) {
		if (!a->imgs[i].ref)
			e = &a->imgs[i];
		else if (!old || a->imgs[i].at < old->at)
			old = &a->imgs[i];
	}
	if (!e)
		e = old;
	if (!(dup = strdup(ref)))
		return;
	free(e->ref);
	e->ref = dup;
	e->at = agent_now(a);
}

void
pods_img_forget(struct agent *a, const char *ref)
{
	struct img_seen *e = ref ? img_find(a, ref) : NULL;

	if (e) {
		free(e->ref);
		e->ref = NULL;
	}
}

void
pods_img_known(struct agent *a, const struct api_pod *pod, unsigned char *img, size_t n)
{
	double now = agent_now(a);

	for (size_t j = 0; j < n; j++) {
		const struct api_container *c = api_spec_container(&pod->spec, j);
		struct img_seen *e;

		if (img[j] != PLAN_IMG_UNKNOWN || c->image_pull_policy == API_PULL_ALWAYS ||
		    sec_needs_image_user(pod, c) || !(e = img_find(a, c->image)))
			continue;
		if (now - e->at <= IMG_TTL)
			img[j] = PLAN_IMG_PRESENT;
	}
}

void
pods_img_free(struct agent *a)
{
	for (size_t i = 0; a->imgs && i < IMG_MAX; i++)
		free(a->imgs[i].ref);
	free(a->imgs);
	a->imgs = NULL;
}
