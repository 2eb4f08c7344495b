/*
 * agent_net.c: the pod network of this node, with --docker-network NAME.
 * At start: wait for the subnet the node controller allocates in
 * P/network/subnets/NODE (watched by agent_subnets.c; a key already there,
 * such as a version-1 agent's claim, is kept), take it only when
 * api_subnets_judge says it is valid, put it in the node's
 * status.podCIDR, make sure the Docker bridge network NAME exists with
 * exactly that subnet (remove and create it again when it differs and no
 * container is attached), then, with host-gw, set up forwarding
 * (agent_fw.c) and the routes (agent_routes.c). Pods start only after the
 * network is ready. Every failure is one log line plus a Warning event on
 * the node, and is retried (Docker every 10 s; while there is no subnet a
 * line every 10 s says what the agent waits for); the agent never exits
 * for it, and never writes a subnet key. Once ready, the Docker network
 * and the firewall rules are checked again at every resync, so a network
 * removed by hand comes back.
 *
 * Nothing is undone at stop: the network, routes and rules are what running
 * pods use, and the next start finds and keeps them.
 */
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "agent_deadline.h"
#include "agent_fw.h"

#define NET_RETRY_S 10.0
#define OPT_BRIDGE "com.docker.network.bridge.name"
#define OPT_MASQ "com.docker.network.bridge.enable_ip_masquerade"
#define OPT_MTU "com.docker.network.driver.mtu"

enum { PHASE_WAIT = 0, PHASE_DOCKER = 1 };

static void net_wait(struct agent *a);
static void net_inspect(struct agent *a);

void
net_warn(struct agent *a, enum log_level l, const char *reason, const char *fmt, ...)
{
	char msg[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_kv(l, KV("node", a->o.node_name, "network", a->o.docker_network), "%s", msg);
	recorder_eventf(a->rec, "nodes", a->o.node_name, "Warning", reason, "%s", msg);
}

static void
net_again(struct agent *a, int phase, double after)
{
	a->net_phase = phase;
	ev_timer_stop(a->d->loop, &a->net_timer);
	ev_timer_set(&a->net_timer, after, 0.0);
	ev_timer_start(a->d->loop, &a->net_timer);
}

static void
net_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct agent *a = (struct agent *)((char *)w - offsetof(struct agent, net_timer));

	(void)loop;
	(void)revents;
	if (a->stopping)
		return;
	if (a->net_phase == PHASE_WAIT)
		net_wait(a);
	else
		net_inspect(a);
}

/* ---------------------------------------------------------------- ready */

static void
fw_failed(struct agent *a, const char *why)
{
	net_warn(a, LL_ERROR, "NetworkSetupFailed",
	         "cannot set up forwarding for the pod subnet %s: %s; pods on other nodes may not "
	         "reach this node's pods; fix it, the agent tries again every resync",
	         a->pod_subnet, why);
}

static void net_ready_finish(struct agent *a);

/* A firewall set-up has ended. */
static void
fw_ended(struct agent *a, int ok, const char *why)
{
	a->fw_job = NULL;
	if (!ok)
		fw_failed(a, why);
}

static void
fw_done(void *arg, int ok, const char *why)
{
	fw_ended(arg, ok, why);
	net_ready_finish(arg);
}

/* The other nodes' hostIPs, from their valid subnet keys (the judge's:
 * an invalid key's address is not let in), for SKIFF-FWD, and a signature
 * of the set (order-independent). */
struct fw_peers {
	char **ip; /* new strings */
	size_t n;
	uint64_t sig;
};

static void
fw_peer_add(struct fw_peers *p, const struct subnets_view *v, size_t i)
{
	struct api_subnet *s = subnets_claim(v, i);
	uint64_t h = 14695981039346656037ULL;

	if (s && s->host_ip && (p->ip[p->n] = strdup(s->host_ip))) {
		for (const char *c = s->host_ip; *c; c++)
			h = (h ^ (unsigned char)*c) * 1099511628211ULL;
		p->sig += h;
		p->n++;
	}
	api_subnet_free(s);
}

