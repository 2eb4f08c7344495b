/*
 * check_agent_volumes.c: volumes with the real skiff-agent, a real etcd
 * and the real dockerd, seen from inside the containers: two containers of
 * a pod see one emptyDir file; a readOnly mount refuses a write; a subPath
 * of a hostPath is made and used; the emptyDir's directory is gone after
 * the pod is; a hostPath outside --allow-host-path (directly or through a
 * symbolic link) keeps the pod from starting, with its reason and event;
 * a ConfigMap volume's file changes in a running container after the
 * node's copy does, a secret item has its mode, a missing ConfigMap keeps
 * a pod waiting with CreateContainerConfigError; an emptyDir of medium
 * Memory is a tmpfs of its sizeLimit, unmounted with the pod; fsGroup
 * owns the emptyDir and the secret's files, not the hostPath; a disk
 * emptyDir over its sizeLimit gets its pod evicted.
 *
 * What the containers saw comes out through an allowed hostPath; the test
 * polls for those files to a deadline. Planner rules on their own are in
 * tests/fixtures/agent/host-path-*; decoding in tests/fixtures/api/pod.
 */
#include <check.h>
#include <ev.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "docker_harness.h"
#include "etcd_harness.h"
#include "etcd_testutil.h"
#include "th_proc.h"

#ifndef SKIFF_AGENT
#define SKIFF_AGENT "build/bin/skiff-agent"
#endif

static struct th_etcd *E;
static struct etcd_sync *S;
static char RUN[32], DIR_[64], PODS[96], SHARE[96];

static void
suite_setup(void)
{
	snprintf(RUN, sizeof(RUN), "v%d", (int)getpid());
	snprintf(DIR_, sizeof(DIR_), "/tmp/skiff-vol-XXXXXX");
	if (!mkdtemp(DIR_) || dh_ensure_dockerd(60) < 0 || dh_ensure_test_image() < 0) {
		fprintf(stderr, "check_agent_volumes: Docker or /tmp is not usable\n");
		abort();
	}
	snprintf(PODS, sizeof(PODS), "%s/pods", DIR_);
	snprintf(SHARE, sizeof(SHARE), "%s/share", DIR_);
	if (mkdir(SHARE, 0755) < 0)
		abort();
	E = th_etcd_start(1, NULL);
	if (!E)
		abort();
}

static void
suite_teardown(void)
{
	char cmd[128];

	dh_remove_where("skiff.node", RUN);
	th_etcd_free(E);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", DIR_);
	if (system(cmd) != 0)
		fprintf(stderr, "check_agent_volumes: could not remove %s\n", DIR_);
}

static void
setup(void)
{
	struct etcd_config cfg;
	struct etcd_error err = {0};

	tu_config(E, &cfg);
	S = etcd_sync_new(&cfg, &err);
	ck_assert_msg(S != NULL, "sync client: %s", err.msg);
}

static void
teardown(void)
{
	etcd_sync_free(S);
}

/* ---------------------------------------------------------------- helpers */

/* Poll cond every 20 ms (th_wait on the default loop) until it holds or
 * timeout_s passes: 0 / -1. */
static int
poll_until(int (*cond)(void *), void *arg, double timeout_s)
{
	return th_wait(EV_DEFAULT, cond, arg, timeout_s);
}

/* The agent for node RUN-name on prefix /RUN-name with our directories. */
static struct th_proc *
agent_for(const char *name, char *prefix, size_t plen, char *node, size_t nlen)
{
	char allow[128];
	const char *argv[] = {SKIFF_AGENT,
	                      "--etcd-endpoints",
	                      th_etcd_endpoints(E),
	                      "--prefix",
	                      prefix,
	                      "--node-name",
	                      node,
	                      "--pod-dir",
	                      PODS,
	                      "--allow-host-path",
	                      allow,
	                      "--resync-interval",
	                      "2s",
	                      NULL};
	struct th_proc *p;

	snprintf(prefix, plen, "/%s-%s", RUN, name);
	snprintf(node, nlen, "%s-%s", RUN, name);
	snprintf(allow, sizeof(allow), "%s,/nonexistent-skiff", SHARE);
	p = th_proc_start(SKIFF_AGENT, (char *const *)argv, NULL);
	ck_assert_ptr_nonnull(p);
	return p;
}

