/*
 * events.h: the event recorder. Writes P/events/KIND/NAME/ID (contract
 * "Event"; P/nodeevents/NODE/KIND/NAME/ID for programs on a node) attached to a shared lease of 1 h, so events vanish by
 * themselves about an hour after their last update. A repeat of the same
 * event (same source, reason and message, hence the same ID) updates
 * count and lastTimestamp instead of adding a key.
 *
 * Recording never blocks and never fails loudly: writes are asynchronous,
 * repeats are merged, one event key is written at most once per 10 s
 * (the first occurrence at once), at most 32 writes are in flight, and a
 * write that fails is dropped after a few tries (events are advisory).
 */
#ifndef SKIFF_EVENTS_H
#define SKIFF_EVENTS_H

#include "etcd.h"

struct recorder;

/* prefix is P (e.g. "/skiff"); source names the component ("scheduler").
 * The control plane's events go under P/events/; a program running with a
 * node's etcd user (agent, proxy) writes under P/nodeevents/NODE/ instead,
 * the one events prefix the node's role may write (docs/keys.md). */
struct recorder *recorder_new(struct etcd_client *c, const char *prefix, const char *source);
struct recorder *recorder_new_node(struct etcd_client *c, const char *prefix, const char *node, const char *source);
void recorder_free(struct recorder *r);

/* kind is one of "pods", "controllers", "services", "nodes",
 * "deployments"; type is
 * "Normal" or "Warning". A name that cannot be a key segment is replaced
 * by "invalid-<hash>" and quoted in the message. */
void recorder_eventf(struct recorder *r, const char *kind, const char *name, const char *type, const char *reason,
                     const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* Seconds between two writes of one event key (default 10; tests use
 * less). */
void recorder_set_interval(struct recorder *r, double seconds);
/* Write everything waiting now and from now on without waiting for the
 * interval (at shutdown, before waiting for recorder_pending to reach 0). */
void recorder_flush(struct recorder *r);

/* Writes still to do, waiting or in flight (for tests and clean shutdown). */
int recorder_pending(const struct recorder *r);

/* The key an event would get (for tests): writes into buf. */
void recorder_event_key(const struct recorder *r, const char *kind, const char *name, const char *reason,
                        const char *message, char *buf, size_t len);

#endif
