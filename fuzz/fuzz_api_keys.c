/*
 * fuzz_api_keys.c: libFuzzer target for etcd keys. The first byte picks a
 * prefix, the rest is a key (any bytes, NUL included). A key that parses
 * must format back to exactly the same bytes. The same bytes are also
 * offered as a name to every key builder: what a builder accepts must stay
 * under its own directory and parse back to the same kind and name.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_keys.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const prefixes[] = {"/skiff", "/a/b", "/x"};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char buf[API_KEY_MAX + 1], name[512], dir[API_KEY_MAX + 1];
	const char *prefix;
	struct api_key k, back;
	int kind;

	if (size < 1)
		return 0;
	prefix = prefixes[data[0] % 3];
	data++;
	size--;
	if (api_key_parse(prefix, (const char *)data, size, &k, NULL) == 0) {
		if (api_key_format(buf, sizeof(buf), prefix, &k, NULL) < 0)
			abort();
		if (strlen(buf) != size || memcmp(buf, data, size) != 0)
			abort();
	}
	if (size >= sizeof(name))
		return 0;
	memcpy(name, data, size);
	name[size] = '\0';
	for (kind = API_POD; kind <= API_SUBNET; kind++) {
		if (api_key_object(buf, sizeof(buf), prefix, (enum api_kind)kind, name, NULL) < 0)
			continue;
		/* network/config is a key, not a directory. */
		if (kind != API_NETWORKCONFIG &&
		    (api_key_dir(dir, sizeof(dir), prefix, (enum api_kind)kind, NULL, NULL) < 0 ||
		     strncmp(buf, dir, strlen(dir)) != 0))
			abort();
		if (api_key_parse(prefix, buf, strlen(buf), &back, NULL) < 0 || (int)back.kind != kind ||
		    (kind != API_NETWORKCONFIG && strcmp(back.name, name) != 0))
			abort();
	}
	if (api_key_on_node(buf, sizeof(buf), prefix, API_BINDING, name, name, NULL) == 0 &&
	    (api_key_parse(prefix, buf, strlen(buf), &back, NULL) < 0 || strcmp(back.node, name) != 0))
		abort();
	if (api_key_event(buf, sizeof(buf), prefix, API_NODE, name, name, NULL) == 0 &&
	    (api_key_parse(prefix, buf, strlen(buf), &back, NULL) < 0 || strcmp(back.id, name) != 0))
		abort();
	return 0;
}
