/*
 * agent_dns_conf.c: a pod's resolv.conf from its dnsPolicy and dnsConfig
 * (agent_dns.h), following the kubelet's rules (pkg/kubelet/network/dns):
 * the cluster's nameserver and search list for ClusterFirst, the node's
 * file for Default, nothing for None, then the pod's dnsConfig merged and
 * the result cut to the resolver's limits.
 *
 * Pure: no file, no log. It does not read the node's file (the caller
 * passes its text) and does not judge the dnsConfig (the decoder did).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent_dns.h"

#define LIST_MAX 160 /* node's entries + the pod's (32 searches, 64 options) + the cluster's */

struct list {
	char *v[LIST_MAX];
	size_t n;
};

struct conf {
	struct list ns, search, opt;
	int oom;
};

/* Append s (len bytes) unless already there; options replace an entry of
 * the same name (up to ':'). */
static void
add(struct conf *c, struct list *l, const char *s, size_t len, int option)
{
	size_t i, nl = option && memchr(s, ':', len) ? (size_t)((const char *)memchr(s, ':', len) - s) : len;
	char *copy;

	for (i = 0; i < l->n; i++)
		if (option ? strncmp(l->v[i], s, nl) == 0 && (l->v[i][nl] == '\0' || l->v[i][nl] == ':')
		           : strlen(l->v[i]) == len && strncmp(l->v[i], s, len) == 0)
			break;
	if (!option && i < l->n)
		return;
	if (i == LIST_MAX || !(copy = strndup(s, len))) {
		c->oom |= i != LIST_MAX;
		return;
	}
	if (i < l->n)
		free(l->v[i]);
	else
		l->n++;
	l->v[i] = copy;
}

static void
clear(struct list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	l->n = 0;
}

static int
loopback(const char *w, size_t len)
{
	return (len >= 4 && strncmp(w, "127.", 4) == 0) || (len == 3 && strncmp(w, "::1", 3) == 0);
}

/* One line of the node's file (without its newline). */
static void
host_line(struct conf *c, const char *p, const char *end, int keep_loopback)
{
	size_t kl = strcspn(p, " \t\n"), wl;
	const char *key = p, *w;
	int search = kl == 6 && strncmp(key, "search", 6) == 0, domain = kl == 6 && strncmp(key, "domain", 6) == 0;

	if (search || domain)
		clear(&c->search); /* the last search or domain line wins, as in glibc */
	for (w = p + kl; w < end; w += wl) {
		w += strspn(w, " \t");
		if (w >= end || (wl = strcspn(w, " \t\n")) == 0)
			break;
		if (kl == 10 && strncmp(key, "nameserver", 10) == 0) {
			if (keep_loopback || !loopback(w, wl))
				add(c, &c->ns, w, wl, 0);
			break; /* one address per line */
		}
		if (search || domain) {
			size_t l = wl > 1 && w[wl - 1] == '.' ? wl - 1 : wl; /* as the kubelet: no trailing dot */

			if (!(wl == 1 && *w == '.'))
				add(c, &c->search, w, l, 0);
			if (domain)
				break;
		} else if (kl == 7 && strncmp(key, "options", 7) == 0) {
			add(c, &c->opt, w, wl, 1);
		} else {
			break;
		}
	}
}

static void
parse_host(struct conf *c, const char *text, int keep_loopback)
{
	const char *p = text ? text : "", *end;

	for (; *p; p = *end ? end + 1 : end) {
		end = p + strcspn(p, "\n");
		p += strspn(p, " \t");
		if (*p != '#' && *p != ';' && p < end)
			host_line(c, p, end, keep_loopback);
	}
}

static void
cluster_first(struct conf *c, const struct dns_in *in)
{
	struct list host = c->search;
	char s[300];

	memset(&c->search, 0, sizeof(c->search));
	snprintf(s, sizeof(s), "%s.svc.%s", DNS_NAMESPACE, in->domain);
	add(c, &c->search, s, strlen(s), 0);
	snprintf(s, sizeof(s), "svc.%s", in->domain);
	add(c, &c->search, s, strlen(s), 0);
	add(c, &c->search, in->domain, strlen(in->domain), 0);
	for (size_t i = 0; i < host.n; i++)
		add(c, &c->search, host.v[i], strlen(host.v[i]), 0);
	clear(&host);
	clear(&c->ns);
	clear(&c->opt);
	add(c, &c->ns, in->cluster_dns, strlen(in->cluster_dns), 0);
	add(c, &c->opt, "ndots:5", 7, 1);
}

static void
merge(struct conf *c, const struct api_dns_config *cfg)
{
	char o[600];
	size_t i;

	for (i = 0; i < cfg->n_nameservers; i++)
		add(c, &c->ns, cfg->nameservers[i], strlen(cfg->nameservers[i]), 0);
	for (i = 0; i < cfg->n_searches; i++)
		add(c, &c->search, cfg->searches[i], strlen(cfg->searches[i]), 0);
	for (i = 0; i < cfg->n_options; i++) {
		snprintf(o, sizeof(o), "%s%s%s", cfg->options[i].name, cfg->options[i].value ? ":" : "",
		         cfg->options[i].value ? cfg->options[i].value : "");
		add(c, &c->opt, o, strlen(o), 1);
	}
}

/* The text, cut to the limits (the kubelet's formDNSConfigFitsLimits). */
static char *
render(const struct conf *c)
{
	size_t i, n = 0, ns = c->ns.n < API_MAX_DNS_NAMESERVERS ? c->ns.n : API_MAX_DNS_NAMESERVERS;
	size_t ns_search = c->search.n < API_MAX_DNS_SEARCHES ? c->search.n : API_MAX_DNS_SEARCHES, chars = 0;
	char *b;
	FILE *f = open_memstream(&b, &n);

	if (!f)
		return NULL;
	for (i = 0; i < ns; i++)
		fprintf(f, "nameserver %s\n", c->ns.v[i]);
	for (i = 0; i < ns_search; i++) {
		if (chars + strlen(c->search.v[i]) + (i > 0) > API_MAX_DNS_SEARCH_CHARS)
			break;
		chars += strlen(c->search.v[i]) + (i > 0);
		fprintf(f, "%s%s", i ? " " : "search ", c->search.v[i]);
	}
	if (i)
		fputc('\n', f);
	for (i = 0; i < c->opt.n; i++)
		fprintf(f, "%s%s", i ? " " : "options ", c->opt.v[i]);
	if (i)
		fputc('\n', f);
	if (fclose(f) != 0) {
		free(b);
		return NULL;
	}
	return b;
}

int
dns_resolv_conf(const struct dns_in *in, char **out)
{
	enum api_dns_policy p = in->policy;
	struct conf c = {0};

	*out = NULL;
	if (p == API_DNS_CLUSTER_FIRST && in->host_network)
		p = API_DNS_DEFAULT;
	if ((p == API_DNS_CLUSTER_FIRST || p == API_DNS_CLUSTER_FIRST_HOST_NET) && !in->cluster_dns)
		p = API_DNS_DEFAULT;
	if (p == API_DNS_DEFAULT && in->host_network && !in->cfg)
		return 1;
	if (p != API_DNS_NONE)
		parse_host(&c, in->host_resolv, in->host_network);
	if (p == API_DNS_CLUSTER_FIRST || p == API_DNS_CLUSTER_FIRST_HOST_NET)
		cluster_first(&c, in);
	if (in->cfg)
		merge(&c, in->cfg);
	if (!c.oom)
		*out = render(&c);
	clear(&c.ns);
	clear(&c.search);
	clear(&c.opt);
	return *out ? 0 : -1;
}
