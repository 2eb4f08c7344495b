/*
 * agent_exec.c: the Docker side of a pass. Carries out the one action the
 * planner (agent_plan.c) picked: stop and remove a container, start one,
 * create the sandbox or an application container, check or pull an image,
 * import the pause image. Each completion feeds its result back (an image
 * now present, a start that failed, an image error in the pod's memo) and
 * plans again, or lists the pod's containers again after a change, so
 * every decision is made on fresh state; a removal Docker confirmed only
 * drops that container from the snapshots (pass_removed). It decides
 * nothing itself and writes no status (agent_pods.c does).
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent_config.h"
#include "agent_deadline.h"
#include "agent_dns.h"
#include "agent_env.h"
#include "agent_exec.h"
#include "agent_probe.h"
#include "agent_security.h"
#include "agent_volumes.h"

void
exec_warn(struct pass *p, const char *cname, const char *reason, const char *msg)
{
	log_kv(LL_WARN, KV("pod", p->pod, "container", cname), "%s: %s; will retry with back-off", reason, msg);
	recorder_eventf(p->a->rec, "pods", p->pod, "Warning", reason, "container %s: %s", cname, msg);
}

void
exec_event(struct pass *p, const struct plan_event *e)
{
	if (!e->type || strcmp(e->type, "Warning") == 0) {
		exec_warn(p, e->container, e->reason, e->message);
		return;
	}
	log_kv(LL_INFO, KV("pod", p->pod, "container", e->container), "%s: %s", e->reason, e->message);
	recorder_eventf(p->a->rec, "pods", p->pod, e->type, e->reason, "%s", e->message);
}

/* The binding's spec container p->ci, or NULL when the binding is gone or
 * no longer has it. */
static const struct api_container *
pass_container(struct pass *p, const struct api_binding **bp)
{
	int mal;
	const struct api_binding *b = pods_binding(p->a, p->pod, &mal);

	*bp = b;
	if (!b || p->ci < 0)
		return NULL;
	return api_spec_container(&b->pod.spec, (size_t)p->ci); /* init containers follow the app ones */
}

/* A Docker call failed for container p->ci's image or creation: into the
 * pod's memo (back-off), warn, plan again. */
static void
image_failed(struct pass *p, const char *reason, const char *msg)
{
	const struct api_binding *b;
	const struct api_container *c = pass_container(p, &b);
	struct agent *a = p->a;

	if (!c) {
		pass_relist(p);
		return;
	}
	plan_memo_error(plan_ctr_memo(pods_memo(a, p->pod, b->pod.meta.uid), c->name), reason, msg, agent_now(a),
	                a->o.backoff_base_ms, a->o.backoff_max_ms);
	exec_warn(p, c->name, reason, msg);
	pass_decide(p);
}

/* The pod's sandbox could not be made (the pause image or its container;
 * Docker's answer in msg): into the pod's memo, which holds the next try
 * back (plan_sandbox_backoff), a Warning event as Kubernetes', and a new
 * decision, which writes the status with it. */
static void
sandbox_failed(struct pass *p, const char *msg)
{
	int mal;
	const struct api_binding *b = pods_binding(p->a, p->pod, &mal);
	struct agent *a = p->a;

	if (!b) {
		pass_relist(p);
		return;
	}
	plan_memo_sandbox_error(pods_memo(a, p->pod, b->pod.meta.uid), msg, agent_now(a), a->o.backoff_base_ms,
	                        a->o.backoff_max_ms);
	log_kv(LL_WARN, KV("pod", p->pod), "failed to create pod sandbox: %s; will retry with back-off", msg);
	recorder_eventf(a->rec, "pods", p->pod, "Warning", "FailedCreatePodSandBox", "Failed to create pod sandbox: %s",
	                msg);
	pass_decide(p);
}

/* The sandbox was made: its failures are over. */
static void
sandbox_made(struct pass *p)
{
	int mal;
	const struct api_binding *b = pods_binding(p->a, p->pod, &mal);
	struct pod_memo *m = b ? pods_memo(p->a, p->pod, b->pod.meta.uid) : NULL;

	if (m) {
		m->sandbox_err[0] = '\0';
		m->sandbox_failures = 0;
		m->sandbox_retry_at = 0;
	}
}

/* ---------------------------------------------------------------- remove */

static void
action_done(struct dk_resp *r, void *arg)
{
	struct pass *p = arg;

	p->req = NULL;
	if (r->status >= 400 && r->status != 404 && r->status != 409) {
		char m[256];

		pass_fail(p, "docker", dk_errmsg(r, m, sizeof(m)));
		return;
	}
	pass_relist(p);
}

