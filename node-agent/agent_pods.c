/*
 * agent_pods.c: reconcile one pod (a work-queue name) against Docker.
 *
 * A pass is a chain of asynchronous steps: list the pod's containers (our
 * skiff.node and skiff.pod labels), inspect each, then decide. Deciding
 * compares the binding in the informer cache with that snapshot and takes
 * at most one action (remove, create+start, start, check or pull an image,
 * import the pause image); after an action the pass lists again, so every
 * decision is made on fresh state (level-triggered, idempotent). When no
 * action is left it writes the pod's status and ends, asking to run again
 * when a back-off expires. A pass never touches containers without our
 * node label, and leaves a pod whose binding does not decode alone.
 *
 * Identity: labels skiff.uid (binding's metadata.uid) and skiff.hash (the
 * container's spec) decide adoption; skiff.restarts carries the restart
 * count across recreations and agent restarts.
 */
#include <jansson.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "hash.h"

#define MAX_STEPS 24

struct pass {
	struct agent *a;
	char pod[API_SUBDOMAIN_MAX + 1];
	int steps;
	struct snap *s;
	size_t n, cap, ix;
	unsigned char *img_ok; /* per spec container: image present (this pass) */
	size_t n_img;
	struct dk_req *req;
	int etcd_busy, orphan;
	int sandbox_failed; /* end with WQ_RETRY after the status */
	double requeue;     /* > 0: run again after this many seconds */
	/* action context */
	char *victim_id;
	int ci; /* spec container index of a create/pull, -1 infra */
	char pull_err[512];
	char *start_id;
	char *failed_start;  /* IDs whose start failed in this pass, ' '-separated */
	char start_err[512]; /* why the last start failed */
	struct pass *next;
};

static void pass_list(struct pass *p);
static void inspect_next(struct pass *p);
static void decide(struct pass *p);

/* ---------------------------------------------------------------- memos */

struct pod_memo *
pods_memo(struct agent *a, const char *pod, const char *uid)
{
	struct pod_memo *m;

	for (m = a->memos; m; m = m->next)
		if (strcmp(m->name, pod) == 0)
			break;
	if (m && strcmp(m->uid, uid) != 0) {
		pods_memo_drop(a, pod);
		m = NULL;
	}
	if (!m) {
		m = calloc(1, sizeof(*m));
		if (!m)
			return NULL;
		m->name = strdup(pod);
		m->uid = strdup(uid);
		if (!m->name || !m->uid) {
			free(m->name);
			free(m->uid);
			free(m);
			return NULL;
		}
		m->next = a->memos;
		a->memos = m;
	}
	return m;
}

static void
ctr_memo_free(struct ctr_memo *c)
{
	free(c->name);
	free(c->img_reason);
	free(c->img_message);
	free(c);
}

static void
memo_free(struct pod_memo *m)
{
	while (m->ctrs) {
		struct ctr_memo *c = m->ctrs;

		m->ctrs = c->next;
		ctr_memo_free(c);
	}
	free(m->name);
	free(m->uid);
	free(m);
}

void
pods_memo_drop(struct agent *a, const char *pod)
{
	struct pod_memo **pp;

	for (pp = &a->memos; *pp; pp = &(*pp)->next) {
		if (strcmp((*pp)->name, pod) == 0) {
			struct pod_memo *m = *pp;

			*pp = m->next;
			memo_free(m);
			return;
		}
	}
}

struct ctr_memo *
pods_ctr_memo(struct pod_memo *m, const char *name)
{
	struct ctr_memo *c;

	if (!m)
		return NULL;
	for (c = m->ctrs; c; c = c->next)
		if (strcmp(c->name, name) == 0)
			return c;
	c = calloc(1, sizeof(*c));
	if (!c || !(c->name = strdup(name))) {
		free(c);
		return NULL;
	}
	c->next = m->ctrs;
	m->ctrs = c;
	return c;
}

void
pods_free_memos(struct agent *a)
{
	while (a->memos) {
		struct pod_memo *m = a->memos;

		a->memos = m->next;
		memo_free(m);
	}
}

/* Seconds before attempt n + 1 after n failures: 0 for n <= 0, then the
 * base doubling up to the max. Doubled by hand: nothing else in the agent
 * needs libm, and not loading it saves its pages. */
static double
backoff(struct agent *a, int n)
{
	double d = (double)a->o.backoff_base_ms / 1000.0, max = (double)a->o.backoff_max_ms / 1000.0;

	if (n <= 0)
		return 0;
	while (--n > 0 && d < max)
		d *= 2;
	return d > max ? max : d;
}

static void
memo_error(struct agent *a, struct ctr_memo *c, const char *reason, const char *msg)
{
	if (!c)
		return;
	free(c->img_reason);
	free(c->img_message);
	c->img_reason = strdup(reason);
	c->img_message = strdup(msg);
	c->failures++;
	c->retry_at = agent_now(a) + backoff(a, c->failures);
}

static void
memo_ok(struct ctr_memo *c)
{
	if (!c)
		return;
	free(c->img_reason);
	free(c->img_message);
	c->img_reason = c->img_message = NULL;
	c->failures = 0;
	c->retry_at = 0;
}

/* ---------------------------------------------------------------- hashes */

