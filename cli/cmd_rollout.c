/*
 * cmd_rollout.c: "skiffctl rollout SUBCOMMAND deployment/NAME", kubectl's
 * rollout for Skiff's deployments:
 *   status   wait (an etcd watch on the deployment and its status, bounded
 *            by --timeout) until the rollout is done; exit 1 when the
 *            deployment controller says ProgressDeadlineExceeded, when the
 *            deployment is paused, or on timeout
 *   history  the owned controllers by revision, with CHANGE-CAUSE; with
 *            --revision=N that revision's pod template
 *   undo     copy the template of revision --to-revision=N (default: the
 *            one before the newest) into the deployment
 *   restart  set the template annotation kubectl.kubernetes.io/restartedAt
 *   pause, resume  set or clear spec.paused
 * Every write is a guarded read-modify-write of P/deployments/NAME
 * (ctl_update), checked against the deployment's create revision where it
 * depends on what was read before. It does not roll anything itself: the
 * deployment controller does, and nothing here touches controllers or pods.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "skiffctl.h"

#define ROLLOUT_HELP                                                                   \
	"Manage the rollout of a deployment (deployment/NAME or deployment NAME):\n"   \
	"  status    wait until it is rolled out (exit 1 when its progress deadline\n" \
	"            is exceeded, when it is paused, or after --timeout)\n"            \
	"  history   its revisions and their change causes (--revision=N: one\n"       \
	"            revision's pod template)\n"                                       \
	"  undo      go back to the previous revision, or to --to-revision=N\n"        \
	"  restart   restart its pods by a new rollout of the same template\n"         \
	"  pause     stop rolling changes of the template out\n"                       \
	"  resume    go on rolling them out\n"                                         \
	"Exit 0 on success, 1 when it fails or does not exist, 2 on usage errors."

static long timeout_flag, to_revision_flag, revision_flag;

static const struct flag rollout_flags[] = {
	{"timeout", FLAG_DURATION, &timeout_flag, "0s", NULL, "status: give up after this long (0: wait forever)",
         "DURATION", NULL},
	{"to-revision", FLAG_INT, &to_revision_flag, "0", NULL, "undo: the revision to go back to (0: the previous)",
         "N", NULL},
	{"revision", FLAG_INT, &revision_flag, "0", NULL, "history: show the pod template of this revision", "N", NULL},
	{0}};

static const struct skiff_prog prog = {.client = 1,
                                       .name = "skiffctl rollout",
                                       .summary = ROLLOUT_HELP,
                                       .args = "status|history|undo|restart|pause|resume deployment/NAME",
                                       .flags = rollout_flags};

void
cmd_rollout_usage(FILE *f)
{
	opts_help(&prog, f);
}

/* ---- status ---- */

/* The verdict on deployment d (mod revision mod) with status s (NULL when
 * absent or of another incarnation): 0 done, 1 waiting, -1 failed; msg
 * says it. As kubectl: nothing counts before the status has observed the
 * deployment's last change; then a progress deadline exceeded fails, and
 * so does (unlike kubectl, which would wait forever) a paused deployment
 * whose rollout is not done. */
static int
judge(const char *name, const json_t *d, int64_t mod, const json_t *s, char *msg, size_t len)
{
	long long want = ctl_jint(d, "spec.replicas", 1), upd, cur, avail;
	json_t *cond;
	size_t i;

	if (!s || ctl_jint(s, "observedRevision", 0) < mod) {
		snprintf(msg, len, "Waiting for deployment spec update to be observed...");
		return 1;
	}
	json_array_foreach(json_object_get(s, "conditions"), i, cond) {
		const char *t = ctl_jstr(cond, "type"), *r = ctl_jstr(cond, "reason");

		if (t && r && strcmp(t, "Progressing") == 0 && strcmp(r, "ProgressDeadlineExceeded") == 0) {
			snprintf(msg, len, "deployment \"%s\" exceeded its progress deadline", name);
			return -1;
		}
	}
	upd = ctl_jint(s, "updatedReplicas", 0);
	cur = ctl_jint(s, "replicas", 0);
	avail = ctl_jint(s, "availableReplicas", 0);
	if (upd == want && cur == want && avail == want) {
		snprintf(msg, len, "deployment \"%s\" successfully rolled out", name);
		return 0;
	}
	if (json_is_true(ctl_jget(d, "spec.paused")))
		goto paused;
	if (upd < want)
		snprintf(
			msg, len,
			"Waiting for deployment \"%s\" rollout to finish: %lld out of %lld new replicas have been updated...",
			name, upd, want);
	else if (cur > upd)
		snprintf(
			msg, len,
			"Waiting for deployment \"%s\" rollout to finish: %lld old replicas are pending termination...",
			name, cur - upd);
	else
		snprintf(
			msg, len,
			"Waiting for deployment \"%s\" rollout to finish: %lld of %lld updated replicas are available...",
			name, avail, upd);
	return 1;
paused:
	snprintf(msg, len,
	         "deployment \"%s\" is paused; resume it (skiffctl rollout resume deployment/%s) to finish the rollout",
	         name, name);
	return -1;
}

