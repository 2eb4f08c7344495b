/*
 * check_hostile_node.c: a hostile node against the real control plane.
 *
 * A real etcd (auth on; plain http, as etcd's gateway refuses a client
 * certificate together with a user) holds the documented roles (tests/harness/
 * th_roles.c: root, skiff-control-plane, one skiff-node-NODE per node). The
 * scheduler and the replication, endpoints, node and config controllers run as real
 * processes with the control-plane user. The honest nodes m1 and m2 are
 * simulated by the test, each with its OWN node user: it registers
 * (P/nodestatus/NODE), heartbeats P/nodeleases/NODE every D/4 on an etcd
 * lease of D s, and writes a Running, ready status for each pod bound to it
 * with an IP of its subnet. (A real skiff-agent needs Docker and takes
 * seconds per pod; the attacks are about what the control plane believes
 * from etcd keys, which the simulation writes exactly as the agent does.)
 * The attacker is etcd user skiff-node-evil, holding only role
 * skiff-node-evil; it speaks to etcd's API with its own credentials.
 *
 * One test case per attack, named after it. Each asserts what must NOT
 * change (endpoints, subnets, bindings, evictions, leader) after a positive
 * marker: an honest change made after the attack and seen processed. The
 * "roles" cases need only etcd and the roles; the "cluster" cases need the
 * version-2 control plane (node controller registering nodes and
 * allocating subnets, heartbeat liveness, trust in bindings only).
 */
#include <check.h>
#include <curl/curl.h>
#include <ev.h>
#include <inttypes.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench/proc_mem.h"
#include "etcd_harness.h"
#include "etcd_testutil.h"
#include "th_certs.h"
#include "th_proc.h"
#include "th_roles.h"

#define P "/skiff"
#define ROOT_PW "root-pw"
#define EVIL "skiff-node-evil"
#define LEASE_D 4          /* the honest nodes' leaseDurationSeconds */
#define ELECT_TTL 10       /* daemon/elect.c */
#define HUGE_BYTES 1400000 /* under etcd's 1.5 MiB request limit */

enum { SCHED, RC, EPC, NC, CFGC, NPROC };
static const char *const PROG[NPROC] = {"skiff-scheduler", "skiff-replication-controller", "skiff-endpoints-controller",
                                        "skiff-node-controller", "skiff-config-controller"};

static struct th_etcd *E;
static struct ev_loop *L;
static struct etcd_sync *ROOT, *BAD;  /* root (the admin) and the attacker */
static struct th_proc *CP[NPROC + 1]; /* + a standby endpoints controller */
static int HEALTH[NPROC];

/* ------------------------------------------------------------ the honest */

struct honest {
	const char *name, *ip;
	struct etcd_sync *s;
	int64_t lease;
	ev_timer beat;
	int pods;
};
static struct honest M1 = {.name = "m1", .ip = "192.168.50.1"}, M2 = {.name = "m2", .ip = "192.168.50.2"};

static void
die_with_logs(void)
{
	for (int i = 0; i <= NPROC; i++)
		th_proc_free(CP[i], 1), CP[i] = NULL;
}

#define WAIT(cond, arg, t)                                                                                \
	do {                                                                                              \
		if (th_wait(L, (cond), (arg), (t)) != 0) {                                                \
			die_with_logs();                                                                  \
			ck_abort_msg("timed out after %gs waiting for %s(%s)", (double)(t), #cond, #arg); \
		}                                                                                         \
	} while (0)

/* The value of key as a new JSON object (NULL when absent); as root. */
static json_t *
get_json(const char *key, int64_t *mod_rev)
{
	struct etcd_result *r = etcd_sync_get(ROOT, key);
	json_t *j = NULL;

	TU_OK(r);
	if (r->nkvs == 1) {
		j = json_loadb(r->kvs[0].value, r->kvs[0].value_len, 0, NULL);
		if (mod_rev)
			*mod_rev = r->kvs[0].mod_revision;
	}
	etcd_result_free(r);
	return j;
}

static int
count(const char *dir)
{
	return (int)tu_count(ROOT, dir);
}

static int64_t
put_as(struct etcd_sync *s, const char *key, const char *val, int64_t lease)
{
	struct etcd_put_opts o = {.lease = lease};
	struct etcd_result *r = etcd_sync_put(s, key, val, strlen(val), &o);
	int64_t rev;

	TU_OK(r);
	rev = r->revision;
	etcd_result_free(r);
	return rev;
}

/* The honest node's subnet ("10.244.1.0/24"), "" while it has none. */
static void
subnet_of(const char *node, char *buf, size_t len)
{
	char key[128];
	json_t *j;

	snprintf(key, sizeof(key), P "/network/subnets/%s", node);
	j = get_json(key, NULL);
	snprintf(buf, len, "%s", j ? json_string_value(json_object_get(j, "subnet")) ?: "" : "");
	json_decref(j);
}

/* An address of subnet (a /24 or shorter, as the node controller hands
 * out): its network address plus 1 + n. */
static void
ip_in(const char *subnet, int n, char *buf, size_t len)
{
	unsigned a, b, c, d;

	ck_assert_int_eq(sscanf(subnet, "%u.%u.%u.%u/", &a, &b, &c, &d), 4);
	snprintf(buf, len, "%u.%u.%u.%u", a, b, c + (d + 1 + n) / 256, (d + 1 + n) % 256);
}

static void
status_json(char *buf, size_t len, const char *uid, const char *ip, const char *host, int ready, const char *extra)
{
	const char *t = ready ? "true" : "false";

	snprintf(
		buf, len,
		"{\"uid\":\"%s\",\"phase\":\"Running\",\"podIP\":\"%s\",\"hostIP\":\"%s\",%s"
		"\"conditions\":[{\"type\":\"Ready\",\"status\":\"%s\"}],"
		"\"containerStatuses\":[{\"name\":\"web\",\"ready\":%s,\"started\":true,\"restartCount\":0,"
		"\"image\":\"skiff/test-httpd:latest\",\"state\":{\"running\":{\"startedAt\":\"2026-12-06T12:00:00Z\"}}}]}",
		uid, ip, host, extra ? extra : "", ready ? "True" : "False", t);
}

/* What the agent does for its bound pods: a Running, ready status with an
 * IP of its subnet, written when the pod has none for its uid. */
static void
honest_statuses(struct honest *h)
{
	char dir[128], key[256], subnet[64], ip[32], val[1024];
	struct etcd_range_opts o = {.prefix = 1};
	struct etcd_result *r;

	subnet_of(h->name, subnet, sizeof(subnet));
	snprintf(dir, sizeof(dir), P "/bindings/%s/", h->name);
	if (!subnet[0] || !(r = etcd_sync_range(h->s, dir, &o)))
		return;
	for (size_t i = 0; r->err.code == ETCD_OK && i < r->nkvs; i++) {
		json_t *b = json_loadb(r->kvs[i].value, r->kvs[i].value_len, 0, NULL), *st;
		const char *uid = json_string_value(
			json_object_get(json_object_get(json_object_get(b, "pod"), "metadata"), "uid"));

		snprintf(key, sizeof(key), P "/podstatus/%s/%s", h->name, r->kvs[i].key + strlen(dir));
		st = get_json(key, NULL);
		if (uid && (!st || strcmp(json_string_value(json_object_get(st, "uid")) ?: "", uid) != 0)) {
			ip_in(subnet, ++h->pods, ip, sizeof(ip));
			status_json(val, sizeof(val), uid, ip, h->ip, 1, NULL);
			put_as(h->s, key, val, 0);
		}
		json_decref(st);
		json_decref(b);
	}
	etcd_result_free(r);
}

/* One heartbeat: keep the etcd lease, write a new renewTime. */
static void
honest_beat(struct honest *h)
{
	char key[128], val[512], ts[64];
	struct timespec now;
	struct tm tm;
	struct etcd_result *r = etcd_sync_lease_keepalive(h->s, h->lease);

	etcd_result_free(r);
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(key, sizeof(key), P "/nodeleases/%s", h->name);
	snprintf(val, sizeof(val),
	         "{\"metadata\":{\"name\":\"%s\"},\"spec\":{\"holderIdentity\":\"%s\",\"leaseDurationSeconds\":%d,"
	         "\"renewTime\":\"%s.%06ldZ\"}}",
	         h->name, h->name, LEASE_D, ts, now.tv_nsec / 1000);
	put_as(h->s, key, val, h->lease);
}

static void
beat_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct honest *h = w->data;

	(void)loop;
	(void)revents;
	honest_beat(h);
	honest_statuses(h);
}

