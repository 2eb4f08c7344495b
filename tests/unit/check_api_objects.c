/*
 * check_api_objects.c: every object of the contract, data-driven.
 *
 * Each folder tests/fixtures/api/<suite>/<case>/ holds input.json and
 * expected; <suite> names the kind (pod, controller, service, ...).
 * expected is either "ok" and the canonical serialization on the next line,
 * or the errors, one "field: message" per line, in order. An optional file
 * "key" holds the etcd key (under /skiff) the object was read from, and
 * api_check_key's errors are expected too. Valid cases are also round-
 * tripped (parse → serialize → parse gives the same bytes) and copied.
 *
 * SKIFF_FIXTURES=dir reads another folder; SKIFF_FIXTURES_UPDATE=1 writes
 * what the code produces into expected (review the diff!).
 *
 * The rest are helpers that no fixture reaches: kind detection, making a
 * pod from a controller, named target ports, sums, event messages.
 */
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"

static const struct {
	const char *suite;
	enum api_kind kind;
} suites[] = {
	{"pod", API_POD},
	{"controller", API_CONTROLLER},
	{"service", API_SERVICE},
	{"node", API_NODE},
	{"nodelease", API_NODELEASE},
	{"binding", API_BINDING},
	{"podstatus", API_PODSTATUS},
	{"controllerstatus", API_CONTROLLERSTATUS},
	{"endpoints", API_ENDPOINTS},
	{"serviceip", API_SERVICEIP},
	{"networkconfig", API_NETWORKCONFIG},
	{"subnet", API_SUBNET},
	{"event", API_EVENT},
	{"deployment", API_DEPLOYMENT},
	{"deploymentstatus", API_DEPLOYMENTSTATUS},
	{"proxystatus", API_PROXYSTATUS},
};
#define N_SUITES (sizeof(suites) / sizeof(suites[0]))

struct fixture {
	char dir[512];
	enum api_kind kind;
};

static struct fixture *fixtures;
static size_t n_fixtures;

static const char *
fixture_root(void)
{
	const char *env = getenv("SKIFF_FIXTURES");

	return env && *env ? env : "tests/fixtures/api";
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(((const struct fixture *)a)->dir, ((const struct fixture *)b)->dir);
}

/* Collect every case folder; run before the suite is built. */
static void
collect(void)
{
	size_t s, cap = 0;
	char path[512];

	for (s = 0; s < N_SUITES; s++) {
		struct dirent *de;
		DIR *d;

		snprintf(path, sizeof(path), "%s/%s", fixture_root(), suites[s].suite);
		if (!(d = opendir(path)))
			continue;
		while ((de = readdir(d))) {
			if (de->d_name[0] == '.')
				continue;
			if (n_fixtures == cap) {
				cap = cap ? 2 * cap : 64;
				fixtures = realloc(fixtures, cap * sizeof(*fixtures));
			}
			snprintf(fixtures[n_fixtures].dir, sizeof(fixtures[0].dir), "%s/%s", path, de->d_name);
			fixtures[n_fixtures].kind = suites[s].kind;
			n_fixtures++;
		}
		closedir(d);
	}
	qsort(fixtures, n_fixtures, sizeof(*fixtures), name_cmp);
}

/* Whole file, NUL-terminated; NULL when absent. */
static char *
slurp(const char *dir, const char *name, size_t *len)
{
	char path[600];
	FILE *f;
	char *buf = NULL;
	size_t cap = 0, n = 0, r;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (!(f = fopen(path, "rb")))
		return NULL;
	do {
		if (cap - n < 4096)
			buf = realloc(buf, cap = cap * 2 + 8192);
		r = fread(buf + n, 1, cap - n - 1, f);
		n += r;
	} while (r > 0);
	fclose(f);
	buf[n] = '\0';
	if (len)
		*len = n;
	return buf;
}

