/*
 * agent_lease.c: the node's heartbeat, P/nodeleases/NODE. The key is put
 * on an etcd lease kept alive by the etcd client's keeper (so it vanishes
 * when the agent dies) and put again, with a new spec.renewTime, every
 * leaseDurationSeconds/4: one put per beat, on the same etcd lease. The
 * node controller judges the node by when it last saw the key change, on
 * its own clock, so a keep-alive sent by someone else does not keep this
 * node Ready. When the lease is lost a new one is granted and the key
 * written again: the first try within 2 s, then after 1, 2, 4 ... 30 s,
 * each jittered by half either way. A thousand agents whose etcd fell
 * behind all lose their leases at once; coming back in step, every
 * second, they would keep it behind (docs/scaling.md).
 *
 * It does not write the node's status (agent_register.c does) and never
 * judges liveness itself.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent.h"

static void lease_again(struct agent *a, double after);
static void lease_retry(struct agent *a, const char *what, const char *msg);
static void beat_again(struct agent *a);

/* Seconds before the next grant after FAILS failed tries in a row (0: the
 * lease was just lost): up to 2 s, then 1, 2, 4 ... 30 s times 0.5-1.5. */
static double
lease_retry_delay(int fails)
{
	double r = (double)rand() / ((double)RAND_MAX + 1.0), d = 1.0;

	if (fails <= 0)
		return 2.0 * r;
	while (--fails > 0 && d < 30.0)
		d *= 2.0;
	return (d > 30.0 ? 30.0 : d) * (0.5 + r);
}

/* Now as RFC 3339 with microseconds, "2026-12-06T12:00:00.123456Z". */
static void
renew_time(char *buf, size_t len)
{
	struct timespec ts;
	struct tm tm;
	char s[32];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(s, sizeof(s), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%s.%06ldZ", s, ts.tv_nsec / 1000);
}

/* The lease key's value (new string, NULL when out of memory). */
static char *
lease_value(struct agent *a)
{
	char now[40];
	json_t *j;
	char *val;

	renew_time(now, sizeof(now));
	if (!a->lease_acquired[0])
		snprintf(a->lease_acquired, sizeof(a->lease_acquired), "%s", now);
	j = json_pack("{s:{s:s},s:{s:s,s:I,s:s,s:s}}", "metadata", "name", a->o.node_name, "spec", "holderIdentity",
	              a->o.node_name, "leaseDurationSeconds", (json_int_t)(a->o.lease_ttl_ms / 1000), "acquireTime",
	              a->lease_acquired, "renewTime", now);
	val = j ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	json_decref(j);
	return val;
}

/* Put the lease key on our etcd lease; done(arg) gets the answer. -1 when
 * nothing was sent. */
static int
lease_put(struct agent *a, etcd_cb done)
{
	char key[API_KEY_MAX], *val = lease_value(a);
	struct etcd_put_opts po = {.lease = a->lease_id};
	struct etcd_error err = {0};
	int rc;

	api_key_object(key, sizeof(key), a->prefix, API_NODELEASE, a->o.node_name, NULL);
	rc = val ? etcd_put(a->d->etcd, key, val, strlen(val), &po, done, a, &err) : -1;
	free(val);
	return rc;
}

static void
keeper_cb(struct etcd_keeper *k, enum etcd_lease_state st, const struct etcd_error *err, void *arg)
{
	struct agent *a = arg;

	if (st == ETCD_LEASE_DOUBT) {
		log_kv(LL_WARN, KV("node", a->o.node_name),
		       "node lease keep-alives failing (%s); the node may turn NotReady", err ? err->msg : "");
	} else if (st == ETCD_LEASE_ALIVE) {
		log_kv(LL_INFO, KV("node", a->o.node_name), "node lease keep-alives work again");
	} else {
		log_kv(LL_WARN, KV("node", a->o.node_name), "node lease lost; granting a new one");
		etcd_keeper_stop(k);
		a->keeper = NULL;
		a->lease_id = 0;
		ev_timer_stop(a->d->loop, &a->beat_timer);
		lease_again(a, lease_retry_delay(0)); /* lease_fails is 0 while a keeper runs */
	}
}

/* ---------------------------------------------------------------- beat */

static void
beat_done(struct etcd_result *res, void *arg)
{
	struct agent *a = arg;

	a->beat_busy = 0;
	if (a->stopping)
		return;
	if (res->err.code != ETCD_OK)
		log_kv(LL_WARN, KV("node", a->o.node_name),
		       "cannot renew the node lease key: %s; trying again at the next beat", res->err.msg);
	if (a->keeper)
		beat_again(a);
}

static void
beat_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct agent *a = (struct agent *)((char *)w - offsetof(struct agent, beat_timer));

	(void)loop;
	(void)revents;
	if (a->beat_busy || a->stopping || !a->keeper)
		return;
	if (a->rt_down) { /* Docker is not answering: let the node go not ready (agent_runtime.c) */
		beat_again(a);
		return;
	}
	a->beat_busy = 1;
	if (lease_put(a, beat_done) < 0) {
		a->beat_busy = 0;
		beat_again(a);
	}
}

