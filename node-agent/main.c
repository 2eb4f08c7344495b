/*
 * main.c: skiff-agent, the node agent. Flags, the two informers
 * (P/bindings/NODE/, P/podstatus/NODE/), the work queue of pod names, and
 * the order of start and stop. The work lives in agent_*.c.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "agent_config.h"
#include "agent_deadline.h"
#include "agent_dns.h"
#include "agent_drain.h"
#include "agent_evict.h"
#include "agent_hollow.h"
#include "agent_probe.h"
#include "agent_serve.h"
#include "agent_svcenv.h"
#include "agent_volumes.h"

#ifndef SKIFF_PREFIX
#define SKIFF_PREFIX "/usr/local"
#endif

static struct agent A;
static const char *node_name, *node_ip, *node_labels, *cap_cpu, *cap_mem, *docker_socket, *pause_tarball;
static const char *docker_network, *routing;
static long max_pods, lease_ttl, resync, backoff_base, backoff_max, workers, max_grace, runtime_unhealthy, disk_pct;

FLAG_BOUNDS(check_positive, 1, LONG_MAX)
FLAG_BOUNDS(check_lease, 2000, LONG_MAX)
FLAG_BOUNDS(check_percent, 0, 100)
/* 0s..1h: a container's grace label above an hour reads back as the
 * default 10s (agent_status.c), so a larger cap would not hold. */
FLAG_BOUNDS(check_grace, 0, 3600 * 1000)

/* A unix socket path fits sun_path (108 bytes with its NUL). */
static int
check_socket(const struct flag *f, char *err, size_t len)
{
	const char *s = *(const char **)f->dest;

	if (strlen(s) > 107) {
		snprintf(err, len, "%s is longer than 107 bytes", s);
		return -1;
	}
	return 0;
}

static int
check_node(const struct flag *f, char *err, size_t len)
{
	struct api_error e;
	const char *s = *(const char **)f->dest;

	if (s && *s && api_check_dns_subdomain(s, &e) < 0) {
		snprintf(err, len, "--%s: %s", f->name, e.msg);
		return -1;
	}
	return 0;
}

static int
check_quantity(const struct flag *f, char *err, size_t len)
{
	struct api_error e;
	const char *s = *(const char **)f->dest;
	int64_t v;

	if (!s || !*s)
		return 0;
	if ((strcmp(f->name, "capacity-cpu") == 0 ? api_quantity_parse_milli(s, &v, &e)
	                                          : api_quantity_parse_value(s, &v, &e)) < 0) {
		snprintf(err, len, "--%s: %s", f->name, e.msg);
		return -1;
	}
	return 0;
}

static int
check_labels(const struct flag *f, char *err, size_t len)
{
	const char *s = *(const char **)f->dest;
	char buf[4096], *tok, *save = NULL;
	struct api_error e;

	if (!s || !*s)
		return 0;
	snprintf(buf, sizeof(buf), "%s", s);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '=');

		if (!eq) {
			snprintf(err, len, "--%s: \"%s\" is not key=value", f->name, tok);
			return -1;
		}
		*eq = '\0';
		if (api_check_label_key(tok, &e) < 0 || api_check_label_value(eq + 1, &e) < 0) {
			snprintf(err, len, "--%s: %s", f->name, e.msg);
			return -1;
		}
	}
	return 0;
}

static int
check_ip(const struct flag *f, char *err, size_t len)
{
	struct api_error e;
	const char *s = *(const char **)f->dest;
	uint32_t ip;

	if (s && *s && api_ipv4_parse(s, &ip, &e) < 0) {
		snprintf(err, len, "--%s: %s", f->name, e.msg);
		return -1;
	}
	return 0;
}

/* A Docker network name that is also the Linux bridge's name: at most 15
 * bytes (IFNAMSIZ - 1) of [A-Za-z0-9_.-], starting with a letter or
 * digit, and not one of Docker's own networks. */
