/*
 * etcd_testutil.c: helpers shared by the etcd client suites (see
 * etcd_testutil.h). No assertions here; failures come back as values.
 */
#include "etcd_testutil.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
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
	snprintf(buf, sizeof buf, "code=%s http=%ld grpc=%d unknown=%d ep=%s msg=%s",
	         etcd_code_name(err->code), err->http_status, err->grpc_code, err->outcome_unknown,
	         err->endpoint, err->msg);
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
