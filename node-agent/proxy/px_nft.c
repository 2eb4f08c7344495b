/*
 * px_nft.c: the proxy's nftables rules, in a table of its own
 * ("ip skiff_<node>") that nothing else touches. Every change replaces the
 * whole table in one nft transaction ("add table; delete table; table {…}"),
 * so there is never a moment with half the rules; a table left by a crashed
 * run is replaced the same way at start, and removed on exit.
 *
 * userspace: clusterIP:port is redirected to the port's local listener,
 *   for traffic from the node (output) and from its pods (prerouting).
 * nftables: clusterIP:port is rewritten straight to an endpoint, chosen
 *   by numgen round-robin, so there is no userspace hop.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

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

static void
port_rules(struct px_proxy *px, struct sbuf *b, const struct px_port *p)
{
	char cip[20], bip[20];

	ip_str(p->cluster_ip, cip, sizeof(cip));
	if (px->mode == PX_USERSPACE) {
		sb_printf(b, "\t\tip daddr %s tcp dport %d redirect to :%d\n", cip, p->port, p->listen_port);
		return;
	}
	if (p->nbe == 0) {
		/* Nobody to send to: refuse at once rather than let it hang. */
		sb_printf(b, "\t\tip daddr %s tcp dport %d reject with tcp reset\n", cip, p->port);
		return;
	}
	sb_printf(b, "\t\tip daddr %s tcp dport %d dnat to numgen inc mod %zu map { ", cip, p->port, p->nbe);
	for (size_t i = 0; i < p->nbe; i++) {
		ip_str(p->be[i].ip, bip, sizeof(bip));
		sb_printf(b, "%s%zu : %s . %d", i ? ", " : "", i, bip, p->be[i].port);
	}
	sb_printf(b, " }\n");
}

char *
px_nft_render(struct px_proxy *px)
{
	struct sbuf b = {0};
	struct px_port *p, *tmp;
	const char *hooks[2][2] = {{"prerouting", "type nat hook prerouting priority dstnat"},
	                           {"output", "type nat hook output priority -100"}};

	sb_printf(&b, "table ip %s {\n", px->table);
	for (int h = 0; h < 2; h++) {
		sb_printf(&b, "\tchain %s {\n\t\t%s; policy accept;\n", hooks[h][0], hooks[h][1]);
		HASH_ITER(hh, px->ports, p, tmp)
			port_rules(px, &b, p);
		sb_printf(&b, "\t}\n");
	}
	if (px->mode == PX_NFTABLES) {
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
	char path[] = "/tmp/skiff-nft.XXXXXX", out[] = "/tmp/skiff-nft-out.XXXXXX";
	int fd = mkstemp(path), ofd = mkstemp(out), st = -1;
	pid_t pid;
	ssize_t n;

	err[0] = '\0';
	if (fd < 0 || ofd < 0 || write(fd, script, strlen(script)) != (ssize_t)strlen(script)) {
		snprintf(err, errlen, "cannot write a temporary file: %s", strerror(errno));
		goto done;
	}
	if ((pid = fork()) == 0) {
		dup2(ofd, 1);
		dup2(ofd, 2);
		execlp("nft", "nft", "-f", path, (char *)NULL);
		_exit(127);
	}
	if (pid < 0) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		goto done;
	}
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		n = pread(ofd, err, errlen - 1, 0);
		err[n > 0 ? n : 0] = '\0';
		if (WIFEXITED(st) && WEXITSTATUS(st) == 127)
			snprintf(err, errlen, "nft not found (install nftables)");
		for (char *c = err; *c; c++)
			if (*c == '\n')
				*c = ' ';
		st = -1;
	} else {
		st = 0;
	}
done:
	if (fd >= 0)
		close(fd), unlink(path);
	if (ofd >= 0)
		close(ofd), unlink(out);
	return st;
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
