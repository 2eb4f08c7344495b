/*
 * check_agent_net.c: pod subnets and host-gw routes of skiff-agent,
 * against a real etcd and the real dockerd.
 *
 * alloc: subnets are allocated by the real node controller
 * (build/bin/skiff-node-controller, started beside the agents on each
 * test's prefix): twelve agents starting at once get twelve distinct
 * subnets, the lowest ones; bad network flags exit 2.
 * agent: the real binary with --docker-network: two agents wait for and
 * use two subnets, written to their P/nodestatus/NODE status.podCIDR; the
 * Docker network has it (and comes back when removed); a restart keeps it;
 * a pod's IP lies in it; a bad config and a mismatched network in use give
 * Warning events, and the agent recovers once they are fixed; an invalid
 * subnet key for the node (a /32) is refused until it is replaced.
 * routes: the agent with --routing host-gw runs in a throwaway network
 * namespace (nsenter), talking to an etcd that also listens on the host's
 * end of a veth pair; fake subnets of other nodes become routes there,
 * vanish when deleted, a stale route of ours goes, the iptables chains are
 * made once, and everything survives kill -9. Keys a hostile node could
 * write straight into etcd (a /32 inside another node's subnet, loopback
 * and link-local gateways, a younger claim of another node's subnet) get
 * no route.
 *
 * Agent tests use podCIDR 10.218.0.0/16 and the namespace 10.217.99.0/24
 * and 10.219.0.0/16 (set in P/network/config), so that the Docker networks
 * made here clash with nothing else on the host. Teardown removes the
 * containers, Docker networks and namespace this run made.
 */
#include <check.h>
#include <jansson.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "docker_harness.h"
#include "etcd_harness.h"
#include "etcd_testutil.h"
#include "th_proc.h"

#ifndef SKIFF_AGENT
#define SKIFF_AGENT "build/bin/skiff-agent"
#endif
#ifndef SKIFF_NODECTL
#define SKIFF_NODECTL "build/bin/skiff-node-controller"
#endif

#define AGENT_CIDR "{\"podCIDR\":\"10.218.0.0/16\",\"subnetLength\":24,\"serviceCIDR\":\"10.0.0.0/24\"}"
#define NS_CIDR "{\"podCIDR\":\"10.219.0.0/16\",\"subnetLength\":24,\"serviceCIDR\":\"10.0.0.0/24\"}"
#define HTTPD_SPEC                                                                                       \
	"{\"terminationGracePeriodSeconds\":1,\"containers\":[{\"name\":\"web\",\"image\":\"skiff/test-" \
	"httpd:latest\"}]}"

static struct th_etcd *E;
static struct etcd_sync *S;
static char RUN[32];

/* ---------------------------------------------------------------- helpers */

static double
mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Poll cond every 50 ms until it holds or timeout_s passes: 0 / -1. */
static int
wait_until(int (*cond)(void *), void *arg, double timeout_s)
{
	double end = mono() + timeout_s;

	while (!cond(arg))
		if (mono() > end)
			return -1;
		else
			usleep(50 * 1000);
	return 0;
}

/* Run a shell command; its exit status. */
static int
sh(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	st = system(cmd);
	return st == -1 ? -1 : WEXITSTATUS(st);
}

/* A command's whole output (new string, "" on failure). */
static char *
sh_out(const char *fmt, ...)
{
	char cmd[1024], *buf = NULL;
	size_t len = 0;
	FILE *f, *p;
	va_list ap;
	int c;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	f = open_memstream(&buf, &len);
	p = popen(cmd, "r");
	while (p && (c = fgetc(p)) != EOF)
		fputc(c, f);
	if (p)
		pclose(p);
	fclose(f);
	return buf;
}

static void
put(const char *key, const char *val)
{
	ck_assert_msg(tu_put(S, key, val) > 0, "put %s failed", key);
}

static void
del(const char *key)
{
	struct etcd_result *r = etcd_sync_delete(S, key, NULL);

	TU_OK(r);
	etcd_result_free(r);
}

/* The value of key as JSON (new), NULL when absent. */
static json_t *
get_json(const char *key)
{
	struct etcd_result *r = etcd_sync_get(S, key);
	json_t *j = NULL;

	if (r && r->err.code == ETCD_OK && r->nkvs == 1)
		j = json_loadb(r->kvs[0].value, r->kvs[0].value_len, 0, NULL);
	if (r)
		etcd_result_free(r);
	return j;
}

/* A string member at path a.b (b may be NULL) of key's value, or "". */
static const char *
get_str(const char *key, const char *a, const char *b, char *buf, size_t len)
{
	json_t *j = get_json(key), *v = json_object_get(j, a);

	if (b)
		v = json_object_get(v, b);
	snprintf(buf, len, "%s", json_string_value(v) ? json_string_value(v) : "");
	json_decref(j);
	return buf;
}

/* ---------------------------------------------------------------- fixtures */

static void remove_nets(void);

