/*
 * check_guestbook.c: Kubernetes' v1.0 guestbook on the three-minion bed of
 * tests/cluster (root, Docker). The objects are manifests/guestbook/ as
 * they are: a redis master (controller and service), two redis slaves
 * that replicate from `redis-master` found by name through cluster DNS,
 * and three frontends whose CGI writes through `redis-master` and reads
 * through `redis-slave`; the images come from scripts/guestbook-images.sh
 * (Debian's redis and busybox, no registry), imported into each minion's
 * dockerd here.
 *
 * In order, building on each other's state: the guestbook comes up; an
 * entry written through the frontend's cluster IP reads back from every
 * minion and is on both slaves; the frontend's NodePort answers on every
 * node's address (from the host, outside the minions); a headless service
 * resolves, from inside a pod with the pod's own resolv.conf, to its pods'
 * IPs; ClientIP affinity keeps one client on one pod where a plain service
 * spreads it; and the master's minion is cut off: a new master comes up
 * elsewhere, the slaves re-sync from it, a new entry reads back, and the
 * minion returns.
 *
 * Not here: the guestbook's JavaScript page, persistence (the v1.0 master
 * keeps nothing across a move, so the test writes again after it), and
 * the routed/vxlan beds (check_cluster covers the network modes). Every
 * wait polls against a deadline; HTTP clients run inside a minion's
 * namespace (curl under nsenter) or, for the NodePort, in the host's.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "e2e_bed.h"
#include "e2e_check.h"

#define NMIN 3
#define GB "manifests/guestbook/"
#define FQDN_SUFFIX ".default.svc.cluster.local"

static int ROOT;
/* The entries written before and after the master moves (set in main:
 * each test runs in a child of its own). */
static char VALUE[64], VALUE2[64];

/* ---------------------------------------------------------------- helpers */

/* Put the object of file at P/kind/NAME: NAME is its metadata.name, or
 * name (which then becomes its metadata.name); extra, when not NULL, is a
 * JSON object merged into its spec. */
static void
put_file(const char *kind, const char *file, const char *name, const char *extra)
{
	json_t *j = e2e_manifest(file), *spec = json_object_get(j, "spec");
	char rest[160];

	if (name)
		json_object_set_new(json_object_get(j, "metadata"), "name", json_string(name));
	if (extra) {
		json_t *x = json_loads(extra, 0, NULL);

		ck_assert_msg(x != NULL, "bad extra spec %s", extra);
		json_object_update(spec, x);
		json_decref(x);
	}
	snprintf(rest, sizeof(rest), "%s/%s", kind,
	         json_string_value(json_object_get(json_object_get(j, "metadata"), "name")));
	ck_assert_int_eq(bed_put_json(rest, j), 0);
	json_decref(j);
}

/* Minion index of a node name "mI" (0 when it is not one). */
static int
minion_of(const char *node)
{
	return node[0] == 'm' ? atoi(node + 1) : 0;
}

/* The endpoints of svc have n ready addresses (and a cluster IP unless
 * headless; none on not_on when it is not NULL) within secs. */
static void
wait_eps(const char *svc, int n, int headless, const char *not_on, double secs, struct bed_eps *e)
{
	double end = bed_now() + secs;
	char s[4096];

	for (;;) {
		bed_eps_get(svc, e);
		if (e->present && e->n == n && (headless || e->cip[0]) && (!not_on || bed_eps_on(e, not_on) == 0))
			return;
		if (bed_now() > end)
			break;
		usleep(200 * 1000);
	}
	bed_eps_str(e, s, sizeof(s));
	ck_abort_msg("endpoints/%s never had %d ready addresses%s%s within %.0f s: %s", svc, n,
	             not_on ? " none on " : "", not_on ? not_on : "", secs, s);
}

/* GET url with curl from minion i's network namespace (i 0: the host's);
 * the body into out ("" when there was no answer). */
static void
fetch(int i, const char *url, char *out, size_t len)
{
	char cmd[512], ns[64] = "";
	size_t got = 0, n;
	FILE *f;

	out[0] = '\0';
	if (i > 0)
		snprintf(ns, sizeof(ns), "nsenter --net=/run/netns/skiff-m%d ", i);
	snprintf(cmd, sizeof(cmd), "%scurl -s -m 5 '%s' 2>/dev/null", ns, url);
	if (!(f = popen(cmd, "r")))
		return;
	while (got < len - 1 && (n = fread(out + got, 1, len - 1 - got, f)) > 0)
		got += n;
	out[got] = '\0';
	pclose(f);
}

