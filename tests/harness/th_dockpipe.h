/*
 * th_dockpipe.h: a Docker that can be frozen. A process group of the test's
 * own listens on a unix socket and passes every connection through to the
 * real Docker socket, byte for byte. th_dockpipe_freeze stops the whole
 * group (SIGSTOP): connections are still accepted by the kernel and
 * nothing answers, which is what a wedged dockerd looks like from outside
 * (seen: libnetwork deadlocked, every call hanging). th_dockpipe_thaw
 * resumes it. The real Docker daemon answers everything else.
 */
#ifndef SKIFF_TESTS_TH_DOCKPIPE_H
#define SKIFF_TESTS_TH_DOCKPIPE_H

struct th_dockpipe;

/* Listen on a new socket path (th_dockpipe_path) and forward to docker
 * (e.g. "/var/run/docker.sock"). NULL when it cannot. */
struct th_dockpipe *th_dockpipe_start(const char *docker);
const char *th_dockpipe_path(const struct th_dockpipe *p);
void th_dockpipe_freeze(struct th_dockpipe *p);
void th_dockpipe_thaw(struct th_dockpipe *p);
/* Kill the group, remove the socket. NULL is fine. */
void th_dockpipe_free(struct th_dockpipe *p);

#endif
