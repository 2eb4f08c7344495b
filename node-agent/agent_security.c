/*
 * agent_security.c: a pod's securityContext and host namespaces as Docker
 * create options (runAsUser and runAsGroup as User "uid[:gid]", fsGroup and
 * supplementalGroups as GroupAdd, readOnlyRootFilesystem, no-new-privileges,
 * capabilities, privileged, hostPID, hostIPC; hostNetwork on the sandbox)
 * and the PID limit every container gets; and runAsNonRoot, checked as the kubelet does against the
 * user the image would run as. It makes no Docker call and does not decide
 * whether a node allows privilege (agent_plan.c refuses the pod first).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent_security.h"

static json_t *
strings(char *const *v, size_t n)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

/* fsGroup then supplementalGroups, as decimal strings; NULL when none. */
static json_t *
groups(const struct api_pod_security_context *sc)
{
	json_t *a;
	char b[32];
	size_t i;

	if (!sc->fs_group.set && sc->n_supplemental_groups == 0)
		return NULL;
	a = json_array();
	if (sc->fs_group.set) {
		snprintf(b, sizeof(b), "%lld", (long long)sc->fs_group.v);
		json_array_append_new(a, json_string(b));
	}
	for (i = 0; i < sc->n_supplemental_groups; i++) {
		snprintf(b, sizeof(b), "%lld", (long long)sc->supplemental_groups[i]);
		json_array_append_new(a, json_string(b));
	}
	return a;
}

void
sec_create_opts(json_t *body, json_t *hc, const struct api_pod *pod, const struct api_container *c, long pids_limit)
{
	const struct api_security_context *sc = &c->security_context;
	struct api_opt uid = api_sec_run_as_user(&pod->spec, c), gid = api_sec_run_as_group(&pod->spec, c);
	json_t *g = groups(&pod->spec.security_context);
	char user[64];

	if (uid.set) { /* the decoder refuses a group without a user */
		if (gid.set)
			snprintf(user, sizeof(user), "%lld:%lld", (long long)uid.v, (long long)gid.v);
		else
			snprintf(user, sizeof(user), "%lld", (long long)uid.v);
		json_object_set_new(body, "User", json_string(user));
	}
	if (g)
		json_object_set_new(hc, "GroupAdd", g);
	if (sc->read_only_root_filesystem)
		json_object_set_new(hc, "ReadonlyRootfs", json_true());
	if (sc->allow_privilege_escalation.set && !sc->allow_privilege_escalation.v)
		json_object_set_new(hc, "SecurityOpt", json_pack("[s]", "no-new-privileges"));
	if (sc->n_cap_add)
		json_object_set_new(hc, "CapAdd", strings(sc->cap_add, sc->n_cap_add));
	if (sc->n_cap_drop)
		json_object_set_new(hc, "CapDrop", strings(sc->cap_drop, sc->n_cap_drop));
	if (sc->privileged)
		json_object_set_new(hc, "Privileged", json_true());
	if (pod->spec.host_pid)
		json_object_set_new(hc, "PidMode", json_string("host"));
	if (pod->spec.host_ipc)
		json_object_set_new(hc, "IpcMode", json_string("host"));
	if (pids_limit > 0)
		json_object_set_new(hc, "PidsLimit", json_integer(pids_limit));
}

void
sec_infra_opts(json_t *body, json_t *hc, const struct api_pod *pod)
{
	if (!pod->spec.host_network)
		return;
	json_object_set_new(hc, "NetworkMode", json_string("host"));
	json_object_del(hc, "PortBindings");
	json_object_del(body, "Hostname");
}

int
sec_host_network(const json_t *inspect)
{
	const char *nm = json_string_value(json_object_get(json_object_get(inspect, "HostConfig"), "NetworkMode"));

	return nm && strcmp(nm, "host") == 0;
}

int
sec_needs_image_user(const struct api_pod *pod, const struct api_container *c)
{
	return api_sec_run_as_non_root(&pod->spec, c);
}

int
sec_check_non_root(const struct api_pod *pod, const struct api_container *c, const json_t *image, char *msg, size_t len)
{
	struct api_opt uid = api_sec_run_as_user(&pod->spec, c);
	const char *user = json_string_value(json_object_get(json_object_get(image, "Config"), "User"));
	char name[128];
	size_t n;

	if (!api_sec_run_as_non_root(&pod->spec, c) || (uid.set && uid.v != 0))
		return 0;
	if (uid.set) {
		snprintf(msg, len, "container's runAsUser breaks non-root policy (pod: \"%s\", container: %s)",
		         pod->meta.name, c->name);
		return -1;
	}
	n = user ? strcspn(user, ":") : 0; /* "user:group": the user decides */
	snprintf(name, sizeof(name), "%.*s", (int)(n < sizeof(name) ? n : sizeof(name) - 1), user ? user : "");
	if (!image || (name[0] && strspn(name, "0123456789") != strlen(name))) {
		snprintf(
			msg, len,
			"container has runAsNonRoot and image has non-numeric user (%s), cannot verify user is non-root "
			"(pod: \"%s\", container: %s)",
			image ? name : "unknown", pod->meta.name, c->name);
		return -1;
	}
	if (!name[0] || strtoll(name, NULL, 10) == 0) {
		snprintf(msg, len, "container has runAsNonRoot and image will run as root (pod: \"%s\", container: %s)",
		         pod->meta.name, c->name);
		return -1;
	}
	return 0;
}
