/*
 * check_deployment.c: skiff-deployment-controller with the real
 * skiff-replication-controller against a real etcd. No Docker: the test
 * plays scheduler and agent, binding every pod it finds to node n1 and
 * writing a ready status for it a little later (LAG), as a pod that takes
 * a while to start would. While a deployment rolls from one image to
 * another the test counts, at every look (every 20 ms), the pods in etcd
 * and the ready ones: never more than replicas + maxSurge, never fewer
 * than replicas - maxUnavailable ready. Then the same with the
 * deployment controller killed mid-rollout and a standby taking over;
 * Recreate; pause and going back; a hash collision; the progress
 * deadline; deleting the deployment.
 */
#include <check.h>
#include <ev.h>
#include <inttypes.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/api.h"
#include "etcd_harness.h"
#include "etcd_testutil.h"
#include "th_proc.h"

#define P "/skiff"
#define DC_BIN "build/bin/skiff-deployment-controller"
#define RC_BIN "build/bin/skiff-replication-controller"
#define LAG 0.3 /* seconds from a pod's creation to its ready status */
#define MAX_PODS 64

static struct th_etcd *E;
static struct ev_loop *L;
static struct etcd_sync *S;
static struct th_proc *RCP, *DCA, *DCB;

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static struct th_proc *
start(const char *bin, const char *name)
{
	char ep[512];
	char *argv[] = {(char *)name, ep, "--prefix=" P, "--log-level=debug", NULL};
	struct th_proc *p;

	snprintf(ep, sizeof(ep), "--etcd-endpoints=%s", th_etcd_endpoints(E));
	ck_assert_ptr_nonnull(p = th_proc_start(bin, argv, NULL));
	return p;
}

static void
setup(void)
{
	struct etcd_config cfg;
	struct etcd_error err = {0};

	ck_assert_ptr_nonnull(E = th_etcd_start(1, NULL));
	L = ev_loop_new(EVFLAG_AUTO);
	tu_config(E, &cfg);
	ck_assert_msg((S = etcd_sync_new(&cfg, &err)) != NULL, "%s", tu_err(&err));
	RCP = start(RC_BIN, "skiff-replication-controller");
	DCA = start(DC_BIN, "skiff-deployment-controller");
	DCB = NULL;
}

static void
teardown(void)
{
	int failed = 0; /* logs are printed by WAIT on failure */

	th_proc_free(DCB, failed);
	th_proc_free(DCA, failed);
	th_proc_free(RCP, failed);
	etcd_sync_free(S);
	ev_loop_destroy(L);
	th_etcd_free(E);
}

