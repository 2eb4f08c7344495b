/*
 * check_agent_cmvol.c: agent_cmvol.c on a temporary directory, without
 * Docker or etcd: a file per key with the default mode, items with their
 * paths and modes, an update swapped in through ..data (the old data
 * directory removed, a key gone taking its link with it), nothing written
 * when nothing changed, missing objects and keys with and without
 * optional, cmvol_sync over a pod, and a pod's fsGroup owning the files.
 * tests/integration/check_agent_cmvol.c shows it from inside a container.
 */
#include <check.h>
#include <dirent.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "node-agent/agent_cmvol.h"
#include "tests/unit/unit_volumes.h"

static char T[64], V[96];

static void
setup(void)
{
	snprintf(T, sizeof(T), "/tmp/check_cmvol.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(T));
	snprintf(V, sizeof(V), "%s/vol", T);
}

static void
teardown(void)
{
	uv_remove_tree(T);
}

/* A pod with uid 42 and the given volumes (JSON). */
static struct api_pod *
pod_of(const char *volumes)
{
	char spec[2048];

	snprintf(spec, sizeof(spec), "{\"containers\":[{\"name\":\"c\",\"image\":\"busybox\"}],\"volumes\":%s}",
	         volumes);
	return uv_pod_of(spec);
}

/* The content of V/rel ("" when unreadable) and its mode in *mode. */
static const char *
slurp(const char *rel, int *mode)
{
	static char buf[256];
	char path[PATH_MAX];
	struct stat st;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "%s/%s", V, rel);
	buf[0] = '\0';
	*mode = stat(path, &st) == 0 ? (int)(st.st_mode & 07777) : -1;
	if (!(f = fopen(path, "r")))
		return buf;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* How many entries of V start with "..2" (timestamped data directories). */
static int
data_dirs(void)
{
	DIR *d = opendir(V);
	struct dirent *e;
	int n = 0;

	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d)))
		n += strncmp(e->d_name, "..2", 3) == 0;
	closedir(d);
	return n;
}

static int
write_vol(struct api_pod *p, const char *values)
{
	char err[256] = "";
	json_t *v = values ? json_loads(values, 0, NULL) : NULL;
	int rc = cmvol_write(V, &p->spec.volumes[0], v, err, sizeof(err));

	json_decref(v);
	if (rc < 0)
		ck_assert_msg(err[0], "no reason given");
	return rc;
}

START_TEST(test_keys_default_mode)
{
	struct api_pod *p = pod_of("[{\"name\":\"v\",\"configMap\":{\"name\":\"cfg\"}}]");
	char link[PATH_MAX], target[PATH_MAX];
	struct stat st;
	int mode;
	ssize_t n;

	ck_assert_int_eq(write_vol(p, "{\"a.conf\":\"alpha\",\"b\":\"\"}"), 1);
	ck_assert_str_eq(slurp("a.conf", &mode), "alpha");
	ck_assert_int_eq(mode, 0644);
	ck_assert_str_eq(slurp("b", &mode), "");
	ck_assert_int_eq(mode, 0644);
	snprintf(link, sizeof(link), "%s/a.conf", V);
	ck_assert_int_eq(lstat(link, &st), 0);
	ck_assert(S_ISLNK(st.st_mode));
	n = readlink(link, target, sizeof(target) - 1);
	ck_assert_int_gt(n, 0);
	target[n] = '\0';
	ck_assert_str_eq(target, "..data/a.conf");
	ck_assert_int_eq(data_dirs(), 1);
	/* the same values again: nothing written */
	ck_assert_int_eq(write_vol(p, "{\"a.conf\":\"alpha\",\"b\":\"\"}"), 0);
	api_pod_free(p);
}
END_TEST

START_TEST(test_items_and_modes)
{
	struct api_pod *p = pod_of("[{\"name\":\"v\",\"secret\":{\"secretName\":\"s\",\"defaultMode\":256,"
	                           "\"items\":[{\"key\":\"pw\",\"path\":\"db/password\",\"mode\":288},"
	                           "{\"key\":\"user\",\"path\":\"user\"}]}}]");
	int mode;

	ck_assert_int_eq(write_vol(p, "{\"pw\":\"hunter2\",\"user\":\"bob\",\"other\":\"x\"}"), 1);
	ck_assert_str_eq(slurp("db/password", &mode), "hunter2");
	ck_assert_int_eq(mode, 0440);
	ck_assert_str_eq(slurp("user", &mode), "bob");
	ck_assert_int_eq(mode, 0400);
	slurp("other", &mode);
	ck_assert_int_eq(mode, -1);
	slurp("pw", &mode);
	ck_assert_int_eq(mode, -1);
	api_pod_free(p);
}
END_TEST