static uint64_t
fnv(uint64_t h, const char *s)
{
	h = fnv1a64(h, s, s ? strlen(s) : 0);
	h ^= 0xff; /* field separator */
	return h * FNV64_PRIME;
}

static uint64_t
fnv_int(uint64_t h, long long v)
{
	char b[32];

	snprintf(b, sizeof(b), "%lld", v);
	return fnv(h, b);
}

/* The hashes below start from 1469598103934665603, not FNV's basis (a
 * digit went missing): kept, since a new start would change every
 * container's skiff.hash and so recreate every container on upgrade. */
#define SPEC_HASH_BASIS 1469598103934665603ULL

void
pods_hash_container(const struct api_container *c, char *out, size_t len)
{
	uint64_t h = SPEC_HASH_BASIS;
	size_t i;

	h = fnv(h, c->name);
	h = fnv(h, c->image);
	h = fnv_int(h, (long long)c->n_command);
	for (i = 0; i < c->n_command; i++)
		h = fnv(h, c->command[i]);
	h = fnv_int(h, (long long)c->n_args);
	for (i = 0; i < c->n_args; i++)
		h = fnv(h, c->args[i]);
	h = fnv_int(h, (long long)c->n_env);
	for (i = 0; i < c->n_env; i++) {
		h = fnv(h, c->env[i].name);
		h = fnv(h, c->env[i].value);
	}
	h = fnv_int(h, c->resources.limits.cpu.value);
	h = fnv_int(h, c->resources.limits.memory.value);
	snprintf(out, len, "%016llx", (unsigned long long)h);
}

void
pods_hash_infra(const struct api_pod *p, const char *net, char *out, size_t len)
{
	uint64_t h = SPEC_HASH_BASIS;
	size_t i, j;

	h = fnv(h, "infra-v1");
	if (net) /* only then: infra containers made without the flag keep their hash */
		h = fnv(h, net);
	for (i = 0; i < p->spec.n_containers; i++) {
		const struct api_container *c = &p->spec.containers[i];

		for (j = 0; j < c->n_ports; j++) {
			h = fnv_int(h, c->ports[j].container_port);
			h = fnv_int(h, c->ports[j].host_port);
			h = fnv_int(h, c->ports[j].protocol);
		}
	}
	snprintf(out, len, "%016llx", (unsigned long long)h);
}

/* ---------------------------------------------------------------- binding */

const struct api_binding *
pods_binding(struct agent *a, const char *pod, int *malformed)
{
	const struct informer_obj *o = a->bindings ? informer_get(a->bindings, pod) : NULL;

	*malformed = 0;
	if (!o)
		return NULL;
	if (!o->obj) {
		*malformed = 1;
		return NULL;
	}
	return o->obj;
}

/* ---------------------------------------------------------------- pass life */

static void
pass_reset_snaps(struct pass *p)
{
	size_t i;

	for (i = 0; i < p->n; i++)
		snap_clear(&p->s[i]);
	p->n = 0;
	p->ix = 0;
}

static void
pass_free(struct pass *p)
{
	pass_reset_snaps(p);
	free(p->s);
	free(p->img_ok);
	free(p->victim_id);
	free(p->start_id);
	free(p->failed_start);
	free(p);
}

static void
pass_unlink(struct pass *p)
{
	struct pass **pp;

	for (pp = &p->a->passes; *pp; pp = &(*pp)->next) {
		if (*pp == p) {
			*pp = p->next;
			return;
		}
	}
}

/* After a burst of passes (start-up, a resync, many bindings) the freed
 * Docker and etcd answers leave free pages all over the heap, which glibc
 * keeps resident; give them back once the queue has drained. Costs one walk
 * of the heap per burst, not per pass. */
static void
trim_if_idle(struct agent *a)
{
	if (!a->passes && wq_len(a->q) == 0 && wq_inflight(a->q) == 0)
		malloc_trim(0);
}

static void
finish(struct pass *p, enum wq_result r)
{
	struct agent *a = p->a;
	char pod[sizeof(p->pod)];
	double after = p->requeue;

	memcpy(pod, p->pod, sizeof(pod));
	pass_unlink(p);
	pass_free(p);
	if (r == WQ_OK && after > 0)
		wq_done(a->q, pod, WQ_REQUEUE_AFTER, after);
	else
		wq_done(a->q, pod, r, 0);
	trim_if_idle(a);
}

static void
fail(struct pass *p, const char *what, const char *msg)
{
	log_kv(LL_WARN, KV("pod", p->pod, "node", p->a->o.node_name), "%s: %s; will retry with back-off", what, msg);
	finish(p, WQ_RETRY);
}

static void
want_requeue(struct pass *p, double after)
{
	if (after < 0.05)
		after = 0.05;
	if (p->requeue <= 0 || after < p->requeue)
		p->requeue = after;
}

static int
call(struct pass *p, const char *method, const char *path, const char *body, long timeout_ms, dk_done_fn done)
{
	p->req = dk_call(p->a->dk, &(struct dk_call_opts){.method = method, .path = path, .body = body,
	                                               .len = body ? strlen(body) : 0, .timeout_ms = timeout_ms,
	                                               .done = done, .arg = p});
	if (!p->req) {
		fail(p, "docker request", "out of memory");
		return -1;
	}
	return 0;
}

/* ---------------------------------------------------------------- list + inspect */

