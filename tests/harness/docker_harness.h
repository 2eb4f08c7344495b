/*
 * docker_harness.h: the Docker side of integration tests. Makes sure a
 * dockerd answers on /var/run/docker.sock (starting one in the background,
 * and leaving it running, when none does), builds the local test images
 * from Debian's busybox-static (no registry needed), and talks to the
 * Engine API synchronously (libcurl on the unix socket).
 *
 * Failures are reported on stderr and returned as -1 / 0 statuses. Nothing
 * here sleeps for synchronisation: waits poll a condition to a deadline.
 */
#ifndef SKIFF_TESTS_DOCKER_HARNESS_H
#define SKIFF_TESTS_DOCKER_HARNESS_H

#define DH_SOCKET "/var/run/docker.sock"
#define DH_TEST_IMAGE "skiff/test-httpd:latest"

/* 0 when GET /_ping answers; otherwise start `dockerd` in the background
 * (log in /tmp/skiff-dockerd.log) and wait up to timeout_s for it. */
int dh_ensure_dockerd(double timeout_s);
/* skiff/test-httpd:latest, made by scripts/test-image.sh (as for make up):
 * /bin/busybox and /www/index.html ("hello"), CMD busybox httpd -f -p 80
 * -h /www. Imported when missing; run from the repository root. 0 / -1. */
int dh_ensure_test_image(void);
/* Import image repo:tag from a tarball when missing. 0 / -1. */
int dh_ensure_image_from_tar(const char *tarball, const char *repo, const char *tag);

/* One request; path without the version ("/containers/json"). Returns the
 * HTTP status (0 on transport failure); *resp, when resp is non-NULL, gets
 * the body as a new string. */
long dh_request(const char *method, const char *path, const char *body, char **resp);
/* The same on another dockerd's socket (e.g. a minion of tests/cluster). */
long dh_request_on(const char *sock, const char *method, const char *path, const char *body, char **resp);
/* Containers (all=1) with every label of labels ("k=v" or "k", NULL-ended):
 * their count, or -1; *ids (when non-NULL) gets the IDs, sorted,
 * '\n'-joined (new string). */
int dh_list(const char *const *labels, char **ids);
/* Force-remove every container with label key whose value starts with
 * value_prefix. Returns how many, or -1. */
int dh_remove_where(const char *key, const char *value_prefix);
/* Force-remove one container (ID or name). 0 / -1. */
int dh_remove(const char *id);
/* Create and start a container of the test image with the given labels
 * ("k=v", NULL-ended, may be NULL) and name; its ID as a new string. */
char *dh_run(const char *name, const char *const *labels);
/* 1 when container id exists, 0 when not, -1 on error. */
int dh_exists(const char *id);

#endif
