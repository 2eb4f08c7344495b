/*
 * check_scheduler_logic.c: the scheduler's pure logic: each filter (ready,
 * unschedulable, node selector, cpu, memory, pod count, host ports, what
 * the node's agent allows: privilege, hostPath prefixes, host port range), the
 * unschedulable summary, and the scores (spreading, least requested,
 * balanced) with their order; what the pods cache keeps of a pod, and the
 * binding written from it.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scheduler/sched.h" /* not <sched.h> */
#include "unit_fixtures.h"

static struct api_labels ssd, hdd;

static void
setup(void)
{
	api_labels_set(&ssd, "disk", "ssd");
	api_labels_set(&ssd, "zone", "z1");
	api_labels_set(&hdd, "disk", "hdd");
}

static void
teardown(void)
{
	api_labels_clear(&ssd);
	api_labels_clear(&hdd);
}

static struct sched_nodeview
node(int64_t cpu, int64_t mem, int64_t pods)
{
	return (struct sched_nodeview){
		.name = "n", .ready = 1, .labels = &ssd, .cap_cpu = cpu, .cap_mem = mem, .cap_pods = pods};
}

START_TEST(fits_empty_node)
{
	struct sched_nodeview n = node(2000, 1 << 30, 110);
	struct sched_podreq p = {.cpu = 2000, .mem = 1 << 30};

	ck_assert_uint_eq(sched_filter(&n, &p), 0);
}
END_TEST

START_TEST(not_ready_unschedulable)
{
	struct sched_nodeview n = node(2000, 1 << 30, 110);
	struct sched_podreq p = {0};

	n.ready = 0;
	ck_assert_uint_eq(sched_filter(&n, &p), SF_NOT_READY);
	n.ready = 1;
	n.unschedulable = 1;
	ck_assert_uint_eq(sched_filter(&n, &p), SF_UNSCHEDULABLE);
}
END_TEST

START_TEST(selector)
{
	struct sched_nodeview n = node(2000, 1 << 30, 110);
	struct api_labels want = {0};
	struct sched_podreq p = {.selector = &want};

	ck_assert_uint_eq(sched_filter(&n, &p), 0); /* empty selector */
	api_labels_set(&want, "disk", "ssd");
	ck_assert_uint_eq(sched_filter(&n, &p), 0);
	n.labels = &hdd;
	ck_assert_uint_eq(sched_filter(&n, &p), SF_SELECTOR);
	n.labels = NULL;
	ck_assert_uint_eq(sched_filter(&n, &p), SF_SELECTOR);
	api_labels_clear(&want);
}
END_TEST

START_TEST(resources)
{
	struct sched_nodeview n = node(1000, 1000, 3);
	struct sched_podreq p = {.cpu = 400, .mem = 400};

	n.used_cpu = 600;
	n.used_mem = 600;
	n.used_pods = 2;
	ck_assert_uint_eq(sched_filter(&n, &p), 0); /* exactly full */
	p.cpu = 401;
	ck_assert_uint_eq(sched_filter(&n, &p), SF_CPU);
	p.mem = 401;
	ck_assert_uint_eq(sched_filter(&n, &p), SF_CPU | SF_MEMORY);
	n.used_pods = 3;
	ck_assert_uint_eq(sched_filter(&n, &p), SF_CPU | SF_MEMORY | SF_PODS);
	/* Zero requests fit even a full node's cpu. */
	p.cpu = p.mem = 0;
	n.used_cpu = 5000;
	ck_assert_uint_eq(sched_filter(&n, &p), SF_PODS);
}
END_TEST

/* Exabyte requests are valid quantities: sums hold at INT64_MAX (the node
 * looks full) instead of overflowing (UBSan checks this in make san-unit). */
