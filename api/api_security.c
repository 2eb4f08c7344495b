/*
 * api_security.c: securityContext (pod and container level) and the pod's
 * hostPID, hostIPC and hostNetwork: decode with their ranges, encode only what is set
 * (so a pod without them keeps its serialization and spec hash), free, and
 * the effective values a container runs with (its own field, else the
 * pod's). It does not judge a node's permission or an image's user: the
 * agent does (node-agent/agent_security.c, agent_plan.c). Fields of
 * securityContext that Skiff does not implement are refused by the field
 * policy (api_fields.c) before these decoders matter.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_internal.h"
#include "api_names.h"
#include "api_pod.h"
#include "api_security.h"

/* ------------------------------------------------------------------------
 * Decoding
 */
static void
dec_opt_int(struct api_dec *d, const json_t *j, const char *key, int64_t max, struct api_opt *o)
{
	o->set = dec_int(d, j, key, 0, max, &o->v);
}

static void
dec_opt_bool(struct api_dec *d, const json_t *j, const char *key, struct api_opt *o)
{
	int b = 0;

	o->set = dec_bool(d, j, key, &b);
	o->v = b;
}

/* A capability as Kubernetes and Docker name it: NET_ADMIN, CAP_CHOWN, ALL. */
static void
check_caps(struct api_dec *d, const char *key, char *const *v, size_t n)
{
	char q[96];
	size_t i, mark;

	for (i = 0; i < n; i++) {
		size_t l = strspn(v[i], "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_");

		if (l > 0 && l <= 40 && v[i][l] == '\0')
			continue;
		mark = dec_push(d, key);
		dec_push_index(d, i);
		dec_err(d, "%s is not a capability name (letters, digits and '_', e.g. NET_ADMIN)",
		        api_quote(q, sizeof(q), v[i]));
		dec_pop(d, mark);
	}
}

static void
caps_decode(struct api_dec *d, const json_t *j, void *out)
{
	struct api_security_context *sc = out;

	if (!dec_too_many(d, j, "add", API_MAX_CAPS))
		dec_strv(d, j, "add", &sc->cap_add, &sc->n_cap_add);
	if (!dec_too_many(d, j, "drop", API_MAX_CAPS))
		dec_strv(d, j, "drop", &sc->cap_drop, &sc->n_cap_drop);
	check_caps(d, "add", sc->cap_add, sc->n_cap_add);
	check_caps(d, "drop", sc->cap_drop, sc->n_cap_drop);
}

static void
ctr_sc_decode(struct api_dec *d, const json_t *j, void *out)
{
	struct api_security_context *sc = out;

	if (!j)
		return;
	dec_opt_int(d, j, "runAsUser", API_MAX_ID, &sc->run_as_user);
	dec_opt_int(d, j, "runAsGroup", API_MAX_ID, &sc->run_as_group);
	dec_opt_bool(d, j, "runAsNonRoot", &sc->run_as_non_root);
	dec_opt_bool(d, j, "allowPrivilegeEscalation", &sc->allow_privilege_escalation);
	dec_bool(d, j, "readOnlyRootFilesystem", &sc->read_only_root_filesystem);
	dec_bool(d, j, "privileged", &sc->privileged);
	dec_object(d, j, "capabilities", sc, caps_decode);
	if (sc->privileged && sc->allow_privilege_escalation.set && !sc->allow_privilege_escalation.v)
		dec_err_at(d, "allowPrivilegeEscalation",
		           "cannot be false when privileged is true (a privileged container may always escalate)");
}

void
api_sec_decode_container(struct api_dec *d, const json_t *j, struct api_container *c)
{
	dec_object(d, j, "securityContext", &c->security_context, ctr_sc_decode);
}

static void
groups_decode(struct api_dec *d, const json_t *j, struct api_pod_security_context *sc)
{
	const json_t *a = dec_member(d, j, "supplementalGroups", JSON_ARRAY);
	size_t i, mark;
	json_t *v;

	if (!a || dec_too_many(d, j, "supplementalGroups", API_MAX_GROUPS))
		return;
	sc->supplemental_groups = calloc(json_array_size(a) + 1, sizeof(*sc->supplemental_groups));
	if (!sc->supplemental_groups) {
		dec_oom(d);
		return;
	}
	mark = dec_push(d, "supplementalGroups");
	json_array_foreach(a, i, v) {
		if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > API_MAX_ID) {
			size_t m2 = dec_push_index(d, i);

			dec_err(d, "must be a group ID from 0 to %lld, got %s", API_MAX_ID,
			        json_is_integer(v) ? "an integer out of range" : api_json_type_name(v));
			dec_pop(d, m2);
			continue;
		}
		sc->supplemental_groups[sc->n_supplemental_groups++] = json_integer_value(v);
	}
	dec_pop(d, mark);
}

