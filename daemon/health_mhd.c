/*
 * health_mhd.c: libmicrohttpd loaded when a health server is first asked
 * for (health_mhd.h). The library stays loaded for the life of the
 * process; it does not unload it, nor look for any version but the
 * soname the build was made against.
 */
#include <dlfcn.h>
#include <stddef.h>
#include <stdio.h>

#include "health_mhd.h"

#define MHD_SONAME "libmicrohttpd.so.12"

struct health_mhd health_mhd;

#define CALL(f)                                           \
	{                                                 \
		"MHD_" #f, offsetof(struct health_mhd, f) \
	}

int
health_mhd_load(char *err, size_t len)
{
	static const struct {
		const char *name;
		size_t off;
	} calls[] = {
		CALL(start_daemon),        CALL(stop_daemon),     CALL(run),
		CALL(get_timeout),         CALL(get_daemon_info), CALL(create_response_from_buffer),
		CALL(add_response_header), CALL(queue_response),  CALL(destroy_response),
	};
	/* the agent's HTTPS server (node-agent/agent_serve.c) */
	static const struct {
		const char *name;
		size_t off;
	} more[] = {
		CALL(create_response_from_callback), CALL(suspend_connection),      CALL(resume_connection),
		CALL(get_connection_info),           CALL(lookup_connection_value), CALL(set_connection_option),
		CALL(create_response_for_upgrade),   CALL(upgrade_action),          CALL(get_connection_values),
	};
	struct health_mhd m;
	void *lib;

	if (health_mhd.run)
		return 0;
	if (!(lib = dlopen(MHD_SONAME, RTLD_NOW | RTLD_LOCAL))) {
		snprintf(err, len, "cannot load %s for the health server: %s", MHD_SONAME, dlerror());
		return -1;
	}
	for (size_t i = 0; i < sizeof(calls) / sizeof(calls[0]) + sizeof(more) / sizeof(more[0]); i++) {
		size_t n = sizeof(calls) / sizeof(calls[0]), off = i < n ? calls[i].off : more[i - n].off;
		const char *name = i < n ? calls[i].name : more[i - n].name;
		/* POSIX's way to store what dlsym returns in a function pointer. */
		void **slot = (void **)((char *)&m + off);

		if (!(*slot = dlsym(lib, name))) {
			snprintf(err, len, "%s has no %s", MHD_SONAME, name);
			dlclose(lib);
			return -1;
		}
	}
	health_mhd = m;
	return 0;
}