START_TEST(huge_requests)
{
	const int64_t ei7 = (int64_t)7 << 60;
	struct sched_nodeview n = node(INT64_MAX - 1, INT64_MAX - 1, 110);
	struct sched_podreq p = {.cpu = ei7, .mem = ei7};
	struct sched_score sc;

	n.used_cpu = sched_add_sat(0, ei7);
	n.used_mem = sched_add_sat(n.used_cpu, ei7);
	ck_assert(n.used_mem == INT64_MAX);
	ck_assert_uint_eq(sched_filter(&n, &p), SF_CPU | SF_MEMORY);
	sched_score(&n, &p, 0, &sc);
	ck_assert_int_eq(sc.least, 0);
	n.used_cpu = n.used_mem = 0;
	ck_assert_uint_eq(sched_filter(&n, &p), 0);
	sched_score(&n, &p, 0, &sc);
	ck_assert_int_ge(sc.least, 0);
	ck_assert_int_le(sc.least, 10);
	ck_assert(sched_add_sat(INT64_MIN, -1) == INT64_MIN);
}
END_TEST

START_TEST(unlimited)
{
	struct sched_nodeview n = node(SCHED_UNLIMITED, SCHED_UNLIMITED, SCHED_UNLIMITED);
	struct sched_podreq p = {.cpu = 1000000, .mem = (int64_t)1 << 50};

	n.used_pods = 100000;
	ck_assert_uint_eq(sched_filter(&n, &p), 0);
}
END_TEST

START_TEST(host_ports)
{
	struct sched_portuse taken[] = {{8080, API_PROTO_TCP, 1}, {53, API_PROTO_UDP, 1}, {9000, API_PROTO_TCP, 0}};
	struct sched_nodeview n = node(1000, 1000, 10);
	struct sched_hostport want[2] = {{80, API_PROTO_TCP}, {8080, API_PROTO_TCP}};
	struct sched_podreq p = {.ports = want, .nports = 1};

	n.ports = taken;
	n.nports = 3;
	ck_assert_uint_eq(sched_filter(&n, &p), 0);
	p.nports = 2;
	ck_assert_uint_eq(sched_filter(&n, &p), SF_PORTS);
	want[1] = (struct sched_hostport){53, API_PROTO_TCP}; /* other protocol */
	ck_assert_uint_eq(sched_filter(&n, &p), 0);
	want[1] = (struct sched_hostport){9000, API_PROTO_TCP}; /* count 0: free */
	ck_assert_uint_eq(sched_filter(&n, &p), 0);
}
END_TEST

/* The node's published policy: privilege, hostPath prefixes, host port
 * range; a node that publishes none is not filtered on it. */
START_TEST(node_policy)
{
	char *paths[] = {"/srv", "/var/log/"};
	struct api_node_status st = {.policy = 1,
	                             .allowed_host_paths = paths,
	                             .n_allowed_host_paths = 2,
	                             .host_port_lo = 30000,
	                             .host_port_hi = 32767};
	struct api_volume vols[] = {{.name = "e", .source = API_VOL_EMPTY_DIR},
	                            {.name = "h", .source = API_VOL_HOST_PATH, .path = "/srv/data"}};
	struct sched_hostport want[] = {{30080, API_PROTO_TCP}};
	struct sched_nodeview n = node(1000, 1000, 10);
	struct sched_podreq p = {.ports = want, .nports = 1, .volumes = vols, .nvolumes = 2};

	ck_assert_uint_eq(sched_filter(&n, &p), 0); /* no policy published */
	n.policy = &st;
	ck_assert_uint_eq(sched_filter(&n, &p), 0);
	p.privileged = 1;
	ck_assert_uint_eq(sched_filter(&n, &p), SF_PRIVILEGED);
	st.allow_privileged = 1;
	ck_assert_uint_eq(sched_filter(&n, &p), 0);
	vols[1].path = "/var/log/app";
	ck_assert_uint_eq(sched_filter(&n, &p), 0);
	vols[1].path = "/srvx"; /* a prefix only as a path component */
	ck_assert_uint_eq(sched_filter(&n, &p), SF_HOST_PATH);
	vols[1].path = "/srv";
	ck_assert_uint_eq(sched_filter(&n, &p), 0);
	want[0].port = 8080;
	ck_assert_uint_eq(sched_filter(&n, &p), SF_PORT_RANGE);
	st.n_allowed_host_paths = 0; /* allows none */
	ck_assert_uint_eq(sched_filter(&n, &p), SF_HOST_PATH | SF_PORT_RANGE);
	st.host_port_lo = st.host_port_hi = 0; /* range not published */
	ck_assert_uint_eq(sched_filter(&n, &p), SF_HOST_PATH);
}
END_TEST

