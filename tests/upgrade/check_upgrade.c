/*
 * check_upgrade.c: an upgrade on the three-minion bed of tests/cluster
 * (root, Docker) restarts no container and drops no request. The bed
 * starts with every program built from the commit named in
 * tests/upgrade/OLD_COMMIT (contract version 1: agents write P/nodes/NODE
 * and claim their subnets; built by old-build.sh into build/upgrade-old).
 * A replication controller of 3 (one pod per minion) and a service run; a
 * client in minion 1's namespace opens a fresh connection to the service's
 * cluster IP every 20 ms throughout. Then each program is replaced by
 * this build's, one at a time, in docs/operations.md's order ("Upgrading"):
 * the control plane first (node controller, scheduler, replication,
 * endpoints, then the new config and deployment controllers), then each
 * minion's agent, proxy (SIGKILL: a version-1 proxy removes its nftables
 * table on SIGTERM) and new skiff-dns. After each step it waits (with a
 * deadline) for what that step must bring, and checks that every pod
 * container (sandboxes too) has the same Docker ID and start time and the
 * same restart count in its status, that the service kept its three
 * endpoints and that the client saw no failure. At the end, the
 * version-1 keys the contract moved are carried: each P/nodestatus/NODE
 * has the podCIDR and address of the agent's old P/nodes/NODE status, and
 * P/network/subnets/NODE is the same claim, untouched.
 *
 * UPGRADE_PROXY_SIGNAL=TERM replaces the proxies with SIGTERM instead, to
 * measure what a plain restart drops (the test then fails on them).
 *
 * It does not test a downgrade, a node joining mid-upgrade, or etcd's own
 * upgrade. Without root it says so and passes.
 */
#include <check.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "docker_harness.h"
#include "e2e_bed.h"
#include "e2e_check.h"

#define NMIN 3
#define NAME "up"
#define REPLICAS 3
#define OLD_BIN "build/upgrade-old/build/bin"
#define NEW_BIN "build/bin"
#define MAXC 32

static int ROOT;

static const char APP[] = "echo \"pod=$(/bin/busybox hostname)\" > /www/index.html; trap 'exit 0' TERM; "
			  "/bin/busybox httpd -f -p 80 -h /www & wait";

/* ---------------------------------------------------------------- containers */

struct ctr {
	char id[80], started[64], pod[128];
	int node;
};

struct ctrs {
	struct ctr c[MAXC];
	int n;
};

/* Container id's State.StartedAt on minion i into buf ("" when unknown). */
static void
started_at(int i, const char *id, char *buf, size_t len)
{
	char path[160], *resp = NULL;
	json_t *j = NULL;

	snprintf(path, sizeof(path), "/containers/%s/json", id);
	if (dh_request_on(bed_docker(i), "GET", path, NULL, &resp) == 200)
		j = json_loads(resp, 0, NULL);
	snprintf(buf, len, "%s", json_string_value(json_object_get(json_object_get(j, "State"), "StartedAt")) ?: "");
	json_decref(j);
	free(resp);
}

/* Every pod container on every minion (sandboxes too) into s. */
static void
take(struct ctrs *s)
{
	json_t *list, *c;
	size_t k;

	s->n = 0;
	for (int i = 1; i <= NMIN; i++) {
		ck_assert_ptr_nonnull(list = bed_pod_container_list(i));
		json_array_foreach(list, k, c) {
			struct ctr *x = &s->c[s->n];

			ck_assert_int_lt(s->n, MAXC);
			snprintf(x->id, sizeof(x->id), "%s", json_string_value(json_object_get(c, "Id")) ?: "");
			snprintf(x->pod, sizeof(x->pod), "%s",
			         json_string_value(json_object_get(json_object_get(c, "Labels"), "skiff.pod")) ?: "");
			started_at(i, x->id, x->started, sizeof(x->started));
			x->node = i;
			s->n++;
		}
		json_decref(list);
	}
}

