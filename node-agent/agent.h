/*
 * agent.h: skiff-agent's private header. The agent registers its node
 * (P/nodestatus/NODE, and the heartbeat P/nodeleases/NODE on a lease),
 * runs the pods bound to it (P/bindings/NODE/) as Docker containers, one
 * infrastructure container per pod holding the network namespace, and
 * reports P/podstatus/NODE/POD.
 *
 * Files: agent_docker.c (Engine API client on the loop), agent_register.c
 * (node status), agent_lease.c (heartbeat), agent_pods.c (one pod's pass:
 * list, inspect, plan, status), agent_plan.c (the pure planner,
 * agent_plan.h, with the status value of agent_plan_status.c),
 * agent_exec.c (the Docker actions of a plan), agent_status.c (snapshots
 * from Docker, the status write), agent_events.c (Docker's event stream,
 * resync), agent_subnets.c (the judged P/network/ watch), agent_net.c
 * (this node's subnet and Docker network, with the pure agent_netcalc.c),
 * agent_routes.c (host-gw routes, with agent_rtnl.c and the firewall rules
 * of agent_fw.c), main.c.
 */
#ifndef SKIFF_AGENT_H
#define SKIFF_AGENT_H

#include <ev.h>
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "agent_netcalc.h"
#include "agent_plan.h"
#include "api/api.h"
#include "api/api_subnets.h"
#include "daemon/daemon.h"
#include "etcd.h"
#include "events.h"
#include "informer.h"
#include "workqueue.h"

/* Labels on every container the agent makes. */
#define LBL_POD "skiff.pod"
#define LBL_UID "skiff.uid"
#define LBL_NODE "skiff.node"
#define LBL_CTR "skiff.container"
#define LBL_HASH "skiff.hash"
#define LBL_RESTARTS "skiff.restarts" /* restart count of the pod's container */
#define LBL_SANDBOX "skiff.sandbox"   /* app containers: the infra container's ID */
#define LBL_GRACE "skiff.grace"       /* termination grace period, seconds */
#define PAUSE_IMAGE "skiff/pause:0.1"

/* ------------------------------------------------------------------------
 * Docker Engine API client (agent_docker.c): HTTP over the unix socket on
 * the HTTP transport (transport/tp.h). Every request ends in exactly one
 * done callback (never before dk_call returns), unless cancelled or the
 * client freed.
 */
struct dk;
struct dk_req;

struct dk_resp {
	long status; /* HTTP status, 0 when no response */
	char *body;  /* NUL-terminated; borrowed for the callback */
	size_t len;
	int curl_rc;   /* CURLcode (tp.h's tp_result.rc) */
	char err[256]; /* transport error, "" when a response came */
	int sent;      /* no response, but the request went out: Docker may have acted */
	int timed_out; /* its deadline (agent_deadline.h) passed */
};

typedef void (*dk_done_fn)(struct dk_resp *r, void *arg);
/* One line of a streamed body (no '\n'); return non-zero to stop. Runs
 * inside curl; it may start requests and cancel any, its own included. */
typedef int (*dk_line_fn)(const char *line, size_t len, void *arg);

struct dk *dk_new(struct ev_loop *loop, const char *socket_path);
/* Cancels everything in flight without callbacks. */
void dk_free(struct dk *d);
/* What dk_call sends. method "GET" (also when NULL), "POST" or "DELETE";
 * path like "/containers/json" (the API version is added); body may be
 * NULL (copied, len bytes); ctype NULL = application/json when there is a
 * body. timeout_ms 0 = none; idle_s > 0 aborts a transfer that received
 * nothing for that long. on_line non-NULL streams the body by lines (the
 * done callback then gets no body). */
struct dk_call_opts {
	const char *method;
	const char *path;
	const void *body;
	size_t len;
	const char *ctype;
	long timeout_ms;
	long idle_s;
	dk_line_fn on_line;
	dk_done_fn done;
	void *arg;
	int urgent; /* may take the slot kept for the health check (agent_runtime.c only) */
	int raw;    /* with on_line: each chunk of the body as it came, binary (agent_serve.c's logs) */
};
/* Start the request o describes (o is not kept), or queue it while
 * --max-docker-calls are in flight (agent_deadline.h); its deadline counts
 * from when it is sent. Returns NULL when out of memory. */
struct dk_req *dk_call(struct dk *d, const struct dk_call_opts *o);
/* At most max requests open at once (0: no bound), one of them kept for
 * urgent ones when max > 1. */
