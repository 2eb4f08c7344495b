/*
 * check_api_cli.c: "skiffctl validate" run in-process (its output and exit
 * status for valid, invalid, unreadable and odd inputs, and usage errors),
 * then the built binary itself for what only main() does.
 */
#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/skiffctl.h"

#ifndef SKIFFCTL
#define SKIFFCTL "build/bin/skiffctl"
#endif

static char tmpdir[64];

static void
setup(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/check_api_cli.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void
teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	ck_assert_int_eq(system(cmd), 0);
}

/* Write content to tmpdir/name; returns the path (static buffer). */
static const char *
tmpfile_with(const char *name, const char *content)
{
	static char path[4][256];
	static int next;
	char *p = path[next++ % 4];
	FILE *f;

	snprintf(p, sizeof(path[0]), "%s/%s", tmpdir, name);
	f = fopen(p, "w");
	ck_assert_ptr_nonnull(f);
	fputs(content, f);
	fclose(f);
	return p;
}

struct run {
	int rc;
	char *out, *err;
};

/* Run command fn named name with the arguments of ap (NULL-terminated)
 * in-process. */
static struct run
run_in(int (*fn)(int, char **, FILE *, FILE *), const char *name, const char *arg, va_list ap)
{
	char *argv[32], *obuf = NULL, *ebuf = NULL;
	size_t olen = 0, elen = 0;
	FILE *out = open_memstream(&obuf, &olen), *err = open_memstream(&ebuf, &elen);
	struct run r;
	int argc = 0;

	argv[argc++] = (char *)name;
	for (; arg && argc < 31; arg = va_arg(ap, const char *))
		argv[argc++] = (char *)arg;
	argv[argc] = NULL;
	r.rc = fn(argc, argv, out, err);
	fclose(out);
	fclose(err);
	r.out = obuf;
	r.err = ebuf;
	return r;
}

/* Run "validate ARGS..." (NULL-terminated) in-process. */
static struct run
validate(const char *arg, ...)
{
	struct run r;
	va_list ap;

	va_start(ap, arg);
	r = run_in(cmd_validate, "validate", arg, ap);
	va_end(ap);
	return r;
}

/* The same for "rollout", "set", "scale", "drain" and "logs": the command is the
 * first argument. */
static struct run
deploy_cmd(const char *name, ...)
{
	static const struct {
		const char *name;
		int (*fn)(int, char **, FILE *, FILE *);
	} cmds[] = {{"rollout", cmd_rollout},
	            {"set", cmd_set},
	            {"scale", cmd_scale},
	            {"drain", cmd_drain},
	            {"logs", cmd_logs}};
	struct run r = {0};
	va_list ap;
	size_t i;

	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]) && strcmp(cmds[i].name, name) != 0; i++)
		;
	ck_assert_uint_lt(i, sizeof(cmds) / sizeof(cmds[0]));
	va_start(ap, name);
	r = run_in(cmds[i].fn, name, va_arg(ap, const char *), ap);
	va_end(ap);
	return r;
}

static void
run_free(struct run *r)
{
	free(r->out);
	free(r->err);
}

START_TEST(test_valid_file)
{
	struct run r = validate("-f", "manifests/apache/pod.json", NULL);

	ck_assert_int_eq(r.rc, 0);
	ck_assert_str_eq(r.out, "manifests/apache/pod.json: ok (Pod apache)\n");
	ck_assert_str_eq(r.err, "");
	run_free(&r);
}
END_TEST

START_TEST(test_directory)
{
	struct run r = validate("--filename", "manifests/test", NULL);

	ck_assert_int_eq(r.rc, 0);
	ck_assert_str_eq(r.out, "manifests/test/controller.json: ok (ReplicationController apache)\n"
	                        "manifests/test/pod.json: ok (Pod apache)\n"
	                        "manifests/test/service.json: ok (Service apache)\n");
	run_free(&r);
	tmpfile_with("x.txt", ""); /* not *.json, *.yaml or *.yml: skipped */
	r = validate("-f", tmpdir, NULL);
	ck_assert_int_eq(r.rc, 1);
	ck_assert_ptr_nonnull(strstr(r.err, ": no *.json, *.yaml or *.yml files"));
	run_free(&r);
}
END_TEST

