/*
 * th_podhttp.h: ask the test image's httpd which pod answered
 * (th_podhttp.c). Each pod of manifests/test/ answers GET / with a body
 * holding "pod=NAME". Also a free port for a test's host port.
 */
#ifndef SKIFF_TH_PODHTTP_H
#define SKIFF_TH_PODHTTP_H

#include <stddef.h>

/* Connect to ip:port over TCP with timeout_s for the connect and for
 * every later read and write; the socket, or -1. */
int th_http_dial(const char *ip, int port, int timeout_s);

/* Send "GET / HTTP/1.0" with Host: host on the connected socket fd, read
 * the answer to its end (the socket's own timeouts bound the wait), close
 * fd, and put the "pod=" name of a 200 answer into pod ("" for anything
 * else). */
void th_http_pod(int fd, const char *host, char *pod, size_t len);

/* A TCP port free on this host now (bound to port 0 and closed), or -1. */
int th_free_port(void);

#endif
