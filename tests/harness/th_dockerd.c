/*
 * th_dockerd.c: a dockerd of a test's own (th_dockerd.h). It runs under
 * `unshare --net` with --bridge=none and no iptables, so it changes nothing
 * of the host's network; its containers, data root and directory are gone
 * after th_dockerd_free. It does not build images (scripts/test-image.sh
 * does) and does not judge what the test does with it.
 */
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "docker_harness.h"
#include "th_dockerd.h"
#include "th_proc.h"

struct th_dockerd {
	char dir[128], root[160], sock[160];
	struct th_proc *p;
	int mounted;
};

/* system() of a formatted command: its status. */
static int
run(const char *fmt, const char *a, const char *b)
{
	char cmd[1024];

	snprintf(cmd, sizeof(cmd), fmt, a, b);
	return system(cmd);
}

static int
answers(const struct th_dockerd *d, double timeout_s)
{
	for (double waited = 0; waited < timeout_s && th_proc_running(d->p); waited += 0.2) {
		if (dh_request_on(d->sock, "GET", "/_ping", NULL, NULL) == 200)
			return 1;
		usleep(200 * 1000);
	}
	return 0;
}

/* dockerd's argv into argv (room for 20; bufs hold the strings). */
static void
dockerd_argv(const struct th_dockerd *d, const char *name, char bufs[5][192], const char **argv)
{
	snprintf(bufs[0], 192, "%s/exec", d->dir);
	snprintf(bufs[1], 192, "%s/exec/dockerd.pid", d->dir);
	snprintf(bufs[2], 192, "unix://%s", d->sock);
	snprintf(bufs[3], 192, "%s", name);
	snprintf(bufs[4], 192, "%s-p", name);
	const char *v[] = {"unshare",
	                   "--net",
	                   "--",
	                   "dockerd",
	                   "--data-root",
	                   d->root,
	                   "--exec-root",
	                   bufs[0],
	                   "--pidfile",
	                   bufs[1],
	                   "-H",
	                   bufs[2],
	                   "--bridge=none",
	                   "--iptables=false",
	                   "--ip-masq=false",
	                   "--containerd-namespace",
	                   bufs[3],
	                   "--containerd-plugins-namespace",
	                   bufs[4],
	                   NULL};

	memcpy(argv, v, sizeof(v));
}

struct th_dockerd *
th_dockerd_start(const char *dir, const char *name, int tmpfs_mb)
{
	struct th_dockerd *d = calloc(1, sizeof(*d));
	char bufs[5][192], size[32];
	const char *argv[20];

	if (!d)
		return NULL;
	snprintf(d->dir, sizeof(d->dir), "%s", dir);
	snprintf(d->root, sizeof(d->root), "%s/root", dir);
	snprintf(d->sock, sizeof(d->sock), "%s/docker.sock", dir);
	snprintf(size, sizeof(size), "size=%dm", tmpfs_mb);
	if (run("mkdir -p %s/exec %s", dir, d->root) != 0 ||
	    run("mount -t tmpfs -o %s skiff-dockerd %s", size, d->root) != 0) {
		fprintf(stderr, "th_dockerd: cannot make %s or mount a tmpfs on it\n", d->root);
		th_dockerd_free(d);
		return NULL;
	}
	d->mounted = 1;
	dockerd_argv(d, name, bufs, argv);
	d->p = th_proc_start("/usr/bin/unshare", (char *const *)argv, NULL);
	if (d->p && answers(d, 60))
		return d;
	if (d->p) {
		char *log = th_proc_log(d->p);
		size_t n = log ? strlen(log) : 0;

		fprintf(stderr, "th_dockerd: dockerd on %s did not answer in 60 s; its log:\n%s\n", d->sock,
		        log ? log + (n > 2000 ? n - 2000 : 0) : "(none)");
		free(log);
	}
	th_dockerd_free(d);
	return NULL;
}

const char *
th_dockerd_sock(const struct th_dockerd *d)
{
	return d->sock;
}

pid_t
th_dockerd_pid(const struct th_dockerd *d)
{
	return th_proc_pid(d->p);
}

int
th_dockerd_test_image(const struct th_dockerd *d)
{
	return run("DOCKER_HOST=unix://%s scripts/test-image.sh >/dev/null 2>&1%s", d->sock, "") == 0 ? 0 : -1;
}

/* Force-remove every container of d (it answers). */
static void
remove_all(struct th_dockerd *d)
{
	char *ids = NULL, path[160];
	json_t *a, *c;
	size_t i;

	if (dh_request_on(d->sock, "GET", "/containers/json?all=1", NULL, &ids) != 200) {
		free(ids);
		return;
	}
	a = json_loads(ids, 0, NULL);
	json_array_foreach(a, i, c) {
		snprintf(path, sizeof(path), "/containers/%s?force=1&v=1",
		         json_string_value(json_object_get(c, "Id")) ?: "none");
		dh_request_on(d->sock, "DELETE", path, NULL, NULL);
	}
	json_decref(a);
	free(ids);
}

void
th_dockerd_free(struct th_dockerd *d)
{
	if (!d)
		return;
	if (d->p) {
		th_proc_signal(d->p, SIGCONT); /* a test may have left it stopped */
		if (answers(d, 10))
			remove_all(d);
		th_proc_signal(d->p, SIGTERM);
		if (th_proc_wait(d->p, 30) < 0)
			th_proc_kill(d->p);
		th_proc_free(d->p, 0);
	}
	if (d->mounted)
		run("umount -l %s 2>/dev/null%s", d->root, "");
	run("rm -rf %s%s", d->dir, "");
	free(d);
}
