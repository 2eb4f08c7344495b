/*
 * fuzz_chunked.h: the input convention of the fuzz targets that feed a
 * stream decoder whole and in chunks and compare (fuzz_demux, fuzz_xframe,
 * fuzz_ctl_frames): the first byte picks a chunk size (1..256), the rest
 * is the stream; each run gets two output buffers of the same size.
 */
#ifndef SKIFF_FUZZ_CHUNKED_H
#define SKIFF_FUZZ_CHUNKED_H

#include <stdint.h>
#include <stdlib.h>

/* Take the chunk size off *data (*size shrinks by one) into *step and
 * allocate *a and *b of per_byte bytes for each byte of the rest, plus
 * per_byte (aborts without memory; the caller frees them). 0, or -1 with
 * nothing allocated when there is no input. */
static inline int
fuzz_chunked(const uint8_t **data, size_t *size, size_t *step, size_t per_byte, void **a, void **b)
{
	if (*size < 1)
		return -1;
	*step = (size_t)(*data)[0] + 1;
	(*data)++, (*size)--;
	*a = malloc(per_byte * (*size + 1));
	*b = malloc(per_byte * (*size + 1));
	if (!*a || !*b)
		abort();
	return 0;
}

#endif
