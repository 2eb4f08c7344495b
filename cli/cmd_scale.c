/*
 * cmd_scale.c: "skiffctl scale controller NAME --replicas=N" (also
 * rc/NAME) and "skiffctl scale deployment/NAME --replicas=N": set
 * spec.replicas with a guarded read-modify-write (compare on the mod
 * revision read, retried on conflict), keeping everything else of the
 * value as it was. A controller is checked with the object model before
 * it is written; a deployment is the deployment controller's to judge.
 * Scaling a deployment's own controllers is not refused, but the
 * deployment controller sets them back: scale the deployment.
 */
#include <stdlib.h>
#include <string.h>

#include "skiffctl.h"

#define SCALE_HELP                                                                      \
	"Set the number of replicas of a replication controller (KIND is controller,\n" \
	"controllers or rc) or of a deployment (deployment/NAME or deployment NAME).\n" \
	"Exit 0 on success, 1 when it does not exist or etcd fails."

static long replicas_flag;

static const struct flag scale_flags[] = {
	{"replicas", FLAG_INT, &replicas_flag, "-1", NULL, "the new number of replicas (required, >= 0)", "N", NULL},
	{0}};

static const struct skiff_prog prog = {.client = 1,
                                       .name = "skiffctl scale",
                                       .summary = SCALE_HELP,
                                       .args = "controller NAME | deployment/NAME",
                                       .flags = scale_flags};

void
cmd_scale_usage(FILE *f)
{
	opts_help(&prog, f);
}

struct scale {
	struct ctl *c;
	const char *key;
	long replicas;
	int deploy;
};

static int
edit(json_t *j, void *arg)
{
	struct scale *s = arg;
	struct api_errors errs = {0};
	json_t *spec = json_object_get(j, "spec");
	char line[1200];
	void *rc;
	size_t i;

	if (!json_is_object(spec))
		json_object_set_new(j, "spec", spec = json_object());
	if (json_integer_value(json_object_get(spec, "replicas")) == s->replicas &&
	    json_is_integer(json_object_get(spec, "replicas")))
		return 0;
	json_object_set_new(spec, "replicas", json_integer(s->replicas));
	if (s->deploy)
		return 1;
	if (!(rc = api_decode(API_CONTROLLER, j, &errs))) {
		fprintf(s->c->err, "%s: %s is not a valid controller, fix it first (skiffctl apply):\n", s->c->name,
		        s->key);
		for (i = 0; i < errs.n; i++) {
			api_errors_format(&errs, i, line, sizeof(line));
			fprintf(s->c->err, "  %s\n", line);
		}
		api_errors_clear(&errs);
		return -1;
	}
	api_free(API_CONTROLLER, rc);
	return 1;
}

int
cmd_scale(int argc, char **argv, FILE *out, FILE *err)
{
	char key[API_KEY_MAX];
	const char *what;
	struct ctl_ref ref;
	struct scale s;
	struct ctl c;
	int rc, i = 0;

	replicas_flag = -1;
	if ((rc = ctl_parse(&c, &prog, argc, argv, out, err, 0)) != CTL_CONTINUE)
		goto done;
	if (c.nargs < 1 || c.nargs > 2 || ctl_ref_parse(&c, &i, &ref) < 0 || i != c.nargs) {
		rc = ctl_usage_error(&c, &prog, "expected: controller NAME (or deployment/NAME) --replicas=N");
		goto done;
	}
	if (!ref.deploy && ref.kind != ctl_kind_of(API_CONTROLLER)) {
		fprintf(err,
		        "%s: cannot scale \"%s\": only replication controllers and deployments scale (skiffctl scale rc "
		        "NAME)\n",
		        c.name, ref.buf);
		rc = SKIFFCTL_EXIT_FAIL;
		goto done;
	}
	if (replicas_flag < 0 || replicas_flag > 1000000) {
		rc = ctl_usage_error(&c, &prog, "--replicas=N is required, N from 0 to 1000000");
		goto done;
	}
	rc = SKIFFCTL_EXIT_FAIL;
	what = ref.deploy ? "deployment" : "controller";
	if ((ref.deploy ? ctl_deploy_key(&c, key, ref.name, 0) : ctl_key(&c, key, API_CONTROLLER, ref.name)) < 0 ||
	    ctl_connect(&c) < 0)
		goto done;
	s = (struct scale){&c, key, replicas_flag, ref.deploy};
	switch (ctl_update(&c, key, edit, &s, NULL)) {
	case CTL_UPDATED:
		fprintf(out, "%s/%s scaled to %ld\n", what, ref.name, replicas_flag);
		rc = SKIFFCTL_EXIT_OK;
		break;
	case CTL_UNCHANGED:
		fprintf(out, "%s/%s already has %ld replicas\n", what, ref.name, replicas_flag);
		rc = SKIFFCTL_EXIT_OK;
		break;
	case CTL_NOT_FOUND:
		fprintf(err, "%s: %s \"%s\" not found under %s\n", c.name, what, ref.name, c.opts.prefix);
		break;
	default: break;
	}
done:
	ctl_done(&c);
	return rc;
}
