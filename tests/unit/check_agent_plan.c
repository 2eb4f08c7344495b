/*
 * check_agent_plan.c: the agent's planner (node-agent/agent_plan.c),
 * data-driven, without Docker or etcd.
 *
 * Each folder tests/fixtures/agent/<case>/ holds binding.json (absent: the
 * binding is gone), last_pod.json (optional: the pod as last bound, for a
 * stop without a binding), containers.json (the snapshots as the planner
 * sees them), memo.json (optional: the pod's memo and what the pass learned
 * so far, the prober's and the drain gate's word included) and expected.json (the action, the status rows, the requeue, the
 * warnings and the memo afterwards). The clocks and flags are fixed: now
 * 1000 s, wall clock FIX_WALL, back-off 10 s doubling to 300 s, host IP
 * 10.0.0.1. See
 * tests/fixtures/agent/README.md.
 *
 * SKIFF_FIXTURES=dir reads another folder; SKIFF_FIXTURES_UPDATE=1 writes
 * what the planner does into expected.json (review the diff!).
 *
 * The rest pins what no fixture shows directly: the spec hash, the back-off
 * curve, the memo's error bookkeeping.
 */
#include <check.h>
#include <dirent.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node-agent/agent_plan.h"

#define FIX_NOW 1000.0
#define FIX_WALL "2026-12-01T12:00:00Z"
#define FIX_BASE_MS 10000
#define FIX_MAX_MS 300000
#define FIX_HOST_IP "10.0.0.1"
#define HASH_CONTAINER "3d148c35b46e1584"
#define HASH_INFRA "a1cd9e217be4318f"
#define HASH_INFRA_NET "da285da939a82cbf"

static char (*cases)[512];
static size_t n_cases;

static const char *
fixture_root(void)
{
	const char *env = getenv("SKIFF_FIXTURES");

	return env && *env ? env : "tests/fixtures/agent";
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* Collect every case folder; run before the suite is built. */
static void
collect(void)
{
	struct dirent *de;
	DIR *d = opendir(fixture_root());
	size_t cap = 0;

	if (!d)
		return;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' || de->d_type == DT_REG)
			continue;
		if (n_cases == cap) {
			cap = cap ? 2 * cap : 64;
			cases = realloc(cases, cap * sizeof(*cases));
		}
		snprintf(cases[n_cases++], sizeof(cases[0]), "%s/%s", fixture_root(), de->d_name);
	}
	closedir(d);
	qsort(cases, n_cases, sizeof(*cases), name_cmp);
}

/* dir/name as JSON (new), NULL when the file is absent. */
static json_t *
load(const char *dir, const char *name)
{
	char path[600];
	json_error_t e;
	json_t *j;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (!(f = fopen(path, "rb")))
		return NULL;
	j = json_loadf(f, 0, &e);
	fclose(f);
	ck_assert_msg(j != NULL, "%s: line %d: %s", path, e.line, e.text);
	return j;
}

/* ---------------------------------------------------------------- inputs */

static char *
str(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s ? strdup(s) : NULL;
}

/* One snapshot from its fixture form: the struct snap fields by name;
 * running defaults to state == "running", grace to 10, pod to "pod". */
static void
snap_load(struct snap *s, json_t *o)
{
	json_t *run = json_object_get(o, "running"), *grace = json_object_get(o, "grace");
	const char *st = json_string_value(json_object_get(o, "state"));

	memset(s, 0, sizeof(*s));
	s->id = str(o, "id");
	s->pod = json_object_get(o, "pod") ? str(o, "pod") : strdup("pod");
	s->uid = str(o, "uid");
	s->ctr = str(o, "ctr");
	s->hash = str(o, "hash");
	s->sandbox = str(o, "sandbox");
	s->error = str(o, "error");
	s->started_at = str(o, "started_at");
	s->finished_at = str(o, "finished_at");
	s->ip = str(o, "ip");
	s->image = str(o, "image");
	s->restarts = (int)json_integer_value(json_object_get(o, "restarts"));
	s->grace = grace ? (long)json_integer_value(grace) : 10;
	snprintf(s->state, sizeof(s->state), "%s", st ? st : "");
	s->running = run ? json_is_true(run) : strcmp(s->state, "running") == 0;
	s->exit_code = (int)json_integer_value(json_object_get(o, "exit_code"));
	s->oom = json_is_true(json_object_get(o, "oom"));
	ck_assert_msg(s->id && s->uid && s->ctr, "a container needs id, uid and ctr");
}

