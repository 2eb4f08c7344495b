/*
 * cmd_get.c: "skiffctl get KIND[,KIND...] [NAME]": list objects as tables
 * like kubectl's (columns: ctl_rows.c), as the stored JSON (-o json), or
 * follow changes (-w): the table first, then an etcd watch on the whole
 * prefix from the snapshot's revision + 1, printing an object's row again
 * whenever a key it is drawn from changes (a pod's binding, status or
 * events; a controller's status; a service's endpoints; a node's lease),
 * until SIGINT or SIGTERM. It writes nothing to etcd.
 */
#include <ev.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "skiffctl.h"

#define MAX_KINDS 8

struct sel_req {
	char *key, *value; /* value NULL: exists */
	int negate;
};

struct get {
	struct ctl *c;
	const struct ctl_kind *kinds[MAX_KINDS];
	int nkinds;
	const char *name;
	int wide, json, watch;
	struct sel_req sel[32];
	int nsel;
	struct ctl_state st;
	struct ctl_table tables[MAX_KINDS];
	char **seen_key, **seen_line; /* last row printed per object (watch) */
	size_t nseen;
	int done, failed;
};

#define GET_HELP                                                                             \
	"List objects as a table. KIND is one of pods (po), controllers (rc),\n"             \
	"services (svc), nodes (no), events (ev), configmaps (cm), secrets, or\n"            \
	"several joined by commas. A secret's values are never printed.\n"                   \
	"Deployments (deploy) are listed alone: NAME READY UP-TO-DATE AVAILABLE AGE.\n"      \
	"NAME picks one object (for events: the events about objects of that name).\n"       \
	"  -o json      the stored objects (a List, or the object when NAME is given)\n"     \
	"  -o wide      more columns\n"                                                      \
	"  -l SELECTOR  label selector: key=value, key!=value, key, !key joined by commas\n" \
	"  -w           print the list, then a row per change until interrupted\n"           \
	"Exit 0 on success, 1 when NAME is not found or etcd fails, 2 on usage errors."

static const char *output_flag, *selector_flag;
static int watch_flag;

static const struct flag get_flags[] = {
	{"output", FLAG_STRING, &output_flag, "", NULL, "json or wide (short: -o)", "FORMAT", NULL},
	{"selector", FLAG_STRING, &selector_flag, "", NULL, "label selector (short: -l)", "SELECTOR", NULL},
	{"watch", FLAG_BOOL, &watch_flag, "false", NULL, "follow changes (short: -w)", NULL, NULL},
	{0}};

static const struct skiff_prog prog = {
	.client = 1, .name = "skiffctl get", .summary = GET_HELP, .args = "KIND[,KIND...] [NAME]", .flags = get_flags};

void
cmd_get_usage(FILE *f)
{
	opts_help(&prog, f);
}

static int
parse_selector(struct get *g, const char *s)
{
	char *copy = strdup(s), *tok, *save = NULL;

	if (!copy)
		return -1;
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		struct sel_req *r = &g->sel[g->nsel];
		char *eq;

		if (g->nsel == 32) {
			free(copy);
			return -1;
		}
		memset(r, 0, sizeof(*r));
		if ((eq = strstr(tok, "!="))) {
			*eq = '\0';
			r->negate = 1;
			r->value = strdup(eq + 2);
		} else if ((eq = strchr(tok, '='))) {
			*eq = '\0';
			r->value = strdup(eq + (eq[1] == '=' ? 2 : 1));
		} else if (tok[0] == '!') {
			r->negate = 1;
			tok++;
		}
		if (!*tok || !(r->key = strdup(tok))) {
			free(r->value);
			free(copy);
			return -1;
		}
		g->nsel++;
	}
	free(copy);
	return 0;
}

static int
selected(const struct get *g, const struct ctl_kv *kv)
{
	json_t *labels = ctl_jget(kv->j, "metadata.labels");
	int i;

	for (i = 0; i < g->nsel; i++) {
		const char *v = json_string_value(json_object_get(labels, g->sel[i].key));
		int match = g->sel[i].value ? v && strcmp(v, g->sel[i].value) == 0 : v != NULL;

		if (match == g->sel[i].negate)
			return 0;
	}
	return 1;
}

/* kv (an entry of kind k's own directory) is to be shown. */
static int
wanted(const struct get *g, enum api_kind k, const struct ctl_kv *kv)
{
	if (g->name && strcmp(kv->name, g->name) != 0)
		return 0;
	return k == API_EVENT || selected(g, kv);
}

