/*
 * etcd_req.c: the life of one unary call. Sends the body to the preferred
 * endpoint, reads the answer, and decides: done, fail over to the next
 * endpoint, back off, re-authenticate, or give up. Each request completes
 * exactly once, in complete(), which is the only place it is freed.
 *
 * Retry rules (the Go client's, restated): a request that never reached a
 * server (connection refused, TLS or connect failure) may always be sent
 * again; "unavailable" answers that etcd gives before applying anything (no
 * leader, not capable, too many requests) likewise. A request whose outcome
 * is unknown (timeout or connection lost after sending) is sent again only
 * when it is safe: a read, or a transaction guarded by a compare. Otherwise
 * the caller gets the error with outcome_unknown set.
 */
#include <stdlib.h>
#include <string.h>

#include "etcd_internal.h"

struct result_box {
	struct etcd_result res;
	int taken;
};

struct etcd_result *
etcd_result_take(struct etcd_result *res)
{
	ETCD_CONTAINER_OF(res, struct result_box, res)->taken = 1;
	return res;
}

struct etcd_result *
etcd_result_new(void)
{
	struct result_box *box = calloc(1, sizeof(*box));

	if (!box)
		return NULL;
	box->taken = 1;
	return &box->res;
}

static int attempt(struct etcd_req *r);
static void next_page(struct etcd_req *r);

static void
list_remove(struct etcd_req *r)
{
	struct etcd_client *c = r->c;

	if (r->prev)
		r->prev->next = r->next;
	else if (c->reqs == r)
		c->reqs = r->next;
	if (r->next)
		r->next->prev = r->prev;
	r->next = r->prev = NULL;
}

static void
req_free(struct etcd_req *r)
{
	if (r->ctx_free)
		r->ctx_free(r->ctx);
	free(r->body);
	free(r->token_used);
	free(r);
}

/* The one place a request ends: call back, then free. */
static void
complete(struct etcd_req *r, const struct etcd_error *err)
{
	struct etcd_client *c = r->c;
	struct result_box *box = ETCD_CONTAINER_OF(r->res, struct result_box, res);

	ev_timer_stop(c->loop, &r->backoff);
	etcd_auth_unqueue(c, &r->aw);
	list_remove(r);
	if (err) {
		etcd_result_clear(r->res);
		r->res->err = *err;
		c->stats.failures++;
	}
	snprintf(r->res->err.endpoint, sizeof(r->res->err.endpoint), "%s", c->eps[r->ep].url);
	if (r->res->err.code == ETCD_ENOSPACE && !c->nospace) {
		c->nospace = 1;
		if (c->nospace_fn)
			c->nospace_fn(c->nospace_arg);
	}
	r->cb(r->res, r->arg);
	if (!box->taken)
		etcd_result_free(r->res);
	req_free(r);
}

static void
backoff_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	attempt(ETCD_CONTAINER_OF(w, struct etcd_req, backoff));
}

/* Try again (another endpoint) unless the budget is spent. */
static void
retry(struct etcd_req *r, struct etcd_error *err)
{
	struct etcd_client *c = r->c;
	double elapsed = ev_now(c->loop) - r->started;
	double delay = 0;

	r->attempts++;
	if (r->attempts % c->neps == 0)
		delay = etcd_backoff(r->attempts / c->neps - 1, 0.05, 1.0);
	/* Give up rather than wait past the budget. */
	if (r->attempts >= 100 || (elapsed + delay) * 1000.0 >= (double)c->retry_budget_ms) {
		if (r->attempts > 1)
			snprintf(err->msg + strlen(err->msg), sizeof(err->msg) - strlen(err->msg),
			         " (gave up after %d attempts in %.1fs)", r->attempts, elapsed);
		complete(r, err);
		return;
	}
	c->stats.retries++;
	etcd_client_failover(c, r->ep);
	ev_timer_set(&r->backoff, delay, 0.0);
	ev_timer_start(c->loop, &r->backoff);
}

