/*
 * check_daemon_flags.c: the long-option parser (daemon/flags.c) and the
 * common Skiff flags (daemon/opts.c): every flag form, durations good and
 * bad, unknown flags, positional arguments, environment fallbacks, the
 * password file, prefix and host:port checks, --help text, exit statuses.
 */
#include <check.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon/flags.h"
#include "daemon/opts.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static const char *s_val;
static long i_val, d_val;
static int b_val;
static int check_calls;

static int
check_not_bad(const struct flag *f, char *err, size_t len)
{
	check_calls++;
	if (*(const char **)f->dest && strcmp(*(const char **)f->dest, "bad") == 0) {
		snprintf(err, len, "is bad");
		return -1;
	}
	return 0;
}

static const struct flag test_flags[] = {
	{"name", FLAG_STRING, &s_val, "dflt", "CHECK_FLAGS_NAME", "a string", NULL, check_not_bad},
	{"count", FLAG_INT, &i_val, "7", NULL, "an int", NULL, NULL},
	{"verbose", FLAG_BOOL, &b_val, "false", "CHECK_FLAGS_VERBOSE", "a bool", NULL, NULL},
	{"wait", FLAG_DURATION, &d_val, "1s", NULL, "a duration", NULL, NULL},
	{0}};
static const struct flag *const tabs[] = {test_flags, NULL};

static char err[512];

/* Parse a NULL-terminated list of arguments (copied into a writable argv). */
static int
parse(int *nargs, char **argv_out, ...)
{
	static char *argv[32];
	va_list ap;
	int argc = 0;

	argv[argc++] = "prog";
	va_start(ap, argv_out);
	for (char *a; (a = va_arg(ap, char *));)
		argv[argc++] = a;
	va_end(ap);
	argv[argc] = NULL;
	err[0] = '\0';
	if (argv_out)
		memcpy(argv_out, argv, sizeof(argv));
	return flags_parse(tabs, argc, argv_out ? argv_out : argv, nargs, err, sizeof(err));
}

static void
setup(void)
{
	unsetenv("CHECK_FLAGS_NAME");
	unsetenv("CHECK_FLAGS_VERBOSE");
	unsetenv("SKIFF_ETCD_ENDPOINTS");
	unsetenv("SKIFF_ETCD_PASSWORD");
	check_calls = 0;
}

START_TEST(test_defaults)
{
	ck_assert_int_eq(parse(NULL, NULL, NULL), FLAGS_OK);
	ck_assert_str_eq(s_val, "dflt");
	ck_assert_int_eq(i_val, 7);
	ck_assert_int_eq(b_val, 0);
	ck_assert_int_eq(d_val, 1000);
	ck_assert_int_eq(check_calls, 1);
}
END_TEST

START_TEST(test_forms)
{
	ck_assert_int_eq(parse(NULL, NULL, "--name", "a b", "--count=-3", "--verbose", "--wait", "250ms", NULL),
	                 FLAGS_OK);
	ck_assert_str_eq(s_val, "a b");
	ck_assert_int_eq(i_val, -3);
	ck_assert_int_eq(b_val, 1);
	ck_assert_int_eq(d_val, 250);
	ck_assert_int_eq(parse(NULL, NULL, "--name=x=y", "--count", "12", "--verbose=false", "--wait=2m", NULL),
	                 FLAGS_OK);
	ck_assert_str_eq(s_val, "x=y");
	ck_assert_int_eq(i_val, 12);
	ck_assert_int_eq(b_val, 0);
	ck_assert_int_eq(d_val, 120000);
	/* An empty value, a value that looks like a flag, the last one wins. */
	ck_assert_int_eq(parse(NULL, NULL, "--name=", "--verbose=true", "--verbose=0", NULL), FLAGS_OK);
	ck_assert_str_eq(s_val, "");
	ck_assert_int_eq(b_val, 0);
	ck_assert_int_eq(parse(NULL, NULL, "--name", "--count", "--verbose=1", NULL), FLAGS_OK);
	ck_assert_str_eq(s_val, "--count");
	ck_assert_int_eq(b_val, 1);
}
END_TEST

static const struct {
	const char *in;
	long ms;
} good_durations[] = {
	{"0", 0},
	{"10", 10000},
	{"500ms", 500},
	{"10s", 10000},
	{"5m", 300000},
	{"1h", 3600000},
	{"1h30m", 5400000},
	{"2h45m30s500ms", 9930500},
	{"1.5s", 1500},
	{"0.5h", 1800000},
	{"1.5", 1500},
	{"1m0s", 60000},
	{"0ms", 0},
	{"90s", 90000},
	{"1s1ms", 1001},
	{"1.0005s", 1000},
	{"2562047h", 2562047L * 3600000L},
};

