/*
 * check_runtime.c: the controller runtime against a real etcd: the
 * informer (a thousand keys, handlers, re-list after compaction delivering
 * only differences, surviving an etcd restart, a cache without raw values), leader election (two
 * contenders, a dead leader replaced within the TTL, never two at once, a
 * dead leader's key whose lease someone keeps alive taken over after
 * TTL + 1 s, an honest leader never displaced)
 * the event recorder (repeats merged into count) and the controller
 * harness (synced gating, a paused queue while following, everything
 * enqueued on leading and at each resync, a stop that waits for work in
 * flight).
 */
#include <check.h>
#include <ev.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller.h"
#include "etcd_harness.h"
#include "etcd_testutil.h"
#include "events.h"
#include "informer.h"
#include "leader.h"

static struct th_etcd *E;
static struct ev_loop *L;

static void
setup(void)
{
	E = th_etcd_start(1, NULL);
	ck_assert_ptr_nonnull(E);
	L = ev_loop_new(EVFLAG_AUTO);
}

static void
teardown(void)
{
	ev_loop_destroy(L);
	th_etcd_free(E);
}

static struct etcd_client *
client(void)
{
	struct etcd_config cfg;
	struct etcd_error err = {0};
	struct etcd_client *c;

	tu_config(E, &cfg);
	c = etcd_client_new(L, &cfg, &err);
	ck_assert_msg(c != NULL, "client: %s", err.msg);
	return c;
}

static struct etcd_sync *
sync_client(void)
{
	struct etcd_config cfg;
	struct etcd_error err = {0};
	struct etcd_sync *s;

	tu_config(E, &cfg);
	s = etcd_sync_new(&cfg, &err);
	ck_assert_msg(s != NULL, "sync client: %s", err.msg);
	return s;
}

/* ---- informer ---- */

struct counts {
	int adds, updates, dels, synced;
	int64_t last_update_create;
};

static void
on_add(struct informer *inf, const struct informer_obj *o, void *arg)
{
	(void)inf;
	(void)o;
	((struct counts *)arg)->adds++;
}

static void
on_update(struct informer *inf, const struct informer_obj *old, const struct informer_obj *o, void *arg)
{
	(void)inf;
	ck_assert_int_eq(old->create_revision, o->create_revision);
	ck_assert_int_lt(old->mod_revision, o->mod_revision);
	((struct counts *)arg)->updates++;
}

static void
on_del(struct informer *inf, const struct informer_obj *old, void *arg)
{
	(void)inf;
	(void)old;
	((struct counts *)arg)->dels++;
}

static void
on_synced(struct informer *inf, void *arg)
{
	(void)inf;
	((struct counts *)arg)->synced++;
}

static const struct informer_handlers H = {on_add, on_update, on_del, on_synced, NULL};

struct inf_wait {
	struct informer *inf;
	int64_t rev;
	size_t count;
};

static int
inf_at(void *arg)
{
	struct inf_wait *w = arg;

	return informer_synced(w->inf) && informer_revision(w->inf) >= w->rev && informer_count(w->inf) == w->count;
}

/* Put n keys PREFIXkNNNN in batches of 100 per txn; returns the revision. */
static int64_t
put_many(struct etcd_sync *s, const char *prefix, int from, int n)
{
	int64_t rev = 0;

	for (int i = from; i < from + n; i += 100) {
		struct etcd_txn *t = etcd_txn_new();
		struct etcd_result *r;

		for (int j = i; j < i + 100 && j < from + n; j++) {
			char k[128], v[32];

			snprintf(k, sizeof(k), "%sk%04d", prefix, j);
			snprintf(v, sizeof(v), "v%d", j);
			etcd_txn_put(t, ETCD_TXN_SUCCESS, k, v, strlen(v), 0);
		}
		r = etcd_sync_txn(s, t);
		TU_OK(r);
		rev = r->revision;
		etcd_result_free(r);
	}
	return rev;
}

