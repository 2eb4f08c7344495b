/*
 * check_api_keys.c: building and parsing every key of the contract,
 * refusing names that are not valid for their place, prefixes, range
 * prefixes, and buffers that are too small.
 */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "api/api.h"

#define P "/skiff"

struct kcase {
	enum api_kind kind;
	enum api_kind object;
	const char *node, *name, *id;
	const char *key;
};

static const struct kcase kcases[] = {
	{API_POD, 0, "", "apache-x7k2p", "", P "/pods/apache-x7k2p"},
	{API_CONTROLLER, 0, "", "apache", "", P "/controllers/apache"},
	{API_SERVICE, 0, "", "apache", "", P "/services/apache"},
	{API_NODE, 0, "", "node-1.example.com", "", P "/nodes/node-1.example.com"},
	{API_NODELEASE, 0, "", "m1", "", P "/nodeleases/m1"},
	{API_BINDING, 0, "m1", "apache-x7k2p", "", P "/bindings/m1/apache-x7k2p"},
	{API_PODSTATUS, 0, "m1.lan", "apache-x7k2p", "", P "/podstatus/m1.lan/apache-x7k2p"},
	{API_CONTROLLERSTATUS, 0, "", "apache", "", P "/controllerstatus/apache"},
	{API_ENDPOINTS, 0, "", "apache", "", P "/endpoints/apache"},
	{API_SERVICEIP, 0, "", "10.0.0.10", "", P "/serviceips/10.0.0.10"},
	{API_NETWORKCONFIG, 0, "", "", "", P "/network/config"},
	{API_SUBNET, 0, "", "m1", "", P "/network/subnets/m1"},
	{API_EVENT, API_POD, "", "apache-x7k2p", "17a3b.FailedScheduling",
         P "/events/pods/apache-x7k2p/17a3b.FailedScheduling"},
	{API_EVENT, API_CONTROLLER, "", "apache", "Invalid", P "/events/controllers/apache/Invalid"},
	{API_EVENT, API_SERVICE, "", "apache", "x_1", P "/events/services/apache/x_1"},
	{API_EVENT, API_NODE, "", "m1.lan", "NodeNotReady", P "/events/nodes/m1.lan/NodeNotReady"},
	{API_LEADER, 0, "", "scheduler", "694d7a1b2c", P "/leaders/scheduler/694d7a1b2c"},
	{API_NODESTATUS, 0, "", "m1.lan", "", P "/nodestatus/m1.lan"},
	{API_NODEEVENT, API_POD, "m1.lan", "web", "00ff", P "/nodeevents/m1.lan/pods/web/00ff"},
	{API_NODEEVENT, API_NODE, "m1", "m1", "Ready", P "/nodeevents/m1/nodes/m1/Ready"},
	{API_CONFIGMAP, 0, "", "web.conf", "", P "/configmaps/web.conf"},
	{API_SECRET, 0, "", "db-pass", "", P "/secrets/db-pass"},
	{API_NODECONFIG, API_CONFIGMAP, "m1.lan", "web.conf", "", P "/nodeconfig/m1.lan/configmaps/web.conf"},
	{API_NODECONFIG, API_SECRET, "m2", "db-pass", "", P "/nodeconfig/m2/secrets/db-pass"},
	{API_PROXYSTATUS, 0, "", "m1.lan", "", P "/proxystatus/m1.lan"},
};