static void
suite_setup(void)
{
	snprintf(RUN, sizeof(RUN), "t%d", (int)getpid());
	if (dh_ensure_dockerd(60) < 0 || dh_ensure_test_image() < 0) {
		fprintf(stderr, "check_agent_net: Docker is not usable\n");
		abort();
	}
	remove_nets();
	E = th_etcd_start(1, NULL);
	if (!E)
		abort();
}

/* The Docker networks this run's tests may make. An agent killed while
 * its create request is in flight leaves a network made after any delete,
 * so every test case's start clears them too. */
static void
remove_nets(void)
{
	static const char *const nets[] = {"a",  "b",  "p",  "c",  "m",  "r",  "s",  "n0",  "n1",  "n2",
	                                   "n3", "n4", "n5", "n6", "n7", "n8", "n9", "n10", "n11", NULL};
	char path[64];
	int i;

	for (i = 0; nets[i]; i++) {
		snprintf(path, sizeof(path), "/networks/sk%d%s", atoi(RUN + 1) % 10000000, nets[i]);
		dh_request("DELETE", path, NULL, NULL);
	}
}

/* After a failed test too (the test process is gone by then): the
 * containers, Docker networks and namespace a test of this run made. */
static void
suite_teardown(void)
{
	dh_remove_where("skiff.node", RUN);
	remove_nets();
	sh("ip netns del skrt-%s 2>/dev/null", RUN);
	th_etcd_free(E);
}

static void
setup(void)
{
	struct etcd_config cfg;
	struct etcd_error err = {0};

	tu_config(E, &cfg);
	S = etcd_sync_new(&cfg, &err);
	ck_assert_msg(S != NULL, "sync client: %s", err.msg);
}

static void
teardown(void)
{
	etcd_sync_free(S);
}

/* ---------------------------------------------------------------- alloc */

/* The node controller on prefix, against etcd endpoints ep (NULL = E's). */
static struct th_proc *
start_nodectl(const char *prefix, const char *ep)
{
	char epf[256], pf[128];
	char *argv[] = {SKIFF_NODECTL, epf, pf, "--log-level=debug", NULL};
	struct th_proc *p;

	snprintf(epf, sizeof(epf), "--etcd-endpoints=%s", ep ? ep : th_etcd_endpoints(E));
	snprintf(pf, sizeof(pf), "--prefix=%s", prefix);
	p = th_proc_start(SKIFF_NODECTL, argv, NULL);
	ck_assert_ptr_nonnull(p);
	return p;
}

/* Bad network flags: exit 2 with a message saying what is wrong, before
 * anything is claimed or created. */
START_TEST(test_flags_refused)
{
	static const struct {
		const char *flag, *value, *other, *other_value, *msg;
	} cases[] = {
		{"--docker-network", "bridge", NULL, NULL, "Docker's own network"},
		{"--docker-network", "skiff0-is-too-long", NULL, NULL, "longer than 15 bytes"},
		{"--docker-network", "-x", NULL, NULL, "starting with a letter or digit"},
		{"--docker-network", "a/b", NULL, NULL, "must be letters"},
		{"--routing", "bgp", NULL, NULL, "must be none or host-gw"},
		{"--routing", "host-gw", NULL, NULL, "host-gw needs --docker-network"},
		{"--routing", "host-gw", "--docker-network", "", "host-gw needs --docker-network"},
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *argv[] = {SKIFF_AGENT,    "--etcd-endpoints", th_etcd_endpoints(E), cases[i].flag,
		                      cases[i].value, cases[i].other,     cases[i].other_value, NULL};
		struct th_proc *p = th_proc_start(SKIFF_AGENT, (char *const *)argv, NULL);

		ck_assert_ptr_nonnull(p);
		ck_assert_int_eq(th_proc_wait(p, 10), 2);
		ck_assert_msg(th_proc_log_has(p, cases[i].msg), "%s %s: no \"%s\" in the message", cases[i].flag,
		              cases[i].value, cases[i].msg);
		th_proc_free(p, 0);
	}
}
END_TEST

/* ---------------------------------------------------------------- agent */

struct ctx {
	char prefix[64], node[64], net[16];
	char ip[32];      /* --node-ip: agents on one host need distinct addresses */
	const char *ns;   /* network namespace to run in, or NULL */
	const char *etcd; /* endpoints, NULL = E's */
	struct th_proc *agent;
};

static unsigned next_ip;

static void
ctx_init(struct ctx *c, const char *prefix, const char *name)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->prefix, sizeof(c->prefix), "/%s-%s", RUN, prefix);
	snprintf(c->node, sizeof(c->node), "%s-%s", RUN, name);
	snprintf(c->net, sizeof(c->net), "sk%d%s", atoi(RUN + 1) % 10000000, name);
	snprintf(c->ip, sizeof(c->ip), "198.51.100.%d", 10 + (int)(next_ip++ % 200));
}

