/*
 * agent_fw.c: iptables chains and ip_forward for host-gw (see
 * agent_fw.h). The `iptables` programs do the work (with the nf_tables
 * backend on Debian 12 they talk netlink themselves). The content of our
 * chains is replaced whole by one iptables-restore --noflush (one
 * transaction: never a moment without the rules, and a rule that is no
 * longer wanted, such as an older agent's "-d SUBNET -j ACCEPT", goes);
 * the jumps to them are checked with -C and inserted only when missing, so
 * a restart or a second agent adds nothing twice. Nothing here deletes a
 * chain: running pods need the rules while the agent is down.
 *
 * With the vxlan backend SKIFF-IN also lets the VXLAN UDP port in only
 * from the other nodes' addresses.
 *
 * What SKIFF-FWD lets reach this node's pods: the pod network and the
 * other nodes' addresses, replies to what the pods started, and host ports
 * (left to Docker's own rules); nothing else. Pods do not reach the
 * clouds' metadata address unless the network config allows it.
 *
 * The steps are a table; fw_ensure_async runs them one after the other,
 * each program through run_program_async (daemon/run.c), so the loop never
 * waits for iptables or its xtables lock: a step's end starts the next
 * one, the last one calls back.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent_fw.h"
#include "api/api_net.h"
#include "daemon/log.h"
#include "daemon/run.h"

#define FW_STEPS 5

/* Make a chain exist (rule[0] NULL, not restore), or a rule in it, or
 * (restore) replace our chains' content with the job's rules. */
struct fw_step {
	const char *table, *chain;
	int first;           /* a rule goes first (-I chain 1), else last (-A) */
	const char *rule[8]; /* NULL-ended */
	int restore;         /* iptables-restore --noflush, the rules on its stdin */
};

struct fw_job {
	struct ev_loop *loop;
	struct run_job *run; /* the program running now */
	struct fw_step steps[FW_STEPS];
	size_t step;
	int making; /* the step's check failed: now -N, -I or -A */
	int bad;
	char why[512]; /* the first failure */
	char *rules;   /* fw_rules: the chains' content */
	fw_done_fn done;
	void *arg;
};

static int
ip_forward_on(char *why, size_t len)
{
	const char *path = "/proc/sys/net/ipv4/ip_forward";
	char cur[8] = "";
	FILE *f = fopen(path, "r");

	if (f) {
		if (!fgets(cur, sizeof(cur), f))
			cur[0] = '\0';
		fclose(f);
	}
	if (cur[0] == '1')
		return 0;
	f = fopen(path, "w");
	if (!f || fputs("1\n", f) < 0 || fclose(f) != 0) {
		snprintf(why, len, "cannot write 1 to %s: %s", path, strerror(errno));
		return -1;
	}
	log_kv(LL_INFO, NULL, "set net.ipv4.ip_forward to 1 (it was %c)", cur[0] ? cur[0] : '?');
	return 0;
}

/* The steps, in order: the chains' content first (iptables-restore makes
 * them when absent), then the jumps to them. */
static void
fw_steps(struct fw_job *j)
{
	const struct fw_step s[FW_STEPS] = {
		{"filter", "DOCKER-USER", 0, {NULL}, 0},
		{"filter", "SKIFF-FWD", 0, {NULL}, 1},
		{"filter", "DOCKER-USER", 1, {"-j", "SKIFF-FWD", NULL}, 0},
		{"filter", "INPUT", 1, {"-j", "SKIFF-IN", NULL}, 0},
		{"nat", "POSTROUTING", 1, {"-j", "SKIFF-NAT", NULL}, 0},
	};

	memcpy(j->steps, s, sizeof(s));
}