void dk_set_max(struct dk *d, long max);
/* Free the idle curl handles kept for reuse (tp_trim). */
void dk_trim(struct dk *d);
/* Register the gauges skiff_agent_docker_calls_inflight and _queued and
 * the counter skiff_agent_docker_calls_timed_out_total. */
void dk_metrics(struct dk *d, struct metrics *m);
/* Stop a request without its callback. Not from its own done callback
 * (the request is gone by then). */
void dk_cancel(struct dk_req *r);
/* A message for a failed response: the body's "message", the transport
 * error, or "HTTP n". Writes into buf, returns buf. */
const char *dk_errmsg(const struct dk_resp *r, char *buf, size_t len);
/* URL-escape s into buf (returns buf, "" when it does not fit). */
const char *dk_escape(const char *s, char *buf, size_t len);

/* ------------------------------------------------------------------------
 * The agent.
 */
struct agent_opts {
	const char *node_name;
	const char *node_ip;      /* NULL = default route's source address */
	const char *node_labels;  /* "k=v,k2=v2" */
	const char *capacity_cpu; /* NULL = machine's */
	const char *capacity_memory;
	long max_pods;
	long lease_ttl_ms;
	long resync_ms;
	long backoff_base_ms;
	long backoff_max_ms;
	const char *docker_socket;
	long workers;
	long max_grace_s;           /* --max-grace-period: the longest stop, seconds */
	const char *docker_network; /* NULL = Docker's default bridge, no subnet claimed */
	int host_gw;                /* --routing host-gw */

	int host_port_lo, host_port_hi; /* --host-port-range */
	int allow_privileged;           /* --allow-privileged (agent_security.c) */
	long default_pids_limit;        /* --default-pids-limit, <= 0: none */

	const char *pod_dir;       /* --pod-dir: PODDIR/UID/volumes/NAME (agent_volumes.c) */
	char **host_path_allow;    /* --allow-host-path, NULL-ended (agent_volumes.c) */
	long runtime_unhealthy_ms; /* --runtime-unhealthy-after (agent_runtime.c) */
	double disk_pressure_pct;  /* --disk-pressure-threshold: percent free below which DiskPressure */
	const char *cluster_dns;   /* --cluster-dns: the pods' nameserver (agent_dns.c); NULL: none */
	const char *resolv_conf;   /* --resolv-conf: the node's resolver file for Default */
	int hollow;                /* --runtime hollow (agent_hollow.h) */
	long max_docker_calls;     /* --max-docker-calls (agent_deadline.h) */
	const char *serve_addr;    /* --serve-addr HOST:PORT, NULL: no HTTPS server (agent_serve.h) */
	const char *serve_cert, *serve_key, *client_ca;
	long max_streams; /* --max-streams */
};

struct pass;

struct agent {
	struct skiff_daemon *d;
	struct agent_opts o;
	const char *prefix;
	char host_ip[64];
	char *pause_tarball; /* resolved path */
	struct dk *dk;
	struct recorder *rec;
	struct informer *bindings; /* P/bindings/NODE/ */
	struct informer *statuses; /* P/podstatus/NODE/ */
	int bindings_synced, statuses_synced, started;
	struct wq *q;
	struct pass *passes; /* in flight */
	struct pod_memo *memos;
	ev_timer resync;
	/* registration (agent_register.c) */
	ev_timer reg_timer;
	int reg_busy;
	int64_t lease_id;
	struct etcd_keeper *keeper;
	ev_timer lease_timer;
	int lease_busy;
	int lease_fails;     /* grants or first puts failed in a row (back-off) */
	ev_timer beat_timer; /* heartbeat (agent_lease.c) */
	int beat_busy;
	char lease_acquired[40]; /* spec.acquireTime of the current etcd lease */
	/* docker events (agent_events.c) */
	struct dk_req *events_req;
	ev_timer events_timer;
	struct dk_req *list_req; /* resync list of our containers */
	int list_unbound_only;   /* that list queues only pods without a binding */
	int pause_importing;
	int pause_ready;
	struct metric *m_passes, *m_restarts, *m_status_writes;
	/* pod network (agent_subnets.c, agent_net.c, agent_routes.c) */
	struct informer *network; /* P/network/: config and subnets, raw values */
	char pod_subnet[24];      /* this node's subnet, "" until the node controller allocated it */
	struct api_network_config netcfg;
	int net_ready; /* pods may start: no --docker-network, or the network exists */
	struct dk_req *net_req;
	ev_timer net_timer;
	int net_phase;                  /* what net_timer does: wait for the subnet (0) or look at Docker (1) */
	ev_timer own_timer;             /* look at our subnet soon after P/network/ changed */
	int64_t warned_cfg_rev;         /* the config revision last reported invalid */
	int64_t warned_own_rev;         /* our subnet key's revision last reported */
	int routes_on;                  /* host-gw routes are kept (agent_routes.c) */
	ev_timer route_timer;           /* a sync soon after changes, then at every resync */
	struct routes_ignored *ignored; /* entries reported as ignored at the last sync */
	size_t n_ignored;
	struct fw_job *fw_job; /* iptables set-up running in a child (agent_fw.c) */
	int reg_pending;       /* node write asked for while one was in flight */
	int stopping;
	int orphans;         /* stopped passes waiting for an etcd answer */
	ev_timer stop_timer; /* polls orphans and the recorder at stop */