static int
tls_error(CURLcode rc)
{
	switch (rc) {
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ENGINE_NOTFOUND:
	case CURLE_SSL_ENGINE_SETFAILED:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_USE_SSL_FAILED: return 1;
	default: return 0;
	}
}

/* The peer's certificate (or our CA or client files) failed verification:
 * trying again later gives the same answer. */
static int
cert_rejected(CURLcode rc)
{
	return rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CERTPROBLEM || rc == CURLE_SSL_CACERT_BADFILE ||
	       rc == CURLE_SSL_ISSUER_ERROR || rc == CURLE_SSL_PINNEDPUBKEYNOTMATCH || rc == CURLE_SSL_CRL_BADFILE ||
	       rc == CURLE_SSL_INVALIDCERTSTATUS;
}

/* A transport failure: the request may or may not have reached etcd. */
static void
transport_failed(struct etcd_req *r, CURLcode rc, int sent, const char *msg)
{
	struct etcd_error err = {0};
	const char *url = r->c->eps[r->ep].url;

	if (rc == CURLE_FILESIZE_EXCEEDED) {
		etcd_seterr(&err, ETCD_ETOOLARGE, "response from %s is larger than %zu bytes", url, r->c->max_response);
		complete(r, &err);
		return;
	}
	if (rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST)
		sent = 0;
	/* A server that refuses our certificate does so with an alert that
	 * curl reports as a plain receive error. */
	if (tls_error(rc) || ((rc == CURLE_RECV_ERROR || rc == CURLE_SEND_ERROR) && strstr(msg, "SSL"))) {
		etcd_seterr(&err, ETCD_ETLS, "TLS with %s failed: %s (check --etcd-cacert, --etcd-cert, --etcd-key)",
		            url, msg);
		/* A certificate does not fix itself in seconds: try each other
		 * endpoint once, then say so instead of backing off until the
		 * budget ends in a timeout that hides the cause. A reset during
		 * the handshake (a member restarting) is retried as usual. */
		if (cert_rejected(rc) && r->attempts + 1 >= r->c->neps) {
			complete(r, &err);
			return;
		}
		sent = 0;
	} else if (rc == CURLE_OPERATION_TIMEDOUT && sent) {
		etcd_seterr(&err, ETCD_ETIMEOUT, "%s did not answer %s in time: %s", url, r->path, msg);
	} else {
		etcd_seterr(&err, ETCD_ECONN, "cannot reach etcd at %s: %s", url, msg);
	}
	if (!sent || (r->flags & ETCD_REQ_SAFE)) {
		retry(r, &err);
		return;
	}
	err.outcome_unknown = 1;
	complete(r, &err);
}

/* Unavailable answers that etcd gives before applying anything. */
static int
not_applied(const char *msg)
{
	static const char *const m[] = {"no leader",         "not capable",  "learner", "unhealthy cluster",
	                                "too many requests", "no available", NULL};

	for (int i = 0; m[i]; i++)
		if (strstr(msg, m[i]))
			return 1;
	return 0;
}

static void
server_error(struct etcd_req *r, long status, int grpc, const char *msg)
{
	struct etcd_error err = {0};
	struct etcd_client *c = r->c;

	err.grpc_code = grpc;
	err.http_status = status;
	etcd_seterr(&err, etcd_classify(grpc, msg), "etcd at %s: %s", c->eps[r->ep].url, msg);
	if (c->user && !(r->flags & ETCD_REQ_NO_AUTH) && etcd_auth_token_error(grpc, msg) && r->attempts < 3) {
		/* The token expired or the auth store moved on: get a new one. */
		etcd_auth_invalidate(c, r->token_used);
		r->attempts++;
		attempt(r);
		return;
	}
	if (err.code == ETCD_ETIMEOUT) {
		/* etcd gave up waiting (DeadlineExceeded): the write may still apply. */
		if (r->flags & ETCD_REQ_SAFE) {
			retry(r, &err);
			return;
		}
		err.outcome_unknown = 1;
	}
	if (err.code == ETCD_EUNAVAIL || grpc == 14) {
		if (not_applied(msg) || (r->flags & ETCD_REQ_SAFE)) {
			retry(r, &err);
			return;
		}
		err.outcome_unknown = 1;
	}
	complete(r, &err);
}