START_TEST(test_invalid_file)
{
	const char *f =
		tmpfile_with("rc.json", "{\"kind\":\"ReplicationController\",\"metadata\":{\"name\":\"web\"},"
	                                "\"spec\":{\"replicas\":\"4\",\"selector\":{\"app\":\"apache\"},"
	                                "\"template\":{\"metadata\":{\"labels\":{\"app\":\"web\"}},"
	                                "\"spec\":{\"containers\":[{\"name\":\"web\",\"image\":\"httpd\"}]}}}}");
	char want[1024];
	struct run r = validate("-f", f, NULL);

	ck_assert_int_eq(r.rc, 1);
	ck_assert_str_eq(r.out, "");
	snprintf(want, sizeof(want),
	         "%s: spec.replicas: must be an integer, got string\n"
	         "%s: spec.selector: does not match template labels {app=web}\n",
	         f, f);
	ck_assert_str_eq(r.err, want);
	run_free(&r);
}
END_TEST

START_TEST(test_mixed)
{
	const char *bad = tmpfile_with(
		"bad.json",
		"{\"metadata\":{\"name\":\"Apache_1\"},\"spec\":{\"containers\":[{\"name\":\"a\",\"image\":\"x\","
		"\"ports\":[{\"containerPort\":70000}]}]}}");
	char want[512];
	struct run r = validate("-f", "manifests/apache/service.json", "-f", bad, "manifests/apache/pod.json", NULL);

	ck_assert_int_eq(r.rc, 1);
	ck_assert_str_eq(r.out, "manifests/apache/service.json: ok (Service apache)\n"
	                        "manifests/apache/pod.json: ok (Pod apache)\n");
	snprintf(want, sizeof(want),
	         "%s: metadata.name: \"Apache_1\" is not a DNS-1123 label\n"
	         "%s: spec.containers[0].ports[0].containerPort: must be between 1 and 65535, got 70000\n",
	         bad, bad);
	ck_assert_str_eq(r.err, want);
	run_free(&r);
}
END_TEST

START_TEST(test_unreadable)
{
	struct run r = validate("-f", "/nonexistent/nope.json", NULL);

	ck_assert_int_eq(r.rc, 1);
	ck_assert_str_eq(r.err, "/nonexistent/nope.json: cannot read: No such file or directory\n");
	run_free(&r);
}
END_TEST

/* File content, expected stderr after "FILE: " (one problem). */
static const struct {
	const char *content, *err;
} odd[] = {
	{"{\"kind\":\"StatefulSet\"}", "kind: unknown kind \"StatefulSet\" (see skiffctl validate --help)"},
	{"{}", "cannot tell what kind of object this is; set \"kind\" or --kind"},
	{"{\"spec\":", "invalid JSON at line 1, column 8: unexpected token near end of file"},
	{"42", "invalid JSON at line 1, column 2: '[' or '{' expected near '42'"},
	{"{\"kind\":\"List\",\"items\":{}}", "items: must be an array"},
	{"{\"kind\":\"Leader\"}", "kind: unknown kind \"Leader\" (see skiffctl validate --help)"},
};

START_TEST(test_odd_documents)
{
	const char *f = tmpfile_with("odd.json", odd[_i].content);
	char want[512];
	struct run r = validate("-f", f, NULL);

	ck_assert_int_eq(r.rc, 1);
	snprintf(want, sizeof(want), "%s: %s\n", f, odd[_i].err);
	ck_assert_str_eq(r.err, want);
	run_free(&r);
}
END_TEST

