/*
 * check_replication.c: skiff-replication-controller (the real binary)
 * against a real etcd. One etcd for the suite; each test has its own
 * --prefix. A watch on P/pods/ in the test counts pods as they come and go
 * and remembers the most it ever saw, so "never more than N" is checked
 * at every revision, not only at the end. No scheduler or agent runs: the
 * tests write bindings and pod status themselves (and forged statuses
 * from a node a pod is not bound to, which must not count), and statuses
 * with a Ready condition for availableReplicas under minReadySeconds. The batch of creates
 * (rc_batch.c) is also tried alone, with one name taken. Two controllers
 * at once: one leads, the other takes over when it dies.
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

#include "etcd_harness.h"
#include "etcd_testutil.h"
#include "th_proc.h"

#include "controllers/replication/rc.h"

#define RC_BIN "build/bin/skiff-replication-controller"

static struct th_etcd *E;
static struct ev_loop *L;
static struct etcd_sync *S;
static char P[64]; /* the test's prefix */

/* ---- the pod watcher ---- */

struct podwatch {
	struct etcd_client *c;
	struct etcd_watch *w;
	int count, max, created;
	int deletes_seen;
};
static struct podwatch W;

static void
pw_cb(struct etcd_watch *w, const struct etcd_watch_msg *m, void *arg)
{
	(void)w;
	(void)arg;
	if (m->kind != ETCD_WATCH_EVENTS)
		return;
	for (size_t i = 0; i < m->nevents; i++) {
		const struct etcd_event *ev = &m->events[i];

		if (ev->type == ETCD_EVENT_PUT && ev->kv.version == 1) {
			W.count++;
			W.created++;
		} else if (ev->type == ETCD_EVENT_DELETE) {
			W.count--;
			W.deletes_seen++;
		}
		if (W.count > W.max)
			W.max = W.count;
	}
}

static int
pw_created(void *arg)
{
	return W.created >= *(int *)arg;
}

static void
setup_suite(void)
{
	E = th_etcd_start(1, NULL);
	ck_assert_ptr_nonnull(E);
}

static void
teardown_suite(void)
{
	th_etcd_free(E);
}

static int test_no;

static void
setup(void)
{
	struct etcd_config cfg;
	struct etcd_error err = {0};
	struct etcd_watch_opts o = {.prefix = 1};
	char key[96];
	struct etcd_result *r;

	snprintf(P, sizeof(P), "/t%03d%d", ++test_no, (int)getpid() % 100000);
	L = ev_loop_new(EVFLAG_AUTO);
	tu_config(E, &cfg);
	S = etcd_sync_new(&cfg, &err);
	ck_assert_msg(S != NULL, "%s", err.msg);
	memset(&W, 0, sizeof(W));
	W.c = etcd_client_new(L, &cfg, &err);
	ck_assert_msg(W.c != NULL, "%s", err.msg);
	/* Start the watch at the current revision, so nothing is missed. */
	r = etcd_sync_get(S, "/");
	o.start_revision = r->revision + 1;
	etcd_result_free(r);
	snprintf(key, sizeof(key), "%s/pods/", P);
	W.w = etcd_watch_start(W.c, key, &o, pw_cb, NULL, &err);
	ck_assert_msg(W.w != NULL, "%s", err.msg);
}

static void
teardown(void)
{
	etcd_client_free(W.c);
	etcd_sync_free(S);
	ev_loop_destroy(L);
}

static struct th_proc *CUR; /* the controller running, for logs on failure */

