/*
 * ctl_deploy_describe.c: "skiffctl describe deployment NAME", as kubectl
 * describe shows one: the spec (selector, replicas, strategy, template),
 * the counts and conditions of P/deploymentstatus/NAME, the replication
 * controllers it owns (the new one: its template is the deployment's; the
 * others old, newest first) with their replicas, and the events about it
 * (P/events/deployments/NAME/), oldest first. Reads one snapshot, writes
 * nothing; every text from etcd is escaped.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "skiffctl.h"

/* "LABEL:" padded to a column, then value (escaped). */
static void
field(FILE *f, int indent, const char *label, const char *value)
{
	char l[128];
	int w = snprintf(l, sizeof(l), "%s:", label) + 1;

	fprintf(f, "%*s%-*s", indent, "", w > 24 - indent ? w : 24 - indent, l);
	ctl_fputs_escaped(value && *value ? value : "<none>", f);
	fputc('\n', f);
}

static void
strategy(FILE *f, const json_t *spec)
{
	const char *type = ctl_jstr(spec, "strategy.type");
	json_t *ru = ctl_jget(spec, "strategy.rollingUpdate");
	char buf[256], su[32], un[32];
	json_t *v;

	field(f, 0, "StrategyType", type ? type : "RollingUpdate");
	snprintf(buf, sizeof(buf), "%lld", ctl_jint(spec, "minReadySeconds", 0));
	field(f, 0, "MinReadySeconds", buf);
	if (type && strcmp(type, "RollingUpdate") != 0)
		return;
	v = json_object_get(ru, "maxUnavailable");
	snprintf(un, sizeof(un), "%s", json_is_string(v) ? json_string_value(v) : "25%");
	if (json_is_integer(v))
		snprintf(un, sizeof(un), "%lld", (long long)json_integer_value(v));
	v = json_object_get(ru, "maxSurge");
	snprintf(su, sizeof(su), "%s", json_is_string(v) ? json_string_value(v) : "25%");
	if (json_is_integer(v))
		snprintf(su, sizeof(su), "%lld", (long long)json_integer_value(v));
	snprintf(buf, sizeof(buf), "%s max unavailable, %s max surge", un, su);
	field(f, 0, "RollingUpdateStrategy", buf);
}

void
ctl_template_print(FILE *f, const json_t *tmpl)
{
	char buf[CTL_CELL];
	json_t *c;
	size_t i;

	fprintf(f, "Pod Template:\n");
	ctl_labels_text(ctl_jget(tmpl, "metadata.labels"), buf, sizeof(buf));
	field(f, 2, "Labels", buf);
	ctl_labels_text(ctl_jget(tmpl, "metadata.annotations"), buf, sizeof(buf));
	field(f, 2, "Annotations", buf);
	fprintf(f, "  Containers:\n");
	json_array_foreach(ctl_jget(tmpl, "spec.containers"), i, c) {
		fputs("   ", f);
		ctl_fputs_escaped(ctl_jstr(c, "name") ? ctl_jstr(c, "name") : "?", f);
		fputs(":\n", f);
		field(f, 4, "Image", ctl_jstr(c, "image"));
	}
}

static void
conditions(FILE *f, const struct ctl_kv *s)
{
	json_t *cond;
	size_t i;

	fprintf(f, "Conditions:\n");
	if (!s || !json_array_size(json_object_get(s->j, "conditions"))) {
		fprintf(f, "  <none>\n");
		return;
	}
	fprintf(f, "  %-14s %-8s %s\n", "Type", "Status", "Reason");
	fprintf(f, "  %-14s %-8s %s\n", "----", "------", "------");
	json_array_foreach(json_object_get(s->j, "conditions"), i, cond) {
		char t[64], st[32], r[128];

		ctl_escape(ctl_jstr(cond, "type") ? ctl_jstr(cond, "type") : "?", t, sizeof(t));
		ctl_escape(ctl_jstr(cond, "status") ? ctl_jstr(cond, "status") : "?", st, sizeof(st));
		ctl_escape(ctl_jstr(cond, "reason") ? ctl_jstr(cond, "reason") : "", r, sizeof(r));
		fprintf(f, "  %-14s %-8s %s\n", t, st, r);
		if (ctl_jstr(cond, "message"))
			field(f, 4, "Message", ctl_jstr(cond, "message"));
	}
}

/* "NAME (C/D replicas created)" of rc into buf at *n. */
static void
rc_text(const struct ctl_deploys *ds, const struct ctl_kv *rc, char *buf, size_t len, size_t *n)
{
	const struct ctl_kv *s = ctl_state_find(&ds->st, API_CONTROLLERSTATUS, NULL, rc->name);
	long long cur = s && ctl_is_uid(json_object_get(s->j, "uid"), rc->create) ? ctl_jint(s->j, "replicas", 0) : 0;

	if (*n < len)
		*n += (size_t)snprintf(buf + *n, len - *n, "%s%s (%lld/%lld replicas created, revision %lld)",
		                       *n ? ", " : "", rc->name, cur, ctl_jint(rc->j, "spec.replicas", 1),
		                       ctl_rc_revision(rc));
}

