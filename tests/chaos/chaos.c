/*
 * chaos.c: Skiff's own chaos suite (root, Docker). On the bed of
 * tests/cluster with three minions and a three-member etcd, for
 * CHAOS_SECONDS (default 90) a schedule drawn from CHAOS_SEED (printed;
 * random when unset) does, interleaved with churn (chaos_churn.c):
 *   - SIGKILL of every kind of component (the six control-plane programs,
 *     each minion's agent, proxy and skiff-dns; every kind at least once),
 *     each started again after 0.5-4 s;
 *   - SIGKILL of etcd's leader (found through /v3/maintenance/status),
 *     started again on its data dir after 2-6 s;
 *   - a minion's traffic to etcd dropped for 10-20 s (agent cut off from
 *     etcd, not from its pods);
 *   - a minion's dockerd stopped with SIGSTOP for 40 s, then SIGCONT.
 *     While it is frozen its node must report RuntimeReady False (the
 *     agents run with --runtime-unhealthy-after=10s); `skiffctl describe
 *     node` of it is printed (in full with -v).
 * Then everything is started again and the suite waits (up to
 * CHAOS_CONVERGE_SECONDS, default 120) until every invariant of
 * chaos_check.c holds, and prints
 *   chaos: kills=K etcd-leader-kills=L runtime-freezes=F invariants=P/T converged in S s
 * It fails, naming each invariant that does not hold and its evidence,
 * when they do not all hold by the deadline.
 *
 * It does not measure (times are printed, not asserted) and does not roll
 * Deployments to new templates. The schedule is reproducible from its
 * seed; what the cluster does in between is not.
 */
#include <check.h>
#include <curl/curl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "chaos.h"
#include "e2e_bed.h"

#define FREEZE_SECONDS 40
#define UNHEALTHY_AFTER 10 /* --runtime-unhealthy-after given to the bed's agents */
#define MAX_PLAN 1024
#define MAX_UNDO 64

enum plan_kind { P_KILL, P_LEADER, P_ISOLATE, P_FREEZE, P_CHURN };

struct plan {
	double t, dur;
	enum plan_kind kind;
	int target; /* P_KILL: a component kind; else a minion */
	int minion; /* P_KILL of a minion's program */
};

/* What to undo at time t: start a component, thaw, unisolate, start an
 * etcd member (a tests/cluster command). */
struct undo {
	double t;
	char cmd[64];
	int comp; /* the component it starts, or -1 */
};

static const char *const PLANE[] = {
	"skiff-scheduler",       "skiff-replication-controller", "skiff-endpoints-controller",
	"skiff-node-controller", "skiff-config-controller",      "skiff-deployment-controller"};
#define NPLANE 6
static const char *const NODEPROG[] = {"agent", "proxy", "dns"};
#define NKIND (NPLANE + 3)
#define NCOMP (NPLANE + 3 * CHAOS_MINIONS)

static struct {
	int secs, converge, verbose, root;
	unsigned long long seed;
	double t0;
	struct plan plan[MAX_PLAN];
	int nplan;
	struct undo undo[MAX_UNDO];
	int nundo;
	int down[NCOMP];
	int frozen, isolated; /* minion frozen / isolated now, 0 none */
	int freeze_seen;      /* RuntimeReady False seen during this freeze */
	char last_rr[128];    /* its RuntimeReady as last read */
	double next_describe, frozen_at;
	int kills, leader_kills, freezes, found_dead;
	struct chaos_inv inv[INV_N];
} C;

static double
now(void)
{
	return bed_now() - C.t0;
}

/* Run tests/cluster ARGS; 0 / -1. */
static int
cluster(const char *args)
{
	char cmd[160];
	int rc;

	snprintf(cmd, sizeof(cmd), "tests/cluster %s", args);
	rc = system(cmd);
	if (rc != 0)
		fprintf(stderr, "chaos: %6.1f s: `%s` failed (%d)\n", now(), cmd, rc);
	return rc == 0 ? 0 : -1;
}