/* Register h as its agent does: lease, heartbeat, P/nodestatus/NODE. */
static void
honest_start(struct honest *h, const char *labels)
{
	char key[128], val[1024], user[64];
	struct etcd_result *r;

	snprintf(user, sizeof(user), "skiff-node-%s", h->name);
	ck_assert_ptr_nonnull(h->s = th_roles_sync(E, user));
	r = etcd_sync_lease_grant(h->s, LEASE_D, 0);
	TU_OK(r);
	h->lease = r->lease_id;
	etcd_result_free(r);
	h->pods = 0;
	honest_beat(h);
	snprintf(key, sizeof(key), P "/nodestatus/%s", h->name);
	snprintf(val, sizeof(val),
	         "{\"metadata\":{\"name\":\"%s\",\"labels\":{%s}},\"status\":{\"capacity\":{\"cpu\":\"4\",\"memory\":"
	         "\"8Gi\",\"pods\":\"110\"},\"allocatable\":{\"cpu\":\"4\",\"memory\":\"8Gi\",\"pods\":\"110\"},"
	         "\"addresses\":[{\"type\":\"InternalIP\",\"address\":\"%s\"}],\"agentVersion\":\"test\","
	         "\"daemonEndpoints\":{}}}",
	         h->name, labels ? labels : "", h->ip);
	put_as(h->s, key, val, 0);
	ev_timer_init(&h->beat, beat_cb, LEASE_D / 4.0, LEASE_D / 4.0);
	h->beat.data = h;
	ev_timer_start(L, &h->beat);
}

/* The agent dies: no more heartbeats or keep-alives (the lease is left). */
static void
honest_die(struct honest *h)
{
	ev_timer_stop(L, &h->beat);
}

static void
honest_free(struct honest *h)
{
	if (h->s)
		honest_die(h);
	etcd_sync_free(h->s);
	h->s = NULL;
}

/* cond: the node controller made P/nodes/NODE and gave NODE a subnet. */
static int
registered(void *arg)
{
	const struct honest *h = arg;
	char key[128], subnet[64];
	json_t *n;

	snprintf(key, sizeof(key), P "/nodes/%s", h->name);
	n = get_json(key, NULL);
	json_decref(n);
	subnet_of(h->name, subnet, sizeof(subnet));
	return n && subnet[0];
}

/* ------------------------------------------------------------ the attacker */

/* Every lease of the cluster, as the attacker lists them (any user may). */
static size_t
evil_list_leases(int64_t *ids, size_t max)
{
	char pw[64], *resp = NULL;
	long st;
	json_t *j, *l;
	size_t i, n = 0;

	th_roles_password(EVIL, pw, sizeof(pw));
	st = th_etcd_post_as(E, 0, EVIL, pw, "/v3/lease/leases", "{}", &resp);
	ck_assert_msg(st == 200, "lease list as %s: HTTP %ld: %s", EVIL, st, resp ? resp : "");
	j = json_loads(resp, 0, NULL);
	free(resp);
	json_array_foreach(json_object_get(j, "leases"), i, l) {
		const char *id = json_string_value(json_object_get(l, "ID"));
		if (id && n < max)
			ids[n++] = strtoll(id, NULL, 10);
	}
	json_decref(j);
	return n;
}

static ev_timer KEEPER;

static void
keeper_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	int64_t ids[64];
	size_t n = evil_list_leases(ids, 64);

	(void)loop;
	(void)w;
	(void)revents;
	for (size_t i = 0; i < n; i++)
		etcd_result_free(etcd_sync_lease_keepalive(BAD, ids[i]));
}

/* The attacker keeps every lease of the cluster alive, once a second. */
static void
evil_keep_everything_alive(void)
{
	ev_timer_init(&KEEPER, keeper_cb, 0.0, 1.0);
	ev_timer_start(L, &KEEPER);
}

/* A request of the attacker that etcd's roles must refuse. */
static void
refused(struct etcd_result *r, const char *what)
{
	ck_assert_msg(r && r->err.code == ETCD_EPERM, "%s as %s: expected permission denied, got %s", what, EVIL,
	              r ? tu_err(&r->err) : "NULL");
	etcd_result_free(r);
}

static void
refused_put(const char *key, const char *val)
{
	refused(etcd_sync_put(BAD, key, val, strlen(val), NULL), key);
}

static void
refused_del(const char *key, int prefix)
{
	struct etcd_delete_opts o = {.prefix = prefix};

	refused(etcd_sync_delete(BAD, key, &o), key);
}

/* ------------------------------------------------------------ observations */

/* A Warning event with reason on object KIND/NAME (P/events/KIND/NAME/). */
struct ev_want {
	const char *kind, *name, *reason;
};

