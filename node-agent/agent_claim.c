/*
 * agent_claim.c: the subnet claim (see agent_claim.h): one read of
 * P/network/ (the config and every subnet at one revision), a decision by
 * agent_netcalc.c, one guarded transaction; again on a lost race. It does
 * not log: the caller gets a result with a message. It owns itself: freed
 * after done runs, or at cancel (or in the pending etcd callback when the
 * cancel came while a request was in flight).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent_claim.h"

#define CLAIM_MAX_ATTEMPTS 20

struct claim {
	struct etcd_client *c;
	struct ev_loop *loop;
	char own[API_KEY_MAX], dir[API_KEY_MAX], net[API_KEY_MAX], cfg[API_KEY_MAX];
	char *host_ip;
	int busy, cancelled;
	unsigned seed; /* for rand_r: each agent its own jitter */
	ev_timer retry;
	claim_done_fn done;
	void *arg;
	struct claim_result r;
};

static void claim_read(struct claim *cl);

static void
claim_free(struct claim *cl)
{
	ev_timer_stop(cl->loop, &cl->retry);
	free(cl->host_ip);
	free(cl);
}

static void
finish(struct claim *cl, enum claim_status st)
{
	cl->r.status = st;
	cl->done(&cl->r, cl->arg);
	claim_free(cl);
}

static void
retry_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct claim *cl = (struct claim *)((char *)w - offsetof(struct claim, retry));

	(void)loop;
	(void)revents;
	claim_read(cl);
}

/* A lost race: read again after a short random pause, or give up. */
static void
again(struct claim *cl)
{
	if (cl->r.attempts >= CLAIM_MAX_ATTEMPTS) {
		snprintf(cl->r.msg, sizeof(cl->r.msg), "lost the race for a subnet %d times in a row", cl->r.attempts);
		finish(cl, CLAIM_CONFLICT);
		return;
	}
	/* 10 ms plus up to 10 ms * 2^attempts (at most 640 ms) at random:
	 * agents that start together spread out instead of colliding in
	 * step, and one wins each round (the prefix guard). */
	{
		int k = cl->r.attempts < 6 ? cl->r.attempts : 6;

		ev_timer_set(&cl->retry, 0.01 + (double)(rand_r(&cl->seed) % (10 << k)) / 1000.0, 0.0);
	}
	ev_timer_start(cl->loop, &cl->retry);
}

/* 1 when cl was cancelled meanwhile (and is now freed). */
static int
answered(struct claim *cl)
{
	cl->busy = 0;
	if (!cl->cancelled)
		return 0;
	claim_free(cl);
	return 1;
}

static void
txn_done(struct etcd_result *res, void *arg)
{
	struct claim *cl = arg;

	if (answered(cl))
		return;
	if (res->err.code != ETCD_OK) {
		snprintf(cl->r.msg, sizeof(cl->r.msg), "cannot write %s: %s", cl->own, res->err.msg);
		finish(cl, CLAIM_ETCD);
	} else if (!res->succeeded) {
		cl->r.kept = cl->r.host_ip_updated = cl->r.replaced_bad = 0;
		again(cl);
	} else {
		finish(cl, CLAIM_OK);
	}
}

static void
commit(struct claim *cl, struct etcd_txn *t, const char *subnet)
{
	struct api_subnet s = {(char *)subnet, cl->host_ip};
	struct etcd_error err = {0};
	char *val = api_subnet_serialize(&s);

	snprintf(cl->r.subnet, sizeof(cl->r.subnet), "%s", subnet);
	if (!val) {
		etcd_txn_free(t);
		snprintf(cl->r.msg, sizeof(cl->r.msg), "cannot write %s: out of memory", cl->own);
		finish(cl, CLAIM_ETCD);
		return;
	}
	etcd_txn_put(t, ETCD_TXN_SUCCESS, cl->own, val, strlen(val), 0);
	free(val);
	cl->r.attempts++;
	cl->busy = 1;
	if (etcd_txn_commit(cl->c, t, txn_done, cl, &err) < 0) { /* t consumed */
		cl->busy = 0;
		snprintf(cl->r.msg, sizeof(cl->r.msg), "cannot write %s: %s", cl->own, err.msg);
		finish(cl, CLAIM_ETCD);
	}
}