/* A force-remove answered: gone (2xx, 404) is dropped from the pass's
 * snapshots and the plan made again on the rest without a new list (the
 * pass is the only writer of the pod's containers; what others do to
 * them reaches the queue as Docker events); a conflict (409: a removal
 * already in progress) lists again. */
static void
remove_done(struct dk_resp *r, void *arg)
{
	struct pass *p = arg;
	char m[256];

	p->req = NULL;
	if (r->status == 409)
		pass_relist(p);
	else if (r->status >= 400 && r->status != 404)
		pass_fail(p, "docker", dk_errmsg(r, m, sizeof(m)));
	else
		pass_removed(p, p->victim_id);
}

static void
remove_stop_done(struct dk_resp *r, void *arg)
{
	struct pass *p = arg;
	char path[256];

	p->req = NULL;
	(void)r; /* whatever happened, force-remove next */
	snprintf(path, sizeof(path), "/containers/%s?force=1&v=1", p->victim_id);
	pass_call(p, "DELETE", path, NULL, deadline_ms(DEADLINE_REMOVE_MS), remove_done);
}

/* Stop (with the grace period the plan gives) and remove o->target. */
static void
remove_ctr(struct pass *p, const struct api_binding *b, const struct plan_out *o)
{
	const struct snap *s = o->target;
	long grace = o->grace < p->a->o.max_grace_s ? o->grace : p->a->o.max_grace_s;
	char path[256];

	if (o->restart) {
		metric_inc(p->a->m_restarts);
		if (s->running) /* its liveness probe failed */
			log_kv(LL_INFO, KV("pod", p->pod, "container", s->ctr), "%s; restarting (restart %d)", o->why,
			       s->restarts + 1);
		else
			log_kv(LL_INFO, KV("pod", p->pod, "container", s->ctr),
			       "container exited with code %d; restarting (restart %d, policy %s)", s->exit_code,
			       s->restarts + 1, api_restart_policy_name(b->pod.spec.restart_policy));
	}
	log_kv(LL_INFO, KV("pod", p->pod, "container", s->ctr, "id", s->id), "%s container: %s",
	       o->keep ? "stopping" : "removing", o->why);
	free(p->victim_id);
	p->victim_id = strdup(s->id);
	if (!p->victim_id) {
		pass_fail(p, "remove", "out of memory");
		return;
	}
	if (!o->keep) /* its die and destroy: this pass goes on without them */
		events_own(p->a, s->id, OWN_DIE | OWN_DESTROY);
	if (grace >= 0) {
		snprintf(path, sizeof(path), "/containers/%s/stop?t=%ld", s->id, grace);
		pass_call(p, "POST", path, NULL, grace * 1000 + deadline_ms(DEADLINE_STOP_MARGIN_MS),
		          o->keep ? action_done : remove_stop_done);
	} else {
		snprintf(path, sizeof(path), "/containers/%s?force=1&v=1", s->id);
		pass_call(p, "DELETE", path, NULL, deadline_ms(DEADLINE_REMOVE_MS), remove_done);
	}
}

/* ---------------------------------------------------------------- images */

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

static void inspect_image(struct pass *p, const char *img);

/* After a pull, a container with runAsNonRoot needs its image's user:
 * inspect it (1), whose answer decides. */
static int
pull_check_user(struct pass *p)
{
	const struct api_binding *b;
	const struct api_container *c = pass_container(p, &b);

	if (!c || !sec_needs_image_user(&b->pod, c))
		return 0;
	inspect_image(p, c->image);
	return 1;
}

