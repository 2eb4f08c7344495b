/*
 * agent_hollow.c: the hollow runtime of `skiff-agent --runtime hollow`
 * (agent_hollow.h). An in-memory Docker Engine answering the requests the
 * agent sends through dk_call (agent.h): containers listed with label
 * filters, created, started, inspected, stopped, removed; images
 * inspected, pulled and the pause image imported; networks inspected,
 * created, removed, listed; exec for exec probes and hooks; /_ping, /info; and the
 * /events stream. A container runs --hollow-start-delay after its start
 * (the start's answer comes then, as Docker's does once the process
 * runs) and takes an address from its network's subnet (the node's pod
 * subnet with --docker-network; 172.17.0.0/16, Docker's default bridge,
 * otherwise). Answers are queued and delivered by a timer on the agent's
 * loop, never inside dk_call, in the order they were asked.
 *
 * It runs nothing: no process, no namespace, no image on disk, no
 * network device. Every image is present except the pause image until it
 * is imported; an exec exits 0 unless its command is "false". A container
 * never exits by itself (no crash, no OOM). It keeps nothing across
 * restarts of the agent (Docker would), so a restarted hollow agent
 * creates its pods' containers again.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent_hollow.h"

enum { HC_CREATED, HC_RUNNING, HC_EXITED };

struct hctr {
	char id[65];
	char *name;
	json_t *labels; /* owned */
	char *image;
	char *netmode; /* HostConfig.NetworkMode, NULL for Docker's default */
	char net[64];  /* the network its address is on, "" without one */
	char ip[16];
	int state;
	int exit_code;
	char started[40], finished[40];
	struct hctr *next;
};

struct hnet {
	char id[65];
	json_t *j; /* the create body, Id added */
	uint32_t base, mask;
	struct hnet *next;
};

struct hexec {
	char id[65];
	int code;
	struct hexec *next;
};

struct hreq {
	struct hollow *h;
	char method[8];
	char *path;      /* without the query */
	json_t *q;       /* query parameters, decoded ({"name":…, "filters":…}) */
	json_t *in;      /* the body when it is JSON */
	json_t *filters; /* the query's filters, decoded */
	double due;      /* loop time its answer is due */
	uint64_t n;      /* order of arrival */
	int stream;      /* an open /events stream */
	int dead;        /* cancelled while a callback ran: freed after it */
	dk_line_fn on_line;
	dk_done_fn done;
	void *arg;
	struct hreq *next, *prev;
};

struct hollow {
	struct ev_loop *loop;
	ev_timer tick;
	struct hreq *reqs;  /* queued answers and open streams */
	struct hreq *grave; /* cancelled during a callback */
	int busy;           /* callbacks running */
	uint64_t seq;
	struct hctr *ctrs;
	struct hnet *nets;
	struct hexec *execs;
	int pause_ready;
	unsigned long ids;
};

/* A queued request's answer. The route functions fill it and return
 * its status. */
struct hans {
	long status;
	char *body;    /* new */
	json_t *lines; /* streamed lines before the end, or NULL */
};

static long hollow_delay_ms = -1;

void
hollow_configure(long start_delay_ms)
{
	hollow_delay_ms = start_delay_ms < 0 ? 0 : start_delay_ms;
}

int
hollow_on(void)
{
	return hollow_delay_ms >= 0;
}

/* ---------------------------------------------------------------- helpers */

static void
new_id(struct hollow *h, char out[65])
{
	snprintf(out, 65, "%08x%08lx%048d", (unsigned)getpid(), ++h->ids, 0);
}