static int
has_warning(void *arg)
{
	const struct ev_want *w = arg;
	char dir[256];
	struct etcd_range_opts o = {.prefix = 1};
	struct etcd_result *r;
	int found = 0;

	snprintf(dir, sizeof(dir), P "/events/%s/%s/", w->kind, w->name);
	r = etcd_sync_range(ROOT, dir, &o);
	TU_OK(r);
	for (size_t i = 0; i < r->nkvs && !found; i++) {
		json_t *j = json_loadb(r->kvs[i].value, r->kvs[i].value_len, 0, NULL);
		found = j && strcmp(json_string_value(json_object_get(j, "type")) ?: "", "Warning") == 0 &&
		        strcmp(json_string_value(json_object_get(j, "reason")) ?: "", w->reason) == 0;
		json_decref(j);
	}
	etcd_result_free(r);
	return found;
}

/* The node a pod is bound to, "" when unbound. */
static void
bound_to(const char *pod, char *node, size_t len)
{
	struct etcd_range_opts o = {.prefix = 1, .keys_only = 1};
	struct etcd_result *r = etcd_sync_range(ROOT, P "/bindings/", &o);
	size_t dl = strlen(P "/bindings/");

	TU_OK(r);
	node[0] = '\0';
	for (size_t i = 0; i < r->nkvs; i++) {
		const char *k = r->kvs[i].key + dl, *slash = strchr(k, '/');
		if (slash && strcmp(slash + 1, pod) == 0)
			snprintf(node, len, "%.*s", (int)(slash - k), k);
	}
	etcd_result_free(r);
}

struct bound_want {
	const char *pod, *node;
};

static int
is_bound(void *arg)
{
	const struct bound_want *b = arg;
	char node[64];

	bound_to(b->pod, node, sizeof(node));
	return strcmp(node, b->node) == 0;
}

/* P/endpoints/NAME as "pod@ip@node,…" sorted by pod name (the controller
 * orders by IP, which depends on which pod the node started first). */
struct ep_want {
	const char *name;
	char want[512], got[512];
};

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
endpoints_are(void *arg)
{
	struct ep_want *w = arg;
	char key[128], item[16][128], *sorted[16];
	json_t *j, *a;
	size_t i, n = 0;

	snprintf(key, sizeof(key), P "/endpoints/%s", w->name);
	w->got[0] = '\0';
	j = get_json(key, NULL);
	json_array_foreach(json_object_get(j, "addresses"), i, a) {
		if (n == 16)
			break;
		snprintf(item[n], sizeof(item[n]), "%s@%s@%s", json_string_value(json_object_get(a, "pod")) ?: "?",
		         json_string_value(json_object_get(a, "ip")) ?: "?",
		         json_string_value(json_object_get(a, "node")) ?: "?");
		sorted[n] = item[n];
		n++;
	}
	json_decref(j);
	qsort(sorted, n, sizeof(*sorted), cmp_str);
	for (i = 0; i < n; i++)
		snprintf(w->got + strlen(w->got), sizeof(w->got) - strlen(w->got), "%s%s", i ? "," : "", sorted[i]);
	return strcmp(w->got, w->want) == 0;
}

static void
wait_endpoints(struct ep_want *w, double t)
{
	if (th_wait(L, endpoints_are, w, t) != 0) {
		die_with_logs();
		ck_abort_msg("endpoints %s: want '%s', got '%s'", w->name, w->want, w->got);
	}
}

/* The honest status of pod (its IP) as m1 wrote it. */
static void
pod_ip(const struct honest *h, const char *pod, char *ip, size_t len)
{
	char key[128];
	json_t *j;

	snprintf(key, sizeof(key), P "/podstatus/%s/%s", h->name, pod);
	j = get_json(key, NULL);
	ck_assert_msg(j != NULL, "no status for %s on %s", pod, h->name);
	snprintf(ip, len, "%s", json_string_value(json_object_get(j, "podIP")) ?: "");
	json_decref(j);
}

/* cond: pod has an honest status on h. */
struct st_want {
	const struct honest *h;
	const char *pod;
};

static int
has_status(void *arg)
{
	const struct st_want *w = arg;
	char key[128];
	json_t *j;

	snprintf(key, sizeof(key), P "/podstatus/%s/%s", w->h->name, w->pod);
	j = get_json(key, NULL);
	json_decref(j);
	return j != NULL;
}

/* A pod labelled app=web (as an admin); its uid (create revision). */
static int64_t
put_pod(const char *name)
{
	char key[128], val[512];

	snprintf(key, sizeof(key), P "/pods/%s", name);
	snprintf(
		val, sizeof(val),
		"{\"metadata\":{\"name\":\"%s\",\"labels\":{\"app\":\"web\"}},\"spec\":{\"containers\":[{\"name\":"
		"\"web\",\"image\":\"skiff/test-httpd:latest\",\"ports\":[{\"containerPort\":8080,\"name\":\"http\"}]}]}}",
		name);
	return put_as(ROOT, key, val, 0);
}

static void
put_service(void)
{
	put_as(ROOT, P "/services/web",
	       "{\"metadata\":{\"name\":\"web\"},\"spec\":{\"selector\":{\"app\":\"web\"},"
	       "\"ports\":[{\"name\":\"http\",\"port\":80,\"targetPort\":\"http\"}]}}",
	       0);
}

/* Pod name runs on h with an honest status: "name@ip@node" into out. */
static void
running_on(struct honest *h, const char *name, char *out, size_t len)
{
	struct bound_want b = {name, h->name};
	struct st_want s = {h, name};
	char ip[32];

	WAIT(is_bound, &b, 15);
	WAIT(has_status, &s, 10);
	pod_ip(h, name, ip, sizeof(ip));
	snprintf(out, len, "%s@%s@%s", name, ip, h->name);
}

/* Service web selecting web-a and web-b, both running on m1; the
 * endpoints list them. Fills a and b with "pod@ip@node". */
static void
web_on_m1(char *a, char *b, size_t len, struct ep_want *w)
{
	WAIT(registered, &M1, 15);
	put_service();
	put_pod("web-a");
	put_pod("web-b");
	running_on(&M1, "web-a", a, len);
	running_on(&M1, "web-b", b, len);
	snprintf(w->want, sizeof(w->want), "%s,%s", a, b);
	wait_endpoints(w, 10);
}

/* ------------------------------------------------------------ fixtures */

static void
start_cp(int i, int slot)
{
	struct th_roles_flags f;
	char ep[512], pfx[64], health[64], *argv[16], *env[] = {f.env, NULL};
	char path[128];
	int n = 0;

	snprintf(path, sizeof(path), "build/bin/%s", PROG[i]);
	th_roles_flags(E, TH_ROLES_CONTROL_PLANE, path, &f);
	snprintf(ep, sizeof(ep), "--etcd-endpoints=%s", th_etcd_endpoints(E));
	snprintf(pfx, sizeof(pfx), "--prefix=%s", P);
	argv[n++] = (char *)PROG[i];
	argv[n++] = ep;
	argv[n++] = pfx;
	for (int k = 0; f.args[k]; k++)
		argv[n++] = f.args[k];
	argv[n++] = "--log-level=debug";
	if (slot == i) {
		HEALTH[i] = tu_closed_port();
		snprintf(health, sizeof(health), "--health-addr=127.0.0.1:%d", HEALTH[i]);
		argv[n++] = health;
	}
	if (i == NC) {
		argv[n++] = "--eviction-timeout=2s";
		argv[n++] = "--eviction-rate=10";
	}
	argv[n] = NULL;
	ck_assert_ptr_nonnull(CP[slot] = th_proc_start(path, argv, env));
}

