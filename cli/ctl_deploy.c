/*
 * ctl_deploy.c: what skiffctl's deployment commands share: the kind word
 * and "deployment/NAME" references, the keys, a snapshot of deployments
 * with their statuses, owned replication controllers and events read at
 * one revision, and the rows of "get deployments".
 *
 * It reads the objects as JSON (the paths of the apps/v1 shape and of
 * docs/keys.md), not through a decoder: it shows and edits what is
 * stored, and the deployment controller judges it. A status counts only
 * when its uid is the deployment's create revision; a controller belongs
 * to a deployment only when a controller ownerReference names it with
 * that uid. It writes nothing.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "skiffctl.h"

int
ctl_deploy_word(const char *w)
{
	static const char *const words[] = {"deployments", "deployment", "deploy", "deployments.apps",
	                                    "deployment.apps"};
	size_t i;

	for (i = 0; w && i < sizeof(words) / sizeof(words[0]); i++)
		if (strcasecmp(w, words[i]) == 0)
			return 1;
	return 0;
}

int
ctl_ref_parse(struct ctl *c, int *i, struct ctl_ref *ref)
{
	const char *a = *i < c->nargs ? c->args[*i] : NULL, *slash = a ? strchr(a, '/') : NULL;
	size_t n = slash ? (size_t)(slash - a) : 0;

	memset(ref, 0, sizeof(*ref));
	if (!a) {
		fprintf(c->err, "%s: which object? (deployment/NAME)\n", c->name);
		return -1;
	}
	if (slash) {
		if (n >= sizeof(ref->buf)) {
			fprintf(c->err, "%s: \"%s\" is not KIND/NAME\n", c->name, a);
			return -1;
		}
		memcpy(ref->buf, a, n);
		ref->buf[n] = '\0';
		ref->name = slash + 1;
		(*i)++;
	} else {
		snprintf(ref->buf, sizeof(ref->buf), "%s", a);
		ref->name = *i + 1 < c->nargs ? c->args[*i + 1] : NULL;
		*i += 2;
	}
	ref->deploy = ctl_deploy_word(ref->buf);
	ref->kind = ref->deploy ? NULL : ctl_kind_lookup(ref->buf);
	if (!ref->deploy && !ref->kind) {
		fprintf(c->err, "%s: unknown kind \"%s\" (deployment/NAME)\n", c->name, ref->buf);
		return -1;
	}
	if (!ref->name || !*ref->name) {
		fprintf(c->err, "%s: %s: which name? (%s/NAME)\n", c->name, a, ref->buf);
		return -1;
	}
	return 0;
}

int
ctl_deploy_key(struct ctl *c, char *buf, const char *name, int status)
{
	struct api_error e;

	if (api_check_dns_subdomain(name, &e) < 0) {
		fprintf(c->err, "%s: \"%s\" is not a valid deployment name: %s\n", c->name, name, e.msg);
		return -1;
	}
	snprintf(buf, API_KEY_MAX, "%s/%s/%s", c->opts.prefix, status ? "deploymentstatus" : "deployments", name);
	return 0;
}

/* Add the kv of e (its key under dir, "P/DIR/") to l: name is the first
 * segment after dir, id the rest. 0, or -1 when out of memory. */
static int
add_kv(struct ctl_list *l, const struct etcd_kv *e, size_t dirlen)
{
	const char *rest = e->key + dirlen, *slash = strchr(rest, '/');
	struct ctl_kv *kv;

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;

		if (!(kv = realloc(l->kv, cap * sizeof(*kv))))
			return -1;
		l->kv = kv;
		l->cap = cap;
	}
	kv = &l->kv[l->n];
	memset(kv, 0, sizeof(*kv));
	kv->key = strdup(e->key);
	kv->value = strndup(e->value, e->value_len);
	kv->name = slash ? strndup(rest, (size_t)(slash - rest)) : strdup(rest);
	kv->id = strdup(slash ? slash + 1 : "");
	kv->node = strdup("");
	if (!kv->key || !kv->value || !kv->name || !kv->id || !kv->node) {
		ctl_kv_clear(kv);
		return -1;
	}
	kv->len = e->value_len;
	kv->create = e->create_revision;
	kv->mod = e->mod_revision;
	kv->j = json_loadb(e->value, e->value_len, 0, NULL);
	l->n++;
	return 0;
}

