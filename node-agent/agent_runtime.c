/*
 * agent_runtime.c: is Docker answering? Every 5 s the agent asks it two
 * cheap things with a short deadline: GET /_ping, then the list of its
 * networks filtered to the pod network's name (which walks Docker's
 * network store, as GET /info does: /info is what hung when libnetwork
 * deadlocked while `docker ps` still answered). GET /info itself costs
 * Docker about 50 ms of CPU (it runs `runc --version` and
 * `docker-init --version` each time), so it is asked only for the data
 * root: at the first tick, when Docker answers again after failing, and
 * every 5 minutes. When a call fails
 * --runtime-unhealthy-after or more since the last success (counted from
 * that success, not from the first failure, which a hung call makes known
 * only at its deadline), the node declares itself not ready:
 *
 *   - the heartbeat stops (agent_lease.c asks runtime_down), so the
 *     scheduler places nothing new here and the node controller evicts the
 *     node's pods after its eviction timeout, as for a lost node and under
 *     the same full-disruption guard;
 *   - P/nodestatus/NODE carries the condition RuntimeReady False with the
 *     reason and the last error (agent_register.c asks runtime_conditions);
 *   - a Warning event RuntimeUnhealthy on the node, and /healthz fails
 *     saying why.
 *
 * The first success brings all of it back at once, without a restart,
 * and queues every pod at once (not after its back-off).
 *
 * Disk: at each tick the agent looks at the free space of Docker's data
 * root (DockerRootDir of the last /info) and of --pod-dir; when either has
 * less than --disk-pressure-threshold percent free, the node status says
 * DiskPressure True (the scheduler places nothing new there, as
 * Kubernetes' disk-pressure taint does) with a Warning event DiskPressure;
 * it clears when both have room again. Pods already there keep running.
 * What it does not do: kill or restart dockerd, or touch containers; the
 * pods' own passes keep their deadlines (agent_deadline.h) and simply
 * fail. Its calls are urgent: they may take the slot agent_docker.c keeps
 * under --max-docker-calls, so hung pod calls cannot delay the verdict.
 */
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <sys/statvfs.h>
#include <time.h>

#include "agent.h"
#include "agent_deadline.h"

#define PERIOD_S 5.0
#define INFO_EVERY_S 300.0

static void runtime_ask(struct agent *a, int stage);

/* Docker answered every call of a tick. */
static void
runtime_ok(struct agent *a)
{
	a->rt_last_ok = agent_now(a);
	if (!a->rt_down)
		return;
	a->rt_down = 0;
	api_time_format(time(NULL), a->rt_changed, sizeof(a->rt_changed));
	log_kv(LL_INFO, KV("node", a->o.node_name), "Docker answers again; the node is ready again");
	recorder_eventf(a->rec, "nodes", a->o.node_name, "Normal", "RuntimeReady", "Docker answers again");
	register_refresh(a);
	lease_beat_now(a);
	/* The passes that failed meanwhile wait out the queue's back-off (up
	 * to 30 s) and the sandboxes theirs: every pod now, adopting what
	 * calls that timed out made after all (agent_exec.c). */
	if (a->started) {
		pods_sandbox_retry(a);
		events_resync(a);
	}
}

/* A call failed: down once it has been failing for long enough. */
static void
runtime_failed(struct agent *a, const char *path, const char *why)
{
	double now = agent_now(a);

	snprintf(a->rt_why, sizeof(a->rt_why), "%s: %s", path, why);
	if (a->rt_down || now - a->rt_last_ok < (double)a->o.runtime_unhealthy_ms / 1000.0)
		return;
	a->rt_down = 1;
	api_time_format(time(NULL), a->rt_changed, sizeof(a->rt_changed));
	log_kv(LL_WARN, KV("node", a->o.node_name, "docker", a->o.docker_socket),
	       "Docker has not answered for %.0fs (%s); the node reports itself not ready: its heartbeat stops, so "
	       "nothing new is placed here and its pods are evicted after the node controller's timeout; check "
	       "dockerd (docker info, its log)",
	       now - a->rt_last_ok, a->rt_why);
	recorder_eventf(a->rec, "nodes", a->o.node_name, "Warning", "RuntimeUnhealthy",
	                "Docker has not answered for %.0fs: %s", now - a->rt_last_ok, a->rt_why);
	register_refresh(a);
}

/* Percent free of the file system holding path (100 when unknown). */
static double
free_percent(const char *path)
{
	struct statvfs v;

	if (!path || !*path || statvfs(path, &v) < 0 || v.f_blocks == 0)
		return 100.0;
	return 100.0 * (double)v.f_bavail / (double)v.f_blocks;
}

