/*
 * api_pod.c: Pod, pod spec and container: decode with every check and the
 * contract's defaults, encode canonically, free. The rules that span
 * containers (unique names, unique host ports and port names) run after
 * the containers are read, in O(n log n); lists longer than the limits of
 * api_pod.h are refused before their items are read. Scheduling rules are
 * not here.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "api_internal.h"
#include "api_names.h"
#include "api_pod.h"

const char *const api_proto_names[2] = {"TCP", "UDP"};
static const char *const pull_names[] = {"IfNotPresent", "Always", "Never"};
static const char *const restart_names[] = {"Always", "OnFailure", "Never"};

const char *
api_protocol_name(enum api_protocol p)
{
	return (unsigned)p < 2 ? api_proto_names[p] : "?";
}

const char *
api_pull_policy_name(enum api_pull_policy p)
{
	return (unsigned)p < 3 ? pull_names[p] : "?";
}

const char *
api_restart_policy_name(enum api_restart_policy p)
{
	return (unsigned)p < 3 ? restart_names[p] : "?";
}

/* ------------------------------------------------------------------------
 * Resources
 */
/* dec_quantity, refused above max (written as max_text). Memory and pods
 * need no bound of their own: int64 holds any sum (api_pod_requests
 * saturates) and Docker takes the bytes as they are. */
static void
dec_quantity_max(struct api_dec *d, const json_t *j, const char *key, int scale, int64_t max, const char *max_text,
                 struct api_quantity *q)
{
	char qq[96];

	dec_quantity(d, j, key, scale, q);
	if (!q->text || q->value <= max)
		return;
	dec_err_at(d, key, "must be at most %s, got %s", max_text, api_quote(qq, sizeof(qq), q->text));
	free(q->text);
	q->text = NULL;
	q->value = 0;
}

void
api_resource_list_decode(struct api_dec *d, const json_t *j, struct api_resource_list *l, int with_pods)
{
	dec_quantity_max(d, j, "cpu", 3, API_MAX_CPU_MILLI, "1M (a million cores)", &l->cpu);
	dec_quantity(d, j, "memory", 0, &l->memory);
	if (with_pods)
		dec_quantity(d, j, "pods", 0, &l->pods);
}

static void
container_list_decode(struct api_dec *d, const json_t *j, void *out)
{
	api_resource_list_decode(d, j, out, 0);
}

/* A request above its limit, reported at requests.NAME. */
static void
check_limit(struct api_dec *d, const char *name, const struct api_quantity *req, const struct api_quantity *lim)
{
	size_t mark;

	if (!req->text || !lim->text || req->value <= lim->value)
		return;
	mark = dec_push(d, "requests");
	dec_err_at(d, name, "must not exceed the limit %s, got %s", lim->text, req->text);
	dec_pop(d, mark);
}

static void
resources_decode(struct api_dec *d, const json_t *j, void *out)
{
	struct api_resources *r = out;

	dec_object(d, j, "requests", &r->requests, container_list_decode);
	dec_object(d, j, "limits", &r->limits, container_list_decode);
	check_limit(d, "cpu", &r->requests.cpu, &r->limits.cpu);
	check_limit(d, "memory", &r->requests.memory, &r->limits.memory);
}

json_t *
api_resource_list_encode(const struct api_resource_list *l)
{
	json_t *j = json_object();
	int rc = !j;

	if (j) {
		rc |= enc_str(j, "cpu", l->cpu.text);
		rc |= enc_str(j, "memory", l->memory.text);
		rc |= enc_str(j, "pods", l->pods.text);
	}
	return enc_done(j, rc);
}

void
api_resource_list_clear(struct api_resource_list *l)
{
	free(l->cpu.text);
	free(l->memory.text);
	free(l->pods.text);
	memset(l, 0, sizeof(*l));
}

/* ------------------------------------------------------------------------
 * Containers
 */
