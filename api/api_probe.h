/*
 * api_probe.h: a container's probes (livenessProbe, readinessProbe,
 * startupProbe) and lifecycle hooks (lifecycle.preStop, postStart), as
 * Kubernetes' v1 Probe and LifecycleHandler define them. api_probe.c
 * decodes and checks them; the agent runs them (agent_probe*.c) and its
 * planner acts on the results.
 */
#ifndef SKIFF_API_PROBE_H
#define SKIFF_API_PROBE_H

#include <stddef.h>

enum api_handler_kind {
	API_HANDLER_NONE, /* not set */
	API_HANDLER_EXEC, /* exec.command, in the container (Docker's exec API) */
	API_HANDLER_HTTP, /* httpGet, from the node to the pod IP */
	API_HANDLER_TCP,  /* tcpSocket, from the node to the pod IP */
	API_HANDLER_SLEEP /* sleep.seconds (lifecycle hooks only) */
};

struct api_http_header {
	char *name;
	char *value;
};

/* One handler. port: by number (port > 0) or by name (port_name, one of
 * the container's ports' names; resolved by api_handler_port). */
struct api_handler {
	enum api_handler_kind kind;
	char **command; /* EXEC */
	size_t n_command;
	char *path;      /* HTTP, default "/" */
	char *scheme;    /* HTTP: "HTTP" (default) or "HTTPS" */
	char *host;      /* HTTP, TCP: NULL = the pod IP */
	int port;        /* HTTP, TCP */
	char *port_name; /* HTTP, TCP: a named container port */
	struct api_http_header *headers;
	size_t n_headers;
	long sleep_seconds; /* SLEEP */
};

/* A probe: set = 0 when the container has none. Defaults as Kubernetes':
 * period 10 s, timeout 1 s, success threshold 1, failure threshold 3. */
struct api_probe {
	int set;
	struct api_handler h;
	int initial_delay_seconds;
	int period_seconds;
	int timeout_seconds;
	int success_threshold;
	int failure_threshold;
};

struct api_lifecycle {
	struct api_handler post_start;
	struct api_handler pre_stop;
};

struct api_container;
/* The port handler h of container c connects to: its number, or the
 * number of the container port its name names; 0 when there is none
 * (the decoder refuses that). */
int api_handler_port(const struct api_handler *h, const struct api_container *c);

#endif