static void
chomp(char *s)
{
	size_t n = strlen(s);

	while (n && (s[n - 1] == '\n' || s[n - 1] == '\r'))
		s[--n] = '\0';
}

/* What the code says about the case, in the format of expected. */
static char *
actual(const struct fixture *fx, void **obj_out)
{
	struct api_errors errs = {0};
	struct api_key key;
	struct api_error kerr;
	size_t len;
	char *in = slurp(fx->dir, "input.json", &len), *keytext = slurp(fx->dir, "key", NULL), *out, *ser;
	void *obj;

	ck_assert_msg(in != NULL, "%s: no input.json", fx->dir);
	obj = api_parse(fx->kind, in, len, &errs);
	if (obj && keytext) {
		chomp(keytext);
		ck_assert_msg(api_key_parse("/skiff", keytext, strlen(keytext), &key, &kerr) == 0, "%s: key: %s",
		              fx->dir, kerr.msg);
		ck_assert_int_eq(key.kind, fx->kind);
		api_check_key(obj, &key, &errs);
	}
	if (api_errors_any(&errs)) {
		out = api_errors_join(&errs, "\n");
		api_free(fx->kind, obj);
		obj = NULL;
	} else {
		ser = api_serialize(fx->kind, obj);
		ck_assert_ptr_nonnull(ser);
		out = malloc(strlen(ser) + 4);
		sprintf(out, "ok\n%s", ser);
		free(ser);
	}
	api_errors_clear(&errs);
	free(in);
	free(keytext);
	*obj_out = obj;
	return out;
}

static void
update(const struct fixture *fx, const char *got)
{
	char path[600];
	FILE *f;

	snprintf(path, sizeof(path), "%s/expected", fx->dir);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fprintf(f, "%s\n", got);
	fclose(f);
}

/* parse(serialize(obj)) serializes to the same bytes; so does a copy. */
static void
round_trip(const struct fixture *fx, const void *obj)
{
	struct api_errors errs = {0};
	char *s1 = api_serialize(fx->kind, obj), *s2, *s3, *joined;
	void *again = api_parse(fx->kind, s1, strlen(s1), &errs), *copy;

	joined = api_errors_join(&errs, "; ");
	ck_assert_msg(again != NULL, "%s: serialization does not parse: %s", fx->dir, joined);
	free(joined);
	s2 = api_serialize(fx->kind, again);
	ck_assert_str_eq(s2, s1);
	copy = api_dup(fx->kind, obj);
	ck_assert_ptr_nonnull(copy);
	s3 = api_serialize(fx->kind, copy);
	ck_assert_str_eq(s3, s1);
	free(s1);
	free(s2);
	free(s3);
	api_free(fx->kind, again);
	api_free(fx->kind, copy);
}

START_TEST(test_fixture)
{
	const struct fixture *fx = &fixtures[_i];
	char *want = slurp(fx->dir, "expected", NULL), *got;
	void *obj;

	got = actual(fx, &obj);
	if (getenv("SKIFF_FIXTURES_UPDATE")) {
		update(fx, got);
	} else {
		ck_assert_msg(want != NULL, "%s: no expected file (run with SKIFF_FIXTURES_UPDATE=1)", fx->dir);
		chomp(want);
		ck_assert_msg(strcmp(got, want) == 0, "%s:\n--- got\n%s\n--- want\n%s", fx->dir, got, want);
	}
	if (obj)
		round_trip(fx, obj);
	api_free(fx->kind, obj);
	free(want);
	free(got);
}
END_TEST

START_TEST(test_have_fixtures)
{
	size_t s, i;

	/* Every suite has valid and invalid cases. */
	for (s = 0; s < N_SUITES; s++) {
		int ok = 0, bad = 0;

		for (i = 0; i < n_fixtures; i++) {
			char *e;

			if (fixtures[i].kind != suites[s].kind)
				continue;
			e = slurp(fixtures[i].dir, "expected", NULL);
			if (e && strncmp(e, "ok\n", 3) == 0)
				ok++;
			else
				bad++;
			free(e);
		}
		ck_assert_msg(ok > 0 && bad > 0, "suite %s: %d valid, %d invalid cases", suites[s].suite, ok, bad);
	}
}
END_TEST

