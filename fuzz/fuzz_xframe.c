/*
 * fuzz_xframe.c: libFuzzer target for the agent's decoder of the exec
 * channel's client frames (node-agent/agent_serve_exec_frame.c). The
 * first byte picks a chunk size (1..256); the rest is what a client sent.
 * Nothing may crash; fed in chunks, the decoder must give the same stdin
 * bytes, ends of stdin, sizes and verdict (and the same reason) as fed
 * whole; stdin ends at most once and no stdin byte follows its end; no
 * byte of a header reaches stdin; an error leaves the decoder spent.
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
	unsigned long events; /* a hash of the ends and sizes, in order with the bytes */
	int ends, frames;
};

static void
on_in(void *arg, const char *p, size_t n)
{
	struct out *o = arg;

	if (o->ends) /* nothing after stdin's end */
		abort();
	if (n == 0) {
		o->ends++;
		o->events = o->events * 31 + 7 + o->len;
		return;
	}
	memcpy(o->buf + o->len, p, n);
	o->len += n;
}

static void
on_resize(void *arg, unsigned w, unsigned h)
{
	struct out *o = arg;

	if (w > 0xffff || h > 0xffff)
		abort();
	o->frames++;
	o->events = o->events * 31 + (w << 16 | h) + o->len;
}

static const struct xframe_ops ops = {.in = on_in, .resize = on_resize};

/* Feed in chunks of step bytes: 0 or -1 as xframe_feed said; its reason
 * in *err. */
static int
feed(const char *p, size_t n, size_t step, struct out *o, const char **err)
{
	struct xframe f = {0};
	int rc = 0;

	for (size_t i = 0; i < n && rc == 0; i += step)
		rc = xframe_feed(&f, p + i, n - i < step ? n - i : step, &ops, o);
	*err = f.err;
	if (rc < 0 && (!f.err || xframe_feed(&f, "", 1, &ops, o) != -1))
		abort(); /* a verdict without a reason, or a spent decoder that decodes */
	return rc;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct out whole = {0}, chunks = {0};
	const char *ea, *eb;
	size_t step;
	int a, b;

	if (fuzz_chunked(&data, &size, &step, 1, (void **)&whole.buf, (void **)&chunks.buf) < 0)
		return 0;
	a = feed((const char *)data, size, size ? size : 1, &whole, &ea);
	b = feed((const char *)data, size, step, &chunks, &eb);
	if (a != b || ea != eb || whole.len != chunks.len || whole.events != chunks.events ||
	    memcmp(whole.buf, chunks.buf, whole.len) != 0)
		abort();
	if (whole.len + 5 * (size_t)(whole.frames + whole.ends) > size)
		abort();
	free(whole.buf);
	free(chunks.buf);
	return 0;
}