static void
bind_pod(const char *prefix, const char *node, const char *pod, const char *uid, const char *spec)
{
	char key[256], val[4096];

	snprintf(key, sizeof(key), "%s/bindings/%s/%s", prefix, node, pod);
	snprintf(val, sizeof(val),
	         "{\"node\":\"%s\",\"pod\":{\"metadata\":{\"name\":\"%s\",\"uid\":\"%s\"},\"spec\":%s}}", node, pod,
	         uid, spec);
	ck_assert_msg(tu_put(S, key, val) > 0, "put %s failed", key);
}

/* Is file path's content exactly want? */
struct file_want {
	const char *path, *want;
};

/* The first len-1 bytes of file path into buf ("" when unreadable). */
static const char *
read_small(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	size_t n = 0;

	if (f) {
		n = fread(buf, 1, len - 1, f);
		fclose(f);
	}
	buf[n] = '\0';
	return buf;
}

static int
file_is(void *arg)
{
	struct file_want *w = arg;
	char buf[256];

	return access(w->path, F_OK) == 0 && strcmp(read_small(w->path, buf, sizeof(buf)), w->want) == 0;
}

static int
path_gone(void *path)
{
	return access(path, F_OK) < 0;
}

static void
wait_file(struct th_proc *agent, const char *path, const char *want)
{
	struct file_want w = {path, want};

	if (poll_until(file_is, &w, 45) < 0)
		th_proc_free(agent, 1);
	ck_assert_msg(file_is(&w), "%s: not \"%s\" after 45 s", path, want);
}

/* Delete the binding of pod and wait until PODS/uid is gone; the agent,
 * or NULL when it was stopped to show its log. */
static struct th_proc *
unbind_until_gone(struct th_proc *agent, const char *prefix, const char *node, const char *pod, const char *uid)
{
	char key[256], path[256];
	struct etcd_result *r;

	snprintf(key, sizeof(key), "%s/bindings/%s/%s", prefix, node, pod);
	r = etcd_sync_delete(S, key, NULL);
	TU_OK(r);
	etcd_result_free(r);
	snprintf(path, sizeof(path), "%s/%s", PODS, uid);
	if (poll_until(path_gone, path, 45) < 0)
		th_proc_free(agent, 1), agent = NULL;
	ck_assert_msg(access(path, F_OK) < 0, "%s: still there after the pod was deleted", path);
	return agent;
}

/* Every value under key prefix as one string (new). */
static char *
values_under(const char *prefix)
{
	struct etcd_range_opts o = {.prefix = 1};
	struct etcd_result *r = etcd_sync_range(S, prefix, &o);
	size_t i, len = 1;
	char *s = calloc(1, 1);

	for (i = 0; r && r->err.code == ETCD_OK && i < r->nkvs && s; i++) {
		char *t = realloc(s, len + r->kvs[i].value_len + 1);

		if (!t)
			break;
		s = t;
		memcpy(s + len - 1, r->kvs[i].value, r->kvs[i].value_len);
		len += r->kvs[i].value_len + 1;
		s[len - 2] = '\n';
		s[len - 1] = '\0';
	}
	if (r)
		etcd_result_free(r);
	return s;
}

struct text_want {
	const char *prefix, *needle;
};

static int
text_has(void *arg)
{
	struct text_want *w = arg;
	char *s = values_under(w->prefix);
	int ok = s && strstr(s, w->needle);

	free(s);
	return ok;
}

static void
wait_text(struct th_proc *agent, const char *prefix, const char *needle)
{
	struct text_want w = {prefix, needle};

	if (poll_until(text_has, &w, 45) < 0)
		th_proc_free(agent, 1);
	ck_assert_msg(text_has(&w), "%s: no \"%s\" after 45 s", prefix, needle);
}

