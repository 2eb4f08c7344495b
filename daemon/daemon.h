/*
 * daemon.h: the life of a Skiff program, from flags to a clean stop.
 *
 *   int
 *   main(int argc, char **argv)
 *   {
 *           static struct skiff_daemon d;
 *           int rc;
 *
 *           daemon_init(&d, &prog, argc, argv);  // exits 0/1/2 when it must
 *           sched_start(&d);                     // watches, timers, daemon_on_stop(...)
 *           rc = daemon_run(&d);                 // until SIGTERM/SIGINT and stop hooks
 *           sched_free();
 *           daemon_free(&d);
 *           return rc;
 *   }
 *
 * Stop hooks run one after another, the last registered first, so a
 * component registered after another is stopped before it. A hook that
 * must wait (resign leadership, revoke a lease, finish a write) returns
 * DAEMON_PENDING and calls daemon_stop_done when its work ends; the loop
 * breaks once every hook is done, or after twice --etcd-timeout.
 */
#ifndef SKIFF_DAEMON_H
#define SKIFF_DAEMON_H

#include <ev.h>

#include "etcd.h"
#include "health.h"
#include "log.h"
#include "metrics.h"
#include "opts.h"

struct skiff_daemon;
enum { DAEMON_DONE = 0, DAEMON_PENDING = 1 };
/* Returns DAEMON_DONE, or DAEMON_PENDING and calls daemon_stop_done later. */
typedef int (*daemon_stop_fn)(struct skiff_daemon *d, void *arg);

struct daemon_hook;

struct skiff_daemon {
	struct ev_loop *loop; /* ev_default_loop */
	const struct skiff_prog *prog;
	struct skiff_opts opts;   /* parsed common flags (the program's own are in its table) */
	char **args;              /* positional arguments: args[0..opts.nargs-1] */
	struct etcd_client *etcd; /* connected: etcd answered a status call */
	struct metrics *metrics;  /* register the component's series here */
	struct health *health;    /* add the component's checks here (served if --health-addr) */
	int stopping;             /* a stop began: start no new work */
	int exit_code;            /* what daemon_run returns */
	/* private */
	ev_signal sigterm, sigint;
	ev_timer stop_timer;
	struct daemon_hook *hooks, *next_hook;
	const char *current_hook;
	int waiting, in_hook, stopped;
	ev_timer nospace_timer; /* daemon_nospace.c */
	struct metric *m_nospace;
	double nospace_said;
	int nospace_polling;
};

/* Parse flags (exit 0 for --help/--version, 2 with a message and the usage
 * line for bad ones), set up logging, ignore SIGPIPE, take SIGTERM and
 * SIGINT, serve --health-addr, connect to etcd and check that it answers
 * within --etcd-timeout. Exits 1 with a log line saying what to check when
 * the health address or etcd fails. d must be zeroed (static) storage. */
void daemon_init(struct skiff_daemon *d, const struct skiff_prog *p, int argc, char **argv);

/* Register a stop hook (name copied, for logs). 0, or -1 out of memory. */
int daemon_on_stop(struct skiff_daemon *d, const char *name, daemon_stop_fn fn, void *arg);
/* A hook that returned DAEMON_PENDING has finished (also safe to call from
 * inside the hook itself). Extra calls are ignored. */
void daemon_stop_done(struct skiff_daemon *d);
/* Begin stopping as SIGTERM would, with exit status code (e.g. 1 after a
 * fatal run-time error). Repeated calls are ignored. */
void daemon_stop(struct skiff_daemon *d, int code);

/* Run the loop until the stop is over. Returns the exit status: 0 after a
 * signal, or the code given to daemon_stop. */
int daemon_run(struct skiff_daemon *d);
/* Free what daemon_init made (etcd client, health server, metrics, loop).
 * Free the components' own state first. */
void daemon_free(struct skiff_daemon *d);

#endif