/* memo.json's "containers": {name: {restarts, failures, reason, message,
 * retry_at}}, "stop_began" (monotonic seconds) and "ready" ({"status":
 * true|false, "since": RFC 3339}: the Ready condition the planner chose
 * last). */
static struct pod_memo *
memo_load(json_t *memo)
{
	struct pod_memo *m = calloc(1, sizeof(*m));
	json_t *v, *ready = json_object_get(memo, "ready");
	const char *k;

	m->name = strdup("pod");
	m->uid = strdup("uid");
	m->stop_began = json_number_value(json_object_get(memo, "stop_began"));
	if (ready) {
		m->ready_was = json_is_true(json_object_get(ready, "status")) ? 2 : 1;
		snprintf(m->ready_time, sizeof(m->ready_time), "%s",
		         json_string_value(json_object_get(ready, "since")));
	}
	json_object_foreach(json_object_get(memo, "containers"), k, v) {
		struct ctr_memo *c = plan_ctr_memo(m, k);

		c->restarts = (int)json_integer_value(json_object_get(v, "restarts"));
		c->failures = (int)json_integer_value(json_object_get(v, "failures"));
		c->img_reason = str(v, "reason");
		c->img_message = str(v, "message");
		c->retry_at = json_number_value(json_object_get(v, "retry_at"));
	}
	return m;
}

struct input {
	struct api_binding *b;
	struct api_pod *last_pod;
	struct plan_probe *probes;
	struct snap *s;
	size_t n;
	struct pod_memo *memo;
	unsigned char *img;
	char *failed_start;
	json_t *memo_json;
	char why[160];
};

/* The pod the case stops or runs: the binding's, else last_pod.json's. */
static struct api_pod *
case_pod(struct input *ip)
{
	return ip->b ? &ip->b->pod : ip->last_pod;
}

/* "probes": {name: {started, ready, live_failed, why, prestop_done,
 * startup_failed}} per
 * spec container (absent: no prober; a container not named is started and
 * ready); "pre_stop": [names] gives those containers a lifecycle.preStop
 * (sleep 5); "draining", "ready_since". */
static void
probes_load(struct input *ip, struct plan_in *in, json_t *pass)
{
	struct api_pod *p = case_pod(ip);
	json_t *pr = json_object_get(pass, "probes"), *v;
	size_t i, n = p ? p->spec.n_containers : 0;

	in->draining = json_is_true(json_object_get(pass, "draining"));
	in->ready_since = json_string_value(json_object_get(pass, "ready_since"));
	json_array_foreach(json_object_get(pass, "pre_stop"), i, v) {
		for (size_t j = 0; j < n; j++)
			if (strcmp(p->spec.containers[j].name, json_string_value(v)) == 0) {
				p->spec.containers[j].lifecycle.pre_stop.kind = API_HANDLER_SLEEP;
				p->spec.containers[j].lifecycle.pre_stop.sleep_seconds = 5;
			}
	}
	if (!pr)
		return;
	ip->probes = calloc(n + 1, sizeof(*ip->probes));
	for (i = 0; i < n; i++) {
		json_t *o = json_object_get(pr, p->spec.containers[i].name), *st = json_object_get(o, "started"),
		       *rd = json_object_get(o, "ready");

		ip->probes[i].started = st ? json_is_true(st) : 1;
		ip->probes[i].ready = rd ? json_is_true(rd) : 1;
		ip->probes[i].live_failed = json_is_true(json_object_get(o, "live_failed"));
		ip->probes[i].why = json_string_value(json_object_get(o, "why"));
		ip->probes[i].prestop_done = json_is_true(json_object_get(o, "prestop_done"));
		ip->probes[i].startup_failed = json_is_true(json_object_get(o, "startup_failed"));
	}
	in->probes = ip->probes;
}

/* memo.json's "pass": pause_ready (default true), images {name: present |
 * absent}, failed_start [ids], start_err, network, host_port_range
 * ("A-B"; default any port), allow_privileged (default false), volumes
 * {reason, container, message} (what agent_volumes.c judged; default none);
 * and what probes_load reads. */
