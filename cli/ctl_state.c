/*
 * ctl_state.c: a snapshot of the cluster for skiffctl's reading commands:
 * the key directories a command needs, read at one revision (so a pod, its
 * binding and its status agree), kept current by watch events for "get -w".
 * Also small JSON and table helpers. Cost: one range per directory; every
 * lookup is a linear scan, which is fine at a command line's scale.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "skiffctl.h"

void
ctl_kv_clear(struct ctl_kv *kv)
{
	free(kv->key);
	free(kv->value);
	free(kv->node);
	free(kv->name);
	free(kv->id);
	json_decref(kv->j);
	memset(kv, 0, sizeof(*kv));
}

/* Fill kv from an etcd kv whose key parsed as pk. 0 or -1 (memory). */
static int
kv_fill(struct ctl_kv *kv, const struct etcd_kv *e, const struct api_key *pk)
{
	memset(kv, 0, sizeof(*kv));
	kv->key = strdup(e->key);
	kv->value = malloc(e->value_len + 1);
	kv->node = strdup(pk->node);
	kv->name = strdup(pk->name);
	kv->id = strdup(pk->id);
	if (!kv->key || !kv->value || !kv->node || !kv->name || !kv->id) {
		ctl_kv_clear(kv);
		return -1;
	}
	memcpy(kv->value, e->value, e->value_len);
	kv->value[e->value_len] = '\0';
	kv->len = e->value_len;
	kv->create = e->create_revision;
	kv->mod = e->mod_revision;
	kv->object = pk->object;
	kv->j = json_loadb(e->value, e->value_len, 0, NULL);
	return 0;
}

/* The list a key of kind k is kept in: events written by nodes
 * (P/nodeevents/NODE/...) join the other events, with kv->node naming the
 * node that wrote them. */
static enum api_kind
list_kind(enum api_kind k)
{
	return k == API_NODEEVENT ? API_EVENT : k;
}

static struct ctl_kv *
list_add(struct ctl_list *l)
{
	struct ctl_kv *nk;

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;

		if (!(nk = realloc(l->kv, cap * sizeof(*nk))))
			return NULL;
		l->kv = nk;
		l->cap = cap;
	}
	return &l->kv[l->n++];
}

int
ctl_state_load(struct ctl *c, struct ctl_state *st, const int *want)
{
	struct etcd_range_opts o = {.prefix = 1};
	char dir[API_KEY_MAX];
	struct api_error e;
	struct api_key pk;
	int k;

	memset(st, 0, sizeof(*st));
	st->prefix = c->opts.prefix;
	for (k = 1; k < API_KIND_COUNT; k++) {
		struct etcd_result *r;
		size_t i;

		if (!want[k] && !(k == API_NODEEVENT && want[API_EVENT]) && !(k == API_NODESTATUS && want[API_NODE]))
			continue;
		if (api_key_dir(dir, sizeof(dir), st->prefix, (enum api_kind)k, NULL, &e) < 0)
			continue;
		o.revision = st->revision;
		r = etcd_sync_range(c->s, dir, &o);
		if (!r || r->err.code != ETCD_OK) {
			char what[API_KEY_MAX + 16];

			snprintf(what, sizeof(what), "reading %s", dir);
			ctl_etcd_fail(c, what, r);
			etcd_result_free(r);
			return -1;
		}
		if (!st->revision)
			st->revision = r->revision;
		st->loaded[k] = 1;
		for (i = 0; i < r->nkvs; i++) {
			struct ctl_kv *kv;

			if (api_key_parse(st->prefix, r->kvs[i].key, r->kvs[i].key_len, &pk, &e) < 0 ||
			    pk.kind != (enum api_kind)k)
				continue; /* not a key of the contract: not ours to show */
			if (!(kv = list_add(&st->l[list_kind(pk.kind)])) || kv_fill(kv, &r->kvs[i], &pk) < 0) {
				if (kv)
					st->l[list_kind(pk.kind)].n--;
				fprintf(c->err, "%s: out of memory\n", c->name);
				etcd_result_free(r);
				return -1;
			}
		}
		etcd_result_free(r);
	}
	return 0;
}

void
ctl_state_free(struct ctl_state *st)
{
	int k;
	size_t i;

	for (k = 0; k < API_KIND_COUNT; k++) {
		for (i = 0; i < st->l[k].n; i++)
			ctl_kv_clear(&st->l[k].kv[i]);
		free(st->l[k].kv);
	}
	memset(st, 0, sizeof(*st));
}

struct ctl_kv *
ctl_state_apply(struct ctl_state *st, const struct etcd_event *ev, struct ctl_kv *gone)
{
	struct api_error e;
	struct api_key pk;
	struct ctl_list *l;
	struct ctl_kv *kv, nkv;
	size_t i;

	if (api_key_parse(st->prefix, ev->kv.key, ev->kv.key_len, &pk, &e) < 0 || !st->loaded[pk.kind])
		return NULL;
	l = &st->l[list_kind(pk.kind)];
	for (i = 0; i < l->n && strcmp(l->kv[i].key, ev->kv.key) != 0; i++)
		;
	if (ev->type == ETCD_EVENT_DELETE) {
		if (i == l->n)
			return NULL;
		*gone = l->kv[i];
		memmove(&l->kv[i], &l->kv[i + 1], (l->n - i - 1) * sizeof(*l->kv));
		l->n--;
		return NULL;
	}
	if (kv_fill(&nkv, &ev->kv, &pk) < 0)
		return NULL;
	if (i < l->n) {
		ctl_kv_clear(&l->kv[i]);
		l->kv[i] = nkv;
		return &l->kv[i];
	}
	if (!(kv = list_add(l))) {
		ctl_kv_clear(&nkv);
		return NULL;
	}
	*kv = nkv;
	return kv;
}