START_TEST(summary)
{
	unsigned counts[SF_COUNT] = {0};
	char buf[256];

	sched_filter_summary(counts, 0, buf, sizeof(buf));
	ck_assert_str_eq(buf, "0/0 nodes are available.");
	counts[2] = 1; /* selector */
	counts[4] = 2; /* memory */
	sched_filter_summary(counts, 3, buf, sizeof(buf));
	ck_assert_str_eq(buf, "0/3 nodes are available: 2 Insufficient memory, 1 node(s) didn't match node selector.");
	counts[3] = 2; /* cpu ties with memory: alphabetical */
	sched_filter_summary(counts, 3, buf, sizeof(buf));
	ck_assert_str_eq(buf, "0/3 nodes are available: 2 Insufficient cpu, 2 Insufficient memory, "
	                      "1 node(s) didn't match node selector.");
	counts[7] = 3; /* the node's agent refuses privilege */
	sched_filter_summary(counts, 3, buf, sizeof(buf));
	ck_assert_ptr_nonnull(
		strstr(buf, "3 node(s) didn't allow privileged pods (skiff-agent --allow-privileged), 2 "));
	ck_assert_str_eq(sched_filter_reason(8),
	                 "node(s) didn't allow the pod's hostPath volumes (skiff-agent --allow-host-path)");
	ck_assert_str_eq(sched_filter_reason(9),
	                 "node(s) didn't allow the pod's host ports (skiff-agent --host-port-range)");
	/* Truncation is snprintf-like. */
	ck_assert_uint_gt(sched_filter_summary(counts, 3, buf, 10), 10);
	ck_assert_uint_eq(strlen(buf), 9);
}
END_TEST

START_TEST(score_least_balanced)
{
	struct sched_nodeview a = node(4000, 4000, 110), b = node(4000, 4000, 110);
	struct sched_podreq p = {.cpu = 1000, .mem = 1000};
	struct sched_score sa, sb;

	b.used_cpu = 2000;
	b.used_mem = 2000;
	sched_score(&a, &p, 0, &sa);
	sched_score(&b, &p, 0, &sb);
	ck_assert_int_eq(sa.spread, 10);
	ck_assert_int_eq(sa.least, 7); /* 3/4 free */
	ck_assert_int_eq(sb.least, 2); /* 1/4 free */
	ck_assert_int_eq(sa.balanced, 10);
	ck_assert_int_gt(sched_score_cmp(&sa, &sb), 0);
	/* Same free share, but b would be lopsided. */
	a.used_cpu = a.used_mem = 1000; /* 50% and 50% after */
	b = node(5000, 5000, 110);
	b.used_mem = 3000; /* 20% and 80% after */
	sched_score(&a, &p, 0, &sa);
	sched_score(&b, &p, 0, &sb);
	ck_assert_int_eq(sa.least, sb.least);
	ck_assert_int_lt(sb.balanced, sa.balanced);
	ck_assert_int_gt(sched_score_cmp(&sa, &sb), 0);
	/* Capacity not stated scores as free. */
	a = node(SCHED_UNLIMITED, SCHED_UNLIMITED, SCHED_UNLIMITED);
	sched_score(&a, &p, 0, &sa);
	ck_assert_int_eq(sa.least, 10);
	ck_assert_int_eq(sa.balanced, 10);
}
END_TEST

START_TEST(score_spread_first)
{
	struct sched_nodeview big = node(64000, 64000, 110), small = node(500, 500, 110);
	struct sched_podreq p = {.cpu = 100, .mem = 100, .owner = "ReplicationController/web"};
	struct sched_score sbig, ssmall;

	big.same_owner = 2;
	small.same_owner = 1;
	sched_score(&big, &p, 2, &sbig);
	sched_score(&small, &p, 2, &ssmall);
	ck_assert_int_eq(sbig.spread, 0);
	ck_assert_int_eq(ssmall.spread, 5);
	ck_assert_int_gt(sbig.least, ssmall.least);
	ck_assert_int_gt(sched_score_cmp(&ssmall, &sbig), 0); /* spreading wins */
	/* Without an owner, spreading does not count. */
	p.owner = NULL;
	sched_score(&big, &p, 2, &sbig);
	sched_score(&small, &p, 2, &ssmall);
	ck_assert_int_eq(sbig.spread, ssmall.spread);
	ck_assert_int_gt(sched_score_cmp(&sbig, &ssmall), 0);
}
END_TEST

