/*
 * px_nft.c: the proxy's nftables rules, in a table of its own
 * ("ip skiff_<node>") that nothing else touches. A change replaces the
 * whole table in one nft transaction ("add table; delete table; table {…}"),
 * so there is never a moment with half the rules; a table left by a crashed
 * run is replaced the same way at start, and removed on exit. A change of
 * some chains' rules alone (endpoints that come and go) replaces just
 * those rules, in one transaction too ("flush chain; add rule"), when the
 * table is known to hold the rules before it (px_nft_delta).
 *
 * nft reads the script on its stdin ("nft -f -", no temporary file) and
 * runs as a child the loop does not wait for (run_program_async): one at
 * a time, in order; a script asked for while one runs waits, and a newer
 * one takes its place (each replaces the whole table).
 *
 * Both modes look clusterIP . port up in one map ("services"), for traffic
 * from the node (output) and from its pods (prerouting):
 * userspace: the map gives the port's local listener, and the connection
 *   is redirected there.
 * nftables: the map jumps to the port's chain (svc_N, commented with the
 *   port's key), which rewrites the destination straight to an endpoint
 *   chosen by numgen round-robin, so there is no userspace hop; a port
 *   without endpoints is refused with a reset.
 * UDP ports are looked up in a map of their own ("services_udp") and get
 * the nftables mode's chains in both modes (a userspace relay of
 * datagrams would need a session per client, and could not check a
 * datagram's original destination as px_redirected does a connection's);
 * a UDP port without endpoints answers ICMP port unreachable.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/run.h"
#include "proxy.h"

struct sbuf {
	char *s;
	size_t len, cap;
};

static void sb_printf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
sb_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		size_t room = b->cap - b->len;

		va_start(ap, fmt);
		n = vsnprintf(b->s ? b->s + b->len : NULL, b->s ? room : 0, fmt, ap);
		va_end(ap);
		if (n < 0)
			return;
		if (b->s && (size_t)n < room) {
			b->len += (size_t)n;
			return;
		}
		b->cap = (b->cap + (size_t)n + 1) * 2;
		if (!(b->s = realloc(b->s, b->cap)))
			fatalx("out of memory");
	}
}

static void
ip_str(uint32_t ip, char *buf, size_t len)
{
	api_ipv4_format(ip, buf, len);
}

/* The element of the services map for p: "IP . PORT : VALUE" where VALUE
 * is the local listener (userspace) or a jump to p's chain number i. */
static void
port_element(struct px_proxy *px, struct sbuf *b, const struct px_port *p, size_t i)
{
	char cip[20];

	ip_str(p->cluster_ip, cip, sizeof(cip));
	if (px->mode == PX_USERSPACE && !p->udp)
		sb_printf(b, "%s . %d : %d", cip, p->port, p->listen_port);
	else
		sb_printf(b, "%s . %d : jump svc_%zu", cip, p->port, i);
}

/* The map name (services, services_udp) with the elements of the ports
 * whose udp is udp; nothing when there are none. */
static void
port_map(struct px_proxy *px, struct sbuf *b, int udp)
{
	struct px_port *p, *tmp;
	size_t i = 0, n = 0;
	int verdict = px->mode == PX_NFTABLES || udp;

	HASH_ITER(hh, px->ports, p, tmp) {
		if (p->udp == udp) {
			if (!n++)
				sb_printf(
					b,
					"\tmap services%s {\n\t\ttype ipv4_addr . inet_service : %s\n\t\telements = { ",
					udp ? "_udp" : "", verdict ? "verdict" : "inet_service");
			else
				sb_printf(b, ", ");
			port_element(px, b, p, i);
		}
		i++;
	}
	if (n)
		sb_printf(b, " }\n\t}\n");
}

