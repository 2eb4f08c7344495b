/*
 * check_api_names.c: the syntax rules of names and small values (DNS
 * labels and subdomains, label keys and values, port and env names, uids,
 * images), IPv4/CIDR and the addresses no endpoint may have, RFC 3339
 * times, the error list and quoting.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"

typedef int (*check_fn)(const char *, struct api_error *);

struct ncase {
	const char *what;
	check_fn fn;
	const char *in;
	const char *err; /* NULL: valid; else a substring of the message */
};

static char long64[65], long254[255], long63[64];

static const struct ncase ncases[] = {
	{"label", api_check_dns_label, "apache", NULL},
	{"label", api_check_dns_label, "a", NULL},
	{"label", api_check_dns_label, "0", NULL},
	{"label", api_check_dns_label, "apache-x7k2p", NULL},
	{"label", api_check_dns_label, "a--b", NULL},
	{"label", api_check_dns_label, long63, NULL},
	{"label", api_check_dns_label, long64, "no more than 63 characters, got 64"},
	{"label", api_check_dns_label, "", "must not be empty"},
	{"label", api_check_dns_label, "Apache_1", "\"Apache_1\" is not a DNS-1123 label"},
	{"label", api_check_dns_label, "-a", "is not a DNS-1123 label"},
	{"label", api_check_dns_label, "a-", "is not a DNS-1123 label"},
	{"label", api_check_dns_label, "a.b", "is not a DNS-1123 label"},
	{"label", api_check_dns_label, "a/b", "is not a DNS-1123 label"},
	{"label", api_check_dns_label, "..", "is not a DNS-1123 label"},
	{"label", api_check_dns_label, "a b", "is not a DNS-1123 label"},
	{"label", api_check_dns_label, "\xc3\xa9t\xc3\xa9", "is not a DNS-1123 label"},
	{"subdomain", api_check_dns_subdomain, "m1", NULL},
	{"subdomain", api_check_dns_subdomain, "node-1.example.com", NULL},
	{"subdomain", api_check_dns_subdomain, long254, "no more than 253 characters, got 254"},
	{"subdomain", api_check_dns_subdomain, "", "must not be empty"},
	{"subdomain", api_check_dns_subdomain, "a..b", "is not a DNS-1123 subdomain"},
	{"subdomain", api_check_dns_subdomain, ".a", "is not a DNS-1123 subdomain"},
	{"subdomain", api_check_dns_subdomain, "a.", "is not a DNS-1123 subdomain"},
	{"subdomain", api_check_dns_subdomain, "M1", "is not a DNS-1123 subdomain"},
	{"subdomain", api_check_dns_subdomain, "m1/x", "is not a DNS-1123 subdomain"},
	{"labelkey", api_check_label_key, "app", NULL},
	{"labelkey", api_check_label_key, "App.Name_1", NULL},
	{"labelkey", api_check_label_key, "app.kubernetes.io/name", NULL},
	{"labelkey", api_check_label_key, "", "must not be empty"},
	{"labelkey", api_check_label_key, "-app", "is not a valid label key"},
	{"labelkey", api_check_label_key, "app_", "is not a valid label key"},
	{"labelkey", api_check_label_key, "a b", "is not a valid label key"},
	{"labelkey", api_check_label_key, "/app", "prefix must be a DNS-1123 subdomain"},
	{"labelkey", api_check_label_key, "Example.com/app", "prefix must be a DNS-1123 subdomain"},
	{"labelkey", api_check_label_key, "example.com/", "is not a valid label key"},
	{"labelkey", api_check_label_key, "a/b/c", "is not a valid label key"},
	{"labelkey", api_check_label_key, long64, "name part must be no more than 63"},
	{"labelvalue", api_check_label_value, "", NULL},
	{"labelvalue", api_check_label_value, "Apache_1.x", NULL},
	{"labelvalue", api_check_label_value, "-x", "is not a valid label value"},
	{"labelvalue", api_check_label_value, "a/b", "is not a valid label value"},
	{"labelvalue", api_check_label_value, long64, "no more than 63 characters, got 64"},
	{"portname", api_check_port_name, "http", NULL},
	{"portname", api_check_port_name, "http-alt2", NULL},
	{"portname", api_check_port_name, "8080", "must contain a letter"},
	{"portname", api_check_port_name, "HTTP", "only lowercase"},
	{"portname", api_check_port_name, "a--b", "'-' only between"},
	{"portname", api_check_port_name, "-http", "'-' only between"},
	{"portname", api_check_port_name, "abcdefghijklmnop", "1 to 15 characters"},
	{"portname", api_check_port_name, "", "1 to 15 characters"},
	{"env", api_check_env_name, "MODE", NULL},
	{"env", api_check_env_name, "_x.y-z9", NULL},
	{"env", api_check_env_name, "9X", "is not a valid environment variable name"},
	{"env", api_check_env_name, "A B", "is not a valid environment variable name"},
	{"env", api_check_env_name, "A=B", "is not a valid environment variable name"},
	{"env", api_check_env_name, "", "is not a valid environment variable name"},
	{"uid", api_check_uid, "1234", NULL},
	{"uid", api_check_uid, "1", NULL},
	{"uid", api_check_uid, "9223372036854775807", NULL},
	{"uid", api_check_uid, "9223372036854775808", "positive decimal integer"},
	{"uid", api_check_uid, "0", "positive decimal integer"},
	{"uid", api_check_uid, "0123", "positive decimal integer"},
	{"uid", api_check_uid, "-1", "positive decimal integer"},
	{"uid", api_check_uid, "12a", "positive decimal integer"},
	{"uid", api_check_uid, "", "positive decimal integer"},
	{"uid", api_check_uid, "3f2504e0-4f89-11d3-9a0c-0305e82c3301", "positive decimal integer"},
	{"image", api_check_image, "httpd:2.4", NULL},
	{"image", api_check_image, "skiff/test-httpd:latest", NULL},
	{"image", api_check_image, "registry:5000/a/b@sha256:abc", NULL},
	{"image", api_check_image, "", "must not be empty"},
	{"image", api_check_image, "httpd 2.4", "is not a valid image reference"},
	{"image", api_check_image, "httpd\n", "is not a valid image reference"},
	{"image ref", api_check_image_ref, "httpd:2.4", NULL},
	{"image ref", api_check_image_ref, "registry:5000/a/b@sha256:0123456789abcdef0123456789abcdef", NULL},
	{"image ref", api_check_image_ref, "localhost/x", NULL},
	{"image ref", api_check_image_ref, "[fe80::1]:5000/x:1", NULL},
	{"image ref", api_check_image_ref, "registry:5000/a/b@sha256:abc", "is not a valid image reference"},
	{"image ref", api_check_image_ref, "../../containers/abc", "is not a valid image reference"},
	{"image ref", api_check_image_ref, "x/../y", "is not a valid image reference"},
	{"image ref", api_check_image_ref, "x/./y", "is not a valid image reference"},
	{"image ref", api_check_image_ref, "x%2f..", "is not a valid image reference"},
	{"image ref", api_check_image_ref, "x?a=b", "is not a valid image reference"},
	{"image ref", api_check_image_ref, "httpd 2.4", "no spaces or control characters"},
	{"image ref", api_check_image_ref, "", "must not be empty"},
	{"event id", api_check_event_id, "17a3b.FailedScheduling", NULL},
	{"event id", api_check_event_id, ".", "is not a valid ID"},
	{"event id", api_check_event_id, "..", "is not a valid ID"},
	{"event id", api_check_event_id, "a/b", "is not a valid ID"},
	{"event id", api_check_event_id, "", "is not a valid ID"},
};

