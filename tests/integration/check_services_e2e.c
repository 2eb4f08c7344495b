/*
 * check_services_e2e.c: services end to end (root, Docker, nftables). A
 * real etcd, and the real scheduler, replication controller, endpoints
 * controller, node controller, agent and proxy as processes that
 * coordinate only through etcd under a prefix of their own. A controller runs three pods of the
 * test image (busybox httpd answering "pod=NAME ip=IP"); a service selects
 * them and the tests dial its cluster IP from this machine.
 *
 * The service CIDR (10.0.0.0/24, refused when the machine routes it
 * already) is routed into a sink bridge with no ports, so a packet the
 * proxy failed to catch dies here. The bed is set up once in Check's parent
 * (an unchecked fixture) so that it is undone even when a test fails:
 * processes, containers (label skiff.node=NODE), the proxy's table, the
 * bridge, etcd.
 *
 * The tests run in order and build on each other's state in etcd. Every
 * wait polls a condition against a deadline.
 */
#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "docker_harness.h"
#include "etcd_harness.h"
#include "etcd_testutil.h"
#include "th_podhttp.h"
#include "th_proc.h"

#define BIN "build/bin/"
#define MAXA 16

static struct th_etcd *E;
static struct etcd_sync *S;
static char PFX[64], NODE[64], BR[32], TABLE[64];
static int BED; /* 1 once the bridge exists */

enum { P_SCHED, P_RC, P_EP, P_NC, P_AGENT, P_PROXY, NPROC };
static struct th_proc *PROC[NPROC];

/* ---------------------------------------------------------------- helpers */

static int
sh(const char *cmd)
{
	return system(cmd);
}

static double
mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
key(char *buf, size_t len, const char *rest)
{
	snprintf(buf, len, "%s/%s", PFX, rest);
}

/* The value of P/rest as JSON at revision rev (0 = latest), or NULL when
 * absent; *mod gets its mod_revision. */
static json_t *
get_json_at(const char *rest, int64_t rev, int64_t *mod)
{
	char k[256];
	struct etcd_range_opts o = {0};
	struct etcd_result *r;
	json_t *j = NULL;

	key(k, sizeof(k), rest);
	o.revision = rev;
	r = etcd_sync_range(S, k, &o);
	if (r && r->err.code == ETCD_OK && r->nkvs == 1) {
		j = json_loadb(r->kvs[0].value, r->kvs[0].value_len, 0, NULL);
		if (mod)
			*mod = r->kvs[0].mod_revision;
	}
	if (r)
		etcd_result_free(r);
	return j;
}

static json_t *
get_json(const char *rest)
{
	return get_json_at(rest, 0, NULL);
}

static int
exists(const char *rest)
{
	json_t *j = get_json(rest);

	json_decref(j);
	return j != NULL;
}

static void
put(const char *rest, const char *val)
{
	char k[256];

	key(k, sizeof(k), rest);
	ck_assert_int_gt(tu_put(S, k, val), 0);
}

static void
del(const char *rest)
{
	char k[256];
	struct etcd_result *r;

	key(k, sizeof(k), rest);
	r = etcd_sync_delete(S, k, NULL);
	TU_OK(r);
	TU_FREE(r);
}

/* The endpoints of a service: cluster IP and addresses. */
struct eps {
	int present;
	char cip[64];
	int n;
	char ip[MAXA][64], pod[MAXA][128];
};

static void
eps_parse(json_t *j, struct eps *e)
{
	json_t *a, *v;
	size_t i;

	memset(e, 0, sizeof(*e));
	if (!j)
		return;
	e->present = 1;
	snprintf(e->cip, sizeof(e->cip), "%s", json_string_value(json_object_get(j, "clusterIP")) ?: "");
	a = json_object_get(j, "addresses");
	json_array_foreach(a, i, v) {
		if (e->n >= MAXA)
			break;
		snprintf(e->ip[e->n], sizeof(e->ip[0]), "%s", json_string_value(json_object_get(v, "ip")) ?: "");
		snprintf(e->pod[e->n], sizeof(e->pod[0]), "%s", json_string_value(json_object_get(v, "pod")) ?: "");
		e->n++;
	}
}

static void
eps_get(struct eps *e)
{
	json_t *j = get_json("endpoints/web");

	eps_parse(j, e);
	json_decref(j);
}

static int
eps_has(const struct eps *e, const char *pod)
{
	for (int i = 0; i < e->n; i++)
		if (strcmp(e->pod[i], pod) == 0)
			return 1;
	return 0;
}

