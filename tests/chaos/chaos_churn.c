/*
 * chaos_churn.c: the objects the chaos suite keeps changing while it
 * injects faults: replication controllers chaos-a (behind the service
 * chaos-web, with a readiness probe) and chaos-b, the Deployment chaos-dep
 * (behind the service chaos-dep), bare pods chaos-bare-N, and the service
 * chaos-b that comes and goes. Every pod runs busybox httpd from the test
 * image (imagePullPolicy Never), with a short grace period.
 *
 * It writes keys directly, as a user would; it does not wait for anything
 * to happen and checks nothing (chaos_check.c does, at the end). It never
 * rolls the Deployment to a new template (check_rollout does).
 */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "chaos.h"
#include "e2e_bed.h"

#define MAX_BARE 4
#define IMAGE "skiff/test-httpd:latest"

static const char APP[] = "echo \"pod=$(/bin/busybox hostname)\" > /www/index.html; trap 'exit 0' TERM; "
			  "/bin/busybox httpd -f -p 80 -h /www & wait";

static int bare_next;      /* the next bare pod's number */
static int bare[MAX_BARE]; /* numbers of the bare pods that exist, 0: free */
static int svc_b;          /* the service chaos-b exists */

uint64_t
chaos_rand(struct chaos_rng *r)
{
	r->s ^= r->s >> 12;
	r->s ^= r->s << 25;
	r->s ^= r->s >> 27;
	return r->s * 2685821657736338717ULL;
}

double
chaos_uniform(struct chaos_rng *r, double lo, double hi)
{
	return lo + (hi - lo) * (double)(chaos_rand(r) >> 11) / (double)(1ULL << 53);
}

int
chaos_pick(struct chaos_rng *r, int lo, int hi)
{
	return lo + (int)(chaos_rand(r) % (uint64_t)(hi - lo + 1));
}

/* A pod spec (new reference) labelled app=app; probe adds a readiness
 * probe on port 80. */
static json_t *
pod_template(const char *app, int probe)
{
	json_t *c =
		json_pack("{s:s, s:s, s:s, s:[s,s,s,s], s:[{s:i}]}", "name", "httpd", "image", IMAGE, "imagePullPolicy",
	                  "Never", "command", "/bin/busybox", "sh", "-c", APP, "ports", "containerPort", 80);

	if (probe)
		json_object_set_new(
			c, "readinessProbe",
			json_pack("{s:{s:s, s:i}, s:i}", "httpGet", "path", "/", "port", 80, "periodSeconds", 1));
	return json_pack("{s:{s:{s:s}}, s:{s:[o], s:i}}", "metadata", "labels", "app", app, "spec", "containers", c,
	                 "terminationGracePeriodSeconds", 2);
}

static int
put_rc(const char *name, int replicas, int probe)
{
	char key[128];
	json_t *j = json_pack("{s:{s:s}, s:{s:i, s:{s:s}, s:o}}", "metadata", "name", name, "spec", "replicas",
	                      replicas, "selector", "app", name, "template", pod_template(name, probe));
	int rc;

	snprintf(key, sizeof(key), "controllers/%s", name);
	rc = j ? bed_put_json(key, j) : -1;
	json_decref(j);
	return rc;
}

static int
put_deployment(int replicas)
{
	json_t *j = json_pack("{s:s, s:s, s:{s:s}, s:{s:i, s:{s:{s:s}}, s:{s:s, s:{s:i, s:i}}, s:o}}", "apiVersion",
	                      "apps/v1", "kind", "Deployment", "metadata", "name", "chaos-dep", "spec", "replicas",
	                      replicas, "selector", "matchLabels", "app", "chaos-dep", "strategy", "type",
	                      "RollingUpdate", "rollingUpdate", "maxSurge", 1, "maxUnavailable", 0, "template",
	                      pod_template("chaos-dep", 0));
	int rc = j ? bed_put_json("deployments/chaos-dep", j) : -1;

	json_decref(j);
	return rc;
}

static int
put_service(const char *name, const char *app)
{
	char key[128];
	json_t *j = json_pack("{s:{s:s}, s:{s:{s:s}, s:[{s:s, s:i, s:i, s:s}]}}", "metadata", "name", name, "spec",
	                      "selector", "app", app, "ports", "name", "http", "port", 80, "targetPort", 80, "protocol",
	                      "TCP");
	int rc;

	snprintf(key, sizeof(key), "services/%s", name);
	rc = j ? bed_put_json(key, j) : -1;
	json_decref(j);
	return rc;
}

static int
put_bare(int n)
{
	char name[64], key[96];
	json_t *j = pod_template("chaos-bare", 0);
	int rc;

	snprintf(name, sizeof(name), "chaos-bare-%d", n);
	snprintf(key, sizeof(key), "pods/%s", name);
	json_object_set_new(json_object_get(j, "metadata"), "name", json_string(name));
	rc = bed_put_json(key, j);
	json_decref(j);
	return rc;
}

int
chaos_objects_create(void)
{
	if (put_rc("chaos-a", 3, 1) < 0 || put_rc("chaos-b", 2, 0) < 0 || put_deployment(2) < 0 ||
	    put_service("chaos-web", "chaos-a") < 0 || put_service("chaos-dep", "chaos-dep") < 0)
		return -1;
	bare_next = 1;
	return 0;
}

/* Create a bare pod in a free slot, or delete a random one. */
static int
churn_bare(struct chaos_rng *r, int create, char *what, size_t len)
{
	int slot = chaos_pick(r, 0, MAX_BARE - 1);
	char key[96];

	if (create) {
		for (int i = 0; i < MAX_BARE; i++)
			if (!bare[(slot + i) % MAX_BARE]) {
				slot = (slot + i) % MAX_BARE;
				bare[slot] = bare_next++;
				snprintf(what, len, "create pod chaos-bare-%d", bare[slot]);
				return put_bare(bare[slot]);
			}
		create = 0; /* all slots taken: delete one instead */
	}
	for (int i = 0; i < MAX_BARE; i++)
		if (bare[(slot + i) % MAX_BARE]) {
			slot = (slot + i) % MAX_BARE;
			snprintf(key, sizeof(key), "pods/chaos-bare-%d", bare[slot]);
			snprintf(what, len, "delete pod chaos-bare-%d", bare[slot]);
			bare[slot] = 0;
			return bed_del(key);
		}
	snprintf(what, len, "no bare pod to delete");
	return 0;
}

int
chaos_churn_step(struct chaos_rng *r, char *what, size_t len)
{
	int n;

	switch (chaos_pick(r, 0, 6)) {
	case 0:
		n = chaos_pick(r, 1, 5);
		snprintf(what, len, "scale rc chaos-a to %d", n);
		return put_rc("chaos-a", n, 1);
	case 1:
		n = chaos_pick(r, 0, 4);
		snprintf(what, len, "scale rc chaos-b to %d", n);
		return put_rc("chaos-b", n, 0);
	case 2:
	case 3:
		n = chaos_pick(r, 1, 4);
		snprintf(what, len, "scale deployment chaos-dep to %d", n);
		return put_deployment(n);
	case 4: return churn_bare(r, 1, what, len);
	case 5: return churn_bare(r, 0, what, len);
	default:
		svc_b = !svc_b;
		snprintf(what, len, "%s service chaos-b", svc_b ? "create" : "delete");
		return svc_b ? put_service("chaos-b", "chaos-b") : bed_del("services/chaos-b");
	}
}