static void
pull_done(struct dk_resp *r, void *arg)
{
	struct pass *p = arg;
	char m[512];

	p->req = NULL;
	if (r->status == 200 && !p->pull_err[0] && !r->err[0] && pull_check_user(p))
		return;
	if (r->status == 200 && !p->pull_err[0] && !r->err[0]) {
		const struct api_binding *b;
		const struct api_container *c = pass_container(p, &b);

		if (c)
			pods_img_seen(p->a, c->image);
		if ((size_t)p->ci < p->n_img)
			p->img[p->ci] = PLAN_IMG_PRESENT;
		pass_decide(p);
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
	p->req = dk_call(p->a->dk, &(struct dk_call_opts){.method = "POST",
	                                                  .path = path,
	                                                  .idle_s = deadline_idle_s(DEADLINE_PULL_IDLE_S),
	                                                  .on_line = pull_line,
	                                                  .done = pull_done,
	                                                  .arg = p});
	if (!p->req)
		pass_fail(p, "pull", "out of memory");
}

/* runAsNonRoot: container p->ci of b does not start when its image (r,
 * an inspect answer) would run it as root; 1 when it was refused. */
static int
image_user_refused(struct pass *p, const struct api_binding *b, const struct dk_resp *r)
{
	const struct api_container *c = api_spec_container(&b->pod.spec, (size_t)p->ci);
	json_t *img;
	char m[512];
	int rc;

	if (!sec_needs_image_user(&b->pod, c))
		return 0;
	img = json_loadb(r->body, r->len, 0, NULL);
	rc = sec_check_non_root(&b->pod, c, img, m, sizeof(m));
	json_decref(img);
	if (rc == 0)
		return 0;
	image_failed(p, "CreateContainerConfigError", m);
	return 1;
}

/* The answer feeds the plan: present, or absent (the plan then pulls or,
 * with pull policy Never, reports ErrImageNeverPull). */
static void
image_inspect_done(struct dk_resp *r, void *arg)
{
	struct pass *p = arg;
	const struct api_binding *b;
	char m[512];

	p->req = NULL;
	if (!pass_container(p, &b) || (size_t)p->ci >= p->n_img) {
		pass_relist(p);
		return;
	}
	if (r->status == 200 && image_user_refused(p, b, r))
		return;
	if (r->status == 200 || r->status == 404) {
		p->img[p->ci] = r->status == 200 ? PLAN_IMG_PRESENT : PLAN_IMG_ABSENT;
		if (r->status == 200)
			pods_img_seen(p->a, api_spec_container(&b->pod.spec, (size_t)p->ci)->image);
		pass_decide(p);
	} else {
		pass_fail(p, "inspect image", dk_errmsg(r, m, sizeof(m)));
	}
}

static void
inspect_image(struct pass *p, const char *img)
{
	char path[12400], esc[3 * 4096 + 1]; /* an image is at most 4096 bytes */

	snprintf(path, sizeof(path), "/images/%s/json", dk_escape(img, esc, sizeof(esc)));
	pass_call(p, "GET", path, NULL, deadline_ms(DEADLINE_INSPECT_MS), image_inspect_done);
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
		pass_relist(p);
		return;
	}
	if (!p->pull_err[0])
		snprintf(p->pull_err, sizeof(p->pull_err), "%s", dk_errmsg(r, m, sizeof(m)));
	snprintf(m, sizeof(m), "cannot import %s from %s: %s (check --pause-tarball)", PAUSE_IMAGE, p->a->pause_tarball,
	         p->pull_err);
	sandbox_failed(p, m);
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
		p->req = dk_call(p->a->dk,
		                 &(struct dk_call_opts){.method = "POST",
		                                        .path = "/images/create?fromSrc=-&repo=skiff%2Fpause&tag=0.1",
		                                        .body = buf,
		                                        .len = (size_t)n,
		                                        .ctype = "application/x-tar",
		                                        .idle_s = deadline_idle_s(DEADLINE_IMPORT_IDLE_S),
		                                        .on_line = pull_line,
		                                        .done = pause_import_done,
		                                        .arg = p});
		free(buf);
		if (!p->req) {
			p->a->pause_importing = 0;
			pass_fail(p, "pause image", "out of memory");
		}
		return;
	}
	if (f)
		fclose(f);
	free(buf);
	snprintf(m, sizeof(m), "%s is missing and %s cannot be read (check --pause-tarball)", PAUSE_IMAGE,
	         p->a->pause_tarball);
	pass_fail(p, "pause image", m);
}

static void
pause_inspect_done(struct dk_resp *r, void *arg)
{
	struct pass *p = arg;
	char m[256];

	p->req = NULL;
	if (r->status == 200) {
		p->a->pause_ready = 1;
		pass_decide(p);
	} else if (r->status == 404) {
		if (p->a->pause_importing) {
			pass_requeue(p, 0.5);
			pass_finish(p, WQ_OK);
		} else {
			pause_import(p);
		}
	} else {
		pass_fail(p, "inspect pause image", dk_errmsg(r, m, sizeof(m)));
	}
}

/* ---------------------------------------------------------------- start */

/* Docker did not answer a create or start (its deadline passed, or the
 * connection broke): it may have acted, or may still. Neither an image
 * error nor a failed start is recorded (that would remove or back off a
 * container that is fine): the pass ends with the queue's back-off, and
 * the next one lists by the pod's labels and adopts what it finds (a
 * created container is started; a second create of the same name gets
 * 409), so nothing is made twice. */