START_TEST(test_informer_thousand_keys)
{
	struct etcd_sync *s = sync_client();
	struct etcd_client *c = client();
	struct counts n = {0};
	struct informer *inf;
	struct inf_wait w;
	int64_t rev = put_many(s, "/inf/a/", 0, 1000);

	inf = informer_new(c, "/inf/a/", NULL, NULL, &H, &n);
	informer_start(inf);
	w = (struct inf_wait){inf, rev, 1000};
	ck_assert_int_eq(th_wait(L, inf_at, &w, 10), 0);
	ck_assert_int_eq(n.adds, 1000);
	ck_assert_int_eq(n.synced, 1);
	ck_assert_ptr_nonnull(informer_get(inf, "k0999"));
	ck_assert_str_eq(informer_get(inf, "k0042")->value, "v42");
	ck_assert_ptr_null(informer_get(inf, "k1000"));

	/* Watch: 500 more, 10 updated, 20 deleted. */
	put_many(s, "/inf/a/", 1000, 500);
	rev = put_many(s, "/inf/a/", 0, 10);
	for (int i = 100; i < 120; i++) {
		char k[64];
		struct etcd_result *r;

		snprintf(k, sizeof(k), "/inf/a/k%04d", i);
		r = etcd_sync_delete(s, k, NULL);
		TU_OK(r);
		rev = r->revision;
		etcd_result_free(r);
	}
	w = (struct inf_wait){inf, rev, 1480};
	ck_assert_int_eq(th_wait(L, inf_at, &w, 10), 0);
	ck_assert_int_eq(n.adds, 1500);
	ck_assert_int_eq(n.updates, 10);
	ck_assert_int_eq(n.dels, 20);
	informer_free(inf);
	etcd_client_free(c);
	etcd_sync_free(s);
}
END_TEST

/* informer_drop_values: the decoder and the add/update handlers read the
 * new value; the cache keeps only the decoded object. */
static void *
dec_len(const char *name, const char *value, size_t len, void *arg)
{
	size_t *n = malloc(sizeof(*n));

	(void)name;
	(void)arg;
	ck_assert_uint_eq(strlen(value), len);
	if (n)
		*n = len;
	return n;
}

static void
on_add_value(struct informer *inf, const struct informer_obj *o, void *arg)
{
	(void)inf;
	ck_assert_ptr_nonnull(o->value);
	ck_assert_int_eq(o->value[0], 'v');
	((struct counts *)arg)->adds++;
}

static void
on_update_value(struct informer *inf, const struct informer_obj *old, const struct informer_obj *o, void *arg)
{
	(void)inf;
	ck_assert_ptr_null(old->value);
	ck_assert_ptr_nonnull(o->value);
	((struct counts *)arg)->updates++;
}

START_TEST(test_informer_drop_values)
{
	static const struct informer_handlers hv = {on_add_value, on_update_value, on_del, on_synced, NULL};
	struct etcd_sync *s = sync_client();
	struct etcd_client *c = client();
	struct counts n = {0};
	const struct informer_obj *o;
	struct informer *inf;
	struct inf_wait w;
	int64_t rev = put_many(s, "/inf/d/", 0, 150);

	inf = informer_new(c, "/inf/d/", dec_len, free, &hv, &n);
	informer_drop_values(inf);
	informer_start(inf);
	w = (struct inf_wait){inf, rev, 150};
	ck_assert_int_eq(th_wait(L, inf_at, &w, 10), 0);
	ck_assert_int_eq(n.adds, 150);
	ck_assert_ptr_nonnull(o = informer_get(inf, "k0042"));
	ck_assert_ptr_null(o->value);
	ck_assert_uint_eq(o->value_len, 0);
	ck_assert_uint_eq(*(size_t *)o->obj, 3); /* "v42" */
	rev = put_many(s, "/inf/d/", 0, 20);     /* updates through the watch */
	w = (struct inf_wait){inf, rev, 150};
	ck_assert_int_eq(th_wait(L, inf_at, &w, 10), 0);
	ck_assert_int_eq(n.updates, 20);
	ck_assert_ptr_null(informer_get(inf, "k0001")->value);
	informer_free(inf);
	etcd_client_free(c);
	etcd_sync_free(s);
}
END_TEST

/* Values over the informer's limit are neither decoded nor kept (obj NULL,
 * value ""), the error handler hears ETCD_ETOOLARGE, and a value back under
 * the limit decodes again; an events directory gets the smaller limit. */
static int too_large;

static void
on_error_size(struct informer *inf, const struct etcd_error *err, void *arg)
{
	(void)inf;
	(void)arg;
	if (err->code == ETCD_ETOOLARGE && strstr(err->msg, "over the limit of 100"))
		too_large++;
}

