/*
 * th_agentpod.h: what the agent's Docker tests do around one pod: bind it
 * to a node, wait (to a deadline) for a file its containers write through
 * a hostPath or for text in its status or events, count its containers.
 * No Check here (bench links the harness): calls return what the test
 * asserts. A wait that times out kills the agent, printing its log.
 */
#ifndef SKIFF_TESTS_TH_AGENTPOD_H
#define SKIFF_TESTS_TH_AGENTPOD_H

#include "etcd_sync.h"
#include "th_proc.h"

/* Put PREFIX/bindings/NODE/POD for pod (uid, spec: the spec's JSON text):
 * the revision, <= 0 when the put failed. */
long long th_bind_pod(struct etcd_sync *s, const char *prefix, const char *node, const char *pod, const char *uid,
                      const char *spec);
/* Wait up to 45 s until path holds exactly want: 0, or -1 (agent freed). */
int th_wait_file(struct th_proc *agent, const char *path, const char *want);
/* Every value under key prefix, each + '\n', as one string (new). */
char *th_values_under(struct etcd_sync *s, const char *prefix);
/* Whether a value under prefix holds needle; wait up to 45 s for it: 0,
 * or -1 (agent freed). */
int th_text_has(struct etcd_sync *s, const char *prefix, const char *needle);
int th_wait_text(struct etcd_sync *s, struct th_proc *agent, const char *prefix, const char *needle);
/* How many Docker containers carry skiff.node=node and skiff.pod=pod. */
int th_pod_containers(const char *node, const char *pod);

/* Asserting forms for Check tests whose etcd client is a global S. */
#define TH_BIND_POD(...) ck_assert(th_bind_pod(S, __VA_ARGS__) > 0)
#define TH_WAIT_FILE(agent, path, want) \
	ck_assert_msg(th_wait_file(agent, path, want) == 0, "%s: not \"%s\" after 45 s", path, want)
#define TH_WAIT_TEXT(agent, prefix, needle) \
	ck_assert_msg(th_wait_text(S, agent, prefix, needle) == 0, "%s: no \"%s\" after 45 s", prefix, needle)

/* A Docker suite's scratch space: "TAG<pid>" into run (the containers'
 * skiff.node label), a new /tmp/skiff-NAME-XXXXXX into dir with share/
 * (mode) inside it into share; a dockerd and the test image made sure of.
 * Aborts when any of it fails (a suite setup cannot fail otherwise). */
void th_agent_scratch(char tag, const char *name, unsigned mode, char *run, size_t rlen, char *dir, size_t dlen,
                      char *share, size_t slen);
/* The run's containers and dir removed; who names the suite in a complaint. */
void th_agent_scratch_free(const char *who, const char *run, const char *dir);

#endif