static void
eps_str(const struct eps *e, char *buf, size_t len)
{
	size_t l = (size_t)snprintf(buf, len, "present=%d cip=%s n=%d:", e->present, e->cip, e->n);

	for (int i = 0; i < e->n && l < len; i++)
		l += (size_t)snprintf(buf + l, len - l, " %s=%s", e->pod[i], e->ip[i]);
}

/* Wait until endpoints/web has n addresses and a cluster IP. */
static void
wait_eps_n(int n, double secs, struct eps *out)
{
	double end = mono() + secs;
	char s[1024];

	for (;;) {
		eps_get(out);
		if (out->present && out->cip[0] && out->n == n)
			return;
		if (mono() > end)
			break;
		usleep(50 * 1000);
	}
	eps_str(out, s, sizeof(s));
	ck_abort_msg("endpoints/web never had %d addresses: %s", n, s);
}

static void
http_get(const char *ip, char *pod, size_t len)
{
	int fd = th_http_dial(ip, 80, 2);

	pod[0] = '\0';
	if (fd >= 0)
		th_http_pod(fd, "web", pod, len);
}

/* GET the cluster IP until every pod of e has answered. */
static void
all_answer(const struct eps *e, double secs)
{
	double end = mono() + secs;
	int seen[MAXA] = {0}, nseen = 0, tries = 0, failed = 0, foreign = 0;
	char pod[128], s[1024], other[128] = "";

	while (nseen < e->n && mono() < end) {
		int mine = 0;

		http_get(e->cip, pod, sizeof(pod));
		tries++;
		for (int i = 0; i < e->n; i++)
			if (strcmp(pod, e->pod[i]) == 0) {
				mine = 1;
				if (!seen[i]) {
					seen[i] = 1;
					nseen++;
				}
			}
		if (pod[0] && !mine) {
			foreign++;
			snprintf(other, sizeof(other), "%s", pod);
		}
		if (!pod[0]) {
			failed++;
			usleep(20 * 1000); /* not answering yet: poll again */
		}
	}
	eps_str(e, s, sizeof(s));
	if (nseen < e->n) {
		char cmd[256];

		fprintf(stderr, "check_services_e2e: rules for %s on this machine:\n", e->cip);
		snprintf(cmd, sizeof(cmd), "nft list ruleset 2>/dev/null | grep -F '%s' >&2", e->cip);
		sh(cmd);
	}
	ck_assert_msg(nseen == e->n,
	              "only %d of %d pods answered at %s in %d requests (%d failed, %d from other pods, e.g. '%s'; %s)",
	              nseen, e->n, e->cip, tries, failed, foreign, other, s);
}

/* The ID of pod's app container (skiff.container=httpd), or "" . */
static void
app_container(const char *pod, char *id, size_t len)
{
	char l1[200], l2[200];
	const char *labels[] = {l1, l2, "skiff.container=httpd", NULL};
	char *ids = NULL;

	id[0] = '\0';
	snprintf(l1, sizeof(l1), "skiff.node=%s", NODE);
	snprintf(l2, sizeof(l2), "skiff.pod=%s", pod);
	if (dh_list(labels, &ids) == 1)
		snprintf(id, len, "%.*s", (int)strcspn(ids, "\n"), ids);
	free(ids);
}

static int
container_running(const char *id)
{
	char path[200], *resp = NULL;
	json_t *j;
	int running = 0;

	snprintf(path, sizeof(path), "/containers/%s/json", id);
	if (dh_request("GET", path, NULL, &resp) == 200 && (j = json_loads(resp, 0, NULL))) {
		running = json_is_true(json_object_get(json_object_get(j, "State"), "Running"));
		json_decref(j);
	}
	free(resp);
	return running;
}

/* Did some version of endpoints/web written after rev lack pod? Walks the
 * key's history backwards from the latest version. */
static int
left_since(int64_t rev, const char *pod)
{
	int64_t mod = 0, at = 0;

	for (;;) {
		struct eps e;
		json_t *j = get_json_at("endpoints/web", at, &mod);

		if (!j)
			return at != 0; /* deleted at some point after rev: gone */
		eps_parse(j, &e);
		json_decref(j);
		if (mod <= rev)
			return 0;
		if (!eps_has(&e, pod))
			return 1;
		at = mod - 1;
	}
}

/* ---------------------------------------------------------------- the bed */

