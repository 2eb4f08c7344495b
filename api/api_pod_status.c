/*
 * api_pod_status.c: PodStatus decode/encode. A container state must name
 * exactly one of waiting, running, terminated. How phases follow from
 * containers is the agent's business.
 */
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "api_internal.h"

static const char *const phase_names[] = {"Pending", "Running", "Succeeded", "Failed"};
static const char *const state_names[] = {"", "waiting", "running", "terminated"};
static const char *const cond_names[] = {"Unknown", "True", "False"};

const char *
api_pod_phase_name(enum api_pod_phase p)
{
	return (unsigned)p < 4 ? phase_names[p] : "?";
}

static void
state_decode(struct api_dec *d, const json_t *j, void *out)
{
	struct api_container_state *s = out;
	const json_t *body = NULL;
	size_t mark;
	int64_t v;
	int k, found = 0;

	for (k = API_STATE_WAITING; k <= API_STATE_TERMINATED; k++) {
		const json_t *b = dec_member(d, j, state_names[k], JSON_OBJECT);

		if (b && !found++) {
			s->state = (enum api_state)k;
			body = b;
		}
	}
	if (found > 1)
		dec_err(d, "must have only one of waiting, running and terminated");
	if (!body)
		return;
	mark = dec_push(d, state_names[s->state]);
	s->reason = dec_str(d, body, "reason", 0);
	s->message = dec_str(d, body, "message", 0);
	if (s->state != API_STATE_WAITING)
		s->started_at = dec_time(d, body, "startedAt");
	if (s->state == API_STATE_TERMINATED) {
		s->finished_at = dec_time(d, body, "finishedAt");
		if (dec_int(d, body, "exitCode", INT32_MIN, INT32_MAX, &v))
			s->exit_code = (int)v;
		if (dec_int(d, body, "signal", 0, 128, &v))
			s->signal = (int)v;
	}
	dec_pop(d, mark);
}

static void
cstatus_decode(struct api_dec *d, const json_t *j, void *item)
{
	struct api_container_status *c = item;
	int64_t v;

	c->name = dec_checked(d, j, "name", 1, api_check_dns_label);
	dec_bool(d, j, "ready", &c->ready);
	c->started = -1;
	if (json_object_get(j, "started"))
		dec_bool(d, j, "started", &c->started);
	if (dec_int(d, j, "restartCount", 0, INT32_MAX, &v))
		c->restart_count = (int)v;
	c->image = dec_str(d, j, "image", 0);
	c->image_id = dec_str(d, j, "imageID", 0);
	c->container_id = dec_str(d, j, "containerID", 0);
	dec_object(d, j, "state", &c->state, state_decode);
	dec_object(d, j, "lastState", &c->last_state, state_decode);
}

static void
cond_decode(struct api_dec *d, const json_t *j, void *item)
{
	struct api_pod_condition *c = item;

	c->type = dec_str(d, j, "type", 1);
	c->status = (enum api_cond_status)dec_enum(d, j, "status", cond_names, 3, API_COND_UNKNOWN);
	c->reason = dec_str(d, j, "reason", 0);
	c->message = dec_str(d, j, "message", 0);
	c->last_transition_time = dec_time(d, j, "lastTransitionTime");
}

static void
status_decode(struct api_dec *d, const json_t *j, void *out)
{
	struct api_pod_status *s = out;

	s->uid = dec_checked(d, j, "uid", 1, api_check_uid);
	s->phase = (enum api_pod_phase)dec_enum(d, j, "phase", phase_names, 4, API_PHASE_PENDING);
	s->host_ip = dec_ipv4(d, j, "hostIP", 0);
	s->pod_ip = dec_ipv4(d, j, "podIP", 0);
	s->start_time = dec_time(d, j, "startTime");
	s->reason = dec_str(d, j, "reason", 0);
	s->message = dec_str(d, j, "message", 0);
	s->containers = dec_array(d, j, "containerStatuses", sizeof(*s->containers), &s->n_containers, cstatus_decode);
	s->init_containers = dec_array(d, j, "initContainerStatuses", sizeof(*s->init_containers),
	                               &s->n_init_containers, cstatus_decode);
	s->conditions = dec_array(d, j, "conditions", sizeof(*s->conditions), &s->n_conditions, cond_decode);
}