/* Read the deployment and its status at one revision and judge them.
 * 0/1/-1 as judge, 2 not found, -2 etcd failed (reported). *rev gets the
 * revision read. */
static int
check(struct ctl *c, const char *name, const char *dkey, const char *skey, int64_t *rev, char *msg, size_t len)
{
	struct etcd_range_opts o = {0};
	struct etcd_result *r = etcd_sync_get(c->s, dkey), *rs = NULL;
	json_t *d = NULL, *s = NULL;
	int v = -2;

	if (!r || r->err.code != ETCD_OK) {
		ctl_etcd_fail(c, dkey, r);
		goto done;
	}
	if ((v = r->nkvs ? 0 : 2) == 2)
		goto done;
	*rev = o.revision = r->revision;
	rs = etcd_sync_range(c->s, skey, &o);
	if (!rs || rs->err.code != ETCD_OK) {
		ctl_etcd_fail(c, skey, rs);
		v = -2;
		goto done;
	}
	d = json_loadb(r->kvs[0].value, r->kvs[0].value_len, 0, NULL);
	s = rs->nkvs ? json_loadb(rs->kvs[0].value, rs->kvs[0].value_len, 0, NULL) : NULL;
	if (s && !ctl_is_uid(json_object_get(s, "uid"), r->kvs[0].create_revision)) {
		json_decref(s);
		s = NULL;
	}
	v = judge(name, d, r->kvs[0].mod_revision, s, msg, len);
done:
	json_decref(d);
	json_decref(s);
	etcd_result_free(r);
	etcd_result_free(rs);
	return v;
}

struct waiter {
	const char *dkey, *skey;
	int changed;
	int dead; /* the watch ended (compacted, refused): start another */
};

static void
watch_cb(struct etcd_watch *w, const struct etcd_watch_msg *m, void *arg)
{
	struct waiter *wt = arg;
	size_t i;

	(void)w;
	if (m->kind == ETCD_WATCH_ERROR)
		wt->changed = wt->dead = 1; /* read again, then watch again from there */
	for (i = 0; m->kind == ETCD_WATCH_EVENTS && i < m->nevents; i++)
		if (!strcmp(m->events[i].kv.key, wt->dkey) || !strcmp(m->events[i].kv.key, wt->skey))
			wt->changed = 1;
}

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int
status(struct ctl *c, const char *name)
{
	char dkey[API_KEY_MAX], skey[API_KEY_MAX], msg[512], last[512] = "", wkey[API_KEY_MAX];
	struct waiter wt = {dkey, skey, 0, 0};
	struct etcd_watch *w = NULL;
	double deadline = now_ms() + (double)timeout_flag, left = 1;
	int64_t rev = 0;
	int v;

	if (ctl_deploy_key(c, dkey, name, 0) < 0 || ctl_deploy_key(c, skey, name, 1) < 0)
		return SKIFFCTL_EXIT_FAIL;
	snprintf(wkey, sizeof(wkey), "%s/deployment", c->opts.prefix);
	/* changed is cleared before each read: a change during or after it
	 * wakes the wait; the watch starts after the first read */
	while ((wt.changed = 0) == 0 && (v = check(c, name, dkey, skey, &rev, msg, sizeof(msg))) == 1 && left > 0) {
		struct etcd_watch_opts wo = {.prefix = 1, .start_revision = rev + 1};
		struct etcd_error e = {0};

		if (strcmp(msg, last) != 0)
			fprintf(c->out, "%s\n", msg);
		fflush(c->out);
		snprintf(last, sizeof(last), "%s", msg);
		if (w && wt.dead) {
			etcd_watch_cancel(w);
			w = NULL;
			wt.dead = 0;
		}
		if (!w && !(w = etcd_watch_start(etcd_sync_client(c->s), wkey, &wo, watch_cb, &wt, &e))) {
			fprintf(c->err, "%s: cannot watch %s: %s\n", c->name, wkey, e.msg);
			return SKIFFCTL_EXIT_FAIL;
		}
		left = timeout_flag ? deadline - now_ms() : 3600e3;
		if (left > 0)
			etcd_sync_run(c->s, &wt.changed, (long)left + 1);
	}
	if (w)
		etcd_watch_cancel(w);
	if (v == 1)
		fprintf(c->err, "%s: timed out waiting for deployment \"%s\" to be rolled out (%s)\n", c->name, name,
		        msg);
	else if (v == 2)
		fprintf(c->err, "%s: deployment \"%s\" not found under %s\n", c->name, name, c->opts.prefix);
	else if (v == 0)
		fprintf(c->out, "%s\n", msg);
	else if (v == -1)
		fprintf(c->err, "%s: %s\n", c->name, msg);
	return v == 0 ? SKIFFCTL_EXIT_OK : SKIFFCTL_EXIT_FAIL;
}

