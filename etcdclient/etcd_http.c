/*
 * etcd_http.c: how the client talks HTTP. Every request of the client is
 * one POST of JSON to an endpoint on the HTTP transport (transport/tp.h),
 * with the client's TLS files, connect timeout and token. Watches are
 * streams: no total or low-speed timeout (an idle watch is healthy), TCP
 * keep-alive instead, a connection of their own, and the header that makes
 * a member cut off from the majority end the stream instead of going quiet.
 * It knows nothing of etcd's JSON; it does not retry.
 */
#include <stdio.h>

#include "etcd_internal.h"

int
etcd_http_init(struct etcd_client *c, struct etcd_error *err)
{
	if (!(c->tp = tp_new(c->loop)))
		return etcd_seterr(err, ETCD_ENOMEM, "cannot start the HTTP transport (curl failed to initialise)");
	return 0;
}

void
etcd_http_cleanup(struct etcd_client *c)
{
	tp_free(c->tp);
	c->tp = NULL;
}

struct tp_xfer *
etcd_http_post(struct etcd_client *c, const struct etcd_post *p, struct etcd_error *err)
{
	const char *hdrs[5];
	char auth[1024];
	int n = 0;
	struct tp_opts o = {.url = p->url,
	                    .method = "POST",
	                    .body = p->body,
	                    .len = p->len,
	                    .headers = hdrs,
	                    .cacert = c->cacert,
	                    .cert = c->cert,
	                    .key = c->key,
	                    .connect_timeout_ms = c->connect_timeout_ms,
	                    .max_body = c->max_response,
	                    .on_line = p->on_line,
	                    .done = p->done,
	                    .arg = p->arg};
	struct tp_xfer *x;

	hdrs[n++] = "Content-Type: application/json";
	if (p->stream) {
		hdrs[n++] = "Grpc-Metadata-hasleader: true";
		o.keepalive_s = 10;
		o.own_connection = 1;
	} else {
		o.timeout_ms = p->timeout_ms;
	}
	if (p->token) {
		snprintf(auth, sizeof(auth), "Authorization: %s", p->token);
		hdrs[n++] = auth;
	}
	hdrs[n] = NULL;
	if (!(x = tp_start(c->tp, &o)))
		etcd_seterr(err, ETCD_ENOMEM, "out of memory starting a request");
	return x;
}