static int
pod_containers(const char *node, const char *pod)
{
	char l1[128], l2[128];
	const char *labels[] = {l1, l2, NULL};

	snprintf(l1, sizeof(l1), "skiff.node=%s", node);
	snprintf(l2, sizeof(l2), "skiff.pod=%s", pod);
	return dh_list(labels, NULL);
}

/* ---------------------------------------------------------------- tests */

#define BB "\"/bin/busybox\""
#define SH(script) "\"command\":[" BB ",\"sh\",\"-c\",\"" script "\"]"

/* writer puts a file in the emptyDir; reader (the emptyDir read-only, a
 * subPath of the shared hostPath as /out) copies it out and tries to write. */
#define SHARED_SPEC                                                                                                                                                                                 \
	"{\"terminationGracePeriodSeconds\":1,\"containers\":["                                                                                                                                     \
	"{\"name\":\"writer\",\"image\":\"skiff/test-httpd:latest\"," SH(                                                                                                                           \
		"echo shared > /cache/f && exec /bin/busybox sleep 3600") ",\"volumeMounts\":[{\"name\":\"cache\",\"mountPath\":\"/cache\"}]},"                                                     \
									  "{\"name\":\"reader\",\"image\":\"skiff/test-httpd:latest\"," SH(                                                         \
										  "until [ -f /c/f ]; do /bin/busybox sleep 0.1; done; /bin/busybox cat /c/f > /out/seen; "                         \
										  "if echo x > /c/w; then echo writable > /out/ro; else echo refused > /out/ro; fi; "                               \
										  "exec /bin/busybox sleep 3600") ",\"volumeMounts\":[{\"name\":\"cache\",\"mountPath\":\"/c\",\"readOnly\":true}," \
														  "{\"name\":\"share\",\"mountPath\":\"/out\",\"subPath\":\"sub/dir\"}]}],"         \
														  "\"volumes\":[{\"name\":\"cache\",\"emptyDir\":{}},"                              \
														  "{\"name\":\"share\",\"hostPath\":{\"path\":\"%s\",\"type\":\"Directory\"}}]}"

START_TEST(test_empty_dir_shared)
{
	char prefix[96], node[96], spec[4096], path[256];
	struct th_proc *agent = agent_for("shared", prefix, sizeof(prefix), node, sizeof(node));

	snprintf(spec, sizeof(spec), SHARED_SPEC, SHARE);
	bind_pod(prefix, node, "web", "701", spec);
	snprintf(path, sizeof(path), "%s/sub/dir/seen", SHARE);
	wait_file(agent, path, "shared\n");
	snprintf(path, sizeof(path), "%s/sub/dir/ro", SHARE);
	wait_file(agent, path, "refused\n");
	snprintf(path, sizeof(path), "%s/701/volumes/cache/f", PODS);
	ck_assert_msg(access(path, F_OK) == 0, "%s: missing on the host", path);
	snprintf(path, sizeof(path), "%s/701/volumes/cache/w", PODS);
	ck_assert_msg(access(path, F_OK) < 0, "%s: the read-only mount was written", path);

	agent = unbind_until_gone(agent, prefix, node, "web", "701");
	ck_assert_int_eq(pod_containers(node, "web"), 0);
	th_proc_free(agent, 0);
	dh_remove_where("skiff.node", node);
}
END_TEST

#define HOST_SPEC                                                                                                   \
	"{\"containers\":[{\"name\":\"c\",\"image\":\"skiff/test-httpd:latest\",\"volumeMounts\":[{\"name\":\"h\"," \
	"\"mountPath\":\"/h\"}]}],\"volumes\":[{\"name\":\"h\",\"hostPath\":{\"path\":\"%s\"}}]}"

