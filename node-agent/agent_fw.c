/*
 * agent_fw.c: iptables chains and ip_forward for host-gw (see
 * agent_fw.h). The `iptables` program does the work (with the nf_tables
 * backend on Debian 12 it talks netlink itself); rules are checked with -C
 * and added only when missing, so a restart or a second agent adds
 * nothing twice. Nothing here removes rules: running pods need them while
 * the agent is down. The steps are a table; fw_ensure_async runs them one
 * after the other, each iptables through run_program_async (daemon/run.c),
 * so the loop never waits for iptables or its xtables lock: a step's end
 * starts the next one, the last one calls back.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent_fw.h"
#include "daemon/log.h"
#include "daemon/run.h"

#define FW_STEPS 8

/* Make a chain exist (rule[0] NULL), or a rule in it. */
struct fw_step {
	const char *table, *chain;
	int first;           /* a rule goes first (-I chain 1), else last (-A) */
	const char *rule[8]; /* NULL-ended */
};

struct fw_job {
	struct ev_loop *loop;
	struct run_job *run; /* the iptables running now */
	struct fw_step steps[FW_STEPS];
	size_t step;
	int making; /* the step's check failed: now -N, -I or -A */
	int bad;
	char why[512]; /* the first failure */
	char pod_cidr[64], subnet[64];
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

/* The steps, in order; the rules point into j's own copies of the
 * subnets. */
static void
fw_steps(struct fw_job *j)
{
	const char *sn = j->subnet, *pc = j->pod_cidr;
	const struct fw_step s[FW_STEPS] = {
		{"filter", "DOCKER-USER", 0, {NULL}},
		{"filter", "SKIFF-FWD", 0, {NULL}},
		/* In: anything routed here for our pods, as flannel does: pods
		 * of other nodes, and other nodes themselves (a client on a
		 * node whose service connection the proxy sent to one of our
		 * pods keeps the node's address as its source). */
		{"filter", "SKIFF-FWD", 0, {"-d", sn, "-j", "ACCEPT", NULL}},
		{"filter", "SKIFF-FWD", 0, {"-s", sn, "-d", pc, "-j", "ACCEPT", NULL}},
		{"filter", "DOCKER-USER", 1, {"-j", "SKIFF-FWD", NULL}},
		{"nat", "SKIFF-NAT", 0, {NULL}},
		{"nat", "SKIFF-NAT", 0, {"-s", sn, "!", "-d", pc, "-j", "MASQUERADE", NULL}},
		{"nat", "POSTROUTING", 1, {"-j", "SKIFF-NAT", NULL}},
	};

	memcpy(j->steps, s, sizeof(s));
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

/* Run the current step's command; -1 (with why) when it cannot start. */
static int
step_start(struct fw_job *j)
{
	const char *argv[20];

	step_argv(&j->steps[j->step], j->making, argv);
	if ((j->run = run_program_async(j->loop, argv, NULL, 0, step_done, j)))
		return 0;
	fail(j, "cannot run iptables: %s", strerror(errno));
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
	if (r->status != 0 && !s->rule[0])
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
			free(j);
			return;
		}
		if (step_start(j) == 0)
			return;
	}
}

struct fw_job *
fw_ensure_async(struct ev_loop *loop, const char *pod_cidr, const char *subnet, fw_done_fn done, void *arg, char *why,
                size_t len)
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
	snprintf(j->pod_cidr, sizeof(j->pod_cidr), "%s", pod_cidr);
	snprintf(j->subnet, sizeof(j->subnet), "%s", subnet);
	fw_steps(j);
	if (ip_forward_on(w, sizeof(w)) < 0)
		fail(j, "%s", w);
	if (step_start(j) < 0) {
		snprintf(why, len, "%s", j->why);
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
	free(j);
}