/* 1 when s is a subnet the pick could have made: inside the podCIDR in
 * force, longer than its prefix, no longer than /30 (a gateway and hosts).
 * Anything else (0.0.0.0/0, a /32, a leftover of another pod network)
 * would open the firewall wide or never make a network. */
static int
usable(const struct claim *cl, const char *subnet)
{
	const struct api_cidr *pod = &cl->r.config.pod_cidr;
	struct api_cidr c;

	return api_cidr_parse(subnet, &c, NULL) == 0 && c.len > pod->len && c.len <= 30 &&
	       api_cidr_contains(pod, c.addr);
}

/* Our own key's entry when it holds a usable subnet: keep it, rewriting
 * hostIP if needed. Returns 1 when handled. */
static int
keep_own(struct claim *cl, const struct etcd_kv *kv)
{
	struct api_errors e = {0};
	struct api_subnet *s = api_subnet_parse(kv->value, kv->value_len, &e);
	struct etcd_txn *t;
	int same;

	api_errors_clear(&e);
	if (!s || !usable(cl, s->subnet)) {
		api_subnet_free(s);
		cl->r.replaced_bad = 1;
		return 0;
	}
	snprintf(cl->r.subnet, sizeof(cl->r.subnet), "%s", s->subnet);
	same = s->host_ip && strcmp(s->host_ip, cl->host_ip) == 0;
	cl->r.kept = 1;
	if (same) {
		api_subnet_free(s);
		finish(cl, CLAIM_OK);
		return 1;
	}
	cl->r.host_ip_updated = 1;
	t = etcd_txn_new();
	etcd_txn_cmp(t, cl->own, ETCD_CMP_MOD, ETCD_CMP_EQUAL, kv->mod_revision);
	commit(cl, t, s->subnet);
	api_subnet_free(s);
	return 1;
}

/* Every valid subnet of another node into taken (n of them). New array. */
static struct api_cidr *
taken_of(struct claim *cl, const struct etcd_result *res, size_t *n)
{
	struct api_cidr *t = calloc(res->nkvs + 1, sizeof(*t));
	size_t dl = strlen(cl->dir), i;

	*n = 0;
	for (i = 0; t && i < res->nkvs; i++) {
		const struct etcd_kv *kv = &res->kvs[i];
		struct api_errors e = {0};
		struct api_subnet *s;

		if (strncmp(kv->key, cl->dir, dl) != 0 || strcmp(kv->key, cl->own) == 0)
			continue;
		s = api_subnet_parse(kv->value, kv->value_len, &e);
		api_errors_clear(&e);
		if (s && api_cidr_parse(s->subnet, &t[*n], NULL) == 0)
			(*n)++;
		api_subnet_free(s);
	}
	return t;
}

