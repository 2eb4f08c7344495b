/*
 * agent_register.c: the node's status, P/nodestatus/NODE (the agent's own
 * key: capacity, allocatable, address, version, podCIDR, what the node
 * allows pods (allowPrivileged, allowedHostPaths, hostPortRange) and the
 * labels asked for with --node-labels in metadata.labels). Written by
 * read-modify-write, a transaction comparing the mod revision it read
 * (create-if-absent the first time), and refreshed at every resync;
 * status.podCIDR is this node's subnet once agent_net.c has it (kept as
 * found until then).
 *
 * It never writes P/nodes/NODE: the node controller creates that from
 * this key, and admins own its labels and spec. The heartbeat is
 * agent_lease.c's.
 */
#include <arpa/inet.h>
#include <jansson.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "agent_serve.h"

/* The default route's gateway from /proc/net/route (network byte order),
 * 0 when there is none. */
static uint32_t
default_gateway(void)
{
	FILE *f = fopen("/proc/net/route", "r");
	char line[512], ifc[64];
	unsigned int dst, gw, flags;
	uint32_t found = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%63s %x %x %x", ifc, &dst, &gw, &flags) == 4 && dst == 0 && (flags & 0x2)) {
			found = gw;
			break;
		}
	}
	fclose(f);
	return found;
}

int
register_host_ip(char *buf, size_t len)
{
	struct sockaddr_in sa, me;
	socklen_t sl = sizeof(me);
	uint32_t gw = default_gateway();
	int fd;

	if (!gw)
		return -1;
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0)
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons(9);
	sa.sin_addr.s_addr = gw; /* a UDP connect sends no packet: it picks the source */
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || getsockname(fd, (struct sockaddr *)&me, &sl) < 0 ||
	    !inet_ntop(AF_INET, &me.sin_addr, buf, (socklen_t)len)) {
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

static int64_t
mem_total(void)
{
	FILE *f = fopen("/proc/meminfo", "r");
	char line[256];
	long long kb = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "MemTotal: %lld kB", &kb) == 1)
			break;
	fclose(f);
	return (int64_t)kb * 1024;
}

void
register_capacity(const struct agent *a, int64_t *cpu, int64_t *mem)
{
	if (!a->o.capacity_cpu || api_quantity_parse_milli(a->o.capacity_cpu, cpu, NULL) < 0)
		*cpu = (int64_t)sysconf(_SC_NPROCESSORS_ONLN) * 1000;
	if (!a->o.capacity_memory || api_quantity_parse_value(a->o.capacity_memory, mem, NULL) < 0)
		*mem = mem_total();
}

/* What this node lets pods do, for the scheduler to filter on (the same
 * flags agent_plan.c refuses pods by): allowPrivileged, allowedHostPaths,
 * hostPortRange. Added to st. */
static void
node_policy(const struct agent *a, json_t *st)
{
	json_t *paths = json_array();
	char b[32];

	json_object_set_new(st, "allowPrivileged", json_boolean(a->o.allow_privileged));
	for (size_t i = 0; a->o.host_path_allow && a->o.host_path_allow[i]; i++)
		json_array_append_new(paths, json_string(a->o.host_path_allow[i]));
	json_object_set_new(st, "allowedHostPaths", paths);
	if (a->o.host_port_lo > 0) {
		snprintf(b, sizeof(b), "%d-%d", a->o.host_port_lo, a->o.host_port_hi);
		json_object_set_new(st, "hostPortRange", json_string(b));
	}
}

static json_t *
node_status(struct agent *a)
{
	int64_t cpu = 0, mem = 0;
	char cb[64], mb[64], pb[32];
	json_t *st;

	register_capacity(a, &cpu, &mem);
	api_quantity_format_milli(cpu, cb, sizeof(cb));
	api_quantity_format_bytes(mem, mb, sizeof(mb));
	snprintf(pb, sizeof(pb), "%ld", a->o.max_pods);
	st = json_pack("{s:{s:s,s:s,s:s},s:{s:s,s:s,s:s},s:[{s:s,s:s}],s:s,s:{}}", "capacity", "cpu", cb, "memory", mb,
	               "pods", pb, "allocatable", "cpu", cb, "memory", mb, "pods", pb, "addresses", "type",
	               "InternalIP", "address", a->host_ip, "agentVersion", SKIFF_VERSION, "daemonEndpoints");
	if (st)
		node_policy(a, st);
	if (st && serve_port(a) > 0) /* Kubernetes' shape: the HTTPS server of logs (agent_serve.c) */
		json_object_set_new(json_object_get(st, "daemonEndpoints"), "kubeletEndpoint",
		                    json_pack("{s:i}", "Port", serve_port(a)));
	return st;
}

static json_t *
start_labels(struct agent *a)
{
	json_t *l = json_object();
	char *s, *tok, *save = NULL;

	if (!a->o.node_labels || !*a->o.node_labels)
		return l;
	s = strdup(a->o.node_labels);
	for (tok = s ? strtok_r(s, ",", &save) : NULL; tok; tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '=');

		if (!eq)
			continue;
		*eq = '\0';
		json_object_set_new(l, tok, json_string(eq + 1));
	}
	free(s);
	return l;
}

/* P/nodestatus/NODE into buf. */
static void
reg_key(const struct agent *a, char *buf, size_t len)
{
	snprintf(buf, len, "%s/nodestatus/%s", a->prefix, a->o.node_name);
}

