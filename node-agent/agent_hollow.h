/*
 * agent_hollow.h: the hollow runtime (agent_hollow.c), an in-memory Docker
 * Engine behind the dk_* interface of agent.h, for `skiff-agent --runtime
 * hollow`: a thousand agents on one machine run the real agent code with
 * no Docker, no containers and nothing made on the host.
 */
#ifndef SKIFF_AGENT_HOLLOW_H
#define SKIFF_AGENT_HOLLOW_H

#include "agent.h"

/* Turn the hollow runtime on for this process (before dk_new): every
 * dk_* call then goes to agent_hollow.c. start_delay_ms: how long a
 * container's start takes before it runs (its start answer comes then). */
void hollow_configure(long start_delay_ms);
/* 1 once hollow_configure was called. */
int hollow_on(void);

/* The dk_* interface of agent.h, answered in memory; agent_docker.c hands
 * its calls here when hollow_on(). Same contracts: every request ends in
 * exactly one done callback, on the loop and never inside dk_call (streams
 * such as /events stay open until cancelled), unless cancelled or the
 * client freed. */
struct dk *hollow_dk_new(struct ev_loop *loop);
void hollow_dk_free(struct dk *d);
struct dk_req *hollow_dk_call(struct dk *d, const struct dk_call_opts *o);
void hollow_dk_cancel(struct dk_req *r);

#endif