START_TEST(test_host_path_not_allowed)
{
	char prefix[96], node[96], spec[1024], link[256], key[256];
	struct th_proc *agent = agent_for("host", prefix, sizeof(prefix), node, sizeof(node));

	snprintf(link, sizeof(link), "%s/etc-link", SHARE);
	ck_assert_int_eq(symlink("/etc", link), 0);
	snprintf(spec, sizeof(spec), HOST_SPEC, "/etc");
	bind_pod(prefix, node, "etc", "702", spec);
	snprintf(spec, sizeof(spec), HOST_SPEC, link);
	bind_pod(prefix, node, "link", "703", spec);
	snprintf(key, sizeof(key), "%s/podstatus/%s/etc", prefix, node);
	wait_text(agent, key, "\"reason\":\"HostPathNotAllowed\"");
	snprintf(key, sizeof(key), "%s/podstatus/%s/link", prefix, node);
	wait_text(agent, key, "\"reason\":\"HostPathNotAllowed\"");
	snprintf(key, sizeof(key), "%s/nodeevents/%s/pods/etc/", prefix, node);
	wait_text(agent, key, "HostPathNotAllowed");
	ck_assert_int_eq(pod_containers(node, "etc"), 0);
	ck_assert_int_eq(pod_containers(node, "link"), 0);
	ck_assert(th_proc_running(agent));
	th_proc_free(agent, 0);
	dh_remove_where("skiff.node", node);
}
END_TEST

/* The container copies its ConfigMap file and its Secret file's mode out
 * through the shared hostPath, again and again; /cfg is a configMap
 * volume, /s a secret volume with one item of mode 0400. */
#define CONFIG_SPEC                                                                                                                                                                                                             \
	"{\"terminationGracePeriodSeconds\":1,\"containers\":[{\"name\":\"c\",\"image\":\"skiff/test-httpd:latest\"," SH(                                                                                                       \
		"while true; do /bin/busybox cat /cfg/greeting > /out/g.tmp && /bin/busybox mv /out/g.tmp /out/g; "                                                                                                             \
		"/bin/busybox stat -L -c %%a /s/pw > /out/m.tmp && /bin/busybox mv /out/m.tmp /out/m; "                                                                                                                         \
		"/bin/busybox cat /s/pw > /out/p.tmp && /bin/busybox mv /out/p.tmp /out/p; /bin/busybox sleep 0.2; done") ",\"volumeMounts\":[{\"name\":\"cfg\",\"mountPath\":\"/cfg\"},{\"name\":\"s\",\"mountPath\":\"/s\"}," \
															  "{\"name\":\"share\",\"mountPath\":\"/out\",\"subPath\":\"cm\"}]}],"                                  \
															  "\"volumes\":[{\"name\":\"cfg\",\"configMap\":{\"name\":\"web-config\"}},"                            \
															  "{\"name\":\"s\",\"secret\":{\"secretName\":\"db\",\"items\":[{\"key\":\"password\",\"path\":\"pw\"," \
															  "\"mode\":256}]}},{\"name\":\"share\",\"hostPath\":{\"path\":\"%s\",\"type\":\"Directory\"}}]}"

#define CM_COPY "{\"metadata\":{\"name\":\"web-config\"},\"data\":{\"greeting\":\"%s\"}}"

/* A ConfigMap volume's file changes in the running container after the
 * node's copy does; a secret item has the mode asked; a pod whose
 * ConfigMap the node has no copy of waits with CreateContainerConfigError. */
