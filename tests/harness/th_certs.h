/*
 * th_certs.h: a throwaway PKI for tests of the agent's HTTPS server, made
 * with the openssl command: the admin CA, a server certificate for
 * 127.0.0.1, an admin client certificate, and an attacker's CA with its
 * own client certificate. Nothing here asserts.
 */
#ifndef SKIFF_TESTS_TH_CERTS_H
#define SKIFF_TESTS_TH_CERTS_H

#include <stddef.h>

/* Write into dir (which exists): ca.pem/ca.key (the admin CA),
 * server.pem/server.key (signed by it, subjectAltName IP:127.0.0.1),
 * client.pem/client.key (signed by it), evilca.pem/evilca.key and
 * evil.pem/evil.key (signed by evilca). 0, or -1 (openssl's output in
 * dir/certs.log). */
int th_certs_make(const char *dir);
/* dir/name into buf; returns buf. */
const char *th_certs_file(char *buf, size_t len, const char *dir, const char *name);

/* GET url, checking the server against dir/ca.pem, with the client
 * certificate dir/NAME.pem and key dir/NAME.key (name NULL: none), within
 * 20 s: the HTTP status (0 when none came); *body what came (new, never
 * NULL). */
long th_certs_get(const char *url, const char *dir, const char *name, char **body);

#endif