/* ---- history and undo: they read the owned controllers ---- */

struct hist {
	struct ctl_deploys ds;
	struct ctl_kv *d, **rcs;
	size_t n;
};

/* Load the deployment name and its controllers. 0, or -1 (reported). */
static int
hist_load(struct ctl *c, const char *name, struct hist *h)
{
	char key[API_KEY_MAX];
	size_t i;

	memset(h, 0, sizeof(*h));
	if (ctl_deploy_key(c, key, name, 0) < 0 || ctl_deploys_load(c, &h->ds) < 0)
		return -1;
	for (i = 0; i < h->ds.d.n && !h->d; i++)
		if (strcmp(h->ds.d.kv[i].name, name) == 0)
			h->d = &h->ds.d.kv[i];
	if (!h->d) {
		fprintf(c->err, "%s: deployment \"%s\" not found under %s\n", c->name, name, c->opts.prefix);
		return -1;
	}
	h->rcs = ctl_deploy_rcs(&h->ds, h->d, &h->n);
	return 0;
}

static void
hist_free(struct hist *h)
{
	free(h->rcs);
	ctl_deploys_free(&h->ds);
}

/* The controller of revision rev, NULL when none. */
static struct ctl_kv *
revision(const struct hist *h, long long rev)
{
	size_t i;

	for (i = 0; i < h->n; i++)
		if (ctl_rc_revision(h->rcs[i]) == rev)
			return h->rcs[i];
	return NULL;
}

static int
history(struct ctl *c, const char *name)
{
	struct ctl_table t = {.ncols = 2};
	ctl_row *row = malloc(sizeof(*row));
	struct ctl_kv *rc;
	struct hist h;
	size_t i;
	int ok = 0;

	if (!row || hist_load(c, name, &h) < 0)
		goto done;
	if (revision_flag > 0) {
		if (!(rc = revision(&h, revision_flag))) {
			fprintf(c->err, "%s: deployment \"%s\" has no revision %ld\n", c->name, name, revision_flag);
			goto done;
		}
		fprintf(c->out, "deployment/%s with revision #%ld (replication controller %s)\n", name, revision_flag,
		        rc->name);
		ctl_template_print(c->out, ctl_jget(rc->j, "spec.template"));
		ok = 1;
		goto done;
	}
	snprintf((*row)[0], CTL_CELL, "REVISION");
	snprintf((*row)[1], CTL_CELL, "CHANGE-CAUSE");
	ctl_table_add(&t, *row);
	for (i = 0; i < h.n; i++) {
		const char *cause = json_string_value(
			json_object_get(ctl_jget(h.rcs[i]->j, "metadata.annotations"), CTL_CHANGE_CAUSE_ANN));

		if (!ctl_rc_revision(h.rcs[i]))
			continue;
		snprintf((*row)[0], CTL_CELL, "%lld", ctl_rc_revision(h.rcs[i]));
		snprintf((*row)[1], CTL_CELL, "%s", cause ? cause : "<none>");
		ctl_table_add(&t, *row);
	}
	fprintf(c->out, "deployment/%s\n", name);
	ctl_table_print(&t, c->out);
	ok = 1;
done:
	if (row)
		hist_free(&h);
	ctl_table_free(&t);
	free(row);
	return ok ? SKIFFCTL_EXIT_OK : SKIFFCTL_EXIT_FAIL;
}

/* ---- the writes ---- */