static int
check_network(const struct flag *f, char *err, size_t len)
{
	const char *s = *(const char **)f->dest, *p;
	static const char *const reserved[] = {"bridge", "host", "none", "default", NULL};
	int i;

	if (!s || !*s)
		return 0;
	for (i = 0; reserved[i]; i++)
		if (strcmp(s, reserved[i]) == 0) {
			snprintf(err, len, "%s is Docker's own network; name a new one, such as skiff0", s);
			return -1;
		}
	for (p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		      (p > s && (*p == '_' || *p == '.' || *p == '-')))) {
			snprintf(err, len,
			         "\"%s\" must be letters, digits, '_', '.', '-', starting with a letter or digit", s);
			return -1;
		}
	if (strlen(s) > 15) {
		snprintf(err, len, "\"%s\" is longer than 15 bytes, the limit of a Linux bridge's name", s);
		return -1;
	}
	return 0;
}

static int
check_routing(const struct flag *f, char *err, size_t len)
{
	const char *s = *(const char **)f->dest;

	if (strcmp(s, "none") != 0 && strcmp(s, "host-gw") != 0) {
		snprintf(err, len, "must be none or host-gw, got \"%s\"", s);
		return -1;
	}
	/* Checks run after every flag is parsed, so --docker-network is known. */
	if (strcmp(s, "host-gw") == 0 && (!docker_network || !*docker_network)) {
		snprintf(err, len, "host-gw needs --docker-network: the routes lead to the nodes' pod subnets");
		return -1;
	}
	return 0;
}

/* --host-port-range: the host ports pods may take here. */
static const char *host_port_range;
static int host_port_lo, host_port_hi;

/* --allow-privileged, --default-pids-limit (agent_security.c). */
static int allow_privileged;
/* --stop-ordering=false: no drain gate (benchmarks and comparisons only). */
static int stop_ordering;
static long pids_limit;
FLAG_BOUNDS(check_pids, 0, 4194304)
/* --max-docker-calls (agent_deadline.h) */
static long max_docker_calls;
FLAG_BOUNDS(check_docker_calls, DEADLINE_MIN_CALLS, 4096)

static int
check_host_ports(const struct flag *f, char *err, size_t len)
{
	return plan_port_range_parse(*(const char **)f->dest, &host_port_lo, &host_port_hi, err, len);
}

/* --pod-dir and --allow-host-path (agent_volumes.c). */
static const char *pod_dir, *allow_host_path;
static char **host_path_allow;

static int
check_allow_host_path(const struct flag *f, char *err, size_t len)
{
	vol_allow_free(host_path_allow);
	host_path_allow = NULL;
	return vol_allow_parse(*(const char **)f->dest, &host_path_allow, err, len);
}

static int
check_pod_dir(const struct flag *f, char *err, size_t len)
{
	const char *s = *(const char **)f->dest;

	if (s[0] == '/' && !api_path_has_backstep(s))
		return 0;
	snprintf(err, len, "\"%.200s\" is not an absolute path without '..'", s);
	return -1;
}

/* --cluster-dns and --resolv-conf (agent_dns.c). */
static const char *cluster_dns, *resolv_conf;

static int
check_cluster_dns(const struct flag *f, char *err, size_t len)
{
	const char *s = *(const char **)f->dest;

	if (strcmp(s, "none") == 0)
		return 0;
	return check_ip(f, err, len);
}

/* --runtime docker|hollow and --hollow-start-delay (agent_hollow.c). */
static const char *runtime_name;
static long hollow_delay;
static char hollow_pod_dir[PATH_MAX];
FLAG_BOUNDS(check_hollow_delay, 0, 3600 * 1000)

static int
check_runtime(const struct flag *f, char *err, size_t len)
{
	const char *s = *(const char **)f->dest;

	if (strcmp(s, "docker") != 0 && strcmp(s, "hollow") != 0) {
		snprintf(err, len, "must be docker or hollow, got \"%s\"", s);
		return -1;
	}
	if (strcmp(s, "hollow") == 0 && strcmp(routing, "none") != 0) {
		snprintf(err, len, "hollow pods have no network to route: use --routing none");
		return -1;
	}
	return 0;
}

