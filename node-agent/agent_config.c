/*
 * agent_config.c: the informer on P/nodeconfig/NODE/ (agent_config.h).
 * Each copy is decoded as the ConfigMap or Secret its key names and kept
 * as its values only. It does not judge which pod may use which copy
 * (the control plane copies only what the node's pods refer to) and does
 * not write anything.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "agent_cmvol.h"
#include "agent_config.h"

/* name is KIND/NAME (the key under P/nodeconfig/NODE/). */
static void *
decode(const char *name, const char *value, size_t len, void *arg)
{
	struct api_errors errs = {0};
	enum api_kind k = strncmp(name, "secrets/", 8) == 0       ? API_SECRET
	                  : strncmp(name, "configmaps/", 11) == 0 ? API_CONFIGMAP
	                                                          : API_KIND_UNKNOWN;
	struct api_configmap *cm = k ? api_parse(k, value, len, &errs) : NULL;
	json_t *values = NULL;
	char *why;

	(void)arg;
	if (cm && (!cm->meta.name || strcmp(cm->meta.name, strchr(name, '/') + 1) != 0))
		api_errors_add(&errs, "metadata.name", "must equal the key's name");
	else if (cm)
		values = api_configmap_values(cm, k == API_SECRET);
	if (!values) {
		why = api_errors_join(&errs, "; ");
		log_kv(LL_WARN, KV("copy", name), "ignoring a config copy that does not decode: %s",
		       why ? why : "unknown kind or out of memory");
		free(why);
	}
	api_free(k, cm);
	api_errors_clear(&errs);
	return values;
}

static void
free_values(void *obj)
{
	json_decref(obj);
}

static void
enqueue_pod(const struct informer_obj *o, void *arg)
{
	wq_add(((struct agent *)arg)->q, o->name);
}

static void
changed(struct agent *a)
{
	if (a->started)
		informer_foreach(a->bindings, enqueue_pod, a);
}

static void
c_add(struct informer *inf, const struct informer_obj *o, void *arg)
{
	(void)inf;
	(void)o;
	changed(arg);
}

static void
c_update(struct informer *inf, const struct informer_obj *old, const struct informer_obj *o, void *arg)
{
	(void)old;
	c_add(inf, o, arg);
}

static void
c_synced(struct informer *inf, void *arg)
{
	(void)inf;
	agent_maybe_start(arg);
}

static void
c_error(struct informer *inf, const struct etcd_error *err, void *arg)
{
	(void)arg;
	log_kv(LL_WARN, KV("prefix", informer_prefix(inf)), "watch trouble: %s; recovering by itself", err->msg);
}

int
agent_config_start(struct agent *a)
{
	static const struct informer_handlers h = {c_add, c_update, c_add, c_synced, c_error};
	struct api_error err;
	char dir[API_KEY_MAX];

	if (a->config)
		return 0;
	if (api_key_dir(dir, sizeof(dir), a->prefix, API_NODECONFIG, a->o.node_name, &err) < 0)
		return -1;
	if (!(a->config = informer_new(a->d->etcd, dir, decode, free_values, &h, a)))
		return -1;
	informer_drop_values(a->config);
	informer_start(a->config);
	return 0;
}

void
agent_config_stop(struct agent *a)
{
	informer_free(a->config);
	a->config = NULL;
}

int
agent_config_synced(const struct agent *a)
{
	return a->config && informer_synced(a->config);
}

const json_t *
agent_config_get(struct agent *a, const char *kind, const char *name)
{
	const struct informer_obj *o;
	char key[300];

	if (!a->config || (strcmp(kind, "configmaps") != 0 && strcmp(kind, "secrets") != 0))
		return NULL;
	snprintf(key, sizeof(key), "%s/%s", kind, name);
	o = informer_get(a->config, key);
	return o ? o->obj : NULL;
}

static const json_t *
get_values(void *a, const char *kind, const char *name)
{
	return agent_config_get(a, kind, name);
}

int
agent_config_volumes(struct agent *a, const struct api_pod *pod, char *err, size_t len)
{
	return cmvol_sync(a->o.pod_dir, pod, get_values, a, err, len);
}