static void
bad_response(struct etcd_req *r, long status, const char *why)
{
	struct etcd_error err = {0};
	char snippet[64];
	size_t n = r->resp_len < sizeof(snippet) - 1 ? r->resp_len : sizeof(snippet) - 1;

	for (size_t i = 0; i < n; i++)
		snippet[i] = (r->resp[i] >= 32 && r->resp[i] < 127) ? r->resp[i] : '?';
	snippet[n] = '\0';
	err.http_status = status;
	etcd_seterr(&err, ETCD_EBADRESP, "%s%s answered %s with HTTP %ld: %s (body: \"%s\")", r->c->eps[r->ep].url,
	            r->path, status == 404 ? "(is this an etcd >= 3.4 client URL?)" : "", status, why, snippet);
	if (status == 503 && (r->flags & ETCD_REQ_SAFE)) {
		err.code = ETCD_EUNAVAIL;
		retry(r, &err);
		return;
	}
	complete(r, &err);
}

static void
got_response(struct etcd_req *r, long status)
{
	json_error_t jerr;
	json_t *root, *body;
	const char *msg;
	int grpc, rc;

	root = json_loadb(r->resp, r->resp_len, (r->flags & ETCD_REQ_STREAM) ? JSON_DISABLE_EOF_CHECK : 0, &jerr);
	if (!root || !json_is_object(root)) {
		json_decref(root);
		bad_response(r, status, root ? "not a JSON object" : "not JSON");
		return;
	}
	body = root;
	if (r->flags & ETCD_REQ_STREAM) {
		body = json_object_get(root, "result");
		if (!body) {
			body = root;
		} else if (!json_is_object(body)) {
			json_decref(root);
			bad_response(r, status, "\"result\" is not an object");
			return;
		}
	}
	if (status == 200 && !json_object_get(body, "error")) {
		rc = r->parse(r, body, r->res);
		json_decref(root);
		if (rc == 1) { /* another page */
			next_page(r);
		} else if (rc < 0) {
			struct etcd_error err = r->res->err;

			if (err.code == ETCD_OK) {
				bad_response(r, status, "unexpected response shape");
				return;
			}
			complete(r, &err);
		} else {
			complete(r, NULL);
		}
		return;
	}
	if (etcd_parse_error_body(body, &grpc, &msg) == 0) {
		char m[200];

		snprintf(m, sizeof(m), "%s", msg);
		json_decref(root);
		server_error(r, status, grpc, m);
		return;
	}
	json_decref(root);
	bad_response(r, status, "not an etcd error body");
}

/* Send the request for the next page at once, and only then let the
 * service hand out the page just read (page_out): etcd prepares the next
 * page while the caller works through this one. */
static void
next_page(struct etcd_req *r)
{
	void (*out)(void *ctx) = r->page_out;
	void *ctx = r->ctx;

	r->attempts = 0;
	r->started = ev_now(r->c->loop);
	if (attempt(r) < 0)
		return; /* r is gone */
	if (out) {
		tp_kick(r->c->tp);
		out(ctx);
	}
}

/* The transfer ended (the transport's done callback). */
static void
on_done(void *arg, const struct tp_result *res)
{
	struct etcd_req *r = arg;

	r->x = NULL;
	if (res->rc != CURLE_OK) {
		transport_failed(r, res->rc, res->sent, res->err);
		return;
	}
	r->resp = res->body;
	r->resp_len = res->len;
	got_response(r, res->status);
}

static void
auth_ready(struct etcd_auth_waiter *w, const struct etcd_error *err)
{
	struct etcd_req *r = ETCD_CONTAINER_OF(w, struct etcd_req, aw);

	if (err) {
		struct etcd_error e = *err;

		complete(r, &e);
		return;
	}
	attempt(r);
}