static struct th_proc *
start(const char *prog, const char *a1, const char *a2)
{
	char path[128], ep[512], pfx[128];
	char *argv[] = {(char *)prog, ep, pfx, (char *)a1, (char *)a2, NULL};

	snprintf(path, sizeof(path), BIN "%s", prog);
	snprintf(ep, sizeof(ep), "--etcd-endpoints=%s", th_etcd_endpoints(E));
	snprintf(pfx, sizeof(pfx), "--prefix=%s", PFX);
	return th_proc_start(path, argv, NULL);
}

static void bed_down(void);

static void
bed_up(void)
{
	char cmd[256], node[96], backoff[] = "--restart-backoff-base=1s", nole[] = "--leader-elect=false";
	char nocidr[] = "--allocate-node-cidrs=false";

	if (geteuid() != 0)
		return;
	if (sh("ip route show | grep -q '^10\\.0\\.0\\.'") == 0) {
		fprintf(stderr, "check_services_e2e: 10.0.0.0/24 is routed on this machine; refusing to use it\n");
		exit(1);
	}
	snprintf(NODE, sizeof(NODE), "e2e-%d", (int)getpid());
	snprintf(TABLE, sizeof(TABLE), "skiff_e2e_%d", (int)getpid());
	snprintf(PFX, sizeof(PFX), "/e2e%d", (int)getpid());
	snprintf(BR, sizeof(BR), "skiff-e2e%d", (int)getpid() % 100000);
	if (dh_ensure_dockerd(60) < 0 || dh_ensure_test_image() < 0) {
		fprintf(stderr, "check_services_e2e: Docker is not usable\n");
		exit(1);
	}
	snprintf(cmd, sizeof(cmd), "ip link add %s type bridge && ip link set %s up && ip route add 10.0.0.0/24 dev %s",
	         BR, BR, BR);
	BED = 1;
	if (sh(cmd) != 0 || !(E = th_etcd_start(1, NULL))) {
		fprintf(stderr, "check_services_e2e: cannot set up the test bed\n");
		bed_down();
		exit(1);
	}
	snprintf(node, sizeof(node), "--node-name=%s", NODE);
	PROC[P_SCHED] = start("skiff-scheduler", nole, NULL);
	PROC[P_RC] = start("skiff-replication-controller", nole, NULL);
	PROC[P_EP] = start("skiff-endpoints-controller", nole, NULL);
	/* makes P/nodes/NODE from the agent's status; no subnets: the agent
	 * uses Docker's default bridge */
	PROC[P_NC] = start("skiff-node-controller", nole, nocidr);
	PROC[P_AGENT] = start("skiff-agent", node, backoff);
	PROC[P_PROXY] = start("skiff-proxy", node, NULL);
	for (int i = 0; i < NPROC; i++)
		if (!PROC[i]) {
			fprintf(stderr, "check_services_e2e: cannot start the components\n");
			bed_down();
			exit(1);
		}
}

static void
bed_down(void)
{
	char cmd[256];
	int show = getenv("SKIFF_E2E_LOGS") != NULL;

	if (geteuid() != 0)
		return;
	/* The agent first, or it would put the containers back. */
	for (int i = NPROC - 1; i >= 0; i--) {
		if (PROC[i])
			th_proc_free(PROC[i], show || !th_proc_running(PROC[i]));
		PROC[i] = NULL;
	}
	if (NODE[0])
		dh_remove_where("skiff.node", NODE);
	if (TABLE[0]) {
		snprintf(cmd, sizeof(cmd), "nft list table ip %s >/dev/null 2>&1 && nft delete table ip %s", TABLE,
		         TABLE);
		sh(cmd);
	}
	if (BED) {
		snprintf(cmd, sizeof(cmd), "ip link del %s", BR);
		sh(cmd);
		BED = 0;
	}
	th_etcd_free(E);
	E = NULL;
}

static void
setup(void)
{
	struct etcd_config cfg;
	struct etcd_error err = {0};

	if (geteuid() != 0)
		return;
	tu_config(E, &cfg);
	S = etcd_sync_new(&cfg, &err);
	ck_assert_msg(S != NULL, "sync client: %s", err.msg);
	for (int i = 0; i < NPROC; i++)
		ck_assert_msg(th_proc_running(PROC[i]), "component %d is not running", i);
}

static void
teardown(void)
{
	if (geteuid() != 0)
		return;
	etcd_sync_free(S);
	S = NULL;
}

/* ---------------------------------------------------------------- objects */

static const char CMD[] =
	"echo \"pod=$(/bin/busybox hostname) ip=$(/bin/busybox ip -4 -o addr show eth0 | /bin/busybox awk "
	"'{print $4}' | /bin/busybox cut -d/ -f1)\" > /www/index.html && exec /bin/busybox httpd -f -p 80 -h /www";

