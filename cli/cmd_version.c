/*
 * cmd_version.c: "skiffctl version": skiffctl's own release and contract
 * version, then, unless --client, the version each running component
 * published in etcd:
 *   - agents: status.agentVersion of P/nodestatus/NODE (contract 2; an
 *     agent of version 1 has no such key, and its P/nodes/NODE status
 *     carries agentVersion alone: shown as contract 1);
 *   - the scheduler and controllers: the value of their leader election
 *     key P/leaders/COMPONENT/LEASE, "HOST-PID PROGRAM RELEASE (contract
 *     N)" (older ones wrote "HOST-PID" only: shown as unknown).
 * It reads only what the components already write; it does not ask their
 * health endpoints (they listen on loopback by default) and it does not
 * judge whether a component is alive (skiffctl get nodes does that).
 */
#include <stdlib.h>
#include <string.h>

#include "skiffctl.h"

static int client_flag;

static const struct flag version_flags[] = {{"client", FLAG_BOOL, &client_flag, "false", NULL,
                                             "print skiffctl's version only, without reading etcd", NULL, NULL},
                                            {0}};
static const struct skiff_prog version_prog = {
	.client = 1,
	.name = "skiffctl version",
	.summary = "Print skiffctl's version, then each component's as it published it in etcd:\n"
		   "agents in P/nodestatus/NODE (agentVersion), the scheduler and controllers in\n"
		   "their leader election keys P/leaders/COMPONENT/. Exit 1 when etcd cannot be read.",
	.flags = version_flags};

void
cmd_version_usage(FILE *f)
{
	opts_help(&version_prog, f);
}

/* One row: every text escaped for a terminal (it comes from etcd). */
static void
row(FILE *out, const char *comp, const char *inst, const char *ver, const char *contract, const char *from)
{
	char c[128], i[128], v[64], k[16], f[256];

	ctl_escape(comp, c, sizeof(c));
	ctl_escape(inst, i, sizeof(i));
	ctl_escape(ver, v, sizeof(v));
	ctl_escape(contract, k, sizeof(k));
	ctl_escape(from, f, sizeof(f));
	fprintf(out, "%-28s %-24s %-10s %-9s %s\n", c, i, v, k, f);
}

/* The list under P/DIR/ (paged), or NULL after reporting why. */
static struct etcd_result *
list(struct ctl *c, const char *dir)
{
	struct etcd_range_opts o = {.prefix = 1, .page_size = 500};
	struct etcd_result *r;
	char key[API_KEY_MAX];

	snprintf(key, sizeof(key), "%s/%s/", c->opts.prefix, dir);
	r = etcd_sync_range(c->s, key, &o);
	if (!r || r->err.code != ETCD_OK) {
		ctl_etcd_fail(c, key, r);
		etcd_result_free(r);
		return NULL;
	}
	return r;
}

/* The last component of a key: the node's or the candidate's name. */
static const char *
base(const struct etcd_kv *kv)
{
	const char *s = strrchr(kv->key, '/');

	return s ? s + 1 : kv->key;
}

/* The agents' rows: one per P/nodestatus/NODE, then one per version-1
 * node (status.agentVersion in P/nodes/NODE and no NodeStatus). Both
 * lists come sorted by key, so one walk pairs them: O(nodes). */
static void
agents(FILE *out, const struct etcd_result *st, const struct etcd_result *nodes)
{
	size_t i, j = 0;

	for (i = 0; i < st->nkvs; i++) {
		json_t *v = json_loadb(st->kvs[i].value, st->kvs[i].value_len, 0, NULL);
		const char *ver = ctl_jstr(v, "status.agentVersion");

		row(out, "skiff-agent", base(&st->kvs[i]), ver ? ver : "unknown", "2", "P/nodestatus");
		json_decref(v);
	}
	for (i = 0; i < nodes->nkvs; i++) {
		const char *name = base(&nodes->kvs[i]), *ver;
		json_t *v;

		while (j < st->nkvs && strcmp(base(&st->kvs[j]), name) < 0)
			j++;
		if (j < st->nkvs && strcmp(base(&st->kvs[j]), name) == 0)
			continue;
		v = json_loadb(nodes->kvs[i].value, nodes->kvs[i].value_len, 0, NULL);
		if ((ver = ctl_jstr(v, "status.agentVersion")))
			row(out, "skiff-agent", name, ver, "1", "P/nodes status");
		json_decref(v);
	}
}

