/*
 * agent_serve_demux.c: Docker's multiplexed stream (logs and attach of a
 * container without a terminal) into its payloads, chunk by chunk. Pure:
 * no I/O, no allocation. It does not tell stdout from stderr for the
 * caller beyond passing the stream number on, and does not handle a
 * terminal's raw stream (which has no frames).
 */
#include <stdint.h>

#include "agent_serve.h"

int
demux_feed(struct demux *m, const char *p, size_t n, demux_out_fn out, void *arg)
{
	while (n > 0) {
		if (m->left > 0) {
			size_t k = n < m->left ? n : m->left;

			out(arg, m->stream, p, k);
			m->left -= k;
			p += k;
			n -= k;
			continue;
		}
		m->hdr[m->hlen++] = (unsigned char)*p++;
		n--;
		if (m->hlen < 8)
			continue;
		m->hlen = 0;
		if (m->hdr[0] > 2 || m->hdr[1] || m->hdr[2] || m->hdr[3])
			return -1;
		m->stream = m->hdr[0];
		m->left = (size_t)((uint32_t)m->hdr[4] << 24 | (uint32_t)m->hdr[5] << 16 | (uint32_t)m->hdr[6] << 8 |
		                   (uint32_t)m->hdr[7]);
	}
	return 0;
}