static void
setup_long(void)
{
	memset(long63, 'a', 63);
	memset(long64, 'a', 64);
	memset(long254, 'a', 254);
	long254[100] = '.';
}

START_TEST(test_names)
{
	const struct ncase *c = &ncases[_i];
	struct api_error err = {""};
	int rc = c->fn(c->in, &err);

	if (!c->err) {
		ck_assert_msg(rc == 0, "%s %s: %s", c->what, c->in, err.msg);
	} else {
		ck_assert_msg(rc == -1, "%s %s: accepted", c->what, c->in);
		ck_assert_msg(strstr(err.msg, c->err), "%s %s: message %s", c->what, c->in, err.msg);
	}
	/* err may be NULL. */
	ck_assert_int_eq(c->fn(c->in, NULL), rc);
}
END_TEST

START_TEST(test_generate_name)
{
	char buf[64], base[64];

	ck_assert_int_eq(api_generate_name(buf, sizeof(buf), "apache", "x7k2p"), 0);
	ck_assert_str_eq(buf, "apache-x7k2p");
	memset(base, 'b', 63);
	base[63] = '\0';
	ck_assert_int_eq(api_generate_name(buf, sizeof(buf), base, "00000"), 0);
	ck_assert_uint_eq(strlen(buf), 63);
	ck_assert_int_eq(api_check_dns_label(buf, NULL), 0);
	ck_assert_int_eq(api_generate_name(buf, sizeof(buf), "apache", "X7K2P"), -1);
	ck_assert_int_eq(api_generate_name(buf, sizeof(buf), "apache", "abc"), -1);
	ck_assert_int_eq(api_generate_name(buf, sizeof(buf), "Apache", "abcde"), -1);
	ck_assert_int_eq(api_generate_name(buf, 8, "apache", "abcde"), -1);
}
END_TEST

