/*
 * dns.h: skiff-dns's private header. skiff-dns answers the cluster's
 * names (services of P/services/ and their endpoints) from a table kept
 * in memory, and forwards every other name to the node's own resolvers
 * with a small cache. Layers, from the wire up:
 *
 *   dns_table.c   name -> records, rebuilt one service at a time (pure)
 *   dns_answer.c  query bytes -> answer bytes with ldns (pure; fuzzed)
 *   dns_cache.c   forwarded answers by (name, type, class), LRU (pure)
 *   dns_fwd.c     resolv.conf, the upstream socket, deadlines
 *   dns_net.c     the UDP and TCP listeners
 *   dns_sync.c    informer objects -> table rows
 *   dns_rec.c     what the informers keep of each object (compact)
 */
#ifndef SKIFF_DNS_H
#define SKIFF_DNS_H

#include <ev.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <uthash.h>

#include "controller.h"

#define DNS_NAME_MAX 256 /* presentation form, without the final dot, NUL-ended */

/* One record of a name. */
struct dns_rr {
	struct dns_rr *next;   /* the name's next record */
	struct dns_node *node; /* the name it is at */
	const char *target;    /* SRV, PTR: a name (no final dot) */
	uint32_t a;            /* A: the address, network order */
	uint16_t type;         /* LDNS_RR_TYPE_A, _SRV or _PTR; 0: none (the name exists) */
	uint16_t port;         /* SRV */
};

/* A name that exists: it has records, or names below it have some (an
 * "empty non-terminal" such as default.svc.cluster.local). refs counts
 * the records at and below it. One allocation, the name inside. */
struct dns_node {
	struct dns_rr *rrs;
	uint32_t refs;
	uint32_t hash; /* of name: its slot in the table */
	char name[];   /* lower case, no final dot */
};

struct dns_owner; /* a service's records (dns_table.c) */

struct dns_table {
	struct dns_node **slots;  /* by name, open addressing: O(1) lookups */
	size_t n_slots, n_nodes;  /* n_slots: 0 or a power of two */
	struct dns_owner *owners; /* every service's records, a list */
	char domain[254];         /* the cluster domain, lower case, no final dot */
	uint32_t ttl;             /* of every answer */
	uint32_t serial;          /* of the SOA: bumped by every change */
	int ready;                /* the first full build is done: until then SERVFAIL */
	size_t n_owners;          /* services in owners */
};

/* One port of a service, as the table needs it. */
struct dns_port {
	const char *name;  /* NULL or "": no SRV record */
	const char *proto; /* "tcp", "udp", "sctp" */
	int port;          /* the service's port (SRV of a cluster IP) */
	int target_port;   /* the pods' port (SRV of a headless service) */
};

/* Everything the table keeps of one service. */
struct dns_service {
	const char *name;
	uint32_t cluster_ip; /* network order; 0 = none (headless, or not yet allocated) */
	int headless;
	const struct dns_port *ports;
	size_t n_ports;
	const uint32_t *ready; /* ready endpoint addresses, network order */
	size_t n_ready;
};

/* dns_table.c */
void dns_table_init(struct dns_table *t, const char *domain, uint32_t ttl);
/* Drop every record (the domain stays). */
void dns_table_clear(struct dns_table *t);
/* Replace the records of s->name with those s gives. 0, or -1 when out of
 * memory (the service then has none). Cost O(records of the service). */
int dns_table_set(struct dns_table *t, const struct dns_service *s);
/* Drop the records of service name; nothing when it has none. */
void dns_table_remove(struct dns_table *t, const char *name);
/* Borrowed; NULL when the name (lower case, no final dot) does not exist. O(1). */
const struct dns_node *dns_table_find(const struct dns_table *t, const char *name);
/* 1 when name is the cluster domain or below it. */
int dns_table_in_zone(const struct dns_table *t, const char *name);
size_t dns_table_services(const struct dns_table *t);
size_t dns_table_names(const struct dns_table *t);

/* dns_table.c: FNV-1a of len bytes (the table's and the caches' slots). */
uint32_t dns_hash(const void *p, size_t len);

