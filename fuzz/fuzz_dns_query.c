/*
 * fuzz_dns_query.c: libFuzzer target for skiff-dns's query path
 * (node-agent/dns/dns_answer.c over dns_table.c) with a fixed table: a
 * service with a cluster IP and named ports, and a headless one with 60
 * pods (more than 512 bytes of answer). The input is a query message as
 * a client might send it. The first byte's low bit picks UDP (the
 * client's size) or TCP (64 KiB). An answer must parse, carry the
 * query's id, have QR set and fit the transport; the verdict DROP only
 * comes for a message too short to have an id, or a response. The
 * input is also given to dns_min_ttl and dns_truncate, which read
 * upstream answers.
 */
#include <arpa/inet.h>
#include <ldns/ldns.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "node-agent/dns/dns.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct dns_table T;

static void
table_once(void)
{
	static const struct dns_port ports[] = {{"http", "tcp", 80, 8080}, {"dns", "udp", 53, 53}, {NULL, "tcp", 9, 9}};
	static uint32_t pods[60];
	struct dns_service web = {"web", 0, 0, ports, 3, NULL, 0}, hl = {"hl", 0, 1, ports, 3, pods, 60};

	if (T.domain[0])
		return;
	dns_table_init(&T, "cluster.local", 5);
	inet_pton(AF_INET, "10.96.0.10", &web.cluster_ip);
	for (int i = 0; i < 60; i++)
		pods[i] = htonl(0x0af40100u + (uint32_t)i + 1);
	dns_table_set(&T, &web);
	dns_table_set(&T, &hl);
	T.ready = 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dns_question q;
	uint8_t *out = NULL, *copy;
	size_t len = 0, max = size && (data[0] & 1) ? 65535 : 0;
	ldns_pkt *p = NULL;
	enum dns_verdict v;

	table_once();
	v = dns_answer(&T, data, size, max, &out, &len, &q);
	if (v == DNS_DROP && size >= 12 && !(data[2] & 0x80) && out)
		abort();
	if (v == DNS_ANSWER) {
		if (!out || ldns_wire2pkt(&p, out, len) != LDNS_STATUS_OK)
			abort();
		if (ldns_pkt_id(p) != q.id || !ldns_pkt_qr(p) || len > (max ? max : q.udp_size))
			abort();
		ldns_pkt_free(p);
	}
	free(out);
	dns_min_ttl(data, size);
	if ((copy = malloc(size + 1))) {
		memcpy(copy, data, size);
		if (dns_truncate(copy, size) > size)
			abort();
		free(copy);
	}
	return 0;
}