/* Component c's name, and the tests/cluster commands that kill and start it. */
static void
comp_cmds(int c, char *name, char *kill, char *start, size_t len)
{
	if (c < NPLANE) {
		snprintf(name, len, "%s", PLANE[c]);
		snprintf(kill, len, "kill-plane %s", PLANE[c]);
		snprintf(start, len, "start-plane %s", PLANE[c]);
		return;
	}
	c -= NPLANE;
	snprintf(name, len, "m%d/%s", c / 3 + 1, NODEPROG[c % 3]);
	snprintf(kill, len, "kill-%s %d", NODEPROG[c % 3], c / 3 + 1);
	snprintf(start, len, "start-%s %d", NODEPROG[c % 3], c / 3 + 1);
}

/* Whether component c's process runs (its pid file in the bed's state
 * dir names a live process). */
static int
comp_runs(int c)
{
	const char *d = getenv("SKIFF_CLUSTER_DIR");
	char path[512];
	FILE *f;
	int pid = 0;

	if (c < NPLANE)
		snprintf(path, sizeof(path), "%s/%s.pid", d && *d ? d : "/run/skiff-cluster", PLANE[c]);
	else
		snprintf(path, sizeof(path), "%s/m%d/%s.pid", d && *d ? d : "/run/skiff-cluster", (c - NPLANE) / 3 + 1,
		         NODEPROG[(c - NPLANE) % 3]);
	if (!(f = fopen(path, "r")))
		return 0;
	if (fscanf(f, "%d", &pid) != 1)
		pid = 0;
	fclose(f);
	return pid > 0 && kill(pid, 0) == 0;
}

/* What systemd's Restart= does on a node: every component that is not
 * down on purpose but does not run (it exited by itself, e.g. an agent
 * started while cut off from etcd exits after --etcd-timeout) is named,
 * counted and started again. */
static void
supervise(int force)
{
	static double next;
	char name[64], kill_[64], start[64];

	if (!force && now() < next)
		return;
	next = now() + 2;
	for (int c = 0; c < NCOMP; c++) {
		if (C.down[c] || comp_runs(c))
			continue;
		comp_cmds(c, name, kill_, start, sizeof(name));
		fprintf(stderr, "chaos: %6.1f s: %s exited by itself; starting it again\n", now(), name);
		C.found_dead++;
		cluster(start);
	}
}

static void
undo_add(double after, const char *cmd, int comp)
{
	if (C.nundo == MAX_UNDO) {
		cluster(cmd); /* no room: undo at once */
		return;
	}
	C.undo[C.nundo].t = now() + after;
	snprintf(C.undo[C.nundo].cmd, sizeof(C.undo[0].cmd), "%s", cmd);
	C.undo[C.nundo].comp = comp;
	C.nundo++;
}

/* Run the undos due by t (every one with t < 0 means all). */
static void
undo_due(double t)
{
	for (int i = 0; i < C.nundo;) {
		struct undo u = C.undo[i];

		if (t >= 0 && u.t > t) {
			i++;
			continue;
		}
		C.undo[i] = C.undo[--C.nundo];
		if (strncmp(u.cmd, "thaw", 4) == 0) {
			if (!C.freeze_seen)
				chaos_note(&C.inv[INV_RUNTIME],
				           "m%d: dockerd frozen %d s, RuntimeReady never False (last read: %s)",
				           C.frozen, FREEZE_SECONDS, C.last_rr[0] ? C.last_rr : "none");
			C.frozen = 0;
		} else if (strncmp(u.cmd, "unisolate", 9) == 0)
			C.isolated = 0;
		if (u.comp >= 0)
			C.down[u.comp] = 0;
		fprintf(stderr, "chaos: %6.1f s: %s\n", now(), u.cmd);
		cluster(u.cmd);
	}
}