START_TEST(test_informer_value_limit)
{
	static const struct informer_handlers hs = {on_add, on_update, on_del, on_synced, on_error_size};
	struct etcd_sync *s = sync_client();
	struct etcd_client *c = client();
	struct counts n = {0};
	const struct informer_obj *o;
	struct informer *inf, *ev;
	struct informer_stats st;
	struct inf_wait w;
	struct etcd_result *r;
	char big[200], *v;
	int64_t rev;

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	rev = tu_put(s, "/inf/s/big", big);
	ck_assert_int_gt(rev, 0);
	inf = informer_new(c, "/inf/s/", dec_len, free, &hs, &n);
	informer_max_value(inf, 100);
	informer_start(inf);
	w = (struct inf_wait){inf, rev, 1};
	ck_assert_int_eq(th_wait(L, inf_at, &w, 10), 0);
	ck_assert_ptr_nonnull(o = informer_get(inf, "big"));
	ck_assert_ptr_null(o->obj);
	ck_assert_str_eq(o->value, "");
	ck_assert_uint_eq(o->value_len, 0);
	ck_assert_int_eq(too_large, 1);
	rev = tu_put(s, "/inf/s/big", "small"); /* through the watch */
	w = (struct inf_wait){inf, rev, 1};
	ck_assert_int_eq(th_wait(L, inf_at, &w, 10), 0);
	ck_assert_uint_eq(*(size_t *)informer_get(inf, "big")->obj, 5);
	informer_stats(inf, &st);
	ck_assert_uint_eq(st.oversize, 1);
	ck_assert_uint_eq(st.decode_errors, 1);
	informer_free(inf);
	/* The default for events and statuses is smaller. */
	ck_assert_ptr_nonnull(v = malloc(INFORMER_MAX_STATUS + 1));
	memset(v, 'v', INFORMER_MAX_STATUS + 1);
	r = etcd_sync_put(s, "/inf/t/events/e", v, INFORMER_MAX_STATUS + 1, 0);
	TU_OK(r);
	etcd_result_free(r);
	r = etcd_sync_put(s, "/inf/t/pods/p", v, INFORMER_MAX_STATUS + 1, 0);
	TU_OK(r);
	rev = r->revision;
	etcd_result_free(r);
	free(v);
	ev = informer_new(c, "/inf/t/events/", NULL, NULL, &hs, &n);
	inf = informer_new(c, "/inf/t/pods/", NULL, NULL, &hs, &n);
	informer_start(ev);
	informer_start(inf);
	w = (struct inf_wait){ev, rev, 1};
	ck_assert_int_eq(th_wait(L, inf_at, &w, 10), 0);
	w = (struct inf_wait){inf, rev, 1};
	ck_assert_int_eq(th_wait(L, inf_at, &w, 10), 0);
	ck_assert_uint_eq(informer_get(ev, "e")->value_len, 0);
	ck_assert_uint_eq(informer_get(inf, "p")->value_len, INFORMER_MAX_STATUS + 1);
	informer_free(ev);
	informer_free(inf);
	etcd_client_free(c);
	etcd_sync_free(s);
}
END_TEST

/* A re-list after compaction must deliver only what changed meanwhile,
 * including deletes the watch never saw: here over three pages (the
 * informer lists 500 keys a page, each applied as it comes), with a key
 * deleted from the first page and one from the last. */
START_TEST(test_informer_relist_after_compaction)
{
	struct etcd_sync *s = sync_client();
	struct etcd_client *c = client();
	struct counts n = {0};
	struct informer *inf = informer_new(c, "/inf/b/", NULL, NULL, &H, &n);
	struct inf_wait w;
	struct etcd_result *r;
	int64_t rev = put_many(s, "/inf/b/", 0, 1200);

	informer_start(inf);
	w = (struct inf_wait){inf, rev, 1200};
	ck_assert_int_eq(th_wait(L, inf_at, &w, 10), 0);
	ck_assert_int_eq(n.adds, 1200);
	/* Stop the etcd so the watch is down, then change things and compact
	 * past them, so that the watch cannot resume. */
	ck_assert_int_eq(th_etcd_stop(E, 0), 0);
	th_wait(L, NULL, NULL, 0.3);
	ck_assert_int_eq(th_etcd_restart(E, 0), 0);
	/* Keep the informer's loop from running until compaction is done. */
	rev = put_many(s, "/inf/b/", 0, 5);            /* 5 updates */
	r = etcd_sync_delete(s, "/inf/b/k0049", NULL); /* 2 deletes */
	etcd_result_free(r);
	r = etcd_sync_delete(s, "/inf/b/k1199", NULL);
	etcd_result_free(r);
	rev = put_many(s, "/inf/b/", 1200, 3); /* 3 adds */
	r = etcd_sync_compact(s, rev, 1);
	TU_OK(r);
	etcd_result_free(r);
	w = (struct inf_wait){inf, rev, 1201};
	ck_assert_int_eq(th_wait(L, inf_at, &w, 15), 0);
	ck_assert_int_eq(n.adds, 1203);
	ck_assert_int_eq(n.updates, 5);
	ck_assert_int_eq(n.dels, 2);
	ck_assert_int_eq(n.synced, 1);
	ck_assert_ptr_null(informer_get(inf, "k0049"));
	ck_assert_ptr_nonnull(informer_get(inf, "k1202"));
	informer_free(inf);
	etcd_client_free(c);
	etcd_sync_free(s);
}
END_TEST

