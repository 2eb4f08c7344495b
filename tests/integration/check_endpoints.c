/*
 * check_endpoints.c: skiff-endpoints-controller as a real process against
 * a real etcd: cluster IP allocation (requested, taken, released), the
 * endpoint list following pod status, restart safety (no second IP), and
 * what it refuses to believe: statuses from a node the pod is not bound
 * to, unusable pod IPs, pod IPs outside the node's subnet; the split into
 * addresses and notReadyAddresses by the Ready condition, and pods being
 * deleted leaving both; headless services (no cluster IP) and services
 * without a selector (a cluster IP, the user's list left alone). Bindings and
 * pod status keys are written by the test, as the scheduler and agents
 * would.
 */
#include <check.h>
#include <ev.h>
#include <inttypes.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "etcd_harness.h"
#include "etcd_testutil.h"
#include "th_proc.h"

static struct th_etcd *E;
static struct etcd_sync *S;
static struct th_proc *P;
static char PFX[64];

static struct th_proc *
start_controller(void)
{
	char ep[512], pfx[80];
	char *argv[] = {"skiff-endpoints-controller", ep, pfx, "--leader-elect=false", "--log-level=debug", NULL};
	struct th_proc *p;

	snprintf(ep, sizeof(ep), "--etcd-endpoints=%s", th_etcd_endpoints(E));
	snprintf(pfx, sizeof(pfx), "--prefix=%s", PFX);
	p = th_proc_start("build/bin/skiff-endpoints-controller", argv, NULL);
	ck_assert_ptr_nonnull(p);
	return p;
}

static void
setup(void)
{
	struct etcd_config cfg;
	struct etcd_error err = {0};

	E = th_etcd_start(1, NULL);
	ck_assert_ptr_nonnull(E);
	tu_config(E, &cfg);
	S = etcd_sync_new(&cfg, &err);
	ck_assert_ptr_nonnull(S);
	snprintf(PFX, sizeof(PFX), "/t%d", (int)getpid());
	P = start_controller();
}

static void
teardown(void)
{
	th_proc_free(P, 1);
	etcd_sync_free(S);
	th_etcd_free(E);
}

static int64_t
put(const char *fmt_key, const char *name, const char *val)
{
	char key[256];

	snprintf(key, sizeof(key), fmt_key, PFX, name);
	return tu_put(S, key, val);
}

static void
del(const char *fmt_key, const char *name)
{
	char key[256];
	struct etcd_result *r;

	snprintf(key, sizeof(key), fmt_key, PFX, name);
	r = etcd_sync_delete(S, key, NULL);
	TU_OK(r);
	etcd_result_free(r);
}

/* P/pods/NAME labelled app=APP; meta: more members of its metadata
 * (",\"k\":v"), or "". */
static int64_t
put_pod_meta(const char *name, const char *app, const char *meta)
{
	char v[512];

	snprintf(
		v, sizeof(v),
		"{\"metadata\":{\"name\":\"%s\",\"labels\":{\"app\":\"%s\"}%s},\"spec\":{\"containers\":[{\"name\":"
		"\"web\",\"image\":\"skiff/test-httpd:latest\",\"ports\":[{\"containerPort\":8080,\"name\":\"http\"}]}]}}",
		name, app, meta);
	return put("%s/pods/%s", name, v);
}

static int64_t
put_pod(const char *name, const char *app)
{
	return put_pod_meta(name, app, "");
}

/* P/podstatus/NODE/POD with one container "web", ready or not; conds:
 * a "conditions" member and a comma, or "". */
static void
write_status(const char *node, const char *pod, int64_t uid, const char *phase, const char *ip, const char *conds,
             int ready)
{
	char k[128], v[1024];

	snprintf(k, sizeof(k), "%s/%s", node, pod);
	snprintf(v, sizeof(v),
	         "{\"uid\":\"%" PRId64 "\",\"phase\":\"%s\",\"podIP\":\"%s\",\"hostIP\":\"127.0.0.1\",%s"
	         "\"containerStatuses\":[{\"name\":\"web\",\"ready\":%s,\"restartCount\":0,\"image\":\"x\","
	         "\"state\":{\"running\":{\"startedAt\":\"2026-11-26T15:00:00Z\"}}}]}",
	         uid, phase, ip, conds, ready ? "true" : "false");
	put("%s/podstatus/%s", k, v);
}

