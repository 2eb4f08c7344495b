/*
 * e2e_net.c: traffic inside the bed (e2e_bed.h). An HTTP client runs in a
 * child that has entered a minion's network namespace (setns on
 * /run/netns/skiff-mI), so this process's own namespace sends nothing;
 * the child reports the "pod=" names it saw through a pipe. Commands in a
 * pod run through that minion's Docker API (exec).
 */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "docker_harness.h"
#include "e2e_bed.h"
#include "th_podhttp.h"

/* GET http://ip/ with 2 s timeouts; the "pod=" name into pod, "" when
 * there was no answer. With say, a failure is told on stderr: when (wall
 * clock, as the bed's logs), and whether the connect or the answer failed. */
static void
get_pod(const char *ip, char *pod, size_t len, int say)
{
	double t0 = bed_now();
	int fd = th_http_dial(ip, 80, 2), err = errno;
	struct timespec now;
	struct tm tm;
	char when[32];

	pod[0] = '\0';
	if (fd >= 0)
		th_http_pod(fd, "e2e", pod, len);
	if (pod[0] || !say)
		return;
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(when, sizeof(when), "%H:%M:%S", &tm);
	fprintf(stderr, "e2e_net: %s.%03ldZ GET http://%s/ failed after %.1f s: %s\n", when, now.tv_nsec / 1000000, ip,
	        bed_now() - t0, fd < 0 ? strerror(err) : "connected, no answer");
}

static int
enter(int i)
{
	char path[64];
	int fd, rc;

	snprintf(path, sizeof(path), "/run/netns/skiff-m%d", i);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	rc = setns(fd, CLONE_NEWNET);
	close(fd);
	return rc;
}

static int
seen(char got[][128], int n, const char *pod)
{
	for (int k = 0; k < n; k++)
		if (strcmp(got[k], pod) == 0)
			return 1;
	return 0;
}

/* pod added to the n names of got (when new and there is room): the new n. */
static int
add_name(char got[][128], int n, const char *pod)
{
	if (!seen(got, n, pod) && n < BED_MAXA)
		snprintf(got[n++], 128, "%s", pod);
	return n;
}

/* Every name of want is among the n of got. */
static int
has_all(char (*want)[128], int n_want, char got[][128], int n)
{
	for (int k = 0; k < n_want; k++)
		if (!seen(got, n, want[k]))
			return 0;
	return 1;
}

/* The child: one line per request ("" for a failure) on fd; every > 0
 * paces the requests (seconds between one's end and the next's start). */
static void
client(int fd, int i, const char *ip, char (*want)[128], int n_want, int max, double secs, double every)
{
	static char got[BED_MAXA][128];
	double end = bed_now() + secs;
	char pod[128];
	int n = 0;

	if (enter(i) < 0)
		_exit(2);
	for (int k = 0; k < max && bed_now() < end; k++) {
		get_pod(ip, pod, sizeof(pod), every > 0);
		dprintf(fd, "%s\n", pod);
		if (pod[0])
			n = add_name(got, n, pod);
		if (want && has_all(want, n_want, got, n))
			break;
		if (!pod[0])
			usleep(50 * 1000); /* not answering yet: poll again */
		else if (every > 0)
			usleep((useconds_t)(every * 1e6));
	}
	_exit(0);
}

/* The child's pipe is close-on-exec: a program the caller starts
 * meanwhile (tests/cluster's daemons) must not keep its read end open. */
