/*
 * check_px_nft.c: the proxy's smaller nft script for a change of some
 * chains' rules alone (node-agent/proxy/px_nftdelta.c): endpoints that
 * come and go give "flush chain" and "add rule" for the chains that
 * changed and nothing else; any other change (a port, a map, a comment, a
 * chain more or less, an affinity set, a hook) gives NULL, so the table is
 * replaced whole.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node-agent/proxy/proxy.h"

#define T "skiff_m1"

/* A table as px_nft_render writes it: one service port (chain svc_0,
 * body0) and a second one (svc_1, body1), the hooks after them. */
static char *
render(const char *map, const char *comment0, const char *body0, const char *body1)
{
	char *s = NULL;

	if (asprintf(&s,
	             "table ip " T " {\n"
	             "\tmap services {\n\t\ttype ipv4_addr . inet_service : verdict\n\t\telements = { %s }\n\t}\n"
	             "\tchain svc_0 {\n\t\tcomment \"%s\"\n\t\t%s\n\t}\n"
	             "\tchain svc_1 {\n\t\tcomment \"default/db/5432\"\n\t\t%s\n\t}\n"
	             "\tchain prerouting {\n\t\ttype nat hook prerouting priority dstnat; policy accept;\n"
	             "\t\tip daddr . tcp dport vmap @services\n\t}\n"
	             "\tchain output {\n\t\ttype nat hook output priority -100; policy accept;\n"
	             "\t\tip daddr . tcp dport vmap @services\n\t}\n"
	             "}\n",
	             map, comment0, body0, body1) < 0)
		return NULL;
	return s;
}

#define MAP2 "10.0.0.1 . 80 : jump svc_0, 10.0.0.2 . 5432 : jump svc_1"
#define EP3 \
	"meta l4proto tcp dnat to numgen inc mod 3 map { 0 : 10.244.1.2 . 80, 1 : 10.244.2.2 . 80, 2 : 10.244.3.2 . 80 }"
#define EP2 "meta l4proto tcp dnat to numgen inc mod 2 map { 0 : 10.244.1.2 . 80, 1 : 10.244.3.2 . 80 }"
#define DB1 "meta l4proto tcp dnat to numgen inc mod 1 map { 0 : 10.244.2.9 . 5432 }"
#define NONE "reject with tcp reset"

static char *
delta(const char *map0, const char *c0, const char *a0, const char *a1, const char *map1, const char *c1,
      const char *b0, const char *b1)
{
	char *o = render(map0, c0, a0, a1), *n = render(map1, c1, b0, b1), *d;

	ck_assert_ptr_nonnull(o);
	ck_assert_ptr_nonnull(n);
	d = px_nft_delta(T, o, n);
	free(o);
	free(n);
	return d;
}

START_TEST(test_endpoint_gone)
{
	char *d = delta(MAP2, "default/web/http", EP3, DB1, MAP2, "default/web/http", EP2, DB1);

	ck_assert_ptr_nonnull(d);
	ck_assert_str_eq(d, "flush chain ip " T " svc_0\nadd rule ip " T " svc_0 " EP2 "\n");
	free(d);
}
END_TEST

START_TEST(test_two_chains_and_none_left)
{
	char *d = delta(MAP2, "default/web/http", EP3, DB1, MAP2, "default/web/http", EP2, NONE);

	ck_assert_ptr_nonnull(d);
	ck_assert_str_eq(d, "flush chain ip " T " svc_0\nadd rule ip " T " svc_0 " EP2 "\n"
	                    "flush chain ip " T " svc_1\nadd rule ip " T " svc_1 " NONE "\n");
	free(d);
}
END_TEST

START_TEST(test_same_rules)
{
	ck_assert_ptr_null(delta(MAP2, "default/web/http", EP3, DB1, MAP2, "default/web/http", EP3, DB1));
}
END_TEST