/* New JSON of an object as shown by -o json. */
static json_t *
object_json(enum api_kind k, const struct ctl_kv *kv)
{
	json_t *o = json_is_object(kv->j) ? json_deep_copy(kv->j) : json_object(), *meta;

	if (!o)
		return NULL;
	if (!json_is_object(kv->j))
		json_object_set_new(o, "invalidValue", json_stringn(kv->value, kv->len));
	if (k == API_EVENT) {
		const struct ctl_kind *about = ctl_kind_of(kv->object);

		json_object_set_new(
			o, "involvedObject",
			json_pack("{s:s, s:s}", "kind", about ? api_kind_name(about->kind) : "?", "name", kv->name));
	} else {
		if (!json_is_object(meta = json_object_get(o, "metadata")))
			json_object_set_new(o, "metadata", meta = json_object());
		if (!json_object_get(meta, "name"))
			json_object_set_new(meta, "name", json_string(kv->name));
	}
	if (!json_object_get(o, "kind"))
		json_object_set_new(o, "kind", json_string(api_kind_name(k)));
	if (k == API_SECRET)
		ctl_secret_redact(o); /* values never printed */
	return o;
}

static int
by_last_seen(const void *a, const void *b)
{
	const struct ctl_kv *x = *(struct ctl_kv *const *)a, *y = *(struct ctl_kv *const *)b;
	const char *tx = ctl_jstr(x->j, "lastTimestamp"), *ty = ctl_jstr(y->j, "lastTimestamp");
	time_t a_t = 0, b_t = 0;

	if (tx)
		api_time_parse(tx, &a_t, NULL);
	if (ty)
		api_time_parse(ty, &b_t, NULL);
	return a_t < b_t ? -1 : a_t > b_t ? 1 : strcmp(x->key, y->key);
}

/* Row of kv with "kind/" before the name when several kinds are listed. */
static void
make_row(struct get *g, enum api_kind k, const struct ctl_kv *kv, ctl_row row)
{
	char name[CTL_CELL];

	ctl_row_of(&g->st, k, kv, g->wide, row);
	if (g->nkinds > 1 && k != API_EVENT) {
		snprintf(name, sizeof(name), "%s/%s", ctl_kind_of(k)->singular, row[0]);
		memcpy(row[0], name, CTL_CELL);
	}
}

static int changed(struct get *g, const char *key, const char *line);
static void row_line(struct get *g, int i, const struct ctl_kv *kv, ctl_row row, char *key, size_t klen, char *line,
                     size_t llen);

/* Print the list of kind index i. Returns the number of objects shown. */
static size_t
print_kind(struct get *g, int i, json_t *items)
{
	enum api_kind k = g->kinds[i]->kind;
	struct ctl_list *l = &g->st.l[k];
	struct ctl_table *t = &g->tables[i];
	struct ctl_kv **sel = calloc(l->n + 1, sizeof(*sel));
	size_t n = 0, j;
	ctl_row *row = malloc(sizeof(*row));

	if (!sel || !row) {
		free(sel);
		free(row);
		g->failed = 1;
		return 0;
	}
	for (j = 0; j < l->n; j++)
		if (wanted(g, k, &l->kv[j]))
			sel[n++] = &l->kv[j];
	if (k == API_EVENT)
		qsort(sel, n, sizeof(*sel), by_last_seen);
	t->ncols = ctl_header(k, g->wide, *row);
	ctl_table_add(t, *row);
	for (j = 0; j < n; j++) {
		if (items) {
			json_array_append_new(items, object_json(k, sel[j]));
			continue;
		}
		make_row(g, k, sel[j], *row);
		ctl_table_add(t, *row);
		if (g->watch) {
			char key[600], line[CTL_CELL * 2];

			row_line(g, i, sel[j], *row, key, sizeof(key), line, sizeof(line));
			changed(g, key, line);
		}
	}
	free(sel);
	free(row);
	return n;
}

static void
print_json(struct get *g, json_t *v)
{
	char *s = json_dumps(v, g->watch ? JSON_COMPACT : JSON_INDENT(2));

	if (s)
		fprintf(g->c->out, "%s\n", s);
	free(s);
}