static void
pass_load(struct input *ip, struct plan_in *in, json_t *pass)
{
	json_t *pr = json_object_get(pass, "pause_ready"), *v;
	size_t i, n = ip->b ? api_spec_n_all(&ip->b->pod.spec) : 0; /* init containers follow */

	in->pause_ready = pr ? json_is_true(pr) : 1;
	in->network = json_string_value(json_object_get(pass, "network"));
	in->start_err = json_string_value(json_object_get(pass, "start_err"));
	in->allow_privileged = json_is_true(json_object_get(pass, "allow_privileged"));
	if (json_string_value(json_object_get(pass, "host_port_range")))
		ck_assert_int_eq(plan_port_range_parse(json_string_value(json_object_get(pass, "host_port_range")),
		                                       &in->host_port_lo, &in->host_port_hi, ip->why, sizeof(ip->why)),
		                 0);
	v = json_object_get(pass, "volumes");
	in->vol_reason = json_string_value(json_object_get(v, "reason"));
	in->vol_container = json_string_value(json_object_get(v, "container"));
	in->vol_message = json_string_value(json_object_get(v, "message"));
	ip->img = calloc(n + 1, 1);
	for (i = 0; i < n; i++) {
		const char *st = json_string_value(json_object_get(json_object_get(pass, "images"),
		                                                   api_spec_container(&ip->b->pod.spec, i)->name));

		ip->img[i] = !st ? PLAN_IMG_UNKNOWN : strcmp(st, "present") == 0 ? PLAN_IMG_PRESENT : PLAN_IMG_ABSENT;
	}
	in->img = ip->img;
	ip->failed_start = calloc(1, 1024);
	json_array_foreach(json_object_get(pass, "failed_start"), i, v) {
		strcat(ip->failed_start, json_string_value(v));
		strcat(ip->failed_start, " ");
	}
	in->failed_start = ip->failed_start;
	probes_load(ip, in, pass);
}

/* dir/name parsed as kind (new), NULL when the file is absent. */
static void *
load_api(const char *dir, const char *name, enum api_kind kind)
{
	json_t *j = load(dir, name);
	struct api_errors errs = {0};
	char *s, *e;
	void *obj;

	if (!j)
		return NULL;
	s = json_dumps(j, JSON_COMPACT);
	obj = api_parse(kind, s, strlen(s), &errs);
	e = api_errors_join(&errs, "; ");
	ck_assert_msg(obj != NULL, "%s: %s: %s", dir, name, e);
	free(e);
	free(s);
	api_errors_clear(&errs);
	json_decref(j);
	return obj;
}

/* last_pod.json (optional): the pod as last bound, for a case without a
 * binding. */
static void
input_load(const char *dir, struct input *ip, struct plan_in *in)
{
	json_t *cs = load(dir, "containers.json"), *v;
	size_t i;

	memset(ip, 0, sizeof(*ip));
	memset(in, 0, sizeof(*in));
	ip->b = load_api(dir, "binding.json", API_BINDING);
	ip->last_pod = load_api(dir, "last_pod.json", API_POD);
	ck_assert_msg(json_is_array(cs), "%s: containers.json is not an array", dir);
	ip->n = json_array_size(cs);
	ip->s = calloc(ip->n + 1, sizeof(*ip->s));
	json_array_foreach(cs, i, v)
		snap_load(&ip->s[i], v);
	json_decref(cs);
	ip->memo_json = load(dir, "memo.json");
	ip->memo = memo_load(ip->memo_json);
	in->binding = ip->b;
	in->last_pod = ip->last_pod;
	in->s = ip->s;
	in->n = ip->n;
	in->memo = ip->memo;
	in->now = FIX_NOW;
	ck_assert_int_eq(api_time_parse(FIX_WALL, &in->wall, NULL), 0);
	in->backoff_base_ms = FIX_BASE_MS;
	in->backoff_max_ms = FIX_MAX_MS;
	pass_load(ip, in, json_object_get(ip->memo_json, "pass"));
}

static void
input_free(struct input *ip)
{
	size_t i;

	for (i = 0; i < ip->n; i++)
		snap_clear(&ip->s[i]);
	free(ip->s);
	api_free(API_BINDING, ip->b);
	api_free(API_POD, ip->last_pod);
	free(ip->probes);
	plan_memo_free(ip->memo);
	free(ip->img);
	free(ip->failed_start);
	json_decref(ip->memo_json);
}

/* ---------------------------------------------------------------- outputs */

static void
set_str(json_t *o, const char *k, const char *v)
{
	if (v)
		json_object_set_new(o, k, json_string(v));
}

