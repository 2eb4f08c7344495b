/*
 * fuzz_api_quantity.c: libFuzzer target for quantities. The input is the
 * text. Parsing must not crash; a value it accepts must agree between
 * scales (ceil(milli / 1000) == units) and survive printing and parsing.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_quantity.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char s[API_QUANTITY_MAX_LEN + 8], buf[64];
	struct api_error err;
	int64_t milli, units, back;
	int ok3, ok0;

	if (size >= sizeof(s))
		size = sizeof(s) - 1;
	memcpy(s, data, size);
	s[size] = '\0';
	ok3 = api_quantity_parse(s, 3, &milli, &err) == 0;
	ok0 = api_quantity_parse(s, 0, &units, &err) == 0;
	if (ok3 && !ok0)
		abort(); /* units overflow before milli-units */
	if (ok3 && milli >= 0 && milli / 1000 + (milli % 1000 != 0) != units)
		abort();
	if (ok3) {
		api_quantity_format_milli(milli, buf, sizeof(buf));
		if (api_quantity_parse_milli(buf, &back, NULL) < 0 || back != milli)
			abort();
	}
	if (ok0) {
		api_quantity_format_bytes(units, buf, sizeof(buf));
		if (api_quantity_parse_value(buf, &back, NULL) < 0 || back != units)
			abort();
	}
	return 0;
}