START_TEST(test_list)
{
	const char *f = tmpfile_with("list.json",
	                             "{\"kind\":\"List\",\"items\":[{\"kind\":\"Pod\",\"metadata\":{\"name\":\"a\"},"
	                             "\"spec\":{\"containers\":[{\"name\":\"a\",\"image\":\"x\"}]}},"
	                             "{\"kind\":\"Service\",\"spec\":{}},3,"
	                             "{\"subnet\":\"10.244.1.0/24\"}]}");
	const char *g = tmpfile_with("array.json", "[{\"kind\":\"NetworkConfig\"}]");
	char want[512];
	struct run r = validate("-f", f, g, NULL);

	ck_assert_int_eq(r.rc, 1);
	snprintf(want, sizeof(want), "%s[0]: ok (Pod a)\n%s[3]: ok (Subnet)\n%s[0]: ok (NetworkConfig)\n", f, f, g);
	ck_assert_str_eq(r.out, want);
	snprintf(want, sizeof(want), "%s[1]: spec.ports: required\n%s[2]: must be a JSON object\n", f, f);
	ck_assert_str_eq(r.err, want);
	run_free(&r);
}
END_TEST

START_TEST(test_forced_kind)
{
	struct run r = validate("--kind", "Service", "-f", "manifests/apache/pod.json", NULL);

	ck_assert_int_eq(r.rc, 1);
	ck_assert_str_eq(r.err, "manifests/apache/pod.json: kind: must be Service here, got \"Pod\"\n"
	                        "manifests/apache/pod.json: spec.ports: required\n");
	run_free(&r);
	r = validate("--kind=Pod", "-f", "manifests/apache/pod.json", NULL);
	ck_assert_int_eq(r.rc, 0);
	run_free(&r);
}
END_TEST

START_TEST(test_usage)
{
	struct run r = validate(NULL);

	ck_assert_int_eq(r.rc, 2);
	ck_assert_ptr_nonnull(strstr(r.err, "no files given"));
	ck_assert_ptr_nonnull(strstr(r.err, "usage: skiffctl validate"));
	run_free(&r);
	r = validate("--bogus", "-f", "manifests/apache/pod.json", NULL);
	ck_assert_int_eq(r.rc, 2);
	ck_assert_ptr_nonnull(strstr(r.err, "unknown flag --bogus"));
	ck_assert_str_eq(r.out, "");
	run_free(&r);
	r = validate("-f", NULL);
	ck_assert_int_eq(r.rc, 2);
	ck_assert_ptr_nonnull(strstr(r.err, "-f needs a file name"));
	run_free(&r);
	r = validate("--kind", "StatefulSet", "-f", "x", NULL);
	ck_assert_int_eq(r.rc, 2);
	ck_assert_ptr_nonnull(strstr(r.err, "unknown kind StatefulSet"));
	run_free(&r);
	r = validate("--kind", NULL);
	ck_assert_int_eq(r.rc, 2);
	run_free(&r);
	r = validate("--help", NULL);
	ck_assert_int_eq(r.rc, 0);
	ck_assert_ptr_nonnull(strstr(r.out, "usage: skiffctl validate"));
	ck_assert_ptr_nonnull(strstr(r.out, "ReplicationController"));
	run_free(&r);
	/* After "--", a name starting with '-' is a file. */
	r = validate("--", "--help", NULL);
	ck_assert_int_eq(r.rc, 1);
	ck_assert_str_eq(r.err, "--help: cannot read: No such file or directory\n");
	run_free(&r);
}
END_TEST

/* The deployment commands' usage errors, found before any etcd request:
 * exit 2 (1 for a name that cannot be a key) with what is wrong. */