static void
env_decode(struct api_dec *d, const json_t *j, void *item)
{
	struct api_env_var *e = item;

	const json_t *vf;
	size_t mark;

	e->name = dec_checked(d, j, "name", 1, api_check_env_name);
	e->value = dec_str(d, j, "value", 0);
	vf = dec_member(d, j, "valueFrom", JSON_OBJECT);
	mark = dec_push(d, "valueFrom");
	api_env_value_from_decode(d, vf, &e->value_from);
	if (e->value && e->value_from)
		dec_err(d, "may not be given with value");
	dec_pop(d, mark);
}

static void
port_decode(struct api_dec *d, const json_t *j, void *item)
{
	struct api_container_port *p = item;
	int64_t v;

	p->name = dec_checked(d, j, "name", 0, api_check_port_name);
	if (!dec_present(j, "containerPort"))
		dec_err_at(d, "containerPort", "required");
	else if (dec_int(d, j, "containerPort", 1, 65535, &v))
		p->container_port = (int)v;
	if (dec_present(j, "hostPort") && dec_int(d, j, "hostPort", 0, 65535, &v))
		p->host_port = (int)v;
	p->protocol = (enum api_protocol)dec_enum(d, j, "protocol", api_proto_names, 2, API_PROTO_TCP);
}

static void
container_decode(struct api_dec *d, const json_t *j, void *item)
{
	struct api_container *c = item;

	c->name = dec_checked(d, j, "name", 1, api_check_dns_label);
	c->image = dec_checked(d, j, "image", 1, d->loose_images ? api_check_image : api_check_image_ref);
	dec_strv(d, j, "command", &c->command, &c->n_command);
	dec_strv(d, j, "args", &c->args, &c->n_args);
	if (!dec_too_many(d, j, "env", API_MAX_ENV))
		c->env = dec_array(d, j, "env", sizeof(*c->env), &c->n_env, env_decode);
	if (!dec_too_many(d, j, "envFrom", API_MAX_ENV))
		c->env_from = dec_array(d, j, "envFrom", sizeof(*c->env_from), &c->n_env_from, api_env_from_decode);
	if (!dec_too_many(d, j, "ports", API_MAX_PORTS))
		c->ports = dec_array(d, j, "ports", sizeof(*c->ports), &c->n_ports, port_decode);
	dec_object(d, j, "resources", &c->resources, resources_decode);
	c->image_pull_policy =
		(enum api_pull_policy)dec_enum(d, j, "imagePullPolicy", pull_names, 3, API_PULL_IF_NOT_PRESENT);
	api_sec_decode_container(d, j, c);
	api_volume_mounts_decode(d, j, c);
	api_probes_decode(d, j, c);
}

/* Report msg at containers[ci].ports[pi].field. */
static void
port_err(struct api_dec *d, size_t ci, size_t pi, const char *field, const char *msg)
{
	size_t mark = dec_push(d, "containers");

	dec_push_index(d, ci);
	dec_push(d, "ports");
	dec_push_index(d, pi);
	dec_err_at(d, field, "%s", msg);
	dec_pop(d, mark);
}

/* Which containers repeat an earlier name (dup[0..n_containers)), which
 * ports (numbered across containers) an earlier host port with protocol
 * (dup + n_containers) or port name (dup + n_containers + nports). */
