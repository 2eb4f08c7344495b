/*
 * check_cluster.c: Skiff end to end on three minions (root, Docker). The
 * bed is tests/cluster: each minion a network namespace with its own
 * dockerd, agent and proxy; etcd and the control plane in the host
 * namespace (see docs/testing.md). The story of the seed: the apache
 * controller (manifests/test/: 4 replicas of the busybox test image, each
 * answering "pod=NAME ip=IP") and its service, across the minions; a pod
 * reaching a pod on another minion; a node selector; a minion cut off and
 * back; a minion's agent killed and restarted; scaling.
 *
 * The bed is made once in main, before the tests, and removed after them
 * (its logs printed first when a test failed); the tests run in order and
 * build on each other's state. Every HTTP client runs inside a minion's
 * namespace. Every wait polls a condition against a deadline.
 *
 * SKIFF_E2E_BED adds tests/cluster up options: `make test` runs the suite
 * once as is (host-gw, one link) and once as check_cluster_vxlan
 * ("--backend vxlan --routed": each minion behind a router, only the
 * overlay connects pods).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "e2e_bed.h"
#include "e2e_check.h"

#define NMIN 3
#define SSD_MINION 3 /* started with --node-labels disk=ssd */

static int ROOT;

/* ---------------------------------------------------------------- helpers */

/* Write controller NAME from the apache manifest with replicas (and, when
 * selector is non-NULL, that nodeSelector, its name as the app label). */
static void
put_controller(const char *name, int replicas, json_t *selector)
{
	json_t *c = e2e_manifest("manifests/test/controller.json"), *spec = json_object_get(c, "spec");
	json_t *tmpl = json_object_get(spec, "template");
	char rest[128];

	json_object_set_new(json_object_get(c, "metadata"), "name", json_string(name));
	json_object_set_new(spec, "replicas", json_integer(replicas));
	if (selector) {
		json_object_set_new(spec, "selector", json_pack("{s:s}", "app", name));
		json_object_set_new(json_object_get(json_object_get(tmpl, "metadata"), "labels"), "app",
		                    json_string(name));
		json_object_set(json_object_get(tmpl, "spec"), "nodeSelector", selector);
	}
	snprintf(rest, sizeof(rest), "controllers/%s", name);
	ck_assert_int_eq(bed_put_json(rest, c), 0);
	json_decref(c);
}

/* Wait until the apache service has n addresses (and none on node when
 * not NULL, at least one on every minion when spread). */
static void
wait_eps(int n, const char *not_on, int spread, double secs, struct bed_eps *e)
{
	double end = bed_now() + secs;
	char s[4096], node[16];

	for (;;) {
		int ok;

		bed_eps_get("apache", e);
		ok = e->present && e->cip[0] && e->n == n && (!not_on || bed_eps_on(e, not_on) == 0);
		for (int i = 1; ok && spread && i <= NMIN; i++) {
			snprintf(node, sizeof(node), "m%d", i);
			ok = bed_eps_on(e, node) > 0;
		}
		if (ok)
			return;
		if (bed_now() > end)
			break;
		usleep(100 * 1000);
	}
	bed_eps_str(e, s, sizeof(s));
	ck_abort_msg("endpoints/apache never had %d addresses%s%s%s: %s", n, not_on ? " none on " : "",
	             not_on ? not_on : "", spread ? " on every minion" : "", s);
}

/* The apache endpoints keep n addresses for secs (a window in which
 * something must not happen: no pod running elsewhere may drop out while
 * a returning minion cleans up). */
static void
eps_hold(int n, double secs)
{
	double end = bed_now() + secs;
	struct bed_eps e;
	char s[4096];

	do {
		bed_eps_get("apache", &e);
		bed_eps_str(&e, s, sizeof(s));
		ck_assert_msg(e.n == n, "endpoints/apache dropped to %d addresses (running pods: %d): %s", e.n,
		              bed_list("podstatus/", NULL, 0), s);
		usleep(100 * 1000);
	} while (bed_now() < end);
}

