/*
 * etcd_testutil.c: helpers shared by the etcd client suites (see
 * etcd_testutil.h). No assertions here; failures come back as values.
 */
#include "etcd_testutil.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <ev.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "etcd_harness.h"

void
tu_config(const struct th_etcd *e, struct etcd_config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	cfg->endpoints = th_etcd_endpoints(e);
	cfg->cacert = th_etcd_ca(e);
	cfg->cert = th_etcd_cert(e);
	cfg->key = th_etcd_key(e);
	cfg->request_timeout_ms = 3000;
	cfg->connect_timeout_ms = 1000;
}

const char *
tu_err(const struct etcd_error *err)
{
	static char buf[512];
	snprintf(buf, sizeof buf, "code=%s http=%ld grpc=%d unknown=%d ep=%s msg=%s", etcd_code_name(err->code),
	         err->http_status, err->grpc_code, err->outcome_unknown, err->endpoint, err->msg);
	return buf;
}

int64_t
tu_put(struct etcd_sync *s, const char *key, const char *val)
{
	struct etcd_result *r = etcd_sync_put(s, key, val, strlen(val), NULL);
	int64_t rev = -1;
	if (r && r->err.code == ETCD_OK)
		rev = r->revision;
	else
		fprintf(stderr, "tu_put %s: %s\n", key, r ? tu_err(&r->err) : "no memory");
	if (r)
		etcd_result_free(r);
	return rev;
}

int64_t
tu_put_binding(struct etcd_sync *s, const char *prefix, const char *node, const char *pod, int64_t uid)
{
	char key[512], val[768];

	snprintf(key, sizeof(key), "%s/bindings/%s/%s", prefix, node, pod);
	snprintf(val, sizeof(val),
	         "{\"node\":\"%s\",\"pod\":{\"metadata\":{\"name\":\"%s\",\"uid\":\"%" PRId64
	         "\"},\"spec\":{\"containers\":[{\"name\":\"web\",\"image\":\"httpd:2.4\"}]}}}",
	         node, pod, uid);
	return tu_put(s, key, val);
}

int64_t
tu_revision(struct etcd_sync *s)
{
	struct etcd_result *r = etcd_sync_get(s, "\x01tu-no-such-key");
	int64_t rev = r && r->err.code == ETCD_OK ? r->revision : -1;
	if (r)
		etcd_result_free(r);
	return rev;
}

void
tu_call_cb(struct etcd_result *res, void *arg)
{
	struct tu_call *c = arg;
	c->calls++;
	if (!c->res)
		c->res = etcd_result_take(res);
}

int
tu_call_done(void *arg)
{
	return ((struct tu_call *)arg)->calls > 0;
}

void
tu_call_reset(struct tu_call *c)
{
	if (c->res)
		etcd_result_free(c->res);
	c->res = NULL;
	c->calls = 0;
}

long
tu_count(struct etcd_sync *s, const char *prefix)
{
	struct etcd_range_opts o = {.prefix = 1, .count_only = 1};
	struct etcd_result *r = etcd_sync_range(s, prefix, &o);
	long n = r && r->err.code == ETCD_OK ? (long)r->count : -1;

	if (r)
		etcd_result_free(r);
	return n;
}

int
tu_closed_port(void)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof sa;
	int port = 0;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
		port = ntohs(sa.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

/* ------------------------------------------------------------------------
 * Watch log.
 */
static char *
dupn(const char *p, size_t n)
{
	char *d = malloc(n + 1);
	if (d) {
		if (p && n)
			memcpy(d, p, n);
		d[n] = 0;
	}
	return d;
}

void
tu_wlog_cb(struct etcd_watch *w, const struct etcd_watch_msg *m, void *arg)
{
	struct tu_wlog *l = arg;
	l->calls++;
	if (l->canceled) {
		l->calls_after_cancel++;
		return;
	}
	switch (m->kind) {
	case ETCD_WATCH_CREATED: l->created++; break;
	case ETCD_WATCH_PROGRESS: l->progress++; break;
	case ETCD_WATCH_RETRYING:
		l->retrying++;
		l->last_err = m->err ? m->err->code : ETCD_OK;
		break;
	case ETCD_WATCH_ERROR:
		l->errors++;
		l->last_err = m->err ? m->err->code : ETCD_OK;
		l->compact_revision = m->compact_revision;
		if (l->cancel_on_error) {
			l->canceled = 1;
			etcd_watch_cancel(w);
		}
		break;
	case ETCD_WATCH_EVENTS:
		for (size_t i = 0; i < m->nevents; i++) {
			const struct etcd_event *e = &m->events[i];
			if (l->n == l->cap) {
				size_t nc = l->cap ? 2 * l->cap : 64;
				struct tu_wev *ne = realloc(l->ev, nc * sizeof *ne);
				if (!ne)
					abort();
				l->ev = ne;
				l->cap = nc;
			}
			struct tu_wev *v = &l->ev[l->n++];
			memset(v, 0, sizeof *v);
			v->type = e->type;
			v->key = dupn(e->kv.key, e->kv.key_len);
			v->value = dupn(e->kv.value, e->kv.value_len);
			v->value_len = e->kv.value_len;
			v->mod_revision = e->kv.mod_revision;
			v->create_revision = e->kv.create_revision;
			v->version = e->kv.version;
			if (e->prev_kv) {
				v->has_prev = 1;
				v->prev_value = dupn(e->prev_kv->value, e->prev_kv->value_len);
			}
			if (e->kv.mod_revision <= l->last_rev)
				l->out_of_order++;
			if (e->kv.mod_revision == 0)
				l->events_with_revision_0++;
			l->last_rev = e->kv.mod_revision;
		}
		if (l->cancel_after > 0 && l->n >= (size_t)l->cancel_after) {
			l->canceled = 1;
			etcd_watch_cancel(w);
		}
		break;
	}
}

void
tu_wlog_free(struct tu_wlog *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->ev[i].key);
		free(l->ev[i].value);
		free(l->ev[i].prev_value);
	}
	free(l->ev);
	memset(l, 0, sizeof *l);
}

