/*
 * api_fields.c: the field policy: Kubernetes' v1 Pod, ReplicationController
 * and Service schemas as static tables (field names as in the Kubernetes
 * API reference, nested objects as sub-tables), each field implemented,
 * harmless to ignore or refused, and the walk that reports refused fields
 * as errors and unknown ones as warnings. It judges which fields are
 * present, never their values (the decoders of api_pod.c, api_service.c,
 * ... do that), except for a refused field's one accepted value (its
 * Kubernetes default, which asks for nothing Skiff lacks). A null, empty
 * object or empty array reads as absent, as it does for Kubernetes.
 */
#include <stdio.h>
#include <string.h>

#include "api_deployment.h"
#include "api_fields.h"
#include "api_internal.h"
#include "api_names.h"

#define IMPL(n)                                            \
	{                                                  \
		n, API_FIELD_IMPLEMENTED, NULL, NULL, NULL \
	}
#define IMPL_SUB(n, t)                                  \
	{                                               \
		n, API_FIELD_IMPLEMENTED, t, NULL, NULL \
	}
#define HARM(n, why)                                   \
	{                                              \
		n, API_FIELD_HARMLESS, NULL, NULL, why \
	}
#define REFUSE(n)                                      \
	{                                              \
		n, API_FIELD_REFUSED, NULL, NULL, NULL \
	}
#define REFUSE_HINT(n, why)                           \
	{                                             \
		n, API_FIELD_REFUSED, NULL, NULL, why \
	}
#define REFUSE_BUT(n, ok)                            \
	{                                            \
		n, API_FIELD_REFUSED, NULL, ok, NULL \
	}
#define END                                               \
	{                                                 \
		NULL, API_FIELD_UNKNOWN, NULL, NULL, NULL \
	}

#define SERVER_SET "written by the API server; ignored on create and apply, as Kubernetes does"
#define IN_TEMPLATE "each pod of a template gets its own; Kubernetes ignores it in a template too"
#define NO_MESSAGE "Skiff reports no termination message; the container may still write the file"

static const struct api_field resource_list[] = {
	IMPL("cpu"),
	IMPL("memory"),
	{NULL, API_FIELD_REFUSED, NULL, NULL, "Skiff schedules and limits cpu and memory only"},
};

static const struct api_field resources[] = {
	IMPL_SUB("requests", resource_list),
	IMPL_SUB("limits", resource_list),
	REFUSE("claims"),
	END,
};

/* env valueFrom and envFrom: api_envsource.c, resolved by node-agent/agent_env.c. */
static const struct api_field field_ref[] = {IMPL("apiVersion"), IMPL("fieldPath"), END};
static const struct api_field resource_field_ref[] = {IMPL("containerName"), IMPL("resource"), IMPL("divisor"), END};
static const struct api_field key_ref[] = {IMPL("name"), IMPL("key"), IMPL("optional"), END};
static const struct api_field source_ref[] = {IMPL("name"), IMPL("optional"), END};

static const struct api_field env_var_source[] = {
	IMPL_SUB("fieldRef", field_ref),
	IMPL_SUB("resourceFieldRef", resource_field_ref),
	IMPL_SUB("configMapKeyRef", key_ref),
	IMPL_SUB("secretKeyRef", key_ref),
	REFUSE("fileKeyRef"),
	END,
};

static const struct api_field env_var[] = {
	IMPL("name"),
	IMPL("value"),
	IMPL_SUB("valueFrom", env_var_source),
	END,
};

static const struct api_field env_from[] = {
	IMPL("prefix"),
	IMPL_SUB("configMapRef", source_ref),
	IMPL_SUB("secretRef", source_ref),
	END,
};

static const struct api_field container_port[] = {
	IMPL("containerPort"), IMPL("hostPort"), IMPL("name"), IMPL("protocol"), REFUSE("hostIP"), END,
};

static const struct api_field capabilities[] = {
	IMPL("add"),
	IMPL("drop"),
	END,
};