static void
decide(struct claim *cl, const struct etcd_result *res)
{
	const struct etcd_kv *own = NULL, *cfg = NULL;
	struct api_cidr *taken, pick;
	struct etcd_txn *t;
	char buf[24];
	size_t i, n;
	int rc;

	for (i = 0; i < res->nkvs; i++) {
		if (strcmp(res->kvs[i].key, cl->own) == 0)
			own = &res->kvs[i];
		else if (strcmp(res->kvs[i].key, cl->cfg) == 0)
			cfg = &res->kvs[i];
	}
	if (netcalc_config(cfg ? cfg->value : NULL, cfg ? cfg->value_len : 0, &cl->r.config, cl->r.msg,
	                   sizeof(cl->r.msg)) < 0) {
		finish(cl, CLAIM_BAD_CONFIG);
		return;
	}
	if (own && keep_own(cl, own))
		return;
	if (!(taken = taken_of(cl, res, &n))) {
		snprintf(cl->r.msg, sizeof(cl->r.msg), "out of memory");
		finish(cl, CLAIM_ETCD);
		return;
	}
	rc = netcalc_next_subnet(&cl->r.config.pod_cidr, cl->r.config.subnet_length, taken, n, &pick);
	free(taken);
	if (rc != 0) {
		api_cidr_format(&cl->r.config.pod_cidr, buf, sizeof(buf));
		snprintf(cl->r.msg, sizeof(cl->r.msg), "no free /%d subnet left in the podCIDR %s (%zu taken)",
		         cl->r.config.subnet_length, buf, n);
		finish(cl, CLAIM_EXHAUSTED);
		return;
	}
	api_cidr_format(&pick, buf, sizeof(buf));
	t = etcd_txn_new();
	if (own) /* garbage in our key: replace exactly what we read */
		etcd_txn_cmp(t, cl->own, ETCD_CMP_MOD, ETCD_CMP_EQUAL, own->mod_revision);
	else
		etcd_txn_cmp(t, cl->own, ETCD_CMP_CREATE, ETCD_CMP_EQUAL, 0);
	etcd_txn_cmp_prefix(t, cl->dir, ETCD_CMP_MOD, ETCD_CMP_LESS, res->revision + 1);
	/* and the pool we picked from is still the one in force */
	if (cfg)
		etcd_txn_cmp(t, cl->cfg, ETCD_CMP_MOD, ETCD_CMP_EQUAL, cfg->mod_revision);
	else
		etcd_txn_cmp(t, cl->cfg, ETCD_CMP_CREATE, ETCD_CMP_EQUAL, 0);
	commit(cl, t, buf);
}

static void
read_done(struct etcd_result *res, void *arg)
{
	struct claim *cl = arg;

	if (answered(cl))
		return;
	if (res->err.code != ETCD_OK) {
		snprintf(cl->r.msg, sizeof(cl->r.msg), "cannot read %s: %s", cl->net, res->err.msg);
		finish(cl, CLAIM_ETCD);
		return;
	}
	decide(cl, res);
}

static void
claim_read(struct claim *cl)
{
	struct etcd_range_opts o = {.prefix = 1, .page_size = 1000};
	struct etcd_error err = {0};

	cl->busy = 1;
	if (etcd_range(cl->c, cl->net, &o, read_done, cl, &err) < 0) {
		cl->busy = 0;
		snprintf(cl->r.msg, sizeof(cl->r.msg), "cannot read %s: %s", cl->net, err.msg);
		finish(cl, CLAIM_ETCD);
	}
}

struct claim *
claim_start(struct etcd_client *c, const char *prefix, const char *node, const char *host_ip, claim_done_fn done,
            void *arg)
{
	struct claim *cl = calloc(1, sizeof(*cl));

	if (!cl)
		return NULL;
	cl->c = c;
	cl->loop = etcd_client_loop(c);
	cl->done = done;
	cl->arg = arg;
	cl->seed = (unsigned)getpid() ^ (unsigned)time(NULL) ^ (unsigned)(uintptr_t)cl;
	ev_timer_init(&cl->retry, retry_cb, 0.0, 0.0);
	if (!(cl->host_ip = strdup(host_ip)) ||
	    api_key_object(cl->own, sizeof(cl->own), prefix, API_SUBNET, node, NULL) < 0 ||
	    api_key_dir(cl->dir, sizeof(cl->dir), prefix, API_SUBNET, NULL, NULL) < 0 ||
	    api_key_object(cl->cfg, sizeof(cl->cfg), prefix, API_NETWORKCONFIG, NULL, NULL) < 0) {
		claim_free(cl);
		return NULL;
	}
	snprintf(cl->net, sizeof(cl->net), "%s/network/", prefix);
	/* Deferred, so done never runs inside claim_start. */
	ev_timer_set(&cl->retry, 0.0, 0.0);
	ev_timer_start(cl->loop, &cl->retry);
	return cl;
}

void
claim_cancel(struct claim *cl)
{
	if (!cl)
		return;
	if (cl->busy)
		cl->cancelled = 1;
	else
		claim_free(cl);
}
