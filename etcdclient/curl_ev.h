/*
 * curl_ev.h: libcurl's multi-socket API driven by a libev loop (the shape
 * of curl's evhiperfifo.c): one ev_timer for curl's timeouts, one ev_io per
 * socket curl asks about. Shared by the etcd client and the agent's Docker
 * client; each owns its transfers and reads finished ones in done().
 */
#ifndef SKIFF_CURL_EV_H
#define SKIFF_CURL_EV_H

#include <curl/curl.h>
#include <ev.h>

struct curl_ev {
	struct ev_loop *loop;
	CURLM *multi;
	ev_timer timer;
	int in_curl;                        /* > 0 inside curl_multi_socket_action */
	void (*done)(struct curl_ev *ce);   /* after every socket action, outside curl */
};

/* Make ce->multi and hook it to loop. 0, or -1 when curl cannot. */
int curl_ev_init(struct curl_ev *ce, struct ev_loop *loop, void (*done)(struct curl_ev *ce));
/* Stop the timer and free the multi handle (remove easy handles first). */
void curl_ev_cleanup(struct curl_ev *ce);

#endif