/* Remember line as the last printed for key; 1 when it differs. */
static int
changed(struct get *g, const char *key, const char *line)
{
	char **nk, **nl;
	size_t i;

	for (i = 0; i < g->nseen; i++) {
		if (strcmp(g->seen_key[i], key) == 0) {
			if (line && strcmp(g->seen_line[i], line) == 0)
				return 0;
			free(g->seen_line[i]);
			g->seen_line[i] = strdup(line ? line : "");
			return 1;
		}
	}
	nk = realloc(g->seen_key, (g->nseen + 1) * sizeof(*nk));
	if (nk)
		g->seen_key = nk;
	nl = realloc(g->seen_line, (g->nseen + 1) * sizeof(*nl));
	if (nl)
		g->seen_line = nl;
	if (nk && nl && (nk[g->nseen] = strdup(key))) {
		nl[g->nseen] = strdup(line ? line : "");
		g->nseen++;
	}
	return 1;
}

/* The dedup key and text of a row of kind index i. */
static void
row_line(struct get *g, int i, const struct ctl_kv *kv, ctl_row row, char *key, size_t klen, char *line, size_t llen)
{
	enum api_kind k = g->kinds[i]->kind;
	size_t c, n = 0;

	snprintf(key, klen, "%d/%s", (int)k, k == API_EVENT ? kv->key : kv->name);
	line[0] = '\0';
	for (c = 0; c < g->tables[i].ncols && n < llen; c++)
		n += (size_t)snprintf(line + n, llen - n, "%s\t", row[c]);
}

/* Show the row of entry (or of object (k, name) when entry is NULL);
 * gone: entry was just deleted, show its last row marked so. */
static void
show(struct get *g, int i, const char *name, const struct ctl_kv *entry, int gone)
{
	enum api_kind k = g->kinds[i]->kind;
	const struct ctl_kv *kv = entry ? entry : ctl_state_find(&g->st, k, NULL, name);
	ctl_row *row;
	char key[600], line[CTL_CELL * 2];

	if (!kv || !wanted(g, k, kv))
		return;
	snprintf(key, sizeof(key), "%d/%s", (int)k, k == API_EVENT ? kv->key : kv->name);
	if (g->json) {
		json_t *o = object_json(k, kv);
		char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;

		if (s && (gone || changed(g, key, s)))
			fprintf(g->c->out, "%s%s\n", gone ? "DELETED " : "", s);
		free(s);
		json_decref(o);
		fflush(g->c->out);
		return;
	}
	if (!(row = malloc(sizeof(*row))))
		return;
	make_row(g, k, kv, *row);
	if (gone)
		strncat((*row)[0], " (deleted)", CTL_CELL - strlen((*row)[0]) - 1);
	row_line(g, i, kv, *row, key, sizeof(key), line, sizeof(line));
	if (gone || changed(g, key, line))
		ctl_table_print_row(&g->tables[i], *row, g->c->out);
	if (gone)
		changed(g, key, NULL);
	fflush(g->c->out);
	free(row);
}

/* The kind of row (of those listed) a changed key of kind kk belongs to. */
static enum api_kind
row_kind(enum api_kind kk, const struct ctl_kv *kv)
{
	switch (kk) {
	case API_POD:
	case API_BINDING:
	case API_PODSTATUS: return API_POD;
	case API_CONTROLLER:
	case API_CONTROLLERSTATUS: return API_CONTROLLER;
	case API_SERVICE:
	case API_ENDPOINTS: return API_SERVICE;
	case API_NODE:
	case API_NODESTATUS:
	case API_NODELEASE: return API_NODE;
	case API_EVENT:
	case API_NODEEVENT: return kv->object;
	default: return API_KIND_UNKNOWN;
	}
}

static void
on_event(struct get *g, const struct etcd_event *ev)
{
	struct ctl_kv gone = {0}, *kv = ctl_state_apply(&g->st, ev, &gone);
	const struct ctl_kv *any = kv ? kv : gone.key ? &gone : NULL;
	struct api_key pk;
	struct api_error e;
	enum api_kind rk;
	int i;

	if (!any || api_key_parse(g->st.prefix, any->key, strlen(any->key), &pk, &e) < 0)
		goto out;
	rk = row_kind(pk.kind, any);
	for (i = 0; i < g->nkinds; i++) {
		enum api_kind k = g->kinds[i]->kind;

		if (k == API_EVENT && (pk.kind == API_EVENT || pk.kind == API_NODEEVENT) && kv)
			show(g, i, kv->name, kv, 0); /* events: the entry itself */
		else if (k == rk && k != API_EVENT)
			show(g, i, any->name, pk.kind == k && !kv ? &gone : NULL, pk.kind == k && !kv);
	}
out:
	ctl_kv_clear(&gone);
}

