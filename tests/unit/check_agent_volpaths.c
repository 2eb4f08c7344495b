/*
 * check_agent_volpaths.c: agent_volumes.c on a temporary directory, without
 * Docker: --allow-host-path parsing, the judgement of hostPath volumes
 * (prefix, symbolic links, type), emptyDir directories and the Mounts a
 * container gets, and a subPath through a symbolic link refused without
 * touching where the link points. The sweep needs the bindings' informer:
 * tests/integration/check_agent_volumes.c covers it.
 */
#include <check.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "node-agent/agent.h"
#include "node-agent/agent_volumes.h"
#include "tests/unit/unit_volumes.h"

static char T[64], OK[96], OTHER[96];

static void
setup(void)
{
	snprintf(T, sizeof(T), "/tmp/check_volpaths.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(T));
	snprintf(OK, sizeof(OK), "%s/ok", T);
	snprintf(OTHER, sizeof(OTHER), "%s/other", T);
	ck_assert_int_eq(mkdir(OK, 0755), 0);
	ck_assert_int_eq(mkdir(OTHER, 0755), 0);
}

static void
teardown(void)
{
	uv_remove_tree(T);
}

static void
agent_init(struct agent *a, const char *allow)
{
	char err[256];

	memset(a, 0, sizeof(*a));
	a->o.pod_dir = T;
	ck_assert_int_eq(vol_allow_parse(allow, &a->o.host_path_allow, err, sizeof(err)), 0);
}

START_TEST(test_allow_parse)
{
	char **v = NULL, err[256], in[128];

	ck_assert_int_eq(vol_allow_parse("", &v, err, sizeof(err)), 0);
	ck_assert_ptr_null(v[0]);
	vol_allow_free(v);
	snprintf(in, sizeof(in), "%s/,/nonexistent-skiff/x//", OK);
	ck_assert_int_eq(vol_allow_parse(in, &v, err, sizeof(err)), 0);
	ck_assert_str_eq(v[0], OK);
	ck_assert_str_eq(v[1], "/nonexistent-skiff/x");
	ck_assert_ptr_null(v[2]);
	vol_allow_free(v);
	ck_assert_int_eq(vol_allow_parse("/srv,var/log", &v, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "\"var/log\" is not an absolute path without '..'");
	ck_assert_int_eq(vol_allow_parse("/srv/../etc", &v, err, sizeof(err)), -1);
}
END_TEST

static const char *
judge(struct agent *a, const char *path, const char *type)
{
	char spec[1024], msg[512];
	const char *reason = NULL, *cname = NULL;
	struct api_pod *p;

	snprintf(spec, sizeof(spec),
	         "{\"containers\":[{\"name\":\"a\",\"image\":\"x\"},{\"name\":\"b\",\"image\":\"x\",\"volumeMounts\":"
	         "[{\"name\":\"h\",\"mountPath\":\"/h\"}]}],\"volumes\":[{\"name\":\"h\",\"hostPath\":{\"path\":\"%s\","
	         "\"type\":\"%s\"}}]}",
	         path, type);
	p = uv_pod_of(spec);
	if (vol_judge(a, p, &reason, &cname, msg, sizeof(msg)))
		ck_assert_str_eq(cname, "b");
	api_pod_free(p);
	return reason ? reason : "ok";
}

START_TEST(test_judge)
{
	struct agent a;
	char path[256], link[256];

	agent_init(&a, OK);
	snprintf(path, sizeof(path), "%s/d", OK);
	ck_assert_str_eq(judge(&a, path, ""), "ok");
	ck_assert_str_eq(judge(&a, path, "DirectoryOrCreate"), "ok");
	ck_assert_str_eq(judge(&a, path, "Directory"), "HostPathTypeMismatch");
	ck_assert_int_eq(mkdir(path, 0755), 0);
	ck_assert_str_eq(judge(&a, path, "Directory"), "ok");
	ck_assert_str_eq(judge(&a, path, "File"), "HostPathTypeMismatch");
	ck_assert_str_eq(judge(&a, OK, "Directory"), "ok");
	ck_assert_str_eq(judge(&a, OTHER, "Directory"), "HostPathNotAllowed");
	snprintf(path, sizeof(path), "%sx", OK); /* a sibling sharing the prefix's text */
	ck_assert_str_eq(judge(&a, path, ""), "HostPathNotAllowed");
	snprintf(link, sizeof(link), "%s/esc", OK);
	ck_assert_int_eq(symlink(OTHER, link), 0);
	ck_assert_str_eq(judge(&a, link, ""), "HostPathNotAllowed");
	snprintf(path, sizeof(path), "%s/esc/new", OK); /* missing, under a link out */
	ck_assert_str_eq(judge(&a, path, "DirectoryOrCreate"), "HostPathNotAllowed");
	vol_allow_free(a.o.host_path_allow);
	agent_init(&a, "");
	ck_assert_str_eq(judge(&a, OK, ""), "HostPathNotAllowed");
	vol_allow_free(a.o.host_path_allow);
}
END_TEST

#define MOUNT_SPEC                                                                                                     \
	"{\"containers\":[{\"name\":\"a\",\"image\":\"x\",\"volumeMounts\":[{\"name\":\"cache\",\"mountPath\":\"/c\"," \
	"\"subPath\":\"%s\"},{\"name\":\"h\",\"mountPath\":\"/h\",\"readOnly\":true}]}],\"volumes\":[{\"name\":"       \
	"\"cache\",\"emptyDir\":{}},{\"name\":\"h\",\"hostPath\":{\"path\":\"%s/made\"}}]}"

START_TEST(test_host_config)
{
	struct agent a;
	char spec[1024], err[512], path[PATH_MAX], want[PATH_MAX];
	struct api_pod *p;
	json_t *hc = json_object(), *m;
	struct stat st;

	agent_init(&a, OK);
	snprintf(spec, sizeof(spec), MOUNT_SPEC, "a/./b", OK);
	p = uv_pod_of(spec);
	ck_assert_msg(vol_host_config(hc, &a, p, &p->spec.containers[0], err, sizeof(err)) == 0, "%s", err);
	snprintf(path, sizeof(path), "%s/42/volumes/cache", T);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0777);
	snprintf(path, sizeof(path), "%s/42", T);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0700);
	snprintf(path, sizeof(path), "%s/42/volumes/cache", T);
	ck_assert_ptr_nonnull(realpath(path, want));
	strcat(want, "/a/b");
	m = json_object_get(hc, "Mounts");
	ck_assert_int_eq(json_array_size(m), 2);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(m, 0), "Source")), want);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(m, 0), "Target")), "/c");
	ck_assert(json_is_false(json_object_get(json_array_get(m, 0), "ReadOnly")));
	ck_assert(json_is_true(json_object_get(json_array_get(m, 1), "ReadOnly")));
	snprintf(path, sizeof(path), "%s/made", OK);
	ck_assert_int_eq(access(path, F_OK), 0); /* type "": made when missing */
	api_pod_free(p);

	/* A container made cache/evil a link out: a subPath through it is refused. */
	snprintf(path, sizeof(path), "%s/42/volumes/cache/evil", T);
	ck_assert_int_eq(symlink(OTHER, path), 0);
	snprintf(spec, sizeof(spec), MOUNT_SPEC, "evil/x", OK);
	p = uv_pod_of(spec);
	ck_assert_int_eq(vol_host_config(hc, &a, p, &p->spec.containers[0], err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "subPath evil/x") != NULL, "%s", err);
	snprintf(path, sizeof(path), "%s/x", OTHER);
	ck_assert_int_eq(access(path, F_OK), -1);
	api_pod_free(p);
	snprintf(spec, sizeof(spec), MOUNT_SPEC, "evil", OK);
	p = uv_pod_of(spec);
	ck_assert_int_eq(vol_host_config(hc, &a, p, &p->spec.containers[0], err, sizeof(err)), -1);
	api_pod_free(p);
	json_decref(hc);
	vol_allow_free(a.o.host_path_allow);
}
END_TEST