/* ------------------------------------------------------------------------
 * Helpers no fixture reaches
 */
static void *
parse_ok(enum api_kind k, const char *json)
{
	struct api_errors errs = {0};
	void *obj = api_parse(k, json, strlen(json), &errs);
	char *e = api_errors_join(&errs, "; ");

	ck_assert_msg(obj != NULL, "%s", e);
	free(e);
	api_errors_clear(&errs);
	return obj;
}

static json_t *
load(const char *s)
{
	json_t *j = json_loads(s, JSON_DECODE_ANY, NULL);

	ck_assert_ptr_nonnull(j);
	return j;
}

struct dcase {
	const char *json;
	enum api_kind kind;
};

static const struct dcase dcases[] = {
	{"{\"kind\":\"Pod\"}", API_POD},
	{"{\"kind\":\"ReplicationController\",\"spec\":{\"containers\":[]}}", API_CONTROLLER},
	{"{\"kind\":\"StatefulSet\"}", API_KIND_UNKNOWN},
	{"{\"kind\":\"Deployment\"}", API_DEPLOYMENT},
	{"{\"apiVersion\":\"apps/v1\",\"spec\":{\"template\":{}}}", API_DEPLOYMENT},
	{"{\"updatedReplicas\":1,\"readyReplicas\":1}", API_DEPLOYMENTSTATUS},
	{"{\"kind\":\"Leader\"}", API_LEADER},
	{"{\"spec\":{\"containers\":[]}}", API_POD},
	{"{\"spec\":{\"template\":{}}}", API_CONTROLLER},
	{"{\"spec\":{\"replicas\":2}}", API_CONTROLLER},
	{"{\"spec\":{\"ports\":[]}}", API_SERVICE},
	{"{\"spec\":{\"clusterIP\":\"10.0.0.1\"}}", API_SERVICE},
	{"{\"spec\":{\"holderIdentity\":\"m1\"}}", API_NODELEASE},
	{"{\"spec\":{\"unschedulable\":true}}", API_NODE},
	{"{\"status\":{\"capacity\":{}}}", API_NODE},
	{"{\"node\":\"m1\",\"pod\":{}}", API_BINDING},
	{"{\"uid\":\"1\",\"phase\":\"Running\"}", API_PODSTATUS},
	{"{\"uid\":\"1\",\"readyReplicas\":1}", API_CONTROLLERSTATUS},
	{"{\"ports\":[],\"addresses\":[]}", API_ENDPOINTS},
	{"{\"subnetLength\":24}", API_NETWORKCONFIG},
	{"{\"subnet\":\"10.244.1.0/24\"}", API_SUBNET},
	{"{\"type\":\"Warning\",\"reason\":\"X\"}", API_EVENT},
	{"{\"service\":\"a\",\"uid\":\"1\"}", API_SERVICEIP},
	{"{\"spec\":{\"selector\":{}}}", API_KIND_UNKNOWN},
	{"{}", API_KIND_UNKNOWN},
	{"[]", API_KIND_UNKNOWN},
	{"\"Pod\"", API_KIND_UNKNOWN},
};

START_TEST(test_detect)
{
	json_t *j = load(dcases[_i].json);

	ck_assert_int_eq(api_kind_detect(j), dcases[_i].kind);
	json_decref(j);
}
END_TEST