/* dns_answer.c */
enum dns_verdict {
	DNS_ANSWER,  /* out holds the answer */
	DNS_FORWARD, /* not a cluster name: q holds what to forward */
	DNS_DROP     /* not worth an answer (a response, or too short to have an id) */
};

/* What a query asked (filled by dns_answer for any verdict but DROP). */
struct dns_question {
	uint16_t id;
	uint16_t type, qclass;
	uint16_t udp_size;       /* what the client takes over UDP: 512, or its EDNS0 size */
	char name[DNS_NAME_MAX]; /* lower case, no final dot */
	int malformed;           /* the answer is FORMERR */
};

/* Turn query (len bytes) into an answer for t: *out (new, free with free)
 * of *out_len bytes. max is the largest answer the transport takes (0:
 * the client's UDP size); a larger one is sent as header and question
 * with TC set. Never reads outside query. */
enum dns_verdict dns_answer(const struct dns_table *t, const uint8_t *query, size_t len, size_t max, uint8_t **out,
                            size_t *out_len, struct dns_question *q);
/* An answer of rcode (LDNS_RCODE_*) with no records to the query q
 * described (SERVFAIL after a forward failed); NULL out of memory. */
uint8_t *dns_answer_error(const struct dns_question *q, int rcode, int rd, size_t *out_len);
/* Shorten answer (a whole message, len bytes) to header and question
 * with TC set, in place: the new length, or 0 when it does not parse. */
size_t dns_truncate(uint8_t *answer, size_t len);
/* The smallest TTL of the answer's records (30 when it has none, 0 when
 * it does not parse). */
uint32_t dns_min_ttl(const uint8_t *answer, size_t len);

/* dns_cache.c: answers by key, least recently used evicted, each kept
 * until its expiry. */
struct dns_cache;
struct dns_cache *dns_cache_new(size_t capacity);
void dns_cache_free(struct dns_cache *c);
/* Keep a copy of answer under (name, type, class) until now + ttl. */
void dns_cache_put(struct dns_cache *c, const char *name, uint16_t type, uint16_t qclass, const uint8_t *answer,
                   size_t len, double now, double ttl);
/* Borrowed until the next call; NULL when absent or expired. O(1). */
const uint8_t *dns_cache_get(struct dns_cache *c, const char *name, uint16_t type, uint16_t qclass, double now,
                             size_t *len);
size_t dns_cache_count(const struct dns_cache *c);
/* The same with a key of klen bytes of any kind. */
void dns_cache_put_raw(struct dns_cache *c, const void *key, size_t klen, const uint8_t *answer, size_t len, double now,
                       double ttl);
const uint8_t *dns_cache_get_raw(struct dns_cache *c, const void *key, size_t klen, double now, size_t *len);
/* Drop every entry. */
void dns_cache_clear(struct dns_cache *c);

/* dns_net.c, dns_fwd.c: the server. */
#define DNS_MAX_UPSTREAMS 3 /* as glibc reads resolv.conf */
#define DNS_MAX_PENDING 4096

struct dns_conn;
struct dns_pending;
struct metric;

/* Where an answer goes. */
struct dns_client {
	struct sockaddr_in addr; /* UDP */
	struct dns_conn *conn;   /* TCP; NULL for UDP */
};

struct dns_config {
	struct sockaddr_in listen;
	const char *resolv_conf;
	long cache_size;
	double forward_timeout; /* seconds per upstream tried */
	double tcp_idle;        /* seconds */
	long tcp_max_conns;
};

struct dns_server {
	struct ev_loop *loop;
	struct dns_config cfg;
	struct dns_table table;
	struct dns_cache *cache;
	struct dns_cache *answers; /* our own answers by query bytes (dns_net.c) */
	uint32_t answers_serial;   /* the table's serial they were made at */
	int udp_fd, tcp_fd, up_fd;
	ev_io udp_w, tcp_w, up_w;
	ev_timer accept_pause; /* EMFILE: stop accepting for a moment */
	struct sockaddr_in upstreams[DNS_MAX_UPSTREAMS];
	int n_upstreams;
	struct dns_pending *pending; /* by upstream id */
	size_t n_pending;
	struct dns_conn *conns;
	size_t n_conns;
	struct metric *m_udp, *m_tcp, *m_malformed, *m_fwd, *m_hits, *m_fwd_fail, *m_trunc, *m_conns;
};

