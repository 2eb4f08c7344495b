/*
 * check_exec_frames.c: the exec channel's two frame decoders, the agent's
 * (node-agent/agent_serve_exec_frame.c, frames from the client) and
 * skiffctl's (cli/ctl_stream_frame.c, frames from the agent), over the
 * case folders tests/fixtures/exec_frames/{agent,ctl}/<case>/: input (the
 * bytes, as hex; "#" starts a comment) and expected (what the decoder
 * reports, one line each: "in:BYTES", "end", "resize:WxH" for the agent,
 * "1:BYTES", "2:BYTES", "exit:N" for skiffctl, then "ok" or "error:
 * REASON"). Each case is fed whole, byte by byte, and split in two at every
 * byte; all must report the same. Adding a case is adding a folder.
 */
#include <check.h>
#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/ctl_stream.h"
#include "node-agent/agent_serve.h"

enum { AGENT, CTL };

static char (*cases[2])[512];
static size_t n_cases[2];
static const char *const side[2] = {"agent", "ctl"};

static const char *
fixture_root(void)
{
	const char *env = getenv("SKIFF_FIXTURES");

	return env && *env ? env : "tests/fixtures/exec_frames";
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* Collect the case folders of one side; run before the suite is built. */
static void
collect(int which)
{
	char dir[512];
	struct dirent *de;
	DIR *d;
	size_t cap = 0;

	snprintf(dir, sizeof(dir), "%s/%s", fixture_root(), side[which]);
	if (!(d = opendir(dir)))
		return;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if (n_cases[which] == cap) {
			cap = cap ? 2 * cap : 32;
			cases[which] = realloc(cases[which], cap * sizeof(*cases[which]));
		}
		snprintf(cases[which][n_cases[which]++], sizeof(cases[0][0]), "%s/%s", dir, de->d_name);
	}
	closedir(d);
	qsort(cases[which], n_cases[which], sizeof(*cases[which]), name_cmp);
}

/* dir/name's text (new, NUL-ended), its length in *len. */
static char *
slurp(const char *dir, const char *name, size_t *len)
{
	char path[600], *buf = NULL;
	size_t cap = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	ck_assert_msg((f = fopen(path, "rb")) != NULL, "cannot read %s", path);
	ck_assert_int_ge(getdelim(&buf, &cap, '\0', f), 0);
	*len = strlen(buf);
	fclose(f);
	return buf;
}

/* input's hex into bytes (new), their number in *n. */
static unsigned char *
unhex(const char *dir, size_t *n)
{
	size_t len, k = 0;
	char *t = slurp(dir, "input", &len);
	unsigned char *b = malloc(len / 2 + 1);
	int half = -1;

	ck_assert_ptr_nonnull(b);
	for (const char *p = t; *p; p++) {
		if (*p == '#') {
			p += strcspn(p, "\n");
			if (!*p)
				break;
			continue;
		}
		if (isspace((unsigned char)*p))
			continue;
		ck_assert_msg(isxdigit((unsigned char)*p), "%s/input: not hex: %c", dir, *p);
		int v = isdigit((unsigned char)*p) ? *p - '0' : (tolower((unsigned char)*p) - 'a' + 10);

		if (half < 0) {
			half = v;
		} else {
			b[k++] = (unsigned char)(half << 4 | v);
			half = -1;
		}
	}
	ck_assert_msg(half < 0, "%s/input: an odd number of hex digits", dir);
	free(t);
	*n = k;
	return b;
}

/* ---------------------------------------------------------------- the trace */

struct trace {
	char *buf;
	size_t len;
	FILE *f;
	int last; /* the byte stream of the last line ('i' stdin, '1', '2'), 0 none */
};

static void
trace_open(struct trace *t)
{
	memset(t, 0, sizeof(*t));
	ck_assert_ptr_nonnull(t->f = open_memstream(&t->buf, &t->len));
}

/* Bytes of one stream: appended to its line when the last line is one of
 * the same stream (so that chunking does not show). */
static void
trace_bytes(struct trace *t, int stream, const char *label, const unsigned char *p, size_t n)
{
	if (t->last != stream)
		fprintf(t->f, "%s%s:", t->last || ftell(t->f) > 0 ? "\n" : "", label);
	t->last = stream;
	for (size_t i = 0; i < n; i++)
		fprintf(t->f, isprint(p[i]) && p[i] != '\\' ? "%c" : "\\x%02x", p[i]);
}

static void
trace_line(struct trace *t, const char *fmt, unsigned a, unsigned b)
{
	if (ftell(t->f) > 0)
		fputc('\n', t->f);
	fprintf(t->f, fmt, a, b);
	t->last = 0;
}

/* The trace's text (new). */
static char *
trace_close(struct trace *t, int rc, const char *err)
{
	if (rc == 0)
		trace_line(t, "ok", 0, 0);
	else
		fprintf(t->f, "%serror: %s", ftell(t->f) > 0 ? "\n" : "", err);
	fclose(t->f);
	return t->buf;
}

static void
on_in(void *arg, const char *p, size_t n)
{
	if (n)
		trace_bytes(arg, 'i', "in", (const unsigned char *)p, n);
	else
		trace_line(arg, "end", 0, 0);
}

static void
on_resize(void *arg, unsigned w, unsigned h)
{
	trace_line(arg, "resize:%ux%u", w, h);
}

static const struct xframe_ops ops = {.in = on_in, .resize = on_resize};

static void
on_out(void *arg, int stream, const unsigned char *p, size_t n)
{
	trace_bytes(arg, '0' + stream, stream == 1 ? "1" : "2", p, n);
}

