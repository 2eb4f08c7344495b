/*
 * epc_nodeport_calc.c: the node-port allocator's decisions, without etcd
 * or caches (so unit tests can run them): the --node-port-range syntax,
 * picking a free port, and whether a requested port may be claimed. It
 * does not read or write any claim; epc_nodeport.c does.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "epc.h"

/* A decimal 1..65535 from s up to end (exclusive); -1 when not one. */
static int
port_num(const char *s, const char *end)
{
	int v = 0;

	if (s == end || end - s > 5)
		return -1;
	for (; s < end; s++) {
		if (!isdigit((unsigned char)*s))
			return -1;
		v = v * 10 + (*s - '0');
	}
	return v >= 1 && v <= 65535 ? v : -1;
}

int
epc_node_port_range_parse(const char *s, int *lo, int *hi, char *err, size_t len)
{
	const char *dash = s ? strchr(s, '-') : NULL;
	int a, b;

	if (!dash || (a = port_num(s, dash)) < 0 || (b = port_num(dash + 1, dash + strlen(dash))) < 0) {
		snprintf(err, len, "--node-port-range must be LOW-HIGH, two ports 1-65535 (as 30000-32767), got \"%s\"",
		         s ? s : "");
		return -1;
	}
	if (a > b) {
		snprintf(err, len, "--node-port-range %s: %d is above %d", s, a, b);
		return -1;
	}
	*lo = a;
	*hi = b;
	return 0;
}

int
epc_node_port_pick(int lo, int hi, unsigned start, int (*taken)(int port, void *arg), void *arg)
{
	unsigned size = (unsigned)(hi - lo + 1);

	for (unsigned i = 0; i < size; i++) {
		int port = lo + (int)((start + i) % size);

		if (!taken(port, arg))
			return port;
	}
	return 0;
}

enum epc_np_verdict
epc_node_port_judge(int want, int lo, int hi, const struct api_service_ip *holder, const char *name, const char *uid,
                    int port, enum api_protocol proto)
{
	if (want < lo || want > hi)
		return EPC_NP_OUT_OF_RANGE;
	if (!holder)
		return EPC_NP_FREE;
	if (holder->service && strcmp(holder->service, name) == 0 && holder->uid && strcmp(holder->uid, uid) == 0 &&
	    holder->port == port && holder->protocol == proto)
		return EPC_NP_MINE;
	if (holder->service && strcmp(holder->service, name) == 0)
		return EPC_NP_RELEASING;
	return EPC_NP_TAKEN;
}