/* th_wait, and on timeout the controller's log and a failure. */
#define WAIT(cond, arg, t)                                                                      \
	do {                                                                                    \
		if (th_wait(L, (cond), (arg), (t)) != 0) {                                      \
			th_proc_free(CUR, 1);                                                   \
			ck_abort_msg("timed out after %gs waiting for %s", (double)(t), #cond); \
		}                                                                               \
	} while (0)

static struct th_proc *
start_rc_with(const char *flag)
{
	char ep[512], pfx[96];
	char *argv[] = {"skiff-replication-controller", ep, pfx, "--log-level=debug", (char *)flag, NULL};
	struct th_proc *p;

	snprintf(ep, sizeof(ep), "--etcd-endpoints=%s", th_etcd_endpoints(E));
	snprintf(pfx, sizeof(pfx), "--prefix=%s", P);
	p = th_proc_start(RC_BIN, argv, NULL);
	ck_assert_ptr_nonnull(p);
	CUR = p;
	return p;
}

static struct th_proc *
start_rc(void)
{
	return start_rc_with(NULL);
}

/* ---- keys ---- */

static int64_t
put(const char *dir, const char *name, const char *json)
{
	char key[256];

	snprintf(key, sizeof(key), "%s/%s/%s", P, dir, name);
	return tu_put(S, key, json);
}

static void
del(const char *dir, const char *name)
{
	char key[256];
	struct etcd_result *r;

	snprintf(key, sizeof(key), "%s/%s/%s", P, dir, name);
	r = etcd_sync_delete(S, key, NULL);
	TU_OK(r);
	etcd_result_free(r);
}

static int64_t
put_rc(const char *name, int replicas, const char *app)
{
	char json[1024];

	snprintf(json, sizeof(json),
	         "{\"metadata\":{\"name\":\"%s\"},\"spec\":{\"replicas\":%d,\"selector\":{\"app\":\"%s\"},"
	         "\"template\":{\"metadata\":{\"labels\":{\"app\":\"%s\"}},"
	         "\"spec\":{\"containers\":[{\"name\":\"web\",\"image\":\"httpd:2.4\"}]}}}}",
	         name, replicas, app, app);
	return put("controllers", name, json);
}

/* P/podstatus/NODE/POD of a running pod, as an agent (honest or not) writes it. */
static void
put_running(const char *node, const char *pod, int64_t uid, int ready)
{
	char k[128], buf[512];

	snprintf(k, sizeof(k), "%s/%s", node, pod);
	snprintf(buf, sizeof(buf),
	         "{\"uid\":\"%" PRId64 "\",\"phase\":\"Running\",\"containerStatuses\":"
	         "[{\"name\":\"web\",\"ready\":%s,\"restartCount\":0,\"state\":{\"running\":{}}}]}",
	         uid, ready ? "true" : "false");
	ck_assert_int_gt(put("podstatus", k, buf), 0);
}

/* Every key under P/DIR/ (new result). */
static struct etcd_result *
list(const char *dir)
{
	char key[256];
	struct etcd_range_opts o = {.prefix = 1};
	struct etcd_result *r;

	snprintf(key, sizeof(key), "%s/%s/", P, dir);
	r = etcd_sync_range(S, key, &o);
	TU_OK(r);
	return r;
}

static int
count(const char *dir)
{
	struct etcd_result *r = list(dir);
	int n = (int)r->nkvs;

	etcd_result_free(r);
	return n;
}

/* The controller status of name, parsed (json_decref it), or NULL. */
static json_t *
status(const char *name)
{
	char key[256];
	struct etcd_result *r;
	json_t *j = NULL;

	snprintf(key, sizeof(key), "%s/controllerstatus/%s", P, name);
	r = etcd_sync_get(S, key);
	if (r && r->err.code == ETCD_OK && r->nkvs == 1)
		j = json_loadb(r->kvs[0].value, r->kvs[0].value_len, 0, NULL);
	etcd_result_free(r);
	return j;
}

struct settled {
	const char *name;
	int replicas;
	int64_t rev; /* the controller's mod revision */
	int ready;   /* -1: any */
	int extra;   /* other pods in the store, not the controller's */
};

/* The controller has counted exactly `replicas` pods after acting on the
 * controller key at rev, and the store holds exactly that many. */
static int
is_settled(void *arg)
{
	struct settled *s = arg;
	json_t *j = status(s->name);
	int ok;

	if (!j)
		return 0;
	ok = json_integer_value(json_object_get(j, "observedRevision")) == s->rev &&
	     json_integer_value(json_object_get(j, "replicas")) == s->replicas &&
	     (s->ready < 0 || json_integer_value(json_object_get(j, "readyReplicas")) == s->ready) &&
	     W.count == s->replicas + s->extra && count("pods") == s->replicas + s->extra;
	json_decref(j);
	return ok;
}

static void
wait_settled(struct th_proc *p, const char *name, int replicas, int64_t rev, double timeout)
{
	struct settled s = {name, replicas, rev, -1, 0};

	if (th_wait(L, is_settled, &s, timeout) != 0) {
		json_t *j = status(name);
		char *txt = j ? json_dumps(j, 0) : NULL;

		th_proc_free(p, 1);
		ck_abort_msg("controller %s did not settle at %d pods (have %d, watcher %d), status %s", name, replicas,
		             count("pods"), W.count, txt ? txt : "absent");
	}
}

/* ---- tests ---- */

START_TEST(test_scale_steps)
{
	struct th_proc *p = start_rc();
	static const int steps[] = {0, 4, 10, 2, 0};
	int64_t rev;

	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		int before = W.count;

		W.max = before;
		rev = put_rc("web", steps[i], "web");
		wait_settled(p, "web", steps[i], rev, 20);
		ck_assert_int_le(W.max, steps[i] > before ? steps[i] : before);
	}
	/* Names are NAME-xxxxx and pods carry the owner reference. */
	rev = put_rc("web", 3, "web");
	wait_settled(p, "web", 3, rev, 20);
	{
		struct etcd_result *r = list("pods");
		struct etcd_result *c;
		char key[256];
		char uid[32];

		snprintf(key, sizeof(key), "%s/controllers/web", P);
		c = etcd_sync_get(S, key);
		snprintf(uid, sizeof(uid), "%" PRId64, c->kvs[0].create_revision);
		for (size_t i = 0; i < r->nkvs; i++) {
			json_t *j = json_loadb(r->kvs[i].value, r->kvs[i].value_len, 0, NULL);
			json_t *own =
				json_array_get(json_object_get(json_object_get(j, "metadata"), "ownerReferences"), 0);
			const char *name = strrchr(r->kvs[i].key, '/') + 1;

			ck_assert_int_eq(strlen(name), 9);
			ck_assert(strncmp(name, "web-", 4) == 0);
			ck_assert_str_eq(json_string_value(json_object_get(own, "kind")), "ReplicationController");
			ck_assert_str_eq(json_string_value(json_object_get(own, "name")), "web");
			ck_assert_str_eq(json_string_value(json_object_get(own, "uid")), uid);
			json_decref(j);
		}
		etcd_result_free(r);
		etcd_result_free(c);
	}
	th_proc_signal(p, SIGTERM);
	ck_assert_int_eq(th_proc_wait(p, 15), 0);
	th_proc_free(p, 0);
}
END_TEST