/* --serve-addr, --serve-cert, --serve-key, --client-ca, --max-streams
 * (agent_serve.c). */
static const char *serve_addr, *serve_cert, *serve_key, *client_ca;
static long max_streams;
FLAG_BOUNDS(check_streams, 1, 4096)

static int
check_serve(const struct flag *f, char *err, size_t len)
{
	const char *const v[4] = {serve_addr, serve_cert, serve_key, client_ca};

	(void)f;
	return serve_opts_check(v, err, len);
}

/* --start-jitter: how long at most the agent waits, at random, before its
 * first request to etcd beyond the start-up check. */
static long start_jitter;
static ev_timer start_timer;
FLAG_BOUNDS(check_start_jitter, 0, 3600 * 1000)

static const struct flag agent_flags[] = {
	{"node-name", FLAG_STRING, &node_name, "", "SKIFF_NODE_NAME", "this node's name (default: the host name)",
         "NAME", check_node},
	{"node-ip", FLAG_STRING, &node_ip, "", NULL, "address to report (default: the default route's source)", "IP",
         check_ip},
	{"node-labels", FLAG_STRING, &node_labels, "", NULL, "labels set at first registration only", "K=V,...",
         check_labels},
	{"capacity-cpu", FLAG_STRING, &cap_cpu, "", NULL, "CPU capacity (default: the CPU count)", "QUANTITY",
         check_quantity},
	{"capacity-memory", FLAG_STRING, &cap_mem, "", NULL, "memory capacity (default: MemTotal)", "QUANTITY",
         check_quantity},
	{"max-pods", FLAG_INT, &max_pods, "110", NULL, "pods capacity", NULL, check_positive},
	{"lease-ttl", FLAG_DURATION, &lease_ttl, "40s", NULL, "TTL of the node lease", NULL, check_lease},
	{"resync-interval", FLAG_DURATION, &resync, "60s", NULL, "full reconcile and node refresh interval", NULL,
         check_positive},
	{"restart-backoff-base", FLAG_DURATION, &backoff_base, "10s", NULL, "first restart back-off (doubles)", NULL,
         check_positive},
	{"restart-backoff-max", FLAG_DURATION, &backoff_max, "5m", NULL, "longest restart back-off", NULL,
         check_positive},
	{"docker-socket", FLAG_STRING, &docker_socket, "/var/run/docker.sock", NULL, "Docker Engine API socket", "PATH",
         check_socket},
	{"pause-tarball", FLAG_STRING, &pause_tarball, "", NULL,
         "tar of the infrastructure image (default: pause.tar next to the binary, else " SKIFF_PREFIX
         "/share/skiff/pause.tar)",
         "PATH", NULL},
	{"workers", FLAG_INT, &workers, "4", NULL, "pods reconciled at once", NULL, check_positive},
	{"max-grace-period", FLAG_DURATION, &max_grace, "1h", NULL,
         "stop containers with at most this grace period, whatever the pod asks (0s..1h)", NULL, check_grace},
	{"stop-ordering", FLAG_BOOL, &stop_ordering, "true", NULL,
         "false: stop a pod without waiting for the proxies to stop sending it connections (for benchmarks and "
         "comparisons only)",
         NULL, NULL},
	{"docker-network", FLAG_STRING, &docker_network, "", NULL,
         "run pods on this Docker bridge network with the node's pod subnet (default: Docker's bridge, one host)",
         "NAME", check_network},
	{"routing", FLAG_STRING, &routing, "none", NULL,
         "none, or host-gw: connect the pod network to other nodes' as P/network/config's backend says "
         "(host-gw routes, or vxlan; needs --docker-network)",
         "MODE", check_routing},
	{"host-port-range", FLAG_STRING, &host_port_range, "1-65535", NULL,
         "host ports pods may take; others are refused (HostPortNotAllowed), e.g. 30000-32767", "A-B",
         check_host_ports},
	{"allow-privileged", FLAG_BOOL, &allow_privileged, "false", NULL,
         "run pods with privileged containers, hostPID, hostIPC or hostNetwork; else they are refused (PrivilegedNotAllowed)",
         NULL, NULL},
	{"default-pids-limit", FLAG_INT, &pids_limit, "4096", NULL, "most processes per container (0: no limit)", "N",
         check_pids},
	{"pod-dir", FLAG_STRING, &pod_dir, VOL_DEFAULT_POD_DIR, NULL,
         "directory of the pods' emptyDir volumes (PODDIR/UID/volumes/NAME)", "PATH", check_pod_dir},
	{"runtime-unhealthy-after", FLAG_DURATION, &runtime_unhealthy, "30s", NULL,
         "Docker failing this long makes the node not ready (no heartbeat, pods evicted after the node "
         "controller's timeout)",
         NULL, check_positive},
	{"disk-pressure-threshold", FLAG_INT, &disk_pct, "10", NULL,
         "percent free of Docker's data root or --pod-dir below which the node has DiskPressure (nothing new "
         "placed)",
         "PCT", check_percent},
	{"cluster-dns", FLAG_STRING, &cluster_dns, DNS_DEFAULT_ADDR, NULL,
         "the pods' nameserver (ClusterFirst), put on the bridge " DNS_BRIDGE " of this node; none: pods get the "
         "node's resolver file",
         "ADDR", check_cluster_dns},
	{"resolv-conf", FLAG_STRING, &resolv_conf, DNS_DEFAULT_RESOLV, NULL,
         "the node's resolver file: its search list follows the cluster's, and dnsPolicy Default pods get it", "PATH",
         NULL},
	{"allow-host-path", FLAG_STRING, &allow_host_path, "", NULL,
         "host path prefixes pods may mount (hostPath); others are refused (HostPathNotAllowed), e.g. /srv,/var/log",
         "P1,P2", check_allow_host_path},
	{"runtime", FLAG_STRING, &runtime_name, "docker", NULL,
         "docker, or hollow: an in-memory Docker in the agent, for scale tests (docs/scaling.md)", "NAME",
         check_runtime},
	{"hollow-start-delay", FLAG_DURATION, &hollow_delay, "0s", NULL,
         "with --runtime hollow: how long a container takes to start", NULL, check_hollow_delay},
	{"max-docker-calls", FLAG_INT, &max_docker_calls, "64", NULL,
         "Docker requests open at once (event stream and probe execs included, one kept for the health check); "
         "more wait their turn",
         "N", check_docker_calls},
	{"serve-addr", FLAG_STRING, &serve_addr, "", NULL,
         "serve container logs and exec over HTTPS here to clients of --client-ca (port 0: any; off unless all four TLS "
         "flags are given)",
         "IP:PORT", check_serve},
	{"serve-cert", FLAG_STRING, &serve_cert, "", NULL, "the HTTPS server's certificate (PEM)", "PATH", NULL},
	{"serve-key", FLAG_STRING, &serve_key, "", NULL, "its private key (PEM)", "PATH", NULL},
	{"client-ca", FLAG_STRING, &client_ca, "", NULL,
         "the admin CA (PEM): only clients with a certificate it signed are served", "PATH", NULL},
	{"max-streams", FLAG_INT, &max_streams, "32", NULL,
         "log and exec streams served at once; more are refused (429)", "N", check_streams},
	{"start-jitter", FLAG_DURATION, &start_jitter, "0s", NULL,
         "wait a random time up to this before the first lists and watches, so that a fleet started at once (or "
         "after an etcd restart) does not list all at once (e.g. 30s for 1,000 nodes)",
         NULL, check_start_jitter},
	{0}};

