/*
 * sched_copy.c: the pod copy a binding carries, made once when the pod is
 * cached and written out for each binding without decoding the pod again.
 * The copy is the pod serialised as api_binding_serialize serialises the
 * binding's pod (metadata.name set, metadata.uid the create revision of
 * the incarnation bound), kept with the uid's digits left out, since the
 * decoder does not know the create revision. Pure: no etcd, no globals.
 * It does not check pods; the caller gives it one that decoded.
 */
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sched.h"

/* ---- finding metadata.uid in jansson's compact output ---- */

/* s at the opening quote of a string: just past its closing quote, or
 * NULL when the text ends first. */
static const char *
skip_string(const char *s)
{
	for (s++; *s && *s != '"'; s++)
		if (*s == '\\' && !*++s)
			return NULL;
	return *s ? s + 1 : NULL;
}

/* s at a value (no whitespace around tokens, as JSON_COMPACT writes):
 * just past it, or NULL when the text is not whole. */
static const char *
skip_value(const char *s)
{
	int depth = 0;

	do {
		if (*s == '"')
			s = skip_string(s);
		else if (*s == '{' || *s == '[')
			depth++, s++;
		else if (*s == '}' || *s == ']')
			depth--, s++;
		else if (!*s)
			return NULL;
		else if (depth == 0)
			s += strcspn(s, ",}]"); /* a number, true, false or null */
		else
			s++; /* ':' or ',' or a scalar's byte inside a container */
	} while (s && depth > 0);
	return depth < 0 ? NULL : s;
}

/* s at an object: the value of its member key (which needs no escaping),
 * or NULL. O(length of the object). */
static const char *
member(const char *s, const char *key)
{
	size_t klen = strlen(key);

	if (*s++ != '{')
		return NULL;
	while (s && *s == '"') {
		const char *k = s + 1, *v = skip_string(s);

		if (!v || *v != ':')
			return NULL;
		if ((size_t)(v - 1 - k) == klen && memcmp(k, key, klen) == 0)
			return v + 1;
		if ((s = skip_value(v + 1)) && *s == ',')
			s++;
	}
	return NULL;
}

/* ---- the copy ---- */

#define UID_MARK "0" /* the uid the copy is serialised with, then cut out */

char *
sched_pod_copy(struct api_pod *pod, const char *name, size_t *uid_at)
{
	char *name0 = pod->meta.name, *uid0 = pod->meta.uid, *text, *copy;
	const char *meta, *uid;

	pod->meta.name = (char *)name;
	pod->meta.uid = (char *)UID_MARK;
	text = api_pod_serialize(pod);
	pod->meta.name = name0;
	pod->meta.uid = uid0;
	if (!text)
		return NULL;
	meta = member(text, "metadata");
	uid = meta ? member(meta, "uid") : NULL;
	if (!uid || strncmp(uid, "\"" UID_MARK "\"", strlen(UID_MARK) + 2) != 0) {
		free(text); /* cannot be: the pod has metadata with this uid */
		return NULL;
	}
	*uid_at = (size_t)(uid + 1 - text);
	memmove(text + *uid_at, text + *uid_at + strlen(UID_MARK), strlen(text + *uid_at + strlen(UID_MARK)) + 1);
	/* The dump's buffer holds 1 kB at least (api_json_dumps), and the
	 * copy lives as long as the pod is cached: keep it at its size (4 MB
	 * for bench/scheduler_bench's 10,000 pods, where the buffers took 10),
	 * and let the next pod's dump reuse the buffer. */
	copy = strdup(text);
	free(text);
	return copy;
}

/* node as jansson writes a string: new, or NULL (out of memory, or not
 * UTF-8). */
static char *
quote(const char *node)
{
	size_t len = strlen(node);
	json_t *s;
	char *q;

	if (strspn(node, "abcdefghijklmnopqrstuvwxyz0123456789.-") == len) {
		if ((q = malloc(len + 3)))
			snprintf(q, len + 3, "\"%s\"", node); /* nothing to escape */
		return q;
	}
	if (!(s = json_string(node)))
		return NULL;
	q = json_dumps(s, JSON_ENCODE_ANY | JSON_COMPACT);
	json_decref(s);
	return q;
}

char *
sched_binding_value(const char *node, const struct sched_pod *sp, int64_t uid)
{
	char digits[24], *q, *out = NULL, *w;
	size_t qlen, dlen, clen;

	if (!sp->copy || !(q = quote(node)))
		return NULL;
	qlen = strlen(q);
	dlen = (size_t)snprintf(digits, sizeof(digits), "%" PRId64, uid);
	clen = strlen(sp->copy);
	/* {"node":N,"pod":COPY}: "node" sorts before "pod" (JSON_SORT_KEYS) */
	if ((out = w = malloc(qlen + clen + dlen + 18))) {
		w = mempcpy(w, "{\"node\":", 8);
		w = mempcpy(w, q, qlen);
		w = mempcpy(w, ",\"pod\":", 7);
		w = mempcpy(w, sp->copy, sp->uid_at);
		w = mempcpy(w, digits, dlen);
		w = mempcpy(w, sp->copy + sp->uid_at, clen - sp->uid_at);
		memcpy(w, "}", 2);
	}
	free(q);
	return out;
}