START_TEST(test_deploy_usage)
{
	static const struct {
		const char *args[6];
		int rc;
		const char *says;
	} cases[] = {
		{{"rollout", NULL}, 2, "expected SUBCOMMAND deployment/NAME"},
		{{"rollout", "bogus", "deployment/web", NULL}, 2, "unknown subcommand \"bogus\""},
		{{"rollout", "status", "rc/web", NULL}, 2, "deployments only"},
		{{"rollout", "status", "deployment/", NULL}, 2, "which name?"},
		{{"rollout", "status", "thing/web", NULL}, 2, "unknown kind \"thing\""},
		{{"rollout", "status", "deployment/web", "--to-revision=2", NULL}, 2, "--to-revision goes with undo"},
		{{"rollout", "undo", "deployment/web", "--timeout=1s", NULL}, 2, "--timeout goes with status"},
		{{"rollout", "undo", "deployment", "web", "extra", NULL}, 2, "unexpected argument \"extra\""},
		{{"rollout", "pause", "deployment/Bad_Name", NULL}, 1, "not a valid deployment name"},
		{{"set", NULL}, 2, "only \"set image\" exists"},
		{{"set", "image", "deployment/web", NULL}, 2, "expected CONTAINER=IMAGE"},
		{{"set", "image", "deployment/web", "web", NULL}, 2, "\"web\" is not CONTAINER=IMAGE"},
		{{"set", "image", "deployment/web", "web=a b", NULL}, 2, "not a valid image reference"},
		{{"set", "image", "pod/web", "web=httpd", NULL}, 2, "not on pods"},
		{{"scale", "deployment/web", NULL}, 2, "--replicas=N is required"},
		{{"scale", "deployment/web", "web", "--replicas=1", NULL}, 2, "expected: controller NAME"},
		{{"drain", NULL}, 2, "expected one NODE"},
		{{"drain", "m1", "--grace-period=-5", NULL}, 2, "--grace-period is -1 or more"},
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *const *a = cases[i].args;
		struct run r = deploy_cmd(a[0], a[1], a[2], a[3], a[4], a[5]);

		ck_assert_msg(r.rc == cases[i].rc, "%s %s: exit %d, want %d: %s", a[0], a[1] ? a[1] : "", r.rc,
		              cases[i].rc, r.err);
		ck_assert_msg(strstr(r.err, cases[i].says), "%s %s: no \"%s\" in: %s", a[0], a[1] ? a[1] : "",
		              cases[i].says, r.err);
		ck_assert_str_eq(r.out, "");
		run_free(&r);
	}
	for (i = 0; i < 4; i++) {
		static const char *const names[] = {"rollout", "set", "scale", "drain"};
		struct run r = deploy_cmd(names[i], "--help", NULL);
		char usage[64];

		snprintf(usage, sizeof(usage), "usage: skiffctl %s", names[i]);
		ck_assert_int_eq(r.rc, 0);
		ck_assert_ptr_nonnull(strstr(r.out, usage));
		run_free(&r);
	}
}
END_TEST

/* skiffctl logs: usage errors before any etcd request (exit 2), -f and -c
 * taken as --follow and --container, --help. */
START_TEST(test_logs_usage)
{
	struct run r = deploy_cmd("logs", NULL);

	ck_assert_int_eq(r.rc, 2);
	ck_assert_ptr_nonnull(strstr(r.err, "expected one POD"));
	run_free(&r);
	r = deploy_cmd("logs", "a", "b", NULL);
	ck_assert_int_eq(r.rc, 2);
	run_free(&r);
	r = deploy_cmd("logs", "a", "--tail", "x", NULL);
	ck_assert_int_eq(r.rc, 2);
	ck_assert_ptr_nonnull(strstr(r.err, "tail"));
	run_free(&r);
	r = deploy_cmd("logs", "a", "-f", "-c", NULL);
	ck_assert_int_eq(r.rc, 2);
	ck_assert_ptr_nonnull(strstr(r.err, "container"));
	ck_assert_ptr_null(strstr(r.err, "filename"));
	run_free(&r);
	r = deploy_cmd("logs", "--help", NULL);
	ck_assert_int_eq(r.rc, 0);
	ck_assert_ptr_nonnull(strstr(r.out, "usage: skiffctl logs"));
	ck_assert_ptr_nonnull(strstr(r.out, "--client-cert"));
	ck_assert_ptr_nonnull(strstr(r.out, "SKIFF_CLIENT_CERT"));
	run_free(&r);
}
END_TEST

/* A YAML alias bomb (9^9 strings from 350 bytes) is refused at once; a
 * document using anchors as people do is expanded. */
