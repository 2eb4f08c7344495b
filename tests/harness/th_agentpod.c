/*
 * th_agentpod.c: helpers of the agent's Docker tests around one pod (see
 * th_agentpod.h). They poll to a deadline on the default loop; they start
 * no agent (each test picks its flags) and assert nothing themselves.
 */
#include <ev.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "docker_harness.h"
#include "etcd_harness.h"
#include "etcd_testutil.h"
#include "th_agentpod.h"

#define TH_AGENTPOD_WAIT 45 /* seconds */

long long
th_bind_pod(struct etcd_sync *s, const char *prefix, const char *node, const char *pod, const char *uid,
            const char *spec)
{
	char key[256], val[8192];

	snprintf(key, sizeof(key), "%s/bindings/%s/%s", prefix, node, pod);
	snprintf(val, sizeof(val),
	         "{\"node\":\"%s\",\"pod\":{\"metadata\":{\"name\":\"%s\",\"uid\":\"%s\"},\"spec\":%s}}", node, pod,
	         uid, spec);
	return (long long)tu_put(s, key, val);
}

struct file_want {
	const char *path, *want;
};

static int
file_is(void *arg)
{
	struct file_want *w = arg;
	char buf[256] = "";
	FILE *f = fopen(w->path, "r");
	size_t n;

	if (!f)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return strcmp(buf, w->want) == 0;
}

int
th_wait_file(struct th_proc *agent, const char *path, const char *want)
{
	struct file_want w = {path, want};

	if (th_wait(EV_DEFAULT, file_is, &w, TH_AGENTPOD_WAIT) == 0 || file_is(&w))
		return 0;
	th_proc_free(agent, 1);
	return -1;
}

char *
th_values_under(struct etcd_sync *s, const char *prefix)
{
	struct etcd_range_opts o = {.prefix = 1};
	struct etcd_result *r = etcd_sync_range(s, prefix, &o);
	size_t i, len = 1;
	char *out = calloc(1, 1);

	for (i = 0; r && r->err.code == ETCD_OK && i < r->nkvs && out; i++) {
		char *t = realloc(out, len + r->kvs[i].value_len + 1);

		if (!t)
			break;
		out = t;
		memcpy(out + len - 1, r->kvs[i].value, r->kvs[i].value_len);
		len += r->kvs[i].value_len + 1;
		out[len - 2] = '\n';
		out[len - 1] = '\0';
	}
	if (r)
		etcd_result_free(r);
	return out;
}

struct text_want {
	struct etcd_sync *s;
	const char *prefix, *needle;
};

static int
text_cond(void *arg)
{
	struct text_want *w = arg;

	return th_text_has(w->s, w->prefix, w->needle);
}

int
th_text_has(struct etcd_sync *s, const char *prefix, const char *needle)
{
	char *v = th_values_under(s, prefix);
	int ok = v && strstr(v, needle);

	free(v);
	return ok;
}

int
th_wait_text(struct etcd_sync *s, struct th_proc *agent, const char *prefix, const char *needle)
{
	struct text_want w = {s, prefix, needle};

	if (th_wait(EV_DEFAULT, text_cond, &w, TH_AGENTPOD_WAIT) == 0 || text_cond(&w))
		return 0;
	th_proc_free(agent, 1);
	return -1;
}

int
th_pod_containers(const char *node, const char *pod)
{
	char l1[128], l2[128];
	const char *labels[] = {l1, l2, NULL};

	snprintf(l1, sizeof(l1), "skiff.node=%s", node);
	snprintf(l2, sizeof(l2), "skiff.pod=%s", pod);
	return dh_list(labels, NULL);
}

void
th_agent_scratch(char tag, const char *name, unsigned mode, char *run, size_t rlen, char *dir, size_t dlen, char *share,
                 size_t slen)
{
	snprintf(run, rlen, "%c%d", tag, (int)getpid());
	snprintf(dir, dlen, "/tmp/skiff-%s-XXXXXX", name);
	if (!mkdtemp(dir) || dh_ensure_dockerd(60) < 0 || dh_ensure_test_image() < 0)
		abort();
	snprintf(share, slen, "%s/share", dir);
	if (mkdir(share, mode) < 0 || chmod(share, mode) < 0)
		abort();
}

void
th_agent_scratch_free(const char *who, const char *run, const char *dir)
{
	char cmd[128];

	dh_remove_where("skiff.node", run);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "%s: could not remove %s\n", who, dir);
}