static void
fw_peers_get(const struct agent *a, struct fw_peers *p)
{
	struct subnets_view v;
	size_t i;

	memset(p, 0, sizeof(*p));
	if (!a->network || subnets_view(a, &v) < 0)
		return;
	p->ip = calloc(v.n + 1, sizeof(*p->ip));
	for (i = 0; p->ip && i < v.n; i++)
		if (v.valid[i] && strcmp(v.c[i].node, a->o.node_name) != 0)
			fw_peer_add(p, &v, i);
	subnets_view_free(&v);
}

static void
fw_peers_free(struct fw_peers *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->ip[i]);
	free(p->ip);
}

/* Start the firewall set-up (done calls back); 0, or -1 with why. The
 * peers are those the P/network/ watch holds now; when they change,
 * net_fw_peers_check sets it up again. */
static int
fw_start(struct agent *a, fw_done_fn done, char *why, size_t len)
{
	char pod[24];
	struct fw_peers p;
	struct fw_net net = {pod, a->pod_subnet, NULL, 0, a->netcfg.allow_metadata, 0, NULL};

	api_cidr_format(&a->netcfg.pod_cidr, pod, sizeof(pod));
	fw_peers_get(a, &p);
	net.peers = (const char *const *)p.ip;
	net.n_peers = p.n;
	if (vxlan_on(a))
		net.vxlan_port = a->netcfg.backend.port;
	net.dns_ip = a->o.cluster_dns;
	a->fw_job = fw_ensure_async(a->d->loop, &net, done, a, why, len); /* the rules are made at once */
	a->fw_peers_sig = p.sig;
	fw_peers_free(&p);
	return a->fw_job ? 0 : -1;
}

static void
fw_refreshed(void *arg, int ok, const char *why)
{
	fw_ended(arg, ok, why);
	net_fw_peers_check(arg); /* they may have changed meanwhile */
}

void
net_fw_peers_check(struct agent *a)
{
	struct fw_peers p;
	char why[512];

	if (!a->o.host_gw || !a->net_ready || a->fw_job || a->stopping)
		return;
	fw_peers_get(a, &p);
	fw_peers_free(&p);
	if (p.sig == a->fw_peers_sig)
		return;
	log_kv(LL_INFO, KV("node", a->o.node_name), "the other nodes' addresses changed: %zu now; updating SKIFF-FWD",
	       p.n);
	if (fw_start(a, fw_refreshed, why, sizeof(why)) < 0)
		fw_failed(a, why);
}

/* The network is there: forwarding (in a child: iptables may wait for its
 * lock) and routes with host-gw, then pods may start. Runs again at every
 * resync (the Docker network and the firewall rules are checked again and
 * repaired, idempotently). */
static void
net_ready(struct agent *a)
{
	char why[512];

	if (a->fw_job)
		return; /* one set-up at a time; its end goes on */
	if (a->o.host_gw) {
		if (fw_start(a, fw_done, why, sizeof(why)) == 0)
			return; /* fw_done goes on */
		fw_failed(a, why);
	}
	net_ready_finish(a);
}

static void
net_ready_finish(struct agent *a)
{
	if (a->o.host_gw)
		routes_start(a);
	if (!a->net_ready)
		log_kv(LL_INFO, KV("node", a->o.node_name, "network", a->o.docker_network, "subnet", a->pod_subnet),
		       "pod network ready%s",
		       !a->o.host_gw ? ""
		       : vxlan_on(a) ? ", vxlan on"
		                     : ", host-gw routes on");
	a->net_ready = 1;
	net_again(a, PHASE_DOCKER, (double)a->o.resync_ms / 1000.0);
	agent_maybe_start(a);
}

/* ---------------------------------------------------------------- Docker */

