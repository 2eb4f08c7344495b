/*
 * check_make_up.c: what the README promises, end to end, on this machine:
 * scripts/up.sh (make up) brings up etcd, the control plane, a node, a
 * proxy and the example; the service's cluster IP is answered by all four
 * apache pods; scripts/down.sh (make down) leaves nothing behind: no
 * process, container, nftables table, bridge or route. Skipped when a
 * make up of the developer's is running (etcd on 127.0.0.1:2379).
 */
#include <check.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char RUNDIR[] = "/tmp/skiff-up.XXXXXX";

static int
sh(const char *fmt, const char *arg)
{
	char cmd[1024];

	snprintf(cmd, sizeof(cmd), fmt, arg);
	return system(cmd);
}

static size_t
collect(char *p, size_t sz, size_t n, void *ud)
{
	char *buf = ud;
	size_t len = strlen(buf), k = sz * n;

	if (len + k >= 256)
		k = 255 - len;
	memcpy(buf + len, p, k);
	buf[len + k] = '\0';
	return sz * n;
}

static int
get(const char *url, char *body)
{
	CURL *c = curl_easy_init();
	CURLcode rc;

	body[0] = '\0';
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 3L);
	curl_easy_setopt(c, CURLOPT_PROXY, "");
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, body);
	rc = curl_easy_perform(c);
	curl_easy_cleanup(c);
	return rc == CURLE_OK ? 0 : -1;
}

START_TEST(test_up_curl_down)
{
	char log[300], ip[64] = "", url[128], seen[8][64], body[256];
	int nseen = 0;
	FILE *f;

	if (geteuid() != 0 || sh("curl -fsS -m 1 http://127.0.0.1:2379/health >/dev/null 2>&1", "") == 0 ||
	    sh("ip route show | grep -q '^10\\.0\\.0\\.'", "") == 0) {
		fprintf(stderr,
		        "check_make_up: skipped (needs root, a free 127.0.0.1:2379 and an unrouted 10.0.0.0/24)\n");
		return;
	}
	ck_assert_ptr_nonnull(mkdtemp(RUNDIR));
	snprintf(log, sizeof(log), "%s/up.out", RUNDIR);
	setenv("SKIFF_RUN_DIR", RUNDIR, 1);
	unsetenv("SKIFF_ETCD_ENDPOINTS");
	if (sh("timeout 300 ./scripts/up.sh > %s 2>&1", log) != 0) {
		sh("cat %s >&2; tail -n 20 $SKIFF_RUN_DIR/log/*.log >&2", log);
		sh("./scripts/down.sh >/dev/null 2>&1", "");
		ck_abort_msg("make up failed");
	}
	/* The last lines name the service: "  curl http://IP/". */
	f = fopen(log, "r");
	ck_assert_ptr_nonnull(f);
	while (fgets(body, sizeof(body), f))
		if (sscanf(body, "  curl http://%63[0-9.]/", ip) == 1)
			break;
	fclose(f);
	ck_assert_msg(ip[0], "make up printed no curl line");
	snprintf(url, sizeof(url), "http://%s/", ip);
	/* Every one of the four pods answers through the cluster IP. */
	for (int i = 0; i < 40 && nseen < 4; i++) {
		char pod[64];
		int known = 0;

		if (get(url, body) < 0 || sscanf(body, "pod=%63s", pod) != 1)
			continue;
		for (int j = 0; j < nseen; j++)
			known |= strcmp(seen[j], pod) == 0;
		if (!known)
			snprintf(seen[nseen++], sizeof(seen[0]), "%s", pod);
		ck_assert_msg(strncmp(pod, "apache-", 7) == 0, "answered by %s", pod);
	}
	ck_assert_msg(nseen == 4, "only %d of the 4 pods answered", nseen);

	ck_assert_int_eq(sh("timeout 120 ./scripts/down.sh > %s/down.out 2>&1", RUNDIR), 0);
	/* Nothing left behind. */
	/* ("[/]tmp" keeps the pattern from matching the shell that runs pgrep;
	 * $PWD keeps Skiff programs of other checkouts, such as a test bed
	 * running next to this test, out of it: make up starts $PWD/build/bin.) */
	ck_assert_msg(sh("pgrep -f '[/]%s' >/dev/null", RUNDIR + 1) != 0 &&
	                      sh("pgrep -f \"$PWD/build/bin/[s]kiff-\" >/dev/null", "") != 0,
	              "a process of make up survived make down");
	ck_assert_msg(sh("test -z \"$(docker ps -aq --filter label=skiff.node=node-1)\"", "") == 0,
	              "containers of node-1 survived make down");
	ck_assert_msg(sh("nft list table ip skiff_node_1 >/dev/null 2>&1", "") != 0, "the proxy's table survived");
	ck_assert_msg(sh("ip link show skiff-blk0 >/dev/null 2>&1", "") != 0, "the sink bridge survived");
	ck_assert_msg(sh("curl -fsS -m 1 http://127.0.0.1:2379/health >/dev/null 2>&1", "") != 0, "etcd survived");
}
END_TEST

/* Also after a failed assertion: stop what is left, remove the run dir. */
static void
cleanup(void)
{
	if (strchr(RUNDIR, 'X'))
		return; /* never created */
	setenv("SKIFF_RUN_DIR", RUNDIR, 1);
	sh("./scripts/down.sh >/dev/null 2>&1; rm -rf %s", RUNDIR);
}

static Suite *
suite(void)
{
	Suite *s = suite_create("make_up");
	TCase *tc = tcase_create("e2e");

	tcase_set_timeout(tc, 600);
	tcase_add_unchecked_fixture(tc, NULL, cleanup);
	tcase_add_test(tc, test_up_curl_down);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(suite());
	int failed;

	/* Its own process: make up starts daemons that must not be children
	 * of a forked test that Check may kill. */
	srunner_set_fork_status(sr, CK_NOFORK);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
