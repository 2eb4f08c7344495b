/*
 * th_dockerd.h: a dockerd of a test's own (th_dockerd.c), for tests that
 * freeze, fill or break Docker without touching the host's: its data root
 * on a tmpfs under a directory of its own, its socket there, in a network
 * namespace of its own (--bridge=none deletes docker0 wherever a dockerd
 * runs, so it must not run in the host's), its containerd namespace named
 * after it. Start it from the runner's process (an unchecked fixture), so
 * that it outlives a failed test and th_dockerd_free still cleans up.
 */
#ifndef SKIFF_TESTS_TH_DOCKERD_H
#define SKIFF_TESTS_TH_DOCKERD_H

#include <sys/types.h>

struct th_dockerd;

/* Make dir (a fresh path), mount a tmpfs of tmpfs_mb MiB as its data root,
 * start dockerd there (containerd namespace name) and wait up to 60 s for
 * GET /_ping. NULL on failure, with dockerd's log on stderr and
 * everything made undone. Root only. */
struct th_dockerd *th_dockerd_start(const char *dir, const char *name, int tmpfs_mb);
/* Its socket path, and its pid (to SIGSTOP it). */
const char *th_dockerd_sock(const struct th_dockerd *d);
pid_t th_dockerd_pid(const struct th_dockerd *d);
/* Load the test image (scripts/test-image.sh, from the repository root)
 * into it: 0 or -1. */
int th_dockerd_test_image(const struct th_dockerd *d);
/* Continue it (it may be stopped), force-remove its containers, stop it
 * (SIGTERM, SIGKILL after 30 s), unmount the tmpfs, remove the directory.
 * NULL is fine. */
void th_dockerd_free(struct th_dockerd *d);

#endif