static int
log_has(void *arg)
{
	const int *i = arg;

	return th_proc_log_has(CP[*i], "became leader");
}

static void
setup_roles(void)
{
	struct th_etcd_opts o = {.root_password = ROOT_PW};
	struct etcd_config cfg;
	struct etcd_error err = {0};

	ck_assert_ptr_nonnull(E = th_etcd_start(1, &o));
	L = ev_loop_new(EVFLAG_AUTO);
	ck_assert_int_eq(th_roles_control_plane(E, P), 0);
	ck_assert_int_eq(th_roles_node(E, P, "m1"), 0);
	ck_assert_int_eq(th_roles_node(E, P, "m2"), 0);
	ck_assert_int_eq(th_roles_node(E, P, "evil"), 0);
	tu_config(E, &cfg);
	cfg.user = "root";
	cfg.password = ROOT_PW;
	ck_assert_msg((ROOT = etcd_sync_new(&cfg, &err)) != NULL, "%s", tu_err(&err));
	ck_assert_ptr_nonnull(BAD = th_roles_sync(E, EVIL));
	put_as(ROOT, P "/network/config",
	       "{\"podCIDR\":\"10.244.0.0/16\",\"subnetLength\":24,\"serviceCIDR\":\"10.0.0.0/24\"}", 0);
	honest_start(&M1, NULL);
}

static void
setup_cluster(void)
{
	setup_roles();
	for (int i = 0; i < NPROC; i++)
		start_cp(i, i);
	for (int i = 0; i < NPROC; i++)
		WAIT(log_has, &i, 15);
}

static void
teardown(void)
{
	for (int i = 0; i <= NPROC; i++)
		th_proc_free(CP[i], 0), CP[i] = NULL;
	if (ev_is_active(&KEEPER))
		ev_timer_stop(L, &KEEPER);
	honest_free(&M1);
	honest_free(&M2);
	etcd_sync_free(BAD);
	etcd_sync_free(ROOT);
	ev_loop_destroy(L);
	th_etcd_free(E);
}

/* ------------------------------------------------------------ attacks: roles */

START_TEST(forged_events)
{
	char key[128];

	refused_put(P "/events/pods/web-a/0123456789abcdef",
	            "{\"type\":\"Normal\",\"reason\":\"Started\",\"message\":\"\\u001b]0;owned\\u0007\"}");
	refused_put(P "/events/nodes/m1/0123456789abcdef", "{\"type\":\"Normal\",\"reason\":\"NodeReady\"}");
	refused_del(P "/events/", 1);
	refused_put(P "/nodeevents/m1/pods/web-a/0123456789abcdef", "{\"type\":\"Warning\",\"reason\":\"Forged\"}");
	refused_del(P "/nodeevents/m1/", 1);
	refused_del(P "/nodeevents/", 1);
	/* The control plane's and m1's own events stay. */
	put_as(ROOT, P "/events/nodes/m1/00000000000000aa", "{\"type\":\"Normal\",\"reason\":\"Registered\"}", 0);
	put_as(M1.s, P "/nodeevents/m1/nodes/m1/00000000000000bb", "{\"type\":\"Normal\",\"reason\":\"Starting\"}", 0);
	refused_del(P "/events/nodes/m1/00000000000000aa", 0);
	refused_del(P "/nodeevents/m1/nodes/m1/00000000000000bb", 0);
	ck_assert_int_eq(count(P "/events/"), 1);
	ck_assert_int_eq(count(P "/nodeevents/m1/"), 1);
	/* Its own sub-prefix is where the attacker may write. */
	snprintf(key, sizeof(key), P "/nodeevents/evil/nodes/evil/00000000000000cc");
	put_as(BAD, key, "{\"type\":\"Normal\",\"reason\":\"Starting\"}", 0);
}
END_TEST

START_TEST(status_for_other_node)
{
	char val[1024];

	status_json(val, sizeof(val), "7", "127.0.0.1", "127.0.0.1", 1, NULL);
	refused_put(P "/podstatus/m1/web-a", val);
	refused_put(P "/podstatus/m10/web-a", val);
	refused_del(P "/podstatus/m1/", 1);
	refused(etcd_sync_range(BAD, P "/bindings/m1/", &(struct etcd_range_opts){.prefix = 1}), "read m1's bindings");
	refused(etcd_sync_range(BAD, P "/pods/", &(struct etcd_range_opts){.prefix = 1}), "read the pods");
	/* Its own status prefix is writable (what the other cases abuse). */
	put_as(BAD, P "/podstatus/evil/web-a", val, 0);
}
END_TEST

/* A node reports its own proxy only: claiming m1 caught up (or behind)
 * is refused; lagging on purpose in its own key only holds other nodes'
 * stops up to their grace period (agent_drain.c; docs/security.md). */
START_TEST(proxy_status_for_other_node)
{
	const char *val = "{\"node\":\"m1\",\"endpointsRevision\":999999}";

	refused_put(P "/proxystatus/m1", val);
	refused_put(P "/proxystatus/m10", val);
	refused_del(P "/proxystatus/m1", 0);
	refused_del(P "/proxystatus/", 1);
	put_as(BAD, P "/proxystatus/evil", "{\"node\":\"evil\",\"endpointsRevision\":1}", 0);
}
END_TEST

/* The write half of self_promotion_labels: P/nodes/ is the admins'. */
START_TEST(self_promotion_labels_refused)
{
	const char *promo = "{\"metadata\":{\"name\":\"evil\",\"labels\":{\"tier\":\"pci\"}},"
			    "\"status\":{\"capacity\":{\"cpu\":\"1000\",\"memory\":\"64Ti\",\"pods\":\"110\"}}}";

	refused_put(P "/nodes/evil", promo);
	refused_put(P "/nodes/m1", promo);
	refused_put(P "/nodes/evil0", promo);
	refused_del(P "/nodes/", 1);
	refused_put(P "/nodestatus/m1", promo);
	refused_put(P "/nodeleases/m1", "{\"metadata\":{\"name\":\"m1\"}}");
}
END_TEST

/* The write half of route_hijack_slash32: subnets are the control plane's. */
START_TEST(route_hijack_slash32_refused)
{
	refused_put(P "/network/subnets/evil", "{\"subnet\":\"10.244.1.5/32\",\"hostIP\":\"192.168.50.66\"}");
	refused_put(P "/network/subnets/m1", "{\"subnet\":\"10.244.1.0/24\",\"hostIP\":\"192.168.50.66\"}");
	refused_put(P "/network/subnets/a", "{\"subnet\":\"10.244.1.0/25\",\"hostIP\":\"192.168.50.66\"}");
	refused_put(P "/network/config", "{\"podCIDR\":\"10.0.0.0/8\",\"subnetLength\":32}");
	refused_del(P "/network/", 1);
}
END_TEST