START_TEST(test_update_swaps_data)
{
	struct api_pod *p = pod_of("[{\"name\":\"v\",\"configMap\":{\"name\":\"cfg\"}}]");
	char old[PATH_MAX], now[PATH_MAX], link[PATH_MAX];
	struct stat st;
	int mode;

	snprintf(link, sizeof(link), "%s/..data", V);
	ck_assert_int_eq(write_vol(p, "{\"a\":\"one\",\"gone\":\"soon\"}"), 1);
	ck_assert_ptr_nonnull(realpath(link, old));
	ck_assert_int_eq(write_vol(p, "{\"a\":\"two\",\"new\":\"n\"}"), 1);
	ck_assert_ptr_nonnull(realpath(link, now));
	ck_assert_str_ne(old, now);
	ck_assert_int_ne(stat(old, &st), 0); /* the old data directory is removed */
	ck_assert_int_eq(data_dirs(), 1);
	ck_assert_str_eq(slurp("a", &mode), "two");
	ck_assert_str_eq(slurp("new", &mode), "n");
	snprintf(link, sizeof(link), "%s/gone", V);
	ck_assert_int_ne(lstat(link, &st), 0); /* its link went with the key */
	api_pod_free(p);
}
END_TEST

START_TEST(test_mode_change_rewrites)
{
	struct api_pod *p = pod_of("[{\"name\":\"v\",\"configMap\":{\"name\":\"cfg\",\"defaultMode\":384}}]");
	struct api_pod *q = pod_of("[{\"name\":\"v\",\"configMap\":{\"name\":\"cfg\",\"defaultMode\":420}}]");
	int mode;

	ck_assert_int_eq(write_vol(p, "{\"a\":\"x\"}"), 1);
	slurp("a", &mode);
	ck_assert_int_eq(mode, 0600);
	ck_assert_int_eq(write_vol(q, "{\"a\":\"x\"}"), 1);
	slurp("a", &mode);
	ck_assert_int_eq(mode, 0644);
	api_pod_free(p);
	api_pod_free(q);
}
END_TEST

START_TEST(test_missing)
{
	struct api_pod *p = pod_of("[{\"name\":\"v\",\"configMap\":{\"name\":\"cfg\"}}]");
	struct api_pod *o = pod_of("[{\"name\":\"v\",\"configMap\":{\"name\":\"cfg\",\"optional\":true}}]");
	struct api_pod *k = pod_of("[{\"name\":\"v\",\"secret\":{\"secretName\":\"s\",\"items\":[{\"key\":\"no\","
	                           "\"path\":\"n\"}]}}]");
	struct api_pod *ko = pod_of("[{\"name\":\"v\",\"secret\":{\"secretName\":\"s\",\"optional\":true,"
	                            "\"items\":[{\"key\":\"no\",\"path\":\"n\"},{\"key\":\"yes\",\"path\":\"y\"}]}}]");
	json_t *none = json_object();
	char err[256];
	int mode;

	ck_assert_int_eq(cmvol_write(V, &p->spec.volumes[0], NULL, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "configMap cfg of volume v not found"));
	ck_assert_int_eq(cmvol_write(V, &k->spec.volumes[0], none, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "secret s of volume v has no key no"));
	ck_assert_int_eq(write_vol(o, NULL), 1);
	ck_assert_int_eq(data_dirs(), 1);
	ck_assert_int_eq(write_vol(ko, "{\"yes\":\"1\"}"), 1);
	ck_assert_str_eq(slurp("y", &mode), "1");
	slurp("n", &mode);
	ck_assert_int_eq(mode, -1);
	api_pod_free(p);
	api_pod_free(o);
	api_pod_free(k);
	api_pod_free(ko);
	json_decref(none);
}
END_TEST

static const json_t *
get_one(void *arg, const char *kind, const char *name)
{
	return strcmp(kind, "secrets") == 0 && strcmp(name, "s") == 0 ? arg : NULL;
}

