/*
 * docker_harness.c: Docker for integration tests (docker_harness.h).
 * Synchronous libcurl on the Engine API socket; image builds use tar and
 * the Engine API's import (POST /images/create?fromSrc=-).
 */
#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "docker_harness.h"

struct buf {
	char *p;
	size_t n;
};

static size_t
collect(char *p, size_t sz, size_t n, void *ud)
{
	struct buf *b = ud;
	char *np = realloc(b->p, b->n + sz * n + 1);

	if (!np)
		return 0;
	memcpy(np + b->n, p, sz * n);
	b->p = np;
	b->n += sz * n;
	b->p[b->n] = '\0';
	return sz * n;
}

static long
request_on(const char *sock, const char *method, const char *path, const void *body, size_t len, const char *ctype,
           long timeout_s, char **resp)
{
	CURL *c = curl_easy_init();
	struct curl_slist *h = NULL;
	struct buf b = {0};
	char url[4096], ct[128];
	long status = 0;

	if (!c)
		return 0;
	snprintf(url, sizeof(url), "http://localhost/v1.41%s", path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, sock);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, timeout_s);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	if (strcmp(method, "POST") == 0) {
		curl_easy_setopt(c, CURLOPT_POST, 1L);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body ? body : "");
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(body ? len : 0));
		if (body) {
			snprintf(ct, sizeof(ct), "Content-Type: %s", ctype ? ctype : "application/json");
			h = curl_slist_append(h, ct);
		}
		h = curl_slist_append(h, "Expect:");
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	} else if (strcmp(method, "GET") != 0) {
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	}
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	if (resp)
		*resp = b.p ? b.p : strdup("");
	else
		free(b.p);
	return status;
}

static long
request(const char *method, const char *path, const void *body, size_t len, const char *ctype, long timeout_s,
        char **resp)
{
	return request_on(DH_SOCKET, method, path, body, len, ctype, timeout_s, resp);
}

long
dh_request_on(const char *sock, const char *method, const char *path, const char *body, char **resp)
{
	return request_on(sock, method, path, body, body ? strlen(body) : 0, NULL, 60, resp);
}