struct edit {
	struct ctl *c;
	const char *name;
	int64_t create, uid; /* uid: the incarnation read before (0: any) */
	json_t *tmpl;        /* undo: the template to copy */
	int pause;           /* pause/resume: the value wanted */
};

static int
paused_refused(struct edit *e, json_t *j, const char *what)
{
	if (!json_is_true(ctl_jget(j, "spec.paused")))
		return 0;
	fprintf(e->c->err,
	        "%s: cannot %s paused deployment \"%s\"; resume it first (skiffctl rollout resume deployment/%s)\n",
	        e->c->name, what, e->name, e->name);
	return 1;
}

/* The object spec (created when absent) of j, NULL when j's is not an
 * object (reported). */
static json_t *
spec_of(struct edit *e, json_t *j)
{
	json_t *spec = json_object_get(j, "spec");

	if (!spec)
		json_object_set_new(j, "spec", spec = json_object());
	if (!json_is_object(spec))
		fprintf(e->c->err, "%s: deployment \"%s\" has no spec object; fix it with skiffctl apply\n", e->c->name,
		        e->name);
	return json_is_object(spec) ? spec : NULL;
}

static int
edit_undo(json_t *j, void *arg)
{
	struct edit *e = arg;
	json_t *spec = spec_of(e, j);

	if (!spec)
		return -1;
	if (e->create != e->uid) {
		fprintf(e->c->err, "%s: deployment \"%s\" was deleted and created again meanwhile; run undo again\n",
		        e->c->name, e->name);
		return -1;
	}
	if (paused_refused(e, j, "roll back"))
		return -1;
	if (json_equal(json_object_get(spec, "template"), e->tmpl))
		return 0;
	return json_object_set(spec, "template", e->tmpl) == 0 ? 1 : -1;
}

static int
edit_restart(json_t *j, void *arg)
{
	struct edit *e = arg;
	json_t *spec = spec_of(e, j), *t, *meta, *ann;
	char now[64];

	if (!spec || paused_refused(e, j, "restart"))
		return -1;
	if (!json_is_object(t = json_object_get(spec, "template")) ||
	    (json_object_get(t, "metadata") && !json_is_object(json_object_get(t, "metadata")))) {
		fprintf(e->c->err, "%s: deployment \"%s\" has no template object\n", e->c->name, e->name);
		return -1;
	}
	if (!(meta = json_object_get(t, "metadata")))
		json_object_set_new(t, "metadata", meta = json_object());
	if (!json_is_object(ann = json_object_get(meta, "annotations")))
		json_object_set_new(meta, "annotations", ann = json_object());
	api_time_format(time(NULL), now, sizeof(now));
	return json_object_set_new(ann, CTL_RESTARTED_AT_ANN, json_string(now)) == 0 ? 1 : -1;
}

static int
edit_pause(json_t *j, void *arg)
{
	struct edit *e = arg;
	json_t *spec = spec_of(e, j);

	if (!spec)
		return -1;
	if (json_is_true(json_object_get(spec, "paused")) == e->pause)
		return 0;
	if (e->pause)
		return json_object_set_new(spec, "paused", json_true()) == 0 ? 1 : -1;
	json_object_del(spec, "paused");
	return 1;
}

/* ctl_update of deployment e->name; CTL_NOT_FOUND is reported (-1). */
static int
update(struct edit *e, ctl_edit_fn fn)
{
	char key[API_KEY_MAX];
	int u;

	if (ctl_deploy_key(e->c, key, e->name, 0) < 0)
		return -1;
	u = ctl_update(e->c, key, fn, e, &e->create);
	if (u == CTL_NOT_FOUND)
		fprintf(e->c->err, "%s: deployment \"%s\" not found under %s\n", e->c->name, e->name,
		        e->c->opts.prefix);
	return u == CTL_NOT_FOUND ? -1 : u;
}