/* Append a printf'd line to *b (len used, cap allocated); -1 when out of memory. */
static int add(char **b, size_t *used, size_t *cap, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int
add(char **b, size_t *used, size_t *cap, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -1;
	if (*used + (size_t)n + 1 > *cap) {
		size_t c = (*cap + (size_t)n + 1) * 2;
		char *nb = realloc(*b, c);

		if (!nb)
			return -1;
		*b = nb;
		*cap = c;
	}
	va_start(ap, fmt);
	vsnprintf(*b + *used, *cap - *used, fmt, ap);
	va_end(ap);
	*used += (size_t)n;
	return 0;
}

/* Canonical CIDR s into out (19 bytes); -1 with why when it is not one. */
static int
canon_cidr(const char *what, const char *s, char out[24], char *why, size_t len)
{
	struct api_cidr c;
	struct api_error e;

	if (!s || api_cidr_parse(s, &c, &e) < 0) {
		snprintf(why, len, "%s \"%.40s\" is not a CIDR: %s", what, s ? s : "", s ? e.msg : "missing");
		return -1;
	}
	api_cidr_format(&c, out, 24);
	return 0;
}

/* SKIFF-IN for the vxlan backend: its UDP port only from the peers. */
static int
vxlan_rules(const struct fw_net *net, char **b, size_t *used, size_t *cap)
{
	char ip[20];
	uint32_t a;
	int rc = 0;

	for (size_t i = 0; i < net->n_peers; i++)
		if (net->peers[i] && api_ipv4_parse(net->peers[i], &a, NULL) == 0 && api_ipv4_format(a, ip, sizeof(ip)))
			rc |= add(b, used, cap, "-A SKIFF-IN -s %s/32 -p udp -m udp --dport %d -j ACCEPT\n", ip,
			          net->vxlan_port);
	return rc | add(b, used, cap, "-A SKIFF-IN -p udp -m udp --dport %d -j DROP\n", net->vxlan_port);
}

char *
fw_rules(const struct fw_net *net, char *why, size_t len)
{
	char pod[24], sn[24], ip[20], *b = NULL;
	size_t used = 0, cap = 0;
	int rc = 0;
	uint32_t a;

	if (canon_cidr("the pod network", net->pod_cidr, pod, why, len) < 0 ||
	    canon_cidr("the pod subnet", net->subnet, sn, why, len) < 0)
		return NULL;
	rc |= add(&b, &used, &cap, "*filter\n:SKIFF-FWD - [0:0]\n:SKIFF-IN - [0:0]\n");
	if (!net->allow_metadata)
		rc |= add(&b, &used, &cap, "-A SKIFF-FWD -s %s -m conntrack --ctorigdst %s/32 -j DROP\n", pod,
		          FW_METADATA_IP);
	rc |= add(&b, &used, &cap, "-A SKIFF-FWD -d %s -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n", sn);
	rc |= add(&b, &used, &cap, "-A SKIFF-FWD -m connmark --mark %s/%s -j ACCEPT\n", SKIFF_NODEPORT_MARK,
	          SKIFF_NODEPORT_MARK);
	rc |= add(&b, &used, &cap, "-A SKIFF-FWD -s %s -d %s -j ACCEPT\n", pod, sn);
	for (size_t i = 0; i < net->n_peers; i++)
		if (net->peers[i] && api_ipv4_parse(net->peers[i], &a, NULL) == 0 && api_ipv4_format(a, ip, sizeof(ip)))
			rc |= add(&b, &used, &cap, "-A SKIFF-FWD -s %s/32 -d %s -j ACCEPT\n", ip, sn);
	rc |= add(&b, &used, &cap, "-A SKIFF-FWD -d %s -m conntrack --ctstate DNAT -j RETURN\n", sn);
	rc |= add(&b, &used, &cap, "-A SKIFF-FWD -d %s -j DROP\n-A SKIFF-FWD -s %s -d %s -j ACCEPT\n", sn, sn, pod);
	if (net->dns_ip && api_ipv4_parse(net->dns_ip, &a, NULL) == 0 && api_ipv4_format(a, ip, sizeof(ip)))
		for (int t = 0; t < 2; t++) /* pods reach the node's cluster DNS (agent_dns.c) */
			rc |= add(&b, &used, &cap, "-A SKIFF-IN -s %s -d %s/32 -p %s -m %s --dport 53 -j ACCEPT\n", pod,
			          ip, t ? "tcp" : "udp", t ? "tcp" : "udp");
	if (!net->allow_metadata)
		rc |= add(&b, &used, &cap, "-A SKIFF-IN -s %s -m conntrack --ctorigdst %s/32 -j DROP\n", pod,
		          FW_METADATA_IP);
	if (net->vxlan_port > 0)
		rc |= vxlan_rules(net, &b, &used, &cap);
	rc |= add(&b, &used, &cap,
	          "COMMIT\n*nat\n:SKIFF-NAT - [0:0]\n-A SKIFF-NAT -s %s ! -d %s -j MASQUERADE\nCOMMIT\n", sn, pod);
	if (rc) {
		free(b);
		snprintf(why, len, "out of memory");
		return NULL;
	}
	return b;
}

/* "iptables -w 5 -t TABLE OP CHAIN [1] RULE…" for step s: a chain is
 * listed (-S) then made (-N); a rule is checked (-C) then made (-I or -A).
 * -w waits for the xtables lock, at most 5 s. */
static void
step_argv(const struct fw_step *s, int making, const char *argv[20])
{
	int n = 0;

	argv[n++] = "iptables";
	argv[n++] = "-w";
	argv[n++] = "5";
	argv[n++] = "-t";
	argv[n++] = s->table;
	if (!s->rule[0])
		argv[n++] = making ? "-N" : "-S";
	else
		argv[n++] = !making ? "-C" : s->first ? "-I" : "-A";
	argv[n++] = s->chain;
	if (s->rule[0] && making && s->first)
		argv[n++] = "1";
	for (int i = 0; s->rule[i]; i++)
		argv[n++] = s->rule[i];
	argv[n] = NULL;
}

static void fail(struct fw_job *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Keep the first failure; the steps go on. */
static void
fail(struct fw_job *j, const char *fmt, ...)
{
	va_list ap;

	if (j->bad++)
		return;
	va_start(ap, fmt);
	vsnprintf(j->why, sizeof(j->why), fmt, ap);
	va_end(ap);
}

static void step_done(const struct run_result *r, void *arg);

/* Run the current step's command; -1 (with why) when it cannot start.
 * A restore has nothing to check: it is made at once. */
static int
step_start(struct fw_job *j)
{
	static const char *const restore[] = {"iptables-restore", "--noflush", NULL};
	const struct fw_step *s = &j->steps[j->step];
	const char *argv[20];

	if (s->restore) {
		j->making = 1;
		j->run = run_program_async(j->loop, restore, j->rules, strlen(j->rules), step_done, j);
	} else {
		step_argv(s, j->making, argv);
		j->run = run_program_async(j->loop, argv, NULL, 0, step_done, j);
	}
	if (j->run)
		return 0;
	fail(j, "cannot run %s: %s", s->restore ? "iptables-restore" : "iptables", strerror(errno));
	return -1;
}

/* The made step's log line, or its failure (what iptables said first). */
static void
step_made(struct fw_job *j, const struct run_result *r)
{
	const struct fw_step *s = &j->steps[j->step];
	char shown[256] = "";
	int line = (int)strcspn(r->out, "\n");

	for (int i = 0; s->rule[i]; i++)
		snprintf(shown + strlen(shown), sizeof(shown) - strlen(shown), " %s", s->rule[i]);
	if (s->restore && r->status != 0)
		fail(j, "iptables-restore --noflush (chains SKIFF-FWD, SKIFF-IN, SKIFF-NAT): %.*s", line, r->out);
	else if (s->restore)
		log_kv(LL_DEBUG, NULL, "iptables chains SKIFF-FWD, SKIFF-IN and SKIFF-NAT rewritten");
	else if (r->status != 0 && !s->rule[0])
		fail(j, "iptables -t %s -N %s: %.*s", s->table, s->chain, line, r->out);
	else if (r->status != 0)
		fail(j, "iptables -t %s %s %s%s: %.*s", s->table, s->first ? "-I" : "-A", s->chain, shown, line,
		     r->out);
	else if (!s->rule[0])
		log_kv(LL_INFO, KV("table", s->table, "chain", s->chain), "created iptables chain");
	else
		log_kv(LL_INFO, KV("table", s->table, "chain", s->chain), "added iptables rule:%s", shown);
}

/* One command has ended: make what its check found missing, or go on to
 * the next step; after the last one, call back and free the job. */
static void
step_done(const struct run_result *r, void *arg)
{
	struct fw_job *j = arg;

	j->run = NULL;
	if (!j->making && r->status != 0) {
		j->making = 1;
		if (step_start(j) == 0)
			return;
	} else if (j->making) {
		step_made(j, r);
	}
	for (;;) {
		j->making = 0;
		if (++j->step == FW_STEPS) {
			j->done(j->arg, !j->bad, j->why);
			free(j->rules);
			free(j);
			return;
		}
		if (step_start(j) == 0)
			return;
	}
}

struct fw_job *
fw_ensure_async(struct ev_loop *loop, const struct fw_net *net, fw_done_fn done, void *arg, char *why, size_t len)
{
	struct fw_job *j = calloc(1, sizeof(*j));
	char w[512];

	if (!j) {
		snprintf(why, len, "cannot start the iptables set-up: out of memory");
		return NULL;
	}
	j->loop = loop;
	j->done = done;
	j->arg = arg;
	if (!(j->rules = fw_rules(net, why, len))) {
		free(j);
		return NULL;
	}
	fw_steps(j);
	if (ip_forward_on(w, sizeof(w)) < 0)
		fail(j, "%s", w);
	if (step_start(j) < 0) {
		snprintf(why, len, "%s", j->why);
		free(j->rules);
		free(j);
		return NULL;
	}
	return j;
}

void
fw_job_cancel(struct fw_job *j)
{
	if (!j)
		return;
	run_cancel(j->run);
	free(j->rules);
	free(j);
}
