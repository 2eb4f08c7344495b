/*
 * check_rollout.c: a Deployment rolls on three minions of tests/cluster
 * (root, Docker) while its controller is killed. Deployment "roll": 4
 * pods of the test image with a readinessProbe (httpGet, 1 s), strategy
 * RollingUpdate maxSurge 1 maxUnavailable 0. Its template's image changes
 * to a second tag of the test image; once the new controller has a ready
 * pod, skiff-deployment-controller is killed with SIGKILL and started
 * again (it takes over once the dead one's election lease expires).
 * Meanwhile the test looks at the cluster about every 50 ms, each look one
 * etcd read at one revision: the pods of the Deployment's controllers that
 * are not being deleted never number more than replicas + maxSurge (5),
 * and those whose status says Ready never fewer than replicas -
 * maxUnavailable (4). The rollout completes within 180 s: status
 * updatedReplicas = availableReplicas = replicas = 4 for the latest
 * spec, and the old controller at 0 replicas.
 *
 * It does not send traffic (bench/rollout_bench does) nor test the
 * arithmetic (tests/unit's deployment cases and check_deployment do).
 * Without root it says so and passes.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "e2e_bed.h"

#define NMIN 3
#define NAME "roll"
#define REPLICAS 4
#define SURGE 1
#define UNAVAILABLE 0
#define IMAGE_A "skiff/test-httpd:latest"
#define IMAGE_B "skiff/test-httpd:rolled"

static int ROOT;

static const char APP[] = "echo \"pod=$(/bin/busybox hostname)\" > /www/index.html; trap 'exit 0' TERM; "
			  "/bin/busybox httpd -f -p 80 -h /www & wait";

/* ---------------------------------------------------------------- objects */

static long long
put_deployment(const char *image)
{
	json_t *c = json_pack("{s:s, s:s, s:s, s:[s,s,s,s], s:[{s:i}], s:{s:{s:s, s:i}, s:i}}", "name", "httpd",
	                      "image", image, "imagePullPolicy", "Never", "command", "/bin/busybox", "sh", "-c", APP,
	                      "ports", "containerPort", 80, "readinessProbe", "httpGet", "path", "/", "port", 80,
	                      "periodSeconds", 1);
	json_t *d =
		json_pack("{s:s, s:s, s:{s:s}, s:{s:i, s:{s:{s:s}}, s:{s:s, s:{s:i, s:i}}, s:{s:{s:{s:s}}, "
	                  "s:{s:[o], s:i}}}}",
	                  "apiVersion", "apps/v1", "kind", "Deployment", "metadata", "name", NAME, "spec", "replicas",
	                  REPLICAS, "selector", "matchLabels", "app", NAME, "strategy", "type", "RollingUpdate",
	                  "rollingUpdate", "maxSurge", SURGE, "maxUnavailable", UNAVAILABLE, "template", "metadata",
	                  "labels", "app", NAME, "spec", "containers", c, "terminationGracePeriodSeconds", 10);
	long long mod = 0;
	json_t *back;

	ck_assert_ptr_nonnull(d);
	ck_assert_int_eq(bed_put_json("deployments/" NAME, d), 0);
	json_decref(d);
	ck_assert_ptr_nonnull(back = bed_get("deployments/" NAME, &mod));
	json_decref(back);
	return mod;
}

/* ---------------------------------------------------------------- looks */

struct look {
	int pods, ready, controllers, new_ready;
	int worst_pods, worst_ready, looks;
	long long observed, updated, available, replicas;
};

static long long
jint(json_t *j, const char *k)
{
	return (long long)json_integer_value(json_object_get(j, k));
}

/* The name of the controller owning pod p ("" none). */
static const char *
owner(json_t *p)
{
	json_t *refs = json_object_get(json_object_get(p, "metadata"), "ownerReferences"), *r;
	size_t i;

	json_array_foreach(refs, i, r) {
		if (strcmp(json_string_value(json_object_get(r, "kind")) ?: "", "ReplicationController") == 0)
			return json_string_value(json_object_get(r, "name")) ?: "";
	}
	return "";
}

/* Status s says Ready True. */
static int
ready(json_t *s)
{
	json_t *c;
	size_t i;

	json_array_foreach(json_object_get(s, "conditions"), i, c) {
		if (strcmp(json_string_value(json_object_get(c, "type")) ?: "", "Ready") == 0)
			return strcmp(json_string_value(json_object_get(c, "status")) ?: "", "True") == 0;
	}
	return 0;
}

/* The status of pod name on any node in snapshot all (borrowed), or NULL. */
static json_t *
status_of(json_t *all, const char *name)
{
	char k[256];
	json_t *s;

	for (int i = 1; i <= NMIN; i++) {
		snprintf(k, sizeof(k), "podstatus/m%d/%s", i, name);
		if ((s = json_object_get(all, k)))
			return s;
	}
	return NULL;
}

/* Count pod p of snapshot all into l when a controller of NAME owns it
 * and it is not being deleted. */