START_TEST(test_kind_names)
{
	int k;

	for (k = 1; k < API_KIND_COUNT; k++)
		ck_assert_int_eq(api_kind_from_name(api_kind_name((enum api_kind)k)), k);
	ck_assert_ptr_null(api_kind_name(API_KIND_UNKNOWN));
	ck_assert_ptr_null(api_kind_name(API_KIND_COUNT));
	ck_assert_int_eq(api_kind_from_name("pod"), API_KIND_UNKNOWN);
	ck_assert_str_eq(api_kind_name(API_CONTROLLER), "ReplicationController");
}
END_TEST

START_TEST(test_generic_edges)
{
	struct api_errors errs = {0};
	json_t *j = load("{}");
	const char *s = "{\"uid\":\"5\"}";
	void *obj;

	ck_assert_ptr_null(api_decode(API_LEADER, j, &errs));
	ck_assert_ptr_null(api_decode(API_KIND_UNKNOWN, j, &errs));
	ck_assert_ptr_null(api_decode(API_POD, NULL, &errs));
	ck_assert_uint_eq(errs.n, 3);
	ck_assert_str_eq(errs.items[2].msg, "must be a JSON object, got nothing");
	ck_assert_ptr_null(api_encode(API_LEADER, j));
	ck_assert_ptr_null(api_serialize(API_POD, NULL));
	api_free(API_POD, NULL);
	api_free(API_LEADER, j); /* no object kind: nothing is freed */
	/* Errors already in the list do not make a later decode fail. */
	obj = api_parse(API_PODSTATUS, s, strlen(s), &errs);
	ck_assert_ptr_nonnull(obj);
	ck_assert_uint_eq(errs.n, 3);
	api_free(API_PODSTATUS, obj);
	api_errors_clear(&errs);
	json_decref(j);
}
END_TEST

static const char rc_json[] =
	"{\"metadata\":{\"name\":\"apache\"},\"spec\":{\"replicas\":4,\"selector\":{\"app\":\"apache\"},"
	"\"template\":{\"metadata\":{\"labels\":{\"app\":\"apache\",\"tier\":\"web\"}},"
	"\"spec\":{\"containers\":[{\"name\":\"web\",\"image\":\"httpd:2.4\",\"ports\":[{\"name\":\"http\",\"containerPort\":80}],"
	"\"resources\":{\"requests\":{\"cpu\":\"250m\",\"memory\":\"64Mi\"}}},"
	"{\"name\":\"side\",\"image\":\"busybox\",\"resources\":{\"requests\":{\"cpu\":\"1\"}}}]}}}}";

