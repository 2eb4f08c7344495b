/*
 * check_etcd_json.c: the client's wire-format logic without a server:
 * base64, prefix ends, int64 fields, result parsers fed hostile JSON, error
 * bodies of etcd 3.4/3.5 and 3.6, and error classification.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "etcd_internal.h"

START_TEST(test_b64_roundtrip)
{
	const char *cases[] = {"", "a", "ab", "abc", "abcd", "/skiff/pods/apache-x7k2p", "\xff\x00\x01"};
	size_t lens[] = {0, 1, 2, 3, 4, 24, 3};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *enc = etcd_b64_encode(cases[i], lens[i]), *dec;
		size_t dlen;

		ck_assert_ptr_nonnull(enc);
		ck_assert_int_eq(strlen(enc) % 4, 0);
		ck_assert_int_eq(etcd_b64_decode(enc, strlen(enc), &dec, &dlen), 0);
		ck_assert_uint_eq(dlen, lens[i]);
		ck_assert_mem_eq(dec, cases[i], lens[i]);
		free(enc);
		free(dec);
	}
}
END_TEST

START_TEST(test_b64_known)
{
	char *enc = etcd_b64_encode("/research/", 10);

	ck_assert_str_eq(enc, "L3Jlc2VhcmNoLw==");
	free(enc);
}
END_TEST

START_TEST(test_b64_rejects_garbage)
{
	const char *bad[] = {"a", "ab=c", "****", "L3Jl c2Vh", "A===", "=AAA"};
	char *out;
	size_t n;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(etcd_b64_decode(bad[i], strlen(bad[i]), &out, &n) == -1, "accepted %s", bad[i]);
		ck_assert_ptr_null(out);
	}
}
END_TEST

START_TEST(test_prefix_end)
{
	size_t n;
	char *e = etcd_prefix_end("/skiff/pods/", 12, &n);

	ck_assert_uint_eq(n, 12);
	ck_assert_mem_eq(e, "/skiff/pods0", 12);
	free(e);
	e = etcd_prefix_end("a\xff\xff", 3, &n);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(e[0], 'b');
	free(e);
	e = etcd_prefix_end("\xff", 1, &n);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(e[0], 0);
	free(e);
}
END_TEST

START_TEST(test_i64_fields)
{
	json_t *o = json_loads(
		"{\"a\":\"9223372036854775807\",\"b\":5,\"c\":{},\"d\":\"12x\",\"e\":\"18446744073709551615\"}", 0,
		NULL);
	int64_t v;
	uint64_t u;

	ck_assert_int_eq(etcd_json_get_i64(o, "a", &v), 0);
	ck_assert(v == INT64_MAX);
	ck_assert_int_eq(etcd_json_get_i64(o, "b", &v), 0);
	ck_assert_int_eq(v, 5);
	ck_assert_int_eq(etcd_json_get_i64(o, "missing", &v), 0);
	ck_assert_int_eq(v, 0);
	ck_assert_int_eq(etcd_json_get_i64(o, "c", &v), -1);
	ck_assert_int_eq(etcd_json_get_i64(o, "d", &v), -1);
	ck_assert_int_eq(etcd_json_get_i64(o, "e", &v), -1); /* over int64 */
	ck_assert_int_eq(etcd_json_get_u64(o, "e", &u), 0);  /* member ids are uint64 */
	ck_assert(u == UINT64_MAX);
	json_decref(o);
}
END_TEST

static json_t *
load(const char *s)
{
	json_t *j = json_loads(s, 0, NULL);

	ck_assert_ptr_nonnull(j);
	return j;
}

START_TEST(test_range_defaults)
{
	/* A range that finds nothing has no kvs and no count. */
	json_t *j = load("{\"header\":{\"cluster_id\":\"14841639068965178418\",\"revision\":\"7\"}}");
	struct etcd_result r = {0};

	ck_assert_int_eq(etcd_parse_range_resp(j, &r), 0);
	ck_assert_int_eq(r.revision, 7);
	ck_assert_uint_eq(r.nkvs, 0);
	ck_assert_int_eq(r.count, 0);
	ck_assert_int_eq(r.more, 0);
	etcd_result_clear(&r);
	json_decref(j);
}
END_TEST

