/*
 * ctl_stream_frame.c: the exec channel's frames from the agent (skiffctl
 * exec and port-forward; ctl_stream.h, "The exec channel" in
 * docs/operations.md) cut into stdout and stderr bytes and the exit
 * status. Pure: no I/O, no allocation, so fuzz/fuzz_ctl_frames.c can run
 * it over any bytes in any chunking. It does not write the bytes anywhere
 * (its caller's out does) nor read past the exit status, the last frame.
 */
#include <stdint.h>

#include "ctl_stream.h"

/* A whole header in f->h: check it. 0, or -1 with f->err. */
static int
header(struct ctl_frames *f)
{
	f->left = (size_t)((uint32_t)f->h[1] << 24 | (uint32_t)f->h[2] << 16 | (uint32_t)f->h[3] << 8 | f->h[4]);
	f->hlen = 0;
	if (f->h[0] != 1 && f->h[0] != 2 && f->h[0] != 4)
		f->err = "a frame of an unknown stream (the agent sends 1 stdout, 2 stderr, 4 exit status)";
	else if (f->left > CTL_FRAME_MAX)
		f->err = "a frame longer than 1 MiB";
	else if (f->h[0] == 4 && f->left != 4)
		f->err = "an exit status not of 4 bytes";
	if (f->err)
		return -1;
	f->in_frame = f->left > 0;
	return 0;
}

int
ctl_frames_feed(struct ctl_frames *f, const unsigned char *p, size_t n, ctl_frames_fn out, void *arg)
{
	if (f->err)
		return -1;
	while (n > 0 && !f->exited) {
		size_t k;

		if (!f->in_frame) {
			f->h[f->hlen++] = *p++;
			n--;
			if (f->hlen == 5 && header(f) < 0)
				return -1;
			continue;
		}
		k = n < f->left ? n : f->left;
		if (f->h[0] != 4)
			out(arg, f->h[0], p, k);
		for (size_t i = 0; f->h[0] == 4 && i < k; i++)
			f->code[f->clen++] = p[i];
		p += k;
		n -= k;
		f->left -= k;
		f->in_frame = f->left > 0;
		if (!f->in_frame && f->h[0] == 4) {
			f->exited = 1;
			f->status = (int)((uint32_t)f->code[0] << 24 | (uint32_t)f->code[1] << 16 |
			                  (uint32_t)f->code[2] << 8 | f->code[3]);
		}
	}
	return 0;
}