START_TEST(test_new_pod)
{
	struct api_controller *rc = parse_ok(API_CONTROLLER, rc_json);
	struct api_pod *pod;
	const struct api_owner_ref *o;
	char name[64], *s;
	int64_t cpu, mem;

	ck_assert_int_eq(api_generate_name(name, sizeof(name), "apache", "x7k2p"), 0);
	pod = api_controller_new_pod(rc, "apache", "1234", name);
	ck_assert_ptr_nonnull(pod);
	ck_assert_str_eq(pod->meta.name, "apache-x7k2p");
	ck_assert_str_eq(api_labels_get(&pod->meta.labels, "tier"), "web");
	o = api_meta_owner(&pod->meta, API_CONTROLLER_KIND);
	ck_assert_ptr_nonnull(o);
	ck_assert_str_eq(o->name, "apache");
	ck_assert_str_eq(o->uid, "1234");
	ck_assert_int_eq(o->controller, 1);
	ck_assert_ptr_null(api_meta_owner(&pod->meta, "Service"));
	ck_assert_int_eq(api_controller_selects(rc, pod), 1);
	s = api_pod_serialize(pod);
	ck_assert_str_eq(
		s, "{\"metadata\":{\"labels\":{\"app\":\"apache\",\"tier\":\"web\"},\"name\":\"apache-x7k2p\","
		   "\"ownerReferences\":[{\"controller\":true,\"kind\":\"ReplicationController\",\"name\":\"apache\","
		   "\"uid\":\"1234\"}]},\"spec\":{\"containers\":[{\"image\":\"httpd:2.4\",\"imagePullPolicy\":"
		   "\"IfNotPresent\",\"name\":\"web\",\"ports\":[{\"containerPort\":80,\"name\":\"http\","
		   "\"protocol\":\"TCP\"}],\"resources\":{\"requests\":{\"cpu\":\"250m\",\"memory\":\"64Mi\"}}},"
		   "{\"image\":\"busybox\",\"imagePullPolicy\":\"IfNotPresent\",\"name\":\"side\",\"resources\":"
		   "{\"requests\":{\"cpu\":\"1\"}}}],\"restartPolicy\":\"Always\","
		   "\"terminationGracePeriodSeconds\":10}}");
	free(s);
	api_pod_requests(pod, &cpu, &mem);
	ck_assert_int_eq(cpu, 1250);
	ck_assert_int_eq(mem, 64 << 20);
	/* Setting the owner again replaces it. */
	ck_assert_int_eq(api_meta_set_owner(&pod->meta, "X", "y", "5"), 0);
	ck_assert_uint_eq(pod->meta.n_owners, 1);
	ck_assert_int_eq(api_set_string(&pod->meta.uid, "77"), 0);
	ck_assert_int_eq(api_set_string(&pod->meta.uid, NULL), 0);
	ck_assert_ptr_null(pod->meta.uid);
	api_labels_set(&pod->meta.labels, "app", "other");
	ck_assert_int_eq(api_controller_selects(rc, pod), 0);
	api_pod_free(pod);
	api_controller_free(rc);
}
END_TEST

START_TEST(test_requests_saturate)
{
	struct api_pod *pod = parse_ok(
		API_POD, "{\"spec\":{\"containers\":["
			 "{\"name\":\"a\",\"image\":\"x\",\"resources\":{\"requests\":{\"memory\":\"7Ei\"}}},"
			 "{\"name\":\"b\",\"image\":\"x\",\"resources\":{\"requests\":{\"memory\":\"7Ei\"}}}]}}");
	int64_t cpu, mem;

	api_pod_requests(pod, &cpu, &mem);
	ck_assert_int_eq(cpu, 0);
	ck_assert_int_eq(mem, INT64_MAX);
	api_pod_free(pod);
}
END_TEST

/* Init containers run alone: the pod asks for the larger of the app
 * containers' sum and the largest init container's request, per resource. */
START_TEST(test_requests_init)
{
	struct api_pod *pod = parse_ok(
		API_POD,
		"{\"spec\":{\"initContainers\":["
		"{\"name\":\"i1\",\"image\":\"x\",\"resources\":{\"requests\":{\"cpu\":\"2\"}}},"
		"{\"name\":\"i2\",\"image\":\"x\",\"resources\":{\"requests\":{\"memory\":\"1Mi\"}}}],"
		"\"containers\":["
		"{\"name\":\"a\",\"image\":\"x\",\"resources\":{\"requests\":{\"cpu\":\"500m\",\"memory\":\"2Mi\"}}},"
		"{\"name\":\"b\",\"image\":\"x\",\"resources\":{\"requests\":{\"cpu\":\"500m\"}}}]}}");
	int64_t cpu, mem;

	api_pod_requests(pod, &cpu, &mem);
	ck_assert_int_eq(cpu, 2000);
	ck_assert_int_eq(mem, 2 << 20);
	api_pod_free(pod);
}
END_TEST