/* The guestbook's CGI at ip:port with query, from minion i. */
static void
guestbook(int i, const char *ip, int port, const char *query, char *out, size_t len)
{
	char url[256];

	snprintf(url, sizeof(url), "http://%s:%d/cgi-bin/guestbook?%s", ip, port, query);
	fetch(i, url, out, len);
}

/* 1 when a get of "messages" at ip:port from minion i answers value. */
static int
reads(int i, const char *ip, int port, const char *value, char *out, size_t len)
{
	char want[128];

	guestbook(i, ip, port, "cmd=get&key=messages", out, len);
	snprintf(want, sizeof(want), "{\"data\": \"%s\"}", value);
	return strstr(out, want) != NULL;
}

/* Write "messages" = value through the frontend's cluster IP from minion
 * i (retried until the frontend says Updated, within secs). */
static void
write_entry(int i, const char *cip, const char *value, double secs)
{
	char q[128], out[1024];

	snprintf(q, sizeof(q), "cmd=set&key=messages&value=%s", value);
	WAIT_FOR((guestbook(i, cip, 80, q, out, sizeof(out)), strstr(out, "{\"message\": \"Updated\"}")), secs,
	         "from m%d, the frontend %s never stored the entry; its last answer: %s", i, cip, out);
}

/* Every slave of the redis-slave endpoints holds value: redis-cli in a
 * frontend pod against each slave's pod IP, within secs. */
static void
slaves_hold(const char *value, double secs)
{
	struct bed_eps fe, sl;
	char cmd[160], *out = NULL;

	wait_eps("frontend", 3, 0, NULL, 60, &fe);
	wait_eps("redis-slave", 2, 0, NULL, 60, &sl);
	for (int k = 0; k < sl.n; k++) {
		const char *argv[] = {"/bin/sh", "-c", cmd, NULL};

		snprintf(cmd, sizeof(cmd), "redis-cli -h %s GET messages", sl.ip[k]);
		WAIT_FOR((free(out), out = bed_exec_in_pod(minion_of(fe.node[0]), fe.pod[0], "php-redis", argv)) &&
		                 strstr(out, value),
		         secs, "slave %s (%s on %s) does not hold %s: %s", sl.pod[k], sl.ip[k], sl.node[k], value,
		         out ? out : "(no exec)");
		free(out);
		out = NULL;
	}
}

/* ---------------------------------------------------------------- tests */

/* 1. The images in every minion, the guestbook's six objects, and every
 * pod ready (the slaves only once they are in sync with the master). */
START_TEST(test_guestbook_up)
{
	static const char *const files[] = {"redis-master-service",    "redis-slave-service",    "frontend-service",
	                                    "redis-master-controller", "redis-slave-controller", "frontend-controller"};
	struct bed_eps e;
	char cmd[1024], file[128];
	double t0 = bed_now();
	size_t l;

	if (!ROOT)
		return;
	/* Into every minion at once; 1 when any of them failed. */
	l = (size_t)snprintf(cmd, sizeof(cmd), "rc=0 ps=; for s in");
	for (int i = 1; i <= NMIN; i++)
		l += (size_t)snprintf(cmd + l, sizeof(cmd) - l, " %s", bed_docker(i));
	snprintf(cmd + l, sizeof(cmd) - l,
	         "; do DOCKER_HOST=unix://$s scripts/guestbook-images.sh & ps=\"$ps $!\"; done; "
	         "for p in $ps; do wait $p || rc=1; done; exit $rc");
	ck_assert_msg(system(cmd) == 0, "importing the images failed: %s", cmd);
	fprintf(stderr, "check_guestbook: images in %d minions after %.1f s\n", NMIN, bed_now() - t0);
	for (size_t k = 0; k < sizeof(files) / sizeof(files[0]); k++) {
		snprintf(file, sizeof(file), GB "%s.json", files[k]);
		put_file(strstr(files[k], "service") ? "services" : "controllers", file, NULL, NULL);
	}
	wait_eps("redis-master", 1, 0, NULL, 90, &e);
	wait_eps("redis-slave", 2, 0, NULL, 90, &e);
	wait_eps("frontend", 3, 0, NULL, 90, &e);
	fprintf(stderr, "check_guestbook: guestbook ready after %.1f s\n", bed_now() - t0);
}
END_TEST

/* 2. An entry written through the frontend's cluster IP reads back from
 * every minion (through the slaves), and both slaves hold it. */
START_TEST(test_write_read_everywhere)
{
	struct bed_eps e;
	char out[1024];

	if (!ROOT)
		return;
	wait_eps("frontend", 3, 0, NULL, 30, &e);
	write_entry(1, e.cip, VALUE, 60);
	for (int i = 1; i <= NMIN; i++)
		WAIT_FOR(reads(i, e.cip, 80, VALUE, out, sizeof(out)), 30,
		         "from m%d, the frontend %s never read back %s; its last answer: %s", i, e.cip, VALUE, out);
	slaves_hold(VALUE, 30);
}
END_TEST

