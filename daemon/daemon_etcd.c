/*
 * daemon_etcd.c: the daemon's etcd client: created from the flags, checked
 * once at start with a status call, and read by /metrics.
 *
 * The start-up check runs the program's loop until the answer, the timeout
 * or a stop; it says in its log line which endpoints failed and which flags
 * to look at. It does not retry: whoever runs the daemon restarts it.
 */
#include <stdio.h>
#include <string.h>

#include "daemon_internal.h"

struct probe {
	int done, timed_out;
	struct etcd_error err;
	char version[32];
};

static void
on_status(struct etcd_result *res, void *arg)
{
	struct probe *p = arg;

	p->done = 1;
	p->err = res->err;
	if (res->version_str)
		snprintf(p->version, sizeof(p->version), "%s", res->version_str);
}

static void
on_probe_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop, (void)revents;
	((struct probe *)w->data)->timed_out = 1;
}

static const char *
advice(enum etcd_code code)
{
	switch (code) {
	case ETCD_ETLS: return "check --etcd-cacert, --etcd-cert, --etcd-key and that the endpoints use https://";
	case ETCD_EAUTH:
	case ETCD_EPERM: return "check --etcd-user and the password (SKIFF_ETCD_PASSWORD or --etcd-password-file)";
	case ETCD_EBADRESP:
	case ETCD_EINVAL: return "check that --etcd-endpoints lists etcd (>= 3.4) client URLs";
	default: return "check that etcd is running and that --etcd-endpoints (or SKIFF_ETCD_ENDPOINTS) points at it";
	}
}

static int
probe(struct skiff_daemon *d)
{
	struct probe p = {0};
	ev_timer t;

	if (etcd_status(d->etcd, on_status, &p, &p.err) < 0)
		goto fail;
	ev_timer_init(&t, on_probe_timeout, (double)d->opts.etcd_timeout_ms / 1000.0, 0.);
	t.data = &p;
	ev_timer_start(d->loop, &t);
	while (!p.done && !p.timed_out && !d->stopping)
		ev_run(d->loop, EVRUN_ONCE);
	ev_timer_stop(d->loop, &t);
	if (!p.done) {
		/* The call still points at p: end it (and the client) now. */
		etcd_client_free(d->etcd);
		d->etcd = NULL;
		if (d->stopping)
			return 0;
		snprintf(p.err.msg, sizeof(p.err.msg), "no answer within %ld ms", d->opts.etcd_timeout_ms);
		p.err.code = ETCD_ETIMEOUT;
	}
	if (p.err.code != ETCD_OK)
		goto fail;
	log_kv(LL_INFO, KV("endpoint", etcd_client_endpoint(d->etcd), "version", p.version), "connected to etcd");
	return 0;
fail:
	log_kv(LL_ERROR, KV("endpoints", d->opts.etcd_endpoints, "code", etcd_code_name(p.err.code)),
	       "etcd is not answering: %s; %s", p.err.msg, advice(p.err.code));
	return -1;
}

int
daemon_etcd_connect(struct skiff_daemon *d)
{
	struct etcd_config cfg;
	struct etcd_error err = {0};

	opts_etcd_config(&d->opts, &cfg);
	daemon_tls_init(&d->opts);
	if (!(d->etcd = etcd_client_new(d->loop, &cfg, &err))) {
		log_kv(LL_ERROR, KV("endpoints", d->opts.etcd_endpoints, "code", etcd_code_name(err.code)),
		       "cannot set up the etcd client: %s; %s", err.msg, advice(err.code));
		return -1;
	}
	return probe(d);
}

/* One getter per counter of struct etcd_stats. */
#define ETCD_STAT(field)                                \
	static double etcd_stat_##field(void *arg)      \
	{                                               \
		struct skiff_daemon *d = arg;           \
		struct etcd_stats s = {0};              \
		if (d->etcd)                            \
			etcd_client_stats(d->etcd, &s); \
		return (double)s.field;                 \
	}
ETCD_STAT(requests)
ETCD_STAT(failures)
ETCD_STAT(retries)
ETCD_STAT(failovers)
ETCD_STAT(auths)
ETCD_STAT(watch_events)
ETCD_STAT(watch_restarts)

void
daemon_etcd_metrics(struct skiff_daemon *d)
{
	static const struct {
		const char *name, *help;
		metric_fn fn;
	} s[] = {
		{"skiff_etcd_requests_total", "HTTP requests sent to etcd (each attempt counts).", etcd_stat_requests},
		{"skiff_etcd_request_failures_total", "etcd calls that ended in an error.", etcd_stat_failures},
		{"skiff_etcd_retries_total", "etcd calls sent again after a failure.", etcd_stat_retries},
		{"skiff_etcd_failovers_total", "Switches to another etcd endpoint.", etcd_stat_failovers},
		{"skiff_etcd_auths_total", "Authentications to etcd (new tokens).", etcd_stat_auths},
		{"skiff_etcd_watch_events_total", "Events received on etcd watches.", etcd_stat_watch_events},
		{"skiff_etcd_watch_restarts_total", "etcd watch streams resumed after a break.",
	         etcd_stat_watch_restarts},
	};

	for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++)
		metrics_add_fn(d->metrics, s[i].name, NULL, METRIC_COUNTER, s[i].help, s[i].fn, d);
}