/* From minion i, the service answers from every pod of e. */
static void
answers_from_all(int i, const struct bed_eps *e)
{
	char got[BED_MAXA][128], want[BED_MAXA][128], s[4096];
	int n, failed;

	for (int k = 0; k < e->n; k++)
		snprintf(want[k], sizeof(want[k]), "%s", e->pod[k]);
	n = bed_http_from(i, e->cip, want, e->n, 40 * e->n, 30, got, &failed);
	ck_assert_msg(n >= 0, "cannot run a client in minion %d", i);
	bed_eps_str(e, s, sizeof(s));
	for (int k = 0; k < e->n; k++) {
		int hit = 0;

		for (int g = 0; g < n; g++)
			hit |= strcmp(got[g], e->pod[k]) == 0;
		ck_assert_msg(hit,
		              "from m%d, %s:80 never answered from pod %s (%d pods answered, %d requests failed; %s)",
		              i, e->cip, e->pod[k], n, failed, s);
	}
}

/* How many bindings there are on node ("" = all nodes). */
static int
bindings_on(const char *node)
{
	char rest[64];

	snprintf(rest, sizeof(rest), "bindings/%s%s", node, node[0] ? "/" : "");
	return bed_list(rest, NULL, 0);
}

/* The pods of controller name (P/pods/NAME-*). */
static int
pods_of(const char *name)
{
	char rest[64];

	snprintf(rest, sizeof(rest), "pods/%s-", name);
	return bed_list(rest, NULL, 0);
}

/* ---------------------------------------------------------------- tests */

/* m<i>'s subnet claim into out; 0 when it has none (yet). */
static int
subnet_of(int i, char *out, size_t len)
{
	char rest[64];
	json_t *sn;
	const char *sub;

	snprintf(rest, sizeof(rest), "network/subnets/m%d", i);
	if (!(sn = bed_get(rest, NULL)))
		return 0;
	sub = json_string_value(json_object_get(sn, "subnet"));
	snprintf(out, len, "%s", sub ? sub : "");
	json_decref(sn);
	return sub != NULL;
}

/* 1 when m<i>'s status.podCIDR (in the agent's P/nodestatus) is want. */
static int
podcidr_is(int i, const char *want)
{
	char rest[64];
	json_t *n;
	const char *cidr;
	int ok;

	snprintf(rest, sizeof(rest), "nodestatus/m%d", i);
	if (!(n = bed_get(rest, NULL)))
		return 0;
	cidr = json_string_value(json_object_get(json_object_get(n, "status"), "podCIDR"));
	ok = cidr && strcmp(cidr, want) == 0;
	json_decref(n);
	return ok;
}

/* Routes of the agent's protocol (95) in m<i>'s namespace, -1 on error. */
static int
proto95_routes(int i)
{
	char cmd[128], line[256];
	FILE *f;
	int n = 0;

	snprintf(cmd, sizeof(cmd), "nsenter --net=/run/netns/skiff-m%d ip route show proto 95", i);
	if (!(f = popen(cmd, "r")))
		return -1;
	while (fgets(line, sizeof(line), f))
		n++;
	return pclose(f) == 0 ? n : -1;
}

/* The agents made the pod network themselves (not the bed's fallback):
 * each minion got its own subnet (from the node controller), wrote it to
 * status.podCIDR, and has a route of the agent's protocol (95) to each
 * other minion's subnet. */
static void
check_pod_network(void)
{
	char subnets[NMIN + 1][32];

	for (int i = 1; i <= NMIN; i++) {
		WAIT_FOR(subnet_of(i, subnets[i], sizeof(subnets[i])), 30, "minion m%d claimed no subnet", i);
		ck_assert_msg(strncmp(subnets[i], "10.244.", 7) == 0, "m%d: subnet %s", i, subnets[i]);
		for (int j = 1; j < i; j++)
			ck_assert_msg(strcmp(subnets[i], subnets[j]) != 0, "m%d and m%d both hold %s", j, i,
			              subnets[i]);
		WAIT_FOR(podcidr_is(i, subnets[i]), 30, "m%d: status.podCIDR is not its subnet %s", i, subnets[i]);
		WAIT_FOR(proto95_routes(i) == NMIN - 1, 30, "m%d has %d routes of proto 95, not %d", i,
		         proto95_routes(i), NMIN - 1);
	}
}

/* 1. Every minion registered, Ready, with its address and labels, and
 * on a pod network the agents made. */