START_TEST(test_yaml_alias_bomb)
{
	static const char bomb[] = "a: &a [lol,lol,lol,lol,lol,lol,lol,lol,lol]\n"
				   "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
				   "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
				   "f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\ng: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n"
				   "h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]\ni: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]\n";
	static const char fine[] = "env: &env [{name: A, value: '1'}, {name: B, value: '2'}]\n"
				   "containers:\n- {name: a, image: x, env: *env}\n- {name: b, image: x, env: *env}\n";
	char msg[512] = "";
	json_t *j = ctl_yaml_to_json(bomb, sizeof(bomb) - 1, msg, sizeof(msg));

	ck_assert_ptr_null(j);
	ck_assert_msg(strstr(msg, "YAML expands to more than 13") != NULL, "%s", msg);
	ck_assert_ptr_nonnull(strstr(msg, "refused"));
	j = ctl_yaml_to_json(fine, sizeof(fine) - 1, msg, sizeof(msg));
	ck_assert_ptr_nonnull(j);
	ck_assert_str_eq(
		json_string_value(json_object_get(
			json_array_get(json_object_get(json_array_get(json_object_get(j, "containers"), 1), "env"), 1),
			"value")),
		"2");
	json_decref(j);
}
END_TEST

/* Control characters come out as \xNN (C1 in UTF-8 as \u00NN); other
 * text, UTF-8 included, is unchanged; a short buffer never holds half an
 * escape. */
START_TEST(test_escape)
{
	char buf[64], *m = NULL;
	size_t n = 0;
	FILE *f;

	ck_assert_uint_eq(ctl_escape("a\x1b[31mb\r\a\x7f\t\n", buf, sizeof(buf)), 30);
	ck_assert_str_eq(buf, "a\\x1b[31mb\\x0d\\x07\\x7f\\x09\\x0a");
	ck_assert_uint_eq(ctl_escape("caf\xc3\xa9 \xc2\x9b"
	                             "1m \xc2\xa0",
	                             buf, sizeof(buf)),
	                  17);
	ck_assert_str_eq(buf, "caf\xc3\xa9 \\u009b1m \xc2\xa0");
	ck_assert_uint_eq(ctl_escape("ab\x1b", buf, 5), 6);
	ck_assert_str_eq(buf, "ab");
	ck_assert_uint_eq(ctl_escape("plain", NULL, 0), 5);
	f = open_memstream(&m, &n);
	ck_assert_ptr_nonnull(f);
	ctl_fputs_escaped("x\x1b]0;t\ay", f);
	fclose(f);
	ck_assert_str_eq(m, "x\\x1b]0;t\\x07y");
	free(m);
}
END_TEST

/* The binary: exit status of sh -c cmd. */
static int
sh(const char *cmd)
{
	int st = system(cmd);

	ck_assert_msg(WIFEXITED(st), "%s: did not exit", cmd);
	return WEXITSTATUS(st);
}

START_TEST(test_binary)
{
	char cmd[512], *line = NULL;
	size_t cap = 0;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "%s --help >/dev/null", SKIFFCTL);
	ck_assert_int_eq(sh(cmd), 0);
	snprintf(cmd, sizeof(cmd), "%s --version | grep -q '^skiffctl '", SKIFFCTL);
	ck_assert_int_eq(sh(cmd), 0);
	snprintf(cmd, sizeof(cmd), "%s help validate | grep -q 'usage: skiffctl validate'", SKIFFCTL);
	ck_assert_int_eq(sh(cmd), 0);
	snprintf(cmd, sizeof(cmd), "%s 2>/dev/null", SKIFFCTL);
	ck_assert_int_eq(sh(cmd), 2);
	snprintf(cmd, sizeof(cmd), "%s --bogus 2>/dev/null", SKIFFCTL);
	ck_assert_int_eq(sh(cmd), 2);
	snprintf(cmd, sizeof(cmd), "%s frobnicate 2>/dev/null", SKIFFCTL);
	ck_assert_int_eq(sh(cmd), 2);
	snprintf(cmd, sizeof(cmd), "%s validate -f manifests/apache 2>/dev/null >/dev/null", SKIFFCTL);
	ck_assert_int_eq(sh(cmd), 0);
	snprintf(cmd, sizeof(cmd), "%s validate -f tests/fixtures/api/pod/duplicates/input.json 2>/dev/null", SKIFFCTL);
	ck_assert_int_eq(sh(cmd), 1);
	snprintf(cmd, sizeof(cmd), "%s validate -f - < manifests/apache/controller.json", SKIFFCTL);
	p = popen(cmd, "r");
	ck_assert_ptr_nonnull(p);
	ck_assert_int_gt(getline(&line, &cap, p), 0);
	ck_assert_str_eq(line, "<stdin>: ok (ReplicationController apache)\n");
	ck_assert_int_eq(pclose(p), 0);
	snprintf(cmd, sizeof(cmd),
	         "printf 'kind: Pod\\nmetadata: {name: a}\\nspec: {containers: [{name: a, image: x}]}\\n' | "
	         "%s validate -f - | grep -qx '<stdin>: ok (Pod a)'",
	         SKIFFCTL);
	ck_assert_int_eq(sh(cmd), 0);
	free(line);
}
END_TEST

