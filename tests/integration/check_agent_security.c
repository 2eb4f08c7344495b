/*
 * check_agent_security.c: securityContext and privilege with the real
 * skiff-agent, a real etcd and the real dockerd, seen from inside the
 * containers: each test container reports what it is (`id -u`, `id -g`,
 * `id -G`, a write to its root) through its exit code, which the pod's
 * status carries. Also: runAsNonRoot refuses an image that runs as root;
 * a privileged or hostPID pod is refused on a node without
 * --allow-privileged, a hostPID one runs on a node with it; every
 * container gets the default PID limit.
 *
 * The planner's rules alone are tests/unit/check_agent_plan.c's
 * (tests/fixtures/agent/privileged-*, security-*), the Docker options
 * tests/unit/check_agent_secopts.c's. hostNetwork: refused without
 * --allow-privileged; with it the pod's server answers on the node's own
 * address, which the status reports as podIP.
 *
 * Every container carries skiff.node=tPID-…; the teardown removes them.
 */
#include <arpa/inet.h>
#include <check.h>
#include <jansson.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "docker_harness.h"
#include "etcd_harness.h"
#include "etcd_testutil.h"
#include "th_podhttp.h"
#include "th_proc.h"

#ifndef SKIFF_AGENT
#define SKIFF_AGENT "build/bin/skiff-agent"
#endif

#define BB "\"/bin/busybox\""

static struct th_etcd *E;
static struct etcd_sync *S;
static char RUN[32];

static void
suite_setup(void)
{
	snprintf(RUN, sizeof(RUN), "t%d", (int)getpid());
	if (dh_ensure_dockerd(60) < 0 || dh_ensure_test_image() < 0) {
		fprintf(stderr, "check_agent_security: Docker is not usable\n");
		abort();
	}
	E = th_etcd_start(1, NULL);
	if (!E)
		abort();
}

