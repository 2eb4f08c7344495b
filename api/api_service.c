/*
 * api_service.c: Service decode/encode and the port list it shares with
 * Endpoints (names, numbers, targetPort as number or port name, unique
 * names and port/protocol pairs, found in O(n log n); at most
 * API_MAX_SERVICE_PORTS). Cluster IP allocation is not here.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "api_internal.h"

static void
target_decode(struct api_dec *d, const json_t *j, struct api_service_port *p, int named)
{
	const json_t *tp = json_object_get(j, "targetPort");
	int64_t v;

	p->target_port = p->port;
	if (!tp || json_is_null(tp))
		return;
	if (json_is_integer(tp)) {
		p->target_port = dec_int(d, j, "targetPort", 1, 65535, &v) ? (int)v : 0;
	} else if (json_is_string(tp) && named) {
		p->target_port = 0;
		p->target_port_name = dec_checked(d, j, "targetPort", 1, api_check_port_name);
	} else {
		dec_err_at(d, "targetPort", "must be %s, got %s", named ? "an integer or a port name" : "an integer",
		           api_json_type_name(tp));
	}
}

static void
port_decode_common(struct api_dec *d, const json_t *j, void *item, int named)
{
	struct api_service_port *p = item;
	int64_t v;

	p->name = dec_checked(d, j, "name", 0, api_check_dns_label);
	if (!dec_present(j, "port"))
		dec_err_at(d, "port", "required");
	else if (dec_int(d, j, "port", 1, 65535, &v))
		p->port = (int)v;
	target_decode(d, j, p, named);
	p->protocol = (enum api_protocol)dec_enum(d, j, "protocol", api_proto_names, 2, API_PROTO_TCP);
	/* Endpoints carry the node port the controller allocated. */
	if (dec_present(j, "nodePort") && dec_int(d, j, "nodePort", 1, 65535, &v))
		p->node_port = (int)v;
}

static void
port_decode_named(struct api_dec *d, const json_t *j, void *item)
{
	port_decode_common(d, j, item, 1);
}

static void
port_decode_numeric(struct api_dec *d, const json_t *j, void *item)
{
	port_decode_common(d, j, item, 0);
}

/* Report msg at ports[i].field. */
static void
port_err(struct api_dec *d, size_t i, const char *field, const char *msg)
{
	size_t mark = dec_push(d, "ports");

	dec_push_index(d, i);
	dec_err_at(d, field, "%s", msg);
	dec_pop(d, mark);
}

/* Names and port/protocol pairs repeated from an earlier port: dup[i] and
 * dup[n + i]. O(n log n). */
static int
find_dups(const struct api_service_port *ports, size_t n, unsigned char **dup)
{
	struct api_key_ref *refs = malloc((n + 1) * sizeof(*refs));
	size_t i, k = 0;

	*dup = calloc(2 * n + 1, 1);
	if (!refs || !*dup) {
		free(refs);
		return -1;
	}
	for (i = 0; i < n; i++)
		if (ports[i].name)
			refs[k++] = (struct api_key_ref){ports[i].name, 0, i};
	api_mark_dups(refs, k, *dup);
	for (k = 0, i = 0; i < n; i++)
		if (ports[i].port)
			refs[k++] = (struct api_key_ref){NULL, ports[i].port * 2 + ports[i].protocol, i};
	api_mark_dups(refs, k, *dup + n);
	free(refs);
	return 0;
}