static void
no_answer(struct pass *p, const char *what, const char *reason, const struct dk_resp *r)
{
	char m[256];

	dk_errmsg(r, m, sizeof(m));
	log_kv(LL_WARN, KV("pod", p->pod, "node", p->a->o.node_name),
	       "%s: no answer from Docker (%s)%s; will look again with back-off", what, m,
	       r->sent ? ", it may have been done: the next pass adopts it" : "");
	recorder_eventf(p->a->rec, "pods", p->pod, "Warning", reason, "%s: no answer from Docker: %s", what, m);
	pass_finish(p, WQ_RETRY);
}

/* Remember id among the pass's failed starts (the plan reads them). */
static void
start_failed(struct pass *p, const char *m)
{
	size_t l = p->failed_start ? strlen(p->failed_start) : 0;
	char *nf = realloc(p->failed_start, l + strlen(p->start_id) + 2);

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

static void
start_done(struct dk_resp *r, void *arg)
{
	struct pass *p = arg;
	char m[512];

	p->req = NULL;
	if (r->status == 0) {
		no_answer(p, "start container", "Failed", r);
		return;
	}
	if (r->status != 204 && r->status != 304) {
		start_failed(p, dk_errmsg(r, m, sizeof(m)));
		pass_relist(p);
		return;
	}
	pass_started(p, p->start_id);
}

static void
start_ctr(struct pass *p, const char *id)
{
	char path[256];

	free(p->start_id);
	p->start_id = strdup(id);
	if (!p->start_id) {
		pass_fail(p, "start", "out of memory");
		return;
	}
	snprintf(path, sizeof(path), "/containers/%s/start", id);
	events_own(p->a, id, OWN_START);
	pass_call(p, "POST", path, NULL, deadline_ms(DEADLINE_START_MS), start_done);
}

/* ---------------------------------------------------------------- create */

/* A create of container p->ci answered 404 "No such image" (Docker's
 * message m): the image went since it was seen (agent_pods_img.c). As an
 * inspect answering 404: forgotten, absent, planned again (a pull, or
 * ErrImageNeverPull). 1 when so. */
static int
image_gone(struct pass *p, const struct dk_resp *r, const char *m)
{
	const struct api_binding *b;
	const struct api_container *c = pass_container(p, &b);

	if (r->status != 404 || strncmp(m, "No such image", 13) != 0 || !c || (size_t)p->ci >= p->n_img)
		return 0;
	log_kv(LL_INFO, KV("pod", p->pod, "image", c->image), "the image is gone: %s", m);
	pods_img_forget(p->a, c->image);
	p->img[p->ci] = PLAN_IMG_ABSENT;
	pass_decide(p);
	return 1;
}

static void
create_done(struct dk_resp *r, void *arg)
{
	struct pass *p = arg;
	const struct api_binding *b;
	json_t *j;
	const char *id;
	char m[512];

	p->req = NULL;
	if (r->status == 409) { /* the name exists: the list will show it */
		pass_relist(p);
		return;
	}
	if (r->status == 0) {
		if (p->ci < 0)
			no_answer(p, "create pod sandbox", "FailedCreatePodSandBox", r);
		else
			no_answer(p, "create container", "Failed", r);
		return;
	}
	if (r->status != 201) {
		dk_errmsg(r, m, sizeof(m));
		if (p->ci >= 0 && image_gone(p, r, m))
			return;
		if (p->ci < 0)
			sandbox_failed(p, m);
		else if (!pass_container(p, &b))
			pass_fail(p, "create container", m);
		else
			image_failed(p, "CreateContainerError", m);
		return;
	}
	j = json_loadb(r->body, r->len, 0, NULL);
	id = json_string_value(json_object_get(j, "Id"));
	if (!id) {
		json_decref(j);
		pass_fail(p, "create container", "no Id in the answer");
		return;
	}
	log_kv(LL_INFO, KV("pod", p->pod, "id", id), "created %s container",
	       p->ci < 0 ? "infrastructure" : "application");
	if (p->ci < 0)
		sandbox_made(p);
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
		pass_fail(p, "create", "out of memory");
		return;
	}
	snprintf(path, sizeof(path), "/containers/create?name=%s", dk_escape(name, en, sizeof(en)));
	pass_call(p, "POST", path, s, deadline_ms(DEADLINE_CREATE_MS), create_done);
	free(s);
}

/* The sandbox's published ports: ExposedPorts and PortBindings. */
static void
infra_ports(const struct api_pod *pod, json_t *exp, json_t *pb)
{
	char port[32], hp[16];
	size_t i, j;

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
}

