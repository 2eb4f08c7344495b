/*
 * etcd_client.c: a client's configuration and lifetime: the endpoint list
 * and which one is preferred, TLS files, credentials, timeouts, counters.
 * Creating a client makes no request; freeing it cancels everything that is
 * still in flight (each callback runs once with ETCD_ECANCELED).
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "etcd_internal.h"

static int
add_endpoint(struct etcd_client *c, const char *s, size_t n, struct etcd_error *err)
{
	struct etcd_endpoint *e;
	char *url;

	while (n > 0 && (*s == ' ' || *s == '\t'))
		s++, n--;
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '/'))
		n--;
	if (n == 0)
		return 0;
	if (n > 120)
		return etcd_seterr(err, ETCD_EINVAL, "etcd endpoint \"%.40s...\" is too long", s);
	if (!(url = strndup(s, n)))
		return etcd_seterr(err, ETCD_ENOMEM, "out of memory");
	if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0) {
		etcd_seterr(err, ETCD_EINVAL, "etcd endpoint \"%s\" must start with http:// or https://", url);
		free(url);
		return -1;
	}
	if (strchr(url + 8, '/') || strchr(url, '?') || strchr(url, '#') || strpbrk(url, "\r\n\"") ||
	    url[url[4] == 's' ? 8 : 7] == '\0') {
		etcd_seterr(err, ETCD_EINVAL, "etcd endpoint \"%s\" must be scheme://host:port with no path", url);
		free(url);
		return -1;
	}
	e = realloc(c->eps, (size_t)(c->neps + 1) * sizeof(*c->eps));
	if (!e) {
		free(url);
		return etcd_seterr(err, ETCD_ENOMEM, "out of memory");
	}
	c->eps = e;
	c->eps[c->neps].url = url;
	c->eps[c->neps].tls = url[4] == 's';
	c->neps++;
	return 0;
}

static int
parse_endpoints(struct etcd_client *c, const char *list, struct etcd_error *err)
{
	const char *p = list, *comma;

	while (p && *p) {
		comma = strchr(p, ',');
		if (add_endpoint(c, p, comma ? (size_t)(comma - p) : strlen(p), err) < 0)
			return -1;
		p = comma ? comma + 1 : NULL;
	}
	if (c->neps == 0)
		return etcd_seterr(err, ETCD_EINVAL, "no etcd endpoint given (e.g. http://127.0.0.1:2379)");
	return 0;
}

static int
copy_file_opt(char **dst, const char *path, const char *what, struct etcd_error *err)
{
	if (!path || !*path)
		return 0;
	if (access(path, R_OK) != 0)
		return etcd_seterr(err, ETCD_ETLS, "cannot read %s file %s", what, path);
	if (!(*dst = strdup(path)))
		return etcd_seterr(err, ETCD_ENOMEM, "out of memory");
	return 0;
}

struct etcd_client *
etcd_client_new(struct ev_loop *loop, const struct etcd_config *cfg, struct etcd_error *err)
{
	struct etcd_client *c;
	struct etcd_config def = {0};

	if (!cfg)
		cfg = &def;
	if (!(c = calloc(1, sizeof(*c)))) {
		etcd_seterr(err, ETCD_ENOMEM, "out of memory");
		return NULL;
	}
	c->loop = loop;
	c->timeout_ms = cfg->request_timeout_ms > 0 ? cfg->request_timeout_ms : 5000;
	c->connect_timeout_ms = cfg->connect_timeout_ms > 0 ? cfg->connect_timeout_ms : 2000;
	c->retry_budget_ms = cfg->retry_budget_ms > 0 ? cfg->retry_budget_ms : 2 * c->timeout_ms;
	c->max_response = cfg->max_response > 0 ? cfg->max_response : (size_t)256 << 20;
	if (parse_endpoints(c, cfg->endpoints ? cfg->endpoints : "http://127.0.0.1:2379", err) < 0 ||
	    copy_file_opt(&c->cacert, cfg->cacert, "CA", err) < 0 ||
	    copy_file_opt(&c->cert, cfg->cert, "client certificate", err) < 0 ||
	    copy_file_opt(&c->key, cfg->key, "client key", err) < 0)
		goto fail;
	if (cfg->user && *cfg->user) {
		if (!(c->user = strdup(cfg->user)) || !(c->password = strdup(cfg->password ? cfg->password : ""))) {
			etcd_seterr(err, ETCD_ENOMEM, "out of memory");
			goto fail;
		}
	}
	if (etcd_http_init(c, err) < 0)
		goto fail;
	return c;
fail:
	etcd_client_free(c);
	return NULL;
}

void
etcd_client_free(struct etcd_client *c)
{
	if (!c)
		return;
	c->freeing = 1;
	if (c->tp) {
		etcd_watch_free_all(c);
		etcd_keeper_free_all(c);
		etcd_auth_cancel_all(c);
		etcd_req_cancel_all(c);
		etcd_http_cleanup(c);
	}
	for (int i = 0; i < c->neps; i++)
		free(c->eps[i].url);
	free(c->eps);
	free(c->cacert);
	free(c->cert);
	free(c->key);
	free(c->user);
	if (c->password)
		memset(c->password, 0, strlen(c->password));
	free(c->password);
	free(c->token);
	free(c);
}

struct ev_loop *
etcd_client_loop(struct etcd_client *c)
{
	return c->loop;
}

const char *
etcd_client_endpoint(struct etcd_client *c)
{
	return c->eps[c->cur].url;
}

void
etcd_client_stats(struct etcd_client *c, struct etcd_stats *out)
{
	*out = c->stats;
}

void
etcd_client_trim(struct etcd_client *c)
{
	if (c)
		tp_trim(c->tp);
}

int
etcd_client_nospace(const struct etcd_client *c)
{
	return c ? c->nospace : 0;
}

void
etcd_client_nospace_clear(struct etcd_client *c)
{
	c->nospace = 0;
}

void
etcd_client_on_nospace(struct etcd_client *c, void (*fn)(void *arg), void *arg)
{
	c->nospace_fn = fn;
	c->nospace_arg = arg;
}

void
etcd_client_failover(struct etcd_client *c, int ep)
{
	if (c->neps > 1 && c->cur == ep) {
		c->cur = (c->cur + 1) % c->neps;
		c->stats.failovers++;
	}
}

double
etcd_backoff(int sweep, double base, double cap)
{
	double d = base;

	while (sweep-- > 0 && d < cap)
		d *= 2;
	if (d > cap)
		d = cap;
	/* ±20 % jitter so that many clients don't retry in step. */
	return d * (0.8 + 0.4 * ((double)rand() / RAND_MAX));
}

char *
etcd_prefix_end(const char *p, size_t len, size_t *out_len)
{
	char *end = malloc(len + 1);
	size_t i = len;

	if (!end)
		return NULL;
	memcpy(end, p, len);
	while (i > 0) {
		if ((unsigned char)end[i - 1] != 0xff) {
			end[i - 1]++;
			end[i] = '\0';
			*out_len = i;
			return end;
		}
		i--;
	}
	/* Every byte is 0xff (or empty): the range runs to the end, "\0". */
	end[0] = '\0';
	*out_len = 1;
	return end;
}