/* ---- leader election ---- */

struct cand {
	struct leader *l;
	int leading;
	int *now_leading; /* shared count of current leaders */
	int *max_leading;
	int starts;
	int stales; /* predecessors' keys deleted as unchanged */
};

static void
cand_started(struct leader *l, void *arg)
{
	struct cand *c = arg;

	(void)l;
	c->leading = 1;
	c->starts++;
	if (++*c->now_leading > *c->max_leading)
		*c->max_leading = *c->now_leading;
}

static void
cand_stopped(struct leader *l, void *arg)
{
	struct cand *c = arg;

	(void)l;
	c->leading = 0;
	--*c->now_leading;
}

static void
cand_stale(struct leader *l, const char *key, double age, void *arg)
{
	(void)l;
	(void)key;
	(void)age;
	((struct cand *)arg)->stales++;
}

static void
ghost_lease(struct etcd_keeper *k, enum etcd_lease_state st, const struct etcd_error *err, void *arg)
{
	(void)k;
	(void)err;
	*(int *)arg = st; /* the test's own keep-alive: it must stay alive */
}

static const struct leader_callbacks LC = {cand_started, cand_stopped, NULL, cand_stale};

static int
someone_leads(void *arg)
{
	struct cand *c = arg;

	return c[0].leading || c[1].leading;
}

static int
second_leads(void *arg)
{
	return ((struct cand *)arg)->leading;
}

START_TEST(test_leader_two_contenders)
{
	struct etcd_client *ca = client(), *cb = client();
	int now = 0, max = 0;
	struct cand c[2] = {{.now_leading = &now, .max_leading = &max}, {.now_leading = &now, .max_leading = &max}};
	struct cand *winner, *loser;
	double t0, took;

	c[0].l = leader_new(ca, "/lead/sched", "a", 3, &LC, &c[0]);
	c[1].l = leader_new(cb, "/lead/sched", "b", 3, &LC, &c[1]);
	leader_start(c[0].l);
	leader_start(c[1].l);
	ck_assert_int_eq(th_wait(L, someone_leads, c, 10), 0);
	/* Both campaign for a while; only one may lead. */
	th_wait(L, NULL, NULL, 1.0);
	ck_assert_int_eq(max, 1);
	winner = c[0].leading ? &c[0] : &c[1];
	loser = winner == &c[0] ? &c[1] : &c[0];
	ck_assert_int_eq(loser->leading, 0);

	/* The leader dies without resigning (its lease is not revoked, its
	 * keep-alives stop): the other leads within the TTL (+1 s slack). */
	winner->leading = 0;
	now--;
	leader_free(winner->l);
	winner->l = NULL;
	etcd_client_free(winner == &c[0] ? ca : cb);
	t0 = ev_time();
	ck_assert_int_eq(th_wait(L, second_leads, loser, 10), 0);
	took = ev_time() - t0;
	ck_assert_msg(took < 4.0, "takeover took %.2fs with a TTL of 3s", took);
	ck_assert_int_eq(max, 1);
	leader_free(loser->l);
	etcd_client_free(loser == &c[0] ? ca : cb);
}
END_TEST

static void
pair_free(struct cand *c, struct etcd_client *ca, struct etcd_client *cb)
{
	leader_free(c[0].l);
	leader_free(c[1].l);
	etcd_client_free(ca);
	etcd_client_free(cb);
}

static void
resigned(void *arg)
{
	(*(int *)arg)++;
}

static int
flag_set(void *arg)
{
	return *(int *)arg;
}

