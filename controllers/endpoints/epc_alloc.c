/*
 * epc_alloc.c: the cluster IP allocator. A service's IP is the key
 * P/serviceips/IP whose value names it ({"service","uid"}); claiming one is
 * a create-if-absent transaction, so two controllers (or a restarted one)
 * can never hand one address to two services. A requested spec.clusterIP
 * is honoured when it is in the service CIDR and free; otherwise the
 * service gets a Warning event and no address until the user fixes it.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <stdlib.h>
#include <uthash.h>

#include "epc.h"

/* Claims this process sent and its cache has not seen yet: until the
 * serviceips informer reaches the claim's revision, the service must not
 * claim again (its watch may lag behind its own write). */
struct pending {
	char *name;
	int64_t rev; /* INT64_MAX while the write is in flight */
	UT_hash_handle hh;
};

static struct pending *pendings;

static struct pending *
pending_get(const char *name)
{
	struct pending *p = NULL;

	HASH_FIND_STR(pendings, name, p);
	return p;
}

static void
pending_drop(struct pending *p)
{
	HASH_DEL(pendings, p);
	free(p->name);
	free(p);
}

void
epc_alloc_free(void)
{
	struct pending *p, *tmp;

	HASH_ITER(hh, pendings, p, tmp)
		pending_drop(p);
}

struct claim_call {
	struct epc *e;
	char name[256], pkey[300];
};

static void
claim_done(struct etcd_result *res, void *arg)
{
	struct claim_call *c = arg;
	struct pending *p = pending_get(c->pkey);

	if (p) {
		if (res->err.code == ETCD_OK && res->succeeded)
			p->rev = res->revision; /* wait for the cache to see it */
		else
			pending_drop(p); /* nothing written: free to try again */
	}
	if (res->err.code != ETCD_OK && res->err.code != ETCD_ECANCELED)
		log_kv(LL_WARN, KV("service", c->name), "claim failed: %s; will retry", res->err.msg);
	if (res->err.code != ETCD_ECANCELED)
		wq_add(c->e->q, c->name);
	free(c);
}

int
epc_claims_pending(const char *pkey, struct informer *inf)
{
	struct pending *p = pending_get(pkey);

	if (p && informer_revision(inf) < p->rev)
		return 1; /* our claim is not in the cache yet */
	if (p)
		pending_drop(p); /* seen (kept or released since): decide anew */
	return 0;
}

void
epc_claims_settled(const char *pkey)
{
	struct pending *p = pending_get(pkey);

	if (p)
		pending_drop(p);
}

int
epc_claims_send(struct epc *e, const char *pkey, const char *name, const struct epc_claim_kv *kv, size_t n)
{
	struct etcd_error err = {0};
	struct etcd_txn *t = etcd_txn_new();
	struct claim_call *c = calloc(1, sizeof(*c));
	struct pending *p = calloc(1, sizeof(*p));

	for (size_t i = 0; i < n; i++) {
		etcd_txn_cmp(t, kv[i].key, ETCD_CMP_CREATE, ETCD_CMP_EQUAL, 0);
		etcd_txn_put(t, ETCD_TXN_SUCCESS, kv[i].key, kv[i].val, kv[i].val ? strlen(kv[i].val) : 0, 0);
	}
	if (c) {
		c->e = e;
		snprintf(c->name, sizeof(c->name), "%s", name);
		snprintf(c->pkey, sizeof(c->pkey), "%s", pkey);
	}
	if (!c || !p || !(p->name = strdup(pkey)) || etcd_txn_commit(e->d->etcd, t, claim_done, c, &err) < 0) {
		log_kv(LL_WARN, KV("service", name), "cannot send a claim: %s; will retry", err.msg);
		free(c);
		if (p)
			free(p->name);
		free(p);
		wq_add_after(e->q, name, 1.0);
		return -1;
	}
	p->rev = INT64_MAX;
	HASH_ADD_KEYPTR(hh, pendings, p->name, strlen(p->name), p);
	return 0;
}

int
epc_claim_delete(struct epc *e, const struct informer_obj *o, const char *name)
{
	struct etcd_error err = {0};
	struct etcd_txn *t = etcd_txn_new();
	struct epc_write *w;

	etcd_txn_cmp(t, o->key, ETCD_CMP_MOD, ETCD_CMP_EQUAL, o->mod_revision);
	etcd_txn_delete(t, ETCD_TXN_SUCCESS, o->key, 0);
	w = epc_write_new(e, name);
	if (!w || etcd_txn_commit(e->d->etcd, t, epc_write_done, w, &err) < 0) {
		free(w);
		return -1;
	}
	return 0;
}