static const struct skiff_prog prog = {
	.name = "skiff-agent",
	.summary = "Runs the pods bound to this node in Docker and reports their status.",
	.health_addr = NULL,
	.flags = agent_flags,
};

double
agent_now(struct agent *a)
{
	return ev_now(a->d->loop);
}

static char *
default_tarball(void)
{
	char exe[PATH_MAX], *slash, *path;
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (n > 0) {
		exe[n] = '\0';
		slash = strrchr(exe, '/');
		if (slash) {
			*slash = '\0';
			if (asprintf(&path, "%s/pause.tar", exe) >= 0) {
				if (access(path, R_OK) == 0)
					return path;
				free(path);
			}
		}
	}
	return strdup(SKIFF_PREFIX "/share/skiff/pause.tar");
}

/* ---------------------------------------------------------------- informers */

static void *
decode_binding(const char *name, const char *value, size_t len, void *arg)
{
	struct agent *a = arg;
	struct api_errors e = {0};
	struct api_binding *b;

	if (api_check_dns_label(name, NULL) < 0)
		return NULL;
	b = api_binding_parse(value, len, &e);
	api_errors_clear(&e);
	if (b && (strcmp(b->node, a->o.node_name) != 0 || (b->pod.meta.name && strcmp(b->pod.meta.name, name) != 0))) {
		api_binding_free(b);
		return NULL;
	}
	return b;
}