static void
do_kill(const struct plan *p)
{
	int c = p->target < NPLANE ? p->target : NPLANE + 3 * (p->minion - 1) + (p->target - NPLANE);
	char name[64], kill[64], start[64];

	/* The frozen minion's agent is left alone: its report is watched. */
	if (C.down[c] || (p->target == NPLANE && p->minion == C.frozen))
		return;
	comp_cmds(c, name, kill, start, sizeof(name));
	fprintf(stderr, "chaos: %6.1f s: kill -9 %s (back in %.1f s)\n", now(), name, p->dur);
	if (cluster(kill) < 0) {
		fprintf(stderr, "chaos: %6.1f s: %s was not running: it had exited by itself\n", now(), name);
		C.found_dead++;
	} else
		C.kills++;
	C.down[c] = 1;
	undo_add(p->dur, start, c);
}

static size_t
collect(char *p, size_t sz, size_t n, void *arg)
{
	char *buf = arg;
	size_t l = strlen(buf), k = sz * n;

	if (l + k < 4096) {
		memcpy(buf + l, p, k);
		buf[l + k] = '\0';
	}
	return k;
}

/* Whether the member at url (a client URL) says it leads:
 * POST /v3/maintenance/status, its own member_id equals its leader. */
static int
member_leads(const char *url)
{
	char u[256], buf[4096] = "";
	CURL *c = curl_easy_init();
	json_t *j;
	int leads = 0;

	if (!c)
		return 0;
	snprintf(u, sizeof(u), "%s/v3/maintenance/status", url);
	curl_easy_setopt(c, CURLOPT_URL, u);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, "{}");
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 1500L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, (void *)buf);
	if (curl_easy_perform(c) == CURLE_OK && (j = json_loads(buf, 0, NULL))) {
		const char *l = json_string_value(json_object_get(j, "leader"));
		const char *me = json_string_value(json_object_get(json_object_get(j, "header"), "member_id"));

		leads = l && me && strcmp(l, me) == 0;
		json_decref(j);
	}
	curl_easy_cleanup(c);
	return leads;
}

/* The member (1..3, in the order of the bed's endpoints) leading now, or 0. */
static int
etcd_leader(void)
{
	char eps[512], *save = NULL;
	int k = 1;

	snprintf(eps, sizeof(eps), "%s", bed_etcd());
	for (char *u = strtok_r(eps, ",", &save); u; u = strtok_r(NULL, ",", &save), k++)
		if (member_leads(u))
			return k;
	return 0;
}

static void
do_leader(const struct plan *p)
{
	char cmd[64];
	int k = etcd_leader();

	if (k < 1 || k > 3) {
		fprintf(stderr, "chaos: %6.1f s: no etcd leader found; no kill\n", now());
		return;
	}
	snprintf(cmd, sizeof(cmd), "kill-etcd %d", k);
	fprintf(stderr, "chaos: %6.1f s: kill -9 etcd member %d, the leader (back in %.1f s)\n", now(), k, p->dur);
	if (cluster(cmd) == 0)
		C.leader_kills++;
	snprintf(cmd, sizeof(cmd), "start-etcd %d", k);
	undo_add(p->dur, cmd, -1);
}

static void
do_isolate(const struct plan *p)
{
	int m = p->target;
	char cmd[64];

	if (C.isolated)
		return;
	if (m == C.frozen)
		m = m % CHAOS_MINIONS + 1;
	snprintf(cmd, sizeof(cmd), "isolate-etcd %d", m);
	fprintf(stderr, "chaos: %6.1f s: m%d cut off from etcd for %.1f s\n", now(), m, p->dur);
	if (cluster(cmd) < 0)
		return;
	C.isolated = m;
	snprintf(cmd, sizeof(cmd), "unisolate-etcd %d", m);
	undo_add(p->dur, cmd, -1);
}