/* A candidate's value "HOST-PID PROGRAM RELEASE (contract N)" split into
 * its words (in buf); a value of one word (before versions were
 * published) leaves program, release and contract "unknown". */
struct cand {
	char buf[256];
	const char *inst, *prog, *rel, *contract;
};

static void
cand_parse(struct cand *cd, const struct etcd_kv *kv)
{
	char *w[5] = {0}, *save = NULL, *p;
	int n = 0;

	snprintf(cd->buf, sizeof(cd->buf), "%.*s", (int)kv->value_len, kv->value);
	for (p = strtok_r(cd->buf, " ", &save); p && n < 5; p = strtok_r(NULL, " ", &save))
		w[n++] = p;
	cd->inst = w[0] ? w[0] : "";
	cd->prog = cd->rel = cd->contract = NULL;
	if (n == 5 && strcmp(w[3], "(contract") == 0 && (p = strchr(w[4], ')')) && p[1] == 0) {
		*p = 0;
		cd->prog = w[1];
		cd->rel = w[2];
		cd->contract = w[4];
	}
}

/* The election's name of a key P/leaders/COMPONENT/LEASE into buf. */
static const char *
election(const struct etcd_kv *kv, size_t plen, char *buf, size_t len)
{
	const char *s = kv->key + plen, *e = strchr(s, '/');

	snprintf(buf, len, "%.*s", e ? (int)(e - s) : (int)strlen(s), s);
	return buf;
}

/* The candidates' rows; the one of each election with the lowest create
 * revision leads. Cost O(candidates²): a handful per component. */
static void
candidates(FILE *out, const struct etcd_result *r, size_t plen)
{
	char e1[128], e2[128], from[160];
	struct cand cd;
	size_t i, j;

	for (i = 0; i < r->nkvs; i++) {
		int leads = 1;

		election(&r->kvs[i], plen, e1, sizeof(e1));
		for (j = 0; j < r->nkvs; j++)
			if (r->kvs[j].create_revision < r->kvs[i].create_revision &&
			    strcmp(election(&r->kvs[j], plen, e2, sizeof(e2)), e1) == 0)
				leads = 0;
		cand_parse(&cd, &r->kvs[i]);
		snprintf(from, sizeof(from), "P/leaders/%s (%s)", e1, leads ? "leader" : "candidate");
		row(out, cd.prog ? cd.prog : e1, cd.inst, cd.rel ? cd.rel : "unknown",
		    cd.contract ? cd.contract : "unknown", from);
	}
}

int
cmd_version(int argc, char **argv, FILE *out, FILE *err)
{
	struct etcd_result *st = NULL, *nodes = NULL, *leaders = NULL;
	struct ctl c;
	int rc;

	if ((rc = ctl_parse(&c, &version_prog, argc, argv, out, err, 0)) != CTL_CONTINUE)
		goto done;
	if (c.nargs != 0) {
		rc = ctl_usage_error(&c, &version_prog, "takes no arguments");
		goto done;
	}
	flags_version(out, "skiffctl");
	rc = SKIFFCTL_EXIT_OK;
	if (client_flag)
		goto done;
	rc = SKIFFCTL_EXIT_FAIL;
	if (ctl_connect(&c) < 0 || !(st = list(&c, "nodestatus")) || !(nodes = list(&c, "nodes")) ||
	    !(leaders = list(&c, "leaders")))
		goto done;
	fprintf(out, "\n");
	row(out, "COMPONENT", "INSTANCE", "VERSION", "CONTRACT", "FROM");
	agents(out, st, nodes);
	candidates(out, leaders, strlen(c.opts.prefix) + strlen("/leaders/"));
	rc = SKIFFCTL_EXIT_OK;
done:
	etcd_result_free(st);
	etcd_result_free(nodes);
	etcd_result_free(leaders);
	ctl_done(&c);
	return rc;
}
