/*
 * agent_fw.c: iptables chains and ip_forward for host-gw (see
 * agent_fw.h). The `iptables` program does the work (with the nf_tables
 * backend on Debian 12 it talks netlink itself); rules are checked with -C
 * and added only when missing, so a restart or a second agent adds
 * nothing twice. Nothing here removes rules: running pods need them while
 * the agent is down. fw_ensure_async runs it all in a forked child that
 * writes its verdict into a pipe and exits; the loop hears of the exit
 * through an ev_child watcher and reads the verdict then (the child has
 * written it all: far less than a pipe holds).
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent_fw.h"
#include "daemon/log.h"
#include "daemon/run.h"

/* Run iptables with args (NULL-ended, without argv[0]). Returns its exit
 * status (-1 when it could not run); out gets the first line it wrote. */
static int
iptables(const char *const *args, char *out, size_t len)
{
	const char *argv[24] = {"iptables", "-w", "5"};
	int i, n = 3, rc;

	for (i = 0; args[i] && n < 23; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	rc = run_program(argv, out, len);
	out[strcspn(out, "\n")] = '\0';
	return rc;
}

/* Make chain in table exist. */
static int
ensure_chain(const char *table, const char *chain, char *why, size_t len)
{
	char out[256];

	if (iptables((const char *const[]){"-t", table, "-S", chain, NULL}, out, sizeof(out)) == 0)
		return 0;
	if (iptables((const char *const[]){"-t", table, "-N", chain, NULL}, out, sizeof(out)) == 0) {
		log_kv(LL_INFO, KV("table", table, "chain", chain), "created iptables chain");
		return 0;
	}
	snprintf(why, len, "iptables -t %s -N %s: %s", table, chain, out);
	return -1;
}

/* Make the rule (args after "-t table -C/-I/-A chain") exist: -C, then
 * -I chain 1 (first = 1) or -A. */
static int
ensure_rule(const char *table, const char *chain, int first, const char *const *rule, char *why, size_t len)
{
	const char *argv[20] = {"-t", table, "-C", chain};
	char out[256], shown[256] = "";
	int n = 4, i, rc;

	for (i = 0; rule[i] && n < 18; i++)
		argv[n++] = rule[i];
	argv[n] = NULL;
	if (iptables(argv, out, sizeof(out)) == 0)
		return 0;
	for (i = 0; rule[i]; i++)
		snprintf(shown + strlen(shown), sizeof(shown) - strlen(shown), " %s", rule[i]);
	if (first) {
		memmove(&argv[5], &argv[4], (size_t)(n - 3) * sizeof(*argv));
		argv[4] = "1";
	}
	argv[2] = first ? "-I" : "-A";
	rc = iptables(argv, out, sizeof(out));
	if (rc != 0) {
		snprintf(why, len, "iptables -t %s %s %s%s: %s", table, argv[2], chain, shown, out);
		return -1;
	}
	log_kv(LL_INFO, KV("table", table, "chain", chain), "added iptables rule:%s", shown);
	return 0;
}

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

int
fw_ensure(const char *pod_cidr, const char *subnet, char *why, size_t len)
{
	char w[512];
	int bad = 0;

	why[0] = '\0';
#define STEP(x)                                      \
	do {                                         \
		if ((x) < 0 && !bad++)               \
			snprintf(why, len, "%s", w); \
	} while (0)
	STEP(ip_forward_on(w, sizeof(w)));
	STEP(ensure_chain("filter", "DOCKER-USER", w, sizeof(w)));
	STEP(ensure_chain("filter", "SKIFF-FWD", w, sizeof(w)));
	/* In: anything routed here for our pods, as flannel does: pods of
	 * other nodes, and other nodes themselves (a client on a node whose
	 * service connection the proxy sent to one of our pods keeps the
	 * node's address as its source). */
	STEP(ensure_rule("filter", "SKIFF-FWD", 0, (const char *const[]){"-d", subnet, "-j", "ACCEPT", NULL}, w,
	                 sizeof(w)));
	STEP(ensure_rule("filter", "SKIFF-FWD", 0,
	                 (const char *const[]){"-s", subnet, "-d", pod_cidr, "-j", "ACCEPT", NULL}, w, sizeof(w)));
	STEP(ensure_rule("filter", "DOCKER-USER", 1, (const char *const[]){"-j", "SKIFF-FWD", NULL}, w, sizeof(w)));
	STEP(ensure_chain("nat", "SKIFF-NAT", w, sizeof(w)));
	STEP(ensure_rule("nat", "SKIFF-NAT", 0,
	                 (const char *const[]){"-s", subnet, "!", "-d", pod_cidr, "-j", "MASQUERADE", NULL}, w,
	                 sizeof(w)));
	STEP(ensure_rule("nat", "POSTROUTING", 1, (const char *const[]){"-j", "SKIFF-NAT", NULL}, w, sizeof(w)));
#undef STEP
	return bad ? -1 : 0;
}

struct fw_job {
	struct ev_loop *loop;
	ev_child child;
	int fd; /* read end of the verdict pipe */
	fw_done_fn done;
	void *arg;
};

static void
job_free(struct fw_job *j)
{
	ev_child_stop(j->loop, &j->child);
	close(j->fd);
	free(j);
}

static void
child_done(struct ev_loop *loop, ev_child *w, int revents)
{
	struct fw_job *j = (struct fw_job *)((char *)w - offsetof(struct fw_job, child));
	char why[512];
	ssize_t n;
	size_t got = 0;
	int ok = WIFEXITED(w->rstatus) && WEXITSTATUS(w->rstatus) == 0;

	(void)loop;
	(void)revents;
	while (got < sizeof(why) - 1 && ((n = read(j->fd, why + got, sizeof(why) - 1 - got)) > 0 || (n < 0 && errno == EINTR)))
		got += n > 0 ? (size_t)n : 0;
	why[got] = '\0';
	if (!ok && !why[0])
		snprintf(why, sizeof(why), "the iptables helper process ended with status %d", w->rstatus);
	j->done(j->arg, ok, why);
	job_free(j);
}

struct fw_job *
fw_ensure_async(struct ev_loop *loop, const char *pod_cidr, const char *subnet, fw_done_fn done, void *arg,
                char *why, size_t len)
{
	struct fw_job *j = calloc(1, sizeof(*j));
	int pfd[2];
	pid_t pid;

	if (!j || pipe2(pfd, O_CLOEXEC) < 0) {
		snprintf(why, len, "cannot start the iptables helper: %s", strerror(errno));
		free(j);
		return NULL;
	}
	fflush(NULL);
	if ((pid = fork()) < 0) {
		snprintf(why, len, "cannot fork the iptables helper: %s", strerror(errno));
		close(pfd[0]);
		close(pfd[1]);
		free(j);
		return NULL;
	}
	if (pid == 0) {
		char w[512];
		int rc = fw_ensure(pod_cidr, subnet, w, sizeof(w));

		if (rc < 0 && write(pfd[1], w, strlen(w)) < 0)
			_exit(2);
		_exit(rc < 0 ? 1 : 0);
	}
	close(pfd[1]);
	j->loop = loop;
	j->fd = pfd[0];
	j->done = done;
	j->arg = arg;
	ev_child_init(&j->child, child_done, pid, 0);
	ev_child_start(loop, &j->child);
	return j;
}

void
fw_job_cancel(struct fw_job *j)
{
	if (j)
		job_free(j);
}