START_TEST(test_config_map_secret_volumes)
{
	char prefix[96], node[96], spec[4096], path[256], key[256], val[256];
	struct th_proc *agent = agent_for("cm", prefix, sizeof(prefix), node, sizeof(node));

	snprintf(key, sizeof(key), "%s/nodeconfig/%s/secrets/db", prefix, node);
	ck_assert(tu_put(S, key, "{\"metadata\":{\"name\":\"db\"},\"data\":{\"password\":\"aHVudGVyMg==\"}}") > 0);
	snprintf(key, sizeof(key), "%s/nodeconfig/%s/configmaps/web-config", prefix, node);
	snprintf(val, sizeof(val), CM_COPY, "hello");
	ck_assert(tu_put(S, key, val) > 0);
	snprintf(spec, sizeof(spec), CONFIG_SPEC, SHARE);
	bind_pod(prefix, node, "web", "711", spec);
	snprintf(path, sizeof(path), "%s/cm/g", SHARE);
	wait_file(agent, path, "hello");
	snprintf(path, sizeof(path), "%s/cm/m", SHARE);
	wait_file(agent, path, "400\n");
	snprintf(path, sizeof(path), "%s/cm/p", SHARE);
	wait_file(agent, path, "hunter2");

	snprintf(val, sizeof(val), CM_COPY, "updated");
	ck_assert(tu_put(S, key, val) > 0);
	snprintf(path, sizeof(path), "%s/cm/g", SHARE);
	wait_file(agent, path, "updated");
	ck_assert_int_eq(pod_containers(node, "web"), 2); /* not restarted: the infra container and c */

	bind_pod(prefix, node, "nocfg", "712",
	         "{\"containers\":[{\"name\":\"c\",\"image\":\"skiff/test-httpd:latest\",\"volumeMounts\":[{\"name\":"
	         "\"v\",\"mountPath\":\"/v\"}]}],\"volumes\":[{\"name\":\"v\",\"configMap\":{\"name\":\"absent\"}}]}");
	snprintf(key, sizeof(key), "%s/podstatus/%s/nocfg", prefix, node);
	wait_text(agent, key, "\"reason\":\"CreateContainerConfigError\"");
	snprintf(key, sizeof(key), "%s/nodeevents/%s/pods/nocfg/", prefix, node);
	wait_text(agent, key, "configMap absent of volume v not found");
	th_proc_free(agent, 0);
	dh_remove_where("skiff.node", node);
}
END_TEST

/* Is needle in file path? */
struct file_has_want {
	const char *path, *needle;
};

/* The whole file (/proc/mounts runs to tens of KB on a machine with many
 * containers: its first 4 KB missed the mount a test looked for). */
static int
file_has(void *arg)
{
	struct file_has_want *w = arg;
	size_t len = 1 << 20;
	char *buf = malloc(len);
	int found;

	if (!buf)
		return 0;
	found = strstr(read_small(w->path, buf, len), w->needle) != NULL;
	free(buf);
	return found;
}

#define MEMORY_SPEC                                                                                                                           \
	"{\"terminationGracePeriodSeconds\":1,\"containers\":[{\"name\":\"c\",\"image\":\"skiff/test-httpd:latest\"," SH(                     \
		"/bin/busybox grep ' /m ' /proc/mounts > /out/mnt.tmp; /bin/busybox mv /out/mnt.tmp /out/mnt; "                               \
		"exec /bin/busybox sleep 3600") ",\"volumeMounts\":[{\"name\":\"ram\",\"mountPath\":\"/m\"},"                                 \
						"{\"name\":\"share\",\"mountPath\":\"/out\",\"subPath\":\"mem\"}]}],"                         \
						"\"volumes\":[{\"name\":\"ram\",\"emptyDir\":{\"medium\":\"Memory\",\"sizeLimit\":\"1Mi\"}}," \
						"{\"name\":\"share\",\"hostPath\":{\"path\":\"%s\",\"type\":\"Directory\"}}]}"

/* An emptyDir with medium Memory is a tmpfs of sizeLimit in the container,
 * mounted on the host at its directory, unmounted and removed with the pod. */
START_TEST(test_empty_dir_memory)
{
	char prefix[96], node[96], spec[2048], path[256], host[256];
	struct th_proc *agent = agent_for("mem", prefix, sizeof(prefix), node, sizeof(node));
	struct file_has_want w = {path, "tmpfs /m tmpfs rw,nosuid,nodev"};
	struct file_has_want size = {path, "size=1024k"};
	struct file_has_want hw = {"/proc/mounts", host};

	snprintf(spec, sizeof(spec), MEMORY_SPEC, SHARE);
	bind_pod(prefix, node, "ram", "721", spec);
	snprintf(path, sizeof(path), "%s/mem/mnt", SHARE);
	if (poll_until(file_has, &w, 45) < 0)
		th_proc_free(agent, 1), agent = NULL;
	ck_assert_msg(file_has(&w), "%s: no tmpfs /m in the container", path);
	ck_assert_msg(file_has(&size), "%s: the tmpfs is not 1Mi", path);
	snprintf(host, sizeof(host), "tmpfs %s/721/volumes/ram tmpfs", PODS);
	ck_assert_msg(file_has(&hw), "no %s on the host", host);

	agent = unbind_until_gone(agent, prefix, node, "ram", "721");
	ck_assert_msg(!file_has(&hw), "%s still mounted after the pod was deleted", host);
	th_proc_free(agent, 0);
	dh_remove_where("skiff.node", node);
}
END_TEST