static void
free_binding(void *obj)
{
	api_binding_free(obj);
}

static void
report_invalid(struct agent *a, const struct informer_obj *o)
{
	struct api_errors e = {0};
	struct api_binding *b;
	char *why = NULL, q[128];

	if (api_check_dns_label(o->name, NULL) < 0) {
		log_kv(LL_WARN, KV("key", o->key), "ignoring a binding whose pod name %s is not valid",
		       api_quote(q, sizeof(q), o->name));
		recorder_eventf(a->rec, "nodes", a->o.node_name, "Warning", "Invalid", "binding %s: invalid pod name",
		                api_quote(q, sizeof(q), o->name));
		return;
	}
	b = api_binding_parse(o->value, o->value_len, &e);
	if (b) {
		why = strdup(strcmp(b->node, a->o.node_name) != 0 ? "node: must equal the key's node"
		                                                  : "pod.metadata.name: must equal the key's name");
		api_binding_free(b);
	} else {
		why = api_errors_join(&e, "; ");
	}
	api_errors_clear(&e);
	log_kv(LL_WARN, KV("pod", o->name, "key", o->key), "invalid binding, pod left as it is: %s; fix the binding",
	       why ? why : "?");
	recorder_eventf(a->rec, "pods", o->name, "Warning", "Invalid", "binding: %s", why ? why : "?");
	free(why);
}

static void
b_add(struct informer *inf, const struct informer_obj *o, void *arg)
{
	struct agent *a = arg;

	(void)inf;
	if (!o->obj)
		report_invalid(a, o);
	else
		wq_add(a->q, o->name);
}

static void
b_update(struct informer *inf, const struct informer_obj *old, const struct informer_obj *o, void *arg)
{
	(void)old;
	b_add(inf, o, arg);
}

static void
b_del(struct informer *inf, const struct informer_obj *old, void *arg)
{
	struct agent *a = arg;

	(void)inf;
	if (api_check_dns_label(old->name, NULL) < 0)
		return;
	/* The stop that follows reads the pod as it was last bound (grace
	 * period, preStop hooks, probes): copied now, when its binding goes,
	 * not kept beside every binding while it is bound. */
	if (old->obj)
		lastpod_keep(a, old->name, &((const struct api_binding *)old->obj)->pod, old->mod_revision);
	wq_add(a->q, old->name);
}

void
agent_maybe_start(struct agent *a)
{
	if (a->started || a->stopping || !a->bindings_synced || !a->statuses_synced || !a->net_ready ||
	    !agent_config_synced(a) || !svcenv_synced(a))
		return;
	a->started = 1;
	log_kv(LL_INFO, KV("node", a->o.node_name), "caches synced: reconciling %zu bindings",
	       informer_count(a->bindings));
	vol_sweep(a);
	events_start(a);
	evict_start(a);
	wq_resume(a->q);
}

