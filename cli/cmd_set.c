/*
 * cmd_set.c: "skiffctl set image deployment/NAME CONTAINER=IMAGE ...":
 * change the images of a deployment's (or a replication controller's)
 * pod template with a guarded read-modify-write, as kubectl set image
 * does. CONTAINER names a container or an init container of the template;
 * "*" names all of them. Every image is checked as a Docker reference
 * first, and an unknown container name writes nothing. For a deployment
 * that starts a rollout (the deployment controller's business); for a
 * controller only its new pods get the image. It sets no other field.
 */
#include <stdlib.h>
#include <string.h>

#include "skiffctl.h"

#define SET_HELP                                                                         \
	"Set the image of containers of a deployment's pod template (deployment/NAME)\n" \
	"or of a replication controller's (rc/NAME): CONTAINER=IMAGE, several\n"         \
	"allowed; CONTAINER \"*\" is every container. Only \"set image\" exists.\n"      \
	"Exit 0 on success, 1 when the object or a container does not exist,\n"          \
	"2 on usage errors."

static const struct skiff_prog prog = {.client = 1,
                                       .name = "skiffctl set",
                                       .summary = SET_HELP,
                                       .args = "image deployment/NAME CONTAINER=IMAGE...",
                                       .flags = NULL};

void
cmd_set_usage(FILE *f)
{
	opts_help(&prog, f);
}

struct set {
	struct ctl *c;
	const struct ctl_ref *ref;
	char **pairs; /* CONTAINER=IMAGE, '=' at eq[i] */
	int n;
};

/* Set the image of the containers of list named name ("*": all). Returns
 * how many matched; *changed is set when one differed. */
static int
set_in(json_t *list, const char *name, size_t nlen, const char *image, int *changed)
{
	json_t *ct;
	size_t i;
	int found = 0, all = nlen == 1 && name[0] == '*';

	json_array_foreach(list, i, ct) {
		const char *cn = ctl_jstr(ct, "name"), *old = ctl_jstr(ct, "image");

		if (!json_is_object(ct) || (!all && !(cn && strlen(cn) == nlen && strncmp(cn, name, nlen) == 0)))
			continue;
		found++;
		if (old && strcmp(old, image) == 0)
			continue;
		json_object_set_new(ct, "image", json_string(image));
		*changed = 1;
	}
	return found;
}

/* An RC after the edit must still decode; a deployment is the deployment
 * controller's to judge. */
static int
still_valid(struct set *s, json_t *j)
{
	struct api_errors errs = {0};
	char line[1200];
	void *rc;
	size_t i;

	if (s->ref->deploy)
		return 1;
	if ((rc = api_decode(API_CONTROLLER, j, &errs))) {
		api_free(API_CONTROLLER, rc);
		return 1;
	}
	fprintf(s->c->err, "%s: controller \"%s\" is not valid, fix it first (skiffctl apply):\n", s->c->name,
	        s->ref->name);
	for (i = 0; i < errs.n; i++) {
		api_errors_format(&errs, i, line, sizeof(line));
		fprintf(s->c->err, "  %s\n", line);
	}
	api_errors_clear(&errs);
	return 0;
}

static int
edit(json_t *j, void *arg)
{
	struct set *s = arg;
	json_t *spec = ctl_jget(j, "spec.template.spec");
	int i, changed = 0;

	if (!json_is_object(spec)) {
		fprintf(s->c->err, "%s: %s has no pod template (spec.template.spec)\n", s->c->name, s->ref->name);
		return -1;
	}
	for (i = 0; i < s->n; i++) {
		const char *eq = strchr(s->pairs[i], '=');
		size_t nlen = (size_t)(eq - s->pairs[i]);

		int found = set_in(json_object_get(spec, "containers"), s->pairs[i], nlen, eq + 1, &changed);

		found += set_in(json_object_get(spec, "initContainers"), s->pairs[i], nlen, eq + 1, &changed);
		if (!found) {
			fprintf(s->c->err, "%s: %s/%s has no container named \"%.*s\"\n", s->c->name,
			        s->ref->deploy ? "deployment" : "controller", s->ref->name, (int)nlen, s->pairs[i]);
			return -1;
		}
	}
	if (!changed)
		return 0;
	return still_valid(s, j) ? 1 : -1;
}

/* Usage errors of the arguments after the object, or CTL_CONTINUE. */
static int
check_pairs(struct ctl *c, int i)
{
	struct api_error e;

	if (i >= c->nargs)
		return ctl_usage_error(c, &prog, "expected CONTAINER=IMAGE after the object");
	for (; i < c->nargs; i++) {
		const char *eq = strchr(c->args[i], '=');

		if (!eq || eq == c->args[i])
			return ctl_usage_error(c, &prog, "\"%s\" is not CONTAINER=IMAGE", c->args[i]);
		if (api_check_image_ref(eq + 1, &e) < 0)
			return ctl_usage_error(c, &prog, "%s: %s", c->args[i], e.msg);
	}
	return CTL_CONTINUE;
}

int
cmd_set(int argc, char **argv, FILE *out, FILE *err)
{
	char key[API_KEY_MAX];
	struct ctl_ref ref;
	struct set s;
	struct ctl c;
	int rc, i = 1, u;

	if ((rc = ctl_parse(&c, &prog, argc, argv, out, err, 0)) != CTL_CONTINUE)
		goto done;
	if (c.nargs < 1 || strcmp(c.args[0], "image") != 0) {
		rc = ctl_usage_error(&c, &prog, "only \"set image\" exists");
		goto done;
	}
	rc = SKIFFCTL_EXIT_USAGE;
	if (ctl_ref_parse(&c, &i, &ref) < 0)
		goto done;
	if (!ref.deploy && ref.kind->kind != API_CONTROLLER) {
		rc = ctl_usage_error(&c, &prog, "set image works on deployments and controllers, not on %s",
		                     ref.kind->plural);
		goto done;
	}
	if ((rc = check_pairs(&c, i)) != CTL_CONTINUE)
		goto done;
	rc = SKIFFCTL_EXIT_FAIL;
	if ((ref.deploy ? ctl_deploy_key(&c, key, ref.name, 0) : ctl_key(&c, key, API_CONTROLLER, ref.name)) < 0 ||
	    ctl_connect(&c) < 0)
		goto done;
	s = (struct set){&c, &ref, c.args + i, c.nargs - i};
	u = ctl_update(&c, key, edit, &s, NULL);
	if (u == CTL_NOT_FOUND)
		fprintf(err, "%s: %s \"%s\" not found under %s\n", c.name, ref.deploy ? "deployment" : "controller",
		        ref.name, c.opts.prefix);
	else if (u >= 0)
		fprintf(out, "%s/%s image %s\n", ref.deploy ? "deployment" : "controller", ref.name,
		        u == CTL_UPDATED ? "updated" : "unchanged");
	rc = u == CTL_UPDATED || u == CTL_UNCHANGED ? SKIFFCTL_EXIT_OK : SKIFFCTL_EXIT_FAIL;
done:
	ctl_done(&c);
	return rc;
}
