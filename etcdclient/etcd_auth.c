/*
 * etcd_auth.c: username/password authentication. One token per client,
 * fetched from /v3/auth/authenticate when the first call needs it and again
 * whenever etcd rejects it (simple tokens expire, the auth store moves on).
 * Calls that need a token while one is being fetched wait in a queue.
 *
 * When etcd says auth is not enabled, the client stops sending tokens (etcd
 * rejects any Authorization header then) until a token error says
 * otherwise.
 */
#include <stdlib.h>
#include <string.h>

#include "etcd_internal.h"

int
etcd_auth_token_error(int grpc_code, const char *msg)
{
	return grpc_code == 16 || strstr(msg, "invalid auth token") || strstr(msg, "auth store is old") ||
	       strstr(msg, "user name is empty");
}

void
etcd_auth_invalidate(struct etcd_client *c, const char *tok)
{
	c->auth_off = 0;
	if (c->token && (!tok || strcmp(c->token, tok) == 0)) {
		free(c->token);
		c->token = NULL;
	}
}

static void
wake_all(struct etcd_client *c, const struct etcd_error *err)
{
	struct etcd_auth_waiter *w = c->auth_waiters;

	c->auth_waiters = NULL;
	while (w) {
		struct etcd_auth_waiter *next = w->next;

		w->next = NULL;
		w->waiting = 0;
		w->ready(w, err);
		w = next;
	}
}

static int
parse_auth(struct etcd_req *r, json_t *root, struct etcd_result *res)
{
	json_t *tok = json_object_get(root, "token");
	char *t;

	if (etcd_parse_header(root, res) < 0 || !json_is_string(tok) || json_string_length(tok) == 0 ||
	    json_string_length(tok) > 900 || strpbrk(json_string_value(tok), "\r\n"))
		return -1;
	if (!(t = strdup(json_string_value(tok))))
		return -1;
	free(r->c->token);
	r->c->token = t;
	return 0;
}

static void
auth_done(struct etcd_result *res, void *arg)
{
	struct etcd_client *c = arg;
	struct etcd_error err = res->err;

	c->authenticating = 0;
	c->stats.auths++;
	if (res->err.code == ETCD_OK) {
		wake_all(c, NULL);
		return;
	}
	if (strstr(res->err.msg, "authentication is not enabled")) {
		c->auth_off = 1;
		wake_all(c, NULL);
		return;
	}
	if (err.code == ETCD_EINVAL || err.code == ETCD_EAUTH) {
		err.code = ETCD_EAUTH;
		snprintf(err.msg, sizeof(err.msg), "etcd refused user \"%s\": %s (check --etcd-user and the password)",
		         c->user, res->err.msg);
	}
	wake_all(c, &err);
}

static void
start_auth(struct etcd_client *c)
{
	struct etcd_error err = {0};
	struct etcd_req *r;
	json_t *body = json_pack("{s:s, s:s}", "name", c->user, "password", c->password ? c->password : "");

	c->authenticating = 1;
	r = etcd_req_new(c, "/v3/auth/authenticate", body, ETCD_REQ_NO_AUTH | ETCD_REQ_SAFE, parse_auth, auth_done, c,
	                 &err);
	if (!r || etcd_req_submit(r, &err) < 0) {
		c->authenticating = 0;
		wake_all(c, &err);
	}
}

int
etcd_auth_ready(struct etcd_client *c, struct etcd_auth_waiter *w)
{
	struct etcd_auth_waiter **pp;

	if (!c->user || c->auth_off || c->token)
		return 1;
	for (pp = &c->auth_waiters; *pp; pp = &(*pp)->next)
		;
	*pp = w;
	w->next = NULL;
	w->waiting = 1;
	if (!c->authenticating)
		start_auth(c);
	return 0;
}

void
etcd_auth_unqueue(struct etcd_client *c, struct etcd_auth_waiter *w)
{
	struct etcd_auth_waiter **pp;

	if (!w->waiting)
		return;
	for (pp = &c->auth_waiters; *pp; pp = &(*pp)->next) {
		if (*pp == w) {
			*pp = w->next;
			break;
		}
	}
	w->next = NULL;
	w->waiting = 0;
}

void
etcd_auth_cancel_all(struct etcd_client *c)
{
	struct etcd_error err = {0};

	etcd_seterr(&err, ETCD_ECANCELED, "canceled: the etcd client was closed");
	wake_all(c, &err);
}