static void
b_synced(struct informer *inf, void *arg)
{
	struct agent *a = arg;

	(void)inf;
	a->bindings_synced = 1;
	agent_maybe_start(a);
}

static void
s_synced(struct informer *inf, void *arg)
{
	struct agent *a = arg;

	(void)inf;
	a->statuses_synced = 1;
	agent_maybe_start(a);
}

static void
s_add(struct informer *inf, const struct informer_obj *o, void *arg)
{
	struct agent *a = arg;

	(void)inf;
	if (a->started && api_check_dns_label(o->name, NULL) == 0 && !informer_get(a->bindings, o->name))
		wq_add(a->q, o->name);
}

static void
s_del(struct informer *inf, const struct informer_obj *old, void *arg)
{
	struct agent *a = arg;

	(void)inf;
	if (api_check_dns_label(old->name, NULL) == 0 && !events_own_status_deleted(a, old->name))
		wq_add(a->q, old->name);
}

static void
inf_error(struct informer *inf, const struct etcd_error *err, void *arg)
{
	(void)arg;
	log_kv(LL_WARN, KV("prefix", informer_prefix(inf)), "watch trouble: %s; recovering by itself", err->msg);
}

/* ---------------------------------------------------------------- life */

/* The stop waits (at most the daemon's stop deadline) for status writes
 * and events already sent to etcd. */
static void
stop_poll(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct agent *a = (struct agent *)((char *)w - offsetof(struct agent, stop_timer));

	(void)revents;
	if (a->orphans > 0 || recorder_pending(a->rec) > 0)
		return;
	ev_timer_stop(loop, w);
	daemon_stop_done(a->d);
}

static int
on_stop(struct skiff_daemon *d, void *arg)
{
	struct agent *a = arg;

	a->stopping = 1;
	ev_timer_stop(d->loop, &start_timer); /* still waiting out --start-jitter: never starts */
	log_kv(LL_INFO, KV("node", a->o.node_name), "stopping; containers, routes and firewall rules stay");
	serve_stop(a);
	events_stop(a);
	net_stop(a);
	register_stop(a);
	runtime_stop(a);
	wq_pause(a->q);
	pods_stop(a);
	recorder_flush(a->rec); /* events held back by the rate limit go now */
	evict_stop(a);
	prober_free(a->prober); /* probes and hooks in flight end without a verdict */
	a->prober = NULL;
	if (a->orphans == 0 && recorder_pending(a->rec) == 0)
		return DAEMON_DONE;
	ev_timer_init(&a->stop_timer, stop_poll, 0.02, 0.02);
	ev_timer_start(d->loop, &a->stop_timer);
	return DAEMON_PENDING;
}

