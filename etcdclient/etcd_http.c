/*
 * etcd_http.c: every libcurl call of the client. Runs HTTP transfers
 * (struct etcd_xfer) on curl's multi-socket API, which curl_ev.c drives
 * from the caller's libev loop.
 *
 * A finished transfer is reported in exactly one place, check_multi_info(),
 * outside any curl callback, after its easy handle went back to the pool.
 * Aborts are deferred to a zero timer so that an owner may ask for one from
 * inside a curl callback (a watch handler cancelling its own watch); so are
 * transfers started inside a curl callback (a watch handler that issues a
 * request), since curl refuses re-entrant calls.
 * It knows nothing of etcd's JSON; it does not retry.
 */
#include <stdlib.h>
#include <string.h>

#include "etcd_internal.h"

static void check_multi_info(struct etcd_client *c);

/* curl_ev's done(): read what finished. */
static void
curl_done(struct curl_ev *ce)
{
	check_multi_info(ETCD_CONTAINER_OF(ce, struct etcd_client, ce));
}

static void
pool_put(struct etcd_client *c, CURL *easy)
{
	if (c->npool < (int)(sizeof(c->pool) / sizeof(c->pool[0]))) {
		curl_easy_reset(easy);
		c->pool[c->npool++] = easy;
	} else {
		curl_easy_cleanup(easy);
	}
}

static CURL *
pool_get(struct etcd_client *c)
{
	if (c->npool > 0)
		return c->pool[--c->npool];
	return curl_easy_init();
}

static void
unlink_abort(struct etcd_client *c, struct etcd_xfer *x)
{
	struct etcd_xfer **pp;

	for (pp = &c->aborts; *pp; pp = &(*pp)->next_abort) {
		if (*pp == x) {
			*pp = x->next_abort;
			break;
		}
	}
	x->next_abort = NULL;
}

static void
unlink_add(struct etcd_client *c, struct etcd_xfer *x)
{
	struct etcd_xfer **pp;

	for (pp = &c->adds; *pp; pp = &(*pp)->next_add) {
		if (*pp == x) {
			*pp = x->next_add;
			break;
		}
	}
	x->next_add = NULL;
	x->deferred = 0;
}

/* Detach x from curl and give its handle back; x is then not running. */
static void
release(struct etcd_client *c, struct etcd_xfer *x)
{
	if (x->deferred)
		unlink_add(c, x);
	else
		curl_multi_remove_handle(c->ce.multi, x->easy);
	pool_put(c, x->easy);
	x->easy = NULL;
	curl_slist_free_all(x->hdrs);
	x->hdrs = NULL;
	if (x->aborting)
		unlink_abort(c, x);
}

static void
finish(struct etcd_client *c, struct etcd_xfer *x, CURLcode rc)
{
	long status = 0;
	curl_off_t sent = 0;
	char msg[CURL_ERROR_SIZE];

	curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_getinfo(x->easy, CURLINFO_REQUEST_SIZE, &sent);
	x->connected = sent > 0;
	if (x->aborting)
		rc = CURLE_ABORTED_BY_CALLBACK;
	snprintf(msg, sizeof(msg), "%s", x->errbuf[0] ? x->errbuf : curl_easy_strerror(rc));
	release(c, x);
	x->aborting = 0;
	x->on_done(x, rc, status, msg);
}

static void
check_multi_info(struct etcd_client *c)
{
	CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(c->ce.multi, &left))) {
		struct etcd_xfer *x = NULL;

		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&x);
		finish(c, x, m->data.result);
	}
}

static void
abort_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct etcd_client *c = ETCD_CONTAINER_OF(w, struct etcd_client, abort_timer);

	(void)loop;
	(void)revents;
	etcd_http_flush(c);
}

void
etcd_http_flush(struct etcd_client *c)
{
	while (c->aborts) {
		struct etcd_xfer *x = c->aborts;

		c->aborts = x->next_abort;
		x->next_abort = NULL;
		/* finish() looks for x on the list again: harmless, it is gone. */
		finish(c, x, CURLE_ABORTED_BY_CALLBACK);
	}
	while (c->adds) {
		struct etcd_xfer *x = c->adds;

		c->adds = x->next_add;
		x->next_add = NULL;
		x->deferred = 0;
		if (curl_multi_add_handle(c->ce.multi, x->easy) != CURLM_OK) {
			snprintf(x->errbuf, sizeof(x->errbuf), "curl_multi_add_handle failed");
			x->deferred = 1;    /* never added: release must not remove it */
			finish(c, x, CURLE_FAILED_INIT);
		}
	}
}