static const char *bad_durations[] = {
	"",
	"-1s",
	"+5s",
	"5x",
	"5 s",
	" 5s",
	"5s ",
	"s",
	"ms",
	"1h30",
	"1hh",
	"1.5.5s",
	"h1",
	"1e3s",
	"9223372036854775807s",
	"99999999999999999999",
	"9223372036854775807ms",
	"3000000000000h",
	"0x10s",
	"1sm",
	"5S",
	"1d",
	"--1s",
	"1,5s",
	".",
	"5us",
};

START_TEST(test_durations)
{
	long ms;

	for (size_t i = 0; i < NELEM(good_durations); i++) {
		ms = -1;
		ck_assert_msg(flags_parse_duration(good_durations[i].in, &ms) == 0, "rejected %s",
		              good_durations[i].in);
		ck_assert_msg(ms == good_durations[i].ms, "%s gave %ld, not %ld", good_durations[i].in, ms,
		              good_durations[i].ms);
	}
	for (size_t i = 0; i < NELEM(bad_durations); i++) {
		ms = 42;
		ck_assert_msg(flags_parse_duration(bad_durations[i], &ms) == -1, "accepted \"%s\"", bad_durations[i]);
		ck_assert_int_eq(ms, 42);
	}
}
END_TEST

START_TEST(test_duration_flag_errors)
{
	ck_assert_int_eq(parse(NULL, NULL, "--wait=-5s", NULL), FLAGS_ERR);
	ck_assert_str_eq(err, "--wait \"-5s\": not a duration (use e.g. 500ms, 10s, 5m, 1h30m)");
	ck_assert_int_eq(parse(NULL, NULL, "--wait", "soon", NULL), FLAGS_ERR);
	ck_assert_int_eq(parse(NULL, NULL, "--count=12x", NULL), FLAGS_ERR);
	ck_assert_str_eq(err, "--count \"12x\": not an integer");
	ck_assert_int_eq(parse(NULL, NULL, "--count=99999999999999999999", NULL), FLAGS_ERR);
	ck_assert_int_eq(parse(NULL, NULL, "--count=", NULL), FLAGS_ERR);
	ck_assert_int_eq(parse(NULL, NULL, "--count= 1", NULL), FLAGS_ERR);
	ck_assert_int_eq(parse(NULL, NULL, "--verbose=yes", NULL), FLAGS_ERR);
	ck_assert_str_eq(err, "--verbose \"yes\": not a boolean (use --verbose=true or --verbose=false)");
}
END_TEST

START_TEST(test_unknown_and_missing)
{
	ck_assert_int_eq(parse(NULL, NULL, "--bogus", NULL), FLAGS_ERR);
	ck_assert_str_eq(err, "unknown flag --bogus");
	ck_assert_int_eq(parse(NULL, NULL, "--bogus=1", NULL), FLAGS_ERR);
	ck_assert_str_eq(err, "unknown flag --bogus");
	ck_assert_int_eq(parse(NULL, NULL, "--nam", "x", NULL), FLAGS_ERR);
	ck_assert_int_eq(parse(NULL, NULL, "-v", NULL), FLAGS_ERR);
	ck_assert_str_eq(err, "unknown flag -v (flags are long: --name)");
	ck_assert_int_eq(parse(NULL, NULL, "--name", NULL), FLAGS_ERR);
	ck_assert_str_eq(err, "flag --name needs a value");
	ck_assert_int_eq(parse(NULL, NULL, "--help=1", NULL), FLAGS_ERR);
	ck_assert_int_eq(parse(NULL, NULL, "--count=1", "--help", "--bogus", NULL), FLAGS_HELP);
	ck_assert_int_eq(parse(NULL, NULL, "--version", NULL), FLAGS_VERSION);
}
END_TEST