/* The containers now are those of before, each started once: else which
 * is not. */
static void
same_containers(const struct ctrs *before, const char *step)
{
	struct ctrs now;

	take(&now);
	ck_assert_msg(now.n == before->n, "after %s: %d pod containers, %d before", step, now.n, before->n);
	for (int a = 0; a < before->n; a++) {
		const struct ctr *b = &before->c[a];
		int found = 0;

		for (int z = 0; z < now.n; z++) {
			if (strcmp(now.c[z].id, b->id) != 0)
				continue;
			found = 1;
			ck_assert_msg(strcmp(now.c[z].started, b->started) == 0,
			              "after %s: container %.12s of %s on m%d restarted (started %s, was %s)", step,
			              b->id, b->pod, b->node, now.c[z].started, b->started);
		}
		ck_assert_msg(found, "after %s: container %.12s of %s on m%d is gone (re-created?)", step, b->id,
		              b->pod, b->node);
	}
}

/* ---------------------------------------------------------------- pods */

/* The sum of the restart counts in the pods' statuses, -1 while fewer than
 * REPLICAS are Running with an IP; *conditions gets how many statuses
 * carry conditions (written by a version-2 agent). */
static int
pod_restarts(int *conditions)
{
	json_t *all = bed_snapshot("podstatus/"), *st, *cs;
	const char *k;
	size_t i;
	int sum = 0, running = 0;

	ck_assert_ptr_nonnull(all);
	*conditions = 0;
	json_object_foreach(all, k, st) {
		if (strcmp(json_string_value(json_object_get(st, "phase")) ?: "", "Running") == 0 &&
		    json_string_value(json_object_get(st, "podIP")))
			running++;
		*conditions += json_object_get(st, "conditions") != NULL;
		json_array_foreach(json_object_get(st, "containerStatuses"), i, cs)
			sum += (int)json_integer_value(json_object_get(cs, "restartCount"));
	}
	json_decref(all);
	return running == REPLICAS ? sum : -1;
}

static void
put_objects(void)
{
	json_t *c = json_pack("{s:s, s:s, s:s, s:[s,s,s,s], s:[{s:i}]}", "name", "httpd", "image",
	                      "skiff/test-httpd:latest", "imagePullPolicy", "Never", "command", "/bin/busybox", "sh",
	                      "-c", APP, "ports", "containerPort", 80);
	json_t *rc = json_pack("{s:{s:s}, s:{s:i, s:{s:s}, s:{s:{s:{s:s}}, s:{s:[o], s:i}}}}", "metadata", "name", NAME,
	                       "spec", "replicas", REPLICAS, "selector", "app", NAME, "template", "metadata", "labels",
	                       "app", NAME, "spec", "containers", c, "terminationGracePeriodSeconds", 5);
	json_t *svc = json_pack("{s:{s:s}, s:{s:{s:s}, s:[{s:s, s:i, s:i, s:s}]}}", "metadata", "name", NAME, "spec",
	                        "selector", "app", NAME, "ports", "name", "http", "port", 80, "targetPort", 80,
	                        "protocol", "TCP");

	ck_assert_ptr_nonnull(rc);
	ck_assert_ptr_nonnull(svc);
	ck_assert_int_eq(bed_put_json("controllers/" NAME, rc), 0);
	ck_assert_int_eq(bed_put_json("services/" NAME, svc), 0);
	json_decref(rc);
	json_decref(svc);
}

/* The service's endpoints hold one pod on each minion. */
static int
spread(void)
{
	struct bed_eps e;

	bed_eps_get(NAME, &e);
	if (e.n != REPLICAS || !e.cip[0])
		return 0;
	for (int i = 1; i <= NMIN; i++) {
		char node[16];

		snprintf(node, sizeof(node), "m%d", i);
		if (bed_eps_on(&e, node) != 1)
			return 0;
	}
	return 1;
}

/* ---------------------------------------------------------------- traffic */

