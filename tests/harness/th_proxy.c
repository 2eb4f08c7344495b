/*
 * th_proxy.c: the proxy starter of th_proxy.h. It only builds the command
 * line; waiting for the proxy and stopping it are the caller's (th_proc).
 */
#include <stdio.h>

#include "etcd_harness.h"
#include "th_proc.h"
#include "th_proxy.h"

struct th_proc *
th_proxy_start(const struct th_etcd *e, const char *prefix, const char *node, const char *mode, char *const extra[],
               char *const env[])
{
	char ep[512], pfx[300], nd[300], m[64];
	char *argv[10] = {"skiff-proxy", ep, pfx, nd};
	int n = 4;

	snprintf(ep, sizeof(ep), "--etcd-endpoints=%s", th_etcd_endpoints(e));
	snprintf(pfx, sizeof(pfx), "--prefix=%s", prefix);
	snprintf(nd, sizeof(nd), "--node-name=%s", node);
	if (mode) {
		snprintf(m, sizeof(m), "--mode=%s", mode);
		argv[n++] = m;
	}
	for (int i = 0; extra && extra[i] && i < 4; i++)
		argv[n++] = extra[i];
	argv[n] = NULL;
	return th_proc_start("build/bin/skiff-proxy", argv, env);
}