START_TEST(test_map_changed)
{
	/* A service moved: the map differs, so the table is replaced. */
	ck_assert_ptr_null(delta(MAP2, "default/web/http", EP3, DB1,
	                         "10.0.0.7 . 80 : jump svc_0, 10.0.0.2 . 5432 : jump svc_1", "default/web/http", EP2,
	                         DB1));
}
END_TEST

START_TEST(test_comment_changed)
{
	/* svc_0 is another port now (numbering follows the sorted keys). */
	ck_assert_ptr_null(delta(MAP2, "default/web/http", EP3, DB1, MAP2, "default/api/http", EP3, DB1));
}
END_TEST

START_TEST(test_chain_added)
{
	char *o = render(MAP2, "default/web/http", EP3, DB1), *n = render(MAP2, "default/web/http", EP3, DB1);
	char *more = NULL;

	ck_assert_int_ge(asprintf(&more, "%.*s\tchain svc_2 {\n\t\tcomment \"x\"\n\t\t" NONE "\n\t}\n%s",
	                          (int)(strstr(n, "\tchain prerouting") - n), n, strstr(n, "\tchain prerouting")),
	                 0);
	ck_assert_ptr_null(px_nft_delta(T, o, more));
	ck_assert_ptr_null(px_nft_delta(T, more, o));
	free(o);
	free(n);
	free(more);
}
END_TEST

/* Pairs that differ in more than rules: an affinity set gone with its
 * endpoint; a hook's priority. */
static const char *const NOT_RULES[][2] = {
	{"table ip " T " {\n\tset aff_0_0 {\n\t\ttype ipv4_addr\n\t}\n\tset aff_0_1 {\n\t\ttype ipv4_addr\n\t}\n"
         "\tchain svc_0 {\n\t\tcomment \"a\"\n\t\tnumgen inc mod 2 vmap { 0 : goto ep_0_0, 1 : goto ep_0_1 }\n\t}\n}\n",
         "table ip " T " {\n\tset aff_0_0 {\n\t\ttype ipv4_addr\n\t}\n"
         "\tchain svc_0 {\n\t\tcomment \"a\"\n\t\tnumgen inc mod 1 vmap { 0 : goto ep_0_0 }\n\t}\n}\n"},
	{"table ip " T " {\n\tchain output {\n\t\ttype nat hook output priority -100; policy accept;\n"
         "\t\tip daddr . tcp dport vmap @services\n\t}\n}\n",
         "table ip " T " {\n\tchain output {\n\t\ttype nat hook output priority 0; policy accept;\n"
         "\t\tip daddr . tcp dport vmap @services\n\t}\n}\n"},
};

START_TEST(test_not_rules)
{
	ck_assert_ptr_null(px_nft_delta(T, NOT_RULES[_i][0], NOT_RULES[_i][1]));
}
END_TEST

START_TEST(test_garbage)
{
	ck_assert_ptr_null(px_nft_delta(T, "", ""));
	ck_assert_ptr_null(px_nft_delta(T, "table ip x {\n", "table ip y {\n"));
	ck_assert_ptr_null(px_nft_delta(T, "\tchain a {\n\t\trule", "\tchain a {\n\t\tother"));
	ck_assert_ptr_null(px_nft_delta(T, "\tmap m {\n\t\ta\n\t}\n", "\tmap m {\n\t\tb\n\t}\n"));
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("px_nft");
	TCase *core = tcase_create("core"), *errors = tcase_create("errors");

	tcase_add_test(core, test_endpoint_gone);
	tcase_add_test(core, test_two_chains_and_none_left);
	tcase_add_test(core, test_same_rules);
	tcase_add_test(errors, test_map_changed);
	tcase_add_test(errors, test_comment_changed);
	tcase_add_test(errors, test_chain_added);
	tcase_add_loop_test(errors, test_not_rules, 0, sizeof(NOT_RULES) / sizeof(NOT_RULES[0]));
	tcase_add_test(errors, test_garbage);
	suite_add_tcase(s, core);
	suite_add_tcase(s, errors);
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
