/*
 * th_certs.c: the test PKI of th_certs.h, by the openssl command (two
 * seconds or so of RSA key generation). It makes no certificate revocation
 * list and no intermediate CA.
 */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>

#include "th_certs.h"

static const char SCRIPT[] =
	"set -e; cd '%s'; exec >certs.log 2>&1\n"
	"o() { openssl \"$@\"; }\n"
	"for ca in ca evilca; do o req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=$ca -keyout $ca.key "
	"-out $ca.pem; done\n"
	"o req -newkey rsa:2048 -nodes -subj /CN=node -keyout server.key -out server.csr\n"
	"printf 'subjectAltName=IP:127.0.0.1\\n' >san.ext\n"
	"o x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile san.ext -out "
	"server.pem\n"
	"for c in client:ca evil:evilca; do n=${c%%:*}; a=${c#*:}; o req -newkey rsa:2048 -nodes -subj /CN=$n "
	"-keyout $n.key -out $n.csr; o x509 -req -in $n.csr -CA $a.pem -CAkey $a.key -CAcreateserial -days 2 -out "
	"$n.pem; done\n";

int
th_certs_make(const char *dir)
{
	char cmd[4096];

	snprintf(cmd, sizeof(cmd), SCRIPT, dir);
	return system(cmd) == 0 ? 0 : -1;
}

const char *
th_certs_file(char *buf, size_t len, const char *dir, const char *name)
{
	snprintf(buf, len, "%s/%s", dir, name);
	return buf;
}

long
th_certs_get(const char *url, const char *dir, const char *name, char **body)
{
	char ca[256], cert[256], key[256], c[64], k[64];
	CURL *e = curl_easy_init();
	size_t n = 0;
	long status = 0;
	FILE *m;

	*body = NULL;
	if (!(m = open_memstream(body, &n)) || !e) {
		if (m)
			fclose(m);
		curl_easy_cleanup(e);
		*body = *body ? *body : calloc(1, 1);
		return 0;
	}
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, m);
	curl_easy_setopt(e, CURLOPT_TIMEOUT, 20L);
	curl_easy_setopt(e, CURLOPT_CAINFO, th_certs_file(ca, sizeof(ca), dir, "ca.pem"));
	if (name) {
		snprintf(c, sizeof(c), "%s.pem", name);
		snprintf(k, sizeof(k), "%s.key", name);
		curl_easy_setopt(e, CURLOPT_SSLCERT, th_certs_file(cert, sizeof(cert), dir, c));
		curl_easy_setopt(e, CURLOPT_SSLKEY, th_certs_file(key, sizeof(key), dir, k));
	}
	curl_easy_perform(e);
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(e);
	fclose(m);
	return status;
}
