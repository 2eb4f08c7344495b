/*
 * check_chaos.c: allocation failures in the object model's decoding and in
 * the etcd client's JSON decoding, as jansson's test_chaos does it.
 *
 * For N = 1, 2, 3, ... the Nth allocation of one run fails, until a run
 * meets no failure. A run decodes one input: an object of tests/fixtures/api
 * (decode, check against its key, serialize, copy, serialize the copy) or an
 * etcd response (range, put, delete, txn, watch events, error bodies). Every
 * run must end either in an error or in exactly the result of a run without
 * failures, never in a crash or a different "success", and must free all it
 * allocated (counted here in every build; LSan checks it again under make
 * san-unit).
 *
 * The hook is test-only: tests/module.mk links this suite with
 * -Wl,--wrap=malloc,... so the calls of the statically linked libraries
 * (api/, etcdclient/) come to the __wrap_* functions below; jansson's own
 * allocations come through json_set_alloc_funcs. Production code is built
 * and behaves as always. Not covered: allocations inside libc (fopen, ...),
 * inside jansson's parser (see __wrap_json_loadb) and the HTTP transport.
 */
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "api/api.h"
#include "etcd_internal.h"

/* ---- the allocator hook ---- */

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
void __real_free(void *p);

/* volatile: the compiler knows malloc and strdup touch none of these and
 * would otherwise move the stores across the calls. */
static volatile int armed;      /* count (and fail) allocations now */
static volatile long fail_at;   /* the allocation number to fail; 0 = none */
static volatile long n_allocs;  /* allocations counted since arming */
static volatile int failed_one; /* this run has seen its failure */
static volatile long live;      /* blocks allocated since arming and not freed */
static volatile int parsing;    /* inside jansson's json_load*: never fail */

/* 1 when the allocation being made must fail. */
static int
chaos_fail(void)
{
	if (!armed || parsing)
		return 0;
	if (++n_allocs == fail_at) {
		failed_one = 1;
		return 1;
	}
	return 0;
}

static void *
counted(void *p)
{
	if (p && armed)
		live++;
	return p;
}

void *
__wrap_malloc(size_t n)
{
	return chaos_fail() ? NULL : counted(__real_malloc(n));
}

void *
__wrap_calloc(size_t n, size_t size)
{
	return chaos_fail() ? NULL : counted(__real_calloc(n, size));
}

void *
__wrap_realloc(void *p, size_t n)
{
	if (chaos_fail())
		return NULL;
	return p ? __real_realloc(p, n) : counted(__real_realloc(p, n));
}

void
__wrap_free(void *p)
{
	if (p && armed)
		live--;
	__real_free(p);
}

char *
__wrap_strndup(const char *s, size_t max)
{
	size_t n = strnlen(s, max);
	char *d = __wrap_malloc(n + 1);

	if (d) {
		memcpy(d, s, n);
		d[n] = '\0';
	}
	return d;
}

char *
__wrap_strdup(const char *s)
{
	return __wrap_strndup(s, strlen(s));
}

/* jansson's parser is not built for failing allocations: 2.14's lexer
 * ignores a failed append, then drops a character of a string, aborts on
 * its own assertion or crashes. jansson's test_chaos leaves json_load* out;
 * so does this suite: inside them every allocation succeeds. */
json_t *__real_json_loadb(const char *buf, size_t len, size_t flags, json_error_t *err);
json_t *__real_json_loads(const char *s, size_t flags, json_error_t *err);

json_t *
__wrap_json_loadb(const char *buf, size_t len, size_t flags, json_error_t *err)
{
	json_t *j;

	parsing++;
	j = __real_json_loadb(buf, len, flags, err);
	parsing--;
	return j;
}

json_t *
__wrap_json_loads(const char *s, size_t flags, json_error_t *err)
{
	json_t *j;

	parsing++;
	j = __real_json_loads(s, flags, err);
	parsing--;
	return j;
}

/* ---- one chaos loop ---- */

/* What one run produced: ok and the result as text, or an error (text is
 * the message when there was room for one, else NULL). The text is the
 * test's (see own_text), not counted as the run's. */
struct outcome {
	int ok;
	char *text;
	const char *broken; /* a rule the code broke (asserted once disarmed) */
};

typedef struct outcome (*run_fn)(const void *arg);