/* Every key under P/DIR/ at rev into l (names with a '/' only when sub). */
static int
load_dir(struct ctl *c, const char *dir, int64_t rev, struct ctl_list *l, int sub)
{
	struct etcd_range_opts o = {.prefix = 1, .revision = rev};
	char key[API_KEY_MAX];
	struct etcd_result *r;
	size_t i, n;

	n = (size_t)snprintf(key, sizeof(key), "%s/%s/", c->opts.prefix, dir);
	r = etcd_sync_range(c->s, key, &o);
	if (!r || r->err.code != ETCD_OK) {
		ctl_etcd_fail(c, key, r);
		etcd_result_free(r);
		return -1;
	}
	for (i = 0; i < r->nkvs; i++) {
		if (!sub && strchr(r->kvs[i].key + n, '/'))
			continue;
		if (add_kv(l, &r->kvs[i], n) < 0) {
			fprintf(c->err, "%s: out of memory\n", c->name);
			etcd_result_free(r);
			return -1;
		}
	}
	etcd_result_free(r);
	return 0;
}

int
ctl_deploys_load(struct ctl *c, struct ctl_deploys *ds)
{
	int want[API_KIND_COUNT] = {[API_CONTROLLER] = 1, [API_CONTROLLERSTATUS] = 1};

	memset(ds, 0, sizeof(*ds));
	if (ctl_state_load(c, &ds->st, want) < 0)
		return -1;
	if (load_dir(c, "deployments", ds->st.revision, &ds->d, 0) < 0 ||
	    load_dir(c, "deploymentstatus", ds->st.revision, &ds->s, 0) < 0 ||
	    load_dir(c, "events/deployments", ds->st.revision, &ds->ev, 1) < 0)
		return -1;
	return 0;
}

static void
list_free(struct ctl_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		ctl_kv_clear(&l->kv[i]);
	free(l->kv);
	memset(l, 0, sizeof(*l));
}

void
ctl_deploys_free(struct ctl_deploys *ds)
{
	ctl_state_free(&ds->st);
	list_free(&ds->d);
	list_free(&ds->s);
	list_free(&ds->ev);
}

int
ctl_is_uid(const json_t *v, int64_t rev)
{
	char buf[24];

	if (json_is_integer(v))
		return json_integer_value(v) == rev;
	snprintf(buf, sizeof(buf), "%lld", (long long)rev);
	return json_is_string(v) && strcmp(json_string_value(v), buf) == 0;
}

const struct ctl_kv *
ctl_deploy_status(const struct ctl_deploys *ds, const struct ctl_kv *d)
{
	size_t i;

	for (i = 0; i < ds->s.n; i++)
		if (strcmp(ds->s.kv[i].name, d->name) == 0 &&
		    ctl_is_uid(json_object_get(ds->s.kv[i].j, "uid"), d->create))
			return &ds->s.kv[i];
	return NULL;
}

/* rc's controller ownerReference names deployment d. */
static int
owned(const struct ctl_kv *rc, const struct ctl_kv *d)
{
	json_t *o;
	size_t i;

	json_array_foreach(ctl_jget(rc->j, "metadata.ownerReferences"), i, o) {
		const char *kind = ctl_jstr(o, "kind"), *name = ctl_jstr(o, "name");

		if (json_is_true(json_object_get(o, "controller")) && kind && strcmp(kind, "Deployment") == 0 && name &&
		    strcmp(name, d->name) == 0 && ctl_is_uid(json_object_get(o, "uid"), d->create))
			return 1;
	}
	return 0;
}

long long
ctl_rc_revision(const struct ctl_kv *rc)
{
	const char *v = json_string_value(json_object_get(ctl_jget(rc->j, "metadata.annotations"), CTL_REVISION_ANN));
	char *end;
	long long n;

	if (!v || !*v)
		return 0;
	n = strtoll(v, &end, 10);
	return *end || n < 0 ? 0 : n;
}