START_TEST(test_deleted_pod_replaced)
{
	struct th_proc *p = start_rc();
	int64_t rev = put_rc("api", 3, "api");
	struct etcd_result *r;
	char victim[128];
	int want;

	wait_settled(p, "api", 3, rev, 20);
	r = list("pods");
	snprintf(victim, sizeof(victim), "%s", strrchr(r->kvs[0].key, '/') + 1);
	etcd_result_free(r);
	del("pods", victim);
	want = 4;
	WAIT(pw_created, &want, 20);
	wait_settled(p, "api", 3, rev, 20);
	ck_assert_int_le(W.max, 3);
	th_proc_free(p, 0);
}
END_TEST

static const char *
pod_name(struct etcd_result *r, size_t i)
{
	return strrchr(r->kvs[i].key, '/') + 1;
}

START_TEST(test_deleted_during_scale_up)
{
	struct th_proc *p = start_rc();
	int64_t rev = put_rc("grow", 3000, "grow");
	int some = 5, at;
	struct etcd_result *r;
	char victim[128];

	/* Delete a pod by hand while the controller is still creating: it is
	 * replaced exactly once, and the count never goes over 3000. */
	WAIT(pw_created, &some, 20);
	r = list("pods");
	snprintf(victim, sizeof(victim), "%s", pod_name(r, 0));
	etcd_result_free(r);
	at = W.created;
	del("pods", victim);
	fprintf(stderr, "deleted %s with %d of 3000 pods created\n", victim, at);
	ck_assert_msg(at < 3000, "the delete came after the fill; nothing was tested");
	wait_settled(p, "grow", 3000, rev, 40);
	ck_assert_int_le(W.max, 3000);
	ck_assert_int_eq(W.created, 3001);
	th_proc_free(p, 0);
}
END_TEST

/* th_wait cond: the process's log says it leads. */
static int
leads(void *arg)
{
	return th_proc_log_has(arg, "became leader");
}

START_TEST(test_two_controllers_one_leader)
{
	struct th_proc *a = start_rc(), *b;
	int64_t rev;

	WAIT(leads, a, 20);
	b = start_rc();
	rev = put_rc("ha", 5, "ha");
	wait_settled(b, "ha", 5, rev, 20);
	ck_assert_msg(!th_proc_log_has(b, "became leader"), "both controllers lead");
	/* The leader dies without a word: the standby takes over once the
	 * dead one's lease ends, and adds exactly the 3 missing pods. */
	th_proc_kill(a);
	th_proc_free(a, 0);
	rev = put_rc("ha", 8, "ha");
	WAIT(leads, b, 30);
	wait_settled(b, "ha", 8, rev, 20);
	ck_assert_int_le(W.max, 8);
	ck_assert_int_eq(W.created, 8);
	th_proc_free(b, 0);
}
END_TEST

START_TEST(test_kill_restart_no_double)
{
	struct th_proc *p = start_rc();
	int64_t rev = put_rc("big", 1000, "big");
	int some = 10, killed_at;

	/* Kill -9 while it creates (transactions of creates in flight). */
	WAIT(pw_created, &some, 20);
	th_proc_kill(p);
	killed_at = W.created;
	fprintf(stderr, "killed the controller with %d of 1000 pods created\n", killed_at);
	th_proc_free(p, 0);
	ck_assert_msg(killed_at < 1000, "the kill came after the fill; nothing was tested");
	p = start_rc(); /* waits for the dead leader's lease, then goes on */
	wait_settled(p, "big", 1000, rev, 60);
	ck_assert_int_le(W.max, 1000);
	ck_assert_int_eq(W.created, 1000);
	th_proc_free(p, 0);
}
END_TEST