START_TEST(test_positional)
{
	char *argv[32];
	int n = -1;

	ck_assert_int_eq(parse(NULL, NULL, "stray", NULL), FLAGS_ERR);
	ck_assert_str_eq(err, "unexpected argument \"stray\"");
	ck_assert_int_eq(parse(NULL, NULL, "--verbose", "false", NULL), FLAGS_ERR);
	ck_assert_str_eq(err, "unexpected argument \"false\" (a boolean takes its value as --verbose=false)");
	ck_assert_int_eq(parse(&n, argv, "get", "--count", "3", "pods", "-", "--", "--name", "x", NULL), FLAGS_OK);
	ck_assert_int_eq(n, 5);
	ck_assert_str_eq(argv[1], "get");
	ck_assert_str_eq(argv[2], "pods");
	ck_assert_str_eq(argv[3], "-");
	ck_assert_str_eq(argv[4], "--name");
	ck_assert_str_eq(argv[5], "x");
	ck_assert_int_eq(i_val, 3);
	ck_assert_str_eq(s_val, "dflt");
}
END_TEST

START_TEST(test_env_fallback)
{
	setenv("CHECK_FLAGS_NAME", "from-env", 1);
	setenv("CHECK_FLAGS_VERBOSE", "true", 1);
	ck_assert_int_eq(parse(NULL, NULL, NULL), FLAGS_OK);
	ck_assert_str_eq(s_val, "from-env");
	ck_assert_int_eq(b_val, 1);
	ck_assert_int_eq(parse(NULL, NULL, "--name=from-flag", "--verbose=false", NULL), FLAGS_OK);
	ck_assert_str_eq(s_val, "from-flag");
	ck_assert_int_eq(b_val, 0);
	setenv("CHECK_FLAGS_NAME", "", 1); /* empty = unset */
	ck_assert_int_eq(parse(NULL, NULL, NULL), FLAGS_OK);
	ck_assert_str_eq(s_val, "dflt");
	setenv("CHECK_FLAGS_VERBOSE", "maybe", 1);
	ck_assert_int_eq(parse(NULL, NULL, NULL), FLAGS_ERR);
	ck_assert_str_eq(err, "CHECK_FLAGS_VERBOSE \"maybe\": not a boolean (use --verbose=true or --verbose=false)");
}
END_TEST

START_TEST(test_checks_run_last)
{
	ck_assert_int_eq(parse(NULL, NULL, "--name=bad", "--name=good", NULL), FLAGS_OK);
	ck_assert_int_eq(parse(NULL, NULL, "--name=bad", NULL), FLAGS_ERR);
	ck_assert_str_eq(err, "--name: is bad");
}
END_TEST

/* FLAG_BOUNDS: integers and durations kept within bounds by the table. */
static long b_workers, b_lease, b_every;
FLAG_BOUNDS(check_workers, 1, 1024)
FLAG_BOUNDS(check_lease, 2000, LONG_MAX)
FLAG_BOUNDS(check_every, 1, LONG_MAX)
static const struct flag bound_flags[] = {{"workers", FLAG_INT, &b_workers, "8", NULL, "workers", "N", check_workers},
                                          {"lease", FLAG_DURATION, &b_lease, "10s", NULL, "lease", NULL, check_lease},
                                          {"every", FLAG_DURATION, &b_every, "60s", NULL, "every", NULL, check_every},
                                          {0}};

static int
bparse(const char *a)
{
	const struct flag *const bt[] = {bound_flags, NULL};
	char *argv[] = {"prog", (char *)a, NULL};

	err[0] = '\0';
	return flags_parse(bt, a ? 2 : 1, argv, NULL, err, sizeof(err));
}

START_TEST(test_bounds)
{
	ck_assert_int_eq(bparse(NULL), FLAGS_OK);
	ck_assert_int_eq(b_workers, 8);
	ck_assert_int_eq(bparse("--workers=1024"), FLAGS_OK);
	ck_assert_int_eq(bparse("--workers=1"), FLAGS_OK);
	ck_assert_int_eq(bparse("--workers=1025"), FLAGS_ERR);
	ck_assert_str_eq(err, "--workers: must be between 1 and 1024, got 1025");
	ck_assert_int_eq(bparse("--workers=0"), FLAGS_ERR);
	ck_assert_str_eq(err, "--workers: must be between 1 and 1024, got 0");
	ck_assert_int_eq(bparse("--lease=2s"), FLAGS_OK);
	ck_assert_int_eq(bparse("--lease=1500ms"), FLAGS_ERR);
	ck_assert_str_eq(err, "--lease: must be at least 2s, got 1500ms");
	ck_assert_int_eq(bparse("--every=1ms"), FLAGS_OK);
	ck_assert_int_eq(bparse("--every=0s"), FLAGS_ERR);
	ck_assert_str_eq(err, "--every: must be above 0, got 0s");
}
END_TEST

/* ------------------------------------------------------------------------
 * The common flags.
 */