/* securityContext of a container (api_security.c). */
static const struct api_field security_context[] = {
	IMPL("runAsUser"),
	IMPL("runAsGroup"),
	IMPL("runAsNonRoot"),
	IMPL("readOnlyRootFilesystem"),
	IMPL("allowPrivilegeEscalation"),
	IMPL_SUB("capabilities", capabilities),
	IMPL("privileged"),
	REFUSE_BUT("procMount", "\"Default\""),
	REFUSE("seLinuxOptions"),
	REFUSE("seccompProfile"),
	REFUSE("appArmorProfile"),
	REFUSE("windowsOptions"),
	END,
};

/* securityContext of a pod (api_security.c). */
static const struct api_field pod_security_context[] = {
	IMPL("runAsUser"),
	IMPL("runAsGroup"),
	IMPL("runAsNonRoot"),
	IMPL("fsGroup"),
	IMPL("supplementalGroups"),
	REFUSE_BUT("supplementalGroupsPolicy", "\"Merge\""),
	REFUSE("fsGroupChangePolicy"),
	REFUSE("seLinuxOptions"),
	REFUSE("seLinuxChangePolicy"),
	REFUSE("seccompProfile"),
	REFUSE("appArmorProfile"),
	REFUSE("sysctls"),
	REFUSE("windowsOptions"),
	END,
};

static const struct api_field volume_mount[] = {
	IMPL("name"),
	IMPL("mountPath"),
	IMPL("readOnly"),
	IMPL("subPath"),
	REFUSE_BUT("mountPropagation", "\"None\""),
	REFUSE_BUT("recursiveReadOnly", "\"Disabled\""),
	REFUSE("subPathExpr"),
	END,
};

static const struct api_field empty_dir[] = {
	IMPL("medium"),
	IMPL("sizeLimit"),
	END,
};

static const struct api_field host_path[] = {
	IMPL("path"),
	IMPL("type"),
	END,
};

/* configMap and secret volumes: api_volume.c, written by node-agent/agent_cmvol.c. */
static const struct api_field key_to_path[] = {IMPL("key"), IMPL("path"), IMPL("mode"), END};

static const struct api_field config_map_volume[] = {
	IMPL("name"), IMPL_SUB("items", key_to_path), IMPL("defaultMode"), IMPL("optional"), END,
};

static const struct api_field secret_volume[] = {
	IMPL("secretName"), IMPL_SUB("items", key_to_path), IMPL("defaultMode"), IMPL("optional"), END,
};

static const struct api_field volume[] = {
	IMPL("name"),
	IMPL_SUB("emptyDir", empty_dir),
	IMPL_SUB("hostPath", host_path),
	REFUSE("awsElasticBlockStore"),
	REFUSE("azureDisk"),
	REFUSE("azureFile"),
	REFUSE("cephfs"),
	REFUSE("cinder"),
	IMPL_SUB("configMap", config_map_volume),
	REFUSE("csi"),
	REFUSE("downwardAPI"),
	REFUSE("ephemeral"),
	REFUSE("fc"),
	REFUSE("flexVolume"),
	REFUSE("flocker"),
	REFUSE("gcePersistentDisk"),
	REFUSE("gitRepo"),
	REFUSE("glusterfs"),
	REFUSE("image"),
	REFUSE("iscsi"),
	REFUSE("nfs"),
	REFUSE("persistentVolumeClaim"),
	REFUSE("photonPersistentDisk"),
	REFUSE("portworxVolume"),
	REFUSE("projected"),
	REFUSE("quobyte"),
	REFUSE("rbd"),
	REFUSE("scaleIO"),
	IMPL_SUB("secret", secret_volume),
	REFUSE("storageos"),
	REFUSE("vsphereVolume"),
	END,
};

/* Probes and lifecycle hooks: api_probe.c, run by node-agent/agent_probe*.c and agent_hook.c. */
static const struct api_field exec_action[] = {IMPL("command"), END};
static const struct api_field http_header[] = {IMPL("name"), IMPL("value"), END};
static const struct api_field http_get[] = {
	IMPL("path"), IMPL("port"), IMPL("host"), IMPL("scheme"), IMPL_SUB("httpHeaders", http_header), END,
};
static const struct api_field tcp_socket[] = {IMPL("port"), IMPL("host"), END};
static const struct api_field sleep_action[] = {IMPL("seconds"), END};

