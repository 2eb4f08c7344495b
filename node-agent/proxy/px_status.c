/*
 * px_status.c: the proxy's report P/proxystatus/NODE = {"node",
 * "endpointsRevision": R, "updated"}: every endpoints change up to etcd
 * revision R is in force on this node (userspace mode: the backend lists;
 * nftables mode: the rules nft has applied). The node agents wait for it
 * before they stop a pod (node-agent/agent_drain.c). Writes happen only
 * when R grew, one at a time, at most every PX_STATUS_GAP seconds (a burst
 * of syncs makes one write); a failed write is retried after a second. On
 * a clean stop, once our rules are gone, the key is deleted: a proxy that
 * routes nothing holds no stop back.
 *
 * It does not judge what it reports (px_sync.c and px_nft.c say when a
 * revision is in force) and never reports a revision lower than before.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "proxy.h"

#define PX_STATUS_GAP 0.1   /* seconds between two writes, at least */
#define PX_STATUS_RETRY 1.0 /* after a failed write */

static void status_arm(struct px_proxy *px);

/* Now as RFC 3339 with microseconds, "2026-12-06T12:00:00.123456Z". */
static void
now_rfc3339(char *buf, size_t len)
{
	struct timeval tv;
	struct tm tm;

	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
	         tm.tm_hour, tm.tm_min, tm.tm_sec, (long)tv.tv_usec);
}

static int
status_key(struct px_proxy *px, char *key, size_t len)
{
	struct api_error err;

	if (api_key_object(key, len, px->d->opts.prefix, API_PROXYSTATUS, px->node, &err) == 0)
		return 0;
	log_kv(LL_ERROR, KV("node", px->node), "cannot make the proxy status key: %s", err.msg);
	return -1;
}

static void
delete_done(struct etcd_result *res, void *arg)
{
	struct px_proxy *px = arg;

	if (res->err.code != ETCD_OK)
		log_kv(LL_WARN, KV("node", px->node), "cannot delete the proxy status: %s", res->err.msg);
	daemon_stop_done(px->d);
}

/* The stop's last step: delete our key. 0 when the delete was sent. */
static int
status_delete(struct px_proxy *px)
{
	char key[API_KEY_MAX];
	struct etcd_error err = {0};

	if (status_key(px, key, sizeof(key)) < 0)
		return -1;
	if (etcd_delete(px->d->etcd, key, NULL, delete_done, px, &err) == 0)
		return 0;
	log_kv(LL_WARN, KV("node", px->node), "cannot delete the proxy status: %s", err.msg);
	return -1;
}

static void
put_done(struct etcd_result *res, void *arg)
{
	struct px_proxy *px = arg;

	px->status_busy = 0;
	px->status_last = ev_now(px->d->loop);
	if (res->err.code == ETCD_OK) {
		px->status_reported = px->status_sending;
		px->status_err = 0;
	} else if (res->err.code != ETCD_ECANCELED) {
		/* Once per kind of failure, not once a second. */
		if ((int)res->err.code != px->status_err)
			log_kv(LL_WARN, KV("node", px->node),
			       "cannot write the proxy status (revision %lld): %s; retrying every %.0f s "
			       "(the node's etcd role needs readwrite on P/proxystatus/NODE)",
			       (long long)px->status_sending, res->err.msg, PX_STATUS_RETRY);
		px->status_err = (int)res->err.code;
		px->status_last += PX_STATUS_RETRY;
	}
	if (px->status_stopping) {
		if (status_delete(px) < 0)
			daemon_stop_done(px->d);
		return;
	}
	status_arm(px);
}

static void
status_write(struct px_proxy *px)
{
	char key[API_KEY_MAX], now[40];
	struct api_proxy_status st = {.node = (char *)px->node, .endpoints_revision = px->status_applied};
	struct etcd_error err = {0};
	char *val;

	now_rfc3339(now, sizeof(now));
	st.updated = now;
	if (status_key(px, key, sizeof(key)) < 0)
		return;
	if (!(val = api_proxy_status_serialize(&st))) {
		log_kv(LL_ERROR, KV("node", px->node), "out of memory writing the proxy status");
		return;
	}
	px->status_sending = px->status_applied;
	if (etcd_put(px->d->etcd, key, val, strlen(val), NULL, put_done, px, &err) == 0) {
		px->status_busy = 1;
	} else {
		log_kv(LL_WARN, KV("node", px->node), "cannot write the proxy status: %s; retrying", err.msg);
		px->status_last = ev_now(px->d->loop) + PX_STATUS_RETRY;
		status_arm(px);
	}
	free(val);
}

static void
status_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct px_proxy *px = w->data;

	(void)loop, (void)revents;
	if (!px->status_busy && !px->status_stopping && px->status_applied > px->status_reported)
		status_write(px);
}

/* Write soon if there is something new and no write is in flight. */
static void
status_arm(struct px_proxy *px)
{
	double at;

	if (px->status_busy || px->status_stopping || px->status_applied <= px->status_reported ||
	    ev_is_active(&px->status_timer))
		return;
	at = px->status_last + PX_STATUS_GAP - ev_now(px->d->loop);
	ev_timer_set(&px->status_timer, at > 0 ? at : 0.0, 0.0);
	ev_timer_start(px->d->loop, &px->status_timer);
}

void
px_status_applied(struct px_proxy *px, int64_t rev)
{
	if (rev <= px->status_applied)
		return;
	px->status_applied = rev;
	if (!px->status_timer.data) {
		ev_timer_init(&px->status_timer, status_timer_cb, 0.0, 0.0);
		px->status_timer.data = px;
	}
	status_arm(px);
}

int
px_status_stop(struct skiff_daemon *d, void *arg)
{
	struct px_proxy *px = arg;

	(void)d;
	px->status_stopping = 1;
	if (px->status_timer.data)
		ev_timer_stop(px->d->loop, &px->status_timer);
	if (px->status_busy)
		return DAEMON_PENDING; /* put_done deletes the key then */
	return status_delete(px) == 0 ? DAEMON_PENDING : DAEMON_DONE;
}
