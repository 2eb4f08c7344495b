/*
 * check_dns_table.c: skiff-dns's pure parts: the name table (records of
 * a service replaced and removed without leaving names behind, empty
 * non-terminals, names compared without case), the query path
 * (dns_answer: verdicts, rcodes, truncation to the client's size) and the
 * forward cache (expiry, least recently used eviction).
 */
#include <arpa/inet.h>
#include <check.h>
#include <ldns/ldns.h>
#include <stdlib.h>
#include <string.h>

#include "node-agent/dns/dns.h"

static const struct dns_port PORTS[] = {{"http", "tcp", 80, 8080}, {NULL, "tcp", 81, 81}};

static uint32_t
ip(const char *s)
{
	uint32_t a;

	inet_pton(AF_INET, s, &a);
	return a;
}

static size_t
rr_count(const struct dns_node *n, uint16_t type)
{
	size_t c = 0;

	for (const struct dns_rr *r = n ? n->rrs : NULL; r; r = r->next)
		c += r->type == type;
	return c;
}

START_TEST(table_core)
{
	struct dns_table t;
	uint32_t pods[2] = {ip("10.244.1.5"), ip("10.244.2.6")};
	struct dns_service web = {"Web", ip("10.96.0.10"), 0, PORTS, 2, NULL, 0};
	struct dns_service hl = {"hl", 0, 1, PORTS, 2, pods, 2};

	dns_table_init(&t, "Cluster.Local.", 5);
	ck_assert_str_eq(t.domain, "cluster.local");
	ck_assert_int_eq(dns_table_set(&t, &web), 0);
	ck_assert_int_eq(rr_count(dns_table_find(&t, "web"), LDNS_RR_TYPE_A), 1);
	ck_assert_int_eq(rr_count(dns_table_find(&t, "web.default"), LDNS_RR_TYPE_A), 1);
	ck_assert_int_eq(rr_count(dns_table_find(&t, "web.default.svc.cluster.local"), LDNS_RR_TYPE_A), 1);
	ck_assert_int_eq(rr_count(dns_table_find(&t, "_http._tcp.web.default.svc.cluster.local"), LDNS_RR_TYPE_SRV), 1);
	ck_assert_int_eq(rr_count(dns_table_find(&t, "10.0.96.10.in-addr.arpa"), LDNS_RR_TYPE_PTR), 1);
	ck_assert_ptr_nonnull(dns_table_find(&t, "_tcp.web.default.svc.cluster.local"));
	ck_assert_ptr_nonnull(dns_table_find(&t, "svc.cluster.local"));
	ck_assert_ptr_null(dns_table_find(&t, "default")); /* short names have no parents */
	ck_assert_int_eq(dns_table_set(&t, &hl), 0);
	ck_assert_int_eq(rr_count(dns_table_find(&t, "hl.default.svc.cluster.local"), LDNS_RR_TYPE_A), 2);
	ck_assert_int_eq(rr_count(dns_table_find(&t, "10-244-2-6.hl.default.svc.cluster.local"), LDNS_RR_TYPE_A), 1);
	ck_assert_int_eq(rr_count(dns_table_find(&t, "_http._tcp.hl.default.svc.cluster.local"), LDNS_RR_TYPE_SRV), 2);
	/* The same service again changes nothing; a new IP replaces the old. */
	size_t names = dns_table_names(&t);
	ck_assert_int_eq(dns_table_set(&t, &web), 0);
	ck_assert_uint_eq(dns_table_names(&t), names);
	web.cluster_ip = ip("10.96.0.11");
	ck_assert_int_eq(dns_table_set(&t, &web), 0);
	ck_assert_ptr_null(dns_table_find(&t, "10.0.96.10.in-addr.arpa"));
	ck_assert_ptr_nonnull(dns_table_find(&t, "11.0.96.10.in-addr.arpa"));
	dns_table_remove(&t, "hl");
	ck_assert_ptr_null(dns_table_find(&t, "hl.default.svc.cluster.local"));
	ck_assert_ptr_nonnull(dns_table_find(&t, "default.svc.cluster.local"));
	dns_table_remove(&t, "nobody");
	dns_table_clear(&t);
	ck_assert_uint_eq(dns_table_names(&t), 0);
	ck_assert_uint_eq(dns_table_services(&t), 0);
}
END_TEST

static uint8_t *
query(const char *name, ldns_rr_type type, uint16_t edns, size_t *len)
{
	ldns_pkt *q = ldns_pkt_query_new(ldns_dname_new_frm_str(name), type, LDNS_RR_CLASS_IN, LDNS_RD);
	uint8_t *w = NULL;

	ldns_pkt_set_id(q, 77);
	if (edns)
		ldns_pkt_set_edns_udp_size(q, edns);
	ck_assert_int_eq(ldns_pkt2wire(&w, q, len), LDNS_STATUS_OK);
	ldns_pkt_free(q);
	return w;
}

/* dns_answer on (name, type); the answer parsed (NULL unless ANSWER). */
static ldns_pkt *
answer(const struct dns_table *t, const char *name, ldns_rr_type type, uint16_t edns, size_t max, enum dns_verdict *v)
{
	struct dns_question q;
	size_t len, out_len = 0;
	uint8_t *w = query(name, type, edns, &len), *out = NULL;
	ldns_pkt *p = NULL;

	*v = dns_answer(t, w, len, max, &out, &out_len, &q);
	if (out) {
		ck_assert_int_eq(ldns_wire2pkt(&p, out, out_len), LDNS_STATUS_OK);
		ck_assert_int_eq(ldns_pkt_id(p), 77);
		ck_assert_uint_le(out_len, max ? max : (edns > 512 ? edns : 512));
	}
	free(out);
	free(w);
	return p;
}