static void
find_dups(const struct api_pod_spec *s, size_t nports, struct api_key_ref *refs, unsigned char *dup)
{
	unsigned char *hp = dup + s->n_containers, *pn = hp + nports;
	size_t i, k, n = 0, f;

	for (i = 0; i < s->n_containers; i++)
		if (s->containers[i].name)
			refs[n++] = (struct api_key_ref){s->containers[i].name, 0, i};
	api_mark_dups(refs, n, dup);
	for (n = 0, f = 0, i = 0; i < s->n_containers; i++)
		for (k = 0; k < s->containers[i].n_ports; k++, f++)
			if (s->containers[i].ports[k].host_port)
				refs[n++] = (struct api_key_ref){NULL,
				                                 s->containers[i].ports[k].host_port * 2 +
				                                         s->containers[i].ports[k].protocol,
				                                 f};
	api_mark_dups(refs, n, hp);
	for (n = 0, f = 0, i = 0; i < s->n_containers; i++)
		for (k = 0; k < s->containers[i].n_ports; k++, f++)
			if (s->containers[i].ports[k].name)
				refs[n++] = (struct api_key_ref){s->containers[i].ports[k].name, 0, f};
	api_mark_dups(refs, n, pn);
}

/* Container names, host ports (with protocol) and port names must be
 * unique within the pod; each clash is reported once, at the later one.
 * O(n log n) in containers and ports. */
static void
check_unique(struct api_dec *d, const struct api_pod_spec *s)
{
	char q[96], msg[160];
	size_t i, k, f, mark, nports = 0;
	struct api_key_ref *refs;
	unsigned char *dup;

	for (i = 0; i < s->n_containers; i++)
		nports += s->containers[i].n_ports;
	refs = malloc((s->n_containers + nports + 1) * sizeof(*refs));
	dup = calloc(s->n_containers + 2 * nports + 1, 1);
	if (!refs || !dup) {
		dec_oom(d);
		goto done;
	}
	find_dups(s, nports, refs, dup);
	for (f = 0, i = 0; i < s->n_containers; i++) {
		const struct api_container *c = &s->containers[i];

		if (dup[i]) {
			mark = dec_push(d, "containers");
			dec_push_index(d, i);
			dec_err_at(d, "name", "duplicate container name %s", api_quote(q, sizeof(q), c->name));
			dec_pop(d, mark);
		}
		for (k = 0; k < c->n_ports; k++, f++) {
			const struct api_container_port *p = &c->ports[k];

			if (dup[s->n_containers + f]) {
				snprintf(msg, sizeof(msg), "duplicate host port %d/%s", p->host_port,
				         api_protocol_name(p->protocol));
				port_err(d, i, k, "hostPort", msg);
			}
			if (dup[s->n_containers + nports + f]) {
				snprintf(msg, sizeof(msg), "duplicate port name %s", api_quote(q, sizeof(q), p->name));
				port_err(d, i, k, "name", msg);
			}
		}
	}
done:
	free(refs);
	free(dup);
}

static void
spec_decode(struct api_dec *d, const json_t *j, void *out)
{
	struct api_pod_spec *s = out;
	const json_t *cs = j ? json_object_get(j, "containers") : NULL;
	int64_t v;

	if (!dec_too_many(d, j, "containers", API_MAX_CONTAINERS))
		s->containers =
			dec_array(d, j, "containers", sizeof(*s->containers), &s->n_containers, container_decode);
	if (!cs || json_is_null(cs))
		dec_err_at(d, "containers", "required");
	else if (json_is_array(cs) && json_array_size(cs) == 0)
		dec_err_at(d, "containers", "must have at least one container");
	check_unique(d, s);
	if (!dec_too_many(d, j, "initContainers", API_MAX_CONTAINERS))
		s->init_containers = dec_array(d, j, "initContainers", sizeof(*s->init_containers),
		                               &s->n_init_containers, container_decode);
	api_sec_decode_spec(d, j, s);
	api_volumes_decode(d, j, s);
	api_volume_mounts_check(d, s);
	api_init_check(d, s);
	api_probes_check_init(d, s);
	api_pod_dns_decode(d, j, s);
	s->restart_policy =
		(enum api_restart_policy)dec_enum(d, j, "restartPolicy", restart_names, 3, API_RESTART_ALWAYS);
	dec_labels(d, j, "nodeSelector", &s->node_selector, DEC_MAP_LABELS);
	s->termination_grace_period_seconds = API_DEFAULT_GRACE_SECONDS;
	if (!dec_int(d, j, "terminationGracePeriodSeconds", 0, INT32_MAX, &v))
		return;
	if (v > API_MAX_GRACE_SECONDS)
		dec_err_at(d, "terminationGracePeriodSeconds", "must be at most %d (one day), got %" PRId64,
		           API_MAX_GRACE_SECONDS, v);
	else
		s->termination_grace_period_seconds = v;
}