START_TEST(test_leader_resign_hands_over)
{
	struct etcd_client *ca = client(), *cb = client();
	int now = 0, max = 0, done = 0;
	struct cand c[2] = {{.now_leading = &now, .max_leading = &max}, {.now_leading = &now, .max_leading = &max}};
	double t0;

	c[0].l = leader_new(ca, "/lead/rc", "a", 10, &LC, &c[0]);
	leader_start(c[0].l);
	ck_assert_int_eq(th_wait(L, second_leads, &c[0], 10), 0);
	c[1].l = leader_new(cb, "/lead/rc", "b", 10, &LC, &c[1]);
	leader_start(c[1].l);
	th_wait(L, NULL, NULL, 0.5);
	ck_assert_int_eq(c[1].leading, 0);
	t0 = ev_time();
	leader_resign(c[0].l, resigned, &done);
	ck_assert_int_eq(c[0].leading, 0); /* stops acting at once */
	ck_assert_int_eq(th_wait(L, second_leads, &c[1], 5), 0);
	ck_assert_msg(ev_time() - t0 < 2.0, "handover after resign took %.2fs", ev_time() - t0);
	ck_assert_int_eq(th_wait(L, flag_set, &done, 5), 0);
	ck_assert_int_eq(max, 1);
	pair_free(c, ca, cb);
}
END_TEST

/* A "leader" key on a lease that someone (here the test) keeps alive but
 * that nobody rewrites: a dead leader whose lease a node keeps alive. The
 * standby takes over once it has not seen the key change for TTL + 1 s,
 * not before, and deletes only that key. */
START_TEST(test_leader_kept_alive_key_taken_over)
{
	struct etcd_client *ca = client(), *cb = client();
	struct etcd_sync *s = sync_client();
	struct etcd_put_opts po = {0};
	struct etcd_keeper *k;
	struct etcd_result *r;
	int now = 0, max = 0, ghost_state = ETCD_LEASE_ALIVE;
	struct cand c = {.now_leading = &now, .max_leading = &max};
	char ghost[128];
	double t0, took;

	r = etcd_sync_lease_grant(s, 3, 0);
	TU_OK(r);
	po.lease = r->lease_id;
	etcd_result_free(r);
	k = etcd_keeper_start(ca, po.lease, 3, ghost_lease, &ghost_state);
	ck_assert_ptr_nonnull(k);
	snprintf(ghost, sizeof(ghost), "/lead/ghost/%" PRIx64, (uint64_t)po.lease);
	r = etcd_sync_put(s, ghost, "dead-leader", 11, &po);
	TU_OK(r);
	etcd_result_free(r);

	c.l = leader_new(cb, "/lead/ghost", "b", 3, &LC, &c);
	t0 = ev_time();
	leader_start(c.l);
	ck_assert_int_eq(th_wait(L, second_leads, &c, 15), 0);
	took = ev_time() - t0;
	ck_assert_msg(took >= 3.0 && took < 6.0, "took over after %.2fs with a TTL of 3s", took);
	ck_assert_int_eq(c.stales, 1);
	ck_assert_int_eq(ghost_state, ETCD_LEASE_ALIVE);
	r = etcd_sync_get(s, ghost);
	TU_OK(r);
	ck_assert_int_eq(r->nkvs, 0);
	etcd_result_free(r);
	r = etcd_sync_get(s, leader_key(c.l));
	TU_OK(r);
	ck_assert_int_eq(r->nkvs, 1);
	etcd_result_free(r);
	etcd_keeper_stop(k);
	leader_free(c.l);
	etcd_sync_free(s);
	etcd_client_free(ca);
	etcd_client_free(cb);
}
END_TEST

/* Honest candidates rewrite their keys: over three TTLs the leader keeps
 * leading, the standby never starts, nobody's key is taken as stale. */
START_TEST(test_leader_honest_no_flapping)
{
	struct etcd_client *ca = client(), *cb = client();
	int now = 0, max = 0;
	struct cand c[2] = {{.now_leading = &now, .max_leading = &max}, {.now_leading = &now, .max_leading = &max}};

	c[0].l = leader_new(ca, "/lead/honest", "a", 2, &LC, &c[0]);
	leader_start(c[0].l);
	ck_assert_int_eq(th_wait(L, second_leads, &c[0], 10), 0);
	c[1].l = leader_new(cb, "/lead/honest", "b", 2, &LC, &c[1]);
	leader_start(c[1].l);
	th_wait(L, NULL, NULL, 3 * 2 + 0.5); /* watch for three TTLs: nothing may change */
	ck_assert_int_eq(c[0].leading, 1);
	ck_assert_int_eq(c[0].starts, 1);
	ck_assert_int_eq(c[1].starts, 0);
	ck_assert_int_eq(c[0].stales + c[1].stales, 0);
	ck_assert_int_eq(max, 1);
	pair_free(c, ca, cb);
}
END_TEST