static void
do_freeze(const struct plan *p)
{
	int m = p->target, agent = NPLANE + 3 * (m - 1);
	char cmd[64];

	if (C.frozen)
		return;
	if (m == C.isolated)
		m = m % CHAOS_MINIONS + 1, agent = NPLANE + 3 * (m - 1);
	/* Its agent must run to report: start it now if it is down. */
	for (int i = 0; i < C.nundo; i++)
		if (C.undo[i].comp == agent)
			C.undo[i].t = 0;
	undo_due(now());
	snprintf(cmd, sizeof(cmd), "freeze %d", m);
	fprintf(stderr, "chaos: %6.1f s: SIGSTOP the dockerd of m%d for %d s\n", now(), m, FREEZE_SECONDS);
	if (cluster(cmd) < 0)
		return;
	C.freezes++;
	C.frozen = m;
	C.freeze_seen = 0;
	C.frozen_at = now();
	C.next_describe = now() + 1;
	snprintf(cmd, sizeof(cmd), "thaw %d", m);
	undo_add(FREEZE_SECONDS, cmd, -1);
}

/* The RuntimeReady condition of node mI's status as "STATUS REASON"
 * into buf (empty when absent). */
static void
runtime_ready(int m, char *buf, size_t len)
{
	char key[64];
	json_t *st, *c;
	size_t i;

	buf[0] = '\0';
	snprintf(key, sizeof(key), "nodestatus/m%d", m);
	st = bed_get(key, NULL);
	json_array_foreach(json_object_get(json_object_get(st, "status"), "conditions"), i, c) {
		if (strcmp(json_string_value(json_object_get(c, "type")) ?: "", "RuntimeReady") == 0)
			snprintf(buf, len, "%s %s", json_string_value(json_object_get(c, "status")) ?: "?",
			         json_string_value(json_object_get(c, "reason")) ?: "");
	}
	json_decref(st);
}

/* While a dockerd is frozen: once a second, its node's RuntimeReady
 * condition from etcd, until it says False; then `skiffctl describe node`
 * of it, printed (in full with -v). */
static void
watch_frozen(void)
{
	char cmd[768], buf[8192];
	size_t n;
	FILE *f;

	if (!C.frozen || C.freeze_seen || now() < C.next_describe)
		return;
	C.next_describe = now() + 1;
	runtime_ready(C.frozen, C.last_rr, sizeof(C.last_rr));
	if (strncmp(C.last_rr, "False", 5) != 0)
		return;
	C.freeze_seen = 1;
	fprintf(stderr, "chaos: %6.1f s: m%d RuntimeReady %s while its dockerd is frozen (%.1f s after SIGSTOP)\n",
	        now(), C.frozen, C.last_rr, now() - C.frozen_at);
	snprintf(cmd, sizeof(cmd), "build/bin/skiffctl describe node m%d --etcd-endpoints=%s --prefix=%s 2>&1",
	         C.frozen, bed_etcd(), bed_prefix());
	if (!(f = popen(cmd, "r")))
		return;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	pclose(f);
	buf[n] = '\0';
	for (char *l = buf; !C.verbose && *l; l += strcspn(l, "\n") + (l[strcspn(l, "\n")] != '\0')) {
		if (strncmp(l, "  RuntimeReady ", 15) == 0)
			fprintf(stderr, "%.*s\n", (int)strcspn(l, "\n"), l);
	}
	if (C.verbose)
		fprintf(stderr, "chaos: skiffctl describe node m%d:\n%s", C.frozen, buf);
}

static int
by_time(const void *a, const void *b)
{
	const struct plan *x = a, *y = b;

	return x->t < y->t ? -1 : x->t > y->t;
}

static void
plan_add(double t, enum plan_kind kind, int target, int minion, double dur)
{
	if (C.nplan < MAX_PLAN)
		C.plan[C.nplan++] = (struct plan){.t = t, .dur = dur, .kind = kind, .target = target, .minion = minion};
}