START_TEST(test_minions_ready)
{
	if (!ROOT)
		return;
	for (int i = 1; i <= NMIN; i++) {
		char rest[64], ip[32];
		json_t *n, *addr;

		snprintf(rest, sizeof(rest), "nodeleases/m%d", i);
		WAIT_FOR((n = bed_get(rest, NULL)) != NULL, 30, "minion m%d has no lease (not Ready)", i);
		json_decref(n);
		snprintf(rest, sizeof(rest), "nodestatus/m%d", i); /* the agent's */
		n = bed_get(rest, NULL);
		ck_assert_msg(n != NULL, "P/%s missing", rest);
		addr = json_array_get(json_object_get(json_object_get(n, "status"), "addresses"), 0);
		bed_minion_ip(i, ip, sizeof(ip));
		ck_assert_str_eq(json_string_value(json_object_get(addr, "address")) ?: "", ip);
		json_decref(n);
		snprintf(rest, sizeof(rest), "nodes/m%d", i); /* the node controller's, with the labels */
		n = bed_get(rest, NULL);
		ck_assert_msg(n != NULL, "P/%s missing", rest);
		ck_assert_int_eq(json_string_value(json_object_get(
					 json_object_get(json_object_get(n, "metadata"), "labels"), "disk")) != NULL,
		                 i == SSD_MINION);
		json_decref(n);
	}
	check_pod_network();
}
END_TEST

/* 2. apache: 4 pods over the 3 minions; the service answers from every
 * minion, and from every pod on each. */
START_TEST(test_service_across_minions)
{
	struct bed_eps e;
	json_t *svc;

	if (!ROOT)
		return;
	svc = e2e_manifest("manifests/test/service.json");
	ck_assert_int_eq(bed_put_json("services/apache", svc), 0);
	json_decref(svc);
	put_controller("apache", 4, NULL);
	wait_eps(4, NULL, 1, 60, &e);
	for (int k = 0; k < e.n; k++)
		ck_assert_msg(strncmp(e.ip[k], "10.244.", 7) == 0, "pod %s has IP %s, outside 10.244.0.0/16", e.pod[k],
		              e.ip[k]);
	for (int i = 1; i <= NMIN; i++)
		answers_from_all(i, &e);
}
END_TEST

/* Pod on minion a fetches pod on minion b by pod IP. */
static void
pod_reaches_pod(const struct bed_eps *e, int a, int b)
{
	char na[8], nb[8];
	int ia = -1, ib = -1;
	char url[160], *out;

	snprintf(na, sizeof(na), "m%d", a);
	snprintf(nb, sizeof(nb), "m%d", b);
	for (int k = 0; k < e->n; k++) {
		if (ia < 0 && strcmp(e->node[k], na) == 0)
			ia = k;
		if (ib < 0 && strcmp(e->node[k], nb) == 0)
			ib = k;
	}
	ck_assert_msg(ia >= 0 && ib >= 0, "no pod on %s or on %s", na, nb);
	/* Busybox's static wget crashes in getaddrinfo (no NSS in the image);
	 * nc does not resolve. */
	snprintf(url, sizeof(url), "printf 'GET / HTTP/1.0\\r\\n\\r\\n' | /bin/busybox nc -w 5 %s 80", e->ip[ib]);
	{
		const char *argv[] = {"/bin/busybox", "sh", "-c", url, NULL};

		out = bed_exec_in_pod(a, e->pod[ia], "httpd", argv);
	}
	ck_assert_msg(out != NULL, "cannot exec in pod %s on %s", e->pod[ia], na);
	ck_assert_msg(strstr(out, e->pod[ib]) != NULL, "pod %s on %s fetched %s (pod %s on %s) and got: %s", e->pod[ia],
	              na, url, e->pod[ib], nb, out);
	free(out);
}

/* 3. A pod on minion 1 reaches a pod on minion 3 by its pod IP, and back. */
START_TEST(test_pod_to_pod_across_minions)
{
	struct bed_eps e;

	if (!ROOT)
		return;
	wait_eps(4, NULL, 1, 30, &e);
	pod_reaches_pod(&e, 1, 3);
	pod_reaches_pod(&e, 3, 1);
}
END_TEST

/* The MTU of device dev in minion i's namespace, or -1 when it has none. */
static int
minion_mtu(int i, const char *dev)
{
	char cmd[160];
	int mtu = -1;
	FILE *f;

	snprintf(cmd, sizeof(cmd), "nsenter --net=/run/netns/skiff-m%d ip -o link show %s 2>/dev/null", i, dev);
	if (!(f = popen(cmd, "r")))
		return -1;
	while (mtu < 0 && fgets(cmd, sizeof(cmd), f)) {
		char *m = strstr(cmd, " mtu ");

		if (m)
			mtu = atoi(m + 5);
	}
	pclose(f);
	return mtu;
}