/* The revoke half of keep_dead_node_alive: a lease with m1's key on it. */
START_TEST(keep_dead_node_alive_revoke_refused)
{
	struct etcd_result *r;

	refused(etcd_sync_lease_revoke(BAD, M1.lease), "revoke m1's lease");
	r = etcd_sync_get(ROOT, P "/nodeleases/m1");
	TU_OK(r);
	ck_assert_int_eq((int)r->nkvs, 1);
	ck_assert(r->kvs[0].lease == M1.lease);
	etcd_result_free(r);
}
END_TEST

/* ------------------------------------------------------------ attacks: cluster */

/* The attacker's status for pod on its own prefix, naming another node's pod. */
static void
evil_status(const char *pod, const char *uid, const char *ip)
{
	char key[128], val[1024];

	snprintf(key, sizeof(key), P "/podstatus/evil/%s", pod);
	status_json(val, sizeof(val), uid, ip, "192.168.50.66", 1, NULL);
	put_as(BAD, key, val, 0);
}

/* The marker: web-c is added on m1 and the endpoints list it after a, b. */
static void
marker_web_c(struct ep_want *w, const char *a, const char *b)
{
	char c[128];

	put_pod("web-c");
	running_on(&M1, "web-c", c, sizeof(c));
	snprintf(w->want, sizeof(w->want), "%s,%s,%s", a, b, c);
	wait_endpoints(w, 10);
}

START_TEST(service_hijack_wrong_uid)
{
	struct ep_want w = {.name = "web"};
	char a[128], b[128];

	web_on_m1(a, b, sizeof(a), &w);
	/* A status for web-a from another node, any uid: web-a must stay.
	 * (No Warning is asked for: a status of another incarnation is what
	 * a node that has not caught up yet leaves, not a sign of attack.) */
	evil_status("web-a", "1", "10.244.99.9");
	marker_web_c(&w, a, b);
}
END_TEST

/* The pod key's create revision: its uid, easy to guess for anyone. */
static void
uid_of(const char *pod, char *uid, size_t len)
{
	char key[128];
	struct etcd_result *r;

	snprintf(key, sizeof(key), P "/pods/%s", pod);
	r = etcd_sync_get(ROOT, key);
	TU_OK(r);
	ck_assert_int_eq((int)r->nkvs, 1);
	snprintf(uid, len, "%" PRId64, r->kvs[0].create_revision);
	etcd_result_free(r);
}

START_TEST(service_hijack_right_uid_loopback)
{
	struct ep_want w = {.name = "web"};
	struct ev_want ev = {"pods", "web-a", "UntrustedStatus"};
	char a[128], b[128], uid[32];

	web_on_m1(a, b, sizeof(a), &w);
	/* The right uids, and the node's own loopback or the cloud's
	 * metadata server as the pods' addresses. */
	uid_of("web-a", uid, sizeof(uid));
	evil_status("web-a", uid, "127.0.0.1");
	uid_of("web-b", uid, sizeof(uid));
	evil_status("web-b", uid, "169.254.169.254");
	marker_web_c(&w, a, b);
	ck_assert_msg(!strstr(w.got, "127.0.0.1") && !strstr(w.got, "169.254."), "endpoints: %s", w.got);
	WAIT(has_warning, &ev, 10);
}
END_TEST

/* Replication controller "web" of 2 running on m1, one of them not ready:
 * its status counts 1 ready. The attacker says the ready one is not; m1
 * then makes the other ready: readyReplicas must become 2, no pod
 * replaced. */
static int READY_GOT = -1;

static int
ready_replicas_is(void *arg)
{
	const int *want = arg;
	json_t *j = get_json(P "/controllerstatus/web", NULL);

	READY_GOT = j ? (int)json_integer_value(json_object_get(j, "readyReplicas")) : -1;
	json_decref(j);
	return READY_GOT == *want;
}

static void
wait_ready_replicas(int want, double t)
{
	if (th_wait(L, ready_replicas_is, &want, t) != 0) {
		die_with_logs();
		ck_abort_msg("controller web: want readyReplicas %d, got %d", want, READY_GOT);
	}
}

/* The names of the pods of controller web (2 expected), as root. */
static void
rc_pods(char names[2][64])
{
	struct etcd_range_opts o = {.prefix = 1, .keys_only = 1};
	struct etcd_result *r = etcd_sync_range(ROOT, P "/pods/", &o);

	TU_OK(r);
	ck_assert_msg(r->nkvs == 2, "%zu pods, not 2", r->nkvs);
	for (size_t i = 0; i < 2; i++)
		snprintf(names[i], 64, "%s", r->kvs[i].key + strlen(P "/pods/"));
	etcd_result_free(r);
}

/* m1 rewrites its status of pod with ready as given. */
static void
honest_ready(struct honest *h, const char *pod, int ready)
{
	char key[128], val[1024], ip[32];
	json_t *st;

	snprintf(key, sizeof(key), P "/podstatus/%s/%s", h->name, pod);
	ck_assert_ptr_nonnull(st = get_json(key, NULL));
	pod_ip(h, pod, ip, sizeof(ip));
	status_json(val, sizeof(val), json_string_value(json_object_get(st, "uid")), ip, h->ip, ready, NULL);
	json_decref(st);
	put_as(h->s, key, val, 0);
}

START_TEST(rc_index_forged_status)
{
	char pods[2][64], again[2][64], val[1024], uid[32], x[128], key[128];
	struct ev_want ev = {"pods", NULL, "UntrustedStatus"};

	WAIT(registered, &M1, 15);
	put_service(); /* so that the endpoints controller judges the statuses too */
	put_as(ROOT, P "/controllers/web",
	       "{\"metadata\":{\"name\":\"web\"},\"spec\":{\"replicas\":2,\"selector\":{\"app\":\"web\"},\"template\":"
	       "{\"metadata\":{\"labels\":{\"app\":\"web\"}},\"spec\":{\"containers\":[{\"name\":\"web\",\"image\":"
	       "\"skiff/test-httpd:latest\"}]}}}}",
	       0);
	wait_ready_replicas(2, 20);
	rc_pods(pods);
	running_on(&M1, pods[0], x, sizeof(x));
	running_on(&M1, pods[1], x, sizeof(x));
	honest_ready(&M1, pods[1], 0);
	wait_ready_replicas(1, 10);
	/* The forged status: pods[0], right uid, not ready, from node evil. */
	uid_of(pods[0], uid, sizeof(uid));
	snprintf(key, sizeof(key), P "/podstatus/evil/%s", pods[0]);
	status_json(val, sizeof(val), uid, "10.244.99.9", "192.168.50.66", 0, NULL);
	put_as(BAD, key, val, 0);
	/* The marker: m1 makes pods[1] ready again; both count. */
	honest_ready(&M1, pods[1], 1);
	wait_ready_replicas(2, 10);
	rc_pods(again); /* still the same two: nothing replaced */
	ck_assert_str_eq(again[0], pods[0]);
	ck_assert_str_eq(again[1], pods[1]);
	ck_assert_int_eq(count(P "/bindings/m1/"), 2);
	ev.name = pods[0];
	WAIT(has_warning, &ev, 10);
}
END_TEST