START_TEST(test_quote)
{
	char buf[96], in[200];

	ck_assert_str_eq(api_quote(buf, sizeof(buf), "a\"b\\c\n"), "\"a\\\"b\\\\c\\x0a\"");
	memset(in, 'x', sizeof(in) - 1);
	in[sizeof(in) - 1] = '\0';
	api_quote(buf, sizeof(buf), in);
	ck_assert_uint_lt(strlen(buf), sizeof(buf));
	ck_assert_ptr_nonnull(strstr(buf, "\"..."));
	ck_assert_str_eq(api_quote(buf, 4, "abc"), "");
}
END_TEST

/* IPv4 and CIDR */
struct ipcase {
	const char *in;
	int ok;
};

static const struct ipcase ipcases[] = {
	{"10.0.0.10", 1}, {"0.0.0.0", 1},    {"255.255.255.255", 1}, {"198.51.100.11", 1}, {"256.0.0.1", 0},
	{"10.0.0", 0},    {"10.0.0.1.2", 0}, {"010.0.0.1", 0},       {"10.0.0.1 ", 0},     {"", 0},
	{"a.b.c.d", 0},   {"::1", 0},        {"10..0.1", 0},         {"-1.0.0.0", 0},
};

START_TEST(test_ipv4)
{
	const struct ipcase *c = &ipcases[_i];
	struct api_error err = {""};
	uint32_t a = 0;
	char buf[16];

	ck_assert_int_eq(api_ipv4_parse(c->in, &a, &err), c->ok ? 0 : -1);
	if (c->ok) {
		api_ipv4_format(a, buf, sizeof(buf));
		ck_assert_str_eq(buf, c->in);
	} else {
		ck_assert_ptr_nonnull(strstr(err.msg, "is not an IPv4 address"));
	}
}
END_TEST

START_TEST(test_cidr)
{
	struct api_cidr c, d;
	struct api_error err;
	char buf[24];

	ck_assert_int_eq(api_cidr_parse("10.244.0.0/16", &c, NULL), 0);
	ck_assert_uint_eq(c.addr, 0x0af40000u);
	ck_assert_int_eq(c.len, 16);
	api_cidr_format(&c, buf, sizeof(buf));
	ck_assert_str_eq(buf, "10.244.0.0/16");
	ck_assert_int_eq(api_cidr_contains(&c, 0x0af40105u), 1);
	ck_assert_int_eq(api_cidr_contains(&c, 0x0af50105u), 0);
	ck_assert_int_eq(api_cidr_parse("10.244.1.0/24", &d, NULL), 0);
	ck_assert_int_eq(api_cidr_overlap(&c, &d), 1);
	ck_assert_int_eq(api_cidr_overlap(&d, &c), 1);
	ck_assert_int_eq(api_cidr_parse("10.0.0.0/24", &d, NULL), 0);
	ck_assert_int_eq(api_cidr_overlap(&c, &d), 0);
	ck_assert_int_eq(api_cidr_parse("0.0.0.0/0", &d, NULL), 0);
	ck_assert_int_eq(api_cidr_overlap(&c, &d), 1);
	ck_assert_int_eq(api_cidr_parse("1.2.3.4/32", &d, NULL), 0);
	ck_assert_uint_eq(api_cidr_mask(32), 0xffffffffu);
	ck_assert_uint_eq(api_cidr_mask(0), 0);
	ck_assert_int_eq(api_cidr_parse("10.244.1.0/16", &d, &err), -1);
	ck_assert_str_eq(err.msg, "\"10.244.1.0/16\" has host bits set (did you mean 10.244.0.0/16?)");
	ck_assert_int_eq(api_cidr_parse("10.244.0.0/33", &d, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.msg, "is not a CIDR block"));
	ck_assert_int_eq(api_cidr_parse("10.244.0.0/016", &d, NULL), -1);
	ck_assert_int_eq(api_cidr_parse("10.244.0.0", &d, NULL), -1);
	ck_assert_int_eq(api_cidr_parse("10.244.0.0/", &d, NULL), -1);
	ck_assert_int_eq(api_cidr_parse("10.244.0.0/16x", &d, NULL), -1);
}
END_TEST