/* As user 1000 with fsGroup 2000: the emptyDir is the group's and setgid
 * (a file the container makes there is the group's too), the secret's
 * file (mode 0400 asked) is the group's and group-readable, so the
 * container reads it; the shared hostPath is not changed. */
#define FSGROUP_SPEC                                                                                                                                                                      \
	"{\"terminationGracePeriodSeconds\":1,\"securityContext\":{\"runAsUser\":1000,\"fsGroup\":2000},"                                                                                 \
	"\"containers\":[{\"name\":\"c\",\"image\":\"skiff/test-httpd:latest\"," SH(                                                                                                      \
		"/bin/busybox touch /e/f; { /bin/busybox stat -c '%%g %%a' /e; /bin/busybox stat -c %%g /e/f; "                                                                           \
		"/bin/busybox stat -L -c '%%g %%a' /s/pw; /bin/busybox cat /s/pw; echo; } > /out/r.tmp; "                                                                                 \
		"/bin/busybox mv /out/r.tmp /out/r; exec /bin/busybox sleep 3600") ",\"volumeMounts\":["                                                                                  \
										   "{\"name\":\"e\",\"mountPath\":\"/e\"},{\"name\":\"s\",\"mountPath\":\"/s\"},"                         \
										   "{\"name\":\"share\",\"mountPath\":\"/out\",\"subPath\":\"fsg\"}]}],\"volumes\":[{\"name\":\"e\","     \
										   "\"emptyDir\":{}},{\"name\":\"s\",\"secret\":{\"secretName\":\"db\",\"items\":[{\"key\":\"password\"," \
										   "\"path\":\"pw\",\"mode\":256}]}},{\"name\":\"share\",\"hostPath\":{\"path\":\"%s\",\"type\":\"Directory\"}}]}"

START_TEST(test_fs_group)
{
	char prefix[96], node[96], spec[4096], path[256], key[256];
	struct th_proc *agent = agent_for("fsg", prefix, sizeof(prefix), node, sizeof(node));
	struct stat st;

	snprintf(path, sizeof(path), "%s/fsg", SHARE);
	ck_assert_int_eq(mkdir(path, 0777), 0);
	ck_assert_int_eq(chmod(path, 0777), 0); /* user 1000 writes its report there */
	snprintf(key, sizeof(key), "%s/nodeconfig/%s/secrets/db", prefix, node);
	ck_assert(tu_put(S, key, "{\"metadata\":{\"name\":\"db\"},\"data\":{\"password\":\"aHVudGVyMg==\"}}") > 0);
	snprintf(spec, sizeof(spec), FSGROUP_SPEC, SHARE);
	bind_pod(prefix, node, "fsg", "731", spec);
	snprintf(path, sizeof(path), "%s/fsg/r", SHARE);
	wait_file(agent, path, "2000 2777\n2000\n2000 440\nhunter2\n");
	ck_assert_int_eq(stat(SHARE, &st), 0);
	ck_assert_int_eq(st.st_gid, 0); /* hostPath: left as it is */
	ck_assert_int_eq(st.st_mode & 07777, 0755);
	agent = unbind_until_gone(agent, prefix, node, "fsg", "731");
	th_proc_free(agent, 0);
	dh_remove_where("skiff.node", node);
}
END_TEST

#define FILL_SPEC                                                                                                                                                              \
	"{\"terminationGracePeriodSeconds\":1,\"containers\":[{\"name\":\"c\",\"image\":\"skiff/test-httpd:latest\"," SH(                                                      \
		"/bin/busybox dd if=/dev/zero of=/s/fill bs=1024 count=%d; exec /bin/busybox sleep 3600") ",\"volumeMounts\":[{\"name\":\"scratch\",\"mountPath\":\"/s\"}]}]," \
													  "\"volumes\":[{\"name\":\"scratch\",\"emptyDir\":{\"sizeLimit\":\"1Mi\"}}]}"

