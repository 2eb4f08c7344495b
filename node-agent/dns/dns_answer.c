/*
 * dns_answer.c: one query message in, one answer message out, for the
 * names of a dns_table, with ldns doing every byte of the wire format.
 * Cluster names get authoritative answers (AA, the table's TTL); a name
 * of the cluster domain that does not exist gets NXDOMAIN, an existing
 * one without records of the type asked NODATA, both with the domain's
 * SOA in the authority section. A name that is neither in the zone nor
 * in the table is handed back to be forwarded. Pure (no I/O, no clock,
 * no logging) so that it can be fuzzed; it does not forward, cache or
 * know about sockets.
 */
#include <ctype.h>
#include <ldns/ldns.h>
#include <stdlib.h>
#include <string.h>

#include "dns.h"

#define DNS_EDNS_SIZE 1232 /* what we announce we take (DNS flag day 2020) */
#define DNS_NEG_TTL 30     /* dns_min_ttl of a message without records */

/* A record named name (a presentation name) of type and ttl; rdfs
 * (taken, n of them) its data. NULL out of memory. */
static ldns_rr *
rr_make(const char *name, ldns_rr_type type, uint32_t ttl, ldns_rdf **rdfs, size_t n)
{
	ldns_rr *rr = ldns_rr_new();
	ldns_rdf *owner = ldns_dname_new_frm_str(*name ? name : ".");
	int ok = rr && owner;

	for (size_t i = 0; i < n; i++)
		ok &= rdfs[i] != NULL;
	if (!ok) {
		ldns_rr_free(rr);
		ldns_rdf_deep_free(owner);
		for (size_t i = 0; i < n; i++)
			ldns_rdf_deep_free(rdfs[i]);
		return NULL;
	}
	ldns_rr_set_owner(rr, owner);
	ldns_rr_set_type(rr, type);
	ldns_rr_set_class(rr, LDNS_RR_CLASS_IN);
	ldns_rr_set_ttl(rr, ttl);
	for (size_t i = 0; i < n; i++)
		ldns_rr_push_rdf(rr, rdfs[i]);
	return rr;
}

static ldns_rr *
rr_of(const struct dns_table *t, const char *name, const struct dns_rr *r)
{
	ldns_rdf *d[4];

	switch (r->type) {
	case LDNS_RR_TYPE_A:
		d[0] = ldns_rdf_new_frm_data(LDNS_RDF_TYPE_A, 4, &r->a);
		return rr_make(name, LDNS_RR_TYPE_A, t->ttl, d, 1);
	case LDNS_RR_TYPE_PTR:
		d[0] = ldns_dname_new_frm_str(r->target);
		return rr_make(name, LDNS_RR_TYPE_PTR, t->ttl, d, 1);
	default: /* SRV */
		d[0] = ldns_native2rdf_int16(LDNS_RDF_TYPE_INT16, 0);
		d[1] = ldns_native2rdf_int16(LDNS_RDF_TYPE_INT16, 100);
		d[2] = ldns_native2rdf_int16(LDNS_RDF_TYPE_INT16, r->port);
		d[3] = ldns_dname_new_frm_str(r->target);
		return rr_make(name, LDNS_RR_TYPE_SRV, t->ttl, d, 4);
	}
}

/* The cluster domain's SOA (its minimum, the negative TTL, is ours). */
static ldns_rr *
soa(const struct dns_table *t)
{
	char ns[DNS_NAME_MAX + 16], mbox[DNS_NAME_MAX + 16];
	ldns_rdf *d[7];

	snprintf(ns, sizeof(ns), "ns.dns.%s", t->domain);
	snprintf(mbox, sizeof(mbox), "hostmaster.%s", t->domain);
	d[0] = ldns_dname_new_frm_str(ns);
	d[1] = ldns_dname_new_frm_str(mbox);
	d[2] = ldns_native2rdf_int32(LDNS_RDF_TYPE_INT32, t->serial);
	d[3] = ldns_native2rdf_int32(LDNS_RDF_TYPE_PERIOD, 7200);
	d[4] = ldns_native2rdf_int32(LDNS_RDF_TYPE_PERIOD, 1800);
	d[5] = ldns_native2rdf_int32(LDNS_RDF_TYPE_PERIOD, 86400);
	d[6] = ldns_native2rdf_int32(LDNS_RDF_TYPE_PERIOD, t->ttl);
	return rr_make(t->domain, LDNS_RR_TYPE_SOA, t->ttl, d, 7);
}

/* A reply to q: id, opcode, RD copied, QR and RA set, the question and
 * an OPT record when the query had one. NULL out of memory. */