static const struct api_field probe[] = {
	IMPL_SUB("exec", exec_action),
	IMPL_SUB("httpGet", http_get),
	IMPL_SUB("tcpSocket", tcp_socket),
	REFUSE("grpc"),
	IMPL("initialDelaySeconds"),
	IMPL("periodSeconds"),
	IMPL("timeoutSeconds"),
	IMPL("successThreshold"),
	IMPL("failureThreshold"),
	REFUSE_HINT("terminationGracePeriodSeconds", "the pod's terminationGracePeriodSeconds applies"),
	END,
};

static const struct api_field lifecycle_handler[] = {
	IMPL_SUB("exec", exec_action),
	IMPL_SUB("httpGet", http_get),
	IMPL_SUB("tcpSocket", tcp_socket),
	IMPL_SUB("sleep", sleep_action),
	END,
};

static const struct api_field lifecycle[] = {
	IMPL_SUB("preStop", lifecycle_handler),
	REFUSE("postStart"),
	REFUSE("stopSignal"),
	END,
};

static const struct api_field container[] = {
	IMPL("name"),
	IMPL("image"),
	IMPL("command"),
	IMPL("args"),
	IMPL_SUB("env", env_var),
	IMPL_SUB("envFrom", env_from),
	IMPL_SUB("ports", container_port),
	IMPL_SUB("resources", resources),
	IMPL("imagePullPolicy"),
	IMPL_SUB("volumeMounts", volume_mount),
	HARM("terminationMessagePath", NO_MESSAGE),
	HARM("terminationMessagePolicy", NO_MESSAGE),
	IMPL_SUB("lifecycle", lifecycle),
	IMPL_SUB("livenessProbe", probe),
	IMPL_SUB("readinessProbe", probe),
	IMPL_SUB("startupProbe", probe),
	REFUSE("resizePolicy"),
	REFUSE("restartPolicy"),
	IMPL_SUB("securityContext", security_context),
	REFUSE("volumeDevices"),
	REFUSE("workingDir"),
	REFUSE_BUT("stdin", "false"),
	REFUSE_BUT("stdinOnce", "false"),
	REFUSE_BUT("tty", "false"),
	END,
};

/* dnsConfig (api_pod_dns.c), resolved by node-agent/agent_dns.c. */
static const struct api_field dns_option[] = {IMPL("name"), IMPL("value"), END};
static const struct api_field dns_config[] = {
	IMPL("nameservers"),
	IMPL("searches"),
	IMPL_SUB("options", dns_option),
	END,
};

static const struct api_field pod_spec[] = {
	IMPL_SUB("containers", container),
	IMPL_SUB("initContainers", container), /* ports refused by api_init.c */
	IMPL("nodeSelector"),
	IMPL("restartPolicy"),
	IMPL("terminationGracePeriodSeconds"),
	IMPL_SUB("volumes", volume),
	HARM("tolerations", "Skiff nodes carry no taints, so a toleration changes nothing"),
	REFUSE_BUT("schedulerName", "\"default-scheduler\""),
	IMPL("dnsPolicy"),
	IMPL("enableServiceLinks"),
	REFUSE_BUT("automountServiceAccountToken", "false"),
	REFUSE_BUT("serviceAccountName", "\"default\""),
	REFUSE_BUT("serviceAccount", "\"default\""),
	IMPL("hostNetwork"),
	IMPL("hostPID"),
	IMPL("hostIPC"),
	IMPL_SUB("securityContext", pod_security_context),
	REFUSE_BUT("hostUsers", "true"),
	REFUSE_BUT("shareProcessNamespace", "false"),
	REFUSE_BUT("setHostnameAsFQDN", "false"),
	REFUSE("activeDeadlineSeconds"),
	REFUSE("affinity"),
	IMPL_SUB("dnsConfig", dns_config),
	REFUSE("ephemeralContainers"),
	REFUSE("hostAliases"),
	REFUSE("hostname"),
	REFUSE("imagePullSecrets"),
	REFUSE_HINT("nodeName", "the scheduler places pods; use nodeSelector"),
	REFUSE("os"),
	REFUSE("overhead"),
	REFUSE_BUT("preemptionPolicy", "\"PreemptLowerPriority\""),
	REFUSE_BUT("priority", "0"),
	REFUSE("priorityClassName"),
	REFUSE("readinessGates"),
	REFUSE("resourceClaims"),
	REFUSE("resources"),
	REFUSE("runtimeClassName"),
	REFUSE("schedulingGates"),
	REFUSE("subdomain"),
	REFUSE("topologySpreadConstraints"),
	END,
};