static void
suite_teardown(void)
{
	dh_remove_where("skiff.node", RUN);
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

/* An agent for node RUN-name under prefix /RUN-name, with extra flags. */
struct node {
	char prefix[64], name[64];
	struct th_proc *agent;
};

static void
node_start(struct node *n, const char *name, const char *extra)
{
	const char *argv[16] = {SKIFF_AGENT,
	                        "--etcd-endpoints",
	                        th_etcd_endpoints(E),
	                        "--prefix",
	                        n->prefix,
	                        "--node-name",
	                        n->name,
	                        "--resync-interval",
	                        "2s",
	                        "--restart-backoff-base",
	                        "1s",
	                        "--log-level",
	                        "debug",
	                        extra,
	                        NULL};

	snprintf(n->prefix, sizeof(n->prefix), "/%s-%s", RUN, name);
	snprintf(n->name, sizeof(n->name), "%s-%s", RUN, name);
	n->agent = th_proc_start(SKIFF_AGENT, (char *const *)argv, NULL);
	ck_assert_ptr_nonnull(n->agent);
}

static void
node_stop(struct node *n, int show_log)
{
	th_proc_free(n->agent, show_log);
	n->agent = NULL;
	dh_remove_where("skiff.node", n->name);
}

static void
bind_pod(const struct node *n, const char *pod, const char *uid, const char *spec)
{
	char key[256], val[8192];

	snprintf(key, sizeof(key), "%s/bindings/%s/%s", n->prefix, n->name, pod);
	snprintf(val, sizeof(val),
	         "{\"node\":\"%s\",\"pod\":{\"metadata\":{\"name\":\"%s\",\"uid\":\"%s\"},\"spec\":%s}}", n->name, pod,
	         uid, spec);
	ck_assert_msg(tu_put(S, key, val) > 0, "put %s failed", key);
}

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

static int
json_str_is(const json_t *j, const char *s)
{
	return json_is_string(j) && strcmp(json_string_value(j), s) == 0;
}

/* A condition on every container row of P/podstatus/NODE/POD: its state
 * has member state ("terminated", "running", "waiting"), and, when reason
 * is set, that waiting reason. */
struct want {
	const struct node *n;
	const char *pod, *state, *reason;
	json_t *last; /* the last status read (owned) */
};

static int
rows_are(void *arg)
{
	struct want *w = arg;
	char key[256];
	json_t *rows, *row, *st;
	size_t i;

	snprintf(key, sizeof(key), "%s/podstatus/%s/%s", w->n->prefix, w->n->name, w->pod);
	json_decref(w->last);
	w->last = get_json(key);
	rows = json_object_get(w->last, "containerStatuses");
	if (json_array_size(rows) == 0)
		return 0;
	json_array_foreach(rows, i, row) {
		st = json_object_get(json_object_get(row, "state"), w->state);
		if (!st || (w->reason && !json_str_is(json_object_get(st, "reason"), w->reason)))
			return 0;
	}
	return 1;
}

static void
wait_rows(struct want *w, double timeout_s)
{
	struct timespec ts;
	double end;
	char *s;
	int ok;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	end = (double)ts.tv_sec + timeout_s;
	while (!(ok = rows_are(w))) {
		clock_gettime(CLOCK_MONOTONIC, &ts);
		if ((double)ts.tv_sec > end)
			break;
		usleep(100 * 1000);
	}
	s = w->last ? json_dumps(w->last, JSON_COMPACT) : NULL;
	if (!ok)
		node_stop((struct node *)w->n, 1);
	ck_assert_msg(ok, "pod %s: rows not all %s %s: %s", w->pod, w->state, w->reason ? w->reason : "",
	              s ? s : "(none)");
	free(s);
}

/* The row of container name in status st. */
static json_t *
row_of(json_t *st, const char *name)
{
	json_t *row;
	size_t i;

	json_array_foreach(json_object_get(st, "containerStatuses"), i, row) {
		if (json_str_is(json_object_get(row, "name"), name))
			return row;
	}
	ck_abort_msg("no row for container %s", name);
	return NULL;
}

static long
exit_code(json_t *st, const char *name)
{
	return (long)json_integer_value(
		json_object_get(json_object_get(json_object_get(row_of(st, name), "state"), "terminated"), "exitCode"));
}

/* Docker's inspect of container name's current container (new). */
static json_t *
inspect(json_t *st, const char *name)
{
	const char *id = json_string_value(json_object_get(row_of(st, name), "containerID"));
	char path[256], *body = NULL;
	json_t *j;

	ck_assert_msg(id && strncmp(id, "docker://", 9) == 0, "container %s has no ID", name);
	snprintf(path, sizeof(path), "/containers/%s/json", id + 9);
	ck_assert_int_eq(dh_request("GET", path, NULL, &body), 200);
	j = json_loads(body, 0, NULL);
	free(body);
	ck_assert_ptr_nonnull(j);
	return j;
}

/* A container that exits with the output of a shell command (a number). */
#define EXIT_WITH(name, cmd, sc) \
	"{\"name\":\"" name "\",\"image\":\"" DH_TEST_IMAGE "\",\"command\":[" BB ",\"sh\",\"-c\",\"" cmd "\"]" sc "}"

/* runAsUser, runAsGroup, fsGroup and supplementalGroups (pod level, one
 * container overriding the user) and readOnlyRootFilesystem, as the
 * containers see them; and the default PID limit. */
START_TEST(test_ids_and_read_only_root)
{
	struct node n;
	struct want w = {&n, "ids", "terminated", NULL, NULL};
	json_t *in;

	node_start(&n, "ids", NULL);
	bind_pod(
		&n, "ids", "201",
		"{\"restartPolicy\":\"Never\",\"terminationGracePeriodSeconds\":1,"
		"\"securityContext\":{\"runAsUser\":77,\"runAsGroup\":88,\"fsGroup\":99,\"supplementalGroups\":[98]},"
		"\"containers\":[" EXIT_WITH("uid", "exit $(/bin/busybox id -u)", "") "," EXIT_WITH("gid", "exit $(/bin/busybox id -g)", "") "," EXIT_WITH(
			"groups",
			"/bin/busybox id -G | /bin/busybox grep -qw 99 && /bin/busybox id -G | "
			"/bin/busybox grep -qw 98",
			"") "," EXIT_WITH("own-uid", "exit $(/bin/busybox id -u)",
	                                  ",\"securityContext\":{\"runAsUser\":55}") "," EXIT_WITH("ro",
	                                                                                           "/bin/busybox touch /probe",
	                                                                                           ",\"securityContext\":{\"runAsUser\":0,\"readOnlyRootFilesystem\":true}") "," EXIT_WITH("rw",
	                                                                                                                                                                                   "/bin/busybox touch /probe",
	                                                                                                                                                                                   ",\"securityContext\":{\"runAsUser\":0}") "]}");
	wait_rows(&w, 60);
	ck_assert_int_eq(exit_code(w.last, "uid"), 77);
	ck_assert_int_eq(exit_code(w.last, "gid"), 88);
	ck_assert_int_eq(exit_code(w.last, "groups"), 0);
	ck_assert_int_eq(exit_code(w.last, "own-uid"), 55);
	ck_assert_int_ne(exit_code(w.last, "ro"), 0); /* a read-only root refuses the write */
	ck_assert_int_eq(exit_code(w.last, "rw"), 0); /* as the same user, a writable one takes it */
	in = inspect(w.last, "uid");
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(in, "HostConfig"), "PidsLimit")), 4096);
	json_decref(in);
	json_decref(w.last);
	node_stop(&n, 0);
}
END_TEST