struct traffic {
	pid_t pid;
	int fd, last_nl; /* last_nl: the previous byte read ended a line */
	long requests, failures;
};

/* Count the client's lines read so far (non-blocking). */
static void
drain(struct traffic *t)
{
	char buf[4096];
	ssize_t n;

	while ((n = read(t->fd, buf, sizeof(buf))) > 0) {
		for (ssize_t k = 0; k < n; k++) {
			if (buf[k] == '\n') {
				t->requests++;
				t->failures += t->last_nl; /* an empty line: no answer */
				t->last_nl = 1;
			} else
				t->last_nl = 0;
		}
	}
}

/* ---------------------------------------------------------------- steps */

struct step {
	const char *verb; /* "replace-plane" or "replace" */
	int minion;       /* replace: 1..NMIN */
	const char *prog; /* plane program, or agent|proxy|dns */
	const char *sig;  /* replace: TERM or KILL */
};

static const struct step STEPS[] = {
	{"replace-plane", 0, "skiff-node-controller", NULL},
	{"replace-plane", 0, "skiff-scheduler", NULL},
	{"replace-plane", 0, "skiff-replication-controller", NULL},
	{"replace-plane", 0, "skiff-endpoints-controller", NULL},
	{"replace-plane", 0, "skiff-config-controller", NULL},
	{"replace-plane", 0, "skiff-deployment-controller", NULL},
	{"replace", 1, "agent", "TERM"},
	{"replace", 1, "proxy", "KILL"},
	{"replace", 1, "dns", "TERM"},
	{"replace", 2, "agent", "TERM"},
	{"replace", 2, "proxy", "KILL"},
	{"replace", 2, "dns", "TERM"},
	{"replace", 3, "agent", "TERM"},
	{"replace", 3, "proxy", "KILL"},
	{"replace", 3, "dns", "TERM"},
};

static const char *
bed_dir(void)
{
	const char *d = getenv("SKIFF_CLUSTER_DIR");

	return d && *d ? d : "/run/skiff-cluster";
}

/* The pid of the step's program when it runs from this build's bin
 * directory, else 0. */
static int
new_pid(const struct step *s)
{
	char path[512], exe[512], want[512];
	FILE *f;
	int pid = 0;
	ssize_t n;

	if (s->minion)
		snprintf(path, sizeof(path), "%s/m%d/%s.pid", bed_dir(), s->minion, s->prog);
	else
		snprintf(path, sizeof(path), "%s/%s.pid", bed_dir(), s->prog);
	if (!(f = fopen(path, "r")))
		return 0;
	if (fscanf(f, "%d", &pid) != 1)
		pid = 0;
	fclose(f);
	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	if (pid <= 0 || (n = readlink(path, exe, sizeof(exe) - 1)) < 0 || !realpath(NEW_BIN, want))
		return 0;
	exe[n] = '\0';
	return strncmp(exe, want, strlen(want)) == 0 && exe[strlen(want)] == '/' ? pid : 0;
}

/* Process pid leads its election: its key (value "HOST-PID", maybe
 * followed by a space and its version) is the only one under its
 * P/leaders/COMPONENT/ (the old process resigned). The values are not
 * JSON: read with etcdctl. */
static int
leads(int pid)
{
	char cmd[512], key[256], val[256], dir[256] = "", keys[16][256], tail[32];
	int n = 0, same = 0;
	size_t l, tl = (size_t)snprintf(tail, sizeof(tail), "-%d", pid);
	FILE *p;

	snprintf(cmd, sizeof(cmd), "ETCDCTL_API=3 etcdctl --endpoints=%s get --prefix %s/leaders/ 2>/dev/null",
	         bed_etcd(), bed_prefix());
	if (!(p = popen(cmd, "r")))
		return 0;
	while (n < 16 && fgets(key, sizeof(key), p) && fgets(val, sizeof(val), p)) {
		key[strcspn(key, "\n")] = val[strcspn(val, "\n")] = '\0';
		snprintf(keys[n++], sizeof(keys[0]), "%s", key);
		l = strcspn(val, " ");
		if (l > tl && strncmp(val + l - tl, tail, tl) == 0)
			snprintf(dir, sizeof(dir), "%.*s", (int)(strrchr(key, '/') - key + 1), key);
	}
	pclose(p);
	for (int k = 0; dir[0] && k < n; k++)
		same += strncmp(keys[k], dir, strlen(dir)) == 0;
	return same == 1;
}

