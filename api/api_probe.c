/*
 * api_probe.c: a container's livenessProbe, readinessProbe, startupProbe
 * and lifecycle.preStop, as Kubernetes' v1 Probe and LifecycleHandler:
 * decode with Kubernetes' defaults and bounds, encode canonically, free.
 * A handler is exactly one of exec, httpGet, tcpSocket (and sleep, in
 * lifecycle only); a named port must be one of the container's ports.
 * The refused parts (grpc, a probe's terminationGracePeriodSeconds,
 * postStart) are the field policy's (api_fields.c): here they only count
 * as a handler so that the refusal is the one error. Running the probes is
 * the agent's (node-agent/agent_probe*.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_internal.h"
#include "api_names.h"
#include "api_pod.h"
#include "api_probe.h"

#define MAX_HEADERS 64
#define MAX_PROBE_SECONDS 2147483647LL

static const char *const scheme_names[] = {"HTTP", "HTTPS"};

/* ------------------------------------------------------------------------
 * Decoding
 */

/* An HTTP header name: a token of RFC 9110 (no separators, no controls). */
static int
check_header_name(const char *s, struct api_error *err)
{
	char q[96];
	const char *p;

	for (p = s; *p; p++)
		if (*p <= ' ' || *p >= 127 || strchr("()<>@,;:\\\"/[]?={}", *p))
			return api_error_set(err, "%s is not a valid HTTP header name", api_quote(q, sizeof(q), s));
	return 0;
}

/* No control characters: the text goes into a request line or a header. */
static int
check_no_ctl(const char *s, struct api_error *err)
{
	for (; *s; s++)
		if ((unsigned char)*s < ' ' || *s == 127)
			return api_error_set(err, "must not contain control characters");
	return 0;
}

static int
check_path(const char *s, struct api_error *err)
{
	if (s[0] != '/')
		return api_error_set(err, "must start with '/'");
	for (; *s; s++)
		if ((unsigned char)*s <= ' ' || *s == 127)
			return api_error_set(err, "must not contain spaces or control characters");
	return 0;
}

static void
header_decode(struct api_dec *d, const json_t *j, void *item)
{
	struct api_http_header *h = item;

	h->name = dec_checked(d, j, "name", 1, check_header_name);
	h->value = dec_checked(d, j, "value", 0, check_no_ctl);
}

/* port: a number, or the name of one of c's ports. */
static void
port_decode(struct api_dec *d, const json_t *j, struct api_handler *h, const struct api_container *c)
{
	const json_t *v = j ? json_object_get(j, "port") : NULL;
	int64_t n;

	if (!v || json_is_null(v)) {
		dec_err_at(d, "port", "required");
	} else if (json_is_integer(v)) {
		if (dec_int(d, j, "port", 1, 65535, &n))
			h->port = (int)n;
	} else if (json_is_string(v)) {
		struct api_error err;

		h->port_name = dec_str(d, j, "port", 1);
		if (h->port_name && api_check_port_name(h->port_name, &err) < 0) {
			dec_check(d, "port", -1, &err);
			return;
		}
		if (h->port_name && !api_handler_port(h, c))
			dec_err_at(d, "port", "no port named \"%s\" in this container's ports", h->port_name);
	} else {
		dec_err_at(d, "port", "must be an integer or a port name, got %s", api_json_type_name(v));
	}
}

struct handler_ctx {
	struct api_handler *h;
	const struct api_container *c;
};

static void
exec_decode(struct api_dec *d, const json_t *j, void *out)
{
	struct handler_ctx *x = out;

	x->h->kind = API_HANDLER_EXEC;
	dec_strv(d, j, "command", &x->h->command, &x->h->n_command);
	if (x->h->n_command == 0)
		dec_err_at(d, "command", "required");
}

static void
http_decode(struct api_dec *d, const json_t *j, void *out)
{
	struct handler_ctx *x = out;
	struct api_handler *h = x->h;

	h->kind = API_HANDLER_HTTP;
	h->path = dec_checked(d, j, "path", 0, check_path);
	if (!h->path && !(h->path = strdup("/")))
		dec_oom(d);
	h->host = dec_checked(d, j, "host", 0, check_no_ctl);
	port_decode(d, j, h, x->c);
	h->scheme = strdup(scheme_names[dec_enum(d, j, "scheme", scheme_names, 2, 0)]);
	if (!h->scheme)
		dec_oom(d);
	if (!dec_too_many(d, j, "httpHeaders", MAX_HEADERS))
		h->headers = dec_array(d, j, "httpHeaders", sizeof(*h->headers), &h->n_headers, header_decode);
}

static void
tcp_decode(struct api_dec *d, const json_t *j, void *out)
{
	struct handler_ctx *x = out;

	x->h->kind = API_HANDLER_TCP;
	x->h->host = dec_checked(d, j, "host", 0, check_no_ctl);
	port_decode(d, j, x->h, x->c);
}