static void
put_status(const char *node, const char *pod, int64_t uid, const char *phase, int ready, const char *ip)
{
	write_status(node, pod, uid, phase, ip, "", ready);
}

/* Wait until P/endpoints/NAME lists exactly the pods in want ("a,b" sorted
 * by IP as the controller writes them; "" for none); with detail, each as
 * "pod ip node". */
struct ep_want {
	const char *name, *want;
	int detail;
	char got[512], ip[32];
	const char *member; /* the list compared: NULL for "addresses" */
};

static int
endpoints_are(void *arg)
{
	struct ep_want *w = arg;
	char key[256];
	struct etcd_result *r;
	json_t *j, *a;
	size_t i;

	snprintf(key, sizeof(key), "%s/endpoints/%s", PFX, w->name);
	r = etcd_sync_get(S, key);
	w->got[0] = '\0';
	if (!r || r->err.code != ETCD_OK || r->nkvs != 1) {
		etcd_result_free(r);
		return 0;
	}
	j = json_loads(r->kvs[0].value, 0, NULL);
	etcd_result_free(r);
	if (!j)
		return 0;
	snprintf(w->ip, sizeof(w->ip), "%s", json_string_value(json_object_get(j, "clusterIP")) ?: "");
	json_array_foreach(json_object_get(j, w->member ? w->member : "addresses"), i, a) {
		size_t n = strlen(w->got);

		snprintf(w->got + n, sizeof(w->got) - n, "%s%s", n ? "," : "",
		         json_string_value(json_object_get(a, "pod")) ?: "?");
		n = strlen(w->got);
		if (w->detail)
			snprintf(w->got + n, sizeof(w->got) - n, " %s %s",
			         json_string_value(json_object_get(a, "ip")) ?: "?",
			         json_string_value(json_object_get(a, "node")) ?: "?");
	}
	json_decref(j);
	return strcmp(w->got, w->want) == 0;
}

static int
wait_endpoints(struct ep_want *w, double secs)
{
	double end = ev_time() + secs;

	while (ev_time() < end) {
		if (endpoints_are(w))
			return 0;
		usleep(20000); /* polling etcd with a deadline */
	}
	return -1;
}

static size_t
count_prefix(const char *dir)
{
	char key[256];
	struct etcd_range_opts o = {.prefix = 1, .count_only = 1};
	struct etcd_result *r;
	size_t n;

	snprintf(key, sizeof(key), "%s/%s/", PFX, dir);
	r = etcd_sync_range(S, key, &o);
	TU_OK(r);
	n = (size_t)r->count;
	etcd_result_free(r);
	return n;
}

static const char *SVC = "{\"metadata\":{\"name\":\"web\"},\"spec\":{\"selector\":{\"app\":\"web\"},"
			 "\"ports\":[{\"name\":\"http\",\"port\":80,\"targetPort\":\"http\"}]}}";

START_TEST(test_endpoints_follow_status)
{
	struct ep_want w = {.name = "web"};
	int64_t r1 = put_pod("web-1", "web"), r2 = put_pod("web-2", "web"), r3 = put_pod("db-1", "db");

	put("%s/services/%s", "web", SVC);
	ck_assert_int_gt(tu_put_binding(S, PFX, "n1", "web-1", r1), 0);
	ck_assert_int_gt(tu_put_binding(S, PFX, "n2", "web-2", r2), 0);
	ck_assert_int_gt(tu_put_binding(S, PFX, "n1", "db-1", r3), 0);
	put_status("n1", "web-1", r1, "Running", 1, "10.244.1.5");
	put_status("n2", "web-2", r2, "Pending", 0, "10.244.2.7");
	put_status("n1", "db-1", r3, "Running", 1, "10.244.1.9");
	w.want = "web-1";
	ck_assert_msg(wait_endpoints(&w, 10) == 0, "endpoints: got '%s'", w.got);
	ck_assert_msg(strncmp(w.ip, "10.0.0.", 7) == 0, "cluster IP %s not in 10.0.0.0/24", w.ip);
	ck_assert_int_eq(count_prefix("serviceips"), 1);

	/* web-2 becomes ready; web-1's status is from an old incarnation. */
	put_status("n2", "web-2", r2, "Running", 1, "10.244.2.7");
	w.want = "web-1,web-2";
	ck_assert_msg(wait_endpoints(&w, 10) == 0, "endpoints: got '%s'", w.got);
	put_status("n1", "web-1", r1 - 1, "Running", 1, "10.244.1.5");
	w.want = "web-2";
	ck_assert_msg(wait_endpoints(&w, 10) == 0, "endpoints: got '%s'", w.got);
	put_status("n1", "web-1", r1, "Running", 1, "10.244.1.5");
	w.want = "web-1,web-2";
	ck_assert_msg(wait_endpoints(&w, 10) == 0, "endpoints: got '%s'", w.got);

	/* A deleted pod leaves; its status key vanishing too changes nothing more. */
	del("%s/pods/%s", "web-1");
	w.want = "web-2";
	ck_assert_msg(wait_endpoints(&w, 10) == 0, "endpoints: got '%s'", w.got);
}
END_TEST