static void
create_done(struct dk_resp *r, void *arg)
{
	struct agent *a = arg;
	char m[256];

	a->net_req = NULL;
	if (r->status == 201) {
		log_kv(LL_INFO, KV("node", a->o.node_name, "network", a->o.docker_network, "subnet", a->pod_subnet),
		       "created the Docker network");
		net_ready(a);
	} else if (r->status == 409) {
		net_again(a, PHASE_DOCKER, 0.2); /* made meanwhile by someone else: look again */
	} else {
		net_warn(a, LL_ERROR, "NetworkSetupFailed",
		         "cannot create the Docker network %s with subnet %s: %s; pods wait; remove whatever holds "
		         "the subnet or the name, retrying in %.0fs",
		         a->o.docker_network, a->pod_subnet, dk_errmsg(r, m, sizeof(m)), NET_RETRY_S);
		net_again(a, PHASE_DOCKER, NET_RETRY_S);
	}
}

/* Masquerade by Docker only without host-gw: with it, the agent's own
 * SKIFF-NAT rule masquerades just what leaves the pod network. */
static const char *
want_masq(const struct agent *a)
{
	return a->o.host_gw ? "false" : "true";
}

/* The Docker network's MTU option wanted into buf: the VXLAN device's,
 * or "" (Docker's default) without vxlan. Returns buf. */
static const char *
want_mtu(const struct agent *a, char buf[16])
{
	if (a->vx_mtu > 0)
		snprintf(buf, 16, "%d", a->vx_mtu);
	else
		buf[0] = '\0';
	return buf;
}

static void
net_create(struct agent *a)
{
	struct api_cidr c;
	char gw[16], mtu[16], *body;
	json_t *j;

	api_cidr_parse(a->pod_subnet, &c, NULL);
	api_ipv4_format(c.addr + 1, gw, sizeof(gw));
	j = json_pack("{s:s,s:s,s:b,s:{s:s,s:[{s:s,s:s}]},s:{s:s,s:s},s:{s:s}}", "Name", a->o.docker_network, "Driver",
	              "bridge", "CheckDuplicate", 1, "IPAM", "Driver", "default", "Config", "Subnet", a->pod_subnet,
	              "Gateway", gw, "Options", OPT_BRIDGE, a->o.docker_network, OPT_MASQ, want_masq(a), "Labels",
	              LBL_NODE, a->o.node_name);
	if (j && a->vx_mtu > 0) /* vxlan: pods' packets must fit the device */
		json_object_set_new(json_object_get(j, "Options"), OPT_MTU, json_string(want_mtu(a, mtu)));
	body = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	if (body)
		a->net_req = dk_call(a->dk, &(struct dk_call_opts){.method = "POST",
		                                                   .path = "/networks/create",
		                                                   .body = body,
		                                                   .len = strlen(body),
		                                                   .timeout_ms = DEADLINE_NETWORK_MS,
		                                                   .done = create_done,
		                                                   .arg = a});
	free(body);
	if (!a->net_req)
		net_again(a, PHASE_DOCKER, 1.0);
}

static void
delete_done(struct dk_resp *r, void *arg)
{
	struct agent *a = arg;
	char m[256];

	a->net_req = NULL;
	if (r->status == 204 || r->status == 404) {
		net_create(a);
		return;
	}
	net_warn(a, LL_ERROR, "NetworkSetupFailed", "cannot remove the Docker network %s: %s; retrying in %.0fs",
	         a->o.docker_network, dk_errmsg(r, m, sizeof(m)), NET_RETRY_S);
	net_again(a, PHASE_DOCKER, NET_RETRY_S);
}

/* method on /networks/NAME; on no memory, look again in a second. */
static void
net_call(struct agent *a, const char *method, dk_done_fn done)
{
	char path[128];

	snprintf(path, sizeof(path), "/networks/%s", a->o.docker_network);
	a->net_req = dk_call(
		a->dk,
		&(struct dk_call_opts){
			.method = method, .path = path, .timeout_ms = DEADLINE_NETWORK_MS, .done = done, .arg = a});
	if (!a->net_req)
		net_again(a, PHASE_DOCKER, 1.0);
}

/* The existing network j: ready when it has our subnet and masquerade
 * setting, replaced when it is unused, else an error for a person. */