struct find {
	const char *name, *uid;
	const char *found; /* IP (the key's name) of a matching claim */
};

static void
find_claim(const struct informer_obj *o, void *arg)
{
	struct find *f = arg;
	const struct api_service_ip *sip = o->obj;

	if (sip && !f->found && strcmp(sip->service, f->name) == 0 && sip->uid && strcmp(sip->uid, f->uid) == 0)
		f->found = o->name;
}

static void
claim(struct epc *e, const char *name, const char *uid, const char *ip)
{
	struct api_service_ip sip = {.service = (char *)name, .uid = (char *)uid};
	struct epc_claim_kv kv;

	snprintf(kv.key, sizeof(kv.key), "%s/serviceips/%s", e->prefix, ip);
	kv.val = api_service_ip_serialize(&sip);
	if (epc_claims_send(e, name, name, &kv, 1) == 0) {
		metric_inc(e->allocs);
		log_kv(LL_INFO, KV("service", name, "ip", ip), "claiming cluster IP");
	}
	free(kv.val);
}

/* The next free address of the CIDR, round-robin, or 0 when full. */
static uint32_t
free_ip(struct epc *e, const struct api_cidr *cidr)
{
	uint32_t size = cidr->len >= 31 ? 0 : (1u << (32 - cidr->len)) - 2, i;
	char ip[20];

	for (i = 0; i < size; i++) {
		uint32_t a = cidr->addr + 1 + (e->next_ip + i) % size;

		api_ipv4_format(a, ip, sizeof(ip));
		if (!informer_get(e->ips, ip)) {
			e->next_ip = (e->next_ip + i + 1) % size;
			return a;
		}
	}
	return 0;
}

int
epc_cluster_ip(struct epc *e, const char *name, const struct informer_obj *o, char *ip, size_t len)
{
	const struct api_service *svc = o->obj;
	struct find f = {.name = name};
	struct api_network_config nc;
	struct api_cidr cidr;
	struct api_error aerr;
	char uid[32], cidrs[32];
	uint32_t a;

	snprintf(uid, sizeof(uid), "%" PRId64, o->create_revision);
	f.uid = uid;
	informer_foreach(e->ips, find_claim, &f);
	if (f.found) {
		epc_claims_settled(name);
		snprintf(ip, len, "%s", f.found);
		return 1;
	}
	if (epc_claims_pending(name, e->ips))
		return 0; /* our claim is not in the cache yet */
	epc_network(e, &nc);
	cidr = nc.service_cidr;
	api_cidr_format(&cidr, cidrs, sizeof(cidrs));
	if (svc->spec.cluster_ip) {
		const struct informer_obj *taken = informer_get(e->ips, svc->spec.cluster_ip);

		if (api_ipv4_parse(svc->spec.cluster_ip, &a, &aerr) < 0 || !api_cidr_contains(&cidr, a)) {
			recorder_eventf(
				e->rec, "services", name, "Warning", "ClusterIPOutOfRange",
				"spec.clusterIP %s is not in the service CIDR %s; pick one inside it or leave it out",
				svc->spec.cluster_ip, cidrs);
			return 0;
		}
		if (taken) {
			const struct api_service_ip *by = taken->obj;

			recorder_eventf(
				e->rec, "services", name, "Warning", "ClusterIPNotAvailable",
				"spec.clusterIP %s is already allocated to service %s; pick another or leave it out",
				svc->spec.cluster_ip, by && by->service ? by->service : "(unknown)");
			return 0;
		}
		claim(e, name, uid, svc->spec.cluster_ip);
		return 0;
	}
	if (!(a = free_ip(e, &cidr))) {
		recorder_eventf(
			e->rec, "services", name, "Warning", "ClusterIPExhausted",
			"no free address left in the service CIDR %s; delete unused services or widen serviceCIDR",
			cidrs);
		return 0;
	}
	api_ipv4_format(a, ip, len);
	claim(e, name, uid, ip);
	return 0;
}

struct release {
	struct epc *e;
	const char *name, *keep;
	int n;
};

static void
release_one(const struct informer_obj *o, void *arg)
{
	struct release *r = arg;
	const struct api_service_ip *sip = o->obj;

	if (!sip || strcmp(sip->service, r->name) != 0 || (r->keep && sip->uid && strcmp(sip->uid, r->keep) == 0))
		return;
	if (epc_claim_delete(r->e, o, r->name) < 0)
		return;
	log_kv(LL_INFO, KV("service", r->name, "ip", o->name), "releasing cluster IP");
	r->n++;
}

int
epc_release(struct epc *e, const char *name, const char *keep_uid)
{
	struct release r = {e, name, keep_uid, 0};

	informer_foreach(e->ips, release_one, &r);
	return r.n;
}