static struct outcome
run_armed(run_fn run, const void *arg, long n)
{
	struct outcome o;

	fail_at = n;
	n_allocs = 0;
	failed_one = 0;
	live = 0;
	armed = 1;
	o = run(arg);
	armed = 0;
	ck_assert_msg(!o.broken, "allocation %ld failed: %s", n, o.broken);
	ck_assert_msg(live == 0, "allocation %ld failed: %ld blocks leaked", n, live);
	return o;
}

/* Every allocation up to CHAOS_EVERY, then every few: a run costs what
 * its input costs, so the limits' fixtures (a pod of thousands of ports)
 * would take minutes at every N; a stride keeps the suite at seconds and
 * still fails allocations all through their runs. */
#define CHAOS_EVERY 4000
static long
chaos_step(long n)
{
	return n < CHAOS_EVERY ? 1 : 1 + n / CHAOS_EVERY * 37;
}

/* Run once without failures, then with the 1st, 2nd, ... allocation failing
 * until a run meets none. Returns the number of allocations of a run. */
static long
chaos(const char *what, run_fn run, const void *arg, int want_ok)
{
	long n;
	struct outcome want = run_armed(run, arg, 0), got;

	ck_assert_msg(want.ok == want_ok, "%s: without failures: %s (%s)", what, want.ok ? "ok" : "error",
	              want.text ? want.text : "no message");
	ck_assert_msg(want.text != NULL, "%s: no result text", what);
	for (n = 1;; n += chaos_step(n)) {
		got = run_armed(run, arg, n);
		if (!failed_one) {
			ck_assert_msg(got.ok == want.ok && got.text && strcmp(got.text, want.text) == 0,
			              "%s: a run without failures differs", what);
			free(got.text);
			break;
		}
		if (got.ok)
			ck_assert_msg(strcmp(got.text, want.text) == 0,
			              "%s: allocation %ld failed, yet ok with:\n%s\nnot:\n%s", what, n, got.text,
			              want.text);
		free(got.text);
	}
	free(want.text);
	return n;
}

/* A copy of s that the run's accounting does not see (never fails). */
static char *
own_text(const char *s)
{
	int was = armed;
	char *d;

	armed = 0;
	d = s ? strdup(s) : NULL;
	armed = was;
	return d;
}

/* ---- the object model ---- */

/* The fixture folder of each kind, in enum api_kind order from API_POD. */
static const char *const folders[] = {
	"pod",       "controller", "service",       "node",   "nodelease", "binding", "podstatus", "controllerstatus",
	"endpoints", "serviceip",  "networkconfig", "subnet", "event"};
#define N_FOLDERS (sizeof(folders) / sizeof(folders[0]))
_Static_assert(API_EVENT - API_POD + 1 == N_FOLDERS, "one folder a kind, in enum order");

struct api_case {
	char dir[512];
	enum api_kind kind;
	char *input, *key;
	size_t len;
	int valid; /* expected says ok */
	struct api_key k;
};

static struct api_case *cases;
static size_t n_cases;

/* Whole file, NUL-terminated; NULL when absent. */
static char *
slurp(const char *dir, const char *name, size_t *len)
{
	char path[600], *buf = NULL;
	struct stat st;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (!(f = fopen(path, "rb")))
		return NULL;
	if (fstat(fileno(f), &st) == 0 && (buf = malloc((size_t)st.st_size + 1))) {
		size_t n = fread(buf, 1, (size_t)st.st_size, f);

		buf[n] = '\0';
		if (len)
			*len = n;
	}
	fclose(f);
	return buf;
}

static int
case_cmp(const void *a, const void *b)
{
	return strcmp(((const struct api_case *)a)->dir, ((const struct api_case *)b)->dir);
}

static void
add_case(const char *dir, enum api_kind kind)
{
	static size_t cap;
	struct api_case *c;
	struct api_error kerr;
	char *expected;

	if (n_cases == cap)
		cases = realloc(cases, (cap = cap * 2 + 64) * sizeof(*cases));
	c = &cases[n_cases++];
	memset(c, 0, sizeof(*c));
	snprintf(c->dir, sizeof(c->dir), "%s", dir);
	c->kind = kind;
	c->input = slurp(dir, "input.json", &c->len);
	if ((c->key = slurp(dir, "key", NULL))) {
		c->key[strcspn(c->key, "\r\n")] = '\0';
		if (api_key_parse("/skiff", c->key, strlen(c->key), &c->k, &kerr) < 0) {
			free(c->key);
			c->key = NULL;
		}
	}
	expected = slurp(dir, "expected", NULL);
	c->valid = expected && strncmp(expected, "ok\n", 3) == 0;
	free(expected);
}