START_TEST(test_scale_down_order)
{
	struct th_proc *p = start_rc();
	int64_t rev = put_rc("ord", 5, "ord");
	struct etcd_result *r;
	char bound_running[64], bound_pending[64], bound_ready[64], buf[512];

	wait_settled(p, "ord", 5, rev, 20);
	r = list("pods");
	snprintf(bound_ready, sizeof(bound_ready), "%s", pod_name(r, 0));
	snprintf(bound_running, sizeof(bound_running), "%s", pod_name(r, 1));
	snprintf(bound_pending, sizeof(bound_pending), "%s", pod_name(r, 2));
	for (int i = 0; i < 3; i++) {
		char k[128];

		snprintf(k, sizeof(k), "n1/%s", pod_name(r, (size_t)i));
		snprintf(buf, sizeof(buf),
		         "{\"node\":\"n1\",\"pod\":{\"metadata\":{\"name\":\"%s\",\"uid\":\"%" PRId64
		         "\"},\"spec\":{\"containers\":[{\"name\":\"web\",\"image\":\"httpd:2.4\"}]}}}",
		         pod_name(r, (size_t)i), r->kvs[i].create_revision);
		ck_assert_int_gt(put("bindings", k, buf), 0);
		if (i < 2) {
			snprintf(buf, sizeof(buf),
			         "{\"uid\":\"%" PRId64 "\",\"phase\":\"Running\",\"containerStatuses\":"
			         "[{\"name\":\"web\",\"ready\":%s,\"restartCount\":0,\"state\":{\"running\":{}}}]}",
			         r->kvs[i].create_revision, i == 0 ? "true" : "false");
			ck_assert_int_gt(put("podstatus", k, buf), 0);
		}
	}
	etcd_result_free(r);
	{
		struct settled s = {"ord", 5, rev, 1, 0};

		WAIT(is_settled, &s, 20);
	}
	/* 5 → 3: both unbound pods go; 3 → 2: the bound, not running one. */
	rev = put_rc("ord", 3, "ord");
	wait_settled(p, "ord", 3, rev, 20);
	snprintf(buf, sizeof(buf), "%s/pods/%s", P, bound_pending);
	r = etcd_sync_get(S, buf);
	ck_assert_int_eq(r->nkvs, 1);
	etcd_result_free(r);
	rev = put_rc("ord", 2, "ord");
	wait_settled(p, "ord", 2, rev, 20);
	r = etcd_sync_get(S, buf);
	ck_assert_int_eq(r->nkvs, 0);
	etcd_result_free(r);
	/* 2 → 1: the running, not ready one goes; the ready one stays. */
	rev = put_rc("ord", 1, "ord");
	wait_settled(p, "ord", 1, rev, 20);
	snprintf(buf, sizeof(buf), "%s/pods/%s", P, bound_ready);
	r = etcd_sync_get(S, buf);
	ck_assert_int_eq(r->nkvs, 1);
	etcd_result_free(r);
	th_proc_free(p, 0);
}
END_TEST

static int
no_pods_of(void *arg)
{
	const char *prefix = arg;
	struct etcd_result *r = list("pods");
	int n = 0;

	for (size_t i = 0; i < r->nkvs; i++)
		n += strstr(r->kvs[i].key, prefix) != NULL;
	etcd_result_free(r);
	return n == 0 && count("controllerstatus") == 1; /* other's */
}

START_TEST(test_cascade_and_foreign)
{
	struct th_proc *p = start_rc();
	int64_t rev;
	char key[128];
	struct etcd_result *r;

	char foreign[512];
	int64_t other;

	/* A pod that matches but belongs to another (live) controller, and a
	 * pod that matches nothing. */
	other = put_rc("other", 0, "oth");
	snprintf(foreign, sizeof(foreign),
	         "{\"metadata\":{\"name\":\"foreign\",\"labels\":{\"app\":\"cas\"},\"ownerReferences\":"
	         "[{\"kind\":\"ReplicationController\",\"name\":\"other\",\"uid\":\"%" PRId64 "\"}]},"
	         "\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"x\"}]}}",
	         other);
	ck_assert_int_gt(put("pods", "foreign", foreign), 0);
	ck_assert_int_gt(put("pods", "loner",
	                     "{\"metadata\":{\"name\":\"loner\",\"labels\":{\"app\":\"zzz\"}},"
	                     "\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"x\"}]}}"),
	                 0);
	rev = put_rc("cas", 4, "cas");
	{
		/* 4 of its own; foreign and loner are not counted. */
		struct settled s = {"cas", 4, rev, -1, 2};

		WAIT(is_settled, &s, 20);
	}
	snprintf(key, sizeof(key), "%s/controllers/cas", P);
	r = etcd_sync_delete(S, key, NULL);
	TU_OK(r);
	etcd_result_free(r);
	WAIT(no_pods_of, "/pods/cas-", 20);
	ck_assert_int_eq(count("pods"), 2); /* foreign and loner stay */
	th_proc_free(p, 0);
}
END_TEST