START_TEST(test_parse_format)
{
	const struct kcase *c = &kcases[_i];
	struct api_error err = {""};
	struct api_key k, in = {.kind = c->kind, .object = c->object};
	char buf[API_KEY_MAX];

	ck_assert_msg(api_key_parse(P, c->key, strlen(c->key), &k, &err) == 0, "%s: %s", c->key, err.msg);
	ck_assert_int_eq(k.kind, c->kind);
	ck_assert_int_eq(k.object, c->object);
	ck_assert_str_eq(k.node, c->node);
	ck_assert_str_eq(k.name, c->name);
	ck_assert_str_eq(k.id, c->id);
	ck_assert_int_eq(api_key_format(buf, sizeof(buf), P, &k, &err), 0);
	ck_assert_str_eq(buf, c->key);
	strcpy(in.node, c->node);
	strcpy(in.name, c->name);
	strcpy(in.id, c->id);
	ck_assert_int_eq(api_key_format(buf, sizeof(buf), P, &in, &err), 0);
	ck_assert_str_eq(buf, c->key);
	/* The shorthands give the same key. */
	if (c->kind == API_BINDING || c->kind == API_PODSTATUS)
		ck_assert_int_eq(api_key_on_node(buf, sizeof(buf), P, c->kind, c->node, c->name, &err), 0);
	else if (c->kind == API_EVENT)
		ck_assert_int_eq(api_key_event(buf, sizeof(buf), P, c->object, c->name, c->id, &err), 0);
	else if (c->kind == API_NODECONFIG)
		ck_assert_int_eq(api_key_nodeconfig(buf, sizeof(buf), P, c->node, c->object, c->name, &err), 0);
	else if (c->kind != API_LEADER && c->kind != API_NODEEVENT)
		ck_assert_int_eq(api_key_object(buf, sizeof(buf), P, c->kind, c->name, &err), 0);
	ck_assert_str_eq(buf, c->key);
	/* A buffer one byte short is refused. */
	ck_assert_int_eq(api_key_format(buf, strlen(c->key), P, &k, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.msg, "does not fit"));
}
END_TEST

struct bad {
	const char *key;
	const char *err;
};

static char long_node_key[400], long_key[API_KEY_MAX + 100], long_name[255];

static const struct bad bads[] = {
	{P "/pods/", "name: must not be empty"},
	{P "/pods/Apache", "name: \"Apache\" is not a DNS-1123 label"},
	{P "/pods/..", "is not a DNS-1123 label"},
	{P "/pods/a/b", "pods keys have 2 segments after the prefix, got 3"},
	{P "/pods/a/", "pods keys have 2 segments after the prefix, got 3"},
	{P "/pods", "pods keys have 2 segments after the prefix, got 1"},
	{P "/podsx/a", "unknown key directory \"podsx\""},
	{P "//pods/a", "unknown key directory \"\""},
	{"/skiffx/pods/a", "key is not under /skiff/"},
	{"/other/pods/a", "key is not under /skiff/"},
	{P, "key is not under /skiff/"},
	{P "/", "key is not under /skiff/"},
	{P "/bindings/m1", "bindings keys have 3 segments after the prefix, got 2"},
	{P "/bindings/M1/a", "node name: \"M1\" is not a DNS-1123 subdomain"},
	{P "/bindings/m1/a.b", "pod name: \"a.b\" is not a DNS-1123 label"},
	{P "/podstatus/m1/a/b", "podstatus keys have 3 segments"},
	{P "/serviceips/010.0.0.1", "name: \"010.0.0.1\" is not an IPv4 address"},
	{P "/serviceips/10.0.0", "is not an IPv4 address"},
	{P "/events/statefulsets/a/b",
         "event kind: must be pods, controllers, services, nodes or deployments, got \"statefulsets\""},
	{P "/events/bindings/a/b", "event kind"},
	{P "/events/pods/a/..", "event ID: \"..\" is not a valid ID"},
	{P "/events/pods/a.b/x", "name: \"a.b\" is not a DNS-1123 label"},
	{P "/events/pods/a", "events keys have 4 segments after the prefix, got 3"},
	{P "/events/pods/a/b/c", "events keys have 4 segments after the prefix, got 5"},
	{P "/events/pods/a/b/c/d", "key has too many segments"},
	{P "/nodeevents/m1/pods/a", "nodeevents keys have 5 segments after the prefix, got 4"},
	{P "/nodeevents/m_1/pods/a/b", "node name: \"m_1\" is not a DNS-1123 subdomain"},
	{P "/nodeevents/m1/bindings/a/b", "event kind"},
	{P "/nodeevents/m1/pods/a/b/c", "key has too many segments"},
	{P "/nodeconfig/m1/configmaps", "nodeconfig keys have 4 segments after the prefix, got 3"},
	{P "/nodeconfig/m1/pods/a", "node config kind: must be configmaps or secrets"},
	{P "/nodeconfig/m_1/secrets/a", "node name: \"m_1\" is not a DNS-1123 subdomain"},
	{P "/nodeconfig/m1/secrets/A", "name: \"A\" is not a DNS-1123 subdomain"},
	{P "/secrets/a/b", "secrets keys have 2 segments after the prefix, got 3"},
	{P "/proxystatus/m_1", "name: \"m_1\" is not a DNS-1123 subdomain"},
	{P "/proxystatus/m1/x", "proxystatus keys have 2 segments after the prefix, got 3"},
	{P "/network/config/x", "network/config keys have 1 segments after the prefix, got 2"},
	{P "/network/subnets", "network/subnets keys have 2 segments after the prefix, got 1"},
	{P "/network", "unknown key directory \"network\""},
	{P "/network/other", "unknown key directory \"network/other\""},
	{P "/leaders/scheduler", "leaders keys have 3 segments"},
	{P "/leaders/Sched/x", "component: \"Sched\" is not a DNS-1123 label"},
	{P "/nodes/a_b", "is not a DNS-1123 subdomain"},
	{long_node_key, "name: must be no more than 253 characters, got 300"},
	{long_key, "key is longer than"},
};