static const struct api_field owner_reference[] = {
	IMPL("kind"),
	IMPL("name"),
	IMPL("uid"),
	IMPL("controller"),
	HARM("apiVersion", "Skiff's kinds have one version each; kind, name and uid identify the owner"),
	HARM("blockOwnerDeletion", "it only holds back a foreground deletion, which Skiff does not have"),
	END,
};

/* ObjectMeta. The fields the API server writes are harmless. */
#define META_COMMON                                                                                                 \
	IMPL("labels"), IMPL("annotations"),                                                                        \
		{"namespace", API_FIELD_REFUSED, NULL, "\"default\"", "Skiff has one namespace"},                   \
		REFUSE("finalizers"), HARM("creationTimestamp", SERVER_SET), HARM("deletionTimestamp", SERVER_SET), \
		HARM("generation", SERVER_SET), HARM("managedFields", SERVER_SET),                                  \
		HARM("resourceVersion", SERVER_SET), HARM("selfLink", SERVER_SET)

static const struct api_field meta[] = {
	META_COMMON,
	IMPL("name"),
	IMPL("uid"),
	IMPL_SUB("ownerReferences", owner_reference),
	IMPL("deletionGracePeriodSeconds"),
	REFUSE_HINT("generateName", "set metadata.name"),
	END,
};

static const struct api_field template_meta[] = {
	META_COMMON,
	HARM("name", IN_TEMPLATE),
	HARM("generateName", IN_TEMPLATE),
	HARM("uid", IN_TEMPLATE),
	HARM("deletionGracePeriodSeconds", SERVER_SET),
	REFUSE("ownerReferences"),
	END,
};

#define STATUS HARM("status", "written by the cluster; ignored on create and apply, as Kubernetes does")

static const struct api_field pod[] = {
	IMPL("apiVersion"), IMPL("kind"), IMPL_SUB("metadata", meta), IMPL_SUB("spec", pod_spec), STATUS, END,
};

static const struct api_field pod_template[] = {
	IMPL_SUB("metadata", template_meta),
	IMPL_SUB("spec", pod_spec),
	END,
};

static const struct api_field rc_spec[] = {
	IMPL("replicas"), IMPL("selector"), IMPL_SUB("template", pod_template), IMPL("minReadySeconds"), END,
};

static const struct api_field controller[] = {
	IMPL("apiVersion"), IMPL("kind"), IMPL_SUB("metadata", meta), IMPL_SUB("spec", rc_spec), STATUS, END,
};

static const struct api_field service_port[] = {
	IMPL("name"),
	IMPL("port"),
	IMPL("protocol"),
	IMPL("targetPort"),
	HARM("appProtocol", "a hint for layer-7 proxies; Skiff's proxy, like kube-proxy, forwards the bytes"),
	IMPL("nodePort"),
	END,
};

static const struct api_field client_ip_config[] = {IMPL("timeoutSeconds"), END};
static const struct api_field session_affinity_config[] = {IMPL_SUB("clientIP", client_ip_config), END};

static const struct api_field service_spec[] = {
	IMPL("selector"),
	IMPL_SUB("ports", service_port),
	IMPL("clusterIP"),
	IMPL("type"),
	IMPL("sessionAffinity"),
	IMPL_SUB("sessionAffinityConfig", session_affinity_config),
	REFUSE_BUT("internalTrafficPolicy", "\"Cluster\""),
	REFUSE_BUT("ipFamilyPolicy", "\"SingleStack\""),
	REFUSE_BUT("publishNotReadyAddresses", "false"),
	REFUSE("allocateLoadBalancerNodePorts"),
	REFUSE("clusterIPs"),
	REFUSE("externalIPs"),
	REFUSE("externalName"),
	REFUSE("externalTrafficPolicy"),
	REFUSE("healthCheckNodePort"),
	REFUSE("ipFamilies"),
	REFUSE("loadBalancerClass"),
	REFUSE("loadBalancerIP"),
	REFUSE("loadBalancerSourceRanges"),
	REFUSE("trafficDistribution"),
	END,
};