/* The node port P/nodeports/ gives the frontend service, or 0. */
static int
frontend_node_port(void)
{
	char names[64][128], rest[200];
	int n = bed_list("nodeports/", names, 64), port = 0;

	for (int k = 0; k < n && k < 64 && !port; k++) {
		json_t *j;

		snprintf(rest, sizeof(rest), "nodeports/%s", names[k]);
		if (!(j = bed_get(rest, NULL)))
			continue;
		if (strcmp(json_string_value(json_object_get(j, "service")) ?: "", "frontend") == 0)
			port = atoi(names[k]);
		json_decref(j);
	}
	return port;
}

/* 3. The frontend (type NodePort) answers on every node's address at its
 * node port: from another minion, then from the host (outside every
 * minion: a client that is no node, as a NodePort's users are). */
START_TEST(test_node_port)
{
	char ip[32], out[1024];
	int port;

	if (!ROOT)
		return;
	WAIT_FOR((port = frontend_node_port()) > 0, 30, "the frontend service got no node port in P/nodeports/");
	ck_assert_msg(port >= 30000 && port <= 32767, "node port %d outside 30000-32767", port);
	for (int i = 1; i <= NMIN; i++) {
		int from = i % NMIN + 1;

		bed_minion_ip(i, ip, sizeof(ip));
		WAIT_FOR(reads(from, ip, port, VALUE, out, sizeof(out)), 30,
		         "from m%d, %s:%d (m%d's node port) never read back %s; last answer: %s", from, ip, port, i,
		         VALUE, out);
	}
	for (int i = 1; i <= NMIN; i++) {
		bed_minion_ip(i, ip, sizeof(ip));
		WAIT_FOR(reads(0, ip, port, VALUE, out, sizeof(out)), 30,
		         "from the host (no node), %s:%d (m%d's node port) never read back %s; last answer: %s", ip,
		         port, i, VALUE, out);
	}
}
END_TEST

/* ip stands in text as a whole address (not the start of a longer one). */
static int
has_ip(const char *text, const char *ip)
{
	size_t l = strlen(ip);

	for (const char *p = text; (p = strstr(p, ip)); p += l)
		if ((p == text || !strchr("0123456789.", p[-1])) && !strchr("0123456789.", p[l]))
			return 1;
	return 0;
}

/* The apache test pods (3) behind their plain service, once. */
static void
apache_up(struct bed_eps *e)
{
	json_t *have = bed_get("services/apache", NULL);

	if (!have) {
		put_file("services", "manifests/test/service.json", NULL, NULL);
		put_file("controllers", "manifests/test/controller.json", NULL, "{\"replicas\": 3}");
	}
	json_decref(have);
	wait_eps("apache", 3, 0, NULL, 90, e);
}

/* 4. A headless service (clusterIP None) resolves, from inside a pod with
 * the pod's own resolv.conf, to the IPs of its ready pods. */
START_TEST(test_headless_resolves)
{
	struct bed_eps e, h;
	char *out = NULL, s[4096];
	const char *argv[] = {"/bin/busybox", "nslookup", "apache-headless" FQDN_SUFFIX, NULL};
	int all = 0;

	if (!ROOT)
		return;
	apache_up(&e);
	put_file("services", "manifests/test/service.json", "apache-headless", "{\"clusterIP\": \"None\"}");
	wait_eps("apache-headless", 3, 1, NULL, 60, &h);
	ck_assert_msg(!h.cip[0] || strcmp(h.cip, "None") == 0, "headless service got cluster IP %s", h.cip);
	for (double end = bed_now() + 30; !all && bed_now() < end;) {
		free(out);
		out = bed_exec_in_pod(minion_of(e.node[0]), e.pod[0], "httpd", argv);
		all = out != NULL;
		for (int k = 0; all && k < h.n; k++)
			all = has_ip(out, h.ip[k]);
		if (!all)
			usleep(500 * 1000);
	}
	bed_eps_str(&h, s, sizeof(s));
	ck_assert_msg(all, "nslookup %s in pod %s did not give every pod IP (%s): %s", argv[2], e.pod[0], s,
	              out ? out : "(no exec)");
	free(out);
}
END_TEST

/* From minion i, requests to ip:80 answer from how many pods (n
 * requests, after a first answer); -1 on no answer. */