/* Now as Docker writes it (whole seconds here). */
static void
now_rfc3339(char *buf, size_t len)
{
	api_time_format(time(NULL), buf, len);
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* %XX (and '+' when plus) decoded in place; returns s. */
static char *
url_decode(char *s, int plus)
{
	char *r, *w;

	for (r = w = s; *r; r++, w++) {
		if (*r == '%' && hexval(r[1]) >= 0 && hexval(r[2]) >= 0) {
			*w = (char)(hexval(r[1]) * 16 + hexval(r[2]));
			r += 2;
		} else {
			*w = plus && *r == '+' ? ' ' : *r;
		}
	}
	*w = '\0';
	return s;
}

/* The query "a=b&c=d" decoded into an object (new). */
static json_t *
parse_query(const char *q)
{
	json_t *o = json_object();
	char *buf = strdup(q ? q : ""), *tok, *save = NULL;

	for (tok = buf ? strtok_r(buf, "&", &save) : NULL; tok; tok = strtok_r(NULL, "&", &save)) {
		char *eq = strchr(tok, '=');

		if (eq)
			*eq++ = '\0';
		json_object_set_new(o, tok, json_string(eq ? url_decode(eq, 1) : ""));
	}
	free(buf);
	return o;
}

static const char *
qget(const struct hreq *r, const char *k)
{
	return json_string_value(json_object_get(r->q, k));
}

static int
answer(struct hans *a, long status, json_t *j)
{
	a->status = status;
	a->body = j ? json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
	json_decref(j);
	return (int)status;
}

static int
answer_msg(struct hans *a, long status, const char *msg)
{
	return answer(a, status, json_pack("{s:s}", "message", msg));
}

/* Whether labels (and the event's action, NULL for a list) pass a
 * request's decoded filters: every "label" entry k or k=v, and one of
 * "event". */
static int
filters_pass(const json_t *f, const json_t *labels, const char *action)
{
	json_t *v;
	size_t i;
	int ok = 1;

	json_array_foreach(json_object_get(f, "label"), i, v) {
		const char *s = json_string_value(v), *eq = s ? strchr(s, '=') : NULL;
		char k[256];
		const char *have;

		snprintf(k, sizeof(k), "%.*s", eq ? (int)(eq - s) : (int)(s ? strlen(s) : 0), s ? s : "");
		have = json_string_value(json_object_get(labels, k));
		if (!have || (eq && strcmp(have, eq + 1) != 0))
			ok = 0;
	}
	if (ok && action && json_array_size(json_object_get(f, "event"))) {
		ok = 0;
		json_array_foreach(json_object_get(f, "event"), i, v) {
			if (json_is_string(v) && strcmp(json_string_value(v), action) == 0)
				ok = 1;
		}
	}
	return ok;
}

static struct hctr *
find_ctr(struct hollow *h, const char *ref)
{
	struct hctr *c;

	for (c = h->ctrs; c; c = c->next)
		if (strcmp(c->id, ref) == 0 || strcmp(c->name, ref) == 0)
			return c;
	return NULL;
}

static struct hnet *
find_net(struct hollow *h, const char *ref)
{
	struct hnet *n;

	for (n = h->nets; n; n = n->next)
		if (strcmp(n->id, ref) == 0 || strcmp(json_string_value(json_object_get(n->j, "Name")), ref) == 0)
			return n;
	return NULL;
}

/* ---------------------------------------------------------------- events */

static void req_free(struct hreq *r);
static void req_unlink(struct hreq *r);

/* One line to a stream; a non-zero return ends it with its callback. */
static void
stream_line(struct hreq *r, const char *line)
{
	struct dk_resp resp = {.status = 200, .body = (char *)"", .len = 0};

	if (r->dead || !r->on_line(line, strlen(line), r->arg) || r->dead)
		return;
	req_unlink(r);
	if (r->done)
		r->done(&resp, r->arg);
	r->dead = 1;
	r->next = r->h->grave;
	r->h->grave = r;
}

/* Docker's event (type container) for c to every open stream that wants it. */
static void
emit(struct hollow *h, const struct hctr *c, const char *action)
{
	json_t *attrs = json_deep_copy(c->labels), *ev;
	struct hreq *r, *streams[64];
	size_t n = 0, i;
	char *line;

	json_object_set_new(attrs, "name", json_string(c->name));
	json_object_set_new(attrs, "image", json_string(c->image));
	ev = json_pack("{s:s,s:s,s:s,s:s,s:{s:s,s:O},s:I}", "Type", "container", "Action", action, "status", action,
	               "id", c->id, "Actor", "ID", c->id, "Attributes", attrs, "time", (json_int_t)time(NULL));
	line = ev ? json_dumps(ev, JSON_COMPACT) : NULL;
	json_decref(ev);
	for (r = h->reqs; r && line && n < 64; r = r->next)
		if (r->stream && filters_pass(r->filters, c->labels, action))
			streams[n++] = r;
	h->busy++;
	for (i = 0; i < n; i++)
		stream_line(streams[i], line);
	h->busy--;
	json_decref(attrs);
	free(line);
}

/* ---------------------------------------------------------------- containers */

static int
ip_used(struct hollow *h, const char *net, const char *ip)
{
	struct hctr *c;

	for (c = h->ctrs; c; c = c->next)
		if (strcmp(c->net, net) == 0 && strcmp(c->ip, ip) == 0)
			return 1;
	return 0;
}

/* The lowest free address of base/mask after its gateway (base + 1).
 * O(containers) per address tried. */
static int
ip_take(struct hollow *h, const char *net, uint32_t base, uint32_t mask, char out[16])
{
	char ip[16];
	uint32_t a;

	out[0] = '\0';
	for (a = base + 2; (a & mask) == base && a != (base | ~mask); a++) {
		snprintf(ip, sizeof(ip), "%u.%u.%u.%u", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255);
		if (!ip_used(h, net, ip)) {
			memcpy(out, ip, sizeof(ip));
			return 0;
		}
	}
	return -1;
}

/* c's address from the network its NetworkMode names. */
static int
ctr_address(struct hollow *h, struct hctr *c, struct hans *a)
{
	const char *nm = c->netmode;
	struct hnet *n;

	if (nm && (strncmp(nm, "container:", 10) == 0 || strcmp(nm, "host") == 0 || strcmp(nm, "none") == 0))
		return 0;
	if (!nm || strcmp(nm, "bridge") == 0 || strcmp(nm, "default") == 0) {
		snprintf(c->net, sizeof(c->net), "bridge");
		if (ip_take(h, c->net, 0xac110000u, 0xffff0000u, c->ip) == 0)
			return 0;
	} else if ((n = find_net(h, nm))) {
		snprintf(c->net, sizeof(c->net), "%s", json_string_value(json_object_get(n->j, "Name")));
		if (ip_take(h, c->net, n->base, n->mask, c->ip) == 0)
			return 0;
	} else {
		char m[160];

		snprintf(m, sizeof(m), "network %.100s not found", nm);
		answer_msg(a, 404, m);
		return -1;
	}
	c->net[0] = '\0';
	answer_msg(a, 500, "no available IPv4 addresses on this network's address pools");
	return -1;
}

static void
ctr_free(struct hctr *c)
{
	json_decref(c->labels);
	free(c->name);
	free(c->image);
	free(c->netmode);
	free(c);
}

static int
ctr_create(struct hollow *h, struct hreq *r, struct hans *a)
{
	const char *name = qget(r, "name"), *img = json_string_value(json_object_get(r->in, "Image"));
	const char *nm = json_string_value(json_object_get(json_object_get(r->in, "HostConfig"), "NetworkMode"));
	struct hctr *c;

	if (!img || !json_is_object(r->in))
		return answer_msg(a, 400, "config: no Image");
	if (name && *name && find_ctr(h, name))
		return answer_msg(a, 409, "Conflict. The container name is already in use");
	if (strcmp(img, PAUSE_IMAGE) == 0 && !h->pause_ready)
		return answer_msg(a, 404, "No such image: " PAUSE_IMAGE);
	if (!(c = calloc(1, sizeof(*c))))
		return answer_msg(a, 500, "out of memory");
	new_id(h, c->id);
	c->name = strdup(name && *name ? name : c->id);
	c->image = strdup(img);
	c->netmode = nm ? strdup(nm) : NULL;
	c->labels = json_is_object(json_object_get(r->in, "Labels")) ? json_deep_copy(json_object_get(r->in, "Labels"))
	                                                             : json_object();
	snprintf(c->started, sizeof(c->started), "0001-01-01T00:00:00Z");
	snprintf(c->finished, sizeof(c->finished), "0001-01-01T00:00:00Z");
	if (!c->name || !c->image || (nm && !c->netmode) || !c->labels) {
		ctr_free(c);
		return answer_msg(a, 500, "out of memory");
	}
	c->next = h->ctrs;
	h->ctrs = c;
	return answer(a, 201, json_pack("{s:s,s:[]}", "Id", c->id, "Warnings"));
}

static int
ctr_start(struct hollow *h, struct hctr *c, struct hans *a)
{
	if (c->state == HC_RUNNING)
		return answer(a, 304, NULL);
	if (ctr_address(h, c, a) < 0)
		return (int)a->status;
	c->state = HC_RUNNING;
	c->exit_code = 0;
	now_rfc3339(c->started, sizeof(c->started));
	emit(h, c, "start");
	return answer(a, 204, NULL);
}

static int
ctr_stop(struct hollow *h, struct hctr *c, struct hans *a)
{
	if (c->state != HC_RUNNING)
		return answer(a, 304, NULL);
	c->state = HC_EXITED;
	c->exit_code = 0;
	c->net[0] = c->ip[0] = '\0';
	now_rfc3339(c->finished, sizeof(c->finished));
	emit(h, c, "die");
	return answer(a, 204, NULL);
}

static int
ctr_remove(struct hollow *h, struct hreq *r, struct hctr *c, struct hans *a)
{
	struct hctr **pp;
	const char *force = qget(r, "force");

	if (c->state == HC_RUNNING && !(force && (strcmp(force, "1") == 0 || strcmp(force, "true") == 0)))
		return answer_msg(a, 409, "You cannot remove a running container. Stop the container before removing");
	if (c->state == HC_RUNNING)
		ctr_stop(h, c, a);
	emit(h, c, "destroy");
	for (pp = &h->ctrs; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	ctr_free(c);
	free(a->body);
	return answer(a, 204, NULL);
}

static json_t *
ctr_state(const struct hctr *c)
{
	static const char *const names[] = {"created", "running", "exited"};

	return json_pack("{s:s,s:b,s:b,s:b,s:i,s:b,s:s,s:s,s:s,s:i}", "Status", names[c->state], "Running",
	                 c->state == HC_RUNNING, "Paused", 0, "Restarting", 0, "ExitCode", c->exit_code, "OOMKilled", 0,
	                 "Error", "", "StartedAt", c->started, "FinishedAt", c->finished, "Pid",
	                 c->state == HC_RUNNING ? 1 : 0);
}

static void
ctr_inspect(struct hctr *c, struct hans *a)
{
	json_t *nets = json_object(), *j;
	char name[300];

	if (c->net[0])
		json_object_set_new(nets, c->net, json_pack("{s:s}", "IPAddress", c->ip));
	snprintf(name, sizeof(name), "/%s", c->name);
	j = json_pack("{s:s,s:s,s:s,s:o,s:{s:s,s:O},s:{s:s},s:{s:s,s:o}}", "Id", c->id, "Name", name, "Image", c->image,
	              "State", ctr_state(c), "Config", "Image", c->image, "Labels", c->labels, "HostConfig",
	              "NetworkMode", c->netmode ? c->netmode : "default", "NetworkSettings", "IPAddress",
	              strcmp(c->net, "bridge") == 0 ? c->ip : "", "Networks", nets);
	answer(a, 200, j);
}

static void
ctr_list(struct hollow *h, struct hreq *r, struct hans *a)
{
	static const char *const names[] = {"created", "running", "exited"};
	const char *all = qget(r, "all");
	json_t *arr = json_array();
	struct hctr *c;
	char name[300];

	for (c = h->ctrs; c; c = c->next) {
		if ((c->state != HC_RUNNING && !(all && strcmp(all, "0") != 0 && strcmp(all, "false") != 0)) ||
		    !filters_pass(r->filters, c->labels, NULL))
			continue;
		snprintf(name, sizeof(name), "/%s", c->name);
		json_array_append_new(arr, json_pack("{s:s,s:[s],s:s,s:s,s:O}", "Id", c->id, "Names", name, "Image",
		                                     c->image, "State", names[c->state], "Labels", c->labels));
	}
	answer(a, 200, arr);
}

/* POST /containers/ID/exec. Execs never inspected (their probe was
 * cancelled) are forgotten beyond the newest HOLLOW_MAX_EXECS. */
#define HOLLOW_MAX_EXECS 256
static int
exec_create(struct hollow *h, struct hreq *r, struct hctr *c, struct hans *a)
{
	struct hexec *e, **pp;
	const char *cmd = json_string_value(json_array_get(json_object_get(r->in, "Cmd"), 0));
	int n = 0;

	for (pp = &h->execs; *pp && ++n < HOLLOW_MAX_EXECS; pp = &(*pp)->next)
		;
	while ((e = *pp)) {
		*pp = e->next;
		free(e);
	}
	if (c->state != HC_RUNNING)
		return answer_msg(a, 409, "container is not running");
	if (!(e = calloc(1, sizeof(*e))))
		return answer_msg(a, 500, "out of memory");
	new_id(h, e->id);
	e->code = cmd && strcmp(cmd, "false") == 0 ? 1 : 0;
	e->next = h->execs;
	h->execs = e;
	return answer(a, 201, json_pack("{s:s}", "Id", e->id));
}

/* /exec/ID/start and /exec/ID/json: an exec is inspected once, after
 * its start, and forgotten then. */
static int
exec_route(struct hollow *h, struct hreq *r, const char *id, const char *what, struct hans *a)
{
	struct hexec **pp, *e = NULL;

	for (pp = &h->execs; *pp; pp = &(*pp)->next)
		if (strcmp((*pp)->id, id) == 0) {
			e = *pp;
			break;
		}
	if (!e)
		return answer_msg(a, 404, "No such exec instance");
	if (strcmp(what, "start") == 0 && strcmp(r->method, "POST") == 0) {
		a->status = 200;
		a->body = strdup("");
		return 200;
	}
	answer(a, 200, json_pack("{s:b,s:i,s:s}", "Running", 0, "ExitCode", e->code, "ID", e->id));
	*pp = e->next;
	free(e);
	return 200;
}

/* /containers/… */
static int
ctr_route(struct hollow *h, struct hreq *r, const char *rest, struct hans *a)
{
	char ref[256];
	const char *slash = strchr(rest, '/'), *what = slash ? slash + 1 : "";
	struct hctr *c;

	if (strcmp(rest, "json") == 0 && strcmp(r->method, "GET") == 0) {
		ctr_list(h, r, a);
		return 200;
	}
	if (strcmp(rest, "create") == 0 && strcmp(r->method, "POST") == 0)
		return ctr_create(h, r, a);
	snprintf(ref, sizeof(ref), "%.*s", slash ? (int)(slash - rest) : (int)strlen(rest), rest);
	if (!(c = find_ctr(h, ref)))
		return answer_msg(a, 404, "No such container");
	if (strcmp(r->method, "DELETE") == 0 && !slash)
		return ctr_remove(h, r, c, a);
	if (strcmp(what, "json") == 0) {
		ctr_inspect(c, a);
		return 200;
	}
	if (strcmp(what, "start") == 0)
		return ctr_start(h, c, a);
	if (strcmp(what, "stop") == 0 || strcmp(what, "kill") == 0)
		return ctr_stop(h, c, a);
	if (strcmp(what, "exec") == 0)
		return exec_create(h, r, c, a);
	return answer_msg(a, 404, "page not found");
}

/* ---------------------------------------------------------------- images, networks */

static int
image_route(struct hollow *h, struct hreq *r, const char *rest, struct hans *a)
{
	size_t l = strlen(rest);

	if (strcmp(rest, "create") == 0 && strcmp(r->method, "POST") == 0) {
		const char *src = qget(r, "fromSrc");

		if (src && qget(r, "repo") && strcmp(qget(r, "repo"), "skiff/pause") == 0)
			h->pause_ready = 1;
		a->lines =
			json_pack("[s]", src ? "{\"status\":\"sha256:0\"}" : "{\"status\":\"Downloaded newer image\"}");
		a->status = 200;
		return 200;
	}
	if (l > 5 && strcmp(rest + l - 5, "/json") == 0) {
		if (strncmp(rest, PAUSE_IMAGE, l - 5) == 0 && l - 5 == strlen(PAUSE_IMAGE) && !h->pause_ready)
			return answer_msg(a, 404, "No such image: " PAUSE_IMAGE);
		return answer(a, 200, json_pack("{s:s,s:{s:s}}", "Id", "sha256:hollow", "Config", "User", ""));
	}
	return answer_msg(a, 404, "page not found");
}

/* POST /networks/create with {"Name", "IPAM":{"Config":[{"Subnet"}]}}. */
static int
net_create(struct hollow *h, struct hreq *r, struct hans *a)
{
	const char *name = json_string_value(json_object_get(r->in, "Name"));
	const char *sub = json_string_value(json_object_get(
		json_array_get(json_object_get(json_object_get(r->in, "IPAM"), "Config"), 0), "Subnet"));
	unsigned b[4], len;
	struct hnet *n;

	if (!name || !sub || sscanf(sub, "%u.%u.%u.%u/%u", &b[0], &b[1], &b[2], &b[3], &len) != 5 || len < 8 ||
	    len > 30)
		return answer_msg(a, 400, "hollow runtime: a network needs a Name and an IPv4 IPAM Subnet (/8../30)");
	if (find_net(h, name))
		return answer_msg(a, 409, "network with name already exists");
	if (!(n = calloc(1, sizeof(*n))))
		return answer_msg(a, 500, "out of memory");
	new_id(h, n->id);
	n->j = json_deep_copy(r->in);
	json_object_set_new(n->j, "Id", json_string(n->id));
	n->mask = 0xffffffffu << (32 - len);
	n->base = ((b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]) & n->mask;
	n->next = h->nets;
	h->nets = n;
	return answer(a, 201, json_pack("{s:s,s:s}", "Id", n->id, "Warning", ""));
}

static int
net_route(struct hollow *h, struct hreq *r, const char *rest, struct hans *a)
{
	struct hnet *n, **pp;
	struct hctr *c;
	json_t *j, *users;

	if (strcmp(rest, "create") == 0 && strcmp(r->method, "POST") == 0)
		return net_create(h, r, a);
	if (!(n = find_net(h, rest)))
		return answer_msg(a, 404, "network not found");
	users = json_object();
	for (c = h->ctrs; c; c = c->next)
		if (c->net[0] && strcmp(c->net, json_string_value(json_object_get(n->j, "Name"))) == 0)
			json_object_set_new(users, c->id, json_pack("{s:s}", "IPv4Address", c->ip));
	if (strcmp(r->method, "DELETE") != 0) {
		j = json_deep_copy(n->j);
		json_object_set_new(j, "Containers", users);
		return answer(a, 200, j);
	}
	if (json_object_size(users)) {
		json_decref(users);
		return answer_msg(a, 403, "error while removing network: network has active endpoints");
	}
	json_decref(users);
	for (pp = &h->nets; *pp != n; pp = &(*pp)->next)
		;
	*pp = n->next;
	json_decref(n->j);
	free(n);
	return answer(a, 204, NULL);
}

/* What Docker would answer to r, with its effects made. */
static void
route(struct hollow *h, struct hreq *r, struct hans *a)
{
	const char *p = r->path;

	if (strcmp(p, "/_ping") == 0) {
		a->status = 200;
		a->body = strdup("OK");
	} else if (strcmp(p, "/info") == 0) {
		answer(a, 200,
		       json_pack("{s:s,s:s,s:s}", "ServerVersion", "hollow", "DockerRootDir", "", "Driver", "hollow"));
	} else if (strncmp(p, "/containers/", 12) == 0) {
		ctr_route(h, r, p + 12, a);
	} else if (strncmp(p, "/exec/", 6) == 0 && strchr(p + 6, '/')) {
		char id[128];

		snprintf(id, sizeof(id), "%.*s", (int)(strchr(p + 6, '/') - (p + 6)), p + 6);
		exec_route(h, r, id, strchr(p + 6, '/') + 1, a);
	} else if (strncmp(p, "/images/", 8) == 0) {
		image_route(h, r, p + 8, a);
	} else if (strcmp(p, "/networks") == 0 || strncmp(p, "/networks?", 10) == 0) {
		answer(a, 200, json_array()); /* the health check's list; nothing reads it */
	} else if (strncmp(p, "/networks/", 10) == 0) {
		net_route(h, r, p + 10, a);
	} else {
		answer_msg(a, 404, "page not found");
	}
}

/* ---------------------------------------------------------------- the queue */

static void
req_unlink(struct hreq *r)
{
	if (r->prev)
		r->prev->next = r->next;
	else if (r->h->reqs == r)
		r->h->reqs = r->next;
	if (r->next)
		r->next->prev = r->prev;
	r->next = r->prev = NULL;
}

static void
req_free(struct hreq *r)
{
	free(r->path);
	json_decref(r->q);
	json_decref(r->in);
	json_decref(r->filters);
	free(r);
}

static void
bury(struct hollow *h)
{
	struct hreq *r;

	if (h->busy)
		return;
	while ((r = h->grave)) {
		h->grave = r->next;
		req_free(r);
	}
}

static void
arm(struct hollow *h)
{
	struct hreq *r;
	double due = -1;

	for (r = h->reqs; r; r = r->next)
		if (!r->stream && (due < 0 || r->due < due))
			due = r->due;
	ev_timer_stop(h->loop, &h->tick);
	if (due < 0)
		return;
	due -= ev_now(h->loop);
	ev_timer_set(&h->tick, due > 0 ? due : 0, 0);
	ev_timer_start(h->loop, &h->tick);
}

/* Answer r: its lines, then its done callback; r is freed after. */
static void
deliver(struct hollow *h, struct hreq *r)
{
	struct hans a = {0};
	struct dk_resp resp = {0};
	json_t *v;
	size_t i;

	route(h, r, &a);
	h->busy++;
	json_array_foreach(a.lines, i, v) {
		if (r->dead || (r->on_line && r->on_line(json_string_value(v), json_string_length(v), r->arg)))
			break;
	}
	resp.status = a.status;
	resp.body = a.body && !r->on_line ? a.body : (char *)"";
	resp.len = strlen(resp.body);
	if (!r->dead && r->done)
		r->done(&resp, r->arg);
	h->busy--;
	json_decref(a.lines);
	free(a.body);
	if (!r->dead)
		req_free(r);
	bury(h);
}

/* The answers due, in order of arrival; those asked meanwhile wait for
 * the next turn of the loop. */
static void
tick_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct hollow *h = (struct hollow *)((char *)w - offsetof(struct hollow, tick));
	uint64_t limit = h->seq;
	struct hreq *r, *pick;

	(void)revents;
	for (;;) {
		pick = NULL;
		for (r = h->reqs; r; r = r->next)
			if (!r->stream && r->n < limit && r->due <= ev_now(loop) && (!pick || r->n < pick->n))
				pick = r;
		if (!pick)
			break;
		req_unlink(pick);
		deliver(h, pick);
	}
	arm(h);
}

struct dk *
hollow_dk_new(struct ev_loop *loop)
{
	struct hollow *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	h->loop = loop;
	ev_timer_init(&h->tick, tick_cb, 0, 0);
	return (struct dk *)h;
}

void
hollow_dk_free(struct dk *d)
{
	struct hollow *h = (struct hollow *)d;
	struct hctr *c;
	struct hnet *n;
	struct hexec *e;

	if (!h)
		return;
	ev_timer_stop(h->loop, &h->tick);
	while (h->reqs)
		hollow_dk_cancel((struct dk_req *)h->reqs);
	bury(h);
	while ((c = h->ctrs)) {
		h->ctrs = c->next;
		ctr_free(c);
	}
	while ((n = h->nets)) {
		h->nets = n->next;
		json_decref(n->j);
		free(n);
	}
	while ((e = h->execs)) {
		h->execs = e->next;
		free(e);
	}
	free(h);
}

struct dk_req *
hollow_dk_call(struct dk *d, const struct dk_call_opts *o)
{
	struct hollow *h = (struct hollow *)d;
	struct hreq *r = calloc(1, sizeof(*r));
	const char *q = strchr(o->path, '?');

	if (!r)
		return NULL;
	r->h = h;
	snprintf(r->method, sizeof(r->method), "%s", o->method ? o->method : "GET");
	r->path = q ? strndup(o->path, (size_t)(q - o->path)) : strdup(o->path);
	r->q = parse_query(q ? q + 1 : NULL);
	r->in = o->body && o->len ? json_loadb(o->body, o->len, 0, NULL) : NULL;
	r->filters = qget(r, "filters") ? json_loads(qget(r, "filters"), 0, NULL) : NULL;
	if (!r->path || !r->q) {
		req_free(r);
		return NULL;
	}
	url_decode(r->path, 0);
	r->on_line = o->on_line;
	r->done = o->done;
	r->arg = o->arg;
	r->n = h->seq++;
	r->stream = strcmp(r->path, "/events") == 0;
	r->due = ev_now(h->loop);
	if (strncmp(r->path, "/containers/", 12) == 0 && strlen(r->path) > 6 &&
	    strcmp(r->path + strlen(r->path) - 6, "/start") == 0)
		r->due += (double)hollow_delay_ms / 1000.0;
	r->next = h->reqs;
	if (h->reqs)
		h->reqs->prev = r;
	h->reqs = r;
	if (!r->stream)
		arm(h);
	return (struct dk_req *)r;
}

void
hollow_dk_cancel(struct dk_req *dr)
{
	struct hreq *r = (struct hreq *)dr;
	struct hollow *h;

	if (!r || r->dead)
		return;
	h = r->h;
	req_unlink(r);
	r->dead = 1;
	if (h->busy) {
		r->next = h->grave;
		h->grave = r;
	} else {
		req_free(r);
	}
}