/* ---- events ---- */

static int
recorder_idle(void *arg)
{
	return recorder_pending(arg) == 0;
}

START_TEST(test_events_merge_repeats)
{
	struct etcd_client *c = client();
	struct etcd_sync *s = sync_client();
	struct recorder *rec = recorder_new(c, "/ev", "scheduler");
	struct etcd_range_opts o = {.prefix = 1};
	struct etcd_result *r;
	char key[512];
	json_t *j;

	recorder_set_interval(rec, 0.2);
	for (int i = 0; i < 5; i++)
		recorder_eventf(rec, "pods", "web-1", "Warning", "FailedScheduling", "0/%d nodes are available", 3);
	ck_assert_int_eq(th_wait(L, recorder_idle, rec, 10), 0);
	recorder_eventf(rec, "pods", "web-1", "Warning", "FailedScheduling", "0/%d nodes are available", 3);
	recorder_eventf(rec, "pods", "Bad/Name", "Warning", "Invalid", "metadata.name: not a DNS-1123 label");
	ck_assert_int_eq(th_wait(L, recorder_idle, rec, 10), 0);

	r = etcd_sync_range(s, "/ev/events/", &o);
	TU_OK(r);
	ck_assert_uint_eq(r->nkvs, 2);
	recorder_event_key(rec, "pods", "web-1", "FailedScheduling", "0/3 nodes are available", key, sizeof(key));
	ck_assert(strncmp(key, "/ev/events/pods/web-1/", 22) == 0);
	for (size_t i = 0; i < r->nkvs; i++) {
		j = json_loads(r->kvs[i].value, 0, NULL);
		ck_assert_ptr_nonnull(j);
		if (strcmp(r->kvs[i].key, key) == 0) {
			ck_assert_int_eq(json_integer_value(json_object_get(j, "count")), 6);
			ck_assert_str_eq(json_string_value(json_object_get(j, "reason")), "FailedScheduling");
			ck_assert_str_eq(json_string_value(json_object_get(j, "source")), "scheduler");
		} else {
			ck_assert_msg(strstr(r->kvs[i].key, "/ev/events/pods/invalid-") == r->kvs[i].key, "key %s",
			              r->kvs[i].key);
		}
		ck_assert_int_ne(r->kvs[i].lease, 0);
		json_decref(j);
	}
	etcd_result_free(r);
	recorder_free(rec);
	etcd_client_free(c);
	etcd_sync_free(s);
}
END_TEST

/* The key's kv (version: how many writes it took), or NULL. */
static struct etcd_result *
event_kv(struct etcd_sync *s, struct recorder *rec, const char *reason, const char *msg)
{
	char key[512];

	recorder_event_key(rec, "pods", "web-1", reason, msg, key, sizeof(key));
	return etcd_sync_range(s, key, NULL);
}

static int64_t
event_count(const struct etcd_result *r)
{
	json_t *j = r->nkvs == 1 ? json_loadb(r->kvs[0].value, r->kvs[0].value_len, 0, NULL) : NULL;
	int64_t n = json_integer_value(json_object_get(j, "count"));

	json_decref(j);
	return n;
}

/* A storm of one event costs one write now and one per interval after. */
START_TEST(test_events_rate_limited)
{
	struct etcd_client *c = client();
	struct etcd_sync *s = sync_client();
	struct recorder *rec = recorder_new(c, "/rl", "agent");
	struct etcd_result *r;

	recorder_set_interval(rec, 0.5);
	recorder_eventf(rec, "pods", "web-1", "Warning", "BackOff", "Back-off restarting failed container");
	ck_assert_int_eq(th_wait(L, recorder_idle, rec, 10), 0);
	for (int i = 0; i < 39; i++)
		recorder_eventf(rec, "pods", "web-1", "Warning", "BackOff", "Back-off restarting failed container");
	ck_assert_int_eq(th_wait(L, recorder_idle, rec, 10), 0);
	r = event_kv(s, rec, "BackOff", "Back-off restarting failed container");
	TU_OK(r);
	ck_assert_uint_eq(r->nkvs, 1);
	ck_assert_int_eq(event_count(r), 40);
	ck_assert_int_eq(r->kvs[0].version, 2); /* the first at once, the next 39 merged into one */
	etcd_result_free(r);

	/* A long interval holds repeats back until recorder_flush. */
	recorder_set_interval(rec, 3600);
	recorder_eventf(rec, "pods", "web-1", "Warning", "BackOff", "Back-off restarting failed container");
	ck_assert_int_ne(th_wait(L, recorder_idle, rec, 0.5), 0);
	recorder_flush(rec);
	ck_assert_int_eq(th_wait(L, recorder_idle, rec, 10), 0);
	r = event_kv(s, rec, "BackOff", "Back-off restarting failed container");
	TU_OK(r);
	ck_assert_int_eq(event_count(r), 41);
	ck_assert_int_eq(r->kvs[0].version, 3);
	etcd_result_free(r);
	recorder_free(rec);
	etcd_client_free(c);
	etcd_sync_free(s);
}
END_TEST

