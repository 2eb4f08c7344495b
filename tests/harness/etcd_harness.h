/*
 * etcd_harness.h: start and control a real etcd (1 or 3 members) for
 * integration tests, plus a libev wait helper.
 *
 * Every member listens on free loopback ports with its own data dir under a
 * temporary directory (mkdtemp under $TMPDIR or /tmp). Processes get
 * PR_SET_PDEATHSIG(SIGKILL) and a janitor process removes the temporary
 * directory if the test process dies without calling th_etcd_free (a failed
 * Check assertion _exits the test). Nothing here sleeps for synchronisation:
 * every wait polls a condition against a deadline.
 *
 * Failures are reported on stderr (with the tail of the member's log) and
 * returned as NULL / -1. Only the process that called th_etcd_start may
 * control or free the cluster; in other processes (Check's forked tests when
 * the cluster comes from an unchecked fixture) kill/stop/restart fail with
 * -1 and th_etcd_free does nothing.
 */
#ifndef SKIFF_TESTS_ETCD_HARNESS_H
#define SKIFF_TESTS_ETCD_HARNESS_H

#include <stddef.h>

struct ev_loop;
struct th_etcd;

struct th_etcd_opts {
	int tls;                       /* https with a generated CA, server and client certs, --client-cert-auth */
	const char *root_password;     /* non-NULL: add user root (role root) and enable auth */
	int auth_token_ttl;            /* seconds, --auth-token-ttl; 0 = etcd's default */
	const char *const *extra_args; /* more etcd flags, NULL-terminated, or NULL */
	const char *also_listen;       /* an IPv4 address (a veth's, for a network namespace) the members'
	                                  client ports also listen on, or NULL; endpoints stay loopback */
};

/* Start members (1 or 3) and wait up to 20 s until each answers GET /health.
 * o may be NULL (plain http, no auth). Returns NULL on failure. */
struct th_etcd *th_etcd_start(int members, const struct th_etcd_opts *o);
/* Kill every member, remove the temporary directory. NULL is fine. */
void th_etcd_free(struct th_etcd *e);

int th_etcd_members(const struct th_etcd *e);
/* "http://127.0.0.1:p1,http://127.0.0.1:p2,…" (https with tls). Borrowed. */
const char *th_etcd_endpoints(const struct th_etcd *e);
const char *th_etcd_endpoint(const struct th_etcd *e, int i);
/* Index of the member whose client URL is url (prefix match), or -1. */
int th_etcd_member_of(const struct th_etcd *e, const char *url);
/* The temporary directory (logs are DIR/mI.log). Borrowed. */
const char *th_etcd_dir(const struct th_etcd *e);
/* TLS material (NULL without tls): CA, client cert and key, and a second,
 * unrelated CA that did not sign the server's certificate. Borrowed. */
const char *th_etcd_ca(const struct th_etcd *e);
const char *th_etcd_cert(const struct th_etcd *e);
const char *th_etcd_key(const struct th_etcd *e);
const char *th_etcd_other_ca(const struct th_etcd *e);

/* SIGKILL member i and reap it. 0, or -1 when it was not running. */
int th_etcd_kill(struct th_etcd *e, int i);
/* SIGTERM member i and reap it (SIGKILL after 10 s). */
int th_etcd_stop(struct th_etcd *e, int i);
/* Start member i again (same ports, same data dir) without waiting. */
int th_etcd_spawn(struct th_etcd *e, int i);
/* Wait until member i answers GET /health with 200 (or timeout_s passes). */
int th_etcd_wait_healthy(struct th_etcd *e, int i, double timeout_s);
/* Stop (SIGTERM) if running, spawn, wait healthy (20 s). 0 / -1. */
int th_etcd_restart(struct th_etcd *e, int i);
/* 1 while member i's process is running. */
int th_etcd_running(const struct th_etcd *e, int i);

/* POST a JSON body to member i's gateway (path like "/v3/kv/put"), as root
 * when auth is on. Returns the HTTP status (0 on transport failure) and,
 * when resp is non-NULL, the body as a new string (free it). */
long th_etcd_post(struct th_etcd *e, int i, const char *path, const char *body, char **resp);
/* The same as user (authenticated with password first; NULL user: no
 * token), for tests that act as a user other than root. */
long th_etcd_post_as(struct th_etcd *e, int i, const char *user, const char *password, const char *path,
                     const char *body, char **resp);

/* Run loop until cond(arg) is true or timeout_s passes. A 20 ms timer keeps
 * each iteration short. Returns 0 when cond became true, -1 on timeout.
 * cond NULL runs the loop for timeout_s and returns -1. */
int th_wait(struct ev_loop *loop, int (*cond)(void *), void *arg, double timeout_s);

/* Standard base64 with padding of (p, n), newly allocated. For tests that
 * build gateway requests by hand. */
char *th_b64(const void *p, size_t n);

#endif
