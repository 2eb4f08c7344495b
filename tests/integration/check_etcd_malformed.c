/*
 * check_etcd_malformed.c: the client against a fake HTTP server that answers
 * with canned bytes (tests/harness/fake_http.h): garbage, truncated and
 * oversized bodies, invalid JSON, wrong JSON types, connections closed
 * without a reply, servers that never answer, and gateway error bodies.
 * Every case must end in one typed error: no crash, no hang, no leak (this
 * suite also runs under ASan+LSan). No etcd is started.
 */
#include <check.h>
#include <ev.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "etcd.h"
#include "etcd_sync.h"
#include "tests/harness/etcd_fixture.h"
#include "tests/harness/etcd_harness.h"
#include "tests/harness/etcd_testutil.h"
#include "tests/harness/fake_http.h"

#define END_CODES ETCD_ECODE_MAX
#define MAX_CODES 4 /* codes a table case accepts, ETCD_OK ending them */
#define NELEM(a) ((int)(sizeof(a) / sizeof((a)[0])))

static void
config(struct fake_http *f, struct etcd_config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	cfg->endpoints = fh_url(f);
	cfg->request_timeout_ms = 700;
	cfg->connect_timeout_ms = 300;
	cfg->retry_budget_ms = 1000;
	cfg->max_response = 1 << 20;
}

static struct sync_case {
	struct fake_http *f;
	struct etcd_sync *s;
} K;

static void
start_fake(const struct fh_reply *rep, const char *user)
{
	struct etcd_config cfg;
	struct etcd_error err;
	K.f = fh_start(rep);
	ck_assert_ptr_nonnull(K.f);
	config(K.f, &cfg);
	cfg.user = user;
	cfg.password = user ? "pw" : NULL;
	K.s = etcd_sync_new(&cfg, &err);
	ck_assert_msg(K.s != NULL, "etcd_sync_new: %s", tu_err(&err));
}

static void
stop_fake(void)
{
	etcd_sync_free(K.s);
	fh_stop(K.f);
	K.s = NULL;
	K.f = NULL;
}

/* res must carry one of the codes (ETCD_OK ends the list). */
static void
expect_any(const struct etcd_result *r, const char *what, const enum etcd_code *codes)
{
	int ok = 0;
	char want[256] = "";
	ck_assert_msg(r != NULL, "%s: NULL result", what);
	for (int i = 0; i < MAX_CODES && codes[i] != ETCD_OK; i++) {
		ok |= r->err.code == codes[i];
		strncat(want, etcd_code_name(codes[i]), sizeof want - strlen(want) - 2);
		strcat(want, " ");
	}
	ck_assert_msg(ok, "%s: expected one of { %s}, got %s", what, want, tu_err(&r->err));
	ck_assert_msg(r->err.msg[0] != 0, "%s: error without a message", what);
	ck_assert_uint_eq(r->nkvs, 0);
}

/* The codes of a variadic list ending with END_CODES, into codes. */
static void
va_codes(va_list ap, enum etcd_code *codes)
{
	int n = 0;

	memset(codes, 0, MAX_CODES * sizeof(*codes));
	for (int c = va_arg(ap, int); c != END_CODES; c = va_arg(ap, int)) {
		ck_assert_int_lt(n, MAX_CODES - 1);
		codes[n++] = (enum etcd_code)c;
	}
}

/* res must carry one of the codes (list ends with END_CODES). */
static void
expect_codes(const struct etcd_result *r, const char *what, ...)
{
	enum etcd_code codes[MAX_CODES];
	va_list ap;

	va_start(ap, what);
	va_codes(ap, codes);
	va_end(ap);
	expect_any(r, what, codes);
}

/* A get answered with head must end in one of the codes. */
static void
get_case_codes(const char *what, const char *head, const enum etcd_code *codes)
{
	struct fh_reply rep = {.head = head};
	start_fake(&rep, NULL);
	struct etcd_result *r = etcd_sync_get(K.s, "/mal/k");
	ck_assert_ptr_nonnull(r);
	expect_any(r, what, codes);
	TU_FREE(r);
	stop_fake();
}

static void
get_case(const char *head, ...)
{
	enum etcd_code codes[MAX_CODES];
	va_list ap;

	va_start(ap, head);
	va_codes(ap, codes);
	va_end(ap);
	get_case_codes("get", head, codes);
}

/* A 200 response with a JSON body. */
static char *
ok_json(const char *body)
{
	return fh_response(200, body);
}

/* A get answered with a canned reply must end in one of the codes. */
struct get_case {
	const char *name;
	const char *reply;               /* the bytes (transport), or a 200's JSON body */
	enum etcd_code codes[MAX_CODES]; /* ETCD_OK ends the list */
};