/* 3b. A pod's eth0 has the MTU the pod network carries: the node link's
 * with host-gw; with vxlan the device's, which is the link's minus 50
 * (the Docker network's MTU option), so that TCP's MSS (MTU - 40) fits
 * the tunnel (the bridge itself keeps 1500 until a pod joins it). */
START_TEST(test_pod_mtu)
{
	const char *argv[] = {"/bin/busybox", "cat", "/sys/class/net/eth0/mtu", NULL};
	struct bed_eps e;
	int i, link, vx;
	char *out;

	if (!ROOT)
		return;
	wait_eps(4, NULL, 1, 30, &e);
	ck_assert_msg(sscanf(e.node[0], "m%d", &i) == 1, "pod %s on node %s", e.pod[0], e.node[0]);
	link = minion_mtu(i, "eth0");
	vx = minion_mtu(i, "skiff.1");
	ck_assert_msg(link > 0, "m%d: no MTU for eth0", i);
	ck_assert_msg(vx < 0 || vx == link - 50, "m%d: skiff.1 has MTU %d, its link %d", i, vx, link);
	out = bed_exec_in_pod(i, e.pod[0], "httpd", argv);
	ck_assert_msg(out != NULL, "cannot exec in pod %s on m%d", e.pod[0], i);
	ck_assert_msg(atoi(out) == (vx > 0 ? vx : link), "pod %s on m%d has MTU %s, want %d (link %d, skiff.1 %d)",
	              e.pod[0], i, out, vx > 0 ? vx : link, link, vx);
	free(out);
}
END_TEST

/* 4. Pods whose nodeSelector asks for disk=ssd land on the ssd minion. */
START_TEST(test_node_selector)
{
	char names[8][128], rest[200];
	json_t *sel = json_pack("{s:s}", "disk", "ssd");

	if (!ROOT)
		return;
	put_controller("fast", 3, sel);
	json_decref(sel);
	WAIT_FOR(bindings_on("m3") >= 3 && bindings_on("") == 7, 60,
	         "the 3 disk=ssd pods were not all bound (m3 has %d bindings, all nodes %d)", bindings_on("m3"),
	         bindings_on(""));
	ck_assert_int_eq(bed_list("pods/fast-", names, 8), 3);
	for (int k = 0; k < 3; k++) {
		json_t *st;

		snprintf(rest, sizeof(rest), "podstatus/m%d/%s", SSD_MINION, names[k]);
		WAIT_FOR((st = bed_get(rest, NULL)) &&
		                 strcmp(json_string_value(json_object_get(st, "phase")) ?: "", "Running") == 0,
		         60, "pod %s is not Running on m%d", names[k], SSD_MINION);
		json_decref(st);
	}
	ck_assert_int_eq(bed_del("controllers/fast"), 0);
	WAIT_FOR(pods_of("fast") == 0 && bindings_on("") == 4, 60, "the fast pods were not deleted (%d left)",
	         pods_of("fast"));
}
END_TEST

/* Minion i is lost (how: "cut" its link, or "kill-agent"): after the
 * eviction timeout its pods run on the other two, the endpoints follow,
 * the service keeps answering from both, and there are still 4 pods.
 * Its containers are still there. */
static void
minion_lost(int i, const char *how)
{
	struct bed_eps e;
	char node[8], cmd[64];
	double t0;
	int had, a = i % NMIN + 1, b = a % NMIN + 1;

	snprintf(node, sizeof(node), "m%d", i);
	wait_eps(4, NULL, 0, 30, &e);
	had = bindings_on(node);
	ck_assert_msg(had > 0, "no pods on %s to lose", node);
	t0 = bed_now();
	snprintf(cmd, sizeof(cmd), "tests/cluster %s %d", how, i);
	ck_assert_msg(system(cmd) == 0, "%s failed", cmd);
	WAIT_FOR(bindings_on(node) == 0, 90, "%s's %d bindings were never evicted", node, had);
	fprintf(stderr, "check_cluster: %s %s: its %d pods evicted after %.1f s\n", how, node, had, bed_now() - t0);
	wait_eps(4, node, 0, 60, &e);
	fprintf(stderr, "check_cluster: endpoints back to 4 (none on %s) after %.1f s\n", node, bed_now() - t0);
	ck_assert_int_eq(pods_of("apache"), 4);
	ck_assert_int_eq(bindings_on(""), 4);
	answers_from_all(a, &e);
	answers_from_all(b, &e);
	ck_assert_msg(bed_pod_containers(i) >= 2 * had, "%s's containers were removed while it was lost", node);
}