static void
arm_flush(struct etcd_client *c)
{
	if (!ev_is_active(&c->abort_timer)) {
		ev_timer_set(&c->abort_timer, 0.0, 0.0);
		ev_timer_start(c->loop, &c->abort_timer);
	}
}

int
etcd_http_init(struct etcd_client *c, struct etcd_error *err)
{
	if (curl_ev_init(&c->ce, c->loop, curl_done) < 0)
		return etcd_seterr(err, ETCD_ENOMEM, "curl_multi_init failed");
	/* Keep enough idle connections for a burst of 64 concurrent calls. */
	curl_multi_setopt(c->ce.multi, CURLMOPT_MAXCONNECTS, 128L);
	ev_timer_init(&c->abort_timer, abort_cb, 0.0, 0.0);
	return 0;
}

void
etcd_http_cleanup(struct etcd_client *c)
{
	etcd_http_flush(c);
	ev_timer_stop(c->loop, &c->abort_timer);
	while (c->npool > 0)
		curl_easy_cleanup(c->pool[--c->npool]);
	curl_ev_cleanup(&c->ce);
}

static size_t
write_cb(char *p, size_t sz, size_t n, void *ud)
{
	struct etcd_xfer *x = ud;

	if (x->aborting)
		return 0;
	return x->on_data(x, p, sz * n);
}

static int
set_headers(struct etcd_xfer *x, int stream, const char *token)
{
	struct curl_slist *h = NULL, *t;
	char auth[1024];

	h = curl_slist_append(h, "Content-Type: application/json");
	if (!h)
		return -1;
	/* etcd answers 100-continue at once, but asking costs a round trip. */
	if (!(t = curl_slist_append(h, "Expect:")))
		goto fail;
	h = t;
	if (stream) {
		/* A member cut off from the majority ends the stream instead of going quiet. */
		if (!(t = curl_slist_append(h, "Grpc-Metadata-hasleader: true")))
			goto fail;
		h = t;
	}
	if (token) {
		snprintf(auth, sizeof(auth), "Authorization: %s", token);
		if (!(t = curl_slist_append(h, auth)))
			goto fail;
		h = t;
	}
	x->hdrs = h;
	return 0;
fail:
	curl_slist_free_all(h);
	return -1;
}

int
etcd_xfer_start(struct etcd_xfer *x, const char *url, const char *body, size_t len,
                long timeout_ms, int stream, const char *token, struct etcd_error *err)
{
	struct etcd_client *c = x->c;
	CURL *e;

	if (x->easy)
		return etcd_seterr(err, ETCD_EINVAL, "transfer already running");
	e = pool_get(c);
	if (!e || set_headers(x, stream, token) < 0) {
		if (e)
			pool_put(c, e);
		return etcd_seterr(err, ETCD_ENOMEM, "out of memory starting a request");
	}
	x->errbuf[0] = '\0';
	x->aborting = 0;
	x->connected = 0;
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_POST, 1L);
	curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, x->hdrs);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(e, CURLOPT_PRIVATE, x);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_PROXY, "");          /* never via http_proxy */
	/* HTTP/2 on a plain port reaches etcd's gRPC server, not the gateway. */
	curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, c->connect_timeout_ms);
	if (stream) {
		curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
		curl_easy_setopt(e, CURLOPT_TCP_KEEPIDLE, 10L);
		curl_easy_setopt(e, CURLOPT_TCP_KEEPINTVL, 5L);
		/* A watch holds its connection; don't hand it to another request. */
		curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
	} else {
		curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms);
	}
	if (c->cacert)
		curl_easy_setopt(e, CURLOPT_CAINFO, c->cacert);
	if (c->cert)
		curl_easy_setopt(e, CURLOPT_SSLCERT, c->cert);
	if (c->key)
		curl_easy_setopt(e, CURLOPT_SSLKEY, c->key);
	x->easy = e;
	if (c->ce.in_curl) {
		x->deferred = 1;
		x->next_add = c->adds;
		c->adds = x;
		arm_flush(c);
		return 0;
	}
	if (curl_multi_add_handle(c->ce.multi, e) != CURLM_OK) {
		x->easy = NULL;
		curl_slist_free_all(x->hdrs);
		x->hdrs = NULL;
		pool_put(c, e);
		return etcd_seterr(err, ETCD_ENOMEM, "curl_multi_add_handle failed");
	}
	return 0;
}

void
etcd_xfer_abort(struct etcd_xfer *x)
{
	struct etcd_client *c = x->c;

	if (!x->easy || x->aborting)
		return;
	x->aborting = 1;
	x->next_abort = c->aborts;
	c->aborts = x;
	arm_flush(c);
}

int
etcd_xfer_running(const struct etcd_xfer *x)
{
	return x->easy != NULL;
}