static int gone(const char *dir, size_t want);

#define expect(w, list)                                                                       \
	do {                                                                                  \
		(w)->want = (list);                                                           \
		ck_assert_msg(wait_endpoints((w), 10) == 0, "endpoints: got '%s'", (w)->got); \
	} while (0)

/* Service web and pods web-1..web-n bound to nodes[0..n-1]; uids out. */
static void
web_pods(const char *const *nodes, int64_t *uids, size_t n)
{
	char pod[16];

	put("%s/services/%s", "web", SVC);
	for (size_t i = 0; i < n; i++) {
		snprintf(pod, sizeof(pod), "web-%zu", i + 1);
		uids[i] = put_pod(pod, "web");
		ck_assert_int_gt(tu_put_binding(S, PFX, nodes[i], pod, uids[i]), 0);
	}
}

/* Node m1 (a hostile agent) writes statuses under its own prefix for a pod
 * bound to m2: with another uid, then with the pod's uid and 127.0.0.1.
 * Neither changes the list; the second is reported on the pod. Each is
 * followed by a sentinel status on the same watch, so once the sentinel
 * is listed the forged status has been judged. */
START_TEST(test_status_from_other_node)
{
	struct ep_want w = {.name = "web", .detail = 1};
	static const char *const nodes[] = {"m2", "m2", "m2"};
	int64_t r[3], r1, r2, r3;

	web_pods(nodes, r, 3);
	r1 = r[0], r2 = r[1], r3 = r[2];
	put_status("m2", "web-1", r1, "Running", 1, "10.244.2.5");
	expect(&w, "web-1 10.244.2.5 m2");

	put_status("m1", "web-1", r1 + 1000, "Running", 1, "10.244.1.9");
	put_status("m2", "web-2", r2, "Running", 1, "10.244.2.6");
	expect(&w, "web-1 10.244.2.5 m2,web-2 10.244.2.6 m2");

	put_status("m1", "web-1", r1, "Running", 1, "127.0.0.1");
	put_status("m2", "web-3", r3, "Running", 1, "10.244.2.7");
	expect(&w, "web-1 10.244.2.5 m2,web-2 10.244.2.6 m2,web-3 10.244.2.7 m2");
	ck_assert_int_eq(gone("events/pods/web-1", 1), 0); /* UntrustedStatus */

	/* The honest status still moves the pod: not ready, then ready again. */
	put_status("m2", "web-1", r1, "Running", 0, "10.244.2.5");
	expect(&w, "web-2 10.244.2.6 m2,web-3 10.244.2.7 m2");
	put_status("m2", "web-1", r1, "Running", 1, "10.244.2.5");
	expect(&w, "web-1 10.244.2.5 m2,web-2 10.244.2.6 m2,web-3 10.244.2.7 m2");
	ck_assert(th_proc_running(P));
}
END_TEST

/* The bound node itself reporting addresses nobody may use: loopback, the
 * metadata address, the service network. None is listed; each is
 * reported. */
START_TEST(test_unusable_pod_ip)
{
	struct ep_want w = {.name = "web", .detail = 1};
	static const char *const nodes[] = {"m2", "m2"};
	int64_t r[2], r1, r2;

	web_pods(nodes, r, 2);
	r1 = r[0], r2 = r[1];
	put_status("m2", "web-1", r1, "Running", 1, "127.0.0.1");
	put_status("m2", "web-2", r2, "Running", 1, "10.244.2.6");
	expect(&w, "web-2 10.244.2.6 m2");
	ck_assert_int_eq(gone("events/pods/web-1", 1), 0);
	put_status("m2", "web-1", r1, "Running", 1, "169.254.169.254");
	put_status("m2", "web-2", r2, "Running", 1, "10.0.0.1");
	expect(&w, "");
	ck_assert_int_eq(gone("events/pods/web-2", 1), 0);
	put_status("m2", "web-1", r1, "Running", 1, "10.244.2.5");
	expect(&w, "web-1 10.244.2.5 m2");
}
END_TEST