static int
start(struct etcd_req *r, struct etcd_error *err)
{
	struct etcd_client *c = r->c;
	const char *tok = NULL;
	char url[512];
	struct etcd_post p = {.url = url,
	                      .body = r->body,
	                      .len = r->body_len,
	                      .timeout_ms = r->timeout_ms ? r->timeout_ms : c->timeout_ms,
	                      .done = on_done,
	                      .arg = r};

	if (!(r->flags & ETCD_REQ_NO_AUTH)) {
		if (!etcd_auth_ready(c, &r->aw))
			return 0;
		tok = c->token;
	}
	free(r->token_used);
	r->token_used = tok ? strdup(tok) : NULL;
	r->ep = c->cur;
	snprintf(url, sizeof(url), "%s%s", c->eps[r->ep].url, r->path);
	p.token = tok;
	c->stats.requests++;
	r->x = etcd_http_post(c, &p, err);
	return r->x ? 0 : -1;
}

/* Start r, or complete it with the reason (r is then freed: -1). */
static int
attempt(struct etcd_req *r)
{
	struct etcd_error err = {0};

	if (start(r, &err) < 0) {
		complete(r, &err);
		return -1;
	}
	return 0;
}

struct etcd_req *
etcd_req_new_text(struct etcd_client *c, const char *path, char *body, size_t len, int flags, etcd_parse_fn parse,
                  etcd_cb cb, void *arg, struct etcd_error *err)
{
	struct etcd_req *r = calloc(1, sizeof(*r));
	struct result_box *box = calloc(1, sizeof(*box));

	if (!r || !box || !body || !cb)
		goto fail;
	r->c = c;
	r->path = path;
	r->flags = flags;
	r->parse = parse;
	r->cb = cb;
	r->arg = arg;
	r->res = &box->res;
	r->aw.ready = auth_ready;
	ev_timer_init(&r->backoff, backoff_cb, 0.0, 0.0);
	r->body = body;
	r->body_len = len;
	return r;
fail:
	free(body);
	free(r);
	free(box);
	etcd_seterr(err, cb ? ETCD_ENOMEM : ETCD_EINVAL, cb ? "out of memory building a request" : "no callback given");
	return NULL;
}

struct etcd_req *
etcd_req_new(struct etcd_client *c, const char *path, json_t *body, int flags, etcd_parse_fn parse, etcd_cb cb,
             void *arg, struct etcd_error *err)
{
	char *s = body ? json_dumps(body, JSON_COMPACT) : NULL;

	json_decref(body);
	return etcd_req_new_text(c, path, s, s ? strlen(s) : 0, flags, parse, cb, arg, err);
}

int
etcd_req_set_body(struct etcd_req *r, json_t *body)
{
	char *s = body ? json_dumps(body, JSON_COMPACT) : NULL;

	json_decref(body);
	if (!s)
		return -1;
	free(r->body);
	r->body = s;
	r->body_len = strlen(s);
	return 0;
}

int
etcd_req_submit(struct etcd_req *r, struct etcd_error *err)
{
	struct etcd_client *c = r->c;

	if (c->freeing) {
		etcd_result_free(r->res);
		req_free(r);
		return etcd_seterr(err, ETCD_ECANCELED, "the etcd client is closing");
	}
	r->started = ev_now(c->loop);
	r->next = c->reqs;
	if (c->reqs)
		c->reqs->prev = r;
	c->reqs = r;
	if (start(r, err) < 0) {
		etcd_auth_unqueue(c, &r->aw);
		list_remove(r);
		etcd_result_free(r->res);
		req_free(r);
		return -1;
	}
	return 0;
}

void
etcd_req_cancel_all(struct etcd_client *c)
{
	struct etcd_error err = {0};

	etcd_seterr(&err, ETCD_ECANCELED, "canceled: the etcd client was closed");
	while (c->reqs) {
		struct etcd_req *r = c->reqs;

		tp_abort(r->x);
		r->x = NULL;
		complete(r, &err);
	}
}