/* Feed b to a new decoder of one side in the pieces cuts says (ascending
 * offsets, ended by n): its trace (new). */
static char *
run(int which, const unsigned char *b, size_t n, const size_t *cuts)
{
	struct xframe xf = {0};
	struct ctl_frames cf = {0};
	struct trace t;
	size_t at = 0;
	int rc = 0;

	trace_open(&t);
	for (size_t i = 0; at < n && rc == 0; at = cuts[i++]) {
		if (which == AGENT)
			rc = xframe_feed(&xf, (const char *)b + at, cuts[i] - at, &ops, &t);
		else
			rc = ctl_frames_feed(&cf, b + at, cuts[i] - at, on_out, &t);
	}
	if (which == CTL && cf.exited)
		trace_line(&t, "exit:%d", (unsigned)cf.status, 0);
	return trace_close(&t, rc, which == AGENT ? xf.err : cf.err);
}

static void
one_case(int which, const char *dir)
{
	size_t n, elen, *cuts;
	unsigned char *b = unhex(dir, &n);
	char *want = slurp(dir, "expected", &elen), *got;

	while (elen > 0 && want[elen - 1] == '\n')
		want[--elen] = '\0';
	ck_assert_ptr_nonnull(cuts = calloc(n + 2, sizeof(*cuts)));
	cuts[0] = n;
	got = run(which, b, n, cuts);
	ck_assert_msg(strcmp(got, want) == 0, "%s, fed whole:\n%s\nwanted:\n%s", dir, got, want);
	free(got);
	for (size_t i = 0; i < n; i++)
		cuts[i] = i + 1;
	got = run(which, b, n, cuts);
	ck_assert_msg(strcmp(got, want) == 0, "%s, byte by byte:\n%s\nwanted:\n%s", dir, got, want);
	free(got);
	for (size_t i = 1; i < n; i++) {
		cuts[0] = i, cuts[1] = n;
		got = run(which, b, n, cuts);
		ck_assert_msg(strcmp(got, want) == 0, "%s, split at %zu:\n%s\nwanted:\n%s", dir, i, got, want);
		free(got);
	}
	free(cuts);
	free(want);
	free(b);
}

START_TEST(test_agent_case)
{
	one_case(AGENT, cases[AGENT][_i]);
}
END_TEST

START_TEST(test_ctl_case)
{
	one_case(CTL, cases[CTL][_i]);
}
END_TEST

START_TEST(test_have_fixtures)
{
	ck_assert_msg(n_cases[AGENT] >= 8 && n_cases[CTL] >= 8, "only %zu and %zu cases under %s", n_cases[AGENT],
	              n_cases[CTL], fixture_root());
}
END_TEST

/* A spent decoder stays spent: nothing more comes out of it. */
START_TEST(test_spent)
{
	struct xframe xf = {0};
	struct ctl_frames cf = {0};
	struct trace t;
	char *got;

	trace_open(&t);
	ck_assert_int_eq(xframe_feed(&xf, "\x09\0\0\0\0", 5, &ops, &t), -1);
	ck_assert_int_eq(xframe_feed(&xf, "\0\0\0\0\1x", 6, &ops, &t), -1);
	ck_assert_int_eq(ctl_frames_feed(&cf, (const unsigned char *)"\x00\0\0\0\0", 5, on_out, &t), -1);
	ck_assert_int_eq(ctl_frames_feed(&cf, (const unsigned char *)"\1\0\0\0\1x", 6, on_out, &t), -1);
	got = trace_close(&t, 0, NULL);
	ck_assert_str_eq(got, "ok");
	free(got);
}
END_TEST

/* The longest payload is accepted, one byte more is not (both sides). */
START_TEST(test_max_length)
{
	unsigned char h[5] = {0, 0, 0x10, 0, 0};
	struct xframe xf = {0};
	struct ctl_frames cf = {0};
	struct trace t;
	char *got;

	ck_assert_uint_eq(XFRAME_MAX, 0x100000);
	ck_assert_uint_eq(CTL_FRAME_MAX, 0x100000);
	trace_open(&t);
	ck_assert_int_eq(xframe_feed(&xf, (const char *)h, 5, &ops, &t), 0);
	h[0] = 1;
	ck_assert_int_eq(ctl_frames_feed(&cf, h, 5, on_out, &t), 0);
	memset(&xf, 0, sizeof(xf));
	memset(&cf, 0, sizeof(cf));
	h[4] = 1;
	ck_assert_int_eq(ctl_frames_feed(&cf, h, 5, on_out, &t), -1);
	h[0] = 0;
	ck_assert_int_eq(xframe_feed(&xf, (const char *)h, 5, &ops, &t), -1);
	ck_assert_str_eq(xf.err, cf.err);
	got = trace_close(&t, 0, NULL);
	ck_assert_str_eq(got, "ok");
	free(got);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("exec_frames");
	TCase *core = tcase_create("core"), *fx = tcase_create("fixtures");
	SRunner *sr;
	int failed;

	collect(AGENT);
	collect(CTL);
	tcase_add_test(core, test_spent);
	tcase_add_test(core, test_max_length);
	tcase_add_test(fx, test_have_fixtures);
	tcase_add_loop_test(fx, test_agent_case, 0, (int)n_cases[AGENT]);
	tcase_add_loop_test(fx, test_ctl_case, 0, (int)n_cases[CTL]);
	suite_add_tcase(s, core);
	suite_add_tcase(s, fx);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	free(cases[AGENT]);
	free(cases[CTL]);
	return failed ? 1 : 0;
}