static void
start_agent(struct ctx *c, const char *const *extra)
{
	char ns[128];
	const char *argv[48] = {"nsenter",
	                        ns,
	                        SKIFF_AGENT,
	                        "--etcd-endpoints",
	                        c->etcd ? c->etcd : th_etcd_endpoints(E),
	                        "--prefix",
	                        c->prefix,
	                        "--node-name",
	                        c->node,
	                        "--docker-network",
	                        c->net,
	                        "--resync-interval",
	                        "2s",
	                        "--log-level",
	                        "debug"};
	int n = 15, skip = c->ns ? 0 : 2;

	snprintf(ns, sizeof(ns), "--net=/run/netns/%s", c->ns ? c->ns : "");
	if (!c->ns) {
		argv[n++] = "--node-ip";
		argv[n++] = c->ip;
	}
	for (; extra && *extra && n < 46; extra++)
		argv[n++] = *extra;
	argv[n] = NULL;
	c->agent = th_proc_start(c->ns ? "/usr/bin/nsenter" : SKIFF_AGENT, (char *const *)argv + skip, NULL);
	ck_assert_ptr_nonnull(c->agent);
}

/* Stop the agent, then remove its containers and its Docker network. */
static void
ctx_done(struct ctx *c, int show_log)
{
	char path[64];

	th_proc_free(c->agent, show_log);
	c->agent = NULL;
	dh_remove_where("skiff.node", c->node);
	snprintf(path, sizeof(path), "/networks/%s", c->net);
	dh_request("DELETE", path, NULL, NULL);
}

struct key_want {
	const char *key, *a, *b, *value;
};

static int
key_is(void *arg)
{
	struct key_want *w = arg;
	char buf[256];

	return strcmp(get_str(w->key, w->a, w->b, buf, sizeof(buf)), w->value) == 0;
}

/* Wait until member a(.b) of key's value is value; show the agent's log
 * when it never is. */
static void
wait_key(struct ctx *c, const char *key, const char *a, const char *b, const char *value, double timeout_s)
{
	struct key_want w = {key, a, b, value};
	char buf[256];

	if (wait_until(key_is, &w, timeout_s) < 0) {
		th_proc_free(c->agent, 1);
		c->agent = NULL;
		ck_abort_msg("%s: %s%s%s is \"%s\", not \"%s\" after %.0f s", key, a, b ? "." : "", b ? b : "",
		             get_str(key, a, b, buf, sizeof(buf)), value, timeout_s);
	}
}

/* Wait until the node has subnet: its key and its node status's podCIDR. */
static void
wait_subnet(struct ctx *c, const char *subnet)
{
	char key[256];

	snprintf(key, sizeof(key), "%s/network/subnets/%s", c->prefix, c->node);
	wait_key(c, key, "subnet", NULL, subnet, 20);
	snprintf(key, sizeof(key), "%s/nodestatus/%s", c->prefix, c->node);
	wait_key(c, key, "status", "podCIDR", subnet, 20);
}

/* The first IPAM subnet of Docker network name, "" when absent. */
static void
docker_subnet(const char *name, char *buf, size_t len)
{
	char path[64], *resp = NULL;
	json_t *j;

	snprintf(path, sizeof(path), "/networks/%s", name);
	buf[0] = '\0';
	if (dh_request("GET", path, NULL, &resp) != 200) {
		free(resp);
		return;
	}
	j = json_loads(resp, 0, NULL);
	snprintf(buf, len, "%s",
	         json_string_value(json_object_get(
			 json_array_get(json_object_get(json_object_get(j, "IPAM"), "Config"), 0), "Subnet"))
	                 ?: "");
	json_decref(j);
	free(resp);
}

struct log_want {
	struct th_proc *p;
	const char *needle;
};

static int
log_has(void *arg)
{
	struct log_want *w = arg;

	return th_proc_log_has(w->p, w->needle);
}

static void
wait_log(struct ctx *c, const char *needle, double timeout_s)
{
	struct log_want w = {c->agent, needle};

	if (wait_until(log_has, &w, timeout_s) < 0) {
		th_proc_free(c->agent, 1);
		c->agent = NULL;
		/* Say which Docker networks were there: a pool that overlaps ours
		 * ("Pool overlaps") is someone else's. */
		if (system("docker network ls -q | xargs -r docker network inspect "
		           "--format '{{.Name}} {{range .IPAM.Config}}{{.Subnet}} {{end}}{{.Created}}' >&2") != 0)
			fprintf(stderr, "(docker network inspect failed)\n");
		ck_abort_msg("the agent never logged \"%s\"", needle);
	}
}

static int64_t
mod_revision(const char *key)
{
	struct etcd_result *r = etcd_sync_get(S, key);
	int64_t rev = r && r->err.code == ETCD_OK && r->nkvs == 1 ? r->kvs[0].mod_revision : -1;

	if (r)
		etcd_result_free(r);
	return rev;
}

struct dnet_want {
	const char *name, *subnet;
};

static int
docker_net_is(void *arg)
{
	struct dnet_want *w = arg;
	char buf[64];

	docker_subnet(w->name, buf, sizeof(buf));
	return strcmp(buf, w->subnet) == 0;
}

/* Two agents (two nodes, two Docker networks) on one prefix get the two
 * lowest subnets from the node controller, each Docker network gets its
 * subnet (and comes back at the next resync when removed by hand); a
 * restart keeps the subnet, and nothing writes it again. */
