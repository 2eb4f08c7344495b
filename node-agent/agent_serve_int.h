/*
 * agent_serve_int.h: what agent_serve.c (the server, logs) and
 * agent_serve_exec.c (exec over an upgraded connection) share. Not for
 * other files: agent_serve.h is the server's interface.
 */
#ifndef SKIFF_AGENT_SERVE_INT_H
#define SKIFF_AGENT_SERVE_INT_H

#include <gnutls/gnutls.h>

#include "agent.h"
#include "agent_serve.h"
#include "health_mhd.h"

#define M health_mhd
#define SERVE_BUF_MAX ((size_t)4 << 20) /* bytes held for a slow client before its stream ends */

struct serve {
	struct agent *a;
	struct MHD_Daemon *mhd;
	ev_io io;      /* MHD's epoll descriptor */
	ev_timer tm;   /* MHD's timeout */
	ev_timer kick; /* run MHD soon (a connection was resumed) */
	long max;
	int n; /* streams open */
	int port;
	struct stream *streams;
	char *cert, *key, *ca; /* PEM texts; MHD keeps pointers to them */
	int (*get_peers)(gnutls_session_t, unsigned int *);
	int (*verify_peers)(gnutls_session_t, unsigned int *);
};

enum { ST_LOOKUP, ST_FOUND, ST_FAILED, ST_STREAMING, ST_EXEC };

struct stream {
	struct serve *s;
	struct MHD_Connection *conn;
	struct stream *next, *prev;
	char pod[API_SUBDOMAIN_MAX + 1], ctr[API_SUBDOMAIN_MAX + 1];
	char query[256];
	struct dk_req *req;
	int phase;
	unsigned status; /* ST_FAILED: what to answer */
	char msg[512];
	char id[80];
	struct demux dm;
	char *buf; /* demultiplexed bytes not yet sent */
	size_t len, off, cap;
	int done, suspended, gone;
	ev_io peer; /* the client's socket while suspended */
	int exec;   /* POST /exec/: the fields below (agent_serve_exec.c) */
	int tty, in;
	json_t *cmd;      /* the command, a JSON array */
	char exec_id[80]; /* Docker's exec ID, "" before */
	struct xconn *x;  /* the relay after the upgrade, NULL before and after */
	long port;        /* port-forward (exec 2): the pod's port; its IP in id */
	int slow;         /* the client read too slowly: cut off */
	int released;     /* its --max-streams slot is free again (s->n counts it no more) */
};

/* Hold st's connection until serve_resume (MHD calls nothing of it). */
void serve_suspend(struct stream *st);
/* Let MHD go on with st's connection (after new bytes, an answer, or its
 * end). */
void serve_resume(struct stream *st);
/* Queue a text answer on conn. */
enum MHD_Result serve_reply(struct MHD_Connection *conn, unsigned status, const char *msg);

/* agent_serve_exec.c: POST /exec/POD/CONTAINER?command=...&stdin=1&tty=1
 * with "Upgrade: skiff-stream/1". exec_query checks the request into st
 * (0, or -1 with st's status and message); exec_create asks Docker for
 * the exec once the container is found (phase ST_EXEC when done);
 * exec_upgrade answers 101 and relays the framed channel. */
int exec_query(struct stream *st, struct MHD_Connection *conn);
enum MHD_Result exec_create(struct stream *st);
enum MHD_Result exec_upgrade(struct stream *st);
void exec_free(struct stream *st);
/* End st's relay, if any (the agent stops). */
void exec_end(struct stream *st);

#endif