	uint64_t fw_peers_sig;   /* the other nodes' hostIPs the last firewall set-up had */
	struct informer *config; /* P/nodeconfig/NODE/: ConfigMap and Secret copies (agent_config.c) */

	/* Docker's health (agent_runtime.c) */
	ev_timer rt_timer;
	struct dk_req *rt_req;
	int rt_asking;         /* 1: /_ping in flight, 2: the networks, 3: /info */
	double rt_info_at;     /* agent_now of the last /info answer; 0: none yet */
	char docker_root[512]; /* DockerRootDir from that answer */
	int rt_down;           /* failing for --runtime-unhealthy-after: node not ready */
	double rt_last_ok;     /* loop time of the last success (or of the start): failing since then */
	char rt_why[256];      /* the last failure */
	char rt_changed[32];   /* when rt_down last changed (RFC 3339) */

	struct prober *prober;    /* probes and hooks (agent_probe.h) */
	struct lastpod *lastpods; /* each pod as last bound (agent_hook.c) */
	struct drain *drain;      /* the drain gate (agent_drain.h) */
	int disk_pressure;        /* Docker's data root or --pod-dir below --disk-pressure-threshold */
	char disk_why[512];
	char disk_changed[32];
	/* the vxlan backend (agent_vxlan.c) */
	int vx_ifindex;            /* the device skiff.VNI, 0 before it is made */
	int vx_mtu;                /* its MTU, the Docker network's too; 0 = not vxlan */
	char vx_mac[18];           /* its MAC, reported in the node status; "" before */
	struct api_cidr *vx_links; /* the networks of the node's link (directRouting) */
	size_t vx_nlinks;
	/* service environment variables (agent_svcenv.c) */
	struct informer *services;  /* P/services/, decoded */
	struct informer *endpoints; /* P/endpoints/, decoded (their clusterIP) */
	struct serve *serve;        /* the HTTPS server (agent_serve.c), NULL when off */
	int endpoints_shared;       /* endpoints is the drain gate's (drain_endpoints), not ours to free */
	struct own_ev *own;         /* the agent's own changes whose events are ignored (agent_events_own.c) */
	struct img_seen *imgs;      /* images Docker said it has, for a short while (agent_pods_img.c) */
};

/* main.c */
double agent_now(struct agent *a);
/* Start reconciling pods once the caches synced and the network is ready. */
void agent_maybe_start(struct agent *a);

/* agent_lease.c: P/nodeleases/NODE on an etcd lease, rewritten every
 * leaseDurationSeconds/4 with a new spec.renewTime. */
void lease_start(struct agent *a);
void lease_stop(struct agent *a);
/* Beat now (the runtime answers again). */
void lease_beat_now(struct agent *a);

/* agent_runtime.c: Docker's health. Every 5 s GET /_ping and GET /info;
 * after --runtime-unhealthy-after of failures rt_down is set: no
 * heartbeat, condition RuntimeReady False, /healthz failing. */
void runtime_start(struct agent *a);
void runtime_stop(struct agent *a);
/* The node's conditions RuntimeReady and DiskPressure (new JSON array). */
json_t *runtime_conditions(const struct agent *a);

/* agent_register.c: P/nodestatus/NODE; register_start starts the lease too. */
void register_start(struct agent *a);
void register_stop(struct agent *a);
/* Write the node status again soon (e.g. its podCIDR changed). */
void register_refresh(struct agent *a);
/* The node's capacity: --capacity-cpu / --capacity-memory, else what the
 * machine has (milli-cpu, bytes). */