static int
pods_answering(int i, const char *ip, int n, int *failed)
{
	char got[BED_MAXA][128];
	int k = 0;

	for (double end = bed_now() + 30; k < 1 && bed_now() < end;)
		k = bed_http_from(i, ip, NULL, 0, 1, 5, got, failed);
	if (k < 1)
		return -1;
	return bed_http_from(i, ip, NULL, 0, n, 60, got, failed);
}

/* 5. sessionAffinity ClientIP keeps each minion (one client address) on
 * one pod; the plain service over the same pods spreads the same client. */
START_TEST(test_client_ip_affinity)
{
	struct bed_eps e, st;
	int failed, n;

	if (!ROOT)
		return;
	apache_up(&e);
	put_file("services", "manifests/test/service.json", "apache-sticky",
	         "{\"sessionAffinity\": \"ClientIP\", \"sessionAffinityConfig\": {\"clientIP\": {\"timeoutSeconds\": "
	         "600}}}");
	wait_eps("apache-sticky", 3, 0, NULL, 60, &st);
	n = pods_answering(1, e.cip, 30, &failed);
	ck_assert_msg(n >= 2, "the plain service %s answered m1's 30 requests from %d pods (%d failed)", e.cip, n,
	              failed);
	for (int i = 1; i <= NMIN; i++) {
		n = pods_answering(i, st.cip, 30, &failed);
		ck_assert_msg(n == 1 && failed == 0,
		              "with ClientIP affinity, m%d's 30 requests to %s were answered by %d pods (%d failed)", i,
		              st.cip, n, failed);
	}
}
END_TEST

/* 6. The master's minion is cut off: the master comes back elsewhere,
 * the slaves re-sync from it (ready again: their probe wants the master
 * link up), a new entry reads back from the other minions and from the
 * cut one once it returns. */
START_TEST(test_master_minion_lost)
{
	struct bed_eps m, fe;
	char node[8], out[1024], rest[64];
	double t0;
	int k, a, b;
	json_t *l = NULL;

	if (!ROOT)
		return;
	wait_eps("redis-master", 1, 0, NULL, 30, &m);
	k = minion_of(m.node[0]);
	ck_assert_msg(k >= 1 && k <= NMIN, "redis-master runs on %s", m.node[0]);
	snprintf(node, sizeof(node), "m%d", k);
	a = k % NMIN + 1;
	b = a % NMIN + 1;
	t0 = bed_now();
	ck_assert_int_eq(bed_link(k, 0), 0);
	wait_eps("redis-master", 1, 0, node, 120, &m);
	fprintf(stderr, "check_guestbook: cut %s: redis-master back on %s after %.1f s\n", node, m.node[0],
	        bed_now() - t0);
	wait_eps("redis-slave", 2, 0, node, 120, &m);
	wait_eps("frontend", 3, 0, node, 120, &fe);
	fprintf(stderr, "check_guestbook: slaves re-synced, frontends ready after %.1f s\n", bed_now() - t0);
	write_entry(a, fe.cip, VALUE2, 60);
	WAIT_FOR(reads(a, fe.cip, 80, VALUE2, out, sizeof(out)), 30, "m%d never read back %s: %s", a, VALUE2, out);
	WAIT_FOR(reads(b, fe.cip, 80, VALUE2, out, sizeof(out)), 30, "m%d never read back %s: %s", b, VALUE2, out);
	slaves_hold(VALUE2, 30);
	fprintf(stderr, "check_guestbook: a new entry read back after %.1f s\n", bed_now() - t0);
	ck_assert_int_eq(bed_link(k, 1), 0);
	snprintf(rest, sizeof(rest), "nodeleases/%s", node);
	WAIT_FOR((json_decref(l), l = bed_get(rest, NULL)) != NULL, 60, "%s did not become Ready again", node);
	json_decref(l);
	WAIT_FOR(reads(k, fe.cip, 80, VALUE2, out, sizeof(out)), 60, "%s, back, never read back %s: %s", node, VALUE2,
	         out);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("guestbook");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_guestbook_up);
	tcase_add_test(tc, test_write_read_everywhere);
	tcase_add_test(tc, test_node_port);
	tcase_add_test(tc, test_headless_resolves);
	tcase_add_test(tc, test_client_ip_affinity);
	tcase_add_test(tc, test_master_minion_lost);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(suite());
	int failed;

	ROOT = geteuid() == 0;
	snprintf(VALUE, sizeof(VALUE), "hello-%d", (int)getpid());
	snprintf(VALUE2, sizeof(VALUE2), "again-%d", (int)getpid());
	if (!ROOT)
		fprintf(stderr, "check_guestbook: not root: needs network namespaces and dockerd; skipped\n");
	else if (bed_up(NMIN, NULL) < 0) {
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