static json_t *
action_json(const struct plan_in *in, const struct plan_out *out)
{
	json_t *a = json_pack("{s:s}", "do", plan_act_name(out->act));

	if (out->target)
		set_str(a, "id", out->target->id);
	if (out->act == PLAN_REMOVE) {
		set_str(a, "why", out->why);
		if (out->grace >= 0)
			json_object_set_new(a, "grace", json_integer(out->grace));
		if (out->restart)
			json_object_set_new(a, "restart", json_true());
		if (out->keep)
			json_object_set_new(a, "keep", json_true());
	}
	if (out->act == PLAN_PRE_STOP)
		json_object_set_new(a, "grace", json_integer(out->grace));
	if (out->ci >= 0) {
		const struct api_pod *p = in->binding ? &in->binding->pod : in->last_pod;
		const struct api_container *c = api_spec_container(&p->spec, (size_t)out->ci);

		set_str(a, "container", c->name);
		set_str(a, "image", c->image);
	}
	if (out->act == PLAN_CREATE_APP) {
		json_object_set_new(a, "restarts", json_integer(out->restarts));
		set_str(a, "sandbox", out->infra->id);
	}
	return a;
}

/* The P/podstatus value the agent would write for the rows. */
static json_t *
status_json(const struct plan_in *in, const struct plan_out *out)
{
	char *v = plan_status_value(&in->binding->pod, out, FIX_HOST_IP);
	json_t *j;

	ck_assert_ptr_nonnull(v);
	j = json_loads(v, 0, NULL);
	ck_assert_ptr_nonnull(j);
	free(v);
	return j;
}

static json_t *
memo_json(const struct pod_memo *m)
{
	json_t *o = json_object();
	const struct ctr_memo *c;

	for (c = m->ctrs; c; c = c->next) {
		json_t *e = json_pack("{s:i,s:i}", "restarts", c->restarts, "failures", c->failures);

		set_str(e, "reason", c->img_reason);
		set_str(e, "message", c->img_message);
		if (c->retry_at > 0)
			json_object_set_new(e, "retry_at", json_real(c->retry_at));
		json_object_set_new(o, c->name, e);
	}
	return o;
}

/* What the planner says about the case, in the form of expected.json. */
static json_t *
result_json(const struct plan_in *in, const struct plan_out *out)
{
	json_t *r = json_object(), *ev = json_array();
	size_t i;

	json_object_set_new(r, "action", action_json(in, out));
	if (out->act == PLAN_STATUS && in->binding)
		json_object_set_new(r, "status", status_json(in, out));
	if (out->retry)
		json_object_set_new(r, "retry", json_true());
	if (out->requeue > 0)
		json_object_set_new(r, "requeue", json_real(out->requeue));
	for (i = 0; i < out->n_events; i++) {
		json_t *e = json_pack("{s:s,s:s,s:s}", "reason", out->events[i].reason, "container",
		                      out->events[i].container, "message", out->events[i].message);

		set_str(e, "type", out->events[i].type);
		json_array_append_new(ev, e);
	}
	if (out->n_events)
		json_object_set_new(r, "events", ev);
	else
		json_decref(ev);
	json_object_set_new(r, "memo", memo_json(in->memo));
	if (in->memo->stop_began > 0)
		json_object_set_new(r, "stop_began", json_real(in->memo->stop_began));
	return r;
}

/* ---------------------------------------------------------------- tests */

START_TEST(test_fixture)
{
	const char *dir = cases[_i];
	struct input ip;
	struct plan_in in;
	struct plan_out out;
	json_t *got, *want;
	char *g, *w, path[600];

	input_load(dir, &ip, &in);
	ck_assert_int_eq(plan(&in, &out), 0);
	got = result_json(&in, &out);
	g = json_dumps(got, JSON_INDENT(2) | JSON_SORT_KEYS);
	if (getenv("SKIFF_FIXTURES_UPDATE")) {
		snprintf(path, sizeof(path), "%s/expected.json", dir);
		ck_assert_int_eq(json_dump_file(got, path, JSON_INDENT(2) | JSON_SORT_KEYS), 0);
	} else {
		want = load(dir, "expected.json");
		ck_assert_msg(want != NULL, "%s: no expected.json (run with SKIFF_FIXTURES_UPDATE=1)", dir);
		w = json_dumps(want, JSON_INDENT(2) | JSON_SORT_KEYS);
		ck_assert_msg(json_equal(got, want), "%s:\n--- got\n%s\n--- want\n%s", dir, g, w);
		free(w);
		json_decref(want);
	}
	free(g);
	json_decref(got);
	plan_out_clear(&out);
	input_free(&ip);
}
END_TEST

START_TEST(test_have_fixtures)
{
	ck_assert_msg(n_cases >= 20, "only %zu cases under %s", n_cases, fixture_root());
}
END_TEST

/* The spec hash is on every container Docker holds: a change recreates
 * every container on upgrade. These values must never change. */