START_TEST(test_agents_claim_and_keep)
{
	struct ctx a, b;
	struct th_proc *nc;
	char key[256], buf[64];
	int64_t rev;

	ctx_init(&a, "ak", "a");
	ctx_init(&b, "ak", "b");
	snprintf(key, sizeof(key), "%s/network/config", a.prefix);
	put(key, AGENT_CIDR);
	nc = start_nodectl(a.prefix, NULL);
	start_agent(&a, NULL);
	wait_subnet(&a, "10.218.1.0/24");
	start_agent(&b, NULL);
	wait_subnet(&b, "10.218.2.0/24");
	wait_log(&a, "pod network ready", 20);
	wait_log(&b, "pod network ready", 20);
	docker_subnet(a.net, buf, sizeof(buf));
	ck_assert_str_eq(buf, "10.218.1.0/24");
	docker_subnet(b.net, buf, sizeof(buf));
	ck_assert_str_eq(buf, "10.218.2.0/24");
	snprintf(key, sizeof(key), "/networks/%s", b.net);
	ck_assert_int_eq(dh_request("DELETE", key, NULL, NULL), 204);
	ck_assert_msg(wait_until(docker_net_is, &(struct dnet_want){b.net, "10.218.2.0/24"}, 20) == 0,
	              "the removed Docker network did not come back");
	snprintf(key, sizeof(key), "%s/network/subnets/%s", a.prefix, a.node);
	rev = mod_revision(key);
	ck_assert_int_eq(th_proc_signal(a.agent, SIGTERM), 0);
	ck_assert_int_eq(th_proc_wait(a.agent, 20), 0);
	th_proc_free(a.agent, 0);
	start_agent(&a, NULL);
	wait_log(&a, "using this node's pod subnet", 20);
	wait_log(&a, "the Docker network exists with our subnet", 20);
	ck_assert_str_eq(get_str(key, "subnet", NULL, buf, sizeof(buf)), "10.218.1.0/24");
	ck_assert_int_eq(mod_revision(key), rev);
	ctx_done(&a, 0);
	ctx_done(&b, 0);
	th_proc_free(nc, 0);
}
END_TEST

struct ip_want {
	const char *key, *prefix;
	char ip[64];
};

static int
pod_ip_in(void *arg)
{
	struct ip_want *w = arg;

	get_str(w->key, "podIP", NULL, w->ip, sizeof(w->ip));
	return strncmp(w->ip, w->prefix, strlen(w->prefix)) == 0;
}

/* A pod bound to the node runs on its Docker network with an IP from its
 * subnet; a Docker network left with another subnet (and nothing attached)
 * is made again with the right one first. */
START_TEST(test_pod_ip_in_subnet)
{
	struct ctx a;
	struct th_proc *nc;
	struct ip_want w = {0};
	char key[256], val[1024], buf[64];

	ctx_init(&a, "pi", "p");
	snprintf(key, sizeof(key), "%s/network/config", a.prefix);
	put(key, AGENT_CIDR);
	nc = start_nodectl(a.prefix, NULL);
	snprintf(val, sizeof(val),
	         "{\"Name\":\"%s\",\"Driver\":\"bridge\",\"IPAM\":{\"Config\":[{\"Subnet\":\"10.218.77.0/24\"}]},"
	         "\"Options\":{\"com.docker.network.bridge.name\":\"%s\"}}",
	         a.net, a.net);
	ck_assert_int_eq(dh_request("POST", "/networks/create", val, NULL), 201);
	start_agent(&a, NULL);
	wait_subnet(&a, "10.218.1.0/24");
	wait_log(&a, "removing and creating it again", 20);
	wait_log(&a, "pod network ready", 20);
	docker_subnet(a.net, buf, sizeof(buf));
	ck_assert_str_eq(buf, "10.218.1.0/24");
	snprintf(key, sizeof(key), "%s/bindings/%s/web1", a.prefix, a.node);
	snprintf(val, sizeof(val),
	         "{\"node\":\"%s\",\"pod\":{\"metadata\":{\"name\":\"web1\",\"uid\":\"7\"},\"spec\":%s}}", a.node,
	         HTTPD_SPEC);
	put(key, val);
	snprintf(key, sizeof(key), "%s/podstatus/%s/web1", a.prefix, a.node);
	w.key = key;
	w.prefix = "10.218.1.";
	if (wait_until(pod_ip_in, &w, 60) < 0) {
		th_proc_free(a.agent, 1);
		a.agent = NULL;
		ck_abort_msg("podIP is \"%s\", not in 10.218.1.0/24", w.ip);
	}
	ck_assert_str_ne(w.ip, "10.218.1.1"); /* the gateway */
	ctx_done(&a, 0);
	th_proc_free(nc, 0);
}
END_TEST

struct event_want {
	const struct ctx *c;
	const char *reason;
	const char *source; /* NULL = any writer */
	char message[512];
};