void
api_service_ports_decode(struct api_dec *d, const json_t *obj, struct api_service_port **ports, size_t *n, int named)
{
	const json_t *raw = obj ? json_object_get(obj, "ports") : NULL;
	char q[96], msg[160];
	unsigned char *dup = NULL;
	size_t i;

	*ports = NULL;
	*n = 0;
	if (!dec_too_many(d, obj, "ports", API_MAX_SERVICE_PORTS))
		*ports =
			dec_array(d, obj, "ports", sizeof(**ports), n, named ? port_decode_named : port_decode_numeric);
	if (!raw || json_is_null(raw))
		dec_err_at(d, "ports", "required");
	else if (json_is_array(raw) && json_array_size(raw) == 0)
		dec_err_at(d, "ports", "must have at least one port");
	if (find_dups(*ports, *n, &dup) < 0)
		dec_oom(d);
	for (i = 0; dup && i < *n; i++) {
		const struct api_service_port *p = &(*ports)[i];

		if (!p->name && *n > 1 && json_is_object(json_array_get(raw, i)))
			port_err(d, i, "name", "required when there is more than one port");
		if (dup[i]) {
			snprintf(msg, sizeof(msg), "duplicate port name %s", api_quote(q, sizeof(q), p->name));
			port_err(d, i, "name", msg);
		}
		if (dup[*n + i]) {
			snprintf(msg, sizeof(msg), "duplicate port %d/%s", p->port, api_protocol_name(p->protocol));
			port_err(d, i, "port", msg);
		}
	}
	free(dup);
}

static json_t *
port_encode(const void *item)
{
	const struct api_service_port *p = item;
	json_t *j = json_object();
	int rc = !j;

	if (j) {
		rc |= enc_str(j, "name", p->name);
		rc |= enc_int(j, "port", p->port);
		if (p->target_port_name)
			rc |= enc_str(j, "targetPort", p->target_port_name);
		else
			rc |= enc_int(j, "targetPort", p->target_port);
		rc |= enc_str(j, "protocol", api_protocol_name(p->protocol));
		if (p->node_port)
			rc |= enc_int(j, "nodePort", p->node_port);
	}
	return enc_done(j, rc);
}

json_t *
api_service_ports_encode(const struct api_service_port *ports, size_t n)
{
	return enc_array(ports, n, sizeof(*ports), port_encode);
}

void
api_service_ports_free(struct api_service_port *ports, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(ports[i].name);
		free(ports[i].target_port_name);
	}
	free(ports);
}

static const char *const type_names[] = {"ClusterIP", "NodePort", "LoadBalancer"};
static const char *const affinity_names[] = {"None", "ClientIP"};

const char *
api_service_type_name(enum api_service_type t)
{
	return type_names[t <= API_SVC_LOAD_BALANCER ? t : 0];
}

int
api_service_has_node_ports(const struct api_service *svc)
{
	return svc->spec.type == API_SVC_NODE_PORT || svc->spec.type == API_SVC_LOAD_BALANCER;
}

static void
client_ip_decode(struct api_dec *d, const json_t *j, void *out)
{
	int64_t v;

	if (dec_present(j, "timeoutSeconds") && dec_int(d, j, "timeoutSeconds", 1, 86400, &v))
		*(int *)out = (int)v;
}

static void
affinity_config_decode(struct api_dec *d, const json_t *j, void *out)
{
	dec_object(d, j, "clientIP", out, client_ip_decode);
}

/* nodePort only where the type has node ports (as Kubernetes says). */
static void
node_ports_check(struct api_dec *d, const struct api_service_spec *s)
{
	size_t i;

	for (i = 0; i < s->n_ports; i++)
		if (s->ports[i].node_port && s->type == API_SVC_CLUSTER_IP)
			port_err(d, i, "nodePort", "may not be set when type is \"ClusterIP\"");
}