/* Every case folder of tests/fixtures/api/FOLDER, as objects of kind. */
static void
collect_folder(const char *folder, enum api_kind kind)
{
	char path[512], dir[1024];
	struct dirent *de;
	DIR *d;

	snprintf(path, sizeof(path), "tests/fixtures/api/%s", folder);
	if (!(d = opendir(path)))
		return;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(dir, sizeof(dir), "%s/%s", path, de->d_name);
		add_case(dir, kind);
	}
	closedir(d);
}

/* Every case folder of tests/fixtures/api, in name order. */
static void
collect(void)
{
	size_t s;

	for (s = 0; s < N_FOLDERS; s++)
		collect_folder(folders[s], (enum api_kind)(API_POD + (int)s));
	collect_folder("deployment", API_DEPLOYMENT); /* contract version 2 */
	collect_folder("deploymentstatus", API_DEPLOYMENTSTATUS);
	qsort(cases, n_cases, sizeof(*cases), case_cmp);
}

static void
free_cases(void)
{
	for (size_t i = 0; i < n_cases; i++) {
		free(cases[i].input);
		free(cases[i].key);
	}
	free(cases);
}

/* ok: the canonical bytes, equal for the object and its copy. Error: the
 * problems joined (NULL when even that ran out of memory). A NULL object
 * must come with a reported problem. */
static struct outcome
api_run(const void *arg)
{
	const struct api_case *c = arg;
	struct api_errors errs = {0};
	struct outcome o = {0};
	char *ser = NULL, *ser_copy = NULL;
	void *obj, *copy = NULL;

	/* No Check assertion while armed: Check allocates too. */
	obj = api_parse(c->kind, c->input, c->len, &errs);
	if (!obj && !api_errors_any(&errs))
		o.broken = "no object and no error";
	if (obj && c->key)
		api_check_key(obj, &c->k, &errs);
	if (api_errors_any(&errs)) {
		char *joined = api_errors_join(&errs, "\n");

		o.text = own_text(joined);
		free(joined);
	} else if ((ser = api_serialize(c->kind, obj)) && (copy = api_dup(c->kind, obj)) &&
	           (ser_copy = api_serialize(c->kind, copy))) {
		if (strcmp(ser_copy, ser) != 0)
			o.broken = "the copy serializes differently";
		o.ok = 1;
		o.text = own_text(ser);
	}
	free(ser);
	free(ser_copy);
	api_free(c->kind, copy);
	api_free(c->kind, obj);
	api_errors_clear(&errs);
	return o;
}

START_TEST(test_api_fixture)
{
	const struct api_case *c = &cases[_i];

	ck_assert_msg(c->input != NULL, "%s: no input.json", c->dir);
	chaos(c->dir, api_run, c, c->valid);
}
END_TEST

/* Enough cases of the kinds that matter most are there to fail. */
START_TEST(test_api_have_cases)
{
	static const enum api_kind need[] = {API_POD, API_CONTROLLER, API_SERVICE, API_NODE, API_BINDING};

	for (size_t k = 0; k < sizeof(need) / sizeof(need[0]); k++) {
		int valid = 0, invalid = 0;

		for (size_t i = 0; i < n_cases; i++)
			if (cases[i].kind == need[k])
				cases[i].valid ? valid++ : invalid++;
		ck_assert_msg(valid > 0 && invalid > 0, "%s: %d valid and %d invalid cases", api_kind_name(need[k]),
		              valid, invalid);
	}
}
END_TEST

/* ---- etcd's responses ---- */

/* The text of a result, written into a fixed buffer (no allocation). */
static void
put_kv(FILE *f, const char *what, const struct etcd_kv *kv)
{
	fprintf(f, " %s{%.*s=%.*s c%lld m%lld v%lld l%lld}", what, (int)kv->key_len, kv->key, (int)kv->value_len,
	        kv->value, (long long)kv->create_revision, (long long)kv->mod_revision, (long long)kv->version,
	        (long long)kv->lease);
}