static void
sleep_decode(struct api_dec *d, const json_t *j, void *out)
{
	struct handler_ctx *x = out;
	int64_t v;

	x->h->kind = API_HANDLER_SLEEP;
	if (!dec_present(j, "seconds"))
		dec_err_at(d, "seconds", "required");
	else if (dec_int(d, j, "seconds", 0, API_MAX_GRACE_SECONDS, &v))
		x->h->sleep_seconds = (long)v;
}

/* The handler in object j (a probe or a lifecycle hook): exactly one of
 * exec, httpGet, tcpSocket, (lifecycle) sleep; grpc counts as one (the
 * field policy refuses it). */
static void
handler_decode(struct api_dec *d, const json_t *j, struct api_handler *h, const struct api_container *c, int lifecycle)
{
	struct handler_ctx x = {h, c};
	int n = dec_present(j, "exec") + dec_present(j, "httpGet") + dec_present(j, "tcpSocket") +
	        (lifecycle ? dec_present(j, "sleep") : dec_present(j, "grpc"));

	if (n == 0)
		dec_err(d, lifecycle ? "must have one handler: exec, httpGet, tcpSocket or sleep"
		                     : "must have one handler: exec, httpGet or tcpSocket");
	else if (n > 1)
		dec_err(d, "may not have more than one handler");
	if (n != 1)
		return;
	if (dec_present(j, "exec"))
		dec_object(d, j, "exec", &x, exec_decode);
	else if (dec_present(j, "httpGet"))
		dec_object(d, j, "httpGet", &x, http_decode);
	else if (dec_present(j, "tcpSocket"))
		dec_object(d, j, "tcpSocket", &x, tcp_decode);
	else if (lifecycle)
		dec_object(d, j, "sleep", &x, sleep_decode);
}

/* Integer member key within [min, max], dflt when absent. */
static int
dec_seconds(struct api_dec *d, const json_t *j, const char *key, int64_t min, int dflt)
{
	int64_t v;

	return dec_int(d, j, key, min, MAX_PROBE_SECONDS, &v) ? (int)v : dflt;
}

struct probe_ctx {
	struct api_probe *p;
	const struct api_container *c;
	int once; /* liveness, startup: successThreshold must be 1 */
};

static void
probe_decode(struct api_dec *d, const json_t *j, void *out)
{
	struct probe_ctx *x = out;
	struct api_probe *p = x->p;

	if (!j)
		return;
	p->set = 1;
	handler_decode(d, j, &p->h, x->c, 0);
	p->initial_delay_seconds = dec_seconds(d, j, "initialDelaySeconds", 0, 0);
	p->period_seconds = dec_seconds(d, j, "periodSeconds", 1, 10);
	p->timeout_seconds = dec_seconds(d, j, "timeoutSeconds", 1, 1);
	p->success_threshold = dec_seconds(d, j, "successThreshold", 1, 1);
	p->failure_threshold = dec_seconds(d, j, "failureThreshold", 1, 3);
	if (x->once && p->success_threshold != 1)
		dec_err_at(d, "successThreshold", "must be 1 for this probe, got %d", p->success_threshold);
}

static void
hook_decode(struct api_dec *d, const json_t *j, void *out)
{
	struct handler_ctx *x = out;

	if (j)
		handler_decode(d, j, x->h, x->c, 1);
}

static void
lifecycle_decode(struct api_dec *d, const json_t *j, void *out)
{
	struct api_container *c = out;
	struct handler_ctx x = {&c->lifecycle.pre_stop, c};

	dec_object(d, j, "preStop", &x, hook_decode); /* postStart: refused by the field policy */
}

void
api_probes_decode(struct api_dec *d, const json_t *j, struct api_container *c)
{
	struct probe_ctx live = {&c->liveness, c, 1}, ready = {&c->readiness, c, 0}, start = {&c->startup, c, 1};

	dec_object(d, j, "livenessProbe", &live, probe_decode);
	dec_object(d, j, "readinessProbe", &ready, probe_decode);
	dec_object(d, j, "startupProbe", &start, probe_decode);
	dec_object(d, j, "lifecycle", c, lifecycle_decode);
}

void
api_probes_check_init(struct api_dec *d, const struct api_pod_spec *s)
{
	static const char *const names[] = {"livenessProbe", "readinessProbe", "startupProbe", "lifecycle"};
	size_t i, k, mark;

	for (i = 0; i < s->n_init_containers; i++) {
		const struct api_container *c = &s->init_containers[i];
		const int has[] = {c->liveness.set, c->readiness.set, c->startup.set,
		                   c->lifecycle.pre_stop.kind != API_HANDLER_NONE};

		for (k = 0; k < 4; k++) {
			if (!has[k])
				continue;
			mark = dec_push(d, "initContainers");
			dec_push_index(d, i);
			dec_err_at(d, names[k], "not allowed on init containers");
			dec_pop(d, mark);
		}
	}
}

/* ------------------------------------------------------------------------
 * Encoding
 */