/* fsGroup: the emptyDir is the group's (setgid, 02777); the hostPath is
 * left as it is, as Kubernetes leaves it. */
START_TEST(test_fs_group)
{
	long gid = geteuid() == 0 ? 2345 : (long)getgid();
	struct agent a;
	char spec[1024], err[512], path[PATH_MAX];
	struct api_pod *p;
	json_t *hc = json_object();
	struct stat st, before;

	agent_init(&a, OK);
	snprintf(path, sizeof(path), "%s/made", OK);
	ck_assert_int_eq(mkdir(path, 0755), 0);
	ck_assert_int_eq(stat(path, &before), 0);
	snprintf(spec, sizeof(spec),
	         "{\"securityContext\":{\"fsGroup\":%ld},\"containers\":[{\"name\":\"c\",\"image\":\"busybox\","
	         "\"volumeMounts\":[{\"name\":\"cache\",\"mountPath\":\"/c\"},{\"name\":\"h\",\"mountPath\":\"/h\"}]}],"
	         "\"volumes\":[{\"name\":\"cache\",\"emptyDir\":{}},{\"name\":\"h\",\"hostPath\":{\"path\":\"%s\"}}]}",
	         gid, path);
	p = uv_pod_of(spec);
	ck_assert_msg(vol_host_config(hc, &a, p, &p->spec.containers[0], err, sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_gid, before.st_gid);
	ck_assert_int_eq(st.st_mode, before.st_mode);
	snprintf(path, sizeof(path), "%s/42/volumes/cache", T);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq((long)st.st_gid, gid);
	ck_assert_int_eq(st.st_mode & 07777, 02777);
	api_pod_free(p);
	json_decref(hc);
	vol_allow_free(a.o.host_path_allow);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("agent_volpaths");
	TCase *core = tcase_create("core");

	tcase_add_checked_fixture(core, setup, teardown);
	tcase_add_test(core, test_allow_parse);
	tcase_add_test(core, test_judge);
	tcase_add_test(core, test_host_config);
	tcase_add_test(core, test_fs_group);
	suite_add_tcase(s, core);
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
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