static char *
controller_json(int replicas)
{
	json_t *j = json_pack(
		"{s:s, s:s, s:{s:s, s:{s:s}}, s:{s:i, s:{s:s}, s:{s:{s:{s:s}}, s:{s:[{s:s, s:s, s:s, s:[s,s,s,s], "
		"s:[{s:s, s:i, s:s}], s:{s:{s:s, s:s}}}], s:s, s:i}}}}",
		"apiVersion", "v1", "kind", "ReplicationController", "metadata", "name", "web", "labels", "app", "web",
		"spec", "replicas", replicas, "selector", "app", "web", "template", "metadata", "labels", "app", "web",
		"spec", "containers", "name", "httpd", "image", DH_TEST_IMAGE, "imagePullPolicy", "Never", "command",
		"/bin/busybox", "sh", "-c", CMD, "ports", "name", "http", "containerPort", 80, "protocol", "TCP",
		"resources", "requests", "cpu", "10m", "memory", "8Mi", "restartPolicy", "Always",
		"terminationGracePeriodSeconds", 1);
	char *s;

	ck_assert_ptr_nonnull(j);
	s = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	return s;
}

static const char SERVICE[] =
	"{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"web\",\"labels\":{\"app\":\"web\"}},"
	"\"spec\":{\"selector\":{\"app\":\"web\"},\"ports\":[{\"name\":\"http\",\"port\":80,\"targetPort\":80,"
	"\"protocol\":\"TCP\"}]}}";

/* ---------------------------------------------------------------- tests */

/* 1. Three pods behind a service all answer on its cluster IP. */
START_TEST(test_service_reaches_pods)
{
	struct eps e;
	char *c;

	if (geteuid() != 0)
		return;
	c = controller_json(3);
	put("controllers/web", c);
	free(c);
	put("services/web", SERVICE);
	wait_eps_n(3, 60, &e);
	ck_assert_msg(strncmp(e.cip, "10.0.0.", 7) == 0, "cluster IP %s outside 10.0.0.0/24", e.cip);
	all_answer(&e, 20);
}
END_TEST

/* 2. A killed app container (in back-off) leaves the endpoints and comes back. */
START_TEST(test_killed_container_leaves_and_returns)
{
	struct eps e;
	char id[128], path[256], pod[128], s[1024];
	int64_t rev;
	double end;
	int left = 0, back = 0;

	if (geteuid() != 0)
		return;
	wait_eps_n(3, 30, &e);
	snprintf(pod, sizeof(pod), "%s", e.pod[0]);
	app_container(pod, id, sizeof(id));
	ck_assert_msg(id[0], "no app container for pod %s", pod);
	rev = tu_revision(S);
	ck_assert_int_gt(rev, 0);
	snprintf(path, sizeof(path), "/containers/%s/kill?signal=SIGKILL", id);
	ck_assert_int_eq(dh_request("POST", path, NULL, NULL), 204);
	/* The agent restarts a first failure at once (no back-off, as kubelet),
	 * too fast to show in the endpoints. Kill the replacement too: the
	 * second restart waits --restart-backoff-base (1 s), and the pod is
	 * not ready meanwhile. */
	{
		char nid[128] = "";

		for (end = mono() + 20; mono() < end;) {
			app_container(pod, nid, sizeof(nid));
			if (nid[0] && strcmp(nid, id) != 0 && container_running(nid))
				break;
			nid[0] = '\0';
			usleep(50 * 1000);
		}
		ck_assert_msg(nid[0], "the agent did not restart pod %s's container", pod);
		snprintf(path, sizeof(path), "/containers/%s/kill?signal=SIGKILL", nid);
		ck_assert_int_eq(dh_request("POST", path, NULL, NULL), 204);
	}
	for (end = mono() + 40; mono() < end && !(left && back);) {
		left = left || left_since(rev, pod);
		if (left) {
			char nid[128];

			eps_get(&e);
			app_container(pod, nid, sizeof(nid));
			back = eps_has(&e, pod) && nid[0] && container_running(nid);
		}
		if (!(left && back))
			usleep(50 * 1000);
	}
	eps_get(&e);
	eps_str(&e, s, sizeof(s));
	ck_assert_msg(left, "pod %s never left the endpoints after its container was killed (%s)", pod, s);
	ck_assert_msg(back, "pod %s did not come back (%s)", pod, s);
	all_answer(&e, 20);
}
END_TEST