/* A Warning event with the wanted reason on the node. */
static int
node_event(void *arg)
{
	struct event_want *w = arg;
	struct etcd_range_opts o = {.prefix = 1};
	char dir[256];
	struct etcd_result *r;
	size_t i;
	int found = 0;

	snprintf(dir, sizeof(dir), "%s/nodeevents/%s/nodes/%s/", w->c->prefix, w->c->node, w->c->node);
	r = etcd_sync_range(S, dir, &o);
	for (i = 0; r && r->err.code == ETCD_OK && i < r->nkvs && !found; i++) {
		json_t *j = json_loadb(r->kvs[i].value, r->kvs[i].value_len, 0, NULL);
		const char *reason = json_string_value(json_object_get(j, "reason"));
		const char *source = json_string_value(json_object_get(j, "source"));

		if (reason && strcmp(reason, w->reason) == 0 &&
		    (!w->source || (source && strcmp(source, w->source) == 0))) {
			found = 1;
			snprintf(w->message, sizeof(w->message), "%s",
			         json_string_value(json_object_get(j, "message")) ?: "");
		}
		json_decref(j);
	}
	if (r)
		etcd_result_free(r);
	return found;
}

static void
wait_event(struct ctx *c, struct event_want *w)
{
	w->c = c;
	if (wait_until(node_event, w, 20) < 0) {
		th_proc_free(c->agent, 1);
		c->agent = NULL;
		ck_abort_msg("no Warning event %s on node %s", w->reason, c->node);
	}
}

/* The agent gets subnet and its network becomes ready; then stop it and
 * the node controller nc. */
static void
ready_and_done(struct ctx *c, struct th_proc *nc, const char *subnet)
{
	wait_subnet(c, subnet);
	wait_log(c, "pod network ready", 20);
	ctx_done(c, 0);
	th_proc_free(nc, 0);
}

/* A malformed P/network/config: no claim, a Warning event naming the
 * field, the agent keeps running; fixed, the claim follows (retry 10 s). */
START_TEST(test_bad_config_warns_then_claims)
{
	struct ctx a;
	struct th_proc *nc;
	struct event_want ev = {.reason = "InvalidNetworkConfig", .source = "agent"};
	char key[256];

	ctx_init(&a, "bc", "c");
	snprintf(key, sizeof(key), "%s/network/config", a.prefix);
	put(key, "{\"podCIDR\":\"10.218.0.0/16\",\"subnetLength\":\"24\"}");
	nc = start_nodectl(a.prefix, NULL);
	start_agent(&a, NULL);
	wait_event(&a, &ev);
	ck_assert_msg(strstr(ev.message, "subnetLength"), "event message: %s", ev.message);
	ck_assert(th_proc_running(a.agent));
	put(key, AGENT_CIDR);
	ready_and_done(&a, nc, "10.218.1.0/24");
}
END_TEST

/* The Docker network exists with another subnet and a container on it:
 * the agent says what to do (event NetworkMismatch) and waits; once the
 * container is gone it makes the network again with its subnet. */
START_TEST(test_network_in_use_mismatch)
{
	struct ctx a;
	struct th_proc *nc;
	struct event_want ev = {.reason = "NetworkMismatch"};
	char key[256], val[1024], name[64], buf[64];

	ctx_init(&a, "nm", "m");
	snprintf(key, sizeof(key), "%s/network/config", a.prefix);
	put(key, AGENT_CIDR);
	nc = start_nodectl(a.prefix, NULL);
	snprintf(val, sizeof(val),
	         "{\"Name\":\"%s\",\"IPAM\":{\"Config\":[{\"Subnet\":\"10.218.66.0/24\"}]},"
	         "\"Options\":{\"com.docker.network.bridge.name\":\"%s\"}}",
	         a.net, a.net);
	ck_assert_int_eq(dh_request("POST", "/networks/create", val, NULL), 201);
	snprintf(name, sizeof(name), "%s-user", a.node);
	snprintf(val, sizeof(val),
	         "{\"Image\":\"skiff/test-httpd:latest\",\"Labels\":{\"skiff.node\":\"%s\"},"
	         "\"HostConfig\":{\"NetworkMode\":\"%s\"}}",
	         a.node, a.net);
	snprintf(key, sizeof(key), "/containers/create?name=%s", name);
	ck_assert_int_eq(dh_request("POST", key, val, NULL), 201);
	snprintf(key, sizeof(key), "/containers/%s/start", name); /* only a running one is on the network */
	ck_assert_int_eq(dh_request("POST", key, NULL, NULL), 204);
	start_agent(&a, NULL);
	wait_event(&a, &ev);
	ck_assert_msg(strstr(ev.message, "10.218.66.0/24") && strstr(ev.message, "remove those containers"), "%s",
	              ev.message);
	ck_assert_int_eq(dh_remove(name), 0);
	wait_log(&a, "pod network ready", 20);
	docker_subnet(a.net, buf, sizeof(buf));
	ck_assert_str_eq(buf, "10.218.1.0/24");
	ctx_done(&a, 0);
	th_proc_free(nc, 0);
}
END_TEST

/* A subnet key for the node that is not a valid subnet (a /32, as a
 * hostile node could write) and that the node controller therefore never
 * replaces: the agent refuses it (log and Warning event InvalidSubnet),
 * keeps waiting, says so, and uses the subnet allocated once an admin
 * deleted the bad key. */