/* nftables mode: p's chain number i, which picks an endpoint. */
static void
port_chain(struct sbuf *b, const struct px_port *p, size_t i)
{
	char bip[20], key[sizeof(p->key)], *aff;

	/* The key in a comment, with anything nft would not take as '_'. */
	for (size_t j = 0; j < sizeof(key); j++)
		key[j] = !p->key[j] || isalnum((unsigned char)p->key[j]) || strchr("-/._", p->key[j]) ? p->key[j] : '_';
	if (p->affinity && p->nbe && (aff = px_affinity_nft(p, i, key))) {
		sb_printf(b, "%s", aff); /* ClientIP: px_affinity.c */
		free(aff);
		return;
	}
	sb_printf(b, "\tchain svc_%zu {\n\t\tcomment \"%s\"\n", i, key);
	if (p->nbe == 0) {
		/* Nobody to send to: refuse at once rather than let it hang. */
		sb_printf(b, "\t\treject with %s\n\t}\n", p->udp ? "icmp type port-unreachable" : "tcp reset");
		return;
	}
	sb_printf(b, "\t\tmeta l4proto %s dnat to numgen inc mod %zu map { ", PX_L4(p), p->nbe);
	for (size_t j = 0; j < p->nbe; j++) {
		ip_str(p->be[j].ip, bip, sizeof(bip));
		sb_printf(b, "%s%zu : %s . %d", j ? ", " : "", j, bip, p->be[j].port);
	}
	sb_printf(b, " }\n\t}\n");
}

/* One map lookup per new connection, whatever the number of service
 * ports (nat chains see only a connection's first packet; conntrack
 * rewrites the rest). */
char *
px_nft_render(struct px_proxy *px)
{
	struct sbuf b = {0};
	struct px_port *p, *tmp;
	size_t i = 0, ntcp = 0, nudp = 0;
	int us = px->mode == PX_USERSPACE;
	const char *hooks[2][2] = {{"prerouting", "type nat hook prerouting priority dstnat"},
	                           {"output", "type nat hook output priority -100"}};
	int npmaps;
	char *np = px_nodeport_map(px, &npmaps); /* px_nodeport.c */

	HASH_ITER(hh, px->ports, p, tmp) {
		ntcp += !p->udp;
		nudp += p->udp;
	}
	sb_printf(&b, "table ip %s {\n", px->table);
	port_map(px, &b, 0);
	port_map(px, &b, 1);
	if (np)
		sb_printf(&b, "%s", np);
	HASH_ITER(hh, px->ports, p, tmp) {
		if (!us || p->udp)
			port_chain(&b, p, i);
		i++;
	}
	for (int h = 0; h < 2; h++) {
		sb_printf(&b, "\tchain %s {\n\t\t%s; policy accept;\n", hooks[h][0], hooks[h][1]);
		if (ntcp && us)
			sb_printf(&b, "\t\tmeta l4proto tcp redirect to : ip daddr . tcp dport map @services\n");
		else if (ntcp)
			sb_printf(&b, "\t\tip daddr . tcp dport vmap @services\n");
		if (nudp)
			sb_printf(&b, "\t\tip daddr . udp dport vmap @services_udp\n");
		if (npmaps & PX_NP_TCP)
			sb_printf(&b, PX_NODEPORT_RULE);
		if (npmaps & PX_NP_UDP)
			sb_printf(&b, PX_NODEPORT_UDP_RULE);
		sb_printf(&b, "\t}\n");
	}
	if (!us || nudp) {
		/* Replies of rewritten connections need no rule (conntrack); let
		 * a node reach endpoints on its own loopback too. */
		sb_printf(&b, "\tchain postrouting {\n\t\ttype nat hook postrouting priority srcnat; policy accept;\n"
		              "\t\tct status dnat masquerade\n\t}\n");
	}
	sb_printf(&b, "}\n");
	free(np);
	return b.s;
}

/* What nft said, on one line (err, at most len - 1 bytes). */
static void
nft_said(const struct run_result *r, char *err, size_t len)
{
	size_t n;

	if (r->status == 127)
		snprintf(err, len, "nft not found (install nftables)");
	else if (r->signal)
		snprintf(err, len, "%s%snft was killed by signal %d", r->out, r->len ? "; " : "", r->signal);
	else if (r->len)
		snprintf(err, len, "%s", r->out);
	else
		snprintf(err, len, "nft exited with status %d", r->status);
	for (char *c = err; *c; c++)
		if (*c == '\n')
			*c = ' ';
	for (n = strlen(err); n && err[n - 1] == ' ';)
		err[--n] = '\0';
}