START_TEST(test_range_kv)
{
	/* An empty value is left out; a key without lease has no lease. */
	json_t *j = load("{\"header\":{\"revision\":\"9\"},\"kvs\":[{\"key\":\"L2E=\",\"create_revision\":\"4\","
	                 "\"mod_revision\":\"9\",\"version\":\"2\"}],\"more\":true,\"count\":\"3\"}");
	struct etcd_result r = {0};

	ck_assert_int_eq(etcd_parse_range_resp(j, &r), 0);
	ck_assert_uint_eq(r.nkvs, 1);
	ck_assert_str_eq(r.kvs[0].key, "/a");
	ck_assert_str_eq(r.kvs[0].value, "");
	ck_assert_uint_eq(r.kvs[0].value_len, 0);
	ck_assert_int_eq(r.kvs[0].create_revision, 4);
	ck_assert_int_eq(r.kvs[0].mod_revision, 9);
	ck_assert_int_eq(r.kvs[0].version, 2);
	ck_assert_int_eq(r.more, 1);
	ck_assert_int_eq(r.count, 3);
	etcd_result_clear(&r);
	json_decref(j);
}
END_TEST

START_TEST(test_hostile_shapes)
{
	const char *bad[] = {
		"{\"header\":[]}",
		"{\"header\":{\"revision\":{}}}",
		"{\"kvs\":{}}",
		"{\"kvs\":[1]}",
		"{\"kvs\":[{\"key\":\"!!\"}]}",
		"{\"kvs\":[{\"key\":\"L2E=\",\"mod_revision\":\"x\"}]}",
		"{\"kvs\":[{\"key\":\"L2E=\"},{\"key\":7}]}",
		"{\"more\":\"yes\"}",
		"[]",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_t *j = load(bad[i]);
		struct etcd_result r = {0};

		ck_assert_msg(etcd_parse_range_resp(j, &r) == -1, "accepted %s", bad[i]);
		etcd_result_clear(&r);
		json_decref(j);
	}
}
END_TEST

START_TEST(test_txn_failed_and_nested)
{
	/* A failed txn has no "succeeded". */
	json_t *j = load(
		"{\"header\":{\"revision\":\"8\"},\"responses\":[{\"response_range\":{\"header\":{\"revision\":\"8\"},"
		"\"kvs\":[{\"key\":\"L2xvY2s=\",\"create_revision\":\"8\",\"mod_revision\":\"8\",\"version\":\"1\","
		"\"value\":\"bWU=\"}],\"count\":\"1\"}},{\"response_put\":{}},{\"response_delete_range\":"
		"{\"deleted\":\"2\"}},{\"response_txn\":{\"succeeded\":true}}]}");
	struct etcd_result r = {0};

	ck_assert_int_eq(etcd_parse_txn_resp(j, &r), 0);
	ck_assert_int_eq(r.succeeded, 0);
	ck_assert_uint_eq(r.nresponses, 4);
	ck_assert_int_eq(r.responses[0].op, ETCD_OP_RANGE);
	ck_assert_str_eq(r.responses[0].kvs[0].value, "me");
	ck_assert_int_eq(r.responses[1].op, ETCD_OP_PUT);
	ck_assert_int_eq(r.responses[2].deleted, 2);
	ck_assert_int_eq(r.responses[3].op, ETCD_OP_TXN);
	ck_assert_int_eq(r.responses[3].succeeded, 1);
	etcd_result_clear(&r);
	json_decref(j);

	j = load("{\"responses\":[{\"response_bogus\":{}}]}");
	ck_assert_int_eq(etcd_parse_txn_resp(j, &r), -1);
	etcd_result_clear(&r);
	json_decref(j);
}
END_TEST

START_TEST(test_error_bodies)
{
	json_t *v34 = load("{\"error\":\"etcdserver: mvcc: required revision has been compacted\","
	                   "\"message\":\"etcdserver: mvcc: required revision has been compacted\",\"code\":11}");
	json_t *v36 = load("{\"code\":16,\"message\":\"etcdserver: invalid auth token\"}");
	json_t *stream = load("{\"error\":{\"grpc_code\":14,\"http_code\":503,\"message\":\"etcdserver: no leader\","
	                      "\"http_status\":\"Service Unavailable\"}}");
	json_t *notone = load("{\"header\":{}}");
	int code;
	const char *msg;

	ck_assert_int_eq(etcd_parse_error_body(v34, &code, &msg), 0);
	ck_assert_int_eq(code, 11);
	ck_assert_int_eq(etcd_classify(code, msg), ETCD_ECOMPACTED);
	ck_assert_int_eq(etcd_parse_error_body(v36, &code, &msg), 0);
	ck_assert_int_eq(code, 16);
	ck_assert_int_eq(etcd_classify(code, msg), ETCD_EAUTH);
	ck_assert(etcd_auth_token_error(code, msg));
	ck_assert_int_eq(etcd_parse_error_body(stream, &code, &msg), 0);
	ck_assert_int_eq(code, 14);
	ck_assert_str_eq(msg, "etcdserver: no leader");
	ck_assert_int_eq(etcd_classify(code, msg), ETCD_EUNAVAIL);
	ck_assert_int_eq(etcd_parse_error_body(notone, &code, &msg), -1);
	json_decref(v34);
	json_decref(v36);
	json_decref(stream);
	json_decref(notone);
}
END_TEST