int
tu_wlog_created(void *arg)
{
	return ((struct tu_wlog *)arg)->created > 0;
}
int
tu_wlog_errored(void *arg)
{
	return ((struct tu_wlog *)arg)->errors > 0;
}
int
tu_wlog_retrying(void *arg)
{
	return ((struct tu_wlog *)arg)->retrying > 0;
}

int
tu_wlog_has(void *arg)
{
	struct tu_wcount *c = arg;
	return c->l->n >= c->n;
}

/* ------------------------------------------------------------------------
 * Writer.
 */
struct tu_writer {
	struct etcd_client *c;
	struct ev_loop *loop;
	char prefix[128];
	int n, next, errors, inflight;
	ev_timer retry;
};

static void writer_send(struct tu_writer *w);

static void
writer_cb(struct etcd_result *res, void *arg)
{
	struct tu_writer *w = arg;
	w->inflight = 0;
	if (res->err.code == ETCD_OK) {
		w->next++; /* applied now, or by an earlier attempt (then the compare failed) */
		writer_send(w);
	} else {
		w->errors++;
		ev_timer_set(&w->retry, 0.05, 0);
		ev_timer_start(w->loop, &w->retry);
	}
}

static void
writer_retry(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)loop;
	(void)revents;
	writer_send((struct tu_writer *)t->data);
}

static void
writer_send(struct tu_writer *w)
{
	char key[160], val[32];
	struct etcd_error err;
	if (w->next >= w->n || w->inflight)
		return;
	snprintf(key, sizeof key, "%s%05d", w->prefix, w->next);
	snprintf(val, sizeof val, "v%d", w->next);
	struct etcd_txn *t = etcd_txn_new();
	etcd_txn_cmp(t, key, ETCD_CMP_CREATE, ETCD_CMP_EQUAL, 0);
	etcd_txn_put(t, ETCD_TXN_SUCCESS, key, val, strlen(val), 0);
	if (etcd_txn_commit(w->c, t, writer_cb, w, &err) == 0) {
		w->inflight = 1;
	} else {
		w->errors++;
		ev_timer_set(&w->retry, 0.05, 0);
		ev_timer_start(w->loop, &w->retry);
	}
}

struct tu_writer *
tu_writer_start(struct etcd_client *c, const char *prefix, int n)
{
	struct tu_writer *w = calloc(1, sizeof *w);
	if (!w)
		return NULL;
	w->c = c;
	w->loop = etcd_client_loop(c);
	w->n = n;
	snprintf(w->prefix, sizeof w->prefix, "%s", prefix);
	ev_timer_init(&w->retry, writer_retry, 0.05, 0);
	w->retry.data = w;
	writer_send(w);
	return w;
}

int
tu_writer_written(const struct tu_writer *w)
{
	return w->next;
}
int
tu_writer_errors(const struct tu_writer *w)
{
	return w->errors;
}
int
tu_writer_done(void *arg)
{
	struct tu_writer *w = arg;
	return w->next >= w->n;
}

int
tu_writer_reached(void *arg)
{
	struct tu_writer_at *a = arg;
	return a->w->next >= a->n;
}

/* Only when no call is in flight (writer done, or the client freed: its
 * callbacks have run with ETCD_ECANCELED). */
void
tu_writer_free(struct tu_writer *w)
{
	if (!w)
		return;
	ev_timer_stop(w->loop, &w->retry);
	free(w);
}

struct etcd_sync *
tu_refused_sync(long request_timeout_ms, long retry_budget_ms)
{
	struct etcd_config cfg = {0};
	struct etcd_error err;
	char ep[64];

	snprintf(ep, sizeof ep, "http://127.0.0.1:%d", tu_closed_port());
	cfg.endpoints = ep; /* copied by the client */
	cfg.request_timeout_ms = request_timeout_ms;
	cfg.retry_budget_ms = retry_budget_ms;
	return etcd_sync_new(&cfg, &err);
}

long
tu_healthz(int port)
{
	char url[64];
	long st = 0;
	CURL *h = curl_easy_init();

	if (!h)
		return 0;
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/healthz", port);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 3000L);
	curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
	if (curl_easy_perform(h) == CURLE_OK)
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &st);
	curl_easy_cleanup(h);
	return st;
}
