/*
 * px_nft.c: the proxy's nftables rules, in a table of its own
 * ("ip skiff_<node>") that nothing else touches. Every change replaces the
 * whole table in one nft transaction ("add table; delete table; table {…}"),
 * so there is never a moment with half the rules; a table left by a crashed
 * run is replaced the same way at start, and removed on exit.
 *
 * Both modes look clusterIP . port up in one map ("services"), for traffic
 * from the node (output) and from its pods (prerouting):
 * userspace: the map gives the port's local listener, and the connection
 *   is redirected there.
 * nftables: the map jumps to the port's chain (svc_N, commented with the
 *   port's key), which rewrites the destination straight to an endpoint
 *   chosen by numgen round-robin, so there is no userspace hop; a port
 *   without endpoints is refused with a reset.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/run.h"
#include "proxy.h"

struct sbuf {
	char *s;
	size_t len, cap;
};

static void
sb_printf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

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
	if (px->mode == PX_USERSPACE)
		sb_printf(b, "%s%s . %d : %d", i ? ", " : "", cip, p->port, p->listen_port);
	else
		sb_printf(b, "%s%s . %d : jump svc_%zu", i ? ", " : "", cip, p->port, i);
}

/* nftables mode: p's chain number i, which picks an endpoint. */
static void
port_chain(struct sbuf *b, const struct px_port *p, size_t i)
{
	char bip[20], key[sizeof(p->key)];

	/* The key in a comment, with anything nft would not take as '_'. */
	for (size_t j = 0; j < sizeof(key); j++)
		key[j] = !p->key[j] || isalnum((unsigned char)p->key[j]) || strchr("-/._", p->key[j]) ? p->key[j] : '_';
	sb_printf(b, "\tchain svc_%zu {\n\t\tcomment \"%s\"\n", i, key);
	if (p->nbe == 0) {
		/* Nobody to send to: refuse at once rather than let it hang. */
		sb_printf(b, "\t\treject with tcp reset\n\t}\n");
		return;
	}
	sb_printf(b, "\t\tmeta l4proto tcp dnat to numgen inc mod %zu map { ", p->nbe);
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
	size_t i = 0;
	int us = px->mode == PX_USERSPACE;
	const char *hooks[2][2] = {{"prerouting", "type nat hook prerouting priority dstnat"},
	                           {"output", "type nat hook output priority -100"}};

	sb_printf(&b, "table ip %s {\n", px->table);
	if (px->ports) {
		sb_printf(&b, "\tmap services {\n\t\ttype ipv4_addr . inet_service : %s\n\t\telements = { ",
		          us ? "inet_service" : "verdict");
		HASH_ITER(hh, px->ports, p, tmp)
			port_element(px, &b, p, i++);
		sb_printf(&b, " }\n\t}\n");
	}
	i = 0;
	if (!us)
		HASH_ITER(hh, px->ports, p, tmp)
			port_chain(&b, p, i++);
	for (int h = 0; h < 2; h++) {
		sb_printf(&b, "\tchain %s {\n\t\t%s; policy accept;\n", hooks[h][0], hooks[h][1]);
		if (px->ports && us)
			sb_printf(&b, "\t\tmeta l4proto tcp redirect to : ip daddr . tcp dport map @services\n");
		else if (px->ports)
			sb_printf(&b, "\t\tip daddr . tcp dport vmap @services\n");
		sb_printf(&b, "\t}\n");
	}
	if (!us) {
		/* Replies of rewritten connections need no rule (conntrack); let
		 * a node reach endpoints on its own loopback too. */
		sb_printf(&b, "\tchain postrouting {\n\t\ttype nat hook postrouting priority srcnat; policy accept;\n"
		              "\t\tct status dnat masquerade\n\t}\n");
	}
	sb_printf(&b, "}\n");
	return b.s;
}

/* Run "nft -f FILE" on script; blocking, but nft takes milliseconds and
 * runs only when the rules change. */
static int
run_nft(const char *script, char *err, size_t errlen)
{
	char path[] = "/tmp/skiff-nft.XXXXXX";
	int fd = mkstemp(path), rc;

	err[0] = '\0';
	if (fd < 0 || write(fd, script, strlen(script)) != (ssize_t)strlen(script)) {
		snprintf(err, errlen, "cannot write a temporary file: %s", strerror(errno));
		if (fd >= 0)
			close(fd), unlink(path);
		return -1;
	}
	rc = run_program((const char *const[]){"nft", "-f", path, NULL}, err, errlen);
	close(fd);
	unlink(path);
	if (rc == 0) {
		err[0] = '\0'; /* what nft said is only news when it failed */
		return 0;
	}
	if (rc == 127)
		snprintf(err, errlen, "nft not found (install nftables)");
	for (char *c = err; *c; c++)
		if (*c == '\n')
			*c = ' ';
	return -1;
}

int
px_nft_apply(struct px_proxy *px, const char *rules)
{
	struct sbuf b = {0};
	char err[512];
	int rc;

	/* "add table" makes the delete valid whether or not the table exists. */
	sb_printf(&b, "add table ip %s\ndelete table ip %s\n%s", px->table, px->table, rules ? rules : "");
	rc = run_nft(b.s, err, sizeof(err));
	free(b.s);
	if (rc < 0)
		log_kv(LL_ERROR, KV("table", px->table),
		       "cannot apply nftables rules: %s; service IPs will not be redirected (run as root with nftables)",
		       err);
	return rc;
}
