/*
 * agent_deadline.h: how long the agent waits for each kind of Docker call,
 * and how many calls it has open at once. Every Docker call of the agent
 * takes its deadline from here (grep DEADLINE_); agent_docker.c enforces the
 * in-flight cap. What a timed-out call means for a pod is agent_exec.c's.
 *
 * A deadline counts from when the request is sent, not from when it was
 * asked for: a call waiting for a free connection (the cap below) is not
 * Docker's fault and is not timed out. It bounds how long one hung call
 * holds a pod's pass (and so one of the --workers): no pod's work waits on
 * another pod's hung call for longer than that call's deadline.
 *
 *   kind                    deadline               why
 *   list (a pod, resync)    15 s total             reads Docker's in-memory store; seconds only with
 *                                                  thousands of containers on a loaded host
 *   inspect container/img   10 s total             one object from memory; longer means wedged
 *   create                  60 s total             writes a layer and the config on disk: slow disks
 *                                                  and big images take seconds, never a minute
 *   start                   60 s total             network (libnetwork: what deadlocked, issue 22),
 *                                                  mounts, the runtime's shim; not a pull
 *   stop                    grace + 15 s           Docker waits the grace period itself, then kills;
 *                                                  15 s for the kill and the stop's bookkeeping
 *   remove (force)          30 s total             kill, unmount, delete the layer
 *   pull                    none; 60 s idle        a big image takes as long as it takes, but a pull
 *                                                  that sends nothing for 60 s is stuck
 *   import (pause image)    none; 60 s idle        as a pull: the body is ours, Docker's answer is a
 *                                                  progress stream
 *   exec probe / hook       probe timeout + 1 s    per call (create, start, inspect), and the whole
 *                                                  run is bounded by the probe's own timer
 *   events stream           none, no idle          quiet is normal (no events); the unix socket says
 *                                                  EOF when dockerd dies, and a wedged-but-alive
 *                                                  dockerd is what the runtime check finds; on
 *                                                  recovery every pod is resynced
 *   ping, info (health)     5 s total              the cheap calls whose failures make the node not
 *                                                  ready (agent_runtime.c); on the reserved slot
 *   network (create, get)   30 s total             libnetwork's store; once at start and on change
 *
 * In flight: at most --max-docker-calls (default 64) requests are
 * open to Docker at once, the event stream and probe execs included; the
 * rest wait in FIFO order (never dropped). One slot is kept for the health
 * check, so a cap full of hung calls cannot hide Docker's state. Per pod a
 * pass makes one call at a time (pass_call refuses a second), the work
 * queue runs one pass per pod, and each probe or hook of a container runs
 * one call at a time: at most 1 + 4 per container (three probes, preStop).
 *
 * SKIFF_DOCKER_DEADLINE_SCALE=F (tests only) multiplies the pod-pass
 * deadlines above (list to import, not the health check, probes, events or
 * network) by F, so a test can time out a create without freezing Docker
 * for a minute.
 */
#ifndef SKIFF_AGENT_DEADLINE_H
#define SKIFF_AGENT_DEADLINE_H

#define DEADLINE_LIST_MS 15000
#define DEADLINE_INSPECT_MS 10000
#define DEADLINE_CREATE_MS 60000
#define DEADLINE_START_MS 60000
#define DEADLINE_STOP_MARGIN_MS 15000 /* after the grace period */
#define DEADLINE_REMOVE_MS 30000
#define DEADLINE_PULL_IDLE_S 60
#define DEADLINE_IMPORT_IDLE_S 60
#define DEADLINE_EXEC_MS 1000 /* after the probe's timeout */
#define DEADLINE_HEALTH_MS 5000
#define DEADLINE_NETWORK_MS 30000

#define DEADLINE_MIN_CALLS 3 /* the event stream, one call, the health check's slot */

/* The pod-pass deadline ms (or idle seconds) after
 * SKIFF_DOCKER_DEADLINE_SCALE; at least 100 (ms) or 1 (s). */
long deadline_ms(long ms);
long deadline_idle_s(long s);

#endif