static json_t *
header_encode(const void *item)
{
	const struct api_http_header *h = item;
	json_t *j = json_object();
	int rc = !j;

	if (j) {
		rc |= enc_str(j, "name", h->name);
		rc |= enc_str(j, "value", h->value);
	}
	return enc_done(j, rc);
}

static int
port_encode(json_t *j, const struct api_handler *h)
{
	return h->port_name ? enc_str(j, "port", h->port_name) : enc_int(j, "port", h->port);
}

static json_t *
action_encode(const struct api_handler *h)
{
	json_t *j = json_object();
	int rc = !j;

	if (!j)
		return NULL;
	switch (h->kind) {
	case API_HANDLER_EXEC: rc |= enc_strv(j, "command", h->command, h->n_command); break;
	case API_HANDLER_HTTP:
		rc |= enc_str(j, "path", h->path);
		rc |= enc_str(j, "scheme", h->scheme);
		rc |= enc_str(j, "host", h->host);
		rc |= port_encode(j, h);
		if (h->n_headers)
			rc |= enc_set(j, "httpHeaders",
			              enc_array(h->headers, h->n_headers, sizeof(*h->headers), header_encode));
		break;
	case API_HANDLER_TCP:
		rc |= enc_str(j, "host", h->host);
		rc |= port_encode(j, h);
		break;
	case API_HANDLER_SLEEP: rc |= enc_int(j, "seconds", h->sleep_seconds); break;
	case API_HANDLER_NONE: break;
	}
	return enc_done(j, rc);
}

/* Member name of handler kind k. */
static const char *
handler_key(enum api_handler_kind k)
{
	static const char *const keys[] = {"", "exec", "httpGet", "tcpSocket", "sleep"};

	return (unsigned)k < 5 ? keys[k] : "";
}

/* The handler's member into j (nothing when there is none). */
static int
handler_encode(json_t *j, const struct api_handler *h)
{
	json_t *a;

	if (h->kind == API_HANDLER_NONE)
		return 0;
	a = action_encode(h);
	if (!a)
		return -1;
	return json_object_set_new(j, handler_key(h->kind), a) ? -1 : 0; /* kept even when empty */
}

static int
probe_encode(json_t *c, const char *key, const struct api_probe *p)
{
	json_t *j;
	int rc;

	if (!p->set)
		return 0;
	j = json_object();
	rc = !j;
	if (j) {
		rc |= handler_encode(j, &p->h);
		rc |= enc_int(j, "initialDelaySeconds", p->initial_delay_seconds);
		rc |= enc_int(j, "periodSeconds", p->period_seconds);
		rc |= enc_int(j, "timeoutSeconds", p->timeout_seconds);
		rc |= enc_int(j, "successThreshold", p->success_threshold);
		rc |= enc_int(j, "failureThreshold", p->failure_threshold);
	}
	return enc_set(c, key, enc_done(j, rc));
}

int
api_probes_encode(json_t *j, const struct api_container *c)
{
	int rc = 0;
	json_t *lc, *ps;

	rc |= probe_encode(j, "livenessProbe", &c->liveness);
	rc |= probe_encode(j, "readinessProbe", &c->readiness);
	rc |= probe_encode(j, "startupProbe", &c->startup);
	if (c->lifecycle.pre_stop.kind == API_HANDLER_NONE)
		return rc;
	lc = json_object();
	ps = json_object();
	if (!lc || !ps || handler_encode(ps, &c->lifecycle.pre_stop) < 0) {
		json_decref(lc);
		json_decref(ps);
		return -1;
	}
	if (json_object_set_new(lc, "preStop", ps)) { /* steals ps */
		json_decref(lc);
		return -1;
	}
	return rc | enc_set(j, "lifecycle", lc);
}

/* ------------------------------------------------------------------------
 * Freeing and helpers
 */
static void
handler_clear(struct api_handler *h)
{
	size_t i;

	api_strv_free(h->command, h->n_command);
	free(h->path);
	free(h->scheme);
	free(h->host);
	free(h->port_name);
	for (i = 0; i < h->n_headers; i++) {
		free(h->headers[i].name);
		free(h->headers[i].value);
	}
	free(h->headers);
	memset(h, 0, sizeof(*h));
}

void
api_probes_clear(struct api_container *c)
{
	handler_clear(&c->liveness.h);
	handler_clear(&c->readiness.h);
	handler_clear(&c->startup.h);
	handler_clear(&c->lifecycle.pre_stop);
	handler_clear(&c->lifecycle.post_start);
	memset(&c->liveness, 0, sizeof(c->liveness));
	memset(&c->readiness, 0, sizeof(c->readiness));
	memset(&c->startup, 0, sizeof(c->startup));
}

int
api_handler_port(const struct api_handler *h, const struct api_container *c)
{
	size_t i;

	if (!h->port_name)
		return h->port;
	for (i = 0; i < c->n_ports; i++)
		if (c->ports[i].name && strcmp(c->ports[i].name, h->port_name) == 0)
			return c->ports[i].container_port;
	return 0;
}