static json_t *
state_encode(const struct api_container_state *s)
{
	json_t *j = json_object(), *b = json_object();
	int rc = !j || !b;

	if (!rc && s->state != API_STATE_NONE) {
		rc |= enc_str(b, "reason", s->reason);
		rc |= enc_str(b, "message", s->message);
		rc |= enc_str(b, "startedAt", s->started_at);
		rc |= enc_str(b, "finishedAt", s->finished_at);
		if (s->state == API_STATE_TERMINATED) {
			rc |= enc_int(b, "exitCode", s->exit_code);
			if (s->signal)
				rc |= enc_int(b, "signal", s->signal);
		}
		/* An empty body still says which state: {"running": {}}. */
		rc |= json_object_set(j, state_names[s->state], b);
	}
	json_decref(b);
	return enc_done(j, rc);
}

static json_t *
cstatus_encode(const void *item)
{
	const struct api_container_status *c = item;
	json_t *j = json_object();
	int rc = !j;

	if (j) {
		rc |= enc_str(j, "name", c->name);
		rc |= json_object_set_new(j, "ready", json_boolean(c->ready));
		if (c->started >= 0)
			rc |= json_object_set_new(j, "started", json_boolean(c->started));
		rc |= enc_int(j, "restartCount", c->restart_count);
		rc |= enc_str(j, "image", c->image);
		rc |= enc_str(j, "imageID", c->image_id);
		rc |= enc_str(j, "containerID", c->container_id);
		rc |= enc_set(j, "state", state_encode(&c->state));
		rc |= enc_set(j, "lastState", state_encode(&c->last_state));
	}
	return enc_done(j, rc);
}

static json_t *
cond_encode(const void *item)
{
	const struct api_pod_condition *c = item;
	json_t *j = json_object();
	int rc = !j;

	if (j) {
		rc |= enc_str(j, "type", c->type);
		rc |= enc_str(j, "status", (unsigned)c->status < 3 ? cond_names[c->status] : "Unknown");
		rc |= enc_str(j, "reason", c->reason);
		rc |= enc_str(j, "message", c->message);
		rc |= enc_str(j, "lastTransitionTime", c->last_transition_time);
	}
	return enc_done(j, rc);
}

static json_t *
status_encode(const void *obj)
{
	const struct api_pod_status *s = obj;
	json_t *j = s->slim ? NULL : json_object(); /* a slim status's parts are freed: NULL */
	int rc = !j;

	if (j) {
		rc |= enc_str(j, "uid", s->uid);
		rc |= enc_str(j, "phase", api_pod_phase_name(s->phase));
		rc |= enc_str(j, "hostIP", s->host_ip);
		rc |= enc_str(j, "podIP", s->pod_ip);
		rc |= enc_str(j, "startTime", s->start_time);
		rc |= enc_str(j, "reason", s->reason);
		rc |= enc_str(j, "message", s->message);
		if (s->n_containers)
			rc |= enc_set(
				j, "containerStatuses",
				enc_array(s->containers, s->n_containers, sizeof(*s->containers), cstatus_encode));
		if (s->n_init_containers)
			rc |= enc_set(j, "initContainerStatuses",
			              enc_array(s->init_containers, s->n_init_containers, sizeof(*s->init_containers),
			                        cstatus_encode));
		if (s->n_conditions)
			rc |= enc_set(j, "conditions",
			              enc_array(s->conditions, s->n_conditions, sizeof(*s->conditions), cond_encode));
	}
	return enc_done(j, rc);
}

static void
state_clear(struct api_container_state *s)
{
	free(s->reason);
	free(s->message);
	free(s->started_at);
	free(s->finished_at);
}