START_TEST(test_spec_hash_pinned)
{
	const char *j = "{\"node\":\"n1\",\"pod\":{\"metadata\":{\"name\":\"web\",\"uid\":\"101\"},\"spec\":{"
			"\"containers\":[{\"name\":\"web\",\"image\":\"skiff/test-httpd:latest\",\"command\":[\"a\"],"
			"\"args\":[\"b\"],\"env\":[{\"name\":\"MODE\",\"value\":\"test\"}],"
			"\"ports\":[{\"containerPort\":80,\"hostPort\":8080}],"
			"\"resources\":{\"limits\":{\"memory\":\"64Mi\",\"cpu\":\"500m\"}}}]}}}";
	struct api_errors errs = {0};
	struct api_binding *b = api_parse(API_BINDING, j, strlen(j), &errs);
	char h[32];

	ck_assert_ptr_nonnull(b);
	pods_hash_container(&b->pod.spec.containers[0], h, sizeof(h));
	ck_assert_str_eq(h, HASH_CONTAINER);
	pods_hash_infra(&b->pod, NULL, h, sizeof(h));
	ck_assert_str_eq(h, HASH_INFRA);
	pods_hash_infra(&b->pod, "skiff0", h, sizeof(h));
	ck_assert_str_eq(h, HASH_INFRA_NET);
	api_free(API_BINDING, b);
}
END_TEST

START_TEST(test_backoff_curve)
{
	ck_assert(plan_backoff(10000, 300000, 0) == 0);
	ck_assert(plan_backoff(10000, 300000, -3) == 0);
	ck_assert(plan_backoff(10000, 300000, 1) == 10);
	ck_assert(plan_backoff(10000, 300000, 2) == 20);
	ck_assert(plan_backoff(10000, 300000, 5) == 160);
	ck_assert(plan_backoff(10000, 300000, 6) == 300);
	ck_assert(plan_backoff(10000, 300000, 1000) == 300);
	ck_assert(plan_backoff(500, 500, 3) == 0.5);
}
END_TEST

/* Each failure of an image or a creation doubles the wait; a running
 * container clears it (fixture running-clears-memo). */
/* --host-port-range values. */
START_TEST(test_port_range_parse)
{
	static const char *const bad[] = {
		"0-10", "10-9", "1-65536", "80", "-80", "1-2x", " 1-2", "1--2", "", "1-2-3", "99999999999999999999-1"};
	char err[160];
	int lo = 0, hi = 0;

	ck_assert_int_eq(plan_port_range_parse("1-65535", &lo, &hi, err, sizeof(err)), 0);
	ck_assert(lo == 1 && hi == 65535);
	ck_assert_int_eq(plan_port_range_parse("30000-32767", &lo, &hi, err, sizeof(err)), 0);
	ck_assert(lo == 30000 && hi == 32767);
	ck_assert_int_eq(plan_port_range_parse("80-80", &lo, &hi, err, sizeof(err)), 0);
	ck_assert(lo == 80 && hi == 80);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(plan_port_range_parse(bad[i], &lo, &hi, err, sizeof(err)) == -1, "\"%s\" taken", bad[i]);
		ck_assert_ptr_nonnull(strstr(err, "is not a port range"));
	}
}
END_TEST

START_TEST(test_memo_error_grows)
{
	struct pod_memo *m = calloc(1, sizeof(*m));
	struct ctr_memo *c;

	m->name = strdup("pod");
	m->uid = strdup("u");
	c = plan_ctr_memo(m, "web");
	ck_assert_ptr_eq(plan_ctr_memo(m, "web"), c);
	plan_memo_error(c, "ErrImagePull", "no such host", 100, 10000, 300000);
	ck_assert_int_eq(c->failures, 1);
	ck_assert(c->retry_at == 110);
	plan_memo_error(c, "ErrImagePull", "again", 200, 10000, 300000);
	ck_assert_int_eq(c->failures, 2);
	ck_assert(c->retry_at == 220);
	ck_assert_str_eq(c->img_message, "again");
	plan_memo_error(NULL, "X", "y", 0, 1, 1); /* no entry: nothing */
	plan_memo_free(m);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("agent_plan");
	TCase *tc = tcase_create("fixtures"), *core = tcase_create("core");

	tcase_add_loop_test(tc, test_fixture, 0, (int)n_cases);
	tcase_add_test(tc, test_have_fixtures);
	suite_add_tcase(s, tc);
	tcase_add_test(core, test_spec_hash_pinned);
	tcase_add_test(core, test_backoff_curve);
	tcase_add_test(core, test_memo_error_grows);
	tcase_add_test(core, test_port_range_parse);
	suite_add_tcase(s, core);
	return s;
}

int
main(void)
{
	SRunner *sr;
	int failed;

	collect();
	sr = srunner_create(suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	free(cases);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