/* 3. A deleted pod is replaced: the new one joins, the old one leaves. */
START_TEST(test_deleted_pod_replaced)
{
	struct eps e, now;
	char gone[128], rest[200], s[1024];
	double end;
	int ok = 0;

	if (geteuid() != 0)
		return;
	wait_eps_n(3, 30, &e);
	snprintf(gone, sizeof(gone), "%s", e.pod[1]);
	snprintf(rest, sizeof(rest), "pods/%s", gone);
	del(rest);
	for (end = mono() + 40; !ok && mono() < end;) {
		int fresh = 0;

		eps_get(&now);
		for (int i = 0; i < now.n; i++)
			fresh += !eps_has(&e, now.pod[i]);
		ok = now.n == 3 && !eps_has(&now, gone) && fresh == 1;
		if (!ok)
			usleep(50 * 1000);
	}
	eps_str(&now, s, sizeof(s));
	ck_assert_msg(ok, "no replacement for %s in the endpoints: %s", gone, s);
	all_answer(&now, 20);
}
END_TEST

/* 4. A connection opened before an endpoint change still works after it. */
START_TEST(test_connection_survives_change)
{
	struct eps e;
	char k[256], pod[128], *c;
	int64_t mod = 0;
	json_t *old;
	struct etcd_txn *t;
	struct etcd_result *r;
	int fd;

	if (geteuid() != 0)
		return;
	wait_eps_n(3, 30, &e);
	all_answer(&e, 20);
	fd = th_http_dial(e.cip, 80, 2);
	ck_assert_msg(fd >= 0, "cannot connect to %s:80", e.cip);

	/* Scale to 4, guarded on the controller's revision. */
	old = get_json_at("controllers/web", 0, &mod);
	ck_assert_ptr_nonnull(old);
	json_decref(old);
	key(k, sizeof(k), "controllers/web");
	c = controller_json(4);
	t = etcd_txn_new();
	etcd_txn_cmp(t, k, ETCD_CMP_MOD, ETCD_CMP_EQUAL, mod);
	etcd_txn_put(t, ETCD_TXN_SUCCESS, k, c, strlen(c), 0);
	r = etcd_sync_txn(S, t);
	free(c);
	TU_OK(r);
	ck_assert_msg(r->succeeded, "guarded put of the controller lost a race");
	TU_FREE(r);
	wait_eps_n(4, 40, &e);

	{
		struct timeval tv = {5, 0};

		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	}
	th_http_pod(fd, "web", pod, sizeof(pod));
	ck_assert_msg(pod[0], "the connection opened before the change got no answer after it");
	ck_assert_msg(eps_has(&e, pod), "answer from %s, not an endpoint", pod);
}
END_TEST

/* 5. A deleted service loses its cluster IP, endpoints and rules. */
START_TEST(test_service_deleted)
{
	struct eps e;
	char rest[128], cmd[256];
	double end;
	int ip_gone = 0, ep_gone = 0, nft_gone = 0;

	if (geteuid() != 0)
		return;
	eps_get(&e);
	ck_assert_msg(e.present && e.cip[0], "endpoints/web missing before the delete");
	snprintf(rest, sizeof(rest), "serviceips/%s", e.cip);
	ck_assert_msg(exists(rest), "P/%s missing before the delete", rest);
	snprintf(cmd, sizeof(cmd), "nft list table ip %s 2>/dev/null | grep -qF '%s'", TABLE, e.cip);
	ck_assert_msg(sh(cmd) == 0, "the proxy's table does not mention %s before the delete", e.cip);
	del("services/web");
	for (end = mono() + 30; mono() < end && !(ip_gone && ep_gone && nft_gone);) {
		ip_gone = !exists(rest);
		ep_gone = !exists("endpoints/web");
		nft_gone = sh(cmd) != 0;
		if (!(ip_gone && ep_gone && nft_gone))
			usleep(50 * 1000);
	}
	ck_assert_msg(ip_gone, "P/%s still there", rest);
	ck_assert_msg(ep_gone, "P/endpoints/web still there");
	ck_assert_msg(nft_gone, "the proxy's table still mentions %s", e.cip);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("services_e2e");
	TCase *tc = tcase_create("core");

	tcase_add_unchecked_fixture(tc, bed_up, bed_down);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 90);
	tcase_add_test(tc, test_service_reaches_pods);
	tcase_add_test(tc, test_killed_container_leaves_and_returns);
	tcase_add_test(tc, test_deleted_pod_replaced);
	tcase_add_test(tc, test_connection_survives_change);
	tcase_add_test(tc, test_service_deleted);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(suite());
	int failed;

	if (geteuid() != 0)
		fprintf(stderr, "check_services_e2e: not root: needs Docker and nftables; skipped\n");
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