/* What a version-2 agent on minion i brings: P/nodestatus/mI with the
 * node's old podCIDR, and a heartbeat (spec.renewTime) in its lease key. */
static int
agent_v2(int i, const char *cidr)
{
	char k[64];
	json_t *ns, *lease;
	int ok;

	snprintf(k, sizeof(k), "nodestatus/m%d", i);
	ns = bed_get(k, NULL);
	snprintf(k, sizeof(k), "nodeleases/m%d", i);
	lease = bed_get(k, NULL);
	ok = ns && lease &&
	     strcmp(json_string_value(json_object_get(json_object_get(ns, "status"), "podCIDR")) ?: "", cidr) == 0 &&
	     json_object_get(json_object_get(lease, "spec"), "renewTime");
	json_decref(ns);
	json_decref(lease);
	return ok;
}

/* The step's program runs from this build and did what docs/operations.md
 * says to check: a control-plane program leads; an agent registered in
 * version 2; a proxy reports its endpoints revision; skiff-dns answers the
 * service's name on the node's DNS address. */
static int
step_done(const struct step *s, char (*cidr)[64], const char *cip)
{
	char k[64], cmd[256], out[128] = "";
	int ok, pid = new_pid(s);
	FILE *p;
	json_t *j;

	if (!pid)
		return 0;
	if (!s->minion)
		return leads(pid);
	if (strcmp(s->prog, "agent") == 0)
		return agent_v2(s->minion, cidr[s->minion]);
	if (strcmp(s->prog, "proxy") == 0) {
		snprintf(k, sizeof(k), "proxystatus/m%d", s->minion);
		j = bed_get(k, NULL);
		ok = j != NULL;
		json_decref(j);
		return ok;
	}
	snprintf(cmd, sizeof(cmd),
	         "tests/cluster exec %d dig +short +time=1 +tries=1 @169.254.20.10 " NAME
	         ".default.svc.cluster.local 2>/dev/null",
	         s->minion);
	if ((p = popen(cmd, "r"))) {
		if (!fgets(out, sizeof(out), p))
			out[0] = '\0';
		pclose(p);
	}
	out[strcspn(out, "\n")] = '\0';
	return strcmp(out, cip) == 0;
}

/* ---------------------------------------------------------------- carried keys */

struct v1 {
	char cidr[NMIN + 1][64], ip[NMIN + 1][64], subnet[NMIN + 1][256];
	long long subnet_mod[NMIN + 1];
};

/* What the version-1 agents wrote: P/nodes/mI's status.podCIDR and its
 * InternalIP, and the subnet claim (value and mod revision). */
static void
v1_keys(struct v1 *v)
{
	char k[64];
	json_t *n, *s, *a;
	size_t x;

	for (int i = 1; i <= NMIN; i++) {
		snprintf(k, sizeof(k), "nodes/m%d", i);
		ck_assert_ptr_nonnull(n = bed_get(k, NULL));
		snprintf(v->cidr[i], 64, "%s",
		         json_string_value(json_object_get(json_object_get(n, "status"), "podCIDR")) ?: "");
		json_array_foreach(json_object_get(json_object_get(n, "status"), "addresses"), x, a) {
			if (strcmp(json_string_value(json_object_get(a, "type")) ?: "", "InternalIP") == 0)
				snprintf(v->ip[i], 64, "%s", json_string_value(json_object_get(a, "address")) ?: "");
		}
		json_decref(n);
		snprintf(k, sizeof(k), "network/subnets/m%d", i);
		ck_assert_ptr_nonnull(s = bed_get(k, &v->subnet_mod[i]));
		ck_assert_str_eq(json_string_value(json_object_get(s, "subnet")) ?: "", v->cidr[i]);
		char *d = json_dumps(s, JSON_COMPACT | JSON_SORT_KEYS);
		snprintf(v->subnet[i], 256, "%s", d ? d : "");
		free(d);
		json_decref(s);
		ck_assert_msg(v->cidr[i][0] && v->ip[i][0], "m%d: the v1 node status has no podCIDR or InternalIP", i);
	}
}