/* With subnets, a pod IP must lie in its node's valid subnet. The keys are
 * written before the controller starts, so that its first list holds them
 * all (no transient to race with); then m2's status moves out of m2's
 * subnet while running. m3's subnet overlaps m2's older one: invalid, so
 * none of m3's pod IPs is believed. */
START_TEST(test_pod_ip_outside_subnet)
{
	struct ep_want w = {.name = "web", .detail = 1};
	static const char *const nodes[] = {"m2", "m2", "m3"};
	int64_t r[3], r1, r2, r3;

	th_proc_free(P, 1);
	put("%s/network/subnets/%s", "m2", "{\"subnet\":\"10.244.2.0/24\",\"hostIP\":\"192.168.50.2\"}");
	put("%s/network/subnets/%s", "m3", "{\"subnet\":\"10.244.2.0/24\",\"hostIP\":\"192.168.50.3\"}");
	web_pods(nodes, r, 3);
	r1 = r[0], r2 = r[1], r3 = r[2];
	put_status("m2", "web-1", r1, "Running", 1, "10.244.3.5");
	put_status("m2", "web-2", r2, "Running", 1, "10.244.2.6");
	put_status("m3", "web-3", r3, "Running", 1, "10.244.2.7");
	P = start_controller();
	expect(&w, "web-2 10.244.2.6 m2");
	ck_assert_int_eq(gone("events/pods/web-1", 1), 0);
	ck_assert_int_eq(gone("events/pods/web-3", 1), 0);

	put_status("m2", "web-1", r1, "Running", 1, "10.244.2.5");
	expect(&w, "web-1 10.244.2.5 m2,web-2 10.244.2.6 m2");
	put_status("m2", "web-2", r2, "Running", 1, "10.244.9.6");
	expect(&w, "web-1 10.244.2.5 m2");
}
END_TEST

/* A status with conditions (contract version 2): the Ready condition
 * decides, even against the containers' own ready flags (all true here). */
static void
put_status_cond(const char *node, const char *pod, int64_t uid, const char *phase, int ready, const char *ip)
{
	char conds[256];

	snprintf(conds, sizeof(conds),
	         "\"conditions\":[{\"type\":\"Ready\",\"status\":\"%s\",\"lastTransitionTime\":"
	         "\"2026-11-26T15:00:00Z\"}],",
	         ready ? "True" : "False");
	write_status(node, pod, uid, phase, ip, conds, 1);
}

/* Mark pod NAME for deletion as skiffctl delete --grace-period marks it
 * (its uid, the create revision, stays). */
static void
mark_deleted(const char *name, const char *app)
{
	put_pod_meta(name, app, ",\"deletionGracePeriodSeconds\":5");
}

/* Both lists of P/endpoints/web at once, within 10 s. */
static int
lists_are(const char *ready, const char *not_ready)
{
	struct ep_want a = {.name = "web", .want = ready, .detail = 1};
	struct ep_want n = {.name = "web", .want = not_ready, .detail = 1, .member = "notReadyAddresses"};
	double end = ev_time() + 10;

	while (ev_time() < end) {
		if (endpoints_are(&a) && endpoints_are(&n))
			return 0;
		usleep(20000); /* polling etcd with a deadline */
	}
	fprintf(stderr, "addresses '%s' (want '%s'), notReadyAddresses '%s' (want '%s')\n", a.got, ready, n.got,
	        not_ready);
	return -1;
}

/* Every address of P/endpoints/web has nodeName equal to node. */
static void
node_names_agree(void)
{
	char key[256];
	struct etcd_result *r;
	const char *lists[] = {"addresses", "notReadyAddresses"};
	json_t *j, *a;
	size_t i, n = 0;

	snprintf(key, sizeof(key), "%s/endpoints/web", PFX);
	r = etcd_sync_get(S, key);
	TU_OK(r);
	ck_assert_int_eq(r->nkvs, 1);
	j = json_loads(r->kvs[0].value, 0, NULL);
	etcd_result_free(r);
	ck_assert_ptr_nonnull(j);
	for (int l = 0; l < 2; l++)
		json_array_foreach(json_object_get(j, lists[l]), i, a) {
			const char *nn = json_string_value(json_object_get(a, "nodeName"));
			const char *no = json_string_value(json_object_get(a, "node"));

			ck_assert_ptr_nonnull(nn);
			ck_assert_ptr_nonnull(no);
			ck_assert_str_eq(nn, no);
			n++;
		}
	json_decref(j);
	ck_assert_uint_gt(n, 0);
}