static void
watch_cb(struct etcd_watch *w, const struct etcd_watch_msg *m, void *arg)
{
	struct get *g = arg;
	size_t i;

	(void)w;
	if (m->kind == ETCD_WATCH_EVENTS)
		for (i = 0; i < m->nevents; i++)
			on_event(g, &m->events[i]);
	else if (m->kind == ETCD_WATCH_ERROR) {
		struct etcd_result r = {0};

		r.err = *m->err;
		ctl_etcd_fail(g->c, "watching", &r);
		g->failed = 1;
		g->done = 1;
	}
}

static struct get *sig_get;

static void
on_signal(struct ev_loop *loop, ev_signal *w, int revents)
{
	(void)loop;
	(void)w;
	(void)revents;
	if (sig_get)
		sig_get->done = 1;
}

static int
run_watch(struct get *g)
{
	struct etcd_watch_opts wo = {.prefix = 1, .start_revision = g->st.revision + 1};
	struct etcd_error e = {0};
	struct etcd_watch *w;
	struct ev_loop *loop = etcd_client_loop(etcd_sync_client(g->c->s));
	ev_signal sint, sterm;
	char prefix[API_PREFIX_MAX + 2];

	snprintf(prefix, sizeof(prefix), "%s/", g->c->opts.prefix);
	if (!(w = etcd_watch_start(etcd_sync_client(g->c->s), prefix, &wo, watch_cb, g, &e))) {
		fprintf(g->c->err, "%s: cannot watch %s: %s\n", g->c->name, prefix, e.msg);
		return SKIFFCTL_EXIT_FAIL;
	}
	sig_get = g;
	/* A shell starts background jobs with SIGINT ignored, and libev may
	 * take signals through a signalfd, which sees no ignored signal. */
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	ev_signal_init(&sint, on_signal, SIGINT);
	ev_signal_init(&sterm, on_signal, SIGTERM);
	ev_signal_start(loop, &sint);
	ev_signal_start(loop, &sterm);
	while (!g->done)
		etcd_sync_run(g->c->s, &g->done, 3600 * 1000L);
	ev_signal_stop(loop, &sint);
	ev_signal_stop(loop, &sterm);
	sig_get = NULL;
	etcd_watch_cancel(w);
	return g->failed ? SKIFFCTL_EXIT_FAIL : SKIFFCTL_EXIT_OK;
}

static int
parse_kinds(struct get *g, const char *arg)
{
	char *copy = strdup(arg), *tok, *save = NULL;

	if (!copy)
		return -1;
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		const struct ctl_kind *k = ctl_kind_lookup(tok);
		int i;

		if (ctl_deploy_word(tok)) {
			fprintf(g->c->err, "%s: deployments are listed alone: skiffctl get deployments\n", g->c->name);
			free(copy);
			return -1;
		}
		if (!k) {
			fprintf(g->c->err, "%s: unknown kind \"%s\"; use one of %s\n", g->c->name, tok,
			        ctl_kind_list());
			free(copy);
			return -1;
		}
		for (i = 0; i < g->nkinds && g->kinds[i] != k; i++)
			;
		if (i == g->nkinds && g->nkinds < MAX_KINDS)
			g->kinds[g->nkinds++] = k;
	}
	free(copy);
	if (g->nkinds == 0) {
		fprintf(g->c->err, "%s: no kind given; use one of %s\n", g->c->name, ctl_kind_list());
		return -1;
	}
	return 0;
}

static int
match_labels(const void *g, const struct ctl_kv *kv)
{
	return selected(g, kv);
}

/* "get deployments [NAME]" (ctl_deploy.c): one kind, no -w. */
static int
get_deployments(struct get *g)
{
	if (g->watch)
		return ctl_usage_error(g->c, &prog,
		                       "-w is not available for deployments; skiffctl rollout status "
		                       "deployment/NAME follows a rollout");
	if (selector_flag[0] && parse_selector(g, selector_flag) < 0)
		return ctl_usage_error(g->c, &prog, "-l: \"%s\" is not a selector (key=value,key!=value,key,!key)",
		                       selector_flag);
	return ctl_deploy_get(g->c, g->name, g->json, g->wide, match_labels, g);
}