START_TEST(test_target_port)
{
	struct api_service *svc =
		parse_ok(API_SERVICE, "{\"spec\":{\"ports\":[{\"name\":\"a\",\"port\":80,\"targetPort\":\"http\"},"
	                              "{\"name\":\"b\",\"port\":81,\"targetPort\":8081},"
	                              "{\"name\":\"c\",\"port\":82,\"targetPort\":\"dns\",\"protocol\":\"UDP\"}]}}");
	struct api_pod *pod = parse_ok(API_POD, "{\"spec\":{\"containers\":[{\"name\":\"a\",\"image\":\"x\",\"ports\":["
	                                        "{\"name\":\"dns\",\"containerPort\":53},"
	                                        "{\"name\":\"http\",\"containerPort\":8080}]}]}}");

	ck_assert_int_eq(api_service_port_target(&svc->spec.ports[0], pod), 8080);
	ck_assert_int_eq(api_service_port_target(&svc->spec.ports[1], pod), 8081);
	ck_assert_int_eq(api_service_port_target(&svc->spec.ports[2], pod), 0); /* dns is TCP here */
	api_service_free(svc);
	api_pod_free(pod);
}
END_TEST

START_TEST(test_node_helpers)
{
	struct api_node *n =
		parse_ok(API_NODE, "{\"status\":{\"addresses\":[{\"type\":\"Hostname\",\"address\":\"m1\"},"
	                           "{\"type\":\"InternalIP\",\"address\":\"198.51.100.11\"}]}}");
	struct api_network_config nc;
	char buf[24];

	ck_assert_str_eq(api_node_address(n, "InternalIP"), "198.51.100.11");
	ck_assert_str_eq(api_node_address(n, "Hostname"), "m1");
	ck_assert_ptr_null(api_node_address(n, "ExternalIP"));
	api_node_free(n);
	api_network_config_default(&nc);
	api_cidr_format(&nc.pod_cidr, buf, sizeof(buf));
	ck_assert_str_eq(buf, API_DEFAULT_POD_CIDR);
	api_cidr_format(&nc.service_cidr, buf, sizeof(buf));
	ck_assert_str_eq(buf, API_DEFAULT_SERVICE_CIDR);
	ck_assert_int_eq(nc.subnet_length, 24);
}
END_TEST

START_TEST(test_status_helpers)
{
	struct api_pod_status *st =
		parse_ok(API_PODSTATUS, "{\"uid\":\"1\",\"phase\":\"Running\",\"containerStatuses\":["
	                                "{\"name\":\"a\",\"ready\":true},{\"name\":\"b\",\"ready\":true}]}");

	ck_assert_int_eq(api_pod_status_ready(st), 1);
	st->containers[1].ready = 0;
	ck_assert_int_eq(api_pod_status_ready(st), 0);
	st->containers[1].ready = 1;
	st->phase = API_PHASE_PENDING;
	ck_assert_int_eq(api_pod_status_ready(st), 0);
	st->phase = API_PHASE_RUNNING;
	st->n_containers = 0;
	ck_assert_int_eq(api_pod_status_ready(st), 0);
	st->n_containers = 2;
	ck_assert_str_eq(api_pod_phase_name(API_PHASE_SUCCEEDED), "Succeeded");
	api_pod_status_free(st);
}
END_TEST

START_TEST(test_event_message)
{
	struct api_event ev = {0};
	char big[3000];
	size_t i;

	ck_assert_int_eq(api_event_set_message(&ev, "short"), 0);
	ck_assert_str_eq(ev.message, "short");
	/* "é" is two bytes: the cut never splits it. */
	for (i = 0; i + 2 < sizeof(big); i += 2)
		memcpy(big + i, "\xc3\xa9", 2);
	big[i] = '\0';
	ck_assert_int_eq(api_event_set_message(&ev, big), 0);
	ck_assert_uint_le(strlen(ev.message), API_EVENT_MESSAGE_MAX);
	ck_assert_str_eq(ev.message + strlen(ev.message) - 3, "...");
	ck_assert_int_eq((unsigned char)ev.message[strlen(ev.message) - 4], 0xa9);
	ck_assert_str_eq(api_event_type_name(API_EVENT_WARNING), "Warning");
	free(ev.message);
}
END_TEST

