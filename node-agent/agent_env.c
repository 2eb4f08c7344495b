/*
 * agent_env.c: the environment of a container (agent_env.h). Order as in
 * Kubernetes: envFrom sources first, in order, then env entries, a later
 * name replacing an earlier one; an env value is expanded with the
 * variables defined before it, command and args with all of them.
 * envFrom keys that do not make a valid variable name are skipped (with a
 * log line). It reads ConfigMaps and Secrets only through agent_config.c
 * (the node's copies) and never logs a value.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "agent_config.h"
#include "agent_env.h"
#include "agent_svcenv.h"

struct envv {
	char **name, **value;
	size_t n, cap;
	int oom;
};

static void
env_set(struct envv *e, const char *name, const char *value)
{
	char **nn, **nv, *v;
	size_t i;

	for (i = 0; i < e->n && strcmp(e->name[i], name) != 0; i++)
		;
	if (i == e->n && e->n == e->cap) {
		e->cap = e->cap ? 2 * e->cap : 16;
		nn = realloc(e->name, e->cap * sizeof(*nn));
		if (nn)
			e->name = nn;
		nv = realloc(e->value, e->cap * sizeof(*nv));
		if (nv)
			e->value = nv;
		if (!nn || !nv) {
			e->oom = 1;
			return;
		}
	}
	if (!(v = strdup(value)) || (i == e->n && !(e->name[i] = strdup(name)))) {
		free(v);
		e->oom = 1;
		return;
	}
	if (i == e->n)
		e->n++;
	else
		free(e->value[i]);
	e->value[i] = v;
}

static void
env_free(struct envv *e)
{
	for (size_t i = 0; i < e->n; i++) {
		free(e->name[i]);
		free(e->value[i]);
	}
	free(e->name);
	free(e->value);
}

static const char *
env_lookup(const char *name, size_t len, void *arg)
{
	const struct envv *e = arg;

	for (size_t i = e->n; i-- > 0;)
		if (strlen(e->name[i]) == len && memcmp(e->name[i], name, len) == 0)
			return e->value[i];
	return NULL;
}

/* The values of a ConfigMap or Secret copy, or NULL with why filled. */
static const json_t *
source(struct agent *a, int secret, const char *name, char *why, size_t len)
{
	const json_t *v = agent_config_get(a, secret ? "secrets" : "configmaps", name);

	if (!v)
		snprintf(why, len, "%s \"%s\" not found", secret ? "secret" : "configmap", name);
	return v;
}

static int
add_env_from(struct agent *a, const struct api_container *c, struct envv *e, char *why, size_t len)
{
	const struct api_env_from *f;
	const json_t *vals;
	const char *key;
	char name[512];
	json_t *v;

	for (size_t i = 0; i < c->n_env_from; i++) {
		f = &c->env_from[i];
		if (!(vals = source(a, f->secret, f->name, why, len))) {
			if (f->optional)
				continue;
			return -1;
		}
		json_object_foreach((json_t *)vals, key, v) {
			snprintf(name, sizeof(name), "%s%s", f->prefix ? f->prefix : "", key);
			if (api_check_env_name(name, NULL) < 0) {
				log_kv(LL_WARN, KV("container", c->name, "key", key),
				       "envFrom key is not a valid variable name: skipped, as Kubernetes does");
				continue;
			}
			env_set(e, name, json_string_value(v));
		}
	}
	return 0;
}

/* A fieldRef's value (borrowed or in buf). */
static const char *
field(struct agent *a, const struct api_pod *pod, const char *path, const char *pod_ip, char *buf, size_t len)
{
	const char *v = NULL;
	size_t n = strlen(path);

	if (strcmp(path, "metadata.name") == 0)
		v = pod->meta.name;
	else if (strcmp(path, "metadata.namespace") == 0)
		v = "default";
	else if (strcmp(path, "metadata.uid") == 0)
		v = pod->meta.uid;
	else if (strcmp(path, "spec.nodeName") == 0)
		v = a->o.node_name;
	else if (strcmp(path, "status.podIP") == 0)
		v = pod_ip;
	else if (strcmp(path, "status.hostIP") == 0)
		v = a->host_ip;
	else if (n > 2 &&
	         (strncmp(path, "metadata.labels['", 17) == 0 || strncmp(path, "metadata.annotations['", 22) == 0)) {
		int labels = path[9] == 'l';
		const char *k = path + (labels ? 17 : 22);

		snprintf(buf, len, "%.*s", (int)(n - 2 - (size_t)(k - path)), k);
		v = api_labels_get(labels ? &pod->meta.labels : &pod->meta.annotations, buf);
	}
	return v ? v : "";
}

/* ceil(v / divisor) with v in milli-units (v_milli) or units. */
static int64_t
div_ceil(int64_t v, int milli, int64_t divisor)
{
	if (!milli && divisor % 1000 == 0)
		divisor /= 1000;
	else if (!milli)
		v = v > INT64_MAX / 1000 ? INT64_MAX : v * 1000;
	return v / divisor + (v % divisor != 0);
}

/* A resourceFieldRef's value into buf; -1 with why when its container is
 * not in the pod. */
