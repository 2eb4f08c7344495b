/*
 * fuzz_demux.c: libFuzzer target for the demultiplexer of Docker's log
 * stream (node-agent/agent_serve_demux.c). The first byte picks a chunk
 * size (1..256); the rest is the stream. Nothing may crash, and feeding
 * the stream in chunks must give the same payload bytes, streams and
 * verdict as feeding it whole; no payload byte comes from a header, so the
 * output is never longer than the input less 8 bytes per frame begun.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_chunked.h"
#include "node-agent/agent_serve.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct out {
	char *buf;
	size_t len;
	unsigned long streams; /* a hash of the stream numbers seen, in order */
};

static void
collect(void *arg, int stream, const char *p, size_t n)
{
	struct out *o = arg;

	memcpy(o->buf + o->len, p, n);
	o->len += n;
	o->streams = o->streams * 3 + (unsigned long)stream;
}

/* Feed in chunks of step bytes: 0 or -1 as demux_feed said. */
static int
feed(const char *p, size_t n, size_t step, struct out *o)
{
	struct demux m = {0};

	for (size_t i = 0; i < n; i += step)
		if (demux_feed(&m, p + i, n - i < step ? n - i : step, collect, o) < 0)
			return -1;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct out whole = {0}, chunks = {0};
	size_t step;
	int a, b;

	if (fuzz_chunked(&data, &size, &step, 1, (void **)&whole.buf, (void **)&chunks.buf) < 0)
		return 0;
	a = feed((const char *)data, size, size ? size : 1, &whole);
	b = feed((const char *)data, size, step, &chunks);
	if (a != b || (a == 0 && (whole.len != chunks.len || memcmp(whole.buf, chunks.buf, whole.len) != 0)))
		abort();
	if (whole.len > (size < 8 ? 0 : size - 8))
		abort();
	free(whole.buf);
	free(chunks.buf);
	return 0;
}