struct ctl_kv *
ctl_state_find(const struct ctl_state *st, enum api_kind k, const char *node, const char *name)
{
	const struct ctl_list *l = &st->l[k];
	size_t i;

	for (i = 0; i < l->n; i++)
		if (strcmp(l->kv[i].name, name) == 0 && (!node || strcmp(l->kv[i].node, node) == 0))
			return &l->kv[i];
	return NULL;
}

struct ctl_kv *
ctl_pod_binding(const struct ctl_state *st, const struct ctl_kv *p)
{
	const struct ctl_list *l = &st->l[API_BINDING];
	char uid[24];
	size_t i;

	snprintf(uid, sizeof(uid), "%lld", (long long)p->create);
	for (i = 0; i < l->n; i++) {
		const char *u = ctl_jstr(l->kv[i].j, "pod.metadata.uid");

		if (strcmp(l->kv[i].name, p->name) == 0 && u && strcmp(u, uid) == 0)
			return &l->kv[i];
	}
	return NULL;
}

struct ctl_kv *
ctl_pod_status(const struct ctl_state *st, const struct ctl_kv *p, const char *node)
{
	struct ctl_kv *s = node ? ctl_state_find(st, API_PODSTATUS, node, p->name) : NULL;
	const char *u = s ? ctl_jstr(s->j, "uid") : NULL;
	char uid[24];

	snprintf(uid, sizeof(uid), "%lld", (long long)p->create);
	return u && strcmp(u, uid) == 0 ? s : NULL;
}

json_t *
ctl_jget(const json_t *j, const char *path)
{
	char part[128];
	const char *dot;

	while (j && *path) {
		size_t n;

		dot = strchr(path, '.');
		n = dot ? (size_t)(dot - path) : strlen(path);
		if (n >= sizeof(part) || !json_is_object(j))
			return NULL;
		memcpy(part, path, n);
		part[n] = '\0';
		j = json_object_get(j, part);
		path += n + (dot ? 1 : 0);
	}
	return (json_t *)j;
}

const char *
ctl_jstr(const json_t *j, const char *path)
{
	return json_string_value(ctl_jget(j, path));
}

long long
ctl_jint(const json_t *j, const char *path, long long def)
{
	json_t *v = ctl_jget(j, path);

	return json_is_integer(v) ? (long long)json_integer_value(v) : def;
}

void
ctl_labels_text(const json_t *labels, char *buf, size_t len)
{
	const char *k;
	json_t *v;
	size_t n = 0;

	buf[0] = '\0';
	json_object_foreach((json_t *)labels, k, v) {
		if (n < len)
			n += (size_t)snprintf(buf + n, len - n, "%s%s=%s", n ? "," : "", k,
			                      json_is_string(v) ? json_string_value(v) : "");
	}
	if (!buf[0])
		snprintf(buf, len, "<none>");
}

void
ctl_age(const char *t, char *buf, size_t len)
{
	time_t when, now = time(NULL);
	long long d;

	if (!t || api_time_parse(t, &when, NULL) < 0) {
		snprintf(buf, len, "-");
		return;
	}
	d = (long long)(now - when);
	if (d < 0)
		d = 0;
	if (d < 120)
		snprintf(buf, len, "%llds", d);
	else if (d < 3600 * 3)
		snprintf(buf, len, "%lldm", d / 60);
	else if (d < 86400 * 2)
		snprintf(buf, len, "%lldh", d / 3600);
	else
		snprintf(buf, len, "%lldd", d / 86400);
}

int
ctl_table_add(struct ctl_table *t, ctl_row row)
{
	size_t i;

	if (t->nrows == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16;
		char **nc = realloc(t->cells, cap * t->ncols * sizeof(char *));

		if (!nc)
			return -1;
		t->cells = nc;
		t->cap = cap;
	}
	for (i = 0; i < t->ncols; i++) {
		size_t w = ctl_escape(row[i], NULL, 0);
		char *cell = malloc(w + 1);

		if (cell)
			ctl_escape(row[i], cell, w + 1);
		if (!(t->cells[t->nrows * t->ncols + i] = cell)) {
			while (i-- > 0)
				free(t->cells[t->nrows * t->ncols + i]);
			return -1;
		}
		if (w > t->width[i])
			t->width[i] = w;
	}
	t->nrows++;
	return 0;
}

static void
print_cells(const struct ctl_table *t, char *const *cells, FILE *f)
{
	size_t i;

	for (i = 0; i < t->ncols; i++) {
		if (i + 1 == t->ncols)
			fprintf(f, "%s\n", cells[i]);
		else
			fprintf(f, "%-*s   ", (int)t->width[i], cells[i]);
	}
}

void
ctl_table_print(struct ctl_table *t, FILE *f)
{
	size_t r;

	for (r = 0; r < t->nrows; r++)
		print_cells(t, t->cells + r * t->ncols, f);
}

void
ctl_table_print_row(const struct ctl_table *t, ctl_row row, FILE *f)
{
	struct ctl_table one = *t;
	size_t i;

	one.nrows = one.cap = 0;
	one.cells = NULL;
	if (ctl_table_add(&one, row) == 0)
		print_cells(t, one.cells, f);
	for (i = 0; i < one.nrows * one.ncols; i++)
		free(one.cells[i]);
	free(one.cells);
}

void
ctl_table_free(struct ctl_table *t)
{
	size_t i;

	for (i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	memset(t, 0, sizeof(*t));
}
