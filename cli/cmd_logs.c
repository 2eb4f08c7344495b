/*
 * cmd_logs.c: "skiffctl logs POD [-c C] [-f] [--tail N] [--since 10m]
 * [--timestamps] [--previous]": the container's output from the agent of
 * the pod's node (GET /containerLogs/POD/C over mutual TLS,
 * node-agent/agent_serve.c), copied to stdout as it comes. It does not
 * retry a broken stream, and it does not read Docker or the node itself.
 */
#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_stream.h"

#define LOGS_HELP                                                                              \
	"Print a container's log (stdout and stderr) from the agent of the pod's node, over\n" \
	"HTTPS with a client certificate of the admin CA. -c names the container (default:\n"  \
	"the pod's first), -f follows it. Exit 0 when the log ended, 1 on any failure."

static const char *container_flag;
static int follow_flag, previous_flag, timestamps_flag;
static long tail_flag, since_flag;
static struct ctl_tls tls;

static const struct flag logs_flags[] = {
	{"container", FLAG_STRING, &container_flag, "", NULL, "the container (-c; default: the pod's first)", "NAME",
         NULL},
	{"follow", FLAG_BOOL, &follow_flag, "false", NULL, "keep printing what the container writes (-f)", NULL, NULL},
	{"previous", FLAG_BOOL, &previous_flag, "false", NULL,
         "the previous instance (refused: the agent removes it when it restarts the container)", NULL, NULL},
	{"tail", FLAG_INT, &tail_flag, "-1", NULL, "only the last N lines (-1: all)", "N", NULL},
	{"since", FLAG_DURATION, &since_flag, "0s", NULL, "only lines newer than this (e.g. 10m)", NULL, NULL},
	{"timestamps", FLAG_BOOL, &timestamps_flag, "false", NULL, "start each line with its RFC 3339 time", NULL,
         NULL},
	CTL_TLS_FLAGS(tls),
	{0}};

static const struct skiff_prog prog = {
	.client = 1, .name = "skiffctl logs", .summary = LOGS_HELP, .args = "POD", .flags = logs_flags};

void
cmd_logs_usage(FILE *f)
{
	opts_help(&prog, f);
}

/* What the transfer writes: the body to out while the status is 200,
 * else kept (up to a bound) for the error message. */
struct sink {
	CURL *e;
	FILE *out;
	char err[1024];
	size_t elen;
};

static size_t
sink_write(char *p, size_t sz, size_t n, void *ud)
{
	struct sink *s = ud;
	long status = 0;
	size_t len = sz * n, k;

	curl_easy_getinfo(s->e, CURLINFO_RESPONSE_CODE, &status);
	if (status == 200) {
		if (fwrite(p, 1, len, s->out) != len)
			return 0;
		fflush(s->out);
		return len;
	}
	k = len < sizeof(s->err) - 1 - s->elen ? len : sizeof(s->err) - 1 - s->elen;
	memcpy(s->err + s->elen, p, k);
	s->elen += k;
	s->err[s->elen] = '\0';
	return len;
}

/* "-f" and "-c NAME" as the flag parser knows them, in a new argv. */
static char **
long_flags(int argc, char **argv)
{
	char **v = calloc((size_t)argc + 1, sizeof(char *));
	int only_args = 0;

	for (int i = 0; v && i < argc; i++) {
		only_args |= strcmp(argv[i], "--") == 0;
		v[i] = argv[i];
		if (!only_args && strcmp(argv[i], "-f") == 0)
			v[i] = "--follow";
		else if (!only_args && strcmp(argv[i], "-c") == 0)
			v[i] = "--container";
	}
	return v;
}

static int
fetch(struct ctl *c, const char *url)
{
	struct sink s = {.out = c->out};
	long status = 0;
	CURLcode rc;

	if (!(s.e = curl_easy_init()))
		return SKIFFCTL_EXIT_FAIL;
	curl_easy_setopt(s.e, CURLOPT_URL, url);
	curl_easy_setopt(s.e, CURLOPT_WRITEFUNCTION, sink_write);
	curl_easy_setopt(s.e, CURLOPT_WRITEDATA, &s);
	curl_easy_setopt(s.e, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
	curl_easy_setopt(s.e, CURLOPT_NOSIGNAL, 1L);
	ctl_stream_tls(s.e, &tls);
	rc = curl_easy_perform(s.e);
	curl_easy_getinfo(s.e, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(s.e);
	if (rc == CURLE_OK && status == 200)
		return SKIFFCTL_EXIT_OK;
	if (status && status != 200)
		fprintf(c->err, "%s: the agent answered %ld: %s%s", c->name, status, s.err,
		        s.elen && s.err[s.elen - 1] == '\n' ? "" : "\n");
	else
		fprintf(c->err, "%s: %s: %s (check --client-cert, --client-key and --ca)\n", c->name, url,
		        curl_easy_strerror(rc));
	return SKIFFCTL_EXIT_FAIL;
}

int
cmd_logs(int argc, char **argv, FILE *out, FILE *err)
{
	char **v = long_flags(argc, argv), url[1024];
	struct ctl_target t;
	struct ctl c;
	int rc, n;

	if (!v) {
		fprintf(err, "skiffctl logs: out of memory\n");
		return SKIFFCTL_EXIT_FAIL;
	}
	if ((rc = ctl_parse(&c, &prog, argc, v, out, err, 0)) != CTL_CONTINUE)
		goto done;
	if (c.nargs != 1) {
		rc = ctl_usage_error(&c, &prog, "expected one POD");
		goto done;
	}
	rc = SKIFFCTL_EXIT_FAIL;
	if (ctl_connect(&c) < 0 || ctl_stream_target(&c, c.args[0], *container_flag ? container_flag : NULL, &t) < 0)
		goto done;
	n = snprintf(url, sizeof(url), "%s/containerLogs/%s/%s?follow=%d&timestamps=%d", t.base, c.args[0], t.container,
	             follow_flag, timestamps_flag);
	if (tail_flag >= 0)
		n += snprintf(url + n, sizeof(url) - (size_t)n, "&tailLines=%ld", tail_flag);
	if (since_flag > 0)
		n += snprintf(url + n, sizeof(url) - (size_t)n, "&sinceSeconds=%ld", (since_flag + 999) / 1000);
	if (previous_flag)
		snprintf(url + n, sizeof(url) - (size_t)n, "&previous=1");
	rc = fetch(&c, url);
done:
	ctl_done(&c);
	free(v);
	return rc;
}
