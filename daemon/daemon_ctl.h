/*
 * daemon_ctl.h: a controller (runtime/controller.h) as the work of a
 * daemon. A program's main is then its flag table, its handlers and
 *
 *         daemon_init(&d, &prog, argc, argv);
 *         c = daemon_controller(&d, &cfg);     // cfg: watches, reconcile
 *         rc = daemon_controller_run(&d, c, "scheduler", NULL);
 *         controller_free(c);
 *         daemon_free(&d);
 *
 * Link libskiffruntime.a after libskiffdaemon.a.
 */
#ifndef SKIFF_DAEMON_CTL_H
#define SKIFF_DAEMON_CTL_H

#include "controller.h"
#include "daemon.h"
#include "elect.h"

/* controller_new with the daemon's loop and etcd client; a cfg prefix of
 * NULL means --prefix, a resync of 0 means --resync-interval (when the
 * program takes it), and informer errors without a handler are logged.
 * Exits 1 when out of memory. */
struct controller *daemon_controller(struct skiff_daemon *d, const struct controller_config *cfg);

/* Start c's informers; run it while this process leads the election
 * P/leaders/COMPONENT (programs that do not elect run it at once); on
 * SIGTERM stop c and wait for its work in flight, then resign; run the
 * loop until the stop is over. *elect (when elect is not NULL) holds the
 * election during the run, for fencing, and is NULL after. Returns
 * daemon_run's status. */
int daemon_controller_run(struct skiff_daemon *d, struct controller *c, const char *component,
                          struct daemon_elect **elect);

#endif
