/*
 * agent_register.c: the node's two keys. P/nodes/NODE gets the agent's
 * status (capacity, address, version) by read-modify-write, a transaction
 * comparing the mod revision it read (create-if-absent the first time, with
 * the --node-labels), so admin edits of labels and spec survive; it is
 * refreshed at every resync; status.podCIDR is the subnet agent_net.c
 * claimed (kept as found until then). P/nodeleases/NODE is put on a lease kept alive
 * by the etcd client's keeper; when the lease is lost a new one is granted
 * and the key written again, retrying every second until etcd answers.
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

static json_t *
node_status(struct agent *a)
{
	int64_t cpu = 0, mem = 0;
	char cb[64], mb[64], pb[32];

	if (!a->o.capacity_cpu || api_quantity_parse_milli(a->o.capacity_cpu, &cpu, NULL) < 0)
		cpu = (int64_t)sysconf(_SC_NPROCESSORS_ONLN) * 1000;
	if (!a->o.capacity_memory || api_quantity_parse_value(a->o.capacity_memory, &mem, NULL) < 0)
		mem = mem_total();
	api_quantity_format_milli(cpu, cb, sizeof(cb));
	api_quantity_format_bytes(mem, mb, sizeof(mb));
	snprintf(pb, sizeof(pb), "%ld", a->o.max_pods);
	return json_pack("{s:{s:s,s:s,s:s},s:[{s:s,s:s}],s:s}", "capacity", "cpu", cb, "memory", mb, "pods", pb,
	                 "addresses", "type", "InternalIP", "address", a->host_ip, "agentVersion", SKIFF_VERSION);
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
		log_kv(LL_WARN, KV("node", a->o.node_name), "cannot write the node: %s; retrying in 1s", res->err.msg);
		reg_again(a, 1.0);
	} else if (!res->succeeded) {
		reg_again(a, 0.05); /* someone edited it meanwhile: read again */
	} else {
		log_kv(LL_DEBUG, KV("node", a->o.node_name), "node status written");
		reg_next(a);
	}
}