static void
net_check(struct agent *a, json_t *j)
{
	json_t *cfg = json_array_get(json_object_get(json_object_get(j, "IPAM"), "Config"), 0);
	const char *sub = json_string_value(json_object_get(cfg, "Subnet"));
	const char *masq = json_string_value(json_object_get(json_object_get(j, "Options"), OPT_MASQ));
	size_t users = json_object_size(json_object_get(j, "Containers"));
	const char *mtu = json_string_value(json_object_get(json_object_get(j, "Options"), OPT_MTU));
	char wm[16];
	int same = sub && strcmp(sub, a->pod_subnet) == 0 && strcmp(masq ? masq : "true", want_masq(a)) == 0 &&
	           strcmp(mtu ? mtu : "", want_mtu(a, wm)) == 0;

	if (same) {
		log_kv(a->net_ready ? LL_DEBUG : LL_INFO,
		       KV("node", a->o.node_name, "network", a->o.docker_network, "subnet", a->pod_subnet),
		       "the Docker network exists with our subnet");
		net_ready(a);
	} else if (users == 0) {
		log_kv(LL_WARN, KV("node", a->o.node_name, "network", a->o.docker_network),
		       "the Docker network has subnet %s and masquerade %s, want %s and %s; nothing is attached, so "
		       "removing and creating it again",
		       sub ? sub : "(none)", masq ? masq : "(default)", a->pod_subnet, want_masq(a));
		net_call(a, "DELETE", delete_done);
	} else {
		net_warn(a, LL_ERROR, "NetworkMismatch",
		         "the Docker network %s has subnet %s (masquerade %s) but this node's pod subnet is %s "
		         "(masquerade %s), and %zu containers use it; pods wait; remove those containers (docker "
		         "network inspect %s), or the network, and the agent creates it again (retrying in %.0fs)",
		         a->o.docker_network, sub ? sub : "(none)", masq ? masq : "(default)", a->pod_subnet,
		         want_masq(a), users, a->o.docker_network, NET_RETRY_S);
		net_again(a, PHASE_DOCKER, NET_RETRY_S);
	}
}

static void
inspect_done(struct dk_resp *r, void *arg)
{
	struct agent *a = arg;
	json_t *j = r->status == 200 ? json_loadb(r->body, r->len, 0, NULL) : NULL;
	const char *name = json_string_value(json_object_get(j, "Name"));
	char m[256];

	a->net_req = NULL;
	if (r->status == 404 || (j && (!name || strcmp(name, a->o.docker_network) != 0))) {
		net_create(a); /* absent (a match by ID prefix is not ours either) */
	} else if (j) {
		net_check(a, j);
	} else {
		net_warn(a, LL_WARN, "NetworkSetupFailed",
		         "cannot inspect the Docker network %s: %s; retrying in %.0fs", a->o.docker_network,
		         dk_errmsg(r, m, sizeof(m)), NET_RETRY_S);
		net_again(a, PHASE_DOCKER, NET_RETRY_S);
	}
	json_decref(j);
}

/* Look at the Docker network; with vxlan, the device first (its MTU is
 * the network's; a device removed by hand comes back at the next resync). */
static void
net_inspect(struct agent *a)
{
	if (vxlan_on(a) && vxlan_setup(a) < 0) {
		net_again(a, PHASE_DOCKER, NET_RETRY_S);
		return;
	}
	net_call(a, "GET", inspect_done);
}

/* ---------------------------------------------------------------- subnet */

/* Say, once per revision of the config, that it is invalid. */
static void
bad_config(struct agent *a, const struct subnets_view *v)
{
	if (v->cfg_rev == a->warned_cfg_rev)
		return;
	a->warned_cfg_rev = v->cfg_rev;
	net_warn(a, LL_ERROR, "InvalidNetworkConfig",
	         "P/network/config is invalid: %s; no pod subnet is used and pods wait; fix P/network/config",
	         v->cfg_why);
}

/* Our subnet key k in v is valid: take it (only the first time; a later
 * change needs a restart, the network and pods in use stay as they are). */