START_TEST(test_classify)
{
	ck_assert_int_eq(etcd_classify(11, "etcdserver: mvcc: required revision is a future revision"), ETCD_EFUTURE);
	ck_assert_int_eq(etcd_classify(5, "etcdserver: requested lease not found"), ETCD_ENOLEASE);
	ck_assert_int_eq(etcd_classify(3, "etcdserver: request is too large"), ETCD_ETOOLARGE);
	ck_assert_int_eq(etcd_classify(8, "etcdserver: mvcc: database space exceeded"), ETCD_ENOSPACE);
	ck_assert_int_eq(etcd_classify(7, "etcdserver: permission denied"), ETCD_EPERM);
	ck_assert_int_eq(etcd_classify(3, "etcdserver: authentication failed, invalid user ID or password"),
	                 ETCD_EAUTH);
	ck_assert_int_eq(etcd_classify(3, "etcdserver: duplicate key given in txn request"), ETCD_EINVAL);
	ck_assert_int_eq(etcd_classify(13, "boom"), ETCD_ESERVER);
	ck_assert_str_eq(etcd_code_name(ETCD_ECOMPACTED), "compacted");
	ck_assert_str_eq(etcd_code_name((enum etcd_code)999), "unknown");
}
END_TEST

START_TEST(test_txn_builder)
{
	struct etcd_txn *t = etcd_txn_new();

	ck_assert_int_eq(etcd_txn_cmp(t, "/k", ETCD_CMP_CREATE, ETCD_CMP_EQUAL, 0), 0);
	ck_assert_int_eq(etcd_txn_put(t, ETCD_TXN_SUCCESS, "/k", "v", 1, 0), 0);
	ck_assert_int_eq(etcd_txn_get(t, ETCD_TXN_FAILURE, "/k", NULL), 0);
	ck_assert_int_eq(etcd_txn_ops(t), 1);
	/* A VALUE target needs etcd_txn_cmp_value; a bad call poisons the txn. */
	ck_assert_int_eq(etcd_txn_cmp(t, "/k", ETCD_CMP_VALUE, ETCD_CMP_EQUAL, 0), -1);
	ck_assert_int_eq(etcd_txn_put(t, ETCD_TXN_SUCCESS, "", "v", 1, 0), -1);
	etcd_txn_free(t);
}
END_TEST

/* A txn's body is written as text: byte for byte what jansson's compact
 * dump of the same body gives (as it was built before, and as
 * bench/etcd_txn.lua sends it), for every builder call. */