/* Addresses no pod IP or endpoint may have (service network 10.0.0.0/24). */
struct epcase {
	const char *ip;
	const char *why; /* NULL: usable; else a substring of the reason */
};

static const struct epcase epcases[] = {
	{"10.244.1.5", NULL},
	{"192.168.1.10", NULL},
	{"1.0.0.0", NULL},
	{"126.255.255.255", NULL},
	{"128.0.0.0", NULL},
	{"169.253.255.255", NULL},
	{"169.255.0.0", NULL},
	{"223.255.255.255", NULL},
	{"9.255.255.255", NULL},
	{"10.0.1.0", NULL},
	{"0.0.0.0", "in 0.0.0.0/8"},
	{"0.255.255.255", "in 0.0.0.0/8"},
	{"127.0.0.1", "loopback"},
	{"127.255.255.254", "loopback"},
	{"169.254.169.254", "link-local"},
	{"169.254.0.0", "link-local"},
	{"224.0.0.1", "multicast"},
	{"239.255.255.250", "multicast"},
	{"240.0.0.1", "reserved"},
	{"255.255.255.255", "broadcast"},
	{"10.0.0.0", "service network 10.0.0.0/24"},
	{"10.0.0.10", "service network 10.0.0.0/24"},
	{"10.0.0.255", "service network 10.0.0.0/24"},
	{"", "is not an IPv4 address"},
	{"localhost", "is not an IPv4 address"},
	{"127.1", "is not an IPv4 address"},
	{"010.0.0.1", "is not an IPv4 address"},
	{"10.244.1.5/32", "is not an IPv4 address"},
	{"10.244.1.5 ", "is not an IPv4 address"},
};

START_TEST(test_endpoint_ip)
{
	const struct epcase *c = &epcases[_i];
	struct api_cidr svc = {0x0a000000u, 24};
	char why[160] = "";
	int rc = api_endpoint_ip_check(c->ip, &svc, why, sizeof(why));

	if (!c->why) {
		ck_assert_msg(rc == 0, "%s refused: %s", c->ip, why);
		ck_assert_str_eq(why, "");
	} else {
		ck_assert_msg(rc == -1, "%s accepted", c->ip);
		ck_assert_msg(strstr(why, c->why), "%s: reason \"%s\" lacks \"%s\"", c->ip, why, c->why);
	}
}
END_TEST

START_TEST(test_no_service_network)
{
	char why[8];

	ck_assert_int_eq(api_endpoint_ip_check("10.0.0.10", NULL, NULL, 0), 0);
	ck_assert_int_eq(api_endpoint_ip_check("127.0.0.1", NULL, NULL, 0), -1);
	ck_assert_int_eq(api_endpoint_ip_check(NULL, NULL, NULL, 0), -1);
	/* A short buffer gets a truncated, terminated reason. */
	ck_assert_int_eq(api_endpoint_ip_check("169.254.169.254", NULL, why, sizeof(why)), -1);
	ck_assert_str_eq(why, "169.254");
}
END_TEST

