/*
 * skiffctl.h: what skiffctl's subcommands share. Each command lives in
 * cmd_NAME.c as cmd_NAME(argc, argv, out, err): argv[0] is the command's
 * name, results go to out and diagnostics to err (so tests can run a
 * command in-process), and the return value is the exit status.
 *
 * The ctl_* helpers are the commands' common ground: flags and the etcd
 * connection (ctl_conn.c), a consistent snapshot of the cluster and the
 * table rows drawn from it (ctl_state.c, ctl_rows.c), manifests in JSON or
 * YAML (ctl_manifest.c).
 */
#ifndef SKIFF_SKIFFCTL_H
#define SKIFF_SKIFFCTL_H

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>

#include "api/api.h"
#include "etcd_sync.h"
#include "opts.h"

#define SKIFFCTL_EXIT_OK 0
#define SKIFFCTL_EXIT_FAIL 1  /* the command ran and found problems, or failed */
#define SKIFFCTL_EXIT_USAGE 2 /* bad flags or arguments */

struct skiffctl_cmd {
	const char *name;
	int (*run)(int argc, char **argv, FILE *out, FILE *err);
	void (*usage)(FILE *f);
	const char *summary;
};

/* skiffctl validate [--kind KIND] -f FILE|DIR|- ...: check manifests offline. */
int cmd_validate(int argc, char **argv, FILE *out, FILE *err);
void cmd_validate_usage(FILE *f);
/* skiffctl get KINDS [NAME] [-o json|wide] [-l SEL] [-w] */
int cmd_get(int argc, char **argv, FILE *out, FILE *err);
void cmd_get_usage(FILE *f);
/* skiffctl describe KIND NAME */
int cmd_describe(int argc, char **argv, FILE *out, FILE *err);
void cmd_describe_usage(FILE *f);
/* skiffctl apply -f FILE|DIR / create -f FILE|DIR (same file, cmd_apply.c) */
int cmd_apply(int argc, char **argv, FILE *out, FILE *err);
void cmd_apply_usage(FILE *f);
int cmd_create(int argc, char **argv, FILE *out, FILE *err);
void cmd_create_usage(FILE *f);
/* skiffctl delete KIND NAME [--cascade=false] */
int cmd_delete(int argc, char **argv, FILE *out, FILE *err);
void cmd_delete_usage(FILE *f);
/* skiffctl scale controller NAME --replicas=N */
int cmd_scale(int argc, char **argv, FILE *out, FILE *err);
void cmd_scale_usage(FILE *f);
/* skiffctl cordon NODE / uncordon NODE (cmd_cordon.c) */
int cmd_cordon(int argc, char **argv, FILE *out, FILE *err);
void cmd_cordon_usage(FILE *f);
int cmd_uncordon(int argc, char **argv, FILE *out, FILE *err);
void cmd_uncordon_usage(FILE *f);
/* skiffctl version [--client] (cmd_version.c) */
int cmd_version(int argc, char **argv, FILE *out, FILE *err);
void cmd_version_usage(FILE *f);

/* If arg is "--name" or "--name=value" (or short, when not NULL, is arg):
 * return 1 and set *value to the value (from "=..." or the next argument,
 * advancing *i), or NULL when it is missing. Otherwise return 0. */
int skiffctl_flag(int argc, char **argv, int *i, const char *name, const char *shortname, const char **value);

/* ------------------------------------------------------------------------
 * Kinds as people type them: "pods", "pod", "po", "Pod", ...
 */
struct ctl_kind {
	enum api_kind kind;   /* API_POD, API_CONTROLLER, API_SERVICE, API_NODE, API_EVENT */
	const char *plural;   /* "pods": also the key directory */
	const char *singular; /* "pod": "pod/web" in output */
	const char *shortname;
};
/* The kind word names (case-insensitive), or NULL. */
const struct ctl_kind *ctl_kind_lookup(const char *word);
const struct ctl_kind *ctl_kind_of(enum api_kind k);
/* "pods, controllers (rc), services (svc), nodes (no), events (ev)" */
const char *ctl_kind_list(void);

/* ------------------------------------------------------------------------
 * A command's run: flags, positional arguments, the etcd connection.
 */