static void
create_infra(struct pass *p, const struct api_pod *pod)
{
	json_t *body = json_object(), *hc = json_object(), *exp = json_object(), *pb = json_object();
	char hash[32], name[400];

	pods_hash_infra(pod, p->a->o.docker_network, hash, sizeof(hash));
	infra_ports(pod, exp, pb);
	json_object_set_new(body, "Image", json_string(PAUSE_IMAGE));
	json_object_set_new(body, "Entrypoint", json_pack("[s]", "/pause"));
	json_object_set_new(body, "Hostname", json_string(p->pod));
	json_object_set_new(body, "Labels", base_labels(p, pod, INFRA_NAME, hash, 0));
	json_object_set_new(body, "ExposedPorts", exp);
	json_object_set_new(hc, "PortBindings", pb);
	json_object_set_new(hc, "RestartPolicy", json_pack("{s:s}", "Name", "no"));
	if (p->a->o.docker_network)
		json_object_set_new(hc, "NetworkMode", json_string(p->a->o.docker_network));
	sec_infra_opts(body, hc, pod);
	json_object_set_new(body, "HostConfig", hc);
	snprintf(name, sizeof(name), "skiff_POD_%s_%s_%s", p->pod, p->a->o.node_name, pod->meta.uid);
	p->ci = -1;
	log_kv(LL_INFO, KV("pod", p->pod, "uid", pod->meta.uid), "creating infrastructure container");
	post_create(p, body, name);
}

static void
create_app(struct pass *p, const struct api_pod *pod, int ci, const struct snap *infra, int restarts)
{
	const struct api_container *c = api_spec_container(&pod->spec, (size_t)ci);
	const char *infra_id = infra->id;
	json_t *body = json_object(), *hc = json_object(), *a;
	char hash[32], name[400], nm[64], err[512];

	p->ci = ci;
	if (agent_env_process(p->a, pod, c, infra->ip, body, err, sizeof(err)) < 0 ||
	    agent_config_volumes(p->a, pod, err, sizeof(err)) < 0) {
		json_decref(body);
		json_decref(hc);
		image_failed(p, "CreateContainerConfigError", err);
		return;
	}
	if (vol_host_config(hc, p->a, pod, c, err, sizeof(err)) < 0 ||
	    dns_container_config(p->a, pod, hc, err, sizeof(err)) < 0) {
		json_decref(body);
		json_decref(hc);
		image_failed(p, "CreateContainerError", err);
		return;
	}
	pods_hash_container(c, hash, sizeof(hash));
	json_object_set_new(body, "Image", json_string(c->image));
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
	sec_create_opts(body, hc, pod, c, p->a->o.default_pids_limit);
	json_object_set_new(body, "HostConfig", hc);
	snprintf(name, sizeof(name), "skiff_%s_%s_%s_%s_%d", c->name, p->pod, p->a->o.node_name, pod->meta.uid,
	         restarts);
	log_kv(LL_INFO, KV("pod", p->pod, "container", c->name), "creating container (restart %d)", restarts);
	post_create(p, body, name);
}

/* ---------------------------------------------------------------- preStop */

/* The hook runs on the prober (agent_hook.c), which requeues the pod when
 * it ends; the pass ends meanwhile and holds no worker. */
static void
pre_stop(struct pass *p, const struct plan_out *o)
{
	if (hook_pre_stop(p->a->prober, o->target->id, o->grace))
		pass_finish(p, WQ_OK);
	else
		pass_relist(p);
}

/* ---------------------------------------------------------------- dispatch */

void
exec_action(struct pass *p, const struct api_binding *b, const struct plan_out *o)
{
	switch (o->act) {
	case PLAN_REMOVE: remove_ctr(p, b, o); break;
	case PLAN_START: start_ctr(p, o->target->id); break;
	case PLAN_PAUSE_IMAGE:
		pass_call(p, "GET", "/images/skiff%2Fpause:0.1/json", NULL, deadline_ms(DEADLINE_INSPECT_MS),
		          pause_inspect_done);
		break;
	case PLAN_CREATE_INFRA: create_infra(p, &b->pod); break;
	case PLAN_CREATE_APP: create_app(p, &b->pod, o->ci, o->infra, o->restarts); break;
	case PLAN_INSPECT_IMAGE:
	case PLAN_PULL_IMAGE:
		p->ci = o->ci;
		if (o->act == PLAN_PULL_IMAGE)
			pull(p, api_spec_container(&b->pod.spec, (size_t)o->ci)->image);
		else
			inspect_image(p, api_spec_container(&b->pod.spec, (size_t)o->ci)->image);
		break;
	case PLAN_PRE_STOP: pre_stop(p, o); break;
	default: pass_fail(p, "reconcile", "no such action");
	}
}
