/*
 * fuzz_etcd_resp.c: libFuzzer target for the etcd client's response
 * parsers. Any bytes a hostile or broken server might send are parsed as
 * every kind of answer; the parsers must fail cleanly (no crash, no leak,
 * no undefined behaviour) and clear what they half-built.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "etcd_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *root = json_loadb((const char *)data, size, JSON_DISABLE_EOF_CHECK, NULL);
	struct etcd_result r;
	const char *msg;
	char *out;
	size_t n;
	int code;

	/* The raw bytes as a base64 field. */
	if (etcd_b64_decode((const char *)data, size, &out, &n) == 0)
		free(out);
	if (!root)
		return 0;
	memset(&r, 0, sizeof(r));
	etcd_parse_range_resp(root, &r);
	etcd_result_clear(&r);
	memset(&r, 0, sizeof(r));
	etcd_parse_put_resp(root, &r);
	etcd_result_clear(&r);
	memset(&r, 0, sizeof(r));
	etcd_parse_delete_resp(root, &r);
	etcd_result_clear(&r);
	memset(&r, 0, sizeof(r));
	etcd_parse_txn_resp(root, &r);
	etcd_result_clear(&r);
	if (etcd_parse_error_body(root, &code, &msg) == 0)
		etcd_classify(code, msg);
	json_decref(root);
	return 0;
}