/* The flags into a->o. */
static void
agent_options(struct agent *a)
{
	a->o.node_name = node_name;
	a->o.node_ip = node_ip && *node_ip ? node_ip : NULL;
	a->o.node_labels = node_labels;
	a->o.capacity_cpu = cap_cpu && *cap_cpu ? cap_cpu : NULL;
	a->o.capacity_memory = cap_mem && *cap_mem ? cap_mem : NULL;
	a->o.max_pods = max_pods;
	a->o.lease_ttl_ms = lease_ttl;
	a->o.resync_ms = resync;
	a->o.backoff_base_ms = backoff_base;
	a->o.backoff_max_ms = backoff_max < backoff_base ? backoff_base : backoff_max;
	a->o.docker_socket = docker_socket;
	a->o.workers = workers;
	a->o.max_grace_s = max_grace / 1000;
	a->o.docker_network = docker_network && *docker_network ? docker_network : NULL;
	a->o.host_gw = strcmp(routing, "host-gw") == 0;
	a->o.host_port_lo = host_port_lo;
	a->o.host_port_hi = host_port_hi;
	a->o.allow_privileged = allow_privileged;
	a->o.default_pids_limit = pids_limit;
	a->o.pod_dir = pod_dir;
	a->o.host_path_allow = host_path_allow;
	a->o.runtime_unhealthy_ms = runtime_unhealthy;
	a->o.disk_pressure_pct = (double)disk_pct;
	a->o.cluster_dns = strcmp(cluster_dns, "none") != 0 ? cluster_dns : NULL;
	a->o.resolv_conf = resolv_conf;
	a->o.hollow = strcmp(runtime_name, "hollow") == 0;
	if (a->o.hollow) { /* nothing on the host: no DNS bridge, pod files in a temporary directory */
		hollow_configure(hollow_delay);
		a->o.cluster_dns = NULL;
		if (strcmp(pod_dir, VOL_DEFAULT_POD_DIR) == 0) {
			const char *t = getenv("TMPDIR");

			snprintf(hollow_pod_dir, sizeof(hollow_pod_dir), "%s/skiff-hollow-%s", t && *t ? t : "/tmp",
			         node_name);
			a->o.pod_dir = hollow_pod_dir;
		}
	}
	a->o.max_docker_calls = max_docker_calls;
	a->o.serve_addr = serve_addr && *serve_addr ? serve_addr : NULL;
	a->o.serve_cert = serve_cert;
	a->o.serve_key = serve_key;
	a->o.client_ca = client_ca;
	a->o.max_streams = max_streams;
}

/* The registration, the heartbeat, the runtime's and network's loops and
 * every informer: all the agent's lists and watches. */
static void
agent_go(struct agent *a)
{
	register_start(a);
	runtime_start(a);
	net_start(a);
	dns_start(a);
	informer_start(a->bindings);
	informer_start(a->statuses);
	if (agent_config_start(a) < 0 || (stop_ordering && !(a->drain = drain_new(a, pods_drain_kick, a))) ||
	    svcenv_start(a) < 0) /* after the gate: it shares the gate's endpoints */
		fatalx("out of memory");
}

static void
start_timer_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)loop;
	(void)revents;
	agent_go(t->data);
}

/* agent_go now, or after a random part of --start-jitter: a thousand
 * agents started together (a fleet's boot, an etcd restart with a
 * supervisor restarting the agents) would otherwise send their ~7 lists
 * and watches each in the same second. The seed is the pid and the time,
 * so the draws differ between agents (etcd_backoff's retry jitter draws
 * from the same rand()). */
static void
agent_start_jittered(struct agent *a)
{
	double after;

	srand((unsigned)getpid() ^ (unsigned)time(NULL));
	if (start_jitter <= 0) {
		agent_go(a);
		return;
	}
	after = (double)start_jitter / 1000.0 * ((double)rand() / ((double)RAND_MAX + 1.0));
	log_kv(LL_INFO, KV("node", a->o.node_name), "first lists and watches in %.1fs (--start-jitter)", after);
	ev_timer_init(&start_timer, start_timer_cb, after, 0.0);
	start_timer.data = a;
	ev_timer_start(a->d->loop, &start_timer);
}

