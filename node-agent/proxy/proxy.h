/*
 * proxy.h: skiff-proxy's private header. One proxy per node makes
 * connections to clusterIP:port reach the service's endpoints. In
 * userspace mode (the 2014 design) each service port has a listener on an
 * ephemeral port; nftables rules redirect clusterIP:port there; each
 * accepted connection is forwarded to an endpoint, round-robin, trying the
 * next one when a connect fails. In nftables mode the kernel rewrites the
 * destination to an endpoint itself.
 */
#ifndef SKIFF_PROXY_H
#define SKIFF_PROXY_H

#include <stdint.h>
#include <uthash.h>

#include "api.h"
#include "controller.h"
#include "daemon.h"
#include "informer.h"

struct run_job;
struct recorder;
struct px_warned;

enum px_mode { PX_USERSPACE, PX_NFTABLES };

struct px_backend {
	uint32_t ip; /* host order */
	int port;
};

/* One service port. */
struct px_port {
	char key[300]; /* "SERVICE/PORTNAME-or-PORT" */
	char service[64];
	uint32_t cluster_ip;
	int port;
	int listen_fd, listen_port;
	ev_io accept_w;
	ev_timer accept_pause; /* EMFILE: stop accepting for a moment */
	struct px_backend *be;
	size_t nbe, rr;
	unsigned gen;
	struct px_proxy *px;
	UT_hash_handle hh;
	int affinity;            /* ClientIP: seconds a client keeps its endpoint; 0 = None */
	struct px_affinity *aff; /* userspace: client IP → endpoint (px_affinity.c) */
	int node_port;           /* served on every local address, or 0 (px_nodeport.c) */
	int np_fd;               /* userspace mode: the listener on 0.0.0.0:node_port, or -1 */
	ev_io np_w;
	int udp;               /* a UDP port: kernel rules in both modes (px_nft.c), no listener */
	unsigned ct_flush_gen; /* UDP: an endpoint went in sync px->gen this; 0 = none (px_conntrack.c) */
};

struct px_proxy {
	struct skiff_daemon *d;
	enum px_mode mode;
	const char *node;
	char table[80]; /* our nftables table: "skiff_<node>" */
	struct informer *endpoints;
	struct informer *network; /* P/network/: the service network of "config" */
	struct recorder *rec;     /* Warning events (InvalidEndpoint) */
	struct px_warned *warned; /* services warned about, and at which revision (px_check.c) */
	struct controller *ctl;   /* the informer and the sync queue (runtime/controller.h) */
	struct px_port *ports;
	unsigned gen;
	char *rules;             /* the ruleset last applied, or being applied;
	                             * px_nft.c drops it when that failed */
	int nft_ok;              /* rules could be applied */
	struct run_job *nft_run; /* the nft running (px_nft.c) */
	char *nft_next;          /* the script to run after it */
	int nft_stopping;        /* the stop hook waits for the removal */
	size_t conns;
	struct metric *m_conns, *m_fail;
	/* What is in force (px_status.c): endpoints revisions */
	int64_t nft_rev, nft_next_rev; /* of the script nft runs, and of the one waiting */
	int64_t status_applied;        /* every change up to it is in force */
	int64_t status_sending;        /* in the write in flight */
	int64_t status_reported;       /* in P/proxystatus/NODE */
	ev_timer status_timer;
	double status_last; /* when the last write ended (loop time) */
	int status_busy, status_stopping;
	int status_err;                 /* the etcd error code of the last failed write, 0 after a success */
	struct informer *services;      /* P/services/: headless, affinity, port names (px_service.c) */
	struct informer *serviceips;    /* P/serviceips/: the claim of a service without a clusterIP anywhere else */
	struct informer *nodeports;     /* P/nodeports/PORT claims (px_nodeport.c) */
	unsigned nft_gen, nft_next_gen; /* the syncs whose rules nft runs, and waits to run */
	int nft_carries;                /* the rules carry endpoints (nftables mode, or UDP ports) */
	int ct_missing;                 /* the conntrack program was not found (logged once) */
};

/* px_sync.c */
void px_sync(struct px_proxy *px);
void px_free_ports(struct px_proxy *px);

/* px_check.c: the decoder of P/network/ keys for the informer (only
 * "config" matters) and its free. */
void *px_network_decode(const char *name, const char *value, size_t len, void *arg);
void px_network_free(void *obj);
/* Which addresses of endpoints o (decoded) may be programmed: a new array
 * of o's n_addresses flags, 1 = usable (NULL: out of memory). Refusals are
 * logged and recorded as a Warning event once per revision of o's key. */
unsigned char *px_endpoints_judge(struct px_proxy *px, const struct informer_obj *o);
/* Forget the services not judged in the sync numbered px->gen (all of
 * them when all is set). */
void px_warned_prune(struct px_proxy *px, int all);
/* 1 when the accepted connection fd was redirected to p's listener by
 * the node's rules (its original destination is p's clusterIP:port). */
int px_redirected(const struct px_port *p, int fd);

/* px_conn.c: forward one accepted connection of port. */
void px_accept_cb(struct ev_loop *loop, ev_io *w, int revents);
void px_conn_close_all(struct px_proxy *px);

/* px_status.c: every endpoints change up to rev is in force on this node:
 * P/proxystatus/NODE says so soon (when rev is higher than before). */
void px_status_applied(struct px_proxy *px, int64_t rev);
/* Stop hook (after the rules are gone): delete P/proxystatus/NODE. */
int px_status_stop(struct skiff_daemon *d, void *arg);

/* px_nft.c: make our table say rules (an nft script body for the table),
 * or remove the table when rules is NULL, without waiting: nft runs as a
 * child, after the one running if any. 0 when it is started or queued
 * (its failure is logged when it ends, and px->rules dropped), -1 when it
 * cannot be (logged) or the proxy is stopping. */