START_TEST(test_invalid_own_subnet_refused)
{
	struct ctx a;
	struct th_proc *nc;
	struct event_want ev = {.reason = "InvalidSubnet", .source = "agent"};
	char key[256], val[256];

	ctx_init(&a, "is", "s");
	snprintf(key, sizeof(key), "%s/network/config", a.prefix);
	put(key, AGENT_CIDR);
	snprintf(key, sizeof(key), "%s/network/subnets/%s", a.prefix, a.node);
	snprintf(val, sizeof(val), "{\"subnet\":\"10.218.1.7/32\",\"hostIP\":\"%s\"}", a.ip);
	put(key, val);
	nc = start_nodectl(a.prefix, NULL);
	start_agent(&a, NULL);
	wait_event(&a, &ev);
	ck_assert_msg(strstr(ev.message, "10.218.1.7/32"), "event message: %s", ev.message);
	wait_log(&a, "waiting for the node controller to allocate", 20);
	ck_assert(!th_proc_log_has(a.agent, "pod network ready"));
	del(key);
	ready_and_done(&a, nc, "10.218.1.0/24");
}
END_TEST

/* Twelve agents start at once: the node controller gives each its own
 * subnet, together exactly the twelve lowest, each in its node status. */
START_TEST(test_twelve_agents_distinct)
{
	struct ctx c[12];
	struct th_proc *nc;
	char key[256], name[8], sub[64], want[24];
	int i, j, seen[13] = {0};

	for (i = 0; i < 12; i++) {
		snprintf(name, sizeof(name), "n%d", i);
		ctx_init(&c[i], "tw", name);
	}
	snprintf(key, sizeof(key), "%s/network/config", c[0].prefix);
	put(key, AGENT_CIDR);
	nc = start_nodectl(c[0].prefix, NULL);
	for (i = 0; i < 12; i++)
		start_agent(&c[i], NULL);
	for (i = 0; i < 12; i++) {
		wait_log(&c[i], "using this node's pod subnet", 60);
		snprintf(key, sizeof(key), "%s/network/subnets/%s", c[i].prefix, c[i].node);
		get_str(key, "subnet", NULL, sub, sizeof(sub));
		wait_subnet(&c[i], sub);
		/* Its Docker network made, so no create is in flight when it stops. */
		ck_assert_msg(wait_until(docker_net_is, &(struct dnet_want){c[i].net, sub}, 30) == 0,
		              "%s: the Docker network never got %s", c[i].net, sub);
		for (j = 1; j <= 12; j++) {
			snprintf(want, sizeof(want), "10.218.%d.0/24", j);
			seen[j] += strcmp(sub, want) == 0;
		}
	}
	for (j = 1; j <= 12; j++)
		ck_assert_msg(seen[j] == 1, "10.218.%d.0/24 given %d times", j, seen[j]);
	for (i = 0; i < 12; i++)
		ctx_done(&c[i], 0);
	th_proc_free(nc, 0);
}
END_TEST

/* ---------------------------------------------------------------- routes */

/* A network namespace NAME with a veth to the host: 10.217.99.1 on the
 * host's end, 10.217.99.2 inside. */
static void
netns_make(const char *ns, const char *veth)
{
	sh("ip netns del %s 2>/dev/null", ns);
	ck_assert_int_eq(sh("ip netns add %s", ns), 0);
	ck_assert_int_eq(
		sh("ip link add %sh type veth peer name %sn && ip link set %sn netns %s", veth, veth, veth, ns), 0);
	ck_assert_int_eq(sh("ip addr add 10.217.99.1/24 dev %sh && ip link set %sh up", veth, veth), 0);
	ck_assert_int_eq(sh("ip -n %s addr add 10.217.99.2/24 dev %sn && ip -n %s link set %sn up && "
	                    "ip -n %s link set lo up",
	                    ns, veth, ns, veth, ns),
	                 0);
}

struct route_want {
	const char *ns, *line;
	int present;
};

static int
route_is(void *arg)
{
	struct route_want *w = arg;
	char *out = sh_out("ip -n %s route show", w->ns);
	int has = strstr(out, w->line) != NULL;

	free(out);
	return has == w->present;
}

static void
wait_route(struct ctx *c, const char *line, int present)
{
	struct route_want w = {c->ns, line, present};
	char *out;

	if (wait_until(route_is, &w, 20) == 0)
		return;
	out = sh_out("ip -n %s route show", c->ns);
	th_proc_free(c->agent, 1);
	c->agent = NULL;
	ck_abort_msg("route \"%s\" %s after 20 s; routes:\n%s", line, present ? "missing" : "still there", out);
}

/* Lines of `iptables -S chain` (in table) inside the namespace that
 * contain needle. */
static int
rule_count(const char *ns, const char *table, const char *chain, const char *needle)
{
	char *out = sh_out("ip netns exec %s iptables -w -t %s -S %s 2>&1", ns, table, chain), *p = out;
	int n = 0;

	while ((p = strstr(p, needle))) {
		n++;
		p += strlen(needle);
	}
	free(out);
	return n;
}

