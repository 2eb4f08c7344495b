/*
 * daemon.c: start-up and tear-down shared by every Skiff daemon: flags,
 * logging, the loop, metrics and the health server, the etcd client.
 *
 * Start-up failures exit here (2 for usage, 1 for the rest) so that each
 * main.c stays a few lines long; nothing in here exits after daemon_init.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon_internal.h"

/*
 * Debian's libcurl loads GnuTLS (through librtmp, for rtmps:// URLs that
 * Skiff never uses), and GnuTLS initialises itself when it is loaded:
 * about 120 kB of ASN.1 trees and tables in every process's heap (5 % of
 * an idle agent's private memory) and, with p11-kit, some 0.7 MB of
 * library pages touched. This is GnuTLS's documented way out
 * (GNUTLS_SKIP_GLOBAL_INIT in gnutls.h, the function written out here so
 * that no GnuTLS header is needed): the library finds this definition in
 * the executable and skips its load-time set-up. What does use GnuTLS
 * calls gnutls_global_init() itself first (libmicrohttpd when a health
 * server is started, a libcurl built on GnuTLS).
 */
int _gnutls_global_init_skip(void);
int
_gnutls_global_init_skip(void)
{
	return 1;
}

static int
check_stopping(void *arg, char *reason, size_t len)
{
	struct skiff_daemon *d = arg;

	if (!d->stopping)
		return 0;
	snprintf(reason, len, "stopping");
	return -1;
}

/* "skiff-scheduler" logs as component=scheduler. */
static const char *
component_name(const char *prog)
{
	return strncmp(prog, "skiff-", 6) == 0 ? prog + 6 : prog;
}

static void
builtin_metrics(struct skiff_daemon *d)
{
	char labels[128];

	snprintf(labels, sizeof(labels), "program=\"%s\",version=\"%s\"", d->prog->name, SKIFF_VERSION);
	metric_set(metrics_add(d->metrics, "skiff_build_info", labels, METRIC_GAUGE, "Program and version; always 1."),
	           1);
	metric_set(metrics_add(d->metrics, "process_start_time_seconds", NULL, METRIC_GAUGE,
	                       "Start time of the process since the Unix epoch in seconds."),
	           (double)time(NULL));
	daemon_etcd_metrics(d);
}

/* Everything after the flags; -1 after logging why. */
static int
start(struct skiff_daemon *d)
{
	char err[512];

	signal(SIGPIPE, SIG_IGN);
	if (!(d->loop = ev_default_loop(EVFLAG_AUTO))) {
		log_errorx("cannot create the event loop (bad LIBEV_FLAGS?)");
		return -1;
	}
	if (!(d->metrics = metrics_new()) || !(d->health = health_new(d->metrics)) ||
	    health_check_add(d->health, "daemon", check_stopping, d) < 0) {
		log_errorx("out of memory");
		return -1;
	}
	builtin_metrics(d);
	if (d->opts.health_addr[0] && health_listen(d->health, d->loop, d->opts.health_addr, err, sizeof(err)) < 0) {
		log_kv(LL_ERROR, KV("addr", d->opts.health_addr), "%s; check --health-addr (\"\" turns it off)", err);
		return -1;
	}
	daemon_signals_start(d);
	if (daemon_etcd_connect(d) < 0)
		return -1;
	if (d->etcd)
		daemon_nospace_start(d);
	return 0;
}

void
daemon_init(struct skiff_daemon *d, const struct skiff_prog *p, int argc, char **argv)
{
	d->prog = p;
	opts_parse_or_exit(&d->opts, p, argc, argv);
	d->args = argv + 1;
	log_init(component_name(p->name), d->opts.log_level, NULL);
	if (start(d) < 0) {
		daemon_free(d);
		exit(1);
	}
	if (d->stopping) { /* a signal came while etcd was being checked */
		daemon_free(d);
		exit(0);
	}
	log_kv(LL_INFO, KV("version", SKIFF_VERSION, "prefix", d->opts.prefix, "health", d->opts.health_addr),
	       "started");
}

int
daemon_run(struct skiff_daemon *d)
{
	char code[16];

	if (!d->stopped)
		ev_run(d->loop, 0);
	snprintf(code, sizeof(code), "%d", d->exit_code);
	log_kv(LL_INFO, KV("exit", code), "stopped");
	return d->exit_code;
}

void
daemon_free(struct skiff_daemon *d)
{
	if (d->loop)
		daemon_stop_cleanup(d);
	daemon_nospace_stop(d);
	health_free(d->health);
	etcd_client_free(d->etcd);
	metrics_free(d->metrics);
	opts_free(&d->opts);
	if (d->loop)
		ev_loop_destroy(d->loop);
	memset(d, 0, sizeof(*d));
}