static long workers;
static const struct flag sched_flags[] = {{"workers", FLAG_INT, &workers, "2", NULL, "reconcile workers", "N", NULL},
                                          {0}};
static const struct skiff_prog sched = {.name = "skiff-scheduler",
                                        .summary = "Binds pods to nodes.",
                                        .health_addr = "127.0.0.1:10251",
                                        .elects = 1,
                                        .flags = sched_flags};
static const struct skiff_prog ctl = {.name = "skiffctl", .args = "COMMAND [ARG]...", .client = 1};
static const struct skiff_prog rsync = {
	.name = "skiff-replication-controller", .elects = 1, .resyncs = 1, .flags = bound_flags};

static struct skiff_opts o;

static int
oparse(const struct skiff_prog *p, ...)
{
	static char *argv[32];
	va_list ap;
	int argc = 0;

	argv[argc++] = (char *)p->name;
	va_start(ap, p);
	for (char *a; (a = va_arg(ap, char *));)
		argv[argc++] = a;
	va_end(ap);
	argv[argc] = NULL;
	opts_free(&o);
	err[0] = '\0';
	return opts_parse(&o, p, argc, argv, err, sizeof(err));
}

static void
opts_teardown(void)
{
	opts_free(&o);
}

START_TEST(test_common_defaults)
{
	struct etcd_config cfg;

	ck_assert_int_eq(oparse(&sched, NULL), FLAGS_OK);
	ck_assert_str_eq(o.etcd_endpoints, "http://127.0.0.1:2379");
	ck_assert_str_eq(o.prefix, "/skiff");
	ck_assert_int_eq(o.etcd_timeout_ms, 5000);
	ck_assert_int_eq(o.log_level, LL_INFO);
	ck_assert_str_eq(o.health_addr, "127.0.0.1:10251");
	ck_assert_int_eq(o.leader_elect, 1);
	ck_assert_ptr_null(o.etcd_user);
	ck_assert_ptr_null(o.etcd_password);
	ck_assert_int_eq(workers, 2);
	opts_etcd_config(&o, &cfg);
	ck_assert_str_eq(cfg.endpoints, "http://127.0.0.1:2379");
	ck_assert_ptr_null(cfg.user);
	ck_assert_ptr_null(cfg.password);
	ck_assert_ptr_null(cfg.cacert);
	ck_assert_int_eq(cfg.request_timeout_ms, 5000);
	ck_assert_int_eq(cfg.connect_timeout_ms, 2000);

	ck_assert_int_eq(oparse(&ctl, NULL), FLAGS_OK);
	ck_assert_str_eq(o.health_addr, "");
	ck_assert_int_eq(o.leader_elect, 0);
	ck_assert_int_eq(oparse(&ctl, "--leader-elect", NULL), FLAGS_ERR);
	ck_assert_str_eq(err, "unknown flag --leader-elect");
	ck_assert_int_eq(oparse(&ctl, "--health-addr=:8080", NULL), FLAGS_ERR); /* a client serves nothing */
	ck_assert_str_eq(err, "unknown flag --health-addr");
	ck_assert_int_eq(oparse(&sched, "--workers=8", "--leader-elect=false", NULL), FLAGS_OK);
	ck_assert_int_eq(workers, 8);
	ck_assert_int_eq(o.leader_elect, 0);
}
END_TEST

START_TEST(test_common_values)
{
	struct etcd_config cfg;

	ck_assert_int_eq(oparse(&sched, "--etcd-endpoints", "https://a:2379,https://b:2379", "--prefix=/t1",
	                        "--etcd-cacert=/ca.pem", "--etcd-cert", "/c.pem", "--etcd-key=/k.pem",
	                        "--etcd-timeout=1500ms", "--log-level=debug", "--health-addr=", NULL),
	                 FLAGS_OK);
	ck_assert_str_eq(o.prefix, "/t1");
	ck_assert_int_eq(o.log_level, LL_DEBUG);
	ck_assert_str_eq(o.health_addr, "");
	opts_etcd_config(&o, &cfg);
	ck_assert_str_eq(cfg.endpoints, "https://a:2379,https://b:2379");
	ck_assert_str_eq(cfg.cacert, "/ca.pem");
	ck_assert_str_eq(cfg.cert, "/c.pem");
	ck_assert_str_eq(cfg.key, "/k.pem");
	ck_assert_int_eq(cfg.request_timeout_ms, 1500);
	ck_assert_int_eq(cfg.connect_timeout_ms, 1500);

	setenv("SKIFF_ETCD_ENDPOINTS", "http://env:2379", 1);
	ck_assert_int_eq(oparse(&sched, NULL), FLAGS_OK);
	ck_assert_str_eq(o.etcd_endpoints, "http://env:2379");
	ck_assert_int_eq(oparse(&sched, "--etcd-endpoints=http://flag:2379", NULL), FLAGS_OK);
	ck_assert_str_eq(o.etcd_endpoints, "http://flag:2379");
}
END_TEST