enum { CTL_CONTINUE = -1 };

struct ctl {
	const char *name; /* "skiffctl get" */
	FILE *out, *err;
	struct skiff_opts opts;
	char **argv; /* copy of the arguments, short flags made long */
	int nargs;   /* positional arguments are args[0..nargs-1] */
	char **args;
	const char **files; /* -f / --filename values (commands that take them) */
	int nfiles;
	char **owned; /* argument strings made here ("-ojson" → "--output=json") */
	int nowned;
	struct etcd_sync *s;
};

/* Parse argv for command prog (its own flags in prog->flags). -o, -l, -w,
 * -h are taken for --output, --selector, --watch, --help; -f/--filename
 * (repeatable) is collected in c->files when take_files. Returns
 * CTL_CONTINUE, or an exit status after printing help (0) or a usage
 * error (2). Free with ctl_done in every case. */
int ctl_parse(struct ctl *c, const struct skiff_prog *prog, int argc, char **argv, FILE *out, FILE *err,
              int take_files);
/* Usage error: "NAME: msg" and the usage line on err; returns 2. */
int ctl_usage_error(struct ctl *c, const struct skiff_prog *prog, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Connect (makes no request). 0, or -1 with a message on err. */
int ctl_connect(struct ctl *c);
/* Report a failed etcd call (res NULL = out of memory) as a message a
 * person can act on: what failed, the endpoints, what to check. */
void ctl_etcd_fail(struct ctl *c, const char *what, const struct etcd_result *res);
void ctl_done(struct ctl *c);

/* Guarded read-modify-write of key: read it, let edit change the parsed
 * value (return 1 when it changed it, 0 when there is nothing to do, -1 to
 * give up after printing why), write it back with a compare on the mod
 * revision read, and start over on conflict (a few times). Returns
 * CTL_UPDATED, CTL_UNCHANGED, CTL_NOT_FOUND, or -1 (reported). When
 * create is non-NULL it receives the key's create revision. */
enum { CTL_UPDATED = 0, CTL_UNCHANGED = 1, CTL_NOT_FOUND = 2 };
typedef int (*ctl_edit_fn)(json_t *j, void *arg);
int ctl_update(struct ctl *c, const char *key, ctl_edit_fn edit, void *arg, int64_t *create);
/* Delete key when its what (create or mod revision) compares op to rev:
 * 1 deleted, 0 the compare failed (gone or changed), -1 etcd failed
 * (reported). */
int ctl_delete_if(struct ctl *c, const char *key, enum etcd_cmp_target what, enum etcd_cmp_result op, int64_t rev);
/* Delete pod (at key) giving its containers at most grace seconds to stop:
 * waits for the agent unless force (ctl_graceful.c). 1 deleted, 0 not
 * found, -1 failed (reported). */
int ctl_delete_pod_graceful(struct ctl *c, const char *key, const char *pod, long grace, int force);
/* "P/DIR/NAME" of kind into buf (API_KEY_MAX). 0, or -1 with a message
 * naming the bad name on err. */
int ctl_key(struct ctl *c, char *buf, enum api_kind k, const char *name);

/* ------------------------------------------------------------------------
 * A snapshot of the cluster: every key of the loaded directories, read at
 * one revision, values parsed as JSON once (j NULL when not JSON).
 */
struct ctl_kv {
	char *key;
	char *value;
	size_t len;
	int64_t create, mod;
	enum api_kind object; /* events: the kind they are about */
	char *node; /* bindings, podstatus: NODE; events: the node that wrote them ("" for the control plane) */
	char *name; /* the object's (or the event's object's) name */
	char *id;   /* events: ID */
	json_t *j;
};

struct ctl_list {
	struct ctl_kv *kv;
	size_t n, cap;
};

struct ctl_state {
	const char *prefix;
	int64_t revision;
	int loaded[API_KIND_COUNT];
	struct ctl_list l[API_KIND_COUNT];
};

/* Load the key directories of the kinds set in want[] (API_KIND_COUNT
 * flags) at one revision. 0, or -1 after ctl_etcd_fail. */
int ctl_state_load(struct ctl *c, struct ctl_state *st, const int *want);
void ctl_state_free(struct ctl_state *st);
/* Apply one watched change. Returns the entry (for PUT) or NULL; a DELETE
 * removes the entry after copying it to *gone (free with ctl_kv_clear). */
struct ctl_kv *ctl_state_apply(struct ctl_state *st, const struct etcd_event *ev, struct ctl_kv *gone);
void ctl_kv_clear(struct ctl_kv *kv);
/* The entry of kind k named name (on node, when not NULL), borrowed. */
struct ctl_kv *ctl_state_find(const struct ctl_state *st, enum api_kind k, const char *node, const char *name);
/* The binding of pod p (same uid as its create revision), or NULL. */
struct ctl_kv *ctl_pod_binding(const struct ctl_state *st, const struct ctl_kv *p);
/* The podstatus of pod p on node (same uid), or NULL. */
struct ctl_kv *ctl_pod_status(const struct ctl_state *st, const struct ctl_kv *p, const char *node);

/* JSON helpers over borrowed values: "a.b.c" paths, NULL when absent. */
json_t *ctl_jget(const json_t *j, const char *path);
const char *ctl_jstr(const json_t *j, const char *path);
long long ctl_jint(const json_t *j, const char *path, long long def);
/* "app=web,tier=fe" or "<none>". */
void ctl_labels_text(const json_t *labels, char *buf, size_t len);
/* Age of an RFC 3339 time as kubectl writes it ("45s", "3m", "2h", "4d"),
 * or "-" when t is NULL or not a time. */
void ctl_age(const char *t, char *buf, size_t len);

/* ------------------------------------------------------------------------
 * Text from etcd for a terminal (ctl_escape.c): C0 controls and DEL as
 * \xNN, UTF-8 C1 controls as \u00NN, the rest unchanged. Table cells and
 * describe's lines go through these; so must any new output of such text.
 */
/* s escaped into buf, snprintf-style (returns the length it needed; an
 * escape is never cut in half). */
size_t ctl_escape(const char *s, char *buf, size_t len);
/* A node's readiness as a table shows it: 1 Ready (lease key there, its
 * heartbeat fresh or a version-1 key without one), -1 the heartbeat is
 * stale, 0 no lease key. */
int ctl_node_ready(const struct ctl_state *st, const char *node);
/* An event's source for a table: "agent, m1" for one a node wrote. */
void ctl_event_source(const struct ctl_kv *ev, char *buf, size_t len);
void ctl_fputs_escaped(const char *s, FILE *f);

/* ------------------------------------------------------------------------
 * Tables: rows of cells, printed with columns aligned (3 spaces apart).
 */
#define CTL_MAX_COLS 16
#define CTL_CELL 1200
typedef char ctl_row[CTL_MAX_COLS][CTL_CELL];

struct ctl_table {
	size_t ncols;
	char **cells; /* nrows * ncols, row 0 the header */
	size_t nrows, cap;
	size_t width[CTL_MAX_COLS];
};
/* Add a row of t->ncols cells (copied, escaped). 0 or -1 (out of memory). */
int ctl_table_add(struct ctl_table *t, ctl_row row);
void ctl_table_print(struct ctl_table *t, FILE *f);
/* Print one row (escaped) with t's widths (for watches). */
void ctl_table_print_row(const struct ctl_table *t, ctl_row row, FILE *f);
void ctl_table_free(struct ctl_table *t);

/* The columns and rows of get: header of kind (wide adds columns), and the
 * row of entry kv (kind's own directory). Returns the number of columns. */
size_t ctl_header(enum api_kind k, int wide, ctl_row row);
size_t ctl_row_of(const struct ctl_state *st, enum api_kind k, const struct ctl_kv *kv, int wide, ctl_row row);
/* Which directories rows of k read (want[] flags are set). */
void ctl_wants(enum api_kind k, int *want);
/* ctl_config.c: ConfigMaps and Secrets. The keys of one (data,
 * binaryData, stringData together). */
size_t ctl_config_count(const json_t *j);
/* NAME DATA (ConfigMap) or NAME TYPE DATA (Secret) into row; returns the
 * number of columns. */
size_t ctl_config_row(enum api_kind k, const struct ctl_kv *kv, ctl_row row);
/* Replace a Secret's values in o (its JSON) by "(hidden, N bytes)". */
void ctl_secret_redact(json_t *o);
/* line(f, key, value) for each key; Secret values and binary ones hidden. */
void ctl_config_describe(FILE *f, enum api_kind k, const struct ctl_kv *kv,
                         void (*line)(FILE *f, const char *key, const char *value));
/* The pod's STATUS column: Terminating, a waiting/terminated reason, the
 * phase, Pending, or Unschedulable. buf gets it. */
void ctl_pod_status_text(const struct ctl_state *st, const struct ctl_kv *p, char *buf, size_t len);

/* ------------------------------------------------------------------------
 * Manifests: FILE, DIR (its *.json, *.yaml, *.yml) or "-"; JSON or YAML
 * (several documents); one object, an array or a List per document.
 */
struct ctl_object {
	char *where; /* "FILE", "FILE[2]" */
	json_t *j;   /* owned */
};
struct ctl_objects {
	struct ctl_object *o;
	size_t n, cap;
	int failed;    /* a problem was reported */
	int recursive; /* set by the caller: read sub-directories (-R) */
};
/* Read every path into objs, reporting each problem as "WHERE: msg" on
 * err (objs->failed set). */
void ctl_manifests_read(const char *const *paths, int n, struct ctl_objects *objs, FILE *err);
void ctl_objects_free(struct ctl_objects *objs);
/* Check one object read (ctl_check.c): a JSON object of a known kind (force,
 * or its "kind", or its shape), apiVersion v1, no field Skiff refuses, valid
 * for the object model. Fields in no Kubernetes schema are printed as
 * "warning: WHERE: field: msg", every problem as "WHERE: field: msg", both
 * on err. Returns the decoded object (new; api_free(*kind, obj)), or NULL;
 * *kind is the kind judged (API_KIND_UNKNOWN when none). */
void *ctl_object_check(const struct ctl_object *o, enum api_kind force, enum api_kind *kind, FILE *err);
/* A YAML text (all its documents) as JSON: one document gives its value,
 * several an array of them. New value or NULL with msg. */
json_t *ctl_yaml_to_json(const char *buf, size_t len, char *msg, size_t msglen);

/* ------------------------------------------------------------------------
 * Deployments (ctl_deploy.c): P/deployments/NAME, P/deploymentstatus/NAME
 * and the replication controllers a deployment owns (ownerReferences with
 * its create revision as uid), read as JSON. The names and annotations
 * shared with skiff-deployment-controller:
 */
#define CTL_REVISION_ANN "deployment.kubernetes.io/revision"
#define CTL_CHANGE_CAUSE_ANN "kubernetes.io/change-cause"
#define CTL_RESTARTED_AT_ANN "kubectl.kubernetes.io/restartedAt"
#define CTL_HASH_LABEL "pod-template-hash"

/* The kind word names deployments ("deployments", "deployment", "deploy",
 * "Deployment", "deployments.apps", ...). */
int ctl_deploy_word(const char *w);
/* What a command is asked to act on: "KIND/NAME" at args[*i], or "KIND"
 * "NAME" at args[*i], args[*i + 1] (*i advances past it). deploy is 1 for
 * a deployment, else kind is the object's kind. 0, or -1 after a usage
 * message on err. */
struct ctl_ref {
	int deploy;
	const struct ctl_kind *kind;
	const char *name;
	char buf[API_SUBDOMAIN_MAX + 64];
};
int ctl_ref_parse(struct ctl *c, int *i, struct ctl_ref *ref);
/* P/deployments/NAME or P/deploymentstatus/NAME (status) into buf
 * (API_KEY_MAX). 0, or -1 with a message naming the bad name on err. */
int ctl_deploy_key(struct ctl *c, char *buf, const char *name, int status);

/* A snapshot for deployments: ctl_state (controllers and their statuses
 * loaded) plus the deployments, their statuses and their events, all read
 * at st.revision. */
struct ctl_deploys {
	struct ctl_state st;
	struct ctl_list d, s, ev; /* ev: P/events/deployments/NAME/ID (name NAME, id ID) */
};
/* 0, or -1 after ctl_etcd_fail. Free with ctl_deploys_free (also after
 * a failure). */
int ctl_deploys_load(struct ctl *c, struct ctl_deploys *ds);
void ctl_deploys_free(struct ctl_deploys *ds);
/* The status of deployment d when its uid is d's create revision, else
 * NULL (borrowed). */
const struct ctl_kv *ctl_deploy_status(const struct ctl_deploys *ds, const struct ctl_kv *d);
/* The controllers d owns, oldest revision first, into a new array
 * (free()); *n their number. NULL with *n 0 when none (or no memory). */
struct ctl_kv **ctl_deploy_rcs(const struct ctl_deploys *ds, const struct ctl_kv *d, size_t *n);
/* The revision annotation of a controller, 0 when absent or not a number. */
long long ctl_rc_revision(const struct ctl_kv *rc);
/* v (a string or an integer) is the decimal revision rev: a uid. */
int ctl_is_uid(const json_t *v, int64_t rev);
/* A copy of a controller's template (new) without the pod-template-hash
 * label: what the deployment's template was. NULL when out of memory. */
json_t *ctl_template_unhashed(const json_t *rc_template);
/* The controller d owns whose template is d's (NULL when none). */
struct ctl_kv *ctl_deploy_current(struct ctl_kv **rcs, size_t n, const struct ctl_kv *d);
/* NAME READY UP-TO-DATE AVAILABLE AGE [CONTAINERS IMAGES SELECTOR] of d
 * (header when d is NULL). Returns the number of columns. */
size_t ctl_deploy_row(const struct ctl_deploys *ds, const struct ctl_kv *d, int wide, ctl_row row);
/* "skiffctl get deployments [NAME]": the table or -o json. match (with
 * arg) filters on labels (NULL: all). Returns the exit status. */
typedef int (*ctl_match_fn)(const void *arg, const struct ctl_kv *kv);
int ctl_deploy_get(struct ctl *c, const char *name, int json, int wide, ctl_match_fn match, const void *arg);
/* "Pod Template:" with its labels, annotations, containers and images. */
void ctl_template_print(FILE *f, const json_t *tmpl);
/* "skiffctl describe deployment NAME". Returns the exit status. */
int ctl_deploy_describe(struct ctl *c, const char *name);
/* Set (want 1) or clear a node's spec.unschedulable (cmd_cordon.c): a
 * ctl_update result. */
int ctl_node_cordon(struct ctl *c, const char *key, int want);
/* The pieces of ctl_delete_pod_graceful, for commands that stop several
 * pods at once (drain): mark the pod (CTL_UPDATED/CTL_UNCHANGED with
 * *create its create revision, CTL_NOT_FOUND, or -1); then 1 when its
 * agent is done (not bound, or the binding marked and the status gone),
 * 0 not yet, -1 etcd failed. */
int ctl_pod_mark(struct ctl *c, const char *key, long grace, int64_t *create);
int ctl_pod_stopped(struct ctl *c, const char *pod, int64_t create);
/* "skiffctl rollout", "skiffctl set", "skiffctl drain" */
int cmd_rollout(int argc, char **argv, FILE *out, FILE *err);
void cmd_rollout_usage(FILE *f);
int cmd_set(int argc, char **argv, FILE *out, FILE *err);
void cmd_set_usage(FILE *f);
int cmd_drain(int argc, char **argv, FILE *out, FILE *err);
void cmd_drain_usage(FILE *f);
/* "skiffctl logs POD": a container's log from its node's agent (cmd_logs.c) */
int cmd_logs(int argc, char **argv, FILE *out, FILE *err);
void cmd_logs_usage(FILE *f);
/* "skiffctl exec [-it] POD -- CMD": a command in the pod's container (cmd_exec.c) */
int cmd_exec(int argc, char **argv, FILE *out, FILE *err);
void cmd_exec_usage(FILE *f);
/* "skiffctl port-forward POD LOCAL:REMOTE" (cmd_portforward.c) */
int cmd_portforward(int argc, char **argv, FILE *out, FILE *err);
void cmd_portforward_usage(FILE *f);

#endif