static void
put_result(FILE *f, const struct etcd_result *r)
{
	size_t i;

	fprintf(f, "[op%d rev%lld member%llu count%lld more%d deleted%lld succeeded%d", (int)r->op,
	        (long long)r->revision, (unsigned long long)r->member_id, (long long)r->count, r->more,
	        (long long)r->deleted, r->succeeded);
	for (i = 0; i < r->nkvs; i++)
		put_kv(f, "kv", &r->kvs[i]);
	for (i = 0; i < r->nprev; i++)
		put_kv(f, "prev", &r->prev_kvs[i]);
	for (i = 0; i < r->nresponses; i++)
		put_result(f, &r->responses[i]);
	fprintf(f, "]");
}

typedef int (*etcd_parse_resp)(json_t *o, struct etcd_result *res);

enum etcd_shape { RESP, WATCH, ERROR };

struct etcd_case {
	const char *name;
	enum etcd_shape shape;
	etcd_parse_resp parse; /* RESP */
	const char *json;
};

/* Parse as the client does a unary response: JSON, then the parser (a
 * result it could not fill is cleared). 1 when it parsed. */
static int
resp_run(const struct etcd_case *c, FILE *f)
{
	json_t *root = json_loads(c->json, 0, NULL);
	struct etcd_result *res = etcd_result_new();
	int ok = root && res && c->parse(root, res) == 0;

	if (ok)
		put_result(f, res);
	etcd_result_free(res);
	json_decref(root);
	return ok;
}

/* A watch stream line: header, then its events as etcd_watch.c takes them. */
static int
watch_run(const struct etcd_case *c, FILE *f)
{
	json_t *root = json_loads(c->json, 0, NULL), *res = json_object_get(root, "result");
	json_t *evs = json_object_get(res, "events");
	size_t n = json_array_size(evs), i;
	struct etcd_event *ev = calloc(n ? n : 1, sizeof(*ev));
	struct etcd_result hdr = {0};
	int ok = root && ev && etcd_parse_header(res, &hdr) == 0;

	for (i = 0; ok && i < n; i++)
		ok = etcd_parse_event(json_array_get(evs, i), &ev[i]) == 0;
	if (ok) {
		fprintf(f, "rev%lld", (long long)hdr.revision);
		for (i = 0; i < n; i++) {
			fprintf(f, " %s", ev[i].type == ETCD_EVENT_PUT ? "PUT" : "DELETE");
			put_kv(f, "kv", &ev[i].kv);
			if (ev[i].prev_kv)
				put_kv(f, "prev", ev[i].prev_kv);
		}
	}
	if (ev)
		etcd_events_free(ev, n); /* a failed event is left empty */
	json_decref(root);
	return ok;
}

/* An error body: its gRPC code and message, and what they map to. */
static int
error_run(const struct etcd_case *c, FILE *f)
{
	json_t *root = json_loads(c->json, 0, NULL);
	const char *msg = NULL;
	int grpc = 0, ok = root && etcd_parse_error_body(root, &grpc, &msg) == 0;

	if (ok)
		fprintf(f, "grpc=%d msg=%s code=%s", grpc, msg ? msg : "", etcd_code_name(etcd_classify(grpc, msg)));
	json_decref(root);
	return ok;
}

/* The result as text, written with libc's stdio into a buffer (libc's own
 * allocations are not counted). No Check assertion: this runs armed. */
static struct outcome
etcd_run(const void *arg)
{
	const struct etcd_case *c = arg;
	struct outcome o = {0};
	char buf[4096];
	FILE *f = fmemopen(buf, sizeof(buf), "w");

	if (!f)
		abort();
	switch (c->shape) {
	case RESP: o.ok = resp_run(c, f); break;
	case WATCH: o.ok = watch_run(c, f); break;
	case ERROR: o.ok = error_run(c, f); break;
	}
	if (!o.ok)
		fprintf(f, "error");
	fclose(f);
	o.text = own_text(buf);
	return o;
}

/* The responses are written with ' for " (see unquote). Keys and values
 * are base64: L2EvMQ== "/a/1", L2EvMg== "/a/2", djE= "v1". */
