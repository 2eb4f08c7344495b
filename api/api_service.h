/*
 * api_service.h: Service (P/services/NAME) and the cluster IP record
 * P/serviceips/IP -> {"service": NAME, "uid": "..."}, whose shape the
 * node-port claim P/nodeports/PORT shares, with "port" and "protocol".
 *
 * Defaults: port protocol TCP, targetPort = port, type ClusterIP,
 * sessionAffinity None (ClientIP's timeout 10800 s). A service without
 * selector is valid: its endpoints are written by users, and the
 * endpoints controller never touches them. clusterIP "None" makes the
 * service headless: no cluster IP, no proxy rules, DNS names its pods.
 */
#ifndef SKIFF_API_SERVICE_H
#define SKIFF_API_SERVICE_H

#include <stddef.h>

#include "api_errors.h"
#include "api_meta.h"
#include "api_pod.h"
#include "api_selector.h"

#define API_MAX_SERVICE_PORTS 1024 /* per service or endpoints (docs/keys.md) */

struct api_service_port {
	char *name;             /* DNS-1123 label; required when several ports */
	int port;               /* 1..65535 */
	int target_port;        /* 1..65535; 0 when target_port_name is set */
	char *target_port_name; /* a container port name, or NULL (services only) */
	enum api_protocol protocol;
	int node_port; /* 0 = to be allocated (NodePort, LoadBalancer) */
};

enum api_service_type { API_SVC_CLUSTER_IP, API_SVC_NODE_PORT, API_SVC_LOAD_BALANCER };
enum api_session_affinity { API_AFFINITY_NONE, API_AFFINITY_CLIENT_IP };
#define API_AFFINITY_DEFAULT_TIMEOUT 10800 /* seconds, as Kubernetes */

struct api_service_spec {
	struct api_selector selector;
	struct api_service_port *ports; /* at least one */
	size_t n_ports;
	char *cluster_ip; /* IPv4, NULL = to be allocated (or headless) */
	int headless;     /* clusterIP "None" */
	enum api_service_type type;
	enum api_session_affinity affinity;
	int affinity_timeout; /* sessionAffinityConfig.clientIP.timeoutSeconds */
};

struct api_service {
	struct api_meta meta;
	struct api_service_spec spec;
};

struct api_service *api_service_parse(const char *json, size_t len, struct api_errors *errs);
char *api_service_serialize(const struct api_service *svc);
void api_service_free(struct api_service *svc);

/* The container port of pod that service port sp targets: target_port, or
 * for a named target the number of the pod's port of that name and
 * protocol, 0 when it has none. O(ports of the pod). */
int api_service_port_target(const struct api_service_port *sp, const struct api_pod *pod);
/* The containerPort of the first of ports[0..n) named name with protocol
 * proto, 0 when none is. O(n). */
int api_port_by_name(const struct api_container_port *ports, size_t n, const char *name, enum api_protocol proto);

/* "ClusterIP", "NodePort", "LoadBalancer". */
const char *api_service_type_name(enum api_service_type t);
/* The service has node ports (NodePort or LoadBalancer). */
int api_service_has_node_ports(const struct api_service *svc);

struct api_service_ip {
	char *service; /* service name */
	char *uid;     /* the service's create revision */
	/* Node-port claims P/nodeports/PORT only: which of the service's
	 * ports holds it ("port", "protocol"); 0 in cluster IP claims. */
	int port;
	enum api_protocol protocol;
};

struct api_service_ip *api_service_ip_parse(const char *json, size_t len, struct api_errors *errs);
char *api_service_ip_serialize(const struct api_service_ip *sip);
void api_service_ip_free(struct api_service_ip *sip);

#endif
