/*
 * fuzz_ctl_frames.c: libFuzzer target for skiffctl's decoder of the exec
 * channel's frames from the agent (cli/ctl_stream_frame.c). The first
 * byte picks a chunk size (1..256); the rest is what an agent sent.
 * Nothing may crash (nor overflow: an exit status with its top bit set is
 * a negative status, not undefined behaviour); fed in chunks, the decoder
 * must give the same stdout and stderr bytes, exit status and verdict (and
 * the same reason) as fed whole; no byte of a header, nor of the exit
 * status, reaches the output; an error leaves the decoder spent.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli/ctl_stream.h"
#include "fuzz_chunked.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct out {
	unsigned char *buf, *sid; /* the bytes, and each one's stream */
	size_t len;
};

static void
collect(void *arg, int stream, const unsigned char *p, size_t n)
{
	struct out *o = arg;

	if (stream != 1 && stream != 2)
		abort();
	memcpy(o->buf + o->len, p, n);
	memset(o->sid + o->len, stream, n);
	o->len += n;
}

/* Feed in chunks of step bytes into *f: 0 or -1 as ctl_frames_feed said. */
static int
feed(const unsigned char *p, size_t n, size_t step, struct out *o, struct ctl_frames *f)
{
	int rc = 0;

	for (size_t i = 0; i < n && rc == 0; i += step)
		rc = ctl_frames_feed(f, p + i, n - i < step ? n - i : step, collect, o);
	if (rc < 0 && (!f->err || f->exited || ctl_frames_feed(f, p, 1, collect, o) != -1))
		abort();
	return rc;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct out whole = {0}, chunks = {0};
	struct ctl_frames fa = {0}, fb = {0};
	size_t step;
	int a, b;

	if (fuzz_chunked(&data, &size, &step, 2, (void **)&whole.buf, (void **)&chunks.buf) < 0)
		return 0;
	whole.sid = whole.buf + size + 1;
	chunks.sid = chunks.buf + size + 1;
	a = feed(data, size, size ? size : 1, &whole, &fa);
	b = feed(data, size, step, &chunks, &fb);
	if (a != b || fa.err != fb.err || fa.exited != fb.exited || fa.status != fb.status || whole.len != chunks.len ||
	    memcmp(whole.buf, chunks.buf, whole.len) != 0 || memcmp(whole.sid, chunks.sid, whole.len) != 0)
		abort();
	if (whole.len > (size < 5 ? 0 : size - 5) || (fa.exited && whole.len + 9 > size))
		abort();
	free(whole.buf);
	free(chunks.buf);
	return 0;
}