#define YAML_POD                                                \
	"apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n%s" \
	"spec:\n  containers:\n  - name: web\n    image: httpd:2.4\n%s"

/* r exited with rc, printed want on stdout; r is freed. */
static void
expect_out(struct run *r, int rc, const char *want)
{
	ck_assert_int_eq(r->rc, rc);
	ck_assert_str_eq(r->out, want);
	run_free(r);
}

/* A pod in YAML; extra_meta and extra_container are indented lines. */
static const char *
yaml_pod(const char *name, const char *extra_meta, const char *extra_container)
{
	char buf[1024];

	snprintf(buf, sizeof(buf), YAML_POD, extra_meta, extra_container);
	return tmpfile_with(name, buf);
}

/* YAML, several documents per file, as validate reads them. */
START_TEST(test_yaml)
{
	const char *f = yaml_pod("one.yml", "", "");
	char want[512];
	struct run r = validate("-f", f, NULL);

	ck_assert_str_eq(r.err, "");
	snprintf(want, sizeof(want), "%s: ok (Pod web)\n", f);
	expect_out(&r, 0, want);
	f = tmpfile_with("two.yaml", "apiVersion: v1\nkind: Service\nmetadata: {name: web}\n"
	                             "spec:\n  selector: {app: web}\n  ports:\n  - port: 80\n---\n"
	                             "apiVersion: v1\nkind: List\nitems:\n"
	                             "- {kind: Pod, metadata: {name: a}, spec: {containers: [{name: a, image: x}]}}\n");
	r = validate("-f", f, NULL);
	snprintf(want, sizeof(want), "%s[0]: ok (Service web)\n%s[1][0]: ok (Pod a)\n", f, f);
	expect_out(&r, 0, want);
}
END_TEST

/* An apps/v1 Deployment as kubectl takes it; v1 is refused for it. */
START_TEST(test_deployment)
{
	const char *f = tmpfile_with("deploy.yaml", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\n"
	                                            "spec:\n  replicas: 3\n  selector: {matchLabels: {app: web}}\n"
	                                            "  strategy: {rollingUpdate: {maxSurge: 1, maxUnavailable: 0%}}\n"
	                                            "  template:\n    metadata: {labels: {app: web}}\n"
	                                            "    spec: {containers: [{name: web, image: httpd:2.4}]}\n");
	char want[512];
	struct run r = validate("-f", f, NULL);

	ck_assert_str_eq(r.err, "");
	snprintf(want, sizeof(want), "%s: ok (Deployment web)\n", f);
	expect_out(&r, 0, want);
	f = tmpfile_with("deploy.json",
	                 "{\"apiVersion\":\"v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"web\"}}");
	r = validate("-f", f, NULL);
	ck_assert_int_eq(r.rc, 1);
	ck_assert_ptr_nonnull(strstr(r.err, "apiVersion: must be apps/v1 for a Deployment, got \"v1\""));
	run_free(&r);
}
END_TEST