static void
setup_long(void)
{
	snprintf(long_node_key, sizeof(long_node_key), P "/nodes/%0300d", 0);
	memset(long_key, 'a', sizeof(long_key) - 1);
	memcpy(long_key, P "/nodes/", strlen(P "/nodes/"));
	memset(long_name, 'a', sizeof(long_name) - 1);
}

START_TEST(test_parse_bad)
{
	const struct bad *c = &bads[_i];
	struct api_error err = {""};
	struct api_key k;

	ck_assert_msg(api_key_parse(P, c->key, strlen(c->key), &k, &err) == -1, "%s accepted", c->key);
	ck_assert_msg(strstr(err.msg, c->err), "%s: message %s", c->key, err.msg);
}
END_TEST

START_TEST(test_parse_nul)
{
	static const char key[] = P "/pods/a\0b";
	struct api_error err;
	struct api_key k;

	ck_assert_int_eq(api_key_parse(P, key, sizeof(key) - 1, &k, &err), -1);
	ck_assert_str_eq(err.msg, "key contains a NUL byte");
	/* Only len bytes count. */
	ck_assert_int_eq(api_key_parse(P, key, strlen(key), &k, &err), 0);
	ck_assert_str_eq(k.name, "a");
}
END_TEST

START_TEST(test_parse_other_prefix)
{
	struct api_key k;

	ck_assert_int_eq(api_key_parse("/a/b", "/a/b/pods/x", 11, &k, NULL), 0);
	ck_assert_int_eq(api_key_parse("/a", "/a/b/pods/x", 11, &k, NULL), -1);
	ck_assert_int_eq(api_key_parse("/a/", "/a//pods/x", 10, &k, NULL), -1);
}
END_TEST

/* Names that must never make a key. */
static const char *const bad_names[] = {
	"", "a/b", "..", ".", "A", "a b", "-a", "a\n", "/", "a/../b", long_name,
};

START_TEST(test_build_refuses)
{
	const char *n = bad_names[_i];
	struct api_error err = {""};
	char buf[API_KEY_MAX];
	int k;

	for (k = API_POD; k <= API_SUBNET; k++) {
		if (k == API_BINDING || k == API_PODSTATUS || k == API_NETWORKCONFIG)
			continue;
		ck_assert_msg(api_key_object(buf, sizeof(buf), P, (enum api_kind)k, n, &err) == -1, "%d %s", k, n);
	}
	ck_assert_int_eq(api_key_on_node(buf, sizeof(buf), P, API_BINDING, n, "a", &err), -1);
	ck_assert_int_eq(api_key_on_node(buf, sizeof(buf), P, API_BINDING, "m1", n, &err), -1);
	ck_assert_int_eq(api_key_on_node(buf, sizeof(buf), P, API_PODSTATUS, "m1", n, &err), -1);
	ck_assert_int_eq(api_key_event(buf, sizeof(buf), P, API_POD, n, "id", &err), -1);
	ck_assert_int_eq(api_key_dir(buf, sizeof(buf), P, API_BINDING, n, &err), -1);
	ck_assert_int_eq(api_key_event_dir(buf, sizeof(buf), P, API_POD, n, &err), -1);
}
END_TEST