/* Not ready by its Ready condition: in notReadyAddresses, with its
 * nodeName; Ready=True moves it to addresses and False back. A Pending pod
 * with an IP waits in notReadyAddresses; a pod being deleted leaves both
 * lists at once, ready or not; a Failed one is in neither. */
START_TEST(test_not_ready_addresses)
{
	static const char *const nodes[] = {"m1", "m2", "m2"};
	int64_t r[3];

	web_pods(nodes, r, 3);
	put_status_cond("m1", "web-1", r[0], "Running", 0, "10.244.1.5");
	put_status_cond("m2", "web-2", r[1], "Pending", 0, "10.244.2.6");
	put_status("m2", "web-3", r[2], "Failed", 0, "10.244.2.7");
	ck_assert_int_eq(lists_are("", "web-1 10.244.1.5 m1,web-2 10.244.2.6 m2"), 0);
	node_names_agree();

	put_status_cond("m1", "web-1", r[0], "Running", 1, "10.244.1.5");
	ck_assert_int_eq(lists_are("web-1 10.244.1.5 m1", "web-2 10.244.2.6 m2"), 0);
	node_names_agree();
	put_status_cond("m1", "web-1", r[0], "Running", 0, "10.244.1.5");
	ck_assert_int_eq(lists_are("", "web-1 10.244.1.5 m1,web-2 10.244.2.6 m2"), 0);
	put_status_cond("m1", "web-1", r[0], "Running", 1, "10.244.1.5");
	put_status_cond("m2", "web-2", r[1], "Running", 1, "10.244.2.6");
	ck_assert_int_eq(lists_are("web-1 10.244.1.5 m1,web-2 10.244.2.6 m2", ""), 0);

	/* Being deleted: out of addresses although its status is still ready. */
	mark_deleted("web-1", "web");
	ck_assert_int_eq(lists_are("web-2 10.244.2.6 m2", ""), 0);
	put_status_cond("m2", "web-2", r[1], "Running", 0, "10.244.2.6");
	ck_assert_int_eq(lists_are("", "web-2 10.244.2.6 m2"), 0);
	mark_deleted("web-2", "web");
	ck_assert_int_eq(lists_are("", ""), 0);
	ck_assert(th_proc_running(P));
}
END_TEST

static int gone(const char *dir, size_t want);

/* A hostNetwork pod's IP is its node's: believed when it is the node's
 * hostIP (from the subnet key), not for a pod on the pod network, and not
 * another address outside the subnet. */
START_TEST(test_host_network_pod_ip)
{
	struct ep_want w = {.name = "web", .detail = 1};
	static const char *const nodes[] = {"m2", "m2"};
	int64_t r[2], hn;

	th_proc_free(P, 1);
	put("%s/network/subnets/%s", "m2", "{\"subnet\":\"10.244.2.0/24\",\"hostIP\":\"192.168.50.2\"}");
	web_pods(nodes, r, 2);
	hn = put("%s/pods/%s", "hn",
	         "{\"metadata\":{\"name\":\"hn\",\"labels\":{\"app\":\"web\"}},\"spec\":{\"hostNetwork\":true,"
	         "\"containers\":[{\"name\":\"web\",\"image\":\"skiff/test-httpd:latest\",\"ports\":[{"
	         "\"containerPort\":8080,\"name\":\"http\"}]}]}}");
	ck_assert_int_gt(tu_put_binding(S, PFX, "m2", "hn", hn), 0);
	put_status("m2", "hn", hn, "Running", 1, "192.168.50.2");
	put_status("m2", "web-1", r[0], "Running", 1, "192.168.50.2"); /* not hostNetwork */
	put_status("m2", "web-2", r[1], "Running", 1, "10.244.2.6");
	P = start_controller();
	expect(&w, "web-2 10.244.2.6 m2,hn 192.168.50.2 m2");
	ck_assert_int_eq(gone("events/pods/web-1", 1), 0);
	put_status("m2", "hn", hn, "Running", 1, "192.168.50.9"); /* not the node's address */
	expect(&w, "web-2 10.244.2.6 m2");
	ck_assert_int_eq(gone("events/pods/hn", 1), 0);
}
END_TEST

