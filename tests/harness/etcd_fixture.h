/*
 * etcd_fixture.h: the fixture the check_etcd_* suites share. One real etcd
 * for the whole suite (or a fresh one for each test), and before each test
 * the clients the suite asks for: a synchronous client, and/or a loop with
 * an asynchronous client. Uses Check (assertions in the setup), so it is
 * linked only into those suites, not with the rest of tests/harness.
 *
 * A suite fills a struct tu_fixture, registers tu_setup/tu_teardown as the
 * checked fixture of its test cases and returns tu_suite_main(suite, &fx)
 * from main. Tests use the globals below; each is NULL when not asked for.
 */
#ifndef SKIFF_TESTS_ETCD_FIXTURE_H
#define SKIFF_TESTS_ETCD_FIXTURE_H

struct Suite;
struct ev_loop;
struct etcd_client;
struct etcd_config;
struct etcd_sync;
struct th_etcd;
struct th_etcd_opts;

struct tu_fixture {
	int no_etcd;                           /* a suite of fakes: start nothing */
	int members;                           /* 1 (also when 0) or 3 */
	const struct th_etcd_opts *opts;       /* NULL: plain http, no auth */
	int per_test;                          /* start etcd in tu_setup, stop it in tu_teardown */
	int sync;                              /* make tu_sync */
	int async;                             /* make tu_loop and tu_client */
	void (*tune)(struct etcd_config *cfg); /* adjust the clients' config (tu_config's), or NULL */
};

extern struct th_etcd *tu_etcd;       /* the suite's (or the test's) etcd */
extern struct etcd_sync *tu_sync;     /* fx.sync: a synchronous client */
extern struct ev_loop *tu_loop;       /* fx.async: a loop of its own ... */
extern struct etcd_client *tu_client; /* ... and a client on it */

/* Check's checked fixture: assert that etcd is up (start it if per_test)
 * and make the clients; free them (and the per-test etcd) after. */
void tu_setup(void);
void tu_teardown(void);

/* Start the suite's etcd (unless per_test or no_etcd), run s (taken), stop etcd.
 * Returns main's exit status: 0 when every test passed and etcd started. */
int tu_suite_main(struct Suite *s, const struct tu_fixture *fx);

#endif