void
api_pod_decode(struct api_dec *d, const json_t *j, void *out)
{
	struct api_pod *pod = out;

	dec_object(d, j, "metadata", &pod->meta, api_meta_decode_label);
	dec_object(d, j, "spec", &pod->spec, spec_decode);
}

/* A pod template: metadata holds only labels and annotations. */
void
api_pod_template_decode(struct api_dec *d, const json_t *j, void *out)
{
	struct api_pod *pod = out;

	dec_object(d, j, "metadata", &pod->meta, api_meta_decode_template);
	dec_object(d, j, "spec", &pod->spec, spec_decode);
}

/* ------------------------------------------------------------------------
 * Encoding
 */
static json_t *
env_encode(const void *item)
{
	const struct api_env_var *e = item;
	json_t *j = json_object();
	int rc = !j;

	if (j) {
		rc |= enc_str(j, "name", e->name);
		rc |= enc_str(j, "value", e->value);
		if (e->value_from)
			rc |= enc_set(j, "valueFrom", api_env_value_from_encode(e->value_from));
	}
	return enc_done(j, rc);
}

static json_t *
port_encode(const void *item)
{
	const struct api_container_port *p = item;
	json_t *j = json_object();
	int rc = !j;

	if (j) {
		rc |= enc_str(j, "name", p->name);
		rc |= enc_int(j, "containerPort", p->container_port);
		if (p->host_port)
			rc |= enc_int(j, "hostPort", p->host_port);
		rc |= enc_str(j, "protocol", api_protocol_name(p->protocol));
	}
	return enc_done(j, rc);
}

static json_t *
resources_encode(const struct api_resources *r)
{
	json_t *j = json_object();
	int rc = !j;

	if (j) {
		rc |= enc_set(j, "requests", api_resource_list_encode(&r->requests));
		rc |= enc_set(j, "limits", api_resource_list_encode(&r->limits));
	}
	return enc_done(j, rc);
}

static json_t *
container_encode(const void *item)
{
	const struct api_container *c = item;
	json_t *j = json_object();
	int rc = !j;

	if (j) {
		rc |= enc_str(j, "name", c->name);
		rc |= enc_str(j, "image", c->image);
		rc |= enc_strv(j, "command", c->command, c->n_command);
		rc |= enc_strv(j, "args", c->args, c->n_args);
		if (c->n_env)
			rc |= enc_set(j, "env", enc_array(c->env, c->n_env, sizeof(*c->env), env_encode));
		if (c->n_ports)
			rc |= enc_set(j, "ports", enc_array(c->ports, c->n_ports, sizeof(*c->ports), port_encode));
		rc |= enc_set(j, "resources", resources_encode(&c->resources));
		rc |= enc_str(j, "imagePullPolicy", api_pull_policy_name(c->image_pull_policy));
		rc |= api_sec_encode_container(j, c);
		rc |= api_volume_mounts_encode(j, c);
		if (c->n_env_from)
			rc |= enc_set(j, "envFrom",
			              enc_array(c->env_from, c->n_env_from, sizeof(*c->env_from), api_env_from_encode));
		rc |= api_probes_encode(j, c);
	}
	return enc_done(j, rc);
}