/* The version-2 node controller judged every version-1 claim valid: no
 * Warning of its subnet judging (nodectl_subnet.c) under P/events/nodes/. */
static void
claims_valid(void)
{
	json_t *all = bed_snapshot("events/nodes/"), *e;
	const char *k, *r;

	ck_assert_ptr_nonnull(all);
	json_object_foreach(all, k, e) {
		r = json_string_value(json_object_get(e, "reason")) ?: "";
		ck_assert_msg(strcmp(r, "InvalidSubnet") && strcmp(r, "SubnetConflict") && strcmp(r, "InvalidHostIP"),
		              "P/%s: %s: %s", k, r, json_string_value(json_object_get(e, "message")) ?: "");
	}
	json_decref(all);
}

/* P/nodestatus/mI holds the old status's podCIDR and address; the subnet
 * claim is the same key, unchanged, and valid to the node controller. */
static void
carried(const struct v1 *v)
{
	char k[64];
	long long mod = 0;
	json_t *ns, *s, *a;
	size_t x;

	for (int i = 1; i <= NMIN; i++) {
		int has_ip = 0;

		snprintf(k, sizeof(k), "nodestatus/m%d", i);
		ck_assert_msg((ns = bed_get(k, NULL)) != NULL, "no P/%s after the upgrade", k);
		ck_assert_str_eq(json_string_value(json_object_get(json_object_get(ns, "status"), "podCIDR")) ?: "",
		                 v->cidr[i]);
		json_array_foreach(json_object_get(json_object_get(ns, "status"), "addresses"), x, a)
			has_ip |= strcmp(json_string_value(json_object_get(a, "address")) ?: "", v->ip[i]) == 0;
		ck_assert_msg(has_ip, "P/%s lacks the address %s of the v1 status", k, v->ip[i]);
		json_decref(ns);
		snprintf(k, sizeof(k), "network/subnets/m%d", i);
		ck_assert_ptr_nonnull(s = bed_get(k, &mod));
		char *d = json_dumps(s, JSON_COMPACT | JSON_SORT_KEYS);
		ck_assert_msg(d && strcmp(d, v->subnet[i]) == 0, "P/%s is %s, was %s", k, d ? d : "?", v->subnet[i]);
		ck_assert_msg(mod == v->subnet_mod[i], "P/%s was rewritten (mod %lld, was %lld)", k, mod,
		              v->subnet_mod[i]);
		free(d);
		json_decref(s);
	}
	claims_valid();
}

/* ---------------------------------------------------------------- test */

/* Run one step and wait for it to settle; failures seen meanwhile are
 * added to t (and said on stderr with the step's time). */
