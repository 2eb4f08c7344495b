/*
 * check_agent_secopts.c: node-agent/agent_security.c without Docker: the
 * create options a securityContext gives (container over pod), the PID
 * limit, runAsNonRoot against an image's user as the kubelet judges it,
 * and a hostNetwork pod's sandbox options.
 */
#include <check.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "node-agent/agent_security.h"

static struct api_pod *
pod_of(const char *json)
{
	struct api_errors errs = {0};
	struct api_pod *p = api_pod_parse(json, strlen(json), &errs);

	ck_assert_msg(p != NULL, "%s: %s", errs.n ? errs.items[0].field : "", errs.n ? errs.items[0].msg : "");
	api_errors_clear(&errs);
	return p;
}

/* Body and HostConfig of container ci as compact JSON (new strings). */
static void
opts(const struct api_pod *p, size_t ci, long pids, char **body, char **hc)
{
	json_t *b = json_object(), *h = json_object();

	sec_create_opts(b, h, p, &p->spec.containers[ci], pids);
	*body = json_dumps(b, JSON_COMPACT | JSON_SORT_KEYS);
	*hc = json_dumps(h, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(b);
	json_decref(h);
}

START_TEST(test_create_opts)
{
	struct api_pod *p = pod_of(
		"{\"metadata\":{\"name\":\"s\"},\"spec\":{\"hostPID\":true,\"hostIPC\":true,"
		"\"securityContext\":{\"runAsUser\":1000,\"runAsGroup\":3000,\"fsGroup\":2000,\"supplementalGroups\":[4000]},"
		"\"containers\":[{\"name\":\"a\",\"image\":\"busybox\",\"securityContext\":{\"runAsUser\":7,"
		"\"readOnlyRootFilesystem\":true,\"allowPrivilegeEscalation\":false,"
		"\"capabilities\":{\"add\":[\"NET_ADMIN\"],\"drop\":[\"ALL\"]}}},"
		"{\"name\":\"b\",\"image\":\"busybox\",\"securityContext\":{\"privileged\":true,"
		"\"allowPrivilegeEscalation\":true}}]}}");
	char *body, *hc;

	opts(p, 0, 4096, &body, &hc);
	ck_assert_str_eq(body, "{\"User\":\"7:3000\"}");
	ck_assert_str_eq(hc, "{\"CapAdd\":[\"NET_ADMIN\"],\"CapDrop\":[\"ALL\"],\"GroupAdd\":[\"2000\",\"4000\"],"
	                     "\"IpcMode\":\"host\",\"PidMode\":\"host\",\"PidsLimit\":4096,\"ReadonlyRootfs\":true,"
	                     "\"SecurityOpt\":[\"no-new-privileges\"]}");
	free(body);
	free(hc);
	opts(p, 1, 0, &body, &hc);
	ck_assert_str_eq(body, "{\"User\":\"1000:3000\"}");
	ck_assert_str_eq(hc, "{\"GroupAdd\":[\"2000\",\"4000\"],\"IpcMode\":\"host\",\"PidMode\":\"host\","
	                     "\"Privileged\":true}");
	free(body);
	free(hc);
	api_pod_free(p);
}
END_TEST

/* A pod without any: only the PID limit. */
START_TEST(test_create_opts_none)
{
	struct api_pod *p = pod_of("{\"spec\":{\"containers\":[{\"name\":\"a\",\"image\":\"busybox\"}]}}");
	char *body, *hc;

	opts(p, 0, 100, &body, &hc);
	ck_assert_str_eq(body, "{}");
	ck_assert_str_eq(hc, "{\"PidsLimit\":100}");
	ck_assert_int_eq(sec_needs_image_user(p, &p->spec.containers[0]), 0);
	free(body);
	free(hc);
	api_pod_free(p);
}
END_TEST

/* runAsNonRoot with image user u (NULL: the inspect has no Config.User)
 * and pod-level runAsUser uid (-1: none): the check's result and msg. */
static int
non_root(const char *user, int uid, char *msg, size_t len)
{
	char json[512];
	struct api_pod *p;
	json_t *img = user ? json_pack("{s:{s:s}}", "Config", "User", user) : json_pack("{s:{}}", "Config");
	int rc;

	if (uid >= 0)
		snprintf(json, sizeof(json),
		         "{\"metadata\":{\"name\":\"n\"},\"spec\":{\"securityContext\":{\"runAsNonRoot\":true,"
		         "\"runAsUser\":%d},\"containers\":[{\"name\":\"a\",\"image\":\"busybox\"}]}}",
		         uid);
	else
		snprintf(
			json, sizeof(json),
			"{\"metadata\":{\"name\":\"n\"},\"spec\":{\"containers\":[{\"name\":\"a\",\"image\":\"busybox\","
			"\"securityContext\":{\"runAsNonRoot\":true}}]}}");
	p = pod_of(json);
	ck_assert_int_eq(sec_needs_image_user(p, &p->spec.containers[0]), 1);
	msg[0] = '\0';
	rc = sec_check_non_root(p, &p->spec.containers[0], img, msg, len);
	json_decref(img);
	api_pod_free(p);
	return rc;
}

START_TEST(test_non_root)
{
	char m[512];

	ck_assert_int_eq(non_root("1000", -1, m, sizeof(m)), 0);
	ck_assert_int_eq(non_root("1000:0", -1, m, sizeof(m)), 0);
	ck_assert_int_eq(non_root("", -1, m, sizeof(m)), -1);
	ck_assert_str_eq(m, "container has runAsNonRoot and image will run as root (pod: \"n\", container: a)");
	ck_assert_int_eq(non_root(NULL, -1, m, sizeof(m)), -1);
	ck_assert_int_eq(non_root("0:5", -1, m, sizeof(m)), -1);
	ck_assert_int_eq(non_root("root", -1, m, sizeof(m)), -1);
	ck_assert_str_eq(m, "container has runAsNonRoot and image has non-numeric user (root), cannot verify user is "
	                    "non-root (pod: \"n\", container: a)");
	ck_assert_int_eq(non_root("nobody", -1, m, sizeof(m)), -1);
	ck_assert_int_eq(non_root("", 1000, m, sizeof(m)), 0); /* runAsUser wins over the image */
	ck_assert_int_eq(non_root("1000", 0, m, sizeof(m)), -1);
	ck_assert_str_eq(m, "container's runAsUser breaks non-root policy (pod: \"n\", container: a)");
}
END_TEST

/* A container's runAsNonRoot: false wins over the pod's true. */
START_TEST(test_non_root_container_wins)
{
	struct api_pod *p = pod_of("{\"spec\":{\"securityContext\":{\"runAsNonRoot\":true},\"containers\":[{\"name\":"
	                           "\"a\",\"image\":\"busybox\",\"securityContext\":{\"runAsNonRoot\":false}}]}}");
	char m[256];

	ck_assert_int_eq(sec_needs_image_user(p, &p->spec.containers[0]), 0);
	ck_assert_int_eq(sec_check_non_root(p, &p->spec.containers[0], NULL, m, sizeof(m)), 0);
	api_pod_free(p);
}
END_TEST

/* hostNetwork: the sandbox in the host's network namespace, without the
 * Hostname and PortBindings Docker refuses or ignores there; other pods'
 * sandboxes untouched. The inspect answer tells the two apart. */
START_TEST(test_host_network_sandbox)
{
	struct api_pod *hn = pod_of("{\"spec\":{\"hostNetwork\":true,\"containers\":[{\"name\":\"a\",\"image\":"
	                            "\"busybox\",\"ports\":[{\"containerPort\":80}]}]}}");
	struct api_pod *p = pod_of("{\"spec\":{\"containers\":[{\"name\":\"a\",\"image\":\"busybox\"}]}}");
	json_t *b = json_pack("{s:s}", "Hostname", "web"),
	       *h = json_pack("{s:s,s:{}}", "NetworkMode", "skiff0", "PortBindings");
	json_t *in = json_pack("{s:{s:s}}", "HostConfig", "NetworkMode", "host");

	ck_assert_int_eq(hn->spec.containers[0].ports[0].host_port, 80); /* defaulted to containerPort */
	sec_infra_opts(b, h, p);
	ck_assert_str_eq(json_string_value(json_object_get(h, "NetworkMode")), "skiff0");
	ck_assert_ptr_nonnull(json_object_get(b, "Hostname"));
	sec_infra_opts(b, h, hn);
	ck_assert_str_eq(json_string_value(json_object_get(h, "NetworkMode")), "host");
	ck_assert_ptr_null(json_object_get(h, "PortBindings"));
	ck_assert_ptr_null(json_object_get(b, "Hostname"));
	ck_assert_int_eq(sec_host_network(in), 1);
	ck_assert_int_eq(sec_host_network(h), 0); /* not an inspect answer */
	ck_assert_int_eq(sec_host_network(NULL), 0);
	json_decref(b);
	json_decref(h);
	json_decref(in);
	api_pod_free(hn);
	api_pod_free(p);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("agent_secopts");
	TCase *core = tcase_create("core");

	tcase_add_test(core, test_create_opts);
	tcase_add_test(core, test_create_opts_none);
	tcase_add_test(core, test_non_root);
	tcase_add_test(core, test_non_root_container_wins);
	tcase_add_test(core, test_host_network_sandbox);
	suite_add_tcase(s, core);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(suite());
	int nf;

	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? 0 : 1;
}
