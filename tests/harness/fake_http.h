/*
 * fake_http.h: a tiny HTTP server on a loopback port that answers every
 * request with the same canned bytes, for testing that the client fails
 * cleanly on malformed responses. Not an HTTP implementation: it reads the
 * request head (and a Content-Length body), writes the reply verbatim and
 * then closes or holds the connection.
 *
 * It runs in a thread of the test process; each connection gets its own
 * (detached) thread. fh_stop closes every connection and waits until every
 * thread has finished.
 */
#ifndef SKIFF_TESTS_FAKE_HTTP_H
#define SKIFF_TESTS_FAKE_HTTP_H

#include <stddef.h>

struct fake_http;

enum fh_after {
	FH_CLOSE = 0, /* close the connection after the reply */
	FH_HOLD       /* keep it open (reading nothing) until the client or fh_stop closes it */
};

struct fh_reply {
	const char *head; /* sent first, may be NULL; head_len 0 = strlen(head) */
	size_t head_len;
	size_t fill_len; /* then this many fill_byte bytes (for huge bodies) */
	char fill_byte;
	const char *tail; /* then this, may be NULL; tail_len 0 = strlen(tail) */
	size_t tail_len;
	enum fh_after after;
	int no_reply;    /* read the request, then send nothing at all */
	int max_replies; /* > 0: later requests are closed without a reply */
};

/* Start a server answering each request with *r (copied). NULL on failure. */
struct fake_http *fh_start(const struct fh_reply *r);
/* "http://127.0.0.1:PORT". Borrowed. */
const char *fh_url(const struct fake_http *f);
/* Number of requests whose head was read so far. */
int fh_requests(struct fake_http *f);
/* Stop, close all connections, free. NULL is fine. */
void fh_stop(struct fake_http *f);

/* Shorthand: a complete HTTP/1.1 response with status, Content-Length and
 * body; newly allocated (free it). */
char *fh_response(int status, const char *body);

#endif
