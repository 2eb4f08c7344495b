/*
 * px_nftdelta.c: the smaller nft script for a change of the proxy's rules
 * (px_nft.c) that touches only the rules of some chains, as endpoints
 * coming and going do: "flush chain" and "add rule" for those chains, in
 * place of a rewrite of the whole table, which takes the table's hooks
 * down and makes them again and makes nft parse and the kernel commit
 * everything. Pure text work on two renders of px_nft_render.
 *
 * It deliberately does not decide whether the table holds the old rules
 * (px_nft.c knows), nor handle any other change (a map, a set, a chain
 * added or gone, a comment): those return NULL and the table is replaced.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proxy.h"

struct dbuf {
	char *s;
	size_t len, cap;
	int oom;
};

static void db_printf(struct dbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
db_printf(struct dbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || b->oom)
		return;
	if (b->len + (size_t)n + 1 > b->cap) {
		size_t cap = (b->cap + (size_t)n + 1) * 2;
		char *s = realloc(b->s, cap);

		if (!s) {
			b->oom = 1;
			return;
		}
		b->s = s, b->cap = cap;
	}
	va_start(ap, fmt);
	vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

/* The next top-level piece of a rendered table at *p: a block ("\tchain
 * NAME {", "\tmap …", "\tset …" up to its "\t}" line) or a single line.
 * Its length (0 at the end); *p moves past it. */
static size_t
nft_piece(const char **p, const char **start)
{
	const char *s = *p, *e = s;

	*start = s;
	if (!*s)
		return 0;
	if (s[0] == '\t' && s[1] != '\t') {
		while (*e && strncmp(e, "\t}\n", 3) != 0)
			e += strcspn(e, "\n") + (e[strcspn(e, "\n")] ? 1 : 0);
		e += *e ? 3 : 0;
	} else {
		e += strcspn(e, "\n");
		e += *e ? 1 : 0;
	}
	*p = e;
	return (size_t)(e - s);
}

/* A line of a chain's body that is a rule (not its comment or its hook). */
static int
nft_is_rule(const char *l)
{
	return strncmp(l, "\t\t", 2) == 0 && strncmp(l, "\t\tcomment ", 10) != 0 && strncmp(l, "\t\ttype ", 7) != 0;
}

/* The next line of [*p, end) that is not a rule, or NULL; *p moves past it. */
static const char *
nft_next_prop(const char **p, const char *end, size_t *len)
{
	while (*p < end) {
		const char *l = *p;

		*len = strcspn(l, "\n") + 1;
		*p += *len;
		if (!nft_is_rule(l))
			return l;
	}
	return NULL;
}

/* Chains o and n (blocks) differ in their rules alone: "flush chain" and
 * "add rule" lines for n into b; -1 when more than the rules differ. */
static int
nft_chain_delta(struct dbuf *b, const char *table, const char *o, size_t ol, const char *n, size_t nl)
{
	const char *po = o, *pn = n, *lo, *ln, *name = n + 7;
	size_t hl = strcspn(n, "\n") + 1, a, c;

	if (strncmp(o, "\tchain ", 7) != 0 || strncmp(n, "\tchain ", 7) != 0 || hl > ol || memcmp(o, n, hl) != 0 ||
	    ol < 3 || nl < 3 || memcmp(o + ol - 3, "\t}\n", 3) != 0 || memcmp(n + nl - 3, "\t}\n", 3) != 0)
		return -1; /* not two whole blocks of one chain */
	for (;;) {         /* the same lines but the rules, in the same order */
		lo = nft_next_prop(&po, o + ol, &a);
		ln = nft_next_prop(&pn, n + nl, &c);
		if (!lo || !ln)
			break;
		if (a != c || memcmp(lo, ln, a) != 0)
			return -1;
	}
	if (lo || ln)
		return -1;
	db_printf(b, "flush chain ip %s %.*s\n", table, (int)strcspn(name, " "), name);
	for (pn = n; pn < n + nl; pn += strcspn(pn, "\n") + 1)
		if (nft_is_rule(pn))
			db_printf(b, "add rule ip %s %.*s %.*s\n", table, (int)strcspn(name, " "), name,
			          (int)strcspn(pn + 2, "\n"), pn + 2);
	return 0;
}

char *
px_nft_delta(const char *table, const char *old, const char *new)
{
	struct dbuf b = {0};
	const char *po = old, *pn = new, *o, *n;
	size_t ol, nl;

	for (;;) {
		ol = nft_piece(&po, &o);
		nl = nft_piece(&pn, &n);
		if (!ol || !nl)
			break;
		if (ol == nl && memcmp(o, n, ol) == 0)
			continue;
		if (nft_chain_delta(&b, table, o, ol, n, nl) < 0)
			break;
	}
	if (ol || nl || !b.s || b.oom) {
		free(b.s);
		return NULL;
	}
	return b.s;
}