static void nft_done(const struct run_result *r, void *arg);

/* Start "nft -f -" with script on its stdin (freed here). 0, or -1 when
 * it could not be started (logged). */
static int
nft_start(struct px_proxy *px, char *script)
{
	px->nft_run = run_program_async(px->d->loop, (const char *const[]){"nft", "-f", "-", NULL}, script,
	                                strlen(script), nft_done, px);
	free(script);
	if (px->nft_run)
		return 0;
	log_kv(LL_ERROR, KV("table", px->table), "cannot run nft: %s; service IPs will not be redirected",
	       strerror(errno));
	return -1;
}

/* The nft running has ended: the next script queued, if any, runs now.
 * A failure is logged; when nothing newer is queued the rules are
 * forgotten, so that the next sync applies them again. */
static void
nft_done(const struct run_result *r, void *arg)
{
	struct px_proxy *px = arg;
	char err[512];
	char *next = px->nft_next;

	px->nft_run = NULL;
	px->nft_next = NULL;
	unsigned gen = px->nft_gen;

	px->nft_ok = r->status == 0;
	if (px->nft_ok && px->nft_carries && !px->nft_stopping)
		px_status_applied(px, px->nft_rev); /* px_status.c */
	if (px->nft_ok && !px->nft_stopping)
		px_conntrack_flush(px, gen); /* px_conntrack.c */
	px->nft_rev = px->nft_next_rev;
	px->nft_next_rev = 0;
	px->nft_gen = px->nft_next_gen;
	px->nft_next_gen = 0;
	if (!px->nft_ok) {
		nft_said(r, err, sizeof(err));
		log_kv(LL_ERROR, KV("table", px->table),
		       "cannot apply nftables rules: %s; service IPs will not be redirected (run as root with nftables)",
		       err);
	}
	if (next && nft_start(px, next) == 0)
		return;
	if (!px->nft_ok || next) {
		px->nft_ok = 0;
		free(px->rules);
		px->rules = NULL;
	}
	if (px->nft_stopping) {
		if (px->nft_ok)
			log_kv(LL_INFO, KV("table", px->table), "removed our nftables table");
		daemon_stop_done(px->d);
	}
}

int
px_nft_apply(struct px_proxy *px, const char *rules)
{
	struct sbuf b = {0};
	char *delta;

	if (px->nft_stopping)
		return -1; /* the table is going away for good */
	/* The table holds px->rules (nothing runs or waits, the last run
	 * worked) and only some chains' rules change, as when endpoints come
	 * and go: those chains alone, not the table (no hooks taken down and
	 * made again, less for nft to parse and the kernel to commit). */
	if (!px->nft_run && px->nft_ok && px->rules && rules && (delta = px_nft_delta(px->table, px->rules, rules))) {
		log_kv(LL_DEBUG, KV("table", px->table), "rules of some chains replaced, not the table");
		px->nft_gen = px->gen;
		return nft_start(px, delta);
	}
	/* "add table" makes the delete valid whether or not the table exists. */
	sb_printf(&b, "add table ip %s\ndelete table ip %s\n%s", px->table, px->table, rules ? rules : "");
	if (!px->nft_run) {
		px->nft_gen = px->gen;
		return nft_start(px, b.s);
	}
	px->nft_next_gen = px->gen;
	/* One nft at a time, in order; each script replaces the whole table,
	 * so only the newest one waiting matters. */
	free(px->nft_next);
	px->nft_next = b.s;
	return 0;
}

int
px_nft_stop(struct px_proxy *px)
{
	if (px_nft_apply(px, NULL) < 0)
		return DAEMON_DONE;
	px->nft_stopping = 1;
	return DAEMON_PENDING;
}