static void
fake_subnet(const struct ctx *c, const char *node, const char *subnet, const char *host_ip)
{
	char key[256], val[256];

	snprintf(key, sizeof(key), "%s/network/subnets/%s", c->prefix, node);
	snprintf(val, sizeof(val), "{\"subnet\":\"%s\",\"hostIP\":\"%s\"}", subnet, host_ip);
	put(key, val);
}

static void
check_fw_once(const struct ctx *c)
{
	/* The subnet is reachable from the pod network and the other nodes
	 * (agent_fw.c; check_agent_fw has the whole chain), not from anyone. */
	ck_assert_int_eq(rule_count(c->ns, "filter", "SKIFF-FWD", "-A SKIFF-FWD -d 10.219.1.0/24 -j ACCEPT"), 0);
	ck_assert_int_eq(rule_count(c->ns, "filter", "SKIFF-FWD", "-s 10.219.0.0/16 -d 10.219.1.0/24 -j ACCEPT"), 1);
	ck_assert_int_eq(rule_count(c->ns, "filter", "SKIFF-FWD", "-A SKIFF-FWD -d 10.219.1.0/24 -j DROP"), 1);
	ck_assert_int_eq(rule_count(c->ns, "filter", "SKIFF-FWD", "-s 10.219.1.0/24 -d 10.219.0.0/16 -j ACCEPT"), 1);
	ck_assert_int_eq(rule_count(c->ns, "filter", "DOCKER-USER", "-j SKIFF-FWD"), 1);
	ck_assert_int_eq(rule_count(c->ns, "nat", "SKIFF-NAT", "-s 10.219.1.0/24 ! -d 10.219.0.0/16 -j MASQUERADE"), 1);
	ck_assert_int_eq(rule_count(c->ns, "nat", "POSTROUTING", "-j SKIFF-NAT"), 1);
}

struct rule_want {
	const char *ns, *needle;
};

static int
fwd_has(void *arg)
{
	struct rule_want *w = arg;

	return rule_count(w->ns, "filter", "SKIFF-FWD", w->needle) > 0;
}

/* Keys a hostile node writes for fake nodes, straight into etcd: each is
 * reported by the agent and none becomes a route nor a peer let into
 * SKIFF-FWD, while a key written after them (an honest node) does. */
static void
hostile_keys_ignored(struct ctx *c)
{
	static const struct {
		const char *node, *subnet, *gw, *route;
	} bad[] = {
		{"thief", "10.219.2.7/32", "10.217.99.7", "10.219.2.7"},       /* longer prefix into other1's pods */
		{"loop", "10.219.4.0/24", "127.0.0.1", "10.219.4.0/24"},       /* loopback gateway */
		{"meta", "10.219.5.0/24", "169.254.169.254", "10.219.5.0/24"}, /* link-local gateway */
	};
	char line[64];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		fake_subnet(c, bad[i].node, bad[i].subnet, bad[i].gw);
	fake_subnet(c, "honest", "10.219.6.0/24", "10.217.99.10");
	wait_route(c, "10.219.6.0/24 via 10.217.99.10", 1);
	for (i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		snprintf(line, sizeof(line), "network/subnets/%s", bad[i].node);
		wait_log(c, line, 10); /* "key=.../network/subnets/NODE ... no route" */
		ck_assert_msg(route_is(&(struct route_want){c->ns, bad[i].route, 0}), "route %s (%s via %s) installed",
		              bad[i].route, bad[i].subnet, bad[i].gw);
	}
	ck_assert_msg(wait_until(fwd_has, &(struct rule_want){c->ns, "-s 10.217.99.10/32"}, 20) == 0,
	              "the honest node's address never got into SKIFF-FWD");
	ck_assert_int_eq(rule_count(c->ns, "filter", "SKIFF-FWD", "-s 10.217.99.7/32"), 0);
	ck_assert_int_eq(rule_count(c->ns, "filter", "SKIFF-FWD", "-s 10.217.99.8/32"), 0); /* the younger claim */
	ck_assert_int_eq(rule_count(c->ns, "filter", "SKIFF-FWD", "-s 127.0.0.1/32"), 0);
	ck_assert_int_eq(rule_count(c->ns, "filter", "SKIFF-FWD", "-s 169.254.169.254/32"), 0);
}

/* host-gw in a throwaway namespace: other nodes' subnets become routes via
 * their hostIP, a deleted one goes, a stale route of ours goes at start,
 * other routes and entries outside podCIDR are left alone; keys written
 * straight into etcd by a hostile node (a /32 taking part of another
 * node's subnet, loopback and link-local gateways, a younger claim of
 * another node's subnet) get no route; the chains are made once, and
 * routes and rules outlive the agent. */