#define WAIT(cond, arg, t)                                                                      \
	do {                                                                                    \
		if (th_wait(L, (cond), (arg), (t)) != 0) {                                      \
			th_proc_free(DCB, 1);                                                   \
			th_proc_free(DCA, 1);                                                   \
			DCA = DCB = NULL;                                                       \
			ck_abort_msg("timed out after %gs waiting for %s", (double)(t), #cond); \
		}                                                                               \
	} while (0)

/* ---- the deployment ---- */

/* P/deployments/NAME with extra spec members ("" or "\"paused\":true,"). */
static int64_t
put_deployment_with(const char *name, int replicas, const char *image, const char *strategy, int deadline,
                    const char *extra)
{
	char key[128], json[2048];

	snprintf(key, sizeof(key), P "/deployments/%s", name);
	snprintf(json, sizeof(json),
	         "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"%s\"},"
	         "\"spec\":{%s\"replicas\":%d,\"selector\":{\"matchLabels\":{\"app\":\"%s\"}},\"strategy\":%s,"
	         "\"progressDeadlineSeconds\":%d,\"revisionHistoryLimit\":1,"
	         "\"template\":{\"metadata\":{\"labels\":{\"app\":\"%s\"}},"
	         "\"spec\":{\"containers\":[{\"name\":\"web\",\"image\":\"%s\"}]}}}}",
	         name, extra, replicas, name, strategy, deadline, name, image);
	return tu_put(S, key, json);
}

static int64_t
put_deployment(const char *name, int replicas, const char *image, const char *strategy, int deadline)
{
	return put_deployment_with(name, replicas, image, strategy, deadline, "");
}

/* The value of key parsed (json_decref), NULL when absent. */
static json_t *
get_json(const char *key)
{
	struct etcd_result *r = etcd_sync_get(S, key);
	json_t *j = NULL;

	if (r && r->err.code == ETCD_OK && r->nkvs == 1)
		j = json_loadb(r->kvs[0].value, r->kvs[0].value_len, 0, NULL);
	etcd_result_free(r);
	return j;
}

static int
count(const char *dir)
{
	char key[128];
	struct etcd_range_opts o = {.prefix = 1, .count_only = 1};
	struct etcd_result *r;
	int n;

	snprintf(key, sizeof(key), P "/%s/", dir);
	r = etcd_sync_range(S, key, &o);
	TU_OK(r);
	n = (int)r->count;
	etcd_result_free(r);
	return n;
}

/* ---- the test's scheduler and agent ---- */

struct pod {
	char name[64];
	int64_t uid;
	double first;
	int ready;
	char image[64];
};

/* What a look at P/pods/ found, and the bounds checked at each. */
struct world {
	struct pod pods[MAX_PODS];
	int n;
	int check;              /* count violations */
	int max_pods, min_pods; /* bounds: pods <= max_pods, ready >= min_pods */
	int worst_pods, worst_ready, looks;
	const char *image; /* the image the rollout goes to */
	int replicas;
	const char *name;
	int64_t dep_rev;
};

static void
put_ready(struct pod *p)
{
	char key[192], val[512];

	ck_assert_int_gt(tu_put_binding(S, P, "n1", p->name, p->uid), 0);
	snprintf(key, sizeof(key), P "/podstatus/n1/%s", p->name);
	snprintf(val, sizeof(val),
	         "{\"uid\":\"%" PRId64 "\",\"phase\":\"Running\",\"containerStatuses\":"
	         "[{\"name\":\"web\",\"ready\":true,\"restartCount\":0,\"state\":{\"running\":{}}}]}",
	         p->uid);
	ck_assert_int_gt(tu_put(S, key, val), 0);
	p->ready = 1;
}

static struct pod *
find(struct world *w, const char *name, int64_t uid)
{
	for (int i = 0; i < w->n; i++)
		if (strcmp(w->pods[i].name, name) == 0 && w->pods[i].uid == uid)
			return &w->pods[i];
	return NULL;
}

/* List P/pods/: keep what is there, make pods LAG old ready, count. */
static void
look(struct world *w)
{
	struct etcd_range_opts o = {.prefix = 1};
	struct etcd_result *r = etcd_sync_range(S, P "/pods/", &o);
	struct world next = *w;
	int ready = 0;

	TU_OK(r);
	next.n = 0;
	for (size_t i = 0; i < r->nkvs && next.n < MAX_PODS; i++) {
		json_t *j = json_loadb(r->kvs[i].value, r->kvs[i].value_len, 0, NULL);
		const char *name = json_string_value(json_object_get(json_object_get(j, "metadata"), "name"));
		const char *img = json_string_value(json_object_get(
			json_array_get(json_object_get(json_object_get(j, "spec"), "containers"), 0), "image"));
		struct pod *p = name ? find(w, name, r->kvs[i].create_revision) : NULL, *q = &next.pods[next.n++];

		if (p)
			*q = *p;
		else {
			memset(q, 0, sizeof(*q));
			snprintf(q->name, sizeof(q->name), "%s", name ? name : "?");
			snprintf(q->image, sizeof(q->image), "%s", img ? img : "?");
			q->uid = r->kvs[i].create_revision;
			q->first = now_s();
		}
		if (!q->ready && now_s() - q->first >= LAG)
			put_ready(q);
		ready += q->ready;
		json_decref(j);
	}
	etcd_result_free(r);
	*w = next;
	w->looks++;
	if (w->check && (next.n > w->worst_pods))
		w->worst_pods = next.n;
	if (w->check && ready < w->worst_ready)
		w->worst_ready = ready;
}

/* th_wait cond: the rollout is done (status says so and the pods agree). */
static int
rolled(void *arg)
{
	struct world *w = arg;
	char key[128];
	json_t *st;
	int ok, ready = 0, right = 0;

	look(w);
	for (int i = 0; i < w->n; i++) {
		ready += w->pods[i].ready;
		right += strcmp(w->pods[i].image, w->image) == 0;
	}
	snprintf(key, sizeof(key), P "/deploymentstatus/%s", w->name);
	if (!(st = get_json(key)))
		return 0;
	ok = json_integer_value(json_object_get(st, "observedRevision")) >= w->dep_rev &&
	     json_integer_value(json_object_get(st, "updatedReplicas")) == w->replicas &&
	     json_integer_value(json_object_get(st, "availableReplicas")) == w->replicas &&
	     json_integer_value(json_object_get(st, "replicas")) == w->replicas && w->n == w->replicas &&
	     ready == w->replicas && right == w->replicas;
	json_decref(st);
	return ok;
}

static void
start_world(struct world *w, const char *name, int replicas, const char *image, int64_t rev)
{
	memset(w, 0, sizeof(*w));
	w->name = name;
	w->replicas = replicas;
	w->image = image;
	w->dep_rev = rev;
}

/* Roll to image under the bounds; returns the looks it took. */
static void
roll_checked(struct world *w, const char *strategy, const char *image, int surge, int unav)
{
	w->image = image;
	w->check = 1;
	w->worst_pods = 0;
	w->worst_ready = w->replicas;
	w->max_pods = w->replicas + surge;
	w->min_pods = w->replicas - unav;
	w->dep_rev = put_deployment(w->name, w->replicas, image, strategy, 600);
	WAIT(rolled, w, 60);
	fprintf(stderr, "%s: %d looks, at most %d pods (bound %d), at least %d ready (bound %d)\n", w->name, w->looks,
	        w->worst_pods, w->max_pods, w->worst_ready, w->min_pods);
	ck_assert_int_le(w->worst_pods, w->max_pods);
	ck_assert_int_ge(w->worst_ready, w->min_pods);
}

#define ROLLING(s, u) "{\"type\":\"RollingUpdate\",\"rollingUpdate\":{\"maxSurge\":" s ",\"maxUnavailable\":" u "}}"

/* th_wait cond: the controllers owned by w->name number w->replicas
 * (reused as the count wanted). */
static int
controllers_are(void *arg)
{
	struct world *w = arg;

	look(w);
	return count("controllers") == w->max_pods;
}

/* The revision annotation of the controller of w's first pod (new). */
static char *
revision_of_pods(const struct world *w)
{
	char key[128], *dash = w->n ? strrchr(w->pods[0].name, '-') : NULL, *rev = NULL;
	json_t *rc;

	ck_assert_ptr_nonnull(dash);
	snprintf(key, sizeof(key), P "/controllers/%.*s", (int)(dash - w->pods[0].name), w->pods[0].name);
	rc = get_json(key);
	ck_assert_ptr_nonnull(rc);
	rev = strdup(json_string_value(json_object_get(json_object_get(json_object_get(rc, "metadata"), "annotations"),
	                                               "deployment.kubernetes.io/revision")));
	json_decref(rc);
	return rev;
}

START_TEST(test_rolling_update)
{
	struct world w;
	int64_t rev = put_deployment("web", 6, "img:a", ROLLING("1", "\"25%\""), 600);
	char *r;

	start_world(&w, "web", 6, "img:a", rev);
	WAIT(rolled, &w, 60);
	/* 6 replicas: surge 1, unavailable 25% = 1 (1.5 rounded down). */
	roll_checked(&w, ROLLING("1", "\"25%\""), "img:b", 1, 1);
	/* 50% surge (3), none unavailable. */
	roll_checked(&w, ROLLING("\"50%\"", "0"), "img:c", 3, 0);
	/* The current controller has revision 3; revisionHistoryLimit 1
	 * leaves one old controller. */
	w.max_pods = 2;
	w.check = 0;
	WAIT(controllers_are, &w, 30);
	r = revision_of_pods(&w);
	ck_assert_str_eq(r, "3");
	free(r);
}
END_TEST

/* th_wait cond: the rollout is under way (a second controller exists and
 * some new pod is ready), looking at the bounds meanwhile. */
static int
mid_rollout(void *arg)
{
	struct world *w = arg;
	int newer = 0;

	look(w);
	for (int i = 0; i < w->n; i++)
		newer += w->pods[i].ready && strcmp(w->pods[i].image, w->image) == 0;
	return count("controllers") == 2 && newer >= 1;
}

static int
leads(void *arg)
{
	return th_proc_log_has(arg, "became leader");
}

/* The leader dies (SIGKILL) in the middle of a rollout; the standby takes
 * over from etcd and finishes within the same bounds. */
START_TEST(test_kill_mid_rollout)
{
	struct world w;
	int64_t rev;

	WAIT(leads, DCA, 20);
	DCB = start(DC_BIN, "skiff-deployment-controller");
	rev = put_deployment("ha", 8, "img:a", ROLLING("1", "0"), 600);
	start_world(&w, "ha", 8, "img:a", rev);
	WAIT(rolled, &w, 60);
	w.image = "img:b";
	w.check = 1;
	w.worst_ready = 8;
	w.max_pods = 9;
	w.min_pods = 8;
	w.dep_rev = put_deployment("ha", 8, "img:b", ROLLING("1", "0"), 600);
	WAIT(mid_rollout, &w, 60);
	ck_assert_msg(!th_proc_log_has(DCB, "became leader"), "both deployment controllers lead");
	th_proc_kill(DCA);
	fprintf(stderr, "ha: killed the leader mid-rollout\n");
	WAIT(rolled, &w, 90);
	ck_assert_msg(th_proc_log_has(DCB, "became leader"), "the standby did not take over");
	fprintf(stderr, "ha: at most %d pods (bound 9), at least %d ready (bound 8)\n", w.worst_pods, w.worst_ready);
	ck_assert_int_le(w.worst_pods, 9);
	ck_assert_int_ge(w.worst_ready, 8);
}
END_TEST

/* th_wait cond for Recreate: remembers whether pods of both images ever
 * existed at once. */
static int
recreated(void *arg)
{
	struct world *w = arg;
	int old = 0, cur = 0;

	look(w);
	for (int i = 0; i < w->n; i++) {
		cur += strcmp(w->pods[i].image, w->image) == 0;
		old += strcmp(w->pods[i].image, w->image) != 0;
	}
	if (old && cur)
		w->worst_pods = -1;
	return rolled(w);
}

START_TEST(test_recreate)
{
	struct world w;
	int64_t rev = put_deployment("rec", 3, "img:a", "{\"type\":\"Recreate\"}", 600);

	start_world(&w, "rec", 3, "img:a", rev);
	WAIT(rolled, &w, 60);
	w.image = "img:b";
	w.dep_rev = put_deployment("rec", 3, "img:b", "{\"type\":\"Recreate\"}", 600);
	WAIT(recreated, &w, 60);
	ck_assert_msg(w.worst_pods != -1, "old and new pods existed at once");
}
END_TEST

/* What a th_wait cond looks for in P/deploymentstatus/NAME. */
struct cond_want {
	const char *name, *status, *reason;
};

/* th_wait cond: Progressing has that status and reason. */
static int
progressing_is(void *arg)
{
	const struct cond_want *w = arg;
	char key[128];
	json_t *st, *c;
	size_t i;
	int ok = 0;

	snprintf(key, sizeof(key), P "/deploymentstatus/%s", w->name);
	st = get_json(key);
	json_array_foreach(json_object_get(st, "conditions"), i, c)
		ok |= strcmp(json_string_value(json_object_get(c, "type")), "Progressing") == 0 &&
		      strcmp(json_string_value(json_object_get(c, "status")), w->status) == 0 &&
		      strcmp(json_string_value(json_object_get(c, "reason")), w->reason) == 0;
	json_decref(st);
	return ok;
}

/* Pods that never become ready: after progressDeadlineSeconds the
 * deployment says so. */
START_TEST(test_progress_deadline)
{
	double t0 = now_s();
	struct cond_want w = {"slow", "False", "ProgressDeadlineExceeded"};

	put_deployment("slow", 2, "img:a", ROLLING("1", "0"), 2);
	WAIT(progressing_is, &w, 30);
	ck_assert_double_ge(now_s() - t0, 2.0);
}
END_TEST

/* Paused: a new template makes nothing; resumed, it rolls. Going back to
 * the first template reuses its controller with the next revision. */
START_TEST(test_pause_and_back)
{
	struct world w;
	struct cond_want paused = {"pb", "Unknown", "DeploymentPaused"};
	int64_t rev = put_deployment("pb", 3, "img:a", ROLLING("1", "1"), 600);
	char *r;

	start_world(&w, "pb", 3, "img:a", rev);
	WAIT(rolled, &w, 60);
	put_deployment_with("pb", 3, "img:b", ROLLING("1", "1"), 600, "\"paused\":true,");
	WAIT(progressing_is, &paused, 30);
	look(&w);
	ck_assert_int_eq(count("controllers"), 1);
	for (int i = 0; i < w.n; i++)
		ck_assert_str_eq(w.pods[i].image, "img:a");
	roll_checked(&w, ROLLING("1", "1"), "img:b", 1, 1);
	roll_checked(&w, ROLLING("1", "1"), "img:a", 1, 1);
	ck_assert_int_eq(count("controllers"), 2);
	r = revision_of_pods(&w);
	ck_assert_str_eq(r, "3");
	free(r);
}
END_TEST

/* th_wait cond: the deployment's status says collisionCount 1 and its
 * pods run (w->name's rollout is done). */
static int
collided(void *arg)
{
	struct world *w = arg;
	json_t *st = get_json(P "/deploymentstatus/col");
	int n = (int)json_integer_value(json_object_get(st, "collisionCount"));

	json_decref(st);
	return n == 1 && rolled(w);
}

/* A controller named NAME-HASH that is not the deployment's (a user's,
 * with another template) is left alone: collisionCount goes to 1 and the
 * deployment's controller gets the next hash. */
START_TEST(test_hash_collision)
{
	static const char tmpl[] = "{\"metadata\":{\"labels\":{\"app\":\"col\"}},"
				   "\"spec\":{\"containers\":[{\"name\":\"web\",\"image\":\"img:a\"}]}}";
	struct api_errors errs = {0};
	struct api_pod *t = api_parse(API_POD, tmpl, strlen(tmpl), &errs);
	struct world w;
	char hash[16], key[128], json[512];
	json_t *mine;
	int64_t rev;

	ck_assert_ptr_nonnull(t);
	ck_assert_int_eq(api_template_hash(t, 0, hash, sizeof(hash)), 0);
	api_pod_free(t);
	api_errors_clear(&errs);
	snprintf(key, sizeof(key), P "/controllers/col-%s", hash);
	snprintf(json, sizeof(json),
	         "{\"metadata\":{\"name\":\"col-%s\"},\"spec\":{\"replicas\":0,\"selector\":{\"app\":\"other\"},"
	         "\"template\":{\"metadata\":{\"labels\":{\"app\":\"other\"}},"
	         "\"spec\":{\"containers\":[{\"name\":\"x\",\"image\":\"img:x\"}]}}}}",
	         hash);
	ck_assert_int_gt(tu_put(S, key, json), 0);
	rev = put_deployment("col", 2, "img:a", ROLLING("1", "1"), 600);
	start_world(&w, "col", 2, "img:a", rev);
	WAIT(collided, &w, 60);
	mine = get_json(key);
	ck_assert_ptr_nonnull(mine);
	ck_assert_ptr_null(json_object_get(json_object_get(mine, "metadata"), "ownerReferences"));
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(mine, "spec"), "replicas")), 0);
	json_decref(mine);
	ck_assert_int_eq(count("controllers"), 2);
}
END_TEST