START_TEST(test_txn_text)
{
	struct etcd_range_opts ro = {.prefix = 1, .limit = 5};
	struct etcd_txn *t = etcd_txn_new(), *in = etcd_txn_new();
	json_t *cmp = json_array(), *ok = json_array(), *ko = json_array(), *c, *want;
	char *got, *exp;
	size_t len = 0;

	ck_assert_int_eq(etcd_txn_cmp(t, "/a", ETCD_CMP_MOD, ETCD_CMP_EQUAL, 42), 0);
	ck_assert_int_eq(etcd_txn_cmp_value(t, "/b", ETCD_CMP_NOT_EQUAL, "x\"y", 3), 0);
	ck_assert_int_eq(etcd_txn_cmp_prefix(t, "/c/", ETCD_CMP_CREATE, ETCD_CMP_GREATER, -1), 0);
	ck_assert_int_eq(etcd_txn_put(t, ETCD_TXN_SUCCESS, "/a", "vv", 2, 7), 0);
	ck_assert_int_eq(etcd_txn_delete(t, ETCD_TXN_SUCCESS, "/d/", 1), 0);
	ck_assert_int_eq(etcd_txn_get(t, ETCD_TXN_FAILURE, "/a", NULL), 0);
	ck_assert_int_eq(etcd_txn_get(t, ETCD_TXN_FAILURE, "/e/", &ro), 0);
	etcd_txn_cmp(in, "/f", ETCD_CMP_VERSION, ETCD_CMP_LESS, 3);
	etcd_txn_put(in, ETCD_TXN_SUCCESS, "/f", "", 0, 0);
	ck_assert_int_eq(etcd_txn_txn(t, ETCD_TXN_SUCCESS, in), 0);
	ck_assert_int_eq(etcd_txn_ops(t), 3);
	got = etcd_txn_text(t, &len);
	ck_assert_ptr_nonnull(got);

	json_array_append_new(cmp, json_pack("{s:s, s:s, s:o, s:o}", "target", "MOD", "result", "EQUAL", "key",
	                                     etcd_json_b64("/a", 2), "mod_revision", etcd_json_i64(42)));
	json_array_append_new(cmp, json_pack("{s:s, s:s, s:o, s:o}", "target", "VALUE", "result", "NOT_EQUAL", "key",
	                                     etcd_json_b64("/b", 2), "value", etcd_json_b64("x\"y", 3)));
	c = json_pack("{s:s, s:s, s:o, s:o}", "target", "CREATE", "result", "GREATER", "key", etcd_json_b64("/c/", 3),
	              "create_revision", etcd_json_i64(-1));
	json_object_set_new(c, "range_end", etcd_json_b64("/c0", 3));
	json_array_append_new(cmp, c);
	json_array_append_new(ok, json_pack("{s:{s:o, s:o, s:o}}", "request_put", "key", etcd_json_b64("/a", 2),
	                                    "value", etcd_json_b64("vv", 2), "lease", etcd_json_i64(7)));
	json_array_append_new(ok, json_pack("{s:{s:o, s:o}}", "request_delete_range", "key", etcd_json_b64("/d/", 3),
	                                    "range_end", etcd_json_b64("/d0", 3)));
	json_array_append_new(ok,
	                      json_pack("{s:{s:[{s:s, s:s, s:o, s:o}], s:[{s:{s:o, s:o}}], s:[]}}", "request_txn",
	                                "compare", "target", "VERSION", "result", "LESS", "key", etcd_json_b64("/f", 2),
	                                "version", etcd_json_i64(3), "success", "request_put", "key",
	                                etcd_json_b64("/f", 2), "value", etcd_json_b64("", 0), "failure"));
	json_array_append_new(ko, json_pack("{s:{s:o}}", "request_range", "key", etcd_json_b64("/a", 2)));
	json_array_append_new(ko, json_pack("{s:o}", "request_range", etcd_range_body("/e/", 3, &ro)));
	want = json_pack("{s:o, s:o, s:o}", "compare", cmp, "success", ok, "failure", ko);
	exp = json_dumps(want, JSON_COMPACT);
	ck_assert_str_eq(got, exp);
	ck_assert_uint_eq(len, strlen(exp));
	free(got);
	free(exp);
	json_decref(want);
	etcd_txn_free(t);
}
END_TEST

START_TEST(test_config_errors)
{
	struct etcd_error err = {0};
	struct etcd_config bad[] = {
		{.endpoints = "127.0.0.1:2379"},
		{.endpoints = "http://127.0.0.1:2379/v3"},
		{.endpoints = " , "},
		{.endpoints = "http://127.0.0.1:2379", .cacert = "/nonexistent/ca.pem"},
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&err, 0, sizeof(err));
		ck_assert_ptr_null(etcd_client_new(NULL, &bad[i], &err));
		ck_assert_int_ne(err.code, ETCD_OK);
		ck_assert_msg(strlen(err.msg) > 10, "no message for case %zu", i);
	}
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("etcd_json");
	TCase *core = tcase_create("core"), *errors = tcase_create("errors");

	tcase_add_test(core, test_b64_roundtrip);
	tcase_add_test(core, test_b64_known);
	tcase_add_test(core, test_prefix_end);
	tcase_add_test(core, test_i64_fields);
	tcase_add_test(core, test_range_defaults);
	tcase_add_test(core, test_range_kv);
	tcase_add_test(core, test_txn_failed_and_nested);
	tcase_add_test(core, test_txn_builder);
	tcase_add_test(core, test_txn_text);
	tcase_add_test(errors, test_b64_rejects_garbage);
	tcase_add_test(errors, test_hostile_shapes);
	tcase_add_test(errors, test_error_bodies);
	tcase_add_test(errors, test_classify);
	tcase_add_test(errors, test_config_errors);
	suite_add_tcase(s, core);
	suite_add_tcase(s, errors);
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
	return failed ? 1 : 0;
}