/* dns_net.c: open the UDP and TCP listeners of s->cfg.listen (with
 * IP_FREEBIND: the address may come later) and the upstream socket, and
 * start their watchers. 0, or -1 with why in err. */
int dns_net_start(struct dns_server *s, char *err, size_t len);
/* Close every socket and connection. */
void dns_net_stop(struct dns_server *s);
/* Send answer (len bytes) to c. */
void dns_net_reply(struct dns_server *s, const struct dns_client *c, const uint8_t *answer, size_t len);

/* dns_fwd.c */
/* Read the nameservers of path into s (at most DNS_MAX_UPSTREAMS IPv4
 * ones, never s's own listen address). 0, or -1 with why in err (a
 * file without any is not an error: names are then SERVFAIL). */
int dns_fwd_load(struct dns_server *s, const char *path, char *err, size_t len);
/* Answer query (len bytes; q as dns_answer read it) for c from the
 * cache, or send it upstream with an id of ours; SERVFAIL when that
 * cannot be or no upstream answers within the deadline. */
void dns_fwd_query(struct dns_server *s, const struct dns_question *q, const uint8_t *query, size_t len,
                   const struct dns_client *c);
/* The upstream socket is readable. */
void dns_fwd_read_cb(struct ev_loop *loop, ev_io *w, int revents);
/* Conn goes: answers still pending for it are dropped when they come. */
void dns_fwd_forget_conn(struct dns_server *s, const struct dns_conn *conn);
/* Cancel everything pending (at stop). */
void dns_fwd_stop(struct dns_server *s);

/* dns_sync.c: the informers' side. */
struct dns_state {
	struct dns_server srv;
	struct controller *ctl;
	struct informer *services, *endpoints, *serviceips, *network;
	const char *domain_flag; /* --cluster-domain, or NULL: P/network/config's */
	int trim_pending;        /* a full build was made: trim the heap once the queue is empty */
};

#define DNS_KEY_ALL "/all" /* the queue's key for a full rebuild (no service has a '/') */

/* The process's one state (the watch table points into it). */
extern struct dns_state dns_st;
/* The watches of P/services/, P/endpoints/, P/serviceips/, P/network/
 * (arg: &dns_st), their reconcile and enqueue_all. */
extern const struct controller_watch dns_watches[];
void dns_reconcile(struct wq *q, const char *name, void *arg);
void dns_enqueue_all(struct controller *c, void *arg);

/* dns_rec.c: what the informers keep of each object (one allocation
 * each, freed with free). NULL when out of memory. */
struct api_service;
struct api_endpoints;
struct api_service_ip;

/* Sizes as small as the values (ports are 16 bits, a value is under
 * 1.5 MB): a thousand services fit in fewer bytes. */
struct dns_rec_port {
	const char *name; /* NULL: unnamed */
	uint16_t port, target_port;
	uint8_t udp; /* else TCP */
};

struct dns_rec_service {
	uint32_t cluster_ip; /* network order; 0: none (headless, not yet allocated) */
	uint8_t headless;
	uint32_t n_ports;
	struct dns_rec_port ports[];
};

struct dns_rec_endpoints {
	uint32_t cluster_ip; /* network order; 0: none */
	uint32_t n_ports, n_ready;
	const uint32_t *ready; /* the ready addresses, network order */
	struct dns_rec_port ports[];
};

struct dns_rec_claim {
	const char *uid; /* "" when absent */
	char service[];  /* "" when absent */
};

struct dns_rec_service *dns_rec_service(const struct api_service *s);
struct dns_rec_endpoints *dns_rec_endpoints(const struct api_endpoints *ep);
struct dns_rec_claim *dns_rec_claim(const struct api_service_ip *sip);

#endif