static void
inspect_done(struct dk_resp *r, void *arg)
{
	struct pass *p = arg;

	p->req = NULL;
	if (r->status == 200)
		snap_from_inspect(&p->s[p->ix], r->body, r->len, p->a->o.docker_network);
	else if (r->status != 404) {
		char m[256];

		fail(p, "inspect container", dk_errmsg(r, m, sizeof(m)));
		return;
	}
	p->ix++;
	inspect_next(p);
}

static void
inspect_next(struct pass *p)
{
	char path[256];

	if (p->ix >= p->n) {
		decide(p);
		return;
	}
	snprintf(path, sizeof(path), "/containers/%s/json", p->s[p->ix].id);
	call(p, "GET", path, NULL, 10000, inspect_done);
}

static void
list_done(struct dk_resp *r, void *arg)
{
	struct pass *p = arg;
	json_t *j, *it;
	size_t i;
	char m[256];

	p->req = NULL;
	if (r->status != 200) {
		fail(p, "list containers", dk_errmsg(r, m, sizeof(m)));
		return;
	}
	j = json_loadb(r->body, r->len, 0, NULL);
	if (!json_is_array(j)) {
		json_decref(j);
		fail(p, "list containers", "not a JSON array");
		return;
	}
	json_array_foreach(j, i, it)
	{
		struct snap s;

		if (snap_from_list(&s, it) < 0)
			continue;
		if (p->n == p->cap) {
			size_t cap = p->cap ? p->cap * 2 : 8;
			struct snap *ns = realloc(p->s, cap * sizeof(*ns));

			if (!ns) {
				snap_clear(&s);
				break;
			}
			p->s = ns;
			p->cap = cap;
		}
		p->s[p->n++] = s;
	}
	json_decref(j);
	p->ix = 0;
	inspect_next(p);
}

/* Lists the pod's containers, then inspects each, then decides. */
static void
pass_list(struct pass *p)
{
	char f[512], enc[1024], path[1200];

	if (++p->steps > MAX_STEPS) {
		fail(p, "reconcile", "too many steps in one pass");
		return;
	}
	pass_reset_snaps(p);
	snprintf(f, sizeof(f), "{\"label\":[\"%s=%s\",\"%s=%s\"]}", LBL_NODE, p->a->o.node_name, LBL_POD, p->pod);
	snprintf(path, sizeof(path), "/containers/json?all=1&filters=%s", dk_escape(f, enc, sizeof(enc)));
	call(p, "GET", path, NULL, 15000, list_done);
}

static void
relist(struct pass *p)
{
	p->ix = 0;
	pass_list(p);
}

void
pods_process(struct wq *q, const char *name, void *arg)
{
	struct agent *a = arg;
	struct pass *p;

	if (a->stopping || strlen(name) >= sizeof(p->pod)) {
		wq_done(q, name, WQ_OK, 0);
		return;
	}
	p = calloc(1, sizeof(*p));
	if (!p) {
		wq_done(q, name, WQ_RETRY, 0);
		return;
	}
	p->a = a;
	snprintf(p->pod, sizeof(p->pod), "%s", name);
	p->next = a->passes;
	a->passes = p;
	metric_inc(a->m_passes);
	relist(p);
}

/* ---------------------------------------------------------------- remove */

static void
action_done(struct dk_resp *r, void *arg)
{
	struct pass *p = arg;

	p->req = NULL;
	if (r->status >= 400 && r->status != 404 && r->status != 409) {
		char m[256];

		fail(p, "docker", dk_errmsg(r, m, sizeof(m)));
		return;
	}
	relist(p);
}

static void
remove_stop_done(struct dk_resp *r, void *arg)
{
	struct pass *p = arg;
	char path[256];

	p->req = NULL;
	(void)r; /* whatever happened, force-remove next */
	snprintf(path, sizeof(path), "/containers/%s?force=1&v=1", p->victim_id);
	call(p, "DELETE", path, NULL, 30000, action_done);
}

static void
remove_ctr(struct pass *p, const struct snap *s, const char *why)
{
	char path[256];
	long grace = s->grace;

	log_kv(LL_INFO, KV("pod", p->pod, "container", s->ctr, "id", s->id), "removing container: %s", why);
	free(p->victim_id);
	p->victim_id = strdup(s->id);
	if (!p->victim_id) {
		fail(p, "remove", "out of memory");
		return;
	}
	if (s->running) {
		snprintf(path, sizeof(path), "/containers/%s/stop?t=%ld", s->id, grace);
		call(p, "POST", path, NULL, (grace + 15) * 1000, remove_stop_done);
	} else {
		snprintf(path, sizeof(path), "/containers/%s?force=1&v=1", s->id);
		call(p, "DELETE", path, NULL, 30000, action_done);
	}
}

/* ---------------------------------------------------------------- images */