void register_capacity(const struct agent *a, int64_t *cpu, int64_t *mem);
/* The source address of the default route into buf: 0, or -1 when there
 * is no default route. */
int register_host_ip(char *buf, size_t len);

/* agent_pods.c */
void pods_stop(struct agent *a);
/* The drain gate's kick (agent_drain.h): requeue the pod whose status has
 * podIP pod_ip. arg is the agent. */
void pods_drain_kick(void *arg, const char *pod_ip);
/* The pods whose sandbox could not be made try again now (the disk has
 * room again), not at the end of their back-off. */
void pods_sandbox_retry(struct agent *a);
void pods_process(struct wq *q, const char *name, void *arg);
struct pod_memo *pods_memo(struct agent *a, const char *pod, const char *uid);
void pods_memo_drop(struct agent *a, const char *pod);
void pods_free_memos(struct agent *a);
/* The binding of pod if it is valid (borrowed until control returns to the
 * loop); NULL when absent. *malformed set when present but unusable. */
const struct api_binding *pods_binding(struct agent *a, const char *pod, int *malformed);
/* The podIP in pod's status as the informer has it, into buf ("" none). */
void pods_status_ip(struct agent *a, const char *pod, char *buf, size_t len);
/* agent_pods_img.c: Docker said image ref is present (an inspect or a
 * pull), now. */
void pods_img_seen(struct agent *a, const char *ref);
/* A create said ref is absent: forget it. */
void pods_img_forget(struct agent *a, const char *ref);
/* img[0..n) (enum plan_img per container of pod, api_spec_container's
 * index): an unknown image is PRESENT when Docker said so within the last
 * 30 s, unless its pull policy is Always or the container needs the
 * image's user (runAsNonRoot). */
void pods_img_known(struct agent *a, const struct api_pod *pod, unsigned char *img, size_t n);
void pods_img_free(struct agent *a);

/* agent_status.c: struct snap (agent_plan.h) from Docker's answers. */
/* Fill s from a containers/json item's labels (id and labels). */
int snap_from_list(struct snap *s, void *json_item);
/* Fill state fields from an inspect body; the IP is the one on Docker
 * network net (NULL: the first one found), or host_ip for a container in
 * the host's network namespace (a hostNetwork pod's sandbox). 0 or -1. */
int snap_from_inspect(struct snap *s, const char *body, size_t len, const char *net, const char *host_ip);
/* Only s's IP (as snap_from_inspect) from a parsed inspect body or a
 * containers/json item, which carries NetworkSettings.Networks and
 * HostConfig.NetworkMode too; NULL when it names none. */
void snap_ip(struct snap *s, void *json, const char *net, const char *host_ip);

/* Write P/podstatus/NODE/POD, the status of PLAN_STATUS plan o
 * (plan_status_value), if it differs from the cache. Calls
 * done(arg, ok, rev) later (or now, when nothing changes: ok=1), rev the
 * key's mod revision once it holds exactly that value (the cache's when
 * it did already, the write's), else 0. */
typedef void (*status_done_fn)(void *arg, int ok, int64_t rev);
void status_write(struct agent *a, const char *pod, const struct api_pod *p, const struct plan_out *o,
                  status_done_fn done, void *arg);
/* A new memo m learns the Ready condition of the status its pod's
 * incarnation has in etcd, so that an agent restart keeps its
 * lastTransitionTime (and does not rewrite the status). Costs a parse. */
void status_memo_seed(struct agent *a, struct pod_memo *m);
/* Delete P/podstatus/NODE/POD if present. */
void status_delete(struct agent *a, const char *pod, status_done_fn done, void *arg);

/* agent_events.c */
void events_start(struct agent *a);
void events_stop(struct agent *a);
/* Enqueue every pod known to etcd or Docker (the full resync). */
void events_resync(struct agent *a);

/* agent_events_own.c: what the agent itself is doing, whose events need
 * no new pass. key is a container ID, or "status/" and a pod's name. */
#define OWN_START 1u   /* a "start" event of the container (sent: a start) */
#define OWN_DIE 2u     /* a "die" (sent: a stop or force-remove) */
#define OWN_DESTROY 4u /* a "destroy" (sent: a remove) */
#define OWN_STATUS 8u  /* the watch's delete of the pod's status (sent: its delete) */
/* Expect the events what of key for a short while (30 s). Costs O(256). */
void events_own(struct agent *a, const char *key, unsigned what);
/* 1 when an event what of key was expected (the expectation is used up):
 * the caller queues nothing; 0 otherwise. */