struct gone_want {
	const char *node, *pod;
};

static int
containers_gone(void *arg)
{
	struct gone_want *w = arg;

	return pod_containers(w->node, w->pod) == 0;
}

/* A disk emptyDir over its sizeLimit gets its pod evicted (phase Failed,
 * reason Evicted, Kubernetes' message, a Warning event Evicted, its
 * containers removed); a pod within its limit keeps running. */
START_TEST(test_empty_dir_size_limit)
{
	char prefix[96], node[96], spec[2048], key[256];
	struct th_proc *agent = agent_for("evict", prefix, sizeof(prefix), node, sizeof(node));
	struct gone_want g = {node, "big"};

	snprintf(spec, sizeof(spec), FILL_SPEC, 3072);
	bind_pod(prefix, node, "big", "741", spec);
	snprintf(spec, sizeof(spec), FILL_SPEC, 100);
	bind_pod(prefix, node, "small", "742", spec);
	snprintf(key, sizeof(key), "%s/podstatus/%s/big", prefix, node);
	wait_text(agent, key,
	          "\"message\":\"Usage of EmptyDir volume \\\"scratch\\\" exceeds the limit \\\"1Mi\\\".\"");
	wait_text(agent, key, "\"phase\":\"Failed\"");
	wait_text(agent, key, "\"reason\":\"Evicted\"");
	snprintf(key, sizeof(key), "%s/nodeevents/%s/pods/big/", prefix, node);
	wait_text(agent, key, "\"reason\":\"Evicted\"");
	if (poll_until(containers_gone, &g, 45) < 0)
		th_proc_free(agent, 1), agent = NULL;
	ck_assert_int_eq(pod_containers(node, "big"), 0);
	snprintf(key, sizeof(key), "%s/podstatus/%s/small", prefix, node);
	wait_text(agent, key, "\"phase\":\"Running\"");
	ck_assert_int_eq(pod_containers(node, "small"), 2);
	th_proc_free(agent, 0);
	dh_remove_where("skiff.node", node);
}
END_TEST

/* At start the agent removes the directories of pods no longer bound (a
 * UID), and leaves alone what is not a pod's. */
START_TEST(test_stale_swept_at_start)
{
	char prefix[96], node[96], stale[256], other[256];
	struct th_proc *agent;
	FILE *f;

	snprintf(other, sizeof(other), "%s/lost+found", PODS);
	ck_assert_int_eq(mkdir(PODS, 0700) == 0 || access(PODS, F_OK) == 0, 1);
	snprintf(stale, sizeof(stale), "%s/999", PODS);
	ck_assert_int_eq(mkdir(stale, 0700), 0);
	snprintf(stale, sizeof(stale), "%s/999/f", PODS);
	ck_assert_ptr_nonnull(f = fopen(stale, "w"));
	fclose(f);
	ck_assert_int_eq(mkdir(other, 0700), 0);
	snprintf(stale, sizeof(stale), "%s/999", PODS);
	agent = agent_for("stale", prefix, sizeof(prefix), node, sizeof(node));
	if (poll_until(path_gone, stale, 45) < 0)
		th_proc_free(agent, 1), agent = NULL;
	ck_assert_msg(access(stale, F_OK) < 0, "%s: a gone pod's directory survived the start", stale);
	ck_assert_int_eq(access(other, F_OK), 0);
	th_proc_free(agent, 0);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("agent_volumes");
	TCase *tc = tcase_create("core");

	tcase_add_unchecked_fixture(tc, suite_setup, suite_teardown);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_empty_dir_shared);
	tcase_add_test(tc, test_host_path_not_allowed);
	tcase_add_test(tc, test_stale_swept_at_start);
	tcase_add_test(tc, test_config_map_secret_volumes);
	tcase_add_test(tc, test_empty_dir_memory);
	tcase_add_test(tc, test_fs_group);
	tcase_add_test(tc, test_empty_dir_size_limit);
	suite_add_tcase(s, tc);
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
