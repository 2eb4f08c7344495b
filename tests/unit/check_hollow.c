/*
 * check_hollow.c: the hollow runtime (node-agent/agent_hollow.c) through
 * the dk_* calls the agent makes, on a libev loop: answers never come
 * inside dk_call; containers are created, started (after the start
 * delay), listed by label, inspected with an address from their network,
 * stopped and removed, with the events stream seeing each; the pause image
 * is missing until imported; exec; cancel.
 */
#include <check.h>
#include <ev.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "node-agent/agent_hollow.h"

static struct ev_loop *L;
static struct dk *D;

struct ans {
	int done;
	long status;
	char *body;
	int lines;
	char last[512];
};

static void
on_done(struct dk_resp *r, void *arg)
{
	struct ans *a = arg;

	a->done = 1;
	a->status = r->status;
	a->body = strndup(r->body, r->len);
}

static int
on_line(const char *line, size_t len, void *arg)
{
	struct ans *a = arg;

	a->lines++;
	snprintf(a->last, sizeof(a->last), "%.*s", (int)len, line);
	return 0;
}

/* Send and run the loop until the answer (10 s at most); the answer must
 * not have come inside dk_call. */
static long
call(const char *method, const char *path, const char *body, struct ans *a)
{
	struct dk_req *r;
	int i;

	memset(a, 0, sizeof(*a));
	r = dk_call(D, &(struct dk_call_opts){.method = method,
	                                      .path = path,
	                                      .body = body,
	                                      .len = body ? strlen(body) : 0,
	                                      .done = on_done,
	                                      .arg = a});
	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(a->done, 0);
	for (i = 0; i < 1000 && !a->done; i++)
		ev_run(L, EVRUN_ONCE);
	ck_assert_msg(a->done, "%s %s: no answer", method, path);
	return a->status;
}

static void
drop(struct ans *a)
{
	free(a->body);
	a->body = NULL;
}

static void
setup(void)
{
	hollow_configure(0);
	L = ev_loop_new(EVFLAG_AUTO);
	D = dk_new(L, "/nonexistent.sock");
	ck_assert_ptr_nonnull(D);
}

static void
teardown(void)
{
	dk_free(D);
	ev_loop_destroy(L);
}

#define LABELS "{\"skiff.node\":\"n1\",\"skiff.pod\":\"%s\"}"

/* Create a container of pod on network mode nm (NULL: default); its ID into id. */
static void
create(const char *name, const char *pod, const char *image, const char *nm, char id[72])
{
	char body[512], lbl[128], path[256];
	struct ans a;
	json_t *j;

	snprintf(lbl, sizeof(lbl), LABELS, pod);
	snprintf(body, sizeof(body), "{\"Image\":\"%s\",\"Labels\":%s,\"HostConfig\":{%s%s%s}}", image, lbl,
	         nm ? "\"NetworkMode\":\"" : "", nm ? nm : "", nm ? "\"" : "");
	snprintf(path, sizeof(path), "/containers/create?name=%s", name);
	ck_assert_int_eq(call("POST", path, body, &a), 201);
	j = json_loads(a.body, 0, NULL);
	snprintf(id, 72, "%s", json_string_value(json_object_get(j, "Id")));
	json_decref(j);
	drop(&a);
	ck_assert_uint_eq(strlen(id), 64);
}

static void
import_pause(void)
{
	struct dk_req *r;
	struct ans a = {0};
	int i;

	r = dk_call(D, &(struct dk_call_opts){.method = "POST",
	                                      .path = "/images/create?fromSrc=-&repo=skiff%2Fpause&tag=0.1",
	                                      .body = "tar",
	                                      .len = 3,
	                                      .ctype = "application/x-tar",
	                                      .on_line = on_line,
	                                      .done = on_done,
	                                      .arg = &a});
	ck_assert_ptr_nonnull(r);
	for (i = 0; i < 1000 && !a.done; i++)
		ev_run(L, EVRUN_ONCE);
	ck_assert_int_eq(a.status, 200);
	ck_assert_int_eq(a.lines, 1);
	drop(&a);
}