START_TEST(test_common_errors)
{
	ck_assert_int_eq(oparse(&sched, "--log-level=verbose", NULL), FLAGS_ERR);
	ck_assert_str_eq(err, "--log-level: \"verbose\" is not one of debug, info, warn, error");
	ck_assert_int_eq(oparse(&sched, "--etcd-timeout=0", NULL), FLAGS_ERR);
	ck_assert_str_eq(err, "--etcd-timeout: must be more than 0");
	ck_assert_int_eq(oparse(&sched, "--etcd-timeout=5", NULL), FLAGS_OK);
	ck_assert_int_eq(o.etcd_timeout_ms, 5000);
	ck_assert_int_eq(oparse(&sched, "extra", NULL), FLAGS_ERR);
	ck_assert_int_eq(oparse(&ctl, "get", "--prefix=/x", "pods", NULL), FLAGS_OK);
	ck_assert_int_eq(o.nargs, 2);
}
END_TEST

static const char *good_prefixes[] = {"/skiff", "/a/b", "/team-1/skiff_2", "/a.b", "/x"};
static const char *bad_prefixes[] = {"skiff", "",     "/",     "/skiff/", "/a//b", "/a/../b", "/..",
                                     "/a..b", "/a b", "/a\tb", "/a\nb",   " /a",   "/a\x01"};

START_TEST(test_prefix_validation)
{
	char arg[64];

	for (size_t i = 0; i < NELEM(good_prefixes); i++) {
		snprintf(arg, sizeof(arg), "--prefix=%s", good_prefixes[i]);
		ck_assert_msg(oparse(&sched, arg, NULL) == FLAGS_OK, "rejected %s: %s", arg, err);
	}
	for (size_t i = 0; i < NELEM(bad_prefixes); i++) {
		snprintf(arg, sizeof(arg), "--prefix=%s", bad_prefixes[i]);
		ck_assert_msg(oparse(&sched, arg, NULL) == FLAGS_ERR, "accepted %s", arg);
		ck_assert_msg(strncmp(err, "--prefix: ", 10) == 0, "message: %s", err);
	}
	oparse(&sched, "--prefix=/skiff/", NULL);
	ck_assert_str_eq(err, "--prefix: \"/skiff/\" must not end with '/' (e.g. /skiff)");
}
END_TEST

static const char *good_addrs[] = {"", "127.0.0.1:10251", ":8080", "localhost:0", "[::1]:9000", "0.0.0.0:65535"};
static const char *bad_addrs[] = {"8080",    "127.0.0.1", "127.0.0.1:", "host:port",   "::1:80", "[::1]",
                                  "a:65536", "a:-1",      "a b:80",     "http://a:80", "a:80x",  "[::1:80"};

START_TEST(test_health_addr_validation)
{
	char arg[64];

	for (size_t i = 0; i < NELEM(good_addrs); i++) {
		snprintf(arg, sizeof(arg), "--health-addr=%s", good_addrs[i]);
		ck_assert_msg(oparse(&sched, arg, NULL) == FLAGS_OK, "rejected %s: %s", arg, err);
	}
	for (size_t i = 0; i < NELEM(bad_addrs); i++) {
		snprintf(arg, sizeof(arg), "--health-addr=%s", bad_addrs[i]);
		ck_assert_msg(oparse(&sched, arg, NULL) == FLAGS_ERR, "accepted %s", arg);
	}
}
END_TEST

/* Write s into a new temporary file; its path goes into path[64]. */
static void
temp_file(char *path, const char *s)
{
	int fd;

	snprintf(path, 64, "/tmp/check_daemon_flags.XXXXXX");
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, s, strlen(s)), (ssize_t)strlen(s));
	close(fd);
}