static const struct api_field service[] = {
	IMPL("apiVersion"), IMPL("kind"), IMPL_SUB("metadata", meta), IMPL_SUB("spec", service_spec), STATUS, END,
};

static const struct api_field configmap[] = {
	IMPL("apiVersion"),
	IMPL("kind"),
	IMPL_SUB("metadata", meta),
	IMPL("data"),
	IMPL("binaryData"),
	REFUSE_BUT("immutable", "false"),
	END,
};

static const struct api_field secret[] = {
	IMPL("apiVersion"), IMPL("kind"), IMPL_SUB("metadata", meta),       IMPL("data"),
	IMPL("stringData"), IMPL("type"), REFUSE_BUT("immutable", "false"), END,
};

/* apps/v1 Deployment (api_deployment.c). */
static const struct api_field rolling_update[] = {IMPL("maxSurge"), IMPL("maxUnavailable"), END};

static const struct api_field deployment_strategy[] = {IMPL("type"), IMPL_SUB("rollingUpdate", rolling_update), END};

static const struct api_field deployment_spec[] = {
	IMPL("replicas"),
	IMPL("selector"),
	IMPL_SUB("template", pod_template),
	IMPL_SUB("strategy", deployment_strategy),
	IMPL("minReadySeconds"),
	IMPL("revisionHistoryLimit"),
	IMPL("paused"),
	IMPL("progressDeadlineSeconds"),
	END,
};

static const struct api_field deployment[] = {
	IMPL("apiVersion"), IMPL("kind"), IMPL_SUB("metadata", meta), IMPL_SUB("spec", deployment_spec), STATUS, END,
};

const struct api_field *
api_fields_of(enum api_kind k)
{
	switch (k) {
	case API_POD: return pod;
	case API_CONTROLLER: return controller;
	case API_SERVICE: return service;
	case API_CONFIGMAP: return configmap;
	case API_SECRET: return secret;
	case API_DEPLOYMENT: return deployment;
	default: return NULL;
	}
}

int
api_fields_check_version(enum api_kind k, const json_t *root, struct api_errors *errs)
{
	const json_t *v = json_object_get(root, "apiVersion");
	const char *want = k == API_DEPLOYMENT ? API_DEPLOYMENT_VERSION : "v1";
	char q[96];

	if (!v || json_is_null(v) || (json_is_string(v) && strcmp(json_string_value(v), want) == 0))
		return 0;
	if (!errs)
		return -1;
	if (!json_is_string(v))
		api_errors_add(errs, "apiVersion", "must be a string, got %s", api_json_type_name(v));
	else if (k == API_DEPLOYMENT)
		api_errors_add(errs, "apiVersion", "must be %s for a Deployment, got %s", want,
		               api_quote(q, sizeof(q), json_string_value(v)));
	else
		api_errors_add(errs, "apiVersion", "must be v1 for a %s, got %s (Skiff reads Kubernetes v1 objects)",
		               api_kind_name(k) ? api_kind_name(k) : "object",
		               api_quote(q, sizeof(q), json_string_value(v)));
	return -1;
}

/* ------------------------------------------------------------------------
 * The walk
 */
struct walk {
	struct api_errors *errs, *warns;
	char path[API_PATH_MAX];
	size_t len;
	int nerrs;
};

/* Extend the path by ".name" (or "name" at the top) or "[i]"; returns the
 * mark to go back to. A path too long for the buffer is cut short. */
static size_t
push(struct walk *w, const char *name, size_t idx)
{
	size_t mark = w->len;

	if (!name)
		w->len = api_path_index(w->path, sizeof(w->path), w->len, idx);
	else {
		if (w->len)
			w->len = api_path_cat(w->path, sizeof(w->path), w->len, ".", 1);
		w->len = api_path_cat(w->path, sizeof(w->path), w->len, name, strlen(name));
	}
	return mark;
}