static int
by_revision(const void *a, const void *b)
{
	long long x = ctl_rc_revision(*(struct ctl_kv *const *)a), y = ctl_rc_revision(*(struct ctl_kv *const *)b);

	return x < y ? -1 : x > y;
}

struct ctl_kv **
ctl_deploy_rcs(const struct ctl_deploys *ds, const struct ctl_kv *d, size_t *n)
{
	const struct ctl_list *l = &ds->st.l[API_CONTROLLER];
	struct ctl_kv **v = calloc(l->n + 1, sizeof(*v));
	size_t i;

	*n = 0;
	if (!v)
		return NULL;
	for (i = 0; i < l->n; i++)
		if (owned(&l->kv[i], d))
			v[(*n)++] = &l->kv[i];
	qsort(v, *n, sizeof(*v), by_revision);
	if (*n == 0) {
		free(v);
		return NULL;
	}
	return v;
}

json_t *
ctl_template_unhashed(const json_t *rc_template)
{
	json_t *t = json_deep_copy(rc_template);

	json_object_del(ctl_jget(t, "metadata.labels"), CTL_HASH_LABEL);
	return t;
}

struct ctl_kv *
ctl_deploy_current(struct ctl_kv **rcs, size_t n, const struct ctl_kv *d)
{
	const json_t *want = ctl_jget(d->j, "spec.template");
	size_t i;

	for (i = n; want && i-- > 0;) {
		json_t *t = ctl_template_unhashed(ctl_jget(rcs[i]->j, "spec.template"));
		int same = t && json_equal(t, want);

		json_decref(t);
		if (same)
			return rcs[i];
	}
	return NULL;
}

/* The earliest firstTimestamp of the events about deployment name. */
static const char *
first_event(const struct ctl_deploys *ds, const char *name)
{
	const char *best = NULL;
	time_t bt = 0, t;
	size_t i;

	for (i = 0; i < ds->ev.n; i++) {
		const char *ft = ctl_jstr(ds->ev.kv[i].j, "firstTimestamp");

		if (strcmp(ds->ev.kv[i].name, name) != 0 || !ft || api_time_parse(ft, &t, NULL) < 0)
			continue;
		if (!best || t < bt) {
			best = ft;
			bt = t;
		}
	}
	return best;
}

/* CONTAINERS and IMAGES of a template's containers into a and b. */
static void
containers_text(const json_t *tmpl, char *a, char *b)
{
	size_t i, na = 0, nb = 0;
	json_t *ct;

	a[0] = b[0] = '\0';
	json_array_foreach(ctl_jget(tmpl, "spec.containers"), i, ct) {
		const char *name = ctl_jstr(ct, "name"), *image = ctl_jstr(ct, "image");

		if (na < CTL_CELL)
			na += (size_t)snprintf(a + na, CTL_CELL - na, "%s%s", i ? "," : "", name ? name : "?");
		if (nb < CTL_CELL)
			nb += (size_t)snprintf(b + nb, CTL_CELL - nb, "%s%s", i ? "," : "", image ? image : "?");
	}
}

size_t
ctl_deploy_row(const struct ctl_deploys *ds, const struct ctl_kv *d, int wide, ctl_row row)
{
	static const char *const head[] = {"NAME", "READY",      "UP-TO-DATE", "AVAILABLE",
	                                   "AGE",  "CONTAINERS", "IMAGES",     "SELECTOR"};
	const struct ctl_kv *s;
	const char *created;
	size_t i;

	if (!d) {
		for (i = 0; i < 8; i++)
			snprintf(row[i], CTL_CELL, "%s", head[i]);
		return wide ? 8 : 5;
	}
	s = ctl_deploy_status(ds, d);
	snprintf(row[0], CTL_CELL, "%s", d->name);
	snprintf(row[1], CTL_CELL, "%lld/%lld", s ? ctl_jint(s->j, "readyReplicas", 0) : 0,
	         ctl_jint(d->j, "spec.replicas", 1));
	snprintf(row[2], CTL_CELL, "%lld", s ? ctl_jint(s->j, "updatedReplicas", 0) : 0);
	snprintf(row[3], CTL_CELL, "%lld", s ? ctl_jint(s->j, "availableReplicas", 0) : 0);
	created = ctl_jstr(d->j, "metadata.creationTimestamp");
	ctl_age(created ? created : first_event(ds, d->name), row[4], CTL_CELL);
	if (!json_is_object(d->j))
		snprintf(row[1], CTL_CELL, "Invalid");
	containers_text(ctl_jget(d->j, "spec.template"), row[5], row[6]);
	ctl_labels_text(ctl_jget(d->j, "spec.selector.matchLabels"), row[7], CTL_CELL);
	return wide ? 8 : 5;
}