/* Kubernetes' numFeasibleNodesToFind: all below 100 nodes, the adaptive
 * share 50 % - n/125 (at least 5 %) or the flag's, never under 100. */
START_TEST(nodes_to_find)
{
	ck_assert_uint_eq(sched_nodes_to_find(0, 0), 0);
	ck_assert_uint_eq(sched_nodes_to_find(3, 0), 3);
	ck_assert_uint_eq(sched_nodes_to_find(99, 0), 99);
	ck_assert_uint_eq(sched_nodes_to_find(100, 0), 100);   /* 49 % is 49: raised to 100 */
	ck_assert_uint_eq(sched_nodes_to_find(250, 0), 120);   /* 48 % */
	ck_assert_uint_eq(sched_nodes_to_find(1000, 0), 420);  /* 42 % */
	ck_assert_uint_eq(sched_nodes_to_find(5000, 0), 500);  /* 10 % */
	ck_assert_uint_eq(sched_nodes_to_find(10000, 0), 500); /* 5 %, the floor */
	ck_assert_uint_eq(sched_nodes_to_find(1000, 30), 300);
	ck_assert_uint_eq(sched_nodes_to_find(1000, 1), 100);
	ck_assert_uint_eq(sched_nodes_to_find(1000, 100), 1000);
	ck_assert_uint_eq(sched_nodes_to_find(50, 1), 50);
}
END_TEST

/* What the pods cache keeps (sched_pod_digest) answers as the whole pod
 * does, for every valid pod of tests/fixtures/api/pod/. */
static void
digest_one(const char *name, const char *text, size_t len, unsigned keep)
{
	struct api_errors errs = {0};
	struct api_pod *full = api_pod_parse(text, len, &errs), *moved = api_pod_parse(text, len, &errs);
	struct sched_pod sp;
	const char *what, *ctr;
	int64_t cpu, mem;
	char *owner = sched_owner_key(&full->meta);
	size_t k = 0;

	(void)keep;
	ck_assert_int_eq(sched_pod_digest(moved, &sp), 0);
	api_pod_requests(full, &cpu, &mem);
	ck_assert_msg(sp.cpu == cpu && sp.mem == mem, "%s: requests", name);
	ck_assert_int_eq(sp.privileged, api_sec_privileged(&full->spec, &what, &ctr));
	ck_assert_msg(api_labels_equal(&sp.labels, &full->meta.labels), "%s: labels", name);
	uf_selects_alike(name, full, &sp.labels); /* services' selectors, for spreading */
	ck_assert_msg(api_labels_equal(&sp.node_selector, &full->spec.node_selector), "%s: nodeSelector", name);
	ck_assert_pstr_eq(sp.owner, owner);
	for (size_t i = 0; i < full->spec.n_containers; i++)
		for (size_t j = 0; j < full->spec.containers[i].n_ports; j++) {
			const struct api_container_port *cp = &full->spec.containers[i].ports[j];

			if (cp->host_port > 0) {
				ck_assert_uint_lt(k, sp.nports);
				ck_assert_msg(sp.ports[k].port == cp->host_port &&
				                      sp.ports[k].proto == (int)cp->protocol,
				              "%s: host port %zu", name, k);
				k++;
			}
		}
	ck_assert_uint_eq(k, sp.nports);
	k = 0;
	for (size_t i = 0; i < full->spec.n_volumes; i++)
		if (full->spec.volumes[i].source == API_VOL_HOST_PATH) {
			ck_assert_uint_lt(k, sp.n_host_paths);
			ck_assert_str_eq(sp.host_paths[k++].path, full->spec.volumes[i].path);
		}
	ck_assert_uint_eq(k, sp.n_host_paths);
	free(owner);
	sched_pod_clear(&sp);
	api_pod_free(moved);
	api_pod_free(full);
	api_errors_clear(&errs);
}

START_TEST(pod_digest)
{
	ck_assert_uint_ge(uf_each_case("pod", API_POD, digest_one, 1), 20);
}
END_TEST