START_TEST(test_sync_pod)
{
	struct api_pod *p =
		pod_of("[{\"name\":\"e\",\"emptyDir\":{}},{\"name\":\"s\",\"secret\":{\"secretName\":\"s\"}},"
	               "{\"name\":\"c\",\"configMap\":{\"name\":\"cfg\",\"optional\":true}}]");
	struct api_pod *q = pod_of("[{\"name\":\"c\",\"configMap\":{\"name\":\"cfg\"}}]");
	json_t *vals = json_pack("{s:s}", "token", "t0k");
	char err[256], path[PATH_MAX];
	struct stat st;
	int mode;

	ck_assert_int_eq(cmvol_sync(T, p, get_one, vals, err, sizeof(err)), 0);
	snprintf(V, sizeof(V), "%s/42/volumes/s", T);
	ck_assert_str_eq(slurp("token", &mode), "t0k");
	snprintf(path, sizeof(path), "%s/42", T);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0700);
	snprintf(path, sizeof(path), "%s/42/volumes/e", T);
	ck_assert_int_ne(stat(path, &st), 0); /* emptyDir is not ours */
	ck_assert_int_eq(cmvol_sync(T, q, get_one, vals, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "configMap cfg"));
	json_decref(vals);
	api_pod_free(p);
	api_pod_free(q);
}
END_TEST

/* With fsGroup the volume is the group's: directories group-owned and
 * setgid, files group-readable; a later write with another group (or
 * none) rewrites. */
START_TEST(test_fs_group)
{
	long gid = geteuid() == 0 ? 2345 : (long)getgid();
	char spec[512], err[256], path[PATH_MAX];
	struct api_pod *p;
	json_t *vals = json_pack("{s:s}", "pw", "hunter2");
	struct stat st;
	int mode;

	snprintf(spec, sizeof(spec),
	         "{\"securityContext\":{\"fsGroup\":%ld},\"containers\":[{\"name\":\"c\",\"image\":\"busybox\"}],"
	         "\"volumes\":[{\"name\":\"s\",\"secret\":{\"secretName\":\"s\",\"defaultMode\":256,"
	         "\"items\":[{\"key\":\"pw\",\"path\":\"db/password\"}]}}]}",
	         gid);
	p = uv_pod_of(spec);
	ck_assert_int_eq(cmvol_sync(T, p, get_one, vals, err, sizeof(err)), 0);
	snprintf(V, sizeof(V), "%s/42/volumes/s", T);
	ck_assert_str_eq(slurp("db/password", &mode), "hunter2");
	ck_assert_int_eq(mode, 0440); /* 0400 plus group read */
	snprintf(path, sizeof(path), "%s/db/password", V);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq((long)st.st_gid, gid);
	snprintf(path, sizeof(path), "%s/db", V);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq((long)st.st_gid, gid);
	ck_assert_int_eq(st.st_mode & 07777, 02755);
	ck_assert_int_eq(stat(V, &st), 0); /* the volume's own directory */
	ck_assert_int_eq((long)st.st_gid, gid);
	ck_assert(st.st_mode & S_ISGID);
	ck_assert_int_eq(cmvol_sync(T, p, get_one, vals, err, sizeof(err)), 0);
	ck_assert_int_eq(data_dirs(), 1); /* nothing changed: nothing written */
	ck_assert_int_eq(cmvol_write_group(V, &p->spec.volumes[0], vals, -1, err, sizeof(err)), 1);
	ck_assert_str_eq(slurp("db/password", &mode), "hunter2");
	ck_assert_int_eq(mode, 0400); /* without a group: the mode asked for */
	json_decref(vals);
	api_pod_free(p);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("agent_cmvol");
	TCase *c = tcase_create("core"), *e = tcase_create("errors");

	tcase_add_checked_fixture(c, setup, teardown);
	tcase_add_checked_fixture(e, setup, teardown);
	tcase_add_test(c, test_keys_default_mode);
	tcase_add_test(c, test_items_and_modes);
	tcase_add_test(c, test_update_swaps_data);
	tcase_add_test(c, test_mode_change_rewrites);
	tcase_add_test(c, test_sync_pod);
	tcase_add_test(c, test_fs_group);
	tcase_add_test(e, test_missing);
	suite_add_tcase(s, c);
	suite_add_tcase(s, e);
	return s;
}

int
main(void)
{
	SRunner *r = srunner_create(suite());
	int failed;

	srunner_run_all(r, CK_NORMAL);
	failed = srunner_ntests_failed(r);
	srunner_free(r);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