/* The whole schedule, from the seed alone. */
static void
plan_make(struct chaos_rng *r)
{
	int secs = C.secs, nf = secs / 150 > 1 ? secs / 150 : 1, nl = secs / 120 > 1 ? secs / 120 : 1;
	int ni = secs / 100 > 1 ? secs / 100 : 1, order[NKIND], k = 0;
	double slot;

	slot = (double)secs / nf;
	for (int i = 0; i < nf; i++)
		plan_add(i * slot + chaos_uniform(r, 5, slot > 50 ? slot - 45 : 5.5), P_FREEZE,
		         chaos_pick(r, 1, CHAOS_MINIONS), 0, FREEZE_SECONDS);
	slot = (double)secs / nl;
	for (int i = 0; i < nl; i++)
		plan_add(i * slot + chaos_uniform(r, 0.2, 0.8) * slot, P_LEADER, 0, 0, chaos_uniform(r, 2, 6));
	slot = (double)secs / ni;
	for (int i = 0; i < ni; i++)
		plan_add(i * slot + chaos_uniform(r, 0.1, 0.7) * slot, P_ISOLATE, chaos_pick(r, 1, CHAOS_MINIONS), 0,
		         chaos_uniform(r, 10, 20));
	/* Kills: every kind once in a shuffled order, then any. */
	for (int i = 0; i < NKIND; i++)
		order[i] = i;
	for (int i = NKIND - 1; i > 0; i--) {
		int j = chaos_pick(r, 0, i), t = order[i];

		order[i] = order[j];
		order[j] = t;
	}
	for (double t = chaos_uniform(r, 1, 3); t < secs - 3; t += chaos_uniform(r, 2, 5), k++)
		plan_add(t, P_KILL, k < NKIND ? order[k] : chaos_pick(r, 0, NKIND - 1), chaos_pick(r, 1, CHAOS_MINIONS),
		         chaos_uniform(r, 0.5, 4));
	for (double t = chaos_uniform(r, 0, 2); t < secs - 2; t += chaos_uniform(r, 1, 3))
		plan_add(t, P_CHURN, 0, 0, 0);
	qsort(C.plan, (size_t)C.nplan, sizeof(C.plan[0]), by_time);
}

/* The schedule, from now to its end. */
static void
run_schedule(struct chaos_rng *r)
{
	int next = 0, rc;
	char what[128];

	while (now() < C.secs) {
		for (; next < C.nplan && C.plan[next].t <= now(); next++) {
			struct plan *p = &C.plan[next];

			switch (p->kind) {
			case P_KILL: do_kill(p); break;
			case P_LEADER: do_leader(p); break;
			case P_ISOLATE: do_isolate(p); break;
			case P_FREEZE: do_freeze(p); break;
			case P_CHURN:
				what[0] = '\0';
				rc = chaos_churn_step(r, what, sizeof(what));
				if (rc < 0 || C.verbose)
					fprintf(stderr, "chaos: %6.1f s: %s%s\n", now(), what,
					        rc < 0 ? " failed (etcd between leaders?)" : "");
				break;
			}
		}
		undo_due(now());
		supervise(0);
		watch_frozen();
		usleep(50 * 1000); /* pacing the schedule, not waiting for the cluster */
	}
}

/* Poll the invariants until all hold twice in a row (1 s apart) or the
 * deadline passes; the seconds it took, or -1. Components that exit by
 * themselves meanwhile are started again, as during the chaos. */
static double
converge(int *held)
{
	double t0 = bed_now(), first = -1;
	int total = INV_N - 1;

	for (;;) {
		supervise(0);
		*held = chaos_check(C.inv);
		if (*held == total && first >= 0)
			return first - t0;
		first = *held == total ? (first >= 0 ? first : bed_now()) : -1;
		if (bed_now() - t0 > C.converge)
			return -1;
		usleep(1000 * 1000);
	}
}