/* Version-1 keys written by an admin for fake nodes: a /32 inside m1's
 * subnet and an exact copy of it, alphabetically first. Neither is
 * honoured; the node controller warns. */
START_TEST(route_hijack_slash32)
{
	struct ep_want w = {.name = "web"};
	struct ev_want e32 = {"nodes", "fake32", "InvalidSubnet"}, dup = {"nodes", "aaa", "SubnetConflict"};
	char a[128], b[128], s1[64], s2[64], val[256], ip[32];
	int64_t rev0 = 0, rev1 = 0;
	json_t *j;

	web_on_m1(a, b, sizeof(a), &w);
	subnet_of("m1", s1, sizeof(s1));
	json_decref(get_json(P "/network/subnets/m1", &rev0));
	pod_ip(&M1, "web-a", ip, sizeof(ip));
	snprintf(val, sizeof(val), "{\"subnet\":\"%s/32\",\"hostIP\":\"192.168.50.77\"}", ip);
	put_as(ROOT, P "/network/subnets/fake32", val, 0);
	snprintf(val, sizeof(val), "{\"subnet\":\"%s\",\"hostIP\":\"192.168.50.78\"}", s1);
	put_as(ROOT, P "/network/subnets/aaa", val, 0);
	WAIT(has_warning, &e32, 10);
	WAIT(has_warning, &dup, 10);
	/* The marker: web-c (on m1, the only node) joins web-a and web-b. */
	marker_web_c(&w, a, b);
	/* m2 registers and gets a subnet of its own; m1 keeps its. */
	honest_start(&M2, NULL);
	WAIT(registered, &M2, 15);
	subnet_of("m2", s2, sizeof(s2));
	ck_assert_str_ne(s2, s1);
	ck_assert_ptr_nonnull(j = get_json(P "/network/subnets/m1", &rev1));
	json_decref(j);
	ck_assert_int_eq(rev1, rev0);
}
END_TEST

START_TEST(route_hijack_gateway)
{
	struct ev_want ev = {"nodes", "evil", "InvalidHostIP"};
	const char *fmt = "{\"metadata\":{\"name\":\"evil\"},\"status\":{\"capacity\":{\"cpu\":\"4\",\"pods\":\"110\"},"
			  "\"addresses\":[{\"type\":\"InternalIP\",\"address\":\"%s\"}]}}";
	char val[512];

	snprintf(val, sizeof(val), fmt, "127.0.0.1");
	put_as(BAD, P "/nodestatus/evil", val, 0);
	WAIT(has_warning, &ev, 10);
	snprintf(val, sizeof(val), fmt, "169.254.169.254");
	put_as(BAD, P "/nodestatus/evil", val, 0);
	/* The marker: m2 registers after that and gets its subnet. */
	honest_start(&M2, NULL);
	WAIT(registered, &M2, 15);
	ck_assert_int_eq(count(P "/network/subnets/evil"), 0);
	WAIT(registered, &M1, 5);
	ck_assert_int_eq(count(P "/network/subnets/"), 2);
}
END_TEST

START_TEST(self_promotion_labels)
{
	struct ev_want ev = {"nodes", "evil", "RestrictedLabel"};
	json_t *n, *labels;

	put_as(BAD, P "/nodestatus/evil",
	       "{\"metadata\":{\"name\":\"evil\",\"labels\":{\"node-restriction.skiff.io/tier\":\"pci\",\"zone\":\"z9\"}},"
	       "\"status\":{\"capacity\":{\"cpu\":\"1000\",\"memory\":\"64Ti\",\"pods\":\"110\"},"
	       "\"addresses\":[{\"type\":\"InternalIP\",\"address\":\"192.168.50.66\"}]}}",
	       0);
	WAIT(has_warning, &ev, 10);
	ck_assert_msg((n = get_json(P "/nodes/evil", NULL)) != NULL, "P/nodes/evil was not created");
	labels = json_object_get(json_object_get(n, "metadata"), "labels");
	ck_assert_str_eq(json_string_value(json_object_get(labels, "zone")) ?: "", "z9");
	ck_assert_ptr_null(json_object_get(labels, "node-restriction.skiff.io/tier"));
	ck_assert_ptr_null(json_object_get(n, "status"));
	json_decref(n);
}
END_TEST

/* m1 dies with two pods; the attacker keeps every lease alive. m1 is still
 * evicted on time and its pods go to m2. */
START_TEST(keep_dead_node_alive)
{
	struct bound_want a = {"web-a", "m1"}, b = {"web-b", "m1"};
	struct ev_want ev = {"nodes", "m1", "NodeNotReady"};

	WAIT(registered, &M1, 15);
	put_pod("web-a");
	put_pod("web-b");
	WAIT(is_bound, &a, 15);
	WAIT(is_bound, &b, 15);
	honest_start(&M2, NULL);
	WAIT(registered, &M2, 15);
	honest_die(&M1);
	evil_keep_everything_alive();
	/* Not Ready after D + 1 s, evicted 2 s later; generous slack. */
	WAIT(has_warning, &ev, LEASE_D + 6);
	a.node = b.node = "m2";
	WAIT(is_bound, &a, 15);
	WAIT(is_bound, &b, 15);
	ck_assert_int_eq(count(P "/bindings/m1/"), 0);
	/* The attack did hold the lease: m1's key is still there. */
	ck_assert_int_eq(count(P "/nodeleases/m1"), 1);
}
END_TEST

/* The endpoints controller's leader is SIGKILLed; the attacker keeps its
 * lease alive; the standby takes over within the TTL plus slack. */
#define EPC_ELECTION P "/leaders/endpoints-controller/"

static int
candidates(void *arg)
{
	return count(EPC_ELECTION) >= *(int *)arg;
}

static int
standby_leads(void *arg)
{
	(void)arg;
	return th_proc_log_has(CP[NPROC], "became leader");
}

