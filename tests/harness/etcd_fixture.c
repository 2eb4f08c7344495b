/*
 * etcd_fixture.c: the etcd and clients of the check_etcd_* suites (see
 * etcd_fixture.h). Not the suites' helpers (etcd_testutil.c) nor etcd's
 * control (etcd_harness.c).
 */
#include "etcd_fixture.h"

#include <check.h>
#include <ev.h>

#include "etcd.h"
#include "etcd_harness.h"
#include "etcd_sync.h"
#include "etcd_testutil.h"

struct th_etcd *tu_etcd;
struct etcd_sync *tu_sync;
struct ev_loop *tu_loop;
struct etcd_client *tu_client;

static const struct tu_fixture *fixture;

static struct th_etcd *
start_etcd(void)
{
	int members = fixture->members ? fixture->members : 1;

	return th_etcd_start(members, fixture->opts);
}

void
tu_setup(void)
{
	struct etcd_config cfg;
	struct etcd_error err;

	if (fixture->per_test)
		tu_etcd = start_etcd();
	ck_assert_msg(tu_etcd != NULL, "etcd did not start (see stderr)");
	tu_config(tu_etcd, &cfg);
	if (fixture->tune)
		fixture->tune(&cfg);
	if (fixture->sync) {
		tu_sync = etcd_sync_new(&cfg, &err);
		ck_assert_msg(tu_sync != NULL, "etcd_sync_new: %s", tu_err(&err));
	}
	if (fixture->async) {
		tu_loop = ev_loop_new(0);
		ck_assert_ptr_nonnull(tu_loop);
		tu_client = etcd_client_new(tu_loop, &cfg, &err);
		ck_assert_msg(tu_client != NULL, "etcd_client_new: %s", tu_err(&err));
	}
}

void
tu_teardown(void)
{
	if (tu_client)
		etcd_client_free(tu_client);
	if (tu_loop)
		ev_loop_destroy(tu_loop);
	if (tu_sync)
		etcd_sync_free(tu_sync);
	tu_client = NULL;
	tu_loop = NULL;
	tu_sync = NULL;
	if (fixture->per_test) {
		th_etcd_free(tu_etcd);
		tu_etcd = NULL;
	}
}

int
tu_suite_main(Suite *s, const struct tu_fixture *fx)
{
	SRunner *sr;
	int failed, started = 1;

	fixture = fx;
	if (!fx->per_test && !fx->no_etcd)
		started = (tu_etcd = start_etcd()) != NULL;
	sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	if (tu_etcd) {
		th_etcd_free(tu_etcd);
		tu_etcd = NULL;
	}
	return failed == 0 && started ? 0 : 1;
}