static int
gone(const char *dir, size_t want)
{
	double end = ev_time() + 10;

	while (ev_time() < end) {
		if (count_prefix(dir) == want)
			return 0;
		usleep(20000);
	}
	return -1;
}

START_TEST(test_ip_requested_taken_released_restart)
{
	struct ep_want w = {.name = "a"};
	char events[128];

	put("%s/services/%s", "a",
	    "{\"metadata\":{\"name\":\"a\"},\"spec\":{\"selector\":{\"app\":\"a\"},\"clusterIP\":\"10.0.0.10\","
	    "\"ports\":[{\"port\":80}]}}");
	w.want = "";
	ck_assert_msg(wait_endpoints(&w, 10) == 0, "endpoints: got '%s'", w.got);
	ck_assert_str_eq(w.ip, "10.0.0.10");

	/* The same address asked for by another service: a Warning event. */
	put("%s/services/%s", "b",
	    "{\"metadata\":{\"name\":\"b\"},\"spec\":{\"selector\":{\"app\":\"b\"},\"clusterIP\":\"10.0.0.10\","
	    "\"ports\":[{\"port\":80}]}}");
	snprintf(events, sizeof(events), "events/services/b");
	ck_assert_int_eq(gone(events, 1), 0);
	ck_assert_int_eq(count_prefix("serviceips"), 1);

	/* Out of range: another event. */
	put("%s/services/%s", "c",
	    "{\"metadata\":{\"name\":\"c\"},\"spec\":{\"selector\":{\"app\":\"c\"},\"clusterIP\":\"192.168.7.7\","
	    "\"ports\":[{\"port\":80}]}}");
	ck_assert_int_eq(gone("events/services/c", 1), 0);

	/* Kill -9 and restart: still one address per service, none leaked. */
	th_proc_kill(P);
	th_proc_free(P, 0);
	put("%s/services/%s", "d",
	    "{\"metadata\":{\"name\":\"d\"},\"spec\":{\"selector\":{\"app\":\"d\"},"
	    "\"ports\":[{\"port\":80}]}}");
	P = start_controller();
	w.name = "d";
	ck_assert_msg(wait_endpoints(&w, 10) == 0, "endpoints: got '%s'", w.got);
	ck_assert_int_eq(count_prefix("serviceips"), 2);

	/* Deleting a service releases its address and its list; then b, which
	 * asked for that address, gets it. */
	del("%s/services/%s", "a");
	w.name = "b";
	ck_assert_msg(wait_endpoints(&w, 10) == 0, "endpoints: got '%s'", w.got);
	ck_assert_str_eq(w.ip, "10.0.0.10");
	ck_assert_int_eq(gone("endpoints", 2), 0); /* d and b, not a */
	ck_assert_int_eq(count_prefix("serviceips"), 2);
	ck_assert(th_proc_running(P));
}
END_TEST

START_TEST(test_invalid_service_event)
{
	put("%s/services/%s", "bad", "{\"metadata\":{\"name\":\"bad\"},\"spec\":{\"ports\":[{\"port\":70000}]}}");
	ck_assert_int_eq(gone("events/services/bad", 1), 0);
	ck_assert_int_eq(count_prefix("serviceips"), 0);
	ck_assert(th_proc_running(P));
}
END_TEST

/* The value of P/endpoints/NAME (new) and its mod revision; NULL when absent. */
static char *
get_endpoints(const char *name, int64_t *mod)
{
	char key[256], *v = NULL;
	struct etcd_result *r;

	snprintf(key, sizeof(key), "%s/endpoints/%s", PFX, name);
	r = etcd_sync_get(S, key);
	if (r && r->err.code == ETCD_OK && r->nkvs == 1) {
		v = strdup(r->kvs[0].value);
		*mod = r->kvs[0].mod_revision;
	}
	etcd_result_free(r);
	return v;
}

/* A service NAME selecting app=NAME, and its (empty) list written: the
 * changes queued before it have been looked at. */