/* Minion i comes back (how: "heal" or "start-agent"): Ready again, its
 * agent removes the stale containers (their bindings are gone); the pods
 * stay where they are. */
static void
minion_back(int i, const char *how)
{
	char rest[64], cmd[64];
	json_t *l = NULL;

	snprintf(cmd, sizeof(cmd), "tests/cluster %s %d", how, i);
	ck_assert_msg(system(cmd) == 0, "%s failed (did the test before this one get as far as losing m%d?)", cmd, i);
	snprintf(rest, sizeof(rest), "nodeleases/m%d", i);
	WAIT_FOR((l = bed_get(rest, NULL)) != NULL, 60, "m%d did not become Ready again", i);
	json_decref(l);
	WAIT_FOR(bed_pod_containers(i) == 0, 60, "m%d still has %d stale containers", i, bed_pod_containers(i));
	snprintf(rest, sizeof(rest), "podstatus/m%d/", i);
	WAIT_FOR(bed_list(rest, NULL, 0) == 0, 30, "m%d's stale pod statuses are still there", i);
	ck_assert_int_eq(pods_of("apache"), 4);
	eps_hold(4, 3);
}

/* 5, 6. Minion 2's agent is killed (SIGKILL), then started again. */
START_TEST(test_agent_killed)
{
	if (ROOT)
		minion_lost(2, "kill-agent");
}
END_TEST

START_TEST(test_agent_restarted)
{
	if (ROOT)
		minion_back(2, "start-agent");
}
END_TEST

/* 7, 8. Minion 1's link is cut, then back. */
START_TEST(test_minion_cut_off)
{
	if (ROOT)
		minion_lost(1, "cut");
}
END_TEST

START_TEST(test_minion_cut_back)
{
	if (ROOT)
		minion_back(1, "heal");
}
END_TEST

/* 9. Scale to 8 (the returned minions take new pods) and back to 4. */
START_TEST(test_scale)
{
	struct bed_eps e;

	if (!ROOT)
		return;
	put_controller("apache", 8, NULL);
	wait_eps(8, NULL, 1, 90, &e);
	ck_assert_int_gt(bindings_on("m1"), 0);
	ck_assert_int_gt(bindings_on("m2"), 0);
	answers_from_all(1, &e);
	put_controller("apache", 4, NULL);
	wait_eps(4, NULL, 0, 60, &e);
	WAIT_FOR(pods_of("apache") == 4 && bindings_on("") == 4, 60, "%d apache pods, %d bindings after scaling to 4",
	         pods_of("apache"), bindings_on(""));
	answers_from_all(2, &e);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("cluster");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 180);
	tcase_add_test(tc, test_minions_ready);
	tcase_add_test(tc, test_service_across_minions);
	tcase_add_test(tc, test_pod_to_pod_across_minions);
	tcase_add_test(tc, test_pod_mtu);
	tcase_add_test(tc, test_node_selector);
	tcase_add_test(tc, test_agent_killed);
	tcase_add_test(tc, test_agent_restarted);
	tcase_add_test(tc, test_minion_cut_off);
	tcase_add_test(tc, test_minion_cut_back);
	tcase_add_test(tc, test_scale);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(suite());
	const char *mode = getenv("SKIFF_E2E_BED"); /* e.g. "--backend vxlan --routed" */
	char args[256];
	int failed;

	ROOT = geteuid() == 0;
	snprintf(args, sizeof(args), "--labels 3:disk=ssd %s", mode ? mode : "");
	if (!ROOT)
		fprintf(stderr, "check_cluster: not root: needs network namespaces and dockerd; skipped\n");
	else if (bed_up(NMIN, args) < 0) {
		bed_down(1);
		return 1;
	}
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	if (ROOT)
		bed_down(failed > 0 || getenv("SKIFF_E2E_LOGS"));
	return failed ? 1 : 0;
}
