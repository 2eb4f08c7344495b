/*
 * agent_claim.h: claim this node's pod subnet, P/network/subnets/NODE
 * (agent_claim.c). Needs only the etcd client, the object model and the
 * loop, so the concurrency test runs many claims in one process.
 */
#ifndef SKIFF_AGENT_CLAIM_H
#define SKIFF_AGENT_CLAIM_H

#include <ev.h>

#include "agent_netcalc.h"
#include "etcd.h"

enum claim_status {
	CLAIM_OK = 0,
	CLAIM_EXHAUSTED,  /* no free subnet in podCIDR */
	CLAIM_BAD_CONFIG, /* P/network/config is invalid: nothing claimed */
	CLAIM_CONFLICT,   /* the bounded retries all lost a race */
	CLAIM_ETCD,       /* etcd did not answer or refused */
};

struct claim_result {
	enum claim_status status;
	char subnet[24];                  /* CLAIM_OK: "10.244.1.0/24" */
	struct api_network_config config; /* the config in force (defaults when absent) */
	int kept;                         /* 1: the node already had this subnet */
	int host_ip_updated;              /* 1: kept, with hostIP rewritten */
	int replaced_bad;                 /* 1: our key held garbage and was replaced */
	int attempts;                     /* transactions sent */
	char msg[512];                    /* what went wrong, for a log line and an event */
};

struct claim;
/* Runs once (never before claim_start returns) unless cancelled; r is
 * borrowed for the call. */
typedef void (*claim_done_fn)(const struct claim_result *r, void *arg);

/* Start claiming for node (prefix like "/skiff", host_ip the node's
 * address). Algorithm: read P/network/ at revision R; if our key holds a
 * valid subnet keep it (rewriting hostIP, guarded by its mod revision, when
 * it differs); otherwise pick netcalc_next_subnet over the other keys and
 * put it guarded by create_revision(own) == 0 and every key under
 * P/network/subnets/ having mod_revision <= R. A lost race reads again,
 * up to 20 times with a random 10-100 ms pause. Returns NULL when out of
 * memory. Strings are copied. */
struct claim *claim_start(struct etcd_client *c, const char *prefix, const char *node, const char *host_ip,
                          claim_done_fn done, void *arg);
/* Stop without the callback; frees now or when etcd answers. NULL is fine. */
void claim_cancel(struct claim *cl);

#endif