START_TEST(test_endpoints_sorted)
{
	struct api_endpoints *a = parse_ok(
		API_ENDPOINTS, "{\"ports\":[{\"port\":80}],\"addresses\":["
			       "{\"ip\":\"10.244.1.9\",\"pod\":\"b\"},{\"ip\":\"10.244.1.10\",\"pod\":\"a\"}]}");
	struct api_endpoints *b = parse_ok(
		API_ENDPOINTS, "{\"ports\":[{\"port\":80}],\"addresses\":["
			       "{\"ip\":\"10.244.1.10\",\"pod\":\"a\"},{\"ip\":\"10.244.1.9\",\"pod\":\"b\"}]}");
	char *sa = api_endpoints_serialize(a), *sb = api_endpoints_serialize(b);

	ck_assert_str_eq(sa, sb);
	/* The object itself keeps its order. */
	ck_assert_str_eq(a->addresses[0].ip, "10.244.1.9");
	free(sa);
	free(sb);
	api_endpoints_free(a);
	api_endpoints_free(b);
}
END_TEST

/* Kubernetes' subsets and Skiff's shape of the same endpoints decode to the
 * same struct: the same bytes, and the subsets' addresses in both lists. */
START_TEST(test_endpoints_subsets_same)
{
	struct api_endpoints *k = parse_ok(
		API_ENDPOINTS, "{\"subsets\":[{\"addresses\":[{\"ip\":\"10.9.0.1\"}],\"ports\":[{\"port\":5432}]},"
			       "{\"addresses\":[{\"ip\":\"10.9.0.2\"}],\"notReadyAddresses\":[{\"ip\":\"10.9.0.3\"}],"
			       "\"ports\":[{\"port\":5432}]}]}");
	struct api_endpoints *s = parse_ok(API_ENDPOINTS, "{\"ports\":[{\"port\":5432,\"targetPort\":5432}],"
	                                                  "\"addresses\":[{\"ip\":\"10.9.0.2\"},{\"ip\":\"10.9.0.1\"}],"
	                                                  "\"notReadyAddresses\":[{\"ip\":\"10.9.0.3\"}]}");
	char *sk = api_endpoints_serialize(k), *ss = api_endpoints_serialize(s);

	ck_assert_str_eq(sk, ss);
	ck_assert_uint_eq(k->n_addresses, 2);
	ck_assert_uint_eq(k->n_not_ready, 1);
	ck_assert_int_eq(k->ports[0].target_port, 5432);
	free(sk);
	free(ss);
	api_endpoints_free(k);
	api_endpoints_free(s);
}
END_TEST

START_TEST(test_check_key)
{
	struct api_binding *b =
		parse_ok(API_BINDING, "{\"node\":\"m1\",\"pod\":{\"metadata\":{\"name\":\"a\",\"uid\":\"3\"},"
	                              "\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"x\"}]}}}");
	struct api_errors errs = {0};
	struct api_key k;
	char *s;

	ck_assert_int_eq(api_key_parse("/skiff", "/skiff/bindings/m2/b", 20, &k, NULL), 0);
	ck_assert_int_eq(api_check_key(b, &k, &errs), -1);
	s = api_errors_join(&errs, "\n");
	ck_assert_str_eq(s, "node: must equal the node in the key \"m2\", got \"m1\"\n"
	                    "pod.metadata.name: must equal the pod in the key \"b\", got \"a\"");
	free(s);
	api_errors_clear(&errs);
	ck_assert_int_eq(api_key_parse("/skiff", "/skiff/bindings/m1/a", 20, &k, NULL), 0);
	ck_assert_int_eq(api_check_key(b, &k, &errs), 0);
	ck_assert_ptr_eq(api_object_meta(API_BINDING, b), &b->pod.meta);
	ck_assert_ptr_null(api_object_meta(API_EVENT, b));
	/* Kinds without a name pass. */
	ck_assert_int_eq(api_key_parse("/skiff", "/skiff/network/config", 21, &k, NULL), 0);
	ck_assert_int_eq(api_check_key(b, &k, &errs), 0);
	ck_assert_int_eq(api_meta_check_name(&b->pod.meta, "a", &errs), 0);
	ck_assert_int_eq(api_meta_check_name(&b->pod.meta, "z", &errs), -1);
	ck_assert_uint_eq(errs.n, 1);
	api_errors_clear(&errs);
	api_binding_free(b);
}
END_TEST