START_TEST(test_host_gw_routes)
{
	struct th_etcd_opts o = {.also_listen = "10.217.99.1"};
	struct th_etcd *ne;
	struct th_proc *nc;
	struct etcd_config cfg;
	struct etcd_error err = {0};
	struct ctx c;
	const char *extra[] = {"--routing", "host-gw", "--node-ip", "10.217.99.2", NULL};
	char ns[32], veth[16], ep[96], key[256];
	struct etcd_sync *main_s = S;

	snprintf(ns, sizeof(ns), "skrt-%s", RUN);
	snprintf(veth, sizeof(veth), "skr%d", atoi(RUN + 1) % 10000000);
	netns_make(ns, veth);
	ne = th_etcd_start(1, &o);
	ck_assert_ptr_nonnull(ne);
	tu_config(ne, &cfg);
	S = etcd_sync_new(&cfg, &err);
	ck_assert_msg(S != NULL, "sync client: %s", err.msg);
	snprintf(ep, sizeof(ep), "http://10.217.99.1%s", strrchr(th_etcd_endpoint(ne, 0), ':'));
	ctx_init(&c, "rt", "r");
	c.ns = ns;
	c.etcd = ep;
	snprintf(key, sizeof(key), "%s/network/config", c.prefix);
	put(key, NS_CIDR);
	fake_subnet(&c, "other1", "10.219.2.0/24", "10.217.99.3");
	fake_subnet(&c, "other2", "10.219.3.0/24", "10.217.99.4");
	fake_subnet(&c, "evil", "0.0.0.0/0", "10.217.99.5");
	fake_subnet(&c, "late", "10.219.3.0/24", "10.217.99.8"); /* younger than other2's */
	ck_assert_int_eq(sh("ip -n %s route add 10.219.77.0/24 via 10.217.99.9 proto 95", ns), 0);
	ck_assert_int_eq(sh("ip -n %s route add 10.219.88.0/24 via 10.217.99.9", ns), 0);
	nc = start_nodectl(c.prefix, th_etcd_endpoints(ne));
	start_agent(&c, extra);
	wait_subnet(&c, "10.219.1.0/24");
	wait_route(&c, "10.219.2.0/24 via 10.217.99.3", 1);
	wait_route(&c, "10.219.3.0/24 via 10.217.99.4", 1);
	wait_route(&c, "10.219.77.0/24", 0);
	wait_log(&c, "no route for this subnet entry", 10);
	ck_assert(route_is(&(struct route_want){ns, "10.219.88.0/24 via 10.217.99.9", 1}));
	ck_assert(route_is(&(struct route_want){ns, "default", 0}));
	ck_assert(route_is(&(struct route_want){ns, "10.217.99.8", 0}));
	hostile_keys_ignored(&c);
	check_fw_once(&c);
	snprintf(key, sizeof(key), "%s/network/subnets/other1", c.prefix);
	del(key);
	wait_route(&c, "10.219.2.0/24", 0);
	fake_subnet(&c, "other2", "10.219.3.0/24", "10.217.99.6"); /* moved */
	wait_route(&c, "10.219.3.0/24 via 10.217.99.6", 1);
	/* kill -9: routes stay; a new agent adds no second rule */
	th_proc_kill(c.agent);
	ck_assert(route_is(&(struct route_want){ns, "10.219.3.0/24 via 10.217.99.6", 1}));
	th_proc_free(c.agent, 0);
	start_agent(&c, extra);
	wait_log(&c, "routes synced", 20);
	check_fw_once(&c);
	/* a clean stop (under ASan: no leaks) leaves the routes too */
	ck_assert_int_eq(th_proc_signal(c.agent, SIGTERM), 0);
	ck_assert_int_eq(th_proc_wait(c.agent, 20), 0);
	ck_assert(route_is(&(struct route_want){ns, "10.219.3.0/24 via 10.217.99.6", 1}));
	ctx_done(&c, 0);
	th_proc_free(nc, 0);
	etcd_sync_free(S);
	S = main_s;
	th_etcd_free(ne);
	ck_assert_int_eq(sh("ip netns del %s", ns), 0);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("agent_net");
	TCase *alloc = tcase_create("alloc"), *agent = tcase_create("agent"), *routes = tcase_create("routes");

	tcase_add_unchecked_fixture(alloc, suite_setup, suite_teardown);
	tcase_add_checked_fixture(alloc, setup, teardown);
	tcase_set_timeout(alloc, 120);
	tcase_add_test(alloc, test_twelve_agents_distinct);
	tcase_add_test(alloc, test_flags_refused);
	tcase_add_unchecked_fixture(agent, suite_setup, suite_teardown);
	tcase_add_checked_fixture(agent, setup, teardown);
	tcase_set_timeout(agent, 120);
	tcase_add_test(agent, test_agents_claim_and_keep);
	tcase_add_test(agent, test_pod_ip_in_subnet);
	tcase_add_test(agent, test_bad_config_warns_then_claims);
	tcase_add_test(agent, test_network_in_use_mismatch);
	tcase_add_test(agent, test_invalid_own_subnet_refused);
	tcase_add_unchecked_fixture(routes, suite_setup, suite_teardown);
	tcase_add_checked_fixture(routes, setup, teardown);
	tcase_set_timeout(routes, 120);
	tcase_add_test(routes, test_host_gw_routes);
	suite_add_tcase(s, alloc);
	suite_add_tcase(s, agent);
	suite_add_tcase(s, routes);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
