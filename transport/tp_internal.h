/*
 * tp_internal.h: what the files of transport/ share. tp_loop.c owns the
 * multi handle, the libev watchers and the life of a transfer (start,
 * deferred add and abort, the one completion point); tp_xfer.c turns
 * options into an easy handle and receives the body.
 */
#ifndef SKIFF_TP_INTERNAL_H
#define SKIFF_TP_INTERNAL_H

#include "tp.h"

enum tp_state {
	TP_IDLE,    /* in the pool, or being set up */
	TP_ADDING,  /* started inside curl: waits on the pending list to be added */
	TP_RUNNING, /* in curl's hands */
	TP_ABORTING /* aborted inside curl: waits on the pending list to be removed */
};

struct tp_xfer {
	struct tp *t;
	CURL *easy;
	struct curl_slist *hdrs;
	enum tp_state state;
	tp_line_fn on_line;
	tp_done_fn done;
	void *arg;
	size_t max; /* bound on buf */
	char *buf;  /* the body, or the partial line of a stream */
	size_t len, cap;
	int stopped;                           /* on_line asked to end */
	int too_big;                           /* buf would have passed max */
	struct tp_xfer *next_live, *prev_live; /* every transfer not idle */
	struct tp_xfer *next;                  /* on the pending list or in the pool */
	char errbuf[CURL_ERROR_SIZE];
	int raw; /* on_line gets each chunk as it came (tp_opts.raw) */
};

struct tp {
	struct ev_loop *loop;
	CURLM *multi;
	ev_timer timer;          /* curl's timeout */
	ev_timer flush;          /* runs the pending list */
	int in_curl;             /* > 0 inside curl_multi_socket_action */
	struct tp_xfer *pending; /* deferred adds and aborts */
	struct tp_xfer *live;
	struct tp_xfer *pool;
	int npool;
};

/* tp_xfer.c: set x->easy up for o (x->easy is fresh or reset). 0, or -1
 * when out of memory (x->hdrs may be set: the caller resets x). */
int tp_xfer_setup(struct tp_xfer *x, const struct tp_opts *o);

#endif