static void
pod_sc_decode(struct api_dec *d, const json_t *j, void *out)
{
	struct api_pod_security_context *sc = out;

	if (!j)
		return;
	dec_opt_int(d, j, "runAsUser", API_MAX_ID, &sc->run_as_user);
	dec_opt_int(d, j, "runAsGroup", API_MAX_ID, &sc->run_as_group);
	dec_opt_int(d, j, "fsGroup", API_MAX_ID, &sc->fs_group);
	dec_opt_bool(d, j, "runAsNonRoot", &sc->run_as_non_root);
	groups_decode(d, j, sc);
}

/* Docker sets a primary group only with a user: runAsGroup needs runAsUser
 * (the container's or the pod's), reported where runAsGroup is. */
static void
check_group_needs_user(struct api_dec *d, const struct api_pod_spec *s)
{
	const char *msg = "needs runAsUser (pod or container): Skiff sets a primary group only with a user";
	size_t i, mark;

	for (i = 0; i < s->n_containers; i++) {
		const struct api_container *c = &s->containers[i];

		if (!api_sec_run_as_group(s, c).set || api_sec_run_as_user(s, c).set)
			continue;
		mark = c->security_context.run_as_group.set ? dec_push(d, "containers")
		                                            : dec_push(d, "securityContext");
		if (c->security_context.run_as_group.set) {
			dec_push_index(d, i);
			dec_push(d, "securityContext");
		}
		dec_err_at(d, "runAsGroup", "%s", msg);
		dec_pop(d, mark);
		if (!c->security_context.run_as_group.set)
			return; /* once for the pod's */
	}
}

/* hostNetwork: a container port is the node's port, so hostPort defaults
 * to containerPort and must equal it, as Kubernetes defaults and checks. */
static void
host_network_ports(struct api_dec *d, struct api_pod_spec *s)
{
	for (size_t i = 0; i < s->n_containers; i++)
		for (size_t k = 0; k < s->containers[i].n_ports; k++) {
			struct api_container_port *p = &s->containers[i].ports[k];
			size_t mark;

			if (p->host_port == 0)
				p->host_port = p->container_port;
			if (p->host_port == p->container_port)
				continue;
			mark = dec_push(d, "containers");
			dec_push_index(d, i);
			dec_push(d, "ports");
			dec_push_index(d, k);
			dec_err_at(d, "hostPort",
			           "must match containerPort when hostNetwork is true, got %d (containerPort %d)",
			           p->host_port, p->container_port);
			dec_pop(d, mark);
		}
}

void
api_sec_decode_spec(struct api_dec *d, const json_t *j, struct api_pod_spec *s)
{
	dec_object(d, j, "securityContext", &s->security_context, pod_sc_decode);
	dec_bool(d, j, "hostPID", &s->host_pid);
	dec_bool(d, j, "hostIPC", &s->host_ipc);
	dec_bool(d, j, "hostNetwork", &s->host_network);
	if (s->host_network)
		host_network_ports(d, s);
	check_group_needs_user(d, s);
}

/* ------------------------------------------------------------------------
 * Effective values
 */
static struct api_opt
pick(struct api_opt ctr, struct api_opt pod)
{
	return ctr.set ? ctr : pod;
}

struct api_opt
api_sec_run_as_user(const struct api_pod_spec *s, const struct api_container *c)
{
	return pick(c->security_context.run_as_user, s->security_context.run_as_user);
}

struct api_opt
api_sec_run_as_group(const struct api_pod_spec *s, const struct api_container *c)
{
	return pick(c->security_context.run_as_group, s->security_context.run_as_group);
}

int
api_sec_run_as_non_root(const struct api_pod_spec *s, const struct api_container *c)
{
	return pick(c->security_context.run_as_non_root, s->security_context.run_as_non_root).v != 0;
}

int
api_sec_privileged(const struct api_pod_spec *s, const char **what, const char **ctr)
{
	size_t i;

	*ctr = NULL;
	for (i = 0; i < s->n_containers; i++) {
		if (s->containers[i].security_context.privileged) {
			*what = "privileged";
			*ctr = s->containers[i].name;
			return 1;
		}
	}
	for (i = 0; i < s->n_init_containers; i++) { /* init containers too (api_init.c) */
		if (s->init_containers[i].security_context.privileged) {
			*what = "privileged";
			*ctr = s->init_containers[i].name;
			return 1;
		}
	}
	*what = s->host_pid ? "hostPID" : s->host_ipc ? "hostIPC" : s->host_network ? "hostNetwork" : NULL;
	return *what != NULL;
}