long
dh_request(const char *method, const char *path, const char *body, char **resp)
{
	return request(method, path, body, body ? strlen(body) : 0, NULL, 60, resp);
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int
dh_ensure_dockerd(double timeout_s)
{
	double end = now() + timeout_s;
	int started = 0;

	while (request("GET", "/_ping", NULL, 0, NULL, 2, NULL) != 200) {
		if (!started) {
			fprintf(stderr, "docker_harness: no dockerd on %s; starting one (log /tmp/skiff-dockerd.log)\n",
			        DH_SOCKET);
			/* Without descriptors 3-9: a dockerd that kept the lock of
			 * `flock /tmp/skiff-docker.lock` would hold it for ever. */
			if (system("setsid dockerd >/tmp/skiff-dockerd.log 2>&1 </dev/null 3>&- 4>&- 5>&- 6>&- 7>&- 8>&- "
			           "9>&- &") != 0) {
				fprintf(stderr, "docker_harness: cannot run dockerd\n");
				return -1;
			}
			started = 1;
		}
		if (now() > end) {
			fprintf(stderr,
			        "docker_harness: dockerd did not answer within %.0f s (see /tmp/skiff-dockerd.log)\n",
			        timeout_s);
			return -1;
		}
		usleep(100 * 1000);
	}
	return 0;
}

static int
import_tar(const char *tarball, const char *query)
{
	FILE *f = fopen(tarball, "rb");
	char *data = NULL, *resp = NULL, path[1024];
	long n = 0, st = 0;
	int rc = -1;

	if (!f || fseek(f, 0, SEEK_END) < 0 || (n = ftell(f)) <= 0 || fseek(f, 0, SEEK_SET) < 0 ||
	    !(data = malloc((size_t)n)) || fread(data, 1, (size_t)n, f) != (size_t)n) {
		fprintf(stderr, "docker_harness: cannot read %s\n", tarball);
		goto out;
	}
	snprintf(path, sizeof(path), "/images/create?fromSrc=-&%s", query);
	st = request("POST", path, data, (size_t)n, "application/x-tar", 120, &resp);
	if (st != 200 || strstr(resp, "\"error\"")) {
		fprintf(stderr, "docker_harness: import %s failed: %ld %s\n", query, st, resp);
		goto out;
	}
	rc = 0;
out:
	if (f)
		fclose(f);
	free(data);
	free(resp);
	return rc;
}

static int
image_exists(const char *ref)
{
	char path[512];

	snprintf(path, sizeof(path), "/images/%s/json", ref);
	return dh_request("GET", path, NULL, NULL) == 200;
}

int
dh_ensure_image_from_tar(const char *tarball, const char *repo, const char *tag)
{
	char ref[512], q[600];
	char *er = curl_easy_escape(NULL, repo, 0);
	int rc;

	snprintf(ref, sizeof(ref), "%s:%s", repo, tag);
	if (image_exists(ref)) {
		curl_free(er);
		return 0;
	}
	snprintf(q, sizeof(q), "repo=%s&tag=%s", er ? er : repo, tag);
	curl_free(er);
	rc = import_tar(tarball, q);
	return rc;
}

int
dh_ensure_test_image(void)
{
	if (image_exists(DH_TEST_IMAGE))
		return 0;
	/* One definition of the test image, shared with make up. */
	if (system("./scripts/test-image.sh") != 0) {
		fprintf(stderr, "docker_harness: scripts/test-image.sh failed (is busybox-static installed?)\n");
		return -1;
	}
	return image_exists(DH_TEST_IMAGE) ? 0 : -1;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
dh_list(const char *const *labels, char **ids)
{
	json_t *f = json_object(), *arr = json_array(), *j, *it;
	char *fs, *enc, path[4096], *resp = NULL;
	size_t i, n;
	long st;
	const char **v;
	size_t len = 0;

	for (i = 0; labels && labels[i]; i++)
		json_array_append_new(arr, json_string(labels[i]));
	json_object_set_new(f, "label", arr);
	fs = json_dumps(f, JSON_COMPACT);
	json_decref(f);
	enc = curl_easy_escape(NULL, fs, 0);
	snprintf(path, sizeof(path), "/containers/json?all=1&filters=%s", enc);
	free(fs);
	curl_free(enc);
	st = dh_request("GET", path, NULL, &resp);
	j = st == 200 ? json_loads(resp, 0, NULL) : NULL;
	free(resp);
	if (!json_is_array(j)) {
		json_decref(j);
		return -1;
	}
	n = json_array_size(j);
	if (ids) {
		v = calloc(n + 1, sizeof(*v));
		json_array_foreach(j, i, it) {
			v[i] = json_string_value(json_object_get(it, "Id"));
			len += strlen(v[i]) + 1;
		}
		qsort(v, n, sizeof(*v), cmp_str);
		*ids = calloc(1, len + 1);
		for (i = 0; i < n; i++) {
			strcat(*ids, v[i]);
			strcat(*ids, "\n");
		}
		free(v);
	}
	json_decref(j);
	return (int)n;
}

int
dh_remove(const char *id)
{
	char path[512];
	long st;

	snprintf(path, sizeof(path), "/containers/%s?force=1&v=1", id);
	st = dh_request("DELETE", path, NULL, NULL);
	return st == 204 || st == 404 ? 0 : -1;
}

int
dh_remove_where(const char *key, const char *value_prefix)
{
	const char *labels[] = {key, NULL};
	char path[1024], *resp = NULL, *enc, f[512];
	json_t *j, *it;
	size_t i;
	int n = 0;

	snprintf(f, sizeof(f), "{\"label\":[\"%s\"]}", labels[0]);
	enc = curl_easy_escape(NULL, f, 0);
	snprintf(path, sizeof(path), "/containers/json?all=1&filters=%s", enc);
	curl_free(enc);
	if (dh_request("GET", path, NULL, &resp) != 200) {
		free(resp);
		return -1;
	}
	j = json_loads(resp, 0, NULL);
	free(resp);
	json_array_foreach(j, i, it) {
		const char *v = json_string_value(json_object_get(json_object_get(it, "Labels"), key));

		if (v && strncmp(v, value_prefix, strlen(value_prefix)) == 0 &&
		    dh_remove(json_string_value(json_object_get(it, "Id"))) == 0)
			n++;
	}
	json_decref(j);
	return n;
}

char *
dh_run(const char *name, const char *const *labels)
{
	json_t *body = json_pack("{s:s,s:{}}", "Image", DH_TEST_IMAGE, "Labels"), *l = json_object_get(body, "Labels");
	char *s, *resp = NULL, path[512], *id = NULL;
	json_t *r;
	size_t i;
	long st;

	for (i = 0; labels && labels[i]; i++) {
		char k[256];
		const char *eq = strchr(labels[i], '=');

		snprintf(k, sizeof(k), "%.*s", (int)(eq ? eq - labels[i] : (long)strlen(labels[i])), labels[i]);
		json_object_set_new(l, k, json_string(eq ? eq + 1 : ""));
	}
	s = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	snprintf(path, sizeof(path), "/containers/create?name=%s", name);
	st = dh_request("POST", path, s, &resp);
	free(s);
	r = st == 201 ? json_loads(resp, 0, NULL) : NULL;
	if (!r)
		fprintf(stderr, "docker_harness: create %s: %ld %s\n", name, st, resp);
	free(resp);
	if (r && json_is_string(json_object_get(r, "Id")))
		id = strdup(json_string_value(json_object_get(r, "Id")));
	json_decref(r);
	if (id) {
		snprintf(path, sizeof(path), "/containers/%s/start", id);
		st = dh_request("POST", path, NULL, NULL);
		if (st != 204) {
			fprintf(stderr, "docker_harness: start %s: %ld\n", name, st);
			dh_remove(id);
			free(id);
			id = NULL;
		}
	}
	return id;
}

int
dh_exists(const char *id)
{
	char path[512];
	long st;

	snprintf(path, sizeof(path), "/containers/%s/json", id);
	st = dh_request("GET", path, NULL, NULL);
	return st == 200 ? 1 : st == 404 ? 0 : -1;
}