static void
agent_start(struct skiff_daemon *d)
{
	struct agent *a = &A;
	static const struct informer_handlers bh = {b_add, b_update, b_del, b_synced, inf_error};
	static const struct informer_handlers sh = {s_add, NULL, s_del, s_synced, inf_error};
	char host[256], dir[API_KEY_MAX], err[512];
	static char host_name[256];

	a->d = d;
	a->prefix = d->opts.prefix;
	if (!node_name || !*node_name) {
		if (gethostname(host, sizeof(host)) < 0 || api_check_dns_subdomain(host, NULL) < 0)
			fatalx("the host name is not a valid node name; give --node-name");
		snprintf(host_name, sizeof(host_name), "%s", host);
		node_name = host_name;
	}
	agent_options(a);
	if (a->o.node_ip)
		snprintf(a->host_ip, sizeof(a->host_ip), "%s", a->o.node_ip);
	else if (register_host_ip(a->host_ip, sizeof(a->host_ip)) < 0)
		fatalx("cannot find the default route's source address; give --node-ip");
	a->pause_tarball = pause_tarball && *pause_tarball ? strdup(pause_tarball) : default_tarball();
	a->dk = dk_new(d->loop, docker_socket);
	a->rec = recorder_new_node(d->etcd, a->prefix, a->o.node_name, "agent");
	a->q = wq_new(d->loop, pods_process, a, (int)workers);
	a->prober = prober_new(a);
	if (!a->dk || !a->rec || !a->q || !a->pause_tarball || !a->prober)
		fatalx("out of memory");
	dk_set_max(a->dk, a->o.max_docker_calls);
	dk_metrics(a->dk, d->metrics);
	wq_set_backoff(a->q, 0.5, 30.0);
	wq_pause(a->q);
	a->m_passes = metrics_add(d->metrics, "skiff_agent_reconcile_passes_total", NULL, METRIC_COUNTER,
	                          "Reconcile passes of pods started.");
	a->m_restarts = metrics_add(d->metrics, "skiff_agent_container_restarts_total", NULL, METRIC_COUNTER,
	                            "Containers restarted by the restart policy.");
	a->m_status_writes = metrics_add(d->metrics, "skiff_agent_status_writes_total", NULL, METRIC_COUNTER,
	                                 "Pod status keys written.");
	if (api_key_dir(dir, sizeof(dir), a->prefix, API_BINDING, node_name, NULL) < 0)
		fatalx("bad prefix or node name");
	informer_default_max_value((size_t)d->opts.max_value_bytes);
	a->bindings = informer_new(d->etcd, dir, decode_binding, free_binding, &bh, a);
	if (a->bindings)
		informer_drop_values(a->bindings); /* only report_invalid reads one, in b_add */
	if (api_key_dir(dir, sizeof(dir), a->prefix, API_PODSTATUS, node_name, NULL) < 0)
		fatalx("bad prefix or node name");
	a->statuses = informer_new(d->etcd, dir, NULL, NULL, &sh, a);
	if (!a->bindings || !a->statuses)
		fatalx("out of memory");
	if (daemon_on_stop(d, "agent", on_stop, a) < 0)
		fatalx("out of memory");
	log_kv(LL_INFO, KV("node", node_name, "ip", a->host_ip, "docker", a->o.hollow ? "hollow" : docker_socket),
	       "starting node agent");
	if (serve_start(a, err, sizeof(err)) < 0)
		fatalx("%s", err);
	if (!stop_ordering)
		log_kv(LL_WARN, KV("node", node_name),
		       "--stop-ordering=false: pods are stopped without waiting for the proxies (benchmarks only)");
	agent_start_jittered(a);
}

static void
agent_free(struct agent *a)
{
	a->stopping = 1;
	if (a->d) {
		ev_timer_stop(a->d->loop, &a->stop_timer);
		ev_timer_stop(a->d->loop, &start_timer);
	}
	serve_stop(a);
	events_stop(a);
	register_stop(a);
	runtime_stop(a);
	net_stop(a);
	pods_stop(a);
	evict_stop(a);
	prober_free(a->prober);
	a->prober = NULL;
	lastpod_free_all(a);
	drain_free(a->drain);
	a->drain = NULL;
	agent_config_stop(a);
	svcenv_stop(a);
	informer_free(a->bindings);
	informer_free(a->statuses);
	a->bindings = a->statuses = NULL;
	if (a->q)
		wq_free(a->q);
	recorder_free(a->rec);
	dk_free(a->dk);
	pods_free_memos(a);
	free(a->pause_tarball);
	vol_allow_free(a->o.host_path_allow);
	a->o.host_path_allow = host_path_allow = NULL;
}

int
main(int argc, char **argv)
{
	static struct skiff_daemon d;
	int rc;

	daemon_init(&d, &prog, argc, argv);
	agent_start(&d);
	rc = daemon_run(&d);
	agent_free(&A);
	daemon_free(&d);
	return rc;
}