int px_nft_apply(struct px_proxy *px, const char *rules);
char *px_nft_render(struct px_proxy *px);
/* The nft script that turns table's rendered rules old into new when they
 * differ only in the rules of some chains (same chains, maps, sets, hooks
 * and comments, in the same order): "flush chain ip TABLE C" and "add rule
 * ip TABLE C …" per changed chain C. New string, or NULL when more than
 * rules differ, or nothing does. O(length of the texts). */
char *px_nft_delta(const char *table, const char *old, const char *new);
/* The stop hook's part: remove our table once the nft running has ended;
 * DAEMON_PENDING until then (daemon_stop_done follows), or DAEMON_DONE
 * when nft cannot be run. Later px_nft_apply calls do nothing. */
int px_nft_stop(struct px_proxy *px);

/* px_service.c: the informers' decoders, and what an endpoints list's
 * service says. */
struct px_svc_view {
	const struct api_service *svc; /* borrowed from the cache; NULL when not known */
	uint32_t cluster_ip;           /* host order */
	int affinity;                  /* ClientIP timeout in seconds, 0 = None */
};
void *px_service_decode(const char *name, const char *value, size_t len, void *arg);
void px_service_free(void *obj);
void *px_service_ip_decode(const char *name, const char *value, size_t len, void *arg);
void px_service_ip_free(void *obj);
/* Fill v for the endpoints ep of service name: 0 when it gets rules, -1
 * when not (headless, or no cluster IP known). O(claims) when neither the
 * service nor ep gives the address. */
int px_service_view(struct px_proxy *px, const char *name, const struct api_endpoints *ep, struct px_svc_view *v);
/* The port on the cluster IP for the endpoints port sp: the service's port
 * of the same name and protocol, sp's own when the service is not known,
 * 0 when the service has no such port. O(ports). */
int px_service_port(const struct px_svc_view *v, const struct api_service_port *sp);

/* px_conntrack.c: UDP flows. After the rules of sync gen are in force,
 * delete the conntrack entries of every UDP port that lost an endpoint in
 * that sync or before (ct_flush_gen <= gen), so that a client sending
 * from the same address and port is not kept on the gone endpoint
 * (conntrack would map it there until the flow idles out), as kube-proxy
 * does. "conntrack -D" runs as a child; nothing waits for it. */
void px_conntrack_flush(struct px_proxy *px, unsigned gen);
/* p's protocol as nft names it. */
#define PX_L4(p) ((p)->udp ? "udp" : "tcp")

/* px_affinity.c: sessionAffinity ClientIP. */
#define PX_AFFINITY_MAX 65536 /* clients remembered per service port (userspace) */
/* Userspace: the endpoint (an index in p->be, p->nbe > 0) for a new
 * connection from client (host order) at time now: the one it had while
 * that is still an endpoint and its last use is within p->affinity
 * seconds, else the next round-robin one (remembered). Without affinity,
 * round-robin. O(1) but O(p->nbe) to find a remembered endpoint. */
size_t px_affinity_pick(struct px_port *p, uint32_t client, double now);
/* The same for the accepted connection fd (its peer's address). */
size_t px_affinity_pick_conn(struct px_port *p, int fd, double now);
/* The affinity of p became timeout (0 = None): the table goes with None. */
void px_affinity_set(struct px_port *p, int timeout);
void px_affinity_free(struct px_port *p);
/* nftables: the text for p (chain number i, comment the chain's comment)
 * with affinity: one set per endpoint of the clients sent there, with
 * p->affinity as timeout, refreshed at each new connection (as
 * kube-proxy's `recent` match), checked before the round-robin pick. New
 * string (NULL: out of memory). */
char *px_affinity_nft(const struct px_port *p, size_t i, const char *comment);
/* px_nodeport.c: node ports. The decoder of P/nodeports/ claims and its
 * free. */
void *px_nodeport_decode(const char *name, const char *value, size_t len, void *arg);
void px_nodeport_free(void *obj);
/* Serve p (service port sp of service svc) at sp's node port when the
 * claim P/nodeports/PORT names that service port, else at none; in
 * userspace mode through a listener on 0.0.0.0:PORT (a failure is logged
 * and retried at the next sync). */
void px_nodeport_set(struct px_proxy *px, struct px_port *p, const char *svc, const struct api_service_port *sp);
/* p is going: close its node-port listener. */
void px_nodeport_close(struct px_proxy *px, struct px_port *p);
/* The maps "nodeports" (TCP, nftables mode) and "nodeports_udp" (UDP,
 * both modes): node port : jump to the port's chain svc_N (numbered in
 * px->ports order as px_nft.c numbers them); new, or NULL when no port
 * has a node port in kernel rules. *maps says which maps it holds
 * (PX_NP_TCP, PX_NP_UDP): PX_NODEPORT_RULE and PX_NODEPORT_UDP_RULE go in
 * the prerouting and output chains for those. */
#define PX_NP_TCP 1
#define PX_NP_UDP 2
char *px_nodeport_map(struct px_proxy *px, int *maps);
/* The mark of connections that came in on a node port (agent_fw.c lets
 * them through to pods: see SKIFF_NODEPORT_MARK there). */
#ifndef SKIFF_NODEPORT_MARK
#define SKIFF_NODEPORT_MARK "0x10000"
#endif
#define PX_NODEPORT_RULE "\t\tip daddr != 127.0.0.0/8 fib daddr type local tcp dport vmap @nodeports\n"
#define PX_NODEPORT_UDP_RULE "\t\tip daddr != 127.0.0.0/8 fib daddr type local udp dport vmap @nodeports_udp\n"

#endif