/* ------------------------------------------------------------------------
 * Limits: the worst pod the limits allow decodes in time (the case's
 * timeout is the assertion: pairwise checks would take minutes), with each
 * clash reported once.
 */
START_TEST(test_worst_pod_is_fast)
{
	size_t cap = (size_t)API_MAX_CONTAINERS * API_MAX_PORTS * 64 + 4096, len = 0, i, k;
	char *js = malloc(cap);
	struct api_errors errs = {0};
	void *pod;

	ck_assert_ptr_nonnull(js);
	len += (size_t)snprintf(js + len, cap - len, "{\"spec\":{\"containers\":[");
	for (i = 0; i < API_MAX_CONTAINERS; i++) {
		len += (size_t)snprintf(js + len, cap - len, "%s{\"name\":\"c\",\"image\":\"x\",\"ports\":[",
		                        i ? "," : "");
		for (k = 0; k < API_MAX_PORTS; k++)
			len += (size_t)snprintf(js + len, cap - len,
			                        "%s{\"name\":\"p\",\"containerPort\":80,\"hostPort\":80}",
			                        k ? "," : "");
		len += (size_t)snprintf(js + len, cap - len, "]}");
	}
	len += (size_t)snprintf(js + len, cap - len, "]}}");
	ck_assert_uint_lt(len, cap);
	pod = api_parse(API_POD, js, len, &errs);
	ck_assert_ptr_null(pod);
	/* every container but the first repeats the name; every port but the
	 * first repeats the host port and the port name */
	ck_assert_uint_eq(errs.n, (API_MAX_CONTAINERS - 1) + 2 * ((size_t)API_MAX_CONTAINERS * API_MAX_PORTS - 1));
	ck_assert_str_eq(errs.items[0].field, "spec.containers[0].ports[1].hostPort");
	api_errors_clear(&errs);
	free(js);
}
END_TEST

static Suite *
objects_suite(void)
{
	Suite *s = suite_create("api_objects");
	TCase *core = tcase_create("core"), *helpers = tcase_create("helpers"), *limits = tcase_create("limits");

	tcase_add_loop_test(core, test_fixture, 0, (int)n_fixtures);
	tcase_add_test(core, test_have_fixtures);
	tcase_add_loop_test(helpers, test_detect, 0, sizeof(dcases) / sizeof(dcases[0]));
	tcase_add_test(helpers, test_kind_names);
	tcase_add_test(helpers, test_generic_edges);
	tcase_add_test(helpers, test_new_pod);
	tcase_add_test(helpers, test_requests_saturate);
	tcase_add_test(helpers, test_requests_init);
	tcase_add_test(helpers, test_target_port);
	tcase_add_test(helpers, test_node_helpers);
	tcase_add_test(helpers, test_status_helpers);
	tcase_add_test(helpers, test_event_message);
	tcase_add_test(helpers, test_endpoints_sorted);
	tcase_add_test(helpers, test_endpoints_subsets_same);
	tcase_add_test(helpers, test_check_key);
	tcase_add_test(limits, test_worst_pod_is_fast);
	tcase_set_timeout(limits, 20);
	suite_add_tcase(s, core);
	suite_add_tcase(s, helpers);
	suite_add_tcase(s, limits);
	return s;
}

int
main(void)
{
	SRunner *sr;
	int failed;

	collect();
	sr = srunner_create(objects_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	free(fixtures);
	return failed ? 1 : 0;
}