/* runAsNonRoot with an image whose user is root: never started, waiting
 * with CreateContainerConfigError and Kubernetes' message. */
START_TEST(test_run_as_non_root_refused)
{
	struct node n;
	struct want w = {&n, "nonroot", "waiting", "CreateContainerConfigError", NULL};
	char l1[128], l2[64];
	const char *labels[] = {l1, l2, NULL};
	const char *msg;

	node_start(&n, "nonroot", NULL);
	bind_pod(
		&n, "nonroot", "202",
		"{\"securityContext\":{\"runAsNonRoot\":true},\"containers\":[{\"name\":\"web\",\"image\":\"" DH_TEST_IMAGE
		"\"}]}");
	wait_rows(&w, 30);
	msg = json_string_value(json_object_get(
		json_object_get(json_object_get(row_of(w.last, "web"), "state"), "waiting"), "message"));
	ck_assert_msg(msg && strstr(msg, "image will run as root"), "message: %s", msg ? msg : "(none)");
	snprintf(l1, sizeof(l1), "skiff.node=%s", n.name);
	snprintf(l2, sizeof(l2), "skiff.container=web");
	ck_assert_int_eq(dh_list(labels, NULL), 0);
	json_decref(w.last);
	node_stop(&n, 0);
}
END_TEST

/* A privileged, hostPID pod: refused (no container, a Warning event) by a
 * node without --allow-privileged. A hostPID pod runs on one with it (a
 * privileged container cannot start where the test's dockerd itself runs
 * with fewer capabilities than a privileged container asks for, so the
 * node that allows runs hostPID alone). */
START_TEST(test_privileged_needs_allow)
{
	const char *priv = "{\"hostPID\":true,\"terminationGracePeriodSeconds\":1,\"containers\":[{\"name\":\"web\","
			   "\"image\":\"" DH_TEST_IMAGE "\",\"securityContext\":{\"privileged\":true}}]}";
	const char *host_pid = "{\"hostPID\":true,\"terminationGracePeriodSeconds\":1,\"containers\":[{\"name\":"
			       "\"web\",\"image\":\"" DH_TEST_IMAGE "\"}]}";
	struct node n, ok;
	struct want w = {&n, "priv", "waiting", "PrivilegedNotAllowed", NULL};
	char l1[128], key[256];
	const char *labels[] = {l1, NULL};
	struct etcd_range_opts o = {.prefix = 1, .count_only = 1};
	struct etcd_result *r;
	json_t *in, *hc;

	node_start(&n, "noprv", NULL);
	bind_pod(&n, "priv", "203", priv);
	bind_pod(&n, "hpid", "204", host_pid);
	wait_rows(&w, 30);
	json_decref(w.last);
	w = (struct want){&n, "hpid", "waiting", "PrivilegedNotAllowed", NULL};
	wait_rows(&w, 30);
	snprintf(l1, sizeof(l1), "skiff.node=%s", n.name);
	ck_assert_int_eq(dh_list(labels, NULL), 0);
	snprintf(key, sizeof(key), "%s/nodeevents/%s/pods/priv/", n.prefix, n.name);
	r = etcd_sync_range(S, key, &o);
	ck_assert_msg(r && r->err.code == ETCD_OK && r->count >= 1, "no event under %s", key);
	etcd_result_free(r);
	json_decref(w.last);
	node_stop(&n, 0);

	node_start(&ok, "prv", "--allow-privileged");
	bind_pod(&ok, "hpid", "205", host_pid);
	w = (struct want){&ok, "hpid", "running", NULL, NULL};
	wait_rows(&w, 60);
	in = inspect(w.last, "web");
	hc = json_object_get(in, "HostConfig");
	ck_assert_str_eq(json_string_value(json_object_get(hc, "PidMode")), "host");
	ck_assert_int_eq(json_integer_value(json_object_get(hc, "PidsLimit")), 4096); /* the flag's default */
	json_decref(in);
	json_decref(w.last);
	node_stop(&ok, 0);
}
END_TEST