START_TEST(test_password)
{
	char path[64], arg[80];
	struct etcd_config cfg;

	setenv("SKIFF_ETCD_PASSWORD", "env-secret", 1);
	ck_assert_int_eq(oparse(&sched, NULL), FLAGS_OK);
	ck_assert_ptr_null(o.etcd_password); /* no user: not used */
	ck_assert_int_eq(oparse(&sched, "--etcd-user=root", "--allow-insecure-auth", NULL), FLAGS_OK);
	ck_assert_str_eq(o.etcd_password, "env-secret");
	opts_etcd_config(&o, &cfg);
	ck_assert_str_eq(cfg.user, "root");
	ck_assert_str_eq(cfg.password, "env-secret");

	temp_file(path, "file secret\r\n\n");
	snprintf(arg, sizeof(arg), "--etcd-password-file=%s", path);
	ck_assert_int_eq(oparse(&sched, "--etcd-user=root", "--allow-insecure-auth", arg, NULL), FLAGS_OK);
	ck_assert_str_eq(o.etcd_password, "file secret");
	ck_assert_int_eq(oparse(&sched, arg, NULL), FLAGS_ERR);
	ck_assert_str_eq(err, "--etcd-password-file needs --etcd-user");
	unlink(path);
	ck_assert_int_eq(oparse(&sched, "--etcd-user=root", "--allow-insecure-auth", arg, NULL), FLAGS_ERR);
	ck_assert_ptr_nonnull(strstr(err, "No such file or directory"));

	unsetenv("SKIFF_ETCD_PASSWORD");
	temp_file(path, "");
	snprintf(arg, sizeof(arg), "--etcd-password-file=%s", path);
	ck_assert_int_eq(oparse(&sched, "--etcd-user=root", "--allow-insecure-auth", arg, NULL), FLAGS_OK);
	ck_assert_str_eq(o.etcd_password, "");
	unlink(path);
	ck_assert_int_eq(oparse(&sched, "--etcd-user=root", "--allow-insecure-auth", NULL), FLAGS_OK);
	opts_etcd_config(&o, &cfg);
	ck_assert_str_eq(cfg.password, "");
}
END_TEST

START_TEST(test_password_file_too_large)
{
	char path[64], arg[80], *big = malloc(5000);

	memset(big, 'p', 4999);
	big[4999] = '\0';
	temp_file(path, big);
	free(big);
	snprintf(arg, sizeof(arg), "--etcd-password-file=%s", path);
	ck_assert_int_eq(oparse(&sched, "--etcd-user=root", "--allow-insecure-auth", arg, NULL), FLAGS_ERR);
	ck_assert_ptr_nonnull(strstr(err, "larger than 4 KiB"));
	unlink(path);
}
END_TEST

static int run_child(const struct skiff_prog *p, char **argv, int argc, char *out, char *errout, size_t len);

/* A daemon refuses an etcd user over http:// unless told otherwise (a
 * usage error, exit 2); https:// and clients are not concerned. */
START_TEST(test_insecure_auth)
{
	char out[8192], eout[8192];
	char *plain[] = {"skiff-scheduler", "--etcd-user=root", "--etcd-endpoints=https://a:2379,http://b:2379", NULL};
	char *allowed[] = {"skiff-scheduler", "--etcd-user=root", "--allow-insecure-auth", NULL};

	ck_assert_int_eq(oparse(&sched, "--etcd-user=root", NULL), FLAGS_ERR);
	ck_assert_ptr_nonnull(strstr(err, "--etcd-user over a plain http:// endpoint"));
	ck_assert_ptr_nonnull(strstr(err, "--allow-insecure-auth"));
	ck_assert_int_eq(oparse(&sched, "--etcd-user=root", "--etcd-endpoints=HTTP://a:2379", NULL), FLAGS_ERR);
	ck_assert_int_eq(oparse(&sched, "--etcd-user=root", "--etcd-endpoints=https://a:2379", NULL), FLAGS_OK);
	ck_assert_int_eq(oparse(&sched, "--etcd-user=root", "--allow-insecure-auth", NULL), FLAGS_OK);
	ck_assert_int_eq(o.allow_insecure_auth, 1);
	ck_assert_int_eq(oparse(&sched, NULL), FLAGS_OK); /* no user, no password to leak */
	ck_assert_int_eq(oparse(&ctl, "--etcd-user=root", NULL), FLAGS_OK);
	ck_assert_int_eq(oparse(&ctl, "--allow-insecure-auth", NULL), FLAGS_ERR);
	ck_assert_int_eq(run_child(&sched, plain, 3, out, eout, sizeof(out)), 2);
	ck_assert_ptr_nonnull(strstr(eout, "skiff-scheduler: --etcd-user over a plain http:// endpoint"));
	ck_assert_int_eq(run_child(&sched, allowed, 3, out, eout, sizeof(out)), 99);
	/* etcd's gateway refuses a client certificate once auth is on. */
	ck_assert_int_eq(oparse(&sched, "--etcd-user=root", "--etcd-endpoints=https://a:2379", "--etcd-cert=/c.pem",
	                        "--etcd-key=/k.pem", NULL),
	                 FLAGS_ERR);
	ck_assert_ptr_nonnull(strstr(err, "--etcd-user and --etcd-cert cannot be combined"));
	ck_assert_int_eq(
		oparse(&sched, "--etcd-user=root", "--etcd-endpoints=https://a:2379", "--etcd-cacert=/ca.pem", NULL),
		FLAGS_OK);
}
END_TEST

