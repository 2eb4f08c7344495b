/*
 * unit_volumes.h: helpers the volume unit tests share (check_agent_volpaths.c,
 * check_agent_cmvol.c): removing the test's temporary directory and a pod
 * with uid 42 from its spec. Static: each test program includes it once.
 */
#ifndef SKIFF_UNIT_VOLUMES_H
#define SKIFF_UNIT_VOLUMES_H

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"

/* rm -rf dir, asserting it worked. */
static void
uv_remove_tree(const char *dir)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

/* A pod named web with uid 42 from its spec (JSON); free with api_pod_free. */
static struct api_pod *
uv_pod_of(const char *spec)
{
	char buf[2048];
	struct api_errors errs = {0};
	struct api_pod *p;

	snprintf(buf, sizeof(buf), "{\"metadata\":{\"name\":\"web\",\"uid\":\"42\"},\"spec\":%s}", spec);
	p = api_pod_parse(buf, strlen(buf), &errs);
	ck_assert_msg(p != NULL, "%s: %s", errs.n ? errs.items[0].field : "", errs.n ? errs.items[0].msg : "");
	return p;
}

#endif
