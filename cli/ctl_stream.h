/*
 * ctl_stream.h: what skiffctl's streaming commands (logs) share
 * (ctl_stream.c): the pod's node and its agent's HTTPS address, and the
 * client's TLS files.
 */
#ifndef SKIFF_CTL_STREAM_H
#define SKIFF_CTL_STREAM_H

#include <curl/curl.h>

#include "skiffctl.h"

struct ctl_target {
	char node[API_SUBDOMAIN_MAX + 1];
	char container[API_SUBDOMAIN_MAX + 1];
	char base[128]; /* "https://IP:PORT" */
};

/* --client-cert, --client-key, --ca (or SKIFF_CLIENT_CERT,
 * SKIFF_CLIENT_KEY, SKIFF_CA): PEM files; NULL or "" when not given. */
struct ctl_tls {
	const char *cert, *key, *ca;
};

/* The flag table entries of struct ctl_tls, for a command's own table. */
#define CTL_TLS_FLAGS(tls)                                                                                              \
	{"client-cert",                                                                                                 \
	 FLAG_STRING,                                                                                                   \
	 &(tls).cert,                                                                                                   \
	 "",                                                                                                            \
	 "SKIFF_CLIENT_CERT",                                                                                           \
	 "client certificate the admin CA signed (PEM)",                                                                \
	 "PATH",                                                                                                        \
	 NULL},                                                                                                         \
		{"client-key", FLAG_STRING, &(tls).key, "", "SKIFF_CLIENT_KEY", "its private key (PEM)", "PATH", NULL}, \
	{                                                                                                               \
		"ca", FLAG_STRING, &(tls).ca, "", "SKIFF_CA", "CA of the agents' server certificates (PEM)", "PATH",    \
			NULL                                                                                            \
	}

/* Find pod's node and container (ctr, or NULL for the pod's first) and
 * the node's agent's address. 0, or -1 after a message on c->err. */
int ctl_stream_target(struct ctl *c, const char *pod, const char *ctr, struct ctl_target *t);
/* Set tls's files on the curl handle. */
void ctl_stream_tls(void *curl, const struct ctl_tls *tls);

/* The exec channel's frames from the agent (docs/operations.md, "The exec
 * channel"): 1 byte stream (1 stdout, 2 stderr, 4 exit status, the last),
 * a 4-byte big-endian length, that many bytes. ctl_stream_frame.c, pure
 * (fuzzed by fuzz/fuzz_ctl_frames.c). The state carries a frame across
 * chunks. */
#define CTL_FRAME_MAX ((size_t)1 << 20) /* longest payload of a frame */
struct ctl_frames {
	unsigned char h[5];
	size_t hlen, left; /* header bytes held; payload bytes still to come */
	int in_frame;
	unsigned char code[4];
	size_t clen;
	int exited, status; /* the exit status came: the command's status */
	const char *err;    /* why the channel is corrupt (static text), NULL before */
};
typedef void (*ctl_frames_fn)(void *arg, int stream, const unsigned char *p, size_t n);
/* Feed n bytes from the agent: out gets each stdout (1) or stderr (2)
 * payload piece as it comes; the exit status sets f->exited and
 * f->status, and bytes after it are ignored. 0, or -1 with f->err when
 * the bytes are not frames an agent sends (an unknown stream, a payload
 * over CTL_FRAME_MAX, an exit status of other than 4 bytes): f is then
 * spent and every later feed returns -1. */
int ctl_frames_feed(struct ctl_frames *f, const unsigned char *p, size_t n, ctl_frames_fn out, void *arg);

/* A framed channel (skiffctl exec, port-forward; cmd_exec.c): curl's
 * connection and the frames coming in. */
struct ctl_xs {
	CURL *e;
	int fd;
	struct ctl_frames f;
	FILE *out, *err; /* where stdout and stderr frames go */
};

/* Connect to base (TLS with tls's files) and ask for the upgrade of POST
 * path: 0 with x ready (x->e made by the caller; bytes after the answer
 * already fed to out), or -1 after a message on c->err. */
int ctl_xs_open(struct ctl *c, struct ctl_xs *x, const struct ctl_tls *tls, const char *base, const char *path,
                FILE *out);
/* Copy in_fd (-1: none) out as stdin frames, frames in to out and err,
 * until the exit status (x->f.exited), the connection's end or a frame
 * that is not one (a message on err). */
void ctl_xs_relay(struct ctl_xs *x, int in_fd, FILE *out, FILE *err);

#endif
