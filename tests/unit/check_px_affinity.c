/*
 * check_px_affinity.c: the proxy's ClientIP session affinity
 * (node-agent/proxy/px_affinity.c): a client keeps its endpoint within the
 * timeout of its last connection, moves when that endpoint goes or the
 * timeout passes, None spreads round-robin, the table stays bounded; and
 * the nftables text (one set per endpoint, looked up before the pick).
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "node-agent/proxy/proxy.h"

static struct px_backend BE[3] = {{0x0af40105, 8080}, {0x0af40106, 8080}, {0x0af40107, 8080}};

static void
port_init(struct px_port *p, size_t nbe, int timeout)
{
	memset(p, 0, sizeof(*p));
	p->be = malloc(sizeof(BE));
	memcpy(p->be, BE, sizeof(BE));
	p->nbe = nbe;
	px_affinity_set(p, timeout);
}

static void
port_clear(struct px_port *p)
{
	px_affinity_free(p);
	free(p->be);
}

START_TEST(test_sticky_within_timeout)
{
	struct px_port p;
	size_t first, i;

	port_init(&p, 3, 10);
	first = px_affinity_pick(&p, 0x0a000001, 100.0);
	/* 20 connections, each 5 s after the last: always the same one. */
	for (i = 1; i <= 20; i++)
		ck_assert_uint_eq(px_affinity_pick(&p, 0x0a000001, 100.0 + 5.0 * (double)i), first);
	/* Another client gets the next endpoint, round-robin. */
	ck_assert_uint_ne(px_affinity_pick(&p, 0x0a000002, 200.0), first);
	port_clear(&p);
}
END_TEST

START_TEST(test_none_spreads)
{
	struct px_port p;
	unsigned seen[3] = {0};

	port_init(&p, 3, 0);
	for (int i = 0; i < 21; i++)
		seen[px_affinity_pick(&p, 0x0a000001, 100.0)]++;
	ck_assert_uint_eq(seen[0], 7);
	ck_assert_uint_eq(seen[1], 7);
	ck_assert_uint_eq(seen[2], 7);
	ck_assert_ptr_null(p.aff);
	port_clear(&p);
}
END_TEST

START_TEST(test_expires)
{
	struct px_port p;
	size_t first;

	port_init(&p, 3, 2);
	first = px_affinity_pick(&p, 0x0a000001, 100.0);
	ck_assert_uint_eq(px_affinity_pick(&p, 0x0a000001, 101.9), first);
	/* 2 s after its last connection: picked anew (round-robin moves on). */
	ck_assert_uint_ne(px_affinity_pick(&p, 0x0a000001, 103.9), first);
	port_clear(&p);
}
END_TEST

START_TEST(test_endpoint_gone)
{
	struct px_port p;
	size_t first;

	port_init(&p, 3, 10);
	first = px_affinity_pick(&p, 0x0a000001, 100.0);
	ck_assert_uint_eq(first, 0);
	/* Endpoint 0 leaves: the list is now 1, 2. */
	memmove(p.be, p.be + 1, 2 * sizeof(*p.be));
	p.nbe = 2;
	first = px_affinity_pick(&p, 0x0a000001, 101.0);
	ck_assert_uint_lt(first, 2);
	/* And the new choice sticks. */
	ck_assert_uint_eq(px_affinity_pick(&p, 0x0a000001, 102.0), first);
	/* Going back to None forgets every client. */
	px_affinity_set(&p, 0);
	ck_assert_ptr_null(p.aff);
	port_clear(&p);
}
END_TEST

START_TEST(test_bounded)
{
	struct px_port p;
	size_t first;

	port_init(&p, 3, 3600);
	first = px_affinity_pick(&p, 1, 100.0);
	for (uint32_t c = 2; c <= PX_AFFINITY_MAX + 10; c++)
		px_affinity_pick(&p, c, 100.0 + (double)c * 1e-6);
	/* Client 1 was the least recently used: it went first. */
	p.rr = first + 1;
	ck_assert_uint_eq(px_affinity_pick(&p, 1, 200.0), (first + 1) % 3);
	port_clear(&p);
}
END_TEST

START_TEST(test_nft_text)
{
	struct px_port p;
	char *s;

	port_init(&p, 2, 7);
	s = px_affinity_nft(&p, 4, "web/http");
	ck_assert_ptr_nonnull(s);
	ck_assert_ptr_nonnull(
		strstr(s, "\tset aff_4_0 {\n\t\ttype ipv4_addr\n\t\tflags dynamic,timeout\n\t\ttimeout 7s\n"));
	ck_assert_ptr_nonnull(strstr(s, "\tchain ep_4_1 {\n\t\tupdate @aff_4_1 { ip saddr }\n"
	                                "\t\tmeta l4proto tcp dnat to 10.244.1.6:8080\n"));
	/* The sets are looked up before the pick. */
	ck_assert_ptr_nonnull(strstr(s, "\tchain svc_4 {\n\t\tcomment \"web/http\"\n"
	                                "\t\tip saddr @aff_4_0 goto ep_4_0\n\t\tip saddr @aff_4_1 goto ep_4_1\n"
	                                "\t\tnumgen inc mod 2 vmap { 0 : goto ep_4_0, 1 : goto ep_4_1 }\n\t}\n"));
	free(s);
	port_clear(&p);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("px_affinity");
	TCase *core = tcase_create("core"), *limits = tcase_create("limits");

	tcase_add_test(core, test_sticky_within_timeout);
	tcase_add_test(core, test_none_spreads);
	tcase_add_test(core, test_expires);
	tcase_add_test(core, test_endpoint_gone);
	tcase_add_test(core, test_nft_text);
	tcase_add_test(limits, test_bounded);
	suite_add_tcase(s, core);
	suite_add_tcase(s, limits);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