static int
resource(struct agent *a, const struct api_pod *pod, const struct api_container *c, const struct api_env_value_from *f,
         char *buf, size_t len, char *why, size_t wlen)
{
	const struct api_container *t = c;
	int cpu = strstr(f->resource, "cpu") != NULL, lim = strncmp(f->resource, "limits.", 7) == 0;
	int64_t cap_cpu, cap_mem, v;

	for (size_t i = 0; f->container_name && i < api_spec_n_all(&pod->spec); i++) /* init containers too */
		if (strcmp(api_spec_container(&pod->spec, i)->name, f->container_name) == 0)
			t = api_spec_container(&pod->spec, i);
	if (f->container_name && strcmp(t->name, f->container_name) != 0) {
		snprintf(why, wlen, "resourceFieldRef: no container \"%s\" in the pod", f->container_name);
		return -1;
	}
	register_capacity(a, &cap_cpu, &cap_mem);
	v = cpu ? t->resources.limits.cpu.value : t->resources.limits.memory.value;
	if (!lim) { /* a request: else the limit, as Kubernetes defaults it */
		int64_t r = cpu ? t->resources.requests.cpu.value : t->resources.requests.memory.value;
		v = r ? r : v;
	} else if (!v) {
		v = cpu ? cap_cpu : cap_mem; /* no limit: the node's allocatable */
	}
	snprintf(buf, len, "%" PRId64, div_ceil(v, cpu, f->divisor));
	return 0;
}

/* The value of env var e->value_from into buf (or borrowed into *out).
 * Returns 1 (set), 0 (optional and missing: not set) or -1 with why. */
static int
value_from(struct agent *a, const struct api_pod *pod, const struct api_container *c, const struct api_env_var *ev,
           const char *pod_ip, const char **out, char *buf, size_t len, char *why, size_t wlen)
{
	const struct api_env_value_from *f = ev->value_from;
	const json_t *vals;

	switch (f->source) {
	case API_ENV_FIELD: *out = field(a, pod, f->field_path, pod_ip, buf, len); return 1;
	case API_ENV_RESOURCE: *out = buf; return resource(a, pod, c, f, buf, len, why, wlen) < 0 ? -1 : 1;
	default: break;
	}
	if (!(vals = source(a, f->source == API_ENV_SECRET, f->name, why, wlen)))
		return f->optional ? 0 : -1;
	if (!(*out = json_string_value(json_object_get(vals, f->key)))) {
		snprintf(why, wlen, "key \"%s\" not found in %s \"%s\"", f->key,
		         f->source == API_ENV_SECRET ? "secret" : "configmap", f->name);
		return f->optional ? 0 : -1;
	}
	return 1;
}

/* Expanded strings v[0..n) as a new JSON array (NULL when out of memory). */
static json_t *
expanded(char *const *v, size_t n, struct envv *e)
{
	json_t *a = json_array();
	char *s;

	for (size_t i = 0; a && i < n; i++) {
		if (!(s = api_env_expand(v[i], env_lookup, e)) || json_array_append_new(a, json_string(s)) < 0) {
			free(s);
			json_decref(a);
			return NULL;
		}
		free(s);
	}
	return a;
}

static void
svc_set(void *arg, const char *name, const char *value)
{
	env_set(arg, name, value);
}

static int
build_env(struct agent *a, const struct api_pod *pod, const struct api_container *c, const char *pod_ip, struct envv *e,
          char *why, size_t len)
{
	char buf[512], *x;
	const char *v;
	int rc;

	svcenv_add(a, pod, svc_set, e); /* first: the pod's own variables win */
	if (add_env_from(a, c, e, why, len) < 0)
		return -1;
	for (size_t i = 0; i < c->n_env && !e->oom; i++) {
		const struct api_env_var *ev = &c->env[i];

		if (ev->value_from) {
			if ((rc = value_from(a, pod, c, ev, pod_ip, &v, buf, sizeof(buf), why, len)) < 0)
				return -1;
			if (rc > 0)
				env_set(e, ev->name, v);
			continue;
		}
		if (!(x = api_env_expand(ev->value ? ev->value : "", env_lookup, e))) {
			e->oom = 1;
			break;
		}
		env_set(e, ev->name, x);
		free(x);
	}
	if (e->oom)
		snprintf(why, len, "out of memory");
	return e->oom ? -1 : 0;
}

int
agent_env_process(struct agent *a, const struct api_pod *pod, const struct api_container *c, const char *pod_ip,
                  json_t *body, char *why, size_t len)
{
	struct envv e = {0};
	json_t *env = NULL, *cmd = NULL, *args = NULL;
	char *kv;
	int rc = -1;

	if (build_env(a, pod, c, pod_ip, &e, why, len) < 0)
		goto out;
	cmd = c->n_command ? expanded(c->command, c->n_command, &e) : NULL;
	args = c->n_args ? expanded(c->args, c->n_args, &e) : NULL;
	if (!(env = json_array()) || (c->n_command && !cmd) || (c->n_args && !args)) {
		snprintf(why, len, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < e.n; i++) {
		if (asprintf(&kv, "%s=%s", e.name[i], e.value[i]) < 0)
			continue;
		json_array_append_new(env, json_string(kv));
		free(kv);
	}
	if (cmd)
		json_object_set_new(body, "Entrypoint", cmd);
	if (args)
		json_object_set_new(body, "Cmd", args);
	json_object_set_new(body, "Env", env);
	cmd = args = env = NULL;
	rc = 0;
out:
	json_decref(cmd);
	json_decref(args);
	json_decref(env);
	env_free(&e);
	return rc;
}
