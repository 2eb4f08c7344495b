/*
 * api_internal.h: helpers shared by the files of api/, not part of the
 * public API: a bounded string builder, the decoding context (current
 * field path + error list) with typed member readers, and encoders that
 * leave out empty values so that one object has one serialization.
 */
#ifndef SKIFF_API_INTERNAL_H
#define SKIFF_API_INTERNAL_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "api_errors.h"
#include "api_labels.h"
#include "api_quantity.h"

/* snprintf into a fixed buffer in several steps; need counts every byte
 * asked for, so the caller can tell truncation (need >= len). */
struct api_sbuf {
	char *buf;
	size_t len, need;
};
void api_sbuf_init(struct api_sbuf *sb, char *buf, size_t len);
void api_sbuf_puts(struct api_sbuf *sb, const char *s);
void api_sbuf_printf(struct api_sbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* a + b for non-negative values, INT64_MAX instead of overflowing. */
static inline int64_t
api_add_sat(int64_t a, int64_t b)
{
	return a > INT64_MAX - b ? INT64_MAX : a + b;
}

/* Free n strings and the vector. */
void api_strv_free(char **v, size_t n);

/* ------------------------------------------------------------------------
 * Decoding. Each decoder gets the JSON object at the current path (NULL
 * when absent, so that defaults still apply), fills a zeroed struct and
 * reports every problem with its path. Absent members and JSON null read as
 * "not set"; a member of the wrong type is an error and reads as not set.
 */
#define API_PATH_MAX 384

struct api_dec {
	struct api_errors *errs;
	size_t len;
	char path[API_PATH_MAX];
	int loose_images; /* a binding's pod: api_check_image, not the grammar */
};

/* Decodes one object j (NULL when absent) into out. */
typedef void (*dec_fn)(struct api_dec *d, const json_t *j, void *out);

/* path (of length len < cap) extended by n bytes of s, or "[i]", cut
 * short at cap - 1 bytes and NUL-terminated: its new length. What the
 * decoder and api_fields.c's walk build their paths with (no printf: a
 * push per member decoded). */
size_t api_path_cat(char *path, size_t cap, size_t len, const char *s, size_t n);
size_t api_path_index(char *path, size_t cap, size_t len, size_t i);

void dec_init(struct api_dec *d, struct api_errors *errs);
/* Extend the path by ".field", "[i]" or "[key]"; returns the mark to pop to. */
size_t dec_push(struct api_dec *d, const char *field);
size_t dec_push_index(struct api_dec *d, size_t i);
size_t dec_push_key(struct api_dec *d, const char *key);
void dec_pop(struct api_dec *d, size_t mark);
/* Record a problem at the current path, or at path.field. */
void dec_err(struct api_dec *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void dec_err_at(struct api_dec *d, const char *field, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void dec_oom(struct api_dec *d);
/* Record err (from a check that returned -1) at path.field. */
void dec_check(struct api_dec *d, const char *field, int rc, const struct api_error *err);

/* "object", "array", "string", "integer", "number", "boolean", "null". */
const char *api_json_type_name(const json_t *j);

/* Member key of obj if it has type t; NULL when absent/null (or wrong
 * type, reported). obj may be NULL. */
const json_t *dec_member(struct api_dec *d, const json_t *obj, const char *key, json_type t);
/* New copy of a string member; "" and absent read as NULL; required
 * reports "required" then. */
char *dec_str(struct api_dec *d, const json_t *obj, const char *key, int required);
/* Integer member within [min, max]: 1 and *out set, 0 when absent/bad. */
int dec_int(struct api_dec *d, const json_t *obj, const char *key, int64_t min, int64_t max, int64_t *out);
/* Boolean member: 1 and *out set, 0 when absent/bad. */
int dec_bool(struct api_dec *d, const json_t *obj, const char *key, int *out);
/* String member that must be one of names[0..n): its index, or dflt when
 * absent, or dflt with an error when it is something else. */
int dec_enum(struct api_dec *d, const json_t *obj, const char *key, const char *const *names, int n, int dflt);
/* 1 when obj has member key and it is not null. */
int dec_present(const json_t *obj, const char *key);
/* 1 when member key of obj is absent, null or "" (obj may be NULL). */
int dec_missing(const json_t *obj, const char *key);
/* Object member key of obj: fn(d, member or NULL when absent, out) with the
 * path at key. Not called when the member has another type (reported). */
void dec_object(struct api_dec *d, const json_t *obj, const char *key, void *out, dec_fn fn);
/* Array of strings. */
void dec_strv(struct api_dec *d, const json_t *obj, const char *key, char ***out, size_t *n);
/* Map of strings. keys: check keys (and values, when values) as labels. */
enum { DEC_MAP_ANY, DEC_MAP_LABEL_KEYS, DEC_MAP_LABELS };
void dec_labels(struct api_dec *d, const json_t *obj, const char *key, struct api_labels *out, int check);
/* Array of objects: calloc'ed items of size bytes, fn called on each with
 * the path at key[i]; items that are not objects are reported. */
void *dec_array(struct api_dec *d, const json_t *obj, const char *key, size_t size, size_t *n, dec_fn fn);
/* A quantity (string or number) in units (scale 0) or milli-units (3),
 * which must not be negative. */
void dec_quantity(struct api_dec *d, const json_t *obj, const char *key, int scale, struct api_quantity *q);
/* A string member that must pass check (an api_check_* function). */
char *dec_checked(struct api_dec *d, const json_t *obj, const char *key, int required,
                  int (*check)(const char *, struct api_error *));

/* api_bounds.c. When member key of obj is an array of more than max
 * items: reported at path.key, returns 1 (the caller then skips it). */
int dec_too_many(struct api_dec *d, const json_t *obj, const char *key, size_t max);
/* A key (a string, a number or both) of item idx, for api_mark_dups. */
struct api_key_ref {
	const char *str; /* NULL reads as "" */
	int64_t num;
	size_t idx;
};
/* Sorts refs[0..n) and sets dup[idx] = 1 for every item whose key an item
 * of lower idx also has. dup has room for every idx. O(n log n). */
void api_mark_dups(struct api_key_ref *refs, size_t n, unsigned char *dup);

/* ------------------------------------------------------------------------
 * Encoding. Each returns 0 or -1 (out of memory); callers OR the results
 * and drop the whole object on failure. Empty values are left out.
 */
int enc_str(json_t *o, const char *key, const char *s); /* NULL/"" left out */
int enc_int(json_t *o, const char *key, int64_t v);     /* always */
int enc_bool(json_t *o, const char *key, int v);        /* only true */
int enc_strv(json_t *o, const char *key, char *const *v, size_t n);
int enc_labels(json_t *o, const char *key, const struct api_labels *l);
/* New object {key: value, ...} (possibly empty), NULL on failure. */
json_t *api_labels_to_json(const struct api_labels *l);
/* Steals child; left out when it is an empty object or array; NULL child
 * is a failure. */
int enc_set(json_t *o, const char *key, json_t *child);
typedef json_t *(*enc_fn)(const void *item);
/* New array of fn(item) over n items of size bytes, NULL on failure. */
json_t *enc_array(const void *items, size_t n, size_t size, enc_fn fn);
/* New object, or NULL when rc != 0 (o is released then). */
json_t *enc_done(json_t *o, int rc);
/* Compact, sorted keys: the canonical bytes. New string or NULL. */
char *api_json_dumps(const json_t *j);

/* ------------------------------------------------------------------------
 * Pieces shared between objects.
 */
struct api_meta;
struct api_selector;
struct api_pod;
struct api_pod_spec;
struct api_service_port;

enum api_name_rule {
	API_NAME_LABEL,     /* pods, controllers, services */
	API_NAME_SUBDOMAIN, /* nodes */
	API_NAME_NONE,      /* templates: labels and annotations only */
};
void api_meta_decode(struct api_dec *d, const json_t *j, struct api_meta *m, enum api_name_rule rule);
json_t *api_meta_encode(const struct api_meta *m);
/* api_meta_decode with one rule, as dec_fn for dec_object. */
void api_meta_decode_label(struct api_dec *d, const json_t *j, void *m);
void api_meta_decode_subdomain(struct api_dec *d, const json_t *j, void *m);
void api_meta_decode_template(struct api_dec *d, const json_t *j, void *m);
/* "TCP", "UDP": the names of enum api_protocol. */
extern const char *const api_proto_names[2];
/* Selector member key of obj (plain map or matchLabels/matchExpressions). */
void api_selector_decode(struct api_dec *d, const json_t *obj, const char *key, struct api_selector *s);
json_t *api_selector_encode(const struct api_selector *s);
/* A whole Pod at the current path (j: the object or NULL). */
void api_pod_decode(struct api_dec *d, const json_t *j, void *pod);
json_t *api_pod_encode(const void *pod);
/* A pod template (metadata: labels and annotations only). */
void api_pod_template_decode(struct api_dec *d, const json_t *j, void *pod);
void api_pod_clear(void *pod);
/* Service/Endpoints ports; named: targetPort may be a port name. */
void api_service_ports_decode(struct api_dec *d, const json_t *obj, struct api_service_port **ports, size_t *n,
                              int named);
json_t *api_service_ports_encode(const struct api_service_port *ports, size_t n);
void api_service_ports_free(struct api_service_port *ports, size_t n);
/* Capacity, requests or limits (with_pods: node capacity). */
struct api_resource_list;
void api_resource_list_decode(struct api_dec *d, const json_t *j, struct api_resource_list *l, int with_pods);
json_t *api_resource_list_encode(const struct api_resource_list *l);
void api_resource_list_clear(struct api_resource_list *l);
/* A string member that must be an IPv4 address / CIDR (canonical form). */
char *dec_ipv4(struct api_dec *d, const json_t *obj, const char *key, int required);
char *dec_cidr(struct api_dec *d, const json_t *obj, const char *key, int required);
/* A string member that must be an RFC 3339 time. */
char *dec_time(struct api_dec *d, const json_t *obj, const char *key);

/* api_probe.c: a container's probes and lifecycle (after its ports are
 * decoded: a named port must be one of them); init containers may have
 * none; encode into container object j (0 or -1); free. */
struct api_container;
void api_probes_decode(struct api_dec *d, const json_t *j, struct api_container *c);
void api_probes_check_init(struct api_dec *d, const struct api_pod_spec *s);
int api_probes_encode(json_t *j, const struct api_container *c);
void api_probes_clear(struct api_container *c);

/* api_pod_dns.c: dnsPolicy, dnsConfig and enableServiceLinks of a pod
 * spec: decode (with Kubernetes' checks), encode only what differs from
 * the defaults into spec object j (0 or -1), free. */
void api_pod_dns_decode(struct api_dec *d, const json_t *j, struct api_pod_spec *s);
int api_pod_dns_encode(json_t *j, const struct api_pod_spec *s);
void api_pod_dns_clear(struct api_pod_spec *s);

/* ------------------------------------------------------------------------
 * Per-kind operations, for the generic entry points of api.h.
 */
struct api_kind_ops {
	const char *name; /* "Pod" */
	size_t size;      /* sizeof the struct */
	void (*decode)(struct api_dec *d, const json_t *j, void *out);
	json_t *(*encode)(const void *obj);
	void (*clear)(void *obj);
};

extern const struct api_kind_ops api_pod_ops, api_controller_ops, api_service_ops, api_node_ops, api_node_lease_ops,
	api_binding_ops, api_pod_status_ops, api_controller_status_ops, api_endpoints_ops, api_service_ip_ops,
	api_network_config_ops, api_subnet_ops, api_event_ops, api_configmap_ops, api_secret_ops;
extern const struct api_kind_ops api_deployment_ops, api_deployment_status_ops;
extern const struct api_kind_ops api_proxy_status_ops;

/* api_network.c: "backendData" {"vtepMAC": MAC} of a Subnet or a node's
 * status into *(char **)out (new, lower case; NULL when absent or bad,
 * reported), and its encoding into j (nothing when vtep_mac is NULL). */
void api_backend_data_decode(struct api_dec *d, const json_t *j, void *out);
int api_backend_data_encode(json_t *j, const char *vtep_mac);

#endif