void
lease_beat_now(struct agent *a)
{
	if (!a->keeper || a->beat_busy || a->stopping)
		return;
	ev_timer_stop(a->d->loop, &a->beat_timer);
	ev_timer_set(&a->beat_timer, 0.0, 0.0);
	ev_timer_start(a->d->loop, &a->beat_timer);
}

/* The next beat in leaseDurationSeconds/4. */
static void
beat_again(struct agent *a)
{
	ev_timer_stop(a->d->loop, &a->beat_timer);
	ev_timer_set(&a->beat_timer, (double)(a->o.lease_ttl_ms / 1000) / 4.0, 0.0);
	ev_timer_start(a->d->loop, &a->beat_timer);
}

/* ---------------------------------------------------------------- lease */

static void
lease_put_done(struct etcd_result *res, void *arg)
{
	struct agent *a = arg;

	a->lease_busy = 0;
	if (a->stopping)
		return;
	if (res->err.code != ETCD_OK) {
		lease_retry(a, "cannot write the node lease key", res->err.msg);
		return;
	}
	a->keeper = etcd_keeper_start(a->d->etcd, a->lease_id, a->o.lease_ttl_ms / 1000, keeper_cb, a);
	if (!a->keeper) {
		lease_retry(a, "cannot keep the node lease alive", "out of memory");
		return;
	}
	a->lease_fails = 0;
	log_kv(LL_INFO, KV("node", a->o.node_name), "node is ready (lease %lld, heartbeat every %.1fs)",
	       (long long)a->lease_id, (double)(a->o.lease_ttl_ms / 1000) / 4.0);
	beat_again(a);
}

static void
lease_grant_done(struct etcd_result *res, void *arg)
{
	struct agent *a = arg;

	if (a->stopping) {
		a->lease_busy = 0;
		return;
	}
	if (res->err.code != ETCD_OK) {
		a->lease_busy = 0;
		lease_retry(a, "cannot grant the node lease", res->err.msg);
		return;
	}
	a->lease_id = res->lease_id;
	a->lease_acquired[0] = '\0';
	if (lease_put(a, lease_put_done) < 0) {
		a->lease_busy = 0;
		lease_retry(a, "cannot write the node lease key", "request not sent");
	}
}

static void
lease_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct agent *a = (struct agent *)((char *)w - offsetof(struct agent, lease_timer));
	struct etcd_error err = {0};

	(void)loop;
	(void)revents;
	if (a->lease_busy || a->stopping || a->keeper)
		return;
	a->lease_busy = 1;
	if (etcd_lease_grant(a->d->etcd, a->o.lease_ttl_ms / 1000, 0, lease_grant_done, a, &err) < 0) {
		a->lease_busy = 0;
		lease_retry(a, "cannot grant the node lease", err.msg);
	}
}

/* One more failed try, said in one line: the next after a longer,
 * jittered wait. */
static void
lease_retry(struct agent *a, const char *what, const char *msg)
{
	double after = lease_retry_delay(++a->lease_fails);

	log_kv(LL_WARN, KV("node", a->o.node_name), "%s: %s; trying again in %.1fs (%d failed in a row)", what,
	       msg ? msg : "", after, a->lease_fails);
	lease_again(a, after);
}

static void
lease_again(struct agent *a, double after)
{
	ev_timer_stop(a->d->loop, &a->lease_timer);
	ev_timer_set(&a->lease_timer, after, 0.0);
	ev_timer_start(a->d->loop, &a->lease_timer);
}

void
lease_start(struct agent *a)
{
	ev_timer_init(&a->lease_timer, lease_timer_cb, 0.0, 0.0);
	ev_timer_init(&a->beat_timer, beat_timer_cb, 0.0, 0.0);
	lease_again(a, 0.0);
}

void
lease_stop(struct agent *a)
{
	ev_timer_stop(a->d->loop, &a->lease_timer);
	ev_timer_stop(a->d->loop, &a->beat_timer);
	if (a->keeper)
		etcd_keeper_stop(a->keeper);
	a->keeper = NULL;
}