/* ------------------------------------------------------------------------
 * Encoding
 */
static int
enc_opt_int(json_t *j, const char *key, struct api_opt o)
{
	return o.set ? enc_int(j, key, o.v) : 0;
}

static int
enc_opt_bool(json_t *j, const char *key, struct api_opt o)
{
	return o.set ? json_object_set_new(j, key, json_boolean(o.v)) : 0;
}

static json_t *
ctr_sc_encode(const struct api_security_context *sc)
{
	json_t *j = json_object(), *caps = json_object();
	int rc = !j || !caps;

	if (!rc) {
		rc |= enc_opt_int(j, "runAsUser", sc->run_as_user);
		rc |= enc_opt_int(j, "runAsGroup", sc->run_as_group);
		rc |= enc_opt_bool(j, "runAsNonRoot", sc->run_as_non_root);
		rc |= enc_opt_bool(j, "allowPrivilegeEscalation", sc->allow_privilege_escalation);
		rc |= enc_bool(j, "readOnlyRootFilesystem", sc->read_only_root_filesystem);
		rc |= enc_bool(j, "privileged", sc->privileged);
		rc |= enc_strv(caps, "add", sc->cap_add, sc->n_cap_add);
		rc |= enc_strv(caps, "drop", sc->cap_drop, sc->n_cap_drop);
		rc |= enc_set(j, "capabilities", caps);
		caps = NULL;
	}
	json_decref(caps);
	return enc_done(j, rc);
}

int
api_sec_encode_container(json_t *j, const struct api_container *c)
{
	return enc_set(j, "securityContext", ctr_sc_encode(&c->security_context));
}

static json_t *
pod_sc_encode(const struct api_pod_security_context *sc)
{
	json_t *j = json_object(), *g = json_array();
	int rc = !j || !g;
	size_t i;

	if (!rc) {
		rc |= enc_opt_int(j, "runAsUser", sc->run_as_user);
		rc |= enc_opt_int(j, "runAsGroup", sc->run_as_group);
		rc |= enc_opt_int(j, "fsGroup", sc->fs_group);
		rc |= enc_opt_bool(j, "runAsNonRoot", sc->run_as_non_root);
		for (i = 0; i < sc->n_supplemental_groups; i++)
			rc |= json_array_append_new(g, json_integer(sc->supplemental_groups[i]));
		rc |= enc_set(j, "supplementalGroups", g);
		g = NULL;
	}
	json_decref(g);
	return enc_done(j, rc);
}

int
api_sec_encode_spec(json_t *j, const struct api_pod_spec *s)
{
	int rc = enc_set(j, "securityContext", pod_sc_encode(&s->security_context));

	rc |= enc_bool(j, "hostPID", s->host_pid);
	rc |= enc_bool(j, "hostIPC", s->host_ipc);
	rc |= enc_bool(j, "hostNetwork", s->host_network);
	return rc;
}

static int
enc_ctr(json_t *j, const void *c)
{
	return api_sec_encode_container(j, c);
}

static int
enc_spec(json_t *j, const void *s)
{
	return api_sec_encode_spec(j, s);
}

/* Canonical text of what enc adds for obj into buf; its length. */
static size_t
text_of(int (*enc)(json_t *, const void *), const void *obj, char *buf, size_t len)
{
	json_t *o = json_object();
	char *s = o && enc(o, obj) == 0 && json_object_size(o) ? api_json_dumps(o) : NULL;
	size_t n = 0;

	if (len)
		buf[0] = '\0';
	if (s && len) {
		snprintf(buf, len, "%s", s);
		n = strlen(buf);
	}
	free(s);
	json_decref(o);
	return n;
}

size_t
api_sec_container_text(const struct api_container *c, char *buf, size_t len)
{
	return text_of(enc_ctr, c, buf, len);
}

size_t
api_sec_pod_text(const struct api_pod_spec *s, char *buf, size_t len)
{
	return text_of(enc_spec, s, buf, len);
}

/* ------------------------------------------------------------------------
 * Freeing
 */
void
api_sec_clear_container(struct api_container *c)
{
	struct api_security_context *sc = &c->security_context;

	api_strv_free(sc->cap_add, sc->n_cap_add);
	api_strv_free(sc->cap_drop, sc->n_cap_drop);
	memset(sc, 0, sizeof(*sc));
}

void
api_sec_clear_spec(struct api_pod_spec *s)
{
	free(s->security_context.supplemental_groups);
	memset(&s->security_context, 0, sizeof(s->security_context));
	s->host_pid = s->host_ipc = s->host_network = 0;
}