static void
controllers(FILE *f, const struct ctl_deploys *ds, const struct ctl_kv *d)
{
	size_t n = 0, i, len = 0;
	struct ctl_kv **rcs = ctl_deploy_rcs(ds, d, &n), *cur = ctl_deploy_current(rcs, n, d);
	char buf[4 * CTL_CELL];

	buf[0] = '\0';
	for (i = n; i-- > 0;)
		if (rcs[i] != cur)
			rc_text(ds, rcs[i], buf, sizeof(buf), &len);
	field(f, 0, "OldReplicationControllers", buf);
	len = 0;
	buf[0] = '\0';
	if (cur)
		rc_text(ds, cur, buf, sizeof(buf), &len);
	field(f, 0, "NewReplicationController", buf);
	free(rcs);
}

static int
by_last(const void *a, const void *b)
{
	const struct ctl_kv *x = *(struct ctl_kv *const *)a, *y = *(struct ctl_kv *const *)b;
	const char *tx = ctl_jstr(x->j, "lastTimestamp"), *ty = ctl_jstr(y->j, "lastTimestamp");
	time_t at = 0, bt = 0;

	if (tx)
		api_time_parse(tx, &at, NULL);
	if (ty)
		api_time_parse(ty, &bt, NULL);
	return at < bt ? -1 : at > bt;
}

static void
events(FILE *f, const struct ctl_deploys *ds, const char *name)
{
	const struct ctl_kv **v = calloc(ds->ev.n + 1, sizeof(*v));
	size_t i, n = 0;

	for (i = 0; v && i < ds->ev.n; i++)
		if (strcmp(ds->ev.kv[i].name, name) == 0)
			v[n++] = &ds->ev.kv[i];
	fprintf(f, "Events:");
	if (!n)
		fprintf(f, " <none>\n");
	else
		fprintf(f, "\n  %-8s %-24s %-6s %s\n", "Type", "Reason", "Age", "Message");
	if (v)
		qsort(v, n, sizeof(*v), by_last);
	for (i = 0; i < n; i++) {
		char t[32], r[96], age[16], *msg = NULL;
		const char *m = ctl_jstr(v[i]->j, "message");
		size_t ml = ctl_escape(m ? m : "", NULL, 0) + 1;

		ctl_escape(ctl_jstr(v[i]->j, "type") ? ctl_jstr(v[i]->j, "type") : "?", t, sizeof(t));
		ctl_escape(ctl_jstr(v[i]->j, "reason") ? ctl_jstr(v[i]->j, "reason") : "?", r, sizeof(r));
		ctl_age(ctl_jstr(v[i]->j, "lastTimestamp"), age, sizeof(age));
		if ((msg = malloc(ml)))
			ctl_escape(m ? m : "", msg, ml);
		fprintf(f, "  %-8s %-24s %-6s %s\n", t, r, age, msg ? msg : "");
		free(msg);
	}
	free(v);
}

static void
describe(FILE *f, const struct ctl_deploys *ds, const struct ctl_kv *d)
{
	const struct ctl_kv *s = ctl_deploy_status(ds, d);
	json_t *spec = json_object_get(d->j, "spec");
	char buf[CTL_CELL];
	long long want = ctl_jint(spec, "replicas", 1);

	field(f, 0, "Name", d->name);
	ctl_labels_text(ctl_jget(d->j, "metadata.labels"), buf, sizeof(buf));
	field(f, 0, "Labels", buf);
	ctl_labels_text(ctl_jget(d->j, "metadata.annotations"), buf, sizeof(buf));
	field(f, 0, "Annotations", buf);
	ctl_labels_text(ctl_jget(spec, "selector.matchLabels"), buf, sizeof(buf));
	field(f, 0, "Selector", buf);
	snprintf(buf, sizeof(buf), "%lld desired | %lld updated | %lld total | %lld available | %lld unavailable", want,
	         s ? ctl_jint(s->j, "updatedReplicas", 0) : 0, s ? ctl_jint(s->j, "replicas", 0) : 0,
	         s ? ctl_jint(s->j, "availableReplicas", 0) : 0, s ? ctl_jint(s->j, "unavailableReplicas", 0) : want);
	field(f, 0, "Replicas", buf);
	strategy(f, spec);
	field(f, 0, "Paused", json_is_true(json_object_get(spec, "paused")) ? "true" : "false");
	if (!s)
		field(f, 0, "Status", "not reported yet (is skiff-deployment-controller running?)");
	ctl_template_print(f, json_object_get(spec, "template"));
	conditions(f, s);
	controllers(f, ds, d);
	events(f, ds, d->name);
}

int
ctl_deploy_describe(struct ctl *c, const char *name)
{
	struct ctl_deploys ds = {0};
	char key[API_KEY_MAX];
	int rc = SKIFFCTL_EXIT_FAIL;
	size_t i;

	if (ctl_deploy_key(c, key, name, 0) < 0 || ctl_connect(c) < 0 || ctl_deploys_load(c, &ds) < 0)
		goto done;
	for (i = 0; i < ds.d.n && strcmp(ds.d.kv[i].name, name) != 0; i++)
		;
	if (i == ds.d.n) {
		fprintf(c->err, "%s: deployment \"%s\" not found under %s\n", c->name, name, c->opts.prefix);
		goto done;
	}
	describe(c->out, &ds, &ds.d.kv[i]);
	rc = SKIFFCTL_EXIT_OK;
done:
	ctl_deploys_free(&ds);
	return rc;
}