static int
all_gone(void *arg)
{
	(void)arg;
	return count("controllers") == 0 && count("pods") == 0 && count("deploymentstatus") == 0;
}

/* Deleting the deployment deletes its controllers, hence their pods, and
 * its status. */
START_TEST(test_delete)
{
	struct world w;
	int64_t rev = put_deployment("gone", 3, "img:a", ROLLING("1", "1"), 600);
	struct etcd_result *r;

	start_world(&w, "gone", 3, "img:a", rev);
	WAIT(rolled, &w, 60);
	r = etcd_sync_delete(S, P "/deployments/gone", NULL);
	TU_OK(r);
	etcd_result_free(r);
	WAIT(all_gone, NULL, 30);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("deployment");
	TCase *core = tcase_create("core"), *limits = tcase_create("limits");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(core, setup, teardown);
	tcase_add_checked_fixture(limits, setup, teardown);
	tcase_set_timeout(core, 180);
	tcase_set_timeout(limits, 240);
	tcase_add_test(core, test_rolling_update);
	tcase_add_test(core, test_recreate);
	tcase_add_test(core, test_delete);
	tcase_add_test(core, test_pause_and_back);
	tcase_add_test(core, test_hash_collision);
	tcase_add_test(limits, test_progress_deadline);
	tcase_add_test(limits, test_kill_mid_rollout);
	suite_add_tcase(s, core);
	suite_add_tcase(s, limits);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