static void
spec_decode(struct api_dec *d, const json_t *j, void *out)
{
	struct api_service_spec *s = out;
	const json_t *cip = json_object_get(j, "clusterIP");

	api_selector_decode(d, j, "selector", &s->selector);
	api_service_ports_decode(d, j, &s->ports, &s->n_ports, 1);
	s->headless = json_is_string(cip) && strcmp(json_string_value(cip), "None") == 0;
	if (!s->headless)
		s->cluster_ip = dec_ipv4(d, j, "clusterIP", 0);
	s->type = (enum api_service_type)dec_enum(d, j, "type", type_names, 3, API_SVC_CLUSTER_IP);
	s->affinity =
		(enum api_session_affinity)dec_enum(d, j, "sessionAffinity", affinity_names, 2, API_AFFINITY_NONE);
	s->affinity_timeout = API_AFFINITY_DEFAULT_TIMEOUT;
	dec_object(d, j, "sessionAffinityConfig", &s->affinity_timeout, affinity_config_decode);
	if (s->headless && s->type != API_SVC_CLUSTER_IP)
		dec_err_at(d, "clusterIP", "may not be \"None\" when type is \"%s\"", type_names[s->type]);
	node_ports_check(d, s);
}

static void
service_decode(struct api_dec *d, const json_t *j, void *out)
{
	struct api_service *svc = out;

	dec_object(d, j, "metadata", &svc->meta, api_meta_decode_label);
	dec_object(d, j, "spec", &svc->spec, spec_decode);
}

static json_t *
spec_encode(const struct api_service_spec *s)
{
	json_t *j = json_object();
	int rc = !j;

	if (j) {
		rc |= enc_set(j, "selector", api_selector_encode(&s->selector));
		rc |= enc_set(j, "ports", api_service_ports_encode(s->ports, s->n_ports));
		rc |= enc_str(j, "clusterIP", s->headless ? "None" : s->cluster_ip);
		if (s->type != API_SVC_CLUSTER_IP)
			rc |= enc_str(j, "type", type_names[s->type]);
		if (s->affinity == API_AFFINITY_CLIENT_IP) {
			rc |= enc_str(j, "sessionAffinity", affinity_names[s->affinity]);
			rc |= enc_set(j, "sessionAffinityConfig",
			              json_pack("{s{si}}", "clientIP", "timeoutSeconds", s->affinity_timeout));
		}
	}
	return enc_done(j, rc);
}

static json_t *
service_encode(const void *obj)
{
	const struct api_service *svc = obj;
	json_t *j = json_object();
	int rc = !j;

	if (j) {
		rc |= enc_set(j, "metadata", api_meta_encode(&svc->meta));
		rc |= enc_set(j, "spec", spec_encode(&svc->spec));
	}
	return enc_done(j, rc);
}

static void
service_clear(void *obj)
{
	struct api_service *svc = obj;

	api_meta_clear(&svc->meta);
	api_selector_clear(&svc->spec.selector);
	api_service_ports_free(svc->spec.ports, svc->spec.n_ports);
	free(svc->spec.cluster_ip);
	memset(svc, 0, sizeof(*svc));
}

const struct api_kind_ops api_service_ops = {"Service", sizeof(struct api_service), service_decode, service_encode,
                                             service_clear};

struct api_service *
api_service_parse(const char *json, size_t len, struct api_errors *errs)
{
	return api_parse(API_SERVICE, json, len, errs);
}

char *
api_service_serialize(const struct api_service *svc)
{
	return api_serialize(API_SERVICE, svc);
}

void
api_service_free(struct api_service *svc)
{
	api_free(API_SERVICE, svc);
}

int
api_port_by_name(const struct api_container_port *ports, size_t n, const char *name, enum api_protocol proto)
{
	for (size_t i = 0; i < n; i++)
		if (ports[i].name && strcmp(ports[i].name, name) == 0 && ports[i].protocol == proto)
			return ports[i].container_port;
	return 0;
}

int
api_service_port_target(const struct api_service_port *sp, const struct api_pod *pod)
{
	int port = 0;

	if (!sp->target_port_name)
		return sp->target_port;
	for (size_t i = 0; i < pod->spec.n_containers && !port; i++)
		port = api_port_by_name(pod->spec.containers[i].ports, pod->spec.containers[i].n_ports,
		                        sp->target_port_name, sp->protocol);
	return port;
}
