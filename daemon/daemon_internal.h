/*
 * daemon_internal.h: what daemon.c shares with daemon_etcd.c,
 * daemon_tls.c and daemon_stop.c. Not for components.
 */
#ifndef SKIFF_DAEMON_INTERNAL_H
#define SKIFF_DAEMON_INTERNAL_H

#include "daemon.h"

/* Create d->etcd and wait (running d->loop) until etcd answers a status
 * call, --etcd-timeout passes or a stop begins. 0 when connected or
 * stopping; -1 after logging what failed and what to check. */
int daemon_etcd_connect(struct skiff_daemon *d);
/* Before the first curl call: when o configures no TLS, set OpenSSL up
 * without its config file and error strings (daemon_tls.c). */
void daemon_tls_init(const struct skiff_opts *o);
/* Series reading the etcd client's counters. */
void daemon_etcd_metrics(struct skiff_daemon *d);

/* daemon_nospace.c: watch for etcd's NOSPACE alarm once connected; stop
 * its timer. */
void daemon_nospace_start(struct skiff_daemon *d);
void daemon_nospace_stop(struct skiff_daemon *d);

/* Start the SIGTERM/SIGINT watchers. */
void daemon_signals_start(struct skiff_daemon *d);
/* Stop the watchers and free the hooks. */
void daemon_stop_cleanup(struct skiff_daemon *d);

#endif