START_TEST(test_lifecycle)
{
	struct ans a, ev = {0};
	char id[72], path[256];
	struct dk_req *er;
	json_t *j;

	ck_assert_int_eq(call("GET", "/images/skiff%2Fpause:0.1/json", NULL, &a), 404);
	drop(&a);
	ck_assert_int_eq(call("POST", "/containers/create?name=x", "{\"Image\":\"skiff/pause:0.1\"}", &a), 404);
	drop(&a);
	import_pause();
	ck_assert_int_eq(call("GET", "/images/skiff%2Fpause:0.1/json", NULL, &a), 200);
	drop(&a);
	er = dk_call(D,
	             &(struct dk_call_opts){.path = "/events?filters=%7B%22label%22%3A%5B%22skiff.node%3Dn1%22%5D%7D",
	                                    .on_line = on_line,
	                                    .done = on_done,
	                                    .arg = &ev});
	ck_assert_ptr_nonnull(er);
	create("c1", "p1", "skiff/pause:0.1", NULL, id);
	ck_assert_int_eq(call("POST", "/containers/create?name=c1", "{\"Image\":\"busybox\"}", &a), 409);
	drop(&a);
	snprintf(path, sizeof(path), "/containers/%s/start", id);
	ck_assert_int_eq(call("POST", path, NULL, &a), 204);
	drop(&a);
	ck_assert_int_eq(ev.lines, 1);
	ck_assert_ptr_nonnull(strstr(ev.last, "\"start\""));
	snprintf(path, sizeof(path), "/containers/%s/json", id);
	ck_assert_int_eq(call("GET", path, NULL, &a), 200);
	j = json_loads(a.body, 0, NULL);
	ck_assert(json_is_true(json_object_get(json_object_get(j, "State"), "Running")));
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(j, "NetworkSettings"), "IPAddress")),
	                 "172.17.0.2");
	json_decref(j);
	drop(&a);
	ck_assert_int_eq(
		call("GET", "/containers/json?all=1&filters=%7B%22label%22%3A%5B%22skiff.pod%3Dp1%22%5D%7D", NULL, &a),
		200);
	j = json_loads(a.body, 0, NULL);
	ck_assert_int_eq(json_array_size(j), 1);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(j, 0), "State")), "running");
	json_decref(j);
	drop(&a);
	ck_assert_int_eq(
		call("GET", "/containers/json?all=1&filters=%7B%22label%22%3A%5B%22skiff.pod%3Dp2%22%5D%7D", NULL, &a),
		200);
	ck_assert_str_eq(a.body, "[]");
	drop(&a);
	snprintf(path, sizeof(path), "/containers/%s?force=1&v=1", id);
	ck_assert_int_eq(call("DELETE", path, NULL, &a), 204);
	drop(&a);
	ck_assert_int_eq(ev.lines, 3); /* die, destroy */
	ck_assert_ptr_nonnull(strstr(ev.last, "\"destroy\""));
	snprintf(path, sizeof(path), "/containers/%s/json", id);
	ck_assert_int_eq(call("GET", path, NULL, &a), 404);
	drop(&a);
	dk_cancel(er);
	ck_assert_int_eq(ev.done, 0);
}
END_TEST