/* ---- controller ---- */

struct ctl_run {
	struct controller *c;
	int reconciled, all_calls;
	int hold; /* keep names in flight (wq_done later) */
	char held[64];
	int stop_done;
	int want;    /* for ctl_idle: reconciles to wait for */
	int64_t rev; /* for ctl_seen: the revision the informer must reach */
};

static void
ctl_reconcile(struct wq *q, const char *name, void *arg)
{
	struct ctl_run *r = arg;

	ck_assert_msg(controller_synced(r->c) && controller_leading(r->c),
	              "reconciled %s before every cache had listed, or while following", name);
	r->reconciled++;
	if (r->hold) {
		snprintf(r->held, sizeof(r->held), "%s", name);
		return;
	}
	wq_done(q, name, WQ_OK, 0);
}

static void
ctl_add(struct informer *inf, const struct informer_obj *o, void *arg)
{
	(void)inf;
	controller_add(((struct ctl_run *)arg)->c, o->name);
}

static void
ctl_foreach_add(const struct informer_obj *o, void *arg)
{
	controller_add(arg, o->name);
}

static void
ctl_all(struct controller *c, void *arg)
{
	struct ctl_run *r = arg;

	r->all_calls++;
	informer_foreach(controller_informer(c, 0), ctl_foreach_add, c);
}

static int
ctl_reconciled(void *arg)
{
	struct ctl_run *r = arg;

	return r->reconciled >= r->want;
}

/* want reconciles done and nothing left queued or in flight. */
static int
ctl_idle(void *arg)
{
	struct ctl_run *r = arg;
	struct wq *q = controller_queue(r->c);

	return wq_len(q) == 0 && wq_inflight(q) == 0 && ctl_reconciled(r);
}

static void
ctl_stopped(void *arg)
{
	((struct ctl_run *)arg)->stop_done++;
}

static int
ctl_seen(void *arg)
{
	struct ctl_run *r = arg;

	return controller_synced(r->c) && informer_revision(controller_informer(r->c, 0)) >= r->rev;
}

static struct controller *
ctl_new(struct etcd_client *ec, struct ctl_run *r, double resync)
{
	static const struct controller_watch w[] = {
		{"a", NULL, NULL, {ctl_add, NULL, ctl_add, NULL, NULL}, 0, NULL},
		{"b", NULL, NULL, {NULL, NULL, NULL, NULL, NULL}, 1, NULL},
		{0},
	};
	struct controller_config cfg = {
		.prefix = "/ctl",
		.watches = w,
		.reconcile = ctl_reconcile,
		.workers = 2,
		.resync = resync,
		.enqueue_all = ctl_all,
		.arg = r,
	};

	r->c = controller_new(L, ec, &cfg);
	ck_assert_ptr_nonnull(r->c);
	return r->c;
}
/* Nothing is reconciled before every cache has listed (ctl_reconcile
 * asserts it), nor while following; leading enqueues everything. */
START_TEST(test_controller_gating_and_leadership)
{
	struct etcd_sync *s = sync_client();
	struct etcd_client *ec = client();
	struct ctl_run r = {0};
	struct tu_call call = {0};
	struct controller *c;

	put_many(s, "/ctl/b/", 0, 1000); /* a slower second cache */
	put_many(s, "/ctl/a/", 0, 3);
	c = ctl_new(ec, &r, 0);
	controller_lead(c); /* leading, not synced: the queue stays paused */
	controller_start(c);
	r.want = 3;
	ck_assert_int_eq(th_wait(L, ctl_idle, &r, 10), 0);
	ck_assert_int_eq(r.reconciled, 3);
	ck_assert_int_eq(r.all_calls, 1);

	controller_follow(c); /* changes are collected, not reconciled */
	tu_put(s, "/ctl/a/k0100", "x");
	r.rev = tu_put(s, "/ctl/a/k0101", "x");
	ck_assert_int_eq(th_wait(L, ctl_seen, &r, 10), 0);
	ck_assert_int_eq(etcd_get(ec, "/ctl/a/k0100", tu_call_cb, &call, NULL), 0);
	ck_assert_int_eq(th_wait(L, tu_call_done, &call, 10), 0); /* the loop has turned meanwhile */
	tu_call_reset(&call);
	ck_assert_int_eq(r.reconciled, 3);
	ck_assert_uint_eq(wq_len(controller_queue(c)), 2);
	ck_assert(!controller_ready(c));

	controller_lead(c); /* everything once: queued names do not run twice */
	r.want = 8;
	ck_assert_int_eq(th_wait(L, ctl_idle, &r, 10), 0);
	ck_assert_int_eq(r.reconciled, 8);
	ck_assert_int_eq(r.all_calls, 2);
	controller_free(c);
	etcd_client_free(ec);
	etcd_sync_free(s);
}
END_TEST