static pid_t
spawn_client(int i, const char *ip, int max, double secs, double every, int *rfd)
{
	int p[2];
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	if ((pid = fork()) < 0) {
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (pid == 0) {
		close(p[0]);
		signal(SIGPIPE, SIG_DFL); /* the reader closing its end stops the child */
		client(p[1], i, ip, NULL, 0, max, secs, every);
	}
	close(p[1]);
	*rfd = p[0];
	return pid;
}

pid_t
bed_http_spawn(int i, const char *ip, int max, double secs, int *rfd)
{
	return spawn_client(i, ip, max, secs, 0, rfd);
}

int
bed_http_from(int i, const char *ip, char (*want)[128], int n_want, int max, double secs, char got[][128], int *failed)
{
	int p[2], n = 0, st = 0;
	pid_t pid;
	FILE *f;
	char line[256];

	*failed = 0;
	if (pipe(p) < 0 || (pid = fork()) < 0)
		return -1;
	if (pid == 0) {
		close(p[0]);
		client(p[1], i, ip, want, n_want, max, secs, 0);
	}
	close(p[1]);
	f = fdopen(p[0], "r");
	while (f && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		if (line[0])
			n = add_name(got, n, line);
		else
			(*failed)++;
	}
	if (f)
		fclose(f);
	waitpid(pid, &st, 0);
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? n : -1;
}

/* ---------------------------------------------------------------- Docker */

/* The ID of pod's container cname on minion i, or "". */
static void
find_container(int i, const char *pod, const char *cname, char *id, size_t len)
{
	char filt[512], path[1024], *resp = NULL, *enc;
	json_t *j;

	id[0] = '\0';
	snprintf(filt, sizeof(filt), "{\"label\":[\"skiff.pod=%s\",\"skiff.container=%s\"]}", pod, cname);
	enc = curl_easy_escape(NULL, filt, 0);
	snprintf(path, sizeof(path), "/containers/json?filters=%s", enc ? enc : "");
	curl_free(enc);
	if (dh_request_on(bed_docker(i), "GET", path, NULL, &resp) == 200 && (j = json_loads(resp, 0, NULL))) {
		if (json_array_size(j) == 1)
			snprintf(id, len, "%s", json_string_value(json_object_get(json_array_get(j, 0), "Id")) ?: "");
		json_decref(j);
	}
	free(resp);
}

/* POST /containers/ID/exec for argv; the exec's ID as a new string. */
static char *
exec_create(int i, const char *id, const char *const argv[])
{
	json_t *req = json_pack("{s:b, s:b, s:b, s:[]}", "AttachStdout", 1, "AttachStderr", 1, "Tty", 1, "Cmd");
	json_t *res = NULL;
	char path[256], *body, *resp = NULL, *eid = NULL;
	long st;

	for (int k = 0; argv[k]; k++)
		json_array_append_new(json_object_get(req, "Cmd"), json_string(argv[k]));
	body = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	snprintf(path, sizeof(path), "/containers/%s/exec", id);
	st = dh_request_on(bed_docker(i), "POST", path, body, &resp);
	if (st == 201 && (res = json_loads(resp, 0, NULL)))
		eid = strdup(json_string_value(json_object_get(res, "Id")) ?: "");
	else
		fprintf(stderr, "e2e_net: exec in %s on m%d: %ld %s\n", id, i, st, resp ? resp : "");
	json_decref(res);
	free(body);
	free(resp);
	return eid;
}

char *
bed_exec_in_pod(int i, const char *pod, const char *cname, const char *const argv[])
{
	char id[128], path[256], *eid, *resp = NULL;

	find_container(i, pod, cname, id, sizeof(id));
	if (!id[0] || !(eid = exec_create(i, id, argv))) {
		fprintf(stderr, "e2e_net: no container %s of pod %s on m%d to exec in\n", cname, pod, i);
		return NULL;
	}
	snprintf(path, sizeof(path), "/exec/%s/start", eid);
	free(eid);
	if (dh_request_on(bed_docker(i), "POST", path, "{\"Detach\":false,\"Tty\":true}", &resp) != 200) {
		free(resp);
		return NULL;
	}
	return resp;
}

json_t *
bed_pod_container_list(int i)
{
	char path[256], *resp = NULL, *enc;
	json_t *j = NULL;

	enc = curl_easy_escape(NULL, "{\"label\":[\"skiff.pod\"]}", 0);
	snprintf(path, sizeof(path), "/containers/json?all=1&filters=%s", enc ? enc : "");
	curl_free(enc);
	if (dh_request_on(bed_docker(i), "GET", path, NULL, &resp) == 200)
		j = json_loads(resp, 0, NULL);
	free(resp);
	return j;
}

int
bed_pod_containers(int i)
{
	json_t *j = bed_pod_container_list(i);
	int n = j ? (int)json_array_size(j) : -1;

	json_decref(j);
	return n;
}

int
bed_docker_tag(const char *image, const char *repo, const char *tag)
{
	char path[512];

	snprintf(path, sizeof(path), "/images/%s/tag?repo=%s&tag=%s", image, repo, tag);
	for (int i = 1; i <= bed_minions(); i++) {
		char *resp = NULL;
		long st = dh_request_on(bed_docker(i), "POST", path, NULL, &resp);

		free(resp);
		if (st != 201) {
			fprintf(stderr, "e2e_net: cannot tag %s as %s:%s on m%d (%ld)\n", image, repo, tag, i, st);
			return -1;
		}
	}
	return 0;
}

pid_t
bed_http_spawn_every(int i, const char *ip, double every, double secs, int *rfd)
{
	return spawn_client(i, ip, 1 << 30, secs, every, rfd);
}