/* The secrets leave the environment, bytes and all; the rest stays. */
START_TEST(test_scrub_env)
{
	extern char **environ;
	char *kept;

	setenv("SKIFF_ETCD_PASSWORD", "env-secret", 1);
	setenv("SKIFF_OTHER_TOKEN", "tok", 1);
	setenv("ETCDCTL_USER", "root:pw", 1);
	setenv("SKIFF_ETCD_ENDPOINTS", "http://e:2379", 1);
	kept = getenv("SKIFF_ETCD_PASSWORD");
	ck_assert_int_eq(oparse(&sched, "--etcd-user=root", "--allow-insecure-auth", NULL), FLAGS_OK);
	ck_assert_int_eq(opts_scrub_env(), 3);
	ck_assert_str_eq(o.etcd_password, "env-secret"); /* read before */
	ck_assert_ptr_null(getenv("SKIFF_ETCD_PASSWORD"));
	ck_assert_ptr_null(getenv("SKIFF_OTHER_TOKEN"));
	ck_assert_ptr_null(getenv("ETCDCTL_USER"));
	ck_assert_str_eq(getenv("SKIFF_ETCD_ENDPOINTS"), "http://e:2379");
	ck_assert_int_eq(kept[0], '\0'); /* the bytes were wiped, not only unlinked */
	for (char **e = environ; *e; e++)
		ck_assert_ptr_null(strstr(*e, "secret"));
	ck_assert_int_eq(opts_scrub_env(), 0);
	unsetenv("SKIFF_ETCD_ENDPOINTS");
}
END_TEST

START_TEST(test_help_text)
{
	char *text = NULL;
	size_t len;
	FILE *f = open_memstream(&text, &len);
	const char *want[] = {"usage: skiff-scheduler [flags]\nBinds pods to nodes.\n",
	                      "  --etcd-endpoints URLS",
	                      "(default http://127.0.0.1:2379) [env SKIFF_ETCD_ENDPOINTS]",
	                      "  --etcd-timeout duration",
	                      "(default 5s)",
	                      "  --prefix PATH",
	                      "  --leader-elect ",
	                      "(default 127.0.0.1:10251)",
	                      "  --workers N",
	                      "reconcile workers (default 2)",
	                      "  --help ",
	                      "  --version "};

	opts_help(&sched, f);
	fclose(f);
	for (size_t i = 0; i < NELEM(want); i++)
		ck_assert_msg(strstr(text, want[i]), "no \"%s\" in:\n%s", want[i], text);
	free(text);
}
END_TEST

/* Run opts_parse_or_exit in a child; returns its exit status, with what it
 * printed on stdout and stderr. */
static int
run_child(const struct skiff_prog *p, char **argv, int argc, char *out, char *errout, size_t len)
{
	int po[2], pe[2], status;
	pid_t pid;
	ssize_t n;

	ck_assert_int_eq(pipe(po), 0);
	ck_assert_int_eq(pipe(pe), 0);
	if ((pid = fork()) == 0) {
		struct skiff_opts co;

		dup2(po[1], 1);
		dup2(pe[1], 2);
		opts_parse_or_exit(&co, p, argc, argv);
		opts_free(&co);
		_exit(99);
	}
	close(po[1]);
	close(pe[1]);
	n = read(po[0], out, len - 1);
	out[n > 0 ? n : 0] = '\0';
	n = read(pe[0], errout, len - 1);
	errout[n > 0 ? n : 0] = '\0';
	close(po[0]);
	close(pe[0]);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	return WEXITSTATUS(status);
}