static int
has_event(void *arg)
{
	const char *reason = arg;
	struct etcd_result *r = list("events/controllers/bad");
	int found = 0;

	for (size_t i = 0; i < r->nkvs; i++)
		found |= strstr(r->kvs[i].value, reason) != NULL;
	etcd_result_free(r);
	return found;
}

static int
status_has_message(void *arg)
{
	json_t *j = status(arg);
	const char *m = j ? json_string_value(json_object_get(j, "message")) : NULL;
	int ok = m && strstr(m, "selector");

	json_decref(j);
	return ok;
}

START_TEST(test_invalid_then_fixed)
{
	struct th_proc *p = start_rc();
	int64_t rev;

	/* The selector does not match the template's labels. */
	rev = put("controllers", "bad",
	          "{\"metadata\":{\"name\":\"bad\"},\"spec\":{\"replicas\":3,\"selector\":{\"app\":\"one\"},"
	          "\"template\":{\"metadata\":{\"labels\":{\"app\":\"two\"}},"
	          "\"spec\":{\"containers\":[{\"name\":\"web\",\"image\":\"httpd:2.4\"}]}}}}");
	ck_assert_int_gt(rev, 0);
	WAIT(has_event, "\"Invalid\"", 20);
	WAIT(status_has_message, "bad", 20);
	ck_assert_int_eq(count("pods"), 0);
	ck_assert_int_eq(W.created, 0);
	/* Fixing the key resumes work. */
	rev = put_rc("bad", 3, "bad");
	wait_settled(p, "bad", 3, rev, 20);
	{
		json_t *j = status("bad");

		ck_assert_ptr_null(json_object_get(j, "message"));
		json_decref(j);
	}
	th_proc_free(p, 0);
}
END_TEST

START_TEST(test_status_ready)
{
	struct th_proc *p = start_rc();
	int64_t rev = put_rc("rdy", 2, "rdy");
	struct etcd_result *r;
	struct settled s = {"rdy", 2, 0, 1, 0};
	char pod[64];
	int64_t uid;

	wait_settled(p, "rdy", 2, rev, 20);
	r = list("pods");
	snprintf(pod, sizeof(pod), "%s", pod_name(r, 0));
	uid = r->kvs[0].create_revision;
	etcd_result_free(r);
	ck_assert_int_gt(tu_put_binding(S, P, "n1", pod, uid), 0);
	put_running("n1", pod, uid, 1);
	s.rev = rev;
	WAIT(is_settled, &s, 20);
	/* A status of another incarnation (wrong uid) does not count. */
	put_running("n1", pod, 1, 1);
	s.ready = 0;
	WAIT(is_settled, &s, 20);
	th_proc_free(p, 0);
}
END_TEST

/* Bind the first two pods in the store to node; their names and uids out. */
static void
bind_first_two(const char *node, char pod[2][64], int64_t uid[2])
{
	struct etcd_result *r = list("pods");

	ck_assert_uint_ge(r->nkvs, 2);
	for (int i = 0; i < 2; i++) {
		snprintf(pod[i], 64, "%s", pod_name(r, (size_t)i));
		uid[i] = r->kvs[i].create_revision;
		ck_assert_int_gt(tu_put_binding(S, P, node, pod[i], uid[i]), 0);
	}
	etcd_result_free(r);
}

/* P/podstatus/NODE/POD with a Ready condition (contract version 2) that
 * last changed at ltt (wall-clock seconds). */