START_TEST(test_build_errors)
{
	struct api_error err;
	char buf[API_KEY_MAX], big[400];

	ck_assert_int_eq(api_key_object(buf, sizeof(buf), P, API_POD, "Apache_1", &err), -1);
	ck_assert_str_eq(err.msg, "name: \"Apache_1\" is not a DNS-1123 label");
	ck_assert_int_eq(api_key_object(buf, sizeof(buf), P, API_POD, NULL, &err), -1);
	ck_assert_str_eq(err.msg, "name: missing");
	ck_assert_int_eq(api_key_object(buf, sizeof(buf), P, API_BINDING, "a", &err), -1);
	ck_assert_int_eq(api_key_object(buf, sizeof(buf), P, API_EVENT, "a", &err), -1);
	ck_assert_int_eq(api_key_object(buf, sizeof(buf), P, API_KIND_UNKNOWN, "a", &err), -1);
	ck_assert_int_eq(api_key_object(buf, sizeof(buf), P, (enum api_kind)99, "a", &err), -1);
	ck_assert_int_eq(api_key_on_node(buf, sizeof(buf), P, API_POD, "m1", "a", &err), -1);
	ck_assert_int_eq(api_key_event(buf, sizeof(buf), P, API_BINDING, "a", "x", &err), -1);
	ck_assert_int_eq(api_key_event(buf, sizeof(buf), P, API_POD, "a", "a/b", &err), -1);
	ck_assert_int_eq(api_key_event(buf, sizeof(buf), P, API_NODE, "m1.lan", "x", &err), 0);
	ck_assert_int_eq(api_key_object(buf, sizeof(buf), P, API_SERVICEIP, "10.0.0.1/24", &err), -1);
	memset(big, 'a', 64);
	big[64] = '\0';
	ck_assert_int_eq(api_key_object(buf, sizeof(buf), P, API_POD, big, &err), -1);
	ck_assert_str_eq(err.msg, "name: must be no more than 63 characters, got 64");
	ck_assert_int_eq(api_key_object(buf, sizeof(buf), P, API_NODE, big, &err), 0);
	snprintf(big, sizeof(big), "%0300d", 0);
	ck_assert_int_eq(api_key_object(buf, sizeof(buf), P, API_NODE, big, &err), -1);
	ck_assert_str_eq(err.msg, "name: must be no more than 253 characters, got 300");
	ck_assert_int_eq(api_key_object(buf, sizeof(buf), P, API_NETWORKCONFIG, NULL, &err), 0);
	ck_assert_str_eq(buf, P "/network/config");
	ck_assert_int_eq(api_key_object(buf, 5, P, API_POD, "apache", &err), -1);
	ck_assert_str_eq(err.msg, "key does not fit in 5 bytes");
}
END_TEST

struct pcase {
	const char *prefix;
	int ok;
};

static const struct pcase pcases[] = {
	{"/skiff", 1}, {"/a/b.c_d-e", 1}, {"/x", 1},   {"/A1", 1},   {"", 0},        {"/", 0},
	{"skiff", 0},  {"/skiff/", 0},    {"//", 0},   {"/a//b", 0}, {"/a/../b", 0}, {"/a/./b", 0},
	{"/..", 0},    {"/a b", 0},       {"/a\n", 0}, {"/a:b", 0},
};

START_TEST(test_prefix)
{
	const struct pcase *c = &pcases[_i];
	struct api_error err;
	struct api_key k;
	char buf[API_KEY_MAX];

	ck_assert_int_eq(api_prefix_check(c->prefix, &err), c->ok ? 0 : -1);
	ck_assert_int_eq(api_key_object(buf, sizeof(buf), c->prefix, API_POD, "a", &err), c->ok ? 0 : -1);
	if (!c->ok) {
		ck_assert_ptr_nonnull(strstr(err.msg, "must be /name"));
		ck_assert_int_eq(api_key_parse(c->prefix, "/skiff/pods/a", 13, &k, NULL), -1);
		ck_assert_int_eq(api_key_dir(buf, sizeof(buf), c->prefix, API_POD, NULL, NULL), -1);
	}
}
END_TEST