START_TEST(answer_core)
{
	static uint32_t pods[100];
	struct dns_service hl = {"big", 0, 1, PORTS, 1, pods, 100};
	struct dns_table t;
	enum dns_verdict v;
	ldns_pkt *p;

	for (int i = 0; i < 100; i++)
		pods[i] = htonl(0x0af40000u + (uint32_t)i + 1);
	dns_table_init(&t, "cluster.local", 5);
	ck_assert_int_eq(dns_table_set(&t, &hl), 0);
	p = answer(&t, "big.default.svc.cluster.local", LDNS_RR_TYPE_A, 0, 0, &v);
	ck_assert_int_eq(ldns_pkt_get_rcode(p), LDNS_RCODE_SERVFAIL); /* not ready yet */
	ldns_pkt_free(p);
	t.ready = 1;
	p = answer(&t, "big.default.svc.cluster.local", LDNS_RR_TYPE_A, 0, 0, &v);
	ck_assert(ldns_pkt_tc(p));
	ck_assert_int_eq(ldns_pkt_ancount(p), 0);
	ldns_pkt_free(p);
	p = answer(&t, "big.default.svc.cluster.local", LDNS_RR_TYPE_A, 0, 65535, &v);
	ck_assert_int_eq(ldns_pkt_ancount(p), 100);
	ck_assert(ldns_pkt_aa(p));
	ldns_pkt_free(p);
	p = answer(&t, "nope.svc.cluster.local", LDNS_RR_TYPE_A, 1232, 0, &v);
	ck_assert_int_eq(ldns_pkt_get_rcode(p), LDNS_RCODE_NXDOMAIN);
	ck_assert_int_eq(ldns_pkt_nscount(p), 1);
	ldns_pkt_free(p);
	ck_assert_ptr_null(answer(&t, "example.com", LDNS_RR_TYPE_A, 0, 0, &v));
	ck_assert_int_eq(v, DNS_FORWARD);
	dns_table_clear(&t);
}
END_TEST

START_TEST(answer_errors)
{
	struct dns_table t;
	struct dns_question q;
	uint8_t twoq[12] = {0, 9, 1, 0, 0, 2}, resp[12] = {0, 9, 0x81, 0, 0, 1}, *out = NULL;
	size_t len = 0, qlen;
	uint8_t *w;

	dns_table_init(&t, "cluster.local", 5);
	ck_assert_int_eq(dns_answer(&t, twoq, 5, 0, &out, &len, &q), DNS_DROP);
	ck_assert_int_eq(dns_answer(&t, resp, 12, 0, &out, &len, &q), DNS_DROP);
	ck_assert_int_eq(dns_answer(&t, twoq, 12, 0, &out, &len, &q), DNS_ANSWER);
	ck_assert(q.malformed);
	ck_assert_int_eq(out[3] & 0xf, LDNS_RCODE_FORMERR);
	free(out);
	/* Every prefix of a good query is handled. */
	w = query("web.default.svc.cluster.local", LDNS_RR_TYPE_A, 1232, &qlen);
	for (size_t n = 0; n < qlen; n++) {
		out = NULL;
		if (dns_answer(&t, w, n, 0, &out, &len, &q) == DNS_ANSWER)
			ck_assert_int_eq(out[3] & 0xf, LDNS_RCODE_FORMERR);
		free(out);
	}
	ck_assert_uint_eq(dns_min_ttl(w, qlen), 30);
	ck_assert_uint_eq(dns_min_ttl(w, 5), 0);
	free(w);
}
END_TEST

START_TEST(cache_core)
{
	struct dns_cache *c = dns_cache_new(2);
	const uint8_t *hit;
	size_t len = 0;

	dns_cache_put(c, "a", 1, 1, (const uint8_t *)"AAAA", 4, 100, 10);
	dns_cache_put(c, "b", 1, 1, (const uint8_t *)"BBBB", 4, 100, 10);
	ck_assert_ptr_nonnull(dns_cache_get(c, "a", 1, 1, 101, &len)); /* a is now the most recent */
	dns_cache_put(c, "c", 1, 1, (const uint8_t *)"CCCC", 4, 101, 10);
	ck_assert_ptr_null(dns_cache_get(c, "b", 1, 1, 101, &len));
	ck_assert_ptr_nonnull(hit = dns_cache_get(c, "a", 1, 1, 101, &len));
	ck_assert_int_eq(memcmp(hit, "AAAA", 4), 0);
	ck_assert_ptr_null(dns_cache_get(c, "a", 28, 1, 101, &len));
	ck_assert_ptr_null(dns_cache_get(c, "c", 1, 1, 111, &len)); /* expired */
	ck_assert_uint_eq(dns_cache_count(c), 1);
	dns_cache_free(c);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("dns_table");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, table_core);
	tcase_add_test(tc, answer_core);
	tcase_add_test(tc, answer_errors);
	tcase_add_test(tc, cache_core);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