static int
undo(struct ctl *c, const char *name)
{
	struct edit e = {c, name, 0, 0, NULL, 0};
	struct ctl_kv *rc = NULL;
	long long rev = to_revision_flag;
	struct hist h;
	int u = -1;

	if (hist_load(c, name, &h) < 0)
		goto done;
	if (rev == 0 && h.n >= 2)
		rev = ctl_rc_revision(h.rcs[h.n - 2]);
	if (rev <= 0 || !(rc = revision(&h, rev))) {
		if (to_revision_flag)
			fprintf(c->err, "%s: deployment \"%s\" has no revision %lld in its history\n", c->name, name,
			        rev);
		else
			fprintf(c->err, "%s: deployment \"%s\" has no previous revision to go back to\n", c->name,
			        name);
		goto done;
	}
	e.uid = h.d->create;
	if (!(e.tmpl = ctl_template_unhashed(ctl_jget(rc->j, "spec.template"))))
		goto done;
	u = update(&e, edit_undo);
	if (u == CTL_UPDATED)
		fprintf(c->out, "deployment/%s rolled back to revision %lld\n", name, rev);
	else if (u == CTL_UNCHANGED)
		fprintf(c->out, "deployment/%s skipped rollback (current template already matches revision %lld)\n",
		        name, rev);
done:
	json_decref(e.tmpl);
	hist_free(&h);
	return u < 0 ? SKIFFCTL_EXIT_FAIL : SKIFFCTL_EXIT_OK;
}

static int
write_one(struct ctl *c, const char *sub, const char *name)
{
	struct edit e = {c, name, 0, 0, NULL, strcmp(sub, "pause") == 0};
	int u;

	if (strcmp(sub, "restart") == 0) {
		if ((u = update(&e, edit_restart)) == CTL_UPDATED)
			fprintf(c->out, "deployment/%s restarted\n", name);
		return u < 0 ? SKIFFCTL_EXIT_FAIL : SKIFFCTL_EXIT_OK;
	}
	u = update(&e, edit_pause);
	if (u == CTL_UPDATED)
		fprintf(c->out, "deployment/%s %s\n", name, e.pause ? "paused" : "resumed");
	else if (u == CTL_UNCHANGED)
		fprintf(c->out, "deployment/%s %s\n", name, e.pause ? "already paused" : "not paused");
	return u < 0 ? SKIFFCTL_EXIT_FAIL : SKIFFCTL_EXIT_OK;
}

/* Usage errors of sub's arguments and flags, or CTL_CONTINUE. */
static int
check_args(struct ctl *c, const char *sub, const struct ctl_ref *ref, int i)
{
	static const char *const subs[] = {"status", "history", "undo", "restart", "pause", "resume"};
	size_t k;

	for (k = 0; k < 6 && strcmp(sub, subs[k]) != 0; k++)
		;
	if (k == 6)
		return ctl_usage_error(c, &prog, "unknown subcommand \"%s\"", sub);
	if (!ref->deploy)
		return ctl_usage_error(c, &prog, "rollout works on deployments only (deployment/NAME), not on %s",
		                       ref->kind->plural);
	if (i < c->nargs)
		return ctl_usage_error(c, &prog, "unexpected argument \"%s\"", c->args[i]);
	if (to_revision_flag && strcmp(sub, "undo") != 0)
		return ctl_usage_error(c, &prog, "--to-revision goes with undo");
	if (revision_flag && strcmp(sub, "history") != 0)
		return ctl_usage_error(c, &prog, "--revision goes with history");
	if (timeout_flag && strcmp(sub, "status") != 0)
		return ctl_usage_error(c, &prog, "--timeout goes with status");
	if (to_revision_flag < 0 || revision_flag < 0 || timeout_flag < 0)
		return ctl_usage_error(c, &prog, "revisions and timeouts are not negative");
	return CTL_CONTINUE;
}

int
cmd_rollout(int argc, char **argv, FILE *out, FILE *err)
{
	struct ctl_ref ref;
	const char *sub;
	struct ctl c;
	int rc, i = 1;

	timeout_flag = to_revision_flag = revision_flag = 0;
	if ((rc = ctl_parse(&c, &prog, argc, argv, out, err, 0)) != CTL_CONTINUE)
		goto done;
	if (c.nargs < 2) {
		rc = ctl_usage_error(&c, &prog, "expected SUBCOMMAND deployment/NAME");
		goto done;
	}
	sub = c.args[0];
	if (ctl_ref_parse(&c, &i, &ref) < 0) {
		rc = SKIFFCTL_EXIT_USAGE;
		goto done;
	}
	if ((rc = check_args(&c, sub, &ref, i)) != CTL_CONTINUE)
		goto done;
	rc = SKIFFCTL_EXIT_FAIL;
	if (ctl_connect(&c) < 0)
		goto done;
	if (strcmp(sub, "status") == 0)
		rc = status(&c, ref.name);
	else if (strcmp(sub, "history") == 0)
		rc = history(&c, ref.name);
	else if (strcmp(sub, "undo") == 0)
		rc = undo(&c, ref.name);
	else
		rc = write_one(&c, sub, ref.name);
done:
	ctl_done(&c);
	return rc;
}
