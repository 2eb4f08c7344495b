/*
 * api_keys.c: build and parse the contract's keys (see api_keys.h). Every
 * part is checked against the rule of its place before a key is written,
 * and after one is split, so a name with '/', "..", NUL or of the wrong
 * length never makes or matches a key.
 */
#include <stdio.h>
#include <string.h>

#include "api_keys.h"
#include "api_net.h"

static const char *const dirs[API_KIND_COUNT] = {
	[API_POD] = "pods",
	[API_CONTROLLER] = "controllers",
	[API_SERVICE] = "services",
	[API_NODE] = "nodes",
	[API_NODELEASE] = "nodeleases",
	[API_BINDING] = "bindings",
	[API_PODSTATUS] = "podstatus",
	[API_CONTROLLERSTATUS] = "controllerstatus",
	[API_ENDPOINTS] = "endpoints",
	[API_SERVICEIP] = "serviceips",
	[API_NETWORKCONFIG] = "network/config",
	[API_SUBNET] = "network/subnets",
	[API_EVENT] = "events",
	[API_LEADER] = "leaders",
	[API_NODESTATUS] = "nodestatus",
	[API_NODEEVENT] = "nodeevents",
	[API_CONFIGMAP] = "configmaps",
	[API_SECRET] = "secrets",
	[API_NODECONFIG] = "nodeconfig",
	[API_DEPLOYMENT] = "deployments",
	[API_DEPLOYMENTSTATUS] = "deploymentstatus",
	[API_PROXYSTATUS] = "proxystatus",
};

const char *
api_kind_dir(enum api_kind k)
{
	return (unsigned)k < API_KIND_COUNT ? dirs[k] : NULL;
}

static int
segment_char(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
	       c == '-';
}