static void
pop(struct walk *w, size_t mark)
{
	w->len = mark;
	w->path[mark] = '\0';
}

/* null, {} and [] ask for nothing. */
static int
empty(const json_t *v)
{
	return json_is_null(v) || (json_is_object(v) && json_object_size(v) == 0) ||
	       (json_is_array(v) && json_array_size(v) == 0);
}

/* A scalar as JSON text ("false", "\"None\"", "0"); "" for others. */
static const char *
scalar_text(const json_t *v, char *buf, size_t len)
{
	if (json_is_string(v))
		snprintf(buf, len, "\"%s\"", json_string_value(v));
	else if (json_is_boolean(v))
		snprintf(buf, len, "%s", json_is_true(v) ? "true" : "false");
	else if (json_is_integer(v))
		snprintf(buf, len, "%lld", (long long)json_integer_value(v));
	else
		snprintf(buf, len, "%s", "");
	return buf;
}

static void
refuse(struct walk *w, const struct api_field *f, const json_t *v)
{
	char got[128];

	w->nerrs++;
	if (!scalar_text(v, got, sizeof(got))[0])
		snprintf(got, sizeof(got), "%s", api_json_type_name(v));
	if (f->ok && f->why)
		api_errors_add(w->errs, w->path, "%s is not supported: %s, %s (refused, see docs/keys.md)", got, f->why,
		               f->ok);
	else if (f->ok)
		api_errors_add(w->errs, w->path, "only %s is implemented by Skiff, got %s (refused, see docs/keys.md)",
		               f->ok, got);
	else if (f->why)
		api_errors_add(w->errs, w->path, "not implemented by Skiff: %s (refused, see docs/keys.md)", f->why);
	else
		api_errors_add(w->errs, w->path, "not implemented by Skiff (refused, see docs/keys.md)");
}

static void walk_object(struct walk *w, const json_t *o, const struct api_field *table);

/* Member value v of policy f, the path at it. */
static void
walk_field(struct walk *w, const struct api_field *f, const json_t *v)
{
	char text[128];
	size_t i, mark;
	json_t *it;

	switch (f->policy) {
	case API_FIELD_UNKNOWN:
		if (w->warns)
			api_errors_add(w->warns, w->path, "unknown field (not in the Kubernetes v1 schema); ignored");
		return;
	case API_FIELD_HARMLESS: return;
	case API_FIELD_REFUSED:
		if (!f->ok || strcmp(scalar_text(v, text, sizeof(text)), f->ok) != 0)
			refuse(w, f, v);
		return;
	case API_FIELD_IMPLEMENTED: break;
	}
	if (!f->sub)
		return;
	if (json_is_object(v))
		walk_object(w, v, f->sub);
	json_array_foreach(v, i, it) {
		mark = push(w, NULL, i);
		if (json_is_object(it))
			walk_object(w, it, f->sub);
		pop(w, mark);
	}
}

/* Every member of o against table (the decoders report wrong types). */
static void
walk_object(struct walk *w, const json_t *o, const struct api_field *table)
{
	const struct api_field *f;
	const char *name;
	size_t mark;
	json_t *v;

	json_object_foreach((json_t *)o, name, v) {
		if (empty(v))
			continue;
		for (f = table; f->name && strcmp(f->name, name) != 0; f++)
			;
		mark = push(w, name, 0);
		walk_field(w, f, v);
		pop(w, mark);
	}
}

int
api_fields_check(enum api_kind k, const json_t *root, struct api_errors *errs, struct api_errors *warns)
{
	struct walk w = {errs, warns, "", 0, 0};
	const struct api_field *table = api_fields_of(k == API_BINDING ? API_POD : k);

	if (k == API_BINDING) { /* the scheduler's copy of a pod: no apiVersion of its own */
		root = json_object_get(root, "pod");
		push(&w, "pod", 0);
	} else if (table && api_fields_check_version(k, root, errs) < 0) {
		return 1;
	}
	if (!table || !json_is_object(root))
		return 0;
	walk_object(&w, root, table); /* $(VAR) references are expanded by the agent (agent_env.c) */
	return w.nerrs;
}