static int
run(struct get *g)
{
	struct ctl *c = g->c;
	int want[API_KIND_COUNT] = {0}, i;
	json_t *items = NULL;
	size_t shown = 0;

	if (ctl_deploy_word(c->args[0]))
		return get_deployments(g);
	if (parse_kinds(g, c->args[0]) < 0)
		return SKIFFCTL_EXIT_FAIL;
	if (selector_flag[0] && parse_selector(g, selector_flag) < 0)
		return ctl_usage_error(c, &prog, "-l: \"%s\" is not a selector (key=value,key!=value,key,!key)",
		                       selector_flag);
	for (i = 0; i < g->nkinds; i++)
		ctl_wants(g->kinds[i]->kind, want);
	if (ctl_connect(c) < 0 || ctl_state_load(c, &g->st, want) < 0)
		return SKIFFCTL_EXIT_FAIL;
	if (g->json && !(items = json_array()))
		return SKIFFCTL_EXIT_FAIL;
	for (i = 0; i < g->nkinds; i++) {
		size_t n = print_kind(g, i, items);

		shown += n;
		if (g->json || (n == 0 && g->watch == 0))
			continue;
		if (i > 0 && shown > n)
			fputc('\n', c->out);
		ctl_table_print(&g->tables[i], c->out);
	}
	if (g->json) {
		if (g->watch) {
			json_t *it;
			size_t j;

			json_array_foreach(items, j, it)
				print_json(g, it);
		} else if (g->name && g->nkinds == 1 && json_array_size(items) == 1 && g->kinds[0]->kind != API_EVENT)
			print_json(g, json_array_get(items, 0));
		else if (shown || !g->name) {
			json_t *list = json_pack("{s:s, s:O}", "kind", "List", "items", items);

			print_json(g, list);
			json_decref(list);
		}
		json_decref(items);
	}
	fflush(c->out);
	if (shown == 0 && g->name && !g->watch && !(g->nkinds == 1 && g->kinds[0]->kind == API_EVENT)) {
		fprintf(c->err, "%s: %s \"%s\" not found under %s\n", c->name, g->kinds[0]->singular, g->name,
		        c->opts.prefix);
		return SKIFFCTL_EXIT_FAIL;
	}
	if (shown == 0 && !g->watch && !g->json)
		fprintf(c->err, "No resources found under %s.\n", c->opts.prefix);
	if (g->watch)
		return run_watch(g);
	return g->failed ? SKIFFCTL_EXIT_FAIL : SKIFFCTL_EXIT_OK;
}

int
cmd_get(int argc, char **argv, FILE *out, FILE *err)
{
	struct ctl c;
	struct get *g;
	size_t i;
	int rc;

	output_flag = selector_flag = NULL;
	watch_flag = 0;
	if ((rc = ctl_parse(&c, &prog, argc, argv, out, err, 0)) != CTL_CONTINUE) {
		ctl_done(&c);
		return rc;
	}
	if (c.nargs < 1 || c.nargs > 2) {
		rc = ctl_usage_error(&c, &prog, c.nargs < 1 ? "which kind? (%s)" : "too many arguments (%s)",
		                     ctl_kind_list());
		ctl_done(&c);
		return rc;
	}
	if (output_flag[0] && strcmp(output_flag, "json") != 0 && strcmp(output_flag, "wide") != 0) {
		rc = ctl_usage_error(&c, &prog, "-o: \"%s\" is not json or wide", output_flag);
		ctl_done(&c);
		return rc;
	}
	if (!(g = calloc(1, sizeof(*g)))) {
		ctl_done(&c);
		return SKIFFCTL_EXIT_FAIL;
	}
	g->c = &c;
	g->name = c.nargs == 2 ? c.args[1] : NULL;
	g->wide = strcmp(output_flag, "wide") == 0;
	g->json = strcmp(output_flag, "json") == 0;
	g->watch = watch_flag;
	rc = run(g);
	for (i = 0; i < (size_t)g->nsel; i++) {
		free(g->sel[i].key);
		free(g->sel[i].value);
	}
	for (i = 0; i < MAX_KINDS; i++)
		ctl_table_free(&g->tables[i]);
	for (i = 0; i < g->nseen; i++) {
		free(g->seen_key[i]);
		free(g->seen_line[i]);
	}
	free(g->seen_key);
	free(g->seen_line);
	ctl_state_free(&g->st);
	free(g);
	ctl_done(&c);
	return rc;
}