/* A directory's sub-directories are read with -R only. */
START_TEST(test_recursive)
{
	char sub[128], want[512];
	struct run r;

	snprintf(sub, sizeof(sub), "%s/sub", tmpdir);
	ck_assert_int_eq(mkdir(sub, 0700), 0);
	yaml_pod("sub/deep.yaml", "", "");
	yaml_pod("top.yaml", "", "");
	r = validate("-f", tmpdir, NULL);
	snprintf(want, sizeof(want), "%s/top.yaml: ok (Pod web)\n", tmpdir);
	expect_out(&r, 0, want);
	r = validate("-R", "-f", tmpdir, NULL);
	snprintf(want, sizeof(want), "%s/sub/deep.yaml: ok (Pod web)\n%s/top.yaml: ok (Pod web)\n", tmpdir, tmpdir);
	expect_out(&r, 0, want);
}
END_TEST

/* The field policy: a refused field is an error naming its path, a typo a
 * warning (still ok, exit 0), a v1beta1 object is refused for its
 * apiVersion only, a namespace other than default by name. */
START_TEST(test_field_policy)
{
	const char *f = yaml_pod("typo.yaml", "  namespace: default\n", "    imagePullPolcy: Always\n");
	char want[512];
	struct run r = validate("-f", f, NULL);

	ck_assert_int_eq(r.rc, 0);
	snprintf(want, sizeof(want),
	         "warning: %s: spec.containers[0].imagePullPolcy: unknown field (not in the Kubernetes v1 schema); "
	         "ignored\n",
	         f);
	ck_assert_str_eq(r.err, want);
	snprintf(want, sizeof(want), "%s: ok (Pod web)\n", f);
	expect_out(&r, 0, want);
	f = yaml_pod("refused.yaml", "  namespace: kube-system\n", "    volumeDevices: [{name: x, devicePath: /x}]\n");
	r = validate("-f", f, NULL);
	ck_assert_int_eq(r.rc, 1);
	snprintf(want, sizeof(want),
	         "%s: metadata.namespace: \"kube-system\" is not supported: Skiff has one namespace, \"default\" "
	         "(refused, see docs/keys.md)\n"
	         "%s: spec.containers[0].volumeDevices: not implemented by Skiff (refused, see docs/keys.md)\n",
	         f, f);
	ck_assert_str_eq(r.err, want);
	run_free(&r);
	f = tmpfile_with("old.json", "{\"apiVersion\":\"v1beta1\",\"kind\":\"Pod\",\"id\":\"web\","
	                             "\"desiredState\":{\"manifest\":{\"containers\":[{\"image\":\"httpd\"}]}}}");
	r = validate("-f", f, NULL);
	ck_assert_int_eq(r.rc, 1);
	snprintf(want, sizeof(want),
	         "%s: apiVersion: must be v1 for a Pod, got \"v1beta1\" (Skiff reads Kubernetes v1 objects)\n", f);
	ck_assert_str_eq(r.err, want);
	run_free(&r);
}
END_TEST

static Suite *
cli_suite(void)
{
	Suite *s = suite_create("api_cli");
	TCase *core = tcase_create("core"), *errors = tcase_create("errors"), *binary = tcase_create("binary");

	tcase_add_checked_fixture(core, setup, teardown);
	tcase_add_checked_fixture(errors, setup, teardown);
	tcase_add_test(core, test_valid_file);
	tcase_add_test(core, test_directory);
	tcase_add_test(core, test_list);
	tcase_add_test(core, test_forced_kind);
	tcase_add_test(core, test_escape);
	tcase_add_test(core, test_yaml);
	tcase_add_test(core, test_recursive);
	tcase_add_test(core, test_deployment);
	tcase_add_test(errors, test_field_policy);
	tcase_add_test(errors, test_invalid_file);
	tcase_add_test(errors, test_mixed);
	tcase_add_test(errors, test_unreadable);
	tcase_add_loop_test(errors, test_odd_documents, 0, sizeof(odd) / sizeof(odd[0]));
	tcase_add_test(errors, test_usage);
	tcase_add_test(errors, test_deploy_usage);
	tcase_add_test(errors, test_yaml_alias_bomb);
	tcase_add_test(errors, test_logs_usage);
	tcase_add_test(binary, test_binary);
	suite_add_tcase(s, core);
	suite_add_tcase(s, errors);
	suite_add_tcase(s, binary);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(cli_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