START_TEST(test_exit_statuses)
{
	char out[8192], eout[8192];
	char *bad[] = {"skiff-scheduler", "--etcd-endpoint=x", NULL};
	char *ver[] = {"skiff-scheduler", "--version", NULL};
	char *help[] = {"skiff-scheduler", "--help", NULL};
	char *ok[] = {"skiff-scheduler", "--prefix=/p", NULL};

	ck_assert_int_eq(run_child(&sched, bad, 2, out, eout, sizeof(out)), 2);
	ck_assert_str_eq(out, "");
	ck_assert_str_eq(eout, "skiff-scheduler: unknown flag --etcd-endpoint\n"
	                       "usage: skiff-scheduler [flags]\nTry 'skiff-scheduler --help' for the flags.\n");
	ck_assert_int_eq(run_child(&sched, ver, 2, out, eout, sizeof(out)), 0);
	ck_assert_str_eq(out, "skiff-scheduler " SKIFF_VERSION " (contract " SKIFF_CONTRACT_VERSION ")\n");
	ck_assert_int_eq(run_child(&sched, help, 2, out, eout, sizeof(out)), 0);
	ck_assert_ptr_nonnull(strstr(out, "--etcd-password-file FILE"));
	ck_assert_str_eq(eout, "");
	ck_assert_int_eq(run_child(&sched, ok, 2, out, eout, sizeof(out)), 99);
}
END_TEST

/* --resync-interval: only programs that resync take it; a bad value (or a
 * bound of the program's own table) is a usage error before anything runs. */
START_TEST(test_resync_interval)
{
	char out[8192], eout[8192];
	char *zero[] = {"skiff-replication-controller", "--resync-interval=0", NULL};
	char *many[] = {"skiff-replication-controller", "--workers=2000", NULL};
	char *help[] = {"skiff-replication-controller", "--help", NULL};

	ck_assert_int_eq(oparse(&rsync, NULL), FLAGS_OK);
	ck_assert_int_eq(o.resync_ms, 60000);
	ck_assert_int_eq(oparse(&rsync, "--resync-interval=5s", NULL), FLAGS_OK);
	ck_assert_int_eq(o.resync_ms, 5000);
	ck_assert_int_eq(oparse(&sched, "--resync-interval=5s", NULL), FLAGS_ERR);
	ck_assert_str_eq(err, "unknown flag --resync-interval");
	ck_assert_int_eq(run_child(&rsync, zero, 2, out, eout, sizeof(out)), 2);
	ck_assert_ptr_nonnull(strstr(eout, "--resync-interval: must be more than 0"));
	ck_assert_int_eq(run_child(&rsync, many, 2, out, eout, sizeof(out)), 2);
	ck_assert_ptr_nonnull(strstr(eout, "--workers: must be between 1 and 1024, got 2000"));
	ck_assert_int_eq(run_child(&rsync, help, 2, out, eout, sizeof(out)), 0);
	ck_assert_ptr_nonnull(strstr(out, "--resync-interval duration"));
	ck_assert_ptr_nonnull(strstr(out, "(default 60s)"));
}
END_TEST

static Suite *
flags_suite(void)
{
	Suite *s = suite_create("daemon_flags");
	TCase *core = tcase_create("core"), *errors = tcase_create("errors"), *common = tcase_create("common");

	tcase_add_checked_fixture(core, setup, NULL);
	tcase_add_checked_fixture(errors, setup, NULL);
	tcase_add_checked_fixture(common, setup, opts_teardown);
	tcase_add_test(core, test_defaults);
	tcase_add_test(core, test_forms);
	tcase_add_test(core, test_durations);
	tcase_add_test(core, test_positional);
	tcase_add_test(core, test_env_fallback);
	tcase_add_test(errors, test_duration_flag_errors);
	tcase_add_test(errors, test_unknown_and_missing);
	tcase_add_test(errors, test_checks_run_last);
	tcase_add_test(errors, test_bounds);
	tcase_add_test(common, test_common_defaults);
	tcase_add_test(common, test_common_values);
	tcase_add_test(common, test_common_errors);
	tcase_add_test(common, test_prefix_validation);
	tcase_add_test(common, test_health_addr_validation);
	tcase_add_test(common, test_password);
	tcase_add_test(common, test_password_file_too_large);
	tcase_add_test(common, test_help_text);
	tcase_add_test(common, test_insecure_auth);
	tcase_add_test(common, test_scrub_env);
	tcase_add_test(common, test_exit_statuses);
	tcase_add_test(common, test_resync_interval);
	suite_add_tcase(s, core);
	suite_add_tcase(s, errors);
	suite_add_tcase(s, common);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(flags_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