START_TEST(test_network_address)
{
	struct ans a;
	char id[72], path[256];
	json_t *j;

	import_pause();
	ck_assert_int_eq(call("POST", "/networks/create",
	                      "{\"Name\":\"skiff0\",\"IPAM\":{\"Config\":[{\"Subnet\":\"10.244.5.0/24\"}]}}", &a),
	                 201);
	drop(&a);
	create("c1", "p1", "skiff/pause:0.1", "skiff0", id);
	snprintf(path, sizeof(path), "/containers/%s/start", id);
	ck_assert_int_eq(call("POST", path, NULL, &a), 204);
	drop(&a);
	snprintf(path, sizeof(path), "/containers/%s/json", id);
	ck_assert_int_eq(call("GET", path, NULL, &a), 200);
	j = json_loads(a.body, 0, NULL);
	ck_assert_str_eq(
		json_string_value(json_object_get(
			json_object_get(json_object_get(json_object_get(j, "NetworkSettings"), "Networks"), "skiff0"),
			"IPAddress")),
		"10.244.5.2");
	json_decref(j);
	drop(&a);
	ck_assert_int_eq(call("GET", "/networks/skiff0", NULL, &a), 200);
	j = json_loads(a.body, 0, NULL);
	ck_assert_int_eq(json_object_size(json_object_get(j, "Containers")), 1);
	json_decref(j);
	drop(&a);
	ck_assert_int_eq(call("DELETE", "/networks/skiff0", NULL, &a), 403);
	drop(&a);
	create("c2", "p2", "busybox", "nosuch", id);
	snprintf(path, sizeof(path), "/containers/%s/start", id);
	ck_assert_int_eq(call("POST", path, NULL, &a), 404);
	drop(&a);
}
END_TEST

START_TEST(test_start_delay)
{
	struct ans a;
	char id[72], path[256];
	double t0;

	hollow_configure(200);
	create("c1", "p1", "busybox", NULL, id);
	snprintf(path, sizeof(path), "/containers/%s/start", id);
	ev_now_update(L);
	t0 = ev_now(L);
	ck_assert_int_eq(call("POST", path, NULL, &a), 204);
	drop(&a);
	ev_now_update(L);
	ck_assert_msg(ev_now(L) - t0 >= 0.19, "started after %.3f s", ev_now(L) - t0);
}
END_TEST

START_TEST(test_exec_and_cancel)
{
	struct ans a, never = {0};
	char id[72], path[256], eid[72];
	struct dk_req *r;
	json_t *j;
	int i;

	create("c1", "p1", "busybox", NULL, id);
	snprintf(path, sizeof(path), "/containers/%s/exec", id);
	ck_assert_int_eq(call("POST", path, "{\"Cmd\":[\"false\"]}", &a), 409); /* not running */
	drop(&a);
	snprintf(path, sizeof(path), "/containers/%s/start", id);
	ck_assert_int_eq(call("POST", path, NULL, &a), 204);
	drop(&a);
	snprintf(path, sizeof(path), "/containers/%s/exec", id);
	ck_assert_int_eq(call("POST", path, "{\"Cmd\":[\"false\"]}", &a), 201);
	j = json_loads(a.body, 0, NULL);
	snprintf(eid, sizeof(eid), "%s", json_string_value(json_object_get(j, "Id")));
	json_decref(j);
	drop(&a);
	snprintf(path, sizeof(path), "/exec/%s/start", eid);
	ck_assert_int_eq(call("POST", path, "{\"Detach\":false}", &a), 200);
	drop(&a);
	snprintf(path, sizeof(path), "/exec/%s/json", eid);
	ck_assert_int_eq(call("GET", path, NULL, &a), 200);
	ck_assert_ptr_nonnull(strstr(a.body, "\"ExitCode\":1"));
	drop(&a);
	r = dk_call(D, &(struct dk_call_opts){.path = "/_ping", .done = on_done, .arg = &never});
	ck_assert_ptr_nonnull(r);
	dk_cancel(r);
	ck_assert_int_eq(call("GET", "/_ping", NULL, &a), 200);
	ck_assert_str_eq(a.body, "OK");
	drop(&a);
	for (i = 0; i < 10; i++)
		ev_run(L, EVRUN_NOWAIT);
	ck_assert_int_eq(never.done, 0);
	ck_assert_int_eq(call("GET", "/nonsense", NULL, &a), 404);
	drop(&a);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("hollow");
	TCase *core = tcase_create("core"), *errors = tcase_create("errors"), *limits = tcase_create("limits");

	tcase_add_checked_fixture(core, setup, teardown);
	tcase_add_checked_fixture(errors, setup, teardown);
	tcase_add_checked_fixture(limits, setup, teardown);
	tcase_add_test(core, test_lifecycle);
	tcase_add_test(core, test_network_address);
	tcase_add_test(limits, test_start_delay);
	tcase_add_test(errors, test_exec_and_cancel);
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