/* Judge the disks: Docker's data root and --pod-dir. */
static void
disk_judge(struct agent *a)
{
	const char *root = a->docker_root[0] ? a->docker_root : NULL;
	double fr = free_percent(root), fp = free_percent(a->o.pod_dir);
	int press = fr < a->o.disk_pressure_pct || fp < a->o.disk_pressure_pct;

	if (press != a->disk_pressure) {
		a->disk_pressure = press;
		api_time_format(time(NULL), a->disk_changed, sizeof(a->disk_changed));
		snprintf(a->disk_why, sizeof(a->disk_why), "%.1f%% free in %s, %.1f%% in %s (threshold %.0f%%)", fr,
		         root ? root : "Docker's data root", fp, a->o.pod_dir ? a->o.pod_dir : "the pod directory",
		         a->o.disk_pressure_pct);
		log_kv(press ? LL_WARN : LL_INFO, KV("node", a->o.node_name), "%s: %s",
		       press ? "disk pressure: nothing new is placed on this node until space is freed"
		             : "disk pressure is over",
		       a->disk_why);
		recorder_eventf(a->rec, "nodes", a->o.node_name, press ? "Warning" : "Normal",
		                press ? "DiskPressure" : "NoDiskPressure", "%s", a->disk_why);
		register_refresh(a);
		if (!press)
			pods_sandbox_retry(a);
	}
}

/* Keep /info's DockerRootDir. */
static void
info_keep(struct agent *a, const char *info, size_t len)
{
	json_t *j = json_loadb(info, len, 0, NULL);
	const char *root = json_string_value(json_object_get(j, "DockerRootDir"));

	snprintf(a->docker_root, sizeof(a->docker_root), "%s", root ? root : "");
	a->rt_info_at = agent_now(a);
	json_decref(j);
}

static const char *const ASKED[] = {"", "GET /_ping", "GET /networks", "GET /info"};

/* Stage asked answered: ask the next one, or end the tick (judge the
 * disks, say Docker answers). */
static void
runtime_next(struct agent *a, int asked)
{
	if (asked < 3 && (asked == 1 || !a->rt_info_at || a->rt_down || agent_now(a) - a->rt_info_at >= INFO_EVERY_S)) {
		runtime_ask(a, asked + 1);
		return;
	}
	disk_judge(a);
	runtime_ok(a);
}

static void
runtime_done(struct dk_resp *r, void *arg)
{
	struct agent *a = arg;
	char buf[256];
	int asked = a->rt_asking;

	a->rt_req = NULL;
	a->rt_asking = 0;
	if (r->status != 200) {
		runtime_failed(a, ASKED[asked], dk_errmsg(r, buf, sizeof(buf)));
		return;
	}
	if (asked == 3)
		info_keep(a, r->body, r->len);
	runtime_next(a, asked);
}

/* Ask stage 1 (/_ping), 2 (the pod network in the list of networks: 200
 * whether or not it exists) or 3 (/info). */
static void
runtime_ask(struct agent *a, int stage)
{
	char f[300], enc[700], path[800];
	struct dk_call_opts o = {.timeout_ms = DEADLINE_HEALTH_MS, .done = runtime_done, .arg = a, .urgent = 1};
	const char *net = a->o.docker_network ? a->o.docker_network : "bridge";

	snprintf(f, sizeof(f), "{\"name\":{\"%.200s\":true}}", net);
	snprintf(path, sizeof(path), "/networks?filters=%s", dk_escape(f, enc, sizeof(enc)));
	o.path = stage == 1 ? "/_ping" : stage == 2 ? path : "/info";
	a->rt_asking = stage;
	if (!(a->rt_req = dk_call(a->dk, &o)))
		a->rt_asking = 0;
}

static void
runtime_tick(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct agent *a = w->data;

	(void)loop, (void)revents;
	if (!a->rt_asking && !a->stopping)
		runtime_ask(a, 1);
}

static int
runtime_health(void *arg, char *reason, size_t len)
{
	struct agent *a = arg;

	if (!a->rt_down)
		return 0;
	snprintf(reason, len, "Docker is not answering: %s", a->rt_why);
	return -1;
}

void
runtime_start(struct agent *a)
{
	api_time_format(time(NULL), a->rt_changed, sizeof(a->rt_changed));
	a->rt_last_ok = agent_now(a);
	ev_timer_init(&a->rt_timer, runtime_tick, 0.0, PERIOD_S);
	a->rt_timer.data = a;
	ev_timer_start(a->d->loop, &a->rt_timer);
	health_check_add(a->d->health, "runtime", runtime_health, a);
}

void
runtime_stop(struct agent *a)
{
	if (a->d)
		ev_timer_stop(a->d->loop, &a->rt_timer);
	if (a->rt_req)
		dk_cancel(a->rt_req);
	a->rt_req = NULL;
	a->rt_asking = 0;
}

static json_t *
runtime_ready(const struct agent *a)
{
	if (!a->rt_down)
		return json_pack("{s:s,s:s,s:s,s:s}", "type", "RuntimeReady", "status", "True", "reason",
		                 "RuntimeAnswers", "lastTransitionTime", a->rt_changed);
	return json_pack("{s:s,s:s,s:s,s:s,s:s}", "type", "RuntimeReady", "status", "False", "reason",
	                 "RuntimeUnresponsive", "message", a->rt_why, "lastTransitionTime", a->rt_changed);
}

json_t *
runtime_conditions(const struct agent *a)
{
	json_t *disk = json_pack(
		"{s:s,s:s,s:s,s:s,s:s}", "type", "DiskPressure", "status", a->disk_pressure ? "True" : "False",
		"reason", a->disk_pressure ? "NodeHasDiskPressure" : "NodeHasNoDiskPressure", "message", a->disk_why,
		"lastTransitionTime", a->disk_changed[0] ? a->disk_changed : a->rt_changed);

	return json_pack("[o,o]", runtime_ready(a), disk);
}