START_TEST(test_chaos)
{
	struct chaos_rng r = {.s = C.seed ? C.seed : 1};
	double took;
	int held;

	if (!C.root)
		return;
	for (int i = 0; i < INV_N; i++)
		C.inv[i].ok = 1;
	plan_make(&r);
	ck_assert_int_eq(chaos_objects_create(), 0);
	/* The checker bites: right after the objects are written no pod can
	 * be Running yet. */
	chaos_check(C.inv);
	ck_assert_msg(!C.inv[INV_COUNTS].ok, "exact-counts held before any pod could run");
	fprintf(stderr, "chaos: before the chaos, as expected: %s does not hold: %.200s\n", C.inv[INV_COUNTS].name,
	        C.inv[INV_COUNTS].evidence);
	C.t0 = bed_now();
	run_schedule(&r);
	fprintf(stderr, "chaos: %6.1f s: chaos stopped; starting whatever is down\n", now());
	undo_due(-1);
	supervise(1);
	took = converge(&held);
	held += C.inv[INV_RUNTIME].ok;
	if (C.found_dead)
		fprintf(stderr, "chaos: %d times a component had exited by itself and was started again (see above)\n",
		        C.found_dead);
	if (took >= 0)
		fprintf(stderr,
		        "chaos: kills=%d etcd-leader-kills=%d runtime-freezes=%d invariants=%d/%d converged in %.1f s\n",
		        C.kills, C.leader_kills, C.freezes, held, INV_N, took);
	else
		fprintf(stderr,
		        "chaos: kills=%d etcd-leader-kills=%d runtime-freezes=%d invariants=%d/%d not converged in %d s\n",
		        C.kills, C.leader_kills, C.freezes, held, INV_N, C.converge);
	for (int i = 0; i < INV_N; i++)
		if (!C.inv[i].ok)
			fprintf(stderr, "chaos: invariant %s does not hold: %s\n", C.inv[i].name, C.inv[i].evidence);
	fprintf(stderr, "chaos: seed=%llu (CHAOS_SEED=%llu CHAOS_SECONDS=%d reproduce the schedule)\n", C.seed, C.seed,
	        C.secs);
	ck_assert_msg(held == INV_N, "%d of %d invariants hold (see the lines above)", held, INV_N);
	ck_assert_msg(C.freezes > 0 && C.kills > 0, "the schedule injected no freeze or no kill");
}
END_TEST

static int
env_int(const char *name, int def)
{
	const char *v = getenv(name);

	return v && atoi(v) > 0 ? atoi(v) : def;
}

static Suite *
suite(void)
{
	Suite *s = suite_create("chaos");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, C.secs + C.converge + 120);
	tcase_add_test(tc, test_chaos);
	suite_add_tcase(s, tc);
	return s;
}

int
main(int argc, char **argv)
{
	const char *seed = getenv("CHAOS_SEED");
	char args[64];
	SRunner *sr;
	int failed;

	C.verbose = (argc > 1 && strcmp(argv[1], "-v") == 0) || getenv("CHAOS_VERBOSE");
	C.secs = env_int("CHAOS_SECONDS", 90);
	C.converge = env_int("CHAOS_CONVERGE_SECONDS", 120);
	C.seed = seed && *seed ? strtoull(seed, NULL, 10) : ((unsigned long long)time(NULL) << 16) ^ (unsigned)getpid();
	C.root = geteuid() == 0;
	sr = srunner_create(suite());
	if (!C.root) {
		fprintf(stderr, "chaos: not root: needs network namespaces and dockerd; skipped\n");
		srunner_run_all(sr, CK_NORMAL);
		srunner_free(sr);
		return 0;
	}
	fprintf(stderr, "chaos: seed=%llu seconds=%d (CHAOS_SEED=%llu reproduces the schedule)\n", C.seed, C.secs,
	        C.seed);
	/* The agents call a runtime unhealthy after 10 s (default 30 s), so
	 * that a 40-s freeze shows. */
	snprintf(args, sizeof(args), "--runtime-unhealthy-after=%ds", UNHEALTHY_AFTER);
	setenv("SKIFF_CLUSTER_AGENT_ARGS", args, 0);
	if (bed_up(CHAOS_MINIONS, "--etcd-members 3") < 0) {
		bed_down(1);
		return 1;
	}
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	bed_down(failed > 0 || getenv("SKIFF_E2E_LOGS"));
	return failed ? 1 : 0;
}