static void
barrier(const char *name)
{
	struct ep_want w = {.name = name, .want = ""};
	char v[256];

	snprintf(v, sizeof(v),
	         "{\"metadata\":{\"name\":\"%s\"},\"spec\":{\"selector\":{\"app\":\"%s\"},\"ports\":[{\"port\":80}]}}",
	         name, name);
	put("%s/services/%s", name, v);
	ck_assert_msg(wait_endpoints(&w, 10) == 0, "no endpoints for %s", name);
}

/* Headless (clusterIP "None"): a list without a cluster IP, no claim; a
 * service that had an address and becomes headless gives it back. */
START_TEST(test_headless)
{
	struct ep_want w = {.name = "db", .want = ""};
	int64_t rev;
	char *v;

	put("%s/services/%s", "db",
	    "{\"metadata\":{\"name\":\"db\"},\"spec\":{\"selector\":{\"app\":\"db\"},\"clusterIP\":\"None\","
	    "\"ports\":[{\"port\":5432}]}}");
	ck_assert_msg(wait_endpoints(&w, 10) == 0, "endpoints: got '%s'", w.got);
	ck_assert_str_eq(w.ip, "");
	ck_assert_ptr_nonnull(v = get_endpoints("db", &rev));
	ck_assert_ptr_nonnull(strstr(v, "\"port\":5432"));
	free(v);
	barrier("m1");
	ck_assert_int_eq(count_prefix("serviceips"), 1); /* m1's only */

	put("%s/services/%s", "web", SVC);
	ck_assert_int_eq(gone("serviceips", 2), 0);
	put("%s/services/%s", "web",
	    "{\"metadata\":{\"name\":\"web\"},\"spec\":{\"selector\":{\"app\":\"web\"},\"clusterIP\":\"None\","
	    "\"ports\":[{\"port\":80}]}}");
	ck_assert_int_eq(gone("serviceips", 1), 0);
	ck_assert_int_eq(gone("events/services/web", 1), 0); /* ClusterIPReleased */
	w.name = "web";
	for (double end = ev_time() + 10; ev_time() < end && !(endpoints_are(&w) && !*w.ip);)
		usleep(20000);
	ck_assert_msg(endpoints_are(&w) && !*w.ip, "endpoints of web: ip '%s'", w.ip);
	ck_assert(th_proc_running(P));
}
END_TEST

/* Without a selector: a cluster IP and no list of the controller's; the
 * one its user writes (here before the service, in Kubernetes' subsets
 * shape) is never rewritten nor deleted, not even with the service. */
START_TEST(test_selectorless)
{
	const char *user = "{\"subsets\":[{\"addresses\":[{\"ip\":\"192.168.7.20\"}],\"ports\":[{\"port\":5432}]}]}";
	int64_t rev, rev2 = 0;
	char *v;

	rev = put("%s/endpoints/%s", "ext", user);
	barrier("m1");
	put("%s/services/%s", "ext", "{\"metadata\":{\"name\":\"ext\"},\"spec\":{\"ports\":[{\"port\":5432}]}}");
	ck_assert_int_eq(gone("serviceips", 2), 0);
	/* Pods come (one the empty selector would match): the list stays. */
	put_pod("web-1", "x");
	barrier("m2");
	ck_assert_ptr_nonnull(v = get_endpoints("ext", &rev2));
	ck_assert_int_eq(rev2, rev);
	ck_assert_str_eq(v, user);
	free(v);

	del("%s/services/%s", "ext");
	ck_assert_int_eq(gone("serviceips", 2), 0); /* m1 and m2 */
	barrier("m3");
	ck_assert_ptr_nonnull(v = get_endpoints("ext", &rev2));
	ck_assert_int_eq(rev2, rev);
	free(v);
	ck_assert(th_proc_running(P));
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("endpoints");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_endpoints_follow_status);
	tcase_add_test(tc, test_ip_requested_taken_released_restart);
	tcase_add_test(tc, test_invalid_service_event);
	tcase_add_test(tc, test_status_from_other_node);
	tcase_add_test(tc, test_unusable_pod_ip);
	tcase_add_test(tc, test_pod_ip_outside_subnet);
	tcase_add_test(tc, test_not_ready_addresses);
	tcase_add_test(tc, test_host_network_pod_ip);
	tcase_add_test(tc, test_headless);
	tcase_add_test(tc, test_selectorless);
	suite_add_tcase(s, tc);
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
	return failed ? 1 : 0;
}
