/*
 * agent_serve.h: the agent's HTTPS server (agent_serve.c), off unless
 * --serve-addr, --serve-cert, --serve-key and --client-ca are all given.
 * It serves kubelet's GET /containerLogs/POD/CONTAINER to clients whose
 * certificate the admin CA (--client-ca) signed, on the agent's one loop.
 * agent_serve_demux.c is its pure half: Docker's multiplexed log stream
 * into plain bytes (fuzzed by fuzz/fuzz_demux.c); so is
 * agent_serve_exec_frame.c, the exec channel's frames from the client
 * (fuzzed by fuzz/fuzz_xframe.c).
 */
#ifndef SKIFF_AGENT_SERVE_H
#define SKIFF_AGENT_SERVE_H

#include <stddef.h>

struct agent;

/* Check that --serve-addr, --serve-cert, --serve-key and --client-ca
 * (v[0..3]) are all given or all absent: 0, or -1 with a message naming
 * the missing ones in err. */
int serve_opts_check(const char *const v[4], char *err, size_t len);
/* Start serving when a->o.serve_addr is set (loads libmicrohttpd): 0
 * (also when off), or -1 with why in err (files unreadable, address
 * taken). */
int serve_start(struct agent *a, char *err, size_t len);
/* The port the server listens on, 0 when off. */
int serve_port(const struct agent *a);
/* End every stream (their Docker calls cancelled) and close the server.
 * Safe twice and when off. */
void serve_stop(struct agent *a);

/* ------------------------------------------------------------------------
 * Docker's log stream of a container without a terminal: frames of an
 * 8-byte header (stream 0 stdin, 1 stdout, 2 stderr; three zero bytes; a
 * big-endian 32-bit length) and that many bytes. The state carries a
 * frame across chunks.
 */
struct demux {
	unsigned char hdr[8];
	size_t hlen; /* header bytes held */
	size_t left; /* payload bytes of the current frame still to come */
	int stream;  /* the current frame's stream */
};
typedef void (*demux_out_fn)(void *arg, int stream, const char *p, size_t n);
/* Feed n bytes; out gets each payload piece. 0, or -1 when a header is
 * not one (unknown stream or non-zero padding): the stream is corrupt or
 * not multiplexed; m must not be fed again. */
int demux_feed(struct demux *m, const char *p, size_t n, demux_out_fn out, void *arg);

/* ------------------------------------------------------------------------
 * The exec channel's frames from the client (docs/operations.md, "The exec
 * channel"): 1 byte stream, a 4-byte big-endian length, that many bytes.
 * A client sends stdin (length 0: stdin ends) and resize (width and
 * height, 2 bytes each, big-endian). agent_serve_exec_frame.c, pure
 * (fuzzed by fuzz/fuzz_xframe.c). The state carries a frame across chunks.
 */
#define XFRAME_MAX ((size_t)1 << 20) /* longest payload of a frame, either way */
enum { XF_STDIN = 0, XF_STDOUT = 1, XF_STDERR = 2, XF_RESIZE = 3, XF_EXIT = 4 };
struct xframe {
	unsigned char h[5];
	size_t hlen;           /* header bytes held */
	size_t left;           /* payload bytes of the current frame still to come */
	int in_frame;          /* in a payload (or between frames) */
	unsigned char size[4]; /* a resize frame's payload */
	size_t slen;
	int in_closed;   /* stdin ended */
	const char *err; /* why the channel is corrupt (static text), NULL before */
};
struct xframe_ops {
	void (*in)(void *arg, const char *p, size_t n); /* stdin bytes; n == 0 (once): stdin ends */
	void (*resize)(void *arg, unsigned width, unsigned height);
};
/* Feed n bytes from the client; ops get what whole frames and payload
 * pieces carry, as they come. 0, or -1 with f->err when the bytes are not
 * frames a client sends (an unknown stream, a payload over XFRAME_MAX, a
 * resize of other than 4 bytes, stdin after its end): f is then spent and
 * every later feed returns -1. */
int xframe_feed(struct xframe *f, const char *p, size_t n, const struct xframe_ops *ops, void *arg);

#endif
