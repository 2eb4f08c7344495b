/*
 * api_meta.h: the "metadata" part every user object carries: name, uid
 * (the key's create revision, as a decimal string), labels, annotations
 * and ownerReferences.
 */
#ifndef SKIFF_API_META_H
#define SKIFF_API_META_H

#include <stddef.h>

#include "api_errors.h"
#include "api_labels.h"

struct api_owner_ref {
	char *kind; /* "ReplicationController" */
	char *name;
	char *uid;      /* the owner's create revision */
	int controller; /* "controller": true */
};

struct api_meta {
	char *name; /* NULL when absent */
	char *uid;  /* NULL when absent */
	struct api_labels labels;
	struct api_labels annotations;
	struct api_owner_ref *owners;
	size_t n_owners;
	/* deletionGracePeriodSeconds + 1 (0: absent), as Kubernetes sets it on
	 * an object being deleted: skiffctl delete --grace-period writes it on
	 * a pod, the agent stops the pod's containers with at most that long. */
	int64_t deletion_grace_p1;
};

/* Check that name, if present, equals the last segment of the object's
 * key. Returns 0, or -1 with "metadata.name: must equal the key's name ..."
 * added to errs. */
int api_meta_check_name(const struct api_meta *m, const char *key_name, struct api_errors *errs);
/* The owner reference of kind, or NULL. Borrowed. */
const struct api_owner_ref *api_meta_owner(const struct api_meta *m, const char *kind);
/* Replace the owner references by one {kind, name, uid, controller: true}.
 * 0 or -1 (out of memory; m unchanged). */
int api_meta_set_owner(struct api_meta *m, const char *kind, const char *name, const char *uid);
/* Replace a string field (name, uid) by a copy of s (NULL clears).
 * 0 or -1 (out of memory; *field unchanged). */
int api_set_string(char **field, const char *s);
void api_meta_clear(struct api_meta *m);

#endif