static const struct get_case transport_replies[] = {
	{"not_http", "garbage that is no HTTP at all\r\n\r\n", {ETCD_EBADRESP, ETCD_ECONN}},
	{"truncated_chunked",
         "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n100\r\n{\"header\":{\"revision\":",
         {ETCD_ECONN, ETCD_EBADRESP}},
	{"bad_chunk_size",
         "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n",
         {ETCD_ECONN, ETCD_EBADRESP}},
	{"truncated_content_length",
         "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"header\":",
         {ETCD_ECONN, ETCD_EBADRESP}},
	{"status_line_only", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", {ETCD_EBADRESP}},
	{"http_500_text",
         "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 4\r\n\r\noops",
         {ETCD_ESERVER, ETCD_EBADRESP}},
	{"http_503_text", "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 4\r\n\r\nbusy", {ETCD_EUNAVAIL}},
	{"http_404_text",
         "HTTP/1.1 404 Not Found\r\nContent-Length: 18\r\n\r\n404 page not found",
         {ETCD_ESERVER, ETCD_EBADRESP}},
};

START_TEST(mal_transport_reply)
{
	const struct get_case *c = &transport_replies[_i];

	get_case_codes(c->name, c->reply, c->codes);
}
END_TEST

static const struct get_case json_bodies[] = {
	{"invalid_json", "{not json", {ETCD_EBADRESP}},
	{"json_array", "[1,2,3]", {ETCD_EBADRESP}},
	{"json_string", "\"hello\"", {ETCD_EBADRESP}},
	{"json_trailing_garbage", "{\"header\":{\"revision\":\"5\"}} trailing", {ETCD_EBADRESP}},
	{"revision_object", "{\"header\":{\"revision\":{}}}", {ETCD_EBADRESP}},
	{"revision_not_numeric", "{\"header\":{\"revision\":\"12abc\"}}", {ETCD_EBADRESP}},
	{"revision_overflow", "{\"header\":{\"revision\":\"99999999999999999999999\"}}", {ETCD_EBADRESP}},
	{"header_not_object", "{\"header\":[]}", {ETCD_EBADRESP}},
	{"kvs_not_array", "{\"header\":{\"revision\":\"5\"},\"kvs\":\"nope\"}", {ETCD_EBADRESP}},
	{"kv_not_object", "{\"header\":{\"revision\":\"5\"},\"kvs\":[7]}", {ETCD_EBADRESP}},
	{"kv_bad_base64",
         "{\"header\":{\"revision\":\"5\"},\"kvs\":[{\"key\":\"!!!not-base64\",\"mod_revision\":\"5\"}]}",
         {ETCD_EBADRESP}},
	{"kv_key_number", "{\"header\":{\"revision\":\"5\"},\"kvs\":[{\"key\":5}]}", {ETCD_EBADRESP}},
	{"kv_value_wrong_type",
         "{\"header\":{\"revision\":\"5\"},\"kvs\":[{\"key\":\"YQ==\",\"value\":{\"a\":1}}]}",
         {ETCD_EBADRESP}},
	{"kv_version_wrong_type",
         "{\"header\":{\"revision\":\"5\"},\"kvs\":[{\"key\":\"YQ==\",\"version\":[1]}]}",
         {ETCD_EBADRESP}},
	{"count_bool", "{\"header\":{\"revision\":\"5\"},\"count\":true}", {ETCD_EBADRESP}},
	{"more_string", "{\"header\":{\"revision\":\"5\"},\"more\":\"yes\"}", {ETCD_EBADRESP}},
};

START_TEST(mal_json_body)
{
	const struct get_case *c = &json_bodies[_i];
	char *resp = ok_json(c->reply);

	get_case_codes(c->name, resp, c->codes);
	free(resp);
}
END_TEST

/* ---- transport ---- */

START_TEST(mal_close_without_reply)
{
	struct fh_reply rep = {.no_reply = 1};
	start_fake(&rep, NULL);
	struct etcd_result *r = etcd_sync_get(K.s, "/mal/k");
	expect_codes(r, "get", ETCD_ECONN, END_CODES);
	ck_assert_int_ge(fh_requests(K.f), 1);
	TU_FREE(r);
	stop_fake();
}
END_TEST

START_TEST(mal_put_no_reply_not_retried)
{
	struct fh_reply rep = {.no_reply = 1};
	start_fake(&rep, NULL);
	struct etcd_result *r = etcd_sync_put(K.s, "/mal/k", "v", 1, NULL);
	expect_codes(r, "put", ETCD_ECONN, END_CODES);
	ck_assert_msg(r->err.outcome_unknown == 1, "the put reached the server: outcome is unknown");
	ck_assert_int_eq(fh_requests(K.f), 1); /* an unguarded write is never sent twice */
	TU_FREE(r);
	stop_fake();
}
END_TEST

START_TEST(mal_put_timeout_outcome_unknown)
{
	struct fh_reply rep = {.no_reply = 1, .after = FH_HOLD};
	start_fake(&rep, NULL);
	struct etcd_result *r = etcd_sync_put(K.s, "/mal/k", "v", 1, NULL);
	expect_codes(r, "put", ETCD_ETIMEOUT, END_CODES);
	ck_assert_int_eq(r->err.outcome_unknown, 1);
	ck_assert_int_eq(fh_requests(K.f), 1);
	TU_FREE(r);
	stop_fake();
}
END_TEST

START_TEST(mal_delete_no_reply_not_retried)
{
	struct fh_reply rep = {.no_reply = 1};
	start_fake(&rep, NULL);
	struct etcd_delete_opts o = {.prefix = 1};
	struct etcd_result *r = etcd_sync_delete(K.s, "/mal/", &o);
	expect_codes(r, "delete", ETCD_ECONN, END_CODES);
	ck_assert_int_eq(r->err.outcome_unknown, 1);
	ck_assert_int_eq(fh_requests(K.f), 1);
	TU_FREE(r);
	stop_fake();
}
END_TEST

/* Replies that are not whole ones: a get must end in the code. */
static const struct odd_reply {
	const char *name;
	struct fh_reply rep;
	enum etcd_code want;
} odd_replies[] = {
	{"never_answers", {.no_reply = 1, .after = FH_HOLD}, ETCD_ETIMEOUT},
	{"huge_body",
         {.head = "HTTP/1.1 200 OK\r\nContent-Length: 67108864\r\n\r\n{\"header\":{},\"x\":\"",
          .fill_len = 64 << 20,
          .fill_byte = 'x'},
         ETCD_ETOOLARGE},
	{"huge_chunked_body",
         {.head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4000000\r\n",
          .fill_len = 64 << 20,
          .fill_byte = '['},
         ETCD_ETOOLARGE},
};

START_TEST(mal_odd_reply)
{
	const struct odd_reply *c = &odd_replies[_i];

	start_fake(&c->rep, NULL);
	struct etcd_result *r = etcd_sync_get(K.s, "/mal/k");
	expect_codes(r, c->name, c->want, END_CODES);
	TU_FREE(r);
	stop_fake();
}
END_TEST

START_TEST(mal_retry_budget_respected)
{
	/* connection refused on every attempt: the call must give up once the
	 * retry budget (1 s here) is spent, not long after */
	struct etcd_sync *s = tu_refused_sync(700, 1000);
	ck_assert_ptr_nonnull(s);
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	struct etcd_result *r = etcd_sync_get(s, "/mal/k");
	clock_gettime(CLOCK_MONOTONIC, &b);
	double took = (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9;
	expect_codes(r, "get", ETCD_ECONN, END_CODES);
	ck_assert_msg(took < 1.3, "gave up after %.2f s with a 1 s retry budget (%s)", took, r->err.msg);
	TU_FREE(r);
	etcd_sync_free(s);
}
END_TEST

/* ---- JSON ---- */

START_TEST(mal_json_nul_byte)
{
	static const char resp[] = "HTTP/1.1 200 OK\r\nContent-Length: 16\r\n\r\n{\"header\":{}}\0\0\0";
	struct fh_reply rep = {.head = resp, .head_len = sizeof resp - 1};
	start_fake(&rep, NULL);
	struct etcd_result *r = etcd_sync_get(K.s, "/mal/k");
	expect_codes(r, "get", ETCD_EBADRESP, END_CODES);
	TU_FREE(r);
	stop_fake();
}
END_TEST

START_TEST(mal_json_deeply_nested)
{
	size_t depth = 100000;
	char *body = malloc(2 * depth + 1);
	ck_assert_ptr_nonnull(body);
	memset(body, '[', depth);
	memset(body + depth, ']', depth);
	body[2 * depth] = 0;
	char *resp = ok_json(body);
	get_case(resp, ETCD_EBADRESP, END_CODES);
	free(resp);
	free(body);
}
END_TEST

/* ---- error bodies (grpc-gateway shapes) ---- */

static void
err_case(const char *name, int status, const char *body, enum etcd_code want, int grpc, int put)
{
	char *resp = fh_response(status, body);
	struct fh_reply rep = {.head = resp};
	start_fake(&rep, NULL);
	struct etcd_result *r = put ? etcd_sync_put(K.s, "/mal/k", "v", 1, NULL) : etcd_sync_get(K.s, "/mal/k");
	ck_assert_msg(r && r->err.code == want, "%s: HTTP %d %s: expected %s, got %s", name, status, body,
	              etcd_code_name(want), r ? tu_err(&r->err) : "NULL");
	ck_assert_int_eq(r->err.grpc_code, grpc);
	ck_assert_int_eq(r->err.http_status, status);
	ck_assert_msg(r->err.msg[0] != 0, "no message");
	ck_assert_int_eq(r->err.outcome_unknown, 0); /* the server answered: not applied */
	TU_FREE(r);
	stop_fake();
	free(resp);
}

#define GW34(msg, code) "{\"error\":\"" msg "\",\"message\":\"" msg "\",\"code\":" #code "}"

/* Gateway error bodies: the status and body, the code and gRPC code
 * they map to, and whether the call is a put (else a get). */
static const struct err_case {
	const char *name;
	int status;
	const char *body;
	enum etcd_code want;
	int grpc, put;
} err_cases[] = {
	{"compacted", 400, GW34("etcdserver: mvcc: required revision has been compacted", 11), ETCD_ECOMPACTED, 11, 0},
	{"future_revision", 400, GW34("etcdserver: mvcc: required revision is a future revision", 11), ETCD_EFUTURE, 11,
         0},
	{"lease_not_found", 404, GW34("etcdserver: requested lease not found", 5), ETCD_ENOLEASE, 5, 1},
	{"permission_denied", 403, GW34("etcdserver: permission denied", 7), ETCD_EPERM, 7, 1},
	{"request_too_large", 400, GW34("etcdserver: request is too large", 3), ETCD_ETOOLARGE, 3, 1},
	{"grpc_message_too_large", 429, GW34("grpc: received message larger than max (2097162 vs. 2097152)", 8),
         ETCD_ETOOLARGE, 8, 1},
	{"no_space", 429, GW34("etcdserver: mvcc: database space exceeded", 8), ETCD_ENOSPACE, 8, 1},
	{"key_not_found", 400, GW34("etcdserver: key not found", 3), ETCD_ENOTFOUND, 3, 1},
	{"invalid_argument", 400, GW34("etcdserver: duplicate key given in txn request", 3), ETCD_EINVAL, 3, 1},
	{"unknown_internal", 500, GW34("something odd happened", 2), ETCD_ESERVER, 2, 0},
};

START_TEST(errmap_gateway_body)
{
	const struct err_case *c = &err_cases[_i];

	err_case(c->name, c->status, c->body, c->want, c->grpc, c->put);
}
END_TEST

START_TEST(errmap_v36_shape_no_leader)
{
	/* 3.6 drops "error"; code 14 is retried until the budget is spent */
	char *resp = fh_response(503, "{\"code\":14,\"message\":\"etcdserver: no leader\"}");
	struct fh_reply rep = {.head = resp};
	start_fake(&rep, NULL);
	struct etcd_result *r = etcd_sync_get(K.s, "/mal/k");
	expect_codes(r, "get", ETCD_EUNAVAIL, END_CODES);
	ck_assert_int_eq(r->err.grpc_code, 14);
	ck_assert_int_eq(r->err.http_status, 503);
	TU_FREE(r);
	stop_fake();
	free(resp);
}
END_TEST

START_TEST(errmap_error_body_wrong_types)
{
	char *resp = fh_response(400, "{\"code\":\"three\",\"message\":5}");
	get_case(resp, ETCD_EBADRESP, ETCD_ESERVER, ETCD_EINVAL, END_CODES);
	free(resp);
}
END_TEST

START_TEST(errmap_authenticate_rejected)
{
	/* every request, including authenticate, gets "authentication failed" */
	char *resp = fh_response(400, GW34("etcdserver: authentication failed, invalid user ID or password", 3));
	struct fh_reply rep = {.head = resp};
	start_fake(&rep, "someone");
	struct etcd_result *r = etcd_sync_get(K.s, "/mal/k");
	expect_codes(r, "get", ETCD_EAUTH, END_CODES);
	TU_FREE(r);
	stop_fake();
	free(resp);
}
END_TEST

START_TEST(errmap_authenticate_garbage)
{
	struct fh_reply rep = {.head = "HTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\n{\"token\":{}}\n"};
	start_fake(&rep, "someone");
	struct etcd_result *r = etcd_sync_get(K.s, "/mal/k");
	expect_codes(r, "get", ETCD_EBADRESP, ETCD_EAUTH, END_CODES);
	TU_FREE(r);
	stop_fake();
}
END_TEST

/* ---- other calls ---- */

/* The calls a canned reply is tried on. */
enum call {
	CALL_TXN,
	CALL_LEASE_GRANT,
	CALL_KEEPALIVE,
	CALL_LEASE_TTL,
	CALL_STATUS,
	CALL_PUT_PREV,
	CALL_DELETE_PREV,
	CALL_RANGE_PAGED
};

/* The call which, answered with body, must end in one of the codes. */
static void
sync_case(const char *name, const char *body, enum call which, const enum etcd_code *codes)
{
	char *resp = ok_json(body);
	struct fh_reply rep = {.head = resp};
	start_fake(&rep, NULL);
	struct etcd_result *r = NULL;
	struct etcd_txn *t;
	switch (which) {
	case CALL_TXN:
		t = etcd_txn_new();
		etcd_txn_cmp(t, "/mal/k", ETCD_CMP_VERSION, ETCD_CMP_EQUAL, 0);
		etcd_txn_put(t, ETCD_TXN_SUCCESS, "/mal/k", "v", 1, 0);
		etcd_txn_get(t, ETCD_TXN_FAILURE, "/mal/k", NULL);
		r = etcd_sync_txn(K.s, t);
		break;
	case CALL_LEASE_GRANT: r = etcd_sync_lease_grant(K.s, 10, 0); break;
	case CALL_KEEPALIVE: r = etcd_sync_lease_keepalive(K.s, 5); break;
	case CALL_LEASE_TTL: r = etcd_sync_lease_ttl(K.s, 5, 1); break;
	case CALL_STATUS: r = etcd_sync_status(K.s); break;
	case CALL_PUT_PREV: r = etcd_sync_put(K.s, "/mal/k", "v", 1, &(struct etcd_put_opts){.prev_kv = 1}); break;
	case CALL_DELETE_PREV: r = etcd_sync_delete(K.s, "/mal/k", &(struct etcd_delete_opts){.prev_kv = 1}); break;
	case CALL_RANGE_PAGED:
		r = etcd_sync_range(K.s, "/mal/", &(struct etcd_range_opts){.prefix = 1, .page_size = 2});
		break;
	}
	ck_assert_ptr_nonnull(r);
	int ok = 0;
	for (int i = 0; i < MAX_CODES && codes[i] != ETCD_OK; i++)
		ok |= r->err.code == codes[i];
	ck_assert_msg(ok, "%s: call %d on %s: got %s", name, which, body, tu_err(&r->err));
	TU_FREE(r);
	stop_fake();
	free(resp);
}

static const struct sync_reply {
	const char *name;
	const char *body;
	enum call which;
	enum etcd_code codes[MAX_CODES]; /* ETCD_OK ends the list */
} sync_replies[] = {
	{"txn_succeeded_string",
         "{\"header\":{\"revision\":\"5\"},\"succeeded\":\"yes\",\"responses\":[]}",
         CALL_TXN,
         {ETCD_EBADRESP}},
	{"txn_response_wrong_type",
         "{\"header\":{\"revision\":\"5\"},\"succeeded\":true,\"responses\":[{\"response_put\":5}]}",
         CALL_TXN,
         {ETCD_EBADRESP}},
	{"txn_responses_not_array",
         "{\"header\":{\"revision\":\"5\"},\"succeeded\":true,\"responses\":{}}",
         CALL_TXN,
         {ETCD_EBADRESP}},
	{"txn_unknown_response_kind",
         "{\"header\":{\"revision\":\"5\"},\"succeeded\":true,\"responses\":[{\"response_bogus\":{}}]}",
         CALL_TXN,
         {ETCD_EBADRESP}},
	{"txn_nested_range_bad_kvs",
         "{\"header\":{\"revision\":\"5\"},\"responses\":[{\"response_range\":{\"kvs\":[{\"key\":[]}]}}]}",
         CALL_TXN,
         {ETCD_EBADRESP}},
	{"lease_grant_ttl_object",
         "{\"header\":{\"revision\":\"5\"},\"ID\":\"5\",\"TTL\":{}}",
         CALL_LEASE_GRANT,
         {ETCD_EBADRESP}},
	{"keepalive_result_not_object", "{\"result\":5}\n", CALL_KEEPALIVE, {ETCD_EBADRESP}},
	{"keepalive_stream_error",
         "{\"error\":{\"grpc_code\":5,\"http_code\":404,\"message\":\"etcdserver: requested lease not found\","
         "\"http_status\":\"Not Found\"}}\n",
         CALL_KEEPALIVE,
         {ETCD_ENOLEASE}},
	{"lease_ttl_keys_wrong_type",
         "{\"header\":{\"revision\":\"5\"},\"ID\":\"5\",\"TTL\":\"3\",\"keys\":\"a\"}",
         CALL_LEASE_TTL,
         {ETCD_EBADRESP}},
	{"status_wrong_types",
         "{\"header\":{\"revision\":\"5\"},\"version\":5,\"leader\":[]}",
         CALL_STATUS,
         {ETCD_EBADRESP}},
	{"put_prev_kv_wrong_type",
         "{\"header\":{\"revision\":\"5\"},\"prev_kv\":\"x\"}",
         CALL_PUT_PREV,
         {ETCD_EBADRESP}},
	{"delete_deleted_wrong_type",
         "{\"header\":{\"revision\":\"5\"},\"deleted\":{},\"prev_kvs\":[]}",
         CALL_DELETE_PREV,
         {ETCD_EBADRESP}},
};

START_TEST(mal_call_reply)
{
	const struct sync_reply *c = &sync_replies[_i];

	sync_case(c->name, c->body, c->which, c->codes);
}
END_TEST

START_TEST(mal_keepalive_without_ttl)
{
	/* a keep-alive reply without TTL means the lease is gone */
	char *resp = ok_json("{\"result\":{\"header\":{\"revision\":\"5\"},\"ID\":\"5\"}}\n");
	struct fh_reply rep = {.head = resp};
	start_fake(&rep, NULL);
	struct etcd_result *r = etcd_sync_lease_keepalive(K.s, 5);
	ck_assert_ptr_nonnull(r);
	ck_assert_msg(r->err.code == ETCD_ENOLEASE, "got %s", tu_err(&r->err));
	ck_assert_int_eq(r->ttl, 0);
	TU_FREE(r);
	stop_fake();
	free(resp);
}
END_TEST

START_TEST(mal_paging_more_forever)
{
	/* a server that always answers the same page with "more" must not make
	 * the pager loop forever: the next page has to start after the last key
	 * of the previous one. After 200 replies the fake server only hangs up. */
	char *resp = ok_json("{\"header\":{\"revision\":\"5\"},\"kvs\":[{\"key\":\"L21hbC9h\",\"mod_revision\":\"5\"},"
	                     "{\"key\":\"L21hbC9i\",\"mod_revision\":\"5\"}],\"more\":true,\"count\":\"1000000\"}");
	struct fh_reply rep = {.head = resp, .max_replies = 200};
	start_fake(&rep, NULL);
	struct etcd_range_opts o = {.prefix = 1, .page_size = 2};
	struct etcd_result *r = etcd_sync_range(K.s, "/mal/", &o);
	int n = fh_requests(K.f);
	ck_assert_msg(n < 200, "the pager sent %d requests for the same page (ended with %s)", n,
	              r ? tu_err(&r->err) : "NULL");
	expect_codes(r, "paged range", ETCD_EBADRESP, END_CODES);
	TU_FREE(r);
	stop_fake();
	free(resp);
}
END_TEST

/* ---- watches ---- */

struct wcase {
	struct fake_http *f;
	struct ev_loop *loop;
	struct etcd_client *c;
	struct etcd_watch *w;
	struct tu_wlog l;
};

static int
retry_or_error(void *arg)
{
	struct tu_wlog *l = arg;
	return l->retrying > 0 || l->errors > 0;
}

static void
watch_start(struct wcase *wc, const struct fh_reply *rep)
{
	struct etcd_config cfg;
	struct etcd_error err;
	memset(wc, 0, sizeof *wc);
	wc->f = fh_start(rep);
	ck_assert_ptr_nonnull(wc->f);
	config(wc->f, &cfg);
	wc->loop = ev_loop_new(0);
	wc->c = etcd_client_new(wc->loop, &cfg, &err);
	ck_assert_ptr_nonnull(wc->c);
	struct etcd_watch_opts o = {.prefix = 1};
	wc->w = etcd_watch_start(wc->c, "/mal/", &o, tu_wlog_cb, &wc->l, &err);
	ck_assert_msg(wc->w != NULL, "etcd_watch_start: %s", tu_err(&err));
	ck_assert_msg(th_wait(wc->loop, retry_or_error, &wc->l, 10) == 0,
	              "no RETRYING or ERROR (calls %d, created %d, events %zu)", wc->l.calls, wc->l.created, wc->l.n);
}

static void
watch_end(struct wcase *wc)
{
	etcd_watch_cancel(wc->w);
	etcd_client_free(wc->c);
	ev_loop_destroy(wc->loop);
	fh_stop(wc->f);
	tu_wlog_free(&wc->l);
}

/* A chunked 200 whose single chunk is body, stream left open. New. */
static char *
stream(const char *body)
{
	size_t n = strlen(body) + 128;
	char *s = malloc(n);
	snprintf(s, n,
	         "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n%zx\r\n%s\r\n",
	         strlen(body), body);
	return s;
}

static void
watch_case(const char *name, const char *lines, enum etcd_code want)
{
	char *resp = stream(lines);
	struct fh_reply rep = {.head = resp, .after = FH_HOLD};
	struct wcase wc;
	watch_start(&wc, &rep);
	ck_assert_msg(wc.l.last_err == want, "%s: expected %s, got %s", name, etcd_code_name(want),
	              etcd_code_name(wc.l.last_err));
	ck_assert_uint_eq(wc.l.n, 0);
	watch_end(&wc);
	free(resp);
}

#define CREATED "{\"result\":{\"header\":{\"revision\":\"5\"},\"created\":true}}\n"

static const struct watch_reply {
	const char *name;
	const char *lines;
	enum etcd_code want;
} watch_replies[] = {
	{"watch_garbage_line", "this is not json\n", ETCD_EBADRESP},
	{"watch_revision_object", "{\"result\":{\"header\":{\"revision\":{}},\"created\":true}}\n", ETCD_EBADRESP},
	{"watch_events_not_array", CREATED "{\"result\":{\"header\":{\"revision\":\"6\"},\"events\":\"x\"}}\n",
         ETCD_EBADRESP},
	{"watch_event_bad_kv",
         CREATED "{\"result\":{\"header\":{\"revision\":\"6\"},\"events\":[{\"kv\":{\"key\":\"***\"}}]}}\n",
         ETCD_EBADRESP},
	{"watch_result_not_object", "{\"result\":[]}\n", ETCD_EBADRESP},
	{"watch_error_chunk_unavailable",
         CREATED "{\"error\":{\"grpc_code\":14,\"http_code\":503,\"message\":\"etcdserver: no leader\","
                 "\"http_status\":\"Service Unavailable\"}}\n",
         ETCD_EUNAVAIL},
};

START_TEST(mal_watch_reply)
{
	const struct watch_reply *c = &watch_replies[_i];

	watch_case(c->name, c->lines, c->want);
}
END_TEST

START_TEST(mal_watch_compacted)
{
	char *resp = stream(CREATED "{\"result\":{\"header\":{},\"canceled\":true,\"compact_revision\":\"42\"}}\n");
	struct fh_reply rep = {.head = resp, .after = FH_HOLD};
	struct wcase wc;
	watch_start(&wc, &rep);
	ck_assert_int_eq(wc.l.errors, 1);
	ck_assert_int_eq(wc.l.last_err, ETCD_ECOMPACTED);
	ck_assert_int_eq(wc.l.compact_revision, 42);
	watch_end(&wc);
	free(resp);
}
END_TEST

START_TEST(mal_watch_http_404)
{
	struct fh_reply rep = {.head = "HTTP/1.1 404 Not Found\r\nContent-Length: 18\r\n\r\n404 page not found"};
	struct wcase wc;
	watch_start(&wc, &rep);
	ck_assert_int_ne(wc.l.last_err, ETCD_OK);
	watch_end(&wc);
}
END_TEST

START_TEST(mal_watch_closed_without_reply)
{
	struct fh_reply rep = {.no_reply = 1};
	struct wcase wc;
	watch_start(&wc, &rep);
	ck_assert_int_ge(wc.l.retrying, 1);
	ck_assert_int_eq(wc.l.errors, 0);
	ck_assert_int_eq(wc.l.last_err, ETCD_ECONN);
	watch_end(&wc);
}
END_TEST

START_TEST(mal_watch_stream_ends)
{
	/* a complete chunked reply: the stream ends cleanly, the watch resumes */
	char *resp = stream(CREATED);
	size_t n = strlen(resp);
	resp = realloc(resp, n + 8);
	strcpy(resp + n, "0\r\n\r\n");
	struct fh_reply rep = {.head = resp};
	struct wcase wc;
	watch_start(&wc, &rep);
	ck_assert_int_eq(wc.l.errors, 0);
	ck_assert_int_ge(wc.l.retrying, 1);
	watch_end(&wc);
	free(resp);
}
END_TEST

START_TEST(mal_watch_huge_line)
{
	/* 16 MiB without a newline, client limit 1 MiB */
	struct fh_reply rep = {.head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1000000\r\n{\"result\":\"",
	                       .fill_len = 16 << 20,
	                       .fill_byte = 'x',
	                       .after = FH_HOLD};
	struct wcase wc;
	watch_start(&wc, &rep);
	ck_assert_int_eq(wc.l.last_err, ETCD_ETOOLARGE);
	watch_end(&wc);
}
END_TEST

START_TEST(mal_watch_cancel_while_retrying)
{
	struct fh_reply rep = {.no_reply = 1};
	struct wcase wc;
	watch_start(&wc, &rep);
	struct tu_wlog *l = &wc.l;
	/* let it reconnect a few times, then cancel during a back-off */
	th_wait(wc.loop, NULL, NULL, 0.3);
	ck_assert_int_ge(l->retrying, 1);
	ck_assert_int_eq(l->errors, 0);
	watch_end(&wc);
}
END_TEST

/* ---- client life cycle ---- */

static void
keeper_count(struct etcd_keeper *k, enum etcd_lease_state st, const struct etcd_error *err, void *arg)
{
	(void)k;
	(void)st;
	(void)err;
	++*(int *)arg;
}

START_TEST(mal_client_free_cancels_pending)
{
	struct fh_reply rep = {.no_reply = 1, .after = FH_HOLD};
	struct fake_http *f = fh_start(&rep);
	struct etcd_config cfg;
	struct etcd_error err;
	config(f, &cfg);
	cfg.request_timeout_ms = 5000;
	struct ev_loop *loop = ev_loop_new(0);
	struct etcd_client *c = etcd_client_new(loop, &cfg, &err);
	ck_assert_ptr_nonnull(c);
	struct tu_call g = {0, NULL}, p = {0, NULL}, t = {0, NULL}, k = {0, NULL};
	ck_assert_int_eq(etcd_get(c, "/mal/k", tu_call_cb, &g, &err), 0);
	ck_assert_int_eq(etcd_put(c, "/mal/k", "v", 1, NULL, tu_call_cb, &p, &err), 0);
	struct etcd_txn *txn = etcd_txn_new();
	etcd_txn_put(txn, ETCD_TXN_SUCCESS, "/mal/k", "v", 1, 0);
	ck_assert_int_eq(etcd_txn_commit(c, txn, tu_call_cb, &t, &err), 0);
	ck_assert_int_eq(etcd_lease_grant(c, 10, 0, tu_call_cb, &k, &err), 0);
	struct tu_wlog l = {0};
	ck_assert_ptr_nonnull(etcd_watch_start(c, "/mal/", NULL, tu_wlog_cb, &l, &err));
	int kcalls = 0;
	ck_assert_ptr_nonnull(etcd_keeper_start(c, 77, 3, keeper_count, &kcalls));
	th_wait(loop, NULL, NULL, 0.2); /* requests are on the wire */
	ck_assert_int_eq(g.calls + p.calls + t.calls + k.calls, 0);
	etcd_client_free(c);
	ck_assert_int_eq(g.calls, 1);
	ck_assert_int_eq(p.calls, 1);
	ck_assert_int_eq(t.calls, 1);
	ck_assert_int_eq(k.calls, 1);
	TU_CODE(g.res, ETCD_ECANCELED);
	TU_CODE(p.res, ETCD_ECANCELED);
	TU_CODE(t.res, ETCD_ECANCELED);
	TU_CODE(k.res, ETCD_ECANCELED);
	tu_call_reset(&g);
	tu_call_reset(&p);
	tu_call_reset(&t);
	tu_call_reset(&k);
	tu_wlog_free(&l);
	ev_loop_destroy(loop);
	fh_stop(f);
}
END_TEST

static void
take_cb(struct etcd_result *res, void *arg)
{
	struct etcd_result **out = arg;
	*out = etcd_result_take(res);
}

static int
taken(void *arg)
{
	return *(struct etcd_result **)arg != NULL;
}

START_TEST(mal_result_taken_outlives_client)
{
	char *resp = ok_json("{\"header\":{\"revision\":\"9\"},\"kvs\":[{\"key\":\"L21hbC9r\",\"value\":\"dg==\","
	                     "\"mod_revision\":\"9\",\"create_revision\":\"9\",\"version\":\"1\"}],\"count\":\"1\"}");
	struct fh_reply rep = {.head = resp};
	struct fake_http *f = fh_start(&rep);
	struct etcd_config cfg;
	struct etcd_error err;
	config(f, &cfg);
	struct ev_loop *loop = ev_loop_new(0);
	struct etcd_client *c = etcd_client_new(loop, &cfg, &err);
	struct etcd_result *res = NULL;
	ck_assert_int_eq(etcd_get(c, "/mal/k", take_cb, &res, &err), 0);
	ck_assert_int_eq(th_wait(loop, taken, &res, 5), 0);
	etcd_client_free(c);
	ev_loop_destroy(loop);
	fh_stop(f);
	TU_OK(res);
	ck_assert_uint_eq(res->nkvs, 1);
	ck_assert_str_eq(res->kvs[0].key, "/mal/k");
	ck_assert_str_eq(res->kvs[0].value, "v");
	ck_assert_int_eq(res->revision, 9);
	etcd_result_free(res);
	free(resp);
}
END_TEST

static Suite *
malformed_suite(void)
{
	Suite *s = suite_create("etcd_malformed");
	TCase *tr = tcase_create("transport");
	tcase_set_timeout(tr, 30);
	tcase_add_loop_test(tr, mal_transport_reply, 0, NELEM(transport_replies));
	tcase_add_test(tr, mal_close_without_reply);
	tcase_add_loop_test(tr, mal_odd_reply, 0, NELEM(odd_replies));
	tcase_add_test(tr, mal_put_no_reply_not_retried);
	tcase_add_test(tr, mal_put_timeout_outcome_unknown);
	tcase_add_test(tr, mal_delete_no_reply_not_retried);
	tcase_add_test(tr, mal_retry_budget_respected);
	suite_add_tcase(s, tr);

	TCase *js = tcase_create("json");
	tcase_set_timeout(js, 30);
	tcase_add_loop_test(js, mal_json_body, 0, NELEM(json_bodies));
	tcase_add_test(js, mal_json_nul_byte);
	tcase_add_test(js, mal_json_deeply_nested);
	tcase_add_loop_test(js, mal_call_reply, 0, NELEM(sync_replies));
	tcase_add_test(js, mal_keepalive_without_ttl);
	tcase_add_test(js, mal_paging_more_forever);
	suite_add_tcase(s, js);

	TCase *em = tcase_create("errors");
	tcase_set_timeout(em, 30);
	tcase_add_loop_test(em, errmap_gateway_body, 0, NELEM(err_cases));
	tcase_add_test(em, errmap_v36_shape_no_leader);
	tcase_add_test(em, errmap_error_body_wrong_types);
	tcase_add_test(em, errmap_authenticate_rejected);
	tcase_add_test(em, errmap_authenticate_garbage);
	suite_add_tcase(s, em);

	TCase *wa = tcase_create("watch");
	tcase_set_timeout(wa, 30);
	tcase_add_loop_test(wa, mal_watch_reply, 0, NELEM(watch_replies));
	tcase_add_test(wa, mal_watch_compacted);
	tcase_add_test(wa, mal_watch_http_404);
	tcase_add_test(wa, mal_watch_closed_without_reply);
	tcase_add_test(wa, mal_watch_stream_ends);
	tcase_add_test(wa, mal_watch_huge_line);
	tcase_add_test(wa, mal_watch_cancel_while_retrying);
	suite_add_tcase(s, wa);

	TCase *lc = tcase_create("lifecycle");
	tcase_set_timeout(lc, 30);
	tcase_add_test(lc, mal_client_free_cancels_pending);
	tcase_add_test(lc, mal_result_taken_outlives_client);
	suite_add_tcase(s, lc);
	return s;
}

int
main(void)
{
	static const struct tu_fixture fx = {.no_etcd = 1};

	return tu_suite_main(malformed_suite(), &fx);
}