static void
run_step(const struct step *s, struct v1 *v, const char *cip, struct traffic *t, const struct ctrs *before)
{
	char cmd[512], what[96];
	long f0 = t->failures, r0 = t->requests;
	double t0 = bed_now();
	int cond = 0, restarts = -1;

	if (s->minion)
		snprintf(cmd, sizeof(cmd), "tests/cluster replace %d %s %s %s", s->minion, s->prog, NEW_BIN,
		         strcmp(s->prog, "proxy") == 0 && getenv("UPGRADE_PROXY_SIGNAL")
		                 ? getenv("UPGRADE_PROXY_SIGNAL")
		                 : s->sig);
	else
		snprintf(cmd, sizeof(cmd), "tests/cluster replace-plane %s %s", s->prog, NEW_BIN);
	if (s->minion)
		snprintf(what, sizeof(what), "m%d %s", s->minion, s->prog);
	else
		snprintf(what, sizeof(what), "%s", s->prog);
	ck_assert_msg(system(cmd) == 0, "%s failed", cmd);
	WAIT_FOR(step_done(s, v->cidr, cip), 30, "%s: not settled in 30 s", what);
	WAIT_FOR((restarts = pod_restarts(&cond)) == 0 && spread() &&
	                 (s->minion == 0 || strcmp(s->prog, "agent") || cond >= s->minion),
	         30, "%s: pods not all Running with 0 restarts and 3 endpoints in 30 s (restarts %d)", what, restarts);
	same_containers(before, what);
	drain(t);
	fprintf(stderr, "check_upgrade: %-32s settled in %4.1f s, %ld requests, %ld failed\n", what, bed_now() - t0,
	        t->requests - r0, t->failures - f0);
}

/* The old cluster serves: from minion 1 the service has answered from
 * every pod of e. Pods Running is not enough: an app may not listen yet,
 * or a proxy not have the service yet, and the paced client below counts
 * every refused connection as a failure. */
static void
old_serves(const struct bed_eps *e)
{
	char got[BED_MAXA][128], want[BED_MAXA][128];
	int n, failed = 0;

	for (int k = 0; k < e->n; k++)
		snprintf(want[k], sizeof(want[k]), "%s", e->pod[k]);
	n = bed_http_from(1, e->cip, want, e->n, 40 * e->n, 30, got, &failed);
	ck_assert_msg(n == e->n, "the old cluster's %s answered from %d of %d pods in 30 s (%d requests failed)",
	              e->cip, n, e->n, failed);
}

START_TEST(test_upgrade_restarts_nothing)
{
	struct ctrs before;
	struct v1 v;
	struct traffic t = {.last_nl = 1};
	struct bed_eps e;
	int cond = 0;
	double t0;

	if (!ROOT)
		return;
	put_objects();
	WAIT_FOR(spread() && pod_restarts(&cond) == 0, 90, "the old cluster did not run 3 pods, one per minion");
	bed_eps_get(NAME, &e);
	v1_keys(&v);
	take(&before);
	ck_assert_int_eq(before.n, 2 * REPLICAS); /* a sandbox and an app per pod */
	old_serves(&e);
	ck_assert_int_ge(t.pid = bed_http_spawn_every(1, e.cip, 0.02, 600, &t.fd), 0);
	fcntl(t.fd, F_SETFL, O_NONBLOCK);
	WAIT_FOR((drain(&t), t.requests - t.failures >= 10), 10, "the client got no answer from %s", e.cip);
	ck_assert_msg(t.failures == 0, "%ld failures before the upgrade", t.failures);
	t0 = bed_now();
	for (size_t k = 0; k < sizeof(STEPS) / sizeof(STEPS[0]); k++)
		run_step(&STEPS[k], &v, e.cip, &t, &before);
	carried(&v);
	drain(&t);
	close(t.fd);
	waitpid(t.pid, NULL, 0);
	fprintf(stderr, "check_upgrade: upgraded in %.1f s; %ld requests, %ld failed\n", bed_now() - t0, t.requests,
	        t.failures);
	ck_assert_msg(t.failures == 0, "%ld of %ld requests failed during the upgrade", t.failures, t.requests);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("upgrade");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_upgrade_restarts_nothing);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	if (access(OLD_BIN "/skiff-agent", X_OK) != 0) {
		fprintf(stderr, "check_upgrade: no %s/skiff-agent (tests/upgrade/old-build.sh did not build it)\n",
		        OLD_BIN);
		return 1;
	}
	return e2e_run(suite(), "check_upgrade", NMIN, "--bin-dir " OLD_BIN, &ROOT);
}