#define H "'header':{'cluster_id':'1','member_id':'12345','revision':'42','raft_term':'2'}"
#define KV1 "{'key':'L2EvMQ==','value':'djE=','create_revision':'5','mod_revision':'5','version':'1','lease':'7'}"
#define KV2 "{'key':'L2EvMg==','value':'djE=','create_revision':'6','mod_revision':'6','version':'2'}"

static const struct etcd_case etcd_cases[] = {
	{"range", RESP, etcd_parse_range_resp, "{" H ",'kvs':[" KV1 "," KV2 "],'count':'3','more':true}"},
	{"range empty", RESP, etcd_parse_range_resp, "{" H "}"},
	{"put with prev_kv", RESP, etcd_parse_put_resp, "{" H ",'prev_kv':" KV1 "}"},
	{"delete with prev_kvs", RESP, etcd_parse_delete_resp, "{" H ",'deleted':'2','prev_kvs':[" KV1 "," KV2 "]}"},
	{"txn nested", RESP, etcd_parse_txn_resp,
         "{" H ",'succeeded':true,'responses':[{'response_range':{" H ",'kvs':[" KV1 "],'count':'1'}},"
         "{'response_put':{" H ",'prev_kv':" KV2 "}},{'response_delete_range':{" H ",'deleted':'1','prev_kvs':[" KV1
         "]}},{'response_txn':{" H ",'responses':[{'response_range':{" H ",'kvs':[" KV2 "]}}]}}]}"},
	{"txn failed", RESP, etcd_parse_txn_resp, "{" H ",'responses':[{'response_range':{" H "}}]}"},
	{"watch events", WATCH, NULL,
         "{'result':{" H ",'events':[{'kv':" KV1 "},{'type':'DELETE','kv':{'key':'L2EvMg==','mod_revision':'9'},"
         "'prev_kv':" KV2 "}]}}"},
	{"watch created", WATCH, NULL, "{'result':{" H ",'created':true}}"},
	{"error 3.5", ERROR, NULL,
         "{'error':'etcdserver: mvcc: required revision has been compacted','code':11,"
         "'message':'etcdserver: mvcc: required revision has been compacted'}"},
	{"error 3.6", ERROR, NULL, "{'code':7,'message':'etcdserver: permission denied','details':[]}"},
	{"error stream", ERROR, NULL, "{'error':{'grpc_code':14,'http_code':503,'message':'etcdserver: no leader'}}"},
};
#define N_ETCD (sizeof(etcd_cases) / sizeof(etcd_cases[0]))

/* A copy of s with every ' turned into ". */
static char *
unquote(const char *s)
{
	char *d = strdup(s), *p;

	ck_assert_ptr_nonnull(d);
	for (p = d; (p = strchr(p, '\'')); p++)
		*p = '"';
	return d;
}

START_TEST(test_etcd_response)
{
	struct etcd_case c = etcd_cases[_i];
	char *json = unquote(c.json);
	long n;

	c.json = json;
	n = chaos(c.name, etcd_run, &c, 1);
	/* An error body's message is borrowed from the JSON: nothing to fail. */
	ck_assert_msg(n > 1 || c.shape == ERROR, "%s: no allocation to fail", c.name);
	free(json);
}
END_TEST

/* ---- the suite ---- */

static void *
json_chaos_malloc(size_t n)
{
	return __wrap_malloc(n);
}

static void
json_chaos_free(void *p)
{
	__wrap_free(p);
}

static Suite *
chaos_suite(void)
{
	Suite *s = suite_create("chaos");
	TCase *api = tcase_create("api");
	TCase *etcd = tcase_create("etcd");

	tcase_set_timeout(api, 120);
	tcase_add_test(api, test_api_have_cases);
	tcase_add_loop_test(api, test_api_fixture, 0, (int)n_cases);
	suite_add_tcase(s, api);
	tcase_add_loop_test(etcd, test_etcd_response, 0, (int)N_ETCD);
	suite_add_tcase(s, etcd);
	return s;
}

int
main(void)
{
	SRunner *sr;
	int failed;

	json_set_alloc_funcs(json_chaos_malloc, json_chaos_free);
	collect();
	sr = srunner_create(chaos_suite());
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	free_cases();
	return failed == 0 ? 0 : 1;
}