/* A binding written from the cached copy (sched_copy.c) is byte for byte
 * what api_binding_serialize writes of the whole pod, for every valid pod
 * of tests/fixtures/api/pod/, on node names plain and needing escapes. */
static void
copy_one(const char *name, const char *text, size_t len, unsigned keep)
{
	static const char *const nodes[] = {"n0001", "node-7.example.com", "Node_\"q\"/\x01\xc3\xbc"};
	static const int64_t uids[] = {1, 42, 9223372036854775807};
	struct api_errors errs = {0};
	struct api_pod *pod = api_pod_parse(text, len, &errs);
	struct sched_pod sp = {0};
	struct api_binding b;
	char *before, *after, *want, *got, uid[24];

	(void)keep;
	ck_assert_msg(pod != NULL, "%s does not decode", name);
	before = api_pod_serialize(pod);
	ck_assert_ptr_nonnull(sp.copy = sched_pod_copy(pod, "web-1", &sp.uid_at));
	after = api_pod_serialize(pod);
	ck_assert_msg(strcmp(before, after) == 0, "%s: the pod changed", name);
	for (size_t i = 0; i < sizeof(nodes) / sizeof(nodes[0]); i++)
		for (size_t j = 0; j < sizeof(uids) / sizeof(uids[0]); j++) {
			snprintf(uid, sizeof(uid), "%lld", (long long)uids[j]);
			b.node = (char *)nodes[i];
			b.pod = *pod;
			b.pod.meta.name = "web-1";
			b.pod.meta.uid = uid;
			want = api_binding_serialize(&b);
			got = sched_binding_value(nodes[i], &sp, uids[j]);
			ck_assert_ptr_nonnull(want);
			ck_assert_msg(got && strcmp(want, got) == 0, "%s on %s:\n want %s\n got  %s", name, nodes[i],
			              want, got ? got : "NULL");
			free(want);
			free(got);
		}
	ck_assert_ptr_null(sched_binding_value("n\xff", &sp, 1)); /* not UTF-8: as api_binding_serialize */
	free(before);
	free(after);
	sched_pod_clear(&sp);
	api_pod_free(pod);
	api_errors_clear(&errs);
}

START_TEST(binding_copy)
{
	/* "uid" elsewhere, with "0" (the placeholder cut out) where a uid
	 * may be that (a label, an annotation); the pod's own uid replaced:
	 * only metadata's own uid is the binding's. */
	static const char tricky[] =
		"{\"metadata\":{\"name\":\"web-1\",\"uid\":\"7\",\"labels\":{\"uid\":\"0\"},"
		"\"annotations\":{\"uid\":\"0\",\"x\":\"\\\"uid\\\":\\\"0\\\"}\"},"
		"\"ownerReferences\":[{\"kind\":\"ReplicationController\",\"name\":\"web\",\"uid\":\"5\","
		"\"controller\":true}]},\"spec\":{\"containers\":[{\"name\":\"uid\",\"image\":\"httpd:2.4\"}]}}";

	copy_one("tricky", tricky, strlen(tricky), 1);
	ck_assert_uint_ge(uf_each_case("pod", API_POD, copy_one, 1), 20);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("scheduler");
	TCase *core = tcase_create("core"), *errors = tcase_create("errors"), *limits = tcase_create("limits");

	tcase_add_checked_fixture(core, setup, teardown);
	tcase_add_checked_fixture(errors, setup, teardown);
	tcase_add_checked_fixture(limits, setup, teardown);
	tcase_add_test(core, fits_empty_node);
	tcase_add_test(core, selector);
	tcase_add_test(core, host_ports);
	tcase_add_test(core, node_policy);
	tcase_add_test(core, score_least_balanced);
	tcase_add_test(core, score_spread_first);
	tcase_add_test(core, pod_digest);
	tcase_add_test(core, binding_copy);
	tcase_add_test(errors, not_ready_unschedulable);
	tcase_add_test(errors, summary);
	tcase_add_test(limits, resources);
	tcase_add_test(limits, unlimited);
	tcase_add_test(limits, huge_requests);
	tcase_add_test(limits, nodes_to_find);
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
	return failed ? 1 : 0;
}