static void
adopt(struct agent *a, const struct subnets_view *v, long k)
{
	struct api_subnet *s = subnets_claim(v, (size_t)k);

	if (!s)
		return; /* the judge said valid: only out of memory */
	if (a->pod_subnet[0]) {
		if (strcmp(s->subnet, a->pod_subnet) != 0 && v->o[k]->mod_revision != a->warned_own_rev) {
			a->warned_own_rev = v->o[k]->mod_revision;
			net_warn(a, LL_WARN, "SubnetChanged",
			         "this node's subnet is now %s but the agent uses %s; restart the agent to move",
			         s->subnet, a->pod_subnet);
		}
	} else {
		a->netcfg = v->cfg;
		snprintf(a->pod_subnet, sizeof(a->pod_subnet), "%s", s->subnet);
		log_kv(LL_INFO, KV("node", a->o.node_name, "subnet", s->subnet, "hostIP", s->host_ip),
		       "using this node's pod subnet");
		if (strcmp(s->host_ip, a->host_ip) != 0)
			net_warn(a, LL_WARN, "HostIPMismatch",
			         "this node's subnet names hostIP %s but the node's address is %s: other nodes route "
			         "its pods there; ask an admin to fix P/network/subnets/%s",
			         s->host_ip, a->host_ip, a->o.node_name);
		register_refresh(a);
		net_inspect(a);
	}
	api_subnet_free(s);
}

static void
own_check(struct agent *a)
{
	struct subnets_view v;
	long k;

	if (!informer_synced(a->network) || subnets_view(a, &v) < 0)
		return;
	k = subnets_find(&v, a->o.node_name);
	if (!v.cfg_ok)
		bad_config(a, &v);
	else if (k >= 0 && v.valid[k])
		adopt(a, &v, k);
	else if (k >= 0 && v.o[k]->mod_revision != a->warned_own_rev) {
		a->warned_own_rev = v.o[k]->mod_revision;
		net_warn(a, LL_ERROR, "InvalidSubnet", "refusing this node's subnet key %s: %s; %s", v.o[k]->key,
		         v.why[k], a->pod_subnet[0] ? "keeping the subnet in use" : "pods wait for a valid one");
	}
	subnets_view_free(&v);
}

static void
own_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct agent *a = (struct agent *)((char *)w - offsetof(struct agent, own_timer));

	(void)loop;
	(void)revents;
	if (!a->stopping)
		own_check(a);
}

void
net_changed(struct agent *a)
{
	ev_timer_stop(a->d->loop, &a->own_timer);
	ev_timer_set(&a->own_timer, 0.05, 0.0);
	ev_timer_start(a->d->loop, &a->own_timer);
}

/* Every NET_RETRY_S while there is no subnet: say what we wait for. */
static void
net_wait(struct agent *a)
{
	if (a->pod_subnet[0])
		return;
	log_kv(LL_INFO, KV("node", a->o.node_name, "network", a->o.docker_network),
	       "waiting for the node controller to allocate %s/network/subnets/%s; pods wait (is "
	       "skiff-node-controller running?)",
	       a->prefix, a->o.node_name);
	net_again(a, PHASE_WAIT, NET_RETRY_S);
}

void
net_start(struct agent *a)
{
	ev_timer_init(&a->net_timer, net_timer_cb, 0.0, 0.0);
	ev_timer_init(&a->own_timer, own_timer_cb, 0.0, 0.0);
	if (!a->o.docker_network) {
		a->net_ready = 1;
		return;
	}
	if (subnets_start(a) < 0) {
		log_kv(LL_ERROR, KV("node", a->o.node_name), "out of memory: no pod network; restart the agent");
		return;
	}
	net_again(a, PHASE_WAIT, 1.0);
}

void
net_stop(struct agent *a)
{
	if (!a->d)
		return;
	ev_timer_stop(a->d->loop, &a->net_timer);
	ev_timer_stop(a->d->loop, &a->own_timer);
	if (a->net_req)
		dk_cancel(a->net_req);
	a->net_req = NULL;
	fw_job_cancel(a->fw_job);
	a->fw_job = NULL;
	routes_stop(a);
	subnets_stop(a);
	free(a->vx_links);
	a->vx_links = NULL;
	a->vx_nlinks = 0;
}