static int
image_path_ok(const char *img)
{
	for (; *img; img++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/:._@-", *img))
			return 0;
	return 1;
}

static int
pull_line(const char *line, size_t len, void *arg)
{
	struct pass *p = arg;
	json_t *j = json_loadb(line, len, 0, NULL);
	const char *e = json_string_value(json_object_get(j, "error"));
	const char *m = json_string_value(json_object_get(j, "message"));
	int stop = 0;

	if (e) {
		snprintf(p->pull_err, sizeof(p->pull_err), "%s", e);
		stop = 1;
	} else if (m && !json_object_get(j, "status") && !p->pull_err[0]) {
		snprintf(p->pull_err, sizeof(p->pull_err), "%s", m);
	}
	json_decref(j);
	return stop;
}

static void
image_failed(struct pass *p, const char *reason, const char *msg)
{
	struct pod_memo *m;
	int mal;
	const struct api_binding *b = pods_binding(p->a, p->pod, &mal);
	const char *cname = b ? b->pod.spec.containers[p->ci].name : "?";

	if (!b) {
		relist(p);
		return;
	}
	m = pods_memo(p->a, p->pod, b->pod.meta.uid);
	memo_error(p->a, pods_ctr_memo(m, cname), reason, msg);
	log_kv(LL_WARN, KV("pod", p->pod, "container", cname), "%s: %s; will retry with back-off", reason, msg);
	recorder_eventf(p->a->rec, "pods", p->pod, "Warning", reason, "container %s: %s", cname, msg);
	decide(p);
}

static void
pull_done(struct dk_resp *r, void *arg)
{
	struct pass *p = arg;
	char m[512];

	p->req = NULL;
	if (r->status == 200 && !p->pull_err[0] && !r->err[0]) {
		p->img_ok[p->ci] = 1;
		decide(p);
		return;
	}
	if (!p->pull_err[0])
		snprintf(p->pull_err, sizeof(p->pull_err), "%s", dk_errmsg(r, m, sizeof(m)));
	snprintf(m, sizeof(m), "failed to pull image: %s", p->pull_err);
	image_failed(p, "ErrImagePull", m);
}

static void
pull(struct pass *p, const char *img)
{
	char repo[1024], tag[256], er[2048], et[512], path[3000];
	const char *slash = strrchr(img, '/'), *colon;

	snprintf(repo, sizeof(repo), "%s", img);
	tag[0] = '\0';
	if (!strchr(img, '@')) {
		colon = strrchr(slash ? slash : img, ':');
		if (colon) {
			repo[colon - img] = '\0';
			snprintf(tag, sizeof(tag), "%s", colon + 1);
		} else {
			snprintf(tag, sizeof(tag), "latest");
		}
	}
	p->pull_err[0] = '\0';
	log_kv(LL_INFO, KV("pod", p->pod, "image", img), "pulling image");
	snprintf(path, sizeof(path), "/images/create?fromImage=%s%s%s", dk_escape(repo, er, sizeof(er)),
	         tag[0] ? "&tag=" : "", tag[0] ? dk_escape(tag, et, sizeof(et)) : "");
	p->req = dk_call(p->a->dk, &(struct dk_call_opts){.method = "POST", .path = path, .idle_s = 60,
	                                               .on_line = pull_line, .done = pull_done, .arg = p});
	if (!p->req)
		fail(p, "pull", "out of memory");
}

static void
image_inspect_done(struct dk_resp *r, void *arg)
{
	struct pass *p = arg;
	int mal;
	const struct api_binding *b = pods_binding(p->a, p->pod, &mal);
	const struct api_container *c;
	char m[512];

	p->req = NULL;
	if (!b || (size_t)p->ci >= b->pod.spec.n_containers) {
		relist(p);
		return;
	}
	c = &b->pod.spec.containers[p->ci];
	if (r->status == 200) {
		p->img_ok[p->ci] = 1;
		decide(p);
	} else if (r->status == 404) {
		if (c->image_pull_policy == API_PULL_NEVER) {
			snprintf(m, sizeof(m), "container image \"%s\" is not present with pull policy of Never",
			         c->image);
			image_failed(p, "ErrImageNeverPull", m);
		} else {
			pull(p, c->image);
		}
	} else {
		fail(p, "inspect image", dk_errmsg(r, m, sizeof(m)));
	}
}

static void
check_image(struct pass *p, int ci, const struct api_container *c)
{
	char path[4200];

	p->ci = ci;
	if (!image_path_ok(c->image)) {
		char m[512];

		snprintf(m, sizeof(m), "invalid image reference \"%.200s\"", c->image);
		image_failed(p, "InvalidImageName", m);
		return;
	}
	if (c->image_pull_policy == API_PULL_ALWAYS) {
		pull(p, c->image);
		return;
	}
	snprintf(path, sizeof(path), "/images/%s/json", c->image);
	call(p, "GET", path, NULL, 10000, image_inspect_done);
}

/* The pause image: inspect, import from the tarball when missing. */
static void
pause_import_done(struct dk_resp *r, void *arg)
{
	struct pass *p = arg;
	char m[512];

	p->req = NULL;
	p->a->pause_importing = 0;
	if (r->status == 200 && !p->pull_err[0] && !r->err[0]) {
		log_kv(LL_INFO, KV("image", PAUSE_IMAGE), "imported the pause image from %s", p->a->pause_tarball);
		p->a->pause_ready = 1;
		relist(p);
		return;
	}
	if (!p->pull_err[0])
		snprintf(p->pull_err, sizeof(p->pull_err), "%s", dk_errmsg(r, m, sizeof(m)));
	snprintf(m, sizeof(m), "cannot import %s from %s: %s (check --pause-tarball)", PAUSE_IMAGE, p->a->pause_tarball,
	         p->pull_err);
	fail(p, "pause image", m);
}

static void
pause_import(struct pass *p)
{
	FILE *f = fopen(p->a->pause_tarball, "rb");
	char *buf = NULL;
	long n = 0;
	char m[600];

	if (f && fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0 && fseek(f, 0, SEEK_SET) == 0 &&
	    (buf = malloc((size_t)n)) && fread(buf, 1, (size_t)n, f) == (size_t)n) {
		fclose(f);
		p->pull_err[0] = '\0';
		p->a->pause_importing = 1;
		p->req = dk_call(p->a->dk, &(struct dk_call_opts){
		        .method = "POST", .path = "/images/create?fromSrc=-&repo=skiff%2Fpause&tag=0.1", .body = buf,
		        .len = (size_t)n, .ctype = "application/x-tar", .timeout_ms = 120000,
		        .on_line = pull_line, .done = pause_import_done, .arg = p});
		free(buf);
		if (!p->req) {
			p->a->pause_importing = 0;
			fail(p, "pause image", "out of memory");
		}
		return;
	}
	if (f)
		fclose(f);
	free(buf);
	snprintf(m, sizeof(m), "%s is missing and %s cannot be read (check --pause-tarball)", PAUSE_IMAGE,
	         p->a->pause_tarball);
	fail(p, "pause image", m);
}

static void
pause_inspect_done(struct dk_resp *r, void *arg)
{
	struct pass *p = arg;
	char m[256];

	p->req = NULL;
	if (r->status == 200) {
		p->a->pause_ready = 1;
		decide(p);
	} else if (r->status == 404) {
		if (p->a->pause_importing) {
			want_requeue(p, 0.5);
			finish(p, WQ_OK);
		} else {
			pause_import(p);
		}
	} else {
		fail(p, "inspect pause image", dk_errmsg(r, m, sizeof(m)));
	}
}

/* ---------------------------------------------------------------- create */

static void
start_done(struct dk_resp *r, void *arg)
{
	struct pass *p = arg;
	char m[512];

	p->req = NULL;
	if (r->status != 204 && r->status != 304) {
		size_t l = p->failed_start ? strlen(p->failed_start) : 0;
		char *nf = realloc(p->failed_start, l + strlen(p->start_id) + 2);

		dk_errmsg(r, m, sizeof(m));
		snprintf(p->start_err, sizeof(p->start_err), "%s", m);
		log_kv(LL_WARN, KV("pod", p->pod, "id", p->start_id), "start failed: %s", m);
		recorder_eventf(p->a->rec, "pods", p->pod, "Warning", "Failed", "start container: %s", m);
		if (nf) {
			if (l == 0)
				nf[0] = '\0';
			strcat(nf, p->start_id);
			strcat(nf, " ");
			p->failed_start = nf;
		}
	}
	relist(p);
}

static void
start_ctr(struct pass *p, const char *id)
{
	char path[256];

	free(p->start_id);
	p->start_id = strdup(id);
	if (!p->start_id) {
		fail(p, "start", "out of memory");
		return;
	}
	snprintf(path, sizeof(path), "/containers/%s/start", id);
	call(p, "POST", path, NULL, 60000, start_done);
}

static void
create_done(struct dk_resp *r, void *arg)
{
	struct pass *p = arg;
	json_t *j;
	const char *id;
	char m[512];

	p->req = NULL;
	if (r->status == 409) { /* the name exists: the list will show it */
		relist(p);
		return;
	}
	if (r->status != 201) {
		int mal;
		const struct api_binding *b = pods_binding(p->a, p->pod, &mal);

		dk_errmsg(r, m, sizeof(m));
		if (p->ci < 0 || !b) {
			fail(p, "create infrastructure container", m);
			return;
		}
		image_failed(p, "CreateContainerError", m);
		return;
	}
	j = json_loadb(r->body, r->len, 0, NULL);
	id = json_string_value(json_object_get(j, "Id"));
	if (!id) {
		json_decref(j);
		fail(p, "create container", "no Id in the answer");
		return;
	}
	log_kv(LL_INFO, KV("pod", p->pod, "id", id), "created %s container",
	       p->ci < 0 ? "infrastructure" : "application");
	start_ctr(p, id);
	json_decref(j);
}

static json_t *
base_labels(struct pass *p, const struct api_pod *pod, const char *ctr, const char *hash, int restarts)
{
	json_t *l = json_object();
	char b[32];

	json_object_set_new(l, LBL_POD, json_string(p->pod));
	json_object_set_new(l, LBL_UID, json_string(pod->meta.uid));
	json_object_set_new(l, LBL_NODE, json_string(p->a->o.node_name));
	json_object_set_new(l, LBL_CTR, json_string(ctr));
	json_object_set_new(l, LBL_HASH, json_string(hash));
	snprintf(b, sizeof(b), "%d", restarts);
	json_object_set_new(l, LBL_RESTARTS, json_string(b));
	snprintf(b, sizeof(b), "%lld", (long long)pod->spec.termination_grace_period_seconds);
	json_object_set_new(l, LBL_GRACE, json_string(b));
	return l;
}

static void
post_create(struct pass *p, json_t *body, const char *name)
{
	char *s = json_dumps(body, JSON_COMPACT);
	char path[600], en[512];

	json_decref(body);
	if (!s) {
		fail(p, "create", "out of memory");
		return;
	}
	snprintf(path, sizeof(path), "/containers/create?name=%s", dk_escape(name, en, sizeof(en)));
	call(p, "POST", path, s, 60000, create_done);
	free(s);
}

static void
create_infra(struct pass *p, const struct api_pod *pod)
{
	json_t *body = json_object(), *hc = json_object(), *exp = json_object(), *pb = json_object();
	char hash[32], name[400], port[32], hp[16];
	size_t i, j;

	pods_hash_infra(pod, p->a->o.docker_network, hash, sizeof(hash));
	for (i = 0; i < pod->spec.n_containers; i++) {
		const struct api_container *c = &pod->spec.containers[i];

		for (j = 0; j < c->n_ports; j++) {
			snprintf(port, sizeof(port), "%d/%s", c->ports[j].container_port,
			         c->ports[j].protocol == API_PROTO_UDP ? "udp" : "tcp");
			json_object_set_new(exp, port, json_object());
			if (c->ports[j].host_port > 0) {
				snprintf(hp, sizeof(hp), "%d", c->ports[j].host_port);
				json_object_set_new(pb, port, json_pack("[{s:s}]", "HostPort", hp));
			}
		}
	}
	json_object_set_new(body, "Image", json_string(PAUSE_IMAGE));
	json_object_set_new(body, "Entrypoint", json_pack("[s]", "/pause"));
	json_object_set_new(body, "Hostname", json_string(p->pod));
	json_object_set_new(body, "Labels", base_labels(p, pod, INFRA_NAME, hash, 0));
	json_object_set_new(body, "ExposedPorts", exp);
	json_object_set_new(hc, "PortBindings", pb);
	json_object_set_new(hc, "RestartPolicy", json_pack("{s:s}", "Name", "no"));
	if (p->a->o.docker_network)
		json_object_set_new(hc, "NetworkMode", json_string(p->a->o.docker_network));
	json_object_set_new(body, "HostConfig", hc);
	snprintf(name, sizeof(name), "skiff_POD_%s_%s_%s", p->pod, p->a->o.node_name, pod->meta.uid);
	p->ci = -1;
	log_kv(LL_INFO, KV("pod", p->pod, "uid", pod->meta.uid), "creating infrastructure container");
	post_create(p, body, name);
}

static void
create_app(struct pass *p, const struct api_pod *pod, int ci, const char *infra_id, int restarts)
{
	const struct api_container *c = &pod->spec.containers[ci];
	json_t *body = json_object(), *hc = json_object(), *env = json_array(), *a;
	char hash[32], name[400], nm[64];
	size_t i;

	pods_hash_container(c, hash, sizeof(hash));
	json_object_set_new(body, "Image", json_string(c->image));
	if (c->n_command) {
		a = json_array();
		for (i = 0; i < c->n_command; i++)
			json_array_append_new(a, json_string(c->command[i]));
		json_object_set_new(body, "Entrypoint", a);
	}
	if (c->n_args) {
		a = json_array();
		for (i = 0; i < c->n_args; i++)
			json_array_append_new(a, json_string(c->args[i]));
		json_object_set_new(body, "Cmd", a);
	}
	for (i = 0; i < c->n_env; i++) {
		char *kv;

		if (asprintf(&kv, "%s=%s", c->env[i].name, c->env[i].value ? c->env[i].value : "") >= 0) {
			json_array_append_new(env, json_string(kv));
			free(kv);
		}
	}
	json_object_set_new(body, "Env", env);
	a = base_labels(p, pod, c->name, hash, restarts);
	json_object_set_new(a, LBL_SANDBOX, json_string(infra_id));
	json_object_set_new(body, "Labels", a);
	snprintf(nm, sizeof(nm), "container:%s", infra_id);
	json_object_set_new(hc, "NetworkMode", json_string(nm));
	json_object_set_new(hc, "RestartPolicy", json_pack("{s:s}", "Name", "no"));
	json_object_set_new(hc, "Init", json_true());
	if (c->resources.limits.memory.value > 0)
		json_object_set_new(hc, "Memory", json_integer(c->resources.limits.memory.value));
	if (c->resources.limits.cpu.value > 0)
		json_object_set_new(hc, "NanoCpus", json_integer(c->resources.limits.cpu.value * 1000000LL));
	json_object_set_new(body, "HostConfig", hc);
	snprintf(name, sizeof(name), "skiff_%s_%s_%s_%s_%d", c->name, p->pod, p->a->o.node_name, pod->meta.uid,
	         restarts);
	p->ci = ci;
	log_kv(LL_INFO, KV("pod", p->pod, "container", c->name), "creating container (restart %d)", restarts);
	post_create(p, body, name);
}

/* ---------------------------------------------------------------- decide */

static void
status_done(void *arg, int ok)
{
	struct pass *p = arg;

	p->etcd_busy = 0;
	if (p->orphan) {
		p->a->orphans--;
		pass_free(p);
		return;
	}
	if (!ok)
		want_requeue(p, 0.5);
	if (p->sandbox_failed) {
		finish(p, WQ_RETRY);
		return;
	}
	log_kv(LL_DEBUG, KV("pod", p->pod), "reconciled");
	finish(p, WQ_OK);
}

static void
delete_done(void *arg, int ok)
{
	struct pass *p = arg;

	p->etcd_busy = 0;
	if (p->orphan) {
		p->a->orphans--;
		pass_free(p);
		return;
	}
	if (ok) {
		log_kv(LL_INFO, KV("pod", p->pod), "pod gone: containers removed, status deleted");
		pods_memo_drop(p->a, p->pod);
	} else {
		want_requeue(p, 0.5);
	}
	finish(p, WQ_OK);
}

static int
failed_to_start(struct pass *p, const char *id)
{
	const char *s = p->failed_start;
	size_t l = strlen(id);

	while (s && (s = strstr(s, id))) {
		if (s[l] == ' ')
			return 1;
		s += l;
	}
	return 0;
}

/* Teardown: apps first, then the infra container, then the status. */
static void
teardown(struct pass *p)
{
	size_t i;

	for (i = 0; i < p->n; i++) {
		if (strcmp(p->s[i].ctr, INFRA_NAME) != 0) {
			remove_ctr(p, &p->s[i], "its binding is gone");
			return;
		}
	}
	if (p->n > 0) {
		remove_ctr(p, &p->s[0], "its binding is gone");
		return;
	}
	p->etcd_busy = 1;
	status_delete(p->a, p->pod, delete_done, p);
}

static void
decide(struct pass *p)
{
	struct agent *a = p->a;
	int mal;
	const struct api_binding *b = pods_binding(a, p->pod, &mal);
	const struct api_pod *pod;
	struct pod_memo *memo;
	struct snap *infra = NULL;
	struct cstat *cs;
	char ih[32], h[32];
	size_t i, j, n;
	double now = agent_now(a);
	time_t wall = time(NULL);

	if (mal) {
		finish(p, WQ_OK); /* reported when it arrived; leave its containers alone */
		return;
	}
	if (!b) {
		teardown(p);
		return;
	}
	pod = &b->pod;
	n = pod->spec.n_containers;
	if (p->n_img != n) {
		free(p->img_ok);
		p->img_ok = calloc(n ? n : 1, 1);
		p->n_img = n;
		if (!p->img_ok) {
			fail(p, "reconcile", "out of memory");
			return;
		}
	}
	/* An older incarnation of the pod: remove, apps first. */
	for (i = 0; i < p->n; i++)
		if (strcmp(p->s[i].uid, pod->meta.uid) != 0 && strcmp(p->s[i].ctr, INFRA_NAME) != 0) {
			remove_ctr(p, &p->s[i], "it belongs to an older incarnation of the pod");
			return;
		}
	for (i = 0; i < p->n; i++)
		if (strcmp(p->s[i].uid, pod->meta.uid) != 0) {
			remove_ctr(p, &p->s[i], "it belongs to an older incarnation of the pod");
			return;
		}
	memo = pods_memo(a, p->pod, pod->meta.uid);
	/* Containers not in the spec. */
	for (i = 0; i < p->n; i++) {
		int known = strcmp(p->s[i].ctr, INFRA_NAME) == 0;

		for (j = 0; j < n && !known; j++)
			known = strcmp(p->s[i].ctr, pod->spec.containers[j].name) == 0;
		if (!known) {
			remove_ctr(p, &p->s[i], "it is not in the pod's spec");
			return;
		}
	}
	/* The infrastructure container: the running one with the right hash. */
	pods_hash_infra(pod, p->a->o.docker_network, ih, sizeof(ih));
	for (i = 0; i < p->n; i++) {
		struct snap *s = &p->s[i];

		if (strcmp(s->ctr, INFRA_NAME) != 0 || !s->hash || strcmp(s->hash, ih) != 0)
			continue;
		if (!infra || (s->running && !infra->running))
			infra = s;
	}
	if (infra && failed_to_start(p, infra->id)) {
		/* Docker cannot start the sandbox (a host port in use, ...):
		 * report it and try again after the queue's back-off. */
		cs = calloc(n ? n : 1, sizeof(*cs));
		if (!cs) {
			fail(p, "reconcile", "out of memory");
			return;
		}
		for (j = 0; j < n; j++) {
			struct ctr_memo *cm = pods_ctr_memo(memo, pod->spec.containers[j].name);

			cs[j].state = API_STATE_WAITING;
			cs[j].reason = "ContainerCreating";
			cs[j].restarts = cm ? cm->restarts : 0;
		}
		p->etcd_busy = 1;
		p->sandbox_failed = 1;
		status_write(a, p->pod, pod, NULL, cs, n, p->start_err, status_done, p);
		free(cs);
		return;
	}
	if (!infra || !infra->running) {
		/* No usable sandbox: clear the apps, then the old sandbox. */
		for (i = 0; i < p->n; i++) {
			if (strcmp(p->s[i].ctr, INFRA_NAME) != 0) {
				struct ctr_memo *cm = pods_ctr_memo(memo, p->s[i].ctr);

				if (cm && infra && p->s[i].restarts + 1 > cm->restarts)
					cm->restarts = p->s[i].restarts + 1;
				remove_ctr(p, &p->s[i], "the pod's sandbox is gone");
				return;
			}
		}
		if (infra && strcmp(infra->state, "created") == 0 && !failed_to_start(p, infra->id)) {
			start_ctr(p, infra->id);
			return;
		}
		for (i = 0; i < p->n; i++) {
			remove_ctr(p, &p->s[i], "the pod's sandbox is not running");
			return;
		}
		if (!a->pause_ready) {
			call(p, "GET", "/images/skiff%2Fpause:0.1/json", NULL, 10000, pause_inspect_done);
			return;
		}
		create_infra(p, pod);
		return;
	}
	for (i = 0; i < p->n; i++)
		if (&p->s[i] != infra && strcmp(p->s[i].ctr, INFRA_NAME) == 0) {
			remove_ctr(p, &p->s[i], "a duplicate sandbox");
			return;
		}
	cs = calloc(n ? n : 1, sizeof(*cs));
	if (!cs) {
		fail(p, "reconcile", "out of memory");
		return;
	}
	for (j = 0; j < n; j++) {
		const struct api_container *c = &pod->spec.containers[j];
		struct ctr_memo *cm = pods_ctr_memo(memo, c->name);
		struct snap *cur = NULL;

		pods_hash_container(c, h, sizeof(h));
		/* Keep one: right hash and sandbox, running first, then the
		 * highest restart count; remove the others. */
		for (i = 0; i < p->n; i++) {
			struct snap *s = &p->s[i];

			if (strcmp(s->ctr, c->name) != 0)
				continue;
			if (!s->hash || strcmp(s->hash, h) != 0 || !s->sandbox || strcmp(s->sandbox, infra->id) != 0) {
				if (cm && s->restarts > cm->restarts)
					cm->restarts = s->restarts;
				free(cs);
				remove_ctr(p, s, "its spec changed or its sandbox was replaced");
				return;
			}
			if (!cur || (s->running && !cur->running) ||
			    (s->running == cur->running && s->restarts > cur->restarts))
				cur = s;
		}
		for (i = 0; i < p->n; i++) {
			if (strcmp(p->s[i].ctr, c->name) == 0 && &p->s[i] != cur) {
				free(cs);
				remove_ctr(p, &p->s[i], "a duplicate");
				return;
			}
		}
		cs[j].s = cur;
		cs[j].restarts = cur ? cur->restarts : cm ? cm->restarts : 0;
		if (cur && cur->running) {
			cs[j].state = API_STATE_RUNNING;
			if (cm)
				memo_ok(cm);
			continue;
		}
		if (cur && strcmp(cur->state, "created") == 0 && !failed_to_start(p, cur->id)) {
			free(cs);
			start_ctr(p, cur->id);
			return;
		}
		if (cur && strcmp(cur->state, "created") == 0) {
			/* Docker could not start it: report, remove, retry later. */
			memo_error(a, cm, "RunContainerError", cur->error && *cur->error ? cur->error : "start failed");
			free(cs);
			remove_ctr(p, cur, "it could not be started");
			return;
		}
		if (cur) { /* exited or dead */
			int again = pod->spec.restart_policy == API_RESTART_ALWAYS ||
			            (pod->spec.restart_policy == API_RESTART_ON_FAILURE && cur->exit_code != 0);
			time_t fin = 0, began = 0;
			double delay = backoff(a, cur->restarts), waited;

			if (!again) {
				cs[j].state = API_STATE_TERMINATED;
				continue;
			}
			if (cur->finished_at)
				api_time_parse(cur->finished_at, &fin, NULL);
			if (cur->started_at && api_time_parse(cur->started_at, &began, NULL) == 0 && fin &&
			    difftime(fin, began) >= 2.0 * (double)a->o.backoff_max_ms / 1000.0)
				delay = 0; /* it ran long enough: no back-off, as kubelet */
			waited = fin ? difftime(wall, fin) : delay;
			if (waited + 0.001 >= delay) {
				if (cm && cur->restarts + 1 > cm->restarts)
					cm->restarts = cur->restarts + 1;
				metric_inc(a->m_restarts);
				log_kv(LL_INFO, KV("pod", p->pod, "container", c->name),
				       "container exited with code %d; restarting (restart %d, policy %s)",
				       cur->exit_code, cur->restarts + 1,
				       api_restart_policy_name(pod->spec.restart_policy));
				free(cs);
				remove_ctr(p, cur, "it exited and the restart policy restarts it");
				return;
			}
			cs[j].state = API_STATE_WAITING;
			cs[j].reason = "CrashLoopBackOff";
			cs[j].message = "back-off restarting failed container";
			cs[j].last = cur;
			cs[j].s = cur;
			want_requeue(p, delay - waited);
			continue;
		}
		/* No container yet. */
		if (cm && cm->img_reason && cm->retry_at > now) {
			cs[j].state = API_STATE_WAITING;
			cs[j].reason = cm->img_reason;
			cs[j].message = cm->img_message;
			want_requeue(p, cm->retry_at - now);
			continue;
		}
		if (!p->img_ok[j]) {
			free(cs);
			check_image(p, (int)j, c);
			return;
		}
		free(cs);
		create_app(p, pod, (int)j, infra->id, cm ? cm->restarts : 0);
		return;
	}
	p->etcd_busy = 1;
	status_write(a, p->pod, pod, infra, cs, n, NULL, status_done, p);
	free(cs);
}

/* ---------------------------------------------------------------- stop */

void
pods_stop(struct agent *a)
{
	while (a->passes) {
		struct pass *p = a->passes;

		a->passes = p->next;
		if (p->req)
			dk_cancel(p->req);
		p->req = NULL;
		if (p->etcd_busy) {
			p->orphan = 1; /* its etcd callback frees it */
			a->orphans++;
		} else
			pass_free(p);
	}
}
