/*
 * agent_serve_exec_frame.c: the exec channel's frames from the client
 * (agent_serve.h, "The exec channel" in docs/operations.md) cut into what
 * they carry: stdin bytes, the end of stdin, a terminal's new size. Pure:
 * no I/O, no allocation, no clock, so fuzz/fuzz_xframe.c can run it over
 * any bytes in any chunking. It does not buffer a payload (stdin comes out
 * in the pieces it came in) and does not decide what a size means.
 */
#include <stdint.h>

#include "agent_serve.h"

/* A whole header in f->h: check it and start its payload. 0, or -1 with
 * f->err. */
static int
header(struct xframe *f, const struct xframe_ops *ops, void *arg)
{
	f->left = (size_t)((uint32_t)f->h[1] << 24 | (uint32_t)f->h[2] << 16 | (uint32_t)f->h[3] << 8 | f->h[4]);
	f->hlen = 0;
	if (f->h[0] != XF_STDIN && f->h[0] != XF_RESIZE)
		f->err = "a frame of an unknown stream (the client sends 0 stdin or 3 resize)";
	else if (f->left > XFRAME_MAX)
		f->err = "a frame longer than 1 MiB";
	else if (f->h[0] == XF_RESIZE && f->left != 4)
		f->err = "a resize frame not of 4 bytes (width, height)";
	else if (f->h[0] == XF_STDIN && f->in_closed)
		f->err = "stdin after its end";
	if (f->err)
		return -1;
	f->in_frame = 1;
	f->slen = 0;
	if (f->h[0] == XF_STDIN && f->left == 0) {
		f->in_closed = 1;
		f->in_frame = 0;
		ops->in(arg, "", 0);
	}
	return 0;
}

int
xframe_feed(struct xframe *f, const char *p, size_t n, const struct xframe_ops *ops, void *arg)
{
	if (f->err)
		return -1;
	while (n > 0) {
		size_t k;

		if (!f->in_frame) {
			f->h[f->hlen++] = (unsigned char)*p++;
			n--;
			if (f->hlen == 5 && header(f, ops, arg) < 0)
				return -1;
			continue;
		}
		k = n < f->left ? n : f->left;
		if (f->h[0] == XF_STDIN)
			ops->in(arg, p, k);
		for (size_t i = 0; f->h[0] == XF_RESIZE && i < k; i++)
			f->size[f->slen++] = (unsigned char)p[i];
		p += k;
		n -= k;
		f->left -= k;
		if (f->left > 0)
			continue;
		f->in_frame = 0;
		if (f->h[0] == XF_RESIZE)
			ops->resize(arg, (unsigned)f->size[0] << 8 | f->size[1],
			            (unsigned)f->size[2] << 8 | f->size[3]);
	}
	return 0;
}