static ldns_pkt *
reply_new(const struct dns_question *q, const ldns_rr *question, int rd, int edns, int rcode)
{
	ldns_pkt *p = ldns_pkt_new();
	ldns_rr *qr = NULL;

	if (!p)
		return NULL;
	ldns_pkt_set_id(p, q->id);
	ldns_pkt_set_qr(p, 1);
	ldns_pkt_set_rd(p, rd);
	ldns_pkt_set_ra(p, 1);
	ldns_pkt_set_opcode(p, LDNS_PACKET_QUERY);
	ldns_pkt_set_rcode(p, (uint8_t)rcode);
	if (edns)
		ldns_pkt_set_edns_udp_size(p, DNS_EDNS_SIZE);
	if (question && !(qr = ldns_rr_clone(question))) {
		ldns_pkt_free(p);
		return NULL;
	}
	if (qr)
		ldns_pkt_push_rr(p, LDNS_SECTION_QUESTION, qr);
	return p;
}

static uint8_t *
to_wire(ldns_pkt *p, size_t *len)
{
	uint8_t *w = NULL;

	if (!p || ldns_pkt2wire(&w, p, len) != LDNS_STATUS_OK) {
		free(w);
		w = NULL;
	}
	ldns_pkt_free(p);
	return w;
}

/* Fill p's answer section with node's records of q->type (every type
 * for ANY). How many, or -1 out of memory. */
static int
fill(const struct dns_table *t, ldns_pkt *p, const struct dns_question *q, const struct dns_node *n)
{
	int count = 0;

	for (const struct dns_rr *r = n ? n->rrs : NULL; r; r = r->next) {
		ldns_rr *rr;

		if (!r->type || (q->type != r->type && q->type != LDNS_RR_TYPE_ANY))
			continue;
		if (!(rr = rr_of(t, q->name, r)))
			return -1;
		ldns_pkt_push_rr(p, LDNS_SECTION_ANSWER, rr);
		count++;
	}
	return count;
}

/* The authoritative answer to q about node n (NULL: NXDOMAIN). */
static uint8_t *
authoritative(const struct dns_table *t, const struct dns_question *q, const ldns_pkt *qp, const struct dns_node *n,
              size_t max, size_t *len)
{
	const ldns_rr *question = ldns_rr_list_rr(ldns_pkt_question(qp), 0);
	int rd = ldns_pkt_rd(qp), edns = ldns_pkt_edns(qp);
	ldns_pkt *p = reply_new(q, question, rd, edns, n ? LDNS_RCODE_NOERROR : LDNS_RCODE_NXDOMAIN);
	int count = p ? fill(t, p, q, n) : -1;
	ldns_rr *s = NULL;
	uint8_t *w;

	if (count == 0 && dns_table_in_zone(t, q->name) && !(s = soa(t)))
		count = -1;
	if (count < 0) {
		ldns_pkt_free(p);
		return NULL;
	}
	ldns_pkt_set_aa(p, 1);
	if (s)
		ldns_pkt_push_rr(p, LDNS_SECTION_AUTHORITY, s);
	if (!(w = to_wire(p, len)) || *len <= max)
		return w;
	/* Too big for the client: header and question, TC set. */
	free(w);
	if (!(p = reply_new(q, question, rd, edns, LDNS_RCODE_NOERROR)))
		return NULL;
	ldns_pkt_set_aa(p, 1);
	ldns_pkt_set_tc(p, 1);
	return to_wire(p, len);
}

/* The question's name, lower case, without the final dot ("" for the
 * root). -1 when it does not fit. */
static int
question_name(const ldns_rr *question, char *out, size_t len)
{
	char *s = ldns_rdf2str(ldns_rr_owner(question));
	size_t n;

	if (!s || (n = strlen(s)) >= len) {
		free(s);
		return -1;
	}
	if (n && s[n - 1] == '.')
		s[--n] = '\0';
	for (size_t i = 0; i <= n; i++)
		out[i] = (char)tolower((unsigned char)s[i]);
	free(s);
	return 0;
}

/* A header-only answer to a query that does not parse. */
static uint8_t *
formerr(struct dns_question *q, const uint8_t *query, size_t *len)
{
	ldns_pkt *p;

	q->malformed = 1;
	if (!(p = reply_new(q, NULL, query[2] & 1, 0, LDNS_RCODE_FORMERR)))
		return NULL;
	ldns_pkt_set_opcode(p, (ldns_pkt_opcode)((query[2] >> 3) & 0xf));
	return to_wire(p, len);
}

/* Read qp's question into q; the rcode it deserves (NOERROR: a proper
 * query). */
