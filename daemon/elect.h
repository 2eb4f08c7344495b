/*
 * elect.h: run a component's work only while it leads. With --leader-elect
 * (the default for programs that elect) it campaigns on
 * P/leaders/COMPONENT/ (runtime/leader.c) and calls lead() when it wins and
 * follow() as soon as it must stop acting; on SIGTERM it resigns so that
 * the standby takes over at once. With --leader-elect=false it calls lead()
 * once the loop runs. Link libskiffruntime.a after libskiffdaemon.a.
 */
#ifndef SKIFF_ELECT_H
#define SKIFF_ELECT_H

struct skiff_daemon;
struct daemon_elect;

struct daemon_elect *daemon_elect(struct skiff_daemon *d, const char *component, void (*lead)(void *arg),
                                  void (*follow)(void *arg), void *arg);
int daemon_elect_leading(const struct daemon_elect *e);
/* After daemon_run: frees (the lease, if any, was revoked by the stop hook). */
void daemon_elect_free(struct daemon_elect *e);

#endif