static void
reg_get_done(struct etcd_result *res, void *arg)
{
	struct agent *a = arg;
	json_t *cur = NULL, *want, *meta;
	struct etcd_txn *t;
	struct etcd_error err = {0};
	char key[API_KEY_MAX], *val;

	if (a->stopping) {
		a->reg_busy = 0;
		return;
	}
	if (res->err.code != ETCD_OK) {
		a->reg_busy = 0;
		log_kv(LL_WARN, KV("node", a->o.node_name), "cannot read the node: %s; retrying in 1s", res->err.msg);
		reg_again(a, 1.0);
		return;
	}
	api_key_object(key, sizeof(key), a->prefix, API_NODE, a->o.node_name, NULL);
	if (res->nkvs > 0) {
		cur = json_loadb(res->kvs[0].value, res->kvs[0].value_len, 0, NULL);
		if (!json_is_object(cur)) {
			log_kv(LL_WARN, KV("node", a->o.node_name),
			       "the node's value is not a JSON object; replacing it");
			json_decref(cur);
			cur = NULL;
		}
	}
	if (cur) {
		want = json_deep_copy(cur);
	} else {
		want = json_pack("{s:{},s:{s:b}}", "metadata", "spec", "unschedulable", 0);
		json_object_set_new(json_object_get(want, "metadata"), "labels", start_labels(a));
	}
	meta = json_object_get(want, "metadata");
	if (!json_is_object(meta)) {
		meta = json_object();
		json_object_set_new(want, "metadata", meta);
	}
	json_object_set_new(meta, "name", json_string(a->o.node_name));
	{
		json_t *st = node_status(a), *old = json_object_get(cur ? cur : want, "status");
		const char *cidr = json_string_value(json_object_get(old, "podCIDR"));

		if (a->pod_subnet[0])
			json_object_set_new(st, "podCIDR", json_string(a->pod_subnet));
		else if (cidr) /* not claimed (yet): keep what is there */
			json_object_set_new(st, "podCIDR", json_string(cidr));
		json_object_set_new(want, "status", st);
	}
	if (cur && json_equal(cur, want)) {
		json_decref(cur);
		json_decref(want);
		a->reg_busy = 0;
		reg_next(a);
		return;
	}
	val = json_dumps(want, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(want);
	t = etcd_txn_new();
	if (res->nkvs > 0)
		etcd_txn_cmp(t, key, ETCD_CMP_MOD, ETCD_CMP_EQUAL, res->kvs[0].mod_revision);
	else
		etcd_txn_cmp(t, key, ETCD_CMP_CREATE, ETCD_CMP_EQUAL, 0);
	etcd_txn_put(t, ETCD_TXN_SUCCESS, key, val ? val : "{}", val ? strlen(val) : 2, 0);
	free(val);
	json_decref(cur);
	if (etcd_txn_commit(a->d->etcd, t, reg_put_done, a, &err) < 0) {
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
	api_key_object(key, sizeof(key), a->prefix, API_NODE, a->o.node_name, NULL);
	a->reg_busy = 1;
	if (etcd_get(a->d->etcd, key, reg_get_done, a, &err) < 0) {
		a->reg_busy = 0;
		reg_again(a, 1.0);
	}
}

/* ---------------------------------------------------------------- lease */

static void lease_again(struct agent *a, double after);

static void
keeper_cb(struct etcd_keeper *k, enum etcd_lease_state st, const struct etcd_error *err, void *arg)
{
	struct agent *a = arg;

	if (st == ETCD_LEASE_DOUBT) {
		log_kv(LL_WARN, KV("node", a->o.node_name),
		       "node lease keep-alives failing (%s); the node may turn NotReady", err ? err->msg : "");
	} else if (st == ETCD_LEASE_ALIVE) {
		log_kv(LL_INFO, KV("node", a->o.node_name), "node lease keep-alives work again");
	} else {
		log_kv(LL_WARN, KV("node", a->o.node_name), "node lease lost; granting a new one");
		etcd_keeper_stop(k);
		a->keeper = NULL;
		a->lease_id = 0;
		lease_again(a, 0.0);
	}
}

static void
lease_put_done(struct etcd_result *res, void *arg)
{
	struct agent *a = arg;

	a->lease_busy = 0;
	if (a->stopping)
		return;
	if (res->err.code != ETCD_OK) {
		log_kv(LL_WARN, KV("node", a->o.node_name), "cannot write the node lease key: %s; retrying in 1s",
		       res->err.msg);
		lease_again(a, 1.0);
		return;
	}
	a->keeper = etcd_keeper_start(a->d->etcd, a->lease_id, a->o.lease_ttl_ms / 1000, keeper_cb, a);
	if (!a->keeper)
		lease_again(a, 1.0);
	else
		log_kv(LL_INFO, KV("node", a->o.node_name), "node is ready (lease %lld)", (long long)a->lease_id);
}

static void
lease_grant_done(struct etcd_result *res, void *arg)
{
	struct agent *a = arg;
	char key[API_KEY_MAX], now[32], *val;
	struct etcd_put_opts po = {0};
	struct etcd_error err = {0};

	if (a->stopping) {
		a->lease_busy = 0;
		return;
	}
	if (res->err.code != ETCD_OK) {
		a->lease_busy = 0;
		log_kv(LL_WARN, KV("node", a->o.node_name), "cannot grant the node lease: %s; retrying in 1s",
		       res->err.msg);
		lease_again(a, 1.0);
		return;
	}
	a->lease_id = res->lease_id;
	api_time_format(time(NULL), now, sizeof(now));
	api_key_object(key, sizeof(key), a->prefix, API_NODELEASE, a->o.node_name, NULL);
	{
		json_t *j = json_pack("{s:{s:s},s:{s:s,s:I,s:s}}", "metadata", "name", a->o.node_name, "spec",
		                      "holderIdentity", a->o.node_name, "leaseDurationSeconds",
		                      (json_int_t)(a->o.lease_ttl_ms / 1000), "acquireTime", now);

		val = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
		json_decref(j);
	}
	po.lease = a->lease_id;
	if (!val || etcd_put(a->d->etcd, key, val, strlen(val), &po, lease_put_done, a, &err) < 0) {
		a->lease_busy = 0;
		lease_again(a, 1.0);
	}
	free(val);
}

static void
lease_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct agent *a = (struct agent *)((char *)w - offsetof(struct agent, lease_timer));
	struct etcd_error err = {0};

	(void)loop;
	(void)revents;
	if (a->lease_busy || a->stopping || a->keeper)
		return;
	a->lease_busy = 1;
	if (etcd_lease_grant(a->d->etcd, a->o.lease_ttl_ms / 1000, 0, lease_grant_done, a, &err) < 0) {
		a->lease_busy = 0;
		lease_again(a, 1.0);
	}
}

static void
lease_again(struct agent *a, double after)
{
	ev_timer_stop(a->d->loop, &a->lease_timer);
	ev_timer_set(&a->lease_timer, after, 0.0);
	ev_timer_start(a->d->loop, &a->lease_timer);
}

void
register_start(struct agent *a)
{
	ev_timer_init(&a->reg_timer, reg_timer_cb, 0.0, 0.0);
	ev_timer_init(&a->lease_timer, lease_timer_cb, 0.0, 0.0);
	reg_again(a, 0.0);
	lease_again(a, 0.0);
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
	ev_timer_stop(a->d->loop, &a->lease_timer);
	if (a->keeper)
		etcd_keeper_stop(a->keeper);
	a->keeper = NULL;
}