int events_own_match(struct agent *a, const char *key, unsigned what);
/* The OWN_ bit of a Docker event's Action, 0 for any other. */
unsigned events_own_action(const char *action);
/* The pass is deleting pod's status: its delete from the watch needs no
 * new pass. */
void events_own_status(struct agent *a, const char *pod);
/* 1 when the watch's delete of pod's status is the agent's own (used up)
 * and the pod has no binding now; 0: queue the pod. */
int events_own_status_deleted(struct agent *a, const char *pod);
void events_own_free(struct agent *a);

/* agent_subnets.c: the P/network/ watch, judged. A view borrows the
 * informer's entries until control returns to the loop. */
struct subnets_view {
	struct api_network_config cfg; /* in force (defaults when the key is absent) */
	int cfg_ok;                    /* 0: the config is invalid, nothing judged (valid[] all 0) */
	char cfg_why[512];
	int64_t cfg_rev; /* the config key's mod revision, 0 when absent */
	size_t n;        /* subnet keys */
	const struct informer_obj **o;
	struct api_subnet_claim *c;
	int *valid;
	char (*why)[API_SUBNET_WHY];
};
/* Start watching P/network/: 0, or -1 when out of memory. Changes call
 * net_changed and routes_soon. */
int subnets_start(struct agent *a);
void subnets_stop(struct agent *a);
/* Fill v (free with subnets_view_free): 0, or -1 when out of memory.
 * O(n^2) in the number of subnet keys. */
int subnets_view(const struct agent *a, struct subnets_view *v);
void subnets_view_free(struct subnets_view *v);
/* Index of node's key in v, or -1. */
long subnets_find(const struct subnets_view *v, const char *node);
/* Key i of v decoded (new; api_subnet_free), NULL when it does not
 * decode or out of memory. */
struct api_subnet *subnets_claim(const struct subnets_view *v, size_t i);

/* agent_net.c: without --docker-network, net_ready at once. Otherwise wait
 * for the subnet the node controller allocates, check it, write it to the
 * node status, make sure the Docker network exists with it, start the
 * routes (host-gw), then set net_ready; every failure is logged with a
 * Warning event on the node and retried. */
void net_start(struct agent *a);
void net_stop(struct agent *a);
/* P/network/ changed: look at our subnet again soon. */
void net_changed(struct agent *a);
/* Emit a Warning event on our node and log the same line at level l. */
void net_warn(struct agent *a, enum log_level l, const char *reason, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* After each sync of the subnets (agent_routes.c): when the other nodes'
 * hostIPs differ from the last firewall set-up's, set it up again. */
void net_fw_peers_check(struct agent *a);

/* agent_vxlan.c: the vxlan backend. */
struct vx_peer;
/* 1 when the subnet in use was adopted with backend vxlan (and routing is on). */
int vxlan_on(const struct agent *a);
/* Make sure the device exists as configured (agent_vxlan_nl.c's
 * vxnl_ensure), and keep its index, MTU and MAC (a new MAC rewrites the
 * node status). 0, or -1 after a Warning event VXLANSetupFailed. */
int vxlan_setup(struct agent *a);
/* The peer for entry i of v (vxcalc_peer with this node's links and
 * directRouting): 0 with *out, 1 nothing to make, -1 unusable (why). */
int vxlan_peer(struct agent *a, const struct subnets_view *v, size_t i, uint32_t self, const struct api_cidr *own,
               struct vx_peer *out, char *why, size_t len);
/* Keep the neighbour and forwarding entries of peers p[0..n) (and no
 * others) on the device, and put the routes they want into r (room for
 * n), count in *nr. Failures are a Warning event VXLANEntryFailed. */
void vxlan_sync(struct agent *a, const struct vx_peer *p, size_t n, struct netcalc_route *r, size_t *nr);
/* Whether gw lies on a network of the node's link: 1, 0, or -1 when the
 * link cannot be read. */
int vxlan_on_link(const struct agent *a, uint32_t gw);

/* agent_routes.c: keep one route per other node's valid subnet (host-gw). */
void routes_start(struct agent *a);
void routes_stop(struct agent *a);
/* Sync the routes soon (a burst of calls makes one sync); nothing before
 * routes_start. */
void routes_soon(struct agent *a);

#endif
