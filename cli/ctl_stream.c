/*
 * ctl_stream.c: where a pod's agent serves its streams (skiffctl logs):
 * the pod's binding names the node, the node's status
 * (P/nodestatus/NODE) its InternalIP and status.daemonEndpoints.
 * kubeletEndpoint.Port; and the TLS settings of the connection (the
 * client certificate and key the admin CA signed, the CA that signed the
 * agents' server certificates). It does not fall back to plain HTTP, nor
 * to a node's version-1 status under P/nodes/ (agents that serve logs
 * write P/nodestatus/).
 */
#include <curl/curl.h>
#include <string.h>

#include "ctl_stream.h"

/* The binding of pod: the one of the pod's incarnation when the pod key
 * is there, else any binding of that name (a pod bound by hand). */
static const struct ctl_kv *
find_binding(const struct ctl_state *st, const char *pod)
{
	const struct ctl_kv *p = ctl_state_find(st, API_POD, NULL, pod);
	const struct ctl_kv *b = p ? ctl_pod_binding(st, p) : NULL;

	return b ? b : ctl_state_find(st, API_BINDING, NULL, pod);
}

static const char *
internal_ip(const json_t *status)
{
	json_t *a, *addrs = ctl_jget(status, "status.addresses");
	size_t i;

	json_array_foreach(addrs, i, a) {
		const char *t = ctl_jstr(a, "type"), *ip = ctl_jstr(a, "address");

		if (t && ip && strcmp(t, "InternalIP") == 0)
			return ip;
	}
	return NULL;
}

/* The container to use: ctr when given (it must be in the pod), else the
 * pod's first. 0, or -1 after a message. */
static int
pick_container(struct ctl *c, const json_t *binding, const char *pod, const char *ctr, struct ctl_target *t)
{
	json_t *x, *list = ctl_jget(binding, "pod.spec.containers");
	size_t i;

	json_array_foreach(list, i, x) {
		const char *n = ctl_jstr(x, "name");

		if (n && (!ctr || strcmp(n, ctr) == 0)) {
			snprintf(t->container, sizeof(t->container), "%s", n);
			return 0;
		}
	}
	list = ctl_jget(binding, "pod.spec.initContainers");
	json_array_foreach(list, i, x) {
		const char *n = ctl_jstr(x, "name");

		if (n && ctr && strcmp(n, ctr) == 0) {
			snprintf(t->container, sizeof(t->container), "%s", n);
			return 0;
		}
	}
	fprintf(c->err, "%s: pod \"%s\" has no container \"%s\"\n", c->name, pod, ctr ? ctr : "");
	return -1;
}

int
ctl_stream_target(struct ctl *c, const char *pod, const char *ctr, struct ctl_target *t)
{
	int want[API_KIND_COUNT] = {0};
	struct ctl_state st = {0};
	const struct ctl_kv *b, *ns;
	const char *ip;
	long long port;
	int rc = -1;

	want[API_POD] = want[API_BINDING] = want[API_NODESTATUS] = 1;
	if (ctl_state_load(c, &st, want) < 0)
		return -1;
	if (!(b = find_binding(&st, pod))) {
		fprintf(c->err, "%s: pod \"%s\" is not bound to a node (skiffctl get pods shows it)\n", c->name, pod);
		goto done;
	}
	snprintf(t->node, sizeof(t->node), "%s", b->node);
	if (pick_container(c, b->j, pod, ctr, t) < 0)
		goto done;
	ns = ctl_state_find(&st, API_NODESTATUS, NULL, b->node);
	ip = ns ? internal_ip(ns->j) : NULL;
	port = ns ? ctl_jint(ns->j, "status.daemonEndpoints.kubeletEndpoint.Port", 0) : 0;
	if (!ip || port <= 0 || port > 65535) {
		fprintf(c->err,
		        "%s: node \"%s\" publishes no HTTPS endpoint for logs: its agent runs without --serve-addr, "
		        "--serve-cert, --serve-key and --client-ca (docs/operations.md, \"Logs and exec\")\n",
		        c->name, b->node);
		goto done;
	}
	snprintf(t->base, sizeof(t->base), "https://%s:%lld", ip, port);
	rc = 0;
done:
	ctl_state_free(&st);
	return rc;
}

void
ctl_stream_tls(void *curl, const struct ctl_tls *tls)
{
	CURL *e = curl;

	if (tls->cert && *tls->cert)
		curl_easy_setopt(e, CURLOPT_SSLCERT, tls->cert);
	if (tls->key && *tls->key)
		curl_easy_setopt(e, CURLOPT_SSLKEY, tls->key);
	if (tls->ca && *tls->ca)
		curl_easy_setopt(e, CURLOPT_CAINFO, tls->ca);
}
