/*
 * api_pod_dns.c: a pod's name resolution and service links: dnsPolicy
 * (ClusterFirst, ClusterFirstWithHostNet, Default, None), dnsConfig
 * (nameservers, searches, options) and enableServiceLinks, decoded with
 * Kubernetes' checks (at most 3 nameservers, IPv4 here; at most 32 search
 * domains of at most 2048 characters in all; None needs a dnsConfig with a
 * nameserver) and encoded only when they differ from the defaults, so a
 * pod without them keeps its bytes.
 *
 * It does not build a resolv.conf (node-agent/agent_dns.c does), and it
 * refuses white space in an option (the agent writes them into a file),
 * which Kubernetes does not check.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "api_internal.h"
#include "api_names.h"
#include "api_net.h"
#include "api_pod.h"

static const char *const dns_names[] = {"ClusterFirst", "ClusterFirstWithHostNet", "Default", "None"};

const char *
api_dns_policy_name(enum api_dns_policy p)
{
	return (unsigned)p < 4 ? dns_names[p] : "?";
}

/* Printable, without white space: safe on one line of a resolv.conf. */
static int
plain_word(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s <= ' ' || *s == 0x7f)
			return 0;
	return 1;
}

static void
option_decode(struct api_dec *d, const json_t *j, void *item)
{
	struct api_dns_option *o = item;

	o->name = dec_str(d, j, "name", 1);
	o->value = dec_str(d, j, "value", 0);
	if (o->name && !plain_word(o->name))
		dec_err_at(d, "name", "must not hold white space or control characters");
	if (o->value && !plain_word(o->value))
		dec_err_at(d, "value", "must not hold white space or control characters");
}

static void
nameservers_check(struct api_dec *d, const struct api_dns_config *c)
{
	size_t mark = dec_push(d, "nameservers");
	struct api_error e;
	uint32_t ip;

	if (c->n_nameservers > API_MAX_DNS_NAMESERVERS)
		dec_err(d, "must not have more than %d nameservers, got %zu", API_MAX_DNS_NAMESERVERS,
		        c->n_nameservers);
	for (size_t i = 0; i < c->n_nameservers; i++) {
		size_t m = dec_push_index(d, i);

		if (api_ipv4_parse(c->nameservers[i], &ip, &e) < 0)
			dec_err(d, "%s", e.msg);
		dec_pop(d, m);
	}
	dec_pop(d, mark);
}

static void
searches_check(struct api_dec *d, const struct api_dns_config *c)
{
	size_t mark = dec_push(d, "searches"), total = 0;
	char name[300], q[96];
	struct api_error e;

	if (c->n_searches > API_MAX_DNS_SEARCHES)
		dec_err(d, "must not have more than %d search paths, got %zu", API_MAX_DNS_SEARCHES, c->n_searches);
	for (size_t i = 0; i < c->n_searches; i++) {
		size_t m = dec_push_index(d, i), l = strlen(c->searches[i]);

		total += l + (i > 0);
		snprintf(name, sizeof(name), "%.*s", (int)(l && c->searches[i][l - 1] == '.' ? l - 1 : l),
		         c->searches[i]);
		if (l >= sizeof(name))
			dec_err(d, "%s is not a DNS subdomain: too long", api_quote(q, sizeof(q), c->searches[i]));
		else if (api_check_dns_subdomain(name, &e) < 0)
			dec_err(d, "%s", e.msg);
		dec_pop(d, m);
	}
	if (total > API_MAX_DNS_SEARCH_CHARS)
		dec_err(d, "must not have more than %d characters (spaces included) in total, got %zu",
		        API_MAX_DNS_SEARCH_CHARS, total);
	dec_pop(d, mark);
}

static void
config_decode(struct api_dec *d, const json_t *j, void *out)
{
	struct api_dns_config **cp = out, *c;

	if (!j)
		return;
	if (!(c = *cp = calloc(1, sizeof(*c)))) {
		dec_oom(d);
		return;
	}
	dec_strv(d, j, "nameservers", &c->nameservers, &c->n_nameservers);
	nameservers_check(d, c);
	dec_strv(d, j, "searches", &c->searches, &c->n_searches);
	searches_check(d, c);
	if (!dec_too_many(d, j, "options", API_MAX_DNS_OPTIONS))
		c->options = dec_array(d, j, "options", sizeof(*c->options), &c->n_options, option_decode);
}

void
api_pod_dns_decode(struct api_dec *d, const json_t *j, struct api_pod_spec *s)
{
	int links = 1;

	s->dns_policy = (enum api_dns_policy)dec_enum(d, j, "dnsPolicy", dns_names, 4, API_DNS_CLUSTER_FIRST);
	dec_object(d, j, "dnsConfig", &s->dns_config, config_decode);
	if (s->dns_policy == API_DNS_NONE && !s->dns_config)
		dec_err_at(d, "dnsConfig", "required when dnsPolicy is None");
	else if (s->dns_policy == API_DNS_NONE && !s->dns_config->n_nameservers)
		dec_err_at(d, "dnsConfig.nameservers", "must have at least one nameserver when dnsPolicy is None");
	if (dec_bool(d, j, "enableServiceLinks", &links))
		s->service_links_off = !links;
}

static json_t *
option_encode(const void *item)
{
	const struct api_dns_option *o = item;
	json_t *j = json_object();
	int rc = !j;

	if (j) {
		rc |= enc_str(j, "name", o->name);
		rc |= enc_str(j, "value", o->value);
	}
	return enc_done(j, rc);
}

int
api_pod_dns_encode(json_t *j, const struct api_pod_spec *s)
{
	const struct api_dns_config *c = s->dns_config;
	json_t *o;
	int rc = 0;

	if (s->dns_policy != API_DNS_CLUSTER_FIRST)
		rc |= enc_str(j, "dnsPolicy", api_dns_policy_name(s->dns_policy));
	if (s->service_links_off)
		rc |= json_object_set_new(j, "enableServiceLinks", json_false());
	if (!c)
		return rc;
	if (!(o = json_object()))
		return -1;
	rc |= enc_strv(o, "nameservers", c->nameservers, c->n_nameservers);
	rc |= enc_strv(o, "searches", c->searches, c->n_searches);
	if (c->n_options)
		rc |= enc_set(o, "options", enc_array(c->options, c->n_options, sizeof(*c->options), option_encode));
	/* An empty dnsConfig reads as absent again: nothing is lost. */
	return rc | enc_set(j, "dnsConfig", o);
}

void
api_pod_dns_clear(struct api_pod_spec *s)
{
	struct api_dns_config *c = s->dns_config;

	if (c) {
		api_strv_free(c->nameservers, c->n_nameservers);
		api_strv_free(c->searches, c->n_searches);
		for (size_t i = 0; i < c->n_options; i++) {
			free(c->options[i].name);
			free(c->options[i].value);
		}
		free(c->options);
		free(c);
	}
	s->dns_config = NULL;
	s->dns_policy = API_DNS_CLUSTER_FIRST;
	s->service_links_off = 0;
}