static void
put_ready_since(const char *node, const char *pod, int64_t uid, int ready, time_t ltt)
{
	char k[128], buf[768], ts[32];
	struct tm tm;

	gmtime_r(&ltt, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	snprintf(k, sizeof(k), "%s/%s", node, pod);
	snprintf(buf, sizeof(buf),
	         "{\"uid\":\"%" PRId64 "\",\"phase\":\"Running\",\"conditions\":[{\"type\":\"Ready\",\"status\":\"%s\","
	         "\"lastTransitionTime\":\"%s\"}],\"containerStatuses\":[{\"name\":\"web\",\"ready\":%s,"
	         "\"started\":true,\"restartCount\":0,\"state\":{\"running\":{}}}]}",
	         uid, ready ? "True" : "False", ts, ready ? "true" : "false");
	ck_assert_int_gt(put("podstatus", k, buf), 0);
}

struct counts {
	const char *name;
	int replicas, ready, available;
};

/* The controller status of c->name says exactly these counts. */
static int
counts_are(void *arg)
{
	struct counts *c = arg;
	json_t *j = status(c->name);
	int ok = j && json_integer_value(json_object_get(j, "replicas")) == c->replicas &&
	         json_integer_value(json_object_get(j, "readyReplicas")) == c->ready &&
	         json_integer_value(json_object_get(j, "availableReplicas")) == c->available;

	json_decref(j);
	return ok;
}

/* spec.minReadySeconds 3: a pod ready for a minute is available at once;
 * one ready just now is ready but not available, and becomes available
 * about 3 s later with no write in between (the controller's own timer).
 * A Ready time an hour ahead (an agent clock running fast) holds it back
 * only minReadySeconds from when the controller saw it ready. */
START_TEST(test_status_available)
{
	struct th_proc *p = start_rc();
	struct counts c = {"avl", 2, 0, 0};
	char json[1024], pod[2][64];
	int64_t rev, uid[2];
	double t0;

	snprintf(json, sizeof(json),
	         "{\"metadata\":{\"name\":\"avl\"},\"spec\":{\"replicas\":2,\"minReadySeconds\":3,\"selector\":"
	         "{\"app\":\"avl\"},\"template\":{\"metadata\":{\"labels\":{\"app\":\"avl\"}},"
	         "\"spec\":{\"containers\":[{\"name\":\"web\",\"image\":\"httpd:2.4\"}]}}}}");
	rev = put("controllers", "avl", json);
	wait_settled(p, "avl", 2, rev, 20);
	bind_first_two("n1", pod, uid);

	put_ready_since("n1", pod[0], uid[0], 1, time(NULL) - 60);
	c.ready = c.available = 1;
	WAIT(counts_are, &c, 20);
	t0 = ev_time();
	put_ready_since("n1", pod[1], uid[1], 1, time(NULL));
	c.ready = 2;
	WAIT(counts_are, &c, 20);
	c.available = 2;
	WAIT(counts_are, &c, 20);
	ck_assert_msg(ev_time() - t0 >= 1.9, "available after %.2f s, before minReadySeconds", ev_time() - t0);

	put_ready_since("n1", pod[1], uid[1], 0, time(NULL));
	c.ready = c.available = 1;
	WAIT(counts_are, &c, 20);
	t0 = ev_time();
	put_ready_since("n1", pod[1], uid[1], 1, time(NULL) + 3600);
	c.ready = 2;
	WAIT(counts_are, &c, 20);
	c.available = 2;
	WAIT(counts_are, &c, 20);
	ck_assert_msg(ev_time() - t0 >= 2.9 && ev_time() - t0 < 15, "available after %.2f s", ev_time() - t0);
	th_proc_free(p, 0);
}
END_TEST

/* A pod marked for deletion (metadata.deletionGracePeriodSeconds, as
 * skiffctl delete --grace-period and a drain mark it) no longer counts:
 * the controller creates its replacement at once and reports only the
 * active pods. The marked pod itself is left to whoever deletes it. */
START_TEST(test_terminating_not_counted)
{
	struct th_proc *p = start_rc();
	int64_t rev = put_rc("trm", 2, "trm"), uid;
	struct counts c = {"trm", 2, 1, 1};
	struct settled s = {"trm", 2, 0, -1, 1};
	struct etcd_result *r;
	char pod[64], key[256];
	json_t *j;
	char *v;

	wait_settled(p, "trm", 2, rev, 20);
	r = list("pods");
	snprintf(pod, sizeof(pod), "%s", pod_name(r, 0));
	uid = r->kvs[0].create_revision;
	j = json_loadb(r->kvs[0].value, r->kvs[0].value_len, 0, NULL);
	etcd_result_free(r);
	ck_assert_ptr_nonnull(j);
	ck_assert_int_gt(tu_put_binding(S, P, "n1", pod, uid), 0);
	put_running("n1", pod, uid, 1);
	c.replicas = 2;
	WAIT(counts_are, &c, 20);

	json_object_set_new(json_object_get(j, "metadata"), "deletionGracePeriodSeconds", json_integer(30));
	v = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	ck_assert_ptr_nonnull(v);
	snprintf(key, sizeof(key), "%s/pods/%s", P, pod);
	ck_assert_int_gt(tu_put(S, key, v), 0);
	free(v);
	s.rev = rev;
	WAIT(is_settled, &s, 20); /* two active pods and the marked one */
	c.ready = c.available = 0;
	WAIT(counts_are, &c, 20);
	ck_assert_int_eq(W.max, 3);

	/* Its delete changes nothing more: still two. */
	del("pods", pod);
	s.extra = 0;
	WAIT(is_settled, &s, 20);
	ck_assert_int_eq(W.max, 3);
	th_proc_free(p, 0);
}
END_TEST

/* P/podstatus/NODE/POD of a pod its agent evicted (phase Failed). */
static void
put_evicted(const char *node, const char *pod, int64_t uid)
{
	char k[128], buf[512];

	snprintf(k, sizeof(k), "%s/%s", node, pod);
	snprintf(buf, sizeof(buf),
	         "{\"uid\":\"%" PRId64 "\",\"phase\":\"Failed\",\"reason\":\"Evicted\","
	         "\"message\":\"Pod ephemeral local storage usage exceeds the total limit of containers 1Mi.\"}",
	         uid);
	ck_assert_int_gt(put("podstatus", k, buf), 0);
}

/* A pod evicted by its agent (phase Failed from the bound node, with its
 * uid) is not active: it is replaced and kept, as Kubernetes does. The
 * same status from a node the pod is not bound to changes nothing. */
START_TEST(test_failed_pod_replaced)
{
	struct th_proc *p = start_rc();
	int64_t rev = put_rc("evi", 2, "evi"), uid[2];
	struct settled s = {"evi", 2, 0, -1, 0};
	char pod[2][64];

	wait_settled(p, "evi", 2, rev, 20);
	s.rev = rev;
	bind_first_two("n1", pod, uid);
	put_evicted("n2", pod[0], uid[0]); /* not its node: still counted */
	put_running("n1", pod[1], uid[1], 1);
	s.ready = 1;
	WAIT(is_settled, &s, 20);
	ck_assert_int_eq(W.max, 2);

	put_evicted("n1", pod[0], uid[0]);
	s.extra = 1; /* two active pods and the evicted one, kept */
	WAIT(is_settled, &s, 20);
	ck_assert_int_eq(W.max, 3);
	th_proc_free(p, 0);
}
END_TEST

/* A Warning event is recorded for pod (arg). */
static int
pod_has_event(void *arg)
{
	char dir[128];

	snprintf(dir, sizeof(dir), "events/pods/%s", (const char *)arg);
	return count(dir) > 0;
}

/* Node m1 writes statuses under its own prefix for pods bound to m2: the
 * pod's uid and ready (would add one), another uid and not ready (would
 * take one away). Each forged write is followed on the same watch by an
 * honest one, and the count waited for is reachable only if the forged
 * one was ignored. The first is reported on the pod. */
START_TEST(test_status_other_node)
{
	struct th_proc *p = start_rc();
	int64_t rev = put_rc("hst", 2, "hst"), uid[2];
	struct settled s = {"hst", 2, 0, 1, 0};
	char pod[2][64];

	wait_settled(p, "hst", 2, rev, 20);
	s.rev = rev;
	bind_first_two("m2", pod, uid);
	put_running("m2", pod[1], uid[1], 1);
	WAIT(is_settled, &s, 20);

	put_running("m1", pod[0], uid[0], 1);
	put_running("m2", pod[1], uid[1], 0);
	s.ready = 0; /* 1 had m1 been believed */
	WAIT(is_settled, &s, 20);
	WAIT(pod_has_event, pod[0], 10); /* UntrustedStatus */
	ck_assert_int_eq(pod_has_event(pod[1]), 0);

	put_running("m2", pod[0], uid[0], 1);
	s.ready = 1;
	WAIT(is_settled, &s, 20);
	put_running("m1", pod[0], uid[0] + 1000, 0);
	put_running("m2", pod[1], uid[1], 1);
	s.ready = 2; /* 1 had m1 been believed */
	WAIT(is_settled, &s, 20);
	th_proc_free(p, 0);
}
END_TEST

/* A batch of creates where one name is taken: the other seven are
 * written once each, the taken key is left as it was, and the tally says
 * 7 created, 1 taken (what the controller counts). */
START_TEST(test_batch_collision)
{
	struct etcd_txn *t = etcd_txn_new();
	struct etcd_result *r;
	char key[256];
	int created, taken;

	ck_assert_int_gt(put("pods", "col-taken", "{\"old\":true}"), 0);
	for (int i = 0; i < 8; i++) {
		if (i == 3)
			snprintf(key, sizeof(key), "%s/pods/col-taken", P);
		else
			snprintf(key, sizeof(key), "%s/pods/col-%05d", P, i);
		ck_assert_int_eq(rc_batch_add(t, key, "{\"new\":true}"), 0);
	}
	r = etcd_sync_txn(S, t);
	TU_OK(r);
	ck_assert_int_eq(rc_batch_tally(r, 8, &created, &taken), 0);
	ck_assert_int_eq(created, 7);
	ck_assert_int_eq(taken, 1);
	ck_assert_int_eq(rc_batch_tally(r, 7, &created, &taken), -1);
	etcd_result_free(r);
	r = list("pods");
	ck_assert_uint_eq(r->nkvs, 8);
	for (size_t i = 0; i < r->nkvs; i++) {
		ck_assert_int_eq(r->kvs[i].version, 1);
		ck_assert_str_eq(r->kvs[i].value, strstr(r->kvs[i].key, "taken") ? "{\"old\":true}" : "{\"new\":true}");
	}
	etcd_result_free(r);
	{
		int want = 8;

		WAIT(pw_created, &want, 10);
	}
	ck_assert_int_eq(W.created, 8);
}
END_TEST

/* Pods of 30 KB: 64 of them would pass etcd's 1.5 MiB request limit, so
 * a transaction carries fewer, and all 150 are created. */
START_TEST(test_large_template)
{
	struct th_proc *p = start_rc();
	size_t big = 30000;
	char *env = malloc(big + 1), *json = malloc(big + 1024);
	int64_t rev;

	memset(env, 'x', big);
	env[big] = '\0';
	snprintf(json, big + 1024,
	         "{\"metadata\":{\"name\":\"fat\"},\"spec\":{\"replicas\":150,\"selector\":{\"app\":\"fat\"},"
	         "\"template\":{\"metadata\":{\"labels\":{\"app\":\"fat\"}},"
	         "\"spec\":{\"containers\":[{\"name\":\"web\",\"image\":\"httpd:2.4\","
	         "\"env\":[{\"name\":\"PAD\",\"value\":\"%s\"}]}]}}}}",
	         env);
	rev = put("controllers", "fat", json);
	free(env);
	free(json);
	wait_settled(p, "fat", 150, rev, 60);
	ck_assert_int_le(W.max, 150);
	{
		/* No create failed on the way (a refused txn is retried smaller
		 * and would get there too, but with a FailedCreate event). */
		struct etcd_result *r = list("events/controllers/fat");

		for (size_t i = 0; i < r->nkvs; i++)
			ck_assert_msg(!strstr(r->kvs[i].value, "FailedCreate"), "%s", r->kvs[i].value);
		etcd_result_free(r);
	}
	th_proc_free(p, 0);
}
END_TEST

/* A controller asking for more than --max-replicas gets that many pods and
 * a Warning event, no more. */
static int
has_capped_event(void *arg)
{
	struct etcd_result *r = list(arg);
	int found = 0;

	for (size_t i = 0; i < r->nkvs; i++)
		found |= strstr(r->kvs[i].value, "\"TooManyReplicas\"") != NULL &&
		         strstr(r->kvs[i].value, "spec.replicas 1000000 is over this cluster's limit of 5") != NULL;
	etcd_result_free(r);
	return found;
}

START_TEST(test_max_replicas)
{
	struct th_proc *p = start_rc_with("--max-replicas=5");
	int64_t rev = put_rc("huge", 1000000, "huge");

	wait_settled(p, "huge", 5, rev, 20);
	WAIT(has_capped_event, "events/controllers/huge", 20);
	th_wait(L, NULL, NULL, 0.5);
	ck_assert_int_eq(count("pods"), 5);
	rev = put_rc("huge", 3, "huge"); /* under the limit: obeyed as ever */
	wait_settled(p, "huge", 3, rev, 20);
	th_proc_free(p, 0);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("replication");
	TCase *core = tcase_create("core"), *errors = tcase_create("errors"), *limits = tcase_create("limits");

	tcase_add_unchecked_fixture(core, setup_suite, teardown_suite);
	tcase_add_unchecked_fixture(errors, setup_suite, teardown_suite);
	tcase_add_unchecked_fixture(limits, setup_suite, teardown_suite);
	tcase_add_checked_fixture(core, setup, teardown);
	tcase_add_checked_fixture(errors, setup, teardown);
	tcase_add_checked_fixture(limits, setup, teardown);
	tcase_set_timeout(core, 60);
	tcase_set_timeout(errors, 60);
	tcase_set_timeout(limits, 90);
	tcase_add_test(core, test_scale_steps);
	tcase_add_test(core, test_deleted_pod_replaced);
	tcase_add_test(core, test_deleted_during_scale_up);
	tcase_add_test(core, test_two_controllers_one_leader);
	tcase_add_test(core, test_scale_down_order);
	tcase_add_test(core, test_cascade_and_foreign);
	tcase_add_test(core, test_status_ready);
	tcase_add_test(core, test_status_other_node);
	tcase_add_test(core, test_status_available);
	tcase_add_test(core, test_terminating_not_counted);
	tcase_add_test(errors, test_invalid_then_fixed);
	tcase_add_test(errors, test_batch_collision);
	tcase_add_test(limits, test_kill_restart_no_double);
	tcase_add_test(limits, test_large_template);
	tcase_add_test(limits, test_max_replicas);
	tcase_add_test(limits, test_failed_pod_replaced);
	suite_add_tcase(s, core);
	suite_add_tcase(s, errors);
	suite_add_tcase(s, limits);
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
