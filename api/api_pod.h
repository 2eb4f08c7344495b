/*
 * api_pod.h: Pod (P/pods/NAME), its spec and containers. The same spec is
 * the template of a ReplicationController and the copy inside a Binding.
 *
 * Decoding applies the contract's defaults: restartPolicy Always,
 * imagePullPolicy IfNotPresent, terminationGracePeriodSeconds 10, port
 * protocol TCP, requests 0 (text NULL, value 0).
 */
#ifndef SKIFF_API_POD_H
#define SKIFF_API_POD_H

#include <stddef.h>
#include <stdint.h>

#include "api_envsource.h"
#include "api_errors.h"
#include "api_init.h"
#include "api_meta.h"
#include "api_probe.h"
#include "api_quantity.h"
#include "api_security.h"
#include "api_volume.h"

#define API_DEFAULT_GRACE_SECONDS 10

/* Bounds, far beyond what real manifests hold (docs/keys.md, "Limits"):
 * they keep the cost of one pod bounded and the agent's product of cpu
 * (nanocores for Docker) inside int64. */
#define API_MAX_CONTAINERS 100         /* per pod */
#define API_MAX_PORTS 1024             /* per container */
#define API_MAX_ENV 1024               /* per container */
#define API_MAX_GRACE_SECONDS 86400    /* one day */
#define API_MAX_CPU_MILLI 1000000000LL /* a million cores */

enum api_protocol { API_PROTO_TCP, API_PROTO_UDP };
enum api_pull_policy { API_PULL_IF_NOT_PRESENT, API_PULL_ALWAYS, API_PULL_NEVER };
enum api_restart_policy { API_RESTART_ALWAYS, API_RESTART_ON_FAILURE, API_RESTART_NEVER };
/* dnsPolicy (api_pod_dns.c): ClusterFirst is the default. */
enum api_dns_policy { API_DNS_CLUSTER_FIRST, API_DNS_CLUSTER_FIRST_HOST_NET, API_DNS_DEFAULT, API_DNS_NONE };

/* Kubernetes' bounds of dnsConfig (docs/keys.md). */
#define API_MAX_DNS_NAMESERVERS 3
#define API_MAX_DNS_SEARCHES 32
#define API_MAX_DNS_SEARCH_CHARS 2048 /* the search list joined by spaces */
#define API_MAX_DNS_OPTIONS 64        /* Skiff's bound; Kubernetes has none */

struct api_dns_option {
	char *name;  /* required, no white space */
	char *value; /* NULL = none ("ndots" vs "ndots:5") */
};

/* dnsConfig: merged into what dnsPolicy gives (node-agent/agent_dns.c). */
struct api_dns_config {
	char **nameservers; /* canonical IPv4 addresses */
	size_t n_nameservers;
	char **searches; /* DNS subdomains, a trailing '.' allowed */
	size_t n_searches;
	struct api_dns_option *options;
	size_t n_options;
};

struct api_env_var {
	char *name;
	char *value;                           /* NULL = "" */
	struct api_env_value_from *value_from; /* NULL = none (api_envsource.c) */
};

struct api_container_port {
	char *name;         /* optional IANA service name */
	int container_port; /* 1..65535 */
	int host_port;      /* 0 = none */
	enum api_protocol protocol;
};

/* cpu in milli-units, memory in bytes, pods (node capacity only) in units. */
struct api_resource_list {
	struct api_quantity cpu, memory, pods;
};

struct api_resources {
	struct api_resource_list requests, limits;
};

struct api_container {
	char *name;
	char *image;
	char **command;
	size_t n_command;
	char **args;
	size_t n_args;
	struct api_env_var *env;
	size_t n_env;
	struct api_container_port *ports;
	size_t n_ports;
	struct api_resources resources;
	enum api_pull_policy image_pull_policy;
	struct api_security_context security_context; /* api_security.c */
	struct api_volume_mount *volume_mounts;       /* api_volume.c */
	size_t n_volume_mounts;
	struct api_env_from *env_from; /* envFrom (api_envsource.c) */
	size_t n_env_from;
	struct api_probe liveness, readiness, startup; /* api_probe.c (issue 17) */
	struct api_lifecycle lifecycle;
};

struct api_pod_spec {
	struct api_container *containers; /* at least one */
	size_t n_containers;
	enum api_restart_policy restart_policy;
	struct api_labels node_selector;
	int64_t termination_grace_period_seconds;
	struct api_pod_security_context security_context; /* api_security.c, with: */
	int host_pid, host_ipc;
	struct api_volume *volumes; /* api_volume.c */
	size_t n_volumes;
	struct api_container *init_containers; /* initContainers, checked by api_init.c */
	size_t n_init_containers;
	int host_network;                  /* hostNetwork (api_security.c): the node's network namespace */
	enum api_dns_policy dns_policy;    /* dnsPolicy (api_pod_dns.c) */
	struct api_dns_config *dns_config; /* dnsConfig, NULL when absent */
	int service_links_off;             /* enableServiceLinks: false */
};

struct api_pod {
	struct api_meta meta;
	struct api_pod_spec spec;
};

/* Decode and check a Pod from JSON text (len bytes). Returns a new pod
 * (free with api_pod_free), or NULL with every problem in errs. */
struct api_pod *api_pod_parse(const char *json, size_t len, struct api_errors *errs);
/* Canonical JSON (compact, sorted keys; equal pods give equal bytes). New
 * string (free()), NULL when out of memory. */
char *api_pod_serialize(const struct api_pod *pod);
/* A deep copy, NULL when out of memory. */
struct api_pod *api_pod_dup(const struct api_pod *pod);
void api_pod_free(struct api_pod *pod);

/* Sum of the containers' requests: milli-cpu and bytes. */
void api_pod_requests(const struct api_pod *pod, int64_t *cpu_milli, int64_t *memory_bytes);
/* Name of an enum value as in JSON ("TCP", "IfNotPresent", "Always"). */
const char *api_protocol_name(enum api_protocol p);
const char *api_pull_policy_name(enum api_pull_policy p);
const char *api_restart_policy_name(enum api_restart_policy p);
const char *api_dns_policy_name(enum api_dns_policy p);

#endif
