/*
 * health_mhd.h: the libmicrohttpd calls health.c makes, through pointers
 * that health_mhd_load fills from dlopen on the first health_listen. A
 * program that serves no health (skiff-dns by default) then never loads
 * libmicrohttpd, whose constructor initialises GnuTLS (with p11-kit, about
 * 0.8 MB resident). Programs that link libmicrohttpd anyway get the copy
 * already loaded. Not for components.
 */
#ifndef SKIFF_HEALTH_MHD_H
#define SKIFF_HEALTH_MHD_H

#include <microhttpd.h>

struct health_mhd {
	__typeof__(MHD_start_daemon) *start_daemon;
	__typeof__(MHD_stop_daemon) *stop_daemon;
	__typeof__(MHD_run) *run;
	__typeof__(MHD_get_timeout) *get_timeout;
	__typeof__(MHD_get_daemon_info) *get_daemon_info;
	__typeof__(MHD_create_response_from_buffer) *create_response_from_buffer;
	__typeof__(MHD_add_response_header) *add_response_header;
	__typeof__(MHD_queue_response) *queue_response;
	__typeof__(MHD_destroy_response) *destroy_response;
	/* the agent's HTTPS server (node-agent/agent_serve.c) */
	__typeof__(MHD_create_response_from_callback) *create_response_from_callback;
	__typeof__(MHD_suspend_connection) *suspend_connection;
	__typeof__(MHD_resume_connection) *resume_connection;
	__typeof__(MHD_get_connection_info) *get_connection_info;
	__typeof__(MHD_lookup_connection_value) *lookup_connection_value;
	__typeof__(MHD_set_connection_option) *set_connection_option;
	__typeof__(MHD_create_response_for_upgrade) *create_response_for_upgrade;
	__typeof__(MHD_upgrade_action) *upgrade_action;
	__typeof__(MHD_get_connection_values) *get_connection_values;
};

/* Filled by health_mhd_load; all NULL before. */
extern struct health_mhd health_mhd;

/* Load libmicrohttpd (once; later calls are free). 0, or -1 with why in
 * err (the library is not installed or lacks a call). */
int health_mhd_load(char *err, size_t len);

#endif