/* New JSON of d as -o json shows it: the stored object with kind,
 * apiVersion, metadata.name and the status (without its uid). */
static json_t *
object_json(const struct ctl_deploys *ds, const struct ctl_kv *d)
{
	json_t *o = json_is_object(d->j) ? json_deep_copy(d->j) : json_object(), *meta;
	const struct ctl_kv *s = ctl_deploy_status(ds, d);

	if (!o)
		return NULL;
	if (!json_is_object(d->j))
		json_object_set_new(o, "invalidValue", json_stringn(d->value, d->len));
	if (!json_is_object(meta = json_object_get(o, "metadata")))
		json_object_set_new(o, "metadata", meta = json_object());
	if (!json_object_get(meta, "name"))
		json_object_set_new(meta, "name", json_string(d->name));
	if (!json_object_get(o, "kind"))
		json_object_set_new(o, "kind", json_string("Deployment"));
	if (!json_object_get(o, "apiVersion"))
		json_object_set_new(o, "apiVersion", json_string("apps/v1"));
	if (s && json_is_object(s->j)) {
		json_t *st = json_deep_copy(s->j);

		json_object_del(st, "uid");
		json_object_set_new(o, "status", st);
	}
	return o;
}

static void
print_json(FILE *f, json_t *v)
{
	char *s = v ? json_dumps(v, JSON_INDENT(2)) : NULL;

	if (s)
		fprintf(f, "%s\n", s);
	free(s);
	json_decref(v);
}

int
ctl_deploy_get(struct ctl *c, const char *name, int json, int wide, ctl_match_fn match, const void *arg)
{
	struct ctl_table t = {0};
	struct ctl_deploys ds = {0};
	json_t *items = json_array();
	ctl_row *row = malloc(sizeof(*row));
	size_t i, n = 0;
	int rc = SKIFFCTL_EXIT_FAIL;

	if (!row || !items || ctl_connect(c) < 0 || ctl_deploys_load(c, &ds) < 0)
		goto done;
	t.ncols = ctl_deploy_row(&ds, NULL, wide, *row);
	ctl_table_add(&t, *row);
	for (i = 0; i < ds.d.n; i++) {
		const struct ctl_kv *d = &ds.d.kv[i];

		if ((name && strcmp(d->name, name) != 0) || (match && !match(arg, d)))
			continue;
		n++;
		if (json)
			json_array_append_new(items, object_json(&ds, d));
		ctl_deploy_row(&ds, d, wide, *row);
		ctl_table_add(&t, *row);
	}
	rc = SKIFFCTL_EXIT_OK;
	if (name && n == 0) {
		fprintf(c->err, "%s: deployment \"%s\" not found under %s\n", c->name, name, c->opts.prefix);
		rc = SKIFFCTL_EXIT_FAIL;
	} else if (json && name) {
		print_json(c->out, json_incref(json_array_get(items, 0)));
	} else if (json) {
		print_json(c->out, json_pack("{s:s, s:O}", "kind", "List", "items", items));
	} else if (n) {
		ctl_table_print(&t, c->out);
	} else {
		fprintf(c->err, "No resources found under %s.\n", c->opts.prefix);
	}
done:
	ctl_deploys_free(&ds);
	ctl_table_free(&t);
	json_decref(items);
	free(row);
	return rc;
}