START_TEST(test_prefix_too_long)
{
	char p[API_PREFIX_MAX + 10];
	struct api_error err;

	memset(p, 'a', sizeof(p) - 1);
	p[0] = '/';
	p[sizeof(p) - 1] = '\0';
	ck_assert_int_eq(api_prefix_check(p, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.msg, "longer than 256"));
}
END_TEST

START_TEST(test_dirs)
{
	struct api_error err;
	char buf[API_KEY_MAX];

	ck_assert_int_eq(api_key_dir(buf, sizeof(buf), P, API_POD, NULL, &err), 0);
	ck_assert_str_eq(buf, P "/pods/");
	ck_assert_int_eq(api_key_dir(buf, sizeof(buf), P, API_BINDING, NULL, &err), 0);
	ck_assert_str_eq(buf, P "/bindings/");
	ck_assert_int_eq(api_key_dir(buf, sizeof(buf), P, API_BINDING, "m1", &err), 0);
	ck_assert_str_eq(buf, P "/bindings/m1/");
	ck_assert_int_eq(api_key_dir(buf, sizeof(buf), P, API_PODSTATUS, "m1", &err), 0);
	ck_assert_str_eq(buf, P "/podstatus/m1/");
	ck_assert_int_eq(api_key_dir(buf, sizeof(buf), P, API_SUBNET, NULL, &err), 0);
	ck_assert_str_eq(buf, P "/network/subnets/");
	ck_assert_int_eq(api_key_dir(buf, sizeof(buf), P, API_LEADER, "scheduler", &err), 0);
	ck_assert_str_eq(buf, P "/leaders/scheduler/");
	ck_assert_int_eq(api_key_dir(buf, sizeof(buf), P, API_EVENT, NULL, &err), 0);
	ck_assert_str_eq(buf, P "/events/");
	ck_assert_int_eq(api_key_dir(buf, sizeof(buf), P, API_POD, "x", &err), -1);
	ck_assert_str_eq(err.msg, "pods keys have no sub-directory");
	ck_assert_int_eq(api_key_dir(buf, sizeof(buf), P, API_KIND_UNKNOWN, NULL, &err), -1);
	ck_assert_int_eq(api_key_dir(buf, 8, P, API_POD, NULL, &err), -1);
	ck_assert_int_eq(api_key_event_dir(buf, sizeof(buf), P, API_POD, NULL, &err), 0);
	ck_assert_str_eq(buf, P "/events/pods/");
	ck_assert_int_eq(api_key_event_dir(buf, sizeof(buf), P, API_NODE, "m1.lan", &err), 0);
	ck_assert_str_eq(buf, P "/events/nodes/m1.lan/");
	ck_assert_int_eq(api_key_event_dir(buf, sizeof(buf), P, API_ENDPOINTS, NULL, &err), -1);
	ck_assert_str_eq(api_kind_dir(API_NETWORKCONFIG), "network/config");
	ck_assert_ptr_null(api_kind_dir(API_KIND_UNKNOWN));
	ck_assert_ptr_null(api_kind_dir((enum api_kind)1000));
}
END_TEST

static Suite *
keys_suite(void)
{
	Suite *s = suite_create("api_keys");
	TCase *core = tcase_create("core"), *errors = tcase_create("errors"), *limits = tcase_create("limits");

	tcase_add_loop_test(core, test_parse_format, 0, sizeof(kcases) / sizeof(kcases[0]));
	tcase_add_test(core, test_dirs);
	tcase_add_test(core, test_parse_other_prefix);
	tcase_add_unchecked_fixture(errors, setup_long, NULL);
	tcase_add_loop_test(errors, test_parse_bad, 0, sizeof(bads) / sizeof(bads[0]));
	tcase_add_test(errors, test_parse_nul);
	tcase_add_loop_test(errors, test_build_refuses, 0, sizeof(bad_names) / sizeof(bad_names[0]));
	tcase_add_test(errors, test_build_errors);
	tcase_add_loop_test(limits, test_prefix, 0, sizeof(pcases) / sizeof(pcases[0]));
	tcase_add_test(limits, test_prefix_too_long);
	suite_add_tcase(s, core);
	suite_add_tcase(s, errors);
	suite_add_tcase(s, limits);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(keys_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
