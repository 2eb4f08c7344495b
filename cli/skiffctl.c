/*
 * skiffctl.c: skiffctl's main: global flags, then dispatch to a
 * subcommand (cmd_*.c). Talks to nothing by itself. Every command that
 * reads etcd takes the daemons' connection flags (--etcd-endpoints or
 * SKIFF_ETCD_ENDPOINTS, --prefix, TLS, --etcd-user) after its name.
 */
#include <stdio.h>
#include <string.h>

#include "skiffctl.h"

static const struct skiffctl_cmd commands[] = {
	{"get", cmd_get, cmd_get_usage, "list objects as a table, as JSON, or follow changes (-w)"},
	{"describe", cmd_describe, cmd_describe_usage, "show one object with its status and events"},
	{"apply", cmd_apply, cmd_apply_usage, "create or update objects from manifests (-f)"},
	{"create", cmd_create, cmd_create_usage, "create objects from manifests, failing if they exist"},
	{"delete", cmd_delete, cmd_delete_usage, "delete an object (a controller with its pods)"},
	{"scale", cmd_scale, cmd_scale_usage, "set a controller's or deployment's replicas"},
	{"cordon", cmd_cordon, cmd_cordon_usage, "mark a node unschedulable"},
	{"uncordon", cmd_uncordon, cmd_uncordon_usage, "mark a node schedulable"},
	{"drain", cmd_drain, cmd_drain_usage, "cordon a node and move its pods elsewhere, gracefully"},
	{"rollout", cmd_rollout, cmd_rollout_usage, "follow, undo, restart, pause or resume a deployment's rollout"},
	{"set", cmd_set, cmd_set_usage, "set the images of a deployment's or controller's pod template"},
	{"validate", cmd_validate, cmd_validate_usage, "check manifests offline"},
	{"version", cmd_version, cmd_version_usage, "print skiffctl's version and each component's, from etcd"},
	{"logs", cmd_logs, cmd_logs_usage, "print a container's log from its node's agent (-f follows)"},
	{"exec", cmd_exec, cmd_exec_usage, "run a command in a pod's container (-it: a terminal)"},
	{"port-forward", cmd_portforward, cmd_portforward_usage, "forward a local port to a pod's port"},
};
#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static void
usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: skiffctl [--help] [--version] COMMAND [ARGS...]\n\ncommands:\n");
	for (i = 0; i < N_COMMANDS; i++)
		fprintf(f, "  %-9s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\nRun 'skiffctl COMMAND --help' for a command's flags.\n");
}

int
main(int argc, char **argv)
{
	size_t c;
	int i;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return SKIFFCTL_EXIT_OK;
		}
		if (strcmp(argv[i], "--version") == 0) {
			flags_version(stdout, "skiffctl");
			return SKIFFCTL_EXIT_OK;
		}
		fprintf(stderr, "skiffctl: unknown flag %s\n", argv[i]);
		usage(stderr);
		return SKIFFCTL_EXIT_USAGE;
	}
	if (i == argc) {
		fprintf(stderr, "skiffctl: no command given\n");
		usage(stderr);
		return SKIFFCTL_EXIT_USAGE;
	}
	if (strcmp(argv[i], "help") == 0) {
		for (c = 0; i + 1 < argc && c < N_COMMANDS; c++) {
			if (strcmp(argv[i + 1], commands[c].name) == 0) {
				commands[c].usage(stdout);
				return SKIFFCTL_EXIT_OK;
			}
		}
		usage(stdout);
		return SKIFFCTL_EXIT_OK;
	}
	for (c = 0; c < N_COMMANDS; c++)
		if (strcmp(argv[i], commands[c].name) == 0)
			return commands[c].run(argc - i, argv + i, stdout, stderr);
	fprintf(stderr, "skiffctl: unknown command %s\n", argv[i]);
	usage(stderr);
	return SKIFFCTL_EXIT_USAGE;
}