START_TEST(test_time)
{
	struct api_error err;
	char buf[32];
	time_t t;

	ck_assert_int_eq(api_time_parse("2026-11-26T15:00:00Z", &t, NULL), 0);
	ck_assert_int_eq(t, 1795705200);
	api_time_format(t, buf, sizeof(buf));
	ck_assert_str_eq(buf, "2026-11-26T15:00:00Z");
	ck_assert_int_eq(api_time_parse("2026-11-26T16:00:00.123456+01:00", &t, NULL), 0);
	ck_assert_int_eq(t, 1795705200);
	ck_assert_int_eq(api_time_parse("2026-11-26T14:30:00-00:30", &t, NULL), 0);
	ck_assert_int_eq(t, 1795705200);
	ck_assert_int_eq(api_time_parse("2024-02-29T00:00:00Z", &t, NULL), 0);
	ck_assert_int_eq(api_time_parse("2026-02-29T00:00:00Z", &t, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.msg, "is not an RFC 3339 time"));
	ck_assert_int_eq(api_time_parse("2026-04-31T00:00:00Z", &t, NULL), -1);
	ck_assert_int_eq(api_time_parse("2026-13-01T00:00:00Z", &t, NULL), -1);
	ck_assert_int_eq(api_time_parse("2026-11-26 15:00:00Z", &t, NULL), -1);
	ck_assert_int_eq(api_time_parse("2026-11-26T15:00:00", &t, NULL), -1);
	ck_assert_int_eq(api_time_parse("2026-11-26T24:00:00Z", &t, NULL), -1);
	ck_assert_int_eq(api_time_parse("2026-11-26T15:00:00.Z", &t, NULL), -1);
	ck_assert_int_eq(api_time_parse("2026-11-26T15:00:00+1:00", &t, NULL), -1);
	ck_assert_int_eq(api_time_parse("2026-11-26T15:00:00Zjunk", &t, NULL), -1);
	ck_assert_int_eq(api_time_parse("", &t, NULL), -1);
}
END_TEST

START_TEST(test_errors)
{
	struct api_errors e;
	char buf[64], *s;
	int i;

	api_errors_init(&e);
	ck_assert_int_eq(api_errors_any(&e), 0);
	s = api_errors_join(&e, "; ");
	ck_assert_str_eq(s, "");
	free(s);
	for (i = 0; i < 20; i++)
		ck_assert_int_eq(api_errors_add(&e, i ? "spec.replicas" : "", "problem %d", i), 0);
	ck_assert_uint_eq(e.n, 20);
	ck_assert_int_eq(api_errors_any(&e), 1);
	api_errors_format(&e, 0, buf, sizeof(buf));
	ck_assert_str_eq(buf, "problem 0");
	ck_assert_uint_eq(api_errors_format(&e, 1, buf, sizeof(buf)), strlen("spec.replicas: problem 1"));
	ck_assert_str_eq(buf, "spec.replicas: problem 1");
	api_errors_clear(&e);
	api_errors_add(&e, "a", "x");
	api_errors_add(&e, "b", "y");
	e.oom = 1;
	s = api_errors_join(&e, "; ");
	ck_assert_str_eq(s, "a: x; b: y; out of memory");
	free(s);
	api_errors_clear(&e);
	ck_assert_uint_eq(e.n, 0);
	ck_assert_int_eq(e.oom, 0);
}
END_TEST

START_TEST(test_error_set)
{
	struct api_error err;

	ck_assert_int_eq(api_error_set(&err, "x %d", 1), -1);
	ck_assert_str_eq(err.msg, "x 1");
	ck_assert_int_eq(api_error_set(NULL, "x"), -1);
}
END_TEST

static Suite *
names_suite(void)
{
	Suite *s = suite_create("api_names");
	TCase *core = tcase_create("core"), *errors = tcase_create("errors");

	tcase_add_unchecked_fixture(core, setup_long, NULL);
	tcase_add_loop_test(core, test_names, 0, sizeof(ncases) / sizeof(ncases[0]));
	tcase_add_test(core, test_generate_name);
	tcase_add_test(core, test_quote);
	tcase_add_loop_test(core, test_ipv4, 0, sizeof(ipcases) / sizeof(ipcases[0]));
	tcase_add_test(core, test_cidr);
	tcase_add_loop_test(core, test_endpoint_ip, 0, sizeof(epcases) / sizeof(epcases[0]));
	tcase_add_test(errors, test_no_service_network);
	tcase_add_test(core, test_time);
	tcase_add_test(errors, test_errors);
	tcase_add_test(errors, test_error_set);
	suite_add_tcase(s, core);
	suite_add_tcase(s, errors);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(names_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