static void
count_pod(struct look *l, json_t *all, const char *name, json_t *p)
{
	const char *rc = owner(p), *img;
	json_t *s;

	if (strncmp(rc, NAME "-", strlen(NAME) + 1) != 0 ||
	    json_object_get(json_object_get(p, "metadata"), "deletionGracePeriodSeconds"))
		return;
	l->pods++;
	if (!(s = status_of(all, name)) || !ready(s))
		return;
	l->ready++;
	img = json_string_value(
		json_object_get(json_array_get(json_object_get(json_object_get(p, "spec"), "containers"), 0), "image"));
	l->new_ready += img && strcmp(img, IMAGE_B) == 0;
}

/* One look at the cluster (one read at one revision) into l. */
static void
look(struct look *l)
{
	json_t *all = bed_snapshot(""), *v, *st;
	const char *k;

	ck_assert_ptr_nonnull(all);
	l->pods = l->ready = l->controllers = l->new_ready = 0;
	json_object_foreach(all, k, v) {
		if (strncmp(k, "pods/", 5) == 0)
			count_pod(l, all, k + 5, v);
		l->controllers += strncmp(k, "controllers/" NAME "-", strlen("controllers/" NAME "-")) == 0;
	}
	st = json_object_get(all, "deploymentstatus/" NAME);
	l->observed = jint(st, "observedRevision");
	l->updated = jint(st, "updatedReplicas");
	l->available = jint(st, "availableReplicas");
	l->replicas = jint(st, "replicas");
	json_decref(all);
	l->looks++;
	if (l->pods > l->worst_pods)
		l->worst_pods = l->pods;
	if (l->ready < l->worst_ready)
		l->worst_ready = l->ready;
}

static int
complete(const struct look *l, long long rev)
{
	return l->observed >= rev && l->updated == REPLICAS && l->available == REPLICAS && l->replicas == REPLICAS;
}

/* The only controller of NAME now, into buf. */
static void
only_controller(char *buf, size_t len)
{
	char names[8][128];
	int n = bed_list("controllers/" NAME "-", names, 8);

	ck_assert_int_eq(n, 1);
	snprintf(buf, len, "%s", names[0]);
}

static long long
replicas_of(const char *rc)
{
	char k[192];
	json_t *c;
	long long n;

	snprintf(k, sizeof(k), "controllers/%s", rc);
	if (!(c = bed_get(k, NULL)))
		return -1;
	n = jint(json_object_get(c, "spec"), "replicas");
	json_decref(c);
	return n;
}

static int
plane(const char *verb)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "tests/cluster %s skiff-deployment-controller", verb);
	return system(cmd) == 0 ? 0 : -1;
}

/* ---------------------------------------------------------------- test */

START_TEST(test_rollout_controller_killed)
{
	struct look l = {0};
	char old[128];
	long long rev;
	double t0, end;
	int killed = 0;

	if (!ROOT)
		return;
	rev = put_deployment(IMAGE_A);
	for (end = bed_now() + 120; !complete(&l, rev); usleep(200 * 1000)) {
		ck_assert_msg(bed_now() < end, "the first rollout did not complete in 120 s (%d pods, %lld available)",
		              l.pods, l.available);
		look(&l);
	}
	only_controller(old, sizeof(old));
	ck_assert_int_eq(bed_docker_tag(IMAGE_A, "skiff/test-httpd", "rolled"), 0);
	l.worst_pods = 0;
	l.worst_ready = REPLICAS;
	t0 = bed_now();
	rev = put_deployment(IMAGE_B);
	for (end = t0 + 180; !complete(&l, rev) || replicas_of(old) != 0; usleep(50 * 1000)) {
		ck_assert_msg(
			bed_now() < end,
			"not rolled in 180 s: %d pods, %d ready, status updated %lld available %lld; old %s at %lld",
			l.pods, l.ready, l.updated, l.available, old, replicas_of(old));
		look(&l);
		ck_assert_msg(l.pods <= REPLICAS + SURGE, "%d pods (bound %d)", l.pods, REPLICAS + SURGE);
		ck_assert_msg(l.ready >= REPLICAS - UNAVAILABLE, "%d ready (bound %d)", l.ready,
		              REPLICAS - UNAVAILABLE);
		if (!killed && l.controllers == 2 && l.new_ready >= 1) {
			ck_assert_int_eq(plane("kill-plane"), 0);
			ck_assert_int_eq(plane("start-plane"), 0);
			fprintf(stderr, "check_rollout: killed the deployment controller at %.1f s, %d new ready\n",
			        bed_now() - t0, l.new_ready);
			killed = 1;
		}
	}
	fprintf(stderr,
	        "check_rollout: rolled in %.1f s, %d looks, at most %d pods (bound %d), at least %d ready (bound %d)\n",
	        bed_now() - t0, l.looks, l.worst_pods, REPLICAS + SURGE, l.worst_ready, REPLICAS - UNAVAILABLE);
	ck_assert_msg(killed, "the rollout finished before the controller could be killed mid-way");
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("rollout");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 360);
	tcase_add_test(tc, test_rollout_controller_killed);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(suite());
	int failed;

	ROOT = geteuid() == 0;
	if (!ROOT)
		fprintf(stderr, "check_rollout: not root: needs network namespaces and dockerd; skipped\n");
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
