/*
 * th_proxy.h: start the real skiff-proxy (build/bin/skiff-proxy) of one
 * node against a harness etcd. Nothing here asserts.
 */
#ifndef SKIFF_TESTS_TH_PROXY_H
#define SKIFF_TESTS_TH_PROXY_H

struct th_etcd;
struct th_proc;

/* skiff-proxy --etcd-endpoints=(e's) --prefix=prefix --node-name=node
 * [--mode=mode] plus extra (NULL-terminated, may be NULL; at most 4), with
 * env (th_proc_start's). NULL when it cannot be started. */
struct th_proc *th_proxy_start(const struct th_etcd *e, const char *prefix, const char *node, const char *mode,
                               char *const extra[], char *const env[]);

#endif