/* A TCP port free on this host now. */
static int
free_port(void)
{
	int port = th_free_port();

	ck_assert_int_gt(port, 0);
	return port;
}

/* 0 once a TCP connect to ip:port succeeds within timeout_s, else -1. */
static int
dial_until(const char *ip, int port, double timeout_s)
{
	struct timespec ts;
	double end;
	int fd;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	end = (double)ts.tv_sec + timeout_s;
	for (;;) {
		if ((fd = th_http_dial(ip, port, 2)) >= 0) {
			close(fd);
			return 0;
		}
		clock_gettime(CLOCK_MONOTONIC, &ts);
		if ((double)ts.tv_sec > end)
			return -1;
		usleep(100 * 1000);
	}
}

/* hostNetwork: refused by a node without --allow-privileged; on one with
 * it the sandbox is in the host's network namespace (no port mapping: the
 * container port is the node's), podIP is the node's address, and the
 * container's server answers there. */
START_TEST(test_host_network)
{
	char spec[1024], key[256], ip[64];
	int port = free_port();
	struct node n, ok;
	struct want w = {&n, "hnet", "waiting", "PrivilegedNotAllowed", NULL};
	json_t *st, *in, *hc;
	const char *msg, *nm;
	char *body = NULL;

	snprintf(spec, sizeof(spec),
	         "{\"hostNetwork\":true,\"terminationGracePeriodSeconds\":1,\"containers\":[{\"name\":\"web\","
	         "\"image\":\"" DH_TEST_IMAGE "\",\"command\":[" BB ",\"httpd\",\"-f\",\"-p\",\"%d\",\"-h\",\"/\"],"
	         "\"ports\":[{\"containerPort\":%d}]}]}",
	         port, port);
	node_start(&n, "nohn", NULL);
	bind_pod(&n, "hnet", "206", spec);
	wait_rows(&w, 30);
	msg = json_string_value(json_object_get(
		json_object_get(json_object_get(row_of(w.last, "web"), "state"), "waiting"), "message"));
	ck_assert_msg(msg && strstr(msg, "hostNetwork is not allowed"), "message: %s", msg ? msg : "(none)");
	json_decref(w.last);
	node_stop(&n, 0);

	node_start(&ok, "hn", "--allow-privileged");
	bind_pod(&ok, "hnet", "207", spec);
	w = (struct want){&ok, "hnet", "running", NULL, NULL};
	wait_rows(&w, 60);
	snprintf(key, sizeof(key), "%s/nodestatus/%s", ok.prefix, ok.name);
	st = get_json(key);
	snprintf(ip, sizeof(ip), "%s",
	         json_string_value(json_object_get(
			 json_array_get(json_object_get(json_object_get(st, "status"), "addresses"), 0), "address"))
	                 ?: "");
	json_decref(st);
	ck_assert_str_ne(ip, "");
	ck_assert_str_eq(json_string_value(json_object_get(w.last, "podIP")) ?: "(none)", ip);
	ck_assert_msg(dial_until(ip, port, 20) == 0, "nothing answers on %s:%d", ip, port);
	in = inspect(w.last, "web");
	nm = json_string_value(json_object_get(json_object_get(in, "HostConfig"), "NetworkMode"));
	ck_assert_msg(nm && strncmp(nm, "container:", 10) == 0, "app NetworkMode %s", nm ? nm : "(none)");
	snprintf(key, sizeof(key), "/containers/%s/json", nm + 10);
	ck_assert_int_eq(dh_request("GET", key, NULL, &body), 200);
	json_decref(in);
	in = json_loads(body, 0, NULL);
	free(body);
	hc = json_object_get(in, "HostConfig");
	ck_assert_str_eq(json_string_value(json_object_get(hc, "NetworkMode")) ?: "", "host"); /* the sandbox */
	ck_assert_int_eq(json_object_size(json_object_get(hc, "PortBindings")), 0);
	json_decref(in);
	json_decref(w.last);
	node_stop(&ok, 0);
	ck_assert_msg(dial_until(ip, port, 0) < 0, "the pod's server still answers after the node stopped");
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("agent_security");
	TCase *tc = tcase_create("core");

	tcase_add_unchecked_fixture(tc, suite_setup, suite_teardown);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_ids_and_read_only_root);
	tcase_add_test(tc, test_run_as_non_root_refused);
	tcase_add_test(tc, test_privileged_needs_allow);
	tcase_add_test(tc, test_host_network);
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
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