int
api_check_event_id(const char *s, struct api_error *err)
{
	char q[96];
	size_t i;

	for (i = 0; s[i] && segment_char((unsigned char)s[i]); i++)
		;
	if (i == 0 || s[i] || i > API_SUBDOMAIN_MAX || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return api_error_set(err, "%s is not a valid ID (1 to %d of A-Z a-z 0-9 . _ -, not . or ..)",
		                     api_quote(q, sizeof(q), s), API_SUBDOMAIN_MAX);
	return 0;
}

int
api_prefix_check(const char *prefix, struct api_error *err)
{
	char q[96];
	const char *p = prefix, *seg;

	if (strlen(prefix) > API_PREFIX_MAX)
		return api_error_set(err, "prefix is longer than %d bytes", API_PREFIX_MAX);
	if (*p != '/')
		goto bad;
	while (*p == '/') {
		seg = ++p;
		while (segment_char((unsigned char)*p))
			p++;
		if (p == seg || (p - seg == 1 && seg[0] == '.') || (p - seg == 2 && seg[0] == '.' && seg[1] == '.'))
			goto bad;
	}
	if (*p)
		goto bad;
	return 0;
bad:
	return api_error_set(err, "prefix %s must be /name[/name...] with names of A-Z a-z 0-9 . _ - (like /skiff)",
	                     api_quote(q, sizeof(q), prefix));
}

/* Check one part: what rule applies at its place. */
enum part_rule { PART_LABEL, PART_SUBDOMAIN, PART_IP, PART_ID, PART_KIND };

static int
check_part(const char *role, const char *s, enum part_rule rule, struct api_error *err)
{
	struct api_error e;
	uint32_t a;
	int rc;

	switch (rule) {
	case PART_LABEL: rc = api_check_dns_label(s, &e); break;
	case PART_SUBDOMAIN: rc = api_check_dns_subdomain(s, &e); break;
	case PART_IP: rc = api_ipv4_parse(s, &a, &e); break;
	case PART_ID: rc = api_check_event_id(s, &e); break;
	default: rc = api_error_set(&e, "unknown"); break;
	}
	if (rc < 0)
		return api_error_set(err, "%s: %s", role, e.msg);
	return 0;
}

/* The rule for the name of an object of kind k in its key. */
static enum part_rule
name_rule(enum api_kind k)
{
	switch (k) {
	case API_NODE:
	case API_NODELEASE:
	case API_NODESTATUS:
	case API_CONFIGMAP:
	case API_SECRET:
	case API_SUBNET:
	case API_PROXYSTATUS: return PART_SUBDOMAIN;
	case API_SERVICEIP: return PART_IP;
	default: return PART_LABEL;
	}
}

/* The kinds events may be about. */
static int
event_object(enum api_kind k)
{
	return k == API_POD || k == API_CONTROLLER || k == API_SERVICE || k == API_NODE || k == API_DEPLOYMENT;
}

/* Check every part k needs; the others must be empty. */
static int
check_key(const struct api_key *k, struct api_error *err)
{
	switch (k->kind) {
	case API_POD:
	case API_CONTROLLER:
	case API_SERVICE:
	case API_NODE:
	case API_NODELEASE:
	case API_NODESTATUS:
	case API_CONTROLLERSTATUS:
	case API_ENDPOINTS:
	case API_SERVICEIP:
	case API_CONFIGMAP:
	case API_SECRET:
	case API_DEPLOYMENT:
	case API_DEPLOYMENTSTATUS:
	case API_SUBNET:
	case API_PROXYSTATUS: return check_part("name", k->name, name_rule(k->kind), err);
	case API_NODECONFIG:
		if (check_part("node name", k->node, PART_SUBDOMAIN, err) < 0)
			return -1;
		if (k->object != API_CONFIGMAP && k->object != API_SECRET)
			return api_error_set(err, "node config kind: must be configmaps or secrets");
		return check_part("name", k->name, PART_SUBDOMAIN, err);
	case API_NETWORKCONFIG: return 0;
	case API_BINDING:
	case API_PODSTATUS:
		if (check_part("node name", k->node, PART_SUBDOMAIN, err) < 0)
			return -1;
		return check_part("pod name", k->name, PART_LABEL, err);
	case API_NODEEVENT:
		if (check_part("node name", k->node, PART_SUBDOMAIN, err) < 0)
			return -1;
		/* FALLTHROUGH */
	case API_EVENT:
		if (!event_object(k->object))
			return api_error_set(err,
			                     "event kind: must be pods, controllers, services, nodes or deployments");
		if (check_part("name", k->name, name_rule(k->object), err) < 0)
			return -1;
		return check_part("event ID", k->id, PART_ID, err);
	case API_LEADER:
		if (check_part("component", k->name, PART_LABEL, err) < 0)
			return -1;
		return check_part("ID", k->id, PART_ID, err);
	default: return api_error_set(err, "unknown key kind %d", (int)k->kind);
	}
}

static int
put(char *buf, size_t len, int n, struct api_error *err)
{
	if (n < 0 || (size_t)n >= len)
		return api_error_set(err, "key does not fit in %zu bytes", len);
	(void)buf;
	return 0;
}

int
api_key_format(char *buf, size_t len, const char *prefix, const struct api_key *k, struct api_error *err)
{
	const char *dir = api_kind_dir(k->kind);

	if (api_prefix_check(prefix, err) < 0 || check_key(k, err) < 0)
		return -1;
	switch (k->kind) {
	case API_NETWORKCONFIG: return put(buf, len, snprintf(buf, len, "%s/%s", prefix, dir), err);
	case API_BINDING:
	case API_PODSTATUS: return put(buf, len, snprintf(buf, len, "%s/%s/%s/%s", prefix, dir, k->node, k->name), err);
	case API_EVENT:
		return put(buf, len,
		           snprintf(buf, len, "%s/%s/%s/%s/%s", prefix, dir, api_kind_dir(k->object), k->name, k->id),
		           err);
	case API_NODEEVENT:
		return put(buf, len,
		           snprintf(buf, len, "%s/%s/%s/%s/%s/%s", prefix, dir, k->node, api_kind_dir(k->object),
		                    k->name, k->id),
		           err);
	case API_LEADER: return put(buf, len, snprintf(buf, len, "%s/%s/%s/%s", prefix, dir, k->name, k->id), err);
	case API_NODECONFIG:
		return put(buf, len,
		           snprintf(buf, len, "%s/%s/%s/%s/%s", prefix, dir, k->node, api_kind_dir(k->object), k->name),
		           err);
	default: return put(buf, len, snprintf(buf, len, "%s/%s/%s", prefix, dir, k->name), err);
	}
}

/* Copy s into a key part, refusing what does not fit. */
static int
set_part(char *part, const char *role, const char *s, struct api_error *err)
{
	if (!s)
		return api_error_set(err, "%s: missing", role);
	if (strlen(s) > API_SUBDOMAIN_MAX)
		return api_error_set(err, "%s: must be no more than %d characters, got %zu", role, API_SUBDOMAIN_MAX,
		                     strlen(s));
	strcpy(part, s);
	return 0;
}

int
api_key_object(char *buf, size_t len, const char *prefix, enum api_kind kind, const char *name, struct api_error *err)
{
	struct api_key k = {.kind = kind};

	if (kind == API_BINDING || kind == API_PODSTATUS || kind == API_EVENT || kind == API_NODEEVENT ||
	    kind == API_LEADER || kind == API_NODECONFIG)
		return api_error_set(err, "%s keys have more than one name", api_kind_dir(kind));
	if (kind != API_NETWORKCONFIG && set_part(k.name, "name", name, err) < 0)
		return -1;
	return api_key_format(buf, len, prefix, &k, err);
}

int
api_key_on_node(char *buf, size_t len, const char *prefix, enum api_kind kind, const char *node, const char *pod,
                struct api_error *err)
{
	struct api_key k = {.kind = kind};

	if (kind != API_BINDING && kind != API_PODSTATUS)
		return api_error_set(err, "only bindings and podstatus keys are per node");
	if (set_part(k.node, "node name", node, err) < 0 || set_part(k.name, "pod name", pod, err) < 0)
		return -1;
	return api_key_format(buf, len, prefix, &k, err);
}

int
api_key_nodeconfig(char *buf, size_t len, const char *prefix, const char *node, enum api_kind object, const char *name,
                   struct api_error *err)
{
	struct api_key k = {.kind = API_NODECONFIG, .object = object};

	if (set_part(k.node, "node name", node, err) < 0 || set_part(k.name, "name", name, err) < 0)
		return -1;
	return api_key_format(buf, len, prefix, &k, err);
}

int
api_key_event(char *buf, size_t len, const char *prefix, enum api_kind object, const char *name, const char *id,
              struct api_error *err)
{
	struct api_key k = {.kind = API_EVENT, .object = object};

	if (set_part(k.name, "name", name, err) < 0 || set_part(k.id, "event ID", id, err) < 0)
		return -1;
	return api_key_format(buf, len, prefix, &k, err);
}

int
api_key_dir(char *buf, size_t len, const char *prefix, enum api_kind kind, const char *sub, struct api_error *err)
{
	const char *dir = api_kind_dir(kind);

	if (!dir)
		return api_error_set(err, "unknown key kind %d", (int)kind);
	if (api_prefix_check(prefix, err) < 0)
		return -1;
	if (!sub)
		return put(buf, len, snprintf(buf, len, "%s/%s/", prefix, dir), err);
	if (kind == API_BINDING || kind == API_PODSTATUS || kind == API_NODEEVENT || kind == API_NODECONFIG) {
		if (check_part("node name", sub, PART_SUBDOMAIN, err) < 0)
			return -1;
	} else if (kind == API_LEADER) {
		if (check_part("component", sub, PART_LABEL, err) < 0)
			return -1;
	} else {
		return api_error_set(err, "%s keys have no sub-directory", dir);
	}
	return put(buf, len, snprintf(buf, len, "%s/%s/%s/", prefix, dir, sub), err);
}

int
api_key_event_dir(char *buf, size_t len, const char *prefix, enum api_kind object, const char *name,
                  struct api_error *err)
{
	if (api_prefix_check(prefix, err) < 0)
		return -1;
	if (!event_object(object))
		return api_error_set(err, "event kind: must be pods, controllers, services, nodes or deployments");
	if (!name)
		return put(buf, len, snprintf(buf, len, "%s/events/%s/", prefix, api_kind_dir(object)), err);
	if (check_part("name", name, name_rule(object), err) < 0)
		return -1;
	return put(buf, len, snprintf(buf, len, "%s/events/%s/%s/", prefix, api_kind_dir(object), name), err);
}

/* ------------------------------------------------------------------------
 * Parsing
 */
#define MAX_SEGS 5

/* The kind whose directory is d (one segment), API_KIND_UNKNOWN if none. */
static enum api_kind
kind_of_dir(const char *d)
{
	int k;

	for (k = 1; k < API_KIND_COUNT; k++)
		if (dirs[k] && strcmp(dirs[k], d) == 0)
			return (enum api_kind)k;
	return API_KIND_UNKNOWN;
}

int
api_key_parse(const char *prefix, const char *key, size_t len, struct api_key *out, struct api_error *err)
{
	char q[96], rest[API_KEY_MAX + 1], *seg[MAX_SEGS + 1], *p;
	size_t plen = strlen(prefix);
	int n = 0, want;

	memset(out, 0, sizeof(*out));
	if (api_prefix_check(prefix, err) < 0)
		return -1;
	if (memchr(key, '\0', len))
		return api_error_set(err, "key contains a NUL byte");
	if (len <= plen + 1 || memcmp(key, prefix, plen) != 0 || key[plen] != '/')
		return api_error_set(err, "key is not under %s/", prefix);
	if (len - plen - 1 > API_KEY_MAX)
		return api_error_set(err, "key is longer than %d bytes", API_KEY_MAX);
	memcpy(rest, key + plen + 1, len - plen - 1);
	rest[len - plen - 1] = '\0';
	for (p = rest; n <= MAX_SEGS; n++) {
		seg[n] = p;
		if (!(p = strchr(p, '/'))) {
			n++;
			break;
		}
		*p++ = '\0';
	}
	if (n > MAX_SEGS)
		return api_error_set(err, "key has too many segments");
	if (n >= 2 && strcmp(seg[0], "network") == 0) {
		/* network/config and network/subnets/NODE: join the first two. */
		seg[1][-1] = '/';
		memmove(seg + 1, seg + 2, (size_t)(n - 2) * sizeof(*seg));
		n--;
	}
	out->kind = kind_of_dir(seg[0]);
	switch (out->kind) {
	case API_KIND_UNKNOWN: return api_error_set(err, "unknown key directory %s", api_quote(q, sizeof(q), seg[0]));
	case API_NETWORKCONFIG: want = 1; break;
	case API_BINDING:
	case API_PODSTATUS:
	case API_LEADER: want = 3; break;
	case API_EVENT:
	case API_NODECONFIG: want = 4; break;
	case API_NODEEVENT: want = 5; break;
	default: want = 2; break;
	}
	if (n != want)
		return api_error_set(err, "%s keys have %d segments after the prefix, got %d", seg[0], want, n);
	if (out->kind == API_NODECONFIG) {
		/* nodeconfig/NODE/KIND/NAME */
		out->object = kind_of_dir(seg[2]);
		if (set_part(out->node, "node name", seg[1], err) < 0 || set_part(out->name, "name", seg[3], err) < 0)
			return -1;
		return check_key(out, err);
	}
	if (out->kind == API_NODEEVENT) {
		/* nodeevents/NODE/KIND/NAME/ID: take NODE, then read it as an event. */
		if (set_part(out->node, "node name", seg[1], err) < 0)
			return -1;
		memmove(seg + 1, seg + 2, (size_t)(n - 2) * sizeof(*seg));
		n--;
	}
	if (out->kind == API_EVENT || out->kind == API_NODEEVENT) {
		out->object = kind_of_dir(seg[1]);
		if (!event_object(out->object))
			return api_error_set(
				err, "event kind: must be pods, controllers, services, nodes or deployments, got %s",
				api_quote(q, sizeof(q), seg[1]));
	}
	if ((out->kind == API_BINDING || out->kind == API_PODSTATUS) &&
	    set_part(out->node, "node name", seg[1], err) < 0)
		return -1;
	if (n >= 2 && set_part(out->name, "name",
	                       seg[out->kind == API_EVENT || out->kind == API_NODEEVENT || out->kind == API_BINDING ||
	                                           out->kind == API_PODSTATUS
	                                   ? 2
	                                   : 1],
	                       err) < 0)
		return -1;
	if ((out->kind == API_EVENT || out->kind == API_NODEEVENT || out->kind == API_LEADER) &&
	    set_part(out->id, "ID", seg[n - 1], err) < 0)
		return -1;
	return check_key(out, err);
}