/* The lease of the oldest candidate key: the leader's. */
static int64_t
leader_lease(void)
{
	struct etcd_range_opts o = {.prefix = 1};
	struct etcd_result *r = etcd_sync_range(ROOT, EPC_ELECTION, &o);
	int64_t lease = 0, oldest = INT64_MAX;

	TU_OK(r);
	for (size_t i = 0; i < r->nkvs; i++)
		if (r->kvs[i].create_revision < oldest) {
			oldest = r->kvs[i].create_revision;
			lease = r->kvs[i].lease;
		}
	etcd_result_free(r);
	return lease;
}

START_TEST(keep_dead_leader_alive)
{
	int two = 2;
	int64_t lease;
	struct etcd_result *r;

	start_cp(EPC, NPROC);
	WAIT(candidates, &two, 10);
	lease = leader_lease();
	ck_assert(lease != 0);
	th_proc_kill(CP[EPC]);
	evil_keep_everything_alive();
	WAIT(standby_leads, NULL, ELECT_TTL + 1 + 5);
	/* The attack did hold the lease all along. */
	r = etcd_sync_lease_ttl(ROOT, lease, 0);
	TU_OK(r);
	ck_assert_msg(r->ttl > 0, "the old leader's lease expired: the attack did not happen");
	etcd_result_free(r);
}
END_TEST

/* Resident set of a process in kB (VmRSS), -1 if unknown. */
static long
rss_kb(pid_t pid)
{
	struct proc_mem m;

	return proc_mem_read(pid, &m) == 0 ? m.rss_kb : -1;
}

/* The leader keys (names) of the control plane, one string. */
static void
leaders(char *buf, size_t len)
{
	struct etcd_range_opts o = {.prefix = 1, .keys_only = 1};
	struct etcd_result *r = etcd_sync_range(ROOT, P "/leaders/", &o);

	TU_OK(r);
	buf[0] = '\0';
	for (size_t i = 0; i < r->nkvs; i++)
		snprintf(buf + strlen(buf), len - strlen(buf), "%s ", r->kvs[i].key);
	etcd_result_free(r);
}

/* A read as m1's own node user that etcd's roles must refuse. */
static void
m1_denied(const char *key, int prefix)
{
	struct etcd_range_opts o = {.prefix = prefix};
	struct etcd_result *r = etcd_sync_range(M1.s, key, &o);

	ck_assert_msg(r && r->err.code == ETCD_EPERM, "read %s as skiff-node-m1: expected permission denied, got %s",
	              key, r ? tu_err(&r->err) : "NULL");
	etcd_result_free(r);
}

static int
copied_to_m2(void *arg)
{
	json_t *j = get_json(P "/nodeconfig/m2/secrets/db", NULL);
	int ok = j && json_is_object(json_object_get(j, "data"));

	(void)arg;
	json_decref(j);
	return ok;
}

/* A Secret used only by a pod the scheduler binds to m2: the config
 * controller copies it to m2's P/nodeconfig/m2/, which m2's user reads;
 * m1's user (and the attacker) read neither the original nor m2's
 * copies. */
START_TEST(secret_of_other_node)
{
	struct bound_want b = {"db-client", "m2"};

	honest_start(&M2, "\"zone\":\"b\"");
	WAIT(registered, &M2, 15);
	put_as(ROOT, P "/secrets/db", "{\"metadata\":{\"name\":\"db\"},\"data\":{\"pw\":\"aHVudGVyMg==\"}}", 0);
	put_as(ROOT, P "/pods/db-client",
	       "{\"metadata\":{\"name\":\"db-client\"},\"spec\":{\"nodeSelector\":{\"zone\":\"b\"},"
	       "\"containers\":[{\"name\":\"c\",\"image\":\"skiff/test-httpd:latest\",\"env\":[{\"name\":\"PW\","
	       "\"valueFrom\":{\"secretKeyRef\":{\"name\":\"db\",\"key\":\"pw\"}}}]}]}}",
	       0);
	WAIT(is_bound, &b, 15);
	WAIT(copied_to_m2, NULL, 10);
	/* m2 reads its copy; m1 does not see it among its own. */
	ck_assert_int_eq(tu_count(M2.s, P "/nodeconfig/m2/"), 1);
	ck_assert_int_eq(tu_count(M1.s, P "/nodeconfig/m1/"), 0);
	m1_denied(P "/secrets/db", 0);
	m1_denied(P "/secrets/", 1);
	m1_denied(P "/nodeconfig/m2/secrets/db", 0);
	m1_denied(P "/nodeconfig/m2/", 1);
	m1_denied(P "/nodeconfig/", 1);
	m1_denied(P "/nodeconfig/m", 1); /* a prefix of m1's own grant that also covers m2 */
	m1_denied(P "/configmaps/", 1);
	refused(etcd_sync_range(BAD, P "/nodeconfig/m2/", &(struct etcd_range_opts){.prefix = 1}), "read m2's copies");
	refused(etcd_sync_range(BAD, P "/secrets/db", NULL), "read the secret");
	/* Nor may a node forge a copy for itself: the copies are read-only to it. */
	refused_put(P "/nodeconfig/evil/secrets/db", "{\"metadata\":{\"name\":\"db\"}}");
}
END_TEST

#define HUGE_N 20
START_TEST(huge_values)
{
	struct ep_want w = {.name = "web"};
	char a[128], b[128], key[128], before[1024], after[1024], *val = malloc(HUGE_BYTES + 1);
	long rss0[NPROC];

	ck_assert_ptr_nonnull(val);
	web_on_m1(a, b, sizeof(a), &w);
	for (int i = 0; i < NPROC; i++)
		ck_assert_int_gt(rss0[i] = rss_kb(th_proc_pid(CP[i])), 0);
	leaders(before, sizeof(before));
	/* A status that decodes, apart from its size. */
	memset(val, 'x', HUGE_BYTES);
	memcpy(val, "{\"uid\":\"1\",\"phase\":\"Running\",\"message\":\"", 40);
	memcpy(val + HUGE_BYTES - 2, "\"}", 2);
	val[HUGE_BYTES] = '\0';
	for (int i = 0; i < HUGE_N; i++) {
		struct etcd_result *r;

		snprintf(key, sizeof(key), i % 4 ? P "/podstatus/evil/big%02d" : P "/nodeevents/evil/pods/big/%02d", i);
		r = etcd_sync_put(BAD, key, val, HUGE_BYTES, NULL);
		ck_assert_msg(r && (r->err.code == ETCD_OK || strstr(r->err.msg, "too large")), "%s: %s", key,
		              r ? tu_err(&r->err) : "NULL");
		etcd_result_free(r);
		ev_run(L, EVRUN_NOWAIT); /* m1's heartbeat goes on */
	}
	put_as(BAD, P "/nodestatus/evil", val, 0);
	free(val);
	marker_web_c(&w, a, b);
	leaders(after, sizeof(after));
	ck_assert_str_eq(after, before);
	for (int i = 0; i < NPROC; i++) {
		long grew = rss_kb(th_proc_pid(CP[i])) - rss0[i];
		ck_assert_msg(grew < 16 * 1024, "%s grew by %ld kB for %d values of %d bytes", PROG[i], grew, HUGE_N,
		              HUGE_BYTES);
		ck_assert_msg(tu_healthz(HEALTH[i]) == 200, "%s: /healthz is not 200", PROG[i]);
		ck_assert(th_proc_running(CP[i]));
	}
}
END_TEST