static void
reg_again(struct agent *a, double after)
{
	ev_timer_stop(a->d->loop, &a->reg_timer);
	ev_timer_set(&a->reg_timer, after, 0.0);
	ev_timer_start(a->d->loop, &a->reg_timer);
}

/* The next write: now when one was asked for meanwhile, else at resync. */
static void
reg_next(struct agent *a)
{
	double after = a->reg_pending ? 0.0 : (double)a->o.resync_ms / 1000.0;

	a->reg_pending = 0;
	reg_again(a, after);
}

static void
reg_put_done(struct etcd_result *res, void *arg)
{
	struct agent *a = arg;

	a->reg_busy = 0;
	if (a->stopping)
		return;
	if (res->err.code != ETCD_OK) {
		log_kv(LL_WARN, KV("node", a->o.node_name), "cannot write the node status: %s; retrying in 1s",
		       res->err.msg);
		reg_again(a, 1.0);
	} else if (!res->succeeded) {
		reg_again(a, 0.05); /* someone edited it meanwhile: read again */
	} else {
		log_kv(LL_DEBUG, KV("node", a->o.node_name), "node status written");
		reg_next(a);
	}
}

/* The value we want in P/nodestatus/NODE, given the current one (cur,
 * NULL when absent or not an object): ours entirely, but a podCIDR we
 * have not learnt yet is kept as found. New. */
static json_t *
status_value(struct agent *a, const json_t *cur)
{
	json_t *st = node_status(a);
	const char *cidr = json_string_value(json_object_get(json_object_get(cur, "status"), "podCIDR"));

	json_object_set_new(st, "conditions", runtime_conditions(a));
	if (a->pod_subnet[0])
		json_object_set_new(st, "podCIDR", json_string(a->pod_subnet));
	else if (cidr)
		json_object_set_new(st, "podCIDR", json_string(cidr));
	if (a->vx_mac[0]) /* vxlan: the node controller copies it into our subnet entry */
		json_object_set_new(st, "backendData", json_pack("{s:s}", "vtepMAC", a->vx_mac));
	return json_pack("{s:{s:s,s:o},s:o}", "metadata", "name", a->o.node_name, "labels", start_labels(a), "status",
	                 st);
}

/* Write want over what we read (res): create-if-absent, else compare the
 * mod revision read. Steals want. 0, or -1 when nothing was sent. */
static int
status_put(struct agent *a, const struct etcd_result *res, json_t *want)
{
	char key[API_KEY_MAX], *val = json_dumps(want, JSON_COMPACT | JSON_SORT_KEYS);
	struct etcd_error err = {0};
	struct etcd_txn *t;

	json_decref(want);
	if (!val)
		return -1;
	reg_key(a, key, sizeof(key));
	t = etcd_txn_new();
	if (res->nkvs > 0)
		etcd_txn_cmp(t, key, ETCD_CMP_MOD, ETCD_CMP_EQUAL, res->kvs[0].mod_revision);
	else
		etcd_txn_cmp(t, key, ETCD_CMP_CREATE, ETCD_CMP_EQUAL, 0);
	etcd_txn_put(t, ETCD_TXN_SUCCESS, key, val, strlen(val), 0);
	free(val);
	return etcd_txn_commit(a->d->etcd, t, reg_put_done, a, &err);
}

static void
reg_get_done(struct etcd_result *res, void *arg)
{
	struct agent *a = arg;
	json_t *cur = NULL, *want;

	if (a->stopping) {
		a->reg_busy = 0;
		return;
	}
	if (res->err.code != ETCD_OK) {
		a->reg_busy = 0;
		log_kv(LL_WARN, KV("node", a->o.node_name), "cannot read the node status: %s; retrying in 1s",
		       res->err.msg);
		reg_again(a, 1.0);
		return;
	}
	if (res->nkvs > 0)
		cur = json_loadb(res->kvs[0].value, res->kvs[0].value_len, 0, NULL);
	want = status_value(a, json_is_object(cur) ? cur : NULL);
	if (cur && json_equal(cur, want)) {
		json_decref(cur);
		json_decref(want);
		a->reg_busy = 0;
		reg_next(a);
		return;
	}
	json_decref(cur);
	if (status_put(a, res, want) < 0) {
		a->reg_busy = 0;
		reg_again(a, 1.0);
	}
}

static void
reg_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct agent *a = (struct agent *)((char *)w - offsetof(struct agent, reg_timer));
	char key[API_KEY_MAX];
	struct etcd_error err = {0};

	(void)loop;
	(void)revents;
	if (a->reg_busy || a->stopping)
		return;
	reg_key(a, key, sizeof(key));
	a->reg_busy = 1;
	if (etcd_get(a->d->etcd, key, reg_get_done, a, &err) < 0) {
		a->reg_busy = 0;
		reg_again(a, 1.0);
	}
}

void
register_start(struct agent *a)
{
	ev_timer_init(&a->reg_timer, reg_timer_cb, 0.0, 0.0);
	reg_again(a, 0.0);
	lease_start(a);
}

void
register_refresh(struct agent *a)
{
	if (a->reg_busy)
		a->reg_pending = 1;
	else
		reg_again(a, 0.0);
}

void
register_stop(struct agent *a)
{
	ev_timer_stop(a->d->loop, &a->reg_timer);
	lease_stop(a);
}