/* Rows c[0..n) and c. */
static void
cstatus_clear(struct api_container_status *c, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(c[i].name);
		free(c[i].image);
		free(c[i].image_id);
		free(c[i].container_id);
		state_clear(&c[i].state);
		state_clear(&c[i].last_state);
	}
	free(c);
}

static void
cond_clear(struct api_pod_condition *c, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(c[i].type);
		free(c[i].reason);
		free(c[i].message);
		free(c[i].last_transition_time);
	}
	free(c);
}

static void
status_clear(void *obj)
{
	struct api_pod_status *s = obj;

	free(s->uid);
	free(s->host_ip);
	free(s->pod_ip);
	free(s->start_time);
	free(s->reason);
	free(s->message);
	cstatus_clear(s->containers, s->n_containers);
	cstatus_clear(s->init_containers, s->n_init_containers);
	cond_clear(s->conditions, s->n_conditions);
	memset(s, 0, sizeof(*s));
}

const struct api_kind_ops api_pod_status_ops = {"PodStatus", sizeof(struct api_pod_status), status_decode,
                                                status_encode, status_clear};

struct api_pod_status *
api_pod_status_parse(const char *json, size_t len, struct api_errors *errs)
{
	return api_parse(API_PODSTATUS, json, len, errs);
}

char *
api_pod_status_serialize(const struct api_pod_status *st)
{
	return api_serialize(API_PODSTATUS, st);
}

void
api_pod_status_free(struct api_pod_status *st)
{
	api_free(API_PODSTATUS, st);
}

/* k gets the Ready condition of s (moved), or when s has none, rows of
 * s's container statuses with their ready flag: what api_pod_status_ready
 * reads. 0, or -1 when out of memory (s untouched). */
static int
take_ready(struct api_pod_status *s, struct api_pod_status *k)
{
	struct api_pod_condition *c = (struct api_pod_condition *)api_pod_status_condition(s, "Ready");

	if (c) {
		if (!(k->conditions = calloc(1, sizeof(*k->conditions))))
			return -1;
		k->conditions[0] = (struct api_pod_condition){
			.type = c->type, .status = c->status, .last_transition_time = c->last_transition_time};
		k->n_conditions = 1;
		c->type = c->last_transition_time = NULL; /* moved */
		return 0;
	}
	if (s->n_containers && !(k->containers = calloc(s->n_containers, sizeof(*k->containers))))
		return -1;
	k->n_containers = s->n_containers;
	for (size_t i = 0; i < s->n_containers; i++)
		k->containers[i].ready = s->containers[i].ready;
	return 0;
}

int
api_pod_status_slim(struct api_pod_status *st, unsigned keep)
{
	struct api_pod_status k = {.phase = st->phase, .slim = 1};

	if ((keep & API_SLIM_STATUS_READY) && take_ready(st, &k) < 0)
		return -1;
	k.uid = st->uid;
	st->uid = NULL;
	if (keep & API_SLIM_STATUS_POD_IP) {
		k.pod_ip = st->pod_ip;
		st->pod_ip = NULL;
	}
	status_clear(st);
	*st = k;
	return 0;
}

const struct api_pod_condition *
api_pod_status_condition(const struct api_pod_status *st, const char *type)
{
	for (size_t i = 0; i < st->n_conditions; i++)
		if (st->conditions[i].type && strcmp(st->conditions[i].type, type) == 0)
			return &st->conditions[i];
	return NULL;
}

const char *
api_pod_status_ready_since(const struct api_pod_status *st)
{
	const struct api_pod_condition *c = api_pod_status_condition(st, "Ready");

	return api_pod_status_ready(st) && c ? c->last_transition_time : NULL;
}

int
api_pod_status_ready(const struct api_pod_status *st)
{
	const struct api_pod_condition *c = api_pod_status_condition(st, "Ready");
	size_t i;

	if (st->phase != API_PHASE_RUNNING)
		return 0;
	if (c)
		return c->status == API_COND_TRUE;
	if (st->n_containers == 0)
		return 0;
	for (i = 0; i < st->n_containers; i++)
		if (!st->containers[i].ready)
			return 0;
	return 1;
}