static json_t *
spec_encode(const struct api_pod_spec *s)
{
	json_t *j = json_object();
	int rc = !j;

	if (j) {
		rc |= enc_set(j, "containers",
		              enc_array(s->containers, s->n_containers, sizeof(*s->containers), container_encode));
		rc |= enc_str(j, "restartPolicy", api_restart_policy_name(s->restart_policy));
		rc |= enc_labels(j, "nodeSelector", &s->node_selector);
		rc |= enc_int(j, "terminationGracePeriodSeconds", s->termination_grace_period_seconds);
		rc |= api_sec_encode_spec(j, s);
		rc |= api_volumes_encode(j, s);
		rc |= api_pod_dns_encode(j, s);
		if (s->n_init_containers) /* only then: pods without keep their bytes */
			rc |= enc_set(j, "initContainers",
			              enc_array(s->init_containers, s->n_init_containers, sizeof(*s->init_containers),
			                        container_encode));
	}
	return enc_done(j, rc);
}

json_t *
api_pod_encode(const void *obj)
{
	const struct api_pod *pod = obj;
	json_t *j = json_object();
	int rc = !j;

	if (j) {
		rc |= enc_set(j, "metadata", api_meta_encode(&pod->meta));
		rc |= enc_set(j, "spec", spec_encode(&pod->spec));
	}
	return enc_done(j, rc);
}

/* ------------------------------------------------------------------------
 * Freeing and helpers
 */
static void
container_clear(struct api_container *c)
{
	size_t i;

	free(c->name);
	free(c->image);
	api_strv_free(c->command, c->n_command);
	api_strv_free(c->args, c->n_args);
	for (i = 0; i < c->n_env; i++) {
		free(c->env[i].name);
		free(c->env[i].value);
		api_env_value_from_free(c->env[i].value_from);
	}
	free(c->env);
	api_env_from_clear(c->env_from, c->n_env_from);
	for (i = 0; i < c->n_ports; i++)
		free(c->ports[i].name);
	free(c->ports);
	api_resource_list_clear(&c->resources.requests);
	api_resource_list_clear(&c->resources.limits);
	api_sec_clear_container(c);
	api_volume_mounts_free(c);
	api_probes_clear(c);
}

void
api_pod_clear(void *obj)
{
	struct api_pod *pod = obj;
	size_t i;

	api_meta_clear(&pod->meta);
	for (i = 0; i < pod->spec.n_containers; i++)
		container_clear(&pod->spec.containers[i]);
	free(pod->spec.containers);
	for (i = 0; i < pod->spec.n_init_containers; i++)
		container_clear(&pod->spec.init_containers[i]);
	free(pod->spec.init_containers);
	api_labels_clear(&pod->spec.node_selector);
	api_sec_clear_spec(&pod->spec);
	api_volumes_free(&pod->spec);
	api_pod_dns_clear(&pod->spec);
	memset(pod, 0, sizeof(*pod));
}

void
api_pod_requests(const struct api_pod *pod, int64_t *cpu_milli, int64_t *memory_bytes)
{
	size_t i;

	*cpu_milli = *memory_bytes = 0;
	for (i = 0; i < pod->spec.n_containers; i++) {
		*cpu_milli = api_add_sat(*cpu_milli, pod->spec.containers[i].resources.requests.cpu.value);
		*memory_bytes = api_add_sat(*memory_bytes, pod->spec.containers[i].resources.requests.memory.value);
	}
	api_init_requests(&pod->spec, cpu_milli, memory_bytes);
}

const struct api_kind_ops api_pod_ops = {"Pod", sizeof(struct api_pod), api_pod_decode, api_pod_encode, api_pod_clear};

struct api_pod *
api_pod_parse(const char *json, size_t len, struct api_errors *errs)
{
	return api_parse(API_POD, json, len, errs);
}

char *
api_pod_serialize(const struct api_pod *pod)
{
	return api_serialize(API_POD, pod);
}

struct api_pod *
api_pod_dup(const struct api_pod *pod)
{
	return api_dup(API_POD, pod);
}

void
api_pod_free(struct api_pod *pod)
{
	api_free(API_POD, pod);
}