static int
read_question(const ldns_pkt *qp, struct dns_question *q)
{
	const ldns_rr *question;

	if (ldns_pkt_get_opcode(qp) != LDNS_PACKET_QUERY)
		return LDNS_RCODE_NOTIMPL;
	if (ldns_pkt_qdcount(qp) != 1 || ldns_pkt_ancount(qp) || ldns_pkt_nscount(qp) ||
	    !(question = ldns_rr_list_rr(ldns_pkt_question(qp), 0)) ||
	    question_name(question, q->name, sizeof(q->name)))
		return LDNS_RCODE_FORMERR;
	q->type = (uint16_t)ldns_rr_get_type(question);
	q->qclass = (uint16_t)ldns_rr_get_class(question);
	if (ldns_pkt_edns(qp) && ldns_pkt_edns_udp_size(qp) > 512)
		q->udp_size = ldns_pkt_edns_udp_size(qp);
	return LDNS_RCODE_NOERROR;
}

enum dns_verdict
dns_answer(const struct dns_table *t, const uint8_t *query, size_t len, size_t max, uint8_t **out, size_t *out_len,
           struct dns_question *q)
{
	ldns_pkt *qp = NULL;
	const struct dns_node *n;
	int rc;

	memset(q, 0, sizeof(*q));
	*out = NULL;
	if (len < 12 || (query[2] & 0x80))
		return DNS_DROP; /* no id to answer to, or a response */
	q->id = (uint16_t)(query[0] << 8 | query[1]);
	q->udp_size = 512;
	if (ldns_wire2pkt(&qp, query, len) != LDNS_STATUS_OK) {
		*out = formerr(q, query, out_len);
		return *out ? DNS_ANSWER : DNS_DROP;
	}
	if ((rc = read_question(qp, q)) != LDNS_RCODE_NOERROR) {
		q->malformed = rc == LDNS_RCODE_FORMERR;
		ldns_pkt_free(qp);
		*out = formerr(q, query, out_len);
		if (*out && !q->malformed)
			(*out)[3] = (uint8_t)(((*out)[3] & 0xf0) | rc);
		return *out ? DNS_ANSWER : DNS_DROP;
	}
	if (!max)
		max = q->udp_size;
	n = dns_table_find(t, q->name);
	if (!n && !dns_table_in_zone(t, q->name)) {
		ldns_pkt_free(qp);
		return DNS_FORWARD;
	}
	if (!t->ready || (q->qclass != LDNS_RR_CLASS_IN && q->qclass != LDNS_RR_CLASS_ANY))
		*out = dns_answer_error(q, t->ready ? LDNS_RCODE_REFUSED : LDNS_RCODE_SERVFAIL, ldns_pkt_rd(qp),
		                        out_len);
	else
		*out = authoritative(t, q, qp, n, max, out_len);
	ldns_pkt_free(qp);
	return *out ? DNS_ANSWER : DNS_DROP;
}

uint8_t *
dns_answer_error(const struct dns_question *q, int rcode, int rd, size_t *out_len)
{
	ldns_rdf *d[1];
	ldns_rr *question = rr_make(q->name, (ldns_rr_type)q->type, 0, d, 0);
	ldns_pkt *p;

	if (!question)
		return NULL;
	ldns_rr_set_class(question, (ldns_rr_class)q->qclass);
	ldns_rr_set_question(question, 1);
	p = reply_new(q, question, rd, 0, rcode);
	ldns_rr_free(question);
	return to_wire(p, out_len);
}

size_t
dns_truncate(uint8_t *answer, size_t len)
{
	ldns_pkt *p = NULL, *r;
	struct dns_question q = {0};
	uint8_t *w;
	size_t n = 0;

	if (ldns_wire2pkt(&p, answer, len) != LDNS_STATUS_OK)
		return 0;
	q.id = ldns_pkt_id(p);
	r = reply_new(&q, ldns_rr_list_rr(ldns_pkt_question(p), 0), ldns_pkt_rd(p), ldns_pkt_edns(p),
	              ldns_pkt_get_rcode(p));
	if (r) {
		ldns_pkt_set_aa(r, ldns_pkt_aa(p));
		ldns_pkt_set_ra(r, ldns_pkt_ra(p));
		ldns_pkt_set_tc(r, 1);
	}
	ldns_pkt_free(p);
	if ((w = to_wire(r, &n)) && n <= len)
		memcpy(answer, w, n);
	else
		n = 0;
	free(w);
	return n;
}

static uint32_t
list_min_ttl(const ldns_rr_list *l, uint32_t min)
{
	for (size_t i = 0; i < ldns_rr_list_rr_count(l); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(l, i);

		if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_OPT && ldns_rr_ttl(rr) < min)
			min = ldns_rr_ttl(rr);
	}
	return min;
}

uint32_t
dns_min_ttl(const uint8_t *answer, size_t len)
{
	ldns_pkt *p = NULL;
	uint32_t min = UINT32_MAX;

	if (ldns_wire2pkt(&p, answer, len) != LDNS_STATUS_OK)
		return 0;
	min = list_min_ttl(ldns_pkt_answer(p), min);
	min = list_min_ttl(ldns_pkt_authority(p), min);
	ldns_pkt_free(p);
	return min == UINT32_MAX ? DNS_NEG_TTL : min;
}
