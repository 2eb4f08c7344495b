/*
 * daemon_tls.c: keep OpenSSL small when no TLS is configured.
 *
 * libcurl (7.88, OpenSSL build) initialises OpenSSL in curl_global_init
 * whatever the flags: it reads openssl.cnf, loads every error string and
 * (through OPENSSL_init_ssl) registers every cipher and digest by name,
 * about 1.1 MB of resident libcrypto pages and heap that a daemon talking
 * plain http:// to etcd (and a unix socket to Docker) never uses. When no
 * endpoint is https:// and no TLS file is given, this initialises OpenSSL
 * first without its config, strings and name tables; OpenSSL runs each
 * part of its set-up once per process, so curl's later request for them is
 * a no-op. With TLS configured it does nothing and curl's full set-up
 * follows. It does not touch a libcurl built on another TLS library, nor
 * the built-in engines curl asks for (OpenSSL has no way to refuse those).
 */
#include <curl/curl.h>
#include <openssl/ssl.h>
#include <string.h>
#include <strings.h>

#include "daemon_internal.h"

static int
wants_tls(const struct skiff_opts *o)
{
	const char *s;

	if (o->etcd_cacert || o->etcd_cert || o->etcd_key)
		return 1;
	for (s = o->etcd_endpoints; s && *s; s++)
		if (strncasecmp(s, "https://", 8) == 0)
			return 1;
	return 0;
}

void
daemon_tls_init(const struct skiff_opts *o)
{
	const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);

	if (wants_tls(o) || !v->ssl_version || strncmp(v->ssl_version, "OpenSSL/", 8) != 0)
		return;
	OPENSSL_init_ssl(OPENSSL_INIT_NO_LOAD_CONFIG | OPENSSL_INIT_NO_LOAD_SSL_STRINGS |
	                         OPENSSL_INIT_NO_LOAD_CRYPTO_STRINGS | OPENSSL_INIT_NO_ADD_ALL_CIPHERS |
	                         OPENSSL_INIT_NO_ADD_ALL_DIGESTS,
	                 NULL);
}