/* Each resync enqueues everything again while ready. */
START_TEST(test_controller_resync)
{
	struct etcd_sync *s = sync_client();
	struct etcd_client *ec = client();
	struct ctl_run r = {0};
	struct controller *c;

	put_many(s, "/ctl/a/", 0, 3);
	c = ctl_new(ec, &r, 0.1);
	controller_lead(c);
	controller_start(c);
	r.want = 9; /* the first pass and two resyncs at least */
	ck_assert_int_eq(th_wait(L, ctl_idle, &r, 10), 0);
	ck_assert_int_ge(r.all_calls, 3);
	ck_assert_int_eq(r.reconciled % 3, 0);
	controller_free(c);
	etcd_client_free(ec);
	etcd_sync_free(s);
}
END_TEST

/* A stop pauses the queue and ends once the last reconcile in flight has
 * finished. */
START_TEST(test_controller_stop_waits)
{
	struct etcd_sync *s = sync_client();
	struct etcd_client *ec = client();
	struct ctl_run r = {.hold = 1};
	struct controller *c;

	put_many(s, "/ctl/a/", 0, 1);
	c = ctl_new(ec, &r, 0);
	controller_lead(c);
	controller_start(c);
	r.want = 1;
	ck_assert_int_eq(th_wait(L, ctl_reconciled, &r, 10), 0);
	ck_assert_str_eq(r.held, "k0000");
	ck_assert_int_eq(controller_stop(c, ctl_stopped, &r), 0);
	ck_assert(!controller_ready(c));
	controller_settled(c); /* still in flight */
	ck_assert_int_eq(r.stop_done, 0);
	wq_done(controller_queue(c), r.held, WQ_OK, 0);
	controller_settled(c);
	ck_assert_int_eq(r.stop_done, 1);
	controller_settled(c); /* once only */
	ck_assert_int_eq(r.stop_done, 1);
	ck_assert_int_eq(controller_stop(c, ctl_stopped, &r), 1);
	controller_free(c);
	etcd_client_free(ec);
	etcd_sync_free(s);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("runtime");
	TCase *inf = tcase_create("informer"), *lead = tcase_create("leader"), *ev = tcase_create("events");
	TCase *ctl = tcase_create("controller");

	tcase_add_checked_fixture(inf, setup, teardown);
	tcase_add_checked_fixture(lead, setup, teardown);
	tcase_add_checked_fixture(ev, setup, teardown);
	tcase_set_timeout(inf, 60);
	tcase_set_timeout(lead, 60);
	tcase_add_test(inf, test_informer_thousand_keys);
	tcase_add_test(inf, test_informer_relist_after_compaction);
	tcase_add_test(inf, test_informer_drop_values);
	tcase_add_test(inf, test_informer_value_limit);
	tcase_add_test(lead, test_leader_two_contenders);
	tcase_add_test(lead, test_leader_resign_hands_over);
	tcase_add_test(lead, test_leader_kept_alive_key_taken_over);
	tcase_add_test(lead, test_leader_honest_no_flapping);
	tcase_add_test(ev, test_events_merge_repeats);
	tcase_add_test(ev, test_events_rate_limited);
	tcase_add_checked_fixture(ctl, setup, teardown);
	tcase_set_timeout(ctl, 60);
	tcase_add_test(ctl, test_controller_gating_and_leadership);
	tcase_add_test(ctl, test_controller_resync);
	tcase_add_test(ctl, test_controller_stop_waits);
	suite_add_tcase(s, ctl);
	suite_add_tcase(s, inf);
	suite_add_tcase(s, lead);
	suite_add_tcase(s, ev);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
