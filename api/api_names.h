/*
 * api_names.h: the syntax of names and small values of the contract:
 * DNS-1123 labels (pods, controllers, services, containers) and subdomains
 * (nodes), label keys and values, port names, environment variable names,
 * uids (decimal create revisions) and image references.
 *
 * Each check returns 0 when s is valid, else -1 with err (may be NULL)
 * saying what is wrong, without a field path. O(strlen(s)).
 */
#ifndef SKIFF_API_NAMES_H
#define SKIFF_API_NAMES_H

#include <stddef.h>

#include "api_errors.h"

#define API_LABEL_MAX 63      /* DNS-1123 label, label name, label value */
#define API_SUBDOMAIN_MAX 253 /* DNS-1123 subdomain */
#define API_RANDOM_SUFFIX 5   /* RC-xxxxx */

int api_check_dns_label(const char *s, struct api_error *err);
int api_check_dns_subdomain(const char *s, struct api_error *err);
/* Kubernetes qualified name: [DNS-subdomain "/"] name, name 1..63 of
 * [A-Za-z0-9._-] starting and ending with an alphanumeric. */
int api_check_label_key(const char *s, struct api_error *err);
/* Empty, or 1..63 of [A-Za-z0-9._-] starting and ending alphanumeric. */
int api_check_label_value(const char *s, struct api_error *err);
/* IANA service name: 1..15 of [a-z0-9-], a letter somewhere, no "--",
 * no '-' at either end. */
int api_check_port_name(const char *s, struct api_error *err);
/* [-._a-zA-Z][-._a-zA-Z0-9]* */
int api_check_env_name(const char *s, struct api_error *err);
/* A decimal create revision: 1..19 digits, no leading zero, > 0. */
int api_check_uid(const char *s, struct api_error *err);
/* Non-empty, at most 4096 bytes, no whitespace or control characters. */
int api_check_image(const char *s, struct api_error *err);
/* api_check_image, then Docker's reference grammar (api_image.c):
 * [host[:port]/]path[:tag][@digest]. What pods and templates must hold. */
int api_check_image_ref(const char *s, struct api_error *err);

/* Write the name of a new pod of controller base into buf: "BASE-SUFFIX",
 * BASE cut to 57 characters so that the result is a valid label of at most
 * 63 (as Kubernetes' generateName). suffix: 5 characters of [a-z0-9].
 * Returns 0, or -1 when buf is too small or base/suffix invalid. */
int api_generate_name(char *buf, size_t len, const char *base, const char *suffix);

/* s quoted for a message: "..." with '"', '\' and non-printable bytes
 * escaped, cut to about 64 characters with "..." after. Returns buf. */
const char *api_quote(char *buf, size_t len, const char *s);

#endif
