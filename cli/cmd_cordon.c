/*
 * cmd_cordon.c: "skiffctl cordon NODE" and "uncordon NODE": set or clear
 * the node's spec.unschedulable with a guarded read-modify-write (the
 * agent writes the same key's status), preserving everything else. Pods
 * already bound stay where they are.
 */
#include <string.h>

#include "skiffctl.h"

static const struct skiff_prog cordon_prog = {
	.client = 1,
	.name = "skiffctl cordon",
	.summary = "Mark a node unschedulable: no new pod is scheduled there; bound pods stay.\n"
		   "Exit 0 on success (also when it already was), 1 when the node does not exist.",
	.args = "NODE"};
static const struct skiff_prog uncordon_prog = {
	.client = 1,
	.name = "skiffctl uncordon",
	.summary = "Mark a node schedulable again.\n"
		   "Exit 0 on success (also when it already was), 1 when the node does not exist.",
	.args = "NODE"};

void
cmd_cordon_usage(FILE *f)
{
	opts_help(&cordon_prog, f);
}

void
cmd_uncordon_usage(FILE *f)
{
	opts_help(&uncordon_prog, f);
}

static int
edit(json_t *j, void *arg)
{
	int want = *(int *)arg;
	json_t *spec = json_object_get(j, "spec");

	if (!json_is_object(spec))
		json_object_set_new(j, "spec", spec = json_object());
	if (json_is_true(json_object_get(spec, "unschedulable")) == want)
		return 0;
	if (want)
		json_object_set_new(spec, "unschedulable", json_true());
	else
		json_object_del(spec, "unschedulable");
	return 1;
}

int
ctl_node_cordon(struct ctl *c, const char *key, int want)
{
	return ctl_update(c, key, edit, &want, NULL);
}

static int
run(int argc, char **argv, FILE *out, FILE *err, const struct skiff_prog *prog, int want)
{
	char key[API_KEY_MAX];
	struct ctl c;
	int rc;

	if ((rc = ctl_parse(&c, prog, argc, argv, out, err, 0)) != CTL_CONTINUE)
		goto done;
	if (c.nargs != 1) {
		rc = ctl_usage_error(&c, prog, "expected one NODE");
		goto done;
	}
	rc = SKIFFCTL_EXIT_FAIL;
	if (ctl_key(&c, key, API_NODE, c.args[0]) < 0 || ctl_connect(&c) < 0)
		goto done;
	switch (ctl_node_cordon(&c, key, want)) {
	case CTL_UPDATED:
	case CTL_UNCHANGED:
		fprintf(out, "node/%s %s\n", c.args[0], want ? "cordoned" : "uncordoned");
		rc = SKIFFCTL_EXIT_OK;
		break;
	case CTL_NOT_FOUND:
		fprintf(err, "%s: node \"%s\" not found under %s (skiffctl get nodes lists them)\n", c.name, c.args[0],
		        c.opts.prefix);
		break;
	default: break;
	}
done:
	ctl_done(&c);
	return rc;
}

int
cmd_cordon(int argc, char **argv, FILE *out, FILE *err)
{
	return run(argc, argv, out, err, &cordon_prog, 1);
}

int
cmd_uncordon(int argc, char **argv, FILE *out, FILE *err)
{
	return run(argc, argv, out, err, &uncordon_prog, 0);
}