/* The test PKI of logs_with_attacker_cert, made once before the roles
 * case starts etcd (openssl takes seconds, longer than the honest m1's
 * lease would wait without its loop). */
static char CERTS[] = "/tmp/skiff-hostile-certs-XXXXXX";

static void
certs_setup(void)
{
	if (!mkdtemp(CERTS) || th_certs_make(CERTS) < 0)
		fprintf(stderr, "check_hostile_node: cannot make the test certificates in %s\n", CERTS);
}

static void
certs_teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", CERTS);
	if (system(cmd) != 0)
		fprintf(stderr, "check_hostile_node: could not remove %s\n", CERTS);
}

/* The attacker's certificate (its own CA, not the admin CA) against a real
 * agent's log server: a hollow agent (no Docker) as node m2, with its own
 * node user, serving on 127.0.0.1. The admin's certificate gets 200 (the
 * marker); the attacker's gets 403 and no certificate 401, and neither a
 * byte of the log stream. */
START_TEST(logs_with_attacker_cert)
{
	struct th_roles_flags f;
	char *dir = CERTS, cert[128], key[128], ca[128], url[256], *body, *argv[24];
	char ep[512], pfx[64], *env[] = {f.env, NULL}, *log, *first;
	const char *path = "build/bin/skiff-agent";
	struct th_proc *agent;
	json_t *st;
	long port = 0;
	int n = 0;

	ck_assert_msg(access(th_certs_file(ca, sizeof(ca), dir, "evil.pem"), R_OK) == 0, "no certificates in %s", dir);
	th_roles_flags(E, "skiff-node-m2", path, &f);
	snprintf(ep, sizeof(ep), "--etcd-endpoints=%s", th_etcd_endpoints(E));
	snprintf(pfx, sizeof(pfx), "--prefix=%s", P);
	argv[n++] = "skiff-agent", argv[n++] = ep, argv[n++] = pfx;
	for (int k = 0; f.args[k]; k++)
		argv[n++] = f.args[k];
	argv[n++] = "--node-name=m2", argv[n++] = "--node-ip=127.0.0.1", argv[n++] = "--runtime=hollow";
	argv[n++] = "--serve-addr=127.0.0.1:0";
	argv[n++] = "--serve-cert", argv[n++] = (char *)th_certs_file(cert, sizeof(cert), dir, "server.pem");
	argv[n++] = "--serve-key", argv[n++] = (char *)th_certs_file(key, sizeof(key), dir, "server.key");
	argv[n++] = "--client-ca", argv[n++] = (char *)th_certs_file(ca, sizeof(ca), dir, "ca.pem");
	argv[n] = NULL;
	ck_assert_ptr_nonnull(agent = th_proc_start(path, argv, env));
	put_as(ROOT, P "/bindings/m2/web",
	       "{\"node\":\"m2\",\"pod\":{\"metadata\":{\"name\":\"web\",\"uid\":\"77\"},\"spec\":"
	       "{\"containers\":[{\"name\":\"web\",\"image\":\"skiff/test-httpd:latest\"}]}}}",
	       0);
	for (int i = 0; i < 300 && port <= 0 && th_proc_running(agent); i++) {
		st = get_json(P "/nodestatus/m2", NULL);
		port = (long)json_integer_value(json_object_get(
			json_object_get(json_object_get(json_object_get(st, "status"), "daemonEndpoints"),
		                        "kubeletEndpoint"),
			"Port"));
		json_decref(st);
		if (port <= 0)
			ev_run(L, EVRUN_ONCE); /* the heartbeat timers of the honest m1 tick meanwhile, at most 0.1 s */
	}
	if (port <= 0)
		th_proc_free(agent, 1);
	ck_assert_msg(port > 0, "the agent published no daemonEndpoints port");
	snprintf(url, sizeof(url), "https://127.0.0.1:%ld/containerLogs/web/web?follow=0", port);
	ck_assert_int_eq(th_certs_get(url, dir, "client", &body), 200); /* the marker: the admin is served */
	free(body);
	ck_assert_int_eq(th_certs_get(url, dir, "evil", &body), 403);
	ck_assert_msg(strstr(body, "not signed by the admin CA") && !strstr(body, "skiff-agent:"), "%s", body);
	free(body);
	ck_assert_int_eq(th_certs_get(url, dir, NULL, &body), 401);
	free(body);
	ck_assert(th_proc_log_has(agent, "whose certificate --client-ca did not sign"));
	log = th_proc_log(agent); /* only the admin's request reached the runtime */
	ck_assert_ptr_nonnull(first = strstr(log, "log stream started"));
	ck_assert_msg(!strstr(first + 1, "log stream started"), "a refused client's stream started");
	free(log);
	ck_assert_int_eq(th_proc_signal(agent, SIGTERM), 0); /* and it stops cleanly */
	ck_assert_int_eq(th_proc_wait(agent, 30), 0);
	th_proc_free(agent, 0);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("hostile_node");
	TCase *roles = tcase_create("roles"), *cluster = tcase_create("cluster");

	tcase_add_checked_fixture(roles, setup_roles, teardown);
	tcase_set_timeout(roles, 60);
	tcase_add_test(roles, forged_events);
	tcase_add_test(roles, status_for_other_node);
	tcase_add_test(roles, self_promotion_labels_refused);
	tcase_add_test(roles, route_hijack_slash32_refused);
	tcase_add_test(roles, keep_dead_node_alive_revoke_refused);
	tcase_add_test(roles, proxy_status_for_other_node);
	tcase_add_test(roles, logs_with_attacker_cert);
	tcase_add_unchecked_fixture(roles, certs_setup, certs_teardown);
	suite_add_tcase(s, roles);

	tcase_add_checked_fixture(cluster, setup_cluster, teardown);
	tcase_set_timeout(cluster, 120);
	tcase_add_test(cluster, service_hijack_wrong_uid);
	tcase_add_test(cluster, service_hijack_right_uid_loopback);
	tcase_add_test(cluster, rc_index_forged_status);
	tcase_add_test(cluster, route_hijack_slash32);
	tcase_add_test(cluster, route_hijack_gateway);
	tcase_add_test(cluster, self_promotion_labels);
	tcase_add_test(cluster, keep_dead_node_alive);
	tcase_add_test(cluster, keep_dead_leader_alive);
	tcase_add_test(cluster, huge_values);
	tcase_add_test(cluster, secret_of_other_node);
	suite_add_tcase(s, cluster);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(suite());
	int failed;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	curl_global_cleanup();
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
